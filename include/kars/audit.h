/* kars audit: a crash-safe, tamper-evident log of every decision, as an RFC 6962 Merkle tree
 * with signed checkpoints (C2SP signed-note / tlog-checkpoint) and offline proofs.
 *
 * Records are serialised kars.v1.AuditRecord messages (proto/kars/v1/audit.proto). The log sets
 * `sequence` to the record's index and, when 0, `timestamp_micros` to the current time; the
 * Merkle leaf is the hash of the exact stored bytes.
 *
 * Proofs travel as text (RFC 6962 hash lists, one base64 hash per line, leaf side first):
 *   kars-audit-inclusion-proof/v1\nindex <i>\nsize <n>\n<hash>\n...
 *   kars-audit-consistency-proof/v1\nold <m>\nnew <n>\n<hash>\n...
 * or, for independent verifiers, as bare RFC 6962 audit paths or C2SP tlog-proof text (see
 * kars_audit_proof_format).
 * Keys are C2SP signed-note Ed25519 keys: the private key "PRIVATE+KEY+<name>+<hash>+<base64>"
 * and the public (verifier) key "<name>+<hash>+<base64>".
 */
#ifndef KARS_AUDIT_H
#define KARS_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "kars/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* When an append is acknowledged. Values are part of the ABI. */
typedef enum kars_audit_durability {
  /* fdatasync after every record, before its append returns. */
  KARS_AUDIT_SYNC_EACH_APPEND = 0,
  /* Group commit (the default): appends waiting together share one fdatasync, and each returns
   * once that sync completed. */
  KARS_AUDIT_SYNC_BATCH = 1,
  /* Return once the record is written to the operating system; fdatasync every interval. Survives
   * the process being killed; power loss may lose the last interval. */
  KARS_AUDIT_SYNC_INTERVAL = 2
} kars_audit_durability;

/* One thread at a time. Options for kars_audit_log_open; the log copies what it needs, so the
 * options may be freed or reused right after the open. */
typedef struct kars_audit_options kars_audit_options;

/* Creates options with the defaults: batch durability, a checkpoint every 1000 records or
 * 1000 ms, no signing key (no checkpoints), origin = the signing key's name (or a random name
 * without a key) at creation, records up to 1 MiB,
 * 64 MiB segments, writable, directory created when missing. Free with kars_audit_options_free.
 * Errors: KARS_E_NO_MEMORY. */
KARS_API kars_status kars_audit_options_new(kars_audit_options **out, kars_error **err);

/* Releases options. Accepts NULL. */
KARS_API void kars_audit_options_free(kars_audit_options *options);

/* Sets the durability mode; interval_ms applies to KARS_AUDIT_SYNC_INTERVAL (1 to 60000).
 * Errors: KARS_E_INVALID_ARGUMENT for an unknown mode or interval out of range. */
KARS_API kars_status kars_audit_options_set_durability(kars_audit_options *options,
                                                       kars_audit_durability mode,
                                                       uint32_t interval_ms, kars_error **err);

/* Emits a signed checkpoint after every `every_records` new records or `every_ms` milliseconds
 * with new records, whichever comes first; 0 disables either trigger. Checkpoints are also
 * written on demand and on a clean close. Errors: KARS_E_INVALID_ARGUMENT (NULL options). */
KARS_API kars_status kars_audit_options_set_checkpoint_cadence(kars_audit_options *options,
                                                               uint64_t every_records,
                                                               uint32_t every_ms,
                                                               kars_error **err);

/* Sets the checkpoint signing key from its private key text (as written by kars_audit_keygen).
 * The text is parsed at once; the options keep only the key object, never the text.
 * Errors: KARS_E_INVALID_ARGUMENT naming what is malformed, or when the key is a witness
 * (KARS_AUDIT_KEY_COSIGNATURE) key. */
KARS_API kars_status kars_audit_options_set_signing_key(kars_audit_options *options,
                                                        const char *private_key,
                                                        size_t private_key_len, kars_error **err);

/* Sets the origin (first checkpoint line) of a new log; an existing log must have this origin.
 * Errors: KARS_E_INVALID_ARGUMENT for an empty, over-long (> 255) or control-character origin. */
KARS_API kars_status kars_audit_options_set_origin(kars_audit_options *options, const char *origin,
                                                   size_t origin_len, kars_error **err);

