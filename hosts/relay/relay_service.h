// The kars.v1.mesh.Relay gRPC service over MailboxDb and Auth.
//
// Send and SendStream are served asynchronously by AsyncSend (async_send.h), which checks each
// send with Admit and queues it for the group commit. The other methods are short synchronous handlers, and Receive
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
    : public kars::v1::mesh::Relay::WithAsyncMethod_SendStream<
          kars::v1::mesh::Relay::WithAsyncMethod_Send<kars::v1::mesh::Relay::Service>> {
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

  // The mailbox the call's bearer token was issued to; nullopt when it has none or an unknown one.
  std::optional<std::string> Caller(grpc::ServerContextBase* ctx);
  // Checks a send by mailbox `me` and stamps its sender; the copies to store, or why it is
  // refused (*retry_after_ms is set when the rate limit refused it).
  grpc::Status Admit(const std::string& me, const kars::v1::mesh::SendRequest& req,
                     std::vector<kars::v1::mesh::Envelope>* copies, int64_t* retry_after_ms);

 private:
  MailboxDb* db_;
  Auth* auth_;
  std::atomic<bool> stopping_{false};
};

// The refusal of a call without a valid bearer token.
grpc::Status Unauthenticated();

// A mailbox name: 1..128 bytes of [A-Za-z0-9._@-].
bool ValidMailbox(const std::string& name);

}  // namespace kars::relay

#endif  // KARS_HOSTS_RELAY_RELAY_SERVICE_H_
