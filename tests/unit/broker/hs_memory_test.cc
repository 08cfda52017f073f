// The leak index's Hyperscan database (which embeds every held value as a literal) and scratch
// live in locked, dump-excluded pages, as /proc/self/smaps reports them.
#include <hs/hs.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "libkars/broker/hs_allocator.h"
#include "libkars/broker/leak_index.h"

namespace kars::broker {
namespace {

// The VmFlags of the mapping that contains `p`; "" when none does.
std::string VmFlagsOf(const void* p) {
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    const std::size_t dash = line.find('-');
    const std::size_t space = line.find(' ');
    std::uint64_t lo = 0, hi = 0;
    if (dash != std::string::npos && space != std::string::npos && dash < space &&
        absl::SimpleHexAtoi(line.substr(0, dash), &lo) &&
        absl::SimpleHexAtoi(line.substr(dash + 1, space - dash - 1), &hi)) {
      inside = addr >= lo && addr < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line.substr(8) + " ";
  }
  return "";
}

bool HasFlag(const std::string& flags, const std::string& flag) {
  return flags.find(" " + flag + " ") != std::string::npos;
}

// The sanitizers replace mlock with a no-op that reports success, so "lo" cannot show there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kMlockWorks = false;
#else
constexpr bool kMlockWorks = true;
#endif

TEST(HyperscanMemory, DatabaseAndScratchAreLockedAndDumpExcluded) {
  auto secret = Secret::Create("hs-memory-secret-value-0001");
  ASSERT_TRUE(secret.ok());
  auto index = LeakIndex::Build({{"c", *secret}});
  ASSERT_TRUE(index.ok()) << index.status();
  const void* db = (*index)->database_address();
  ASSERT_NE(db, nullptr);
  EXPECT_TRUE(IsLockedHyperscanBlock(db));
  const std::string flags = VmFlagsOf(db);
  EXPECT_TRUE(HasFlag(flags, "dd")) << flags;
  EXPECT_TRUE(!kMlockWorks || HasFlag(flags, "lo")) << flags;  // RLIMIT_MEMLOCK: far above one database

  hs_scratch_t* scratch = nullptr;
  ASSERT_EQ(hs_alloc_scratch(static_cast<const hs_database_t*>(db), &scratch), HS_SUCCESS);
  EXPECT_TRUE(IsLockedHyperscanBlock(scratch));
  const std::string scratch_flags = VmFlagsOf(scratch);
  EXPECT_TRUE(HasFlag(scratch_flags, "dd")) << scratch_flags;
  EXPECT_TRUE(!kMlockWorks || HasFlag(scratch_flags, "lo")) << scratch_flags;
  hs_free_scratch(scratch);

  // Freed blocks leave the registry (and their pages are wiped and unmapped).
  index->reset();
  EXPECT_FALSE(IsLockedHyperscanBlock(db));
}

TEST(HyperscanMemory, InstallingAgainIsHarmless) {
  InstallLockedHyperscanAllocators();
  InstallLockedHyperscanAllocators();
  auto secret = Secret::Create("hs-memory-secret-value-0002");
  ASSERT_TRUE(secret.ok());
  auto index = LeakIndex::Build({{"c", *secret}});
  ASSERT_TRUE(index.ok());
  LeakMatch m;
  auto found = (*index)->FindFirst("x hs-memory-secret-value-0002 y", &m);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(*found);
}

}  // namespace
}  // namespace kars::broker