/* Largest accepted record, in bytes (1 to 256 MiB; default 1 MiB).
 * Errors: KARS_E_INVALID_ARGUMENT when out of range. */
KARS_API kars_status kars_audit_options_set_max_record_size(kars_audit_options *options,
                                                            size_t max_bytes, kars_error **err);

/* Segment size at which a new segment file starts (at least 4096; default 64 MiB).
 * Errors: KARS_E_INVALID_ARGUMENT when too small. */
KARS_API kars_status kars_audit_options_set_segment_size(kars_audit_options *options,
                                                         uint64_t bytes, kars_error **err);

/* Non-zero: open read-only (no lock, no recovery, no appends; sees what the index covers).
 * Errors: KARS_E_INVALID_ARGUMENT (NULL options). */
KARS_API kars_status kars_audit_options_set_read_only(kars_audit_options *options, int read_only,
                                                      kars_error **err);

/* Non-zero (the default): create the directory and a new log when missing or empty.
 * Errors: KARS_E_INVALID_ARGUMENT (NULL options). */
KARS_API kars_status kars_audit_options_set_create(kars_audit_options *options,
                                                   int create_if_missing, kars_error **err);

/* Thread-safe. An open audit log: every function taking it may be called from any thread,
 * concurrently, until kars_audit_log_free (which must not race with other calls on it). */
typedef struct kars_audit_log kars_audit_log;

/* Opens (or creates) the log in `dir` (NUL-terminated path). options may be NULL for defaults.
 * After a crash, a torn last record is cut and the same log continues, and an interrupted
 * kars_audit_log_retain is finished; see kars_audit_log_recovery_notes. A log whose oldest
 * segments were dropped by retention opens from the tree state its first kept segment carries.
 * Errors: KARS_E_NOT_FOUND (no log and not creating),
 * KARS_E_INVALID_ARGUMENT (not an audit log, origin mismatch, a signing key of the wrong type),
 * KARS_E_PRECONDITION (open for writing elsewhere; or read-only while an interrupted retention
 * waits for a writable open), KARS_E_TAMPERED (damage other than a torn tail: never repaired),
 * KARS_E_DENIED (checkpoints signed by another key), KARS_E_IO. */
KARS_API kars_status kars_audit_log_open(kars_audit_log **out, const char *dir,
                                         const kars_audit_options *options, kars_error **err);

/* Finishes queued appends, writes a final checkpoint if the log grew and has a key, and stops
 * the writer. Later appends fail with KARS_E_PRECONDITION; reads and proofs keep working.
 * Idempotent. Errors: KARS_E_IO when the final sync or checkpoint failed. */
KARS_API kars_status kars_audit_log_close(kars_audit_log *log, kars_error **err);

/* Closes (as kars_audit_log_close, ignoring errors) and releases the log. Accepts NULL. */
KARS_API void kars_audit_log_free(kars_audit_log *log);

/* What opening found and repaired (e.g. a torn tail cut after a crash), or "" when nothing.
 * Borrowed: valid until kars_audit_log_free. */
KARS_API const char *kars_audit_log_recovery_notes(const kars_audit_log *log);

/* Appends one serialised kars.v1.AuditRecord (sequence must be 0) and returns once it meets
 * the durability mode; *index receives its position. Errors: KARS_E_INVALID_ARGUMENT (not an
 * AuditRecord, sequence set), KARS_E_EXHAUSTED (over the size limit), KARS_E_PRECONDITION
 * (read-only or closed), KARS_E_IO (storage failed; the log then refuses further appends).
 * Nothing is appended on error. */
KARS_API kars_status kars_audit_log_append(uint64_t *index, kars_audit_log *log,
                                           const uint8_t *record, size_t record_len,
                                           kars_error **err);

/* Reports one asynchronous append, exactly once. status is KARS_OK once the record meets the
 * durability mode (index is its position, error_message NULL), or the error that stopped the log
 * before it did (KARS_E_IO; error_message describes it, valid only during the call). Runs on the
 * log's writer thread with no library lock held: it may call kars_audit_log_append_async, must
 * not call kars_audit_log_close or kars_audit_log_free on the same log (the writer cannot wait
 * for itself), and should return quickly, since later acknowledgements wait for it. */
