#include "libkars/policy/domain_table.h"

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

inline uint64_t LabelHash(const char* p, size_t n) {
  uint64_t h = kP0 ^ n;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = Mum(h ^ w, kP1);
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = Mum(h ^ w, kP2);
  }
  return h;
}

// The hash of a suffix from the hash of the suffix one label shorter and the new label.
inline uint64_t Extend(uint64_t shorter, const char* label, size_t n) {
  return Mum(shorter ^ kP3, LabelHash(label, n) ^ kP1);
}

constexpr uint64_t kEmptySuffix = 0x1d8e4e27c47d124full;

}  // namespace

uint64_t DomainHash(absl::string_view domain) {
  uint64_t h = kEmptySuffix;
  size_t end = domain.size();
  for (;;) {
    size_t dot = end == 0 ? absl::string_view::npos : domain.rfind('.', end - 1);
    size_t start = dot == absl::string_view::npos ? 0 : dot + 1;
    h = Extend(h, domain.data() + start, end - start);
    if (dot == absl::string_view::npos) return h;
    end = dot;
  }
}

bool BuildHostView(absl::string_view host, HostView* out) {
  out->host = host;
  out->count = 0;
  if (host.empty() || host.size() > 253) return false;
  uint16_t starts[HostView::kMaxLabels];
  int n = 0;
  starts[n++] = 0;
  for (size_t i = 0; i < host.size(); ++i) {
    if (host[i] != '.') continue;
    if (n == HostView::kMaxLabels) return false;
    starts[n++] = static_cast<uint16_t>(i + 1);
  }
  uint64_t h = kEmptySuffix;
  size_t end = host.size();
  for (int j = n - 1; j >= 0; --j) {
    if (end == starts[j]) return false;  // empty label
    h = Extend(h, host.data() + starts[j], end - starts[j]);
    out->offset[j] = starts[j];
    out->hash[j] = h;
    end = starts[j] == 0 ? 0 : starts[j] - 1u;
  }
  out->count = n;
  return true;
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
