// Order independence: the same rules in any order, split over any documents, decide every
// request identically.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace kars::policy {
namespace {

const char* kNames[] = {"alpha", "beta", "gamma", "delta", "alp", "be", "gam"};
const char* kHosts[] = {"a.example.com", "b.example.com", "example.com", "x.a.example.com", "api.test"};
const char* kIps[] = {"10.0.0.1", "10.1.2.3", "93.184.216.34", "192.168.1.5", "8.8.8.8"};
const char* kEffects[] = {"allow", "deny", "approve", "audit"};

std::string RandomRule(std::mt19937& rng, int id) {
  auto pick = [&](auto& arr) { return arr[rng() % std::size(arr)]; };
  std::string name = pick(kNames);
  std::string pattern = rng() % 3 == 0 ? name.substr(0, 2) + "*" : name;
  std::string principal = rng() % 3 == 0 ? absl::StrCat(", principal: {agents: [agent-", rng() % 3, "]}") : "";
  std::string head = absl::StrCat("    - {id: r", id, ", effect: ", pick(kEffects), principal, ", ");
  switch (rng() % 5) {
    case 0: return absl::StrCat(head, "tool: {names: [\"", pattern, "\"]}}\n");
    case 1: return absl::StrCat(head, "inference: {models: [\"", pattern, "\"]}}\n");
    case 2: return absl::StrCat(head, "mcp: {servers: [\"", pattern, "\"], tools: [\"", pick(kNames), "\"]}}\n");
    case 3: {
      std::string host = pick(kHosts);
      if (rng() % 2 == 0) host = "*." + host;
      std::string cidr = rng() % 2 == 0 ? "10.0.0.0/8" : "93.184.216.0/24";
      return rng() % 2 == 0 ? absl::StrCat(head, "egress: {hosts: [\"", host, "\"], ports: [\"443\", \"8000-9000\"]}}\n")
                            : absl::StrCat(head, "egress: {cidrs: [\"", cidr, "\"]}}\n");
    }
    default: return absl::StrCat(head, "a2a: {peers: [\"", pattern, "\"]}}\n");
  }
}

std::string RandomRequest(std::mt19937& rng) {
  auto pick = [&](auto& arr) { return arr[rng() % std::size(arr)]; };
  std::string principal = absl::StrCat(R"("principal":{"agent":"agent-)", rng() % 4, R"("})");
  switch (rng() % 5) {
    case 0: return absl::StrCat("{", principal, R"(,"tool":{"name":")", pick(kNames), "\"}}");
    case 1: return absl::StrCat("{", principal, R"(,"inference":{"model":")", pick(kNames), "\"}}");
    case 2: return absl::StrCat("{", principal, R"(,"mcp":{"server":")", pick(kNames), R"(","tool":")", pick(kNames), "\"}}");
    case 3: return absl::StrCat("{", principal, R"(,"egress":{"host":")", pick(kHosts), R"(","port":)",
                                rng() % 2 == 0 ? 443 : 8080, R"(,"resolvedIps":[")", pick(kIps), "\"]}}");
    default: return absl::StrCat("{", principal, R"(,"a2a":{"peer":")", pick(kNames), "\"}}");
  }
}

// Rules split round-robin over `docs` documents.
std::vector<PolicySource> Split(const std::vector<std::string>& rules, int docs) {
  std::vector<std::string> bodies(docs, "  rules:\n");
  for (size_t i = 0; i < rules.size(); ++i) bodies[i % docs] += rules[i];
  std::vector<PolicySource> out;
  for (int d = 0; d < docs; ++d) {
    out.push_back({PolicySource::kDocuments, absl::StrCat("d", d, ".yaml"), testing::Doc(absl::StrCat("doc", d), bodies[d])});
  }
  return out;
}

std::string Summary(const Decision& d) {
  std::string s = absl::StrCat(EffectName(d.effect), " ", d.reason, " ", d.matched_total);
  for (uint32_t i = 0; i < d.rule_count; ++i) absl::StrAppend(&s, " ", d.set->rules[d.rules[i]].id);
  return s;
}

TEST(OrderIndependence, ShuffledRulesDecideTenThousandRequestsIdentically) {
  std::mt19937 rng(20261201);
  std::vector<std::string> rules;
  for (int i = 0; i < 300; ++i) rules.push_back(RandomRule(rng, i));
  std::vector<std::string> shuffled = rules;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  Engine a, b;
  ASSERT_TRUE(a.Load(Split(rules, 1)).ok());
  ASSERT_TRUE(b.Load(Split(shuffled, 7)).ok());
  int effects[4] = {};
  for (int i = 0; i < 10000; ++i) {
    v1::Request r = testing::Req(RandomRequest(rng));
    Decision da, db;
    ASSERT_TRUE(a.Decide(r, false, &da).ok());
    ASSERT_TRUE(b.Decide(r, false, &db).ok());
    if (da.matched_total <= Decision::kMaxRules) {
      ASSERT_EQ(Summary(da), Summary(db)) << r.DebugString();
    } else {
      ASSERT_EQ(da.effect, db.effect);
      ASSERT_STREQ(da.reason, db.reason);
    }
    ++effects[static_cast<int>(da.effect)];
  }
  // The random set must exercise every effect, or the comparison proves little.
  for (int e = 0; e < 4; ++e) EXPECT_GT(effects[e], 100) << EffectName(static_cast<Effect>(e));
}

}  // namespace
}  // namespace kars::policy
