/* kars mesh: end-to-end encrypted messaging between agents over a relay that sees only
 * ciphertext (Signal protocol: X3DH, Double Ratchet).
 *
 * Licence: this header is implemented by libkars-mesh (link -lkars-mesh, pkg-config kars-mesh),
 * which links libsignal-protocol-c and is therefore GPL-3.0. It is deliberately not included by
 * <kars/kars.h>; programs that need only policy, broker and audit never link it.
 *
 * Delivery guarantees: kars_mesh_agent_send returns only after the relay stored the envelope
 * durably. kars_mesh_agent_receive writes what it decrypts to the agent's durable inbox before
 * acknowledging the relay, then hands events to the callback in order; an event is removed only
 * once the callback returned 0. A message is delivered as KARS_MESH_EVENT_MESSAGE at most once;
 * copies arriving again are reported as KARS_MESH_EVENT_DUPLICATE.
 */
#ifndef KARS_MESH_H
#define KARS_MESH_H

#include <stddef.h>
#include <stdint.h>

#include "kars/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What happens when a known peer presents a different identity key. */
typedef enum kars_mesh_trust_mode {
  /* Default. The peer is blocked: its messages are held (not lost) and sends to it fail with
   * KARS_E_DENIED until kars_mesh_agent_approve_identity. */
  KARS_MESH_TRUST_BLOCK = 0,
  /* The new key is trusted at once; the change is flagged on the message
   * (kars_mesh_event_identity_changed). */
  KARS_MESH_TRUST_ACCEPT_AND_REPORT = 1
} kars_mesh_trust_mode;

/* Options for opening an agent. One thread at a time; the agent copies what it needs. */
typedef struct kars_mesh_options kars_mesh_options;

/* Creates options holding the defaults: trust mode BLOCK, 100 one-time prekeys replenished below
 * 25, signed prekey rotated every 7 days and the previous one kept 14 days, 10 s relay timeout.
 * Errors: KARS_E_NO_MEMORY. */
KARS_API kars_status kars_mesh_options_new(kars_mesh_options** out, kars_error** err);

/* Releases options. Accepts NULL. */
KARS_API void kars_mesh_options_free(kars_mesh_options* options);

/* Sets the trust mode. Errors: KARS_E_INVALID_ARGUMENT for an unknown mode or NULL options. */
KARS_API kars_status kars_mesh_options_set_trust_mode(kars_mesh_options* options,
                                                      kars_mesh_trust_mode mode, kars_error** err);

/* Sets the one-time prekey pool size and the level below which it is replenished.
 * Errors: KARS_E_INVALID_ARGUMENT unless 1 <= low_water <= pool <= 10000. */
KARS_API kars_status kars_mesh_options_set_prekeys(kars_mesh_options* options, uint32_t pool,
                                                   uint32_t low_water, kars_error** err);

/* Sets how often the signed prekey rotates and how long a replaced one still decrypts, in
 * seconds. Errors: KARS_E_INVALID_ARGUMENT unless both are >= 0. */
KARS_API kars_status kars_mesh_options_set_signed_prekey_rotation(kars_mesh_options* options,
                                                                  int64_t rotate_seconds,
                                                                  int64_t keep_seconds,
                                                                  kars_error** err);

/* Sets the timeout of each relay call in milliseconds (1 .. 600000).
 * Errors: KARS_E_INVALID_ARGUMENT. */
KARS_API kars_status kars_mesh_options_set_relay_timeout_ms(kars_mesh_options* options,
                                                            uint32_t timeout_ms, kars_error** err);

/* Makes agents opened with these options connect to their relay over TLS, for a relay started
 * with --tls-cert/--tls-key, and with a client certificate for one that also has
 * --tls-client-ca (mutual TLS). All buffers are PEM text and are copied; the caller keeps
 * ownership and may wipe them on return.
 *   ca_pem/ca_len:     CA bundle trusted for the relay's certificate; NULL/0: gRPC's default
 *                      root store.
 *   cert_pem/cert_len: client certificate chain, leaf first; NULL/0: no client certificate.
 *   key_pem/key_len:   the leaf's unencrypted private key; given exactly when cert_pem is. The
 *                      options wipe their copy when freed; no error message quotes it.
 *   server_name:       name expected in the relay's certificate instead of the host of the
 *                      address passed to kars_mesh_agent_connect; NULL or "": that host.
 * Calling again replaces the earlier setting. Thread safety: as for the options (one thread at
 * a time). A TLS failure at connect time (untrusted relay certificate, client certificate
 * refused or missing) makes kars_mesh_agent_connect fail with KARS_E_UNAVAILABLE and a message
 * naming the relay address, TLS and gRPC's last connection error.
 * Errors: KARS_E_INVALID_ARGUMENT for NULL options, a length without its buffer, a CA bundle or
 * certificate chain holding no PEM certificate, a key that does not parse, a certificate without
 * key (or the reverse), or a key that does not belong to the certificate. On error the options
 * are unchanged. */
