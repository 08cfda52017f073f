// Trust on first use, pinning, identity changes, safety numbers, bundle validation.
#include <gtest/gtest.h>

#include <set>

#include "libkars/base/status.h"
#include "libkars/mesh/keys.h"
#include "tests/unit/mesh/mesh_test_util.h"

namespace kars::mesh {
namespace {

using namespace kars::mesh::testing;  // NOLINT

TEST(AgentTrust, SafetyNumbersAgreeOnBothSides) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob");
  EXPECT_EQ(ToCStatus(alice->SafetyNumber("bob").status()), KARS_E_NOT_FOUND);
  ASSERT_TRUE(alice->Send("bob", "hi").ok());
  ASSERT_EQ(Bodies(Events(*bob)).size(), 1u);
  auto a = alice->SafetyNumber("bob");
  auto b = bob->SafetyNumber("alice");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->size(), 60u);
  EXPECT_EQ(*a, *b);
  auto carol = MakeAgent(hub, "carol");
  ASSERT_TRUE(carol->Send("bob", "hi").ok());
  ASSERT_EQ(Bodies(Events(*bob)).size(), 1u);
  EXPECT_NE(*bob->SafetyNumber("carol"), *b);
}

TEST(AgentTrust, IdentityChangeBlocksUntilApproved) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(bob->Send("alice", "old bob").ok());
  ASSERT_EQ(Bodies(Events(*alice)).size(), 1u);
  const std::string old_number = *alice->SafetyNumber("bob");

  bob.reset();  // bob reinstalls: a new identity under the same name
  auto new_bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(new_bob->Send("alice", "new bob 1").ok());
  ASSERT_TRUE(new_bob->Send("alice", "new bob 2").ok());
  auto events = Events(*alice);
  ASSERT_EQ(events.size(), 1u);  // one report; both messages held, none delivered
  EXPECT_EQ(events[0].kind(), pb::AgentEvent::KIND_IDENTITY_CHANGED);
  EXPECT_EQ(events[0].identity_key(), *new_bob->IdentityKey());
  EXPECT_TRUE(Events(*alice).empty());
  // Sending to a blocked peer is refused; the trusted key is still the old one.
  EXPECT_EQ(ToCStatus(alice->Send("bob", "x").status()), KARS_E_DENIED);
  EXPECT_EQ(*alice->SafetyNumber("bob"), old_number);
  auto pending = alice->SafetyNumber("bob", /*pending=*/true);
  ASSERT_TRUE(pending.ok());
  EXPECT_NE(*pending, old_number);

  ASSERT_TRUE(alice->ApproveIdentity("bob").ok());
  EXPECT_EQ(ToCStatus(alice->ApproveIdentity("bob")), KARS_E_NOT_FOUND);
  EXPECT_EQ(Bodies(Events(*alice)), (std::vector<std::string>{"new bob 1", "new bob 2"}));
  EXPECT_EQ(*alice->SafetyNumber("bob"), *pending);
  ASSERT_TRUE(alice->Send("bob", "welcome back").ok());
  EXPECT_EQ(Bodies(Events(*new_bob)), std::vector<std::string>{"welcome back"});
}

TEST(AgentTrust, SenderSideIdentityChangeIsDenied) {
  LoopbackHub hub;
  auto carol = MakeAgent(hub, "carol");
  auto bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(bob->Send("carol", "hi").ok());
  ASSERT_EQ(Bodies(Events(*carol)).size(), 1u);  // carol pinned bob's key
  bob.reset();
  auto new_bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(new_bob->Send("carol", "new").ok());
  ASSERT_EQ(Events(*carol)[0].kind(), pb::AgentEvent::KIND_IDENTITY_CHANGED);
  auto r = carol->Send("bob", "x");
  EXPECT_EQ(ToCStatus(r.status()), KARS_E_DENIED);
  EXPECT_NE(r.status().message().find("approve"), absl::string_view::npos);
}

