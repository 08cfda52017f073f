#include "hosts/relay/relay_service.h"

#include <algorithm>
#include <cctype>

namespace kars::relay {

namespace pb = kars::v1::mesh;

grpc::Status Unauthenticated() {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      "missing or unknown bearer token; authenticate first");
}

namespace {

grpc::Status BadMailbox(const std::string& what) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      what + " must be 1 to 128 bytes of letters, digits and . _ - @");
}

}  // namespace

bool ValidMailbox(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '-' && c != '@') return false;
  }
  return true;
}

std::optional<std::string> RelayService::Caller(grpc::ServerContextBase* ctx) {
  auto it = ctx->client_metadata().find("authorization");
  if (it == ctx->client_metadata().end()) return std::nullopt;
  return auth_->MailboxFor(std::string(it->second.data(), it->second.size()));
}

grpc::Status RelayService::Challenge(grpc::ServerContext*, const pb::ChallengeRequest* req,
                                     pb::ChallengeResponse* resp) {
  if (!ValidMailbox(req->mailbox())) return BadMailbox("mailbox");
  resp->set_nonce(auth_->NewChallenge(req->mailbox()));
  return grpc::Status::OK;
}

grpc::Status RelayService::Authenticate(grpc::ServerContext*, const pb::AuthenticateRequest* req,
                                        pb::AuthenticateResponse* resp) {
  if (!ValidMailbox(req->mailbox())) return BadMailbox("mailbox");
  if (auto why =
          auth_->Verify(req->mailbox(), req->auth_public_key(), req->nonce(), req->signature())) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, *why);
  }
  grpc::Status st = db_->BindAuthKey(req->mailbox(), req->auth_public_key());
  if (!st.ok()) return st;
  resp->set_token(auth_->IssueToken(req->mailbox()));
  return grpc::Status::OK;
}

grpc::Status RelayService::PublishKeys(grpc::ServerContext* ctx, const pb::PublishKeysRequest* req,
                                       pb::PublishKeysResponse* resp) {
  auto me = Caller(ctx);
  if (!me) return Unauthenticated();
  if (req->identity_key().size() != 33 || req->signed_prekey().size() != 33 ||
      req->signed_prekey_signature().size() != 64) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "identity key and signed prekey must be 33-byte keys with a 64-byte "
                        "signature");
  }
  if (req->one_time_prekeys_size() > 1000) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "at most 1000 prekeys per publish");
  }
  for (const auto& k : req->one_time_prekeys()) {
    if (k.id() == 0 || k.public_key().size() != 33) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "one-time prekeys need a non-zero id and a 33-byte key");
    }
  }
  uint32_t remaining = 0;
  grpc::Status st = db_->PublishKeys(*me, *req, &remaining);
  resp->set_one_time_prekeys_remaining(remaining);
  return st;
}

grpc::Status RelayService::FetchBundle(grpc::ServerContext* ctx, const pb::FetchBundleRequest* req,
                                       pb::PreKeyBundle* resp) {
  auto me = Caller(ctx);
  if (!me) return Unauthenticated();
  if (!ValidMailbox(req->mailbox())) return BadMailbox("mailbox");
  return db_->FetchBundle(req->mailbox(), resp);
}

grpc::Status RelayService::Admit(const std::string& me, const pb::SendRequest& req,
                                 std::vector<pb::Envelope>* copies, int64_t* retry_after_ms) {
  const pb::Envelope& in = req.envelope();
  if (!ValidMailbox(in.recipient())) return BadMailbox("recipient");
  if (in.message_id().size() != 16) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "message id must be 16 bytes");
  }
  if (in.type() != pb::CIPHERTEXT_TYPE_PREKEY && in.type() != pb::CIPHERTEXT_TYPE_SIGNAL &&
      in.type() != pb::CIPHERTEXT_TYPE_SENDER_KEY) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "ciphertext type must be PREKEY, SIGNAL or SENDER_KEY");
  }
  if ((in.type() == pb::CIPHERTEXT_TYPE_SENDER_KEY) != !in.group_id().empty() ||
      (!in.group_id().empty() && !ValidMailbox(in.group_id()))) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "a SENDER_KEY envelope needs a valid group id, and only it has one");
  }
  if (req.also_to_size() > 1000) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "at most 1000 fan-out recipients");
  }
  for (const auto& r : req.also_to()) {
    if (!ValidMailbox(r)) return BadMailbox("fan-out recipient");
  }
  if (in.ciphertext().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "ciphertext is empty");
  }
  if (!auth_->Allow(me, retry_after_ms)) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "rate limit exceeded for '" + me + "'; retry after " +
                            std::to_string(*retry_after_ms) + " ms");
  }
  copies->assign(1, in);
  (*copies)[0].set_sender(me);  // never trust the client's claim
  for (const auto& r : req.also_to()) {
    copies->push_back((*copies)[0]);
    copies->back().set_recipient(r);
  }
  return grpc::Status::OK;
}

grpc::Status RelayService::Receive(grpc::ServerContext* ctx, const pb::ReceiveRequest*,
                                   grpc::ServerWriter<pb::ReceiveResponse>* writer) {
  auto me = Caller(ctx);
  if (!me) return Unauthenticated();
  uint64_t after = 0;
  bool caught_up_sent = false;
  while (!ctx->IsCancelled() && !stopping_) {
    std::vector<Stored> batch;
    uint64_t newest = 0;
    grpc::Status st = db_->Pending(*me, after, 256, &batch, &newest);
    if (!st.ok()) return st;
    for (auto& s : batch) {
      pb::ReceiveResponse item;
      item.set_seq(s.seq);
      *item.mutable_envelope() = std::move(s.envelope);
      if (!writer->Write(item)) return grpc::Status::CANCELLED;
      after = s.seq;
    }
    if (batch.empty()) {
      after = std::max(after, newest);  // everything up to newest was acked already
      if (!caught_up_sent) {
        pb::ReceiveResponse marker;
        marker.set_caught_up(true);
        if (!writer->Write(marker)) return grpc::Status::CANCELLED;
        caught_up_sent = true;
      }
      db_->WaitForNew(*me, after, 200);
    }
  }
  if (stopping_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "relay is shutting down");
  return grpc::Status::CANCELLED;
}

grpc::Status RelayService::Ack(grpc::ServerContext* ctx, const pb::AckRequest* req,
                               pb::AckResponse*) {
  auto me = Caller(ctx);
  if (!me) return Unauthenticated();
  return db_->Ack(*me, std::vector<uint64_t>(req->seqs().begin(), req->seqs().end()));
}

grpc::Status RelayService::Health(grpc::ServerContext*, const pb::HealthRequest*,
                                  pb::HealthResponse* resp) {
  resp->set_serving(!stopping_);
  return grpc::Status::OK;
}

}  // namespace kars::relay
