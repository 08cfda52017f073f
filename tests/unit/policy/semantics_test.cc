// Decision semantics for every request kind, driven by the example policy in tests/data.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libkars/policy/policy_tests.h"
#include "test_util.h"

namespace kars::policy {
namespace {

using testing::DecideOk;
using testing::Doc;
using testing::EngineWith;
using testing::Req;

struct Row {
  const char* request;
  Effect effect;
  const char* reason;
};

class AgentsPolicy : public ::testing::Test {
 protected:
  void SetUp() override { engine_ = EngineWith(testing::ReadTestData("policy/agents.yaml")); }
  void Check(const std::vector<Row>& rows) {
    for (const Row& row : rows) {
      Decision d = DecideOk(*engine_, Req(row.request));
      EXPECT_EQ(EffectName(d.effect), std::string(EffectName(row.effect))) << row.request;
      EXPECT_STREQ(d.reason, row.reason) << row.request;
    }
  }
  std::unique_ptr<Engine> engine_;
};

TEST_F(AgentsPolicy, Tools) {
  Check({
      {R"({"principal":{"agent":"a","namespace":"team-a"},"tool":{"name":"search"}})", Effect::kAllow, "rule.allow"},
      {R"({"principal":{"agent":"a","namespace":"team-b"},"tool":{"name":"search"}})", Effect::kDeny, "default.deny"},
      {R"({"principal":{"agent":"a","namespace":"team-a"},"tool":{"name":"searchx"}})", Effect::kDeny, "default.deny"},
      {R"({"principal":{"agent":"a","namespace":"team-a"},"tool":{"name":"fs.read","arguments":{"path":"/tmp/x"}}})", Effect::kAllow, "rule.allow"},
      {R"({"principal":{"agent":"a","namespace":"team-a"},"tool":{"name":"fs.read","arguments":{"path":"/etc/shadow"}}})", Effect::kDeny, "rule.deny"},
      {R"({"principal":{"agent":"a","namespace":"team-a"},"tool":{"name":"fs.read","arguments":{"path":"/tmp/../etc/x"}}})", Effect::kDeny, "rule.deny"},
      {R"({"principal":{"agent":"a"},"tool":{"name":"payments.refund","arguments":{"amount":100}}})", Effect::kAudit, "rule.audit"},
      {R"({"principal":{"agent":"a"},"tool":{"name":"payments.refund","arguments":{"amount":100.5}}})", Effect::kDeny, "default.deny"},
      {R"({"principal":{"agent":"a"},"tool":{"name":"payments.refund","arguments":{"amount":"5"}}})", Effect::kDeny, "default.deny"},
      {R"({"principal":{"agent":"a"},"tool":{"name":"payments.refund"}})", Effect::kDeny, "default.deny"},
  });
}

TEST_F(AgentsPolicy, McpInferenceMeshA2a) {
  Check({
      {R"({"principal":{"agent":"a"},"mcp":{"server":"github","tool":"get_issue"}})", Effect::kAllow, "rule.allow"},
      {R"({"principal":{"agent":"a"},"mcp":{"server":"github","tool":"delete_repo"}})", Effect::kDeny, "default.deny"},
      {R"({"principal":{"agent":"a"},"mcp":{"server":"gitlab","tool":"get_issue"}})", Effect::kDeny, "default.deny"},
      {R"({"principal":{"agent":"a"},"inference":{"provider":"anthropic","model":"claude-3-opus","maxOutputTokens":10}})", Effect::kAllow, "rule.allow"},
      {R"({"principal":{"agent":"a"},"inference":{"provider":"other","model":"claude-3-opus"}})", Effect::kDeny, "default.deny"},
      {R"({"principal":{"agent":"a"},"inference":{"provider":"openai","model":"gpt-4o","maxOutputTokens":8193}})", Effect::kDeny, "limit.cap"},
      {R"({"principal":{"agent":"a"},"mesh":{"direction":"receive","peer":"team-a/x"}})", Effect::kAllow, "rule.allow"},
      {R"({"principal":{"agent":"a"},"mesh":{"direction":"send","peer":"team-b/x"}})", Effect::kDeny, "default.deny"},
      {R"({"principal":{"agent":"a"},"a2a":{"peer":"planner","method":"tasks/get"}})", Effect::kAllow, "rule.allow"},
      {R"({"principal":{"agent":"a"},"a2a":{"peer":"planner","method":"tasks/cancel"}})", Effect::kDeny, "default.deny"},
  });
}

TEST_F(AgentsPolicy, Egress) {
  Check({
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"https","host":"api.github.com","port":443,"resolvedIps":["140.82.112.6"]}})", Effect::kAllow, "rule.allow"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"https","host":"API.GitHub.com.","port":443,"resolvedIps":["140.82.112.6"]}})", Effect::kAllow, "rule.allow"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"https","host":"api.github.com","port":8443,"resolvedIps":["140.82.112.6"]}})", Effect::kDeny, "default.deny"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"http","host":"api.github.com","port":443,"resolvedIps":["140.82.112.6"]}})", Effect::kDeny, "default.deny"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"https","host":"api.github.com","port":443}})", Effect::kDeny, "egress.unresolved"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"https","host":"api.github.com","port":443,"resolvedIps":["140.82.112.6","127.0.0.1"]}})", Effect::kDeny, "egress.internal_address"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"https","host":"api.github.com","port":443,"resolvedIps":["::ffff:192.168.1.1"]}})", Effect::kDeny, "egress.internal_address"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"https","host":"api.github.com","port":443,"resolvedIps":["fe80::1"]}})", Effect::kDeny, "egress.internal_address"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"https","host":"www.googleapis.com","port":443,"resolvedIps":["142.250.1.1"]}})", Effect::kAllow, "rule.allow"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"https","host":"a.b.googleapis.com","port":443,"resolvedIps":["142.250.1.1"]}})", Effect::kAllow, "rule.allow"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"https","host":"googleapis.com","port":443,"resolvedIps":["142.250.1.1"]}})", Effect::kDeny, "default.deny"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"https","host":"evilgoogleapis.com","port":443,"resolvedIps":["142.250.1.1"]}})", Effect::kDeny, "default.deny"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"https","host":"x.googleapis.com","port":443,"method":"POST","path":"/upload/v1","resolvedIps":["142.250.1.1"]}})", Effect::kDeny, "rule.deny"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"https","host":"x.googleapis.com","port":443,"method":"POST","path":"/v1/upload","resolvedIps":["142.250.1.1"]}})", Effect::kAllow, "rule.allow"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"http","host":"10.20.1.1","port":8000}})", Effect::kAllow, "rule.allow"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"http","host":"10.20.1.1","port":8101}})", Effect::kDeny, "default.deny"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"http","host":"cache.internal","port":8080,"resolvedIps":["10.20.9.9"]}})", Effect::kAllow, "rule.allow"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"http","host":"cache.internal","port":8080,"resolvedIps":["10.20.9.9","10.21.0.1"]}})", Effect::kDeny, "default.deny"},
      {R"({"principal":{"agent":"a"},"egress":{"scheme":"http","host":"169.254.169.254","port":80}})", Effect::kDeny, "default.deny"},
  });
}

