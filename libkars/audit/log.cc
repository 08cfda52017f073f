// The running log: group commit, checkpoints, proofs and reads. Opening and recovery live in
// log_open.cc.
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
    if (closed_) return failure_;
    stopping_ = true;
    work_cv_.Signal();
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

absl::StatusOr<uint64_t> Log::AppendEncoded(absl::string_view record_bytes) {
  if (record_bytes.size() > options_.max_record_size) {
    return MakeStatus(KARS_E_EXHAUSTED,
                      absl::StrCat("audit record of ", record_bytes.size(),
                                   " bytes exceeds the limit of ", options_.max_record_size));
  }
  absl::StatusOr<v1::AuditRecord> rec = DecodeRecord(record_bytes);
  if (!rec.ok()) return rec.status();
  return Append(*rec);
}

absl::StatusOr<uint64_t> Log::Append(const v1::AuditRecord& record) {
  if (options_.read_only) {
    return MakeStatus(KARS_E_PRECONDITION, "the log is open read-only");
  }
  const int64_t now = NowMicros();
  MutexLock l(&mu_);
  if (stopping_) return MakeStatus(KARS_E_PRECONDITION, "the log is closed");
  if (!failure_.ok()) return failure_;
  const uint64_t index = next_index_;
  // Encoding under the lock is what lets the record carry its own index.
  absl::StatusOr<std::string> bytes = EncodeRecord(record, index, now);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() > options_.max_record_size) {
    return MakeStatus(KARS_E_EXHAUSTED,
                      absl::StrCat("audit record of ", bytes->size(),
                                   " bytes exceeds the limit of ", options_.max_record_size));
  }
  const Hash leaf = LeafHash(*bytes);
  pending_.push_back(Pending{*std::move(bytes), leaf});
  ++next_index_;
  work_cv_.Signal();
  while (durable_ <= index && failure_.ok()) Wait(durable_cv_, &mu_);
  if (durable_ > index) return index;
  return failure_;
}

uint64_t Log::Size() const {
  MutexLock l(&mu_);
  return durable_;
}

absl::Duration Log::WriterTimeout() {
  absl::Duration timeout = absl::InfiniteDuration();
  const absl::Time now = absl::Now();
  if (options_.durability == Durability::kInterval && unsynced_) {
    timeout = std::min(timeout, last_sync_ + options_.sync_interval - now);
  }
  if (options_.signer.has_value() && options_.checkpoint_every > absl::ZeroDuration()) {
    MutexLock l(&cp_mu_);
    timeout = std::min(timeout, last_checkpoint_time_ + options_.checkpoint_every - now);
  }
  return std::max(timeout, absl::ZeroDuration());
}

void Log::WriterLoop() {
  std::vector<Pending> batch;
  for (;;) {
    const absl::Duration timeout = WriterTimeout();
    bool stop = false;
    {
      MutexLock l(&mu_);
      if (pending_.empty() && !stopping_) WaitWithTimeout(work_cv_, &mu_, timeout);
      if (!failure_.ok()) {
        pending_.clear();
      } else if (options_.durability == Durability::kEachAppend) {
        if (!pending_.empty()) {
          batch.push_back(std::move(pending_.front()));
          pending_.pop_front();
        }
      } else {
        batch.assign(std::make_move_iterator(pending_.begin()),
                     std::make_move_iterator(pending_.end()));
        pending_.clear();
      }
      stop = stopping_ && pending_.empty();
    }
    if (!batch.empty()) {
      absl::Status s = WriteBatch(batch);
      MutexLock l(&mu_);
      if (s.ok()) {
        durable_ += batch.size();
      } else {
        failure_ = s;
        pending_.clear();
      }
      durable_cv_.SignalAll();
      batch.clear();
    }
    WriterTimers();
    if (stop) return;
  }
}

void Log::WriterTimers() {
  const absl::Time now = absl::Now();
  if (options_.durability == Durability::kInterval && unsynced_ &&
      now - last_sync_ >= options_.sync_interval) {
    absl::Status s;
    {
      ReaderMutexLock t(&tree_mu_);
      s = DataSync(segments_.back().fd.get(), segments_.back().path);
    }
    if (s.ok()) {
      last_sync_ = now;
      unsynced_ = false;
    } else {
      MutexLock l(&mu_);
      failure_ = s;
      durable_cv_.SignalAll();
      return;
    }
  }
  if (!options_.signer.has_value()) return;
  const uint64_t size = Size();
  bool due = false;
  {
    MutexLock l(&cp_mu_);
    const uint64_t signed_size = checkpoints_.empty() ? 0 : checkpoints_.back().size;
    if (size > signed_size || checkpoints_.empty()) {
      due = (options_.checkpoint_every_records > 0 &&
             size - signed_size >= options_.checkpoint_every_records) ||
            (options_.checkpoint_every > absl::ZeroDuration() &&
             now - last_checkpoint_time_ >= options_.checkpoint_every);
    } else {
      last_checkpoint_time_ = now;  // nothing new to sign: restart the interval
    }
  }
  if (due) {
    if (absl::Status s = EmitCheckpoint(size); !s.ok()) {
      MutexLock l(&mu_);
      failure_ = s;
      durable_cv_.SignalAll();
    }
  }
}

