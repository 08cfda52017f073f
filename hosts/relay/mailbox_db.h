// The relay's durable state in one SQLite database (WAL, synchronous=FULL): the directory of
// registered mailboxes and their published keys (mailbox_db.cc), and the stored envelopes
// (mailbox_store.cc).
//
// A send is acknowledged only after the transaction holding it committed. Sends are group-
// committed: concurrent sends queue for one writer thread that inserts them all with one reused
// prepared statement in one transaction and one fsync of the WAL, then hands them to a completer
// thread that completes every one of them while the writer goes on with the next batch. What survives power loss: every acknowledged envelope (synchronous=FULL fsyncs the WAL on
// each commit, before any send of that batch is completed). Checkpoints (WAL -> database file)
// run on their own thread and connection, after every 1 MiB of committed WAL (and every 50 ms),
// and only copy already-durable frames, so they never decide what survives and a commit never
// waits for one. The writer waits only to keep the WAL bounded: past 16 MiB of WAL it lets the
// checkpointer catch up with the last commit (at most about 1 MiB of frames) before it begins
// the next, so that SQLite rewinds the WAL instead of growing it.
//
// Thread-safety: thread-safe.
#ifndef KARS_HOSTS_RELAY_MAILBOX_DB_H_
#define KARS_HOSTS_RELAY_MAILBOX_DB_H_

#include <grpcpp/grpcpp.h>
#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "kars/v1/mesh.pb.h"
#include "libkars/base/sync.h"

namespace kars::relay {

struct Limits {
  int64_t default_ttl_ms = 72LL * 3600 * 1000;
  size_t max_message_bytes = 1024 * 1024;
  int64_t max_mailbox_messages = 10000;
  bool allow_reregister = false;
};

struct Stored {
  uint64_t seq;
  kars::v1::mesh::Envelope envelope;
};

class MailboxDb {
 public:
  // Opens (creating) DATA_DIR/relay.db. On failure returns nullptr and sets *error.
  static std::unique_ptr<MailboxDb> Open(const std::string& data_dir, const Limits& limits,
                                         std::string* error);
  ~MailboxDb();

  // Binds `mailbox` to `auth_key` on first use; later the same key is required (or, with
  // allow_reregister, a new key replaces the old one and the old keys are dropped).
  grpc::Status BindAuthKey(const std::string& mailbox, const std::string& auth_key);
  grpc::Status PublishKeys(const std::string& mailbox,
                           const kars::v1::mesh::PublishKeysRequest& req, uint32_t* remaining);
  // Consumes exactly one one-time prekey (if any) atomically with reading the bundle.
  grpc::Status FetchBundle(const std::string& mailbox, kars::v1::mesh::PreKeyBundle* out);

  // Called once with the outcome of a store: OK once durable (duplicate: the relay already held
  // the first copy's message id for its recipient, nothing new stored), or why it was refused.
  using StoreDone = std::function<void(const grpc::Status& status, bool duplicate)>;
  // Stores copies of one envelope (whose sender the caller stamped) for one or more recipients
  // (group fan-out): every recipient is admitted first, so a full or unknown mailbox rejects the
  // whole send; all copies commit in one transaction. `done` runs inline when the send is
  // refused before queueing, otherwise on the writer thread after the commit; it must not block.
  void StoreMany(std::vector<kars::v1::mesh::Envelope> copies, StoreDone done);
  // Up to `limit` envelopes of `mailbox` with seq > after, in seq order; *newest receives the
  // newest seq ever stored for the mailbox at that moment (so a waiter can skip acked ones).
  grpc::Status Pending(const std::string& mailbox, uint64_t after, size_t limit,
                       std::vector<Stored>* out, uint64_t* newest);
  grpc::Status Ack(const std::string& mailbox, const std::vector<uint64_t>& seqs);
  // Blocks until `mailbox` holds a seq > after, or `timeout_ms` passes.
  void WaitForNew(const std::string& mailbox, uint64_t after, int timeout_ms);
  // Drops envelopes past their expiry and writes an expiry notice to each sender's mailbox.
  grpc::Status ExpireDue(int64_t now_ms, int* expired);
  // Wakes every waiter (shutdown).
  void WakeAll();
  // Commits and completes every queued send, then stops the writer and the completer; later
  // sends are refused with UNAVAILABLE. Idempotent; the destructor calls it.
  void StopWriter();

