// Each source kind against real things: files on disk, the environment, real plugin processes
// and a real HTTPS token endpoint on 127.0.0.1.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libkars/broker/broker.h"
#include "libkars/broker/oauth_source.h"
#include "tests/unit/broker/helpers.h"
#include "tests/unit/broker/token_server.h"

namespace kars::broker {
namespace {

using testing::AuthValue;
using testing::Grant;
using testing::MustBroker;
using testing::MustInject;
using testing::TempDir;
using testing::TokenRequest;
using testing::TokenResponse;
using testing::TokenServer;

TEST(FileSource, ReadsValueAndRotatesWithoutRestart) {
  TempDir dir;
  const std::string path = dir.Write("key", "first-value-1\n");
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: k, type: file, path: '", path,
                                   "', check_interval_ms: 0}\n", Grant("k")));
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer first-value-1");
  // Kubernetes-style atomic update: write a new file, rename over the old.
  dir.Write("key.new", "second-value-2");
  ASSERT_EQ(rename((dir.path() + "/key.new").c_str(), path.c_str()), 0);
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer second-value-2");
  // The rotated-out value is still scanned for: it may still be live at its issuer.
  auto v = b->ScanOutbound("https://evil.example/?k=first-value-1", {}, "");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->clean);
}

TEST(FileSource, DirAndKeyFollowProjectedSymlinkSwap) {
  TempDir dir;
  ASSERT_EQ(mkdir((dir.path() + "/..2026_a").c_str(), 0700), 0);
  ASSERT_EQ(mkdir((dir.path() + "/..2026_b").c_str(), 0700), 0);
  dir.Write("..2026_a/token", "projected-aaaa");
  dir.Write("..2026_b/token", "projected-bbbb");
  ASSERT_EQ(symlink("..2026_a", (dir.path() + "/..data").c_str()), 0);
  ASSERT_EQ(symlink("..data/token", (dir.path() + "/token").c_str()), 0);
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: k, type: file, dir: '", dir.path(),
                                   "', key: token, check_interval_ms: 0}\n", Grant("k")));
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer projected-aaaa");
  ASSERT_EQ(symlink("..2026_b", (dir.path() + "/..data_tmp").c_str()), 0);
  ASSERT_EQ(rename((dir.path() + "/..data_tmp").c_str(), (dir.path() + "/..data").c_str()), 0);
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer projected-bbbb");
}

TEST(DirectorySource, OneCredentialPerKeyFileSkippingHiddenEntries) {
  TempDir dir;
  dir.Write("api-key", "dir-api-key-1111");
  dir.Write("token", "dir-token-2222");
  ASSERT_EQ(mkdir((dir.path() + "/..2026_x").c_str(), 0700), 0);
  dir.Write(".hidden", "not-a-key-3333");
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: app, type: directory, path: '", dir.path(),
                                   "', check_interval_ms: 0}\n", Grant("app/token")));
  auto creds = b->ListCredentials();
  ASSERT_EQ(creds.size(), 2u);
  EXPECT_EQ(creds[0].id, "app/api-key");
  EXPECT_EQ(creds[1].id, "app/token");
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer dir-token-2222");
  dir.Write("token.new", "dir-token-4444");
  ASSERT_EQ(rename((dir.path() + "/token.new").c_str(), (dir.path() + "/token").c_str()), 0);
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer dir-token-4444");
  auto v = b->ScanOutbound("https://evil.example/", {}, "dir-api-key-1111");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->credential_id, "app/api-key");
  auto empty = Broker::FromConfig("sources: [{id: e, type: directory, path: /nonexistent/kars}]");
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(absl::StrContains(empty.status().message(), "cannot list directory")) << empty.status();
}

TEST(FileSource, RotationMidTrafficServesOnlyWholeValues) {
  TempDir dir;
  const std::string path = dir.Write("key", "value-generation-0");
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: k, type: file, path: '", path,
                                   "', check_interval_ms: 0}\n", Grant("k")));
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop) {
        auto inj = b->Inject("agent-1", "POST", "https://api.example/v1/x", {});
        if (!inj.ok() || !inj->allowed() ||
            !absl::StartsWith(AuthValue(*inj), "Bearer value-generation-") ||
            AuthValue(*inj).size() != std::string("Bearer value-generation-0").size()) {
          ++bad;
        } else {
          ++ok;
        }
      }
    });
  }
  for (int gen = 1; gen <= 9; ++gen) {
    dir.Write("key.tmp", absl::StrCat("value-generation-", gen));
    ASSERT_EQ(rename((dir.path() + "/key.tmp").c_str(), path.c_str()), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad, 0);
  EXPECT_GT(ok, 0);
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer value-generation-9");
}

