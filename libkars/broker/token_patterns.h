// The second layer of outbound leak prevention: shapes of well-known token formats, which catch
// secrets the broker does not hold (an agent that found a key somewhere and tries to send it).
// Thread-safety: immutable after construction; the process-wide instance is built on first use.
#ifndef KARS_BROKER_TOKEN_PATTERNS_H_
#define KARS_BROKER_TOKEN_PATTERNS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct hs_database;

namespace kars::broker {

class TokenPatterns {
 public:
  // The compiled built-in set, or the compile error (a bug: the set is fixed).
  static absl::StatusOr<const TokenPatterns*> Builtin();

  // The name of the first pattern found in `data` ("" when none), e.g. "pem_private_key".
  absl::StatusOr<std::string> FindFirst(absl::string_view data) const;

  std::vector<std::string> names() const;

 private:
  TokenPatterns() = default;
  hs_database* db_ = nullptr;
  std::uint64_t generation_ = 0;
};

}  // namespace kars::broker

#endif  // KARS_BROKER_TOKEN_PATTERNS_H_
