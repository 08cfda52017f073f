// A UTC-day budget under 8 concurrent threads across the midnight boundary, with an injected
// clock: never overrun, exact refunds within the day, and settlements of yesterday's
// reservations never refund into today.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace kars::policy {
namespace {

constexpr int64_t kSecond = 1000000000;
constexpr int64_t kBeforeMidnight = 1796169599LL * kSecond;  // 2026-12-01T23:59:59Z
constexpr uint64_t kAmount = 20000;

v1::Request Ask() {
  return testing::Req(R"({"principal":{"agent":"a"},"inference":{"model":"m","maxOutputTokens":90,"estimatedPromptTokens":10}})");
}

TEST(CalendarBudgets, EightThreadsAcrossUtcMidnight) {
  ManualClock clock(kBeforeMidnight);
  EngineOptions options;
  options.clock = &clock;
  auto engine = testing::EngineWith(testing::Doc("c", R"(  rules:
    - {id: models, effect: allow, inference: {}}
  limits:
    - {id: daily, budget: {window: day, amount: 20000}}
)"), options);
  const Limit& limit = engine->Current()->limits[0];
  ASSERT_EQ(Engine::WindowStart(limit.window, kBeforeMidnight + kSecond), kBeforeMidnight / kSecond + 1);
  std::vector<uint64_t> unsettled_yesterday;  // reservations carried over midnight
  std::atomic<uint64_t> charged{0};
  auto run = [&](bool keep_some_open) {
    std::vector<std::thread> threads;
    std::vector<std::vector<uint64_t>> open(8);
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        Decision d;
        for (int i = 0; i < 40; ++i) {
          ASSERT_TRUE(engine->Decide(Ask(), false, &d).ok());
          ASSERT_LE(engine->BudgetUsed(limit, Ask()), kAmount);
          if (d.effect != Effect::kAllow) {
            ASSERT_STREQ(d.reason, "limit.budget");
            continue;
          }
          if (keep_some_open && i % 4 == 0) {
            open[t].push_back(d.reservation);
            continue;
          }
          const uint64_t out = static_cast<uint64_t>(t * 11 + i * 7) % 91;
          ASSERT_TRUE(engine->Settle(d.reservation, 10, out).ok());
          charged += 10 + out;
        }
      });
    }
    for (auto& th : threads) th.join();
    for (auto& o : open) unsettled_yesterday.insert(unsettled_yesterday.end(), o.begin(), o.end());
  };
  run(true);  // the last second of the day
  const uint64_t yesterday = charged.load() + 100 * unsettled_yesterday.size();
  EXPECT_EQ(engine->BudgetUsed(limit, Ask()), yesterday);
  EXPECT_LE(yesterday, kAmount);

  clock.Set(kBeforeMidnight + kSecond);  // 00:00:00 UTC: a new window starts empty
  EXPECT_EQ(engine->BudgetUsed(limit, Ask()), 0u);
  charged = 0;
  std::thread late([&] {  // yesterday's reservations settle while today's decisions run
    for (uint64_t r : unsettled_yesterday) ASSERT_TRUE(engine->Settle(r, 0, 0).ok());
  });
  run(false);
  late.join();
  EXPECT_EQ(engine->BudgetUsed(limit, Ask()), charged.load());  // nothing refunded into today
  EXPECT_LE(charged.load(), kAmount);
}

}  // namespace
}  // namespace kars::policy
