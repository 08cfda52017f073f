#include "libkars/policy/journal_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libkars/base/file.h"
#include "libkars/base/status.h"

namespace kars::policy {
namespace {

bool WriteAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

absl::StatusOr<std::shared_ptr<JournalCounterStore>> JournalCounterStore::Open(const std::string& path) {
  std::string text;
  absl::Status s = AppendFileContents(path, "budget journal", &text, MissingFile::kEmpty);
  if (!s.ok()) return s;
  // Lines are "U <key> <window_start> <used>" (calendar windows; the last line for a key wins)
  // and "R <key> <slot> <slots> <used>" (one slot of a rolling window; the last line for a key
  // and slot wins). A torn last line (no newline: the process died mid-write) is dropped;
  // anything else malformed is tampering.
  absl::flat_hash_map<uint64_t, std::pair<int64_t, uint64_t>> usage;
  struct RollingSlots {
    uint32_t slots = 0;
    std::map<int64_t, uint64_t> used;  // by slot, ascending
  };
  absl::flat_hash_map<uint64_t, RollingSlots> rolling;
  size_t complete = text.rfind('\n');
  absl::string_view body = complete == std::string::npos ? absl::string_view() : absl::string_view(text).substr(0, complete);
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(body, '\n', absl::SkipEmpty())) {
    ++line_no;
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    uint64_t key = 0, used = 0;
    int64_t window = 0;
    uint32_t slots = 0;
    if (f.size() == 5 && f[0] == "R" && absl::SimpleHexAtoi(f[1], &key) &&
        absl::SimpleAtoi(f[2], &window) && absl::SimpleAtoi(f[3], &slots) && slots > 0 &&
        absl::SimpleAtoi(f[4], &used)) {
      RollingSlots& r = rolling[key];
      if (r.slots != slots) r = RollingSlots{slots, {}};  // redefined window: newest wins
      r.used[window] = used;
      continue;
    }
    if (f.size() != 4 || f[0] != "U" || !absl::SimpleHexAtoi(f[1], &key) ||
        !absl::SimpleAtoi(f[2], &window) || !absl::SimpleAtoi(f[3], &used)) {
      return TamperedError(absl::StrCat("budget journal ", path, ":", line_no, ": malformed line"));
    }
    auto& entry = usage[key];
    if (window >= entry.first) entry = {window, used};
  }
  // Compact: write the current values to a new file and atomically replace the journal.
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError(absl::StrCat("budget journal ", tmp), errno);
  std::string compacted;
  for (const auto& [key, entry] : usage) {
    absl::StrAppend(&compacted, "U ", absl::Hex(key), " ", entry.first, " ", entry.second, "\n");
  }
  for (auto& [key, r] : rolling) {
    // Slots that left the window of the newest one are dropped.
    const int64_t newest = r.used.rbegin()->first;
    std::erase_if(r.used, [&](const auto& e) {
      return e.first <= newest - static_cast<int64_t>(r.slots) || e.second == 0;
    });
    for (const auto& [slot, used] : r.used) {
      absl::StrAppend(&compacted, "R ", absl::Hex(key), " ", slot, " ", r.slots, " ", used, "\n");
    }
  }
  if (!WriteAll(fd, compacted) || ::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return ErrnoError(absl::StrCat("budget journal ", tmp), e);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError(absl::StrCat("budget journal ", path), errno);
  fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return ErrnoError(absl::StrCat("budget journal ", path), errno);
  std::shared_ptr<JournalCounterStore> store(new JournalCounterStore(fd));
  for (const auto& [key, entry] : usage) {
    store->memory_.Reserve(key, entry.first, UINT64_MAX, entry.second);
  }
  for (const auto& [key, r] : rolling) {
    for (const auto& [slot, used] : r.used) store->memory_.RestoreSlot(key, slot, r.slots, used);
  }
  return store;
}

JournalCounterStore::~JournalCounterStore() { ::close(fd_); }

void JournalCounterStore::Append(uint64_t key, int64_t window_start) {
  std::string line = absl::StrCat("U ", absl::Hex(key), " ", window_start, " ",
                                  memory_.Used(key, window_start), "\n");
  if (!WriteAll(fd_, line)) healthy_.store(false);
}

bool JournalCounterStore::Reserve(uint64_t key, int64_t window_start, uint64_t limit, uint64_t amount) {
  MutexLock lock(&write_mu_);
  if (!healthy_.load()) return false;  // cannot record usage: refuse rather than overrun
  if (!memory_.Reserve(key, window_start, limit, amount)) return false;
  Append(key, window_start);
  if (!healthy_.load()) {
    memory_.Adjust(key, window_start, amount, 0);
    return false;
  }
  return true;
}

void JournalCounterStore::AppendSlot(uint64_t key, int64_t slot, uint32_t slots) {
  std::string line = absl::StrCat("R ", absl::Hex(key), " ", slot, " ", slots, " ",
                                  memory_.SlotUsage(key, slot, slots), "\n");
  if (!WriteAll(fd_, line)) healthy_.store(false);
}

bool JournalCounterStore::ReserveRolling(uint64_t key, int64_t slot, uint32_t slots, uint64_t limit,
                                         uint64_t amount, int64_t* charged_slot) {
  MutexLock lock(&write_mu_);
  if (!healthy_.load()) return false;
  if (!memory_.ReserveRolling(key, slot, slots, limit, amount, charged_slot)) return false;
  AppendSlot(key, *charged_slot, slots);
  if (!healthy_.load()) {
    memory_.AdjustRolling(key, *charged_slot, slots, amount, 0);
    return false;
  }
  return true;
}

void JournalCounterStore::AdjustRolling(uint64_t key, int64_t slot, uint32_t slots,
                                        uint64_t reserved, uint64_t actual) {
  MutexLock lock(&write_mu_);
  memory_.AdjustRolling(key, slot, slots, reserved, actual);
  AppendSlot(key, slot, slots);
}

void JournalCounterStore::Adjust(uint64_t key, int64_t window_start, uint64_t reserved, uint64_t actual) {
  MutexLock lock(&write_mu_);
  memory_.Adjust(key, window_start, reserved, actual);
  Append(key, window_start);
}

}  // namespace kars::policy
