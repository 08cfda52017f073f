// Optional mutual TLS against a real relay process, with certificates made at test time by the
// openssl CLI: a test CA, a relay certificate for 127.0.0.1/localhost, a client certificate from
// that CA, and one from another CA. Only the client with the right certificate gets through.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tests/integration/mesh/relay_process.h"
#include "tests/integration/mesh/relay_test_client.h"
#include "tests/integration/mesh/test_certificates.h"

namespace kars::mesh {
namespace {

namespace pb = kars::v1::mesh;
using testing::Certificates;
using testing::RawRelayClient;
using testing::RelayProcess;

class RelayTls : public ::testing::Test {
 protected:
  // Health over a fresh channel with `creds`; the status of the call.
  grpc::Status Health(const std::string& address,
                      const std::shared_ptr<grpc::ChannelCredentials>& creds) {
    auto stub = pb::Relay::NewStub(grpc::CreateChannel(address, creds));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    pb::HealthResponse resp;
    return stub->Health(&ctx, pb::HealthRequest(), &resp);
  }
  std::shared_ptr<grpc::ChannelCredentials> Client(const std::string& cert) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = certs_.Pem("ca.pem");
    if (!cert.empty()) {
      o.pem_cert_chain = certs_.Pem(cert + ".pem");
      o.pem_private_key = certs_.Pem(cert + ".key");
    }
    return grpc::SslCredentials(o);
  }
  Certificates certs_;
};

TEST_F(RelayTls, MutualTlsAdmitsOnlyAClientCertificateFromTheConfiguredCa) {
  ASSERT_TRUE(certs_.ok()) << "openssl could not make the test certificates";
  RelayProcess relay({"--tls-cert", certs_.Path("server.pem"), "--tls-key",
                      certs_.Path("server.key"), "--tls-client-ca", certs_.Path("ca.pem")});
  ASSERT_FALSE(relay.address().empty());
  EXPECT_TRUE(Health(relay.address(), Client("client")).ok());
  // The whole relay protocol works over it: login, publish, send.
  RawRelayClient bob(relay.address(), "bob", Client("client"));
  ASSERT_TRUE(bob.Login().ok());
  RawRelayClient alice(relay.address(), "alice", Client("client"));
  ASSERT_TRUE(alice.Login(false).ok());
  EXPECT_TRUE(alice.Send(testing::RandomEnvelope("bob")).ok());
  // No client certificate, one from another CA, or no TLS at all: refused at the handshake.
  EXPECT_EQ(Health(relay.address(), Client("")).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Health(relay.address(), Client("rogue")).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Health(relay.address(), grpc::InsecureChannelCredentials()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(RelayTls, ConfigFileEquivalentsEnableMutualTls) {
  ASSERT_TRUE(certs_.ok());
  std::string config = certs_.Path("relay.conf");
  std::ofstream(config) << "# mTLS from the config file\n"
                        << "tls-cert = " << certs_.Path("server.pem") << "\n"
                        << "tls-key = " << certs_.Path("server.key") << "\n"
                        << "tls-client-ca = " << certs_.Path("ca.pem") << "\n";
  RelayProcess relay({"--config", config});
  ASSERT_FALSE(relay.address().empty());
  EXPECT_TRUE(Health(relay.address(), Client("client")).ok());
  EXPECT_EQ(Health(relay.address(), Client("")).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(RelayTls, TlsWithoutClientCaServesAnyTlsClient) {
  ASSERT_TRUE(certs_.ok());
  RelayProcess relay({"--tls-cert", certs_.Path("server.pem"), "--tls-key",
                      certs_.Path("server.key")});
  ASSERT_FALSE(relay.address().empty());
  EXPECT_TRUE(Health(relay.address(), Client("")).ok());
  EXPECT_EQ(Health(relay.address(), grpc::InsecureChannelCredentials()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(RelayTls, IncompleteOrUnreadableTlsOptionsStopTheRelayAtStart) {
  ASSERT_TRUE(certs_.ok());
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--tls-client-ca", certs_.Path("ca.pem")},
           {"--tls-cert", certs_.Path("server.pem")},
           {"--tls-cert", certs_.Path("missing.pem"), "--tls-key", certs_.Path("server.key")},
           {"--tls-cert", certs_.Path("server.ext"), "--tls-key", certs_.Path("server.key")}}) {
    RelayProcess relay(args);
    EXPECT_TRUE(relay.address().empty()) << args[0] << " " << args[1];
    int status = relay.Stop(SIGKILL);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << args[1];
  }
}

}  // namespace
}  // namespace kars::mesh
