// The policy C ABI: content-safety scans. Translation only.
#include "kars/policy.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "libkars/capi/buf.h"
#include "libkars/capi/guard.h"
#include "libkars/capi/policy_internal.h"

namespace pol = kars::policy;
using kars::capi::FillBuf;
using kars::capi::Guard;
using kars::capi::GuardVoid;
using kars::capi::JsonQuote;

extern "C" {

kars_status kars_policy_engine_scan(kars_buf* out_json, kars_policy_engine* engine, const char* text,
                                    size_t len, const char* annotations_json,
                                    size_t annotations_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out_json);
    KARS_REQUIRE_ARG(engine);
    if (text == nullptr && len != 0) return absl::InvalidArgumentError("text must not be NULL");
    kars::v1::SafetyAnnotations annotations;
    if (annotations_json != nullptr && annotations_len != 0) {
      google::protobuf::util::JsonParseOptions options;
      auto status = google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(annotations_json, annotations_len), &annotations, options);
      if (!status.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "annotations JSON: ", std::string(status.message().data(), status.message().size())));
      }
    }
    auto set = engine->engine.Current();
    pol::SafetyResult result;
    absl::string_view input(text == nullptr ? "" : text, len);
    absl::Status s = set->safety.Evaluate(input, annotations, &result);
    if (!s.ok()) return s;
    FillBuf(out_json, kars::capi::SafetyResultJson(result));
    return absl::OkStatus();
  });
}

}  // extern "C"
