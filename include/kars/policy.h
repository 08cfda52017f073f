/* kars policy engine: may this request happen, and under what limits?
 *
 * Policy documents are YAML or JSON shaped like Kubernetes objects (apiVersion kars.dev/v1,
 * kind Policy); see proto/kars/v1/policy.proto for every field. A policy set is compiled from
 * many documents at once; nothing matched means deny, any matching deny wins, else any matching
 * approve, else allow (audit = allow and flag). The order of rules and documents never changes a
 * decision.
 *
 * Requests come either as JSON (kars_policy_engine_decide_json), shaped like kars.v1.Request:
 *   {"principal": {"agent": "a1", "sandbox": "s", "namespace": "ns", "labels": {"team": "x"}},
 *    "tool": {"name": "search", "arguments": {"q": "..."}},
 *    "approvalTicket": "..."}
 * with exactly one of "inference" {provider, model, operation, maxOutputTokens,
 * estimatedPromptTokens, streaming}, "tool" {name, arguments}, "mcp" {server, tool, arguments},
 * "egress" {scheme, host, port, method, path, resolvedIps: [..]}, "mesh" {direction, peer, group},
 * "a2a" {peer, method}, plus optionally "content" {text, annotations: {severities: {CATEGORY:
 * SEVERITY}}} that the decision holds against the content-safety floors (see
 * kars_policy_request_add_annotation); or through a reusable typed builder (kars_policy_request), which is the
 * cheap path for hosts that decide on every call.
 */
#ifndef KARS_POLICY_H
#define KARS_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "kars/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The effect of a decision. Values are part of the ABI. */
typedef enum kars_policy_effect {
  KARS_POLICY_DENY = 0,
  KARS_POLICY_ALLOW = 1,
  KARS_POLICY_APPROVE = 2, /* a human must decide; the decision carries a ticket */
  KARS_POLICY_AUDIT = 3    /* allowed, and flagged for the audit log */
} kars_policy_effect;

/* Request kinds for the typed builder. */
typedef enum kars_policy_kind {
  KARS_POLICY_KIND_INFERENCE = 0,
  KARS_POLICY_KIND_TOOL = 1,
  KARS_POLICY_KIND_MCP = 2,
  KARS_POLICY_KIND_EGRESS = 3,
  KARS_POLICY_KIND_MESH = 4,
  KARS_POLICY_KIND_A2A = 5
} kars_policy_kind;

/* Fields of the typed builder. String fields are set with kars_policy_request_set_string,
 * numeric ones with kars_policy_request_set_uint. A field that does not belong to the request's
 * kind is refused with KARS_E_INVALID_ARGUMENT. */
typedef enum kars_policy_field {
  KARS_POLICY_FIELD_AGENT = 1,
  KARS_POLICY_FIELD_SANDBOX = 2,
  KARS_POLICY_FIELD_NAMESPACE = 3,
  KARS_POLICY_FIELD_APPROVAL_TICKET = 4,
  KARS_POLICY_FIELD_PROVIDER = 10,      /* inference */
  KARS_POLICY_FIELD_MODEL = 11,         /* inference */
  KARS_POLICY_FIELD_OPERATION = 12,     /* inference */
  KARS_POLICY_FIELD_MAX_OUTPUT_TOKENS = 13,       /* inference, uint */
  KARS_POLICY_FIELD_ESTIMATED_PROMPT_TOKENS = 14, /* inference, uint */
  KARS_POLICY_FIELD_STREAMING = 15,     /* inference, uint 0/1 */
  KARS_POLICY_FIELD_TOOL_NAME = 20,     /* tool */
  KARS_POLICY_FIELD_MCP_SERVER = 30,    /* mcp */
  KARS_POLICY_FIELD_MCP_TOOL = 31,      /* mcp */
  KARS_POLICY_FIELD_SCHEME = 40,        /* egress */
  KARS_POLICY_FIELD_HOST = 41,          /* egress */
  KARS_POLICY_FIELD_PORT = 42,          /* egress, uint */
  KARS_POLICY_FIELD_METHOD = 43,        /* egress */
  KARS_POLICY_FIELD_PATH = 44,          /* egress */
  KARS_POLICY_FIELD_DIRECTION = 50,     /* mesh: "send" or "receive" */
  KARS_POLICY_FIELD_PEER = 51,          /* mesh, a2a */
  KARS_POLICY_FIELD_GROUP = 52,         /* mesh */
  KARS_POLICY_FIELD_A2A_METHOD = 60,    /* a2a */
  KARS_POLICY_FIELD_CONTENT_TEXT = 70   /* any kind: content held against the safety floors */
} kars_policy_field;

