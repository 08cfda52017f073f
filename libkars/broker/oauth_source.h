// OAuth 2.0 sources: client credentials (RFC 6749 §4.4) and token exchange (RFC 8693), both
// against a token endpoint over HTTPS.
#ifndef KARS_BROKER_OAUTH_SOURCE_H_
#define KARS_BROKER_OAUTH_SOURCE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libkars/broker/https_client.h"
#include "libkars/broker/source.h"

namespace kars::broker {

struct OAuthOptions {
  std::string token_url;
  std::string ca_file;
  absl::Duration timeout = absl::Seconds(10);
  std::string client_id;
  SecretPtr client_secret;      // optional for token exchange
  bool basic_auth = true;       // client_secret_basic; false → client_secret_post
  std::string scope;
  std::string audience;
  std::string resource;
  // Token exchange only:
  std::string subject_token_file;  // the projected workload token, re-read on every exchange
  std::string subject_token_type = "urn:ietf:params:oauth:token-type:jwt";
  std::string requested_token_type;
};

absl::StatusOr<std::unique_ptr<Source>> NewClientCredentialsSource(OAuthOptions options);
absl::StatusOr<std::unique_ptr<Source>> NewTokenExchangeSource(OAuthOptions options);

// Parses a token endpoint's response (RFC 6749 §5.1 / §5.2). `now` anchors expires_in. Errors
// carry the OAuth error code when the body has one, never the body itself.
absl::StatusOr<Token> ParseTokenResponse(int http_status, std::string& body, absl::Time now);

// application/x-www-form-urlencoded encoding of one component.
std::string FormEncode(absl::string_view value);

}  // namespace kars::broker

#endif  // KARS_BROKER_OAUTH_SOURCE_H_
