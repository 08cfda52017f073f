// Directory sources: one file source per key file, following keys that appear and go away.
// The listing is repeated at most once per check interval, by whichever request notices first
// (an atomic load on the hot path; the others carry on with the current snapshot).
#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"
#include "libkars/broker/broker.h"

namespace kars::broker {

absl::Status Broker::AddDirectory(SourceSpec spec) {
  auto keys = ListDirectoryKeys(spec.directory);
  if (!keys.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("source '", spec.id, "': ", keys.status().message()));
  }
  MutexLock lock(&dir_mu_);
  for (const Directory& d : directories_) {
    if (d.id == spec.id) return MakeStatus(KARS_E_EXISTS, absl::StrCat("source '", spec.id, "' exists already"));
  }
  Directory dir{spec.id, spec.directory, spec.check_interval, absl::InfinitePast(), {}};
  for (const std::string& key : *keys) {
    SourceSpec file;
    file.id = absl::StrCat(spec.id, "/", key);
    file.source = NewFileSource(FileSourceOptions{absl::StrCat(spec.directory, "/", key), spec.check_interval});
    file.options = spec.options;
    if (absl::Status s = AddFileOrOther(std::move(file)); !s.ok()) return s;
    dir.keys.push_back(key);
  }
  dir.next_check = absl::Now() + dir.check_interval;
  const std::int64_t next = absl::ToUnixNanos(dir.next_check);
  directories_.push_back(std::move(dir));
  if (next < next_rescan_ns_.load()) next_rescan_ns_.store(next);
  return absl::OkStatus();
}

void Broker::RescanDirectories(bool force) {
  // An automatic rescan that finds another one running skips; a forced one waits its turn.
  bool expected = false;
  const bool owner = rescanning_.compare_exchange_strong(expected, true);
  if (!owner && !force) return;
  {
    MutexLock lock(&dir_mu_);
    const absl::Time now = absl::Now();
    absl::Time next = absl::InfiniteFuture();
    for (Directory& dir : directories_) {
      if (force || now >= dir.next_check) RescanDirectory(dir, now);
      next = std::min(next, dir.next_check);
    }
    next_rescan_ns_.store(next == absl::InfiniteFuture() ? INT64_MAX : absl::ToUnixNanos(next));
  }
  if (owner) rescanning_.store(false);
}

void Broker::RescanDirectory(Directory& dir, absl::Time now) {
  dir.next_check = now + dir.check_interval;
  auto keys = ListDirectoryKeys(dir.path);
  if (!keys.ok()) {
    // Keys already held keep serving (each re-reads its own file); the failure is reported.
    OnSourceFailure(dir.id, MakeStatus(KARS_E_UNAVAILABLE, keys.status().message()));
    return;
  }
  std::vector<std::string> added, removed;
  std::set_difference(keys->begin(), keys->end(), dir.keys.begin(), dir.keys.end(), std::back_inserter(added));
  std::set_difference(dir.keys.begin(), dir.keys.end(), keys->begin(), keys->end(), std::back_inserter(removed));
  for (const std::string& key : removed) {
    const std::string id = absl::StrCat(dir.id, "/", key);
    std::shared_ptr<Credential> cred;
    {
      ReaderMutexLock lock(&mu_);
      auto it = credentials_.find(id);
      if (it != credentials_.end()) cred = it->second;
    }
    if (cred != nullptr && cred->Retire(absl::StrCat("key removed from directory ", dir.path))) {
      keys_removed_.fetch_add(1, std::memory_order_relaxed);
      Emit(absl::StrCat("{\"event\":\"source_removed\",\"credential\":", JsonString(id), "}"));
    }
  }
  for (const std::string& key : added) {
    const std::string id = absl::StrCat(dir.id, "/", key);
    std::shared_ptr<Credential> cred;
    {
      ReaderMutexLock lock(&mu_);
      auto it = credentials_.find(id);
      if (it != credentials_.end()) cred = it->second;
    }
    if (cred != nullptr) {
      if (!cred->Restore()) continue;  // a source of that id that is not this directory's key
      (void)cred->Get(now);           // read now, as a new key would be
    } else {
      SourceSpec file;
      file.id = id;
      file.source = NewFileSource(FileSourceOptions{absl::StrCat(dir.path, "/", key), dir.check_interval});
      if (absl::Status s = AddFileOrOther(std::move(file)); !s.ok()) {
        OnSourceFailure(id, s);
        continue;
      }
    }
    keys_added_.fetch_add(1, std::memory_order_relaxed);
    Emit(absl::StrCat("{\"event\":\"source_added\",\"credential\":", JsonString(id), "}"));
  }
  dir.keys = *std::move(keys);
}

}  // namespace kars::broker
