// Segment reader: header decode, frame scan and the sequence decoder never misbehave, and what
// they accept is self-consistent.
#include <cstdlib>

#include "libkars/audit/record.h"
#include "libkars/audit/segment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kars::audit;
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  size_t header_size = 0;
  absl::StatusOr<SegmentHeader> h = DecodeSegmentHeader(bytes, &header_size);
  size_t start = 0;
  if (h.ok()) {
    if (header_size > size) std::abort();
    start = header_size;
  }
  size_t last_end = start;
  ScanResult r = ScanFrames(bytes, start, [&](size_t off, absl::string_view rec, const Hash& leaf) {
    if (off != last_end || off + FrameSize(rec.size()) > size) std::abort();
    if (LeafHash(rec) != leaf) std::abort();
    last_end = off + FrameSize(rec.size());
    (void)DecodeSequence(rec);
    return true;
  });
  if (r.good_end != last_end || r.good_end > size) std::abort();
  if (r.end == ScanEnd::kClean && r.good_end != size) std::abort();
  return 0;
}
