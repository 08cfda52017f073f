/* kars broker: the credential broker. The agent never holds a credential: the host asks the
 * broker to inject one into each outgoing request the agent makes, under a grant and a lease;
 * the broker scans outgoing requests for every secret value it holds (in raw form and common
 * encodings) and redacts those values from responses as they stream back.
 *
 * Configuration is YAML or JSON (see docs in libkars/broker/config.h): sources (file, directory of
 * key files, env, exec
 * plugin, OAuth 2.0 client credentials, OAuth 2.0 token exchange) and grants. It can also be
 * built up call by call with kars_broker_add_source / kars_broker_add_grant, each taking the
 * YAML or JSON of one entry.
 *
 * No value ever appears in an error message, event, lease or listing. Values do appear, by
 * design, in an injection's header values and query: the host copies them into the upstream
 * request and frees the injection, which wipes them.
 */
#ifndef KARS_BROKER_H
#define KARS_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "kars/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One HTTP header, as pointer + length pairs (not NUL-terminated). */
typedef struct kars_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} kars_header;

/* Options for kars_broker_new. One thread at a time. */
typedef struct kars_broker_options kars_broker_options;

/* Creates options with the defaults: token patterns on, at most 1,000,000 live leases.
 * Errors: KARS_E_NO_MEMORY. */
KARS_API kars_status kars_broker_options_new(kars_broker_options **out, kars_error **err);

/* Releases options. Accepts NULL. */
KARS_API void kars_broker_options_free(kars_broker_options *options);

/* Turns the second leak layer (shapes of well-known token formats) on (non-zero) or off. */
KARS_API void kars_broker_options_set_token_patterns(kars_broker_options *options, int enabled);

/* Caps the live leases; an injection beyond it is denied with "leases_exhausted". 0 is ignored. */
KARS_API void kars_broker_options_set_max_leases(kars_broker_options *options, size_t max_leases);

/* The broker. Thread-safe: every call may be made from any thread concurrently. */
typedef struct kars_broker kars_broker;

/* Creates an empty broker (no sources, no grants). `options` may be NULL for the defaults and
 * is not retained. Errors: KARS_E_NO_MEMORY, KARS_E_INTERNAL. */
KARS_API kars_status kars_broker_new(kars_broker **out, const kars_broker_options *options,
                                     kars_error **err);

/* Creates a broker from a whole configuration (YAML or JSON text). Either every source and
 * grant is added, or the call fails. Errors: KARS_E_INVALID_ARGUMENT naming the entry and
 * field that is wrong; KARS_E_NOT_FOUND for a grant naming an unknown source. A local source
 * (file, env) that cannot be read does not fail the call: the credential is unavailable and
 * requests that need it are denied with "credential_unavailable". */
KARS_API kars_status kars_broker_new_from_config(kars_broker **out, const char *config,
                                                 size_t config_len, kars_error **err);

/* Releases a broker. Accepts NULL. Injections, verdicts and redactors created from it stay
 * valid. No other call on the broker may be running. */
KARS_API void kars_broker_free(kars_broker *broker);

/* Adds one source from its YAML/JSON definition (e.g. "{id: k, type: file, path: /run/k}").
 * A directory ("{id: app, type: directory, path: /run/app, check_interval_ms: 1000}") adds one
 * source "app/<file>" per key file (hidden entries skipped) and keeps following the directory:
 * a key file that appears later becomes a source (event "source_added"), one that goes away is
 * retired (event "source_removed"; requests using it are then denied "credential_unavailable",
 * injections already made keep their value and lease), and a changed file is re-read; all
 * without restart, at most check_interval_ms after the change (see
 * kars_broker_rescan_directories to look at once). Errors: KARS_E_INVALID_ARGUMENT (including
 * a directory that cannot be listed), KARS_E_EXISTS for a duplicate id. */
KARS_API kars_status kars_broker_add_source(kars_broker *broker, const char *definition,
                                            size_t definition_len, kars_error **err);

