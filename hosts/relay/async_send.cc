#include "hosts/relay/async_send.h"

namespace kars::relay {

namespace pb = kars::v1::mesh;

namespace {
// Sends accepted ahead of their arrival, so that a burst does not wait for re-arming.
constexpr int kOutstandingRequests = 256;
}  // namespace

// One Send from arrival to completion; its address is the completion-queue tag.
struct AsyncSend::Call {
  grpc::ServerContext ctx;
  pb::SendRequest req;
  pb::SendResponse resp;
  grpc::ServerAsyncResponseWriter<pb::SendResponse> responder{&ctx};
  bool finishing = false;  // false: the tag means "arrived"; true: "finished, free me"
};

void AsyncSend::Request() {
  auto* call = new Call();
  service_->RequestSend(&call->ctx, &call->req, &call->responder, cq_.get(), cq_.get(), call);
}

void AsyncSend::Start(int threads) {
  for (int i = 0; i < kOutstandingRequests; ++i) Request();
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Poll(); });
}

void AsyncSend::Poll() {
  void* tag = nullptr;
  bool ok = false;
  while (cq_->Next(&tag, &ok)) {
    auto* call = static_cast<Call*>(tag);
    if (call->finishing || !ok) {  // done, or a request the shutting-down server never filled
      delete call;
      continue;
    }
    Request();  // re-arm before the work, so another thread can take the next arrival
    call->finishing = true;
    std::vector<pb::Envelope> copies;
    grpc::Status st = service_->Admit(&call->ctx, call->req, &copies);
    if (!st.ok()) {
      call->responder.FinishWithError(st, call);
      continue;
    }
    db_->StoreMany(std::move(copies), [call](const grpc::Status& status, bool dup) {
      if (!status.ok()) return call->responder.FinishWithError(status, call);
      call->resp.set_duplicate(dup);
      call->responder.Finish(call->resp, grpc::Status::OK, call);
    });
  }
}

void AsyncSend::Shutdown() {
  cq_->Shutdown();
  for (auto& t : threads_) t.join();
}

}  // namespace kars::relay