/* State of an approval ticket. Values are part of the ABI. */
typedef enum kars_policy_ticket_state {
  KARS_POLICY_TICKET_PENDING = 0,
  KARS_POLICY_TICKET_APPROVED = 1,
  KARS_POLICY_TICKET_DENIED = 2,
  KARS_POLICY_TICKET_EXPIRED = 3,
  KARS_POLICY_TICKET_USED = 4
} kars_policy_ticket_state;

/* Flags for the decide calls. */
#define KARS_POLICY_EXPLAIN 1u /* fill the decision's explanation */

/* ---- Options ---------------------------------------------------------------------------- */

/* Engine options. One thread at a time. NULL wherever options are taken means defaults. */
typedef struct kars_policy_options kars_policy_options;

/* Creates options with the defaults: approval TTL 15 minutes, reservation timeout 10 minutes.
 * Errors: KARS_E_INVALID_ARGUMENT (out is NULL), KARS_E_NO_MEMORY. */
KARS_API kars_status kars_policy_options_new(kars_policy_options **out, kars_error **err);

/* Releases options. Accepts NULL. */
KARS_API void kars_policy_options_free(kars_policy_options *options);

/* How long a pending ticket waits for a human, and how long an approved ticket stays usable.
 * Errors: KARS_E_INVALID_ARGUMENT (options NULL or ttl_ms 0). */
KARS_API kars_status kars_policy_options_set_approval_ttl_ms(kars_policy_options *options,
                                                              uint64_t ttl_ms, kars_error **err);

/* After how long an unsettled reservation expires; it is then charged in full.
 * Errors: KARS_E_INVALID_ARGUMENT (options NULL or timeout_ms 0). */
KARS_API kars_status kars_policy_options_set_reservation_timeout_ms(kars_policy_options *options,
                                                                     uint64_t timeout_ms,
                                                                     kars_error **err);

/* Sets the clock the engine reads for budget windows, rate limits, reservation expiry and
 * approval TTLs: `now_unix_ns(userdata)` returns nanoseconds since the Unix epoch (UTC). Hosts
 * and tests use it to drive time; without it the engine reads the system clock.
 * Thread safety: the callback is called from every thread that decides, settles, approves,
 * lists or waits on an engine created from these options, concurrently and while engine locks
 * are held, so it must be thread-safe, must not block, and must not call into the engine.
 * It should not go backwards (a calendar budget then denies until time catches up).
 * Ownership: the options and every engine created from them share the callback; `userdata_free`
 * (may be NULL) runs once, on the thread releasing the last of them. Engines keep it alive
 * while an asynchronous wait is outstanding. Passing now_unix_ns NULL restores the system clock
 * (and calls userdata_free(userdata) at once, if given).
 * Errors: KARS_E_INVALID_ARGUMENT (options NULL). */
KARS_API kars_status kars_policy_options_set_clock(kars_policy_options *options,
                                                   int64_t (*now_unix_ns)(void *userdata),
                                                   void *userdata,
                                                   void (*userdata_free)(void *userdata),
                                                   kars_error **err);

/* Keeps budget usage in a journal file at `path` (NUL-terminated; created if missing), so that
 * day and month budgets survive a restart or a kill -9 (see libkars/policy/journal_store.h for
 * the durability contract). Without it, counters live in memory only. The file is opened by
 * kars_policy_engine_new. Errors: KARS_E_INVALID_ARGUMENT. */
KARS_API kars_status kars_policy_options_set_budget_journal(kars_policy_options *options,
                                                             const char *path, kars_error **err);

