// Recovery from a session one side no longer has, or has in an older state: the agent restored
// from an older copy of its directory. The side that cannot decrypt reports it, handshakes afresh
// and the peer resends what it sent recently, so nothing sent is lost.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "libkars/base/status.h"
#include "tests/unit/mesh/mesh_test_util.h"

namespace kars::mesh {
namespace {

using testing::Bodies;
using testing::Events;
using testing::MakeAgent;
using testing::TempDir;
namespace pb = kars::v1::mesh;

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Copies an agent's (closed) directory aside, or back over the live one.
void CopyDir(const std::string& from, const std::string& to) {
  std::filesystem::remove_all(to);
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
}

TEST(AgentRehandshake, ReceiverRestoredFromOlderCopyRecovers) {
  LoopbackHub hub;
  const std::string dir_b = TempDir(), backup = dir_b + ".backup";
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob", dir_b);
  ASSERT_TRUE(alice->Send("bob", "x1").ok());
  ASSERT_EQ(Bodies(Events(*bob)), std::vector<std::string>{"x1"});
  ASSERT_TRUE(bob->Send("alice", "y1").ok());
  ASSERT_EQ(Bodies(Events(*alice)), std::vector<std::string>{"y1"});
  bob.reset();
  CopyDir(dir_b, backup);
  bob = MakeAgent(hub, "bob", dir_b);
  // Both sides ratchet past the copy.
  ASSERT_TRUE(alice->Send("bob", "x2").ok());
  ASSERT_EQ(Bodies(Events(*bob)), std::vector<std::string>{"x2"});
  ASSERT_TRUE(bob->Send("alice", "y2").ok());
  ASSERT_EQ(Bodies(Events(*alice)), std::vector<std::string>{"y2"});
  bob.reset();
  CopyDir(backup, dir_b);  // bob comes back from the older copy; alice does not know
  bob = MakeAgent(hub, "bob", dir_b);
  ASSERT_TRUE(alice->Send("bob", "m1").ok());
  ASSERT_TRUE(alice->Send("bob", "m2").ok());
  ASSERT_TRUE(alice->Send("bob", "m3").ok());
  auto failed = Events(*bob);
  ASSERT_EQ(failed.size(), 3u);
  bool handshaking = false;
  for (const auto& ev : failed) {
    EXPECT_EQ(ev.kind(), pb::AgentEvent::KIND_REJECTED);
    handshaking |= ev.detail().find("re-handshaking") != std::string::npos;
  }
  EXPECT_TRUE(handshaking);
  EXPECT_TRUE(Events(*alice).empty());  // takes bob's fresh handshake, resends
  auto recovered = Bodies(Events(*bob));
  for (const char* m : {"m1", "m2", "m3"}) EXPECT_TRUE(Contains(recovered, m)) << m;
  // Messages bob queued himself while out of step reach alice too, and both ways work again.
  ASSERT_TRUE(bob->Send("alice", "back").ok());
  EXPECT_EQ(Bodies(Events(*alice)), std::vector<std::string>{"back"});
  ASSERT_TRUE(alice->Send("bob", "m4").ok());
  EXPECT_EQ(Bodies(Events(*bob)), std::vector<std::string>{"m4"});
  bob.reset();
  std::filesystem::remove_all(dir_b);
  std::filesystem::remove_all(backup);
}

TEST(AgentRehandshake, SenderRestoredFromOlderCopyRecovers) {
  LoopbackHub hub;
  const std::string dir_a = TempDir(), backup = dir_a + ".backup";
  auto alice = MakeAgent(hub, "alice", dir_a);
  auto bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(alice->Send("bob", "x1").ok());
  ASSERT_EQ(Bodies(Events(*bob)), std::vector<std::string>{"x1"});
  alice.reset();
  CopyDir(dir_a, backup);
  alice = MakeAgent(hub, "alice", dir_a);
  ASSERT_TRUE(alice->Send("bob", "x2").ok());
  ASSERT_TRUE(alice->Send("bob", "x3").ok());
  ASSERT_EQ(Bodies(Events(*bob)), (std::vector<std::string>{"x2", "x3"}));
  alice.reset();
  CopyDir(backup, dir_a);
  alice = MakeAgent(hub, "alice", dir_a);
  // Alice's older state reuses message keys bob has consumed: bob must not take the new messages
  // for duplicates of the old ones.
  ASSERT_TRUE(alice->Send("bob", "m1").ok());
  ASSERT_TRUE(alice->Send("bob", "m2").ok());
  auto failed = Events(*bob);
  ASSERT_EQ(failed.size(), 2u);
  for (const auto& ev : failed) EXPECT_EQ(ev.kind(), pb::AgentEvent::KIND_REJECTED);
  EXPECT_NE(failed[1].detail().find("re-handshaking"), std::string::npos) << failed[1].detail();
  EXPECT_TRUE(Events(*alice).empty());
  auto recovered = Bodies(Events(*bob));
  EXPECT_TRUE(Contains(recovered, "m1") && Contains(recovered, "m2"));
  ASSERT_TRUE(alice->Send("bob", "m3").ok());
  EXPECT_EQ(Bodies(Events(*bob)), std::vector<std::string>{"m3"});
  ASSERT_TRUE(bob->Send("alice", "reply").ok());
  EXPECT_EQ(Bodies(Events(*alice)), std::vector<std::string>{"reply"});
  alice.reset();
  std::filesystem::remove_all(dir_a);
  std::filesystem::remove_all(backup);
}

TEST(AgentRehandshake, OneTamperedMessageDoesNotResetTheSession) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(alice->Send("bob", "x1").ok());
  ASSERT_EQ(Bodies(Events(*bob)).size(), 1u);
  ASSERT_TRUE(bob->Send("alice", "y1").ok());  // from now on alice sends plain signal messages
  ASSERT_EQ(Bodies(Events(*alice)).size(), 1u);
  ASSERT_TRUE(alice->Send("bob", "x2").ok());
  auto envs = hub.Drain("bob");
  ASSERT_EQ(envs.size(), 1u);
  ASSERT_EQ(envs[0].type(), pb::CIPHERTEXT_TYPE_SIGNAL);
  pb::Envelope bad = envs[0];
  (*bad.mutable_ciphertext())[bad.ciphertext().size() / 2] ^= 1;
  hub.Inject(bad);
  auto events = Events(*bob);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind(), pb::AgentEvent::KIND_REJECTED);
  EXPECT_EQ(events[0].detail().find("re-handshaking"), std::string::npos) << events[0].detail();
  hub.Inject(envs[0]);
  EXPECT_EQ(Bodies(Events(*bob)), std::vector<std::string>{"x2"});
  EXPECT_TRUE(Events(*alice).empty());  // no reset request went out
}

}  // namespace
}  // namespace kars::mesh
