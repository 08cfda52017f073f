// A compiled rule and the request facts it is matched against. Immutable after compilation;
// Matches() never allocates unless an explanation is asked for.
#ifndef KARS_POLICY_RULE_H_
#define KARS_POLICY_RULE_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "kars/v1/policy.pb.h"
#include "libkars/policy/domain_table.h"
#include "libkars/policy/patterns.h"
#include "libkars/policy/source_error.h"
#include "re2/re2.h"

namespace kars::policy {

enum class Kind : uint8_t { kInference = 0, kTool, kMcp, kEgress, kMesh, kA2a };
inline constexpr int kKindCount = 6;
const char* KindName(Kind kind);
bool ParseKind(absl::string_view name, Kind* out);

// Values match the C ABI's kars_policy_effect.
enum class Effect : uint8_t { kDeny = 0, kAllow = 1, kApprove = 2, kAudit = 3 };
const char* EffectName(Effect effect);
bool ParseEffect(absl::string_view name, Effect* out);

// The kind of a request, or false when none of the kind fields is set. Inline: every decision
// starts with it.
inline bool RequestKind(const v1::Request& request, Kind* out) {
  switch (request.kind_case()) {
    case v1::Request::kInference: *out = Kind::kInference; return true;
    case v1::Request::kTool: *out = Kind::kTool; return true;
    case v1::Request::kMcp: *out = Kind::kMcp; return true;
    case v1::Request::kEgress: *out = Kind::kEgress; return true;
    case v1::Request::kMesh: *out = Kind::kMesh; return true;
    case v1::Request::kA2A: *out = Kind::kA2a; return true;
    default: return false;
  }
}

// Facts of an egress request derived once per decision: the normalised host with its label
// suffixes hashed (every domain table is probed with these), the destination addresses (the
// host itself when it is an IP literal, else the resolved addresses) and their classification.
struct EgressFacts {
  static constexpr size_t kMaxAddrs = 16;
  char host_buf[254];
  HostView host;              // over host_buf; count 0 for an IP literal
  bool host_is_ip = false;
  bool any_internal = false;  // some destination is loopback, private, link-local, metadata...
  IpAddr addrs[kMaxAddrs];
  size_t addr_count = 0;
};

struct PrincipalMatcher {
  NameMatcher agents, sandboxes, namespaces;
  std::vector<std::pair<std::string, std::string>> labels;
  // Inline, and reading a field only when its matcher has patterns: most rules select no
  // principal, and every matched rule and limit asks.
  bool Matches(const v1::Principal& p) const {
    return (agents.empty() || agents.Matches(p.agent())) &&
           (sandboxes.empty() || sandboxes.Matches(p.sandbox())) &&
           (namespaces.empty() || namespaces.Matches(p.namespace_())) &&
           (labels.empty() || MatchesLabels(p));
  }
  bool MatchesLabels(const v1::Principal& p) const;
};

class ArgMatcher {
 public:
  // Compiles one condition; the error names what is wrong (without position). *bad_regex tells
  // a regex RE2 rejects apart from a malformed condition.
  absl::Status Compile(const v1::ArgCondition& condition, bool* bad_regex);
  bool Matches(const google::protobuf::Value& root) const;
  const std::string& pointer() const { return pointer_; }
  // The test, for static checks: equals/oneOf values, a regex, or a numeric range.
  const std::vector<google::protobuf::Value>& values() const { return values_; }
  bool has_regex() const { return regex_ != nullptr; }
  bool has_range() const { return has_min_ || has_max_; }
  double range_min() const { return has_min_ ? min_ : -std::numeric_limits<double>::infinity(); }
  double range_max() const { return has_max_ ? max_ : std::numeric_limits<double>::infinity(); }

 private:
  std::string pointer_;
  std::vector<std::string> tokens_;  // decoded JSON pointer reference tokens
  std::vector<google::protobuf::Value> values_;  // equals (one) or one_of
  std::unique_ptr<RE2> regex_;
  bool has_min_ = false, has_max_ = false;
  double min_ = 0, max_ = 0;
};

struct Rule {
  std::string id;
  std::string document;
  std::string source;  // file the rule was read from
  SourcePos pos;       // where in it
  std::string Location() const;  // "FILE:LINE:COL" (or "FILE" when the position is unknown)
  Effect effect = Effect::kDeny;
  Kind kind = Kind::kTool;
  PrincipalMatcher principal;
  // The kind's name fields, in the order of its match message: inference (providers, models,
  // operations), tool (names), mcp (servers, tools), mesh (directions, peers, groups),
  // a2a (peers, methods), egress (schemes, methods, paths).
  NameMatcher names[3];
  std::vector<ArgMatcher> args;
  HostMatcher hosts;
  CidrMatcher cidrs;
  PortMatcher ports;

  // The field the index keys this rule on (models, tool names, servers, peers).
  const NameMatcher& primary() const;
  // host_matched: the caller found this egress rule through a HostIndex lookup of
  // egress->host, which has matched its host patterns already.
  bool Matches(const v1::Request& request, const EgressFacts* egress, std::string* why,
               bool host_matched = false) const;
};

// Index of the primary name field in Rule::names for each non-egress kind.
int PrimaryField(Kind kind);
// The request's value of the primary field.
absl::string_view PrimaryValue(const v1::Request& request, Kind kind);

}  // namespace kars::policy

#endif  // KARS_POLICY_RULE_H_
