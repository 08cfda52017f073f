// Verification for someone without the log: a public key and bytes (checkpoint notes, proof
// texts, record bytes) are all it takes.
#ifndef KARS_AUDIT_OFFLINE_H_
#define KARS_AUDIT_OFFLINE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libkars/audit/checkpoint.h"

namespace kars::audit {

absl::StatusOr<Checkpoint> VerifyCheckpointNote(absl::string_view public_key,
                                                absl::string_view note);

// The record must be an AuditRecord whose sequence is the proof's index, and the proof's size
// the checkpoint's.
absl::Status VerifyInclusionOffline(absl::string_view public_key, absl::string_view checkpoint,
                                    absl::string_view proof, absl::string_view record);

absl::Status VerifyConsistencyOffline(absl::string_view public_key, absl::string_view old_checkpoint,
                                      absl::string_view new_checkpoint, absl::string_view proof);

// The same checks with the standard encodings (proof_wire.h). A bare audit path carries no index
// or size: the index is the record's sequence and the size the checkpoint's.
absl::Status VerifyInclusionPathOffline(absl::string_view public_key, absl::string_view checkpoint,
                                        absl::string_view path, absl::string_view record);
// A C2SP tlog-proof carries its checkpoint; its index must be the record's sequence.
absl::Status VerifyTlogProofOffline(absl::string_view public_key, absl::string_view proof,
                                    absl::string_view record);
absl::Status VerifyConsistencyPathOffline(absl::string_view public_key,
                                          absl::string_view old_checkpoint,
                                          absl::string_view new_checkpoint, absl::string_view path);

}  // namespace kars::audit

#endif  // KARS_AUDIT_OFFLINE_H_
