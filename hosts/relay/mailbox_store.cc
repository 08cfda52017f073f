// Envelopes in mailboxes: admission and group commit of sends, reading, acks and expiry.
#include <algorithm>
#include <chrono>

#include "hosts/relay/mailbox_db.h"
#include "hosts/relay/sqlite_stmt.h"

namespace kars::relay {

namespace pb = kars::v1::mesh;

namespace {

constexpr int64_t kMinNoticeTtlMs = 24LL * 3600 * 1000;
// Sends one commit takes at most; more wait for the next one (bounds a batch's latency).
constexpr size_t kMaxBatch = 2048;
// WAL size (pages) past which the writer lets the checkpointer catch up with the last commit
// before it begins the next transaction, so that SQLite rewinds the WAL instead of growing the
// file: under a steady stream of commits the checkpointer is always one commit behind, and the
// WAL is only rewound when every frame was copied. The wait is about one checkpoint of one
// batch, once per this many pages (16 MiB of 4 KiB pages).
constexpr int kWalPagesToRestart = 4096;
// WAL growth (pages) that wakes the checkpointer: copying every commit's pages at once would
// copy the table's last leaf and the index pages again for each commit, and sync the database
// file each time; this many pages (1 MiB) is still a short catch-up for the rewind above.
constexpr int kWalPagesPerCheckpoint = 256;
// The longest the writer waits for that (a checkpoint blocked by a long read gives up the rewind
// this time rather than stalling sends).
constexpr auto kCheckpointWait = absl::Milliseconds(50);

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void MailboxDb::Release(const std::vector<pb::Envelope>& copies) {
  std::lock_guard<std::mutex> l(admit_mu_);
  for (const auto& e : copies) --counts_[e.recipient()];
}

void MailboxDb::ReleaseUnstored(const std::vector<pb::Envelope>& copies,
                                const std::vector<bool>& held_already) {
  std::lock_guard<std::mutex> l(admit_mu_);
  for (size_t c = 0; c < copies.size(); ++c) {
    if (held_already[c]) --counts_[copies[c].recipient()];
  }
}

void MailboxDb::StoreMany(std::vector<pb::Envelope> copies, StoreDone done) {
  if (copies.empty()) {
    return done(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "nothing to store"), false);
  }
  const size_t size = copies[0].ciphertext().size();
  if (size > limits_.max_message_bytes) {
    return done(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                             "message of " + std::to_string(size) +
                                 " bytes exceeds the relay's limit of " +
                                 std::to_string(limits_.max_message_bytes)),
                false);
  }
  {
    std::lock_guard<std::mutex> l(admit_mu_);
    for (size_t i = 0; i < copies.size(); ++i) {
      const std::string& r = copies[i].recipient();
      grpc::Status refuse;
      if (!registered_.count(r)) {
        refuse = grpc::Status(grpc::StatusCode::NOT_FOUND, "no mailbox '" + r + "'");
      } else if (counts_[r] >= limits_.max_mailbox_messages) {
        refuse = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              "mailbox '" + r + "' is full (" +
                                  std::to_string(limits_.max_mailbox_messages) + " messages)");
      }
      if (!refuse.ok()) {
        for (size_t j = 0; j < i; ++j) --counts_[copies[j].recipient()];
        return done(refuse, false);
      }
      ++counts_[r];  // reserved; released if the write fails or was a duplicate
    }
  }
  const int64_t now = NowMs();
  for (auto& e : copies) {
    if (e.expires_at_ms() <= 0 || e.expires_at_ms() > now + limits_.default_ttl_ms) {
      e.set_expires_at_ms(now + limits_.default_ttl_ms);
    }
  }
  auto p = std::make_unique<PendingSend>();
  p->copies = std::move(copies);
  p->done = std::move(done);
  {
    std::lock_guard<std::mutex> l(queue_mu_);
    if (!stopping_) {
      queue_.push_back(std::move(p));
      queue_cv_.notify_one();
      return;
    }
  }
  Release(p->copies);
  p->done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "relay is shutting down"), false);
}

