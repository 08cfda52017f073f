// C2SP tlog-cosignature cosignature/v1 (https://c2sp.org/tlog-cosignature): a witness's Ed25519
// signature line on a checkpoint note,
//   "— <witness name> base64(4-byte key ID || 8-byte big-endian timestamp || 64-byte signature)"
// where the key ID is computed with algorithm byte 0x04 and the signature covers
//   "cosignature/v1\ntime <timestamp>\n" || the checkpoint note text.
// The one parser of untrusted cosignature bytes (fuzzed by fuzz/audit/fuzz_cosignature.cc).
#ifndef KARS_AUDIT_COSIGNATURE_H_
#define KARS_AUDIT_COSIGNATURE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libkars/audit/keys.h"
#include "libkars/audit/note.h"

namespace kars::audit {

std::string CosignatureMessage(uint64_t timestamp, absl::string_view note_text);

// The witness's signature line for a parsed note's text at `timestamp` (POSIX seconds, below
// 2^63). InvalidArgument when the witness key is not of type 0x04.
absl::StatusOr<NoteSignature> MakeCosignature(const Signer& witness, absl::string_view note_text,
                                              uint64_t timestamp);

// Checks `witness`'s cosignature on a parsed note and returns its timestamp. InvalidArgument
// (the key is not a cosignature/v1 key, or the line is not 72 bytes / its timestamp is over
// 2^63 - 1), DENIED (no line with the witness's name and key ID), TAMPERED (the signature does
// not verify: the checkpoint or the timestamp was altered).
absl::StatusOr<uint64_t> VerifyCosignature(const Note& note, const Verifier& witness);

}  // namespace kars::audit

#endif  // KARS_AUDIT_COSIGNATURE_H_
