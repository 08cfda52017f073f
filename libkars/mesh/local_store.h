// An agent's durable state: keys, sessions, trusted identities, and the inbox of decrypted
// messages not yet handed to the host. Everything is cached in memory (every read is a hash
// lookup); writes go through to SQLite (WAL, synchronous=FULL), so a committed write survives a
// crash. An empty directory means memory only (benchmarks, tests of pure protocol behaviour).
//
// The namespaces that hold message plaintext (inbox, resend copies, outbox) are sealed on disk
// with AES-256-GCM (AtRestCipher) under a random key the store creates on first open, so message
// content never sits in the database, its WAL or freed pages in the clear. The key is in the same
// database: this keeps plaintext out of anything that copies or scans the files for content, not
// out of reach of someone who holds the whole directory (the identity keys are there as well).
//
// A directory is owned by one process at a time: Open takes an exclusive flock on DIR/lock and a
// second opener fails with KARS_E_PRECONDITION instead of racing on the same keys.
//
// Thread-safety: one thread at a time (the agent serialises access).
#ifndef KARS_MESH_LOCAL_STORE_H_
#define KARS_MESH_LOCAL_STORE_H_

#include <sqlite3.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "libkars/mesh/at_rest.h"

namespace kars::mesh {

enum class Ns : int {
  kMeta = 0,             // own identity, registration id, counters
  kPreKey = 1,           // one-time prekeys by id
  kSignedPreKey = 2,     // signed prekeys by id
  kSession = 3,          // session records by peer
  kIdentity = 4,         // trusted peer identity keys by peer
  kSenderKey = 5,        // sender-key records
  kSeen = 6,             // message ids already accepted (sender + id)
  kInbox = 7,            // events awaiting delivery, keyed by big-endian sequence
  kHeld = 8,             // envelopes held back until a changed identity is approved
  kPendingIdentity = 9,  // a changed identity key awaiting approval, by peer
  kOutbox = 10,          // control payloads (group updates, sender keys) still to send
  kGroup = 11,           // groups this agent belongs to (GroupRecord), by group id
  kHeldGroup = 12,       // group messages that arrived before their group or sender key
  kSent = 13,            // the last payloads sent to each peer, resent after a session reset
};
inline constexpr int kNamespaceCount = 14;

// Namespaces whose values are sealed at rest.
inline constexpr bool IsSealedAtRest(Ns ns) {
  return ns == Ns::kInbox || ns == Ns::kSent || ns == Ns::kOutbox;
}
// The kMeta entry holding the at-rest key.
inline constexpr char kMetaAtRestKey[] = "at_rest.key";

class LocalStore {
 public:
  static absl::StatusOr<std::unique_ptr<LocalStore>> Open(const std::string& dir);
  ~LocalStore();
  LocalStore(const LocalStore&) = delete;
  LocalStore& operator=(const LocalStore&) = delete;

  absl::optional<std::string> Get(Ns ns, absl::string_view key) const;
  // The cached value without a copy; null when absent. Invalidated by the next write.
  const std::string* Find(Ns ns, absl::string_view key) const;
  bool Contains(Ns ns, absl::string_view key) const;
  absl::Status Put(Ns ns, absl::string_view key, absl::string_view value);
  // Returns whether the key existed.
  absl::StatusOr<bool> Delete(Ns ns, absl::string_view key);
  // All entries of a namespace, ordered by key.
  std::vector<std::pair<std::string, std::string>> List(Ns ns) const;
  size_t Count(Ns ns) const { return cache_[static_cast<int>(ns)].size(); }

  // Groups writes into one durable commit (one fsync). Nested calls are counted. If Commit fails
  // the in-memory cache is reloaded from disk so that memory never runs ahead of the disk.
  absl::Status Begin();
  absl::Status Commit();

  bool persistent() const { return db_ != nullptr; }

 private:
  LocalStore() = default;
  absl::Status Exec(const char* sql);
  absl::Status Load();
  absl::Status SqlError(absl::string_view what) const;
  absl::Status EnsureAtRestKey();

  int lock_fd_ = -1;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* del_ = nullptr;
  int depth_ = 0;
  bool failed_in_txn_ = false;
  std::string path_;
  absl::optional<AtRestCipher> at_rest_;
  absl::flat_hash_map<std::string, std::string> cache_[kNamespaceCount];
};

// RAII Begin/Commit; Commit() reports the result, the destructor commits if nobody did.
class StoreTxn {
 public:
  explicit StoreTxn(LocalStore& store) : store_(store), status_(store.Begin()) {}
  ~StoreTxn() {
    if (!done_) (void)Commit();
  }
  absl::Status Commit() {
    if (done_) return status_;
    done_ = true;
    if (!status_.ok()) return status_;
    return store_.Commit();
  }

 private:
  LocalStore& store_;
  absl::Status status_;
  bool done_ = false;
};

}  // namespace kars::mesh

#endif  // KARS_MESH_LOCAL_STORE_H_
