// Agents on the mesh C ABI (kars/mesh.h) against a real relay process that requires mutual TLS,
// with certificates made at test time: agents with a client certificate from the relay's client
// CA exchange messages; one without a certificate, with one from another CA, or trusting the
// wrong CA is refused at connect time with KARS_E_UNAVAILABLE naming the relay and TLS, and what
// the relay holds for it is still delivered once it connects properly.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "kars/mesh.h"
#include "tests/integration/mesh/relay_process.h"
#include "tests/integration/mesh/test_certificates.h"

namespace kars::mesh {
namespace {

using testing::Certificates;
using testing::RelayProcess;

struct Inbox {
  std::vector<std::string> bodies;
};

int Collect(const kars_mesh_event* ev, void* userdata) {
  if (kars_mesh_event_get_kind(ev) != KARS_MESH_EVENT_MESSAGE) return 0;
  size_t len = 0;
  const uint8_t* body = kars_mesh_event_get_body(ev, &len);
  static_cast<Inbox*>(userdata)->bodies.emplace_back(reinterpret_cast<const char*>(body), len);
  return 0;
}

class AgentTls : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(certs_.ok()) << "openssl could not make the test certificates";
    relay_ = std::make_unique<RelayProcess>(std::vector<std::string>{
        "--tls-cert", certs_.Path("server.pem"), "--tls-key", certs_.Path("server.key"),
        "--tls-client-ca", certs_.Path("ca.pem")});
    ASSERT_FALSE(relay_->address().empty());
  }
  void TearDown() override {
    for (auto* a : agents_) kars_mesh_agent_free(a);
  }

  // Options trusting `ca` (a name in certs_) and presenting client certificate `client` ("" =
  // none).
  kars_mesh_options* Options(const std::string& ca, const std::string& client) {
    kars_mesh_options* o = nullptr;
    EXPECT_EQ(kars_mesh_options_new(&o, nullptr), KARS_OK);
    EXPECT_EQ(kars_mesh_options_set_relay_timeout_ms(o, 3000, nullptr), KARS_OK);
    std::string ca_pem = certs_.Pem(ca + ".pem");
    std::string cert = client.empty() ? "" : certs_.Pem(client + ".pem");
    std::string key = client.empty() ? "" : certs_.Pem(client + ".key");
    kars_error* err = nullptr;
    EXPECT_EQ(kars_mesh_options_set_relay_tls(o, ca_pem.data(), ca_pem.size(),
                                              client.empty() ? nullptr : cert.data(), cert.size(),
                                              client.empty() ? nullptr : key.data(), key.size(),
                                              nullptr, &err),
              KARS_OK)
        << kars_error_message(err);
    kars_error_free(err);
    return o;
  }

  // Opens agent `name` in its own directory and connects it; the status, *message the error.
  kars_status Connect(const std::string& name, kars_mesh_options* o, kars_mesh_agent** out,
                      std::string* message = nullptr) {
    kars_mesh_agent* agent = nullptr;
    kars_error* err = nullptr;
    std::string dir = relay_->dir() + "/" + name;
    kars_status st = kars_mesh_agent_open(&agent, dir.c_str(), name.c_str(), o, &err);
    kars_mesh_options_free(o);
    if (st == KARS_OK) st = kars_mesh_agent_connect(agent, relay_->address().c_str(), &err);
    if (message != nullptr && err != nullptr) *message = kars_error_message(err);
    kars_error_free(err);
    if (st != KARS_OK) {
      kars_mesh_agent_free(agent);
      agent = nullptr;
    } else {
      agents_.push_back(agent);
    }
    *out = agent;
    return st;
  }

  void Close(kars_mesh_agent* agent) {
    std::erase(agents_, agent);
    kars_mesh_agent_free(agent);
  }

  static kars_status Send(kars_mesh_agent* from, const char* to, const std::string& body) {
    return kars_mesh_agent_send(nullptr, from, to, reinterpret_cast<const uint8_t*>(body.data()),
                                body.size(), 0, nullptr);
  }

  static Inbox ReceiveAtLeast(kars_mesh_agent* agent, size_t n) {
    Inbox in;
    for (int i = 0; i < 20 && in.bodies.size() < n; ++i) {
      if (kars_mesh_agent_receive(nullptr, agent, 500, Collect, &in, nullptr) != KARS_OK) break;
    }
    return in;
  }

  Certificates certs_;
  std::unique_ptr<RelayProcess> relay_;
  std::vector<kars_mesh_agent*> agents_;
};

TEST_F(AgentTls, TwoAgentsExchangeMessagesOverMutualTls) {
  kars_mesh_agent *alice = nullptr, *bob = nullptr;
  ASSERT_EQ(Connect("bob", Options("ca", "client"), &bob), KARS_OK);
  ASSERT_EQ(Connect("alice", Options("ca", "client"), &alice), KARS_OK);
  ASSERT_EQ(Send(alice, "bob", "over mutual TLS"), KARS_OK);
  Inbox at_bob = ReceiveAtLeast(bob, 1);
  ASSERT_EQ(at_bob.bodies.size(), 1u);
  EXPECT_EQ(at_bob.bodies[0], "over mutual TLS");
  ASSERT_EQ(Send(bob, "alice", "and back"), KARS_OK);
  Inbox at_alice = ReceiveAtLeast(alice, 1);
  ASSERT_EQ(at_alice.bodies.size(), 1u);
  EXPECT_EQ(at_alice.bodies[0], "and back");
}

