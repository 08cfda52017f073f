// The policy C ABI: engines, loading, digest, settlement and policy unit tests. Translation only.
#include "kars/policy.h"

#include "libkars/policy/journal_store.h"
#include "libkars/policy/policy_tests.h"
#include "libkars/capi/buf.h"
#include "libkars/capi/guard.h"
#include "libkars/capi/policy_internal.h"

namespace pol = kars::policy;
using kars::capi::FillBuf;
using kars::capi::Guard;
using kars::capi::GuardVoid;

extern "C" {

kars_status kars_policy_engine_new(kars_policy_engine** out, const kars_policy_options* options,
                                   kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    pol::EngineOptions engine_options = options != nullptr ? options->options : pol::EngineOptions{};
    if (options != nullptr && !options->journal_path.empty()) {
      auto store = pol::JournalCounterStore::Open(options->journal_path);
      if (!store.ok()) return store.status();
      engine_options.counters = *std::move(store);
    }
    *out = new kars_policy_engine(engine_options);
    return absl::OkStatus();
  });
}

void kars_policy_engine_free(kars_policy_engine* engine) {
  GuardVoid([&] { delete engine; });
}

kars_status kars_policy_engine_load(kars_policy_engine* engine, const kars_policy_sources* sources,
                                    kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(engine);
    KARS_REQUIRE_ARG(sources);
    return engine->engine.Load(sources->sources);
  });
}

kars_status kars_policy_engine_digest(kars_buf* out_hex, const kars_policy_engine* engine,
                                      kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out_hex);
    KARS_REQUIRE_ARG(engine);
    FillBuf(out_hex, engine->engine.Current()->digest_hex);
    return absl::OkStatus();
  });
}

kars_status kars_policy_engine_settle(kars_policy_engine* engine, uint64_t reservation,
                                      uint64_t prompt_tokens, uint64_t output_tokens,
                                      kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(engine);
    return engine->engine.Settle(reservation, prompt_tokens, output_tokens);
  });
}

kars_status kars_policy_engine_test(kars_buf* out_report, size_t* out_failed,
                                    kars_policy_engine* engine, const char* name,
                                    const uint8_t* cases, size_t len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out_report);
    KARS_REQUIRE_ARG(engine);
    KARS_REQUIRE_ARG(name);
    if (cases == nullptr && len != 0) return absl::InvalidArgumentError("cases must not be NULL");
    pol::PolicyTestReport report;
    absl::Status s = pol::RunPolicyTests(
        engine->engine.Current(), &engine->engine.clock(), name,
        absl::string_view(reinterpret_cast<const char*>(cases), len), &report);
    if (!s.ok()) return s;
    FillBuf(out_report, report.text);
    if (out_failed != nullptr) *out_failed = report.failed;
    return absl::OkStatus();
  });
}

}  // extern "C"
