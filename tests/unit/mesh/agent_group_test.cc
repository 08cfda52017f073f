// Sender-key groups over the in-process hub: one ciphertext per group message, membership owned
// by the creator, removal rotating keys so that a removed member reads nothing sent afterwards.
#include <gtest/gtest.h>

#include "libkars/base/status.h"
#include "tests/unit/mesh/mesh_test_util.h"

namespace kars::mesh {
namespace {

using namespace kars::mesh::testing;  // NOLINT

// Lets every agent process what is waiting (and send the control it produces) a few times, so
// that group updates and sender keys have settled.
// Rejections are collected as "group:REJECTED" in *got when given, else they fail the test.
void Settle(std::vector<Agent*> agents, std::map<std::string, std::vector<std::string>>* got) {
  for (int round = 0; round < 4; ++round) {
    for (Agent* a : agents) {
      auto events = Events(*a);
      for (const auto& ev : events) {
        if (ev.kind() == pb::AgentEvent::KIND_REJECTED) {
          if (got == nullptr)
            ADD_FAILURE() << a->name() << ": " << ev.detail();
          else
            (*got)[a->name()].push_back(ev.group_id() + ":REJECTED " + ev.detail());
        }
        if (ev.kind() == pb::AgentEvent::KIND_MESSAGE && got != nullptr) {
          (*got)[a->name()].push_back(ev.group_id() + ":" + ev.body());
        }
      }
    }
  }
}

TEST(AgentGroup, OneCiphertextReachesEveryMember) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice"), bob = MakeAgent(hub, "bob"),
       carol = MakeAgent(hub, "carol");
  ASSERT_TRUE(alice->CreateGroup("team", {"bob", "carol"}).ok());
  Settle({bob.get(), carol.get(), alice.get()}, nullptr);
  size_t before = hub.Captured().size();
  ASSERT_TRUE(alice->SendGroup("team", "hello team").ok());
  auto sent = hub.Captured();
  // Two mailbox copies of one ciphertext: the relay fanned it out, alice encrypted once.
  ASSERT_EQ(sent.size(), before + 2);
  EXPECT_EQ(sent[before].ciphertext(), sent[before + 1].ciphertext());
  EXPECT_EQ(sent[before].type(), pb::CIPHERTEXT_TYPE_SENDER_KEY);
  std::map<std::string, std::vector<std::string>> got;
  Settle({bob.get(), carol.get()}, &got);
  EXPECT_EQ(got["bob"], std::vector<std::string>{"team:hello team"});
  EXPECT_EQ(got["carol"], std::vector<std::string>{"team:hello team"});
  // Members send too, with their own sender keys.
  ASSERT_TRUE(carol->SendGroup("team", "carol here").ok());
  got.clear();
  Settle({alice.get(), bob.get()}, &got);
  EXPECT_EQ(got["alice"], std::vector<std::string>{"team:carol here"});
  EXPECT_EQ(got["bob"], std::vector<std::string>{"team:carol here"});
  EXPECT_EQ(*bob->GroupMembers("team"), (std::vector<std::string>{"alice", "bob", "carol"}));
}

TEST(AgentGroup, RemovedMemberCannotReadLaterMessages) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice"), bob = MakeAgent(hub, "bob"),
       carol = MakeAgent(hub, "carol");
  ASSERT_TRUE(alice->CreateGroup("team", {"bob", "carol"}).ok());
  Settle({bob.get(), carol.get(), alice.get()}, nullptr);
  ASSERT_TRUE(alice->SendGroup("team", "before").ok());
  ASSERT_TRUE(bob->SendGroup("team", "bob before").ok());
  std::map<std::string, std::vector<std::string>> got;
  Settle({carol.get()}, &got);
  ASSERT_EQ(got["carol"].size(), 2u);

  // A carol who keeps her old keys: she never sees the removal (her mailbox is drained).
  ASSERT_TRUE(alice->RemoveGroupMember("team", "carol").ok());
  auto to_carol = hub.Drain("carol");
  EXPECT_FALSE(to_carol.empty());
  Settle({bob.get(), alice.get()}, nullptr);  // bob rotates his key too
  EXPECT_EQ(*alice->GroupMembers("team"), (std::vector<std::string>{"alice", "bob"}));
  size_t before = hub.Captured().size();
  ASSERT_TRUE(alice->SendGroup("team", "after").ok());
  ASSERT_TRUE(bob->SendGroup("team", "bob after").ok());
  auto captured = hub.Captured();
  std::vector<pb::Envelope> group_msgs;
  for (size_t i = before; i < captured.size(); ++i) {
    if (captured[i].type() == pb::CIPHERTEXT_TYPE_SENDER_KEY) group_msgs.push_back(captured[i]);
  }
  // The relay no longer stores them for carol; even handed them, she cannot read them.
  for (const auto& e : group_msgs) EXPECT_NE(e.recipient(), "carol");
  for (auto e : group_msgs) {
    e.set_recipient("carol");
    hub.Inject(e);
  }
  got.clear();
  Settle({carol.get(), bob.get(), alice.get()}, &got);
  ASSERT_EQ(got["carol"].size(), 2u);  // both rejected: the keys they use were never hers
  for (const auto& g : got["carol"]) EXPECT_EQ(g.rfind("team:REJECTED", 0), 0u) << g;
  EXPECT_EQ(got["bob"], std::vector<std::string>{"team:after"});
  EXPECT_EQ(got["alice"], std::vector<std::string>{"team:bob after"});
}

TEST(AgentGroup, AddedMemberReadsFromNowOn) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice"), bob = MakeAgent(hub, "bob"), dave = MakeAgent(hub, "dave");
  ASSERT_TRUE(alice->CreateGroup("g", {"bob"}).ok());
  Settle({bob.get(), alice.get()}, nullptr);
  ASSERT_TRUE(alice->AddGroupMember("g", "dave").ok());
  Settle({bob.get(), dave.get(), alice.get()}, nullptr);
  ASSERT_TRUE(bob->SendGroup("g", "welcome dave").ok());
  std::map<std::string, std::vector<std::string>> got;
  Settle({dave.get(), alice.get()}, &got);
  EXPECT_EQ(got["dave"], std::vector<std::string>{"g:welcome dave"});
  EXPECT_EQ(got["alice"], std::vector<std::string>{"g:welcome dave"});
}

TEST(AgentGroup, OnlyTheOwnerChangesMembership) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice"), bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(alice->CreateGroup("g", {"bob"}).ok());
  Settle({bob.get()}, nullptr);
  EXPECT_EQ(ToCStatus(bob->AddGroupMember("g", "mallory")), KARS_E_DENIED);
  EXPECT_EQ(ToCStatus(bob->RemoveGroupMember("g", "alice")), KARS_E_DENIED);
  EXPECT_EQ(ToCStatus(alice->CreateGroup("g", {})), KARS_E_EXISTS);
  EXPECT_EQ(ToCStatus(alice->AddGroupMember("g", "bob")), KARS_E_EXISTS);
  EXPECT_EQ(ToCStatus(alice->RemoveGroupMember("g", "zed")), KARS_E_NOT_FOUND);
  EXPECT_EQ(ToCStatus(alice->SendGroup("nope", "x").status()), KARS_E_NOT_FOUND);
}

}  // namespace
}  // namespace kars::mesh
