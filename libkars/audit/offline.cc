#include "libkars/audit/offline.h"

#include "absl/strings/str_cat.h"
#include "libkars/audit/merkle.h"
#include "libkars/audit/proof_text.h"
#include "libkars/audit/proof_wire.h"
#include "libkars/audit/record.h"
#include "libkars/base/status.h"

namespace kars::audit {

absl::StatusOr<Checkpoint> VerifyCheckpointNote(absl::string_view public_key,
                                                absl::string_view note) {
  absl::StatusOr<Verifier> v = Verifier::FromText(public_key);
  if (!v.ok()) return v.status();
  return OpenCheckpoint(note, *v);
}

namespace {

// The record at `index` under `cp`, by `path`.
absl::Status CheckInclusion(const Checkpoint& cp, uint64_t index, const std::vector<Hash>& path,
                            absl::string_view record) {
  absl::StatusOr<v1::AuditRecord> rec = DecodeRecord(record);
  if (!rec.ok()) return rec.status();
  if (rec->sequence() != index) {
    return TamperedError(absl::StrCat("the record is number ", rec->sequence(),
                                      ", the proof is for index ", index));
  }
  if (index >= cp.size) {
    return absl::InvalidArgumentError(absl::StrCat("record ", index,
                                                   " is beyond the checkpoint's tree size ",
                                                   cp.size));
  }
  return VerifyInclusion(LeafHash(record), index, cp.size, path, cp.root);
}

// Both checkpoints verified, of one log.
absl::Status OpenPair(absl::string_view public_key, absl::string_view old_checkpoint,
                      absl::string_view new_checkpoint, Checkpoint* old_out, Checkpoint* new_out) {
  absl::StatusOr<Checkpoint> old_cp = VerifyCheckpointNote(public_key, old_checkpoint);
  if (!old_cp.ok()) return old_cp.status();
  absl::StatusOr<Checkpoint> new_cp = VerifyCheckpointNote(public_key, new_checkpoint);
  if (!new_cp.ok()) return new_cp.status();
  if (old_cp->origin != new_cp->origin) {
    return absl::InvalidArgumentError(absl::StrCat("the checkpoints are of different logs: '",
                                                   old_cp->origin, "' and '", new_cp->origin, "'"));
  }
  *old_out = *std::move(old_cp);
  *new_out = *std::move(new_cp);
  return absl::OkStatus();
}

}  // namespace

absl::Status VerifyInclusionOffline(absl::string_view public_key, absl::string_view checkpoint,
                                    absl::string_view proof, absl::string_view record) {
  absl::StatusOr<Checkpoint> cp = VerifyCheckpointNote(public_key, checkpoint);
  if (!cp.ok()) return cp.status();
  absl::StatusOr<InclusionProof> p = ParseInclusionProof(proof);
  if (!p.ok()) return p.status();
  if (p->size != cp->size) {
    return absl::InvalidArgumentError(absl::StrCat("the proof is for tree size ", p->size,
                                                   " but the checkpoint is for size ", cp->size));
  }
  return CheckInclusion(*cp, p->index, p->path, record);
}

absl::Status VerifyInclusionPathOffline(absl::string_view public_key, absl::string_view checkpoint,
                                        absl::string_view path, absl::string_view record) {
  absl::StatusOr<Checkpoint> cp = VerifyCheckpointNote(public_key, checkpoint);
  if (!cp.ok()) return cp.status();
  absl::StatusOr<std::vector<Hash>> hashes = DecodeAuditPath(path);
  if (!hashes.ok()) return hashes.status();
  absl::StatusOr<uint64_t> index = DecodeSequence(record);
  if (!index.ok()) return index.status();
  return CheckInclusion(*cp, *index, *hashes, record);
}

absl::Status VerifyTlogProofOffline(absl::string_view public_key, absl::string_view proof,
                                    absl::string_view record) {
  absl::StatusOr<TlogProof> p = ParseTlogProof(proof);
  if (!p.ok()) return p.status();
  absl::StatusOr<Checkpoint> cp = VerifyCheckpointNote(public_key, p->checkpoint);
  if (!cp.ok()) return cp.status();
  return CheckInclusion(*cp, p->index, p->path, record);
}

absl::Status VerifyConsistencyOffline(absl::string_view public_key, absl::string_view old_checkpoint,
                                      absl::string_view new_checkpoint, absl::string_view proof) {
  Checkpoint old_cp, new_cp;
  if (absl::Status s = OpenPair(public_key, old_checkpoint, new_checkpoint, &old_cp, &new_cp);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<ConsistencyProof> p = ParseConsistencyProof(proof);
  if (!p.ok()) return p.status();
  if (p->old_size != old_cp.size || p->new_size != new_cp.size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the proof is between sizes ", p->old_size, " and ", p->new_size,
        " but the checkpoints are for ", old_cp.size, " and ", new_cp.size));
  }
  return VerifyConsistency(p->old_size, p->new_size, old_cp.root, new_cp.root, p->path);
}

absl::Status VerifyConsistencyPathOffline(absl::string_view public_key,
                                          absl::string_view old_checkpoint,
                                          absl::string_view new_checkpoint, absl::string_view path) {
  Checkpoint old_cp, new_cp;
  if (absl::Status s = OpenPair(public_key, old_checkpoint, new_checkpoint, &old_cp, &new_cp);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<Hash>> hashes = DecodeAuditPath(path);
  if (!hashes.ok()) return hashes.status();
  return VerifyConsistency(old_cp.size, new_cp.size, old_cp.root, new_cp.root, *hashes);
}

}  // namespace kars::audit