/* ---- Sources ---------------------------------------------------------------------------- */

/* The inputs of one compilation: policy documents and domain blocklist feeds. One thread at a
 * time. The library copies every input. */
typedef struct kars_policy_sources kars_policy_sources;

/* Errors: KARS_E_INVALID_ARGUMENT, KARS_E_NO_MEMORY. */
KARS_API kars_status kars_policy_sources_new(kars_policy_sources **out, kars_error **err);

/* Releases sources. Accepts NULL. */
KARS_API void kars_policy_sources_free(kars_policy_sources *sources);

/* Adds YAML or JSON policy documents (several per text, separated by `---`). `name` (NUL-
 * terminated, e.g. a file name) is used in error positions. Nothing is parsed until a
 * compilation. Errors: KARS_E_INVALID_ARGUMENT (NULL arguments). */
KARS_API kars_status kars_policy_sources_add_bytes(kars_policy_sources *sources, const char *name,
                                                   const uint8_t *data, size_t len,
                                                   kars_error **err);

/* Reads a policy file now and adds it under its path.
 * Errors: KARS_E_INVALID_ARGUMENT, KARS_E_IO (cannot read; the message names the path). */
KARS_API kars_status kars_policy_sources_add_file(kars_policy_sources *sources, const char *path,
                                                  kars_error **err);

/* Adds a domain blocklist feed: one domain per line, `#` comments, hosts-file lines
 * ("0.0.0.0 example.com") accepted. Each domain blocks itself and its subdomains.
 * Errors: KARS_E_INVALID_ARGUMENT. */
KARS_API kars_status kars_policy_sources_add_domain_feed(kars_policy_sources *sources,
                                                         const char *name, const uint8_t *data,
                                                         size_t len, kars_error **err);

/* Compiles `sources` without putting them in force, for `kars policy check`. On success
 * *out_warnings (may be NULL) receives the warnings, one per line, NUL-terminated (possibly empty),
 * ordered by file and position: "FILE:LINE:COL: W_CODE: rule 'ID' (document 'DOC') ..." with the
 * stable codes W_SHADOWED (an equal-or-broader deny rule matches everything the rule matches, so
 * it never takes effect) and W_NEVER_MATCHES (contradictory argument conditions, an IP address
 * as a host pattern, or only blocklisted hosts).
 * Errors: KARS_E_INVALID_ARGUMENT with "FILE:LINE:COL: E_CODE: message" for the first error
 * (codes: E_SYNTAX, E_UNKNOWN_FIELD, E_TYPE, E_VALUE, E_MISSING, E_DUPLICATE, E_CONFLICT,
 * E_PATTERN, E_REGEX). */
KARS_API kars_status kars_policy_check(kars_buf *out_warnings, const kars_policy_sources *sources,
                                       kars_error **err);

/* ---- Engine ----------------------------------------------------------------------------- */

/* A policy engine: the set in force, budgets and rate limits, reservations, approvals.
 * Thread-safe: every call below may run concurrently on one engine. */
typedef struct kars_policy_engine kars_policy_engine;

/* Creates an engine with an empty policy set (every request is denied until a load).
 * `options` may be NULL and is copied. Errors: KARS_E_INVALID_ARGUMENT, KARS_E_NO_MEMORY,
 * KARS_E_IO (budget journal unreadable or unwritable), KARS_E_TAMPERED (journal malformed). */
KARS_API kars_status kars_policy_engine_new(kars_policy_engine **out,
                                            const kars_policy_options *options, kars_error **err);

/* Releases an engine. Accepts NULL. No other call on it may be running. */
KARS_API void kars_policy_engine_free(kars_policy_engine *engine);

/* Compiles `sources` and atomically puts the result in force. Decisions in flight finish on the
 * previous set. On error the previous set stays in force. Errors: as kars_policy_check. */
KARS_API kars_status kars_policy_engine_load(kars_policy_engine *engine,
                                             const kars_policy_sources *sources, kars_error **err);

/* The hex SHA-256 digest of the set in force (over its canonical form: independent of the order
 * of sources and documents), NUL-terminated. Errors: KARS_E_INVALID_ARGUMENT, KARS_E_NO_MEMORY. */
