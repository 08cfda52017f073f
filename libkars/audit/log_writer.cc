// The log's writer thread: group commit, rotation and timed work. The rest of the
// running log is in log.cc.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kars/common.h"
#include "libkars/audit/log.h"
#include "libkars/audit/segment.h"
#include "libkars/base/status.h"

namespace kars::audit {

// Group commit never holds a batch back longer than this, however slow the disk.
constexpr absl::Duration kMaxGather = absl::Milliseconds(1);

void Log::WakeAcknowledged(std::vector<ReadyAck>* ready) {
  // After a failure every waiter wakes: to its record if acknowledged, else to the error.
  while (!waiters_.empty() && (waiters_.front()->index < durable_ || !failure_.ok())) {
    Waiter* w = waiters_.front();
    waiters_.pop_front();
    w->woken = true;
    w->cv.Signal();
  }
  while (!async_acks_.empty() && (async_acks_.front().index < durable_ || !failure_.ok())) {
    AsyncAck& a = async_acks_.front();
    absl::StatusOr<uint64_t> result = a.index;
    if (a.index >= durable_) result = DetachedCopy(failure_);
    ready->push_back(ReadyAck{std::move(a.done), std::move(result)});
    async_acks_.pop_front();
  }
}

void Log::RunAcks(std::vector<ReadyAck>& ready) {
  for (ReadyAck& r : ready) r.done(std::move(r.result));
  ready.clear();
}

void Log::Fail(absl::Status s) {
  std::vector<ReadyAck> ready;
  {
    MutexLock l(&mu_);
    if (failure_.ok()) failure_ = std::move(s);
    pending_.clear();
    WakeAcknowledged(&ready);
    work_cv_.SignalAll();
  }
  RunAcks(ready);
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
      if ((pending_.empty() || committing_) && !stopping_) {
        // std's wait_for overflows on an infinite timeout and returns at once: wait plainly.
        if (timeout == absl::InfiniteDuration()) {
          work_cv_.Wait(&mu_);
        } else {
          work_cv_.WaitWithTimeout(&mu_, timeout);
        }
      }
      // A lone appender is committing its own record: never write alongside it, nor stop before
      // it finished. With nothing to write the timers run at once: a busy lone appender
      // re-takes mu_ before this thread wakes, and waiting here would starve the checkpoints.
      while (committing_ && (!pending_.empty() || stopping_)) work_cv_.Wait(&mu_);
      if (!failure_.ok()) {
        pending_.clear();
      } else if (options_.durability == Durability::kEachAppend) {
        if (!pending_.empty()) {
          batch.push_back(std::move(pending_.front()));
          pending_.pop_front();
        }
      } else {
        if (options_.durability == Durability::kBatch) GatherBatch();
        batch.assign(std::make_move_iterator(pending_.begin()),
                     std::make_move_iterator(pending_.end()));
        pending_.clear();
      }
      stop = stopping_ && pending_.empty();
      if (!batch.empty()) committing_ = true;
    }
    if (!batch.empty()) {
      if (absl::Status s = WriteBatch(batch); !s.ok()) Fail(std::move(s));
      batch.clear();
      MutexLock l(&mu_);
      committing_ = false;
    }
    WriterTimers();
    if (stop) return;
  }
}

// The appenders the last sync acknowledged come back with their next records within
// microseconds. Syncing as soon as the first of them arrives would leave the rest for the sync
// after, and a convoy of small batches follows; so wait until as many records are pending as the
// last sync acknowledged, for at most half a sync. A lone appender never waits: its batch was 1.
void Log::GatherBatch() {
  if (pending_.empty() || pending_.size() >= last_batch_ || stopping_) return;
  const absl::Time deadline = absl::Now() + std::min(last_sync_duration_ / 2, kMaxGather);
  wake_writer_at_ = last_batch_;
  while (pending_.size() < last_batch_ && !stopping_ && failure_.ok()) {
    if (work_cv_.WaitWithDeadline(&mu_, deadline)) break;
  }
  wake_writer_at_ = 1;
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
    if (!s.ok()) return Fail(std::move(s));
    last_sync_ = now;
    unsynced_ = false;
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
    if (absl::Status s = EmitCheckpoint(size); !s.ok()) Fail(std::move(s));
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
    const Hash leaf = LeafHash(p.bytes);  // here rather than in Append: off the appenders' lock
    AppendFrame(&frames, p.bytes, leaf);
    AppendIndexEntry(&entries, leaf, offset);
    leaves.emplace_back(leaf, offset);
    ++next;
  }
  return FlushFrames(frames, entries, leaves);
}

