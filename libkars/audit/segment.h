// Segment files: the log's records, append-only, in index order.
//
//   header: "KARSSEG1" | u64 first index | u32 n | n x 32-byte compact-range hashes of the tree
//           before the first record | first 8 bytes of SHA-256(all previous header bytes)
//   frame:  u32 record length | first 4 bytes of the record's leaf hash | record bytes
//
// Integers are little-endian. The frame check reuses the leaf hash the log computes anyway, so
// framing adds no hashing. The header's tree state lets verification start at any segment, which
// is what keeps retention (dropping old segments) from breaking verification of the rest.
// The one parser of untrusted segment bytes (fuzzed by fuzz/audit/fuzz_segment.cc).
#ifndef KARS_AUDIT_SEGMENT_H_
#define KARS_AUDIT_SEGMENT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libkars/audit/hash.h"

namespace kars::audit {

inline constexpr size_t kFrameHeaderSize = 8;
// Frames claiming more than this are corrupt whatever the log's configured record limit.
inline constexpr uint32_t kMaxFrameRecord = 256u << 20;

struct SegmentHeader {
  uint64_t first_index = 0;
  std::vector<Hash> frontier;  // CompactRange hashes for tree size first_index
};

std::string EncodeSegmentHeader(const SegmentHeader& h);
// Decodes the header at the start of `bytes`; *header_size receives its length.
// TAMPERED when the magic, tree state or header checksum is wrong.
absl::StatusOr<SegmentHeader> DecodeSegmentHeader(absl::string_view bytes, size_t* header_size);

// Appends one frame for `record` with leaf hash `leaf` to *out.
void AppendFrame(std::string* out, absl::string_view record, const Hash& leaf);
inline size_t FrameSize(size_t record_len) { return kFrameHeaderSize + record_len; }

// How a scan of frames ended.
enum class ScanEnd {
  kClean,    // the bytes end exactly after a complete frame
  kTorn,     // an incomplete last frame, or a last frame / zero fill that fails its check:
             // what a crash in the middle of a write leaves
  kCorrupt,  // a frame fails its check and non-zero bytes follow it: never a crash artefact
  kStopped,  // the callback asked to stop
};

struct ScanResult {
  ScanEnd end = ScanEnd::kClean;
  size_t good_end = 0;    // offset just past the last good frame
  uint64_t records = 0;   // good frames seen
  std::string problem;    // why the scan did not end cleanly
};

// Scans frames in bytes[offset, size). For each good frame, calls
// fn(frame offset, record bytes, leaf hash); returning false stops the scan.
using FrameFn = std::function<bool(size_t, absl::string_view, const Hash&)>;
ScanResult ScanFrames(absl::string_view bytes, size_t offset, const FrameFn& fn);

// Index file entries: the record's leaf hash, then its frame's offset in its segment (u64).
inline constexpr size_t kIndexEntryBytes = kHashSize + 8;
void AppendIndexEntry(std::string* out, const Hash& leaf, uint64_t offset);
void DecodeIndexEntry(const char* p, Hash* leaf, uint64_t* offset);
// The record length in a frame header.
uint32_t FrameRecordLength(const char* frame_header);

std::string SegmentFileName(uint64_t first_index);
// Parses "segment-<20 digits>.kseg"; false for any other name.
bool ParseSegmentFileName(absl::string_view name, uint64_t* first_index);

}  // namespace kars::audit

#endif  // KARS_AUDIT_SEGMENT_H_
