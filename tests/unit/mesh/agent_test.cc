// Sessions between agents over an in-process hub: handshake, ordering, duplicates, tampering.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"
#include "tests/unit/mesh/mesh_test_util.h"

namespace kars::mesh {
namespace {

using namespace kars::mesh::testing;  // NOLINT

TEST(Agent, FirstMessageCarriesTheHandshake) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob");
  auto id = alice->Send("bob", "hello bob");
  ASSERT_TRUE(id.ok()) << id.status();
  auto events = Events(*bob);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind(), pb::AgentEvent::KIND_MESSAGE);
  EXPECT_EQ(events[0].peer(), "alice");
  EXPECT_EQ(events[0].body(), "hello bob");
  EXPECT_EQ(events[0].message_id(), *id);
  EXPECT_EQ(events[0].identity_key(), *alice->IdentityKey());
  // Bob replies on the session the first message built; Alice needs no bundle.
  ASSERT_TRUE(bob->Send("alice", "hi alice").ok());
  EXPECT_EQ(Bodies(Events(*alice)), std::vector<std::string>{"hi alice"});
  EXPECT_TRUE(Events(*bob).empty());
}

TEST(Agent, SeveralMessagesBeforeAnyReplyAllDecrypt) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob");
  std::vector<std::string> sent;
  for (int i = 0; i < 5; ++i) {
    sent.push_back(absl::StrCat("m", i));
    ASSERT_TRUE(alice->Send("bob", sent.back()).ok());
  }
  EXPECT_EQ(Bodies(Events(*bob)), sent);
}

TEST(Agent, UnknownRecipientIsNotFound) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto r = alice->Send("nobody", "x");
  EXPECT_EQ(ToCStatus(r.status()), KARS_E_NOT_FOUND);
  EXPECT_EQ(ToCStatus(alice->Send("bad name!", "x").status()), KARS_E_INVALID_ARGUMENT);
}

TEST(Agent, ThousandMessagesOutOfOrderAllDeliveredOnce) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob");
  // Establish the session so that later messages are plain ratchet messages.
  ASSERT_TRUE(alice->Send("bob", "start").ok());
  ASSERT_EQ(Bodies(Events(*bob)).size(), 1u);
  ASSERT_TRUE(bob->Send("alice", "ack").ok());
  ASSERT_EQ(Bodies(Events(*alice)).size(), 1u);
  std::vector<std::string> sent;
  for (int i = 0; i < 1000; ++i) {
    sent.push_back(absl::StrCat("msg-", i));
    ASSERT_TRUE(alice->Send("bob", sent.back()).ok());
  }
  auto envelopes = hub.Drain("bob");
  ASSERT_EQ(envelopes.size(), 1000u);
  std::mt19937 rng(42);
  std::shuffle(envelopes.begin(), envelopes.end(), rng);
  ASSERT_TRUE(bob->Accept(envelopes).ok());
  auto got = Bodies(Events(*bob));
  ASSERT_EQ(got.size(), 1000u);
  std::sort(got.begin(), got.end());
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(got, sent);
}

TEST(Agent, ReplayedEnvelopesAreDuplicatesNotRedelivered) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(alice->Send("bob", "once").ok());
  ASSERT_TRUE(alice->Send("bob", "twice").ok());
  auto captured = hub.Captured();
  ASSERT_EQ(Bodies(Events(*bob)).size(), 2u);
  for (const auto& env : captured) hub.Inject(env);
  // A replay under a fresh message id is caught by the ratchet (and by the sealed id check).
  pb::Envelope relabelled = captured[1];
  relabelled.set_message_id(std::string(16, 'r'));
  hub.Inject(relabelled);
  auto events = Events(*bob);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_TRUE(Bodies(events).empty());
  EXPECT_EQ(events[0].kind(), pb::AgentEvent::KIND_DUPLICATE);
  EXPECT_EQ(events[1].kind(), pb::AgentEvent::KIND_DUPLICATE);
  EXPECT_NE(events[2].kind(), pb::AgentEvent::KIND_MESSAGE);
  // The session still works.
  ASSERT_TRUE(alice->Send("bob", "after").ok());
  EXPECT_EQ(Bodies(Events(*bob)), std::vector<std::string>{"after"});
}

TEST(Agent, TamperedCiphertextRejectedAndSessionKeepsWorking) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(alice->Send("bob", "setup").ok());
  ASSERT_EQ(Bodies(Events(*bob)).size(), 1u);
  ASSERT_TRUE(bob->Send("alice", "setup-reply").ok());
  ASSERT_EQ(Bodies(Events(*alice)).size(), 1u);
  for (size_t bit : {0u, 40u, 200u, 500u}) {
    ASSERT_TRUE(alice->Send("bob", "secret").ok());
    auto envs = hub.Drain("bob");
    ASSERT_EQ(envs.size(), 1u);
    pb::Envelope original = envs[0];
    std::string ct = original.ciphertext();
    ct[(bit / 8) % ct.size()] ^= static_cast<char>(1 << (bit % 8));
    pb::Envelope tampered = original;
    tampered.set_ciphertext(ct);
    hub.Inject(tampered);
    auto events = Events(*bob);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind(), pb::AgentEvent::KIND_REJECTED) << bit;
    EXPECT_NE(events[0].status(), KARS_OK);
    // The untouched original still decrypts: nothing was lost and the session is intact.
    hub.Inject(original);
    EXPECT_EQ(Bodies(Events(*bob)), std::vector<std::string>{"secret"}) << bit;
  }
}