KARS_API kars_status kars_mesh_options_set_relay_tls(kars_mesh_options* options,
                                                     const char* ca_pem, size_t ca_len,
                                                     const char* cert_pem, size_t cert_len,
                                                     const char* key_pem, size_t key_len,
                                                     const char* server_name, kars_error** err);

/* An agent: its identity, sessions and inbox, stored in one directory. Thread-safe: sends are
 * serialised in call order; receive may run concurrently with send. */
typedef struct kars_mesh_agent kars_mesh_agent;

/* Opens the agent `name` stored in directory `dir`, creating the directory, identity key pair,
 * registration id and signed prekey on first use. `name` is the agent's mailbox on the relay:
 * 1..128 bytes of letters, digits and . _ - @. `options` may be NULL (defaults).
 * The directory is locked for the life of the handle.
 * Errors: KARS_E_INVALID_ARGUMENT (bad name, or `dir` belongs to another name),
 * KARS_E_PRECONDITION (another process or handle has `dir` open), KARS_E_IO. */
KARS_API kars_status kars_mesh_agent_open(kars_mesh_agent** out, const char* dir, const char* name,
                                          const kars_mesh_options* options, kars_error** err);

/* Closes the agent and releases the directory lock. Accepts NULL. Not concurrently with other
 * calls on the same agent. */
KARS_API void kars_mesh_agent_free(kars_mesh_agent* agent);

/* Connects to a kars-relay at "host:port": authenticates with the agent's key and publishes its
 * prekey bundle. Errors: KARS_E_UNAVAILABLE (relay unreachable), KARS_E_DENIED (the relay binds
 * this name to another key), KARS_E_IO. */
KARS_API kars_status kars_mesh_agent_connect(kars_mesh_agent* agent, const char* relay_address,
                                             kars_error** err);

/* Encrypts `body` for `peer` and stores it at the relay. A first message to a peer fetches its
 * prekey bundle (X3DH); the message itself carries the handshake. `expires_at_ms` (Unix ms, 0 =
 * the relay's default TTL) bounds how long the relay keeps it; expiry is reported back to the
 * sender as KARS_MESH_EVENT_EXPIRED. `message_id` (may be NULL) receives the 16-byte id.
 * Errors: KARS_E_NOT_FOUND (unknown peer), KARS_E_DENIED (peer's identity changed and is not
 * approved), KARS_E_TAMPERED (bundle signature invalid), KARS_E_EXHAUSTED (peer's mailbox full
 * or rate limited), KARS_E_INVALID_ARGUMENT (bad name, body over the size limit),
 * KARS_E_UNAVAILABLE, KARS_E_PRECONDITION (not connected). On failure the relay holds nothing. */
KARS_API kars_status kars_mesh_agent_send(kars_buf* message_id, kars_mesh_agent* agent,
                                          const char* peer, const uint8_t* body, size_t body_len,
                                          int64_t expires_at_ms, kars_error** err);

/* Host-supplied transport: instead of kars_mesh_agent_connect, a host that moves bytes its own way
 * (its message bus, another process, a test) supplies these callbacks. Everything passed is opaque
 * bytes the host stores and forwards unchanged; the host never needs to parse them. The host plays
 * the relay's two roles:
 *
 * Directory: publish_keys hands over this agent's key bundle (`bundle`, which replaces any earlier
 * one) and zero or more one-time prekeys (each to be added to those held for `mailbox`).
 * fetch_bundle returns the latest bundle of `mailbox` and removes and returns one held one-time
 * prekey (or none when all are used up). Bundles are signed, so a host that alters one is caught
 * (KARS_E_TAMPERED); a host that returns another agent's bundle is caught too.
 *
 * Mailboxes: send delivers `envelope` to every one of `recipients` (all or none). The host hands
 * envelopes addressed to an agent to it with kars_mesh_agent_push, tagged with a sequence number
 * the host chooses; once the agent has stored what it decrypted durably, ack returns those sequence
 * numbers and the host may forget them. Until then the host must keep them (and push them again
 * after a restart): an envelope pushed twice is reported as a duplicate, never delivered twice.
 * A relay stamps each envelope's sender from the authenticated connection; a host fabric between
 * agents that do not trust each other has to vouch for the sender in the same way, since the
 * receiving agent picks the session (and, for a first contact, pins the identity) by that name.
 *
 * Every callback returns 0 on success, or a negative kars_status the agent call then fails with
 * (KARS_E_NOT_FOUND: unknown mailbox; KARS_E_UNAVAILABLE: try later, sends are retried up to the
 * relay timeout; KARS_E_EXHAUSTED: mailbox full); any other value fails the call with
 * KARS_E_CALLBACK. Callbacks run on the thread of the agent call that needs them (open-time key
 * publication runs in kars_mesh_agent_attach_transport) with the agent's state locked: they must
 * not call functions of the same agent, except that kars_mesh_agent_push may be called from any
 * thread at any time. They may run concurrently with each other when the host uses the agent from
 * several threads. Strings and byte arrays passed to a callback are borrowed for its duration. */