TEST_F(AgentTls, RefusedHandshakesFailToConnectByNameAndLoseNothing) {
  kars_mesh_agent *alice = nullptr, *bob = nullptr;
  ASSERT_EQ(Connect("bob", Options("ca", "client"), &bob), KARS_OK);
  Close(bob);  // bob is offline; alice's message waits at the relay
  ASSERT_EQ(Connect("alice", Options("ca", "client"), &alice), KARS_OK);
  ASSERT_EQ(Send(alice, "bob", "kept for bob"), KARS_OK);

  struct Case {
    const char* what;
    std::string ca, client;
  };
  for (const Case& c : {Case{"no client certificate", "ca", ""},
                        Case{"client certificate from another CA", "ca", "rogue"},
                        Case{"relay certificate from an untrusted CA", "rogue-ca", "client"}}) {
    std::string message;
    EXPECT_EQ(Connect("bob", Options(c.ca, c.client), &bob, &message), KARS_E_UNAVAILABLE)
        << c.what;
    EXPECT_NE(message.find("relay " + relay_->address()), std::string::npos) << message;
    EXPECT_NE(message.find("TLS"), std::string::npos) << message;
    EXPECT_NE(message.find("last connection error"), std::string::npos) << message;
    EXPECT_EQ(message.find("PRIVATE KEY"), std::string::npos) << message;
  }
  // Properly configured again, bob gets what was kept for him.
  ASSERT_EQ(Connect("bob", Options("ca", "client"), &bob), KARS_OK);
  Inbox at_bob = ReceiveAtLeast(bob, 1);
  ASSERT_EQ(at_bob.bodies.size(), 1u);
  EXPECT_EQ(at_bob.bodies[0], "kept for bob");
}

TEST_F(AgentTls, BadTlsOptionsAreRefusedByName) {
  kars_mesh_options* o = nullptr;
  ASSERT_EQ(kars_mesh_options_new(&o, nullptr), KARS_OK);
  std::string ca = certs_.Pem("ca.pem"), cert = certs_.Pem("client.pem"),
              key = certs_.Pem("client.key"), other_key = certs_.Pem("rogue.key");
  struct Case {
    const char *ca, *cert, *key;
    size_t ca_len, cert_len, key_len;
    const char* expect;
  };
  const std::string junk = "not a certificate";
  for (const Case& c : {
           Case{junk.data(), nullptr, nullptr, junk.size(), 0, 0, "CA bundle"},
           Case{ca.data(), cert.data(), nullptr, ca.size(), cert.size(), 0, "go together"},
           Case{ca.data(), junk.data(), key.data(), ca.size(), junk.size(), key.size(),
                "certificate chain"},
           Case{ca.data(), cert.data(), junk.data(), ca.size(), cert.size(), junk.size(),
                "private key is not"},
           Case{ca.data(), cert.data(), other_key.data(), ca.size(), cert.size(),
                other_key.size(), "does not belong"},
           Case{nullptr, nullptr, nullptr, 5, 0, 0, "without its buffer"}}) {
    kars_error* err = nullptr;
    EXPECT_EQ(kars_mesh_options_set_relay_tls(o, c.ca, c.ca_len, c.cert, c.cert_len, c.key,
                                              c.key_len, nullptr, &err),
              KARS_E_INVALID_ARGUMENT)
        << c.expect;
    std::string message = err != nullptr ? kars_error_message(err) : "";
    EXPECT_NE(message.find(c.expect), std::string::npos) << message;
    EXPECT_EQ(message.find("PRIVATE KEY"), std::string::npos) << message;
    kars_error_free(err);
  }
  EXPECT_EQ(kars_mesh_options_set_relay_tls(nullptr, nullptr, 0, nullptr, 0, nullptr, 0, nullptr,
                                            nullptr),
            KARS_E_INVALID_ARGUMENT);
  // The server-name override is honoured: a name absent from the relay's certificate fails.
  EXPECT_EQ(kars_mesh_options_set_relay_tls(o, ca.data(), ca.size(), cert.data(), cert.size(),
                                            key.data(), key.size(), "not-the-relay.example",
                                            nullptr),
            KARS_OK);
  kars_mesh_agent* agent = nullptr;
  std::string message;
  EXPECT_EQ(Connect("carol", o, &agent, &message), KARS_E_UNAVAILABLE) << message;
  EXPECT_NE(message.find("not-the-relay.example"), std::string::npos) << message;
  ASSERT_EQ(kars_mesh_options_new(&o, nullptr), KARS_OK);
  EXPECT_EQ(kars_mesh_options_set_relay_tls(o, ca.data(), ca.size(), cert.data(), cert.size(),
                                            key.data(), key.size(), "localhost", nullptr),
            KARS_OK);
  EXPECT_EQ(Connect("carol", o, &agent, &message), KARS_OK) << message;
}

}  // namespace
}  // namespace kars::mesh
