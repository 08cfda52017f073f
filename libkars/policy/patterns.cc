#include "libkars/policy/patterns.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kars::policy {

absl::Status NameMatcher::Add(absl::string_view pattern) {
  if (pattern.empty()) return absl::InvalidArgumentError("empty name pattern");
  size_t star = pattern.find('*');
  if (star == absl::string_view::npos) {
    exact_.emplace_back(pattern.data(), pattern.size());
    empty_ = false;
    return absl::OkStatus();
  }
  if (star != pattern.size() - 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "name pattern '", pattern, "': '*' is only allowed at the end (prefix match)"));
  }
  prefixes_.emplace_back(pattern.data(), pattern.size() - 1);
  empty_ = false;
  return absl::OkStatus();
}

absl::Status NameMatcher::AddPrefix(absl::string_view prefix) {
  if (prefix.empty()) return absl::InvalidArgumentError("empty prefix");
  prefixes_.emplace_back(prefix.data(), prefix.size());
  empty_ = false;
  return absl::OkStatus();
}

bool NameMatcher::MatchesPatterns(absl::string_view value) const {
  for (const auto& e : exact_) {
    if (e == value) return true;
  }
  for (const auto& p : prefixes_) {
    if (absl::StartsWith(value, p)) return true;
  }
  return false;
}

