// The policy C ABI: engine options (include/kars/policy.h). Translation only.
#include "kars/policy.h"

#include <cstdint>
#include <memory>

#include "libkars/capi/buf.h"
#include "libkars/capi/guard.h"
#include "libkars/capi/policy_internal.h"

namespace pol = kars::policy;

namespace {

// A host's clock callback. Released (userdata_free) with the last options or engine using it.
class CallbackClock final : public pol::Clock {
 public:
  CallbackClock(int64_t (*now)(void*), void* userdata, void (*userdata_free)(void*))
      : now_(now), userdata_(userdata), userdata_free_(userdata_free) {}
  ~CallbackClock() override {
    if (userdata_free_ != nullptr) userdata_free_(userdata_);
  }
  int64_t NowNanos() const override { return now_(userdata_); }

 private:
  int64_t (*const now_)(void*);
  void* const userdata_;
  void (*const userdata_free_)(void*);
};

}  // namespace
using kars::capi::FillBuf;
using kars::capi::Guard;
using kars::capi::GuardVoid;

extern "C" {

kars_status kars_policy_options_new(kars_policy_options** out, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    *out = new kars_policy_options();
    return absl::OkStatus();
  });
}

void kars_policy_options_free(kars_policy_options* options) { delete options; }

kars_status kars_policy_options_set_approval_ttl_ms(kars_policy_options* options, uint64_t ttl_ms,
                                                    kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    if (ttl_ms == 0 || ttl_ms > INT64_MAX / 1000000) return absl::InvalidArgumentError("ttl_ms must be 1..2^63/1e6");
    options->options.approval_ttl_ns = static_cast<int64_t>(ttl_ms) * 1000000;
    return absl::OkStatus();
  });
}

kars_status kars_policy_options_set_reservation_timeout_ms(kars_policy_options* options,
                                                           uint64_t timeout_ms, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    if (timeout_ms == 0 || timeout_ms > INT64_MAX / 1000000) {
      return absl::InvalidArgumentError("timeout_ms must be 1..2^63/1e6");
    }
    options->options.reservation_timeout_ns = static_cast<int64_t>(timeout_ms) * 1000000;
    return absl::OkStatus();
  });
}

kars_status kars_policy_options_set_clock(kars_policy_options* options,
                                         int64_t (*now_unix_ns)(void* userdata), void* userdata,
                                         void (*userdata_free)(void* userdata), kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    if (now_unix_ns == nullptr) {
      // Back to the system clock; a previously set callback is released with its last user.
      options->options.shared_clock.reset();
      if (userdata_free != nullptr) userdata_free(userdata);
      return absl::OkStatus();
    }
    options->options.shared_clock = std::make_shared<CallbackClock>(now_unix_ns, userdata, userdata_free);
    return absl::OkStatus();
  });
}

kars_status kars_policy_options_set_budget_journal(kars_policy_options* options, const char* path,
                                                   kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    KARS_REQUIRE_ARG(path);
    if (*path == 0) return absl::InvalidArgumentError("path must not be empty");
    options->journal_path = path;
    return absl::OkStatus();
  });
}

}  // extern "C"
