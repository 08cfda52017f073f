#include "hosts/relay/mailbox_db.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace kars::relay {

namespace pb = kars::v1::mesh;

namespace {

// RAII for prepared statements.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }
  ~Stmt() { sqlite3_finalize(s); }
  explicit operator bool() const { return s != nullptr; }
  void Text(int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Blob(int i, const std::string& v) {
    sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(s, i, v); }
  std::string Col(int i) {
    return std::string(static_cast<const char*>(sqlite3_column_blob(s, i)),
                       static_cast<size_t>(sqlite3_column_bytes(s, i)));
  }
};

const char* kSchema =
    "CREATE TABLE IF NOT EXISTS mailboxes (name TEXT PRIMARY KEY, auth_key BLOB NOT NULL,"
    " keys BLOB);"
    "CREATE TABLE IF NOT EXISTS prekeys (mailbox TEXT NOT NULL, id INTEGER NOT NULL,"
    " public_key BLOB NOT NULL, PRIMARY KEY (mailbox, id));"
    "CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " recipient TEXT NOT NULL, sender TEXT NOT NULL, message_id BLOB NOT NULL,"
    " type INTEGER NOT NULL, ciphertext BLOB NOT NULL, expires_at INTEGER NOT NULL,"
    " group_id TEXT NOT NULL DEFAULT '', UNIQUE (recipient, message_id));"
    "CREATE INDEX IF NOT EXISTS messages_by_expiry ON messages (expires_at);";

constexpr int64_t kMinNoticeTtlMs = 24LL * 3600 * 1000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::unique_ptr<MailboxDb> MailboxDb::Open(const std::string& data_dir, const Limits& limits,
                                           std::string* error) {
  if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    *error = "cannot create data dir " + data_dir + ": " + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<MailboxDb> db(new MailboxDb());
  db->limits_ = limits;
  std::string path = data_dir + "/relay.db";
  if (sqlite3_open(path.c_str(), &db->db_) != SQLITE_OK) {
    *error = "cannot open " + path + ": " + sqlite3_errmsg(db->db_);
    return nullptr;
  }
  if (!db->Exec("PRAGMA journal_mode=WAL", error) || !db->Exec("PRAGMA synchronous=FULL", error) ||
      !db->Exec(kSchema, error)) {
    return nullptr;
  }
  Stmt counts(db->db_, "SELECT recipient, count(*), max(seq) FROM messages GROUP BY recipient");
  while (counts && sqlite3_step(counts.s) == SQLITE_ROW) {
    std::string r = counts.Col(0);
    db->counts_[r] = sqlite3_column_int64(counts.s, 1);
    db->last_seq_[r] = static_cast<uint64_t>(sqlite3_column_int64(counts.s, 2));
  }
  Stmt reg(db->db_, "SELECT name FROM mailboxes WHERE keys IS NOT NULL");
  while (reg && sqlite3_step(reg.s) == SQLITE_ROW) db->registered_.insert(reg.Col(0));
  db->writer_ = std::thread([d = db.get()] { d->WriterLoop(); });
  return db;
}

MailboxDb::~MailboxDb() {
  {
    std::lock_guard<std::mutex> l(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (db_ != nullptr) sqlite3_close(db_);
}

bool MailboxDb::Exec(const char* sql, std::string* error) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    *error = std::string(sql) + ": " + (msg != nullptr ? msg : "error");
    sqlite3_free(msg);
    return false;
  }
  return true;
}

grpc::Status MailboxDb::DbError(const char* what) {
  return grpc::Status(grpc::StatusCode::INTERNAL,
                      std::string("relay database: ") + what + ": " + sqlite3_errmsg(db_));
}

grpc::Status MailboxDb::BindAuthKey(const std::string& mailbox, const std::string& auth_key) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt q(db_, "SELECT auth_key FROM mailboxes WHERE name = ?");
  q.Text(1, mailbox);
  if (sqlite3_step(q.s) == SQLITE_ROW) {
    if (q.Col(0) == auth_key) return grpc::Status::OK;
    if (!limits_.allow_reregister) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "mailbox '" + mailbox + "' is registered to another key");
    }
  }
  char* msg = nullptr;
  sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, &msg);
  Stmt up(db_, "INSERT OR REPLACE INTO mailboxes (name, auth_key, keys) VALUES (?, ?, NULL)");
  up.Text(1, mailbox);
  up.Blob(2, auth_key);
  Stmt del(db_, "DELETE FROM prekeys WHERE mailbox = ?");
  del.Text(1, mailbox);
  if (sqlite3_step(up.s) != SQLITE_DONE || sqlite3_step(del.s) != SQLITE_DONE ||
      sqlite3_exec(db_, "COMMIT", nullptr, nullptr, &msg) != SQLITE_OK) {
    sqlite3_free(msg);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return DbError("register mailbox");
  }
  std::lock_guard<std::mutex> a(admit_mu_);
  registered_.erase(mailbox);  // until it publishes keys again
  return grpc::Status::OK;
}

