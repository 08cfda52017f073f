#include "libkars/policy/counters.h"

#include <algorithm>
#include <cmath>

namespace kars::policy {

MemoryCounterStore::MemoryCounterStore() {
  // Room for many scopes up front: the decision path should not rehash in steady state.
  MutexLock lock(&mu_);
  buckets_.reserve(1024);
  in_flight_.reserve(1024);
  usage_.reserve(1024);
  rings_.reserve(1024);
}

bool MemoryCounterStore::TakeToken(uint64_t key, double per_second, uint64_t burst,
                                   int64_t now_ns, int64_t* retry_after_ns) {
  MutexLock lock(&mu_);
  auto [it, inserted] = buckets_.try_emplace(key);
  Bucket& b = it->second;
  const double capacity = static_cast<double>(burst);
  if (inserted) {
    b.tokens = capacity;
  } else if (now_ns > b.updated_ns) {
    b.tokens = std::min(capacity, b.tokens + per_second * static_cast<double>(now_ns - b.updated_ns) / 1e9);
  }
  b.updated_ns = std::max(b.updated_ns, now_ns);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  *retry_after_ns = static_cast<int64_t>(std::ceil((1.0 - b.tokens) / per_second * 1e9));
  return false;
}

bool MemoryCounterStore::Enter(uint64_t key, uint64_t max_in_flight) {
  MutexLock lock(&mu_);
  uint64_t& n = in_flight_[key];
  if (n >= max_in_flight) return false;
  ++n;
  return true;
}

void MemoryCounterStore::Leave(uint64_t key) {
  MutexLock lock(&mu_);
  auto it = in_flight_.find(key);
  if (it != in_flight_.end() && it->second > 0) --it->second;
}

bool MemoryCounterStore::Reserve(uint64_t key, int64_t window_start, uint64_t limit,
                                 uint64_t amount) {
  MutexLock lock(&mu_);
  Usage& u = usage_[key];
  if (u.window_start != window_start) {
    if (window_start < u.window_start) return false;  // a clock that went back: fail closed
    u = Usage{window_start, 0};
  }
  if (amount > limit || u.used > limit - amount) return false;
  u.used += amount;
  return true;
}

void MemoryCounterStore::Adjust(uint64_t key, int64_t window_start, uint64_t reserved,
                                uint64_t actual) {
  MutexLock lock(&mu_);
  auto it = usage_.find(key);
  if (it == usage_.end() || it->second.window_start != window_start) return;
  uint64_t& used = it->second.used;
  if (actual < reserved) {
    used -= std::min(used, reserved - actual);
  } else {
    // Usage beyond the reservation is charged, never forgiven (and never wraps around).
    uint64_t extra = actual - reserved;
    used = used > UINT64_MAX - extra ? UINT64_MAX : used + extra;
  }
}

uint64_t MemoryCounterStore::Used(uint64_t key, int64_t window_start) {
  MutexLock lock(&mu_);
  auto it = usage_.find(key);
  return it == usage_.end() || it->second.window_start != window_start ? 0 : it->second.used;
}

int64_t MemoryCounterStore::Advance(Ring& ring, int64_t slot, uint32_t slots) {
  if (ring.used.size() != slots) {  // new, or the window was redefined: start over
    ring.used.assign(slots, 0);
    ring.total = 0;
    ring.head = slot;
    return slot;
  }
  if (slot <= ring.head) return ring.head;
  const int64_t steps = std::min<int64_t>(slot - ring.head, slots);
  for (int64_t k = 1; k <= steps; ++k) {
    uint64_t& u = ring.used[static_cast<size_t>((ring.head + k) % slots)];
    ring.total -= u;
    u = 0;
  }
  ring.head = slot;
  return slot;
}

namespace {
size_t SlotIndex(int64_t slot, uint32_t slots) {
  return static_cast<size_t>(((slot % slots) + slots) % slots);
}
}  // namespace

bool MemoryCounterStore::ReserveRolling(uint64_t key, int64_t slot, uint32_t slots, uint64_t limit,
                                        uint64_t amount, int64_t* charged_slot) {
  if (slots == 0) return false;
  MutexLock lock(&mu_);
  Ring& ring = rings_[key];
  const int64_t charged = Advance(ring, slot, slots);
  if (amount > limit || ring.total > limit - amount) return false;
  ring.used[SlotIndex(charged, slots)] += amount;
  ring.total += amount;
  *charged_slot = charged;
  return true;
}

void MemoryCounterStore::AdjustRolling(uint64_t key, int64_t slot, uint32_t slots,
                                       uint64_t reserved, uint64_t actual) {
  MutexLock lock(&mu_);
  auto it = rings_.find(key);
  if (it == rings_.end() || it->second.used.size() != slots) return;
  Ring& ring = it->second;
  if (slot <= ring.head - static_cast<int64_t>(slots) || slot > ring.head) return;  // left the window
  uint64_t& used = ring.used[SlotIndex(slot, slots)];
  if (actual < reserved) {
    const uint64_t refund = std::min(used, reserved - actual);
    used -= refund;
    ring.total -= refund;
  } else {
    // Usage beyond the reservation is charged, never forgiven (and never wraps around).
    const uint64_t extra = std::min(actual - reserved, UINT64_MAX - ring.total);
    used += extra;
    ring.total += extra;
  }
}

uint64_t MemoryCounterStore::UsedRolling(uint64_t key, int64_t slot, uint32_t slots) {
  MutexLock lock(&mu_);
  auto it = rings_.find(key);
  if (it == rings_.end() || it->second.used.size() != slots) return 0;
  Advance(it->second, slot, slots);
  return it->second.total;
}

uint64_t MemoryCounterStore::SlotUsage(uint64_t key, int64_t slot, uint32_t slots) {
  MutexLock lock(&mu_);
  auto it = rings_.find(key);
  if (it == rings_.end() || it->second.used.size() != slots) return 0;
  const Ring& ring = it->second;
  if (slot <= ring.head - static_cast<int64_t>(slots) || slot > ring.head) return 0;
  return ring.used[SlotIndex(slot, slots)];
}

void MemoryCounterStore::RestoreSlot(uint64_t key, int64_t slot, uint32_t slots, uint64_t used) {
  if (slots == 0) return;
  MutexLock lock(&mu_);
  Ring& ring = rings_[key];
  Advance(ring, slot, slots);
  if (slot <= ring.head - static_cast<int64_t>(slots) || slot > ring.head) return;
  uint64_t& u = ring.used[SlotIndex(slot, slots)];
  ring.total = ring.total - u + used;
  u = used;
}

uint64_t MemoryCounterStore::InFlight(uint64_t key) {
  MutexLock lock(&mu_);
  auto it = in_flight_.find(key);
  return it == in_flight_.end() ? 0 : it->second;
}

}  // namespace kars::policy
