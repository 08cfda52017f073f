// Tickets for requests a rule says need a human decision. A ticket is bound to the SHA-256 of the
// request it was opened for, lives for a TTL, and once approved admits exactly one identical
// request. Expired tickets deny.
#ifndef KARS_POLICY_APPROVALS_H_
#define KARS_POLICY_APPROVALS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "libkars/base/sync.h"
#include "libkars/policy/clock.h"

namespace kars::policy {

enum class TicketState : uint8_t { kPending = 0, kApproved, kDenied, kExpired, kUsed };
const char* TicketStateName(TicketState state);

struct TicketInfo {
  std::string id;
  std::string request_digest;  // hex SHA-256
  std::string summary;         // the request as JSON, for the approver
  TicketState state = TicketState::kPending;
  int64_t created_ns = 0;
  int64_t expires_ns = 0;
  std::string approver;
  std::string reason;
};

// Thread-safe.
class ApprovalQueue {
 public:
  ApprovalQueue(const Clock* clock, int64_t ttl_ns) : clock_(clock), ttl_ns_(ttl_ns) {}

  // The pending ticket for `digest`, or a new one.
  std::string Open(const std::string& digest, const std::string& summary);

  enum class Use : uint8_t { kGranted, kPending, kDenied, kExpired, kUsed, kMismatch, kUnknown };
  // Presents ticket `id` for a request with `digest`. An approved ticket for the same digest is
  // consumed (kGranted once, kUsed afterwards).
  Use Consume(const std::string& id, const std::string& digest);

  // Records a human decision. NOT_FOUND for an unknown ticket, PRECONDITION when it is no longer
  // pending (decided, used or expired).
  absl::Status Resolve(const std::string& id, bool approve, const std::string& approver,
                       const std::string& reason);

  std::vector<TicketInfo> Pending();
  absl::Status Get(const std::string& id, TicketInfo* out);

  // Blocks until the ticket leaves the pending state or `timeout_ns` of real time passes;
  // returns the state then (kPending on timeout). NOT_FOUND for an unknown ticket.
  absl::Status Wait(const std::string& id, int64_t timeout_ns, TicketState* out);

 private:
  void ExpireLocked(TicketInfo* t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock* clock_;
  const int64_t ttl_ns_;
  Mutex mu_;
  CondVar changed_;
  absl::flat_hash_map<std::string, TicketInfo> tickets_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> pending_by_digest_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kars::policy

#endif  // KARS_POLICY_APPROVALS_H_