/* Removes a source; leases using it are revoked. Errors: KARS_E_NOT_FOUND, KARS_E_PRECONDITION
 * while a grant uses it. */
KARS_API kars_status kars_broker_remove_source(kars_broker *broker, const char *id, size_t id_len,
                                               kars_error **err);

/* Adds one grant from its YAML/JSON definition. Errors: KARS_E_INVALID_ARGUMENT,
 * KARS_E_EXISTS for a duplicate id, KARS_E_NOT_FOUND for an unknown credential. */
KARS_API kars_status kars_broker_add_grant(kars_broker *broker, const char *definition,
                                           size_t definition_len, kars_error **err);

/* Removes a grant; its leases are revoked. Errors: KARS_E_NOT_FOUND. */
KARS_API kars_status kars_broker_remove_grant(kars_broker *broker, const char *id, size_t id_len,
                                              kars_error **err);

/* The outcome of one injection: allowed (headers to set and remove, maybe a query parameter
 * to append, a lease id) or denied (a reason and message). Immutable except through
 * kars_broker_inject_into: safe to read from any thread. Every `const char *` it returns is
 * NUL-terminated and valid until kars_broker_injection_free or the next
 * kars_broker_inject_into on it. */
typedef struct kars_broker_injection kars_broker_injection;

/* Asks for the credential a request needs. `principal` is who the agent is; `method` e.g.
 * "POST"; `url` absolute ("https://host[:port]/path?query"); `headers` what the agent sent
 * (may be NULL when n_headers is 0). A denial is a successful call whose injection says
 * why: "no_grant", "credential_unavailable", "credential_exfiltration" (the request already
 * carries a held value; the credential id is named), "invalid_request" or "leases_exhausted".
 * Errors (KARS_E_INVALID_ARGUMENT for NULL arguments, KARS_E_INTERNAL) mean no decision was
 * made; hosts must then refuse the request (fail closed). */
KARS_API kars_status kars_broker_inject(kars_broker_injection **out, kars_broker *broker,
                                        const char *principal, size_t principal_len,
                                        const char *method, size_t method_len, const char *url,
                                        size_t url_len, const kars_header *headers,
                                        size_t n_headers, kars_error **err);

/* An empty injection to pass to kars_broker_inject_into (it reads as denied with reason "").
 * Errors: KARS_E_INVALID_ARGUMENT for a NULL `out`, KARS_E_NO_MEMORY. */
KARS_API kars_status kars_broker_injection_new(kars_broker_injection **out, kars_error **err);

/* kars_broker_inject into an existing injection, which is overwritten (its old values wiped)
 * and whose buffers are reused: a host that keeps one injection per thread injects without
 * allocating. Strings read from the injection before the call are invalid after it. The
 * injection must not be read or used by another thread during the call. Arguments, denials
 * and errors as kars_broker_inject; after an error the injection is empty (not allowed). */
KARS_API kars_status kars_broker_inject_into(kars_broker_injection *injection, kars_broker *broker,
                                             const char *principal, size_t principal_len,
                                             const char *method, size_t method_len,
                                             const char *url, size_t url_len,
                                             const kars_header *headers, size_t n_headers,
                                             kars_error **err);

/* Releases an injection, wiping the credential bytes it holds. Accepts NULL. */
KARS_API void kars_broker_injection_free(kars_broker_injection *injection);

/* 1 if allowed, 0 if denied (or NULL). */
KARS_API int kars_broker_injection_allowed(const kars_broker_injection *injection);

/* The denial reason ("" when allowed). */
KARS_API const char *kars_broker_injection_reason(const kars_broker_injection *injection);

/* Why it was denied, for the agent and logs; never contains a value ("" when allowed). */
KARS_API const char *kars_broker_injection_message(const kars_broker_injection *injection);

/* The credential injected, or the one an exfiltration attempt carried; "" if none. */
KARS_API const char *kars_broker_injection_credential_id(const kars_broker_injection *injection);

