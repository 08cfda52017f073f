#include "libkars/policy/warnings.h"

#include "absl/strings/str_cat.h"
#include "libkars/policy/policy_set.h"

namespace kars::policy {
namespace {

bool SelectsEveryPrincipal(const PrincipalMatcher& p) {
  return p.agents.empty() && p.sandboxes.empty() && p.namespaces.empty() && p.labels.empty();
}

// True when the rule has no condition at all besides its kind.
bool MatchesEveryRequest(const Rule& r) {
  return SelectsEveryPrincipal(r.principal) && r.names[0].empty() && r.names[1].empty() &&
         r.names[2].empty() && r.args.empty() && r.hosts.empty() && r.cidrs.empty() &&
         r.ports.empty();
}

}  // namespace

std::vector<std::string> FindWarnings(const PolicySet& set) {
  std::vector<std::string> out;
  const Rule* deny_all[kKindCount] = {};
  for (const Rule& r : set.rules) {
    if (r.effect == Effect::kDeny && MatchesEveryRequest(r)) deny_all[static_cast<int>(r.kind)] = &r;
  }
  for (const Rule& r : set.rules) {
    if (r.effect == Effect::kDeny) continue;
    if (const Rule* d = deny_all[static_cast<int>(r.kind)]; d != nullptr) {
      out.push_back(absl::StrCat("W_SHADOWED: rule '", r.id, "' (document '", r.document,
                                 "') never takes effect: deny rule '", d->id, "' matches every ",
                                 KindName(r.kind), " request and deny wins"));
      continue;
    }
    if (r.kind == Kind::kEgress && !r.hosts.empty() && r.hosts.suffix_domains().empty()) {
      bool all_blocked = true;
      for (const auto& h : r.hosts.exact()) {
        HostView view;
        all_blocked &= BuildHostView(h, &view) && set.blocklist.ContainsDomainOrParent(view);
      }
      if (all_blocked) {
        out.push_back(absl::StrCat("W_NEVER_MATCHES: rule '", r.id, "' (document '", r.document,
                                   "') never allows: every host it names is on the blocklist"));
      }
    }
  }
  return out;
}

}  // namespace kars::policy
