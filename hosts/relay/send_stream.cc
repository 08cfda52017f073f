#include "hosts/relay/send_stream.h"

#include <utility>
#include <vector>

namespace kars::relay {

namespace pb = kars::v1::mesh;

void SendStream::Accept(AsyncSend* owner) {
  auto* s = new SendStream(owner);
  if (!owner->StartOp([&] {
        owner->service()->RequestSendStream(&s->ctx_, &s->stream_, owner->cq(), owner->cq(),
                                            &s->accepted_);
      })) {
    delete s;
  }
}

void SendStream::OnAccepted(bool ok) {
  if (!ok) {  // the server is shutting down: no call was ever started
    delete this;
    return;
  }
  owner_->RequestStream();
  auto me = owner_->service()->Caller(&ctx_);
  bool done = false;
  {
    kars::MutexLock l(&mu_);
    if (me) {
      me_ = std::move(*me);
    } else {
      final_ = Unauthenticated();  // the whole stream: every send on it would be refused
      read_done_ = true;
    }
    done = Advance();
  }
  if (done) delete this;
}

void SendStream::OnRead(bool ok) {
  uint64_t index = 0;
  grpc::Status refused;
  int64_t retry_after_ms = 0;
  std::vector<pb::Envelope> copies;
  {
    kars::MutexLock l(&mu_);
    // reading_ stays set until this request is queued: no other thread starts the next read.
    if (!ok) {  // half-closed by the client, or the call is gone
      reading_ = false;
      read_done_ = true;
      bool done = Advance();
      if (!done) return;
    } else {
      index = first_ + slots_.size();
      Slot& slot = slots_.emplace_back();
      slot.bytes = in_.envelope().ciphertext().size() * (1 + static_cast<size_t>(in_.also_to_size()));
      window_bytes_ += slot.bytes;
      ++stores_;
      refused = owner_->service()->Admit(me_, in_, &copies, &retry_after_ms);
    }
  }
  if (!ok) {
    delete this;
    return;
  }
  // Outside mu_: a refused store answers inline, and the answer takes mu_. Queued before the
  // next request is read, so that the stream's sends commit in their order.
  if (!refused.ok()) {
    Answer(index, refused, false, retry_after_ms);
  } else {
    owner_->db()->StoreMany(std::move(copies), [this, index](const grpc::Status& st, bool dup) {
      Answer(index, st, dup, 0);
    });
  }
  bool done = false;
  {
    kars::MutexLock l(&mu_);
    reading_ = false;
    done = Advance();  // reads the next request into in_
  }
  if (done) delete this;
}

void SendStream::Answer(uint64_t index, const grpc::Status& status, bool duplicate,
                        int64_t retry_after_ms) {
  bool done = false;
  {
    kars::MutexLock l(&mu_);
    Slot& slot = slots_[index - first_];
    slot.answered = true;
    slot.result.set_code(static_cast<int32_t>(status.error_code()));
    if (!status.ok()) slot.result.set_error_message(status.error_message());
    slot.result.set_duplicate(status.ok() && duplicate);
    slot.result.set_retry_after_ms(retry_after_ms);
    --stores_;
    done = Advance();
  }
  if (done) delete this;
}

void SendStream::OnWritten(bool ok) {
  bool done = false;
  {
    kars::MutexLock l(&mu_);
    writing_ = false;
    out_.Clear();
    if (!ok) broken_ = true;
    done = Advance();
  }
  if (done) delete this;
}

void SendStream::OnFinished(bool) {
  bool done = false;
  {
    kars::MutexLock l(&mu_);
    finished_done_ = true;
    done = Advance();
  }
  if (done) delete this;
}

void SendStream::StartRead() {
  reading_ = true;
  if (!owner_->StartOp([&] { stream_.Read(&in_, &read_); })) {
    reading_ = false;
    read_done_ = true;
  }
}

bool SendStream::Advance() {
  if (!writing_ && !broken_ && !finishing_) {
    while (!slots_.empty() && slots_.front().answered) {
      *out_.add_results() = std::move(slots_.front().result);
      window_bytes_ -= slots_.front().bytes;
      slots_.pop_front();
      ++first_;
    }
    if (out_.results_size() > 0) {
      writing_ = true;
      if (!owner_->StartOp([&] { stream_.Write(out_, &written_); })) {
        writing_ = false;
        broken_ = true;
      }
    }
  }
  if (!reading_ && !read_done_ && !broken_ && !finishing_ && slots_.size() < kWindow &&
      window_bytes_ < kWindowBytes) {
    StartRead();
  }
  if (broken_ && !reading_) read_done_ = true;  // nobody takes the answers: read no more
  if (!finishing_ && read_done_ && !writing_ && (broken_ || slots_.empty())) {
    finishing_ = true;
    grpc::Status st =
        broken_ ? grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke") : final_;
    if (!owner_->StartOp([&] { stream_.Finish(st, &finished_); })) finished_done_ = true;
  }
  return finished_done_ && stores_ == 0 && !reading_ && !writing_;
}

}  // namespace kars::relay
