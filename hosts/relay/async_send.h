// Send and SendStream served on gRPC's asynchronous (completion-queue) API: `threads` threads
// poll one server completion queue, hand each admitted send to the group commit, and the writer
// thread answers it after the commit. No thread is held per send in flight, and no callback
// executor hop sits between the socket and the handler, which is what keeps a send to a few tens
// of microseconds of CPU (a few, on a stream: no per-message call setup, and the answers of one
// commit travel in one response).
//
// Thread-safety: Start once, then Shutdown once after the gRPC server's Shutdown.
#ifndef KARS_HOSTS_RELAY_ASYNC_SEND_H_
#define KARS_HOSTS_RELAY_ASYNC_SEND_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "hosts/relay/relay_service.h"
#include "libkars/base/sync.h"

namespace kars::relay {

class AsyncSend {
 public:
  // What a completion-queue tag points to: one pending operation's continuation.
  struct Tag {
    virtual ~Tag() = default;
    virtual void Proceed(bool ok) = 0;
  };

  // `cq` comes from ServerBuilder::AddCompletionQueue before the server was built.
  AsyncSend(RelayService* service, MailboxDb* db, std::unique_ptr<grpc::ServerCompletionQueue> cq)
      : service_(service), db_(db), cq_(std::move(cq)) {}
  void Start(int threads);
  // Call after grpc::Server::Shutdown and MailboxDb::StopWriter: drains the queue and joins the
  // threads.
  void Shutdown();

  // Runs `start` (which starts one operation on this queue) unless the queue is shutting down:
  // an operation started on a shut-down queue aborts the process. False when it was not started.
  template <typename F>
  bool StartOp(F&& start) {
    kars::ReaderMutexLock l(&ops_mu_);
    if (closing_) return false;
    start();
    return true;
  }

  RelayService* service() const { return service_; }
  MailboxDb* db() const { return db_; }
  grpc::ServerCompletionQueue* cq() const { return cq_.get(); }

  // Accepts the next Send / SendStream (re-armed by each accepted one).
  void RequestSend();
  void RequestStream();

 private:
  void Poll();

  RelayService* service_;
  MailboxDb* db_;
  std::unique_ptr<grpc::ServerCompletionQueue> cq_;
  std::vector<std::thread> threads_;
  kars::Mutex ops_mu_;  // shared while starting an operation, exclusive to shut the queue down
  bool closing_ ABSL_GUARDED_BY(ops_mu_) = false;
};

}  // namespace kars::relay

#endif  // KARS_HOSTS_RELAY_ASYNC_SEND_H_
