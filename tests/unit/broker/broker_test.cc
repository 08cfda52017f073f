// Grants, injection templates, stripping, leases, revocation and config errors.
#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libkars/broker/broker.h"
#include "libkars/broker/config.h"
#include "tests/unit/broker/token_server.h"

namespace kars::broker {
namespace {

using testing::TempDir;

class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string a = dir_.Write("a", "alpha-token-AAAA");
    const std::string u = dir_.Write("u", "svc-user");
    const std::string p = dir_.Write("p", "svc-pass-PPPP");
    auto b = Broker::FromConfig(absl::StrCat(R"(
sources:
  - {id: a, type: file, path: ')", a, R"('}
  - {id: u, type: file, path: ')", u, R"('}
  - {id: p, type: file, path: ')", p, R"('}
grants:
  - id: models
    principals: ["agent-*"]
    destination: {host: api.model.example, path_prefix: /v1/, methods: [POST]}
    credential: a
    inject: {header: api-key, format: "{value}"}
  - id: models-admin
    principals: ["agent-admin"]
    destination: {host: api.model.example, path_prefix: /v1/admin/}
    credential: a
    inject: {header: Authorization, format: "Bearer {value}"}
    pass_through: [Cookie]
  - id: wild
    principals: ["*"]
    destination: {host: "*.svc.example"}
    credential: a
  - id: basic
    principals: [worker]
    destination: {scheme: http, host: legacy.example, port: 8080}
    inject: {basic: {username: u, password: p}}
  - id: query
    principals: [worker]
    destination: {host: maps.example}
    credential: a
    allow_query: true
    inject: {query: key}
    lease_ttl_s: 60
)"));
    ASSERT_TRUE(b.ok()) << b.status();
    broker_ = *std::move(b);
  }
  Injection Inject(const std::string& principal, const std::string& method, const std::string& url,
                   std::vector<Header> headers = {}) {
    auto inj = broker_->Inject(principal, method, url, headers);
    EXPECT_TRUE(inj.ok()) << inj.status();
    return inj.ok() ? *std::move(inj) : Injection{};
  }
  TempDir dir_;
  std::unique_ptr<Broker> broker_;
};

TEST_F(BrokerTest, InjectsHeaderFromTemplateUnderALease) {
  Injection inj = Inject("agent-7", "POST", "https://api.model.example/v1/chat");
  ASSERT_TRUE(inj.allowed()) << inj.message;
  ASSERT_EQ(inj.set_headers.size(), 1u);
  EXPECT_EQ(inj.set_headers[0].first, "api-key");
  EXPECT_EQ(inj.set_headers[0].second, "alpha-token-AAAA");
  EXPECT_EQ(inj.grant_id, "models");
  EXPECT_EQ(inj.credential_id, "a");
  EXPECT_TRUE(absl::StartsWith(inj.lease_id, "lease-"));
  EXPECT_TRUE(broker_->CheckLease(inj.lease_id).ok());
  auto leases = broker_->ListLeases();
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].principal, "agent-7");
  EXPECT_EQ(leases[0].destination, "https://api.model.example:443/v1/");
  EXPECT_EQ(leases[0].ttl, absl::Minutes(5));
  const std::string json = LeasesJson(leases) + CredentialsJson(broker_->ListCredentials());
  EXPECT_FALSE(absl::StrContains(json, "alpha-token-AAAA")) << json;
}

TEST_F(BrokerTest, LeaseIsReusedPerPrincipalGrantAndOriginUntilRevoked) {
  const std::string first = Inject("agent-7", "POST", "https://api.model.example/v1/chat").lease_id;
  EXPECT_EQ(Inject("agent-7", "POST", "https://api.model.example/v1/other").lease_id, first);
  EXPECT_NE(Inject("agent-8", "POST", "https://api.model.example/v1/chat").lease_id, first);
  EXPECT_NE(Inject("agent-admin", "POST", "https://api.model.example/v1/admin/x").lease_id, first);
  EXPECT_EQ(broker_->ListLeases().size(), 3u);
  EXPECT_EQ(broker_->Revoke(RevokeBy::kLease, first), 1u);
  const std::string second = Inject("agent-7", "POST", "https://api.model.example/v1/chat").lease_id;
  EXPECT_NE(second, first);
  EXPECT_TRUE(broker_->CheckLease(second).ok());
  EXPECT_FALSE(broker_->CheckLease(first).ok());
}

