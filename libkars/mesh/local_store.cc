#include "libkars/mesh/local_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"

namespace kars::mesh {

absl::StatusOr<std::unique_ptr<LocalStore>> LocalStore::Open(const std::string& dir) {
  std::unique_ptr<LocalStore> store(new LocalStore());
  if (dir.empty()) return store;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError(absl::StrCat("cannot create agent directory ", dir), errno);
  }
  std::string lock_path = dir + "/lock";
  store->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (store->lock_fd_ < 0) return ErrnoError(absl::StrCat("cannot open ", lock_path), errno);
  if (::flock(store->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return MakeStatus(KARS_E_PRECONDITION,
                        absl::StrCat("agent directory ", dir,
                                     " is in use by another process (its lock is held)"));
    }
    return ErrnoError(absl::StrCat("cannot lock ", lock_path), errno);
  }
  store->path_ = dir + "/agent.db";
  if (sqlite3_open_v2(store->path_.c_str(), &store->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return store->SqlError("cannot open agent database");
  }
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                          "CREATE TABLE IF NOT EXISTS kv (ns INTEGER NOT NULL, k BLOB NOT NULL, "
                          "v BLOB NOT NULL, PRIMARY KEY (ns, k)) WITHOUT ROWID"}) {
    if (absl::Status s = store->Exec(sql); !s.ok()) return s;
  }
  if (sqlite3_prepare_v2(store->db_, "INSERT OR REPLACE INTO kv (ns, k, v) VALUES (?, ?, ?)", -1,
                         &store->put_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(store->db_, "DELETE FROM kv WHERE ns = ? AND k = ?", -1, &store->del_,
                         nullptr) != SQLITE_OK) {
    return store->SqlError("cannot prepare agent database statements");
  }
  if (absl::Status s = store->Load(); !s.ok()) return s;
  if (absl::Status s = store->EnsureAtRestKey(); !s.ok()) return s;
  return store;
}

absl::Status LocalStore::EnsureAtRestKey() {
  if (at_rest_.has_value()) return absl::OkStatus();
  auto key = AtRestCipher::NewKey();
  if (!key.ok()) return key.status();
  if (absl::Status s = Put(Ns::kMeta, kMetaAtRestKey, *key); !s.ok()) return s;
  auto cipher = AtRestCipher::FromKey(*key);
  if (!cipher.ok()) return cipher.status();
  at_rest_ = std::move(*cipher);
  return absl::OkStatus();
}

namespace {

// Binds a sealed value to its slot.
std::string AtRestAad(Ns ns, absl::string_view key) {
  std::string aad(1, static_cast<char>(ns));
  aad.append(key.data(), key.size());
  return aad;
}

}  // namespace

