// Static checks on a compiled set. Shadowing is found through indexes of the deny rules (the
// same ones decisions use), so checking a 100,000-rule set stays linear.
#include "libkars/policy/warnings.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "libkars/policy/policy_set.h"

namespace kars::policy {
namespace {

// ---- Coverage: does every request `narrow` matches also match `broad`? Conservative: false
// whenever it cannot tell.

bool NameCovered(const NameMatcher& broad, const NameMatcher& narrow) {
  if (broad.empty()) return true;
  if (narrow.empty()) return false;
  auto value_covered = [&](absl::string_view v) {
    for (const auto& e : broad.exact()) {
      if (e == v) return true;
    }
    for (const auto& p : broad.prefixes()) {
      if (absl::StartsWith(v, p)) return true;
    }
    return false;
  };
  for (const auto& e : narrow.exact()) {
    if (!value_covered(e)) return false;
  }
  for (const auto& q : narrow.prefixes()) {
    bool covered = false;
    for (const auto& p : broad.prefixes()) covered |= absl::StartsWith(q, p);
    if (!covered) return false;
  }
  return true;
}

bool PrincipalCovered(const PrincipalMatcher& broad, const PrincipalMatcher& narrow) {
  if (!NameCovered(broad.agents, narrow.agents) || !NameCovered(broad.sandboxes, narrow.sandboxes) ||
      !NameCovered(broad.namespaces, narrow.namespaces)) {
    return false;
  }
  for (const auto& label : broad.labels) {
    if (std::find(narrow.labels.begin(), narrow.labels.end(), label) == narrow.labels.end()) return false;
  }
  return true;
}

bool IsSubdomain(absl::string_view host, absl::string_view domain) {
  return host.size() > domain.size() && absl::EndsWith(host, domain) &&
         host[host.size() - domain.size() - 1] == '.';
}

bool HostsCovered(const HostMatcher& broad, const HostMatcher& narrow) {
  if (broad.empty()) return true;
  if (narrow.empty()) return false;
  for (const auto& h : narrow.exact()) {
    bool covered = std::find(broad.exact().begin(), broad.exact().end(), h) != broad.exact().end();
    for (const auto& s : broad.suffix_domains()) covered |= IsSubdomain(h, s);
    if (!covered) return false;
  }
  for (const auto& d : narrow.suffix_domains()) {
    bool covered = false;
    for (const auto& s : broad.suffix_domains()) covered |= d == s || IsSubdomain(d, s);
    if (!covered) return false;
  }
  return true;
}

bool CidrsCovered(const CidrMatcher& broad, const CidrMatcher& narrow) {
  if (broad.empty()) return true;
  if (narrow.empty()) return false;
  for (const Cidr& n : narrow.cidrs()) {
    bool covered = false;
    for (const Cidr& b : broad.cidrs()) {
      covered |= b.base.family == n.base.family && b.length <= n.length && b.Contains(n.base);
    }
    if (!covered) return false;
  }
  return true;
}

bool PortsCovered(const PortMatcher& broad, const PortMatcher& narrow) {
  if (broad.empty()) return true;
  if (narrow.empty()) return false;
  for (const auto& [lo, hi] : narrow.ranges()) {
    bool covered = false;
    for (const auto& [blo, bhi] : broad.ranges()) covered |= blo <= lo && hi <= bhi;
    if (!covered) return false;
  }
  return true;
}

bool Covers(const Rule& deny, const Rule& r) {
  if (deny.kind != r.kind || !deny.args.empty()) return false;
  if (!PrincipalCovered(deny.principal, r.principal)) return false;
  for (int f = 0; f < 3; ++f) {
    if (!NameCovered(deny.names[f], r.names[f])) return false;
  }
  return HostsCovered(deny.hosts, r.hosts) && CidrsCovered(deny.cidrs, r.cidrs) &&
         PortsCovered(deny.ports, r.ports);
}

// ---- Conditions that can never hold together.

const char* ContradictoryArgs(const Rule& r) {
  namespace pb = google::protobuf;
  for (size_t i = 0; i < r.args.size(); ++i) {
    for (size_t j = i + 1; j < r.args.size(); ++j) {
      const ArgMatcher& a = r.args[i];
      const ArgMatcher& b = r.args[j];
      if (a.pointer() != b.pointer()) continue;
      if (!a.values().empty() && !b.values().empty()) {
        bool common = false;
        for (const auto& x : a.values()) {
          for (const auto& y : b.values()) common |= pb::util::MessageDifferencer::Equals(x, y);
        }
        if (!common) return "two argument conditions on the same pointer allow no common value";
      }
      auto wants_string = [](const ArgMatcher& m) {
        if (m.has_regex()) return true;
        if (m.values().empty()) return false;
        for (const auto& v : m.values()) {
          if (!v.has_string_value()) return false;
        }
        return true;
      };
      auto wants_number = [](const ArgMatcher& m) {
        if (m.has_range()) return true;
        if (m.values().empty()) return false;
        for (const auto& v : m.values()) {
          if (v.kind_case() != pb::Value::kNumberValue) return false;
        }
        return true;
      };
      if ((wants_string(a) && wants_number(b)) || (wants_number(a) && wants_string(b))) {
        return "argument conditions on the same pointer want both a string and a number";
      }
      if (a.has_range() && b.has_range() && a.values().empty() && b.values().empty()) {
        const double lo = std::max(a.range_min(), b.range_min());
        const double hi = std::min(a.range_max(), b.range_max());
        if (lo > hi) return "numeric ranges on the same pointer do not overlap";
      }
    }
  }
  return nullptr;
}

struct Warning {
  const Rule* rule;
  std::string text;
};

// Deny rules of one kind, indexed on the field decisions index, for finding shadowing
// candidates. Candidates are then checked with Covers.
struct DenyIndex {
  NameIndex names[kKindCount];
  HostIndex hosts;
  RuleList egress_other;  // egress denies without hosts: compared with every egress rule
};

}  // namespace

std::vector<std::string> FindWarnings(const PolicySet& set) {
  std::vector<Warning> found;
  auto warn = [&](const Rule& r, absl::string_view code, const std::string& text) {
    found.push_back({&r, absl::StrCat(r.Location(), ": ", code, ": rule '", r.id, "' (document '",
                                      r.document, "') ", text)});
  };

  DenyIndex denies;
  for (uint32_t i = 0; i < set.rules.size(); ++i) {
    const Rule& r = set.rules[i];
    if (r.effect != Effect::kDeny) continue;
    if (r.kind != Kind::kEgress) {
      denies.names[static_cast<int>(r.kind)].Add(r.primary(), i);
    } else if (!r.hosts.empty()) {
      denies.hosts.Add(r.hosts, i);
    } else {
      denies.egress_other.push_back(i);
    }
  }
  for (auto& index : denies.names) index.Finish();

  for (uint32_t i = 0; i < set.rules.size(); ++i) {
    const Rule& r = set.rules[i];
    if (const char* why = ContradictoryArgs(r); why != nullptr) {
      warn(r, kWarnNeverMatches, absl::StrCat("can never match: ", why));
      continue;
    }
    if (r.kind == Kind::kEgress) {
      bool ip_host = false;
      for (const auto& h : r.hosts.exact()) {
        IpAddr addr;
        if (ParseIp(h, &addr)) {
          warn(r, kWarnNeverMatches,
               absl::StrCat("can never match host '", h, "': IP destinations match cidrs, never hosts"));
          ip_host = true;
          break;
        }
      }
      if (ip_host) continue;
      if (!r.hosts.empty() && r.hosts.suffix_domains().empty() && r.effect != Effect::kDeny) {
        bool all_blocked = true;
        for (const auto& h : r.hosts.exact()) {
          HostView view;
          all_blocked &= BuildHostView(h, &view) && set.blocklist.ContainsDomainOrParent(view);
        }
        if (all_blocked) {
          warn(r, kWarnNeverMatches, "never allows: every host it names is on the blocklist");
          continue;
        }
      }
    }
    if (r.effect == Effect::kDeny) continue;
    // Shadowing: a deny rule matching everything this rule matches.
    const Rule* shadow = nullptr;
    auto consider = [&](uint32_t d) {
      if (shadow == nullptr && Covers(set.rules[d], r)) shadow = &set.rules[d];
    };
    if (r.kind != Kind::kEgress) {
      const NameMatcher& primary = r.primary();
      const NameIndex& index = denies.names[static_cast<int>(r.kind)];
      // Any deny covering r covers its first primary pattern; look candidates up by it.
      if (!primary.exact().empty()) {
        index.ForEach(primary.exact()[0], consider);
      } else if (!primary.prefixes().empty()) {
        index.ForEach(primary.prefixes()[0], consider);
      } else {
        index.ForEach(absl::string_view(), consider);  // only denies with no primary condition
      }
    } else {
      for (uint32_t d : denies.egress_other) consider(d);
      if (shadow == nullptr && !r.hosts.empty()) {
        // "x.<domain>" reaches the deny patterns that can cover the first host pattern: the exact
        // host, `*.` patterns of it or of a parent (then filtered by Covers).
        std::string probe = !r.hosts.exact().empty() ? r.hosts.exact()[0]
                                                     : absl::StrCat("x.", r.hosts.suffix_domains()[0]);
        HostView view;
        if (BuildHostView(probe, &view)) denies.hosts.ForEach(view, consider);
      }
    }
    if (shadow != nullptr) {
      warn(r, kWarnShadowed,
           absl::StrCat("never takes effect: deny rule '", shadow->id, "' (", shadow->Location(),
                        ") matches every request it matches, and deny wins"));
    }
  }
  std::sort(found.begin(), found.end(), [](const Warning& a, const Warning& b) {
    return std::tie(a.rule->source, a.rule->pos.line, a.rule->pos.column, a.text) <
           std::tie(b.rule->source, b.rule->pos.line, b.rule->pos.column, b.text);
  });
  std::vector<std::string> out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(std::move(f.text));
  return out;
}

}  // namespace kars::policy