 private:
  struct PendingSend {
    std::vector<kars::v1::mesh::Envelope> copies;
    StoreDone done;
  };

  MailboxDb() = default;
  bool Exec(const char* sql, std::string* error);
  grpc::Status DbError(const char* what);
  // The outcome of one commit, for the completer thread.
  struct Committed {
    std::vector<std::unique_ptr<PendingSend>> sends;
    std::vector<std::vector<bool>> held_already;
    grpc::Status status;
  };

  void WriterLoop();
  // Completes the sends of each commit (their `done`), off the writer's thread.
  void CompleterLoop();
  // Copies durable WAL frames into the database file (PASSIVE) after every commit.
  void CheckpointLoop();
  // Called by the writer after a commit / before a transaction (see the file comment).
  void CountCommit();
  void WaitForCheckpointIfWalLarge();
  // Inserts and commits one batch; sets (*held_already)[i][c] when copy c of send i was a
  // duplicate (its recipient already held that message id), so nothing new was stored for it.
  grpc::Status CommitBatch(const std::vector<std::unique_ptr<PendingSend>>& batch,
                           std::vector<std::vector<bool>>* held_already);
  // Gives back the admission reservations of `copies` (all of them / those held already).
  void Release(const std::vector<kars::v1::mesh::Envelope>& copies);
  void ReleaseUnstored(const std::vector<kars::v1::mesh::Envelope>& copies,
                       const std::vector<bool>& held_already);

  Limits limits_;
  sqlite3* db_ = nullptr;
  sqlite3* checkpoint_db_ = nullptr;  // a second connection, so checkpoints do not take mu_
  sqlite3_stmt* insert_ = nullptr;    // the writer's prepared INSERT, reused for every envelope
  std::atomic<int> wal_pages_{0};     // frames in the WAL after the last commit
  std::mutex mu_;  // guards db_ and last_seq_; held across commits (fsync)
  std::map<std::string, uint64_t> last_seq_;  // newest seq per mailbox, for waiters
  std::condition_variable arrived_;
  // Admission state, under its own lock so that a send is admitted while a commit is in
  // progress (that is what lets the writer batch many sends into one fsync).
  std::mutex admit_mu_;
  std::map<std::string, int64_t> counts_;  // stored + queued envelopes per mailbox
  std::set<std::string> registered_;       // mailboxes with published keys

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<std::unique_ptr<PendingSend>> queue_;
  bool stopping_ = false;
  std::thread writer_;

  kars::Mutex done_mu_;
  kars::CondVar done_cv_;
  std::deque<Committed> done_ ABSL_GUARDED_BY(done_mu_);
  bool done_stopping_ ABSL_GUARDED_BY(done_mu_) = false;
  std::thread completer_;

  // Checkpointer state: commits counted by the writer, and the newest commit count after which
  // a checkpoint found every WAL frame copied.
  kars::Mutex ckpt_mu_;
  kars::CondVar ckpt_cv_;
  uint64_t commits_ ABSL_GUARDED_BY(ckpt_mu_) = 0;
  uint64_t checkpointed_ ABSL_GUARDED_BY(ckpt_mu_) = 0;
  bool ckpt_stopping_ ABSL_GUARDED_BY(ckpt_mu_) = false;
  bool restart_wanted_ ABSL_GUARDED_BY(ckpt_mu_) = false;  // the writer waits for a catch-up
  std::thread checkpointer_;
};

}  // namespace kars::relay

#endif  // KARS_HOSTS_RELAY_MAILBOX_DB_H_
