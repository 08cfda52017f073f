// A counter that many threads bump without sharing a cache line: each thread adds to one of a
// few padded cells (chosen once per thread), and a read sums them. For metrics on hot paths,
// where one shared counter would be the only line every request writes.
// Thread-safety: thread-safe; Load is not a snapshot taken at one instant.
#ifndef KARS_BROKER_SHARDED_COUNTER_H_
#define KARS_BROKER_SHARDED_COUNTER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace kars::broker {

class ShardedCounter {
 public:
  void Add(std::uint64_t n = 1) { cells_[ThreadCell()].n.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t Load() const {
    std::uint64_t sum = 0;
    for (const Cell& c : cells_) sum += c.n.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  static constexpr std::size_t kCells = 8;
  struct alignas(64) Cell {
    std::atomic<std::uint64_t> n{0};
  };
  // Threads take cells in turn, so up to kCells threads each have one to themselves.
  static std::size_t ThreadCell() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t cell = next.fetch_add(1, std::memory_order_relaxed) % kCells;
    return cell;
  }

  Cell cells_[kCells];
};

}  // namespace kars::broker

#endif  // KARS_BROKER_SHARDED_COUNTER_H_
