// The kars.v1.mesh.Relay gRPC service over MailboxDb and Auth.
//
// Send is served asynchronously by AsyncSend (async_send.h), which checks it with Admit and
// queues it for the group commit. The other methods are short synchronous handlers, and Receive
// holds one thread per open stream.
//
// Thread-safety: thread-safe (gRPC calls handlers concurrently).
#ifndef KARS_HOSTS_RELAY_RELAY_SERVICE_H_
#define KARS_HOSTS_RELAY_RELAY_SERVICE_H_

#include <atomic>
#include <optional>
#include <string>

#include "hosts/relay/auth.h"
#include "hosts/relay/mailbox_db.h"
#include "kars/v1/mesh.grpc.pb.h"

namespace kars::relay {

class RelayService final
    : public kars::v1::mesh::Relay::WithAsyncMethod_Send<kars::v1::mesh::Relay::Service> {
 public:
  RelayService(MailboxDb* db, Auth* auth) : db_(db), auth_(auth) {}
  void Stop() {
    stopping_ = true;
    db_->WakeAll();
  }

  grpc::Status Challenge(grpc::ServerContext*, const kars::v1::mesh::ChallengeRequest*,
                         kars::v1::mesh::ChallengeResponse*) override;
  grpc::Status Authenticate(grpc::ServerContext*, const kars::v1::mesh::AuthenticateRequest*,
                            kars::v1::mesh::AuthenticateResponse*) override;
  grpc::Status PublishKeys(grpc::ServerContext*, const kars::v1::mesh::PublishKeysRequest*,
                           kars::v1::mesh::PublishKeysResponse*) override;
  grpc::Status FetchBundle(grpc::ServerContext*, const kars::v1::mesh::FetchBundleRequest*,
                           kars::v1::mesh::PreKeyBundle*) override;
  grpc::Status Receive(grpc::ServerContext*, const kars::v1::mesh::ReceiveRequest*,
                       grpc::ServerWriter<kars::v1::mesh::ReceiveResponse>*) override;
  grpc::Status Ack(grpc::ServerContext*, const kars::v1::mesh::AckRequest*,
                   kars::v1::mesh::AckResponse*) override;
  grpc::Status Health(grpc::ServerContext*, const kars::v1::mesh::HealthRequest*,
                      kars::v1::mesh::HealthResponse*) override;

  // Checks a send and stamps its sender; the copies to store, or why it is refused.
  grpc::Status Admit(grpc::ServerContextBase* ctx, const kars::v1::mesh::SendRequest& req,
                     std::vector<kars::v1::mesh::Envelope>* copies);

 private:
  std::optional<std::string> Caller(grpc::ServerContextBase* ctx);
  MailboxDb* db_;
  Auth* auth_;
  std::atomic<bool> stopping_{false};
};

// A mailbox name: 1..128 bytes of [A-Za-z0-9._@-].
bool ValidMailbox(const std::string& name);

}  // namespace kars::relay

#endif  // KARS_HOSTS_RELAY_RELAY_SERVICE_H_