TEST(Patterns, IpParsing) {
  IpAddr a;
  EXPECT_TRUE(ParseIp("10.0.0.1", &a));
  EXPECT_EQ(a.family, 4);
  EXPECT_EQ(a.bytes[0], 10);
  EXPECT_EQ(a.bytes[3], 1);
  EXPECT_TRUE(ParseIp("255.255.255.255", &a));
  EXPECT_TRUE(ParseIp("::ffff:127.0.0.1", &a));
  EXPECT_EQ(a.family, 4);
  EXPECT_TRUE(IsInternalAddress(a));
  EXPECT_TRUE(ParseIp("2001:db8::1", &a));
  EXPECT_EQ(a.family, 6);
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "1.2.3.4.", "a.b.c.d", "1.2.3.-4", "::g"}) {
    EXPECT_FALSE(ParseIp(bad, &a)) << bad;
  }
}

TEST(Semantics, EmptySetDeniesEveryKind) {
  Engine engine;
  for (const char* r : {
           R"({"principal":{"agent":"a"},"tool":{"name":"t"}})",
           R"({"principal":{"agent":"a"},"inference":{"model":"m"}})",
           R"({"principal":{"agent":"a"},"mcp":{"server":"s","tool":"t"}})",
           R"({"principal":{"agent":"a"},"egress":{"host":"1.1.1.1","port":443}})",
           R"({"principal":{"agent":"a"},"mesh":{"direction":"send","peer":"p"}})",
           R"({"principal":{"agent":"a"},"a2a":{"peer":"p"}})"}) {
    Decision d = DecideOk(engine, Req(r));
    EXPECT_EQ(d.effect, Effect::kDeny) << r;
    EXPECT_STREQ(d.reason, "default.deny") << r;
  }
}