typedef void (*kars_audit_append_done_fn)(void *userdata, kars_status status, uint64_t index,
                                          const char *error_message);

/* Queues one serialised kars.v1.AuditRecord (sequence must be 0) and returns at once; `done`
 * reports its acknowledgement later. One thread can so keep many appends in flight, which is how
 * a host reaches group-commit throughput without a thread per record. *index (may be NULL)
 * receives the position the record will have. Thread-safe. Errors as kars_audit_log_append, plus
 * KARS_E_INVALID_ARGUMENT for a NULL `done`; on any error nothing is queued and `done` is never
 * called. kars_audit_log_close acknowledges every queued append (running its `done`) before it
 * returns. */
KARS_API kars_status kars_audit_log_append_async(uint64_t *index, kars_audit_log *log,
                                                 const uint8_t *record, size_t record_len,
                                                 kars_audit_append_done_fn done, void *userdata,
                                                 kars_error **err);

/* The number of acknowledged records. */
KARS_API uint64_t kars_audit_log_size(const kars_audit_log *log);

/* The newest signed checkpoint note. Errors: KARS_E_NOT_FOUND when none exists yet. */
KARS_API kars_status kars_audit_log_checkpoint(kars_buf *note, kars_audit_log *log,
                                               kars_error **err);

/* Signs and stores a checkpoint for the current size now, and returns it.
 * Errors: KARS_E_PRECONDITION (no signing key, read-only), KARS_E_IO. */
KARS_API kars_status kars_audit_log_checkpoint_now(kars_buf *note, kars_audit_log *log,
                                                   kars_error **err);

/* The stored checkpoint signed at exactly `tree_size`. Errors: KARS_E_NOT_FOUND. */
KARS_API kars_status kars_audit_log_checkpoint_at(kars_buf *note, kars_audit_log *log,
                                                  uint64_t tree_size, kars_error **err);

/* The inclusion proof (text) of record `index` in the tree of `tree_size` records.
 * Errors: KARS_E_INVALID_ARGUMENT (index >= tree_size, or tree_size beyond the log). */
KARS_API kars_status kars_audit_log_inclusion_proof(kars_buf *proof, kars_audit_log *log,
                                                    uint64_t index, uint64_t tree_size,
                                                    kars_error **err);

/* The consistency proof (text) from tree size old_size to new_size.
 * Errors: KARS_E_INVALID_ARGUMENT (old_size > new_size, or new_size beyond the log). */
KARS_API kars_status kars_audit_log_consistency_proof(kars_buf *proof, kars_audit_log *log,
                                                      uint64_t old_size, uint64_t new_size,
                                                      kars_error **err);

/* The stored bytes of record `index`. Errors: KARS_E_NOT_FOUND (no such record),
 * KARS_E_TAMPERED (the bytes no longer match their leaf hash), KARS_E_IO. */
KARS_API kars_status kars_audit_log_read(kars_buf *record, kars_audit_log *log, uint64_t index,
                                         kars_error **err);

/* Called once per record; return non-zero to stop. Runs on the calling thread, with no library
 * lock held; `record` is valid only during the call. */
typedef int (*kars_audit_record_fn)(uint64_t index, const uint8_t *record, size_t record_len,
                                    void *userdata);

/* Calls fn for records from..from+limit-1 (limit 0: to the end), in order.
 * Errors: KARS_E_CALLBACK when fn returned non-zero, and those of kars_audit_log_read. */
KARS_API kars_status kars_audit_log_iterate(kars_audit_log *log, uint64_t from, uint64_t limit,
                                            kars_audit_record_fn fn, void *userdata,
                                            kars_error **err);

/* --- Keys, records and verification without the log. All thread-safe. --- */

/* Generates an Ed25519 key pair named `name` (printable ASCII, no spaces or '+'). The private
 * key text goes to *private_key (a secret: store it mode 0600, dispose with kars_buf_dispose),
 * the public key text to *public_key; both NUL-terminated. Errors: KARS_E_INVALID_ARGUMENT. */
KARS_API kars_status kars_audit_keygen(kars_buf *private_key, kars_buf *public_key,
                                       const char *name, size_t name_len, kars_error **err);

