// Compiled match patterns: names (`exact` or `prefix*`), host names (`example.com`,
// `*.example.com`), IP addresses and CIDRs, port ranges. Validation happens when a pattern is
// added; matching never allocates. Immutable after compilation.
#ifndef KARS_POLICY_PATTERNS_H_
#define KARS_POLICY_PATTERNS_H_

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kars::policy {

// Exact names and `prefix*` patterns. Empty: matches anything.
class NameMatcher {
 public:
  // `name` or `prefix*`; a lone `*` matches any value. Errors name the problem.
  absl::Status Add(absl::string_view pattern);
  // A plain prefix (used for HTTP path prefixes): no `*` syntax.
  absl::Status AddPrefix(absl::string_view prefix);
  // Inline for the common empty matcher: a decision checks up to nine of them per rule.
  bool Matches(absl::string_view value) const { return empty_ || MatchesPatterns(value); }
  bool empty() const { return empty_; }
  const std::vector<std::string>& exact() const { return exact_; }
  const std::vector<std::string>& prefixes() const { return prefixes_; }

 private:
  bool MatchesPatterns(absl::string_view value) const;
  std::vector<std::string> exact_;
  std::vector<std::string> prefixes_;
  bool empty_ = true;  // no pattern added
};

// Host names are lowercase DNS names. `*.example.com` matches subdomains only.
class HostMatcher {
 public:
  absl::Status Add(absl::string_view pattern);
  bool Matches(absl::string_view host) const;  // host already normalised
  bool empty() const { return exact_.empty() && suffixes_.empty(); }
  const std::vector<std::string>& exact() const { return exact_; }
  // The domains whose subdomains match ("example.com" for "*.example.com").
  const std::vector<std::string>& suffix_domains() const { return suffixes_; }

 private:
  std::vector<std::string> exact_;
  std::vector<std::string> suffixes_;
};

// Validates a DNS name (lowercase letters, digits, '-', '.'; labels 1..63; total <= 253).
absl::Status ValidateDomain(absl::string_view name);

// No default member initializers on purpose: decisions keep 16 of these on the stack and must
// not pay for zeroing them; ParseIp and `IpAddr{}` zero every byte.
struct IpAddr {
  uint8_t family;  // 4 or 6; 0 = none
  std::array<uint8_t, 16> bytes;
  bool operator==(const IpAddr&) const = default;
};

// Parses a textual IPv4 or IPv6 address without allocating. IPv4-mapped IPv6 becomes IPv4.
bool ParseIp(absl::string_view text, IpAddr* out);

// Loopback, private (RFC 1918, ULA), link-local (incl. cloud metadata 169.254.169.254,
// fd00:ec2::254), carrier-grade NAT, unspecified, multicast and broadcast addresses.
bool IsInternalAddress(const IpAddr& addr);

struct Cidr {
  IpAddr base;  // host bits cleared
  int length = 0;
  bool Contains(const IpAddr& addr) const;
};

// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128).
absl::Status ParseCidr(absl::string_view text, Cidr* out);

// Clears the bits of `addr` past `length`.
IpAddr MaskAddress(const IpAddr& addr, int length);

class CidrMatcher {
 public:
  absl::Status Add(absl::string_view cidr);
  // True when `addrs` is non-empty and every address lies in one of the CIDRs.
  bool ContainsAll(const IpAddr* addrs, size_t count) const;
  bool empty() const { return cidrs_.empty(); }
  const std::vector<Cidr>& cidrs() const { return cidrs_; }

 private:
  std::vector<Cidr> cidrs_;
};

// "443" or "8000-8100". Empty: any port.
class PortMatcher {
 public:
  absl::Status Add(absl::string_view spec);
  bool Matches(uint32_t port) const { return ranges_.empty() || InRange(port); }
  bool empty() const { return ranges_.empty(); }
  const std::vector<std::pair<uint32_t, uint32_t>>& ranges() const { return ranges_; }

 private:
  bool InRange(uint32_t port) const;
  std::vector<std::pair<uint32_t, uint32_t>> ranges_;
};

}  // namespace kars::policy

#endif  // KARS_POLICY_PATTERNS_H_