TEST(Semantics, DenyBeatsApproveBeatsAuditBeatsAllow) {
  const std::string base = R"(  rules:
    - {id: allow, effect: allow, tool: {names: [t]}}
    - {id: audit, effect: audit, tool: {names: ["t*"]}}
    - {id: approve, effect: approve, tool: {names: [t], args: [{pointer: /x, equals: 1}]}}
    - {id: deny, effect: deny, principal: {agents: [bad]}, tool: {}}
)";
  auto engine = EngineWith(Doc("d", base));
  auto d = DecideOk(*engine, Req(R"({"principal":{"agent":"ok"},"tool":{"name":"t"}})"));
  EXPECT_EQ(d.effect, Effect::kAudit);
  EXPECT_EQ(d.rule_count, 2u);
  d = DecideOk(*engine, Req(R"({"principal":{"agent":"ok"},"tool":{"name":"t","arguments":{"x":1}}})"));
  EXPECT_EQ(d.effect, Effect::kApprove);
  EXPECT_FALSE(d.ticket.empty());
  d = DecideOk(*engine, Req(R"({"principal":{"agent":"bad"},"tool":{"name":"t","arguments":{"x":1}}})"));
  EXPECT_EQ(d.effect, Effect::kDeny);
  EXPECT_STREQ(d.reason, "rule.deny");
  EXPECT_EQ(d.matched_total, 4u);
  // Matched rule ids are reported sorted, whatever the rule order.
  ASSERT_EQ(d.rule_count, 4u);
  EXPECT_EQ(d.set->rules[d.rules[0]].id, "allow");
  EXPECT_EQ(d.set->rules[d.rules[3]].id, "deny");
}