/* Verifies a signed checkpoint note with a public key; *tree_size (may be NULL) receives its
 * size. Errors: KARS_E_INVALID_ARGUMENT (malformed key or note), KARS_E_DENIED (no signature by
 * this key), KARS_E_TAMPERED (the signature does not verify). */
KARS_API kars_status kars_audit_checkpoint_verify(uint64_t *tree_size, const char *public_key,
                                                  size_t public_key_len, const uint8_t *note,
                                                  size_t note_len, kars_error **err);

/* Verifies that `record` (stored bytes) is in the log at the proof's index, under a checkpoint
 * signed by `public_key` whose size is the proof's size. Errors: those of
 * kars_audit_checkpoint_verify, KARS_E_INVALID_ARGUMENT (malformed proof, size mismatch),
 * KARS_E_TAMPERED (the record, proof and root do not agree). */
KARS_API kars_status kars_audit_inclusion_verify(const char *public_key, size_t public_key_len,
                                                 const uint8_t *checkpoint, size_t checkpoint_len,
                                                 const uint8_t *proof, size_t proof_len,
                                                 const uint8_t *record, size_t record_len,
                                                 kars_error **err);

/* Verifies that the checkpoint `new_checkpoint` extends `old_checkpoint` (both signed by
 * `public_key`), using a consistency proof between their sizes. Errors: as
 * kars_audit_inclusion_verify; KARS_E_TAMPERED when the log forked or rewrote history. */
KARS_API kars_status kars_audit_consistency_verify(const char *public_key, size_t public_key_len,
                                                   const uint8_t *old_checkpoint,
                                                   size_t old_checkpoint_len,
                                                   const uint8_t *new_checkpoint,
                                                   size_t new_checkpoint_len,
                                                   const uint8_t *proof, size_t proof_len,
                                                   kars_error **err);

/* Verifies a whole log directory read-only, recomputing every hash: *report (may be NULL)
 * receives a NUL-terminated summary on success and on failure; *first_bad_index (may be NULL)
 * the first index to blame, or UINT64_MAX when no record is. public_key may be NULL (then
 * signatures are not checked). Errors: KARS_E_TAMPERED (with the first bad index and why),
 * KARS_E_DENIED (a checkpoint is not signed by the key), KARS_E_INVALID_ARGUMENT (not a log),
 * KARS_E_IO. */
KARS_API kars_status kars_audit_verify_dir(kars_buf *report, uint64_t *first_bad_index,
                                           const char *dir, const char *public_key,
                                           size_t public_key_len, kars_error **err);

/* As kars_audit_verify_dir, and also checks `checkpoint_count` signed checkpoints obtained
 * elsewhere (e.g. kept by a client or a witness): each must be signed by the key and agree with
 * the log's records; one that does not (the log forked or rewrote history after it was issued)
 * fails with KARS_E_TAMPERED. checkpoints[i] has checkpoint_lens[i] bytes. */
KARS_API kars_status kars_audit_verify_dir_with_checkpoints(
    kars_buf *report, uint64_t *first_bad_index, const char *dir, const char *public_key,
    size_t public_key_len, const uint8_t *const *checkpoints, const size_t *checkpoint_lens,
    size_t checkpoint_count, kars_error **err);

/* Co-signs `checkpoint` as a witness, but only after checking it: it must be signed by
 * `log_public_key` and, when the witness state file `state_path` (NUL-terminated; created on
 * first use, mode 0600) holds an earlier co-signed checkpoint, `consistency_proof` (kars text,
 * or a bare RFC 6962 path as KARS_AUDIT_PROOF_RFC6962; may be NULL when the size did not change
 * or on first use) must prove the new tree extends it.
 * *cosigned receives the note with the witness's C2SP tlog-cosignature cosignature/v1 line added
 * (timestamped now); `witness_private_key` must be a KARS_AUDIT_KEY_COSIGNATURE key
 * (kars_audit_keygen_v2). The new state is durable before the call returns. One call at a time
 * per state file. Errors: KARS_E_DENIED / KARS_E_TAMPERED (log signature), KARS_E_TAMPERED (the log
 * shrank, forked or rewrote history), KARS_E_INVALID_ARGUMENT (malformed input, another log's
 * checkpoint, wrong proof sizes, a witness key of the wrong type), KARS_E_IO. */