typedef struct kars_mesh_transport_callbacks {
  /* Stores `bundle` as mailbox's bundle and adds the n_prekeys one-time prekeys (prekeys[i] of
   * prekey_lens[i] bytes). Sets *prekeys_held to how many one-time prekeys the mailbox now holds. */
  int (*publish_keys)(uint32_t* prekeys_held, const char* mailbox, const uint8_t* bundle,
                      size_t bundle_len, const uint8_t* const* prekeys, const size_t* prekey_lens,
                      size_t n_prekeys, void* userdata);
  /* Fills `bundle` with the bundle of `mailbox` and `prekey` with one removed one-time prekey
   * (leave it {NULL, 0} when none is left). Data must come from malloc(); the library takes it
   * over and frees it. Return KARS_E_NOT_FOUND for a mailbox that never published. */
  int (*fetch_bundle)(kars_buf* bundle, kars_buf* prekey, const char* mailbox, void* userdata);
  /* Delivers `envelope` to each of the n_recipients mailboxes. `message_id` (16 bytes) identifies
   * it: a second send with an id the host still holds for a recipient should set *duplicate to 1
   * and not store it again (a retried send whose acknowledgement was lost). */
  int (*send)(int* duplicate, const char* const* recipients, size_t n_recipients,
              const uint8_t* envelope, size_t envelope_len, const uint8_t* message_id,
              size_t message_id_len, void* userdata);
  /* The envelopes with these sequence numbers are durable in the agent; the host may delete
   * them. May be NULL when the host keeps nothing. A failure here is ignored (the envelope is
   * pushed again later and reported as a duplicate). */
  int (*ack)(const uint64_t* seqs, size_t n_seqs, void* userdata);
} kars_mesh_transport_callbacks;

/* Uses `callbacks` (copied; all but ack are required) as this agent's transport instead of a
 * relay, and publishes the agent's keys through them. `userdata` is passed to every callback;
 * `userdata_free` (may be NULL) is called with it when the agent no longer uses it (on free, or
 * when another transport replaces it). Errors: KARS_E_INVALID_ARGUMENT (a required callback is
 * NULL; userdata_free has then been called already), or what publish_keys returned, KARS_E_IO (the
 * transport stays attached and publication is retried by later receives; call attach again to
 * retry at once). Not concurrently with other calls on the same agent. */
KARS_API kars_status kars_mesh_agent_attach_transport(kars_mesh_agent* agent,
                                                      const kars_mesh_transport_callbacks* callbacks,
                                                      void* userdata,
                                                      void (*userdata_free)(void* userdata),
                                                      kars_error** err);

/* Hands the agent an envelope addressed to it that the host received (bytes exactly as a send
 * callback produced them), tagged with the host's sequence number `seq` (a later push of the same
 * seq replaces it). The next kars_mesh_agent_receive (or one waiting now) decrypts it. Thread-safe:
 * may be called from any thread, also while a receive waits. Errors: KARS_E_PRECONDITION (the
 * agent uses no host transport), KARS_E_INVALID_ARGUMENT (not an envelope). */
KARS_API kars_status kars_mesh_agent_push(kars_mesh_agent* agent, uint64_t seq,
                                          const uint8_t* envelope, size_t envelope_len,
                                          kars_error** err);

