// The broker's configuration as operators write it (YAML, or JSON, which YAML reads too). This
// is the one parser of config bytes; it builds sources and grants but starts nothing.
//
//   settings: {token_patterns: true, max_leases: 1000000}
//   sources:
//     - id: model-key
//       type: file          # file | directory | env | exec | oauth_client_credentials
//       path: /var/run/secrets/model/key   # | oauth_token_exchange
//     - {id: gh, type: env, name: GH_TOKEN}
//     - {id: projected, type: directory, path: /var/run/secrets/app}  # → "projected/<key>" each
//     - {id: plugin, type: exec, command: [/usr/bin/token-plugin, --audience, x], timeout_ms: 5000}
//     - id: svc
//       type: oauth_client_credentials
//       token_url: https://auth.internal/token
//       client_id: kars
//       client_secret: {file: /var/run/secrets/svc/secret}   # or {env: NAME}
//       scope: "read write"
//       ca_file: /etc/kars/ca.pem
//       timeout_ms: 5000
//       refresh_ahead_s: 60
//   grants:
//     - id: model
//       principals: ["agent-*"]
//       destination: {scheme: https, host: api.model.example, port: 443, path_prefix: /v1/,
//                     methods: [POST]}
//       credential: model-key
//       inject: {header: Authorization, format: "Bearer {value}"}
//       # or inject: {basic: {username: cred-a, password: cred-b}}
//       # or inject: {query: key, format: "{value}"} with allow_query: true
//       pass_through: [Cookie]
//       lease_ttl_s: 300
//
// Thread-safety: pure functions.
#ifndef KARS_BROKER_CONFIG_H_
#define KARS_BROKER_CONFIG_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libkars/broker/credential.h"
#include "libkars/broker/grant.h"
#include "libkars/broker/source.h"

namespace kars::broker {

struct SourceSpec {
  std::string id;
  std::unique_ptr<Source> source;  // null for a directory
  CredentialOptions options;
  // type: directory: the broker keeps one file source "<id>/<key>" per key file in this
  // directory, following keys added and removed later.
  std::string directory;
  absl::Duration check_interval = absl::Seconds(1);  // directory listing and key re-reads
};

struct BrokerSettings {
  bool token_patterns = true;
  std::size_t max_leases = 1000000;
};

struct BrokerConfig {
  BrokerSettings settings;
  std::vector<SourceSpec> sources;
  std::vector<Grant> grants;
};

// Errors are KARS_E_INVALID_ARGUMENT and name the entry and field ("sources[2] (id 'x'): ...").
absl::StatusOr<BrokerConfig> ParseConfig(absl::string_view text);
// One source definition (a directory is one spec, which the broker expands per key).
absl::StatusOr<SourceSpec> ParseSource(absl::string_view text);
// The same as a list of one, kept for callers of the time when directories expanded here.
absl::StatusOr<std::vector<SourceSpec>> ParseSources(absl::string_view text);

// The key files of a directory as Kubernetes projects a Secret: regular files (symlinks
// followed), hidden entries ("..data" and its timestamped directories) skipped; sorted.
absl::StatusOr<std::vector<std::string>> ListDirectoryKeys(const std::string& dir);
absl::StatusOr<Grant> ParseGrant(absl::string_view text);

}  // namespace kars::broker

#endif  // KARS_BROKER_CONFIG_H_