KARS_API kars_status kars_audit_witness_cosign(kars_buf *cosigned, const char *state_path,
                                               const char *witness_private_key,
                                               size_t witness_private_key_len,
                                               const char *log_public_key,
                                               size_t log_public_key_len,
                                               const uint8_t *checkpoint, size_t checkpoint_len,
                                               const uint8_t *consistency_proof,
                                               size_t consistency_proof_len, kars_error **err);

/* --- Standard encodings for independent verifiers (added in 0.2). --- */

/* How a proof is encoded. Values are part of the ABI.
 * KARS_AUDIT_PROOF_TEXT is the kars text envelope described at the top of this header.
 * KARS_AUDIT_PROOF_RFC6962 is the bare RFC 6962 / RFC 9162 audit path: the proof's node hashes,
 * 32 bytes each, concatenated in RFC order (for inclusion, leaf side first: RFC 9162
 * InclusionProofDataV2.inclusion_path; for consistency, RFC 9162
 * ConsistencyProofDataV2.consistency_path), without length prefixes. It carries no index or
 * size: the index is the record's `sequence` and the sizes are the checkpoints'. This is what
 * golang.org/x/mod/sumdb/tlog's RecordProof / TreeProof and other RFC verifiers take.
 * KARS_AUDIT_PROOF_TLOG is C2SP tlog-proof@v1 text (https://c2sp.org/tlog-proof), inclusion
 * proofs only: "c2sp.org/tlog-proof@v1\nindex <i>\n<base64 hash>\n...\n\n<checkpoint note>",
 * self-contained because it embeds the signed checkpoint it proves against.
 * RFC 9162's TLS structures as a whole are not offered: they begin with a LogID (a DER OID),
 * which a kars log, named by its checkpoint origin, does not have. */
typedef enum kars_audit_proof_format {
  KARS_AUDIT_PROOF_TEXT = 0,
  KARS_AUDIT_PROOF_RFC6962 = 1,
  KARS_AUDIT_PROOF_TLOG = 2
} kars_audit_proof_format;

/* As kars_audit_log_inclusion_proof, in `format`. For KARS_AUDIT_PROOF_TLOG, tree_size must be
 * the size of a checkpoint the log signed (e.g. the latest), which the proof embeds.
 * Errors: those of kars_audit_log_inclusion_proof; KARS_E_NOT_FOUND (TLOG: no checkpoint was
 * signed at tree_size; or the record was dropped by kars_audit_log_retain);
 * KARS_E_INVALID_ARGUMENT (unknown format). */
KARS_API kars_status kars_audit_log_inclusion_proof_v2(kars_buf *proof, kars_audit_log *log,
                                                       uint64_t index, uint64_t tree_size,
                                                       kars_audit_proof_format format,
                                                       kars_error **err);

/* As kars_audit_log_consistency_proof, in `format` (TEXT or RFC6962; TLOG has no consistency
 * form). Errors: those of kars_audit_log_consistency_proof; KARS_E_NOT_FOUND (old_size is below
 * the records kept after kars_audit_log_retain); KARS_E_INVALID_ARGUMENT (unknown or
 * inclusion-only format). */
KARS_API kars_status kars_audit_log_consistency_proof_v2(kars_buf *proof, kars_audit_log *log,
                                                         uint64_t old_size, uint64_t new_size,
                                                         kars_audit_proof_format format,
                                                         kars_error **err);

/* As kars_audit_inclusion_verify, with the proof in `format`. For TEXT and RFC6962 `checkpoint`
 * is the signed checkpoint to verify against (the RFC6962 path is for the record's `sequence`
 * in a tree of the checkpoint's size); for TLOG the proof carries its checkpoint and
 * `checkpoint` must be NULL. Errors: those of kars_audit_inclusion_verify;
 * KARS_E_INVALID_ARGUMENT (unknown format, a checkpoint passed with TLOG, a path that is not a
 * whole number of 32-byte hashes). */
KARS_API kars_status kars_audit_inclusion_verify_v2(const char *public_key, size_t public_key_len,
                                                    const uint8_t *checkpoint,
                                                    size_t checkpoint_len, const uint8_t *proof,
                                                    size_t proof_len,
                                                    kars_audit_proof_format format,
                                                    const uint8_t *record, size_t record_len,
                                                    kars_error **err);

