// A raw gRPC client of kars-relay for tests and the relay benchmark: an Ed25519 key (OpenSSL),
// the signed-challenge login, and authenticated calls. No Signal code: envelopes are opaque.
#ifndef KARS_TESTS_INTEGRATION_MESH_RELAY_TEST_CLIENT_H_
#define KARS_TESTS_INTEGRATION_MESH_RELAY_TEST_CLIENT_H_

#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kars/v1/mesh.grpc.pb.h"
#include "libkars/mesh/relay_client.h"

namespace kars::mesh::testing {

struct Ed25519 {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, EVP_PKEY_free};
  Ed25519() {
    EVP_PKEY* k = nullptr;
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_from_name(nullptr, "ED25519", nullptr), EVP_PKEY_CTX_free);
    EVP_PKEY_keygen_init(ctx.get());
    EVP_PKEY_keygen(ctx.get(), &k);
    key.reset(k);
  }
  std::string Public() const {
    unsigned char raw[32];
    size_t len = 32;
    EVP_PKEY_get_raw_public_key(key.get(), raw, &len);
    return std::string(reinterpret_cast<char*>(raw), len);
  }
  std::string Sign(const std::string& m) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    unsigned char sig[64];
    size_t len = 64;
    EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key.get(), nullptr);
    EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(m.data()),
                   m.size());
    return std::string(reinterpret_cast<char*>(sig), len);
  }
};

// A 33-byte "public key" of the shape the relay checks (it never interprets the bytes).
inline std::string FakeKey(char fill) { return std::string(1, '\x05') + std::string(32, fill); }

// One mailbox's connection to the relay: its own channel, authenticated on Login().
class RawRelayClient {
 public:
  RawRelayClient(const std::string& address, std::string mailbox,
                 std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials(),
                 const grpc::ChannelArguments& args = grpc::ChannelArguments())
      : mailbox_(std::move(mailbox)) {
    Connect(address, creds, args);
  }

  // A new channel (after a relay restart on another port); the mailbox key stays the same.
  void Connect(const std::string& address,
               std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials(),
               const grpc::ChannelArguments& args = grpc::ChannelArguments()) {
    stub_ = kars::v1::mesh::Relay::NewStub(grpc::CreateCustomChannel(address, creds, args));
  }

  // Challenge, signature, token; then (optionally) publishes keys so that others can send here.
  grpc::Status Login(bool publish = true) {
    grpc::ClientContext c1;
    c1.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    kars::v1::mesh::ChallengeRequest creq;
    creq.set_mailbox(mailbox_);
    kars::v1::mesh::ChallengeResponse cresp;
    grpc::Status st = stub_->Challenge(&c1, creq, &cresp);
    if (!st.ok()) return st;
    grpc::ClientContext c2;
    kars::v1::mesh::AuthenticateRequest areq;
    areq.set_mailbox(mailbox_);
    areq.set_auth_public_key(key_.Public());
    areq.set_nonce(cresp.nonce());
    areq.set_signature(key_.Sign(AuthChallengeMessage(mailbox_, cresp.nonce())));
    kars::v1::mesh::AuthenticateResponse aresp;
    st = stub_->Authenticate(&c2, areq, &aresp);
    token_ = aresp.token();
    if (!st.ok() || !publish) return st;
    grpc::ClientContext c3;
    Authorize(&c3);
    kars::v1::mesh::PublishKeysRequest preq;
    preq.set_registration_id(1);
    preq.set_identity_key(FakeKey('i'));
    preq.set_signed_prekey_id(1);
    preq.set_signed_prekey(FakeKey('s'));
    preq.set_signed_prekey_signature(std::string(64, 'g'));
    kars::v1::mesh::PublishKeysResponse presp;
    return stub_->PublishKeys(&c3, preq, &presp);
  }

  void Authorize(grpc::ClientContext* ctx) const {
    ctx->AddMetadata("authorization", "Bearer " + token_);
  }

