// The running log's calls: appends, checkpoints, proofs and reads. The writer thread lives in
// log_writer.cc, opening and recovery in log_open.cc, retention in log_retain.cc.
#include "libkars/audit/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "libkars/audit/checkpoint.h"
#include "libkars/audit/record.h"
#include "libkars/audit/segment.h"
#include "libkars/base/status.h"

namespace kars::audit {

Log::Log(std::string dir, LogOptions options) : dir_(std::move(dir)), options_(std::move(options)) {}

Log::~Log() { Close().IgnoreError(); }

absl::Status Log::Close() {
  if (!opened_) return absl::OkStatus();
  {
    MutexLock l(&mu_);
    if (closed_) return DetachedCopy(failure_);
    stopping_ = true;
    work_cv_.SignalAll();
  }
  if (writer_.joinable()) writer_.join();
  absl::Status result;
  {
    MutexLock l(&mu_);
    result = failure_;
  }
  if (!options_.read_only && result.ok()) {
    if (unsynced_) {
      ReaderMutexLock t(&tree_mu_);
      result = DataSync(segments_.back().fd.get(), segments_.back().path);
    }
    if (result.ok() && options_.signer.has_value()) result = EmitCheckpoint(Size());
  }
  MutexLock l(&mu_);
  closed_ = true;
  if (failure_.ok() && !result.ok()) failure_ = result;
  return result;
}

absl::Status Log::CheckRecordSize(size_t bytes) const {
  if (bytes <= options_.max_record_size) return absl::OkStatus();
  return MakeStatus(KARS_E_EXHAUSTED, absl::StrCat("audit record of ", bytes,
                                                   " bytes exceeds the limit of ",
                                                   options_.max_record_size));
}

absl::StatusOr<v1::AuditRecord> Log::DecodeForAppend(absl::string_view record_bytes) const {
  if (absl::Status s = CheckRecordSize(record_bytes.size()); !s.ok()) return s;
  return DecodeRecord(record_bytes);
}

absl::StatusOr<uint64_t> Log::AppendEncoded(absl::string_view record_bytes) {
  absl::StatusOr<v1::AuditRecord> rec = DecodeForAppend(record_bytes);
  if (!rec.ok()) return rec.status();
  return Append(*rec);
}

absl::StatusOr<uint64_t> Log::AppendEncodedAsync(absl::string_view record_bytes,
                                                  AppendDone done) {
  absl::StatusOr<v1::AuditRecord> rec = DecodeForAppend(record_bytes);
  if (!rec.ok()) return rec.status();
  return AppendAsync(*rec, std::move(done));
}

absl::StatusOr<uint64_t> Log::Enqueue(const v1::AuditRecord& record, int64_t now_micros) {
  if (options_.read_only) {
    return MakeStatus(KARS_E_PRECONDITION, "the log is open read-only");
  }
  if (stopping_) return MakeStatus(KARS_E_PRECONDITION, "the log is closed");
  if (!failure_.ok()) return DetachedCopy(failure_);
  const uint64_t index = next_index_;
  // Encoding under the lock is what lets the record carry its own index.
  absl::StatusOr<std::string> bytes = EncodeRecord(record, index, now_micros);
  if (!bytes.ok()) return bytes.status();
  if (absl::Status s = CheckRecordSize(bytes->size()); !s.ok()) return s;
  pending_.push_back(Pending{*std::move(bytes)});
  ++next_index_;
  return index;
}

bool Log::CanCommitAlone() const {
  return options_.durability != Durability::kInterval && !committing_ && pending_.size() == 1 &&
         last_batch_ <= 1;
}

absl::StatusOr<uint64_t> Log::Append(const v1::AuditRecord& record) {
  const int64_t now = NowMicros();
  std::vector<Pending> lone;
  uint64_t index;
  {
    MutexLock l(&mu_);
    absl::StatusOr<uint64_t> queued = Enqueue(record, now);
    if (!queued.ok()) return queued;
    index = *queued;
    if (!CanCommitAlone()) {
      if (pending_.size() >= wake_writer_at_) work_cv_.Signal();
      Waiter self(index);
      waiters_.push_back(&self);
      while (!self.woken) self.cv.Wait(&mu_);
      if (durable_ > index) return index;
      return DetachedCopy(failure_);
    }
    committing_ = true;
    lone.push_back(std::move(pending_.back()));
    pending_.pop_back();
  }
  // A lone appender (nothing else queued or being written, and the last batch was one record)
  // commits its record on its own thread: the hand-off to the writer and back would cost two
  // thread wake-ups per append for nothing to group.
  if (absl::Status s = WriteBatch(lone); !s.ok()) Fail(std::move(s));
  MutexLock l(&mu_);
  committing_ = false;
  work_cv_.SignalAll();  // the writer may be waiting for this commit, with records queued meanwhile
  if (durable_ > index) return index;
  return DetachedCopy(failure_);
}

absl::StatusOr<uint64_t> Log::AppendAsync(const v1::AuditRecord& record, AppendDone done) {
  if (done == nullptr) return absl::InvalidArgumentError("an asynchronous append needs a callback");
  const int64_t now = NowMicros();
  MutexLock l(&mu_);
  absl::StatusOr<uint64_t> index = Enqueue(record, now);
  if (!index.ok()) return index;
  async_acks_.push_back(AsyncAck{*index, std::move(done)});
  if (pending_.size() >= wake_writer_at_) work_cv_.Signal();
  return index;
}

uint64_t Log::Size() const {
  MutexLock l(&mu_);
  return durable_;
}

uint64_t Log::FirstIndex() const {
  ReaderMutexLock t(&tree_mu_);
  return tree_.base();
}

CommitStats Log::Stats() const {
  MutexLock l(&mu_);
  return stats_;
}

absl::Status Log::EmitCheckpoint(uint64_t size) {
  if (!options_.signer.has_value()) {
    return MakeStatus(KARS_E_PRECONDITION, "the log has no signing key");
  }
  MutexLock l(&cp_mu_);
  if (!checkpoints_.empty() && checkpoints_.back().size >= size) return absl::OkStatus();
  Checkpoint cp;
  cp.origin = origin_;
  cp.size = size;
  {
    ReaderMutexLock t(&tree_mu_);
    cp.root = TreeRoot(tree_, size);
    // Never sign records that power loss could still take away: in interval mode they may be
    // acknowledged but not yet synced.
    if (options_.durability == Durability::kInterval) {
      if (absl::Status s = DataSync(segments_.back().fd.get(), segments_.back().path); !s.ok()) {
        return s;
      }
    }
  }
  absl::StatusOr<std::string> note = SignCheckpoint(*options_.signer, cp);
  if (!note.ok()) return note.status();
  std::string frame;
  AppendFrame(&frame, *note, LeafHash(*note));
  const std::string path = absl::StrCat(dir_, "/", kCheckpointsFile);
  absl::StatusOr<uint64_t> end = FileSize(checkpoints_fd_.get(), path);
  if (!end.ok()) return end.status();
  if (absl::Status s = PwriteAll(checkpoints_fd_.get(), frame, *end, path); !s.ok()) return s;
  if (absl::Status s = DataSync(checkpoints_fd_.get(), path); !s.ok()) return s;
  checkpoints_.push_back(StoredCheckpoint{size, *std::move(note)});
  last_checkpoint_time_ = absl::Now();
  return absl::OkStatus();
}

absl::StatusOr<StoredCheckpoint> Log::CheckpointNow() {
  if (options_.read_only) return MakeStatus(KARS_E_PRECONDITION, "the log is open read-only");
  if (absl::Status s = EmitCheckpoint(Size()); !s.ok()) return s;
  return LatestCheckpoint();
}

absl::StatusOr<StoredCheckpoint> Log::LatestCheckpoint() const {
  MutexLock l(&cp_mu_);
  if (checkpoints_.empty()) return absl::NotFoundError("the log has no signed checkpoint yet");
  return checkpoints_.back();
}

absl::StatusOr<StoredCheckpoint> Log::CheckpointAt(uint64_t size) const {
  MutexLock l(&cp_mu_);
  for (auto it = checkpoints_.rbegin(); it != checkpoints_.rend(); ++it) {
    if (it->size == size) return *it;
  }
  return absl::NotFoundError(absl::StrCat("no checkpoint was signed at tree size ", size));
}

std::vector<StoredCheckpoint> Log::Checkpoints() const {
  MutexLock l(&cp_mu_);
  return checkpoints_;
}

namespace {
absl::Status CheckSize(uint64_t size, uint64_t durable) {
  if (size > durable) {
    return absl::InvalidArgumentError(
        absl::StrCat("tree size ", size, " exceeds the log's size ", durable));
  }
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<Hash> Log::Root(uint64_t size) const {
  if (absl::Status s = CheckSize(size, Size()); !s.ok()) return s;
  ReaderMutexLock t(&tree_mu_);
  return tree_.Root(size);
}

absl::StatusOr<InclusionProof> Log::Inclusion(uint64_t index, uint64_t size) const {
  if (absl::Status s = CheckSize(size, Size()); !s.ok()) return s;
  ReaderMutexLock t(&tree_mu_);
  absl::StatusOr<std::vector<Hash>> path = tree_.Inclusion(index, size);
  if (!path.ok()) return path.status();
  return InclusionProof{index, size, *std::move(path)};
}

absl::StatusOr<ConsistencyProof> Log::Consistency(uint64_t old_size, uint64_t new_size) const {
  if (absl::Status s = CheckSize(new_size, Size()); !s.ok()) return s;
  ReaderMutexLock t(&tree_mu_);
  absl::StatusOr<std::vector<Hash>> path = tree_.Consistency(old_size, new_size);
  if (!path.ok()) return path.status();
  return ConsistencyProof{old_size, new_size, *std::move(path)};
}

const Log::Segment& Log::SegmentFor(uint64_t index) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), index,
                             [](uint64_t i, const Segment& s) { return i < s.first_index; });
  return *std::prev(it);
}

