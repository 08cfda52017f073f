// Shared by the policy C ABI's translation units (libkars/capi/policy_*.cc): the handle
// structs behind include/kars/policy.h and small helpers. Translation only.
#ifndef KARS_CAPI_POLICY_INTERNAL_H_
#define KARS_CAPI_POLICY_INTERNAL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "kars/policy.h"
#include "libkars/policy/engine.h"

struct kars_policy_options {
  kars::policy::EngineOptions options;
  std::string journal_path;
};
struct kars_policy_sources {
  std::vector<kars::policy::PolicySource> sources;
};
struct kars_policy_engine {
  // Shared so that an asynchronous wait keeps the engine alive past kars_policy_engine_free.
  explicit kars_policy_engine(kars::policy::EngineOptions options)
      : shared(std::make_shared<kars::policy::Engine>(options)), engine(*shared) {}
  std::shared_ptr<kars::policy::Engine> shared;
  kars::policy::Engine& engine;
};
struct kars_policy_request {
  kars::v1::Request request;
};
struct kars_policy_decision {
  kars::policy::Decision decision;
};

namespace kars::capi {

inline absl::string_view View(const char* s) { return s == nullptr ? absl::string_view() : s; }

// `s` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view s);

// {action, reason, findings, triggered[, redacted]}: a scan result or a decision's safety part.
std::string SafetyResultJson(const policy::SafetyResult& result);

// Milliseconds from a C caller as nanoseconds, saturating.
inline int64_t MillisToNanos(uint64_t ms) {
  return ms > INT64_MAX / 1000000 ? INT64_MAX : static_cast<int64_t>(ms) * 1000000;
}

}  // namespace kars::capi

#endif  // KARS_CAPI_POLICY_INTERNAL_H_
