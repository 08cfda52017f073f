#include "libkars/audit/tree.h"

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"

namespace kars::audit {

std::vector<Hash> FrontierOf(const NodeSource& src, uint64_t size) {
  std::vector<Hash> out;
  uint64_t start = 0;
  for (int level = 63; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if ((size & width) != 0) {
      out.push_back(src.Node(level, start >> level));
      start += width;
    }
  }
  return out;
}

absl::StatusOr<HashTree> HashTree::FromFrontier(uint64_t base, const std::vector<Hash>& frontier) {
  if (frontier.size() != static_cast<size_t>(std::popcount(base))) {
    return absl::InvalidArgumentError(absl::StrCat("tree state for size ", base, " needs ",
                                                   std::popcount(base), " hashes, got ",
                                                   frontier.size()));
  }
  HashTree t;
  t.base_ = base;
  size_t k = 0;
  for (int level = 63; level >= 0; --level) {
    if ((base >> level) & 1) t.base_nodes_[level] = frontier[k++];
  }
  return t;
}

std::vector<Hash> HashTree::BaseFrontier() const {
  std::vector<Hash> out;
  for (int level = 63; level >= 0; --level) {
    if ((base_ >> level) & 1) out.push_back(base_nodes_[level]);
  }
  return out;
}

Hash HashTree::Node(int level, uint64_t index) const {
  const uint64_t start = base_ >> level;
  if (index >= start) return levels_[level][index - start];
  return base_nodes_[level];  // wholly before the base: a compact-range root (see tree.h)
}

uint64_t HashTree::AppendLeafHash(const Hash& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  const uint64_t index = size();
  levels_[0].push_back(leaf_hash);
  // A node completes whenever its right child does: walk up while the index is a right child.
  uint64_t i = index;
  for (size_t level = 0; (i & 1) != 0; ++level, i >>= 1) {
    if (levels_.size() == level + 1) levels_.emplace_back();
    const int l = static_cast<int>(level);
    levels_[level + 1].push_back(NodeHash(Node(l, i - 1), Node(l, i)));
  }
  return index;
}

void HashTree::Reserve(uint64_t leaves) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].reserve(leaves);
}

void HashTree::DropBefore(uint64_t new_base) {
  if (new_base <= base_) return;
  const std::vector<Hash> frontier = FrontierOf(*this, new_base);
  for (size_t level = 0; level < levels_.size(); ++level) {
    std::vector<Hash>& nodes = levels_[level];
    const uint64_t drop = std::min<uint64_t>(nodes.size(), (new_base >> level) - (base_ >> level));
    nodes.erase(nodes.begin(), nodes.begin() + static_cast<ptrdiff_t>(drop));
    nodes.shrink_to_fit();
  }
  base_nodes_ = {};
  base_ = new_base;
  size_t k = 0;
  for (int level = 63; level >= 0; --level) {
    if ((base_ >> level) & 1) base_nodes_[level] = frontier[k++];
  }
}

absl::Status HashTree::CheckKept(uint64_t at, const char* what) const {
  if (at < base_) {
    return absl::NotFoundError(absl::StrCat(what, " ", at, " lies before record ", base_,
                                            ", the oldest kept: older records were dropped by "
                                            "retention"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Hash> HashTree::Root(uint64_t tree_size) const {
  if (tree_size > size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tree size ", tree_size, " exceeds the log's size ", size()));
  }
  if (tree_size != 0) {
    if (absl::Status s = CheckKept(tree_size, "tree size"); !s.ok()) return s;
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
  if (absl::Status s = CheckKept(index, "record"); !s.ok()) return s;
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
  if (old_size != 0) {
    if (absl::Status s = CheckKept(old_size, "tree size"); !s.ok()) return s;
  }
  return ConsistencyPath(*this, old_size, new_size);
}

}  // namespace kars::audit
