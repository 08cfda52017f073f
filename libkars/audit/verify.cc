#include "libkars/audit/verify.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libkars/audit/checkpoint.h"
#include "libkars/audit/log.h"
#include "libkars/audit/merkle.h"
#include "libkars/audit/posix_file.h"
#include "libkars/audit/record.h"
#include "libkars/audit/segment.h"
#include "libkars/base/status.h"

namespace kars::audit {
namespace {

struct SignedRoot {
  Hash root;
  std::string source;  // "checkpoint 3" or "external checkpoint 1"
};

class Verification {
 public:
  Verification(const std::string& dir, const VerifyOptions& options)
      : dir_(dir), options_(options) {}

  VerifyReport Run() {
    absl::Status s = RunSteps();
    if (!s.ok() && report_.status.ok()) report_.status = s;
    return report_;
  }

 private:
  absl::Status Fail(absl::Status status, std::optional<uint64_t> index) {
    report_.status = status;
    report_.first_bad_index = index;
    return status;
  }
  absl::Status Tampered(uint64_t index, absl::string_view why) {
    return Fail(TamperedError(why), index);
  }

  absl::Status RunSteps() {
    absl::StatusOr<std::string> marker = ReadWholeFile(absl::StrCat(dir_, "/", kMarkerFile));
    if (!marker.ok()) {
      if (marker.status().code() == absl::StatusCode::kNotFound ||
          absl::StrContains(marker.status().message(), "No such file")) {
        return Fail(absl::InvalidArgumentError(
                        absl::StrCat(dir_, ": not an audit log (no ", kMarkerFile, ")")),
                    std::nullopt);
      }
      return Fail(marker.status(), std::nullopt);
    }
    const std::string prefix = "kars-audit-log v1\norigin ";
    if (!absl::StartsWith(*marker, prefix) || marker->back() != '\n') {
      return Fail(absl::InvalidArgumentError(absl::StrCat(dir_, ": not an audit log marker")),
                  std::nullopt);
    }
    origin_ = marker->substr(prefix.size(), marker->size() - prefix.size() - 1);
    if (absl::Status s = LoadCheckpoints(); !s.ok()) return s;
    if (absl::Status s = LoadIndex(); !s.ok()) return s;
    if (absl::Status s = ScanSegments(); !s.ok()) return s;
    return Finish();
  }

  absl::Status AddCheckpoint(absl::string_view note_bytes, const std::string& source,
                             bool external) {
    absl::StatusOr<Note> note = ParseNote(note_bytes);
    if (!note.ok()) {
      return Fail(external ? note.status() : TamperedError(absl::StrCat(source, ": ", note.status().message())),
                  std::nullopt);
    }
    if (options_.key.has_value()) {
      if (absl::Status s = VerifyNote(*note, *options_.key); !s.ok()) {
        return Fail(MakeStatus(ToCStatus(s), absl::StrCat(source, ": ", s.message())), std::nullopt);
      }
    }
    absl::StatusOr<Checkpoint> cp = ParseCheckpointText(note->text);
    if (!cp.ok()) {
      return Fail(TamperedError(absl::StrCat(source, ": ", cp.status().message())), std::nullopt);
    }
    if (cp->origin != origin_) {
      return Fail(TamperedError(absl::StrCat(source, ": origin '", cp->origin,
                                             "' is not this log's origin '", origin_, "'")),
                  std::nullopt);
    }
    if (!external && cp->size < last_stored_size_) {
      return Fail(TamperedError(absl::StrCat(source, ": tree size ", cp->size,
                                             " is smaller than an earlier checkpoint's ",
                                             last_stored_size_)),
                  cp->size);
    }
    if (!external) last_stored_size_ = cp->size;
    auto [it, inserted] = roots_.emplace(cp->size, SignedRoot{cp->root, source});
    if (!inserted && it->second.root != cp->root) {
      return Fail(TamperedError(absl::StrCat(source, " and ", it->second.source,
                                             " sign different roots for tree size ", cp->size,
                                             ": the log forked")),
                  std::nullopt);
    }
    return absl::OkStatus();
  }

