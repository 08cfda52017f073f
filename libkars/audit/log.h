// An audit log in a directory: records in segment files, their leaf hashes and offsets in an
// index file, signed checkpoints in a checkpoint file, and the whole Merkle tree in memory.
//
// Directory layout:
//   KARS-AUDIT-LOG              marker: format version and the log's origin (checkpoint line 1)
//   segment-<first index>.kseg  records (segment.h)
//   leaves.kidx                 40 bytes per record: leaf hash, offset in its segment. A cache of
//                               the segments: rebuilt from them where it lags after a crash
//   checkpoints.knotes          every signed checkpoint note, framed like records
//   LOCK                        flock()ed by the one writable opener
//   RETAIN                      present only while a retention runs: "retain-before <N>\n"
//
// Appends go through group commit: appenders queue their record and wait; one writer thread
// writes whole batches and syncs them per the durability mode, then wakes exactly the
// appenders whose records that made durable. A lone appender (nothing else queued or in flight)
// writes and syncs its own record instead, sparing two thread hand-offs per append. An append returns only once its record meets the
// durability mode; nothing else is acknowledged. (Writing the next batch while the previous
// fdatasync runs was measured slower: on ext4 a write to the page under writeback waits for it,
// and the sync then has more to flush.)
//
// Retention drops the oldest whole segments. The first kept segment's header carries the tree
// state before it, so what remains still verifies and proves against every checkpoint at or
// beyond it; the RETAIN journal makes the drop crash-safe (an interrupted retention is finished
// by the next writable open).
//
// Thread-safe: every method may be called from any thread.
#ifndef KARS_AUDIT_LOG_H_
#define KARS_AUDIT_LOG_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kars/v1/audit.pb.h"
#include "libkars/audit/keys.h"
#include "libkars/audit/posix_file.h"
#include "libkars/audit/proof_text.h"
#include "libkars/audit/tree.h"
#include "libkars/base/sync.h"

namespace kars::audit {

enum class Durability {
  kEachAppend,  // fdatasync after every record, before acknowledging it
  kBatch,       // one fdatasync per group-commit batch, before acknowledging its records
  kInterval,    // acknowledge once written to the OS; fdatasync every sync_interval. Survives a
                // process crash; power loss may lose the last interval
};

struct LogOptions {
  Durability durability = Durability::kBatch;
  absl::Duration sync_interval = absl::Milliseconds(10);
  uint64_t checkpoint_every_records = 1000;  // 0: not by count
  absl::Duration checkpoint_every = absl::Seconds(1);  // zero: not by time
  std::optional<Signer> signer;  // without it the log emits no checkpoints
  std::string origin;  // for a new log (default: the signer's key name, else a random name);
                       // must match an existing log's when set
  size_t max_record_size = 1 << 20;
  uint64_t segment_size = 64ull << 20;
  bool read_only = false;        // no recovery, no writer, no lock
  bool create_if_missing = true;
};

// What opening found and did.
struct OpenReport {
  bool created = false;
  uint64_t truncated_bytes = 0;     // torn tail removed from the last segment
  uint64_t reindexed_records = 0;   // records found in segments beyond the index
  uint64_t dropped_index_entries = 0;
  std::string notes;                // human-readable summary of the above
};

// Group-commit counters, for benchmarks and diagnostics.
struct CommitStats {
  uint64_t batches = 0;         // pwrite()s of queued records by the writer
  uint64_t syncs = 0;           // fdatasync()s that acknowledged records
  uint64_t synced_records = 0;  // records those syncs acknowledged
};

struct StoredCheckpoint {
  uint64_t size = 0;
  std::string note;
};

class Log {
 public:
  // Errors: NOT_FOUND (no directory and not creating), INVALID_ARGUMENT (not a log, origin
  // mismatch), PRECONDITION (open for writing elsewhere), TAMPERED (damage that is not a torn
  // tail: the log refuses to open rather than repair it), DENIED (checkpoints signed by another
  // key), IO.
  static absl::StatusOr<std::unique_ptr<Log>> Open(const std::string& dir, LogOptions options);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Drains queued appends, writes a final checkpoint when the tree grew, stops the writer.
  // Idempotent; later appends fail with PRECONDITION.
  absl::Status Close();

