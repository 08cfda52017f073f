#include "libkars/broker/request.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kars::broker {

bool HeaderNameEquals(absl::string_view a, absl::string_view b) { return absl::EqualsIgnoreCase(a, b); }

absl::StatusOr<Destination> ParseUrl(absl::string_view url) {
  const std::size_t sep = url.find("://");
  if (sep == absl::string_view::npos || sep == 0) {
    return absl::InvalidArgumentError("url: expected an absolute URL scheme://host/path");
  }
  Destination d;
  d.scheme = absl::AsciiStrToLower(url.substr(0, sep));
  int default_port = 0;
  if (d.scheme == "https" || d.scheme == "wss") default_port = 443;
  else if (d.scheme == "http" || d.scheme == "ws") default_port = 80;
  else return absl::InvalidArgumentError(absl::StrCat("url: unsupported scheme '", d.scheme, "'"));
  absl::string_view rest = url.substr(sep + 3);
  std::size_t end = 0;  // the authority ends at the first '/', '?' or '#'
  while (end < rest.size() && rest[end] != '/' && rest[end] != '?' && rest[end] != '#') ++end;
  if (end == rest.size()) end = absl::string_view::npos;
  absl::string_view authority = rest.substr(0, end);
  if (authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError("url: user info in the authority is not accepted");
  }
  absl::string_view host = authority, port;
  if (absl::StartsWith(authority, "[")) {
    const std::size_t close = authority.find(']');
    if (close == absl::string_view::npos) return absl::InvalidArgumentError("url: unclosed '['");
    host = authority.substr(1, close - 1);
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return absl::InvalidArgumentError("url: junk after ']'");
      port = after.substr(1);
    }
  } else if (const std::size_t colon = authority.find(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return absl::InvalidArgumentError("url: empty host");
  for (char c : host) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '\\' || c == '%') {
      return absl::InvalidArgumentError("url: invalid character in host");
    }
  }
  d.host = absl::AsciiStrToLower(host);
  if (!d.host.empty() && d.host.back() == '.') d.host.pop_back();  // "example.com." is example.com
  d.port = default_port;
  if (!port.empty() && (!absl::SimpleAtoi(port, &d.port) || d.port <= 0 || d.port > 65535)) {
    return absl::InvalidArgumentError("url: invalid port");
  }
  d.path = end == absl::string_view::npos ? "/" : std::string(rest.substr(end));
  if (d.path[0] != '/') d.path = absl::StrCat("/", d.path);
  const std::size_t frag = d.path.find('#');
  if (frag != std::string::npos) d.path.resize(frag);
  // Dot segments would let "/v1/../admin" match a grant for "/v1/"; servers resolve them, so
  // the broker refuses them rather than guess how the upstream normalises.
  const absl::string_view path_only = absl::string_view(d.path).substr(0, d.path.find('?'));
  std::size_t seg_start = 0;
  for (std::size_t i = 0; i <= path_only.size(); ++i) {
    if (i < path_only.size() && path_only[i] != '/') {
      if (path_only[i] == '%' && i + 2 < path_only.size() && path_only[i + 1] == '2' &&
          (path_only[i + 2] == 'e' || path_only[i + 2] == 'E')) {
        return absl::InvalidArgumentError("url: encoded dots in the path are not accepted");
      }
      continue;
    }
    const absl::string_view seg = path_only.substr(seg_start, i - seg_start);
    if (seg == "." || seg == "..") {
      return absl::InvalidArgumentError("url: dot segments in the path are not accepted");
    }
    seg_start = i + 1;
  }
  return d;
}

}  // namespace kars::broker
