// Transport security of the connection to a kars-relay: TLS with a CA bundle to trust, and
// optionally a client certificate for a relay that requires mutual TLS.
//
// The private key is a secret: every copy of this struct wipes it when destroyed, and no error
// message ever quotes it.
#ifndef KARS_MESH_RELAY_TLS_H_
#define KARS_MESH_RELAY_TLS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

#include "absl/status/status.h"

namespace kars::mesh {

struct RelayTls {
  RelayTls() = default;
  RelayTls(const RelayTls&) = default;
  RelayTls& operator=(const RelayTls&) = default;
  ~RelayTls();

  bool enabled = false;         // false: plaintext (loopback, tests)
  std::string root_certs_pem;   // CA bundle trusted for the relay; empty: gRPC's default roots
  std::string cert_chain_pem;   // client certificate chain (mTLS); empty: none
  std::string private_key_pem;  // its private key; secret
  std::string server_name;      // name checked in the relay's certificate; empty: the host
};

// Checks that every PEM given parses (CA bundle, certificate chain, private key), that the
// certificate and key come together and match. Errors: InvalidArgument naming the bad part.
absl::Status ValidateRelayTls(const RelayTls& tls);

// The channel credentials for `tls` (insecure when not enabled); sets the server-name override
// in `args` when one is given.
std::shared_ptr<grpc::ChannelCredentials> RelayChannelCredentials(const RelayTls& tls,
                                                                  grpc::ChannelArguments* args);

}  // namespace kars::mesh

#endif  // KARS_MESH_RELAY_TLS_H_
