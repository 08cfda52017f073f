// C2SP signed notes: UTF-8 text ending in a newline, a blank line, then one line per signature
//   "— <key name> <base64(4-byte big-endian key hash || signature)>\n"   (— is U+2014).
// The one parser of untrusted note bytes (fuzzed by fuzz/audit/fuzz_note.cc).
#ifndef KARS_AUDIT_NOTE_H_
#define KARS_AUDIT_NOTE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libkars/audit/keys.h"

namespace kars::audit {

inline constexpr size_t kMaxNoteSize = 1 << 20;
inline constexpr size_t kMaxNoteSignatures = 100;

struct NoteSignature {
  std::string name;
  uint32_t key_hash = 0;
  std::string signature;  // raw bytes after the key hash
};

struct Note {
  std::string text;  // up to and including the newline before the blank line
  std::vector<NoteSignature> signatures;
};

// InvalidArgument naming what is malformed: encoding, missing blank line, a bad signature line.
absl::StatusOr<Note> ParseNote(absl::string_view bytes);
std::string FormatNote(const Note& note);
std::string SignatureLine(const NoteSignature& sig);

// Signs `text` (which must end in '\n' and be valid note text) and returns the signature.
absl::StatusOr<NoteSignature> SignNoteText(const Signer& signer, absl::string_view text);

// Checks the signature of `verifier` on a parsed note: DENIED when the note carries no signature
// with that key's name and hash, TAMPERED when it does but the signature is wrong.
absl::Status VerifyNote(const Note& note, const Verifier& verifier);

}  // namespace kars::audit

#endif  // KARS_AUDIT_NOTE_H_