absl::Status ValidateDomain(absl::string_view name) {
  if (name.empty() || name.size() > 253) {
    return absl::InvalidArgumentError(absl::StrCat("'", name, "' is not a valid domain name length"));
  }
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty() || label.size() > 63) {
      return absl::InvalidArgumentError(
          absl::StrCat("domain '", name, "' has an empty or over-long label"));
    }
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      if (!ok) {
        return absl::InvalidArgumentError(absl::StrCat(
            "domain '", name, "' contains '", absl::string_view(&c, 1),
            "' (use lowercase letters, digits, '-', and '*.' only as a leading wildcard)"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status HostMatcher::Add(absl::string_view pattern) {
  bool wildcard = absl::StartsWith(pattern, "*.");
  absl::string_view domain = wildcard ? pattern.substr(2) : pattern;
  absl::Status status = ValidateDomain(domain);
  if (!status.ok()) return status;
  (wildcard ? suffixes_ : exact_).emplace_back(domain.data(), domain.size());
  return absl::OkStatus();
}

bool HostMatcher::Matches(absl::string_view host) const {
  for (const auto& e : exact_) {
    if (e == host) return true;
  }
  for (const auto& s : suffixes_) {
    if (host.size() > s.size() && absl::EndsWith(host, s) &&
        host[host.size() - s.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

namespace {

// Strict dotted-quad IPv4 (no leading zeros, no shorthand), the common case on the decision
// path; inet_pton is several times slower. Unrolled by octet (one to three digits), as every
// egress decision parses its resolved addresses.
bool ParseIpv4(absl::string_view text, IpAddr* out) {
  const char* p = text.data();
  const char* const end = p + text.size();
  for (int part = 0; part < 4; ++part) {
    if (part != 0) {
      if (p == end || *p != '.') return false;
      ++p;
    }
    if (p == end) return false;
    unsigned value = static_cast<unsigned>(static_cast<unsigned char>(*p)) - '0';
    if (value > 9) return false;
    ++p;
    for (int more = 0; more < 2 && p != end; ++more) {
      const unsigned digit = static_cast<unsigned>(static_cast<unsigned char>(*p)) - '0';
      if (digit > 9) break;
      if (value == 0) return false;  // a leading zero
      value = value * 10 + digit;
      ++p;
    }
    if (value > 255) return false;
    out->bytes[part] = static_cast<uint8_t>(value);
  }
  if (p != end) return false;
  out->family = 4;
  return true;
}

}  // namespace

bool ParseIp(absl::string_view text, IpAddr* out) {
  *out = IpAddr{};
  // IPv4 first: it stops at the first character that is not a digit or a dot, so an IPv6
  // address costs one failed byte before the slower path, and an IPv4 one no scan for ':'.
  if (ParseIpv4(text, out)) return true;
  if (text.find(':') == absl::string_view::npos) return false;
  char buf[64];
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  *out = IpAddr{};
  if (inet_pton(AF_INET, buf, out->bytes.data()) == 1) {
    out->family = 4;
    return true;
  }
  if (inet_pton(AF_INET6, buf, out->bytes.data()) == 1) {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(out->bytes.data(), kMapped, 12) == 0) {
      std::memmove(out->bytes.data(), out->bytes.data() + 12, 4);
      std::memset(out->bytes.data() + 4, 0, 12);
      out->family = 4;
    } else {
      out->family = 6;
    }
    return true;
  }
  return false;
}

IpAddr MaskAddress(const IpAddr& addr, int length) {
  IpAddr out = addr;
  int total = addr.family == 4 ? 32 : 128;
  for (int bit = length; bit < total; ++bit) {
    out.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  return out;
}

bool Cidr::Contains(const IpAddr& addr) const {
  return addr.family == base.family && MaskAddress(addr, length) == base;
}

absl::Status ParseCidr(absl::string_view text, Cidr* out) {
  size_t slash = text.find('/');
  absl::string_view addr_text = text.substr(0, slash);
  IpAddr addr;
  if (!ParseIp(addr_text, &addr)) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not an IP address or CIDR"));
  }
  int max = addr.family == 4 ? 32 : 128;
  int length = max;
  if (slash != absl::string_view::npos) {
    if (!absl::SimpleAtoi(text.substr(slash + 1), &length) || length < 0 || length > max) {
      return absl::InvalidArgumentError(
          absl::StrCat("CIDR '", text, "' has a prefix length outside 0..", max));
    }
  }
  out->base = MaskAddress(addr, length);
  out->length = length;
  if (!(out->base == addr)) {
    return absl::InvalidArgumentError(
        absl::StrCat("CIDR '", text, "' has host bits set past /", length));
  }
  return absl::OkStatus();
}

bool IsInternalAddress(const IpAddr& a) {
  const auto& b = a.bytes;
  if (a.family == 4) {
    return b[0] == 0 || b[0] == 10 || b[0] == 127 ||                 // this-net, private, loopback
           (b[0] == 100 && (b[1] & 0xc0) == 64) ||                   // carrier-grade NAT
           (b[0] == 169 && b[1] == 254) ||                           // link-local, metadata
           (b[0] == 172 && (b[1] & 0xf0) == 16) ||                   // private
           (b[0] == 192 && b[1] == 168) ||                           // private
           (b[0] == 192 && b[1] == 0 && b[2] == 0) ||                // IETF protocol assignments
           (b[0] == 198 && (b[1] & 0xfe) == 18) ||                   // benchmarking
           b[0] >= 224;                                              // multicast, reserved
  }
  static constexpr uint8_t kZero[15] = {};
  bool unspecified_or_loopback = std::memcmp(b.data(), kZero, 15) == 0 && b[15] <= 1;
  return unspecified_or_loopback || (b[0] & 0xfe) == 0xfc ||         // unique local (incl. fd00:ec2::254)
         (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||                  // link-local
         b[0] == 0xff;                                               // multicast
}

absl::Status CidrMatcher::Add(absl::string_view cidr) {
  Cidr parsed;
  absl::Status status = ParseCidr(cidr, &parsed);
  if (!status.ok()) return status;
  cidrs_.push_back(parsed);
  return absl::OkStatus();
}

bool CidrMatcher::ContainsAll(const IpAddr* addrs, size_t count) const {
  if (count == 0) return false;
  for (size_t i = 0; i < count; ++i) {
    bool inside = false;
    for (const auto& c : cidrs_) {
      if (c.Contains(addrs[i])) {
        inside = true;
        break;
      }
    }
    if (!inside) return false;
  }
  return true;
}

absl::Status PortMatcher::Add(absl::string_view spec) {
  std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(spec, absl::MaxSplits('-', 1));
  uint32_t lo = 0, hi = 0;
  if (!absl::SimpleAtoi(parts.first, &lo) ||
      !absl::SimpleAtoi(parts.second.empty() && spec.find('-') == absl::string_view::npos
                            ? parts.first
                            : parts.second,
                        &hi) ||
      lo < 1 || hi > 65535 || lo > hi) {
    return absl::InvalidArgumentError(absl::StrCat(
        "port '", spec, "' must be a port 1..65535 or a range LOW-HIGH with LOW <= HIGH"));
  }
  ranges_.emplace_back(lo, hi);
  return absl::OkStatus();
}

bool PortMatcher::InRange(uint32_t port) const {
  for (const auto& [lo, hi] : ranges_) {
    if (port >= lo && port <= hi) return true;
  }
  return false;
}

}  // namespace kars::policy
