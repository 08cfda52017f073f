// C2SP tlog-checkpoint bodies: "<origin>\n<decimal size>\n<base64 root>\n" followed by optional
// extension lines, carried as the text of a signed note.
#ifndef KARS_AUDIT_CHECKPOINT_H_
#define KARS_AUDIT_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libkars/audit/hash.h"
#include "libkars/audit/note.h"

namespace kars::audit {

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;
};

std::string CheckpointText(const Checkpoint& cp);
absl::StatusOr<Checkpoint> ParseCheckpointText(absl::string_view text);

// A signed checkpoint note with the signer's line.
absl::StatusOr<std::string> SignCheckpoint(const Signer& signer, const Checkpoint& cp);

// Parses a signed note, checks `verifier`'s signature on it, and parses its checkpoint body.
// Errors: InvalidArgument (malformed), DENIED (not signed by this key), TAMPERED (bad signature).
absl::StatusOr<Checkpoint> OpenCheckpoint(absl::string_view note_bytes, const Verifier& verifier);

}  // namespace kars::audit

#endif  // KARS_AUDIT_CHECKPOINT_H_
