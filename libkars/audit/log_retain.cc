// Retention: dropping the oldest segments without breaking verification of the rest.
//
// Crash safety comes from a journal. The RETAIN file ("retain-before <N>\n", written atomically)
// is the commit point; then the index is rewritten to start at N (temp file, rename), the
// dropped segments are unlinked oldest first, and RETAIN is removed. A writable open that finds
// RETAIN finishes the job (unlinks what is left below N and rebuilds the index from the
// segments, since it may be the old or the new one); a read-only open refuses until then.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libkars/audit/encoding.h"
#include "libkars/audit/log.h"
#include "libkars/audit/segment.h"
#include "libkars/base/status.h"

namespace kars::audit {
namespace {

constexpr absl::string_view kRetainPrefix = "retain-before ";

absl::StatusOr<uint64_t> ParseRetainJournal(absl::string_view text, const std::string& path) {
  if (!absl::ConsumePrefix(&text, kRetainPrefix) || !absl::ConsumeSuffix(&text, "\n")) {
    return TamperedError(absl::StrCat(path, ": not a retention journal"));
  }
  absl::StatusOr<uint64_t> n = ParseDecimal(text, "retention journal index");
  if (!n.ok()) return TamperedError(absl::StrCat(path, ": ", n.status().message()));
  return *n;
}

absl::Status Unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(absl::StrCat("remove ", path), errno);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Log::FinishRetention() {
  const std::string journal = absl::StrCat(dir_, "/", kRetainFile);
  absl::StatusOr<std::string> text = ReadWholeFile(journal);
  if (!text.ok()) {
    if (::access(journal.c_str(), F_OK) != 0 && errno == ENOENT) return absl::OkStatus();
    return text.status();
  }
  absl::StatusOr<uint64_t> before = ParseRetainJournal(*text, journal);
  if (!before.ok()) return before.status();
  if (options_.read_only) {
    return MakeStatus(KARS_E_PRECONDITION,
                      absl::StrCat(dir_, ": a retention was interrupted; open the log for writing "
                                         "to finish it"));
  }
  absl::StatusOr<std::vector<std::string>> names = ListDir(dir_);
  if (!names.ok()) return names.status();
  std::vector<uint64_t> firsts;
  for (const std::string& n : *names) {
    uint64_t first;
    if (ParseSegmentFileName(n, &first)) firsts.push_back(first);
  }
  std::sort(firsts.begin(), firsts.end());
  // The segment starting at N is never removed, so a journal without it is not ours.
  if (!std::binary_search(firsts.begin(), firsts.end(), *before)) {
    return TamperedError(absl::StrCat(journal, ": names segment ", *before,
                                      ", which does not exist"));
  }
  for (uint64_t first : firsts) {
    if (first >= *before) break;
    if (absl::Status s = Unlink(absl::StrCat(dir_, "/", SegmentFileName(first))); !s.ok()) {
      return s;
    }
  }
  // Old or new, the index is rebuilt from the segments by recovery.
  if (absl::Status s = WriteFileAtomic(dir_, kIndexFile, "", 0640); !s.ok()) return s;
  if (absl::Status s = Unlink(journal); !s.ok()) return s;
  if (absl::Status s = SyncDir(dir_); !s.ok()) return s;
  absl::StrAppend(&report_.notes, "finished an interrupted retention of records before ", *before,
                  "; ");
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Log::Retain(uint64_t before) {
  if (options_.read_only) return MakeStatus(KARS_E_PRECONDITION, "the log is open read-only");
  MutexLock one(&retain_mu_);
  {
    MutexLock l(&mu_);
    if (stopping_) return MakeStatus(KARS_E_PRECONDITION, "the log is closed");
    if (!failure_.ok()) return DetachedCopy(failure_);
    if (before > durable_) {
      return absl::InvalidArgumentError(absl::StrCat("cannot retain before record ", before,
                                                     ": the log holds ", durable_));
    }
  }
  // What remains must be checkable against a signature, not only against its own header.
  if (options_.signer.has_value()) {
    if (absl::Status s = EmitCheckpoint(Size()); !s.ok()) return s;
  }
  uint64_t base, keep_from = 0;
  {
    ReaderMutexLock t(&tree_mu_);
    base = tree_.base();
    for (const Segment& seg : segments_) {
      if (seg.first_index <= before) keep_from = seg.first_index;
    }
  }
  if (keep_from <= base) return base;

  if (absl::Status s = WriteFileAtomic(dir_, kRetainFile,
                                       absl::StrCat(kRetainPrefix, keep_from, "\n"), 0640);
      !s.ok()) {
    return s;
  }
  {
    MutexLock ix(&index_mu_);
    const std::string path = absl::StrCat(dir_, "/", kIndexFile);
    const uint64_t skip = (keep_from - base) * kIndexEntryBytes;
    std::string kept(index_bytes_ - std::min(skip, index_bytes_), '\0');
    if (absl::Status s = PreadAll(index_fd_.get(), kept.data(), kept.size(), skip, path); !s.ok()) {
      return s;
    }
    if (absl::Status s = WriteFileAtomic(dir_, kIndexFile, kept, 0640); !s.ok()) return s;
    absl::StatusOr<Fd> fd = OpenFile(path, O_RDWR);
    if (!fd.ok()) return fd.status();
    index_fd_ = *std::move(fd);
    index_bytes_ = kept.size();
  }
  std::vector<Segment> dropped;
  {
    MutexLock t(&tree_mu_);
    tree_.DropBefore(keep_from);
    offsets_.erase(offsets_.begin(), offsets_.begin() + static_cast<ptrdiff_t>(keep_from - base));
    auto first_kept = std::find_if(segments_.begin(), segments_.end(),
                                   [&](const Segment& s) { return s.first_index >= keep_from; });
    dropped.assign(std::make_move_iterator(segments_.begin()), std::make_move_iterator(first_kept));
    segments_.erase(segments_.begin(), first_kept);
  }
  for (const Segment& seg : dropped) {
    if (absl::Status s = Unlink(seg.path); !s.ok()) return s;
  }
  if (absl::Status s = Unlink(absl::StrCat(dir_, "/", kRetainFile)); !s.ok()) return s;
  if (absl::Status s = SyncDir(dir_); !s.ok()) return s;
  return keep_from;
}

}  // namespace kars::audit
