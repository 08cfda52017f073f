// Indexes that turn a request into the few rules that could match it, so a decision never scans
// the rule list: exact names in hash maps, prefixes by distinct prefix length, host suffixes by
// walking the host's labels, CIDRs by prefix length. An index may return a rule more than once
// and may return rules that then fail Rule::Matches; it never misses one. Immutable after build.
#ifndef KARS_POLICY_RULE_INDEX_H_
#define KARS_POLICY_RULE_INDEX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "libkars/policy/domain_table.h"
#include "libkars/policy/patterns.h"

namespace kars::policy {

using RuleList = std::vector<uint32_t>;

class NameIndex {
 public:
  // Indexes `rule` under every pattern of `names`; an empty matcher matches any value.
  void Add(const NameMatcher& names, uint32_t rule);
  void Finish();
  template <class F>
  void ForEach(absl::string_view value, F&& f) const {
    for (uint32_t r : any_) f(r);
    if (auto it = exact_.find(value); it != exact_.end()) {
      for (uint32_t r : it->second) f(r);
    }
    for (size_t len : prefix_lengths_) {
      if (len > value.size()) break;
      if (auto it = prefix_.find(value.substr(0, len)); it != prefix_.end()) {
        for (uint32_t r : it->second) f(r);
      }
    }
  }

 private:
  absl::flat_hash_map<std::string, RuleList> exact_;
  absl::flat_hash_map<std::string, RuleList> prefix_;
  std::vector<size_t> prefix_lengths_;  // sorted, distinct
  RuleList any_;
};

// Host names: exact names and `*.domain` suffixes, in one domain table probed with the host's
// precomputed suffix hashes (only at label counts some pattern has).
class HostIndex {
 public:
  void Add(const HostMatcher& hosts, uint32_t rule);
  // Every rule yielded names the host exactly or by a `*.` pattern of a parent domain (the
  // table compares the names), so callers need not match the host patterns again.
  template <class F>
  void ForEach(const HostView& host, F&& f) const {
    domains_.FindSuffixes(host, [&](int i, uint32_t id) {
      // Suffix 0 is the host itself (exact patterns); the others are parents (`*.` patterns).
      const Entry& e = entries_[id];
      for (uint32_t r : i == 0 ? e.exact : e.subdomains) f(r);
      return false;
    });
  }

 private:
  struct Entry {
    RuleList exact, subdomains;
  };
  Entry& EntryFor(absl::string_view domain);
  DomainTable domains_;
  std::vector<Entry> entries_;  // by domain id
};

// CIDRs, one hash map per prefix length in use.
class CidrIndex {
 public:
  void Add(const CidrMatcher& cidrs, uint32_t rule);
  void Finish();
  template <class F>
  void ForEach(const IpAddr& addr, F&& f) const {
    for (const auto& level : levels_) {
      if (level.family != addr.family) continue;
      if (auto it = level.rules.find(Key(MaskAddress(addr, level.length)));
          it != level.rules.end()) {
        for (uint32_t r : it->second) f(r);
      }
    }
  }

 private:
  struct Level {
    uint8_t family;
    int length;
    absl::flat_hash_map<std::string, RuleList> rules;
  };
  static absl::string_view Key(const IpAddr& a) {
    return absl::string_view(reinterpret_cast<const char*>(a.bytes.data()), a.family == 4 ? 4 : 16);
  }
  struct Pending {
    uint8_t family;
    int length;
    std::string key;
    uint32_t rule;
  };
  std::vector<Pending> pending_;
  std::vector<Level> levels_;
};

}  // namespace kars::policy

#endif  // KARS_POLICY_RULE_INDEX_H_
