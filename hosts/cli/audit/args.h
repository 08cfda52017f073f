// Argument parsing for `kars audit` commands: positionals plus --flag VALUE / --switch.
#ifndef KARS_HOSTS_CLI_AUDIT_ARGS_H_
#define KARS_HOSTS_CLI_AUDIT_ARGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kars/audit.h"
#include "kars/common.h"

namespace kars::cli::audit {

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  std::set<std::string> switches;

  std::optional<std::string> Value(const std::string& flag) const;
  bool Has(const std::string& flag) const { return switches.count(flag) != 0; }
};

// Parses argv[first..]. `valued` lists flags that take a value, `bare` flags that do not.
// Prints the problem and returns nullopt on an unknown flag or a missing value.
std::optional<Args> ParseArgs(int argc, char** argv, int first, const std::set<std::string>& valued,
                              const std::set<std::string>& bare);

// A non-negative decimal; prints "kars: <what>: not a number" and returns nullopt otherwise.
std::optional<uint64_t> ParseIndex(const std::string& text, const char* what);

// Parses --format: "text", "rfc6962" or (when allowed) "tlog-proof". Prints the problem and
// returns nullopt otherwise.
std::optional<kars_audit_proof_format> ParseProofFormat(const std::optional<std::string>& flag,
                                                        bool allow_tlog);
// The encoding of proof bytes read from a file, told by their first line.
kars_audit_proof_format DetectProofFormat(const std::string& proof);

// True when a call failed because a key passed to it is malformed or of the wrong type (the
// library's key errors name the key before the first ':'): a usage error, not evidence.
bool IsKeyError(kars_status status, const kars_error* err);

// The exit code for a failed library call: 1 when the data is tampered or invalid, 2 otherwise.
int ExitFor(kars_status status, bool invalid_input_is_tampering);

}  // namespace kars::cli::audit

#endif  // KARS_HOSTS_CLI_AUDIT_ARGS_H_
