#include "libkars/audit/segment.h"

#include <bit>
#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libkars/audit/encoding.h"
#include "libkars/base/status.h"

namespace kars::audit {
namespace {

constexpr absl::string_view kMagic = "KARSSEG1";
constexpr size_t kHeaderCheckSize = 8;

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

bool AllZero(absl::string_view bytes) {
  for (char c : bytes) {
    if (c != 0) return false;
  }
  return true;
}

}  // namespace

std::string EncodeSegmentHeader(const SegmentHeader& h) {
  std::string out(kMagic);
  PutU64(&out, h.first_index);
  PutU32(&out, static_cast<uint32_t>(h.frontier.size()));
  for (const Hash& f : h.frontier) out.append(reinterpret_cast<const char*>(f.data()), kHashSize);
  Hash check = Sha256(out);
  out.append(reinterpret_cast<const char*>(check.data()), kHeaderCheckSize);
  return out;
}

absl::StatusOr<SegmentHeader> DecodeSegmentHeader(absl::string_view bytes, size_t* header_size) {
  constexpr size_t kFixed = 8 + 8 + 4;
  if (bytes.size() < kFixed + kHeaderCheckSize || !absl::StartsWith(bytes, kMagic)) {
    return TamperedError("segment header: missing or wrong magic");
  }
  SegmentHeader h;
  h.first_index = GetU64(bytes.data() + 8);
  const uint32_t n = GetU32(bytes.data() + 16);
  if (n != static_cast<uint32_t>(std::popcount(h.first_index))) {
    return TamperedError(absl::StrCat("segment header: tree state for size ", h.first_index,
                                      " must have ", std::popcount(h.first_index), " hashes, has ",
                                      n));
  }
  const size_t size = kFixed + n * kHashSize + kHeaderCheckSize;
  if (bytes.size() < size) return TamperedError("segment header: truncated");
  for (uint32_t i = 0; i < n; ++i) {
    h.frontier.push_back(HashFromBytes(bytes.substr(kFixed + i * kHashSize, kHashSize)));
  }
  Hash check = Sha256(bytes.substr(0, size - kHeaderCheckSize));
  if (std::memcmp(check.data(), bytes.data() + size - kHeaderCheckSize, kHeaderCheckSize) != 0) {
    return TamperedError("segment header: checksum mismatch");
  }
  *header_size = size;
  return h;
}

void AppendFrame(std::string* out, absl::string_view record, const Hash& leaf) {
  PutU32(out, static_cast<uint32_t>(record.size()));
  out->append(reinterpret_cast<const char*>(leaf.data()), 4);
  out->append(record.data(), record.size());
}

ScanResult ScanFrames(absl::string_view bytes, size_t offset, const FrameFn& fn) {
  ScanResult r;
  r.good_end = offset;
  size_t pos = offset;
  while (pos < bytes.size()) {
    const size_t left = bytes.size() - pos;
    if (left < kFrameHeaderSize) {
      r.end = ScanEnd::kTorn;
      r.problem = absl::StrCat("incomplete frame header at offset ", pos);
      return r;
    }
    const uint32_t len = GetU32(bytes.data() + pos);
    const bool fits = len <= kMaxFrameRecord && FrameSize(len) <= left;
    if (fits) {
      absl::string_view record = bytes.substr(pos + kFrameHeaderSize, len);
      Hash leaf = LeafHash(record);
      if (std::memcmp(leaf.data(), bytes.data() + pos + 4, 4) == 0) {
        if (!fn(pos, record, leaf)) {
          r.end = ScanEnd::kStopped;
          return r;
        }
        pos += FrameSize(len);
        r.good_end = pos;
        ++r.records;
        continue;
      }
    }
    // A bad frame. A crash leaves it at the very end (a partial write, whose length field is
    // intact because it is written first) or followed only by the zero fill a file system may
    // expose after power loss; anything else is damage.
    if (fits) {
      const bool last = pos + FrameSize(len) == bytes.size() || AllZero(bytes.substr(pos));
      r.end = last ? ScanEnd::kTorn : ScanEnd::kCorrupt;
      r.problem = absl::StrCat(last ? "last frame" : "frame", " at offset ", pos,
                               " fails its check");
    } else if (len <= kMaxFrameRecord) {
      r.end = ScanEnd::kTorn;
      r.problem = absl::StrCat("incomplete frame at offset ", pos, " (", left, " of ",
                               FrameSize(len), " bytes)");
    } else {
      r.end = ScanEnd::kCorrupt;
      r.problem = absl::StrCat("frame at offset ", pos, " claims ", len, " bytes");
    }
    return r;
  }
  return r;
}

void AppendIndexEntry(std::string* out, const Hash& leaf, uint64_t offset) {
  out->append(reinterpret_cast<const char*>(leaf.data()), kHashSize);
  PutU64(out, offset);
}

void DecodeIndexEntry(const char* p, Hash* leaf, uint64_t* offset) {
  std::memcpy(leaf->data(), p, kHashSize);
  *offset = GetU64(p + kHashSize);
}

uint32_t FrameRecordLength(const char* frame_header) { return GetU32(frame_header); }

std::string SegmentFileName(uint64_t first_index) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "segment-%020llu.kseg",
                static_cast<unsigned long long>(first_index));
  return buf;
}

bool ParseSegmentFileName(absl::string_view name, uint64_t* first_index) {
  if (!absl::ConsumePrefix(&name, "segment-") || !absl::ConsumeSuffix(&name, ".kseg") ||
      name.size() != 20) {
    return false;
  }
  uint64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *first_index = v;
  return true;
}

}  // namespace kars::audit
