// Opening a log: creating a new one, or loading an existing one and recovering from a crash.
// Recovery only ever removes a torn tail; any other damage makes Open fail with TAMPERED.
#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_split.h"
#include "libkars/audit/checkpoint.h"
#include "libkars/audit/log.h"
#include "libkars/audit/note.h"
#include "libkars/audit/record.h"
#include "libkars/audit/segment.h"
#include "libkars/base/status.h"

namespace kars::audit {
namespace {

constexpr absl::string_view kMarkerHeader = "kars-audit-log v1\n";

std::string MarkerText(absl::string_view origin) {
  return absl::StrCat(kMarkerHeader, "origin ", origin, "\n");
}

absl::StatusOr<std::string> ParseMarker(absl::string_view text, const std::string& path) {
  if (!absl::ConsumePrefix(&text, kMarkerHeader) || !absl::ConsumePrefix(&text, "origin ") ||
      !absl::ConsumeSuffix(&text, "\n") || text.empty() || absl::StrContains(text, "\n")) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a kars audit log marker"));
  }
  return std::string(text.data(), text.size());
}

absl::Status CheckOrigin(absl::string_view origin) {
  if (origin.empty() || origin.size() > 255) {
    return absl::InvalidArgumentError("origin must be 1 to 255 bytes");
  }
  for (char c : origin) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("origin must not contain control characters");
    }
  }
  return absl::OkStatus();
}

std::string DefaultOrigin() {
  unsigned char id[8];
  if (RAND_bytes(id, sizeof id) != 1) throw std::bad_alloc();
  std::string hex;
  for (unsigned char b : id) absl::StrAppend(&hex, absl::Hex(b, absl::kZeroPad2));
  return absl::StrCat("kars.local/audit/", hex);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Log>> Log::Open(const std::string& dir, LogOptions options) {
  if (options.max_record_size == 0 || options.max_record_size > kMaxFrameRecord) {
    return absl::InvalidArgumentError("max record size must be between 1 byte and 256 MiB");
  }
  if (options.segment_size < 4096) {
    return absl::InvalidArgumentError("segment size must be at least 4096 bytes");
  }
  if (!options.origin.empty()) {
    if (absl::Status s = CheckOrigin(options.origin); !s.ok()) return s;
  }
  if (options.signer.has_value()) {
    if (absl::Status s = RequireKeyType(options.signer->verifier(), kAlgEd25519, "signing key");
        !s.ok()) {
      return s;
    }
  }
  std::unique_ptr<Log> log(new Log(dir, std::move(options)));
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return ErrnoError(absl::StrCat("stat ", dir), errno);
    if (log->options_.read_only || !log->options_.create_if_missing) {
      return absl::NotFoundError(absl::StrCat(dir, ": no such audit log directory"));
    }
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
      return ErrnoError(absl::StrCat("create ", dir), errno);
    }
  } else if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": not a directory"));
  }
  absl::StatusOr<std::vector<std::string>> names = ListDir(dir);
  if (!names.ok()) return names.status();
  const bool has_marker =
      std::find(names->begin(), names->end(), kMarkerFile) != names->end();
  if (!has_marker) {
    if (!names->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(dir, ": not an audit log (no ", kMarkerFile, " file, directory not empty)"));
    }
    if (log->options_.read_only || !log->options_.create_if_missing) {
      return absl::NotFoundError(absl::StrCat(dir, ": empty directory, no audit log"));
    }
  }
  if (!log->options_.read_only) {
    absl::StatusOr<Fd> lock = OpenFile(absl::StrCat(dir, "/", kLockFile), O_RDWR | O_CREAT, 0640);
    if (!lock.ok()) return lock.status();
    if (::flock(lock->get(), LOCK_EX | LOCK_NB) != 0) {
      return MakeStatus(KARS_E_PRECONDITION,
                        absl::StrCat(dir, ": the log is open for writing by another process"));
    }
    log->lock_fd_ = *std::move(lock);
  }
  absl::Status s = has_marker ? log->OpenExisting() : log->Initialize();
  if (!s.ok()) return s;
  if (!log->options_.read_only) {
    log->writer_ = std::thread([l = log.get()] { l->WriterLoop(); });
  }
  log->opened_ = true;
  return log;
}

