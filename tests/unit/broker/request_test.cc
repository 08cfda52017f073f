// The allocation-free URL view, wildcard grants by suffix, and leases remembered per thread
// that a revocation voids at once, even under concurrent traffic.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libkars/broker/broker.h"
#include "libkars/broker/lease.h"
#include "libkars/broker/request.h"
#include "tests/unit/broker/helpers.h"

namespace kars::broker {
namespace {

TEST(UrlView, LowerCasesHostAndSplitsPathQueryFragment) {
  DestinationView d;
  ASSERT_TRUE(ParseUrlInto("HTTPS://API.Example.COM.:8443/V1/Chat?a=1&b=2#frag", &d).ok());
  EXPECT_EQ(d.scheme, "https");
  EXPECT_EQ(d.host, "api.example.com");
  EXPECT_EQ(d.port, 8443);
  EXPECT_EQ(d.path, "/V1/Chat");
  EXPECT_EQ(d.query, "a=1&b=2");
  DestinationView e;
  ASSERT_TRUE(ParseUrlInto("http://h?x=1", &e).ok());
  EXPECT_EQ(e.path, "/");
  EXPECT_EQ(e.query, "x=1");
  EXPECT_EQ(e.port, 80);
  DestinationView f;
  ASSERT_TRUE(ParseUrlInto("wss://[::1]/sock#x?y", &f).ok());
  EXPECT_EQ(f.host, "::1");
  EXPECT_EQ(f.port, 443);
  EXPECT_EQ(f.path, "/sock");
  EXPECT_EQ(f.query, "");
  // A dot in a file name is fine; dot segments are not, encoded or not.
  DestinationView g;
  EXPECT_TRUE(ParseUrlInto("https://h/v1/file.json", &g).ok());
  EXPECT_FALSE(ParseUrlInto("https://h/v1/./x", &g).ok());
  EXPECT_FALSE(ParseUrlInto("https://h/v1/%2E%2e/x", &g).ok());
  auto s = ParseUrlInto("gopherplus://h/", &g);
  EXPECT_EQ(s.message(), "url: unsupported scheme 'gopherplus'");
  EXPECT_EQ(ParseUrlInto("://h/", &g).message(), "url: expected an absolute URL scheme://host/path");
  EXPECT_EQ(ParseUrlInto(absl::StrCat("https://", std::string(300, 'a'), "/"), &g).message(),
            "url: host longer than 255 bytes");
  EXPECT_FALSE(ParseUrlInto("https://./", &g).ok());
  auto owned = ParseUrl("https://H.example/p?q=1");
  ASSERT_TRUE(owned.ok());
  EXPECT_EQ(owned->host, "h.example");
  EXPECT_EQ(owned->path, "/p?q=1");
}

TEST(GrantTable, WildcardHostsMatchSubdomainsOnly) {
  Grant any;
  any.id = "any";
  any.principals = {"*"};
  any.host = "*.example.com";
  any.credential = "c";
  Grant deep = any;
  deep.id = "deep";
  deep.host = "*.b.example.com";
  deep.path_prefix = "/v1/";
  Grant exact = any;
  exact.id = "exact";
  exact.host = "a.b.example.com";
  GrantTable table({any, deep, exact});
  auto match = [&](const char* url) -> std::string {
    DestinationView d;
    EXPECT_TRUE(ParseUrlInto(url, &d).ok()) << url;
    const std::size_t at = table.Match("p", "GET", d);
    return at == GrantTable::kNoMatch ? "" : table.grant(at)->id;
  };
  EXPECT_EQ(match("https://a.b.example.com/"), "exact");
  // Among wildcards the documented order holds (longest path prefix, then id), not suffix length.
  EXPECT_EQ(match("https://c.b.example.com/"), "any");
  EXPECT_EQ(match("https://c.b.example.com/v1/x"), "deep");
  EXPECT_EQ(match("https://x.y.b.example.com/v1/"), "deep");
  EXPECT_EQ(match("https://c.example.com/"), "any");
  EXPECT_EQ(match("https://example.com/"), "");
  EXPECT_EQ(match("https://badexample.com/"), "");
  EXPECT_EQ(match("https://b.example.com/"), "any");
}

TEST(LeaseTable, RevocationVoidsLeasesRememberedByEveryThread) {
  auto grant = std::make_shared<const Grant>([] {
    Grant g;
    g.id = "g";
    g.principals = {"*"};
    g.host = "h";
    g.credential = "c";
    return g;
  }());
  LeaseTable table;
  const absl::Time now = absl::Now();
  std::atomic<bool> stop{false};
  std::atomic<int> reused_revoked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::string id;
      while (!stop) {
        // Competing traffic for the same triple: each thread remembers the lease it was given.
        (void)table.Acquire(grant, "agent", "https://h:443", now, absl::Minutes(5), &id);
      }
    });
  }
  for (int round = 0; round < 200; ++round) {
    auto before = table.Acquire(grant, "agent", "https://h:443", now, absl::Minutes(5));
    ASSERT_TRUE(before.ok());
    ASSERT_EQ(table.Revoke(RevokeBy::kLease, *before), 1u);
    // After Revoke returns, no thread (this one included) is given the revoked lease again.
    auto after = table.Acquire(grant, "agent", "https://h:443", now, absl::Minutes(5));
    ASSERT_TRUE(after.ok());
    if (*after == *before || !table.Check(*after, now).ok()) ++reused_revoked;
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(reused_revoked, 0);
}

}  // namespace
}  // namespace kars::broker
