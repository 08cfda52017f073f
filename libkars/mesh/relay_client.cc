#include "libkars/mesh/relay_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"

namespace kars::mesh {

namespace pb = kars::v1::mesh;

std::string AuthChallengeMessage(absl::string_view mailbox, absl::string_view nonce) {
  std::string m("kars-mesh-auth-v1");
  m.push_back('\0');
  m.append(mailbox.data(), mailbox.size());
  m.push_back('\0');
  m.append(nonce.data(), nonce.size());
  return m;
}

absl::Status FromGrpc(absl::string_view what, const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat("relay ", what, ": ", status.error_message());
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return absl::InvalidArgumentError(msg);
    case grpc::StatusCode::NOT_FOUND:
      return absl::NotFoundError(msg);
    case grpc::StatusCode::ALREADY_EXISTS:
      return MakeStatus(KARS_E_EXISTS, msg);
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return MakeStatus(KARS_E_DENIED, msg);
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return MakeStatus(KARS_E_EXHAUSTED, msg);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return MakeStatus(KARS_E_PRECONDITION, msg);
    case grpc::StatusCode::CANCELLED:
      return MakeStatus(KARS_E_CANCELLED, msg);
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return MakeStatus(KARS_E_UNAVAILABLE, msg);
    default:
      return absl::InternalError(msg);
  }
}

RelayClient::RelayClient(const std::string& address, std::string mailbox,
                         std::string auth_public_key, Signer sign, absl::Duration rpc_timeout,
                         const RelayTls& tls)
    : address_(address),
      mailbox_(std::move(mailbox)),
      auth_public_key_(std::move(auth_public_key)),
      sign_(std::move(sign)),
      rpc_timeout_(rpc_timeout),
      tls_(tls.enabled) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(8 * 1024 * 1024);
  args.SetMaxSendMessageSize(8 * 1024 * 1024);
  // Reconnect quickly after a relay restart instead of gRPC's default multi-second backoff.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  auto creds = RelayChannelCredentials(tls, &args);
  stub_ = pb::Relay::NewStub(grpc::CreateCustomChannel(address, creds, args));
}

std::string RelayClient::ConnectionFailure() {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  pb::HealthResponse resp;
  grpc::Status st = stub_->Health(&ctx, pb::HealthRequest(), &resp);
  return st.ok() ? std::string() : st.error_message();
}

absl::Status RelayClient::Authenticate() {
  grpc::ClientContext c1;
  c1.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(rpc_timeout_));
  c1.set_wait_for_ready(true);
  pb::ChallengeRequest creq;
  creq.set_mailbox(mailbox_);
  pb::ChallengeResponse cresp;
  grpc::Status challenged = stub_->Challenge(&c1, creq, &cresp);
  if (challenged.error_code() == grpc::StatusCode::UNAVAILABLE ||
      challenged.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    // Waiting for a ready channel hides why it never became ready; ask once without waiting.
    std::string why = ConnectionFailure();
    return MakeStatus(
        KARS_E_UNAVAILABLE,
        absl::StrCat("relay ", address_, " unreachable",
                     tls_ ? " over TLS (check the CA bundle, the client certificate and the "
                            "server name; a relay refusing a client certificate closes the "
                            "connection)"
                          : "",
                     ": ",
                     challenged.error_message(), why.empty() ? "" : "; last connection error: ",
                     why));
  }
  if (absl::Status s = FromGrpc("challenge", challenged); !s.ok()) return s;
  auto sig = sign_(AuthChallengeMessage(mailbox_, cresp.nonce()));
  if (!sig.ok()) return sig.status();
  grpc::ClientContext c2;
  c2.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(rpc_timeout_));
  pb::AuthenticateRequest areq;
  areq.set_mailbox(mailbox_);
  areq.set_auth_public_key(auth_public_key_);
  areq.set_nonce(cresp.nonce());
  areq.set_signature(*sig);
  pb::AuthenticateResponse aresp;
  if (absl::Status s = FromGrpc("authenticate", stub_->Authenticate(&c2, areq, &aresp)); !s.ok()) {
    return s;
  }
  kars::MutexLock l(&mu_);
  token_ = aresp.token();
  return absl::OkStatus();
}

absl::StatusOr<std::string> RelayClient::Token() {
  {
    kars::MutexLock l(&mu_);
    if (!token_.empty()) return token_;
  }
  if (absl::Status s = Authenticate(); !s.ok()) return s;
  kars::MutexLock l(&mu_);
  return token_;
}

absl::Status RelayClient::Call(absl::string_view what,
                               const std::function<grpc::Status(grpc::ClientContext&)>& call) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto token = Token();
    if (!token.ok()) return token.status();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(rpc_timeout_));
    ctx.set_wait_for_ready(true);
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", *token));
    grpc::Status st = call(ctx);
    if (st.error_code() == grpc::StatusCode::UNAUTHENTICATED && attempt == 0) {
      kars::MutexLock l(&mu_);
      if (token_ == *token) token_.clear();
      continue;
    }
    return FromGrpc(what, st);
  }
  return MakeStatus(KARS_E_DENIED, absl::StrCat("relay ", what, ": authentication rejected"));
}

absl::StatusOr<uint32_t> RelayClient::PublishKeys(const pb::PublishKeysRequest& req) {
  pb::PublishKeysResponse resp;
  absl::Status s = Call("publish keys", [&](grpc::ClientContext& ctx) {
    return stub_->PublishKeys(&ctx, req, &resp);
  });
  if (!s.ok()) return s;
  return resp.one_time_prekeys_remaining();
}

