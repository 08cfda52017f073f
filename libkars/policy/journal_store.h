// Counters whose budget usage survives a restart: an append-only journal of usage values,
// replayed and compacted when opened. Rate buckets and in-flight counts are deliberately not
// persisted: they describe the running process, not the billing window.
//
// Durability: every change is one write(2) with O_APPEND before the call returns, so usage
// survives the process being killed at any point (kill -9). It is not fsynced per change: a power
// loss may forget the last changes the kernel had not written back (at most the dirty-writeback
// interval, typically 5 to 30 seconds).
#ifndef KARS_POLICY_JOURNAL_STORE_H_
#define KARS_POLICY_JOURNAL_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libkars/policy/counters.h"

namespace kars::policy {

// Thread-safe.
class JournalCounterStore final : public CounterStore {
 public:
  // Opens (creating if needed) the journal at `path`, replays it, and rewrites it compacted.
  // IO errors are KARS_E_IO; a malformed line other than a torn last line is KARS_E_TAMPERED.
  static absl::StatusOr<std::shared_ptr<JournalCounterStore>> Open(const std::string& path);
  ~JournalCounterStore() override;

  bool TakeToken(uint64_t key, double per_second, uint64_t burst, int64_t now_ns,
                 int64_t* retry_after_ns) override {
    return memory_.TakeToken(key, per_second, burst, now_ns, retry_after_ns);
  }
  bool Enter(uint64_t key, uint64_t max_in_flight) override { return memory_.Enter(key, max_in_flight); }
  void Leave(uint64_t key) override { memory_.Leave(key); }
  bool Reserve(uint64_t key, int64_t window_start, uint64_t limit, uint64_t amount) override;
  void Adjust(uint64_t key, int64_t window_start, uint64_t reserved, uint64_t actual) override;
  uint64_t Used(uint64_t key, int64_t window_start) override { return memory_.Used(key, window_start); }
  bool ReserveRolling(uint64_t key, int64_t slot, uint32_t slots, uint64_t limit, uint64_t amount,
                      int64_t* charged_slot) override;
  void AdjustRolling(uint64_t key, int64_t slot, uint32_t slots, uint64_t reserved,
                     uint64_t actual) override;
  uint64_t UsedRolling(uint64_t key, int64_t slot, uint32_t slots) override {
    return memory_.UsedRolling(key, slot, slots);
  }
  uint64_t InFlight(uint64_t key) override { return memory_.InFlight(key); }

  // False once a journal write failed; the engine then refuses budgeted requests (fail closed).
  bool healthy() const { return healthy_.load(); }

 private:
  explicit JournalCounterStore(int fd) : fd_(fd) {}
  void Append(uint64_t key, int64_t window_start);
  void AppendSlot(uint64_t key, int64_t slot, uint32_t slots);

  MemoryCounterStore memory_;
  Mutex write_mu_;  // orders journal lines with the changes they record
  int fd_;
  std::atomic<bool> healthy_{true};
};

}  // namespace kars::policy

#endif  // KARS_POLICY_JOURNAL_STORE_H_
