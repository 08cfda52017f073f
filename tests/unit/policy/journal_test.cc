// Budget usage in the journal survives a new engine and a kill -9 mid-run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "gtest/gtest.h"
#include "libkars/base/status.h"
#include "libkars/policy/journal_store.h"
#include "test_util.h"

namespace kars::policy {
namespace {

const char* kPolicy = R"(  rules:
    - {id: models, effect: allow, inference: {}}
  limits:
    - {id: daily, budget: {window: day, amount: 1000}}
)";

class Journal : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/kars-journal-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/budgets.journal";
  }
  void TearDown() override {
    std::remove(path_.c_str());
    std::remove((path_ + ".tmp").c_str());
    rmdir(dir_.c_str());
  }
  std::unique_ptr<Engine> Open() {
    auto store = JournalCounterStore::Open(path_);
    EXPECT_TRUE(store.ok()) << store.status();
    EngineOptions options;
    options.clock = &clock_;
    options.counters = *store;
    return testing::EngineWith(testing::Doc("j", kPolicy), options);
  }
  Decision Ask(Engine& e, int tokens) {
    return testing::DecideOk(e, testing::Req(absl::StrCat(
        R"({"principal":{"agent":"a"},"inference":{"model":"m","maxOutputTokens":)", tokens, "}}")));
  }
  ManualClock clock_{1764590400LL * 1000000000};  // 2025-12-01T12:00:00Z
  std::string dir_, path_;
};

TEST_F(Journal, UsageSurvivesANewEngine) {
  {
    auto engine = Open();
    Decision d = Ask(*engine, 600);
    ASSERT_EQ(d.effect, Effect::kAllow);
    ASSERT_TRUE(engine->Settle(d.reservation, 0, 500).ok());
  }
  auto engine = Open();
  EXPECT_EQ(Ask(*engine, 500).effect, Effect::kAllow);
  EXPECT_STREQ(Ask(*engine, 1).reason, "limit.budget");
  // The next UTC day starts from zero.
  clock_.Advance(24LL * 3600 * 1000000000);
  EXPECT_EQ(Ask(*engine, 1000).effect, Effect::kAllow);
}

TEST_F(Journal, UsageSurvivesKillDashNine) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto engine = Open();
    for (int i = 0; i < 9; ++i) Ask(*engine, 100);  // 900 reserved, never settled
    kill(getpid(), SIGKILL);
    _exit(3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  auto engine = Open();
  EXPECT_EQ(Ask(*engine, 100).effect, Effect::kAllow);
  EXPECT_STREQ(Ask(*engine, 1).reason, "limit.budget");
}

TEST_F(Journal, TornLastLineIsDroppedOtherDamageIsTampering) {
  {
    std::ofstream out(path_);
    out << "U 1f 100 5\nU 1f 100 7";  // the second line was cut off mid-write
  }
  auto store = JournalCounterStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Used(0x1f, 100), 5u);
  store->reset();
  {
    std::ofstream out(path_);
    out << "U 1f 100 5\nX garbage\n";
  }
  auto bad = JournalCounterStore::Open(path_);
  EXPECT_EQ(kars::ToCStatus(bad.status()), KARS_E_TAMPERED) << bad.status();
  EXPECT_EQ(kars::ToCStatus(JournalCounterStore::Open(dir_ + "/no/such/dir/j").status()), KARS_E_IO);
}

}  // namespace
}  // namespace kars::policy
