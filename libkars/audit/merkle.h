// RFC 6962 Merkle tree algorithms: roots, inclusion and consistency proofs, and their RFC 9162
// verification. Proof generation reads complete-subtree hashes from a NodeSource, so it costs
// O(log n) lookups plus O(log n) hashes for the one right-edge subtree that is not complete.
#ifndef KARS_AUDIT_MERKLE_H_
#define KARS_AUDIT_MERKLE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "libkars/audit/hash.h"

namespace kars::audit {

// Hashes of complete, aligned subtrees: Node(level, i) is the root over leaves
// [i << level, (i + 1) << level). Implementations define which nodes exist.
class NodeSource {
 public:
  virtual ~NodeSource() = default;
  virtual Hash Node(int level, uint64_t index) const = 0;
};

// MTH(D[begin:end]) for a range whose begin is aligned as in RFC 6962's recursion (begin is a
// multiple of the largest power of two below end - begin, or the range is complete).
Hash SubtreeRoot(const NodeSource& src, uint64_t begin, uint64_t end);
// MTH(D[0:size]); EmptyRoot() for size 0.
Hash TreeRoot(const NodeSource& src, uint64_t size);

// PATH(index, D[0:size]), leaf-side first. Requires index < size.
std::vector<Hash> InclusionPath(const NodeSource& src, uint64_t index, uint64_t size);
// PROOF(old_size, D[0:new_size]). Requires old_size <= new_size; empty when old_size is 0 or
// equal to new_size.
std::vector<Hash> ConsistencyPath(const NodeSource& src, uint64_t old_size, uint64_t new_size);

// RFC 9162 section 2.1.3.2. TamperedError when the path does not lead to `root`,
// InvalidArgument when the path cannot belong to that index and size.
absl::Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                             const std::vector<Hash>& path, const Hash& root);
// RFC 9162 section 2.1.4.2, plus the trivial cases: old_size 0 (any tree extends the empty
// one) and equal sizes (equal roots, empty proof).
absl::Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                               const Hash& new_root, const std::vector<Hash>& path);

// The roots of the maximal complete subtrees covering [0, size), left to right: the state an
// append-only writer needs, and what a segment header carries so that retention keeps
// verification of later entries possible.
class CompactRange {
 public:
  CompactRange() = default;
  // From a saved state; fails unless hashes.size() == popcount(size).
  static absl::Status FromState(uint64_t size, std::vector<Hash> hashes, CompactRange* out);

  void Append(const Hash& leaf_hash);
  Hash Root() const;
  uint64_t size() const { return size_; }
  const std::vector<Hash>& hashes() const { return hashes_; }

 private:
  uint64_t size_ = 0;
  std::vector<Hash> hashes_;
};

}  // namespace kars::audit

#endif  // KARS_AUDIT_MERKLE_H_
