// Leases: every injection happens under one. A lease names what was handed out (credential,
// grant, principal, destination) and for how long; revoking it tells the host to stop using the
// injected request (kars_broker_lease_check) and is recorded. Values are never part of a lease.
// Issuing is on the injection hot path. A lease is the authority for one principal to use one
// grant's credential at one origin (scheme://host:port) until it expires: further injections
// for the same triple reuse the live, unrevoked lease, so the table grows with the number of
// distinct triples, not with traffic. Records are keyed by a sequence number, share their grant,
// and expire from a queue in issue order, so the table never scans itself on that path. The
// table is sharded (one lock per shard, shared on reuse) and each thread remembers the last
// lease it was given, valid until any revocation, so a repeated injection takes no lock here.
// Thread-safety: thread-safe.
#ifndef KARS_BROKER_LEASE_H_
#define KARS_BROKER_LEASE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libkars/base/sync.h"
#include "libkars/broker/grant.h"

namespace kars::broker {

// A lease as listed: metadata only.
struct Lease {
  std::string id;
  std::string credential;  // for basic auth: "user-cred+pass-cred"
  std::string grant;
  std::string principal;
  std::string destination;  // scheme://host:port/path
  absl::Time issued;
  absl::Duration ttl;
  bool revoked = false;
};

enum class RevokeBy { kLease, kCredential, kGrant, kPrincipal };

// "a" for header and query grants, "user+pass" for basic auth.
std::string CredentialLabel(const Grant& g);

class LeaseTable {
 public:
  explicit LeaseTable(std::size_t max_leases = 1000000);

  // The id of the live lease for (grant, principal, origin), issuing one (with `ttl` from `now`)
  // when there is none. A lease is reused only while at least `min_left` of it remains, so an
  // injection never rides on a lease about to end. When the table holds max_leases live leases
  // the call fails with KARS_E_EXHAUSTED (fail closed). The id is written into *id, reusing its
  // buffer. Takes one shard's lock (shared when the lease is reused), never a table-wide one.
  absl::Status Acquire(const std::shared_ptr<const Grant>& grant, absl::string_view principal,
                       absl::string_view origin, absl::Time now, absl::Duration ttl, std::string* id);
  absl::StatusOr<std::string> Acquire(const std::shared_ptr<const Grant>& grant, absl::string_view principal,
                                      absl::string_view origin, absl::Time now, absl::Duration ttl);

  // OK when the lease exists, is unexpired and unrevoked; KARS_E_DENIED when revoked or
  // expired; KARS_E_NOT_FOUND when unknown.
  absl::Status Check(absl::string_view id, absl::Time now) const;

  // Marks every matching live lease revoked; returns how many.
  std::size_t Revoke(RevokeBy by, const std::string& key);

  // Live (unexpired) leases, revoked ones included with their flag, oldest first.
  std::vector<Lease> List(absl::Time now) const;

 private:
  // Leases are spread over shards by (grant, principal, origin), each with its own lock, so
  // injections for different triples do not serialise on one lock. A lease's sequence number
  // names its shard (seq % kShards), so Check finds it without a search.
  static constexpr std::size_t kShards = 16;

  struct Record {
    std::shared_ptr<const Grant> grant;  // also keeps the grant's address (its identity) unique
    std::string principal;
    std::string origin;
    absl::Time issued;
    absl::Time expires;
    absl::Duration half_life;
    bool revoked = false;
    std::uint64_t key;  // hash of (grant, principal, origin)
    std::string id;
  };
  struct alignas(64) Shard {
    mutable Mutex mu;
    std::uint64_t next ABSL_GUARDED_BY(mu) = 0;
    absl::flat_hash_map<std::uint64_t, Record> records ABSL_GUARDED_BY(mu);
    // Hash of (grant, principal, origin) → the live lease serving them; a hit is confirmed
    // against the record, so a hash collision only costs a new lease.
    absl::flat_hash_map<std::uint64_t, std::uint64_t> reuse ABSL_GUARDED_BY(mu);
    // (expiry, seq) in issue order; a long lease at the front delays dropping later short ones,
    // which only holds memory for at most the longest lease_ttl.
    std::deque<std::pair<absl::Time, std::uint64_t>> order ABSL_GUARDED_BY(mu);
  };

  void IdOf(std::uint64_t seq, std::string* out) const;
  bool SeqOf(absl::string_view id, std::uint64_t* seq) const;
  void ExpireFront(Shard& shard, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  void Forget(Shard& shard, std::uint64_t seq, const Record& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Drops every expired record of every shard (when the table looks full).
  void Sweep(absl::Time now);

  const std::size_t max_;
  const std::string prefix_;  // "lease-<random>-": ids from two brokers never collide
  // Each thread remembers the last lease it was given (see Acquire); any revocation bumps the
  // epoch, which voids every such memory at once.
  const std::uint64_t instance_;
  std::atomic<std::uint64_t> epoch_{0};
  std::atomic<std::size_t> live_{0};  // records held over all shards
  Shard shards_[kShards];
};

}  // namespace kars::broker

#endif  // KARS_BROKER_LEASE_H_
