// Shared between the compiler's translation units: one document being compiled, with the
// positions its YAML came from.
#ifndef KARS_POLICY_COMPILER_INTERNAL_H_
#define KARS_POLICY_COMPILER_INTERNAL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "kars/v1/policy.pb.h"
#include "libkars/policy/policy_set.h"
#include "libkars/policy/source_error.h"

namespace kars::policy {

struct LoadedDocument {
  std::string source;
  v1::PolicyDocument doc;
  PositionTable positions;

  absl::Status Error(const void* msg, int field, int index, absl::string_view code,
                     absl::string_view message) const {
    return SourceError(source, positions.Find(msg, field, index), code, message);
  }
};

absl::Status CompilePrincipal(const LoadedDocument& d, const v1::PrincipalSelector& s,
                              PrincipalMatcher* out);

// Compiles spec.limits of every document; rule ids resolve through `rule_ids`.
absl::Status CompileLimits(const std::vector<std::unique_ptr<LoadedDocument>>& docs,
                           const absl::flat_hash_map<std::string, uint32_t>& rule_ids,
                           PolicySet* set);

// Adds `domain` (validated, lowercased, a trailing dot dropped) to a domain table.
absl::Status AddDomain(absl::string_view domain, DomainTable* out);

// Parses a domain feed into `out`.
absl::Status LoadDomainFeed(const PolicySource& source, DomainTable* out);

// TLDs denied for egress unless a policy disables the default list (risky_tlds.cc).
const std::vector<absl::string_view>& DefaultRiskyTlds();

// FNV-1a, 64 bits: keys counters, never security.
uint64_t Fnv1a(absl::string_view bytes, uint64_t seed = 1469598103934665603ull);

}  // namespace kars::policy

#endif  // KARS_POLICY_COMPILER_INTERNAL_H_
