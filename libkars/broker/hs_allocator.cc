#include "libkars/broker/hs_allocator.h"

#include <hs/hs.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <map>
#include <mutex>

#include "libkars/base/secure_zero.h"
#include "libkars/base/sync.h"

namespace kars::broker {
namespace {

// Blocks by start address → mapped length. Never destroyed: Hyperscan frees scratch from
// thread-exit and static destructors, possibly after this file's statics would be gone.
struct Registry {
  Mutex mu;
  std::map<std::uintptr_t, std::size_t> blocks ABSL_GUARDED_BY(mu);
};

Registry& Blocks() {
  static Registry* registry = new Registry;
  return *registry;
}

void* LockedAlloc(std::size_t size) {
  static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t mapped = ((size == 0 ? 1 : size) + page - 1) / page * page;
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  (void)madvise(p, mapped, MADV_DONTDUMP);
  (void)mlock(p, mapped);  // best effort, as for Secret: RLIMIT_MEMLOCK may be small
  Registry& r = Blocks();
  MutexLock lock(&r.mu);
  r.blocks.emplace(reinterpret_cast<std::uintptr_t>(p), mapped);
  return p;
}

void LockedFree(void* p) {
  if (p == nullptr) return;
  std::size_t mapped = 0;
  {
    Registry& r = Blocks();
    MutexLock lock(&r.mu);
    auto it = r.blocks.find(reinterpret_cast<std::uintptr_t>(p));
    if (it != r.blocks.end()) {
      mapped = it->second;
      r.blocks.erase(it);
    }
  }
  if (mapped == 0) {
    std::free(p);  // allocated by Hyperscan's default allocator before ours was installed
    return;
  }
  SecureZero(p, mapped);
  (void)munlock(p, mapped);
  (void)munmap(p, mapped);
}

struct InstallAtLoad {
  InstallAtLoad() { InstallLockedHyperscanAllocators(); }
} install_at_load;

}  // namespace

void InstallLockedHyperscanAllocators() {
  static std::once_flag once;
  std::call_once(once, [] { (void)hs_set_allocator(LockedAlloc, LockedFree); });
}

bool IsLockedHyperscanBlock(const void* p) {
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  Registry& r = Blocks();
  MutexLock lock(&r.mu);
  auto it = r.blocks.upper_bound(addr);
  if (it == r.blocks.begin()) return false;
  --it;
  return addr < it->first + it->second;
}

}  // namespace kars::broker
