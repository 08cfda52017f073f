// Agents used from several threads at once (race-checked under TSan): a sender thread, a receiver
// blocked in Receive waiting for live envelopes, and a third thread sending the other way.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "tests/unit/mesh/mesh_test_util.h"

namespace kars::mesh {
namespace {

using testing::MakeAgent;
namespace pb = kars::v1::mesh;

TEST(AgentConcurrency, SendAndReceiveOnSeveralThreadsLoseNothing) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob");
  constexpr int kMessages = 100;
  std::set<std::string> got_bob, got_alice;
  std::atomic<bool> failed{false};
  std::thread bob_receives([&] {
    while (got_bob.size() < kMessages && !failed) {
      auto n = bob->Receive(absl::Milliseconds(200), [&](const pb::AgentEvent& ev) {
        if (ev.kind() == pb::AgentEvent::KIND_MESSAGE) got_bob.insert(ev.body());
        return 0;
      });
      if (!n.ok()) failed = true;
    }
  });
  std::thread alice_sends([&] {
    for (int i = 0; i < kMessages; ++i) {
      if (!alice->Send("bob", "a" + std::to_string(i)).ok()) failed = true;
    }
  });
  std::thread bob_sends([&] {
    for (int i = 0; i < kMessages; ++i) {
      if (!bob->Send("alice", "b" + std::to_string(i)).ok()) failed = true;
    }
  });
  alice_sends.join();
  bob_sends.join();
  bob_receives.join();
  ASSERT_FALSE(failed);
  while (got_alice.size() < kMessages) {
    auto n = alice->Receive(absl::Milliseconds(200), [&](const pb::AgentEvent& ev) {
      if (ev.kind() == pb::AgentEvent::KIND_MESSAGE) got_alice.insert(ev.body());
      return 0;
    });
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
  }
  EXPECT_EQ(got_bob.size(), static_cast<size_t>(kMessages));
  EXPECT_EQ(got_alice.size(), static_cast<size_t>(kMessages));
}

}  // namespace
}  // namespace kars::mesh
