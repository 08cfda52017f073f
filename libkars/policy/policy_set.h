// A compiled policy set: rules with their indexes, limits, egress lists, digest and warnings.
// Immutable once compiled; shared by every decision that started while it was in force.
#ifndef KARS_POLICY_POLICY_SET_H_
#define KARS_POLICY_POLICY_SET_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "libkars/policy/domain_table.h"
#include "libkars/policy/rule.h"
#include "libkars/policy/rule_index.h"
#include "libkars/policy/safety.h"

namespace kars::policy {

// A request field whose value keys a limit's counters.
struct KeyField {
  enum Field : uint8_t {
    kAgent, kSandbox, kNamespace, kLabel, kModel, kProvider, kTool, kServer, kHost, kPeer
  };
  Field field;
  std::string label;  // for kLabel
};

enum class Window : uint8_t { kMinute, kHour, kDay, kMonth, kRolling };
// Slots of a rolling window (see Budget in policy.proto).
inline constexpr uint32_t kRollingSlots = 60;

struct Limit {
  enum Type : uint8_t { kRate, kConcurrency, kBudget, kCaps };
  std::string id;
  uint64_t id_hash = 0;  // counters are keyed by limit id, so they survive reloads
  Type type = kRate;
  uint32_t kinds_mask = 0;  // bit per Kind
  PrincipalMatcher principal;
  std::vector<uint32_t> rules;  // sorted rule indices; empty = any rule
  std::vector<KeyField> key;
  // kRate
  double per_second = 0;
  uint64_t burst = 0;
  // kConcurrency
  uint64_t max_in_flight = 0;
  // kBudget
  bool cost = false;
  Window window = Window::kDay;
  uint64_t amount = 0;
  int64_t rolling_slot_ns = 0;  // kRolling: ceil(window / (kRollingSlots - 1))
  struct Price {
    uint64_t prompt_per_1k = 0, output_per_1k = 0;
  };
  absl::flat_hash_map<std::string, Price> prices;
  // kCaps
  uint64_t max_output_tokens = 0, max_prompt_tokens = 0;
};

struct PolicySet {
  std::vector<Rule> rules;
  NameIndex names[kKindCount];  // primary-name index per non-egress kind
  HostIndex egress_hosts;       // egress rules with hosts
  CidrIndex egress_cidrs;       // egress rules with CIDRs and no hosts
  RuleList egress_any;          // egress rules with neither
  std::vector<Limit> limits;
  DomainTable blocklist;   // each domain blocks itself and its subdomains
  DomainTable risky_tlds;  // the default list (unless a document disables it) plus the listed
  bool default_risky_tlds = true;
  SafetyPolicy safety;
  std::string digest_hex;  // SHA-256 over the canonical form
  std::vector<std::string> warnings;
  size_t document_count = 0;
};

// What a policy set is compiled from.
struct PolicySource {
  enum Type : uint8_t { kDocuments, kDomainFeed };
  Type type = kDocuments;
  std::string name;  // file name for errors
  std::string text;  // YAML/JSON documents, or a domain feed: one domain per line, `#` comments,
                     // hosts-file lines ("0.0.0.0 domain") accepted
};

// Compiles all sources into one set, or fails with the first error (FILE:LINE:COL: E_CODE: ...).
// Document names and rule and limit ids must be unique across the set; the order of sources,
// documents and rules never changes a decision or the digest.
absl::StatusOr<std::shared_ptr<const PolicySet>> CompilePolicySet(
    const std::vector<PolicySource>& sources);

}  // namespace kars::policy

#endif  // KARS_POLICY_POLICY_SET_H_
