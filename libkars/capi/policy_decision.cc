// The policy C ABI: decisions and their accessors. Translation only.
#include "kars/policy.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "libkars/policy/request_parser.h"
#include "libkars/capi/buf.h"
#include "libkars/capi/guard.h"
#include "libkars/capi/policy_internal.h"

namespace pol = kars::policy;
using kars::capi::FillBuf;
using kars::capi::Guard;
using kars::capi::GuardVoid;
using kars::capi::JsonQuote;

extern "C" {

kars_status kars_policy_decision_new(kars_policy_decision** out, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    *out = new kars_policy_decision();
    return absl::OkStatus();
  });
}

void kars_policy_decision_free(kars_policy_decision* decision) {
  GuardVoid([&] { delete decision; });
}

kars_status kars_policy_engine_decide(kars_policy_decision* out, kars_policy_engine* engine,
                                      const kars_policy_request* request, uint32_t flags,
                                      kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(engine);
    KARS_REQUIRE_ARG(request);
    return engine->engine.Decide(request->request, (flags & KARS_POLICY_EXPLAIN) != 0, &out->decision);
  });
}

kars_status kars_policy_engine_decide_json(kars_policy_decision* out, kars_policy_engine* engine,
                                           const char* json, size_t len, uint32_t flags,
                                           kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(engine);
    KARS_REQUIRE_ARG(json);
    kars::v1::Request request;
    absl::Status s = pol::ParseRequestJson(absl::string_view(json, len), &request);
    if (!s.ok()) {
      out->decision = pol::Decision{};
      out->decision.reason = "request.invalid";
      return s;
    }
    return engine->engine.Decide(request, (flags & KARS_POLICY_EXPLAIN) != 0, &out->decision);
  });
}

kars_policy_effect kars_policy_decision_effect(const kars_policy_decision* d) {
  return d == nullptr ? KARS_POLICY_DENY : static_cast<kars_policy_effect>(d->decision.effect);
}

const char* kars_policy_decision_reason(const kars_policy_decision* d) {
  return d == nullptr ? "" : d->decision.reason;
}

size_t kars_policy_decision_rule_count(const kars_policy_decision* d) {
  return d == nullptr ? 0 : d->decision.rule_count;
}

const char* kars_policy_decision_rule_id(const kars_policy_decision* d, size_t index) {
  if (d == nullptr || index >= d->decision.rule_count || d->decision.set == nullptr) return "";
  return d->decision.set->rules[d->decision.rules[index]].id.c_str();
}

const char* kars_policy_decision_ticket(const kars_policy_decision* d) {
  return d == nullptr ? "" : d->decision.ticket.c_str();
}

uint64_t kars_policy_decision_reservation(const kars_policy_decision* d) {
  return d == nullptr ? 0 : d->decision.reservation;
}

int64_t kars_policy_decision_retry_after_ms(const kars_policy_decision* d) {
  return d == nullptr ? 0 : d->decision.retry_after_ms;
}

const char* kars_policy_decision_explanation(const kars_policy_decision* d) {
  return d == nullptr ? "" : d->decision.explanation.c_str();
}

const char* kars_policy_decision_redacted(const kars_policy_decision* d) {
  if (d == nullptr || !d->decision.safety_applied ||
      d->decision.safety.action != pol::SafetyResult::kRedact) {
    return "";
  }
  return d->decision.safety.redacted.c_str();
}

kars_status kars_policy_decision_to_json(kars_buf* out, const kars_policy_decision* decision,
                                         kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(decision);
    const pol::Decision& d = decision->decision;
    std::string rules;
    for (uint32_t i = 0; i < d.rule_count; ++i) {
      absl::StrAppend(&rules, i == 0 ? "" : ",", JsonQuote(d.set->rules[d.rules[i]].id));
    }
    std::string json = absl::StrCat(
        "{\"effect\":\"", pol::EffectName(d.effect), "\",\"reason\":", JsonQuote(d.reason),
        ",\"rules\":[", rules, "],\"ticket\":", JsonQuote(d.ticket),
        ",\"reservation\":", d.reservation, ",\"retryAfterMs\":", d.retry_after_ms,
        ",\"policyDigest\":", JsonQuote(d.set != nullptr ? d.set->digest_hex : ""),
        d.explanation.empty() ? "" : absl::StrCat(",\"explanation\":", JsonQuote(d.explanation)),
        d.safety_applied ? absl::StrCat(",\"safety\":", kars::capi::SafetyResultJson(d.safety)) : "",
        "}");
    FillBuf(out, json);
    return absl::OkStatus();
  });
}

}  // extern "C"
