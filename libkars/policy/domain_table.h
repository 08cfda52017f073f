// Domain names looked up by every egress decision: rule hosts, the blocklist (≥ 1M entries) and
// risky TLDs. A host is split into its label suffixes and each suffix hashed once per decision
// (HostView); every table is then probed with those precomputed hashes, and only for suffixes
// whose label count occurs in the table, so a lookup is a handful of integer probes, never a
// re-hash of the host string. Domains live in one arena (no allocation per domain), which keeps
// loading a million-domain feed fast. Immutable after building; lookups never allocate.
#ifndef KARS_POLICY_DOMAIN_TABLE_H_
#define KARS_POLICY_DOMAIN_TABLE_H_

#include <bit>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"

namespace kars::policy {

// Hash of a (lowercase) domain; equal to HostView::hash[0] of the same name.
uint64_t DomainHash(absl::string_view domain);

// A lowercase host and its label suffixes, longest first: suffix 0 is the whole host, the last
// is its top-level label. Built once per decision; a plain aggregate, so it costs nothing to
// construct.
struct HostView {
  static constexpr int kMaxLabels = 128;  // 253 characters hold at most 127 labels
  absl::string_view host;
  int count = 0;                 // number of labels (and of suffixes)
  uint16_t offset[kMaxLabels];   // suffix i is host.substr(offset[i])
  uint64_t hash[kMaxLabels];     // DomainHash of suffix i

  absl::string_view suffix(int i) const { return host.substr(offset[i]); }
  int labels_of(int i) const { return count - i; }
};

// Fills `out` for `host` (already lowercase, without a trailing dot). False when the host has an
// empty label or more labels than kMaxLabels; such a host can match no domain.
bool BuildHostView(absl::string_view host, HostView* out);
// The same for a host as received: lowercases it into `buf` (raw.size() bytes) in the same pass
// and views that copy. *has_colon: the host's first label contains ':' (so it may be an IPv6
// literal, whose ':'s all precede any '.').
bool BuildLowercaseHostView(absl::string_view raw, char* buf, HostView* out, bool* has_colon);

// A set of domains, each with a dense id (0, 1, ... in insertion order). Not copyable; movable.
class DomainTable {
 public:
  DomainTable();
  DomainTable(DomainTable&&) noexcept;
  DomainTable& operator=(DomainTable&&) noexcept;
  DomainTable(const DomainTable&) = delete;
  DomainTable& operator=(const DomainTable&) = delete;
  ~DomainTable();

  void reserve(size_t domains, size_t bytes);
  // Adds `domain` (validated, lowercase, at most 253 characters); returns its id, the existing
  // one when it is already present.
  uint32_t Insert(absl::string_view domain);
  size_t size() const { return slots_.size(); }
  bool empty() const { return slots_.empty(); }

  // The id of suffix `i` of `host`, or -1.
  int64_t Find(const HostView& host, int i) const {
    if (!HasLabelCount(host.labels_of(i))) return -1;
    auto it = slots_.find(Probe{host.suffix(i), host.hash[i]});
    return it == slots_.end() ? -1 : static_cast<int64_t>(it->id);
  }
  int64_t Find(absl::string_view domain) const;
  bool contains(absl::string_view domain) const { return Find(domain) >= 0; }
  // Calls f(i, id) for each suffix i of `host` in the table, until f returns true; returns
  // whether it did. Only suffixes whose label count occurs in the table are probed, read off the
  // label-count bitmap instead of testing every suffix.
  template <class F>
  bool FindSuffixes(const HostView& host, F&& f) const {
    // Bit b of word w stands for 64 * w + b labels; keep those up to host.count.
    for (int w = 0; w < 2 && host.count > 64 * w; ++w) {
      const int limit = host.count - 64 * w;
      uint64_t counts = label_counts_[w];
      if (limit < 63) counts &= (uint64_t{2} << limit) - 1;
      for (; counts != 0; counts &= counts - 1) {
        const int i = host.count - (64 * w + std::countr_zero(counts));
        auto it = slots_.find(Probe{host.suffix(i), host.hash[i]});
        if (it != slots_.end() && f(i, it->id)) return true;
      }
    }
    return false;
  }
  // True when the host or one of its parent domains is in the table (blocklist semantics).
  bool ContainsDomainOrParent(const HostView& host) const {
    return FindSuffixes(host, [](int, uint32_t) { return true; });
  }
  // Whether some domain in the table has exactly `labels` labels (prunes pointless probes).
  bool HasLabelCount(int labels) const {
    return labels < 128 && ((label_counts_[labels >> 6] >> (labels & 63)) & 1) != 0;
  }

 private:
  struct Slot {
    uint64_t hash;
    uint32_t offset;  // of the length byte in the arena; the name follows it
    uint32_t id;
  };
  struct Probe {
    absl::string_view name;
    uint64_t hash;
  };
  struct SlotHash {
    using is_transparent = void;
    size_t operator()(const Slot& s) const { return s.hash; }
    size_t operator()(const Probe& p) const { return p.hash; }
  };
  struct SlotEq {
    using is_transparent = void;
    const std::string* arena;
    bool operator()(const Slot& a, const Slot& b) const { return a.offset == b.offset; }
    bool operator()(const Slot& a, const Probe& b) const { return Same(a, b); }
    bool operator()(const Probe& a, const Slot& b) const { return Same(b, a); }
    bool Same(const Slot& s, const Probe& p) const {
      return s.hash == p.hash && static_cast<unsigned char>((*arena)[s.offset]) == p.name.size() &&
             absl::string_view(arena->data() + s.offset + 1, p.name.size()) == p.name;
    }
  };

  // Owned through a pointer so that the address SlotEq holds survives moves of the table.
  std::unique_ptr<std::string> arena_;
  absl::flat_hash_set<Slot, SlotHash, SlotEq> slots_;
  uint64_t label_counts_[2] = {0, 0};
};

}  // namespace kars::policy

#endif  // KARS_POLICY_DOMAIN_TABLE_H_
