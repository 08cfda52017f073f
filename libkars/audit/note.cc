#include "libkars/audit/note.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_split.h"
#include "libkars/audit/encoding.h"
#include "libkars/base/status.h"

namespace kars::audit {
namespace {

constexpr absl::string_view kDash = "\xE2\x80\x94 ";  // U+2014 EM DASH, then a space

// Valid UTF-8 without control characters other than '\n'; rejects overlong forms and surrogates.
absl::Status CheckText(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n') || c == 0x7f) {
        return absl::InvalidArgumentError(
            absl::StrCat("note: control character at byte ", i));
      }
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return absl::InvalidArgumentError(absl::StrCat("note: invalid UTF-8 at byte ", i));
    if (i + len > s.size()) {
      return absl::InvalidArgumentError(absl::StrCat("note: truncated UTF-8 at byte ", i));
    }
    for (size_t k = 1; k < len; ++k) {
      const uint8_t cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) {
        return absl::InvalidArgumentError(absl::StrCat("note: invalid UTF-8 at byte ", i));
      }
      cp = cp << 6 | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return absl::InvalidArgumentError(absl::StrCat("note: invalid UTF-8 at byte ", i));
    }
    i += len;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Note> ParseNote(absl::string_view bytes) {
  if (bytes.size() > kMaxNoteSize) {
    return absl::InvalidArgumentError("note: larger than 1 MiB");
  }
  if (absl::Status s = CheckText(bytes); !s.ok()) return s;
  const size_t split = bytes.rfind("\n\n");
  if (split == absl::string_view::npos) {
    return absl::InvalidArgumentError("note: no blank line between text and signatures");
  }
  Note note;
  note.text = std::string(bytes.substr(0, split + 1));
  absl::string_view sigs = bytes.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') {
    return absl::InvalidArgumentError("note: signature block must end with a newline");
  }
  sigs.remove_suffix(1);
  for (absl::string_view line : absl::StrSplit(sigs, '\n')) {
    if (note.signatures.size() == kMaxNoteSignatures) {
      return absl::InvalidArgumentError("note: more than 100 signatures");
    }
    if (!absl::ConsumePrefix(&line, kDash)) {
      return absl::InvalidArgumentError("note: signature line does not start with '\xE2\x80\x94 '");
    }
    const size_t space = line.find(' ');
    if (space == absl::string_view::npos) {
      return absl::InvalidArgumentError("note: signature line has no space after the key name");
    }
    NoteSignature sig;
    absl::string_view name = line.substr(0, space);
    if (absl::Status s = CheckKeyName(name); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("note: signature ", s.message()));
    }
    sig.name = std::string(name.data(), name.size());
    absl::StatusOr<std::string> raw = Base64Decode(line.substr(space + 1), "note signature");
    if (!raw.ok()) return raw.status();
    if (raw->size() <= 4) return absl::InvalidArgumentError("note: signature too short");
    sig.key_hash = uint32_t{static_cast<uint8_t>((*raw)[0])} << 24 |
                   uint32_t{static_cast<uint8_t>((*raw)[1])} << 16 |
                   uint32_t{static_cast<uint8_t>((*raw)[2])} << 8 |
                   uint32_t{static_cast<uint8_t>((*raw)[3])};
    sig.signature = raw->substr(4);
    note.signatures.push_back(std::move(sig));
  }
  return note;
}

std::string SignatureLine(const NoteSignature& sig) {
  std::string raw(4, '\0');
  raw[0] = static_cast<char>(sig.key_hash >> 24);
  raw[1] = static_cast<char>(sig.key_hash >> 16);
  raw[2] = static_cast<char>(sig.key_hash >> 8);
  raw[3] = static_cast<char>(sig.key_hash);
  raw += sig.signature;
  return absl::StrCat(kDash, sig.name, " ", Base64Encode(raw), "\n");
}

std::string FormatNote(const Note& note) {
  std::string out = note.text;
  out += "\n";
  for (const NoteSignature& sig : note.signatures) out += SignatureLine(sig);
  return out;
}

absl::StatusOr<NoteSignature> SignNoteText(const Signer& signer, absl::string_view text) {
  if (absl::Status s = RequireKeyType(signer.verifier(), kAlgEd25519, "note signing key");
      !s.ok()) {
    return s;
  }
  if (text.empty() || text.back() != '\n') {
    return absl::InvalidArgumentError("note: text must end with a newline");
  }
  if (absl::StrContains(text, "\n\n")) {
    return absl::InvalidArgumentError("note: text must not contain a blank line");
  }
  if (absl::Status s = CheckText(text); !s.ok()) return s;
  absl::StatusOr<std::string> sig = signer.Sign(text);
  if (!sig.ok()) return sig.status();
  return NoteSignature{signer.name(), signer.key_hash(), *std::move(sig)};
}

absl::Status VerifyNote(const Note& note, const Verifier& verifier) {
  if (absl::Status s = RequireKeyType(verifier, kAlgEd25519, "public key"); !s.ok()) return s;
  bool seen = false;
  for (const NoteSignature& sig : note.signatures) {
    if (sig.name != verifier.name() || sig.key_hash != verifier.key_hash()) continue;
    seen = true;
    if (verifier.Verify(note.text, sig.signature)) return absl::OkStatus();
  }
  if (!seen) {
    return MakeStatus(KARS_E_DENIED, absl::StrCat("note: no signature by key '", verifier.name(),
                                                   "' (wrong key?)"));
  }
  return TamperedError(
      absl::StrCat("note: the signature by key '", verifier.name(), "' does not verify"));
}

}  // namespace kars::audit
