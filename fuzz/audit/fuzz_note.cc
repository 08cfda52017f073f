// Signed-note and checkpoint parsers: anything accepted re-encodes to exactly the input (one
// spelling per value), and verification of accepted notes never misbehaves.
#include <cstdlib>

#include "libkars/audit/checkpoint.h"
#include "libkars/audit/note.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kars::audit;
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Note> note = ParseNote(bytes);
  if (!note.ok()) return 0;
  if (FormatNote(*note) != bytes) std::abort();
  absl::StatusOr<Checkpoint> cp = ParseCheckpointText(note->text);
  if (cp.ok() && CheckpointText(*cp) != note->text) std::abort();
  static const Verifier v =
      *Verifier::FromText("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  (void)VerifyNote(*note, v);
  (void)Verifier::FromText(note->text);
  return 0;
}
