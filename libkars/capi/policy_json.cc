// JSON rendering shared by the policy C ABI's results.
#include "absl/strings/str_cat.h"
#include "libkars/capi/policy_internal.h"

namespace kars::capi {

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(&out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string SafetyResultJson(const policy::SafetyResult& result) {
    static constexpr const char* kActions[] = {"allow", "audit", "redact", "deny"};
    std::string json = absl::StrCat("{\"action\":\"", kActions[result.action], "\",\"reason\":\"",
                                    result.reason, "\",\"findings\":[");
    for (size_t i = 0; i < result.findings.size(); ++i) {
      const auto& f = result.findings[i];
      absl::StrAppend(&json, i == 0 ? "" : ",", "{\"category\":\"", policy::SafetyCategoryName(f.category),
                      "\",\"severity\":\"", policy::SeverityName(f.severity), "\",\"detector\":\"",
                      f.detector, "\",\"begin\":", f.begin, ",\"end\":", f.end, "}");
    }
    json += "],\"triggered\":[";
    for (size_t i = 0; i < result.triggered.size(); ++i) {
      absl::StrAppend(&json, i == 0 ? "" : ",", JsonQuote(result.triggered[i]));
    }
    json += "]";
    if (result.action == policy::SafetyResult::kRedact) absl::StrAppend(&json, ",\"redacted\":", JsonQuote(result.redacted));
    json += "}";
  return json;
}

}  // namespace kars::capi