grpc::Status MailboxDb::PublishKeys(const std::string& mailbox, const pb::PublishKeysRequest& req,
                                    uint32_t* remaining) {
  std::lock_guard<std::mutex> l(mu_);
  pb::PublishKeysRequest identity = req;
  identity.clear_one_time_prekeys();
  sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  bool ok = true;
  {
    Stmt up(db_, "UPDATE mailboxes SET keys = ? WHERE name = ?");
    up.Blob(1, identity.SerializeAsString());
    up.Text(2, mailbox);
    ok = sqlite3_step(up.s) == SQLITE_DONE && sqlite3_changes(db_) == 1;
    Stmt ins(db_, "INSERT OR REPLACE INTO prekeys (mailbox, id, public_key) VALUES (?, ?, ?)");
    for (const auto& k : req.one_time_prekeys()) {
      if (!ok) break;
      sqlite3_reset(ins.s);
      ins.Text(1, mailbox);
      ins.Int(2, k.id());
      ins.Blob(3, k.public_key());
      ok = sqlite3_step(ins.s) == SQLITE_DONE;
    }
    Stmt count(db_, "SELECT count(*) FROM prekeys WHERE mailbox = ?");
    count.Text(1, mailbox);
    if (ok && sqlite3_step(count.s) == SQLITE_ROW) {
      *remaining = static_cast<uint32_t>(sqlite3_column_int64(count.s, 0));
    }
  }
  if (!ok || sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    grpc::Status st = DbError("publish keys");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }
  std::lock_guard<std::mutex> a(admit_mu_);
  registered_.insert(mailbox);
  return grpc::Status::OK;
}

grpc::Status MailboxDb::FetchBundle(const std::string& mailbox, pb::PreKeyBundle* out) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt q(db_, "SELECT keys FROM mailboxes WHERE name = ? AND keys IS NOT NULL");
  q.Text(1, mailbox);
  if (sqlite3_step(q.s) != SQLITE_ROW) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no mailbox '" + mailbox + "'");
  }
  pb::PublishKeysRequest keys;
  if (!keys.ParseFromString(q.Col(0))) return DbError("stored keys are unreadable");
  out->set_mailbox(mailbox);
  out->set_registration_id(keys.registration_id());
  out->set_device_id(1);
  out->set_identity_key(keys.identity_key());
  out->set_signed_prekey_id(keys.signed_prekey_id());
  out->set_signed_prekey(keys.signed_prekey());
  out->set_signed_prekey_signature(keys.signed_prekey_signature());
  // Read and delete in one transaction under the mutex: two fetchers never get the same key.
  sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  Stmt take(db_,
            "DELETE FROM prekeys WHERE rowid = (SELECT rowid FROM prekeys WHERE mailbox = ? "
            "ORDER BY id LIMIT 1) RETURNING id, public_key");
  take.Text(1, mailbox);
  int rc = sqlite3_step(take.s);
  if (rc == SQLITE_ROW) {
    out->mutable_one_time_prekey()->set_id(static_cast<uint32_t>(sqlite3_column_int64(take.s, 0)));
    out->mutable_one_time_prekey()->set_public_key(take.Col(1));
    rc = sqlite3_step(take.s);
  }
  if (rc != SQLITE_DONE) {
    grpc::Status st = DbError("fetch bundle");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }
  sqlite3_reset(take.s);
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return DbError("fetch bundle commit");
  }
  return grpc::Status::OK;
}

