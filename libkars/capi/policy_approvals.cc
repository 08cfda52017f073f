// The policy C ABI: approval tickets (list, approve, reject, wait). Translation only.
#include "kars/policy.h"

#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "libkars/capi/buf.h"
#include "libkars/capi/guard.h"
#include "libkars/capi/policy_internal.h"

namespace pol = kars::policy;
using kars::capi::FillBuf;
using kars::capi::Guard;
using kars::capi::GuardVoid;
using kars::capi::JsonQuote;
using kars::capi::View;

namespace {

absl::Status Resolve(kars_policy_engine* engine, const char* ticket, const char* approver,
                     const char* reason, bool approve) {
  KARS_REQUIRE_ARG(engine);
  KARS_REQUIRE_ARG(ticket);
  KARS_REQUIRE_ARG(approver);
  return engine->engine.approvals().Resolve(ticket, approve, approver, std::string(View(reason)));
}

}  // namespace

extern "C" {

kars_status kars_policy_engine_pending(kars_buf* out_json, kars_policy_engine* engine,
                                       kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out_json);
    KARS_REQUIRE_ARG(engine);
    std::string json = "[";
    bool first = true;
    for (const auto& t : engine->engine.approvals().Pending()) {
      absl::StrAppend(&json, first ? "" : ",", "{\"id\":", JsonQuote(t.id),
                      ",\"requestDigest\":", JsonQuote(t.request_digest),
                      ",\"request\":", t.summary.empty() ? "null" : t.summary,
                      ",\"createdUnixMs\":", t.created_ns / 1000000,
                      ",\"expiresUnixMs\":", t.expires_ns / 1000000, "}");
      first = false;
    }
    json += "]";
    FillBuf(out_json, json);
    return absl::OkStatus();
  });
}

kars_status kars_policy_engine_approve(kars_policy_engine* engine, const char* ticket,
                                       const char* approver, const char* reason, kars_error** err) {
  return Guard(err, [&]() -> absl::Status { return Resolve(engine, ticket, approver, reason, true); });
}

kars_status kars_policy_engine_reject(kars_policy_engine* engine, const char* ticket,
                                      const char* approver, const char* reason, kars_error** err) {
  return Guard(err, [&]() -> absl::Status { return Resolve(engine, ticket, approver, reason, false); });
}

kars_status kars_policy_engine_wait(kars_policy_ticket_state* out_state, kars_policy_engine* engine,
                                    const char* ticket, uint64_t timeout_ms, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out_state);
    KARS_REQUIRE_ARG(engine);
    KARS_REQUIRE_ARG(ticket);
    pol::TicketState state;
    const int64_t timeout_ns = kars::capi::MillisToNanos(timeout_ms);
    absl::Status s = engine->engine.approvals().Wait(ticket, timeout_ns, &state);
    if (!s.ok()) return s;
    *out_state = static_cast<kars_policy_ticket_state>(state);
    return absl::OkStatus();
  });
}

kars_status kars_policy_engine_wait_async(kars_policy_engine* engine, const char* ticket,
                                          uint64_t timeout_ms,
                                          int (*callback)(kars_policy_ticket_state state, void* userdata),
                                          void* userdata, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(engine);
    KARS_REQUIRE_ARG(ticket);
    KARS_REQUIRE_ARG(callback);
    pol::TicketInfo info;
    absl::Status s = engine->engine.approvals().Get(ticket, &info);
    if (!s.ok()) return s;
    const int64_t timeout_ns = kars::capi::MillisToNanos(timeout_ms);
    std::thread([shared = engine->shared, id = std::string(ticket), timeout_ns, callback, userdata] {
      pol::TicketState state = pol::TicketState::kPending;
      (void)shared->approvals().Wait(id, timeout_ns, &state);
      (void)callback(static_cast<kars_policy_ticket_state>(state), userdata);
    }).detach();
    return absl::OkStatus();
  });
}

}  // extern "C"