/* The grant used ("" when denied). */
KARS_API const char *kars_broker_injection_grant_id(const kars_broker_injection *injection);

/* The lease the injection is under ("" when denied). */
KARS_API const char *kars_broker_injection_lease_id(const kars_broker_injection *injection);

/* Number of headers to set on the upstream request (replacing any of the same name). */
KARS_API size_t kars_broker_injection_set_header_count(const kars_broker_injection *injection);

/* Header `index` to set. The value holds the credential: copy it into the request only.
 * Errors: KARS_E_INVALID_ARGUMENT for an index out of range or NULL outputs. */
KARS_API kars_status kars_broker_injection_set_header(kars_header *out,
                                                      const kars_broker_injection *injection,
                                                      size_t index, kars_error **err);

/* Number of agent headers to remove before sending (credentials the agent supplied). */
KARS_API size_t kars_broker_injection_remove_header_count(const kars_broker_injection *injection);

/* Name of the header `index` to remove, as the agent spelled it; NULL if out of range. */
KARS_API const char *kars_broker_injection_remove_header(const kars_broker_injection *injection,
                                                         size_t index);

/* "name=value" (percent-encoded) to append to the URL's query, or "" when the grant injects a
 * header. Holds the credential. */
KARS_API const char *kars_broker_injection_query(const kars_broker_injection *injection);

/* The verdict of an outbound scan. Immutable; strings valid until kars_broker_verdict_free. */
typedef struct kars_broker_verdict kars_broker_verdict;

/* Scans a whole outgoing request (URL, every header value, body) for every held value in
 * every encoding, then for well-known token shapes (unless turned off). A hit means the host
 * must deny the request with reason "credential_exfiltration". Errors: KARS_E_INVALID_ARGUMENT,
 * KARS_E_INTERNAL (deny the request). */
KARS_API kars_status kars_broker_scan_outbound(kars_broker_verdict **out, kars_broker *broker,
                                               const char *url, size_t url_len,
                                               const kars_header *headers, size_t n_headers,
                                               const uint8_t *body, size_t body_len,
                                               kars_error **err);

/* Releases a verdict. Accepts NULL. */
KARS_API void kars_broker_verdict_free(kars_broker_verdict *verdict);

/* 1 when nothing secret was found (or NULL verdict: 0). */
KARS_API int kars_broker_verdict_clean(const kars_broker_verdict *verdict);

/* The credential id found, or "pattern:<name>" for a well-known token shape; "" when clean. */
KARS_API const char *kars_broker_verdict_credential_id(const kars_broker_verdict *verdict);

/* Where: "url", "header:<name>" or "body"; "" when clean. */
KARS_API const char *kars_broker_verdict_location(const kars_broker_verdict *verdict);

/* The encoding matched: "raw", "base64", "base64url", "hex", "HEX", "percent",
 * "percent-lower", "json"; "" for patterns and when clean. */
KARS_API const char *kars_broker_verdict_encoding(const kars_broker_verdict *verdict);

/* A streaming redactor for one response. Replaces every held value (and its encodings) with
 * "[REDACTED:<credential-id>]", also when split across chunks, holding back at most the length
 * of the longest encoded value between calls. It redacts the values held when it was created.
 * One thread at a time. Independent of the broker's lifetime. */
typedef struct kars_broker_redactor kars_broker_redactor;

/* Errors: KARS_E_INVALID_ARGUMENT, KARS_E_NO_MEMORY. */
KARS_API kars_status kars_broker_redactor_new(kars_broker_redactor **out,
                                              const kars_broker *broker, kars_error **err);

/* Releases a redactor, wiping what it held back. Accepts NULL. */
KARS_API void kars_broker_redactor_free(kars_broker_redactor *redactor);

/* Feeds a chunk; *out receives the bytes now safe to forward (possibly none; data may be NULL
 * when len is 0), released with kars_buf_dispose. Errors: KARS_E_PRECONDITION after finish,
 * KARS_E_INVALID_ARGUMENT, KARS_E_NO_MEMORY. */
