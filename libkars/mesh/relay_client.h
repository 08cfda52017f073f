// The gRPC client of a kars-relay. Authenticates with the agent's Ed25519 key (challenge,
// signature, bearer token) and re-authenticates once when the relay forgot the token (restart).
//
// Thread-safety: thread-safe.
#ifndef KARS_MESH_RELAY_CLIENT_H_
#define KARS_MESH_RELAY_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "libkars/base/sync.h"
#include "kars/v1/mesh.grpc.pb.h"
#include "libkars/mesh/relay_tls.h"
#include "libkars/mesh/transport.h"

namespace kars::mesh {

using Signer = std::function<absl::StatusOr<std::string>(absl::string_view message)>;

// The bytes a client signs to prove possession of its authentication key.
std::string AuthChallengeMessage(absl::string_view mailbox, absl::string_view nonce);

class RelayClient : public Transport {
 public:
  // `tls` selects plaintext, TLS or mutual TLS (see relay_tls.h); it is not kept.
  RelayClient(const std::string& address, std::string mailbox, std::string auth_public_key,
              Signer sign, absl::Duration rpc_timeout, const RelayTls& tls = RelayTls());

  // Authenticates now (connect-time check that the relay is reachable and accepts us). When the
  // relay cannot be reached the error names its address and gRPC's last connection failure (a
  // refused TLS handshake shows there).
  absl::Status Authenticate();

  absl::StatusOr<uint32_t> PublishKeys(const kars::v1::mesh::PublishKeysRequest& req) override;
  absl::StatusOr<kars::v1::mesh::PreKeyBundle> FetchBundle(absl::string_view mailbox) override;
  absl::StatusOr<bool> Send(const kars::v1::mesh::Envelope& envelope) override;
  absl::StatusOr<bool> Fanout(const kars::v1::mesh::Envelope& envelope,
                              const std::vector<std::string>& also_to) override;
  // Two or more requests travel on one SendStream (one unary Send costs the relay several times
  // the CPU of a streamed one); a single one as a unary Send. When the stream breaks, requests
  // it left unanswered fail with the stream's status (KARS_E_UNAVAILABLE for a relay that went
  // away: resending them is safe, the relay deduplicates by message id).
  std::vector<absl::StatusOr<bool>> SendMany(
      const std::vector<kars::v1::mesh::SendRequest>& requests) override;
  absl::StatusOr<std::vector<kars::v1::mesh::ReceiveResponse>> Receive(absl::Duration wait,
                                                                       size_t max) override;
  absl::Status Ack(const std::vector<uint64_t>& seqs) override;

 private:
  // Runs `call` with a fresh context carrying the token; re-authenticates once on UNAUTHENTICATED.
  absl::Status Call(absl::string_view what,
                    const std::function<grpc::Status(grpc::ClientContext&)>& call);
  absl::StatusOr<std::string> Token();
  // One SendStream attempt with `token`: fills (*out)[i] for every request answered, and returns
  // the stream's final status.
  grpc::Status StreamOnce(const std::string& token,
                          const std::vector<kars::v1::mesh::SendRequest>& requests,
                          std::vector<absl::StatusOr<bool>>* out);
  // Why the channel cannot connect, from one call that does not wait for the channel to be ready.
  std::string ConnectionFailure();

  std::unique_ptr<kars::v1::mesh::Relay::Stub> stub_;
  const std::string address_;
  const std::string mailbox_;
  const std::string auth_public_key_;
  const Signer sign_;
  const absl::Duration rpc_timeout_;
  const bool tls_;
  kars::Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);
};

// The kars status for a gRPC status, with `what` naming the call.
absl::Status FromGrpc(absl::string_view what, const grpc::Status& status);

}  // namespace kars::mesh

#endif  // KARS_MESH_RELAY_CLIENT_H_
