#include "libkars/policy/approvals.h"

#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libkars/base/status.h"

namespace kars::policy {

const char* TicketStateName(TicketState state) {
  static constexpr const char* kNames[] = {"pending", "approved", "denied", "expired", "used"};
  return kNames[static_cast<int>(state)];
}

void ApprovalQueue::ExpireLocked(TicketInfo* t) {
  bool open = t->state == TicketState::kPending || t->state == TicketState::kApproved;
  if (open && clock_->NowNanos() >= t->expires_ns) {
    if (t->state == TicketState::kPending) pending_by_digest_.erase(t->request_digest);
    t->state = TicketState::kExpired;
    changed_.SignalAll();
  }
}

std::string ApprovalQueue::Open(const std::string& digest, const std::string& summary) {
  MutexLock lock(&mu_);
  if (auto it = pending_by_digest_.find(digest); it != pending_by_digest_.end()) {
    TicketInfo& t = tickets_[it->second];
    ExpireLocked(&t);
    if (t.state == TicketState::kPending) return t.id;
  }
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) return "";  // caller fails closed on an empty id
  TicketInfo t;
  t.id = absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(raw), sizeof raw));
  t.request_digest = digest;
  t.summary = summary;
  t.created_ns = clock_->NowNanos();
  t.expires_ns = t.created_ns + ttl_ns_;
  pending_by_digest_[digest] = t.id;
  std::string id = t.id;
  tickets_.emplace(id, std::move(t));
  return id;
}

ApprovalQueue::Use ApprovalQueue::Consume(const std::string& id, const std::string& digest) {
  MutexLock lock(&mu_);
  auto it = tickets_.find(id);
  if (it == tickets_.end()) return Use::kUnknown;
  TicketInfo& t = it->second;
  if (t.request_digest != digest) return Use::kMismatch;
  ExpireLocked(&t);
  switch (t.state) {
    case TicketState::kPending: return Use::kPending;
    case TicketState::kDenied: return Use::kDenied;
    case TicketState::kExpired: return Use::kExpired;
    case TicketState::kUsed: return Use::kUsed;
    case TicketState::kApproved:
      t.state = TicketState::kUsed;
      changed_.SignalAll();
      return Use::kGranted;
  }
  return Use::kUnknown;
}

absl::Status ApprovalQueue::Resolve(const std::string& id, bool approve,
                                    const std::string& approver, const std::string& reason) {
  if (approver.empty()) return absl::InvalidArgumentError("an approval decision needs an approver");
  MutexLock lock(&mu_);
  auto it = tickets_.find(id);
  if (it == tickets_.end()) return absl::NotFoundError(absl::StrCat("no approval ticket '", id, "'"));
  TicketInfo& t = it->second;
  ExpireLocked(&t);
  if (t.state != TicketState::kPending) {
    return MakeStatus(KARS_E_PRECONDITION, absl::StrCat("approval ticket '", id, "' is ",
                                                        TicketStateName(t.state), ", not pending"));
  }
  pending_by_digest_.erase(t.request_digest);
  t.state = approve ? TicketState::kApproved : TicketState::kDenied;
  t.approver = approver;
  t.reason = reason;
  // An approved ticket is usable for one more TTL from the decision, not from when it was asked.
  if (approve) t.expires_ns = clock_->NowNanos() + ttl_ns_;
  changed_.SignalAll();
  return absl::OkStatus();
}

std::vector<TicketInfo> ApprovalQueue::Pending() {
  MutexLock lock(&mu_);
  std::vector<TicketInfo> out;
  for (auto& [id, t] : tickets_) {
    ExpireLocked(&t);
    if (t.state == TicketState::kPending) out.push_back(t);
  }
  std::sort(out.begin(), out.end(), [](const TicketInfo& a, const TicketInfo& b) {
    return a.created_ns != b.created_ns ? a.created_ns < b.created_ns : a.id < b.id;
  });
  return out;
}

absl::Status ApprovalQueue::Get(const std::string& id, TicketInfo* out) {
  MutexLock lock(&mu_);
  auto it = tickets_.find(id);
  if (it == tickets_.end()) return absl::NotFoundError(absl::StrCat("no approval ticket '", id, "'"));
  ExpireLocked(&it->second);
  *out = it->second;
  return absl::OkStatus();
}

absl::Status ApprovalQueue::Wait(const std::string& id, int64_t timeout_ns, TicketState* out) {
  const absl::Time deadline = absl::Now() + absl::Nanoseconds(timeout_ns);
  MutexLock lock(&mu_);
  for (;;) {
    auto it = tickets_.find(id);
    if (it == tickets_.end()) return absl::NotFoundError(absl::StrCat("no approval ticket '", id, "'"));
    ExpireLocked(&it->second);
    if (it->second.state != TicketState::kPending) {
      *out = it->second.state;
      return absl::OkStatus();
    }
    // Wake up at least every 50 ms so that expiry by an injected clock is noticed.
    absl::Time wake = std::min(deadline, absl::Now() + absl::Milliseconds(50));
    if (absl::Now() >= deadline) {
      *out = TicketState::kPending;
      return absl::OkStatus();
    }
    changed_.WaitWithDeadline(&mu_, wake);
  }
}

}  // namespace kars::policy
