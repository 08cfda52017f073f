// Cosignature parsing: any note bytes checked for a C2SP cosignature/v1 by a fixed witness key
// end in a verdict (never a crash), and only the key's own valid signature is accepted.
#include <cstdlib>

#include "libkars/audit/cosignature.h"
#include "libkars/audit/note.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kars::audit;
  // A fixed, public test key: the fuzzer may find its name and key ID, never its signature.
  static const Verifier* witness = new Verifier(*Verifier::FromText(
      "witness.fuzz+31919870+BMLhDCTmaLOEloxCaLxCAofGL8wPg+ePdeyCZsnfvV5I"));
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Note> note = ParseNote(bytes);
  if (!note.ok()) return 0;
  absl::StatusOr<uint64_t> t = VerifyCosignature(*note, *witness);
  if (t.ok() && *t > (uint64_t{1} << 63) - 1) std::abort();
  return 0;
}