TEST_F(BrokerTest, NoGrantNoCredential) {
  struct {
    const char* principal;
    const char* method;
    const char* url;
  } misses[] = {
      {"other", "POST", "https://api.model.example/v1/chat"},      // principal
      {"agent-1", "GET", "https://api.model.example/v1/chat"},     // method
      {"agent-1", "POST", "https://api.model.example/v2/chat"},    // path
      {"agent-1", "POST", "http://api.model.example/v1/chat"},     // scheme
      {"agent-1", "POST", "https://api.model.example:8443/v1/x"},  // port
      {"agent-1", "POST", "https://evil.example/v1/chat"},         // host
      {"agent-1", "POST", "https://svc.example/"},                 // wildcard needs a subdomain
      {"agent-1", "POST", "https://api.model.example.evil/v1/x"},
  };
  for (const auto& m : misses) {
    Injection inj = Inject(m.principal, m.method, m.url);
    EXPECT_EQ(inj.reason, DenyReason::kNoGrant) << m.url;
    EXPECT_TRUE(inj.set_headers.empty());
    EXPECT_TRUE(inj.lease_id.empty());
  }
  EXPECT_EQ(broker_->Metrics().denials_no_grant, std::size(misses));
  EXPECT_TRUE(broker_->ListLeases().empty());
}

TEST_F(BrokerTest, MostSpecificGrantWins) {
  EXPECT_EQ(Inject("agent-admin", "POST", "https://api.model.example/v1/admin/x").grant_id, "models-admin");
  EXPECT_EQ(Inject("agent-admin", "POST", "https://api.model.example/v1/chat").grant_id, "models");
  EXPECT_EQ(Inject("anyone", "GET", "https://a.b.svc.example/x").grant_id, "wild");
}

TEST_F(BrokerTest, StripsAgentCredentialsUnlessPassThrough) {
  std::vector<Header> h = {{"authorization", "Bearer agent-own"}, {"Cookie", "c=1"},
                           {"X-Api-Key", "zzz"}, {"Content-Type", "application/json"}};
  Injection inj = Inject("agent-7", "POST", "https://api.model.example/v1/chat", h);
  ASSERT_TRUE(inj.allowed());
  EXPECT_EQ(std::vector<std::string>(inj.remove_headers.begin(), inj.remove_headers.end()), (std::vector<std::string>{"authorization", "Cookie", "X-Api-Key"}));
  inj = Inject("agent-admin", "POST", "https://api.model.example/v1/admin/x", h);
  ASSERT_TRUE(inj.allowed());
  // Cookie passes; the grant's own header is always replaced.
  EXPECT_EQ(std::vector<std::string>(inj.remove_headers.begin(), inj.remove_headers.end()), (std::vector<std::string>{"authorization", "X-Api-Key"}));
}

TEST_F(BrokerTest, BasicAuthFromTwoKeysAndQueryOnlyWhenAllowed) {
  Injection inj = Inject("worker", "GET", "http://legacy.example:8080/api");
  ASSERT_TRUE(inj.allowed()) << inj.message;
  EXPECT_EQ(inj.set_headers[0].second, "Basic c3ZjLXVzZXI6c3ZjLXBhc3MtUFBQUA==");
  EXPECT_EQ(inj.credential_id, "u+p");
  inj = Inject("worker", "GET", "https://maps.example/geo?q=1");
  ASSERT_TRUE(inj.allowed()) << inj.message;
  EXPECT_TRUE(inj.set_headers.empty());
  EXPECT_EQ(inj.query, "key=alpha-token-AAAA");
  EXPECT_EQ(broker_->ListLeases().back().ttl, absl::Seconds(60));
  // A query grant without allow_query is a config error.
  auto g = ParseGrant("{id: q, principals: [x], destination: {host: h}, credential: a, inject: {query: key}}");
  EXPECT_FALSE(g.ok());
  EXPECT_TRUE(absl::StrContains(g.status().message(), "allow_query")) << g.status();
}

