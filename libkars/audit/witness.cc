#include "libkars/audit/witness.h"

#include <cerrno>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libkars/audit/checkpoint.h"
#include "libkars/audit/cosignature.h"
#include "libkars/audit/merkle.h"
#include "libkars/audit/note.h"
#include "libkars/audit/posix_file.h"
#include "libkars/audit/proof_text.h"
#include "libkars/audit/proof_wire.h"
#include "libkars/base/status.h"

namespace kars::audit {

absl::StatusOr<std::string> Cosign(const std::string& state_path, const Signer& witness,
                                   const Verifier& log_key, absl::string_view note_bytes,
                                   absl::string_view consistency_proof) {
  if (absl::Status s = RequireKeyType(witness.verifier(), kAlgCosignatureV1, "witness key");
      !s.ok()) {
    return s;
  }
  absl::StatusOr<Note> note = ParseNote(note_bytes);
  if (!note.ok()) return note.status();
  if (absl::Status s = VerifyNote(*note, log_key); !s.ok()) return s;
  absl::StatusOr<Checkpoint> cp = ParseCheckpointText(note->text);
  if (!cp.ok()) return cp.status();

  std::error_code ec;
  if (std::filesystem::exists(state_path, ec)) {
    absl::StatusOr<std::string> state = ReadWholeFile(state_path);
    if (!state.ok()) return state.status();
    absl::StatusOr<Checkpoint> last = ParseCheckpointText(*state);
    if (!last.ok()) {
      return IoError(absl::StrCat(state_path, ": witness state is damaged: ",
                                  last.status().message()));
    }
    if (last->origin != cp->origin) {
      return absl::InvalidArgumentError(absl::StrCat("this witness follows log '", last->origin,
                                                     "', not '", cp->origin, "'"));
    }
    if (cp->size < last->size) {
      return TamperedError(absl::StrCat("the log went back from size ", last->size, " to ",
                                        cp->size, " since this witness last co-signed"));
    }
    if (cp->size == last->size) {
      if (cp->root != last->root) {
        return TamperedError(absl::StrCat("two different roots for tree size ", cp->size,
                                          ": the log forked"));
      }
    } else {
      // The kars text names its sizes; a bare RFC 6962 path is for exactly these two.
      absl::StatusOr<ConsistencyProof> proof =
          absl::StartsWith(consistency_proof, "kars-audit-")
              ? ParseConsistencyProof(consistency_proof)
              : [&]() -> absl::StatusOr<ConsistencyProof> {
                  absl::StatusOr<std::vector<Hash>> path = DecodeAuditPath(consistency_proof);
                  if (!path.ok()) return path.status();
                  return ConsistencyProof{last->size, cp->size, *std::move(path)};
                }();
      if (!proof.ok()) return proof.status();
      if (proof->old_size != last->size || proof->new_size != cp->size) {
        return absl::InvalidArgumentError(absl::StrCat(
            "need a consistency proof from size ", last->size, " to ", cp->size, ", got ",
            proof->old_size, " to ", proof->new_size));
      }
      if (absl::Status s = VerifyConsistency(last->size, cp->size, last->root, cp->root, proof->path);
          !s.ok()) {
        return s;
      }
    }
  }
  absl::StatusOr<NoteSignature> sig =
      MakeCosignature(witness, note->text, static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now())));
  if (!sig.ok()) return sig.status();
  // Replace an earlier signature by this witness rather than stacking duplicates.
  std::erase_if(note->signatures, [&](const NoteSignature& s) {
    return s.name == witness.name() && s.key_hash == witness.key_hash();
  });
  note->signatures.push_back(*std::move(sig));
  const std::filesystem::path p(state_path);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  if (absl::Status s = WriteFileAtomic(dir, p.filename().string(), note->text, 0600); !s.ok()) {
    return s;
  }
  return FormatNote(*note);
}

}  // namespace kars::audit
