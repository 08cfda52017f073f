#include "libkars/capi/mesh_transport.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libkars/base/status.h"

namespace kars::capi {

namespace pb = kars::v1::mesh;

namespace {

// A callback's return value as a status: its own code when it is a known failure, else CALLBACK.
absl::Status FromCallback(int rc, absl::string_view which) {
  if (rc == 0) return absl::OkStatus();
  if (rc < 0 && rc >= KARS_E_PRECONDITION && rc != KARS_E_CALLBACK) {
    return MakeStatus(static_cast<kars_status>(rc),
                      absl::StrCat("host transport: ", which, " failed (", rc, ")"));
  }
  return CallbackError(absl::StrCat("host transport: ", which, " returned ", rc));
}

// Takes over a kars_buf the host filled with malloc'd data.
std::string TakeBuf(kars_buf& buf) {
  std::string out;
  if (buf.data != nullptr) out.assign(reinterpret_cast<const char*>(buf.data), buf.len);
  std::free(buf.data);
  buf = {nullptr, 0};
  return out;
}

}  // namespace

HostTransport::HostTransport(std::string mailbox, const kars_mesh_transport_callbacks& callbacks,
                             void* userdata, void (*userdata_free)(void*))
    : mailbox_(std::move(mailbox)),
      callbacks_(callbacks),
      userdata_(userdata),
      userdata_free_(userdata_free) {}

HostTransport::~HostTransport() {
  if (userdata_free_ != nullptr) userdata_free_(userdata_);
}

absl::Status HostTransport::Push(uint64_t seq, absl::string_view envelope) {
  pb::Envelope env;
  if (!env.ParseFromArray(envelope.data(), static_cast<int>(envelope.size()))) {
    return absl::InvalidArgumentError("pushed bytes are not a kars.v1.mesh.Envelope");
  }
  kars::MutexLock l(&mu_);
  pending_[seq] = std::move(env);
  pushed_.SignalAll();
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> HostTransport::PublishKeys(const pb::PublishKeysRequest& req) {
  // The bundle minus its one-time prekey, ready to be handed out with one of the prekeys.
  pb::PreKeyBundle bundle;
  bundle.set_mailbox(mailbox_);
  bundle.set_registration_id(req.registration_id());
  bundle.set_device_id(1);
  bundle.set_identity_key(req.identity_key());
  bundle.set_signed_prekey_id(req.signed_prekey_id());
  bundle.set_signed_prekey(req.signed_prekey());
  bundle.set_signed_prekey_signature(req.signed_prekey_signature());
  const std::string bundle_bytes = bundle.SerializeAsString();
  std::vector<std::string> prekeys;
  prekeys.reserve(req.one_time_prekeys_size());
  for (const auto& k : req.one_time_prekeys()) prekeys.push_back(k.SerializeAsString());
  std::vector<const uint8_t*> ptrs;
  std::vector<size_t> lens;
  for (const auto& p : prekeys) {
    ptrs.push_back(reinterpret_cast<const uint8_t*>(p.data()));
    lens.push_back(p.size());
  }
  uint32_t held = 0;
  int rc = callbacks_.publish_keys(&held, mailbox_.c_str(),
                                   reinterpret_cast<const uint8_t*>(bundle_bytes.data()),
                                   bundle_bytes.size(), ptrs.data(), lens.data(), ptrs.size(),
                                   userdata_);
  if (absl::Status s = FromCallback(rc, "publish_keys"); !s.ok()) return s;
  return held;
}

absl::StatusOr<pb::PreKeyBundle> HostTransport::FetchBundle(absl::string_view mailbox) {
  const std::string name(mailbox.data(), mailbox.size());
  kars_buf bundle_buf = {nullptr, 0}, prekey_buf = {nullptr, 0};
  int rc = callbacks_.fetch_bundle(&bundle_buf, &prekey_buf, name.c_str(), userdata_);
  const std::string bundle_bytes = TakeBuf(bundle_buf);
  const std::string prekey_bytes = TakeBuf(prekey_buf);
  if (absl::Status s = FromCallback(rc, "fetch_bundle"); !s.ok()) return s;
  pb::PreKeyBundle bundle;
  if (bundle_bytes.empty() || !bundle.ParseFromString(bundle_bytes)) {
    return TamperedError(absl::StrCat("host transport: the bundle of '", name,
                                      "' is not a kars.v1.mesh.PreKeyBundle"));
  }
  if (!prekey_bytes.empty() && !bundle.mutable_one_time_prekey()->ParseFromString(prekey_bytes)) {
    return TamperedError(absl::StrCat("host transport: the one-time prekey of '", name,
                                      "' is not a kars.v1.mesh.OneTimePreKey"));
  }
  return bundle;
}

absl::StatusOr<bool> HostTransport::Send(const pb::Envelope& envelope) {
  return Fanout(envelope, {});
}

absl::StatusOr<bool> HostTransport::Fanout(const pb::Envelope& envelope,
                                           const std::vector<std::string>& also_to) {
  std::vector<const char*> recipients = {envelope.recipient().c_str()};
  for (const auto& r : also_to) recipients.push_back(r.c_str());
  const std::string bytes = envelope.SerializeAsString();
  int duplicate = 0;
  int rc = callbacks_.send(&duplicate, recipients.data(), recipients.size(),
                           reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                           reinterpret_cast<const uint8_t*>(envelope.message_id().data()),
                           envelope.message_id().size(), userdata_);
  if (absl::Status s = FromCallback(rc, "send"); !s.ok()) return s;
  return duplicate != 0;
}

absl::StatusOr<std::vector<pb::ReceiveResponse>> HostTransport::Receive(absl::Duration wait,
                                                                        size_t max) {
  std::vector<pb::ReceiveResponse> out;
  kars::MutexLock l(&mu_);
  absl::Time deadline = absl::Now() + wait;
  while (pending_.empty() && absl::Now() < deadline) pushed_.WaitWithDeadline(&mu_, deadline);
  // Handed out until acknowledged, like a relay's mailbox: a receive that fails before its ack
  // sees the same envelopes again.
  for (const auto& [seq, env] : pending_) {
    if (out.size() >= max) break;
    auto& item = out.emplace_back();
    item.set_seq(seq);
    *item.mutable_envelope() = env;
  }
  return out;
}

absl::Status HostTransport::Ack(const std::vector<uint64_t>& seqs) {
  {
    kars::MutexLock l(&mu_);
    for (uint64_t s : seqs) pending_.erase(s);
  }
  if (callbacks_.ack == nullptr || seqs.empty()) return absl::OkStatus();
  return FromCallback(callbacks_.ack(seqs.data(), seqs.size(), userdata_), "ack");
}

}  // namespace kars::capi
