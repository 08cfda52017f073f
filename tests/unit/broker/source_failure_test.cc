// A failing source of every kind is visible in the metrics (source_failures) and as a
// "source_error" event naming the credential, with the request denied and no value anywhere.
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libkars/base/sync.h"
#include "libkars/broker/broker.h"
#include "tests/unit/broker/helpers.h"
#include "tests/unit/broker/token_server.h"

namespace kars::broker {
namespace {

using testing::MustInject;
using testing::TempDir;
using testing::TokenRequest;
using testing::TokenResponse;
using testing::TokenServer;

constexpr const char* kLeaky = "leaky-secret-value-99";

struct Observed {
  Mutex mu;
  std::vector<std::string> events ABSL_GUARDED_BY(mu);
};

// A broker with an event sink from the start, then the source and a grant for it.
std::unique_ptr<Broker> BrokerWithSource(const std::string& source, Observed* seen) {
  auto b = Broker::Create(BrokerSettings{});
  EXPECT_TRUE(b.ok()) << b.status();
  (*b)->SetEventSink([seen](const std::string& e) {
    MutexLock lock(&seen->mu);
    seen->events.push_back(e);
  });
  auto specs = ParseSources(source);
  EXPECT_TRUE(specs.ok()) << specs.status();
  for (auto& spec : *specs) EXPECT_TRUE((*b)->AddSource(std::move(spec)).ok());
  auto grant = ParseGrant("{id: g, principals: ['agent-*'], destination: {host: api.example}, credential: s}");
  EXPECT_TRUE(grant.ok()) << grant.status();
  EXPECT_TRUE((*b)->AddGrant(*grant).ok());
  return *std::move(b);
}

void ExpectVisible(Broker& b, Observed& seen, const std::string& cause) {
  const Injection inj = MustInject(b);
  EXPECT_EQ(inj.reason, DenyReason::kCredentialUnavailable) << cause;
  const BrokerMetrics m = b.Metrics();
  EXPECT_GE(m.source_failures, 1u) << cause;
  EXPECT_GE(m.denials_unavailable, 1u) << cause;
  EXPECT_TRUE(absl::StrContains(MetricsJson(m), "\"source_failures\":")) << cause;
  MutexLock lock(&seen.mu);
  int errors = 0;
  for (const std::string& e : seen.events) {
    EXPECT_FALSE(absl::StrContains(e, kLeaky)) << e;
    if (absl::StrContains(e, "\"event\":\"source_error\",\"credential\":\"s\"")) {
      ++errors;
      EXPECT_TRUE(absl::StrContains(e, cause)) << e;
    }
  }
  EXPECT_GE(errors, 1) << cause;
}

TEST(SourceFailure, FileThatCannotBeRead) {
  Observed seen;
  auto b = BrokerWithSource("{id: s, type: file, path: /nonexistent/kars/key}", &seen);
  ExpectVisible(*b, seen, "/nonexistent/kars/key");
}

TEST(SourceFailure, EnvironmentVariableNotSet) {
  unsetenv("KARS_TEST_UNSET_VARIABLE");
  Observed seen;
  auto b = BrokerWithSource("{id: s, type: env, name: KARS_TEST_UNSET_VARIABLE}", &seen);
  ExpectVisible(*b, seen, "KARS_TEST_UNSET_VARIABLE");
}

TEST(SourceFailure, ExecPluginThatFails) {
  TempDir dir;
  const std::string plugin = dir.Write("p.sh", absl::StrCat("#!/bin/sh\necho '{\"value\":\"", kLeaky, "\"}'\nexit 4\n"));
  chmod(plugin.c_str(), 0700);
  Observed seen;
  auto b = BrokerWithSource(absl::StrCat("{id: s, type: exec, command: ['", plugin, "']}"), &seen);
  ExpectVisible(*b, seen, "exited with status 4");
}

TEST(SourceFailure, ClientCredentialsEndpointAnswers500) {
  TempDir dir;
  TokenServer server([](const TokenRequest&) { return TokenResponse{500, R"({"error":"server_error"})"}; });
  Observed seen;
  auto b = BrokerWithSource(
      absl::StrCat("{id: s, type: oauth_client_credentials, token_url: '", server.url(), "', ca_file: '",
                   server.ca_file(), "', client_id: c, client_secret: {file: '", dir.Write("cs", kLeaky), "'}}"),
      &seen);
  ExpectVisible(*b, seen, "HTTP 500");
}

TEST(SourceFailure, TokenExchangeWithoutSubjectToken) {
  TokenServer server([](const TokenRequest&) { return TokenResponse{200, R"({"access_token":"never-used-1"})"}; });
  Observed seen;
  auto b = BrokerWithSource(absl::StrCat("{id: s, type: oauth_token_exchange, token_url: '", server.url(),
                                         "', ca_file: '", server.ca_file(),
                                         "', subject_token_file: /nonexistent/kars/sa-token}"),
                            &seen);
  ExpectVisible(*b, seen, "/nonexistent/kars/sa-token");
  EXPECT_EQ(server.calls(), 0);
}

TEST(SourceFailure, DirectoryThatCannotBeListedAnyMore) {
  TempDir dir;
  const std::string sub = dir.path() + "/keys";
  ASSERT_EQ(mkdir(sub.c_str(), 0700), 0);
  Observed seen;
  auto b = Broker::Create(BrokerSettings{});
  ASSERT_TRUE(b.ok());
  (*b)->SetEventSink([&seen](const std::string& e) {
    MutexLock lock(&seen.mu);
    seen.events.push_back(e);
  });
  auto spec = ParseSource(absl::StrCat("{id: d, type: directory, path: '", sub, "'}"));
  ASSERT_TRUE(spec.ok());
  ASSERT_TRUE((*b)->AddSource(*std::move(spec)).ok());
  ASSERT_EQ(rmdir(sub.c_str()), 0);
  (*b)->RescanDirectories(/*force=*/true);
  EXPECT_EQ((*b)->Metrics().source_failures, 1u);
  MutexLock lock(&seen.mu);
  ASSERT_EQ(seen.events.size(), 1u);
  EXPECT_TRUE(absl::StrContains(seen.events[0], "\"event\":\"source_error\",\"credential\":\"d\"")) << seen.events[0];
  EXPECT_TRUE(absl::StrContains(seen.events[0], "cannot list directory")) << seen.events[0];
}

}  // namespace
}  // namespace kars::broker
