// The Merkle tree of a log, kept as every complete subtree hash (levels[0] are the leaf hashes).
// Appending costs one leaf hash plus, amortised, one node hash; any root, inclusion or
// consistency proof then needs O(log n) lookups and at most O(log n) hashes. Memory: about
// 64 bytes per entry. One thread at a time (the log serialises access).
//
// After retention the tree starts at a base: the leaves before it are gone and only their
// compact range (the roots of the maximal complete subtrees covering [0, base)) remains. That
// is enough for every root, inclusion proof and consistency proof that involves only sizes and
// indexes at or beyond the base: any node such a proof needs either covers a kept leaf (and is
// kept) or lies wholly before the base, and then it is one of the compact-range roots.
#ifndef KARS_AUDIT_TREE_H_
#define KARS_AUDIT_TREE_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "libkars/audit/hash.h"
#include "libkars/audit/merkle.h"

namespace kars::audit {

class HashTree final : public NodeSource {
 public:
  HashTree() = default;
  // A tree whose first `base` leaves are known only by their compact range `frontier` (as
  // FrontierOf returns it). InvalidArgument unless frontier.size() == popcount(base).
  static absl::StatusOr<HashTree> FromFrontier(uint64_t base, const std::vector<Hash>& frontier);

  // Adds a leaf by its RFC 6962 leaf hash and returns its index.
  uint64_t AppendLeafHash(const Hash& leaf_hash);
  uint64_t AppendLeaf(absl::string_view data) { return AppendLeafHash(LeafHash(data)); }
  void Reserve(uint64_t leaves);

  uint64_t base() const { return base_; }
  uint64_t size() const { return base_ + (levels_.empty() ? 0 : levels_[0].size()); }
  // Requires base() <= index < size().
  const Hash& leaf_hash(uint64_t index) const { return levels_[0][index - base_]; }
  // The compact range of the dropped prefix.
  std::vector<Hash> BaseFrontier() const;

  // Forgets the leaves before new_base (base() <= new_base <= size()).
  void DropBefore(uint64_t new_base);

  // InvalidArgument when a size exceeds the tree or an index is not below the size; NOT_FOUND
  // when an index or a (non-zero) size lies before the base: those leaves were dropped.
  absl::StatusOr<Hash> Root(uint64_t size) const;
  absl::StatusOr<std::vector<Hash>> Inclusion(uint64_t index, uint64_t size) const;
  absl::StatusOr<std::vector<Hash>> Consistency(uint64_t old_size, uint64_t new_size) const;

  Hash Node(int level, uint64_t index) const override;

 private:
  absl::Status CheckKept(uint64_t at, const char* what) const;

  uint64_t base_ = 0;
  std::array<Hash, 64> base_nodes_{};  // [l]: the compact-range root at level l (bit l of base_)
  // levels_[l][j] is node (l, (base_ >> l) + j): every complete node covering a kept leaf.
  std::vector<std::vector<Hash>> levels_;
};

// The compact-range hashes of the first `size` leaves of `src`, largest subtree first (what a
// segment header stores). `src` must hold those nodes (a HashTree does for size >= its base).
std::vector<Hash> FrontierOf(const NodeSource& src, uint64_t size);

}  // namespace kars::audit

#endif  // KARS_AUDIT_TREE_H_