absl::Status Log::WriteBatch(std::vector<Pending>& batch) {
  std::string frames;
  std::string entries;
  std::vector<std::pair<Hash, uint64_t>> leaves;
  uint64_t next;
  {
    ReaderMutexLock t(&tree_mu_);
    next = tree_.size();
  }
  for (Pending& p : batch) {
    const size_t frame = FrameSize(p.bytes.size());
    const bool segment_has_records = segment_bytes_ > segment_header_bytes_ || !frames.empty();
    if (segment_has_records && segment_bytes_ + frames.size() + frame > options_.segment_size) {
      if (absl::Status s = FlushFrames(frames, entries, leaves); !s.ok()) return s;
      if (absl::Status s = Rotate(next); !s.ok()) return s;
    }
    const uint64_t offset = segment_bytes_ + frames.size();
    AppendFrame(&frames, p.bytes, p.leaf);
    AppendIndexEntry(&entries, p.leaf, offset);
    leaves.emplace_back(p.leaf, offset);
    ++next;
  }
  return FlushFrames(frames, entries, leaves);
}

absl::Status Log::FlushFrames(std::string& frames, std::string& entries,
                              std::vector<std::pair<Hash, uint64_t>>& leaves) {
  if (frames.empty()) return absl::OkStatus();
  int fd;
  std::string path;
  {
    ReaderMutexLock t(&tree_mu_);
    fd = segments_.back().fd.get();
    path = segments_.back().path;
  }
  if (absl::Status s = PwriteAll(fd, frames, segment_bytes_, path); !s.ok()) return s;
  segment_bytes_ += frames.size();
  if (options_.durability == Durability::kInterval) {
    if (!unsynced_) last_sync_ = absl::Now();
    unsynced_ = true;
  } else if (absl::Status s = DataSync(fd, path); !s.ok()) {
    return s;
  }
  // The index follows the data it describes, so after a crash it never runs ahead of a synced
  // segment; it needs no sync of its own because recovery rebuilds it from the segments.
  const std::string index_path = absl::StrCat(dir_, "/", kIndexFile);
  if (index_bytes_ == 0) {
    absl::StatusOr<uint64_t> size = FileSize(index_fd_.get(), index_path);
    if (!size.ok()) return size.status();
    index_bytes_ = *size;
  }
  if (absl::Status s = PwriteAll(index_fd_.get(), entries, index_bytes_, index_path); !s.ok()) {
    return s;
  }
  index_bytes_ += entries.size();
  {
    MutexLock t(&tree_mu_);
    for (const auto& [leaf, offset] : leaves) {
      tree_.AppendLeafHash(leaf);
      offsets_.push_back(offset);
    }
  }
  frames.clear();
  entries.clear();
  leaves.clear();
  return absl::OkStatus();
}

absl::Status Log::Rotate(uint64_t first_index) {
  SegmentHeader header;
  header.first_index = first_index;
  std::string old_path;
  int old_fd;
  {
    ReaderMutexLock t(&tree_mu_);
    header.frontier = FrontierOf(tree_, first_index);
    old_fd = segments_.back().fd.get();
    old_path = segments_.back().path;
  }
  // The finished segment is complete on disk before the next one exists.
  if (absl::Status s = DataSync(old_fd, old_path); !s.ok()) return s;
  const std::string path = absl::StrCat(dir_, "/", SegmentFileName(first_index));
  absl::StatusOr<Fd> fd = OpenFile(path, O_RDWR | O_CREAT | O_EXCL, 0640);
  if (!fd.ok()) return fd.status();
  const std::string bytes = EncodeSegmentHeader(header);
  if (absl::Status s = WriteAll(fd->get(), bytes, path); !s.ok()) return s;
  if (absl::Status s = DataSync(fd->get(), path); !s.ok()) return s;
  if (absl::Status s = SyncDir(dir_); !s.ok()) return s;
  segment_bytes_ = bytes.size();
  segment_header_bytes_ = bytes.size();
  MutexLock t(&tree_mu_);
  segments_.push_back(Segment{first_index, path, *std::move(fd)});
  return absl::OkStatus();
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
  const Segment& seg = SegmentFor(index);
  char head[kFrameHeaderSize];
  if (absl::Status s = PreadAll(seg.fd.get(), head, sizeof head, offsets_[index], seg.path);
      !s.ok()) {
    return s;
  }
  const uint32_t len = FrameRecordLength(head);
  if (len > kMaxFrameRecord) {
    return TamperedError(absl::StrCat(seg.path, ": record ", index, " has a corrupt length"));
  }
  std::string out(len, '\0');
  if (absl::Status s = PreadAll(seg.fd.get(), out.data(), len, offsets_[index] + kFrameHeaderSize,
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
