#include "libkars/mesh/agent.h"

#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libkars/base/status.h"
#include "libkars/mesh/payload.h"
#include "libkars/mesh/relay_client.h"
#include "libkars/mesh/session.h"
#include "libkars/mesh/store_keys.h"

namespace kars::mesh {

namespace pb = kars::v1::mesh;

namespace {

int64_t NowS() { return absl::ToUnixSeconds(absl::Now()); }
int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string SeenKey(absl::string_view sender, absl::string_view id) {
  return PeerPrefix(sender) + std::string(id.data(), id.size());
}

constexpr uint32_t kResendWindow = 256;
constexpr int64_t kResetIntervalMs = 10'000;
constexpr uint64_t kAuthFailuresForReset = 2;

absl::Status NoTransport() {
  return MakeStatus(KARS_E_PRECONDITION, "agent is not connected to a relay");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Agent>> Agent::Open(const std::string& dir, const std::string& name,
                                                   const AgentOptions& options) {
  if (absl::Status s = ValidateName(name, "agent name"); !s.ok()) return s;
  std::unique_ptr<Agent> agent(new Agent());
  agent->name_ = name;
  agent->options_ = options;
  kars::MutexLock l(&agent->mu_);
  auto store = LocalStore::Open(dir);
  if (!store.ok()) return store.status();
  agent->store_ = std::move(*store);
  auto env = SignalEnv::Create(agent->store_.get(), options.trust);
  if (!env.ok()) return env.status();
  agent->env_ = std::move(*env);
  if (absl::Status s = EnsureIdentity(*agent->env_, name, NowS()); !s.ok()) return s;
  return agent;
}

absl::Status Agent::ConnectRelay(const std::string& address) {
  std::string auth_pub, auth_der;
  {
    kars::MutexLock l(&mu_);
    auto pub = AuthPublicKey(*env_);
    if (!pub.ok()) return pub.status();
    auto der = AuthPrivateKeyDer(*env_);
    if (!der.ok()) return der.status();
    auth_pub = *pub;
    auth_der = *der;
  }
  auto client = std::make_unique<RelayClient>(
      address, name_, auth_pub, [auth_der](absl::string_view m) { return AuthSign(auth_der, m); },
      options_.rpc_timeout, options_.relay_tls);
  if (absl::Status s = client->Authenticate(); !s.ok()) return s;
  return Attach(std::move(client));
}

absl::Status Agent::Attach(std::shared_ptr<Transport> transport) {
  kars::MutexLock l(&mu_);
  transport_ = std::move(transport);
  return MaintainKeysLocked();
}

absl::Status Agent::Publish(uint32_t extra_prekeys) {
  auto req = PublicKeys(*env_);
  if (!req.ok()) return req.status();
  auto prekeys = GeneratePreKeys(*env_, extra_prekeys);
  if (!prekeys.ok()) return prekeys.status();
  for (auto& k : *prekeys) *req->add_one_time_prekeys() = std::move(k);
  auto remaining = transport_->PublishKeys(*req);
  if (!remaining.ok()) return remaining.status();
  return absl::OkStatus();
}

absl::Status Agent::MaintainKeys() {
  kars::MutexLock l(&mu_);
  return MaintainKeysLocked();
}

absl::Status Agent::MaintainKeysLocked() {
  if (!transport_) return NoTransport();
  auto rotated = MaintainSignedPreKey(*env_, options_.keys, NowS());
  if (!rotated.ok()) return rotated.status();
  auto req = PublicKeys(*env_);
  if (!req.ok()) return req.status();
  auto remaining = transport_->PublishKeys(*req);
  if (!remaining.ok()) return remaining.status();
  if (*remaining < options_.keys.prekey_low_water) {
    return Publish(options_.keys.prekey_pool - *remaining);
  }
  return absl::OkStatus();
}

absl::StatusOr<pb::Envelope> Agent::SealForPeerLocked(const std::string& peer,
                                                      const pb::Payload& payload) {
  if (!transport_) return NoTransport();
  if (store_->Contains(Ns::kPendingIdentity, peer)) {
    return MakeStatus(KARS_E_DENIED,
                      absl::StrCat("identity key of '", peer,
                                   "' changed; compare safety numbers and approve it first"));
  }
  if (!HasSession(*env_, peer)) {
    auto bundle = transport_->FetchBundle(peer);
    if (!bundle.ok()) return bundle.status();
    if (bundle->mailbox() != peer) {
      return TamperedError(absl::StrCat("relay returned the bundle of '", bundle->mailbox(),
                                        "' when asked for '", peer, "'"));
    }
    if (absl::Status s = ProcessBundle(*env_, *bundle); !s.ok()) {
      if (ToCStatus(s) == KARS_E_DENIED) {
        return MakeStatus(KARS_E_DENIED,
                          absl::StrCat("identity key of '", peer,
                                       "' changed; compare safety numbers and approve it first"));
      }
      return s;
    }
  }
  auto sealed = Seal(*env_, peer, PadPayload(payload));
  if (!sealed.ok()) return sealed.status();
  pb::Envelope env;
  env.set_recipient(peer);
  env.set_sender(name_);
  env.set_message_id(payload.message_id());
  env.set_type(sealed->type);
  env.set_ciphertext(std::move(sealed->ciphertext));
  return env;
}

absl::Status Agent::Transmit(Transport& transport, const pb::Envelope& env,
                             const std::vector<std::string>& also_to) {
  // The network call runs without the state lock so receiving continues meanwhile. A relay
  // that is restarting is retried with the same envelope: the relay deduplicates by message id,
  // so a send whose acknowledgement was lost is stored once, never twice.
  absl::Time give_up = absl::Now() + options_.rpc_timeout;
  for (;;) {
    auto dup = also_to.empty() ? transport.Send(env) : transport.Fanout(env, also_to);
    if (dup.ok()) return absl::OkStatus();
    if (ToCStatus(dup.status()) != KARS_E_UNAVAILABLE || absl::Now() >= give_up) {
      return dup.status();
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

std::vector<absl::Status> Agent::TransmitMany(Transport& transport,
                                              const std::vector<pb::SendRequest>& requests) {
  // As Transmit, for each request: those the relay could not take because it was away are
  // sent again (in their order) until the timeout.
  std::vector<absl::Status> out(requests.size());
  std::vector<size_t> todo(requests.size());
  for (size_t i = 0; i < todo.size(); ++i) todo[i] = i;
  absl::Time give_up = absl::Now() + options_.rpc_timeout;
  for (;;) {
    std::vector<pb::SendRequest> batch;
    batch.reserve(todo.size());
    for (size_t i : todo) batch.push_back(requests[i]);
    std::vector<absl::StatusOr<bool>> results = transport.SendMany(batch);
    std::vector<size_t> again;
    for (size_t k = 0; k < todo.size(); ++k) {
      out[todo[k]] = k < results.size() ? results[k].status()
                                        : absl::InternalError("transport answered too few sends");
      if (ToCStatus(out[todo[k]]) == KARS_E_UNAVAILABLE) again.push_back(todo[k]);
    }
    if (again.empty() || absl::Now() >= give_up) return out;
    todo = std::move(again);
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::StatusOr<std::string> Agent::Send(const std::string& peer, absl::string_view body,
                                        int64_t expires_at_ms) {
  if (absl::Status s = ValidateName(peer, "peer name"); !s.ok()) return s;
  if (body.size() > kMaxBodySize) {
    return absl::InvalidArgumentError(absl::StrCat("message body of ", body.size(),
                                                   " bytes exceeds the limit of ", kMaxBodySize));
  }
  auto sent = SendOnce(peer, body, expires_at_ms);
  if (ToCStatus(sent.status()) != KARS_E_DENIED) return sent;
  // The peer is blocked by an identity change: the host's decider may settle it now.
  bool pending = false;
  {
    kars::MutexLock l(&mu_);
    pending = store_->Contains(Ns::kPendingIdentity, peer);
  }
  if (!pending) return sent;
  if (absl::Status s = ReviewIdentities(); !s.ok()) return s;
  return SendOnce(peer, body, expires_at_ms);
}

absl::StatusOr<std::string> Agent::SendOnce(const std::string& peer, absl::string_view body,
                                            int64_t expires_at_ms) {
  kars::MutexLock send_lock(&send_mu_);
  pb::Envelope env;
  std::shared_ptr<Transport> transport;
  {
    kars::MutexLock l(&mu_);
    if (!transport_) return NoTransport();
    transport = transport_;
    auto id = NewMessageId();
    if (!id.ok()) return id.status();
    pb::Payload payload;
    payload.set_message_id(*id);
    payload.set_body(std::string(body.data(), body.size()));
    payload.set_sent_at_ms(NowMs());
    StoreTxn txn(*store_);  // one durable commit for the ratchet step and the resend copy
    auto sealed = SealForPeerLocked(peer, payload);
    if (!sealed.ok()) return sealed.status();
    env = std::move(*sealed);
    env.set_expires_at_ms(expires_at_ms);
    if (absl::Status s = RememberSentLocked(peer, payload); !s.ok()) return s;
    if (absl::Status s = txn.Commit(); !s.ok()) return s;
  }
  if (absl::Status s = Transmit(*transport, env, {}); !s.ok()) return s;
  return env.message_id();
}

absl::Status Agent::RememberSentLocked(const std::string& peer, const pb::Payload& payload) {
  // A ring of kResendWindow slots per peer: O(1) per send, the oldest overwritten.
  auto seq = store_->Get(Ns::kMeta, kMetaSentSeq);
  uint64_t next = seq ? DecodeU64(*seq) + 1 : 1;
  if (absl::Status s = store_->Put(Ns::kMeta, kMetaSentSeq, EncodeU64(next)); !s.ok()) return s;
  return store_->Put(Ns::kSent,
                     PeerPrefix(peer) + EncodeU32(static_cast<uint32_t>(next % kResendWindow)),
                     EncodeU64(next) + payload.SerializeAsString());
}

absl::Status Agent::ResendLocked(const std::string& peer) {
  const std::string prefix = PeerPrefix(peer);
  std::vector<std::pair<uint64_t, pb::Payload>> recent;
  for (const auto& [k, v] : store_->List(Ns::kSent)) {
    if (k.compare(0, prefix.size(), prefix) != 0 || v.size() < 8) continue;
    pb::Payload p;
    if (!p.ParseFromString(v.substr(8)))
      return TamperedError("agent store holds an unreadable payload");
    recent.emplace_back(DecodeU64(v), std::move(p));
  }
  std::sort(recent.begin(), recent.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [seq, p] : recent) {
    if (absl::Status s = EnqueueLocked(peer, std::move(p), /*keep_id=*/true); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Agent::RequestResetLocked(const std::string& peer) {
  // At most one reset per peer per kResetInterval: a burst of undecryptable messages (all from
  // the same lost session) needs one new handshake, not one each.
  const std::string key = std::string(kMetaResetPrefix) + peer;
  int64_t now = NowMs();
  if (auto last = store_->Get(Ns::kMeta, key);
      last && now - static_cast<int64_t>(DecodeU64(*last)) < kResetIntervalMs) {
    return absl::OkStatus();
  }
  if (absl::Status s = store_->Put(Ns::kMeta, key, EncodeU64(static_cast<uint64_t>(now)));
      !s.ok()) {
    return s;
  }
  signal_protocol_session_delete_all_sessions(env_->stores(), peer.data(), peer.size());
  pb::Payload p;
  p.set_session_reset(true);
  return EnqueueLocked(peer, std::move(p));
}

absl::StatusOr<bool> Agent::DesyncedLocked(const pb::Envelope& env, kars_status code) {
  // This agent lacks the session (lost, or restored from an older copy) or the prekey the message
  // was built on.
  if (code == KARS_E_PRECONDITION) return true;
  // Two failures are ambiguous on their own:
  // - a message failing authentication is tampered, or encrypted on a ratchet state this agent
  //   lost (restored from an older copy);
  // - a message reusing the keys of a counter already decrypted, under an id never seen, is a
  //   replay relabelled with a fresh id, or comes from a sender whose state went back in time.
  // After tampering or a replay good messages follow, while out of step every message fails: the
  // second such failure in a row (no success in between) means desync.
  bool ambiguous = code == KARS_E_EXISTS ||
                   (code == KARS_E_TAMPERED && env.type() == pb::CIPHERTEXT_TYPE_SIGNAL);
  if (!ambiguous) return false;
  const std::string key = std::string(kMetaAuthFailPrefix) + env.sender();
  const std::string* count = store_->Find(Ns::kMeta, key);
  uint64_t failures = (count != nullptr ? DecodeU64(*count) : 0) + 1;
  if (absl::Status s = store_->Put(Ns::kMeta, key, EncodeU64(failures)); !s.ok()) return s;
  return failures >= kAuthFailuresForReset;
}

absl::Status Agent::ClearAuthFailuresLocked(const std::string& peer) {
  const std::string key = std::string(kMetaAuthFailPrefix) + peer;
  if (!store_->Contains(Ns::kMeta, key)) return absl::OkStatus();
  return store_->Delete(Ns::kMeta, key).status();
}

absl::Status Agent::ResetSession(const std::string& peer) {
  if (absl::Status s = ValidateName(peer, "peer name"); !s.ok()) return s;
  kars::MutexLock l(&mu_);
  int rc = signal_protocol_session_delete_all_sessions(env_->stores(), peer.data(), peer.size());
  if (rc < 0) return IoError("agent store: cannot delete sessions");
  return absl::OkStatus();
}

absl::Status Agent::AddEvent(const pb::AgentEvent& ev) {
  auto seq = store_->Get(Ns::kMeta, kMetaInboxSeq);
  uint64_t next = seq ? DecodeU64(*seq) + 1 : 1;
  if (absl::Status s = store_->Put(Ns::kMeta, kMetaInboxSeq, EncodeU64(next)); !s.ok()) return s;
  return store_->Put(Ns::kInbox, EncodeU64(next), ev.SerializeAsString());
}

absl::Status Agent::Hold(const pb::Envelope& env) {
  // Keyed by arrival order so that approval releases them in the order they came.
  auto seq = store_->Get(Ns::kMeta, kMetaHeldSeq);
  uint64_t next = seq ? DecodeU64(*seq) + 1 : 1;
  if (absl::Status s = store_->Put(Ns::kMeta, kMetaHeldSeq, EncodeU64(next)); !s.ok()) return s;
  return store_->Put(Ns::kHeld, PeerPrefix(env.sender()) + EncodeU64(next),
                     env.SerializeAsString());
}

absl::Status Agent::ProcessLocked(const pb::Envelope& env, bool* used_prekey) {
  pb::AgentEvent ev;
  ev.set_peer(env.sender());
  ev.set_message_id(env.message_id());
  if (absl::Status s = ValidateEnvelope(env); !s.ok()) {
    ev.set_kind(pb::AgentEvent::KIND_REJECTED);
    ev.set_status(ToCStatus(s));
    ev.set_detail(std::string(s.message()));
    return AddEvent(ev);
  }
  if (env.type() == pb::CIPHERTEXT_TYPE_EXPIRY_NOTICE) {
    ev.set_kind(pb::AgentEvent::KIND_EXPIRED);
    ev.set_peer(env.sender());
    return AddEvent(ev);
  }
  const std::string seen = SeenKey(env.sender(), env.message_id());
  if (store_->Contains(Ns::kSeen, seen)) {
    ev.set_kind(pb::AgentEvent::KIND_DUPLICATE);
    return AddEvent(ev);
  }
  if (env.type() == pb::CIPHERTEXT_TYPE_SENDER_KEY) return ProcessGroupMessageLocked(env);
  if (store_->Contains(Ns::kPendingIdentity, env.sender())) {
    // Blocked peer: keep the envelope until the host decides.
    return Hold(env);
  }
  if (env.type() == pb::CIPHERTEXT_TYPE_PREKEY) *used_prekey = true;
  auto plain = kars::mesh::Open(*env_, env.sender(), env.type(), env.ciphertext());
  bool changed = env_->TakeIdentityChanged();
  if (!plain.ok()) {
    kars_status code = ToCStatus(plain.status());
    if (code == KARS_E_IO || code == KARS_E_NO_MEMORY) return plain.status();
    if (code == KARS_E_DENIED) {
      if (absl::Status s = Hold(env); !s.ok()) return s;
      ev.set_kind(pb::AgentEvent::KIND_IDENTITY_CHANGED);
      if (auto key = store_->Get(Ns::kPendingIdentity, env.sender())) ev.set_identity_key(*key);
      ev.set_detail(std::string(plain.status().message()));
      return AddEvent(ev);
    }
    ev.set_kind(pb::AgentEvent::KIND_REJECTED);
    ev.set_status(code);
    ev.set_detail(std::string(plain.status().message()));
    auto desync = DesyncedLocked(env, code);
    if (!desync.ok()) return desync.status();
    if (*desync) {
      // The two sides no longer share a session: handshake afresh and ask the peer to resend
      // what it sent recently, so the message reported here arrives after all.
      ev.set_detail(absl::StrCat(ev.detail(), "; re-handshaking, the peer will resend"));
      if (absl::Status s = RequestResetLocked(env.sender()); !s.ok()) return s;
    }
    return AddEvent(ev);
  }
  if (absl::Status s = ClearAuthFailuresLocked(env.sender()); !s.ok()) return s;
  auto payload = UnpadPayload(*plain);
  if (payload.ok() && payload->message_id() != env.message_id()) {
    payload = TamperedError("envelope message id differs from the id sealed inside the ciphertext");
  }
  if (!payload.ok()) {
    ev.set_kind(pb::AgentEvent::KIND_REJECTED);
    ev.set_status(ToCStatus(payload.status()));
    ev.set_detail(std::string(payload.status().message()));
    return AddEvent(ev);
  }
  if (payload->has_group_update() || !payload->sender_key_distribution().empty() ||
      payload->session_reset()) {
    if (absl::Status s = store_->Put(Ns::kSeen, seen, ""); !s.ok()) return s;
    return ProcessControlLocked(env.sender(), *payload);
  }
  ev.set_kind(pb::AgentEvent::KIND_MESSAGE);
  ev.set_body(std::move(*payload->mutable_body()));
  ev.set_sent_at_ms(payload->sent_at_ms());
  ev.set_identity_changed(changed);
  if (auto key = store_->Get(Ns::kIdentity, env.sender())) ev.set_identity_key(*key);
  if (absl::Status s = store_->Put(Ns::kSeen, seen, ""); !s.ok()) return s;
  return AddEvent(ev);
}

absl::Status Agent::Accept(const std::vector<pb::Envelope>& envelopes) {
  bool used_prekey = false;
  kars::MutexLock l(&mu_);
  StoreTxn txn(*store_);
  for (const auto& env : envelopes) {
    if (absl::Status s = ProcessLocked(env, &used_prekey); !s.ok()) return s;
  }
  return txn.Commit();
}

absl::Status Agent::AcceptAndFlush(const std::vector<pb::Envelope>& envelopes) {
  if (absl::Status s = Accept(envelopes); !s.ok()) return s;
  return FlushOutbox();
}

absl::StatusOr<size_t> Agent::Receive(absl::Duration wait, const EventCallback& cb) {
  std::shared_ptr<Transport> transport;
  {
    kars::MutexLock l(&mu_);
    if (!transport_) return NoTransport();
    transport = transport_;
  }
  auto batch = transport->Receive(wait, options_.receive_batch);
  if (!batch.ok()) return batch.status();
  if (!batch->empty()) {
    std::vector<uint64_t> seqs;
    bool used_prekey = false;
    {
      kars::MutexLock l(&mu_);
      StoreTxn txn(*store_);
      for (const auto& item : *batch) {
        if (absl::Status s = ProcessLocked(item.envelope(), &used_prekey); !s.ok()) return s;
        seqs.push_back(item.seq());
      }
      // Durable before the relay may forget them.
      if (absl::Status s = txn.Commit(); !s.ok()) return s;
    }
    // An ack lost here only means a redelivery, which the seen set turns into a duplicate.
    (void)transport->Ack(seqs);
    if (used_prekey) {
      kars::MutexLock l(&mu_);
      (void)MaintainKeysLocked();  // best effort: the next receive retries
    }
  }
  // Identity changes this batch found: the host's decider (if any) may unblock or drop them, so
  // that approved messages are delivered in this same call.
  if (absl::Status s = ReviewIdentities(); !s.ok()) return s;
  // Group control this batch produced (sender keys for new members, rotations) and re-handshake
  // requests: durable in the outbox already, so a failure here is retried by the next receive.
  (void)FlushOutbox();
  return Deliver(cb);
}

absl::StatusOr<size_t> Agent::Deliver(const EventCallback& cb) {
  kars::MutexLock deliver_lock(&deliver_mu_);
  std::vector<std::pair<std::string, std::string>> inbox;
  {
    kars::MutexLock l(&mu_);
    inbox = store_->List(Ns::kInbox);
  }
  size_t delivered = 0;
  for (const auto& [key, bytes] : inbox) {
    pb::AgentEvent ev;
    if (!ev.ParseFromString(bytes)) return TamperedError("agent inbox holds an unreadable event");
    if (cb(ev) != 0) {
      return CallbackError(absl::StrCat("receive callback returned non-zero; ", delivered,
                                        " events delivered, the rest stay queued"));
    }
    kars::MutexLock l(&mu_);
    if (auto r = store_->Delete(Ns::kInbox, key); !r.ok()) return r.status();
    ++delivered;
  }
  return delivered;
}

}  // namespace kars::mesh