absl::Status Log::Initialize() {
  // A checkpoint's origin conventionally names the log's key, so that is the default.
  origin_ = !options_.origin.empty() ? options_.origin
            : options_.signer.has_value() ? options_.signer->name()
                                          : DefaultOrigin();
  report_.created = true;
  report_.notes = "created a new log";
  SegmentHeader header;
  const std::string seg_path = absl::StrCat(dir_, "/", SegmentFileName(0));
  absl::StatusOr<Fd> seg = OpenFile(seg_path, O_RDWR | O_CREAT | O_EXCL, 0640);
  if (!seg.ok()) return seg.status();
  const std::string h = EncodeSegmentHeader(header);
  if (absl::Status s = WriteAll(seg->get(), h, seg_path); !s.ok()) return s;
  if (absl::Status s = DataSync(seg->get(), seg_path); !s.ok()) return s;
  segment_bytes_ = h.size();
  segment_header_bytes_ = h.size();
  for (const char* name : {kIndexFile, kCheckpointsFile}) {
    const std::string path = absl::StrCat(dir_, "/", name);
    absl::StatusOr<Fd> fd = OpenFile(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
    if (!fd.ok()) return fd.status();
    if (name == kIndexFile) {
      MutexLock l(&index_mu_);
      index_fd_ = *std::move(fd);
    } else {
      checkpoints_fd_ = *std::move(fd);
    }
  }
  {
    MutexLock l(&tree_mu_);
    segments_.push_back(Segment{0, seg_path, *std::move(seg)});
  }
  // The marker goes last: a directory without it was never a complete log.
  return WriteFileAtomic(dir_, kMarkerFile, MarkerText(origin_), 0640);
}

absl::Status Log::OpenExisting() {
  const std::string marker_path = absl::StrCat(dir_, "/", kMarkerFile);
  absl::StatusOr<std::string> marker = ReadWholeFile(marker_path);
  if (!marker.ok()) return marker.status();
  absl::StatusOr<std::string> origin = ParseMarker(*marker, marker_path);
  if (!origin.ok()) return origin.status();
  origin_ = *std::move(origin);
  if (!options_.origin.empty() && options_.origin != origin_) {
    return absl::InvalidArgumentError(absl::StrCat("origin mismatch: the log at ", dir_, " is '",
                                                   origin_, "', not '", options_.origin, "'"));
  }
  const int rw = options_.read_only ? O_RDONLY : O_RDWR;
  if (absl::Status s = FinishRetention(); !s.ok()) return s;

  // Segments, in index order, each header checked.
  absl::StatusOr<std::vector<std::string>> names = ListDir(dir_);
  if (!names.ok()) return names.status();
  std::vector<std::pair<uint64_t, std::string>> found;
  for (const std::string& n : *names) {
    uint64_t first;
    if (ParseSegmentFileName(n, &first)) found.emplace_back(first, absl::StrCat(dir_, "/", n));
  }
  std::sort(found.begin(), found.end());
  if (found.empty()) return TamperedError(absl::StrCat(dir_, ": the log has no segment files"));
  // A first segment beyond 0 is what retention leaves; its header carries the tree before it.
  std::vector<Segment> segments;
  std::vector<size_t> header_sizes;
  std::vector<Hash> base_frontier;
  for (auto& [first, path] : found) {
    absl::StatusOr<Fd> fd = OpenFile(path, rw);
    if (!fd.ok()) return fd.status();
    absl::StatusOr<uint64_t> size = FileSize(fd->get(), path);
    if (!size.ok()) return size.status();
    std::string head(std::min<uint64_t>(*size, 20 + 64 * kHashSize + 8), '\0');
    if (absl::Status s = PreadAll(fd->get(), head.data(), head.size(), 0, path); !s.ok()) return s;
    size_t header_size = 0;
    absl::StatusOr<SegmentHeader> h = DecodeSegmentHeader(head, &header_size);
    if (!h.ok()) return TamperedError(absl::StrCat(path, ": ", h.status().message()));
    if (h->first_index != first) {
      return TamperedError(absl::StrCat(path, ": header says first index ", h->first_index));
    }
    if (segments.empty()) base_frontier = h->frontier;
    header_sizes.push_back(header_size);
    segments.push_back(Segment{first, path, *std::move(fd)});
  }
  const uint64_t base = segments[0].first_index;
  absl::StatusOr<HashTree> tree = HashTree::FromFrontier(base, base_frontier);
  if (!tree.ok()) return TamperedError(absl::StrCat(segments[0].path, ": ", tree.status().message()));

  // The index: leaf hashes and offsets, checked for order against the segments.
  const std::string index_path = absl::StrCat(dir_, "/", kIndexFile);
  absl::StatusOr<Fd> index_fd = OpenFile(index_path, rw);
  if (!index_fd.ok()) return index_fd.status();
  absl::StatusOr<std::string> index = ReadWholeFile(index_path);
  if (!index.ok()) return index.status();
  // Entry k of the index is record base + k.
  const uint64_t entries = index->size() / kIndexEntryBytes;
  const uint64_t indexed = base + entries;
  {
    MutexLock l(&tree_mu_);
    tree_ = *std::move(tree);
    tree_.Reserve(entries);
    offsets_.reserve(entries);
    size_t seg = 0;
    uint64_t prev_offset = 0;
    for (uint64_t i = base; i < indexed; ++i) {
      Hash leaf;
      uint64_t offset;
      DecodeIndexEntry(index->data() + (i - base) * kIndexEntryBytes, &leaf, &offset);
      while (seg + 1 < segments.size() && segments[seg + 1].first_index <= i) ++seg;
      const bool first_in_segment = i == segments[seg].first_index;
      if (offset < header_sizes[seg] || (!first_in_segment && offset <= prev_offset)) {
        return TamperedError(absl::StrCat(index_path, ": entry ", i, " is out of order"));
      }
      prev_offset = offset;
      tree_.AppendLeafHash(leaf);
      offsets_.push_back(offset);
    }
    segments_ = std::move(segments);
  }
  {
    MutexLock l(&index_mu_);
    index_fd_ = *std::move(index_fd);
  }
  if (absl::Status s = Recover(indexed); !s.ok()) return s;
  return LoadCheckpoints();
}

absl::Status Log::LoadCheckpoints() {
  const std::string path = absl::StrCat(dir_, "/", kCheckpointsFile);
  absl::StatusOr<Fd> fd = OpenFile(path, options_.read_only ? O_RDONLY : O_RDWR);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  std::vector<StoredCheckpoint> loaded;
  absl::Status bad;
  ScanResult r = ScanFrames(*bytes, 0, [&](size_t, absl::string_view note, const Hash&) {
    absl::StatusOr<Note> parsed = ParseNote(note);
    absl::StatusOr<Checkpoint> cp =
        parsed.ok() ? ParseCheckpointText(parsed->text) : absl::StatusOr<Checkpoint>(parsed.status());
    if (!cp.ok()) {
      bad = TamperedError(absl::StrCat(path, ": checkpoint ", loaded.size(), ": ",
                                       cp.status().message()));
      return false;
    }
    loaded.push_back(StoredCheckpoint{cp->size, std::string(note)});
    return true;
  });
  if (!bad.ok()) return bad;
  if (r.end == ScanEnd::kCorrupt) return TamperedError(absl::StrCat(path, ": ", r.problem));
  if (r.end == ScanEnd::kTorn && !options_.read_only) {
    if (::ftruncate(fd->get(), static_cast<off_t>(r.good_end)) != 0) {
      return ErrnoError(absl::StrCat("truncate ", path), errno);
    }
    absl::StrAppend(&report_.notes, "cut a torn checkpoint from ", path, "; ");
  }
  uint64_t size;
  {
    ReaderMutexLock l(&tree_mu_);
    size = tree_.size();
    // A reader shares the directory with a live writer, which may have signed checkpoints
    // after the reader took its snapshot of the index: those are simply not visible yet.
    if (options_.read_only) {
      std::erase_if(loaded, [size](const StoredCheckpoint& cp) { return cp.size > size; });
    }
    // Fail closed: records a signed checkpoint covered must all still be there, and the tree
    // must still have the signed root.
    for (const StoredCheckpoint& cp : loaded) {
      if (cp.size > size) {
        return TamperedError(absl::StrCat("the log holds ", size,
                                          " records but a checkpoint was signed at size ",
                                          cp.size, ": records were removed"));
      }
    }
    if (!loaded.empty()) {
      absl::StatusOr<Note> note = ParseNote(loaded.back().note);
      absl::StatusOr<Checkpoint> cp = ParseCheckpointText(note->text);
      if (cp->origin != origin_) {
        return TamperedError(absl::StrCat("checkpoint origin '", cp->origin,
                                          "' is not the log's origin '", origin_, "'"));
      }
      // A checkpoint older than the kept records (retention) cannot be recomputed; verify checks
      // the kept ones against later checkpoints.
      if (cp->size >= tree_.base() && *tree_.Root(cp->size) != cp->root) {
        return TamperedError(absl::StrCat("the tree at size ", cp->size,
                                          " no longer has the root its checkpoint signed"));
      }
      if (options_.signer.has_value()) {
        if (absl::Status s = VerifyNote(*note, options_.signer->verifier()); !s.ok()) {
          if (ToCStatus(s) == KARS_E_DENIED) {
            return MakeStatus(KARS_E_DENIED, absl::StrCat(
                "the log's checkpoints are not signed by key '", options_.signer->name(), "'"));
          }
          return s;
        }
      }
    }
  }
  {
    MutexLock l(&mu_);
    next_index_ = size;
    durable_ = size;
  }
  MutexLock l(&cp_mu_);
  checkpoints_ = std::move(loaded);
  checkpoints_fd_ = *std::move(fd);
  return absl::OkStatus();
}

}  // namespace kars::audit