KARS_API kars_status kars_policy_engine_digest(kars_buf *out_hex, const kars_policy_engine *engine,
                                               kars_error **err);

/* ---- Requests --------------------------------------------------------------------------- */

/* A request under construction. One thread at a time. Reuse one per thread with
 * kars_policy_request_reset: after warm-up, building and deciding allocate nothing. */
typedef struct kars_policy_request kars_policy_request;

/* Errors: KARS_E_INVALID_ARGUMENT (bad kind), KARS_E_NO_MEMORY. */
KARS_API kars_status kars_policy_request_new(kars_policy_request **out, kars_policy_kind kind,
                                             kars_error **err);

/* Releases a request. Accepts NULL. */
KARS_API void kars_policy_request_free(kars_policy_request *request);

/* Clears every field and sets the kind. Errors: KARS_E_INVALID_ARGUMENT. */
KARS_API kars_status kars_policy_request_reset(kars_policy_request *request, kars_policy_kind kind,
                                               kars_error **err);

/* Sets a string field (UTF-8, copied). Errors: KARS_E_INVALID_ARGUMENT (field not a string
 * field of this kind). */
KARS_API kars_status kars_policy_request_set_string(kars_policy_request *request,
                                                    kars_policy_field field, const char *value,
                                                    size_t len, kars_error **err);

/* Sets a numeric field. Errors: KARS_E_INVALID_ARGUMENT (not a numeric field of this kind, or
 * out of range: port 1..65535, streaming 0/1). */
KARS_API kars_status kars_policy_request_set_uint(kars_policy_request *request,
                                                  kars_policy_field field, uint64_t value,
                                                  kars_error **err);

/* Adds a principal label. Errors: KARS_E_INVALID_ARGUMENT. */
KARS_API kars_status kars_policy_request_add_label(kars_policy_request *request, const char *key,
                                                   size_t key_len, const char *value,
                                                   size_t value_len, kars_error **err);

/* Adds a resolved destination address of an egress request (textual IPv4/IPv6).
 * Errors: KARS_E_INVALID_ARGUMENT (not an egress request). */
KARS_API kars_status kars_policy_request_add_resolved_ip(kars_policy_request *request,
                                                         const char *ip, size_t len,
                                                         kars_error **err);

/* Adds what an upstream classifier said about the request's content for one category
 * ("secrets", "pii", "prompt_injection", "exfiltration_url", "hate", "sexual", "violence",
 * "self_harm", "jailbreak") with a severity ("safe", "low", "medium", "high"); setting a category
 * twice keeps the last. The decision holds the content against the set's safety floors: a floor
 * that requires an annotation for a category the request lacks denies with reason
 * "safety.annotation_missing". Errors: KARS_E_INVALID_ARGUMENT (unknown category or severity,
 * NULL arguments). */
KARS_API kars_status kars_policy_request_add_annotation(kars_policy_request *request,
                                                        const char *category, size_t category_len,
                                                        const char *severity, size_t severity_len,
                                                        kars_error **err);

/* Sets the JSON arguments of a tool or MCP request. Errors: KARS_E_INVALID_ARGUMENT (not
 * JSON, or not a tool/mcp request). */
KARS_API kars_status kars_policy_request_set_arguments_json(kars_policy_request *request,
                                                            const char *json, size_t len,
                                                            kars_error **err);

/* ---- Decisions -------------------------------------------------------------------------- */

/* The outcome of a decision. One thread at a time; immutable between decide calls. Reuse one
 * per thread: decide calls overwrite it. */
typedef struct kars_policy_decision kars_policy_decision;

/* Errors: KARS_E_INVALID_ARGUMENT, KARS_E_NO_MEMORY. */
KARS_API kars_status kars_policy_decision_new(kars_policy_decision **out, kars_error **err);

/* Releases a decision. Accepts NULL. */
KARS_API void kars_policy_decision_free(kars_policy_decision *decision);