  // Appends and waits for durability; returns the record's index. EXHAUSTED when the record
  // exceeds max_record_size, PRECONDITION when read-only or closed, IO (and every later append
  // fails too) when storage failed.
  absl::StatusOr<uint64_t> Append(const v1::AuditRecord& record);
  // The same from serialised kars.v1.AuditRecord bytes.
  absl::StatusOr<uint64_t> AppendEncoded(absl::string_view record_bytes);

  // Reports an asynchronous append, exactly once: the record's index once it meets the
  // durability mode, or the error that stopped the log first. Runs on the writer thread with no
  // log lock held, so it may queue further appends; it must not call Close (the writer cannot
  // wait for itself) and should return quickly, since later acknowledgements wait for it.
  using AppendDone = absl::AnyInvocable<void(absl::StatusOr<uint64_t>)>;
  // Queues the record and returns at once with the index it will have; `done` reports the
  // acknowledgement. One caller can so keep many appends in flight without a thread for each.
  // Errors as Append, but returned here, and then nothing is queued and `done` is never called.
  // Close acknowledges every queued append (running its `done`) before it returns.
  absl::StatusOr<uint64_t> AppendAsync(const v1::AuditRecord& record, AppendDone done);
  absl::StatusOr<uint64_t> AppendEncodedAsync(absl::string_view record_bytes, AppendDone done);

  // Acknowledged records (including any dropped by retention).
  uint64_t Size() const;
  // The oldest record still kept: 0 unless retention dropped older ones.
  uint64_t FirstIndex() const;
  CommitStats Stats() const;

  // Drops the whole segments that hold only records below `before` and returns the first kept
  // index (a segment start; unchanged when no segment qualifies). Signs a checkpoint of the
  // current size first when the log has a key. PRECONDITION (read-only or closed),
  // INVALID_ARGUMENT (before > Size()), IO.
  absl::StatusOr<uint64_t> Retain(uint64_t before);
  const std::string& origin() const { return origin_; }
  const OpenReport& open_report() const { return report_; }

  // The newest signed checkpoint; NOT_FOUND when none exists yet.
  absl::StatusOr<StoredCheckpoint> LatestCheckpoint() const;
  // The stored checkpoint for exactly `size`; NOT_FOUND when none was signed at that size.
  absl::StatusOr<StoredCheckpoint> CheckpointAt(uint64_t size) const;
  std::vector<StoredCheckpoint> Checkpoints() const;
  // Signs a checkpoint for the current size now (returns the latest if the size did not change).
  // PRECONDITION without a signing key.
  absl::StatusOr<StoredCheckpoint> CheckpointNow();

  absl::StatusOr<Hash> Root(uint64_t size) const;
  absl::StatusOr<InclusionProof> Inclusion(uint64_t index, uint64_t size) const;
  absl::StatusOr<ConsistencyProof> Consistency(uint64_t old_size, uint64_t new_size) const;
  // The stored bytes of record `index`; TAMPERED when they no longer match their leaf hash,
  // NOT_FOUND beyond the end or when retention dropped it.
  absl::StatusOr<std::string> Read(uint64_t index) const;

 private:
  struct Segment {
    uint64_t first_index = 0;
    std::string path;
    Fd fd;
  };
  struct Pending {
    std::string bytes;
  };
  // An asynchronous append waiting for its acknowledgement, and one ready to be told.
  struct AsyncAck {
    uint64_t index;
    AppendDone done;
  };
  struct ReadyAck {
    AppendDone done;
    absl::StatusOr<uint64_t> result;
  };

  explicit Log(std::string dir, LogOptions options);
  absl::Status OpenExisting();  // log_open.cc
  absl::Status Initialize();    // log_open.cc
  absl::Status Recover(uint64_t indexed);  // log_recover.cc
  absl::Status LoadCheckpoints();  // log_open.cc
  absl::Status FinishRetention();  // log_retain.cc: completes an interrupted retention

  // log_writer.cc
  void WriterLoop();
  absl::Status WriteBatch(std::vector<Pending>& batch);
  absl::Status FlushFrames(std::string& frames, std::string& entries,
                           std::vector<std::pair<Hash, uint64_t>>& leaves);
  absl::Status AppendIndex(absl::string_view entries);
  absl::Duration WriterTimeout();
  void GatherBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriterTimers();
  absl::Status Rotate(uint64_t first_index);
  void Fail(absl::Status s);

