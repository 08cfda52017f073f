// Budgets (reserve before, settle after), rate limits and concurrency limits, with an injected
// clock and 8 concurrent threads.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace kars::policy {
namespace {

using testing::Doc;
using testing::EngineWith;
using testing::Req;

constexpr int64_t kSecond = 1000000000;

int64_t UnixNanos(int y, int mo, int d, int h, int mi, int s) {
  return absl::ToUnixNanos(absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone()));
}

const char* kBudgetPolicy = R"(  rules:
    - {id: models, effect: allow, inference: {}}
  limits:
    - id: team-tokens
      key: ["label:team"]
      budget: {unit: tokens, window: day, amount: 10000}
)";

v1::Request Inference(const std::string& team, int max_out, int prompt) {
  return Req(absl::StrCat(R"({"principal":{"agent":"a","labels":{"team":")", team,
                          R"("}},"inference":{"model":"m","maxOutputTokens":)", max_out,
                          R"(,"estimatedPromptTokens":)", prompt, "}}"));
}

uint64_t TeamUsage(Engine& engine, const std::string& team) {
  const Limit& limit = engine.Current()->limits[0];
  return engine.counters().Used(Engine::CounterKey(limit, Inference(team, 0, 0)),
                                Engine::WindowStart(limit.window, engine.clock().NowNanos()));
}