/* Decides a built request into `out`. `flags`: 0 or KARS_POLICY_EXPLAIN.
 * A decision that reserved budget or concurrency carries a reservation to settle.
 * Errors: KARS_E_INVALID_ARGUMENT for a malformed request (missing required fields; the message
 * names the field); the decision then reads deny with reason "request.invalid". */
KARS_API kars_status kars_policy_engine_decide(kars_policy_decision *out,
                                               kars_policy_engine *engine,
                                               const kars_policy_request *request, uint32_t flags,
                                               kars_error **err);

/* Decides a JSON request (see the top of this header). Errors: as kars_policy_engine_decide,
 * plus KARS_E_INVALID_ARGUMENT for unparseable JSON or unknown fields. */
KARS_API kars_status kars_policy_engine_decide_json(kars_policy_decision *out,
                                                    kars_policy_engine *engine, const char *json,
                                                    size_t len, uint32_t flags, kars_error **err);

/* Accessors; a NULL decision reads as deny with empty strings. Returned strings are borrowed
 * and valid until the next decide call on, or the release of, the decision. */
KARS_API kars_policy_effect kars_policy_decision_effect(const kars_policy_decision *decision);
/* Stable reason code, e.g. "rule.allow", "rule.deny", "default.deny", "approval.required",
 * "limit.budget", "limit.rate", "egress.internal_address", "egress.risky_tld", "safety.deny",
 * "safety.audit" (allowed, flagged), "safety.redact" (allowed once redacted),
 * "safety.annotation_missing". */
KARS_API const char *kars_policy_decision_reason(const kars_policy_decision *decision);
/* The ids of the matched rules (at most 16 are recorded), sorted. */
KARS_API size_t kars_policy_decision_rule_count(const kars_policy_decision *decision);
/* The id of matched rule `index`; "" when out of range. */
KARS_API const char *kars_policy_decision_rule_id(const kars_policy_decision *decision,
                                                  size_t index);
/* The approval ticket ("" unless the effect is approve). */
KARS_API const char *kars_policy_decision_ticket(const kars_policy_decision *decision);
/* The reservation to settle; 0 when nothing was reserved. */
KARS_API uint64_t kars_policy_decision_reservation(const kars_policy_decision *decision);
/* Milliseconds after which a rate-limited request may succeed; 0 otherwise. */
KARS_API int64_t kars_policy_decision_retry_after_ms(const kars_policy_decision *decision);
/* Which rules matched and why ("" unless KARS_POLICY_EXPLAIN was passed). */
KARS_API const char *kars_policy_decision_explanation(const kars_policy_decision *decision);

/* The content with the spans that safety floors redact replaced by "[REDACTED:category]", when
 * the reason is "safety.redact" (the host sends this instead of the original); "" otherwise. */
KARS_API const char *kars_policy_decision_redacted(const kars_policy_decision *decision);

/* The decision as a JSON object {effect, reason, rules, ticket, reservation, retryAfterMs,
 * policyDigest, explanation, safety}, NUL-terminated; "safety" ({action, reason, findings,
 * triggered, redacted}, as kars_policy_engine_scan) is present when floors were applied. Errors: KARS_E_INVALID_ARGUMENT, KARS_E_NO_MEMORY. */
KARS_API kars_status kars_policy_decision_to_json(kars_buf *out,
                                                  const kars_policy_decision *decision,
                                                  kars_error **err);

/* Settles a reservation with the actual usage: budgets are charged the actual tokens (or their
 * cost) instead of the reserved amount, and concurrency slots are released.
 * Errors: KARS_E_NOT_FOUND (unknown, already settled, or expired and charged in full). */
KARS_API kars_status kars_policy_engine_settle(kars_policy_engine *engine, uint64_t reservation,
                                               uint64_t prompt_tokens, uint64_t output_tokens,
                                               kars_error **err);

/* ---- Approvals -------------------------------------------------------------------------- */

/* Pending tickets as a JSON array of {id, requestDigest, request, createdUnixMs, expiresUnixMs},
 * oldest first, NUL-terminated. Errors: KARS_E_INVALID_ARGUMENT, KARS_E_NO_MEMORY. */