TEST(Agent, CallbackFailureKeepsEventForNextReceive) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(alice->Send("bob", "a").ok());
  ASSERT_TRUE(alice->Send("bob", "b").ok());
  int calls = 0;
  auto r = bob->Receive(absl::ZeroDuration(), [&](const pb::AgentEvent&) { return ++calls == 2; });
  EXPECT_EQ(ToCStatus(r.status()), KARS_E_CALLBACK);
  EXPECT_EQ(Bodies(Events(*bob)), std::vector<std::string>{"b"});
}

TEST(Agent, StateSurvivesReopen) {
  LoopbackHub hub;
  std::string dir_a = TempDir(), dir_b = TempDir();
  auto alice = MakeAgent(hub, "alice", dir_a);
  {
    auto bob = MakeAgent(hub, "bob", dir_b);
    ASSERT_TRUE(alice->Send("bob", "one").ok());
    ASSERT_EQ(Bodies(Events(*bob)).size(), 1u);
    ASSERT_TRUE(alice->Send("bob", "two").ok());
    // Bob receives "two" into his inbox but the host crashes before taking it.
    auto r = bob->Receive(absl::ZeroDuration(), [](const pb::AgentEvent&) { return 1; });
    EXPECT_EQ(ToCStatus(r.status()), KARS_E_CALLBACK);
  }
  auto bob = Agent::Open(dir_b, "bob", AgentOptions());
  ASSERT_TRUE(bob.ok()) << bob.status();
  ASSERT_TRUE((*bob)->Attach(hub.Connect("bob")).ok());
  EXPECT_EQ(Bodies(Events(**bob)), std::vector<std::string>{"two"});
  ASSERT_TRUE(alice->Send("bob", "three").ok());
  EXPECT_EQ(Bodies(Events(**bob)), std::vector<std::string>{"three"});
  EXPECT_EQ(ToCStatus(Agent::Open(dir_b, "bob", AgentOptions()).status()), KARS_E_PRECONDITION);
  bob->reset();
  EXPECT_EQ(ToCStatus(Agent::Open(dir_b, "mallory", AgentOptions()).status()),
            KARS_E_INVALID_ARGUMENT);
  std::filesystem::remove_all(dir_a);
  std::filesystem::remove_all(dir_b);
}

TEST(Agent, ThreeAgentsTalkPairwise) {
  LoopbackHub hub;
  auto a = MakeAgent(hub, "a"), b = MakeAgent(hub, "b"), c = MakeAgent(hub, "c");
  ASSERT_TRUE(a->Send("b", "a->b").ok());
  ASSERT_TRUE(a->Send("c", "a->c").ok());
  ASSERT_TRUE(b->Send("c", "b->c").ok());
  EXPECT_EQ(Bodies(Events(*b)), std::vector<std::string>{"a->b"});
  EXPECT_EQ(Bodies(Events(*c)), (std::vector<std::string>{"a->c", "b->c"}));
}

TEST(Agent, NoPlaintextInAnythingTheHubSaw) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob");
  const std::string secret = "the-launch-code-is-0000";
  ASSERT_TRUE(alice->Send("bob", secret).ok());
  ASSERT_TRUE(alice->Send("bob", secret + "-and-a-longer-tail").ok());
  auto captured = hub.Captured();
  ASSERT_EQ(captured.size(), 2u);
  for (const auto& env : captured) {
    EXPECT_EQ(env.SerializeAsString().find("launch-code"), std::string::npos);
  }
  // Padding: two bodies of different length in one bucket give equal ciphertext lengths.
  EXPECT_EQ(captured[0].ciphertext().size(), captured[1].ciphertext().size());
  EXPECT_EQ(Bodies(Events(*bob)).size(), 2u);
}

TEST(AgentRehandshake, LostSessionRecoversWithoutLosingMessages) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(alice->Send("bob", "setup").ok());
  ASSERT_EQ(Bodies(Events(*bob)).size(), 1u);
  ASSERT_TRUE(bob->Send("alice", "setup reply").ok());
  ASSERT_EQ(Bodies(Events(*alice)).size(), 1u);
  // Bob loses his session (say, restored from an old backup); alice does not know.
  ASSERT_TRUE(bob->ResetSession("alice").ok());
  ASSERT_TRUE(alice->Send("bob", "m1").ok());
  ASSERT_TRUE(alice->Send("bob", "m2").ok());
  auto failed = Events(*bob);
  ASSERT_EQ(failed.size(), 2u);
  for (const auto& ev : failed) {
    EXPECT_EQ(ev.kind(), pb::AgentEvent::KIND_REJECTED);
    EXPECT_NE(ev.detail().find("re-handshaking"), std::string::npos) << ev.detail();
  }
  // Bob's reset (a prekey message) reaches alice, who resends on the new session; what bob had
  // already delivered comes back as duplicates only.
  EXPECT_TRUE(Events(*alice).empty());
  auto recovered = Events(*bob);
  EXPECT_EQ(Bodies(recovered), (std::vector<std::string>{"m1", "m2"}));
  int duplicates = 0;
  for (const auto& ev : recovered) duplicates += ev.kind() == pb::AgentEvent::KIND_DUPLICATE;
  EXPECT_EQ(duplicates, 1);  // "setup"
  // Both directions work on the new session.
  ASSERT_TRUE(alice->Send("bob", "m3").ok());
  EXPECT_EQ(Bodies(Events(*bob)), std::vector<std::string>{"m3"});
  ASSERT_TRUE(bob->Send("alice", "back").ok());
  EXPECT_EQ(Bodies(Events(*alice)), std::vector<std::string>{"back"});
}

}  // namespace
}  // namespace kars::mesh
