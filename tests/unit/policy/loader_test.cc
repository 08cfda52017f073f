// Bad policy input: every error names FILE:LINE:COL and a stable code; nothing partial is ever
// put in force; the digest ignores order.
#include <string>

#include "gtest/gtest.h"
#include "test_util.h"

namespace kars::policy {
namespace {

using testing::Doc;

absl::Status Compile(const std::string& yaml, const std::string& name = "p.yaml") {
  return CompilePolicySet({{PolicySource::kDocuments, name, yaml}}).status();
}

void ExpectError(const std::string& yaml, const std::string& where_and_code) {
  absl::Status s = Compile(yaml);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << yaml;
  EXPECT_NE(s.message().find(where_and_code), absl::string_view::npos)
      << "want '" << where_and_code << "' in: " << s.message();
}

TEST(Loader, SyntaxError) { ExpectError("spec: [unclosed\n", "p.yaml:2:1: E_SYNTAX"); }

TEST(Loader, UnknownFieldsAnywhere) {
  ExpectError("apiVersion: kars.dev/v1\nkind: Policy\nmetadata: {name: x}\nbogus: 1\n",
              "p.yaml:4:1: E_UNKNOWN_FIELD: unknown field 'bogus' in PolicyDocument");
  ExpectError(Doc("x", "  rules:\n    - id: r\n      effect: allow\n      tool: {names: [t], nmae: 1}\n"),
              "p.yaml:9:26: E_UNKNOWN_FIELD: unknown field 'nmae' in ToolMatch");
}

TEST(Loader, HeaderChecks) {
  ExpectError("apiVersion: v2\nkind: Policy\nmetadata: {name: x}\n", "p.yaml:1:1: E_VALUE: apiVersion");
  ExpectError("apiVersion: kars.dev/v1\nkind: Other\nmetadata: {name: x}\n", "p.yaml:2:1: E_VALUE");
  ExpectError("apiVersion: kars.dev/v1\nkind: Policy\n", "E_MISSING: metadata.name");
}

TEST(Loader, WrongTypes) {
  ExpectError(Doc("x", "  rules: {id: r}\n"), "p.yaml:6:10: E_TYPE: expected a sequence for 'rules'");
  ExpectError(Doc("x", "  limits:\n    - id: l\n      rate: {perSecond: fast, burst: 1}\n"),
              "E_VALUE: 'per_second' must be a number, not 'fast'");
  ExpectError(Doc("x", "  limits:\n    - id: l\n      rate: {perSecond: 1, burst: -1}\n"),
              "E_VALUE: 'burst' must be an unsigned integer");
}

TEST(Loader, RuleChecks) {
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: permit, tool: {}}\n"),
              "p.yaml:7:15: E_VALUE: rule 'r': effect must be allow, deny, approve or audit, not 'permit'");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow}\n"), "p.yaml:7:7: E_MISSING: rule 'r' must name exactly one kind");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, tool: {}, mcp: {}}\n"), "E_CONFLICT");
  ExpectError(Doc("x", "  rules:\n    - {effect: allow, tool: {}}\n"), "p.yaml:7:7: E_MISSING: a rule needs an id");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, tool: {}}\n    - {id: r, effect: deny, tool: {}}\n"),
              "p.yaml:8:8: E_DUPLICATE: rule id 'r' is already used in document 'x'");
}

TEST(Loader, PatternChecks) {
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, tool: {names: [\"a*b\"]}}\n"),
              "p.yaml:7:45: E_PATTERN: name pattern 'a*b'");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, egress: {hosts: [Example.COM]}}\n"), "E_PATTERN: domain 'Example.COM'");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, egress: {hosts: [\"*.\"]}}\n"), "E_PATTERN");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, egress: {cidrs: [10.0.0.1/8]}}\n"), "E_PATTERN: CIDR '10.0.0.1/8' has host bits set");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, egress: {cidrs: [10.0.0.0/33]}}\n"), "E_PATTERN");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, egress: {ports: [\"9-1\"]}}\n"), "E_PATTERN: port '9-1'");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, egress: {ports: [\"70000\"]}}\n"), "E_PATTERN");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, egress: {methods: [get]}}\n"), "E_PATTERN: HTTP method 'get'");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, egress: {paths: [api]}}\n"), "E_PATTERN: path prefix 'api'");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, tool: {args: [{pointer: /a, regex: \"(\"}]}}\n"), "E_REGEX: regex '(' is invalid");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, tool: {args: [{pointer: /a, equals: 1, regex: x}]}}\n"), "E_CONFLICT");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, tool: {args: [{pointer: a, equals: 1}]}}\n"), "E_CONFLICT: JSON pointer 'a'");
  ExpectError(Doc("x", "  rules:\n    - {id: r, effect: allow, mesh: {directions: [up]}}\n"), "E_VALUE: mesh direction");
}