  absl::Status EmitCheckpoint(uint64_t size);
  const Segment& SegmentFor(uint64_t index) const ABSL_SHARED_LOCKS_REQUIRED(tree_mu_);
  uint64_t OffsetOf(uint64_t index) const ABSL_SHARED_LOCKS_REQUIRED(tree_mu_) {
    return offsets_[index - tree_.base()];
  }

  const std::string dir_;
  const LogOptions options_;
  std::string origin_;
  OpenReport report_;
  Fd lock_fd_;
  Fd checkpoints_fd_;

  // The index file: appended by whoever acknowledges records, rewritten by retention.
  kars::Mutex index_mu_;
  Fd index_fd_ ABSL_GUARDED_BY(index_mu_);
  uint64_t index_bytes_ ABSL_GUARDED_BY(index_mu_) = 0;

  // One retention at a time.
  kars::Mutex retain_mu_;

  // Appenders and the writer meet here.
  mutable kars::Mutex mu_;
  // An appender waiting for its record: woken alone once the record is acknowledged (or the log
  // failed), so an acknowledgement wakes only the appenders it concerns.
  struct Waiter {
    explicit Waiter(uint64_t i) : index(i) {}
    const uint64_t index;
    bool woken = false;
    kars::CondVar cv;
  };
  // Wakes the waiters and collects the asynchronous appends that durable_ (or a failure) now
  // settles; the caller runs `ready` with RunAcks once it has released mu_.
  void WakeAcknowledged(std::vector<ReadyAck>* ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void RunAcks(std::vector<ReadyAck>& ready);
  // EXHAUSTED when a record of `bytes` exceeds max_record_size.
  absl::Status CheckRecordSize(size_t bytes) const;
  // The record in serialised bytes, checked against the size limit first.
  absl::StatusOr<v1::AuditRecord> DecodeForAppend(absl::string_view record_bytes) const;
  // Whether an append that just queued the only pending record may write and sync it itself.
  bool CanCommitAlone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Encodes and queues a record under mu_ (without waking the writer); returns its index.
  absl::StatusOr<uint64_t> Enqueue(const v1::AuditRecord& record, int64_t now_micros)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::deque<Waiter*> waiters_ ABSL_GUARDED_BY(mu_);  // in index order
  std::deque<AsyncAck> async_acks_ ABSL_GUARDED_BY(mu_);  // in index order
  kars::CondVar work_cv_;    // the writer waits for pending records
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  // Group-commit gathering: the writer is woken once this many records are pending (1 unless
  // it is gathering), and the last sync acknowledged `last_batch_` records.
  size_t wake_writer_at_ ABSL_GUARDED_BY(mu_) = 1;
  size_t last_batch_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_index_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t durable_ ABSL_GUARDED_BY(mu_) = 0;
  CommitStats stats_ ABSL_GUARDED_BY(mu_);
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // A batch is being written and synced, by the writer or by a lone appender: one at a time,
  // and the writer-thread state below belongs to whoever set this.
  bool committing_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;

  // The tree, record offsets and segments: extended by the writer, read by proofs and reads.
  mutable kars::Mutex tree_mu_;
  HashTree tree_ ABSL_GUARDED_BY(tree_mu_);
  std::vector<uint64_t> offsets_ ABSL_GUARDED_BY(tree_mu_);
  std::vector<Segment> segments_ ABSL_GUARDED_BY(tree_mu_);

  // Writer-thread state: used by whoever is committing (see committing_) and by the writer's
  // timers.
  uint64_t segment_bytes_ = 0;  // size of the last segment
  uint64_t segment_header_bytes_ = 0;
  absl::Time last_sync_ = absl::InfinitePast();
  absl::Duration last_sync_duration_ = absl::ZeroDuration();
  bool unsynced_ = false;

  mutable kars::Mutex cp_mu_;
  std::vector<StoredCheckpoint> checkpoints_ ABSL_GUARDED_BY(cp_mu_);
  absl::Time last_checkpoint_time_ ABSL_GUARDED_BY(cp_mu_) = absl::Now();

  std::thread writer_;
  bool opened_ = false;  // set once Open succeeded: a log that failed to open is never written
};

inline constexpr char kMarkerFile[] = "KARS-AUDIT-LOG";
inline constexpr char kIndexFile[] = "leaves.kidx";
inline constexpr char kCheckpointsFile[] = "checkpoints.knotes";
inline constexpr char kLockFile[] = "LOCK";
inline constexpr char kRetainFile[] = "RETAIN";

}  // namespace kars::audit

#endif  // KARS_AUDIT_LOG_H_
