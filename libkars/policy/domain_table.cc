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
constexpr uint64_t kEmptySuffix = 0x1d8e4e27c47d124full;

// Walks `n` bytes of `in` right to left in one pass: lowercases each byte (into `lower_out`
// when given), folds it into the hash of its label, and at each label's start calls
// on_suffix(offset, hash of the suffix starting there), shortest suffix first. Byte-wise on
// purpose: the host was just copied, and wide loads straddling those stores would stall.
// False for an empty name or an empty label. *has_colon tells an IPv6 literal apart.
template <class OnSuffix>
inline bool WalkSuffixes(const char* in, size_t n, char* lower_out, bool* has_colon,
                         OnSuffix&& on_suffix) {
  uint64_t suffix = kEmptySuffix, state = kP0, word = 0;
  int bytes = 0;
  uint64_t len = 0;
  bool colon = false;
  auto finish_label = [&](size_t offset) {
    const uint64_t label = Mum(state ^ word ^ kP2, len + kP3);
    suffix = Mum(suffix ^ kP3, label ^ kP1);
    on_suffix(offset, suffix);
    state = kP0;
    word = 0;
    bytes = 0;
    len = 0;
  };
  for (size_t i = n; i-- > 0;) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    c = static_cast<unsigned char>(c - 'A') < 26 ? static_cast<unsigned char>(c + 32) : c;
    if (lower_out != nullptr) lower_out[i] = static_cast<char>(c);
    if (c == '.') {
      if (len == 0) return false;
      finish_label(i + 1);
      continue;
    }
    colon |= c == ':';
    word = (word << 8) | c;
    ++len;
    if (++bytes == 8) {
      state = Mum(state ^ word, kP1);
      word = 0;
      bytes = 0;
    }
  }
  if (len == 0) return false;
  finish_label(0);
  if (has_colon != nullptr) *has_colon = colon;
  return true;
}

bool FillHostView(const char* in, size_t n, char* lower_out, absl::string_view host, HostView* out,
                  bool* has_colon) {
  out->host = host;
  out->count = 0;
  if (n == 0 || n > 253) return false;
  // Suffixes arrive shortest first: fill from the top, then move them down.
  int top = HostView::kMaxLabels;
  const bool ok = WalkSuffixes(in, n, lower_out, has_colon, [&](size_t offset, uint64_t hash) {
    if (top == 0) return;
    --top;
    out->offset[top] = static_cast<uint16_t>(offset);
    out->hash[top] = hash;
  });
  if (!ok || out->offset[top] != 0) return false;  // empty label, or too many labels
  const int count = HostView::kMaxLabels - top;
  for (int i = 0; top != 0 && i < count; ++i) {  // a few labels: cheaper than memmove calls
    out->offset[i] = out->offset[top + i];
    out->hash[i] = out->hash[top + i];
  }
  out->count = count;
  return true;
}

}  // namespace

uint64_t DomainHash(absl::string_view domain) {
  uint64_t last = 0;
  WalkSuffixes(domain.data(), domain.size(), nullptr, nullptr,
               [&](size_t, uint64_t hash) { last = hash; });
  return last;
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