  absl::Status LoadCheckpoints() {
    const std::string path = absl::StrCat(dir_, "/", kCheckpointsFile);
    absl::StatusOr<std::string> bytes = ReadWholeFile(path);
    if (!bytes.ok()) return Fail(bytes.status(), std::nullopt);
    uint64_t n = 0;
    absl::Status bad;
    ScanResult r = ScanFrames(*bytes, 0, [&](size_t, absl::string_view note, const Hash&) {
      bad = AddCheckpoint(note, absl::StrCat("checkpoint ", n++), false);
      return bad.ok();
    });
    if (!bad.ok()) return bad;
    if (r.end == ScanEnd::kCorrupt) {
      return Fail(TamperedError(absl::StrCat(path, ": ", r.problem)), std::nullopt);
    }
    for (size_t i = 0; i < options_.external_checkpoints.size(); ++i) {
      if (absl::Status s = AddCheckpoint(options_.external_checkpoints[i],
                                         absl::StrCat("external checkpoint ", i), true);
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  absl::Status LoadIndex() {
    // While a retention runs (or after it was interrupted) the index may already start at the
    // new first segment while older ones still exist: it is a cache, so leave it unchecked.
    const std::string journal = absl::StrCat(dir_, "/", kRetainFile);
    if (ReadWholeFile(journal).ok()) {
      report_.notes = "a retention is in progress or was interrupted: the index was not checked";
      return absl::OkStatus();
    }
    absl::StatusOr<std::string> bytes = ReadWholeFile(absl::StrCat(dir_, "/", kIndexFile));
    if (!bytes.ok()) return Fail(bytes.status(), std::nullopt);
    index_ = *std::move(bytes);
    index_entries_ = index_.size() / kIndexEntryBytes;
    return absl::OkStatus();
  }

  absl::Status CheckRoots() {
    // Every signed root at the current size must be the recomputed one.
    auto it = roots_.find(range_.size());
    if (it == roots_.end()) return absl::OkStatus();
    if (it->second.root != range_.Root()) {
      return Tampered(verified_size_,
                      absl::StrCat("the records do not have the root ", it->second.source,
                                   " signed for tree size ", range_.size(),
                                   ": a record in [", verified_size_, ", ", range_.size(),
                                   ") was changed, inserted or removed",
                                   verified_size_ == report_.first_index && verified_size_ > 0
                                       ? ", or the tree state the first kept segment carries "
                                         "was altered"
                                       : ""));
    }
    verified_size_ = range_.size();
    ++report_.checkpoints_verified;
    return absl::OkStatus();
  }

  absl::Status ScanSegments() {
    absl::StatusOr<std::vector<std::string>> names = ListDir(dir_);
    if (!names.ok()) return Fail(names.status(), std::nullopt);
    std::vector<std::pair<uint64_t, std::string>> segments;
    for (const std::string& n : *names) {
      uint64_t first;
      if (ParseSegmentFileName(n, &first)) segments.emplace_back(first, absl::StrCat(dir_, "/", n));
    }
    std::sort(segments.begin(), segments.end());
    if (segments.empty()) return Tampered(0, "the log has no segment files");
    if (absl::Status s = CheckRoots(); !s.ok()) return s;  // a checkpoint of the empty tree
    for (size_t k = 0; k < segments.size(); ++k) {
      const auto& [first, path] = segments[k];
      const uint64_t expected = range_.size();
      absl::StatusOr<Mapping> map = Mapping::Open(path);
      if (!map.ok()) return Fail(map.status(), expected);
      size_t header_size = 0;
      absl::StatusOr<SegmentHeader> header = DecodeSegmentHeader(map->bytes(), &header_size);
      if (!header.ok()) return Tampered(first, absl::StrCat(path, ": ", header.status().message()));
      if (header->first_index != first) {
        return Tampered(first, absl::StrCat(path, ": header says first index ",
                                            header->first_index));
      }
      if (k == 0) index_base_ = first;
      if (k == 0 && first > 0) {
        // Retention removed older segments: start from the tree state this one carries, which
        // every later signed root then checks (and a checkpoint at exactly this size at once).
        if (absl::Status s = CompactRange::FromState(first, header->frontier, &range_); !s.ok()) {
          return Tampered(first, absl::StrCat(path, ": ", s.message()));
        }
        verified_size_ = first;
        report_.first_index = first;
        if (absl::Status s = CheckRoots(); !s.ok()) {
          return Tampered(first, absl::StrCat(path, ": the tree state it carries for the ", first,
                                              " dropped records is not the signed one: ",
                                              s.message()));
        }
      } else if (first != expected) {
        return Tampered(std::min(first, expected),
                        first > expected
                            ? absl::StrCat("records ", expected, " to ", first - 1,
                                           " are missing: ", path, " starts at ", first)
                            : absl::StrCat(path, " starts at ", first,
                                           " but earlier segments already hold records up to ",
                                           expected - 1));
      } else if (header->frontier != range_.hashes()) {
        if (report_.first_index > 0 && verified_size_ == report_.first_index) {
          // Nothing signed has vouched for the carried state yet: it is as suspect as this one.
          return Tampered(report_.first_index,
                          absl::StrCat(path, ": its tree state differs from the tree state ",
                                       segments[0].second, " carries for the dropped records "
                                       "plus the records since: one of them was altered"));
        }
        return Tampered(first, absl::StrCat(path, ": its tree state differs from the records before it"));
      }
      absl::Status bad;
      ScanResult r = ScanFrames(map->bytes(), header_size,
                                [&](size_t offset, absl::string_view rec, const Hash& leaf) {
                                  bad = CheckRecord(offset, rec, leaf);
                                  return bad.ok();
                                });
      if (!bad.ok()) return bad;
      const uint64_t at = range_.size();
      if (r.end == ScanEnd::kCorrupt) {
        return Tampered(at, absl::StrCat("record ", at, ": ", path, ": ", r.problem,
                                         ": its bytes were changed"));
      }
      if (r.end == ScanEnd::kTorn) {
        if (k + 1 != segments.size()) {
          return Tampered(at, absl::StrCat("record ", at, ": ", path, ": ", r.problem,
                                           " in a segment that is not the last: truncated"));
        }
        report_.torn_tail = absl::StrCat(path, ": ", r.problem);
      }
    }
    return absl::OkStatus();
  }

  absl::Status CheckRecord(size_t offset, absl::string_view rec, const Hash& leaf) {
    const uint64_t i = range_.size();
    absl::StatusOr<uint64_t> seq = DecodeSequence(rec);
    if (!seq.ok()) {
      return Tampered(i, absl::StrCat("record ", i, ": changed bytes: not an AuditRecord"));
    }
    if (*seq > i) {
      return Tampered(i, absl::StrCat("position ", i, " holds record ", *seq, ": record ", i,
                                      " was removed or records reordered"));
    }
    if (*seq < i) {
      return Tampered(i, absl::StrCat("position ", i, " holds record ", *seq,
                                      " again: a record was inserted or records reordered"));
    }
    if (i >= index_base_ && i - index_base_ < index_entries_) {
      Hash indexed_leaf;
      uint64_t indexed_offset;
      DecodeIndexEntry(index_.data() + (i - index_base_) * kIndexEntryBytes, &indexed_leaf,
                       &indexed_offset);
      if (indexed_leaf != leaf) {
        return Tampered(i, absl::StrCat("record ", i,
                                        ": changed bytes: its hash differs from the index"));
      }
      if (indexed_offset != offset) {
        return Tampered(i, absl::StrCat("record ", i, ": moved within its segment (index says offset ",
                                        indexed_offset, ", found at ", offset, ")"));
      }
    }
    range_.Append(leaf);
    return CheckRoots();
  }

  absl::Status Finish() {
    report_.records = range_.size();
    if (!roots_.empty() && roots_.rbegin()->first > range_.size()) {
      return Tampered(range_.size(),
                      absl::StrCat("truncated: ", roots_.rbegin()->second.source,
                                   " covers tree size ", roots_.rbegin()->first,
                                   " but the log holds only ", range_.size(), " records"));
    }
    if (index_base_ + index_entries_ > range_.size()) {
      return Tampered(range_.size(),
                      absl::StrCat("truncated: the index lists records up to ",
                                   index_base_ + index_entries_, " but the segments hold ",
                                   range_.size()));
    }
    return absl::OkStatus();
  }

  const std::string& dir_;
  const VerifyOptions& options_;
  VerifyReport report_;
  std::string origin_;
  std::map<uint64_t, SignedRoot> roots_;
  uint64_t last_stored_size_ = 0;
  std::string index_;
  uint64_t index_base_ = 0;     // the record of the index's first entry: the first segment's
  uint64_t index_entries_ = 0;
  CompactRange range_;
  uint64_t verified_size_ = 0;
};

}  // namespace

std::string VerifyReport::Summary() const {
  std::string out;
  if (status.ok()) {
    out = absl::StrCat("valid: ", records, " records, ", checkpoints_verified,
                       " checkpoints verified");
    if (first_index > 0) {
      absl::StrAppend(&out, " (records before ", first_index,
                      " were dropped by retention; the rest verify from the tree state kept)");
    }
  } else {
    out = absl::StrCat("INVALID");
    if (first_bad_index.has_value()) absl::StrAppend(&out, " at index ", *first_bad_index);
    absl::StrAppend(&out, ": ", status.message());
  }
  if (!notes.empty()) absl::StrAppend(&out, "\nnote: ", notes);
  if (!torn_tail.empty()) {
    absl::StrAppend(&out, "\nnote: torn tail after a crash (cut on the next writable open): ",
                    torn_tail);
  }
  return out;
}

VerifyReport VerifyLog(const std::string& dir, const VerifyOptions& options) {
  return Verification(dir, options).Run();
}

}  // namespace kars::audit