TEST(AgentTrust, AcceptAndReportModeFlagsTheChange) {
  LoopbackHub hub;
  AgentOptions accept;
  accept.trust = TrustMode::kAcceptAndReport;
  auto alice = MakeAgent(hub, "alice", "", accept);
  auto bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(bob->Send("alice", "old").ok());
  auto first = Events(*alice);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_FALSE(first[0].identity_changed());
  bob.reset();
  auto new_bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(new_bob->Send("alice", "new").ok());
  auto events = Events(*alice);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind(), pb::AgentEvent::KIND_MESSAGE);
  EXPECT_EQ(events[0].body(), "new");
  EXPECT_TRUE(events[0].identity_changed());
  EXPECT_EQ(events[0].identity_key(), *new_bob->IdentityKey());
}

TEST(AgentTrust, BundleWithBadSignatureIsTampered) {
  LoopbackHub hub;
  auto bob = MakeAgent(hub, "bob");
  auto alice = Agent::Open("", "alice", AgentOptions());
  ASSERT_TRUE(alice.ok());
  // A relay that swaps the signed prekey for another key keeps the old signature.
  auto bundle = hub.Connect("alice")->FetchBundle("bob");
  ASSERT_TRUE(bundle.ok());
  pb::PreKeyBundle forged = *bundle;
  std::string sig = forged.signed_prekey_signature();
  sig[10] ^= 1;
  forged.set_signed_prekey_signature(sig);
  auto store = LocalStore::Open("");
  ASSERT_TRUE(store.ok());
  auto signal = SignalEnv::Create(store->get(), TrustMode::kBlockUntilApproved);
  ASSERT_TRUE(signal.ok());
  ASSERT_TRUE(EnsureIdentity(**signal, "alice", 0).ok());
  absl::Status s = ProcessBundle(**signal, forged);
  EXPECT_EQ(ToCStatus(s), KARS_E_TAMPERED) << s;
  EXPECT_NE(s.message().find("signature"), absl::string_view::npos);
  pb::PreKeyBundle garbage = *bundle;
  garbage.set_identity_key("short");
  EXPECT_EQ(ToCStatus(ProcessBundle(**signal, garbage)), KARS_E_INVALID_ARGUMENT);
  EXPECT_TRUE(ProcessBundle(**signal, *bundle).ok());
}

TEST(AgentTrust, SignedPreKeyRotatesAndOldOneExpires) {
  auto store = LocalStore::Open("");
  ASSERT_TRUE(store.ok());
  auto signal = SignalEnv::Create(store->get(), TrustMode::kBlockUntilApproved);
  ASSERT_TRUE(signal.ok());
  ASSERT_TRUE(EnsureIdentity(**signal, "a", 1000).ok());
  KeyPolicy policy;
  policy.signed_prekey_rotate_s = 100;
  policy.signed_prekey_keep_s = 50;
  EXPECT_FALSE(*MaintainSignedPreKey(**signal, policy, 1050));
  EXPECT_TRUE(*MaintainSignedPreKey(**signal, policy, 1100));
  EXPECT_EQ((*store)->Count(Ns::kSignedPreKey), 2u);  // previous kept for in-flight handshakes
  EXPECT_EQ(PublicKeys(**signal)->signed_prekey_id(), 2u);
  EXPECT_FALSE(*MaintainSignedPreKey(**signal, policy, 1149));
  EXPECT_EQ((*store)->Count(Ns::kSignedPreKey), 2u);
  EXPECT_FALSE(*MaintainSignedPreKey(**signal, policy, 1150));
  EXPECT_EQ((*store)->Count(Ns::kSignedPreKey), 1u);
}

TEST(AgentTrust, PreKeyPoolIsReplenished) {
  LoopbackHub hub;
  AgentOptions opts;
  opts.keys.prekey_pool = 10;
  opts.keys.prekey_low_water = 5;
  auto bob = MakeAgent(hub, "bob", "", opts);
  auto fetcher = hub.Connect("x");
  std::set<uint32_t> ids;
  for (int i = 0; i < 6; ++i) ids.insert(fetcher->FetchBundle("bob")->one_time_prekey().id());
  EXPECT_EQ(ids.size(), 6u);  // each fetch consumed a distinct one-time prekey
  ASSERT_TRUE(bob->MaintainKeys().ok());
  int with_prekey = 0;
  for (int i = 0; i < 10; ++i) {
    if (fetcher->FetchBundle("bob")->one_time_prekey().id() != 0) ++with_prekey;
  }
  EXPECT_EQ(with_prekey, 10);
}

