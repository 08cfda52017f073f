// The relay's front door, over raw gRPC against a real relay process: health, authentication
// by signed challenge (single use, wrong key, wrong signature), and calls without a token.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>

#include "kars/v1/mesh.grpc.pb.h"
#include "libkars/mesh/relay_client.h"
#include "tests/integration/mesh/relay_process.h"
#include "tests/integration/mesh/relay_test_client.h"

namespace kars::mesh {
namespace {

namespace pb = kars::v1::mesh;
using testing::Ed25519;
using testing::RelayProcess;

class RelayAuth : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(relay_.address().empty());
    stub_ = pb::Relay::NewStub(
        grpc::CreateChannel(relay_.address(), grpc::InsecureChannelCredentials()));
  }
  std::string Nonce(const std::string& mailbox) {
    grpc::ClientContext ctx;
    pb::ChallengeRequest req;
    req.set_mailbox(mailbox);
    pb::ChallengeResponse resp;
    EXPECT_TRUE(stub_->Challenge(&ctx, req, &resp).ok());
    return resp.nonce();
  }
  grpc::Status Auth(const std::string& mailbox, const Ed25519& key, const std::string& nonce,
                    const std::string& signature, std::string* token = nullptr) {
    grpc::ClientContext ctx;
    pb::AuthenticateRequest req;
    req.set_mailbox(mailbox);
    req.set_auth_public_key(key.Public());
    req.set_nonce(nonce);
    req.set_signature(signature);
    pb::AuthenticateResponse resp;
    grpc::Status st = stub_->Authenticate(&ctx, req, &resp);
    if (token != nullptr) *token = resp.token();
    return st;
  }
  RelayProcess relay_;
  std::unique_ptr<pb::Relay::Stub> stub_;
};

TEST_F(RelayAuth, HealthReportsServing) {
  grpc::ClientContext ctx;
  pb::HealthResponse resp;
  ASSERT_TRUE(stub_->Health(&ctx, pb::HealthRequest(), &resp).ok());
  EXPECT_TRUE(resp.serving());
}

TEST_F(RelayAuth, ChallengeIsSingleUseAndBoundToTheKey) {
  Ed25519 alice, mallory;
  std::string nonce = Nonce("alice");
  // A signature by another key, or over another mailbox's challenge, does not verify.
  EXPECT_EQ(
      Auth("alice", alice, nonce, mallory.Sign(AuthChallengeMessage("alice", nonce))).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  nonce = Nonce("alice");
  EXPECT_EQ(
      Auth("alice", alice, nonce, alice.Sign(AuthChallengeMessage("bob", nonce))).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  nonce = Nonce("alice");
  std::string sig = alice.Sign(AuthChallengeMessage("alice", nonce));
  std::string token;
  ASSERT_TRUE(Auth("alice", alice, nonce, sig, &token).ok());
  EXPECT_FALSE(token.empty());
  // Replaying the same proof fails: the challenge was consumed.
  EXPECT_EQ(Auth("alice", alice, nonce, sig).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // The mailbox is now bound to alice's key: mallory cannot take it over.
  nonce = Nonce("alice");
  grpc::Status st =
      Auth("alice", mallory, nonce, mallory.Sign(AuthChallengeMessage("alice", nonce)));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(st.error_message().find("registered to another key"), std::string::npos);
}

TEST_F(RelayAuth, CallsWithoutAValidTokenAreRejected) {
  for (const char* header : {"", "Bearer nonsense", "Basic abc"}) {
    grpc::ClientContext ctx;
    if (*header != '\0') ctx.AddMetadata("authorization", header);
    pb::SendRequest req;
    req.mutable_envelope()->set_recipient("bob");
    pb::SendResponse resp;
    EXPECT_EQ(stub_->Send(&ctx, req, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << header;
  }
  grpc::ClientContext ctx;
  pb::FetchBundleRequest req;
  req.set_mailbox("bob");
  pb::PreKeyBundle resp;
  EXPECT_EQ(stub_->FetchBundle(&ctx, req, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RelayAuth, MalformedEnvelopesAreRejectedByName) {
  Ed25519 alice;
  std::string nonce = Nonce("alice"), token;
  ASSERT_TRUE(
      Auth("alice", alice, nonce, alice.Sign(AuthChallengeMessage("alice", nonce)), &token).ok());
  auto send = [&](const pb::Envelope& e) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    pb::SendRequest req;
    *req.mutable_envelope() = e;
    pb::SendResponse resp;
    return stub_->Send(&ctx, req, &resp);
  };
  pb::Envelope good;
  good.set_recipient("bob");
  good.set_message_id(std::string(16, 'i'));
  good.set_type(pb::CIPHERTEXT_TYPE_SIGNAL);
  good.set_ciphertext("c");
  EXPECT_EQ(send(good).error_code(), grpc::StatusCode::NOT_FOUND);  // bob never registered
  pb::Envelope e = good;
  e.set_recipient("no spaces");
  EXPECT_EQ(send(e).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  e = good;
  e.set_message_id("x");
  EXPECT_NE(send(e).error_message().find("message id"), std::string::npos);
  e = good;
  e.set_type(pb::CIPHERTEXT_TYPE_EXPIRY_NOTICE);  // only the relay writes those
  EXPECT_EQ(send(e).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  e = good;
  e.clear_ciphertext();
  EXPECT_NE(send(e).error_message().find("empty"), std::string::npos);
  e = good;
  e.set_type(pb::CIPHERTEXT_TYPE_SENDER_KEY);  // without a group id
  EXPECT_NE(send(e).error_message().find("group id"), std::string::npos);
}

}  // namespace
}  // namespace kars::mesh