TEST(Semantics, PrincipalSelectorsAndLabels) {
  auto engine = EngineWith(Doc("d", R"(  rules:
    - id: r
      effect: allow
      principal: {agents: ["bot-*"], sandboxes: [sb1], labels: {team: red}}
      tool: {names: [t]}
)"));
  EXPECT_EQ(DecideOk(*engine, Req(R"({"principal":{"agent":"bot-1","sandbox":"sb1","labels":{"team":"red","x":"y"}},"tool":{"name":"t"}})")).effect, Effect::kAllow);
  EXPECT_EQ(DecideOk(*engine, Req(R"({"principal":{"agent":"bot-1","sandbox":"sb1","labels":{"team":"blue"}},"tool":{"name":"t"}})")).effect, Effect::kDeny);
  EXPECT_EQ(DecideOk(*engine, Req(R"({"principal":{"agent":"bot-1","sandbox":"sb2","labels":{"team":"red"}},"tool":{"name":"t"}})")).effect, Effect::kDeny);
  EXPECT_EQ(DecideOk(*engine, Req(R"({"principal":{"agent":"human","sandbox":"sb1","labels":{"team":"red"}},"tool":{"name":"t"}})")).effect, Effect::kDeny);
}

TEST(Semantics, ArgumentConditions) {
  auto engine = EngineWith(Doc("d", R"(  rules:
    - id: r
      effect: allow
      tool:
        names: [t]
        args:
          - {pointer: /mode, oneOf: [read, list]}
          - {pointer: /opts/0/level, range: {min: 1, max: 3}}
          - {pointer: "/a~1b", equals: true}
)"));
  EXPECT_EQ(DecideOk(*engine, Req(R"({"principal":{"agent":"a"},"tool":{"name":"t","arguments":{"mode":"list","opts":[{"level":2}],"a/b":true}}})")).effect, Effect::kAllow);
  EXPECT_EQ(DecideOk(*engine, Req(R"({"principal":{"agent":"a"},"tool":{"name":"t","arguments":{"mode":"write","opts":[{"level":2}],"a/b":true}}})")).effect, Effect::kDeny);
  EXPECT_EQ(DecideOk(*engine, Req(R"({"principal":{"agent":"a"},"tool":{"name":"t","arguments":{"mode":"list","opts":[{"level":4}],"a/b":true}}})")).effect, Effect::kDeny);
  EXPECT_EQ(DecideOk(*engine, Req(R"({"principal":{"agent":"a"},"tool":{"name":"t","arguments":{"mode":"list","opts":[{"level":2}],"a/b":"true"}}})")).effect, Effect::kDeny);
}

TEST(Semantics, BlocklistAndRiskyTlds) {
  auto engine = EngineWith(Doc("d", R"(  rules:
    - {id: all-web, effect: allow, egress: {ports: ["443"]}}
  egress:
    blocklist: [evil.example]
    riskyTlds: [zip]
)"));
  auto egress = [&](const std::string& host) {
    return DecideOk(*engine, Req(R"({"principal":{"agent":"a"},"egress":{"host":")" + host +
                                 R"(","port":443,"resolvedIps":["93.184.216.34"]}})"));
  };
  EXPECT_STREQ(egress("evil.example").reason, "egress.blocklist");
  EXPECT_STREQ(egress("a.b.evil.example").reason, "egress.blocklist");
  EXPECT_STREQ(egress("notevil.example").reason, "rule.allow");
  EXPECT_STREQ(egress("files.zip").reason, "egress.risky_tld");
  EXPECT_STREQ(DecideOk(*engine, Req(R"({"principal":{"agent":"a"},"egress":{"host":"93.184.216.34","port":443}})")).reason, "egress.bare_ip");
}

TEST(Semantics, DefaultRiskyTldsApplyUnlessAHostRuleNamesTheHost) {
  auto egress = [](Engine& engine, const std::string& host) {
    return DecideOk(engine, Req(R"({"principal":{"agent":"a"},"egress":{"host":")" + host +
                                R"(","port":443,"resolvedIps":["93.184.216.34"]}})"));
  };
  auto engine = EngineWith(Doc("d", R"(  rules:
    - {id: all-web, effect: allow, egress: {ports: ["443"]}}
    - {id: named, effect: allow, egress: {hosts: [releases.example.zip, "*.mirror.top"]}}
)"));
  EXPECT_STREQ(egress(*engine, "files.zip").reason, "egress.risky_tld");       // default list
  EXPECT_STREQ(egress(*engine, "a.b.FREE.TK").reason, "egress.risky_tld");     // case-folded
  EXPECT_STREQ(egress(*engine, "zip.example.com").reason, "rule.allow");       // TLD only
  EXPECT_STREQ(egress(*engine, "releases.example.zip").reason, "rule.allow");  // named exactly
  EXPECT_STREQ(egress(*engine, "eu.mirror.top").reason, "rule.allow");         // named by pattern
  EXPECT_STREQ(egress(*engine, "other.top").reason, "egress.risky_tld");

  // A policy extends the list; any document can turn the defaults off (order-independent).
  auto extended = EngineWith(Doc("d", R"(  rules:
    - {id: all-web, effect: allow, egress: {ports: ["443"]}}
  egress:
    riskyTlds: [example]
)"));
  EXPECT_STREQ(egress(*extended, "x.example").reason, "egress.risky_tld");
  EXPECT_STREQ(egress(*extended, "files.zip").reason, "egress.risky_tld");
  Engine off;
  ASSERT_TRUE(off.Load({{PolicySource::kDocuments, "a.yaml", Doc("a", R"(  rules:
    - {id: all-web, effect: allow, egress: {ports: ["443"]}}
  egress:
    riskyTlds: [example]
)")},
                        {PolicySource::kDocuments, "b.yaml", Doc("b", R"(  egress:
    disableDefaultRiskyTlds: true
)")}}).ok());
  EXPECT_STREQ(egress(off, "files.zip").reason, "rule.allow");
  EXPECT_STREQ(egress(off, "x.example").reason, "egress.risky_tld");  // listed ones stay
  EXPECT_EQ(off.Current()->risky_tlds.size(), 1u);
}

TEST(Semantics, MalformedRequestsAreErrorsNeverAllows) {
  auto engine = EngineWith(testing::ReadTestData("policy/agents.yaml"));
  for (const char* r : {
           R"({"tool":{"name":"search"}})",
           R"({"principal":{"agent":"a"}})",
           R"({"principal":{"agent":"a"},"tool":{}})",
           R"({"principal":{"agent":"a"},"egress":{"host":"api.github.com"}})",
           R"({"principal":{"agent":"a"},"egress":{"host":"api.github.com","port":443,"resolvedIps":["nope"]}})",
           R"({"principal":{"agent":"a"},"mesh":{"direction":"sideways","peer":"p"}})",
           R"({"principal":{"agent":"a"},"mcp":{"server":"github"}})",
           R"({"principal":{"agent":"a"},"inference":{"provider":"openai"}})"}) {
    Decision d;
    absl::Status s = engine->Decide(Req(r), false, &d);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << r;
    EXPECT_EQ(d.effect, Effect::kDeny) << r;
    EXPECT_STREQ(d.reason, "request.invalid");
  }
  v1::Request unknown;
  EXPECT_FALSE(ParseRequestJson(R"({"principal":{"agent":"a"},"tool":{"name":"t","bogus":1}})", &unknown).ok());
  EXPECT_FALSE(ParseRequestJson("{not json", &unknown).ok());
}

TEST(Semantics, ExplanationNamesTheMatchedRules) {
  auto engine = EngineWith(testing::ReadTestData("policy/agents.yaml"));
  Decision d;
  ASSERT_TRUE(engine->Decide(Req(R"({"principal":{"agent":"a","namespace":"team-a"},"tool":{"name":"fs.read","arguments":{"path":"/etc/x"}}})"), true, &d).ok());
  EXPECT_NE(d.explanation.find("tools-read-only"), std::string::npos) << d.explanation;
  EXPECT_NE(d.explanation.find("tools-fs-read-outside-tmp"), std::string::npos) << d.explanation;
  EXPECT_NE(d.explanation.find("decision: deny (rule.deny)"), std::string::npos) << d.explanation;
  ASSERT_TRUE(engine->Decide(Req(R"({"principal":{"agent":"a","namespace":"team-a"},"tool":{"name":"search"}})"), false, &d).ok());
  EXPECT_TRUE(d.explanation.empty());
}

TEST(Semantics, ExampleCasesFilePasses) {
  auto engine = EngineWith(testing::ReadTestData("policy/agents.yaml"));
  PolicyTestReport report;
  ASSERT_TRUE(RunPolicyTests(engine->Current(), &engine->clock(), "agents.cases.yaml",
                             testing::ReadTestData("policy/agents.cases.yaml"), &report).ok());
  EXPECT_EQ(report.failed, 0u) << report.text;
  EXPECT_EQ(report.passed, 19u) << report.text;
}

TEST(Semantics, PolicyTestsReportFailures) {
  auto engine = EngineWith(testing::ReadTestData("policy/agents.yaml"));
  PolicyTestReport report;
  ASSERT_TRUE(RunPolicyTests(engine->Current(), &engine->clock(), "c.yaml", R"(cases:
  - name: wrong expectation
    request: {principal: {agent: a, namespace: team-a}, tool: {name: search}}
    expect: deny
)", &report).ok());
  EXPECT_EQ(report.failed, 1u);
  EXPECT_NE(report.text.find("FAIL wrong expectation (c.yaml:2:5): expected deny, got allow"), std::string::npos) << report.text;
  absl::Status s = RunPolicyTests(engine->Current(), &engine->clock(), "c.yaml", "cases:\n  - {name: x, expect: maybe}\n", &report);
  EXPECT_NE(s.message().find("c.yaml:2:"), absl::string_view::npos) << s;
}

}  // namespace
}  // namespace kars::policy