TEST_F(BrokerTest, HeldValueInRequestIsExfiltration) {
  Injection inj = Inject("agent-7", "POST", "https://api.model.example/v1/chat?k=alpha-token-AAAA");
  EXPECT_EQ(inj.reason, DenyReason::kCredentialExfiltration);
  EXPECT_EQ(inj.credential_id, "a");
  EXPECT_FALSE(absl::StrContains(inj.message, "alpha-token-AAAA")) << inj.message;
  inj = Inject("agent-7", "POST", "https://api.model.example/v1/chat", {{"X-Note", "c3ZjLXBhc3MtUFBQUA"}});
  EXPECT_EQ(inj.reason, DenyReason::kCredentialExfiltration);
  EXPECT_EQ(inj.credential_id, "p");
}

TEST_F(BrokerTest, BadRequestsAreInvalid) {
  for (const char* url : {"api.model.example/v1/chat", "ftp://x/", "https:///x", "https://u:p@h/",
                          "https://api.model.example/v1/../admin", "https://h:0/", "https://h/%2e%2e/x"}) {
    EXPECT_EQ(Inject("agent-7", "POST", url).reason, DenyReason::kInvalidRequest) << url;
  }
  EXPECT_EQ(Inject("", "POST", "https://api.model.example/v1/chat").reason, DenyReason::kInvalidRequest);
}

