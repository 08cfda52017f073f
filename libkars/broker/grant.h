// Grants: which principal may use which credential toward which destination, and how the
// credential is put into the request. No grant, no credential.
// Thread-safety: Grant is a plain value; GrantTable is immutable once built (the broker swaps
// whole tables).
#ifndef KARS_BROKER_GRANT_H_
#define KARS_BROKER_GRANT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libkars/broker/request.h"

namespace kars::broker {

enum class InjectionKind { kHeader, kBasic, kQuery };

struct Grant {
  std::string id;
  std::vector<std::string> principals;  // globs with '*'; at least one
  std::string scheme;                   // "" = https only (the safe default)
  std::string host;                     // exact, or "*.example.com" for subdomains
  int port = 0;                         // 0 = the scheme's default port
  std::string path_prefix = "/";
  std::vector<std::string> methods;     // upper case; empty = any

  InjectionKind kind = InjectionKind::kHeader;
  std::string credential;               // header/query: the credential id
  std::string header = "Authorization"; // header: its name
  std::string format = "Bearer {value}";  // header/query: exactly one {value}
  std::string username_credential;      // basic: two credentials
  std::string password_credential;
  std::string query_param;              // query: its name
  bool allow_query = false;             // query injection must be explicitly allowed
  std::vector<std::string> pass_through;  // agent headers kept (otherwise stripped)
  absl::Duration lease_ttl = absl::Minutes(5);

  // The credentials this grant injects (views into this grant).
  absl::InlinedVector<absl::string_view, 2> Credentials() const;
};

// Checks a grant on its own (fields, format, methods). Messages name the grant and field.
absl::Status ValidateGrant(const Grant& g);

// Simple glob: '*' matches any run of characters (including none); everything else literally.
bool GlobMatch(absl::string_view pattern, absl::string_view text);

class GrantTable {
 public:
  explicit GrantTable(std::vector<Grant> grants);

  static constexpr std::size_t kNoMatch = ~std::size_t{0};

  // The position (see grant()) of the most specific grant for this request: exact host over
  // wildcard, then the longest path prefix, then grant id; kNoMatch when none. Exact hosts are
  // one hash lookup; only wildcard grants whose suffix the host ends with are looked at.
  std::size_t Match(absl::string_view principal, absl::string_view method,
                    const DestinationView& dest) const;

  // Shared so that leases can keep naming a grant after the table is replaced.
  const std::shared_ptr<const Grant>& grant(std::size_t i) const { return grants_[i]; }
  std::size_t size() const { return grants_.size(); }
  std::vector<Grant> grants() const;

 private:
  std::vector<std::shared_ptr<const Grant>> grants_;  // sorted by specificity
  absl::flat_hash_map<std::string, std::vector<std::size_t>> by_host_;
  // "*.example.com" grants by their suffix "example.com": a host is looked up once per label.
  absl::flat_hash_map<std::string, std::vector<std::size_t>> by_suffix_;
};

}  // namespace kars::broker

#endif  // KARS_BROKER_GRANT_H_
