// The outgoing request as the broker sees it, parsed from an absolute URL in one place.
// Thread-safety: plain values.
#ifndef KARS_BROKER_REQUEST_H_
#define KARS_BROKER_REQUEST_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kars::broker {

using Header = std::pair<std::string, std::string>;

struct Destination {
  std::string scheme;  // lower case: "https", "http", "wss", "ws"
  std::string host;    // lower case, no brackets
  int port = 0;        // the scheme's default when the URL names none
  std::string path;    // path and query, "/" at least
};

// Parses "scheme://host[:port][/path][?query]". Errors name the part that is wrong.
absl::StatusOr<Destination> ParseUrl(absl::string_view url);

// Case-insensitive HTTP header name comparison.
bool HeaderNameEquals(absl::string_view a, absl::string_view b);

}  // namespace kars::broker

#endif  // KARS_BROKER_REQUEST_H_