TEST(AgentTrust, RejectedIdentityDropsHeldMessagesWithReport) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(bob->Send("alice", "old bob").ok());
  ASSERT_EQ(Bodies(Events(*alice)).size(), 1u);
  const std::string old_key = *alice->PeerIdentityKey("bob");
  bob.reset();
  auto impostor = MakeAgent(hub, "bob");
  ASSERT_TRUE(impostor->Send("alice", "trust me 1").ok());
  ASSERT_TRUE(impostor->Send("alice", "trust me 2").ok());
  ASSERT_EQ(Events(*alice).size(), 1u);  // IDENTITY_CHANGED
  ASSERT_TRUE(alice->RejectIdentity("bob").ok());
  EXPECT_EQ(ToCStatus(alice->RejectIdentity("bob")), KARS_E_NOT_FOUND);
  auto events = Events(*alice);
  ASSERT_EQ(events.size(), 2u);  // one report per dropped message, no body
  for (const auto& ev : events) {
    EXPECT_EQ(ev.kind(), pb::AgentEvent::KIND_REJECTED);
    EXPECT_EQ(ev.status(), KARS_E_DENIED);
    EXPECT_TRUE(ev.body().empty());
  }
  EXPECT_EQ(*alice->PeerIdentityKey("bob"), old_key);  // still pinned
  EXPECT_TRUE(Events(*alice).empty());
}

TEST(AgentTrust, DeciderSeesBothKeysAndSettlesDuringReceive) {
  LoopbackHub hub;
  auto alice = MakeAgent(hub, "alice");
  auto bob = MakeAgent(hub, "bob");
  ASSERT_TRUE(bob->Send("alice", "old bob").ok());
  ASSERT_EQ(Bodies(Events(*alice)).size(), 1u);
  const std::string old_key = *bob->IdentityKey();
  bob.reset();
  auto new_bob = MakeAgent(hub, "bob");
  std::vector<IdentityChange> asked;
  IdentityDecision answer = IdentityDecision::kDefer;
  alice->SetIdentityDecider([&](const IdentityChange& c) -> absl::StatusOr<IdentityDecision> {
    asked.push_back(c);
    return answer;
  });
  ASSERT_TRUE(new_bob->Send("alice", "new bob").ok());
  auto events = Events(*alice);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind(), pb::AgentEvent::KIND_IDENTITY_CHANGED);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].peer, "bob");
  EXPECT_EQ(asked[0].old_key, old_key);
  EXPECT_EQ(asked[0].new_key, *new_bob->IdentityKey());
  EXPECT_EQ(asked[0].safety_number, *alice->SafetyNumber("bob", /*pending=*/true));
  // A failing decider aborts the call and loses nothing.
  alice->SetIdentityDecider([](const IdentityChange&) -> absl::StatusOr<IdentityDecision> {
    return CallbackError("policy engine unavailable");
  });
  auto r = alice->Receive(absl::ZeroDuration(), [](const pb::AgentEvent&) { return 0; });
  EXPECT_EQ(ToCStatus(r.status()), KARS_E_CALLBACK);
  alice->SetIdentityDecider([&](const IdentityChange& c) -> absl::StatusOr<IdentityDecision> {
    asked.push_back(c);
    return answer;
  });
  answer = IdentityDecision::kApprove;
  EXPECT_EQ(Bodies(Events(*alice)), std::vector<std::string>{"new bob"});
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_TRUE(Events(*alice).empty());
  EXPECT_EQ(asked.size(), 2u);  // nothing pending: not asked again
}

}  // namespace
}  // namespace kars::mesh
