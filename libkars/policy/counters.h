// The state behind rate limits, concurrency limits and budgets, behind one interface so that a
// shared store can replace the embedded one without touching the decision logic. Counters are
// keyed by 64-bit hashes of (limit id, key values); they outlive policy reloads.
#ifndef KARS_POLICY_COUNTERS_H_
#define KARS_POLICY_COUNTERS_H_

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "libkars/base/sync.h"

namespace kars::policy {

// Thread-safe. Every operation is atomic with respect to the others on the same key.
class CounterStore {
 public:
  virtual ~CounterStore() = default;
  // Token bucket of `burst` tokens refilled at `per_second`: takes one token, or returns false
  // and the time until one is available.
  virtual bool TakeToken(uint64_t key, double per_second, uint64_t burst, int64_t now_ns,
                         int64_t* retry_after_ns) = 0;
  // Enters a scope of at most `max_in_flight`; Leave undoes one Enter.
  virtual bool Enter(uint64_t key, uint64_t max_in_flight) = 0;
  virtual void Leave(uint64_t key) = 0;
  // Adds `amount` to the usage of the window starting at `window_start` (seconds) if the result
  // stays within `limit`. A new window starts at zero.
  virtual bool Reserve(uint64_t key, int64_t window_start, uint64_t limit, uint64_t amount) = 0;
  // Replaces `reserved` by `actual` in the usage of that window, if it is still the current one.
  virtual void Adjust(uint64_t key, int64_t window_start, uint64_t reserved, uint64_t actual) = 0;
  // Usage of the window (0 when another window is current).
  virtual uint64_t Used(uint64_t key, int64_t window_start) = 0;

  // Rolling windows. Usage is kept per slot (a fixed sub-window); the window is the last `slots`
  // slots, so a charge made in slot s counts while the current slot is below s + slots. Reserves
  // `amount` in slot `slot` if the window's total stays within `limit`; *charged_slot receives
  // the slot actually charged (a later one when another caller already saw a later clock, so a
  // charge never counts for less than a full window).
  virtual bool ReserveRolling(uint64_t key, int64_t slot, uint32_t slots, uint64_t limit,
                              uint64_t amount, int64_t* charged_slot) = 0;
  // Replaces `reserved` by `actual` in slot `slot`, if that slot is still inside the window.
  virtual void AdjustRolling(uint64_t key, int64_t slot, uint32_t slots, uint64_t reserved,
                             uint64_t actual) = 0;
  // Usage of the window whose newest slot is `slot`.
  virtual uint64_t UsedRolling(uint64_t key, int64_t slot, uint32_t slots) = 0;
  // Scopes currently entered.
  virtual uint64_t InFlight(uint64_t key) = 0;
};

// The embedded default: in memory. Thread-safe.
class MemoryCounterStore final : public CounterStore {
 public:
  MemoryCounterStore();
  bool TakeToken(uint64_t key, double per_second, uint64_t burst, int64_t now_ns,
                 int64_t* retry_after_ns) override;
  bool Enter(uint64_t key, uint64_t max_in_flight) override;
  void Leave(uint64_t key) override;
  bool Reserve(uint64_t key, int64_t window_start, uint64_t limit, uint64_t amount) override;
  void Adjust(uint64_t key, int64_t window_start, uint64_t reserved, uint64_t actual) override;
  uint64_t Used(uint64_t key, int64_t window_start) override;
  bool ReserveRolling(uint64_t key, int64_t slot, uint32_t slots, uint64_t limit, uint64_t amount,
                      int64_t* charged_slot) override;
  void AdjustRolling(uint64_t key, int64_t slot, uint32_t slots, uint64_t reserved,
                     uint64_t actual) override;
  uint64_t UsedRolling(uint64_t key, int64_t slot, uint32_t slots) override;
  uint64_t InFlight(uint64_t key) override;

  // Usage of one slot of a rolling window (for the journal), and its restoration on replay.
  uint64_t SlotUsage(uint64_t key, int64_t slot, uint32_t slots);
  void RestoreSlot(uint64_t key, int64_t slot, uint32_t slots, uint64_t used);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ns = 0;
  };
  struct Usage {
    int64_t window_start = 0;
    uint64_t used = 0;
  };
  // A ring of per-slot usage; `head` is the newest slot seen, `total` the sum of the ring.
  struct Ring {
    int64_t head = 0;
    uint64_t total = 0;
    std::vector<uint64_t> used;
  };
  // Brings `ring` forward to `slot` (clearing slots that left the window); returns the slot a
  // charge now goes to.
  static int64_t Advance(Ring& ring, int64_t slot, uint32_t slots);
  Mutex mu_;
  absl::flat_hash_map<uint64_t, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, Ring> rings_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, uint64_t> in_flight_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, Usage> usage_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kars::policy

#endif  // KARS_POLICY_COUNTERS_H_