grpc::Status MailboxDb::Store(const pb::Envelope& envelope, bool* duplicate) {
  return StoreMany({envelope}, duplicate);
}

grpc::Status MailboxDb::StoreMany(const std::vector<pb::Envelope>& copies, bool* duplicate) {
  if (copies.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "nothing to store");
  const size_t size = copies[0].ciphertext().size();
  if (size > limits_.max_message_bytes) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "message of " + std::to_string(size) +
                            " bytes exceeds the relay's limit of " +
                            std::to_string(limits_.max_message_bytes));
  }
  auto release = [&](size_t n) {
    std::lock_guard<std::mutex> l(admit_mu_);
    for (size_t i = 0; i < n; ++i) --counts_[copies[i].recipient()];
  };
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
        return refuse;
      }
      ++counts_[r];  // reserved; released below if the write fails or was a duplicate
    }
  }
  auto p = std::make_unique<PendingSend>();
  p->copies = copies;
  for (auto& e : p->copies) {
    if (e.expires_at_ms() <= 0 || e.expires_at_ms() > NowMs() + limits_.default_ttl_ms) {
      e.set_expires_at_ms(NowMs() + limits_.default_ttl_ms);
    }
  }
  auto fut = p->done.get_future();
  {
    std::lock_guard<std::mutex> l(queue_mu_);
    if (stopping_) {
      release(copies.size());
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "relay is shutting down");
    }
    queue_.push_back(std::move(p));
  }
  queue_cv_.notify_one();
  auto [status, dup] = fut.get();
  if (!status.ok() || dup) release(copies.size());
  *duplicate = dup;
  return status;
}

void MailboxDb::WriterLoop() {
  for (;;) {
    std::vector<std::unique_ptr<PendingSend>> batch;
    {
      std::unique_lock<std::mutex> l(queue_mu_);
      queue_cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      while (!queue_.empty() && batch.size() < 1024) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<bool> dup(batch.size(), false);  // per send: its first copy was a duplicate
    grpc::Status st = grpc::Status::OK;
    {
      std::lock_guard<std::mutex> l(mu_);
      sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      Stmt ins(db_,
               "INSERT OR IGNORE INTO messages (recipient, sender, message_id, type, ciphertext,"
               " expires_at, group_id) VALUES (?, ?, ?, ?, ?, ?, ?)");
      std::vector<std::pair<std::string, uint64_t>> stored;
      for (size_t i = 0; i < batch.size() && st.ok(); ++i) {
        for (size_t c = 0; c < batch[i]->copies.size(); ++c) {
          const pb::Envelope& e = batch[i]->copies[c];
          sqlite3_reset(ins.s);
          ins.Text(1, e.recipient());
          ins.Text(2, e.sender());
          ins.Blob(3, e.message_id());
          ins.Int(4, e.type());
          ins.Blob(5, e.ciphertext());
          ins.Int(6, e.expires_at_ms());
          ins.Text(7, e.group_id());
          if (sqlite3_step(ins.s) != SQLITE_DONE) {
            st = DbError("store message");
            break;
          }
          if (sqlite3_changes(db_) == 0) {
            if (c == 0) dup[i] = true;
          } else {
            stored.emplace_back(e.recipient(),
                                static_cast<uint64_t>(sqlite3_last_insert_rowid(db_)));
          }
        }
      }
      if (st.ok() && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
        st = DbError("commit messages");
      }
      if (!st.ok()) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      } else {
        for (const auto& [recipient, seq] : stored) {
          uint64_t& last = last_seq_[recipient];
          if (seq > last) last = seq;
        }
      }
    }
    if (st.ok()) arrived_.notify_all();
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i]->done.set_value({st, st.ok() && dup[i]});
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
