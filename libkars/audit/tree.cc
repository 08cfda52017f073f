#include "libkars/audit/tree.h"

#include "absl/strings/str_cat.h"

namespace kars::audit {

uint64_t HashTree::AppendLeafHash(const Hash& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  const uint64_t index = levels_[0].size();
  levels_[0].push_back(leaf_hash);
  // A node completes whenever its right child does: walk up while the index is a right child.
  uint64_t i = index;
  for (size_t level = 0; (i & 1) != 0; ++level, i >>= 1) {
    if (levels_.size() == level + 1) levels_.emplace_back();
    const auto& below = levels_[level];
    levels_[level + 1].push_back(NodeHash(below[i - 1], below[i]));
  }
  return index;
}

void HashTree::Reserve(uint64_t leaves) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].reserve(leaves);
}

absl::StatusOr<Hash> HashTree::Root(uint64_t tree_size) const {
  if (tree_size > size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tree size ", tree_size, " exceeds the log's size ", size()));
  }
  return TreeRoot(*this, tree_size);
}

absl::StatusOr<std::vector<Hash>> HashTree::Inclusion(uint64_t index, uint64_t tree_size) const {
  if (tree_size > size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tree size ", tree_size, " exceeds the log's size ", size()));
  }
  if (index >= tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("index ", index, " is not below tree size ", tree_size));
  }
  return InclusionPath(*this, index, tree_size);
}

absl::StatusOr<std::vector<Hash>> HashTree::Consistency(uint64_t old_size,
                                                        uint64_t new_size) const {
  if (new_size > size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tree size ", new_size, " exceeds the log's size ", size()));
  }
  if (old_size > new_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("old size ", old_size, " exceeds new size ", new_size));
  }
  return ConsistencyPath(*this, old_size, new_size);
}

}  // namespace kars::audit
