#include "libkars/audit/checkpoint.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libkars/audit/encoding.h"

namespace kars::audit {

std::string CheckpointText(const Checkpoint& cp) {
  std::string out = absl::StrCat(cp.origin, "\n", cp.size, "\n", Base64Encode(AsBytes(cp.root)), "\n");
  for (const std::string& ext : cp.extensions) absl::StrAppend(&out, ext, "\n");
  return out;
}

absl::StatusOr<Checkpoint> ParseCheckpointText(absl::string_view text) {
  if (text.empty() || text.back() != '\n') {
    return absl::InvalidArgumentError("checkpoint: text must end with a newline");
  }
  text.remove_suffix(1);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (lines.size() < 3) {
    return absl::InvalidArgumentError("checkpoint: needs origin, size and root hash lines");
  }
  Checkpoint cp;
  if (lines[0].empty()) return absl::InvalidArgumentError("checkpoint: empty origin line");
  cp.origin = std::string(lines[0].data(), lines[0].size());
  absl::StatusOr<uint64_t> size = ParseDecimal(lines[1], "checkpoint tree size");
  if (!size.ok()) return size.status();
  cp.size = *size;
  absl::StatusOr<std::string> root = Base64Decode(lines[2], "checkpoint root hash");
  if (!root.ok()) return root.status();
  if (root->size() != kHashSize) {
    return absl::InvalidArgumentError("checkpoint: root hash is not 32 bytes");
  }
  cp.root = HashFromBytes(*root);
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return absl::InvalidArgumentError("checkpoint: empty extension line");
    cp.extensions.emplace_back(lines[i].data(), lines[i].size());
  }
  return cp;
}

absl::StatusOr<std::string> SignCheckpoint(const Signer& signer, const Checkpoint& cp) {
  Note note;
  note.text = CheckpointText(cp);
  absl::StatusOr<NoteSignature> sig = SignNoteText(signer, note.text);
  if (!sig.ok()) return sig.status();
  note.signatures.push_back(*std::move(sig));
  return FormatNote(note);
}

absl::StatusOr<Checkpoint> OpenCheckpoint(absl::string_view note_bytes, const Verifier& verifier) {
  absl::StatusOr<Note> note = ParseNote(note_bytes);
  if (!note.ok()) return note.status();
  if (absl::Status s = VerifyNote(*note, verifier); !s.ok()) return s;
  return ParseCheckpointText(note->text);
}

}  // namespace kars::audit
