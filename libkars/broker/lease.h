// Leases: every injection happens under one. A lease names what was handed out (credential,
// grant, principal, destination) and for how long; revoking it tells the host to stop using the
// injected request (kars_broker_lease_check) and is recorded. Values are never part of a lease.
// Thread-safety: thread-safe.
#ifndef KARS_BROKER_LEASE_H_
#define KARS_BROKER_LEASE_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace kars::broker {

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

class LeaseTable {
 public:
  explicit LeaseTable(std::size_t max_leases = 1000000);

  // Records a new lease and returns its id. Expired leases are dropped as the table fills; when
  // it is full of live leases the call fails with KARS_E_EXHAUSTED (fail closed).
  absl::Status Issue(Lease& lease) ABSL_LOCKS_EXCLUDED(mu_);

  // OK when the lease exists, is unexpired and unrevoked; KARS_E_DENIED when revoked or
  // expired; KARS_E_NOT_FOUND when unknown.
  absl::Status Check(const std::string& id, absl::Time now) const ABSL_LOCKS_EXCLUDED(mu_);

  // Marks every matching live lease revoked; returns how many.
  std::size_t Revoke(RevokeBy by, const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);

  // Live (unexpired) leases, revoked ones included with their flag.
  std::vector<Lease> List(absl::Time now) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Prune(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::size_t max_;
  const std::string prefix_;  // random per table, so ids from two brokers never collide
  std::atomic<std::uint64_t> next_{1};
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Lease> leases_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kars::broker

#endif  // KARS_BROKER_LEASE_H_