TEST(Budgets, ReserveThenSettleRefundsExactly) {
  ManualClock clock(UnixNanos(2026, 12, 1, 12, 0, 0));
  EngineOptions options;
  options.clock = &clock;
  auto engine = EngineWith(Doc("b", kBudgetPolicy), options);
  Decision d = testing::DecideOk(*engine, Inference("red", 900, 100));
  ASSERT_EQ(d.effect, Effect::kAllow);
  ASSERT_NE(d.reservation, 0u);
  EXPECT_EQ(TeamUsage(*engine, "red"), 1000u);
  ASSERT_TRUE(engine->Settle(d.reservation, 100, 250).ok());
  EXPECT_EQ(TeamUsage(*engine, "red"), 350u);
  EXPECT_EQ(engine->Settle(d.reservation, 1, 1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(TeamUsage(*engine, "blue"), 0u);  // keyed by team label
  // Usage beyond the reservation is charged too.
  d = testing::DecideOk(*engine, Inference("red", 10, 10));
  ASSERT_TRUE(engine->Settle(d.reservation, 10, 500).ok());
  EXPECT_EQ(TeamUsage(*engine, "red"), 860u);
}

TEST(Budgets, EightThreadsNeverOverrun) {
  ManualClock clock(UnixNanos(2026, 12, 1, 12, 0, 0));
  EngineOptions options;
  options.clock = &clock;
  auto engine = EngineWith(Doc("b", kBudgetPolicy), options);
  std::atomic<uint64_t> charged{0};
  std::atomic<int> allowed{0}, denied{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      v1::Request r = Inference("red", 90, 10);  // reserves 100
      Decision d;
      for (int i = 0; i < 500; ++i) {
        ASSERT_TRUE(engine->Decide(r, false, &d).ok());
        if (d.effect == Effect::kAllow) {
          ++allowed;
          uint64_t actual_out = (t + i) % 91;  // settle with less than reserved
          if (i % 3 == 0) {
            ASSERT_TRUE(engine->Settle(d.reservation, 10, actual_out).ok());
            charged += 10 + actual_out;
          } else {
            charged += 100;  // left unsettled: stays charged in full
          }
        } else {
          ASSERT_STREQ(d.reason, "limit.budget");
          ++denied;
        }
        ASSERT_LE(TeamUsage(*engine, "red"), 10000u);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(denied.load(), 0);
  EXPECT_GE(allowed.load(), 100);  // 10000 / 100 at the very least
  EXPECT_EQ(TeamUsage(*engine, "red"), charged.load());
  EXPECT_LE(charged.load(), 10000u);
}

TEST(Budgets, UnsettledReservationsExpireChargedInFull) {
  ManualClock clock(UnixNanos(2026, 12, 1, 12, 0, 0));
  EngineOptions options;
  options.clock = &clock;
  options.reservation_timeout_ns = 60 * kSecond;
  auto engine = EngineWith(Doc("b", R"(  rules:
    - {id: models, effect: allow, inference: {}}
  limits:
    - {id: tokens, budget: {window: day, amount: 1000}}
    - {id: one-at-a-time, kinds: [inference], concurrency: {maxInFlight: 1}}
)"), options);
  Decision d = testing::DecideOk(*engine, Inference("x", 400, 100));
  ASSERT_EQ(d.effect, Effect::kAllow);
  uint64_t first = d.reservation;
  d = testing::DecideOk(*engine, Inference("x", 1, 1));
  EXPECT_STREQ(d.reason, "limit.concurrency");
  clock.Advance(61 * kSecond);
  d = testing::DecideOk(*engine, Inference("x", 400, 100));  // the slot came back on expiry
  ASSERT_EQ(d.effect, Effect::kAllow);
  EXPECT_EQ(engine->Settle(first, 0, 0).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(engine->Settle(d.reservation, 100, 400).ok());
  // 500 charged in full by expiry + 500 settled: the budget is used up.
  d = testing::DecideOk(*engine, Inference("x", 1, 0));
  EXPECT_STREQ(d.reason, "limit.budget");
}

TEST(Budgets, HugeTokenCountsCannotWrapAround) {
  auto engine = EngineWith(Doc("b", kBudgetPolicy));
  v1::Request r = Req(R"({"principal":{"agent":"a","labels":{"team":"red"}},"inference":{"model":"m",)"
                      R"("maxOutputTokens":18446744073709551615,"estimatedPromptTokens":2}})");
  EXPECT_STREQ(testing::DecideOk(*engine, r).reason, "limit.budget");
}

TEST(Budgets, UtcWindowBoundaries) {
  EXPECT_EQ(Engine::WindowStart(Window::kDay, UnixNanos(2026, 12, 31, 23, 59, 59) + 999999999),
            UnixNanos(2026, 12, 31, 0, 0, 0) / kSecond);
  EXPECT_EQ(Engine::WindowStart(Window::kMonth, UnixNanos(2027, 1, 1, 0, 0, 0)),
            UnixNanos(2027, 1, 1, 0, 0, 0) / kSecond);
  EXPECT_EQ(Engine::WindowStart(Window::kMonth, UnixNanos(2028, 2, 29, 13, 0, 0)),
            UnixNanos(2028, 2, 1, 0, 0, 0) / kSecond);
  EXPECT_EQ(Engine::WindowStart(Window::kHour, UnixNanos(2026, 6, 1, 10, 59, 59)),
            UnixNanos(2026, 6, 1, 10, 0, 0) / kSecond);
  EXPECT_EQ(Engine::WindowStart(Window::kMinute, UnixNanos(2026, 6, 1, 10, 59, 59)),
            UnixNanos(2026, 6, 1, 10, 59, 0) / kSecond);

  ManualClock clock(UnixNanos(2026, 12, 31, 23, 59, 0));
  EngineOptions options;
  options.clock = &clock;
  auto engine = EngineWith(Doc("b", R"(  rules:
    - {id: models, effect: allow, inference: {}}
  limits:
    - {id: monthly, budget: {window: month, amount: 100}}
)"), options);
  Decision d = testing::DecideOk(*engine, Inference("x", 100, 0));
  ASSERT_EQ(d.effect, Effect::kAllow);
  EXPECT_STREQ(testing::DecideOk(*engine, Inference("x", 1, 0)).reason, "limit.budget");
  clock.Set(UnixNanos(2027, 1, 1, 0, 0, 0));  // a new UTC month
  Decision fresh = testing::DecideOk(*engine, Inference("x", 100, 0));
  EXPECT_EQ(fresh.effect, Effect::kAllow);
  // Settling December's reservation in January refunds nothing to January.
  ASSERT_TRUE(engine->Settle(d.reservation, 0, 0).ok());
  EXPECT_STREQ(testing::DecideOk(*engine, Inference("x", 1, 0)).reason, "limit.budget");
}

TEST(Budgets, CostBudgetsUsePriceTable) {
  ManualClock clock(UnixNanos(2026, 12, 1, 0, 0, 0));
  EngineOptions options;
  options.clock = &clock;
  auto engine = EngineWith(Doc("b", R"(  rules:
    - {id: models, effect: allow, inference: {}}
  limits:
    - id: spend
      budget:
        unit: cost
        window: day
        amount: 10000
        prices: {m: {promptPer1k: 1000, outputPer1k: 4000}}
)"), options);
  Decision d = testing::DecideOk(*engine, Inference("x", 1000, 2000));  // 2000 + 4000 = 6000
  ASSERT_EQ(d.effect, Effect::kAllow);
  EXPECT_STREQ(testing::DecideOk(*engine, Inference("x", 1000, 2000)).reason, "limit.budget");
  ASSERT_TRUE(engine->Settle(d.reservation, 2000, 250).ok());  // 2000 + 1000 = 3000
  EXPECT_EQ(testing::DecideOk(*engine, Inference("x", 1000, 2000)).effect, Effect::kAllow);
  v1::Request unpriced = Req(R"({"principal":{"agent":"a"},"inference":{"model":"other","maxOutputTokens":1}})");
  EXPECT_STREQ(testing::DecideOk(*engine, unpriced).reason, "limit.no_price");
}

TEST(RateLimits, TokenBucketWithRetryAfter) {
  ManualClock clock(UnixNanos(2026, 12, 1, 0, 0, 0));
  EngineOptions options;
  options.clock = &clock;
  auto engine = EngineWith(Doc("r", R"(  rules:
    - {id: tools, effect: allow, tool: {}}
  limits:
    - {id: per-agent, kinds: [tool], key: [agent], rate: {perSecond: 2, burst: 3}}
)"), options);
  v1::Request a = Req(R"({"principal":{"agent":"a"},"tool":{"name":"t"}})");
  v1::Request b = Req(R"({"principal":{"agent":"b"},"tool":{"name":"t"}})");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(testing::DecideOk(*engine, a).effect, Effect::kAllow);
  Decision d = testing::DecideOk(*engine, a);
  EXPECT_STREQ(d.reason, "limit.rate");
  EXPECT_EQ(d.retry_after_ms, 500);
  EXPECT_EQ(testing::DecideOk(*engine, b).effect, Effect::kAllow);  // separate key
  clock.Advance(kSecond / 2);
  EXPECT_EQ(testing::DecideOk(*engine, a).effect, Effect::kAllow);
  EXPECT_STREQ(testing::DecideOk(*engine, a).reason, "limit.rate");
}

TEST(RateLimits, EightThreadsTakeExactlyTheBurst) {
  ManualClock clock(UnixNanos(2026, 12, 1, 0, 0, 0));
  EngineOptions options;
  options.clock = &clock;
  auto engine = EngineWith(Doc("r", R"(  rules:
    - {id: tools, effect: allow, tool: {}}
  limits:
    - {id: global, rate: {perSecond: 1, burst: 1000}}
)"), options);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      v1::Request r = Req(R"({"principal":{"agent":"a"},"tool":{"name":"t"}})");
      Decision d;
      for (int i = 0; i < 400; ++i) {
        ASSERT_TRUE(engine->Decide(r, false, &d).ok());
        if (d.effect == Effect::kAllow) ++allowed;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 1000);
}

TEST(ConcurrencyLimits, SlotsReturnOnSettle) {
  auto engine = EngineWith(Doc("c", R"(  rules:
    - {id: tools, effect: allow, tool: {}}
  limits:
    - {id: two, rules: [tools], key: [tool], concurrency: {maxInFlight: 2}}
)"));
  v1::Request r = Req(R"({"principal":{"agent":"a"},"tool":{"name":"t"}})");
  Decision d1 = testing::DecideOk(*engine, r);
  Decision d2 = testing::DecideOk(*engine, r);
  ASSERT_NE(d1.reservation, 0u);
  EXPECT_STREQ(testing::DecideOk(*engine, r).reason, "limit.concurrency");
  EXPECT_EQ(testing::DecideOk(*engine, Req(R"({"principal":{"agent":"a"},"tool":{"name":"u"}})")).effect, Effect::kAllow);
  ASSERT_TRUE(engine->Settle(d1.reservation, 0, 0).ok());
  EXPECT_EQ(testing::DecideOk(*engine, r).effect, Effect::kAllow);
}

}  // namespace
}  // namespace kars::policy
