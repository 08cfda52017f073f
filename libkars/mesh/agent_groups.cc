// Agent: sender-key groups. Membership changes and sender keys travel as control payloads over
// the pairwise sessions, through the durable outbox; group messages are one ciphertext fanned
// out by the relay.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libkars/base/status.h"
#include "libkars/mesh/agent.h"
#include "libkars/mesh/group_session.h"
#include "libkars/mesh/payload.h"
#include "libkars/mesh/store_keys.h"

namespace kars::mesh {

namespace pb = kars::v1::mesh;

namespace {

absl::Status NoTransport() {
  return MakeStatus(KARS_E_PRECONDITION, "agent is not connected to a relay");
}

absl::StatusOr<pb::GroupRecord> LoadGroup(LocalStore& store, const std::string& group) {
  auto bytes = store.Get(Ns::kGroup, group);
  if (!bytes) return absl::NotFoundError(absl::StrCat("no group '", group, "'"));
  pb::GroupRecord record;
  if (!record.ParseFromString(*bytes))
    return TamperedError("agent store holds an unreadable group");
  return record;
}

bool IsMember(const pb::GroupRecord& record, const std::string& name) {
  return std::find(record.members().begin(), record.members().end(), name) !=
         record.members().end();
}

std::vector<std::string> Others(const pb::GroupRecord& record, const std::string& self) {
  std::vector<std::string> out;
  for (const auto& m : record.members()) {
    if (m != self) out.push_back(m);
  }
  return out;
}

}  // namespace

absl::Status Agent::EnqueueLocked(const std::string& peer, pb::Payload payload, bool keep_id) {
  if (!keep_id) {
    auto id = NewMessageId();
    if (!id.ok()) return id.status();
    payload.set_message_id(*id);
    payload.set_sent_at_ms(absl::ToUnixMillis(absl::Now()));
  }
  auto seq = store_->Get(Ns::kMeta, kMetaOutboxSeq);
  uint64_t next = seq ? DecodeU64(*seq) + 1 : 1;
  if (absl::Status s = store_->Put(Ns::kMeta, kMetaOutboxSeq, EncodeU64(next)); !s.ok()) return s;
  return store_->Put(Ns::kOutbox, EncodeU64(next), PeerPrefix(peer) + payload.SerializeAsString());
}

absl::Status Agent::DistributeLocked(const std::string& group, const std::vector<std::string>& to) {
  if (to.empty()) return absl::OkStatus();
  auto dist = SenderKeyDistribution(*env_, group, name_);
  if (!dist.ok()) return dist.status();
  for (const auto& peer : to) {
    pb::Payload p;
    p.set_group_id(group);
    p.set_sender_key_distribution(*dist);
    if (absl::Status s = EnqueueLocked(peer, std::move(p)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Agent::UpdateMembersLocked(const std::string& group,
                                        const std::vector<std::string>& notify,
                                        const pb::GroupRecord& record) {
  if (absl::Status s = store_->Put(Ns::kGroup, group, record.SerializeAsString()); !s.ok()) {
    return s;
  }
  for (const auto& peer : notify) {
    pb::Payload p;
    p.mutable_group_update()->set_group_id(group);
    *p.mutable_group_update()->mutable_members() = record.members();
    if (absl::Status s = EnqueueLocked(peer, std::move(p)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Agent::FlushOutbox() {
  // Queued payloads go out in batches: one relay stream carries a whole batch (a group change
  // queues one payload per member).
  constexpr size_t kBatch = 256;
  kars::MutexLock send_lock(&send_mu_);
  for (;;) {
    std::shared_ptr<Transport> transport;
    std::vector<std::string> keys;
    std::vector<pb::SendRequest> requests;
    {
      kars::MutexLock l(&mu_);
      if (!transport_) return NoTransport();
      transport = transport_;
      auto entries = store_->List(Ns::kOutbox);
      if (entries.empty()) return absl::OkStatus();
      for (const auto& [key, v] : entries) {
        if (requests.size() >= kBatch) break;
        size_t nul = v.find('\0');
        pb::Payload payload;
        if (nul == std::string::npos || !payload.ParseFromString(v.substr(nul + 1))) {
          return TamperedError("agent outbox holds an unreadable entry");
        }
        auto sealed = SealForPeerLocked(v.substr(0, nul), payload);
        if (!sealed.ok()) {
          kars_status code = ToCStatus(sealed.status());
          if (code != KARS_E_NOT_FOUND && code != KARS_E_TAMPERED && code != KARS_E_DENIED) {
            if (requests.empty()) return sealed.status();  // transient: keep it queued
            break;  // send what is sealed; this one stays queued for the next flush
          }
          // A peer that does not exist or cannot be trusted never will be by retrying.
          if (auto r = store_->Delete(Ns::kOutbox, key); !r.ok()) return r.status();
          continue;
        }
        keys.push_back(key);
        *requests.emplace_back().mutable_envelope() = std::move(*sealed);
      }
    }
    if (requests.empty()) continue;  // every entry listed was dropped: look again
    std::vector<absl::Status> sent = TransmitMany(*transport, requests);
    absl::Status first_error;
    kars::MutexLock l(&mu_);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!sent[i].ok()) {
        if (first_error.ok()) first_error = sent[i];
        continue;  // stays queued
      }
      if (auto r = store_->Delete(Ns::kOutbox, keys[i]); !r.ok()) return r.status();
    }
    if (!first_error.ok()) return first_error;
  }
}

absl::Status Agent::CreateGroup(const std::string& group, const std::vector<std::string>& members) {
  if (absl::Status s = ValidateName(group, "group id"); !s.ok()) return s;
  pb::GroupRecord record;
  record.set_owner(name_);
  record.add_members(name_);
  std::set<std::string> seen = {name_};
  for (const auto& m : members) {
    if (absl::Status s = ValidateName(m, "group member"); !s.ok()) return s;
    if (seen.insert(m).second) record.add_members(m);
  }
  {
    kars::MutexLock l(&mu_);
    if (store_->Contains(Ns::kGroup, group)) {
      return MakeStatus(KARS_E_EXISTS, absl::StrCat("group '", group, "' exists already"));
    }
    StoreTxn txn(*store_);
    auto others = Others(record, name_);
    if (absl::Status s = UpdateMembersLocked(group, others, record); !s.ok()) return s;
    if (absl::Status s = DistributeLocked(group, others); !s.ok()) return s;
    if (absl::Status s = txn.Commit(); !s.ok()) return s;
  }
  return FlushOutbox();
}

absl::Status Agent::AddGroupMember(const std::string& group, const std::string& member) {
  if (absl::Status s = ValidateName(member, "group member"); !s.ok()) return s;
  {
    kars::MutexLock l(&mu_);
    auto record = LoadGroup(*store_, group);
    if (!record.ok()) return record.status();
    if (record->owner() != name_) {
      return MakeStatus(KARS_E_DENIED, absl::StrCat("only the owner '", record->owner(),
                                                    "' changes the members of '", group, "'"));
    }
    if (IsMember(*record, member)) {
      return MakeStatus(KARS_E_EXISTS, absl::StrCat("'", member, "' is in '", group, "' already"));
    }
    record->add_members(member);
    StoreTxn txn(*store_);
    if (absl::Status s = UpdateMembersLocked(group, Others(*record, name_), *record); !s.ok()) {
      return s;
    }
    if (absl::Status s = DistributeLocked(group, {member}); !s.ok()) return s;
    if (absl::Status s = txn.Commit(); !s.ok()) return s;
  }
  return FlushOutbox();
}

absl::Status Agent::RemoveGroupMember(const std::string& group, const std::string& member) {
  {
    kars::MutexLock l(&mu_);
    auto record = LoadGroup(*store_, group);
    if (!record.ok()) return record.status();
    if (record->owner() != name_) {
      return MakeStatus(KARS_E_DENIED, absl::StrCat("only the owner '", record->owner(),
                                                    "' changes the members of '", group, "'"));
    }
    if (member == name_) {
      return absl::InvalidArgumentError("the owner cannot remove itself from its group");
    }
    if (!IsMember(*record, member)) {
      return absl::NotFoundError(absl::StrCat("'", member, "' is not in '", group, "'"));
    }
    pb::GroupRecord next;
    next.set_owner(record->owner());
    for (const auto& m : record->members()) {
      if (m != member) next.add_members(m);
    }
    StoreTxn txn(*store_);
    std::vector<std::string> notify = Others(next, name_);
    notify.push_back(member);  // so that it knows it is out
    if (absl::Status s = UpdateMembersLocked(group, notify, next); !s.ok()) return s;
    if (absl::Status s = RotateSenderKey(*env_, group, name_); !s.ok()) return s;
    if (absl::Status s = DistributeLocked(group, Others(next, name_)); !s.ok()) return s;
    if (absl::Status s = txn.Commit(); !s.ok()) return s;
  }
  return FlushOutbox();
}

absl::StatusOr<std::vector<std::string>> Agent::GroupMembers(const std::string& group) {
  kars::MutexLock l(&mu_);
  auto record = LoadGroup(*store_, group);
  if (!record.ok()) return record.status();
  return std::vector<std::string>(record->members().begin(), record->members().end());
}

absl::StatusOr<std::string> Agent::SendGroup(const std::string& group, absl::string_view body) {
  if (body.size() > kMaxBodySize) {
    return absl::InvalidArgumentError(absl::StrCat("message body of ", body.size(),
                                                   " bytes exceeds the limit of ", kMaxBodySize));
  }
  // Sender keys must reach members before the first message that uses them.
  if (absl::Status s = FlushOutbox(); !s.ok()) return s;
  kars::MutexLock send_lock(&send_mu_);
  std::shared_ptr<Transport> transport;
  pb::Envelope env;
  std::vector<std::string> others;
  {
    kars::MutexLock l(&mu_);
    if (!transport_) return NoTransport();
    transport = transport_;
    auto record = LoadGroup(*store_, group);
    if (!record.ok()) return record.status();
    others = Others(*record, name_);
    auto id = NewMessageId();
    if (!id.ok()) return id.status();
    pb::Payload payload;
    payload.set_message_id(*id);
    payload.set_group_id(group);
    payload.set_body(std::string(body.data(), body.size()));
    payload.set_sent_at_ms(absl::ToUnixMillis(absl::Now()));
    auto sealed = GroupSeal(*env_, group, name_, PadPayload(payload));
    if (!sealed.ok()) return sealed.status();
    env.set_sender(name_);
    env.set_message_id(*id);
    env.set_type(pb::CIPHERTEXT_TYPE_SENDER_KEY);
    env.set_group_id(group);
    env.set_ciphertext(std::move(*sealed));
  }
  if (others.empty()) return env.message_id();
  env.set_recipient(others[0]);
  others.erase(others.begin());
  if (absl::Status s = Transmit(*transport, env, others); !s.ok()) return s;
  return env.message_id();
}

absl::Status Agent::ProcessGroupMessageLocked(const pb::Envelope& env) {
  pb::AgentEvent ev;
  ev.set_peer(env.sender());
  ev.set_message_id(env.message_id());
  ev.set_group_id(env.group_id());
  auto hold = [&]() -> absl::Status {
    // Arrived before its group update or sender key (they travel from other senders, so order
    // is not guaranteed): kept, and retried when group state for it arrives.
    auto seq = store_->Get(Ns::kMeta, kMetaHeldSeq);
    uint64_t next = seq ? DecodeU64(*seq) + 1 : 1;
    if (absl::Status s = store_->Put(Ns::kMeta, kMetaHeldSeq, EncodeU64(next)); !s.ok()) return s;
    return store_->Put(Ns::kHeldGroup, PeerPrefix(env.group_id()) + EncodeU64(next),
                       env.SerializeAsString());
  };
  if (absl::Status s = ValidateName(env.group_id(), "envelope group id"); !s.ok()) {
    ev.set_kind(pb::AgentEvent::KIND_REJECTED);
    ev.set_status(ToCStatus(s));
    ev.set_detail(std::string(s.message()));
    return AddEvent(ev);
  }
  auto record = LoadGroup(*store_, env.group_id());
  if (!record.ok() || !IsMember(*record, env.sender())) return hold();
  auto plain = GroupOpen(*env_, env.group_id(), env.sender(), env.ciphertext());
  if (!plain.ok()) {
    kars_status code = ToCStatus(plain.status());
    if (code == KARS_E_IO || code == KARS_E_NO_MEMORY) return plain.status();
    if (code == KARS_E_PRECONDITION) return hold();
    ev.set_kind(code == KARS_E_EXISTS ? pb::AgentEvent::KIND_DUPLICATE
                                      : pb::AgentEvent::KIND_REJECTED);
    if (code != KARS_E_EXISTS) {
      ev.set_status(code);
      ev.set_detail(std::string(plain.status().message()));
    }
    return AddEvent(ev);
  }
  auto payload = UnpadPayload(*plain);
  if (payload.ok() &&
      (payload->message_id() != env.message_id() || payload->group_id() != env.group_id())) {
    payload = TamperedError("envelope id or group differs from what is sealed inside");
  }
  if (!payload.ok()) {
    ev.set_kind(pb::AgentEvent::KIND_REJECTED);
    ev.set_status(ToCStatus(payload.status()));
    ev.set_detail(std::string(payload.status().message()));
    return AddEvent(ev);
  }
  ev.set_kind(pb::AgentEvent::KIND_MESSAGE);
  ev.set_body(std::move(*payload->mutable_body()));
  ev.set_sent_at_ms(payload->sent_at_ms());
  if (auto key = store_->Get(Ns::kIdentity, env.sender())) ev.set_identity_key(*key);
  if (absl::Status s = store_->Put(Ns::kSeen, PeerPrefix(env.sender()) + env.message_id(), "");
      !s.ok()) {
    return s;
  }
  return AddEvent(ev);
}

absl::Status Agent::ReleaseHeldGroupLocked(const std::string& group) {
  const std::string prefix = PeerPrefix(group);
  for (const auto& [k, v] : store_->List(Ns::kHeldGroup)) {
    if (k.compare(0, prefix.size(), prefix) != 0) continue;
    pb::Envelope env;
    if (!env.ParseFromString(v)) return TamperedError("agent store holds an unreadable envelope");
    if (auto r = store_->Delete(Ns::kHeldGroup, k); !r.ok()) return r.status();
    if (absl::Status s = ProcessGroupMessageLocked(env); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Agent::ProcessControlLocked(const std::string& sender, const pb::Payload& payload) {
  auto reject = [&](kars_status code, const std::string& why) {
    pb::AgentEvent ev;
    ev.set_kind(pb::AgentEvent::KIND_REJECTED);
    ev.set_peer(sender);
    ev.set_message_id(payload.message_id());
    ev.set_status(code);
    ev.set_detail(why);
    return AddEvent(ev);
  };
  if (payload.session_reset()) return ResendLocked(sender);
  if (!payload.sender_key_distribution().empty()) {
    const std::string& group = payload.group_id();
    if (!ValidateName(group, "group id").ok())
      return reject(KARS_E_INVALID_ARGUMENT, "bad group id");
    // Stored whatever the membership: a key alone reveals nothing, and membership is checked
    // when a message under it arrives.
    absl::Status s =
        ProcessSenderKeyDistribution(*env_, group, sender, payload.sender_key_distribution());
    if (!s.ok()) return reject(ToCStatus(s), std::string(s.message()));
    return ReleaseHeldGroupLocked(group);
  }
  const pb::GroupUpdate& update = payload.group_update();
  const std::string& group = update.group_id();
  if (!ValidateName(group, "group id").ok()) return reject(KARS_E_INVALID_ARGUMENT, "bad group id");
  auto current = LoadGroup(*store_, group);
  if (current.ok() && current->owner() != sender) {
    return reject(KARS_E_DENIED, absl::StrCat("group update for '", group, "' from '", sender,
                                              "', who does not own it"));
  }
  pb::GroupRecord next;
  next.set_owner(sender);
  *next.mutable_members() = update.members();
  if (!IsMember(next, name_)) {
    // Removed (or never in it): forget the group and every sender key of it.
    if (current.ok()) {
      if (auto r = store_->Delete(Ns::kGroup, group); !r.ok()) return r.status();
    }
    return ForgetGroupKeys(*env_, group);
  }
  std::set<std::string> before;
  if (current.ok()) before.insert(current->members().begin(), current->members().end());
  std::vector<std::string> added;
  bool removed = false;
  for (const auto& m : next.members()) {
    if (!before.count(m) && m != name_) added.push_back(m);
  }
  for (const auto& m : before) {
    if (!IsMember(next, m)) removed = true;
  }
  if (absl::Status s = store_->Put(Ns::kGroup, group, next.SerializeAsString()); !s.ok()) return s;
  if (removed) {
    // Someone left: a fresh sender key, given only to who remains.
    if (absl::Status s = RotateSenderKey(*env_, group, name_); !s.ok()) return s;
    if (absl::Status s = DistributeLocked(group, Others(next, name_)); !s.ok()) return s;
  } else if (!current.ok()) {
    // Just joined: everyone else needs this agent's sender key.
    if (absl::Status s = DistributeLocked(group, Others(next, name_)); !s.ok()) return s;
  } else if (!added.empty()) {
    if (absl::Status s = DistributeLocked(group, added); !s.ok()) return s;
  }
  return ReleaseHeldGroupLocked(group);
}

}  // namespace kars::mesh