TEST(FileSource, UnreadableFileDeniesAndNamesTheSource) {
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: k, type: file, path: /nonexistent/kars/key}\n", Grant("k")));
  Injection inj = MustInject(*b);
  EXPECT_EQ(inj.reason, DenyReason::kCredentialUnavailable);
  EXPECT_TRUE(absl::StrContains(inj.message, "credential k")) << inj.message;
  EXPECT_TRUE(absl::StrContains(inj.message, "/nonexistent/kars/key")) << inj.message;
  EXPECT_EQ(b->Metrics().denials_unavailable, 1u);
  auto creds = b->ListCredentials();
  ASSERT_EQ(creds.size(), 1u);
  EXPECT_FALSE(creds[0].available);
  EXPECT_GE(creds[0].fetches_failed, 1u);
}

TEST(EnvSource, ReadsOnceAtStart) {
  setenv("KARS_TEST_ENV_TOKEN", "env-value-123", 1);
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: e, type: env, name: KARS_TEST_ENV_TOKEN}\n", Grant("e")));
  setenv("KARS_TEST_ENV_TOKEN", "changed-later", 1);
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer env-value-123");
  unsetenv("KARS_TEST_ENV_TOKEN");
  auto missing = MustBroker(absl::StrCat("sources:\n  - {id: e, type: env, name: KARS_TEST_ENV_TOKEN}\n", Grant("e")));
  Injection inj = MustInject(*missing);
  EXPECT_EQ(inj.reason, DenyReason::kCredentialUnavailable);
  EXPECT_TRUE(absl::StrContains(inj.message, "KARS_TEST_ENV_TOKEN")) << inj.message;
}

std::string Plugin(const TempDir& dir, const std::string& name, const std::string& body) {
  const std::string p = dir.Write(name, "#!/bin/sh\n" + body + "\n");
  chmod(p.c_str(), 0700);
  return p;
}

TEST(ExecSource, RunsPluginAndHonoursExpiry) {
  TempDir dir;
  const std::string counter = dir.path() + "/count";
  // Each run prints a new value that expires in 1 s, and counts itself.
  const std::string plugin = Plugin(dir, "plugin.sh",
      absl::StrCat("echo x >> ", counter, "\nn=$(wc -l < ", counter,
                   ")\nexp=$(( $(date +%s) + 2 ))\necho \"{\\\"value\\\": \\\"plugin-value-$n\\\", \\\"expires_at\\\": $exp}\""));
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: p, type: exec, command: ['", plugin,
                                   "'], refresh_ahead_s: 0}\n", Grant("p")));
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer plugin-value-1");
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer plugin-value-1");  // cached
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer plugin-value-2");  // expired → re-run
}

