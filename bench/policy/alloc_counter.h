// A global operator new counter: the bench proves that a decision allocates nothing.
#ifndef KARS_BENCH_POLICY_ALLOC_COUNTER_H_
#define KARS_BENCH_POLICY_ALLOC_COUNTER_H_

#include <atomic>
#include <cstdint>

namespace kars::bench {
uint64_t Allocations();
}  // namespace kars::bench

#endif  // KARS_BENCH_POLICY_ALLOC_COUNTER_H_
