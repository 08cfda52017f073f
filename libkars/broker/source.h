// Sources produce a credential's value plus an optional expiry. Each kind lives in its own file;
// this header declares the interface and the factories.
// Thread-safety: Fetch and Stale are called by one thread at a time (Credential serialises them).
#ifndef KARS_BROKER_SOURCE_H_
#define KARS_BROKER_SOURCE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "libkars/broker/secret.h"

namespace kars::broker {

struct Token {
  SecretPtr value;
  absl::optional<absl::Time> expires_at;  // none: valid until the source says otherwise
};

class Source {
 public:
  virtual ~Source() = default;
  // "file", "env", "exec", "oauth_client_credentials", "oauth_token_exchange".
  virtual const char* kind() const = 0;
  // Produces the current value. Errors name the source's kind and cause, never a value.
  virtual absl::StatusOr<Token> Fetch() = 0;
  // True when the cached value must be re-read although it has not expired (a file changed).
  virtual bool Stale() { return false; }
  // Before this time Stale() is sure to return false, so a cached value needs no asking; a
  // source that overrides Stale overrides this too. Called under the same rule as Stale.
  virtual absl::Time NextStaleCheck() const { return absl::InfiniteFuture(); }
  // Whether the source is cheap and local enough to read when it is added.
  virtual bool FetchEagerly() const { return false; }
  // Other secrets the source holds to do its work (an OAuth client secret, the last workload
  // token it exchanged), named e.g. "client_secret": they are scanned for and redacted too.
  // Safe to call concurrently with Fetch.
  virtual std::vector<std::pair<std::string, SecretPtr>> AuxiliarySecrets() const { return {}; }
};

struct FileSourceOptions {
  std::string path;
  absl::Duration check_interval = absl::Seconds(1);  // how often Stale() looks at the file
};
std::unique_ptr<Source> NewFileSource(FileSourceOptions options);

// Reads the variable now, once; later changes to the environment are not seen.
std::unique_ptr<Source> NewEnvSource(const std::string& name);

struct ExecSourceOptions {
  std::vector<std::string> argv;  // argv[0] is an absolute path or found on PATH
  absl::Duration timeout = absl::Seconds(10);
};
std::unique_ptr<Source> NewExecSource(ExecSourceOptions options);

// Parses an exec plugin's output: {"value": "...", "expires_at": RFC 3339 string or Unix
// seconds}. Exposed for tests and the fuzz target.
absl::StatusOr<Token> ParsePluginOutput(std::string& output);

}  // namespace kars::broker

#endif  // KARS_BROKER_SOURCE_H_
