#include "libkars/broker/request.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kars::broker {
namespace {

// Dot segments would let "/v1/../admin" match a grant for "/v1/"; servers resolve them, so the
// broker refuses them rather than guess how the upstream normalises.
absl::Status CheckDotSegments(absl::string_view path) {
  std::size_t seg_start = 0;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') {
      if (path[i] == '%' && i + 2 < path.size() && path[i + 1] == '2' &&
          (path[i + 2] == 'e' || path[i + 2] == 'E')) {
        return absl::InvalidArgumentError("url: encoded dots in the path are not accepted");
      }
      continue;
    }
    const absl::string_view seg = path.substr(seg_start, i - seg_start);
    if (seg == "." || seg == "..") {
      return absl::InvalidArgumentError("url: dot segments in the path are not accepted");
    }
    seg_start = i + 1;
  }
  return absl::OkStatus();
}

// What each byte is to the parser: one table load per byte instead of a chain of comparisons.
enum : unsigned char {
  kAuthorityEnd = 1,  // '/', '?', '#'
  kPathEnd = 2,       // '?', '#'
  kAt = 4,            // '@'
  kColon = 8,         // ':'
  kBadInHost = 16,    // control bytes, space, '/', '\\', '%'
  kUpper = 32,        // 'A'-'Z'
  kDotOrPercent = 64  // '.', '%'
};

constexpr auto kUrlByte = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c <= ' '; ++c) t[c] |= kBadInHost;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kUpper;
  t['/'] |= kAuthorityEnd | kBadInHost;
  t['?'] |= kAuthorityEnd | kPathEnd;
  t['#'] |= kAuthorityEnd | kPathEnd;
  t['@'] |= kAt;
  t[':'] |= kColon;
  t['\\'] |= kBadInHost;
  t['%'] |= kBadInHost | kDotOrPercent;
  t['.'] |= kDotOrPercent;
  return t;
}();

}  // namespace

absl::Status ParseUrlInto(absl::string_view url, DestinationView* d) {
  // A supported scheme is at most 5 bytes ("https"): look for its "://" only that far first.
  std::size_t sep = 0;
  while (sep < url.size() && sep < 6 && url[sep] != ':') ++sep;
  if (sep >= url.size() || url.substr(sep, 3) != "://") sep = url.find("://");  // (unsupported then)
  if (sep == absl::string_view::npos || sep == 0) {
    return absl::InvalidArgumentError("url: expected an absolute URL scheme://host/path");
  }
  const absl::string_view scheme = url.substr(0, sep);
  int default_port = 0;
  if (AsciiEqualsIgnoreCase(scheme, "https")) d->scheme = "https", default_port = 443;
  else if (AsciiEqualsIgnoreCase(scheme, "wss")) d->scheme = "wss", default_port = 443;
  else if (AsciiEqualsIgnoreCase(scheme, "http")) d->scheme = "http", default_port = 80;
  else if (AsciiEqualsIgnoreCase(scheme, "ws")) d->scheme = "ws", default_port = 80;
  else return absl::InvalidArgumentError(absl::StrCat("url: unsupported scheme '", absl::AsciiStrToLower(scheme), "'"));
  const absl::string_view rest = url.substr(sep + 3);
  // One pass over the authority (it ends at the first '/', '?' or '#'): what its bytes are, and
  // where its first ':' is, so the host's bytes are known without another look.
  std::size_t end = 0, colon = absl::string_view::npos;
  unsigned seen = 0, before_colon = 0;
  for (; end < rest.size(); ++end) {
    const unsigned cls = kUrlByte[static_cast<unsigned char>(rest[end])];
    if (cls & kAuthorityEnd) break;
    if ((cls & kColon) && colon == absl::string_view::npos) {
      colon = end;
      before_colon = seen;
    }
    seen |= cls;
  }
  const absl::string_view authority = rest.substr(0, end);
  if (seen & kAt) return absl::InvalidArgumentError("url: user info in the authority is not accepted");
  absl::string_view host = authority, port;
  unsigned host_bytes = colon == absl::string_view::npos ? seen : before_colon;
  if (!authority.empty() && authority[0] == '[') {
    const std::size_t close = authority.find(']');
    if (close == absl::string_view::npos) return absl::InvalidArgumentError("url: unclosed '['");
    host = authority.substr(1, close - 1);
    const absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return absl::InvalidArgumentError("url: junk after ']'");
      port = after.substr(1);
    }
    host_bytes = 0;
    for (char c : host) host_bytes |= kUrlByte[static_cast<unsigned char>(c)];
  } else if (colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return absl::InvalidArgumentError("url: empty host");
  if (host.size() > kMaxHostLength) return absl::InvalidArgumentError("url: host longer than 255 bytes");
  if (host_bytes & kBadInHost) return absl::InvalidArgumentError("url: invalid character in host");
  if (host_bytes & kUpper) {
    for (std::size_t i = 0; i < host.size(); ++i) {
      d->host_buffer[i] = absl::ascii_tolower(static_cast<unsigned char>(host[i]));
    }
    host = absl::string_view(d->host_buffer, host.size());
  }
  if (host.back() == '.') host.remove_suffix(1);  // "example.com." is example.com
  if (host.empty()) return absl::InvalidArgumentError("url: empty host");
  d->host = host;
  d->port = default_port;
  if (!port.empty() && (!absl::SimpleAtoi(port, &d->port) || d->port <= 0 || d->port > 65535)) {
    return absl::InvalidArgumentError("url: invalid port");
  }
  // One pass over the path: where it ends ('?' or '#'), and whether it has a '.' or '%' at all.
  const absl::string_view tail = rest.substr(end);
  std::size_t path_end = 0;
  unsigned path_bytes = 0;
  for (; path_end < tail.size(); ++path_end) {
    const unsigned cls = kUrlByte[static_cast<unsigned char>(tail[path_end])];
    if (cls & kPathEnd) break;
    path_bytes |= cls;
  }
  const bool dots = (path_bytes & kDotOrPercent) != 0;
  d->path = tail.substr(0, path_end);
  d->query = absl::string_view();
  if (path_end < tail.size() && tail[path_end] == '?') {
    d->query = tail.substr(path_end + 1);
    if (const std::size_t frag = d->query.find('#'); frag != absl::string_view::npos) d->query = d->query.substr(0, frag);
  }
  if (d->path.empty()) d->path = "/";
  return dots ? CheckDotSegments(d->path) : absl::OkStatus();
}

absl::StatusOr<Destination> ParseUrl(absl::string_view url) {
  DestinationView v;
  if (absl::Status s = ParseUrlInto(url, &v); !s.ok()) return s;
  Destination d{std::string(v.scheme), std::string(v.host), v.port, std::string(v.path)};
  if (!v.query.empty()) absl::StrAppend(&d.path, "?", v.query);
  return d;
}

}  // namespace kars::broker