/* As kars_audit_consistency_verify, with the proof in `format` (TEXT or RFC6962).
 * Errors: those of kars_audit_consistency_verify; KARS_E_INVALID_ARGUMENT (unknown format). */
KARS_API kars_status kars_audit_consistency_verify_v2(
    const char *public_key, size_t public_key_len, const uint8_t *old_checkpoint,
    size_t old_checkpoint_len, const uint8_t *new_checkpoint, size_t new_checkpoint_len,
    const uint8_t *proof, size_t proof_len, kars_audit_proof_format format, kars_error **err);

/* Key types: the C2SP signed-note algorithm byte. Values are part of the ABI. */
typedef enum kars_audit_key_type {
  /* Ed25519 note signatures: a log's checkpoint signing key. */
  KARS_AUDIT_KEY_NOTE = 1,
  /* C2SP tlog-cosignature cosignature/v1 (Ed25519, key ID over algorithm byte 0x04): a
   * witness key for kars_audit_witness_cosign. */
  KARS_AUDIT_KEY_COSIGNATURE = 4
} kars_audit_key_type;

/* As kars_audit_keygen, for a key of `type`. kars_audit_keygen makes KARS_AUDIT_KEY_NOTE keys.
 * Errors: KARS_E_INVALID_ARGUMENT (bad name, unknown type). */
KARS_API kars_status kars_audit_keygen_v2(kars_buf *private_key, kars_buf *public_key,
                                          const char *name, size_t name_len,
                                          kars_audit_key_type type, kars_error **err);

/* Verifies the C2SP cosignature/v1 of the witness whose public key (type
 * KARS_AUDIT_KEY_COSIGNATURE, as written by kars_audit_keygen_v2) is `witness_public_key` on the
 * checkpoint note `note`, as added by kars_audit_witness_cosign; *timestamp (may be NULL)
 * receives the cosignature's time (POSIX seconds). It checks only the witness's statement; check
 * the log's own signature with kars_audit_checkpoint_verify. Errors: KARS_E_INVALID_ARGUMENT
 * (malformed key or note, a key of the wrong type, a cosignature line of the wrong length),
 * KARS_E_DENIED (no cosignature by this witness), KARS_E_TAMPERED (the cosignature does not
 * verify: the checkpoint or its time was altered). */
KARS_API kars_status kars_audit_cosignature_verify(uint64_t *timestamp,
                                                   const char *witness_public_key,
                                                   size_t witness_public_key_len,
                                                   const uint8_t *note, size_t note_len,
                                                   kars_error **err);

/* --- Retention (added in 0.2). --- */

/* Drops whole segments holding only records below `before`, oldest first, and sets
 * *first_kept (may be NULL) to the first record still kept (a segment start at or below
 * `before`; unchanged when no segment qualifies). The first kept segment carries the tree state
 * before it, so the rest still verifies (kars_audit_verify_dir) and proves against every
 * checkpoint; with a signing key a checkpoint of the current size is signed first. Reads and
 * proofs of dropped records then fail with KARS_E_NOT_FOUND. Crash-safe: a kill at any point
 * leaves a log that opens (finishing the retention) and verifies. Errors: KARS_E_PRECONDITION
 * (read-only or closed), KARS_E_INVALID_ARGUMENT (`before` beyond the log's size), KARS_E_IO. */
KARS_API kars_status kars_audit_log_retain(uint64_t *first_kept, kars_audit_log *log,
                                           uint64_t before, kars_error **err);

/* The index of the oldest record still kept: 0 unless kars_audit_log_retain dropped some. */
KARS_API uint64_t kars_audit_log_first_index(const kars_audit_log *log);

/* Converts stored record bytes to JSON (protobuf JSON mapping), NUL-terminated.
 * Errors: KARS_E_INVALID_ARGUMENT when the bytes are not an AuditRecord. */
KARS_API kars_status kars_audit_record_to_json(kars_buf *json, const uint8_t *record,
                                               size_t record_len, kars_error **err);

/* Converts a JSON AuditRecord (protobuf JSON mapping) to serialised bytes for
 * kars_audit_log_append. Errors: KARS_E_INVALID_ARGUMENT naming the JSON problem. */
KARS_API kars_status kars_audit_record_from_json(kars_buf *record, const char *json,
                                                 size_t json_len, kars_error **err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KARS_AUDIT_H */
