// JSON renderings of leases, credentials and counters for the C ABI and events: metadata only,
// so nothing here ever touches a value.
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libkars/broker/broker.h"
#include "libkars/broker/encodings.h"

namespace kars::broker {
namespace {

std::string TimeJson(absl::Time t) {
  return JsonString(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()));
}

}  // namespace

std::string JsonString(absl::string_view s) { return absl::StrCat("\"", JsonEscape(s), "\""); }

std::string LeasesJson(const std::vector<Lease>& leases) {
  std::string out = "[";
  for (std::size_t i = 0; i < leases.size(); ++i) {
    const Lease& l = leases[i];
    absl::StrAppend(&out, i ? "," : "", "{\"id\":", JsonString(l.id), ",\"credential\":",
                    JsonString(l.credential), ",\"grant\":", JsonString(l.grant), ",\"principal\":",
                    JsonString(l.principal), ",\"destination\":", JsonString(l.destination),
                    ",\"issued\":", TimeJson(l.issued), ",\"ttl_s\":", absl::ToInt64Seconds(l.ttl),
                    ",\"revoked\":", l.revoked ? "true" : "false", "}");
  }
  return out + "]";
}

std::string CredentialsJson(const std::vector<CredentialInfo>& creds) {
  std::string out = "[";
  for (std::size_t i = 0; i < creds.size(); ++i) {
    const CredentialInfo& c = creds[i];
    absl::StrAppend(&out, i ? "," : "", "{\"id\":", JsonString(c.id), ",\"type\":", JsonString(c.kind),
                    ",\"available\":", c.available ? "true" : "false", ",\"expires_at\":",
                    c.expires_at ? TimeJson(*c.expires_at) : "null", ",\"fetches_ok\":", c.fetches_ok,
                    ",\"fetches_failed\":", c.fetches_failed, ",\"generation\":", c.generation,
                    ",\"last_error\":", JsonString(c.last_error), "}");
  }
  return out + "]";
}

std::string MetricsJson(const BrokerMetrics& m) {
  return absl::StrCat("{\"injections\":", m.injections, ",\"denials\":{\"no_grant\":", m.denials_no_grant,
                      ",\"credential_unavailable\":", m.denials_unavailable,
                      ",\"credential_exfiltration\":", m.denials_exfiltration,
                      ",\"invalid_request\":", m.denials_invalid, ",\"leases_exhausted\":",
                      m.denials_exhausted, "},\"scans\":", m.scans, ",\"scan_hits\":", m.scan_hits,
                      ",\"revocations\":", m.revocations, ",\"index_rebuilds\":", m.index_rebuilds,
                      ",\"source_failures\":", m.source_failures, ",\"keys_added\":", m.keys_added,
                      ",\"keys_removed\":", m.keys_removed, "}");
}

}  // namespace kars::broker