absl::StatusOr<pb::PreKeyBundle> RelayClient::FetchBundle(absl::string_view mailbox) {
  pb::FetchBundleRequest req;
  req.set_mailbox(std::string(mailbox.data(), mailbox.size()));
  pb::PreKeyBundle resp;
  absl::Status s = Call("fetch bundle", [&](grpc::ClientContext& ctx) {
    return stub_->FetchBundle(&ctx, req, &resp);
  });
  if (!s.ok()) return s;
  return resp;
}

absl::StatusOr<bool> RelayClient::Send(const pb::Envelope& envelope) {
  return Fanout(envelope, {});
}

absl::StatusOr<bool> RelayClient::Fanout(const pb::Envelope& envelope,
                                         const std::vector<std::string>& also_to) {
  pb::SendRequest req;
  *req.mutable_envelope() = envelope;
  for (const auto& r : also_to) req.add_also_to(r);
  pb::SendResponse resp;
  absl::Status s =
      Call("send", [&](grpc::ClientContext& ctx) { return stub_->Send(&ctx, req, &resp); });
  if (!s.ok()) return s;
  return resp.duplicate();
}

grpc::Status RelayClient::StreamOnce(const std::string& token,
                                     const std::vector<pb::SendRequest>& requests,
                                     std::vector<absl::StatusOr<bool>>* out) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(rpc_timeout_));
  ctx.set_wait_for_ready(true);
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  auto stream = stub_->SendStream(&ctx);
  // Written from a second thread while this one reads: the relay holds back a stream whose
  // answers are not read, so writing everything first could stall both sides.
  std::thread writer([&] {
    for (const auto& r : requests) {
      if (!stream->Write(r)) break;
    }
    stream->WritesDone();
  });
  pb::SendStreamResponse resp;
  size_t next = 0;
  while (stream->Read(&resp)) {
    for (const auto& r : resp.results()) {
      if (next >= requests.size()) break;  // a relay answering more than was asked: ignored
      grpc::Status st(static_cast<grpc::StatusCode>(r.code()), r.error_message());
      if (st.ok()) {
        (*out)[next] = r.duplicate();
      } else {
        (*out)[next] = FromGrpc("send", st);
      }
      ++next;
    }
  }
  writer.join();
  grpc::Status st = stream->Finish();
  if (st.ok() && next < requests.size()) {
    st = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the relay ended the stream unanswered");
  }
  for (size_t i = next; i < requests.size(); ++i) (*out)[i] = FromGrpc("send", st);
  return st;
}

std::vector<absl::StatusOr<bool>> RelayClient::SendMany(
    const std::vector<pb::SendRequest>& requests) {
  if (requests.size() < 2) return Transport::SendMany(requests);
  std::vector<absl::StatusOr<bool>> out(requests.size(), absl::UnknownError("not sent"));
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto token = Token();
    if (!token.ok()) return std::vector<absl::StatusOr<bool>>(requests.size(), token.status());
    grpc::Status st = StreamOnce(*token, requests, &out);
    // The relay refuses a stream without a valid token before answering any request.
    if (st.error_code() == grpc::StatusCode::UNAUTHENTICATED && attempt == 0) {
      kars::MutexLock l(&mu_);
      if (token_ == *token) token_.clear();
      continue;
    }
    break;
  }
  return out;
}

absl::StatusOr<std::vector<pb::ReceiveResponse>> RelayClient::Receive(absl::Duration wait,
                                                                      size_t max) {
  std::vector<pb::ReceiveResponse> out;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto token = Token();
    if (!token.ok()) return token.status();
    grpc::ClientContext ctx;
    // The stream ends at the deadline when nothing arrives: that is an empty result, not an error.
    ctx.set_deadline(std::chrono::system_clock::now() +
                     absl::ToChronoMilliseconds(std::max(wait, absl::Milliseconds(200))));
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", *token));
    pb::ReceiveRequest req;
    auto reader = stub_->Receive(&ctx, req);
    pb::ReceiveResponse item;
    bool stopped_early = false;
    while (reader->Read(&item)) {
      if (item.caught_up()) {
        if (!out.empty() || wait <= absl::ZeroDuration()) {
          stopped_early = true;
          break;
        }
        continue;
      }
      out.push_back(std::move(item));
      if (out.size() >= max) {
        stopped_early = true;
        break;
      }
    }
    if (stopped_early) {
      ctx.TryCancel();
      (void)reader->Finish();
      return out;
    }
    grpc::Status st = reader->Finish();
    if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && !out.empty()) return out;
    if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return out;
    if (st.error_code() == grpc::StatusCode::UNAUTHENTICATED && attempt == 0) {
      kars::MutexLock l(&mu_);
      if (token_ == *token) token_.clear();
      continue;
    }
    if (!st.ok()) {
      // Whatever arrived before the failure is returned; the rest stays at the relay.
      if (!out.empty()) return out;
      return FromGrpc("receive", st);
    }
    return out;
  }
  return out;
}

absl::Status RelayClient::Ack(const std::vector<uint64_t>& seqs) {
  if (seqs.empty()) return absl::OkStatus();
  pb::AckRequest req;
  for (uint64_t s : seqs) req.add_seqs(s);
  pb::AckResponse resp;
  return Call("ack", [&](grpc::ClientContext& ctx) { return stub_->Ack(&ctx, req, &resp); });
}

}  // namespace kars::mesh
