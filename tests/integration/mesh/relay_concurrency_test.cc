// Concurrency against a real relay process: simultaneous first contacts each consume a distinct
// one-time prekey, and concurrent senders lose nothing.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "libkars/mesh/agent.h"
#include "tests/integration/mesh/relay_process.h"

namespace kars::mesh {
namespace {

namespace pb = kars::v1::mesh;
using testing::RelayProcess;

int64_t PrekeysHeld(const std::string& db_path, const std::string& mailbox) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT count(*) FROM prekeys WHERE mailbox = ?", -1, &st, nullptr);
  sqlite3_bind_text(st, 1, mailbox.c_str(), -1, SQLITE_TRANSIENT);
  int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

std::unique_ptr<Agent> Connect(const RelayProcess& relay, const std::string& name,
                               AgentOptions options = AgentOptions()) {
  auto agent = Agent::Open("", name, options);
  EXPECT_TRUE(agent.ok()) << agent.status();
  absl::Status s = (*agent)->ConnectRelay(relay.address());
  EXPECT_TRUE(s.ok()) << s;
  return std::move(*agent);
}

TEST(RelayConcurrency, SimultaneousFirstContactsConsumeDistinctPrekeys) {
  RelayProcess relay;
  ASSERT_FALSE(relay.address().empty());
  AgentOptions small_pool;
  small_pool.keys.prekey_pool = 20;
  small_pool.keys.prekey_low_water = 10;
  auto bob = Connect(relay, "bob", small_pool);
  ASSERT_EQ(PrekeysHeld(relay.db_path(), "bob"), 20);
  constexpr int kSenders = 16;
  std::vector<std::unique_ptr<Agent>> senders;
  for (int i = 0; i < kSenders; ++i) senders.push_back(Connect(relay, absl::StrCat("s", i)));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kSenders; ++i) {
    threads.emplace_back([&, i] {
      if (senders[i]->Send("bob", absl::StrCat("from s", i)).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(ok.load(), kSenders);
  EXPECT_EQ(PrekeysHeld(relay.db_path(), "bob"), 20 - kSenders);
  // Had two senders been handed the same one-time prekey, the second message could not decrypt.
  std::set<std::string> bodies;
  int rejected = 0;
  for (int round = 0; round < 20 && static_cast<int>(bodies.size()) < kSenders; ++round) {
    auto n = bob->Receive(absl::Milliseconds(200), [&](const pb::AgentEvent& ev) {
      if (ev.kind() == pb::AgentEvent::KIND_MESSAGE) bodies.insert(ev.body());
      if (ev.kind() == pb::AgentEvent::KIND_REJECTED) ++rejected;
      return 0;
    });
    ASSERT_TRUE(n.ok()) << n.status();
  }
  EXPECT_EQ(static_cast<int>(bodies.size()), kSenders);
  EXPECT_EQ(rejected, 0);
  // Receiving prekey messages made bob top his pool back up (it fell below the low water).
  EXPECT_EQ(PrekeysHeld(relay.db_path(), "bob"), 20);
}

TEST(RelayConcurrency, ConcurrentSendsFromOneAgentWhileReceivingLoseNothing) {
  RelayProcess relay;
  auto alice = Connect(relay, "alice");
  auto bob = Connect(relay, "bob");
  constexpr int kThreads = 4, kEach = 50;
  std::set<std::string> got;
  std::thread receiver([&] {
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (static_cast<int>(got.size()) < kThreads * kEach && absl::Now() < deadline) {
      auto n = bob->Receive(absl::Milliseconds(200), [&](const pb::AgentEvent& ev) {
        if (ev.kind() == pb::AgentEvent::KIND_MESSAGE) {
          EXPECT_TRUE(got.insert(ev.body()).second) << "delivered twice: " << ev.body();
        }
        return 0;
      });
      EXPECT_TRUE(n.ok()) << n.status();
    }
  });
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto id = alice->Send("bob", absl::StrCat(t, "-", i));
        EXPECT_TRUE(id.ok()) << id.status();
      }
    });
  }
  for (auto& s : senders) s.join();
  receiver.join();
  EXPECT_EQ(static_cast<int>(got.size()), kThreads * kEach);
}

}  // namespace
}  // namespace kars::mesh
