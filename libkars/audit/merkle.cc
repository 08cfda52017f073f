#include "libkars/audit/merkle.h"

#include <bit>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"

namespace kars::audit {
namespace {

// The largest power of two strictly below n (n >= 2): the RFC 6962 split point.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

bool IsCompleteAligned(uint64_t begin, uint64_t n) {
  return std::has_single_bit(n) && (begin & (n - 1)) == 0;
}

void PathInto(const NodeSource& src, uint64_t m, uint64_t begin, uint64_t end,
              std::vector<Hash>& out) {
  const uint64_t n = end - begin;
  if (n == 1) return;
  const uint64_t k = SplitPoint(n);
  if (m < begin + k) {
    PathInto(src, m, begin, begin + k, out);
    out.push_back(SubtreeRoot(src, begin + k, end));
  } else {
    PathInto(src, m, begin + k, end, out);
    out.push_back(SubtreeRoot(src, begin, begin + k));
  }
}

// SUBPROOF(m, D[begin:end], complete) from RFC 6962 section 2.1.2, m relative to begin.
void SubproofInto(const NodeSource& src, uint64_t m, uint64_t begin, uint64_t end,
                  bool complete, std::vector<Hash>& out) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (!complete) out.push_back(SubtreeRoot(src, begin, end));
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubproofInto(src, m, begin, begin + k, complete, out);
    out.push_back(SubtreeRoot(src, begin + k, end));
  } else {
    SubproofInto(src, m - k, begin + k, end, false, out);
    out.push_back(SubtreeRoot(src, begin, begin + k));
  }
}

}  // namespace

Hash SubtreeRoot(const NodeSource& src, uint64_t begin, uint64_t end) {
  const uint64_t n = end - begin;
  if (IsCompleteAligned(begin, n)) {
    const int level = std::countr_zero(n);
    return src.Node(level, begin >> level);
  }
  const uint64_t k = SplitPoint(n);
  return NodeHash(SubtreeRoot(src, begin, begin + k), SubtreeRoot(src, begin + k, end));
}

Hash TreeRoot(const NodeSource& src, uint64_t size) {
  if (size == 0) return EmptyRoot();
  return SubtreeRoot(src, 0, size);
}

std::vector<Hash> InclusionPath(const NodeSource& src, uint64_t index, uint64_t size) {
  std::vector<Hash> out;
  if (index >= size) return out;
  out.reserve(64);
  PathInto(src, index, 0, size, out);
  return out;
}

std::vector<Hash> ConsistencyPath(const NodeSource& src, uint64_t old_size, uint64_t new_size) {
  std::vector<Hash> out;
  if (old_size == 0 || old_size >= new_size) return out;
  out.reserve(64);
  SubproofInto(src, old_size, 0, new_size, true, out);
  return out;
}

absl::Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                             const std::vector<Hash>& path, const Hash& root) {
  if (index >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion proof: index ", index, " is not below tree size ", size));
  }
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : path) {
    if (sn == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "inclusion proof: path has ", path.size(), " hashes, too many for index ", index,
          " in a tree of size ", size));
    }
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inclusion proof: path has ", path.size(), " hashes, too few for index ", index,
        " in a tree of size ", size));
  }
  if (r != root) {
    return TamperedError(absl::StrCat("inclusion proof: index ", index,
                                      " does not lead to the root of tree size ", size));
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                               const Hash& new_root, const std::vector<Hash>& path) {
  if (old_size > new_size) {
    return absl::InvalidArgumentError(absl::StrCat("consistency proof: old size ", old_size,
                                                   " exceeds new size ", new_size));
  }
  if (old_size == 0 || old_size == new_size) {
    if (!path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "consistency proof: expected no hashes between sizes ", old_size, " and ", new_size,
          ", got ", path.size()));
    }
    if (old_size == new_size && old_root != new_root) {
      return TamperedError(
          absl::StrCat("consistency proof: two different roots for tree size ", old_size));
    }
    return absl::OkStatus();
  }
  if (path.empty()) {
    return absl::InvalidArgumentError("consistency proof: no hashes");
  }
  std::vector<Hash> c;
  c.reserve(path.size() + 1);
  if (std::has_single_bit(old_size)) c.push_back(old_root);
  c.insert(c.end(), path.begin(), path.end());
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = c[0];
  Hash sr = c[0];
  for (size_t i = 1; i < c.size(); ++i) {
    if (sn == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "consistency proof: ", path.size(), " hashes are too many between sizes ", old_size,
          " and ", new_size));
    }
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c[i], fr);
      sr = NodeHash(c[i], sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "consistency proof: ", path.size(), " hashes are too few between sizes ", old_size,
        " and ", new_size));
  }
  if (fr != old_root) {
    return TamperedError(absl::StrCat("consistency proof: does not lead to the root of size ",
                                      old_size, ": the old tree is not a prefix of the new one"));
  }
  if (sr != new_root) {
    return TamperedError(absl::StrCat("consistency proof: does not lead to the root of size ",
                                      new_size, ": the new tree does not extend the old one"));
  }
  return absl::OkStatus();
}

absl::Status CompactRange::FromState(uint64_t size, std::vector<Hash> hashes, CompactRange* out) {
  if (hashes.size() != static_cast<size_t>(std::popcount(size))) {
    return absl::InvalidArgumentError(absl::StrCat("tree state for size ", size, " needs ",
                                                   std::popcount(size), " hashes, got ",
                                                   hashes.size()));
  }
  out->size_ = size;
  out->hashes_ = std::move(hashes);
  return absl::OkStatus();
}

void CompactRange::Append(const Hash& leaf_hash) {
  Hash h = leaf_hash;
  // Each trailing one bit of the old size is a complete subtree that merges with the new node.
  for (uint64_t s = size_; (s & 1) != 0; s >>= 1) {
    h = NodeHash(hashes_.back(), h);
    hashes_.pop_back();
  }
  hashes_.push_back(h);
  ++size_;
}

Hash CompactRange::Root() const {
  if (hashes_.empty()) return EmptyRoot();
  Hash r = hashes_.back();
  for (size_t i = hashes_.size() - 1; i-- > 0;) r = NodeHash(hashes_[i], r);
  return r;
}

}  // namespace kars::audit
