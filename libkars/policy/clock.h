// Time as the policy engine sees it: injectable, so budgets, rate limits, reservation expiry and
// approval TTLs are testable at window boundaries without sleeping.
#ifndef KARS_POLICY_CLOCK_H_
#define KARS_POLICY_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"

namespace kars::policy {

// Thread-safe implementations only: decisions read the clock from many threads.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowNanos() const = 0;  // nanoseconds since the Unix epoch, UTC
};

class SystemClock final : public Clock {
 public:
  int64_t NowNanos() const override { return absl::GetCurrentTimeNanos(); }
  static SystemClock* Get() {
    static SystemClock clock;
    return &clock;
  }
};

// A clock tests set and advance by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ns = 0) : now_(now_ns) {}
  int64_t NowNanos() const override { return now_.load(std::memory_order_acquire); }
  void Set(int64_t now_ns) { now_.store(now_ns, std::memory_order_release); }
  void Advance(int64_t ns) { now_.fetch_add(ns, std::memory_order_acq_rel); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace kars::policy

#endif  // KARS_POLICY_CLOCK_H_