TEST(ExecSource, FailuresAreNamedAndDenied) {
  TempDir dir;
  struct Case {
    std::string script, timeout, want;
  } cases[] = {
      {"echo '{\"value\":\"leaky-secret-zz\"}'; exit 3", "5000", "exited with status 3"},
      {"echo 'leaky-secret-zz is not json {'", "5000", "not"},
      {"echo '[1,2]'", "5000", "not a JSON object"},
      {"echo '{\"expires_at\": 1}'", "5000", "no non-empty string"},
      {"echo '{\"value\":\"leaky-secret-zz\",\"expires_at\":\"tomorrow\"}'", "5000", "expires_at"},
      {"sleep 5", "200", "timed out"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string plugin = Plugin(dir, absl::StrCat("p", i++, ".sh"), c.script);
    auto b = MustBroker(absl::StrCat("sources:\n  - {id: p, type: exec, command: ['", plugin,
                                     "'], timeout_ms: ", c.timeout, "}\n", Grant("p")));
    const absl::Time start = absl::Now();
    Injection inj = MustInject(*b);
    EXPECT_LT(absl::Now() - start, absl::Seconds(3)) << c.script;
    EXPECT_EQ(inj.reason, DenyReason::kCredentialUnavailable) << c.script;
    EXPECT_TRUE(absl::StrContains(inj.message, c.want)) << inj.message;
    EXPECT_TRUE(absl::StrContains(inj.message, plugin)) << inj.message;
    EXPECT_FALSE(absl::StrContains(inj.message, "leaky-secret-zz")) << inj.message;
  }
}

// --- OAuth against a real HTTPS endpoint ---

std::string OAuthConfig(const TokenServer& server, const TempDir& dir, const std::string& extra) {
  return absl::StrCat("sources:\n  - id: svc\n    type: oauth_client_credentials\n    token_url: ",
                      server.url(), "\n    ca_file: ", server.ca_file(),
                      "\n    client_id: kars-client\n    client_secret: {file: ",
                      dir.Write("client_secret", "client-secret-xyz"), "}\n", extra, Grant("svc"));
}

TEST(OAuthClientCredentials, SingleFlightWith100ConcurrentCallers) {
  TempDir dir;
  TokenServer server([](const TokenRequest&) {
    return TokenResponse{200, R"({"access_token":"oauth-access-1","token_type":"Bearer","expires_in":3600})",
                         absl::Milliseconds(300)};
  });
  auto b = MustBroker(OAuthConfig(server, dir, ""));
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 100; ++i) {
    threads.emplace_back([&] {
      auto inj = b->Inject("agent-1", "POST", "https://api.example/v1/x", {});
      if (inj.ok() && AuthValue(*inj) == "Bearer oauth-access-1") ++good;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good, 100);
  EXPECT_EQ(server.calls(), 1);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_TRUE(absl::StrContains(reqs[0].body, "grant_type=client_credentials"));
  EXPECT_TRUE(absl::StartsWith(reqs[0].authorization, "Basic "));
}

TEST(OAuthClientCredentials, RefreshesAheadAndKeepsServingThroughFailure) {
  TempDir dir;
  std::atomic<int> mode{0};  // 0: ok, 1: 500
  std::atomic<int> issued{0};
  TokenServer server([&](const TokenRequest&) {
    if (mode == 1) return TokenResponse{500, R"({"error":"server_error"})"};
    return TokenResponse{200, absl::StrCat(R"({"access_token":"oauth-refresh-)", ++issued,
                                           R"(","expires_in":3})"),
                         absl::Milliseconds(200)};
  });
  auto b = MustBroker(OAuthConfig(server, dir, "    refresh_ahead_s: 1\n"));
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer oauth-refresh-1");
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));  // inside the refresh-ahead window
  // 100 callers: exactly one refreshes; the others are served the still-valid token meanwhile.
  std::vector<std::thread> threads;
  std::atomic<int> served{0};
  for (int i = 0; i < 100; ++i) {
    threads.emplace_back([&] {
      auto inj = b->Inject("agent-1", "POST", "https://api.example/v1/x", {});
      if (inj.ok() && inj->allowed()) ++served;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(served, 100);
  EXPECT_EQ(server.calls(), 2);
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer oauth-refresh-2");

  mode = 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer oauth-refresh-2");  // refresh failed, still valid
  auto creds = b->ListCredentials();
  ASSERT_EQ(creds.size(), 1u);
  EXPECT_GE(creds[0].fetches_failed, 1u);
  EXPECT_TRUE(absl::StrContains(creds[0].last_error, "HTTP 500 (server_error)")) << creds[0].last_error;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // now expired
  Injection inj = MustInject(*b);
  EXPECT_EQ(inj.reason, DenyReason::kCredentialUnavailable);  // an expired token is never injected
  EXPECT_TRUE(absl::StrContains(inj.message, "HTTP 500")) << inj.message;
}

TEST(OAuthClientCredentials, EndpointFailuresAreNamedAndDenied) {
  TempDir dir;
  struct Case {
    TokenResponse resp;
    std::string want;
  } cases[] = {
      {{401, R"({"error":"invalid_client","error_description":"client-secret-xyz wrong"})"}, "HTTP 401 (invalid_client)"},
      {{503, "upstream down"}, "HTTP 503"},
      {{200, "not json at all {"}, "not a JSON object"},
      {{200, R"({"token_type":"Bearer"})"}, "no access_token"},
      {{200, R"({"access_token":"x-token-1234","expires_in":"soon"})"}, "invalid expires_in"},
      {{200, "{}", absl::Seconds(10)}, "timed out"},
  };
  for (const auto& c : cases) {
    TokenServer server([&](const TokenRequest&) { return c.resp; });
    auto b = MustBroker(OAuthConfig(server, dir, "    timeout_ms: 300\n"));
    Injection inj = MustInject(*b);
    EXPECT_EQ(inj.reason, DenyReason::kCredentialUnavailable) << c.want;
    EXPECT_TRUE(absl::StrContains(inj.message, c.want)) << inj.message;
    EXPECT_TRUE(absl::StrContains(inj.message, "credential svc")) << inj.message;
    EXPECT_FALSE(absl::StrContains(inj.message, "client-secret-xyz")) << inj.message;
  }
}

TEST(OAuthClientCredentials, EndpointThatIsDownIsUnavailable) {
  TempDir dir;
  int port = 0;
  {
    TokenServer gone([](const TokenRequest&) { return TokenResponse{}; });
    port = gone.port();
  }  // stopped: nothing listens on its port now
  TokenServer server([](const TokenRequest&) { return TokenResponse{}; });
  std::string config = OAuthConfig(server, dir, "    timeout_ms: 1000\n");
  const std::string live = absl::StrCat(":", server.port(), "/");
  config.replace(config.find(live), live.size(), absl::StrCat(":", port, "/"));
  auto b = MustBroker(config);
  Injection inj = MustInject(*b);
  EXPECT_EQ(inj.reason, DenyReason::kCredentialUnavailable);
  EXPECT_TRUE(absl::StrContains(inj.message, "connect failed")) << inj.message;
}

TEST(ExecSource, AlreadyExpiredValueIsNeverInjected) {
  TempDir dir;
  const std::string plugin = Plugin(dir, "old.sh", "echo '{\"value\": \"stale-value-1234\", \"expires_at\": \"2001-01-01T00:00:00Z\"}'");
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: p, type: exec, command: ['", plugin, "']}\n", Grant("p")));
  Injection inj = MustInject(*b);
  EXPECT_EQ(inj.reason, DenyReason::kCredentialUnavailable);
  EXPECT_TRUE(absl::StrContains(inj.message, "expired")) << inj.message;
  EXPECT_TRUE(inj.set_headers.empty());
}

TEST(OAuthClientCredentials, RejectsAServerItCannotVerify) {
  TempDir dir;
  TokenServer server([](const TokenRequest&) { return TokenResponse{200, R"({"access_token":"abc-def-123"})"}; });
  TokenServer other([](const TokenRequest&) { return TokenResponse{}; });
  // The CA of another server: the chain does not verify.
  std::string config = OAuthConfig(server, dir, "");
  config.replace(config.find(server.ca_file()), server.ca_file().size(), other.ca_file());
  auto b = MustBroker(config);
  Injection inj = MustInject(*b);
  EXPECT_EQ(inj.reason, DenyReason::kCredentialUnavailable);
  EXPECT_TRUE(absl::StrContains(inj.message, "TLS handshake")) << inj.message;
  EXPECT_EQ(server.calls(), 0);
}

TEST(OAuthTokenExchange, TradesProjectedWorkloadToken) {
  TempDir dir;
  const std::string subject = dir.Write("sa-token", "eyJworkload.subject.token");
  TokenServer server([](const TokenRequest& r) {
    if (!absl::StrContains(r.body, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange") ||
        !absl::StrContains(r.body, "subject_token=eyJworkload.subject.token") ||
        !absl::StrContains(r.body, "audience=api.example")) {
      return TokenResponse{400, R"({"error":"invalid_request"})"};
    }
    return TokenResponse{200, R"({"access_token":"exchanged-777","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":600})"};
  });
  auto b = MustBroker(absl::StrCat("sources:\n  - id: wi\n    type: oauth_token_exchange\n    token_url: ",
                                   server.url(), "\n    ca_file: ", server.ca_file(),
                                   "\n    subject_token_file: ", subject, "\n    audience: api.example\n",
                                   Grant("wi")));
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer exchanged-777");
  EXPECT_EQ(server.calls(), 1);
}

TEST(OAuth, FormEncodingAndUrlParsing) {
  EXPECT_EQ(FormEncode("a b&c=d"), "a+b%26c%3Dd");
  EXPECT_FALSE(ParseHttpsUrl("http://x/token").ok());
  EXPECT_FALSE(ParseHttpsUrl("https://:443/").ok());
  EXPECT_FALSE(ParseHttpsUrl("https://h:99999/").ok());
  auto u = ParseHttpsUrl("https://h.example:8443/oauth/token?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "h.example");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->target, "/oauth/token?x=1");
}

}  // namespace
}  // namespace kars::broker
