// The policy engine: the policy set in force, counters, reservations and approvals.
// Thread-safe: decisions, settlements, approvals and reloads may run concurrently. A reload is
// atomic; decisions in flight finish on the set they started with.
#ifndef KARS_POLICY_ENGINE_H_
#define KARS_POLICY_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "libkars/base/sync.h"
#include "kars/v1/policy.pb.h"
#include "libkars/policy/approvals.h"
#include "libkars/policy/clock.h"
#include "libkars/policy/counters.h"
#include "libkars/policy/policy_set.h"

namespace kars::policy {

struct EngineOptions {
  const Clock* clock = nullptr;                          // NULL: shared_clock, else the system clock
  std::shared_ptr<const Clock> shared_clock;             // a clock the engine keeps alive
  int64_t approval_ttl_ns = 15LL * 60 * 1000000000;      // pending and approved tickets
  int64_t reservation_timeout_ns = 10LL * 60 * 1000000000;  // unsettled → charged in full
  std::shared_ptr<CounterStore> counters;                // NULL: in memory
};

// The outcome of one decision. Reusing one Decision across calls avoids all allocation on the
// decision path (the ticket and explanation strings are only filled when needed).
struct Decision {
  static constexpr uint32_t kMaxRules = 16;
  Effect effect = Effect::kDeny;
  const char* reason = "default.deny";  // stable code, static storage
  uint32_t rule_count = 0;              // recorded matched rules (at most kMaxRules)
  uint32_t matched_total = 0;           // all matched rules
  uint32_t rules[kMaxRules] = {};       // indices into set->rules
  std::shared_ptr<const PolicySet> set; // the set that decided; keeps rule ids alive
  std::string ticket;                   // approval ticket, when effect is approve
  uint64_t reservation = 0;             // settle handle; 0 when nothing was reserved
  int64_t retry_after_ms = 0;           // for rate limits
  std::string explanation;              // filled when asked for
  SafetyResult safety;                  // when content-safety floors were applied
  bool safety_applied = false;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Compiles `sources` and puts the result in force; on error the previous set stays.
  absl::Status Load(const std::vector<PolicySource>& sources);
  void Install(std::shared_ptr<const PolicySet> set);
  // The set in force (an empty set, which denies everything, before the first load).
  std::shared_ptr<const PolicySet> Current() const;

  // Decides `request`. Fails (INVALID_ARGUMENT) only for a malformed request; callers treat
  // any failure as deny.
  absl::Status Decide(const v1::Request& request, bool explain, Decision* out);

  // Charges a reservation with the actual usage and releases its concurrency slots.
  // NOT_FOUND when the handle is unknown, already settled, or expired (and charged in full).
  absl::Status Settle(uint64_t reservation, uint64_t prompt_tokens, uint64_t output_tokens);

  ApprovalQueue& approvals() { return approvals_; }
  CounterStore& counters() { return *counters_; }
  const Clock& clock() const { return *clock_; }

  // Start of the calendar window containing `now_ns`, in seconds since the epoch (UTC).
  static int64_t WindowStart(Window window, int64_t now_ns);
  // The slot of a rolling-window budget containing `now_ns`.
  static int64_t RollingSlot(const Limit& limit, int64_t now_ns);
  // Current usage of budget `limit` for the scope `request` falls in (for hosts and tests).
  uint64_t BudgetUsed(const Limit& limit, const v1::Request& request);
  // The counter key of `limit` for `request`.
  static uint64_t CounterKey(const Limit& limit, const v1::Request& request);
  // SHA-256 (hex) of the request without its approval ticket.
  static std::string RequestDigest(const v1::Request& request);

 private:
  struct Item {
    uint8_t type;  // Limit::Type
    bool cost;
    uint64_t key;
    int64_t window_start;  // rolling windows: the slot charged
    uint64_t reserved;
    Limit::Price price;
    uint32_t slots;  // rolling windows: kRollingSlots; 0 for calendar windows
  };
  struct Reservation {
    static constexpr int kMaxItems = 8;
    int64_t expires_ns = 0;
    int count = 0;
    Item items[kMaxItems];
  };
  void ApplyLimits(const PolicySet& set, const v1::Request& request, Kind kind, Decision* out);
  void Release(const Reservation& r, bool settle, uint64_t prompt_tokens, uint64_t output_tokens);
  // Inline so that a decision with no reservations outstanding pays one relaxed load.
  void ExpireReservations() {
    if (live_reservations_.load(std::memory_order_relaxed) != 0) ExpireDueReservations();
  }
  void ExpireDueReservations();
  void ApplyApproval(const v1::Request& request, Decision* out);
  absl::Status ApplySafety(const PolicySet& set, const v1::Request& request, Decision* out);

  const Clock* clock_;
  EngineOptions options_;
  std::shared_ptr<CounterStore> counters_;
  ApprovalQueue approvals_;

  mutable Mutex set_mu_;
  std::shared_ptr<const PolicySet> set_ ABSL_GUARDED_BY(set_mu_);
  // The set in force, for the common case of a reused Decision that already holds it: when
  // Decision::set points here, it keeps this set alive, so no lock or reference count is taken.
  std::atomic<const PolicySet*> current_{nullptr};

  Mutex res_mu_;
  uint64_t next_reservation_ ABSL_GUARDED_BY(res_mu_) = 1;
  absl::flat_hash_map<uint64_t, Reservation> reservations_ ABSL_GUARDED_BY(res_mu_);
  std::deque<std::pair<int64_t, uint64_t>> expiry_ ABSL_GUARDED_BY(res_mu_);
  std::atomic<size_t> live_reservations_{0};
};

// Uses price for cost budgets: ceil(prompt * p / 1000) + ceil(output * o / 1000).
uint64_t CostOf(const Limit::Price& price, uint64_t prompt_tokens, uint64_t output_tokens);

}  // namespace kars::policy

#endif  // KARS_POLICY_ENGINE_H_
