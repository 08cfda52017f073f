#include "libkars/policy/domain_table.h"

#include <bit>
#include <cstring>

namespace kars::policy {
namespace {

// 64x64→128 multiply folded to 64 bits: the mixing step of wyhash. Hashes here key in-memory
// tables only; they are not a security boundary (domains come from operators, and a crafted
// collision only costs a string compare).
inline uint64_t Mum(uint64_t a, uint64_t b) {
  unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

constexpr uint64_t kP0 = 0xa0761d6478bd642full, kP1 = 0xe7037ed1a0b428dbull,
                   kP2 = 0x8ebc6af09c88c6e3ull, kP3 = 0x589965cc75374cc3ull;
constexpr uint64_t kEmptySuffix = 0x1d8e4e27c47d124full;
constexpr uint64_t kOnes = 0x0101010101010101ull, kLow7 = 0x7f7f7f7f7f7f7f7full,
                   kHigh = 0x8080808080808080ull;

// The host is handled eight bytes at a time (SWAR): a decision's host is ~20 bytes, and byte
// loops spent most of the egress path's instructions here. Byte order of a word is that of the
// machine; it only has to agree between DomainHash and the views, which share this code.
inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// 0x80 in each byte of `w` that equals `c`, 0 elsewhere (exact: no borrow between bytes).
inline uint64_t BytesEqual(uint64_t w, unsigned char c) {
  const uint64_t x = w ^ (kOnes * c);
  return ~(((x & kLow7) + kLow7) | x | kLow7);
}

// 0x80 in each byte of `w` that is an ASCII capital A-Z. Every byte's sum stays below 0x100,
// so no carry crosses into its neighbour.
inline uint64_t Capitals(uint64_t w) {
  const uint64_t low7 = w & kLow7;
  const uint64_t at_least_a = low7 + kOnes * (0x80 - 'A');  // high bit: low7 >= 'A'
  const uint64_t beyond_z = low7 + kOnes * (0x7f - 'Z');    // high bit: low7 > 'Z'
  return (at_least_a ^ beyond_z) & ~w & kHigh;
}

// Bytes [from, to) of `src` (1..8 of them) as one zero-padded word. `readable` bytes of `src`
// may be loaded (at least 8); a chunk near the end is loaded from the last 8 and shifted.
inline uint64_t Chunk(const char* src, size_t readable, size_t from, size_t to) {
  const uint64_t w = from + 8 <= readable
                         ? Load64(src + from)
                         : Load64(src + readable - 8) >> (8 * (from + 8 - readable));
  return w & (~uint64_t{0} >> (64 - 8 * (to - from)));  // keep the first to - from bytes
}

// The hash of label [from, to) under the hash of the suffix after it: one multiply per 8 bytes,
// the last one keyed by the label's length so that label boundaries count.
inline uint64_t ChainLabel(uint64_t suffix, const char* src, size_t readable, size_t from,
                           size_t to) {
  size_t p = from;
  for (; to - p > 8; p += 8) suffix = Mum(suffix ^ Load64(src + p) ^ kP0, kP1);
  return Mum(suffix ^ Chunk(src, readable, p, to) ^ kP2, (to - from) ^ kP3);
}

// Splits `in` (n bytes, 1..253) into labels and hashes each suffix: starts[i] is where label
// (and suffix) i begins, hashes[i] the hash of that suffix. With `lower_out`, lowercases `in`
// into it (n bytes) and hashes the lowercase form; without, `in` must be lowercase already.
// False for an empty label. The whole host is scanned even then, so `lower_out` is complete
// and *has_colon (the first label holds a ':': maybe an IPv6 literal) is set.
bool SplitHost(const char* in, size_t n, char* lower_out, uint16_t* starts, uint64_t* hashes,
               int* count_out, bool* has_colon) {
  int count = 1;
  starts[0] = 0;
  bool empty_label = false;
  uint64_t colons = 0, capitals = 0;
  // A label starts after each dot. Every recorded start is at least two past the previous one
  // (empty labels are not recorded), so 253 bytes hold at most 127 labels: starts cannot overflow.
  auto scan = [&](uint64_t w, size_t base) {
    // An IPv6 literal has a ':' before any '.' (an embedded IPv4 comes last), so only the first
    // label needs looking at; bytes past the first dot that this word holds do no harm.
    if (count == 1) colons |= BytesEqual(w, ':');
    for (uint64_t dots = BytesEqual(w, '.'); dots != 0; dots &= dots - 1) {
      const size_t dot = base + (std::countr_zero(dots) >> 3);
      if (dot == starts[count - 1]) {
        empty_label = true;
      } else {
        starts[count++] = static_cast<uint16_t>(dot + 1);
      }
    }
  };
  // Capitals are found and lowered in the same pass (0x80 >> 2 == 0x20, the case bit).
  auto lower = [&](uint64_t w) {
    const uint64_t c = Capitals(w);
    capitals |= c;
    return w | (c >> 2);
  };
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t w = Load64(in + i);
    scan(w, i);
    if (lower_out != nullptr) {
      const uint64_t l = lower(w);
      std::memcpy(lower_out + i, &l, 8);
    }
  }
  char small[8] = {};
  const char* src = in;
  size_t readable = n;
  if (i < n) {
    uint64_t tail;
    if (n >= 8) {
      const uint64_t last = Load64(in + n - 8);
      if (lower_out != nullptr) {
        const uint64_t l = lower(last);
        std::memcpy(lower_out + n - 8, &l, 8);  // overlaps bytes already written: the same ones
      }
      tail = last >> (8 * (8 - (n - i)));
    } else {
      std::memcpy(small, in, n);  // so that the loads below may read 8 bytes
      tail = Load64(small);
      if (lower_out != nullptr) {
        const uint64_t l = lower(tail);
        std::memcpy(lower_out, &l, n);
        std::memcpy(small, &l, 8);
      }
      src = small;
      readable = 8;
    }
    scan(tail, i);  // the zero padding holds no '.' or ':'
  }
  if (has_colon != nullptr) *has_colon = colons != 0;
  if (empty_label || starts[count - 1] == n) return false;  // "a..b", ".a", "a."
  // Hosts are nearly always lowercase already: then hash the input itself, which was not just
  // stored to (a load straddling two fresh stores would stall); else the lowered copy.
  if (capitals != 0 && src == in) src = lower_out;

  uint64_t suffix = kEmptySuffix;
  size_t end = n;
  for (int j = count - 1; j >= 0; --j) {
    suffix = ChainLabel(suffix, src, readable, starts[j], end);
    hashes[j] = suffix;
    end = static_cast<size_t>(starts[j]) - 1;
  }
  *count_out = count;
  return true;
}

bool FillHostView(const char* in, size_t n, char* lower_out, absl::string_view host, HostView* out,
                  bool* has_colon) {
  out->host = host;
  out->count = 0;
  if (n == 0 || n > 253) return false;
  int count = 0;
  if (!SplitHost(in, n, lower_out, out->offset, out->hash, &count, has_colon)) return false;
  out->count = count;
  return true;
}

}  // namespace

uint64_t DomainHash(absl::string_view domain) {
  if (domain.empty() || domain.size() > 253) return kEmptySuffix;
  uint16_t starts[HostView::kMaxLabels];
  uint64_t hashes[HostView::kMaxLabels];
  int count = 0;
  if (!SplitHost(domain.data(), domain.size(), nullptr, starts, hashes, &count, nullptr)) {
    return kEmptySuffix;
  }
  return hashes[0];
}
bool BuildHostView(absl::string_view host, HostView* out) {
  return FillHostView(host.data(), host.size(), nullptr, host, out, nullptr);
}

bool BuildLowercaseHostView(absl::string_view raw, char* buf, HostView* out, bool* has_colon) {
  *has_colon = false;
  return FillHostView(raw.data(), raw.size(), buf, absl::string_view(buf, raw.size()), out,
                      has_colon);
}

DomainTable::DomainTable()
    : arena_(std::make_unique<std::string>()), slots_(0, SlotHash{}, SlotEq{arena_.get()}) {}
DomainTable::DomainTable(DomainTable&&) noexcept = default;
DomainTable& DomainTable::operator=(DomainTable&&) noexcept = default;
DomainTable::~DomainTable() = default;

void DomainTable::reserve(size_t domains, size_t bytes) {
  slots_.reserve(domains);
  arena_->reserve(bytes + domains);
}

uint32_t DomainTable::Insert(absl::string_view domain) {
  const uint64_t hash = DomainHash(domain);
  if (auto it = slots_.find(Probe{domain, hash}); it != slots_.end()) return it->id;
  const uint32_t id = static_cast<uint32_t>(slots_.size());
  const uint32_t offset = static_cast<uint32_t>(arena_->size());
  arena_->push_back(static_cast<char>(domain.size()));
  arena_->append(domain.data(), domain.size());
  slots_.insert(Slot{hash, offset, id});
  int labels = 1;
  for (char c : domain) labels += c == '.';
  if (labels < 128) label_counts_[labels >> 6] |= uint64_t{1} << (labels & 63);
  return id;
}

int64_t DomainTable::Find(absl::string_view domain) const {
  auto it = slots_.find(Probe{domain, DomainHash(domain)});
  return it == slots_.end() ? -1 : static_cast<int64_t>(it->id);
}

}  // namespace kars::policy