void MailboxDb::WriterLoop() {
  for (;;) {
    Committed batch;
    {
      std::unique_lock<std::mutex> l(queue_mu_);
      queue_cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;  // drained: every queued send was handed on
      while (!queue_.empty() && batch.sends.size() < kMaxBatch) {
        batch.sends.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    WaitForCheckpointIfWalLarge();
    batch.held_already.resize(batch.sends.size());
    for (size_t i = 0; i < batch.sends.size(); ++i) {
      batch.held_already[i].assign(batch.sends[i]->copies.size(), false);
    }
    batch.status = CommitBatch(batch.sends, &batch.held_already);
    if (batch.status.ok()) {
      arrived_.notify_all();
      CountCommit();
    }
    // Completed only now, after the commit's fsync, and on the completer thread, so that the
    // next commit does not wait for the answers of this one to be sent.
    {
      kars::MutexLock l(&done_mu_);
      done_.push_back(std::move(batch));
    }
    done_cv_.Signal();
  }
}

void MailboxDb::CompleterLoop() {
  for (;;) {
    std::deque<Committed> batches;
    {
      kars::MutexLock l(&done_mu_);
      while (done_.empty() && !done_stopping_) done_cv_.Wait(&done_mu_);
      if (done_.empty()) return;  // stopping, and every committed send was completed
      batches.swap(done_);
    }
    for (auto& b : batches) {
      // An acknowledged send is durable. Each copy's reservation is released only when that
      // copy was not stored (a fan-out may mix new copies with ones a recipient already held).
      for (size_t i = 0; i < b.sends.size(); ++i) {
        if (!b.status.ok()) {
          Release(b.sends[i]->copies);
        } else {
          ReleaseUnstored(b.sends[i]->copies, b.held_already[i]);
        }
        b.sends[i]->done(b.status, b.status.ok() && b.held_already[i][0]);
      }
    }
  }
}

grpc::Status MailboxDb::CommitBatch(const std::vector<std::unique_ptr<PendingSend>>& batch,
                                    std::vector<std::vector<bool>>* held_already) {
  std::lock_guard<std::mutex> l(mu_);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return DbError("begin");
  }
  std::vector<std::pair<const std::string*, uint64_t>> stored;
  grpc::Status st = grpc::Status::OK;
  for (size_t i = 0; i < batch.size() && st.ok(); ++i) {
    for (size_t c = 0; c < batch[i]->copies.size(); ++c) {
      const pb::Envelope& e = batch[i]->copies[c];
      // SQLITE_STATIC: the envelope outlives the step, so SQLite need not copy the ciphertext.
      sqlite3_reset(insert_);
      sqlite3_bind_text(insert_, 1, e.recipient().data(), static_cast<int>(e.recipient().size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(insert_, 2, e.sender().data(), static_cast<int>(e.sender().size()),
                        SQLITE_STATIC);
      sqlite3_bind_blob(insert_, 3, e.message_id().data(),
                        static_cast<int>(e.message_id().size()), SQLITE_STATIC);
      sqlite3_bind_int64(insert_, 4, e.type());
      sqlite3_bind_blob(insert_, 5, e.ciphertext().data(), static_cast<int>(e.ciphertext().size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(insert_, 6, e.expires_at_ms());
      sqlite3_bind_text(insert_, 7, e.group_id().data(), static_cast<int>(e.group_id().size()),
                        SQLITE_STATIC);
      if (sqlite3_step(insert_) != SQLITE_DONE) {
        st = DbError("store message");
        break;
      }
      if (sqlite3_changes(db_) == 0) {
        (*held_already)[i][c] = true;
      } else {
        stored.emplace_back(&e.recipient(), static_cast<uint64_t>(sqlite3_last_insert_rowid(db_)));
      }
    }
  }
  sqlite3_reset(insert_);
  sqlite3_clear_bindings(insert_);
  if (st.ok() && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    st = DbError("commit messages");
  }
  if (!st.ok()) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }
  for (const auto& [recipient, seq] : stored) {
    uint64_t& last = last_seq_[*recipient];
    if (seq > last) last = seq;
  }
  return grpc::Status::OK;
}

void MailboxDb::CountCommit() {
  {
    kars::MutexLock l(&ckpt_mu_);
    ++commits_;
  }
  ckpt_cv_.SignalAll();
}

void MailboxDb::WaitForCheckpointIfWalLarge() {
  if (wal_pages_.load(std::memory_order_relaxed) <= kWalPagesToRestart) return;
  kars::MutexLock l(&ckpt_mu_);
  restart_wanted_ = true;
  ckpt_cv_.SignalAll();
  const absl::Time deadline = absl::Now() + kCheckpointWait;
  while (checkpointed_ < commits_ && !ckpt_stopping_) {
    if (ckpt_cv_.WaitWithDeadline(&ckpt_mu_, deadline)) break;
  }
  restart_wanted_ = false;
}

void MailboxDb::CheckpointLoop() {
  uint64_t seen = 0;
  int log_then = 0;  // WAL frames at the last checkpoint
  for (;;) {
    {
      kars::MutexLock l(&ckpt_mu_);
      // Also every 50 ms: the last commits' frames, and those of the other writes (acks, keys,
      // expiry), which do not count as commits here.
      auto due = [&] {
        const int pages = wal_pages_.load(std::memory_order_relaxed);
        return ckpt_stopping_ || (restart_wanted_ && checkpointed_ < commits_) ||
               (commits_ != seen && (pages < log_then || pages - log_then >= kWalPagesPerCheckpoint));
      };
      const absl::Time deadline = absl::Now() + absl::Milliseconds(50);
      while (!due()) {
        if (ckpt_cv_.WaitWithDeadline(&ckpt_mu_, deadline)) break;
      }
      if (ckpt_stopping_) return;
      seen = commits_;
    }
    int log = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log,
                                       &copied);
    if (rc == SQLITE_OK) log_then = log;
    if (rc == SQLITE_OK && log == copied) {
      {
        kars::MutexLock l(&ckpt_mu_);
        checkpointed_ = std::max(checkpointed_, seen);
      }
      ckpt_cv_.SignalAll();
    }
  }
}

grpc::Status MailboxDb::Pending(const std::string& mailbox, uint64_t after, size_t limit,
                                std::vector<Stored>* out, uint64_t* newest) {
  std::lock_guard<std::mutex> l(mu_);
  auto last = last_seq_.find(mailbox);
  *newest = last == last_seq_.end() ? 0 : last->second;
  Stmt q(db_,
         "SELECT seq, sender, message_id, type, ciphertext, expires_at, group_id FROM messages"
         " WHERE recipient = ? AND seq > ? ORDER BY seq LIMIT ?");
  q.Text(1, mailbox);
  q.Int(2, static_cast<int64_t>(after));
  q.Int(3, static_cast<int64_t>(limit));
  int rc;
  while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
    Stored& s = out->emplace_back();
    s.seq = static_cast<uint64_t>(sqlite3_column_int64(q.s, 0));
    s.envelope.set_recipient(mailbox);
    s.envelope.set_sender(q.Col(1));
    s.envelope.set_message_id(q.Col(2));
    s.envelope.set_type(static_cast<pb::CiphertextType>(sqlite3_column_int(q.s, 3)));
    s.envelope.set_ciphertext(q.Col(4));
    s.envelope.set_expires_at_ms(sqlite3_column_int64(q.s, 5));
    s.envelope.set_group_id(q.Col(6));
  }
  if (rc != SQLITE_DONE) return DbError("read mailbox");
  return grpc::Status::OK;
}

grpc::Status MailboxDb::Ack(const std::string& mailbox, const std::vector<uint64_t>& seqs) {
  std::lock_guard<std::mutex> l(mu_);
  sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  Stmt del(db_, "DELETE FROM messages WHERE recipient = ? AND seq = ?");
  int64_t removed = 0;
  for (uint64_t seq : seqs) {
    sqlite3_reset(del.s);
    del.Text(1, mailbox);
    del.Int(2, static_cast<int64_t>(seq));
    if (sqlite3_step(del.s) != SQLITE_DONE) {
      grpc::Status st = DbError("ack");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return st;
    }
    removed += sqlite3_changes(db_);
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return DbError("ack commit");
  }
  std::lock_guard<std::mutex> a(admit_mu_);
  counts_[mailbox] -= removed;
  return grpc::Status::OK;
}

void MailboxDb::WaitForNew(const std::string& mailbox, uint64_t after, int timeout_ms) {
  std::unique_lock<std::mutex> l(mu_);
  arrived_.wait_for(l, std::chrono::milliseconds(timeout_ms), [&] {
    auto it = last_seq_.find(mailbox);
    return it != last_seq_.end() && it->second > after;
  });
}

void MailboxDb::WakeAll() { arrived_.notify_all(); }

grpc::Status MailboxDb::ExpireDue(int64_t now_ms, int* expired) {
  std::lock_guard<std::mutex> l(mu_);
  *expired = 0;
  sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  std::vector<std::pair<uint64_t, pb::Envelope>> due;
  {
    Stmt q(db_,
           "DELETE FROM messages WHERE expires_at <= ? AND type != ? "
           "RETURNING seq, recipient, sender, message_id");
    q.Int(1, now_ms);
    q.Int(2, pb::CIPHERTEXT_TYPE_EXPIRY_NOTICE);
    int rc;
    while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
      pb::Envelope notice;
      notice.set_recipient(q.Col(2));  // back to the sender
      notice.set_sender(q.Col(1));     // naming the recipient that never collected it
      notice.set_message_id(q.Col(3));
      notice.set_type(pb::CIPHERTEXT_TYPE_EXPIRY_NOTICE);
      due.emplace_back(static_cast<uint64_t>(sqlite3_column_int64(q.s, 0)), std::move(notice));
    }
    if (rc != SQLITE_DONE) {
      grpc::Status st = DbError("expire");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return st;
    }
  }
  // Notices themselves expire silently.
  Stmt drop(db_, "DELETE FROM messages WHERE expires_at <= ? AND type = ?");
  drop.Int(1, now_ms);
  drop.Int(2, pb::CIPHERTEXT_TYPE_EXPIRY_NOTICE);
  sqlite3_step(drop.s);
  Stmt ins(db_,
           "INSERT OR IGNORE INTO messages (recipient, sender, message_id, type, ciphertext,"
           " expires_at) VALUES (?, ?, ?, ?, x'', ?)");
  std::map<std::string, int64_t> delta;
  for (auto& [seq, n] : due) {
    --delta[n.sender()];
    sqlite3_reset(ins.s);
    ins.Text(1, n.recipient());
    ins.Text(2, n.sender());
    ins.Blob(3, n.message_id());
    ins.Int(4, n.type());
    // A notice outlives short message TTLs so that the sender has time to learn of the expiry.
    ins.Int(5, now_ms + std::max<int64_t>(limits_.default_ttl_ms, kMinNoticeTtlMs));
    if (sqlite3_step(ins.s) == SQLITE_DONE && sqlite3_changes(db_) == 1) {
      ++delta[n.recipient()];
      last_seq_[n.recipient()] = static_cast<uint64_t>(sqlite3_last_insert_rowid(db_));
    }
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    grpc::Status st = DbError("expire commit");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }
  {
    std::lock_guard<std::mutex> a(admit_mu_);
    for (auto& [m, d] : delta) counts_[m] += d;
  }
  *expired = static_cast<int>(due.size());
  if (!due.empty()) arrived_.notify_all();
  return grpc::Status::OK;
}

}  // namespace kars::relay
