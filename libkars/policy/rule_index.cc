#include "libkars/policy/rule_index.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/container/flat_hash_set.h"

namespace kars::policy {

void NameIndex::Add(const NameMatcher& names, uint32_t rule) {
  if (names.empty()) {
    any_.push_back(rule);
    return;
  }
  for (const auto& e : names.exact()) exact_[e].push_back(rule);
  for (const auto& p : names.prefixes()) {
    if (p.empty()) {
      any_.push_back(rule);  // `*`
    } else {
      prefix_[p].push_back(rule);
      prefix_lengths_.push_back(p.size());
    }
  }
}

void NameIndex::Finish() {
  std::sort(prefix_lengths_.begin(), prefix_lengths_.end());
  prefix_lengths_.erase(std::unique(prefix_lengths_.begin(), prefix_lengths_.end()),
                        prefix_lengths_.end());
}

HostIndex::Entry& HostIndex::EntryFor(absl::string_view domain) {
  const uint32_t id = domains_.Insert(domain);
  if (id >= entries_.size()) entries_.resize(id + 1);
  return entries_[id];
}

void HostIndex::Add(const HostMatcher& hosts, uint32_t rule) {
  for (const auto& e : hosts.exact()) EntryFor(e).exact.push_back(rule);
  for (const auto& s : hosts.suffix_domains()) EntryFor(s).subdomains.push_back(rule);
}

void CidrIndex::Add(const CidrMatcher& cidrs, uint32_t rule) {
  for (const auto& c : cidrs.cidrs()) {
    pending_.push_back({c.base.family, c.length, std::string(Key(c.base)), rule});
  }
}

void CidrIndex::Finish() {
  std::map<std::pair<uint8_t, int>, std::vector<const Pending*>> groups;
  for (const auto& p : pending_) groups[{p.family, p.length}].push_back(&p);
  levels_.clear();
  levels_.reserve(groups.size());
  for (auto it = groups.rbegin(); it != groups.rend(); ++it) {  // longest prefixes first
    Level& level = levels_.emplace_back();
    level.family = it->first.first;
    level.length = it->first.second;
    for (const Pending* p : it->second) level.rules[p->key].push_back(p->rule);
  }
  pending_.clear();
}

}  // namespace kars::policy