  // Stores `envelope` for its recipient and, as a group fan-out, for every mailbox in `also_to`.
  grpc::Status Send(const kars::v1::mesh::Envelope& envelope, bool* duplicate = nullptr,
                    grpc::ClientContext* ctx = nullptr,
                    const std::vector<std::string>& also_to = {}) {
    grpc::ClientContext own;
    if (ctx == nullptr) ctx = &own;
    Authorize(ctx);
    kars::v1::mesh::SendRequest req;
    *req.mutable_envelope() = envelope;
    for (const auto& r : also_to) req.add_also_to(r);
    kars::v1::mesh::SendResponse resp;
    grpc::Status st = stub_->Send(ctx, req, &resp);
    if (duplicate != nullptr) *duplicate = resp.duplicate();
    return st;
  }

  // Sends `requests` on one SendStream (written by a second thread while this one reads the
  // answers), calling `answered(i, result)` for the answer to request i as it arrives; returns
  // the stream's final status. `ctx` (optional) outlives the call, e.g. to read trailers.
  grpc::Status SendStream(
      const std::vector<kars::v1::mesh::SendRequest>& requests,
      const std::function<void(size_t, const kars::v1::mesh::SendResult&)>& answered,
      bool authorize = true) {
    grpc::ClientContext ctx;
    if (authorize) Authorize(&ctx);
    auto rw = stub_->SendStream(&ctx);
    std::thread writer([&] {
      for (const auto& r : requests) {
        if (!rw->Write(r)) break;
      }
      rw->WritesDone();
    });
    kars::v1::mesh::SendStreamResponse resp;
    size_t next = 0;
    while (rw->Read(&resp)) {
      for (const auto& result : resp.results()) answered(next++, result);
    }
    writer.join();
    return rw->Finish();
  }

  grpc::Status Ack(const std::vector<uint64_t>& seqs) {
    grpc::ClientContext ctx;
    Authorize(&ctx);
    kars::v1::mesh::AckRequest req;
    for (uint64_t s : seqs) req.add_seqs(s);
    kars::v1::mesh::AckResponse resp;
    return stub_->Ack(&ctx, req, &resp);
  }

  // Opens the receive stream and reads until the caught-up marker (everything pending), or
  // until `deadline_ms` passes; returns the items in stream order.
  std::vector<kars::v1::mesh::ReceiveResponse> Pending(int deadline_ms = 10000) {
    grpc::ClientContext ctx;
    Authorize(&ctx);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
    auto reader = stub_->Receive(&ctx, kars::v1::mesh::ReceiveRequest());
    std::vector<kars::v1::mesh::ReceiveResponse> items;
    kars::v1::mesh::ReceiveResponse item;
    while (reader->Read(&item)) {
      if (item.caught_up()) break;
      items.push_back(item);
    }
    ctx.TryCancel();
    reader->Finish();
    return items;
  }

  kars::v1::mesh::Relay::Stub* stub() { return stub_.get(); }
  const std::string& mailbox() const { return mailbox_; }

 private:
  std::string mailbox_;
  Ed25519 key_;
  std::unique_ptr<kars::v1::mesh::Relay::Stub> stub_;
  std::string token_;
};

// A well-formed SIGNAL envelope to `to` with a random 16-byte id and `size` random bytes.
inline kars::v1::mesh::Envelope RandomEnvelope(const std::string& to, size_t size = 1088) {
  kars::v1::mesh::Envelope env;
  env.set_recipient(to);
  std::string id(16, '\0'), ct(size, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), 16);
  RAND_bytes(reinterpret_cast<unsigned char*>(ct.data()), static_cast<int>(ct.size()));
  env.set_message_id(id);
  env.set_type(kars::v1::mesh::CIPHERTEXT_TYPE_SIGNAL);
  env.set_ciphertext(ct);
  return env;
}

}  // namespace kars::mesh::testing

#endif  // KARS_TESTS_INTEGRATION_MESH_RELAY_TEST_CLIENT_H_
