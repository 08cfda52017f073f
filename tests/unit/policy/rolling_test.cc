// Budgets over rolling windows: a charge counts for the whole window and no more than one slot
// longer, refunds are exact, unsettled reservations are charged in full, and 8 concurrent threads
// never overrun, with an injected clock.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libkars/policy/journal_store.h"
#include "test_util.h"

namespace kars::policy {
namespace {

using testing::Doc;
using testing::EngineWith;
using testing::Req;

constexpr int64_t kSecond = 1000000000;
constexpr int64_t kStart = 1764590400LL * kSecond;  // 2025-12-01T12:00:00Z

// 59 seconds over 60 slots: slots of exactly one second, the window counts 60 of them.
std::string RollingPolicy(uint64_t amount, uint64_t seconds = 59) {
  return Doc("r", absl::StrCat(R"(  rules:
    - {id: models, effect: allow, inference: {}}
  limits:
    - {id: rolling, budget: {window: rolling, rollingSeconds: )", seconds, ", amount: ", amount,
                               "}}\n"));
}

v1::Request Inference(int max_out, int prompt) {
  return Req(absl::StrCat(R"({"principal":{"agent":"a"},"inference":{"model":"m","maxOutputTokens":)",
                          max_out, R"(,"estimatedPromptTokens":)", prompt, "}}"));
}

uint64_t Used(Engine& engine) { return engine.BudgetUsed(engine.Current()->limits[0], Inference(0, 0)); }

TEST(RollingBudgets, SlotLengthCoversTheWindow) {
  auto engine = EngineWith(RollingPolicy(10, 3600));
  const Limit& limit = engine->Current()->limits[0];
  EXPECT_EQ(limit.window, Window::kRolling);
  EXPECT_GE(limit.rolling_slot_ns * (kRollingSlots - 1), 3600 * kSecond);
  EXPECT_LT(limit.rolling_slot_ns * (kRollingSlots - 1), 3600 * kSecond + kRollingSlots);
}

TEST(RollingBudgets, AChargeCountsForTheWholeWindowThenLeaves) {
  ManualClock clock(kStart + kSecond / 2);  // mid-slot: the charge is made half a slot in
  EngineOptions options;
  options.clock = &clock;
  auto engine = EngineWith(RollingPolicy(1000, 59), options);
  Decision d = testing::DecideOk(*engine, Inference(500, 100));
  ASSERT_EQ(d.effect, Effect::kAllow);
  ASSERT_TRUE(engine->Settle(d.reservation, 100, 500).ok());
  EXPECT_EQ(Used(*engine), 600u);
  // 59 s later (the window) the charge still counts, up to the end of its slot's 60th slot.
  clock.Set(kStart + 59 * kSecond + kSecond / 2);
  EXPECT_STREQ(testing::DecideOk(*engine, Inference(500, 0)).reason, "limit.budget");
  clock.Set(kStart + 60 * kSecond - 1);
  EXPECT_STREQ(testing::DecideOk(*engine, Inference(401, 0)).reason, "limit.budget");
  EXPECT_EQ(testing::DecideOk(*engine, Inference(400, 0)).effect, Effect::kAllow);  // fits: 1000
  clock.Set(kStart + 60 * kSecond);  // the first charge's slot left the window
  EXPECT_EQ(Used(*engine), 400u);
  EXPECT_EQ(testing::DecideOk(*engine, Inference(600, 0)).effect, Effect::kAllow);
  EXPECT_STREQ(testing::DecideOk(*engine, Inference(1, 0)).reason, "limit.budget");
}

TEST(RollingBudgets, RefundsAreExactAndGoToTheSlotCharged) {
  ManualClock clock(kStart);
  EngineOptions options;
  options.clock = &clock;
  auto engine = EngineWith(RollingPolicy(1000), options);
  Decision first = testing::DecideOk(*engine, Inference(200, 100));  // slot 0: 300
  Decision early = testing::DecideOk(*engine, Inference(200, 0));    // slot 0: 500
  clock.Advance(30 * kSecond);
  Decision second = testing::DecideOk(*engine, Inference(400, 100));  // slot 30: 500
  ASSERT_EQ(second.effect, Effect::kAllow);
  EXPECT_STREQ(testing::DecideOk(*engine, Inference(1, 0)).reason, "limit.budget");
  ASSERT_TRUE(engine->Settle(first.reservation, 100, 50).ok());  // slot 0 now holds 350
  EXPECT_EQ(Used(*engine), 850u);
  clock.Set(kStart + 60 * kSecond);  // slot 0 left; slot 30 remains
  EXPECT_EQ(Used(*engine), 500u);
  // A refund for a slot that already left the window changes nothing now.
  ASSERT_TRUE(engine->Settle(early.reservation, 0, 0).ok());
  EXPECT_EQ(Used(*engine), 500u);
  ASSERT_TRUE(engine->Settle(second.reservation, 100, 100).ok());  // slot 30: 200
  EXPECT_EQ(Used(*engine), 200u);
  // Usage beyond the reservation is charged in its slot too.
  Decision third = testing::DecideOk(*engine, Inference(10, 0));
  ASSERT_TRUE(engine->Settle(third.reservation, 0, 300).ok());
  EXPECT_EQ(Used(*engine), 500u);
  clock.Set(kStart + 90 * kSecond);
  EXPECT_EQ(Used(*engine), 300u);
}

TEST(RollingBudgets, UnsettledReservationsExpireChargedInFull) {
  ManualClock clock(kStart);
  EngineOptions options;
  options.clock = &clock;
  options.reservation_timeout_ns = 10 * kSecond;
  auto engine = EngineWith(RollingPolicy(1000), options);
  Decision d = testing::DecideOk(*engine, Inference(700, 100));
  ASSERT_EQ(d.effect, Effect::kAllow);
  clock.Advance(11 * kSecond);
  EXPECT_EQ(testing::DecideOk(*engine, Inference(100, 0)).effect, Effect::kAllow);  // expires d
  EXPECT_EQ(engine->Settle(d.reservation, 0, 0).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Used(*engine), 900u);
  clock.Set(kStart + 60 * kSecond);
  EXPECT_EQ(Used(*engine), 100u);  // the expired charge left with its slot, in full
}

// Eight threads decide and settle concurrently while the clock moves one slot per phase. After
// each phase the window's usage equals exactly the final charges of its last 60 slots, and no
// decision ever saw it above the budget.
TEST(RollingBudgets, EightThreadsNeverOverrunAcrossSlots) {
  constexpr uint64_t kAmount = 30000;
  constexpr int kPhases = 130, kThreads = 8, kPerPhase = 20;
  ManualClock clock(kStart);
  EngineOptions options;
  options.clock = &clock;
  auto engine = EngineWith(RollingPolicy(kAmount), options);
  std::vector<uint64_t> charged(kPhases, 0);
  std::atomic<int> denied{0};
  for (int phase = 0; phase < kPhases; ++phase) {
    std::atomic<uint64_t> phase_charged{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        v1::Request r = Inference(90, 10);  // reserves 100
        Decision d;
        for (int i = 0; i < kPerPhase; ++i) {
          ASSERT_TRUE(engine->Decide(r, false, &d).ok());
          ASSERT_LE(Used(*engine), kAmount);
          if (d.effect != Effect::kAllow) {
            ASSERT_STREQ(d.reason, "limit.budget");
            ++denied;
            continue;
          }
          if ((t + i) % 3 == 0) {
            phase_charged += 100;  // left unsettled: charged in full
          } else {
            const uint64_t out = static_cast<uint64_t>(t * 7 + i * 13 + phase) % 91;
            ASSERT_TRUE(engine->Settle(d.reservation, 10, out).ok());
            phase_charged += 10 + out;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    charged[phase] = phase_charged.load();
    uint64_t window = 0;
    for (int p = std::max(0, phase - 59); p <= phase; ++p) window += charged[p];
    ASSERT_EQ(Used(*engine), window) << "phase " << phase;
    ASSERT_LE(window, kAmount);
    clock.Advance(kSecond);
  }
  EXPECT_GT(denied.load(), 0);
}

TEST(RollingBudgets, LoaderErrors) {
  auto compile = [](const std::string& budget) {
    return CompilePolicySet({{PolicySource::kDocuments, "b.yaml", Doc("b", absl::StrCat(R"(  rules:
    - {id: models, effect: allow, inference: {}}
  limits:
    - {id: x, budget: )", budget, "}\n"))}}).status();
  };
  absl::Status s = compile("{window: rolling, amount: 5}");
  EXPECT_NE(s.message().find("E_MISSING"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("rollingSeconds"), absl::string_view::npos) << s;
  s = compile("{window: day, rollingSeconds: 60, amount: 5}");
  EXPECT_NE(s.message().find("b.yaml:9:"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("E_CONFLICT"), absl::string_view::npos) << s;
  s = compile("{window: rolling, rollingSeconds: 999999999999, amount: 5}");
  EXPECT_NE(s.message().find("E_VALUE"), absl::string_view::npos) << s;
  EXPECT_TRUE(compile("{window: rolling, rollingSeconds: 3600, amount: 5}").ok());
}

TEST(RollingBudgets, UsageSurvivesARestartThroughTheJournal) {
  char dir[] = "/tmp/kars-rolling-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/budgets.journal";
  ManualClock clock(kStart);
  EngineOptions options;
  options.clock = &clock;
  auto open = [&] {
    auto store = JournalCounterStore::Open(path);
    EXPECT_TRUE(store.ok()) << store.status();
    options.counters = *store;
    return EngineWith(RollingPolicy(1000), options);
  };
  {
    auto engine = open();
    Decision d = testing::DecideOk(*engine, Inference(500, 0));
    ASSERT_TRUE(engine->Settle(d.reservation, 0, 300).ok());
    clock.Advance(20 * kSecond);
    d = testing::DecideOk(*engine, Inference(400, 0));
    ASSERT_EQ(d.effect, Effect::kAllow);  // unsettled at "restart": charged in full
  }
  {
    auto engine = open();
    EXPECT_EQ(Used(*engine), 700u);
    clock.Set(kStart + 60 * kSecond);
    EXPECT_EQ(Used(*engine), 400u);
  }
  clock.Set(kStart + 200 * kSecond);
  auto engine = open();  // nothing it recorded is inside the window any more
  EXPECT_EQ(Used(*engine), 0u);
  std::remove(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace kars::policy
