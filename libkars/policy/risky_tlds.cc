// The default risky-TLD list. Egress to hosts under these TLDs is denied unless a rule names the
// host explicitly (an exact host or a `*.` pattern); a policy extends the list with
// spec.egress.riskyTlds and turns it off with spec.egress.disableDefaultRiskyTlds.
//
// Chosen from the TLDs that abuse reports (Spamhaus' most-abused-TLD statistics, Interisle's
// phishing landscape studies) keep listing at the top, plus `zip` and `mov`, which look like
// file names in prompts and tool output. An agent that truly needs one gets an explicit rule.
#include <vector>

#include "libkars/policy/compiler_internal.h"

namespace kars::policy {

const std::vector<absl::string_view>& DefaultRiskyTlds() {
  static const std::vector<absl::string_view> tlds = {
      "zip", "mov",                                  // file-name lookalikes
      "tk", "ml", "ga", "cf", "gq",                  // formerly free registrations
      "top", "xin", "cyou", "icu", "buzz", "rest",   // consistently most abused
      "sbs", "cfd", "bond", "click", "country", "kim", "work", "loan", "men", "cam", "quest",
      "monster", "support",
  };
  return tlds;
}

}  // namespace kars::policy