TEST_F(BrokerTest, RevokeByLeaseCredentialGrantPrincipal) {
  Injection l1 = Inject("agent-1", "POST", "https://api.model.example/v1/chat");
  Injection l2 = Inject("agent-2", "POST", "https://api.model.example/v1/chat");
  Injection l3 = Inject("worker", "GET", "http://legacy.example:8080/api");
  Injection l4 = Inject("anyone", "GET", "https://x.svc.example/");
  EXPECT_EQ(broker_->Revoke(RevokeBy::kLease, l1.lease_id), 1u);
  EXPECT_EQ(broker_->CheckLease(l1.lease_id).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(broker_->CheckLease(l2.lease_id).ok());
  EXPECT_EQ(broker_->Revoke(RevokeBy::kLease, l1.lease_id), 0u);  // already revoked
  EXPECT_EQ(broker_->Revoke(RevokeBy::kPrincipal, "agent-2"), 1u);
  EXPECT_EQ(broker_->Revoke(RevokeBy::kCredential, "p"), 1u);  // basic auth lease u+p
  EXPECT_FALSE(broker_->CheckLease(l3.lease_id).ok());
  EXPECT_EQ(broker_->Revoke(RevokeBy::kGrant, "wild"), 1u);
  EXPECT_FALSE(broker_->CheckLease(l4.lease_id).ok());
  EXPECT_EQ(broker_->CheckLease("lease-nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(broker_->Metrics().revocations, 4u);
  for (const Lease& l : broker_->ListLeases()) EXPECT_TRUE(l.revoked);
}

TEST_F(BrokerTest, AddRemoveSourcesAndGrants) {
  auto g = ParseGrant("{id: extra, principals: [x], destination: {host: h.example}, credential: nope}");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(broker_->AddGrant(*g).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(broker_->RemoveSource("a").code(), absl::StatusCode::kFailedPrecondition);
  auto s = ParseSource(absl::StrCat("{id: a, type: file, path: ", dir_.path(), "/a}"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(broker_->AddSource(*std::move(s)).code(), absl::StatusCode::kAlreadyExists);
  s = ParseSource(absl::StrCat("{id: n, type: file, path: ", dir_.Write("n", "new-value-NNNN"), "}"));
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(broker_->AddSource(*std::move(s)).ok());
  auto v = broker_->ScanOutbound("https://e.example/", {}, "new-value-NNNN");
  EXPECT_FALSE(v->clean);
  ASSERT_TRUE(broker_->RemoveSource("n").ok());
  v = broker_->ScanOutbound("https://e.example/", {}, "new-value-NNNN");
  EXPECT_TRUE(v->clean);  // no longer held
  EXPECT_TRUE(broker_->RemoveGrant("wild").ok());
  EXPECT_EQ(broker_->RemoveGrant("wild").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Inject("anyone", "GET", "https://x.svc.example/").reason, DenyReason::kNoGrant);
}

TEST_F(BrokerTest, EventsCarryMetadataOnly) {
  std::vector<std::string> events;
  broker_->SetEventSink([&](const std::string& e) { events.push_back(e); });
  Inject("agent-7", "POST", "https://api.model.example/v1/chat");
  Inject("agent-7", "POST", "https://api.model.example/v1/chat?leak=alpha-token-AAAA");
  Inject("nobody", "POST", "https://api.model.example/v1/chat");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_TRUE(absl::StrContains(events[0], "\"event\":\"inject\""));
  EXPECT_TRUE(absl::StrContains(events[1], "credential_exfiltration"));
  EXPECT_TRUE(absl::StrContains(events[1], "[REDACTED:a]")) << events[1];
  EXPECT_TRUE(absl::StrContains(events[2], "no_grant"));
  for (const auto& e : events) EXPECT_FALSE(absl::StrContains(e, "alpha-token-AAAA")) << e;
}

TEST(Config, MalformedConfigsNameWhatIsWrong) {
  struct {
    const char* text;
    const char* want;
  } cases[] = {
      {"sources: [", "not valid YAML"},
      {"[1, 2]", "expected a mapping"},
      {"bogus: 1", "unknown field 'bogus'"},
      {"sources: {a: 1}", "'sources' must be a list"},
      {"sources: [{type: file, path: /x}]", "sources[0]: missing 'id'"},
      {"sources: [{id: a, type: floppy}]", "unknown type 'floppy'"},
      {"sources: [{id: a, type: file}]", "missing 'path'"},
      {"sources: [{id: a, type: file, path: /x, colour: red}]", "unknown field 'colour'"},
      {"sources: [{id: a, type: file, path: /x}, {id: a, type: env, name: X}]", "duplicate source id 'a'"},
      {"sources: [{id: a, type: exec, command: [/bin/true], timeout_ms: -1}]", "'timeout_ms' must be an integer"},
      {"sources: [{id: o, type: oauth_client_credentials, token_url: 'http://x/t', client_id: c, client_secret: {env: HOME}}]", "https://"},
      {"sources: [{id: o, type: oauth_client_credentials, token_url: 'https://x/t', client_id: c, client_secret: inline-secret}]", "must be {file: PATH} or {env: NAME}"},
      {"sources: [{id: a, type: file, dir: /d, key: ../etc}]", "'key' must be a file name"},
      {"grants: [{id: g, principals: [x], destination: {host: h}, credential: c, inject: {header: 'Bad Header'}}]", "invalid header name"},
      {"grants: [{id: g, principals: [x], destination: {host: h}, credential: c, inject: {format: 'Bearer'}}]", "{value} exactly once"},
      {"grants: [{id: g, destination: {host: h}, credential: c}]", "at least one principal"},
      {"grants: [{id: g, principals: [x], destination: {host: 'a.*.com'}, credential: c}]", "leading '*.'"},
      {"grants: [{id: g, principals: [x], destination: {host: h, port: 70000}, credential: c}]", "'port' must be an integer"},
      {"grants: [{id: g, principals: [x], destination: {host: h}, credential: missing}]", "no source 'missing'"},
      {"settings: {token_patterns: maybe}", "'token_patterns' must be true or false"},
  };
  for (const auto& c : cases) {
    auto b = Broker::FromConfig(c.text);
    ASSERT_FALSE(b.ok()) << c.text;
    EXPECT_TRUE(absl::StrContains(b.status().message(), c.want)) << c.text << " → " << b.status();
  }
  EXPECT_TRUE(Broker::FromConfig("").ok());
  EXPECT_TRUE(Broker::FromConfig("{}").ok());
  EXPECT_TRUE(Broker::FromConfig(R"({"sources": [], "grants": []})").ok());
}

TEST(Grants, GlobMatching) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("agent-*", "agent-1"));
  EXPECT_FALSE(GlobMatch("agent-*", "xagent-1"));
  EXPECT_TRUE(GlobMatch("team/*/bot", "team/a/b/bot"));
  EXPECT_FALSE(GlobMatch("team/*/bot", "team/a/bots"));
  EXPECT_TRUE(GlobMatch("exact", "exact"));
  EXPECT_FALSE(GlobMatch("exact", "exact2"));
}

}  // namespace
}  // namespace kars::broker

namespace kars::broker {
namespace {

// Many threads inject, scan and redact while others rotate the file, add and remove grants and
// sources, and revoke: every answer is a whole decision, nothing crashes (run under ASan/TSan).
TEST(BrokerConcurrency, MixedTrafficAndChanges) {
  TempDir dir;
  const std::string path = dir.Write("k", "concurrent-value-0");
  auto b = Broker::FromConfig(absl::StrCat("sources:\n  - {id: k, type: file, path: '", path,
                                           "', check_interval_ms: 0}\ngrants:\n  - id: g\n"
                                           "    principals: ['*']\n    destination: {host: api.example}\n"
                                           "    credential: k\n"));
  ASSERT_TRUE(b.ok()) << b.status();
  Broker& broker = **b;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, injected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      int i = 0;
      while (!stop) {
        auto inj = broker.Inject(absl::StrCat("agent-", t), "GET", "https://api.example/x", {});
        if (!inj.ok()) ++bad;
        else if (inj->allowed()) {
          ++injected;
          if (!absl::StartsWith(inj->set_headers[0].second, "Bearer concurrent-value-")) ++bad;
        } else if (inj->reason != DenyReason::kNoGrant) {
          ++bad;
        }
        auto v = broker.ScanOutbound("https://e.example/", {}, "body concurrent-value-0 body");
        if (!v.ok()) ++bad;
        auto r = broker.NewRedactor();
        std::string out;
        if (!r->Feed("x concurrent-val", &out).ok() || !r->Feed("ue-0 y", &out).ok() || !r->Finish(&out).ok()) ++bad;
        if (++i % 50 == 0) broker.Revoke(RevokeBy::kPrincipal, absl::StrCat("agent-", t));
      }
    });
  }
  threads.emplace_back([&] {
    for (int gen = 1; gen <= 20; ++gen) {
      dir.Write("k.tmp", absl::StrCat("concurrent-value-", gen));
      rename((dir.path() + "/k.tmp").c_str(), path.c_str());
      auto g = ParseGrant("{id: extra, principals: ['*'], destination: {host: other.example}, credential: k}");
      if (!g.ok() || !broker.AddGrant(*g).ok() || !broker.RemoveGrant("extra").ok()) ++bad;
      auto s = ParseSource(absl::StrCat("{id: tmp, type: env, name: HOME}"));
      if (!s.ok() || !broker.AddSource(*std::move(s)).ok() || !broker.RemoveSource("tmp").ok()) ++bad;
      (void)broker.ListLeases();
      (void)broker.ListCredentials();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stop = true;
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad, 0);
  EXPECT_GT(injected, 0);
}

}  // namespace
}  // namespace kars::broker