absl::StatusOr<std::string> Log::Read(uint64_t index) const {
  const uint64_t size = Size();
  if (index >= size) {
    return absl::NotFoundError(absl::StrCat("no record ", index, ": the log holds ", size));
  }
  ReaderMutexLock t(&tree_mu_);
  if (index < tree_.base()) {
    return absl::NotFoundError(absl::StrCat("record ", index,
                                            " was dropped by retention: the log keeps records from ",
                                            tree_.base()));
  }
  const Segment& seg = SegmentFor(index);
  char head[kFrameHeaderSize];
  if (absl::Status s = PreadAll(seg.fd.get(), head, sizeof head, OffsetOf(index), seg.path);
      !s.ok()) {
    return s;
  }
  const uint32_t len = FrameRecordLength(head);
  if (len > kMaxFrameRecord) {
    return TamperedError(absl::StrCat(seg.path, ": record ", index, " has a corrupt length"));
  }
  std::string out(len, '\0');
  if (absl::Status s = PreadAll(seg.fd.get(), out.data(), len, OffsetOf(index) + kFrameHeaderSize,
                                seg.path);
      !s.ok()) {
    return s;
  }
  if (LeafHash(out) != tree_.leaf_hash(index)) {
    return TamperedError(absl::StrCat(seg.path, ": record ", index,
                                      " no longer matches its leaf hash"));
  }
  return out;
}

}  // namespace kars::audit
