#include "hosts/relay/mailbox_db.h"

#include "hosts/relay/sqlite_stmt.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace kars::relay {

namespace pb = kars::v1::mesh;

namespace {

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
  // FULL: the WAL is fsynced at every commit, so an acknowledged send survives power loss.
  // Checkpoints are taken off the writer's path (CheckpointLoop, on a second connection).
  if (!db->Exec("PRAGMA journal_mode=WAL", error) || !db->Exec("PRAGMA synchronous=FULL", error) ||
      !db->Exec("PRAGMA wal_autocheckpoint=0", error) || !db->Exec(kSchema, error)) {
    return nullptr;
  }
  sqlite3_busy_timeout(db->db_, 5000);
  sqlite3_wal_hook(
      db->db_,
      [](void* self, sqlite3*, const char*, int pages) {
        static_cast<MailboxDb*>(self)->wal_pages_.store(pages, std::memory_order_relaxed);
        return SQLITE_OK;
      },
      db.get());
  if (sqlite3_open(path.c_str(), &db->checkpoint_db_) != SQLITE_OK ||
      sqlite3_exec(db->checkpoint_db_, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr) !=
          SQLITE_OK) {
    *error = "cannot open " + path + " for checkpoints: " + sqlite3_errmsg(db->checkpoint_db_);
    return nullptr;
  }
  if (sqlite3_prepare_v2(db->db_,
                         "INSERT OR IGNORE INTO messages (recipient, sender, message_id, type,"
                         " ciphertext, expires_at, group_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         -1, &db->insert_, nullptr) != SQLITE_OK) {
    *error = std::string("cannot prepare the message insert: ") + sqlite3_errmsg(db->db_);
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
  db->checkpointer_ = std::thread([d = db.get()] { d->CheckpointLoop(); });
  db->completer_ = std::thread([d = db.get()] { d->CompleterLoop(); });
  return db;
}

void MailboxDb::StopWriter() {
  {
    std::lock_guard<std::mutex> l(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  {
    kars::MutexLock l(&done_mu_);
    done_stopping_ = true;
  }
  done_cv_.SignalAll();
  if (completer_.joinable()) completer_.join();
  {
    kars::MutexLock l(&ckpt_mu_);
    ckpt_stopping_ = true;
  }
  ckpt_cv_.SignalAll();
  if (checkpointer_.joinable()) checkpointer_.join();
}

MailboxDb::~MailboxDb() {
  StopWriter();
  sqlite3_finalize(insert_);
  if (checkpoint_db_ != nullptr) {
    // Nothing writes any more: fold the whole WAL into the database file and truncate it.
    sqlite3_wal_checkpoint_v2(checkpoint_db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr,
                              nullptr);
    sqlite3_close(checkpoint_db_);
  }
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

}  // namespace kars::relay