LocalStore::~LocalStore() {
  sqlite3_finalize(put_);
  sqlite3_finalize(del_);
  if (db_ != nullptr) sqlite3_close(db_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

absl::Status LocalStore::SqlError(absl::string_view what) const {
  return IoError(
      absl::StrCat(what, " ", path_, ": ", db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory"));
}

absl::Status LocalStore::Exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg != nullptr ? msg : "unknown error";
    sqlite3_free(msg);
    return IoError(absl::StrCat("agent database ", path_, ": ", sql, ": ", text));
  }
  return absl::OkStatus();
}

absl::Status LocalStore::Load() {
  for (auto& ns : cache_) ns.clear();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT ns, k, v FROM kv", -1, &stmt, nullptr) != SQLITE_OK) {
    return SqlError("cannot read agent database");
  }
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    int ns = sqlite3_column_int(stmt, 0);
    if (ns < 0 || ns >= kNamespaceCount) continue;  // written by a newer version; left alone
    std::string k(static_cast<const char*>(sqlite3_column_blob(stmt, 1)),
                  static_cast<size_t>(sqlite3_column_bytes(stmt, 1)));
    std::string v(static_cast<const char*>(sqlite3_column_blob(stmt, 2)),
                  static_cast<size_t>(sqlite3_column_bytes(stmt, 2)));
    cache_[ns][std::move(k)] = std::move(v);
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return SqlError("cannot read agent database");
  at_rest_.reset();
  const auto& meta = cache_[static_cast<int>(Ns::kMeta)];
  if (auto it = meta.find(kMetaAtRestKey); it != meta.end()) {
    auto cipher = AtRestCipher::FromKey(it->second);
    if (!cipher.ok()) return TamperedError("agent database holds a malformed store key");
    at_rest_ = std::move(*cipher);
  }
  for (int ns = 0; ns < kNamespaceCount; ++ns) {
    if (!IsSealedAtRest(static_cast<Ns>(ns)) || cache_[ns].empty()) continue;
    if (!at_rest_.has_value()) {
      return TamperedError(
          absl::StrCat("agent database ", path_, " holds sealed entries but no store key"));
    }
    for (auto& [k, v] : cache_[ns]) {
      auto plain = at_rest_->Open(AtRestAad(static_cast<Ns>(ns), k), v);
      if (!plain.ok()) {
        return TamperedError(absl::StrCat("agent database ", path_, ": ", plain.status().message()));
      }
      v = std::move(*plain);
    }
  }
  return absl::OkStatus();
}

absl::optional<std::string> LocalStore::Get(Ns ns, absl::string_view key) const {
  const auto& map = cache_[static_cast<int>(ns)];
  auto it = map.find(key);
  if (it == map.end()) return absl::nullopt;
  return it->second;
}

const std::string* LocalStore::Find(Ns ns, absl::string_view key) const {
  const auto& map = cache_[static_cast<int>(ns)];
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

bool LocalStore::Contains(Ns ns, absl::string_view key) const {
  return cache_[static_cast<int>(ns)].contains(key);
}

absl::Status LocalStore::Put(Ns ns, absl::string_view key, absl::string_view value) {
  if (db_ != nullptr) {
    bool own = depth_ == 0;
    if (own) {
      if (absl::Status s = Begin(); !s.ok()) return s;
    }
    absl::string_view stored = value;
    std::string sealed;
    if (IsSealedAtRest(ns)) {
      auto s = at_rest_.has_value() ? at_rest_->Seal(AtRestAad(ns, key), value)
                                    : absl::StatusOr<std::string>(absl::InternalError(
                                          "agent store: no store key to seal with"));
      if (!s.ok()) {
        if (own) (void)Commit();
        return s.status();
      }
      sealed = std::move(*s);
      stored = sealed;
    }
    sqlite3_reset(put_);
    sqlite3_bind_int(put_, 1, static_cast<int>(ns));
    sqlite3_bind_blob(put_, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    sqlite3_bind_blob(put_, 3, stored.data(), static_cast<int>(stored.size()), SQLITE_STATIC);
    int rc = sqlite3_step(put_);
    sqlite3_reset(put_);
    if (rc != SQLITE_DONE) {
      failed_in_txn_ = true;
      absl::Status err = SqlError("cannot write agent database");
      if (own) (void)Commit();
      return err;
    }
    cache_[static_cast<int>(ns)][key] = std::string(value.data(), value.size());
    if (own) return Commit();
    return absl::OkStatus();
  }
  cache_[static_cast<int>(ns)][key] = std::string(value.data(), value.size());
  return absl::OkStatus();
}

absl::StatusOr<bool> LocalStore::Delete(Ns ns, absl::string_view key) {
  auto& map = cache_[static_cast<int>(ns)];
  auto it = map.find(key);
  if (it == map.end()) return false;
  if (db_ != nullptr) {
    bool own = depth_ == 0;
    if (own) {
      if (absl::Status s = Begin(); !s.ok()) return s;
    }
    sqlite3_reset(del_);
    sqlite3_bind_int(del_, 1, static_cast<int>(ns));
    sqlite3_bind_blob(del_, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    int rc = sqlite3_step(del_);
    sqlite3_reset(del_);
    if (rc != SQLITE_DONE) {
      failed_in_txn_ = true;
      absl::Status err = SqlError("cannot delete from agent database");
      if (own) (void)Commit();
      return err;
    }
    map.erase(it);
    if (own) {
      if (absl::Status s = Commit(); !s.ok()) return s;
    }
    return true;
  }
  map.erase(it);
  return true;
}

std::vector<std::pair<std::string, std::string>> LocalStore::List(Ns ns) const {
  const auto& map = cache_[static_cast<int>(ns)];
  std::vector<std::pair<std::string, std::string>> out(map.begin(), map.end());
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status LocalStore::Begin() {
  if (db_ == nullptr) return absl::OkStatus();
  if (depth_++ == 0) {
    failed_in_txn_ = false;
    absl::Status s = Exec("BEGIN IMMEDIATE");
    if (!s.ok()) {
      depth_ = 0;
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status LocalStore::Commit() {
  if (db_ == nullptr) return absl::OkStatus();
  if (depth_ == 0 || --depth_ > 0) return absl::OkStatus();
  absl::Status s = failed_in_txn_ ? Exec("ROLLBACK") : Exec("COMMIT");
  if (failed_in_txn_ || !s.ok()) {
    if (!s.ok()) (void)Exec("ROLLBACK");
    // Memory ran ahead of the disk: bring it back to what is durable.
    absl::Status reload = Load();
    if (s.ok())
      s = IoError(absl::StrCat("agent database ", path_, ": a write failed; rolled back"));
    if (!reload.ok()) return reload;
  }
  return s;
}

}  // namespace kars::mesh
