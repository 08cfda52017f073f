// An agent on the mesh: its durable identity and sessions, a transport to a relay, sending to
// peers, and receiving into a durable inbox before acknowledging the relay, so that a message the
// relay has deleted is never lost by the agent either.
//
// Receive path: envelopes are decrypted and their events written to the inbox in one durable
// commit; only then are they acknowledged to the relay; then events are handed to the host in
// order and each is removed once the host's callback accepts it.
//
// Thread-safety: thread-safe. Sends are serialised (their order is the order the relay sees);
// callbacks run on the receiving thread with no agent lock held except the delivery lock, so a
// callback may send but must not receive.
#ifndef KARS_MESH_AGENT_H_
#define KARS_MESH_AGENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "kars/common.h"
#include "libkars/base/sync.h"
#include "kars/v1/mesh.pb.h"
#include "libkars/mesh/keys.h"
#include "libkars/mesh/local_store.h"
#include "libkars/mesh/relay_tls.h"
#include "libkars/mesh/signal_env.h"
#include "libkars/mesh/transport.h"

namespace kars::mesh {

struct AgentOptions {
  TrustMode trust = TrustMode::kBlockUntilApproved;
  KeyPolicy keys;
  absl::Duration rpc_timeout = absl::Seconds(10);
  size_t receive_batch = 256;
  RelayTls relay_tls;  // plaintext unless enabled
};

using EventCallback = std::function<int(const kars::v1::mesh::AgentEvent&)>;

// A peer that presented an identity key other than the pinned one.
struct IdentityChange {
  std::string peer;
  std::string old_key;  // serialized public keys; old_key is empty if none was pinned
  std::string new_key;
  std::string safety_number;  // with the new key
};
enum class IdentityDecision { kDefer, kApprove, kReject };
// The host's policy for identity changes; an error aborts the agent call that consulted it.
using IdentityDecider = std::function<absl::StatusOr<IdentityDecision>(const IdentityChange&)>;

class Agent {
 public:
  // Opens (creating if needed) the agent `name` stored in `dir` ("" = memory only).
  static absl::StatusOr<std::unique_ptr<Agent>> Open(const std::string& dir,
                                                     const std::string& name,
                                                     const AgentOptions& options);

  const std::string& name() const { return name_; }

  // Connects to a kars-relay at host:port: authenticates and publishes keys.
  absl::Status ConnectRelay(const std::string& address);
  // Uses `transport` (e.g. a loopback hub) and publishes keys.
  absl::Status Attach(std::shared_ptr<Transport> transport);

  // Encrypts `body` for `peer` and hands it to the relay; returns the 16-byte message id once the
  // relay has stored it durably. A first message to a peer fetches its bundle (X3DH).
  absl::StatusOr<std::string> Send(const std::string& peer, absl::string_view body,
                                   int64_t expires_at_ms = 0);

  // Pulls what the relay holds (waiting up to `wait` when nothing is pending), then hands every
  // inbox event to `cb` in order. Returns the number of events delivered. A non-zero return from
  // `cb` stops delivery with KARS_E_CALLBACK; that event stays in the inbox for the next call.
  absl::StatusOr<size_t> Receive(absl::Duration wait, const EventCallback& cb);

  // Decrypts envelopes given directly (already received by other means) into the inbox.
  absl::Status Accept(const std::vector<kars::v1::mesh::Envelope>& envelopes);
  // Accept, then send the group control it produced.
  absl::Status AcceptAndFlush(const std::vector<kars::v1::mesh::Envelope>& envelopes);

  // Groups (sender keys). The creator owns the group: only it adds and removes members, and its
  // membership list is what every member follows. Removal rotates every remaining member's
  // sender key, so a removed member cannot read what is sent afterwards. A group message is
  // encrypted once and the relay stores that one ciphertext for every member.
  absl::Status CreateGroup(const std::string& group, const std::vector<std::string>& members);
  absl::Status AddGroupMember(const std::string& group, const std::string& member);
  absl::Status RemoveGroupMember(const std::string& group, const std::string& member);
  absl::StatusOr<std::string> SendGroup(const std::string& group, absl::string_view body);
  absl::StatusOr<std::vector<std::string>> GroupMembers(const std::string& group);
  // Sends queued group control payloads; they stay queued (durably) on failure.
  absl::Status FlushOutbox();
  // Hands inbox events to cb (see Receive).
  absl::StatusOr<size_t> Deliver(const EventCallback& cb);

