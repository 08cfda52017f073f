#include "libkars/audit/cosignature.h"

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"

namespace kars::audit {
namespace {

constexpr size_t kTimestampBytes = 8;
constexpr size_t kEd25519SignatureBytes = 64;
constexpr uint64_t kMaxTimestamp = (uint64_t{1} << 63) - 1;

}  // namespace

std::string CosignatureMessage(uint64_t timestamp, absl::string_view note_text) {
  return absl::StrCat("cosignature/v1\ntime ", timestamp, "\n", note_text);
}

absl::StatusOr<NoteSignature> MakeCosignature(const Signer& witness, absl::string_view note_text,
                                              uint64_t timestamp) {
  if (absl::Status s = RequireKeyType(witness.verifier(), kAlgCosignatureV1, "witness key");
      !s.ok()) {
    return s;
  }
  if (timestamp > kMaxTimestamp) {
    return absl::InvalidArgumentError("cosignature: timestamp exceeds 2^63 - 1");
  }
  if (note_text.empty() || note_text.back() != '\n') {
    return absl::InvalidArgumentError("cosignature: the note text must end with a newline");
  }
  absl::StatusOr<std::string> sig = witness.Sign(CosignatureMessage(timestamp, note_text));
  if (!sig.ok()) return sig.status();
  std::string payload(kTimestampBytes, '\0');
  for (size_t i = 0; i < kTimestampBytes; ++i) {
    payload[i] = static_cast<char>(timestamp >> (8 * (kTimestampBytes - 1 - i)));
  }
  payload += *sig;
  return NoteSignature{witness.name(), witness.key_hash(), std::move(payload)};
}

absl::StatusOr<uint64_t> VerifyCosignature(const Note& note, const Verifier& witness) {
  if (absl::Status s = RequireKeyType(witness, kAlgCosignatureV1, "witness public key");
      !s.ok()) {
    return s;
  }
  bool seen = false;
  for (const NoteSignature& sig : note.signatures) {
    if (sig.name != witness.name() || sig.key_hash != witness.key_hash()) continue;
    seen = true;
    if (sig.signature.size() != kTimestampBytes + kEd25519SignatureBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cosignature by '", witness.name(), "' is ", sig.signature.size(),
          " bytes after its key ID, not 8 (timestamp) + 64 (Ed25519 signature)"));
    }
    uint64_t timestamp = 0;
    for (size_t i = 0; i < kTimestampBytes; ++i) {
      timestamp = timestamp << 8 | static_cast<uint8_t>(sig.signature[i]);
    }
    if (timestamp > kMaxTimestamp) {
      return absl::InvalidArgumentError("cosignature: timestamp exceeds 2^63 - 1");
    }
    if (witness.Verify(CosignatureMessage(timestamp, note.text),
                       absl::string_view(sig.signature).substr(kTimestampBytes))) {
      return timestamp;
    }
  }
  if (!seen) {
    return MakeStatus(KARS_E_DENIED, absl::StrCat("no cosignature by witness '", witness.name(),
                                                   "' (wrong key?)"));
  }
  return TamperedError(absl::StrCat("the cosignature by witness '", witness.name(),
                                    "' does not verify: the checkpoint or its time was altered"));
}

}  // namespace kars::audit
