// RAII for a SQLite prepared statement, with the binders and column reader the relay uses.
#ifndef KARS_HOSTS_RELAY_SQLITE_STMT_H_
#define KARS_HOSTS_RELAY_SQLITE_STMT_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace kars::relay {

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }
  ~Stmt() { sqlite3_finalize(s); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  explicit operator bool() const { return s != nullptr; }
  void Text(int i, const std::string& v) { BindText(s, i, v); }
  void Blob(int i, const std::string& v) { BindBlob(s, i, v); }
  void Int(int i, int64_t v) { sqlite3_bind_int64(s, i, v); }
  std::string Col(int i) { return Column(s, i); }

  // SQLITE_TRANSIENT: SQLite copies the bytes, so `v` may go away before the step.
  static void BindText(sqlite3_stmt* st, int i, const std::string& v) {
    sqlite3_bind_text(st, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static void BindBlob(sqlite3_stmt* st, int i, const std::string& v) {
    sqlite3_bind_blob(st, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static std::string Column(sqlite3_stmt* st, int i) {
    return std::string(static_cast<const char*>(sqlite3_column_blob(st, i)),
                       static_cast<size_t>(sqlite3_column_bytes(st, i)));
  }
};

}  // namespace kars::relay

#endif  // KARS_HOSTS_RELAY_SQLITE_STMT_H_