  // Forgets the sessions with `peer` (e.g. after restoring this agent's state from a backup):
  // the next message from `peer` that cannot be decrypted triggers a re-handshake.
  absl::Status ResetSession(const std::string& peer);

  // Trusts the changed identity key `peer` presented, and decrypts what was held back.
  absl::Status ApproveIdentity(const std::string& peer);

  // Keeps the pinned key of `peer` and drops what the changed key sent, reporting each dropped
  // message as a KIND_REJECTED event (status KARS_E_DENIED).
  absl::Status RejectIdentity(const std::string& peer);

  // Installs the host's decider for identity changes (empty: none). It is consulted, with no agent
  // lock held, for every change still pending after a receive processed its batch, and when a send
  // finds its peer blocked (the send is retried once if it approves). kDefer leaves the peer
  // blocked and asks again next time. It must not call this agent.
  void SetIdentityDecider(IdentityDecider decider);
  // Consults the decider about every pending change now.
  absl::Status ReviewIdentities();

  // The safety number with `peer` (its trusted key, or the pending changed one if `pending`).
  absl::StatusOr<std::string> SafetyNumber(const std::string& peer, bool pending = false);
  absl::StatusOr<std::string> IdentityKey();
  absl::StatusOr<std::string> PeerIdentityKey(const std::string& peer, bool pending = false);

  // Signed-prekey rotation and one-time prekey top-up against the relay.
  absl::Status MaintainKeys();

  // The transport in use (null before connecting); benchmarks drive the relay through it.
  std::shared_ptr<Transport> transport() {
    kars::MutexLock l(&mu_);
    return transport_;
  }

 private:
  Agent() = default;
  absl::StatusOr<std::string> SendOnce(const std::string& peer, absl::string_view body,
                                       int64_t expires_at_ms);
  absl::Status Publish(uint32_t extra_prekeys) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<kars::v1::mesh::Envelope> SealForPeerLocked(const std::string& peer,
                                                             const kars::v1::mesh::Payload& payload)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Transmit(Transport& transport, const kars::v1::mesh::Envelope& env,
                        const std::vector<std::string>& also_to);
  // Transmit for several requests at once (Transport::SendMany); one status per request.
  std::vector<absl::Status> TransmitMany(Transport& transport,
                                         const std::vector<kars::v1::mesh::SendRequest>& requests);
  absl::Status ProcessGroupMessageLocked(const kars::v1::mesh::Envelope& env)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ProcessControlLocked(const std::string& sender,
                                    const kars::v1::mesh::Payload& payload)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues a control payload for `peer`; a fresh message id unless `keep_id`.
  absl::Status EnqueueLocked(const std::string& peer, kars::v1::mesh::Payload payload,
                             bool keep_id = false) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RememberSentLocked(const std::string& peer, const kars::v1::mesh::Payload& payload)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RequestResetLocked(const std::string& peer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a decryption failure with `code` means the sessions are out of step (not tampering).
  absl::StatusOr<bool> DesyncedLocked(const kars::v1::mesh::Envelope& env, kars_status code)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ClearAuthFailuresLocked(const std::string& peer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ResendLocked(const std::string& peer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status DistributeLocked(const std::string& group, const std::vector<std::string>& to)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status UpdateMembersLocked(const std::string& group, const std::vector<std::string>& notify,
                                   const kars::v1::mesh::GroupRecord& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ReleaseHeldGroupLocked(const std::string& group) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ProcessLocked(const kars::v1::mesh::Envelope& env, bool* used_prekey)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Hold(const kars::v1::mesh::Envelope& env) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AddEvent(const kars::v1::mesh::AgentEvent& ev) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MaintainKeysLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::string name_;
  AgentOptions options_;
  kars::Mutex send_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  kars::Mutex deliver_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  kars::Mutex mu_;
  kars::Mutex decider_mu_;
  IdentityDecider decider_ ABSL_GUARDED_BY(decider_mu_);
  std::unique_ptr<LocalStore> store_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<SignalEnv> env_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Transport> transport_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kars::mesh

#endif  // KARS_MESH_AGENT_H_
