// Hot reload under concurrent decisions: every decision sees exactly one whole set.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"

namespace kars::policy {
namespace {

using testing::Doc;

// Set A allows tool "t" by rule "a"; set B denies it by rule "b". A decision must be one of
// the two consistent outcomes, and name the digest of the set that made it.
TEST(HotReload, DecisionsInFlightSeeOneWholeSet) {
  const std::string a = Doc("p", "  rules: [{id: a, effect: allow, tool: {names: [t]}}]\n");
  const std::string b = Doc("p", "  rules: [{id: b, effect: deny, tool: {names: [t]}}, {id: b2, effect: allow, tool: {names: [u]}}]\n");
  Engine engine;
  ASSERT_TRUE(engine.Load({{PolicySource::kDocuments, "a.yaml", a}}).ok());
  const std::string digest_a = engine.Current()->digest_hex;
  ASSERT_TRUE(engine.Load({{PolicySource::kDocuments, "b.yaml", b}}).ok());
  const std::string digest_b = engine.Current()->digest_hex;
  ASSERT_NE(digest_a, digest_b);

  std::atomic<bool> stop{false};
  std::atomic<int> seen_a{0}, seen_b{0}, inconsistent{0};
  std::vector<std::thread> deciders;
  for (int t = 0; t < 6; ++t) {
    deciders.emplace_back([&] {
      v1::Request r = testing::Req(R"({"principal":{"agent":"x"},"tool":{"name":"t"}})");
      Decision d;
      while (!stop.load()) {
        if (!engine.Decide(r, false, &d).ok()) {
          ++inconsistent;
          continue;
        }
        const std::string& id = d.set->rules[d.rules[0]].id;
        if (d.effect == Effect::kAllow && id == "a" && d.set->digest_hex == digest_a) {
          ++seen_a;
        } else if (d.effect == Effect::kDeny && id == "b" && d.set->digest_hex == digest_b) {
          ++seen_b;
        } else {
          ++inconsistent;
        }
      }
    });
  }
  std::thread reloader([&] {
    for (int i = 0; i < 200; ++i) {
      const int before_a = seen_a.load(), before_b = seen_b.load();
      ASSERT_TRUE(engine.Load({{PolicySource::kDocuments, "x.yaml", i % 2 == 0 ? a : b}}).ok());
      // For the first rounds, let a decision see the new set (on a loaded machine the deciders
      // may otherwise not run between two reloads at all); later rounds race freely.
      for (int spin = 0; i < 10 && spin < 2000; ++spin) {
        if ((i % 2 == 0 ? seen_a.load() > before_a : seen_b.load() > before_b)) break;
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
      // A broken reload in between never takes effect.
      ASSERT_FALSE(engine.Load({{PolicySource::kDocuments, "bad.yaml", "spec: ["}}).ok());
    }
    stop.store(true);
  });
  reloader.join();
  for (auto& th : deciders) th.join();
  EXPECT_EQ(inconsistent.load(), 0);
  EXPECT_GT(seen_a.load(), 0);
  EXPECT_GT(seen_b.load(), 0);
}

TEST(HotReload, CountersSurviveReloads) {
  const std::string p = Doc("p", R"(  rules: [{id: a, effect: allow, tool: {}}]
  limits: [{id: burst, rate: {perSecond: 0.001, burst: 2}}]
)");
  ManualClock clock(0);
  EngineOptions options;
  options.clock = &clock;
  auto engine = testing::EngineWith(p, options);
  v1::Request r = testing::Req(R"({"principal":{"agent":"x"},"tool":{"name":"t"}})");
  EXPECT_EQ(testing::DecideOk(*engine, r).effect, Effect::kAllow);
  ASSERT_TRUE(engine->Load({{PolicySource::kDocuments, "again.yaml", p}}).ok());
  EXPECT_EQ(testing::DecideOk(*engine, r).effect, Effect::kAllow);
  EXPECT_STREQ(testing::DecideOk(*engine, r).reason, "limit.rate");
}

}  // namespace
}  // namespace kars::policy
