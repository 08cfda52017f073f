// A minimal HTTPS POST client for token endpoints (Boost.Beast over OpenSSL): verifies the
// server's chain against a CA file (or the system store) and its host name, one request per
// connection, one deadline for the whole exchange.
// Thread-safety: each call is independent; call from any thread.
#ifndef KARS_BROKER_HTTPS_CLIENT_H_
#define KARS_BROKER_HTTPS_CLIENT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kars::broker {

struct HttpsUrl {
  std::string host;
  std::string port;  // "443" when the URL names none
  std::string target;  // path and query, "/" at least
};

// Accepts only https:// URLs with a host. Errors name what is wrong with the URL.
absl::StatusOr<HttpsUrl> ParseHttpsUrl(absl::string_view url);

struct HttpsRequest {
  HttpsUrl url;
  std::string ca_file;  // "" → the system's default trust store
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent as application/x-www-form-urlencoded
  absl::Duration timeout = absl::Seconds(10);
};

struct HttpsResponse {
  int status = 0;
  std::string body;
};

// Errors: KARS_E_UNAVAILABLE for connect/TLS/timeout failures; messages name host and cause.
absl::StatusOr<HttpsResponse> HttpsPost(const HttpsRequest& request);

}  // namespace kars::broker

#endif  // KARS_BROKER_HTTPS_CLIENT_H_
