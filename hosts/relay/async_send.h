// Send served on gRPC's asynchronous (completion-queue) API: `threads` threads poll one server
// completion queue, hand each admitted send to the group commit, and the writer thread finishes
// the RPC after the commit. No thread is held per send in flight, and no callback executor hop
// sits between the socket and the handler, which is what keeps a send to a few tens of
// microseconds of CPU.
//
// Thread-safety: Start once, then Shutdown once after the gRPC server's Shutdown.
#ifndef KARS_HOSTS_RELAY_ASYNC_SEND_H_
#define KARS_HOSTS_RELAY_ASYNC_SEND_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <thread>
#include <vector>

#include "hosts/relay/relay_service.h"

namespace kars::relay {

class AsyncSend {
 public:
  // `cq` comes from ServerBuilder::AddCompletionQueue before the server was built.
  AsyncSend(RelayService* service, MailboxDb* db, std::unique_ptr<grpc::ServerCompletionQueue> cq)
      : service_(service), db_(db), cq_(std::move(cq)) {}
  void Start(int threads);
  // Call after grpc::Server::Shutdown: drains the queue and joins the threads.
  void Shutdown();

 private:
  struct Call;
  void Request();
  void Poll();

  RelayService* service_;
  MailboxDb* db_;
  std::unique_ptr<grpc::ServerCompletionQueue> cq_;
  std::vector<std::thread> threads_;
};

}  // namespace kars::relay

#endif  // KARS_HOSTS_RELAY_ASYNC_SEND_H_