typedef enum kars_mesh_event_kind {
  KARS_MESH_EVENT_MESSAGE = 1,          /* a decrypted message */
  KARS_MESH_EVENT_DUPLICATE = 2,        /* a message already delivered arrived again; no body */
  KARS_MESH_EVENT_REJECTED = 3,         /* an envelope failed authentication or validation */
  KARS_MESH_EVENT_IDENTITY_CHANGED = 4, /* peer's identity key changed; it is blocked */
  KARS_MESH_EVENT_EXPIRED = 5           /* a message this agent sent expired undelivered */
} kars_mesh_event_kind;

/* One event handed to a receive callback. Borrowed: valid only during the callback. */
typedef struct kars_mesh_event kars_mesh_event;

KARS_API kars_mesh_event_kind kars_mesh_event_get_kind(const kars_mesh_event* event);
/* The peer's name (sender; for EXPIRED the intended recipient), NUL-terminated. */
KARS_API const char* kars_mesh_event_get_peer(const kars_mesh_event* event);
/* The 16-byte message id. */
KARS_API const uint8_t* kars_mesh_event_get_message_id(const kars_mesh_event* event, size_t* len);
/* The message body (MESSAGE only; empty otherwise). */
KARS_API const uint8_t* kars_mesh_event_get_body(const kars_mesh_event* event, size_t* len);
/* The sender's identity public key (MESSAGE: the trusted key; IDENTITY_CHANGED: the new key), so
 * a host can apply policy to the peer's identity before acting on the message. */
KARS_API const uint8_t* kars_mesh_event_get_identity_key(const kars_mesh_event* event, size_t* len);
/* 1 when, in ACCEPT_AND_REPORT mode, this message came with a changed identity key. */
KARS_API int kars_mesh_event_identity_changed(const kars_mesh_event* event);
/* For REJECTED: why (e.g. KARS_E_TAMPERED); KARS_OK otherwise. */
KARS_API kars_status kars_mesh_event_get_status(const kars_mesh_event* event);
/* A human-readable detail ("" when none), NUL-terminated. */
KARS_API const char* kars_mesh_event_get_detail(const kars_mesh_event* event);
/* Sender's clock when sent, Unix ms (MESSAGE only). */
KARS_API int64_t kars_mesh_event_get_sent_at_ms(const kars_mesh_event* event);
/* The group a MESSAGE was sent to, NUL-terminated; "" for a message to this agent alone. */
KARS_API const char* kars_mesh_event_get_group(const kars_mesh_event* event);

/* Called for each event, on the thread calling kars_mesh_agent_receive, with no agent state lock
 * held (the callback may call kars_mesh_agent_send, but not receive). Return 0 to accept the
 * event (it is then removed from the inbox); non-zero stops delivery, keeps the event and makes
 * the receive call return KARS_E_CALLBACK. */
typedef int (*kars_mesh_event_cb)(const kars_mesh_event* event, void* userdata);

/* Fetches pending envelopes from the relay (waiting up to `wait_ms` when none is pending),
 * decrypts them into the durable inbox, acknowledges them to the relay, then hands every inbox
 * event to `callback` in order. `delivered` (may be NULL) receives the number of events the
 * callback accepted. Errors: KARS_E_CALLBACK, KARS_E_UNAVAILABLE, KARS_E_IO,
 * KARS_E_PRECONDITION (not connected). Bad envelopes are not errors: they are REJECTED events. */
KARS_API kars_status kars_mesh_agent_receive(size_t* delivered, kars_mesh_agent* agent,
                                             uint32_t wait_ms, kars_mesh_event_cb callback,
                                             void* userdata, kars_error** err);

/* Trusts the changed identity key `peer` presented, then decrypts the messages held back while
 * it was blocked (they are delivered by the next receive). Errors: KARS_E_NOT_FOUND (no change
 * awaits approval), KARS_E_IO. */
KARS_API kars_status kars_mesh_agent_approve_identity(kars_mesh_agent* agent, const char* peer,
                                                      kars_error** err);

/* Keeps the pinned identity key of `peer` and drops the messages held back while it was blocked,
 * reporting each as a KARS_MESH_EVENT_REJECTED event with status KARS_E_DENIED (delivered by the
 * next receive). A later message under the new key blocks the peer again. Errors:
 * KARS_E_NOT_FOUND (no change awaits a decision), KARS_E_IO. */
KARS_API kars_status kars_mesh_agent_reject_identity(kars_mesh_agent* agent, const char* peer,
                                                     kars_error** err);

typedef enum kars_mesh_identity_decision {
  KARS_MESH_IDENTITY_DEFER = 0,   /* keep the peer blocked; ask again on a later receive */
  KARS_MESH_IDENTITY_APPROVE = 1, /* as kars_mesh_agent_approve_identity */
  KARS_MESH_IDENTITY_REJECT = 2   /* as kars_mesh_agent_reject_identity */
} kars_mesh_identity_decision;

