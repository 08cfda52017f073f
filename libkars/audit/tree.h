// The Merkle tree of a log, kept as every complete subtree hash (levels[0] are the leaf hashes).
// Appending costs one leaf hash plus, amortised, one node hash; any root, inclusion or
// consistency proof then needs O(log n) lookups and at most O(log n) hashes. Memory: about
// 64 bytes per entry. One thread at a time (the log serialises access).
#ifndef KARS_AUDIT_TREE_H_
#define KARS_AUDIT_TREE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "libkars/audit/hash.h"
#include "libkars/audit/merkle.h"

namespace kars::audit {

class HashTree final : public NodeSource {
 public:
  // Adds a leaf by its RFC 6962 leaf hash and returns its index.
  uint64_t AppendLeafHash(const Hash& leaf_hash);
  uint64_t AppendLeaf(absl::string_view data) { return AppendLeafHash(LeafHash(data)); }
  void Reserve(uint64_t leaves);

  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  const Hash& leaf_hash(uint64_t index) const { return levels_[0][index]; }

  // InvalidArgument when a size exceeds the tree or an index is not below the size.
  absl::StatusOr<Hash> Root(uint64_t size) const;
  absl::StatusOr<std::vector<Hash>> Inclusion(uint64_t index, uint64_t size) const;
  absl::StatusOr<std::vector<Hash>> Consistency(uint64_t old_size, uint64_t new_size) const;

  Hash Node(int level, uint64_t index) const override { return levels_[level][index]; }

 private:
  std::vector<std::vector<Hash>> levels_;
};

}  // namespace kars::audit

#endif  // KARS_AUDIT_TREE_H_
