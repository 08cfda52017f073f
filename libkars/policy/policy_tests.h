// Policy unit tests (`kars policy test`): a YAML file of cases, each a request and the effect it
// must get, run against a policy set on a scratch engine so no real counters or tickets change.
#ifndef KARS_POLICY_POLICY_TESTS_H_
#define KARS_POLICY_POLICY_TESTS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libkars/policy/clock.h"
#include "libkars/policy/policy_set.h"

namespace kars::policy {

struct PolicyTestReport {
  size_t passed = 0;
  size_t failed = 0;
  std::string text;  // one line per case: "PASS name" / "FAIL name: expected ..., got ..."
};

// Fails (with FILE:LINE:COL) only when the cases file itself is malformed.
absl::Status RunPolicyTests(std::shared_ptr<const PolicySet> set, const Clock* clock,
                            absl::string_view source, absl::string_view text,
                            PolicyTestReport* report);

}  // namespace kars::policy

#endif  // KARS_POLICY_POLICY_TESTS_H_