absl::Status Log::AppendIndex(absl::string_view entries) {
  if (entries.empty()) return absl::OkStatus();
  MutexLock l(&index_mu_);
  const std::string path = absl::StrCat(dir_, "/", kIndexFile);
  if (absl::Status s = PwriteAll(index_fd_.get(), entries, index_bytes_, path); !s.ok()) return s;
  index_bytes_ += entries.size();
  return absl::OkStatus();
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
  // The tree runs ahead of the acknowledged size until the sync: proofs and roots only use
  // acknowledged sizes, and rotation needs the tree state at the new segment's start.
  {
    MutexLock t(&tree_mu_);
    for (const auto& [leaf, offset] : leaves) {
      tree_.AppendLeafHash(leaf);
      offsets_.push_back(offset);
    }
  }
  const uint64_t records = leaves.size();
  frames.clear();
  leaves.clear();
  if (options_.durability == Durability::kInterval) {
    if (!unsynced_) last_sync_ = absl::Now();
    unsynced_ = true;
  } else {
    const absl::Time sync_start = absl::Now();
    if (absl::Status s = DataSync(fd, path); !s.ok()) return s;
    last_sync_duration_ = absl::Now() - sync_start;
  }
  // The index follows the data it describes, so after a crash it never runs ahead of a synced
  // segment; it needs no sync of its own because recovery rebuilds it from the segments.
  absl::Status s = AppendIndex(entries);
  entries.clear();
  if (!s.ok()) return s;
  std::vector<ReadyAck> ready;
  {
    MutexLock l(&mu_);
    ++stats_.batches;
    if (options_.durability != Durability::kInterval) {
      ++stats_.syncs;
      stats_.synced_records += records;
    }
    durable_ += records;
    last_batch_ = records;
    WakeAcknowledged(&ready);
  }
  RunAcks(ready);
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
  // The header is written under a temporary name and renamed into place once durable, so a
  // kill at any moment never leaves a segment file without its complete header (the temporary
  // name is not a segment name, and a later rotation truncates a leftover).
  const std::string path = absl::StrCat(dir_, "/", SegmentFileName(first_index));
  const std::string tmp = absl::StrCat(dir_, "/.", SegmentFileName(first_index), ".tmp");
  absl::StatusOr<Fd> fd = OpenFile(tmp, O_RDWR | O_CREAT | O_TRUNC, 0640);
  if (!fd.ok()) return fd.status();
  const std::string bytes = EncodeSegmentHeader(header);
  if (absl::Status s = WriteAll(fd->get(), bytes, tmp); !s.ok()) return s;
  if (absl::Status s = DataSync(fd->get(), tmp); !s.ok()) return s;
  if (::access(path.c_str(), F_OK) == 0) {
    return MakeStatus(KARS_E_EXISTS, absl::StrCat("segment ", path, " already exists"));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return ErrnoError(absl::StrCat("rename ", tmp, " to ", path), errno);
  }
  if (absl::Status s = SyncDir(dir_); !s.ok()) return s;
  segment_bytes_ = bytes.size();
  segment_header_bytes_ = bytes.size();
  MutexLock t(&tree_mu_);
  segments_.push_back(Segment{first_index, path, *std::move(fd)});
  return absl::OkStatus();
}

}  // namespace kars::audit
