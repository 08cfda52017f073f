// Static checks on a compiled set that are not errors: rules that can never match or are
// shadowed by a rule that always wins over them.
#ifndef KARS_POLICY_WARNINGS_H_
#define KARS_POLICY_WARNINGS_H_

#include <string>
#include <vector>

namespace kars::policy {

struct PolicySet;

// One line per finding, "W_SHADOWED: ..." or "W_NEVER_MATCHES: ...", in rule order.
std::vector<std::string> FindWarnings(const PolicySet& set);

}  // namespace kars::policy

#endif  // KARS_POLICY_WARNINGS_H_