KARS_API kars_status kars_policy_engine_pending(kars_buf *out_json, kars_policy_engine *engine,
                                                kars_error **err);

/* Approves a pending ticket: the identical request, retried with the ticket, is allowed once.
 * `ticket`, `approver` (required) and `reason` are NUL-terminated. Errors: KARS_E_NOT_FOUND
 * (unknown ticket), KARS_E_PRECONDITION (no longer pending: decided, used or expired),
 * KARS_E_INVALID_ARGUMENT. */
KARS_API kars_status kars_policy_engine_approve(kars_policy_engine *engine, const char *ticket,
                                                const char *approver, const char *reason,
                                                kars_error **err);

/* Denies a pending ticket. Errors: as kars_policy_engine_approve. */
KARS_API kars_status kars_policy_engine_reject(kars_policy_engine *engine, const char *ticket,
                                               const char *approver, const char *reason,
                                               kars_error **err);

/* Blocks until the ticket is no longer pending or `timeout_ms` passes; *out_state receives the
 * state then (KARS_POLICY_TICKET_PENDING on timeout). Errors: KARS_E_NOT_FOUND,
 * KARS_E_INVALID_ARGUMENT. */
KARS_API kars_status kars_policy_engine_wait(kars_policy_ticket_state *out_state,
                                             kars_policy_engine *engine, const char *ticket,
                                             uint64_t timeout_ms, kars_error **err);

/* ---- Content safety --------------------------------------------------------------------- */

/* Holds `text` (a prompt, completion, tool argument or tool result; UTF-8) against the
 * content-safety floors of the set in force, using the built-in detectors (secret token formats,
 * e-mail, phone, payment cards with Luhn check, IBAN, national ids, prompt-injection phrases,
 * URLs carrying encoded data) and the host's `annotations_json` from an upstream classifier
 * (may be NULL): {"severities": {"hate": "low", "violence": "safe", ...}}.
 * *out_json receives, NUL-terminated: {"action": "allow"|"audit"|"redact"|"deny", "reason",
 * "findings": [{"category", "severity", "detector", "begin", "end"}], "triggered": [...],
 * "redacted": "..." (only when action is redact)}. Findings carry byte offsets, never the matched
 * text. A floor that requires an annotation the host did not pass denies.
 * Errors: KARS_E_INVALID_ARGUMENT (malformed annotations, unknown category or severity). */
KARS_API kars_status kars_policy_engine_scan(kars_buf *out_json, kars_policy_engine *engine,
                                             const char *text, size_t len,
                                             const char *annotations_json, size_t annotations_len,
                                             kars_error **err);

/* Like kars_policy_engine_wait, without blocking: `callback` runs once, on a thread the library
 * starts, with the ticket's state when it leaves pending or when `timeout_ms` passes
 * (KARS_POLICY_TICKET_PENDING). No library lock is held while it runs; its return value is
 * reserved (return 0). The engine stays alive until the callback has returned, even if
 * kars_policy_engine_free is called first. Errors: KARS_E_NOT_FOUND (unknown ticket),
 * KARS_E_INVALID_ARGUMENT. */
KARS_API kars_status kars_policy_engine_wait_async(
    kars_policy_engine *engine, const char *ticket, uint64_t timeout_ms,
    int (*callback)(kars_policy_ticket_state state, void *userdata), void *userdata,
    kars_error **err);

/* ---- Policy unit tests ------------------------------------------------------------------ */

/* Runs a YAML file of cases ({cases: [{name, request, expect, expectReason}]}) against the set
 * in force, on a scratch copy of the engine state (no counters or tickets change).
 * *out_report receives one line per case and a summary, NUL-terminated; *out_failed (may be NULL)
 * the number of failed cases. Errors: KARS_E_INVALID_ARGUMENT ("NAME:LINE:COL: E_CODE: ...")
 * for a malformed cases file. */
KARS_API kars_status kars_policy_engine_test(kars_buf *out_report, size_t *out_failed,
                                             kars_policy_engine *engine, const char *name,
                                             const uint8_t *cases, size_t len, kars_error **err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KARS_POLICY_H */