KARS_API kars_status kars_broker_redactor_feed(kars_buf *out, kars_broker_redactor *redactor,
                                               const uint8_t *chunk, size_t chunk_len,
                                               kars_error **err);

/* Ends the stream; *out receives the rest. Errors: KARS_E_PRECONDITION when called twice. */
KARS_API kars_status kars_broker_redactor_finish(kars_buf *out, kars_broker_redactor *redactor,
                                                 kars_error **err);

/* What a revocation selects. Values are part of the ABI. */
typedef enum kars_broker_revoke_by {
  KARS_BROKER_REVOKE_LEASE = 0,
  KARS_BROKER_REVOKE_CREDENTIAL = 1,
  KARS_BROKER_REVOKE_GRANT = 2,
  KARS_BROKER_REVOKE_PRINCIPAL = 3
} kars_broker_revoke_by;

/* Revokes every live lease matching `key`; *out_count (may be NULL) receives how many.
 * Hosts check a lease with kars_broker_lease_check before reusing an injected request or
 * connection. Errors: KARS_E_INVALID_ARGUMENT for an unknown `by`. */
KARS_API kars_status kars_broker_revoke(size_t *out_count, kars_broker *broker,
                                        kars_broker_revoke_by by, const char *key, size_t key_len,
                                        kars_error **err);

/* KARS_OK while the lease is live; KARS_E_DENIED when revoked or expired; KARS_E_NOT_FOUND. */
KARS_API kars_status kars_broker_lease_check(const kars_broker *broker, const char *lease_id,
                                             size_t lease_id_len, kars_error **err);

/* JSON array of live leases: id, credential, grant, principal, destination, issued, ttl_s,
 * revoked. Never values. *out is released with kars_buf_dispose (NUL-terminated). */
KARS_API kars_status kars_broker_list_leases(kars_buf *out, const kars_broker *broker,
                                             kars_error **err);

/* JSON array of credentials: id, type, available, expires_at, fetches_ok, fetches_failed,
 * generation, last_error. Never values. */
KARS_API kars_status kars_broker_list_credentials(kars_buf *out, const kars_broker *broker,
                                                  kars_error **err);

/* JSON object of counters: injections, denials by reason, scans, scan_hits, revocations,
 * index_rebuilds, source_failures (failed fetches of any source, and directories that could
 * not be listed; each is also a "source_error" event), keys_added and keys_removed (directory
 * keys that appeared or went away after their directory was added). */
KARS_API kars_status kars_broker_metrics(kars_buf *out, const kars_broker *broker,
                                         kars_error **err);

/* Looks at every directory source now rather than at its next check interval: keys added or
 * removed since are followed (see kars_broker_add_source). Errors: KARS_E_INVALID_ARGUMENT
 * for a NULL broker. A directory that cannot be listed is not an error of the call: it is
 * reported as a "source_error" event and in source_failures, and its keys keep serving. */
KARS_API kars_status kars_broker_rescan_directories(kars_broker *broker, kars_error **err);

/* Receives one JSON object per event: "inject", "deny", "source_error" (credential, code: a
 * kars_status value, message), "source_added", "source_removed", "revoke". Events carry ids
 * and reasons, never values. Called on the thread whose call caused the event, with
 * no broker lock held; it must not free the broker. The return value is reserved: return 0.
 * Replaces any earlier callback (its userdata_free runs); cb NULL removes it. userdata_free
 * (may be NULL) runs when the callback is replaced or the broker is freed. */
typedef int (*kars_broker_event_cb)(const char *event_json, size_t event_len, void *userdata);
KARS_API kars_status kars_broker_set_event_callback(kars_broker *broker, kars_broker_event_cb cb,
                                                    void *userdata,
                                                    void (*userdata_free)(void *userdata),
                                                    kars_error **err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KARS_BROKER_H */
