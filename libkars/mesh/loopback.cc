#include "libkars/mesh/loopback.h"

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"

namespace kars::mesh {

namespace pb = kars::v1::mesh;

class LoopbackTransport : public Transport {
 public:
  LoopbackTransport(LoopbackHub* hub, std::string mailbox) : hub_(hub), me_(std::move(mailbox)) {}

  absl::StatusOr<uint32_t> PublishKeys(const pb::PublishKeysRequest& req) override {
    kars::MutexLock l(&hub_->mu_);
    auto& box = hub_->boxes_[me_];
    auto prekeys = box.keys.one_time_prekeys();
    box.keys = req;
    box.keys.clear_one_time_prekeys();
    for (const auto& k : prekeys) *box.keys.add_one_time_prekeys() = k;
    for (const auto& k : req.one_time_prekeys()) *box.keys.add_one_time_prekeys() = k;
    box.has_keys = true;
    return static_cast<uint32_t>(box.keys.one_time_prekeys_size());
  }

  absl::StatusOr<pb::PreKeyBundle> FetchBundle(absl::string_view mailbox) override {
    kars::MutexLock l(&hub_->mu_);
    auto it = hub_->boxes_.find(std::string(mailbox.data(), mailbox.size()));
    if (it == hub_->boxes_.end() || !it->second.has_keys) {
      return absl::NotFoundError(absl::StrCat("no mailbox '", std::string(mailbox), "'"));
    }
    pb::PublishKeysRequest& keys = it->second.keys;
    pb::PreKeyBundle b;
    b.set_mailbox(it->first);
    b.set_registration_id(keys.registration_id());
    b.set_device_id(1);
    b.set_identity_key(keys.identity_key());
    b.set_signed_prekey_id(keys.signed_prekey_id());
    b.set_signed_prekey(keys.signed_prekey());
    b.set_signed_prekey_signature(keys.signed_prekey_signature());
    if (keys.one_time_prekeys_size() > 0) {
      *b.mutable_one_time_prekey() = keys.one_time_prekeys(0);
      keys.mutable_one_time_prekeys()->erase(keys.mutable_one_time_prekeys()->begin());
    }
    return b;
  }

  absl::StatusOr<bool> Fanout(const pb::Envelope& envelope,
                              const std::vector<std::string>& also_to) override {
    {
      kars::MutexLock l(&hub_->mu_);
      for (const auto& r : also_to) {
        if (!hub_->boxes_.count(r))
          return absl::NotFoundError(absl::StrCat("no mailbox '", r, "'"));
      }
    }
    auto first = Send(envelope);
    if (!first.ok()) return first;
    for (const auto& r : also_to) {
      pb::Envelope copy = envelope;
      copy.set_recipient(r);
      if (auto s = Send(copy); !s.ok()) return s;
    }
    return *first;
  }

  absl::StatusOr<bool> Send(const pb::Envelope& envelope) override {
    pb::Envelope e = envelope;
    e.set_sender(me_);
    kars::MutexLock l(&hub_->mu_);
    auto it = hub_->boxes_.find(e.recipient());
    if (it == hub_->boxes_.end()) {
      return absl::NotFoundError(absl::StrCat("no mailbox '", e.recipient(), "'"));
    }
    for (const auto& [seq, held] : it->second.pending) {
      if (held.message_id() == e.message_id()) return true;
    }
    hub_->captured_.push_back(e);
    it->second.pending.emplace(hub_->next_seq_++, std::move(e));
    hub_->arrived_.SignalAll();
    return false;
  }

  absl::StatusOr<std::vector<pb::ReceiveResponse>> Receive(absl::Duration wait,
                                                           size_t max) override {
    std::vector<pb::ReceiveResponse> out;
    kars::MutexLock l(&hub_->mu_);
    auto has_pending = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(hub_->mu_) {
      auto it = hub_->boxes_.find(me_);
      return it != hub_->boxes_.end() && !it->second.pending.empty();
    };
    absl::Time deadline = absl::Now() + wait;
    while (!has_pending() && absl::Now() < deadline) {
      hub_->arrived_.WaitWithDeadline(&hub_->mu_, deadline);
    }
    auto it = hub_->boxes_.find(me_);
    if (it == hub_->boxes_.end()) return out;
    for (const auto& [seq, env] : it->second.pending) {
      if (out.size() >= max) break;
      auto& item = out.emplace_back();
      item.set_seq(seq);
      *item.mutable_envelope() = env;
    }
    return out;
  }

  absl::Status Ack(const std::vector<uint64_t>& seqs) override {
    kars::MutexLock l(&hub_->mu_);
    auto it = hub_->boxes_.find(me_);
    if (it == hub_->boxes_.end()) return absl::OkStatus();
    for (uint64_t s : seqs) it->second.pending.erase(s);
    return absl::OkStatus();
  }

 private:
  LoopbackHub* hub_;
  std::string me_;
};

std::unique_ptr<Transport> LoopbackHub::Connect(const std::string& mailbox) {
  {
    kars::MutexLock l(&mu_);
    boxes_[mailbox];
  }
  return std::make_unique<LoopbackTransport>(this, mailbox);
}

std::vector<pb::Envelope> LoopbackHub::Captured() const {
  kars::MutexLock l(&mu_);
  return captured_;
}

void LoopbackHub::Inject(const pb::Envelope& envelope) {
  kars::MutexLock l(&mu_);
  boxes_[envelope.recipient()].pending.emplace(next_seq_++, envelope);
  arrived_.SignalAll();
}

std::vector<pb::Envelope> LoopbackHub::Drain(const std::string& mailbox) {
  kars::MutexLock l(&mu_);
  std::vector<pb::Envelope> out;
  auto& box = boxes_[mailbox];
  for (auto& [seq, env] : box.pending) out.push_back(std::move(env));
  box.pending.clear();
  return out;
}

}  // namespace kars::mesh
