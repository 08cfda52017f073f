// The policy C ABI: compilation sources and `check`. Translation only.
#include "kars/policy.h"

#include <string>

#include "libkars/base/file.h"
#include "libkars/base/status.h"
#include "libkars/capi/buf.h"
#include "libkars/capi/guard.h"
#include "libkars/capi/policy_internal.h"

namespace pol = kars::policy;
using kars::capi::FillBuf;
using kars::capi::Guard;
using kars::capi::GuardVoid;


extern "C" {

kars_status kars_policy_sources_new(kars_policy_sources** out, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    *out = new kars_policy_sources();
    return absl::OkStatus();
  });
}

void kars_policy_sources_free(kars_policy_sources* sources) { delete sources; }

kars_status kars_policy_sources_add_bytes(kars_policy_sources* sources, const char* name,
                                          const uint8_t* data, size_t len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(sources);
    KARS_REQUIRE_ARG(name);
    if (data == nullptr && len != 0) return absl::InvalidArgumentError("data must not be NULL");
    sources->sources.push_back({pol::PolicySource::kDocuments, name,
                                std::string(reinterpret_cast<const char*>(data), len)});
    return absl::OkStatus();
  });
}

kars_status kars_policy_sources_add_file(kars_policy_sources* sources, const char* path,
                                         kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(sources);
    KARS_REQUIRE_ARG(path);
    std::string text;
    absl::Status s = kars::AppendFileContents(path, "cannot read", &text);
    if (!s.ok()) return s;
    sources->sources.push_back({pol::PolicySource::kDocuments, path, std::move(text)});
    return absl::OkStatus();
  });
}

kars_status kars_policy_sources_add_domain_feed(kars_policy_sources* sources, const char* name,
                                                const uint8_t* data, size_t len,
                                                kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(sources);
    KARS_REQUIRE_ARG(name);
    if (data == nullptr && len != 0) return absl::InvalidArgumentError("data must not be NULL");
    sources->sources.push_back({pol::PolicySource::kDomainFeed, name,
                                std::string(reinterpret_cast<const char*>(data), len)});
    return absl::OkStatus();
  });
}

kars_status kars_policy_check(kars_buf* out_warnings, const kars_policy_sources* sources,
                              kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(sources);
    auto set = pol::CompilePolicySet(sources->sources);
    if (!set.ok()) return set.status();
    if (out_warnings != nullptr) {
      std::string text;
      for (const auto& w : (*set)->warnings) absl::StrAppend(&text, w, "\n");
      FillBuf(out_warnings, text);
    }
    return absl::OkStatus();
  });
}

}  // extern "C"
