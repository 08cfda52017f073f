// One SendStream call on the asynchronous server: reads sends one after another, admits each and
// queues it for the group commit as the unary Send does, and answers them in request order as
// their commits finish, packing the answers that are ready together into one response.
//
// At most kWindow sends (and kWindowBytes of ciphertext) of a stream wait for their answers; past
// that the stream stops reading until answers went out, so a client that sends faster than the
// relay commits is held back by gRPC flow control instead of growing the relay's memory.
//
// Thread-safety: its completions run on the server's polling threads and the writer thread;
// every state change is under mu_. It deletes itself once no operation and no store is pending.
#ifndef KARS_HOSTS_RELAY_SEND_STREAM_H_
#define KARS_HOSTS_RELAY_SEND_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "hosts/relay/async_send.h"
#include "libkars/base/sync.h"

namespace kars::relay {

class SendStream {
 public:
  static constexpr size_t kWindow = 1024;
  static constexpr size_t kWindowBytes = 16 * 1024 * 1024;

  // Arms one SendStream for the next stream a client opens.
  static void Accept(AsyncSend* owner);

 private:
  // A completion-queue tag that forwards to one of the stream's handlers.
  struct Op final : AsyncSend::Tag {
    Op(SendStream* s, void (SendStream::*h)(bool)) : stream(s), handler(h) {}
    void Proceed(bool ok) override { (stream->*handler)(ok); }
    SendStream* stream;
    void (SendStream::*handler)(bool);
  };
  struct Slot {
    bool answered = false;
    size_t bytes = 0;
    kars::v1::mesh::SendResult result;
  };

  explicit SendStream(AsyncSend* owner) : owner_(owner) {}

  void OnAccepted(bool ok);
  void OnRead(bool ok);
  void OnWritten(bool ok);
  void OnFinished(bool ok);
  // Records the answer to request `index` (from the writer thread, or inline when refused).
  void Answer(uint64_t index, const grpc::Status& status, bool duplicate, int64_t retry_after_ms);

  // The next step the state allows: read, write the answers ready, or finish. Returns true when
  // the stream is done with and the caller must delete it (after releasing mu_).
  bool Advance() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartRead() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  AsyncSend* const owner_;
  grpc::ServerContext ctx_;
  grpc::ServerAsyncReaderWriter<kars::v1::mesh::SendStreamResponse, kars::v1::mesh::SendRequest>
      stream_{&ctx_};
  Op accepted_{this, &SendStream::OnAccepted};
  Op read_{this, &SendStream::OnRead};
  Op written_{this, &SendStream::OnWritten};
  Op finished_{this, &SendStream::OnFinished};
  std::string me_;  // the authenticated sender, fixed for the stream

  kars::Mutex mu_;
  kars::v1::mesh::SendRequest in_ ABSL_GUARDED_BY(mu_);           // the read in progress
  kars::v1::mesh::SendStreamResponse out_ ABSL_GUARDED_BY(mu_);   // the write in progress
  std::deque<Slot> slots_ ABSL_GUARDED_BY(mu_);  // unanswered or unwritten, in request order
  uint64_t first_ ABSL_GUARDED_BY(mu_) = 0;      // request index of slots_.front()
  size_t window_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int stores_ ABSL_GUARDED_BY(mu_) = 0;          // sends queued for a commit, not answered yet
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool read_done_ ABSL_GUARDED_BY(mu_) = false;  // the client half-closed, or the call died
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;     // a write failed: nobody reads the answers
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kars::relay

#endif  // KARS_HOSTS_RELAY_SEND_STREAM_H_