/* The host's policy for a changed identity key (BLOCK mode). `old_key` is the pinned key (33
 * bytes; old_len 0 if none), `new_key` the one presented, `safety_number` (60 digits) the safety
 * number with the new key, all borrowed for the call. Set *decision (it starts as DEFER) and
 * return 0; a non-zero return aborts the agent call with KARS_E_CALLBACK (nothing is lost: the
 * change stays pending). Runs on the thread of kars_mesh_agent_receive (after the envelopes were
 * stored, before events are delivered, so messages it approves are delivered by the same call) or
 * of kars_mesh_agent_send when the peer is blocked (the send is retried once if it approves),
 * with no agent state lock held; it must not call functions of the same agent. */
typedef int (*kars_mesh_identity_cb)(kars_mesh_identity_decision* decision, const char* peer,
                                     const uint8_t* old_key, size_t old_len,
                                     const uint8_t* new_key, size_t new_len,
                                     const char* safety_number, void* userdata);

/* Installs (or, with callback NULL, removes) the identity-change callback. `userdata_free` (may be
 * NULL) is called with `userdata` when the callback is replaced or the agent freed. Without a
 * callback, changes wait for kars_mesh_agent_approve_identity / _reject_identity.
 * Errors: KARS_E_INVALID_ARGUMENT (NULL agent). Thread-safe. */
KARS_API kars_status kars_mesh_agent_set_identity_callback(kars_mesh_agent* agent,
                                                           kars_mesh_identity_cb callback,
                                                           void* userdata,
                                                           void (*userdata_free)(void* userdata),
                                                           kars_error** err);

/* The 60-digit safety number of this agent and `peer`, NUL-terminated in `out`, for comparison
 * out of band. `pending` non-zero uses the changed key awaiting approval instead of the trusted
 * one. Errors: KARS_E_NOT_FOUND (no key known for the peer). */
KARS_API kars_status kars_mesh_agent_safety_number(kars_buf* out, kars_mesh_agent* agent,
                                                   const char* peer, int pending, kars_error** err);

/* Groups (Signal sender keys). The creating agent owns the group: only it adds and removes
 * members, and every member follows its membership list. A group message is encrypted once;
 * the relay stores that one ciphertext for every member. Removing a member rotates every
 * remaining member's sender key, so the removed member cannot read anything sent afterwards.
 * Membership changes and sender keys reach members through their pairwise sessions; a member
 * applies them when it receives. Group ids follow the rules of agent names. */

/* Creates `group` owned by this agent with `members` (this agent is added; duplicates ignored).
 * Errors: KARS_E_EXISTS, KARS_E_INVALID_ARGUMENT (bad id or member name), KARS_E_NOT_FOUND (a
 * member unknown to the relay), KARS_E_UNAVAILABLE. */
KARS_API kars_status kars_mesh_agent_group_create(kars_mesh_agent* agent, const char* group,
                                                  const char* const* members, size_t n_members,
                                                  kars_error** err);

/* Adds `member` (owner only). Errors: KARS_E_DENIED (not the owner), KARS_E_EXISTS,
 * KARS_E_NOT_FOUND (no such group). */
KARS_API kars_status kars_mesh_agent_group_add(kars_mesh_agent* agent, const char* group,
                                               const char* member, kars_error** err);

/* Removes `member` (owner only) and rotates sender keys. Errors: KARS_E_DENIED, KARS_E_NOT_FOUND
 * (no such group or member), KARS_E_INVALID_ARGUMENT (the owner itself). */
KARS_API kars_status kars_mesh_agent_group_remove(kars_mesh_agent* agent, const char* group,
                                                  const char* member, kars_error** err);

/* Sends `body` to every other member of `group` as one ciphertext. `message_id` may be NULL.
 * Errors: KARS_E_NOT_FOUND (not a member of such a group), KARS_E_INVALID_ARGUMENT,
 * KARS_E_EXHAUSTED, KARS_E_UNAVAILABLE. */
KARS_API kars_status kars_mesh_agent_group_send(kars_buf* message_id, kars_mesh_agent* agent,
                                                const char* group, const uint8_t* body,
                                                size_t body_len, kars_error** err);

/* The agent's identity public key (33 bytes). Errors: KARS_E_IO. */
KARS_API kars_status kars_mesh_agent_identity_key(kars_buf* out, kars_mesh_agent* agent,
                                                  kars_error** err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KARS_MESH_H */
