// RFC 6962 known answers and exhaustive proof round trips.
#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "libkars/audit/merkle.h"
#include "libkars/audit/tree.h"
#include "libkars/base/status.h"

namespace kars::audit {
namespace {

// The standard test leaves of RFC 6962 implementations (certificate-transparency test vectors).
std::vector<std::string> TestLeaves() {
  return {"",
          std::string("\x00", 1),
          "\x10",
          "\x20\x21",
          "\x30\x31",
          "\x40\x41\x42\x43",
          "\x50\x51\x52\x53\x54\x55\x56\x57",
          "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
}

Hash H(absl::string_view hex) { return HashFromBytes(absl::HexStringToBytes(hex)); }

HashTree TreeOf(const std::vector<std::string>& leaves) {
  HashTree t;
  for (const auto& l : leaves) t.AppendLeaf(l);
  return t;
}

// Reference MTH straight from the RFC 6962 definition, independent of the tree code.
Hash ReferenceRoot(const std::vector<Hash>& leaves, size_t begin, size_t end) {
  if (end - begin == 1) return leaves[begin];
  size_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  return NodeHash(ReferenceRoot(leaves, begin, begin + k), ReferenceRoot(leaves, begin + k, end));
}

TEST(MerkleKnownAnswers, EmptyTreeIsSha256OfNothing) {
  EXPECT_EQ(HexHash(EmptyRoot()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  HashTree t;
  EXPECT_EQ(*t.Root(0), EmptyRoot());
}

TEST(MerkleKnownAnswers, RootsOfTheStandardLeaves) {
  const char* roots[] = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  HashTree t = TreeOf(TestLeaves());
  CompactRange cr;
  for (uint64_t n = 1; n <= 8; ++n) {
    EXPECT_EQ(HexHash(*t.Root(n)), roots[n - 1]) << "size " << n;
    cr.Append(t.leaf_hash(n - 1));
    EXPECT_EQ(HexHash(cr.Root()), roots[n - 1]) << "compact range size " << n;
  }
}

TEST(MerkleKnownAnswers, InclusionProofs) {
  struct Case {
    uint64_t index, size;
    std::vector<const char*> path;
  } cases[] = {
      {0, 1, {}},
      {0, 8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5, 8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {1, 5,
       {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  HashTree t = TreeOf(TestLeaves());
  for (const Case& c : cases) {
    std::vector<Hash> want;
    for (const char* h : c.path) want.push_back(H(h));
    EXPECT_EQ(*t.Inclusion(c.index, c.size), want) << c.index << "/" << c.size;
    EXPECT_TRUE(VerifyInclusion(t.leaf_hash(c.index), c.index, c.size, want, *t.Root(c.size)).ok());
  }
}

TEST(MerkleKnownAnswers, ConsistencyProofs) {
  struct Case {
    uint64_t old_size, new_size;
    std::vector<const char*> path;
  } cases[] = {
      {1, 1, {}},
      {1, 8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6, 8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  HashTree t = TreeOf(TestLeaves());
  for (const Case& c : cases) {
    std::vector<Hash> want;
    for (const char* h : c.path) want.push_back(H(h));
    EXPECT_EQ(*t.Consistency(c.old_size, c.new_size), want) << c.old_size << "->" << c.new_size;
    EXPECT_TRUE(VerifyConsistency(c.old_size, c.new_size, *t.Root(c.old_size),
                                  *t.Root(c.new_size), want).ok());
  }
}

Hash Flip(Hash h) {
  h[7] ^= 0x40;
  return h;
}

// Every index in every size up to 128, and every pair of sizes: proofs verify against the
// reference root, and changing any one hash, the index, or the size makes them fail.
TEST(MerkleExhaustive, EveryProofUpTo128Leaves) {
  constexpr uint64_t kMax = 128;
  HashTree t;
  std::vector<Hash> leaves;
  for (uint64_t i = 0; i < kMax; ++i) {
    t.AppendLeaf("leaf " + std::to_string(i));
    leaves.push_back(LeafHash("leaf " + std::to_string(i)));
  }
  std::vector<Hash> roots(kMax + 1);
  roots[0] = EmptyRoot();
  for (uint64_t n = 1; n <= kMax; ++n) {
    roots[n] = ReferenceRoot(leaves, 0, n);
    ASSERT_EQ(*t.Root(n), roots[n]) << n;
  }
  for (uint64_t n = 1; n <= kMax; ++n) {
    for (uint64_t i = 0; i < n; ++i) {
      std::vector<Hash> path = *t.Inclusion(i, n);
      ASSERT_TRUE(VerifyInclusion(leaves[i], i, n, path, roots[n]).ok()) << i << "/" << n;
      ASSERT_FALSE(VerifyInclusion(Flip(leaves[i]), i, n, path, roots[n]).ok());
      for (size_t k = 0; k < path.size(); ++k) {
        auto bad = path;
        bad[k] = Flip(bad[k]);
        ASSERT_FALSE(VerifyInclusion(leaves[i], i, n, bad, roots[n]).ok()) << i << "/" << n;
      }
      if (i + 1 < n) {
        ASSERT_FALSE(VerifyInclusion(leaves[i], i + 1, n, path, roots[n]).ok());
      }
      if (n < kMax) {
        ASSERT_FALSE(VerifyInclusion(leaves[i], i, n + 1, path, roots[n + 1]).ok());
      }
      if (!path.empty()) {
        auto shorter = path;
        shorter.pop_back();
        ASSERT_FALSE(VerifyInclusion(leaves[i], i, n, shorter, roots[n]).ok());
      }
    }
  }
  for (uint64_t n = 1; n <= kMax; ++n) {
    for (uint64_t m = 0; m <= n; ++m) {
      std::vector<Hash> path = *t.Consistency(m, n);
      ASSERT_TRUE(VerifyConsistency(m, n, roots[m], roots[n], path).ok()) << m << "->" << n;
      if (m == 0) continue;
      ASSERT_FALSE(VerifyConsistency(m, n, Flip(roots[m]), roots[n], path).ok()) << m << "->" << n;
      ASSERT_FALSE(VerifyConsistency(m, n, roots[m], Flip(roots[n]), path).ok()) << m << "->" << n;
      for (size_t k = 0; k < path.size(); ++k) {
        auto bad = path;
        bad[k] = Flip(bad[k]);
        ASSERT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], bad).ok()) << m << "->" << n;
      }
      if (m < n && m > 1) {
        ASSERT_FALSE(VerifyConsistency(m - 1, n, roots[m - 1], roots[n], path).ok())
            << m << "->" << n;
      }
    }
  }
}

TEST(MerkleRandom, ProofsAtRandomSizesUpToOneMillion) {
  constexpr uint64_t kMax = 1 << 20;
  HashTree t;
  t.Reserve(kMax);
  std::mt19937_64 rng(62);
  std::vector<uint64_t> sizes;
  for (int i = 0; i < 40; ++i) sizes.push_back(1 + rng() % kMax);
  sizes.push_back(kMax);
  std::sort(sizes.begin(), sizes.end());
  // Roots at the chosen sizes from an independent streaming computation.
  std::map<uint64_t, Hash> roots;
  CompactRange cr;
  size_t next = 0;
  for (uint64_t i = 0; i < kMax; ++i) {
    std::string leaf = "r" + std::to_string(i);
    t.AppendLeaf(leaf);
    cr.Append(LeafHash(leaf));
    while (next < sizes.size() && sizes[next] == cr.size()) roots[sizes[next++]] = cr.Root();
  }
  for (auto it = roots.begin(); it != roots.end(); ++it) {
    const uint64_t n = it->first;
    ASSERT_EQ(*t.Root(n), it->second);
    for (int k = 0; k < 20; ++k) {
      uint64_t i = rng() % n;
      auto path = *t.Inclusion(i, n);
      ASSERT_TRUE(VerifyInclusion(t.leaf_hash(i), i, n, path, it->second).ok()) << i << "/" << n;
    }
    for (auto jt = roots.begin(); jt != std::next(it); ++jt) {
      auto path = *t.Consistency(jt->first, n);
      ASSERT_TRUE(VerifyConsistency(jt->first, n, jt->second, it->second, path).ok())
          << jt->first << "->" << n;
    }
  }
}

TEST(MerkleErrors, OutOfRangeRequestsAreInvalidArguments) {
  HashTree t = TreeOf(TestLeaves());
  EXPECT_EQ(t.Root(9).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t.Inclusion(8, 8).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t.Inclusion(0, 9).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t.Consistency(5, 4).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ToCStatus(VerifyInclusion(t.leaf_hash(0), 0, 8, {}, *t.Root(8))),
            KARS_E_INVALID_ARGUMENT);
  auto path = *t.Inclusion(0, 8);
  EXPECT_EQ(ToCStatus(VerifyInclusion(t.leaf_hash(1), 0, 8, path, *t.Root(8))), KARS_E_TAMPERED);
}

TEST(CompactRangeTest, RestoresFromSavedState) {
  HashTree t = TreeOf(TestLeaves());
  CompactRange a;
  for (int i = 0; i < 5; ++i) a.Append(t.leaf_hash(i));
  CompactRange b;
  ASSERT_TRUE(CompactRange::FromState(a.size(), a.hashes(), &b).ok());
  EXPECT_FALSE(CompactRange::FromState(7, a.hashes(), &b).ok());
  ASSERT_TRUE(CompactRange::FromState(a.size(), a.hashes(), &b).ok());
  for (int i = 5; i < 8; ++i) b.Append(t.leaf_hash(i));
  EXPECT_EQ(b.Root(), *t.Root(8));
}

}  // namespace
}  // namespace kars::audit
