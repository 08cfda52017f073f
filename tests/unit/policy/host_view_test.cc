// The word-at-a-time host split and hash against a plain reference: every suffix's hash equals
// DomainHash of that suffix's text, offsets are the label starts, case folding, empty labels,
// hosts shorter than a word and label counts past 64; and strict IPv4 parsing.
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "libkars/policy/domain_table.h"
#include "libkars/policy/patterns.h"

namespace kars::policy {
namespace {

// Label starts of a valid host, by splitting on '.'.
std::vector<size_t> ReferenceStarts(const std::string& host) {
  std::vector<size_t> starts{0};
  for (size_t i = 0; i < host.size(); ++i) {
    if (host[i] == '.') starts.push_back(i + 1);
  }
  return starts;
}

void ExpectViewOf(const std::string& host) {
  SCOPED_TRACE(host);
  HostView view;
  ASSERT_TRUE(BuildHostView(host, &view));
  const std::vector<size_t> starts = ReferenceStarts(host);
  ASSERT_EQ(view.count, static_cast<int>(starts.size()));
  for (int i = 0; i < view.count; ++i) {
    EXPECT_EQ(view.offset[i], starts[i]);
    EXPECT_EQ(view.suffix(i), absl::string_view(host).substr(starts[i]));
    EXPECT_EQ(view.hash[i], DomainHash(view.suffix(i))) << "suffix " << i;
  }
  // The same host with capitals, lowercased in the same pass, hashes the same.
  std::string mixed = host;
  for (size_t i = 0; i < mixed.size(); i += 3) mixed[i] = absl::ascii_toupper(mixed[i]);
  char buf[254];
  HostView lowered;
  bool has_colon = true;
  ASSERT_TRUE(BuildLowercaseHostView(mixed, buf, &lowered, &has_colon));
  EXPECT_FALSE(has_colon);
  EXPECT_EQ(lowered.host, host);
  ASSERT_EQ(lowered.count, view.count);
  for (int i = 0; i < view.count; ++i) {
    EXPECT_EQ(lowered.offset[i], view.offset[i]);
    EXPECT_EQ(lowered.hash[i], view.hash[i]);
  }
}

TEST(HostView, SuffixesAndHashesMatchTheReference) {
  for (const char* host : {"a", "ab", "localhost", "com", "example.com", "a.b", "a.b.c.d.e.f.g.h",
                           "host-2.example.com", "a.b.zone-3.example.net", "exactly8.exactly8",
                           "sixteen-bytes-ab.x", "x.label-longer-than-sixteen-bytes.example",
                           "cdn.bad-123456.feed-825.example", "www.good.example.org"}) {
    ExpectViewOf(host);
  }
  // Every length from 1 to 253 and label lengths 1..63, from a fixed seed.
  std::mt19937 rng(7);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int n = 1; n <= 253; ++n) {
    std::string host;
    while (static_cast<int>(host.size()) < n) {
      if (!host.empty()) host += '.';
      const int len = 1 + static_cast<int>(rng() % 63);
      for (int i = 0; i < len; ++i) host += alphabet[rng() % alphabet.size()];
    }
    host.resize(static_cast<size_t>(n));
    if (host.back() == '.') host.back() = 'z';
    ExpectViewOf(host);
  }
}

TEST(HostView, EmptyLabelsAndLengthsAreRejected) {
  HostView view;
  for (const char* bad : {"", ".", "..", ".a", "a.", "a..b", "a.b.", ".a.b", "abcdefgh..ijk"}) {
    EXPECT_FALSE(BuildHostView(bad, &view)) << bad;
    EXPECT_EQ(view.count, 0) << bad;
  }
  EXPECT_FALSE(BuildHostView(std::string(254, 'a'), &view));
  EXPECT_TRUE(BuildHostView(std::string(253, 'a'), &view));
  // The lowercased copy is complete even for a host that is rejected.
  char buf[254];
  bool has_colon = false;
  EXPECT_FALSE(BuildLowercaseHostView("AB..CDEFGHIJK", buf, &view, &has_colon));
  EXPECT_EQ(absl::string_view(buf, 13), "ab..cdefghijk");
}

TEST(HostView, ColonsInTheFirstLabelMarkAnAddressCandidate) {
  char buf[254];
  HostView view;
  bool has_colon = false;
  EXPECT_TRUE(BuildLowercaseHostView("::FFFF:1.2.3.4", buf, &view, &has_colon));
  EXPECT_TRUE(has_colon);
  EXPECT_EQ(absl::string_view(buf, 14), "::ffff:1.2.3.4");
  EXPECT_TRUE(BuildLowercaseHostView("FE80::1", buf, &view, &has_colon));
  EXPECT_TRUE(has_colon);
  EXPECT_TRUE(BuildLowercaseHostView("example.com", buf, &view, &has_colon));
  EXPECT_FALSE(has_colon);
}

TEST(DomainTable, ParentsAndLabelCountsPast64) {
  DomainTable table;
  table.Insert("evil.example");
  table.Insert("x.y.z");
  std::vector<std::string> labels(70, "l");
  const std::string deep = absl::StrJoin(labels, ".");  // 70 labels: word 1 of the bitmap
  table.Insert(deep);
  HostView view;
  for (const char* host : {"evil.example", "a.evil.example", "b.a.evil.example", "x.y.z", "w.x.y.z"}) {
    ASSERT_TRUE(BuildHostView(host, &view));
    EXPECT_TRUE(table.ContainsDomainOrParent(view)) << host;
  }
  for (const char* host : {"example", "notevil.example", "y.z", "evil.example.org"}) {
    ASSERT_TRUE(BuildHostView(host, &view));
    EXPECT_FALSE(table.ContainsDomainOrParent(view)) << host;
  }
  const std::string deeper = "a.b." + deep;  // 72 labels; its suffix 2 is the 70-label domain
  ASSERT_TRUE(BuildHostView(deeper, &view));
  EXPECT_TRUE(table.ContainsDomainOrParent(view));
  std::vector<int> found;
  table.FindSuffixes(view, [&](int i, uint32_t) {
    found.push_back(i);
    return false;
  });
  EXPECT_EQ(found, std::vector<int>{2});
  ASSERT_TRUE(BuildHostView(absl::StrJoin(std::vector<std::string>(69, "l"), "."), &view));
  EXPECT_FALSE(table.ContainsDomainOrParent(view));
}

TEST(ParseIp, StrictDottedQuad) {
  IpAddr a;
  ASSERT_TRUE(ParseIp("93.184.216.34", &a));
  EXPECT_EQ(a.family, 4);
  EXPECT_EQ(a.bytes[0], 93);
  EXPECT_EQ(a.bytes[1], 184);
  EXPECT_EQ(a.bytes[2], 216);
  EXPECT_EQ(a.bytes[3], 34);
  for (int i = 4; i < 16; ++i) EXPECT_EQ(a.bytes[i], 0);
  EXPECT_TRUE(ParseIp("0.0.0.0", &a));
  EXPECT_TRUE(ParseIp("255.255.255.255", &a));
  EXPECT_TRUE(ParseIp("10.0.100.9", &a));
  for (const char* bad : {"", "1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.02.3.4", "1.2.3.00",
                          "256.1.1.1", "1.2.3.256", "1234.1.1.1", "1.2.3.4.", ".1.2.3.4", "1..3.4",
                          "1.2.3.4 ", " 1.2.3.4", "1.2.3.a", "a.b.c.d", "1.2.3.-4"}) {
    EXPECT_FALSE(ParseIp(bad, &a)) << bad;
  }
  ASSERT_TRUE(ParseIp("::ffff:192.168.1.1", &a));  // IPv4-mapped: IPv4
  EXPECT_EQ(a.family, 4);
  EXPECT_EQ(a.bytes[0], 192);
  ASSERT_TRUE(ParseIp("fe80::1", &a));
  EXPECT_EQ(a.family, 6);
}

}  // namespace
}  // namespace kars::policy
