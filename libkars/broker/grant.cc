#include "libkars/broker/grant.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace kars::broker {
namespace {

int DefaultPort(absl::string_view scheme) {
  return (scheme == "http" || scheme == "ws") ? 80 : 443;
}

bool ValidHeaderName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  }
  return true;
}

}  // namespace

absl::InlinedVector<absl::string_view, 2> Grant::Credentials() const {
  if (kind == InjectionKind::kBasic) return {username_credential, password_credential};
  return {credential};
}

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  std::size_t p = 0, t = 0, star = absl::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

absl::Status ValidateGrant(const Grant& g) {
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("grant '", g.id, "': ", what));
  };
  if (g.id.empty()) return absl::InvalidArgumentError("grant: missing id");
  if (g.principals.empty()) return bad("needs at least one principal");
  for (const auto& p : g.principals) {
    if (p.empty()) return bad("empty principal selector");
  }
  if (!g.scheme.empty() && g.scheme != "https" && g.scheme != "http" && g.scheme != "wss" &&
      g.scheme != "ws") {
    return bad(absl::StrCat("unsupported scheme '", g.scheme, "'"));
  }
  if (g.host.empty()) return bad("missing destination host");
  if (g.host.find('*') != std::string::npos &&
      !(absl::StartsWith(g.host, "*.") && g.host.find('*', 1) == std::string::npos)) {
    return bad("host wildcards are only allowed as a leading '*.'");
  }
  if (g.port < 0 || g.port > 65535) return bad("port out of range");
  if (g.path_prefix.empty() || g.path_prefix[0] != '/') return bad("path_prefix must start with '/'");
  for (const auto& m : g.methods) {
    if (m.empty() || m != absl::AsciiStrToUpper(m)) return bad("methods must be upper case tokens");
  }
  if (g.lease_ttl <= absl::ZeroDuration()) return bad("lease_ttl must be positive");
  for (const auto& h : g.pass_through) {
    if (!ValidHeaderName(h)) return bad(absl::StrCat("invalid pass_through header '", h, "'"));
  }
  switch (g.kind) {
    case InjectionKind::kHeader:
      if (!ValidHeaderName(g.header)) return bad("invalid header name");
      [[fallthrough]];
    case InjectionKind::kQuery: {
      if (g.credential.empty()) return bad("missing credential");
      const std::size_t at = g.format.find("{value}");
      if (at == std::string::npos || g.format.find("{value}", at + 1) != std::string::npos) {
        return bad("format must contain {value} exactly once");
      }
      for (char c : g.format) {
        if (c == '\r' || c == '\n' || c == '\0') return bad("format must not contain CR, LF or NUL");
      }
      if (g.kind == InjectionKind::kQuery) {
        if (!g.allow_query) return bad("query injection needs allow_query: true");
        if (g.query_param.empty()) return bad("missing query parameter name");
      }
      break;
    }
    case InjectionKind::kBasic:
      if (g.username_credential.empty() || g.password_credential.empty()) {
        return bad("basic injection needs username and password credentials");
      }
      break;
  }
  return absl::OkStatus();
}

GrantTable::GrantTable(std::vector<Grant> grants) {
  std::sort(grants.begin(), grants.end(), [](const Grant& a, const Grant& b) {
    const bool aw = absl::StartsWith(a.host, "*."), bw = absl::StartsWith(b.host, "*.");
    if (aw != bw) return !aw;
    if (a.path_prefix.size() != b.path_prefix.size()) return a.path_prefix.size() > b.path_prefix.size();
    return a.id < b.id;
  });
  for (Grant& g : grants) grants_.push_back(std::make_shared<const Grant>(std::move(g)));
  for (std::size_t i = 0; i < grants_.size(); ++i) {
    const std::string host = absl::AsciiStrToLower(grants_[i]->host);
    if (absl::StartsWith(host, "*.")) {
      by_suffix_[host.substr(2)].push_back(i);
    } else {
      by_host_[host].push_back(i);
    }
  }
}

std::vector<Grant> GrantTable::grants() const {
  std::vector<Grant> out;
  for (const auto& g : grants_) out.push_back(*g);
  return out;
}

std::size_t GrantTable::Match(absl::string_view principal, absl::string_view method,
                              const DestinationView& dest) const {
  auto matches = [&](const Grant& g) {
    const absl::string_view scheme =
        g.scheme.empty() ? absl::string_view("https") : absl::string_view(g.scheme);
    if (scheme != dest.scheme) return false;
    const int port = g.port == 0 ? DefaultPort(dest.scheme) : g.port;
    if (port != dest.port) return false;
    if (!absl::StartsWith(dest.path, g.path_prefix)) return false;
    if (!g.methods.empty() &&
        std::find(g.methods.begin(), g.methods.end(), method) == g.methods.end()) {
      return false;
    }
    for (const auto& p : g.principals) {
      if (GlobMatch(p, principal)) return true;
    }
    return false;
  };
  if (auto it = by_host_.find(dest.host); it != by_host_.end()) {
    for (std::size_t i : it->second) {
      if (matches(*grants_[i])) return i;
    }
  }
  if (by_suffix_.empty()) return kNoMatch;
  // "*.example.com" covers a.example.com and a.b.example.com, never example.com itself. Grants
  // are sorted by specificity, so the best is the lowest position over every suffix that hits.
  std::size_t best = kNoMatch;
  for (std::size_t dot = dest.host.find('.'); dot != absl::string_view::npos;
       dot = dest.host.find('.', dot + 1)) {
    if (dot == 0) continue;  // an empty first label is not a subdomain
    auto it = by_suffix_.find(dest.host.substr(dot + 1));
    if (it == by_suffix_.end()) continue;
    for (std::size_t i : it->second) {
      if (i < best && matches(*grants_[i])) {
        best = i;
        break;
      }
    }
  }
  return best;
}

}  // namespace kars::broker
