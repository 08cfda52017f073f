// Proof parsers (kars text, C2SP tlog-proof, bare RFC 6962 audit paths): anything accepted
// re-encodes to exactly the input, and verifying an accepted proof (against arbitrary roots)
// never misbehaves.
#include <cstdlib>

#include "libkars/audit/merkle.h"
#include "libkars/audit/proof_text.h"
#include "libkars/audit/proof_wire.h"

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
  if (absl::StatusOr<TlogProof> p = ParseTlogProof(bytes); p.ok()) {
    if (FormatTlogProof(*p) != bytes) std::abort();
    (void)VerifyInclusion(leaf, p->index, p->index + 1 + p->path.size(), p->path, leaf);
  }
  if (absl::StatusOr<std::vector<Hash>> path = DecodeAuditPath(bytes); path.ok()) {
    if (EncodeAuditPath(*path) != bytes) std::abort();
    (void)VerifyInclusion(leaf, 3, 11, *path, leaf);
    (void)VerifyConsistency(5, 9, leaf, leaf, *path);
  }
  return 0;
}