TEST(Loader, LimitChecks) {
  ExpectError(Doc("x", "  limits:\n    - {id: l, rate: {perSecond: 1, burst: 1}, concurrency: {maxInFlight: 1}}\n"),
              "p.yaml:7:7: E_CONFLICT: limit 'l' must set exactly one of rate");
  ExpectError(Doc("x", "  limits:\n    - {id: l, rate: {perSecond: 0, burst: 1}}\n"), "E_VALUE");
  ExpectError(Doc("x", "  limits:\n    - {id: l, budget: {window: day, amount: 5}, kinds: [tool]}\n"), "E_CONFLICT: limit 'l': budgets and caps apply to inference only");
  ExpectError(Doc("x", "  limits:\n    - {id: l, budget: {window: week, amount: 5}}\n"), "E_VALUE");
  ExpectError(Doc("x", "  limits:\n    - {id: l, budget: {unit: cost, window: day, amount: 5}}\n"), "E_MISSING: limit 'l': a cost budget needs a prices table");
  ExpectError(Doc("x", "  limits:\n    - {id: l, rules: [nope], concurrency: {maxInFlight: 1}}\n"), "E_VALUE: limit 'l' names unknown rule 'nope'");
  ExpectError(Doc("x", "  limits:\n    - {id: l, key: [colour], concurrency: {maxInFlight: 1}}\n"), "E_VALUE: unknown key field 'colour'");
  ExpectError(Doc("x", "  limits:\n    - {id: l, concurrency: {maxInFlight: 1}}\n    - {id: l, concurrency: {maxInFlight: 2}}\n"), "E_DUPLICATE: limit id 'l'");
  ExpectError(Doc("x", "  limits:\n    - {id: l, kinds: [files], concurrency: {maxInFlight: 1}}\n"), "E_VALUE: unknown request kind 'files'");
}

TEST(Loader, DocumentsNeverReplaceEachOther) {
  auto set = CompilePolicySet({{PolicySource::kDocuments, "a.yaml", Doc("same", "  rules: []\n")},
                               {PolicySource::kDocuments, "b.yaml", Doc("same", "  rules: []\n")}});
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("b.yaml:4:3: E_DUPLICATE: a document named 'same' is already loaded from a.yaml"),
            absl::string_view::npos) << set.status();
}

