// The outgoing request as the broker sees it, parsed from an absolute URL in one place.
// Thread-safety: plain values.
#ifndef KARS_BROKER_REQUEST_H_
#define KARS_BROKER_REQUEST_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kars::broker {

using Header = std::pair<std::string, std::string>;
// A header the caller owns; the injection hot path reads headers through views only.
using HeaderView = std::pair<absl::string_view, absl::string_view>;

// DNS names are at most 253 bytes; longer hosts are refused rather than stored on the heap.
inline constexpr std::size_t kMaxHostLength = 255;

// A parsed URL that allocates nothing: views into the URL, except a host spelled with capitals,
// which is lower-cased into the view's own buffer (so a view is neither copied nor moved).
struct DestinationView {
  DestinationView() = default;
  DestinationView(const DestinationView&) = delete;
  DestinationView& operator=(const DestinationView&) = delete;

  absl::string_view scheme;  // lower case: "https", "http", "wss", "ws" (static storage)
  absl::string_view host;    // lower case, no brackets, no trailing dot
  int port = 0;              // the scheme's default when the URL names none
  absl::string_view path;    // the path only (no query, no fragment), "/" at least
  absl::string_view query;   // after '?', without it; empty when none

  char host_buffer[kMaxHostLength];
};

// Parses "scheme://host[:port][/path][?query][#fragment]" into `out`. Errors name the part that
// is wrong (never echoing the URL, which may carry a secret).
absl::Status ParseUrlInto(absl::string_view url, DestinationView* out);

// The same, as owned strings (path here includes "?query", as before).
struct Destination {
  std::string scheme;
  std::string host;
  int port = 0;
  std::string path;
};
absl::StatusOr<Destination> ParseUrl(absl::string_view url);

// ASCII case-insensitive equality, inline: the injection path compares every agent header with
// a handful of names, and an out-of-line call per comparison was a tenth of its time.
inline bool AsciiEqualsIgnoreCase(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    if ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z') return false;
  }
  return true;
}

// Case-insensitive HTTP header name comparison.
inline bool HeaderNameEquals(absl::string_view a, absl::string_view b) { return AsciiEqualsIgnoreCase(a, b); }

}  // namespace kars::broker

#endif  // KARS_BROKER_REQUEST_H_
