// Recovery after a crash: bringing the index and the segments into agreement. Only a torn tail
// is ever cut; any other damage fails with TAMPERED.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "libkars/audit/log.h"
#include "libkars/audit/record.h"
#include "libkars/audit/segment.h"
#include "libkars/base/status.h"

namespace kars::audit {

// Brings index and segments into agreement: drops index entries whose frames are not (or no
// longer) in the segments, indexes complete frames beyond the index, and cuts a torn tail.
absl::Status Log::Recover(uint64_t indexed) {
  MutexLock l(&tree_mu_);
  MutexLock ix(&index_mu_);
  const std::string index_path = absl::StrCat(dir_, "/", kIndexFile);
  const uint64_t base = tree_.base();
  // Index entries ahead of the data: only possible after power loss in interval mode, or when
  // records were removed; the checkpoint check in LoadCheckpoints tells the two apart.
  uint64_t keep = indexed;
  while (keep > base) {
    const Segment& seg = SegmentFor(keep - 1);
    char head[kFrameHeaderSize];
    absl::StatusOr<uint64_t> size = FileSize(seg.fd.get(), seg.path);
    if (!size.ok()) return size.status();
    const uint64_t off = OffsetOf(keep - 1);
    bool valid = off + kFrameHeaderSize <= *size;
    if (valid) {
      if (absl::Status s = PreadAll(seg.fd.get(), head, sizeof head, off, seg.path); !s.ok()) {
        return s;
      }
      const uint32_t len = FrameRecordLength(head);
      valid = off + FrameSize(len) <= *size &&
              std::memcmp(head + 4, tree_.leaf_hash(keep - 1).data(), 4) == 0;
    }
    if (valid) break;
    --keep;
  }
  if (!options_.read_only &&
      ::ftruncate(index_fd_.get(), static_cast<off_t>((keep - base) * kIndexEntryBytes)) != 0) {
    return ErrnoError(absl::StrCat("truncate ", index_path), errno);
  }
  index_bytes_ = (keep - base) * kIndexEntryBytes;
  if (keep < indexed) {
    report_.dropped_index_entries = indexed - keep;
    absl::StatusOr<HashTree> rebuilt = HashTree::FromFrontier(base, tree_.BaseFrontier());
    if (!rebuilt.ok()) return rebuilt.status();
    rebuilt->Reserve(keep - base);
    for (uint64_t i = base; i < keep; ++i) rebuilt->AppendLeafHash(tree_.leaf_hash(i));
    tree_ = *std::move(rebuilt);
    offsets_.resize(keep - base);
  }
  if (options_.read_only) return absl::OkStatus();

  // Scan from just after the last indexed frame to the end of the last segment.
  size_t seg_i = 0;
  uint64_t pos = 0;
  if (keep > base) {
    while (seg_i + 1 < segments_.size() && segments_[seg_i + 1].first_index <= keep - 1) ++seg_i;
    char head[kFrameHeaderSize];
    const Segment& seg = segments_[seg_i];
    if (absl::Status s = PreadAll(seg.fd.get(), head, sizeof head, OffsetOf(keep - 1), seg.path);
        !s.ok()) {
      return s;
    }
    pos = OffsetOf(keep - 1) + FrameSize(FrameRecordLength(head));
  }
  std::string new_entries;
  for (; seg_i < segments_.size(); ++seg_i) {
    Segment& seg = segments_[seg_i];
    absl::StatusOr<Mapping> map = Mapping::Open(seg.path);
    if (!map.ok()) return map.status();
    size_t header_size = 0;
    absl::StatusOr<SegmentHeader> header = DecodeSegmentHeader(map->bytes(), &header_size);
    if (!header.ok()) return TamperedError(absl::StrCat(seg.path, ": ", header.status().message()));
    if (pos == 0) pos = header_size;
    absl::Status bad;
    ScanResult r = ScanFrames(map->bytes(), pos, [&](size_t off, absl::string_view rec,
                                                      const Hash& leaf) {
      const uint64_t index = tree_.size();
      absl::StatusOr<v1::AuditRecord> parsed = DecodeRecord(rec);
      if (!parsed.ok() || parsed->sequence() != index) {
        bad = TamperedError(absl::StrCat(seg.path, ": record at offset ", off,
                                         " is not record ", index));
        return false;
      }
      tree_.AppendLeafHash(leaf);
      offsets_.push_back(off);
      AppendIndexEntry(&new_entries, leaf, off);
      ++report_.reindexed_records;
      return true;
    });
    if (!bad.ok()) return bad;
    const bool last = seg_i + 1 == segments_.size();
    if (r.end == ScanEnd::kCorrupt || (r.end == ScanEnd::kTorn && !last)) {
      return TamperedError(absl::StrCat(seg.path, ": ", r.problem, " after record ",
                                        tree_.size(), "; refusing to repair a damaged log"));
    }
    if (r.end == ScanEnd::kTorn) {
      report_.truncated_bytes = map->bytes().size() - r.good_end;
      if (::ftruncate(seg.fd.get(), static_cast<off_t>(r.good_end)) != 0) {
        return ErrnoError(absl::StrCat("truncate ", seg.path), errno);
      }
      if (absl::Status s = DataSync(seg.fd.get(), seg.path); !s.ok()) return s;
      absl::StrAppend(&report_.notes, "torn tail: cut ", report_.truncated_bytes, " bytes (",
                      r.problem, ") from ", seg.path, "; ");
    }
    if (last) {
      segment_bytes_ = r.good_end;
      segment_header_bytes_ = header_size;
    }
    if (!last && segments_[seg_i + 1].first_index != tree_.size()) {
      return TamperedError(absl::StrCat(segments_[seg_i + 1].path, ": starts at index ",
                                        segments_[seg_i + 1].first_index, " but ", seg.path,
                                        " ends at ", tree_.size()));
    }
    pos = 0;
  }
  if (!new_entries.empty()) {
    absl::StatusOr<uint64_t> end = FileSize(index_fd_.get(), index_path);
    if (!end.ok()) return end.status();
    if (absl::Status s = PwriteAll(index_fd_.get(), new_entries, *end, index_path); !s.ok()) {
      return s;
    }
    if (absl::Status s = DataSync(index_fd_.get(), index_path); !s.ok()) return s;
    index_bytes_ = *end + new_entries.size();
    absl::StrAppend(&report_.notes, "indexed ", report_.reindexed_records,
                    " records beyond the index; ");
  }
  if (report_.dropped_index_entries > 0) {
    absl::StrAppend(&report_.notes, "dropped ", report_.dropped_index_entries,
                    " index entries without records; ");
  }
  return absl::OkStatus();
}

}  // namespace kars::audit
