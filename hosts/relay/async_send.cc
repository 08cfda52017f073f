#include "hosts/relay/async_send.h"

#include <string>

#include "hosts/relay/send_stream.h"

namespace kars::relay {

namespace pb = kars::v1::mesh;

namespace {
// Sends accepted ahead of their arrival, so that a burst does not wait for re-arming.
constexpr int kOutstandingRequests = 256;
// Streams accepted ahead of their arrival.
constexpr int kOutstandingStreams = 8;

// One Send from arrival to completion.
struct UnaryCall final : AsyncSend::Tag {
  explicit UnaryCall(AsyncSend* owner) : owner(owner) {}
  void Proceed(bool ok) override;

  AsyncSend* owner;
  grpc::ServerContext ctx;
  pb::SendRequest req;
  pb::SendResponse resp;
  grpc::ServerAsyncResponseWriter<pb::SendResponse> responder{&ctx};
  bool finishing = false;  // false: the tag means "arrived"; true: "finished, free me"
};

void UnaryCall::Proceed(bool ok) {
  if (finishing || !ok) {  // done, or a request the shutting-down server never filled
    delete this;
    return;
  }
  owner->RequestSend();  // re-arm before the work, so another thread can take the next arrival
  finishing = true;
  auto finish_error = [this](const grpc::Status& st) {
    if (!owner->StartOp([&] { responder.FinishWithError(st, this); })) delete this;
  };
  auto me = owner->service()->Caller(&ctx);
  if (!me) return finish_error(Unauthenticated());
  std::vector<pb::Envelope> copies;
  int64_t retry_after_ms = 0;
  grpc::Status st = owner->service()->Admit(*me, req, &copies, &retry_after_ms);
  if (!st.ok()) {
    // Machine-readable too, so that a client can back off exactly as long as needed.
    if (retry_after_ms > 0) ctx.AddTrailingMetadata("retry-after-ms", std::to_string(retry_after_ms));
    return finish_error(st);
  }
  owner->db()->StoreMany(std::move(copies), [this, finish_error](const grpc::Status& status,
                                                                 bool dup) {
    if (!status.ok()) return finish_error(status);
    resp.set_duplicate(dup);
    if (!owner->StartOp([&] { responder.Finish(resp, grpc::Status::OK, this); })) delete this;
  });
}

}  // namespace

void AsyncSend::RequestSend() {
  auto* call = new UnaryCall(this);
  if (!StartOp([&] {
        service_->RequestSend(&call->ctx, &call->req, &call->responder, cq_.get(), cq_.get(),
                              call);
      })) {
    delete call;
  }
}

void AsyncSend::RequestStream() { SendStream::Accept(this); }

void AsyncSend::Start(int threads) {
  for (int i = 0; i < kOutstandingRequests; ++i) RequestSend();
  for (int i = 0; i < kOutstandingStreams; ++i) RequestStream();
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Poll(); });
}

void AsyncSend::Poll() {
  void* tag = nullptr;
  bool ok = false;
  while (cq_->Next(&tag, &ok)) static_cast<Tag*>(tag)->Proceed(ok);
}

void AsyncSend::Shutdown() {
  {
    kars::MutexLock l(&ops_mu_);
    closing_ = true;
    cq_->Shutdown();
  }
  for (auto& t : threads_) t.join();
}

}  // namespace kars::relay
