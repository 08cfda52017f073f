// Agent: trust of peer identities. A changed identity key blocks the peer (its messages are held,
// sends to it are refused) until the host approves or rejects the change, by calling
// ApproveIdentity / RejectIdentity or through a decider consulted on receive and send.
#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"
#include "libkars/mesh/agent.h"
#include "libkars/mesh/keys.h"
#include "libkars/mesh/store_keys.h"

namespace kars::mesh {

namespace pb = kars::v1::mesh;

absl::Status Agent::ApproveIdentity(const std::string& peer) {
  kars::MutexLock l(&mu_);
  auto pending = store_->Get(Ns::kPendingIdentity, peer);
  if (!pending) {
    return absl::NotFoundError(absl::StrCat("no changed identity of '", peer, "' awaits approval"));
  }
  StoreTxn txn(*store_);
  if (absl::Status s = store_->Put(Ns::kIdentity, peer, *pending); !s.ok()) return s;
  if (auto r = store_->Delete(Ns::kPendingIdentity, peer); !r.ok()) return r.status();
  // The old session belongs to the old key; the next exchange handshakes afresh.
  signal_protocol_session_delete_all_sessions(env_->stores(), peer.data(), peer.size());
  const std::string prefix = PeerPrefix(peer);
  bool used_prekey = false;
  for (const auto& [k, v] : store_->List(Ns::kHeld)) {
    if (k.compare(0, prefix.size(), prefix) != 0) continue;
    pb::Envelope env;
    if (!env.ParseFromString(v)) return TamperedError("agent store holds an unreadable envelope");
    if (auto r = store_->Delete(Ns::kHeld, k); !r.ok()) return r.status();
    if (absl::Status s = ProcessLocked(env, &used_prekey); !s.ok()) return s;
  }
  return txn.Commit();
}

absl::StatusOr<std::string> Agent::PeerIdentityKey(const std::string& peer, bool pending) {
  kars::MutexLock l(&mu_);
  auto key = store_->Get(pending ? Ns::kPendingIdentity : Ns::kIdentity, peer);
  if (!key) {
    return absl::NotFoundError(
        absl::StrCat(pending ? "no changed identity of '" : "no identity of '", peer,
                     pending ? "' awaits approval" : "' is known yet"));
  }
  return *key;
}

absl::StatusOr<std::string> Agent::SafetyNumber(const std::string& peer, bool pending) {
  auto key = PeerIdentityKey(peer, pending);
  if (!key.ok()) return key.status();
  kars::MutexLock l(&mu_);
  return kars::mesh::SafetyNumber(*env_, name_, peer, *key);
}

absl::StatusOr<std::string> Agent::IdentityKey() {
  kars::MutexLock l(&mu_);
  return IdentityPublicKey(*env_);
}

absl::Status Agent::RejectIdentity(const std::string& peer) {
  kars::MutexLock l(&mu_);
  if (!store_->Contains(Ns::kPendingIdentity, peer)) {
    return absl::NotFoundError(absl::StrCat("no changed identity of '", peer, "' awaits approval"));
  }
  StoreTxn txn(*store_);
  if (auto r = store_->Delete(Ns::kPendingIdentity, peer); !r.ok()) return r.status();
  // The old key stays pinned. What the new key sent is dropped, each with a report, so that the
  // host knows what it refused.
  const std::string prefix = PeerPrefix(peer);
  for (const auto& [k, v] : store_->List(Ns::kHeld)) {
    if (k.compare(0, prefix.size(), prefix) != 0) continue;
    pb::Envelope env;
    if (!env.ParseFromString(v)) return TamperedError("agent store holds an unreadable envelope");
    if (auto r = store_->Delete(Ns::kHeld, k); !r.ok()) return r.status();
    pb::AgentEvent ev;
    ev.set_kind(pb::AgentEvent::KIND_REJECTED);
    ev.set_peer(peer);
    ev.set_message_id(env.message_id());
    ev.set_status(KARS_E_DENIED);
    ev.set_detail(absl::StrCat("the changed identity key of '", peer,
                               "' was rejected; its message was dropped unread"));
    if (absl::Status s = AddEvent(ev); !s.ok()) return s;
  }
  return txn.Commit();
}

void Agent::SetIdentityDecider(IdentityDecider decider) {
  kars::MutexLock l(&decider_mu_);
  decider_ = std::move(decider);
}

absl::Status Agent::ReviewIdentities() {
  IdentityDecider decider;
  {
    kars::MutexLock l(&decider_mu_);
    decider = decider_;
  }
  if (!decider) return absl::OkStatus();
  std::vector<IdentityChange> changes;
  {
    kars::MutexLock l(&mu_);
    for (const auto& [peer, key] : store_->List(Ns::kPendingIdentity)) {
      IdentityChange c;
      c.peer = peer;
      c.new_key = key;
      if (const std::string* old = store_->Find(Ns::kIdentity, peer)) c.old_key = *old;
      auto sn = kars::mesh::SafetyNumber(*env_, name_, peer, key);
      if (!sn.ok()) return sn.status();
      c.safety_number = std::move(*sn);
      changes.push_back(std::move(c));
    }
  }
  // The decider runs with no agent lock held.
  for (const auto& c : changes) {
    auto decision = decider(c);
    if (!decision.ok()) return decision.status();
    absl::Status s;
    if (*decision == IdentityDecision::kApprove) s = ApproveIdentity(c.peer);
    if (*decision == IdentityDecision::kReject) s = RejectIdentity(c.peer);
    // Decided meanwhile by a direct call: nothing left to do.
    if (!s.ok() && ToCStatus(s) != KARS_E_NOT_FOUND) return s;
  }
  return absl::OkStatus();
}

}  // namespace kars::mesh
