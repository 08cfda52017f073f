// Static checks on a compiled set that are not errors: rules that can never match or are
// shadowed by a rule that always wins over them.
#ifndef KARS_POLICY_WARNINGS_H_
#define KARS_POLICY_WARNINGS_H_

#include <string>
#include <vector>

namespace kars::policy {

struct PolicySet;

// Stable warning codes; tools may match on them.
inline constexpr const char* kWarnShadowed = "W_SHADOWED";            // an equal-or-broader deny always wins
inline constexpr const char* kWarnNeverMatches = "W_NEVER_MATCHES";   // no request can match (or be allowed)

// One line per finding, "FILE:LINE:COL: W_CODE: rule 'ID' (document 'DOC') ...", ordered by
// file and position.
std::vector<std::string> FindWarnings(const PolicySet& set);

}  // namespace kars::policy

#endif  // KARS_POLICY_WARNINGS_H_