TEST(Loader, MultiDocumentFilesAndJson) {
  auto set = CompilePolicySet({{PolicySource::kDocuments, "m.yaml",
                                Doc("one", "  rules: [{id: a, effect: allow, tool: {}}]\n") + "---\n" +
                                    Doc("two", "  rules: [{id: b, effect: allow, mcp: {}}]\n")},
                               {PolicySource::kDocuments, "j.json",
                                R"({"apiVersion":"kars.dev/v1","kind":"Policy","metadata":{"name":"three"},
                                    "spec":{"rules":[{"id":"c","effect":"deny","a2a":{"peers":["x"]}}]}})"}});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ((*set)->document_count, 3u);
  EXPECT_EQ((*set)->rules.size(), 3u);
}

TEST(Loader, FailedReloadKeepsTheOldSet) {
  auto engine = testing::EngineWith(Doc("d", "  rules: [{id: a, effect: allow, tool: {names: [t]}}]\n"));
  std::string before = engine->Current()->digest_hex;
  absl::Status s = engine->Load({{PolicySource::kDocuments, "new.yaml", Doc("d", "  rules: [{id: a, effect: allw, tool: {}}]\n")}});
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(engine->Current()->digest_hex, before);
  EXPECT_EQ(testing::DecideOk(*engine, testing::Req(R"({"principal":{"agent":"x"},"tool":{"name":"t"}})")).effect, Effect::kAllow);
}

TEST(Loader, DigestIgnoresOrderButNotContent) {
  PolicySource a{PolicySource::kDocuments, "a.yaml", Doc("a", "  rules: [{id: a, effect: allow, tool: {}}]\n")};
  PolicySource b{PolicySource::kDocuments, "b.yaml", Doc("b", "  rules: [{id: b, effect: deny, tool: {names: [x]}}]\n")};
  PolicySource b2{PolicySource::kDocuments, "b.yaml", Doc("b", "  rules: [{id: b, effect: deny, tool: {names: [y]}}]\n")};
  auto ab = CompilePolicySet({a, b});
  auto ba = CompilePolicySet({b, a});
  auto ab2 = CompilePolicySet({a, b2});
  ASSERT_TRUE(ab.ok() && ba.ok() && ab2.ok());
  EXPECT_EQ((*ab)->digest_hex.size(), 64u);
  EXPECT_EQ((*ab)->digest_hex, (*ba)->digest_hex);
  EXPECT_NE((*ab)->digest_hex, (*ab2)->digest_hex);
}

TEST(Loader, WarningsForShadowedAndNeverMatchingRules) {
  auto set = CompilePolicySet({{PolicySource::kDocuments, "w.yaml", Doc("w", R"(  rules:
    - {id: allow-t, effect: allow, tool: {names: [t]}}
    - {id: no-tools, effect: deny, tool: {}}
    - {id: blocked, effect: allow, egress: {hosts: [a.evil.example]}}
    - {id: fine, effect: allow, egress: {hosts: [good.example]}}
  egress:
    blocklist: [evil.example]
)")}});
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ((*set)->warnings.size(), 2u);
  EXPECT_NE((*set)->warnings[0].find("w.yaml:7:7: W_SHADOWED: rule 'allow-t'"), std::string::npos)
      << (*set)->warnings[0];
  EXPECT_NE((*set)->warnings[0].find("deny rule 'no-tools' (w.yaml:8:7)"), std::string::npos)
      << (*set)->warnings[0];
  EXPECT_NE((*set)->warnings[1].find("w.yaml:9:7: W_NEVER_MATCHES: rule 'blocked'"), std::string::npos)
      << (*set)->warnings[1];
}

TEST(Loader, WarningsForBroaderDeniesAndImpossibleConditions) {
  auto set = CompilePolicySet({{PolicySource::kDocuments, "w.yaml", Doc("w", R"(  rules:
    - {id: deny-fs, effect: deny, principal: {namespaces: ["prod-*"]}, tool: {names: ["fs.*"]}}
    - {id: fs-read, effect: allow, principal: {namespaces: [prod-a]}, tool: {names: [fs.read, "fs.list*"]}}
    - {id: fs-read-dev, effect: allow, principal: {namespaces: [dev]}, tool: {names: [fs.read]}}
    - {id: fs-read-any, effect: allow, tool: {names: [fs.read]}}
    - {id: deny-ads, effect: deny, egress: {hosts: ["*.ads.example"], ports: ["1-65535"]}}
    - {id: ads-cdn, effect: allow, egress: {hosts: [cdn.eu.ads.example, "*.x.ads.example"], ports: ["443"]}}
    - {id: ads-root, effect: allow, egress: {hosts: [ads.example]}}
    - {id: ip-host, effect: allow, egress: {hosts: [10.1.2.3]}}
    - id: modes
      effect: allow
      tool:
        names: [t]
        args:
          - {pointer: /mode, equals: read}
          - {pointer: /mode, oneOf: [write, delete]}
    - id: types
      effect: allow
      tool:
        names: [t]
        args:
          - {pointer: /n, regex: "[0-9]+"}
          - {pointer: /n, range: {min: 1}}
    - id: ranges
      effect: allow
      tool:
        names: [t]
        args:
          - {pointer: /n, range: {min: 10}}
          - {pointer: /n, range: {max: 5}}
    - id: fine-args
      effect: allow
      tool:
        names: [t]
        args:
          - {pointer: /n, range: {min: 1}}
          - {pointer: /n, range: {max: 5}}
)")}});
  ASSERT_TRUE(set.ok()) << set.status();
  const auto& w = (*set)->warnings;
  auto has = [&](const std::string& needle) {
    for (const auto& line : w) {
      if (line.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  std::string all;
  for (const auto& line : w) all += line + "\n";
  EXPECT_EQ(w.size(), 6u) << all;
  EXPECT_TRUE(has("w.yaml:8:7: W_SHADOWED: rule 'fs-read' (document 'w') never takes effect: deny rule 'deny-fs'")) << all;
  EXPECT_FALSE(has("'fs-read-dev'")) << all;  // another namespace
  EXPECT_FALSE(has("'fs-read-any'")) << all;  // broader than the deny
  EXPECT_TRUE(has("W_SHADOWED: rule 'ads-cdn'")) << all;
  EXPECT_FALSE(has("'ads-root'")) << all;  // `*.ads.example` does not match ads.example itself
  EXPECT_TRUE(has("W_NEVER_MATCHES: rule 'ip-host'")) << all;
  EXPECT_TRUE(has("W_NEVER_MATCHES: rule 'modes' (document 'w') can never match: two argument")) << all;
  EXPECT_TRUE(has("W_NEVER_MATCHES: rule 'types'")) << all;
  EXPECT_TRUE(has("W_NEVER_MATCHES: rule 'ranges'")) << all;
  EXPECT_FALSE(has("'fine-args'")) << all;
}

TEST(Loader, DomainFeeds) {
  auto set = CompilePolicySet({{PolicySource::kDomainFeed, "feed.txt",
                                "# comment\nads.example\n0.0.0.0 Tracker.Example.\n\n"}});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE((*set)->blocklist.contains("ads.example"));
  EXPECT_TRUE((*set)->blocklist.contains("tracker.example"));
  auto bad = CompilePolicySet({{PolicySource::kDomainFeed, "feed.txt", "ok.example\nbad domain!\n"}});
  EXPECT_NE(bad.status().message().find("feed.txt:2:1: E_PATTERN"), absl::string_view::npos) << bad.status();
}

}  // namespace
}  // namespace kars::policy
