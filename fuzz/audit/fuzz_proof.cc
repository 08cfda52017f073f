// Proof text parsers: anything accepted re-encodes to exactly the input, and verifying an
// accepted proof (against arbitrary roots) never misbehaves.
#include <cstdlib>

#include "libkars/audit/merkle.h"
#include "libkars/audit/proof_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kars::audit;
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  const Hash leaf = LeafHash(bytes);
  if (absl::StatusOr<InclusionProof> p = ParseInclusionProof(bytes); p.ok()) {
    if (FormatInclusionProof(*p) != bytes) std::abort();
    (void)VerifyInclusion(leaf, p->index, p->size, p->path, leaf);
  }
  if (absl::StatusOr<ConsistencyProof> p = ParseConsistencyProof(bytes); p.ok()) {
    if (FormatConsistencyProof(*p) != bytes) std::abort();
    (void)VerifyConsistency(p->old_size, p->new_size, leaf, leaf, p->path);
  }
  return 0;
}
