// The relay's transport credentials: plaintext (loopback, tests), TLS, or mutual TLS.
//
// With a certificate and key the relay serves TLS; adding a client CA makes it require and
// verify a client certificate signed by that CA on every connection (mTLS), refusing the
// handshake otherwise. Clients still authenticate their mailbox by signed challenge: the
// certificate admits a machine, the challenge proves the mailbox's key.
#ifndef KARS_HOSTS_RELAY_TLS_H_
#define KARS_HOSTS_RELAY_TLS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

namespace kars::relay {

struct TlsFiles {
  std::string cert;       // PEM certificate chain of the relay; empty: no TLS
  std::string key;        // PEM private key of that certificate
  std::string client_ca;  // PEM CA bundle for client certificates; empty: no client auth
};

// The credentials for `files`, or nullptr with *error naming the missing or unreadable file.
std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(const TlsFiles& files,
                                                              std::string* error);

}  // namespace kars::relay

#endif  // KARS_HOSTS_RELAY_TLS_H_
