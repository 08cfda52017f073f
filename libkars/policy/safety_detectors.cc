// The built-in local detectors. Every pattern is RE2 (linear time in the text); candidates that
// have a checksum (payment cards, IBANs) are validated before they count.
#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "libkars/policy/safety.h"
#include "re2/re2.h"

namespace kars::policy {
namespace {

struct Detector {
  const char* name;
  SafetyCategory category;
  int severity;
  const char* pattern;
  bool (*validate)(absl::string_view match);
};

constexpr Detector kDetectors[] = {
    // Secrets: well-known token formats.
    {"aws_access_key", SafetyCategory::kSecrets, 3, R"(\b(?:AKIA|ASIA)[0-9A-Z]{16}\b)", nullptr},
    {"github_token", SafetyCategory::kSecrets, 3, R"(\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b)", nullptr},
    {"openai_key", SafetyCategory::kSecrets, 3, R"(\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}\b)", nullptr},
    {"slack_token", SafetyCategory::kSecrets, 3, R"(\bxox[abposr]-[A-Za-z0-9-]{10,}\b)", nullptr},
    {"google_api_key", SafetyCategory::kSecrets, 3, R"(\bAIza[0-9A-Za-z_-]{35}\b)", nullptr},
    {"private_key", SafetyCategory::kSecrets, 3, R"(-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----)", nullptr},
    {"jwt", SafetyCategory::kSecrets, 2, R"(\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b)", nullptr},
    // PII.
    {"email", SafetyCategory::kPii, 2, R"(\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b)", nullptr},
    {"payment_card", SafetyCategory::kPii, 3, R"(\b[0-9](?:[ -]?[0-9]){12,18}\b)", &LuhnValid},
    {"iban", SafetyCategory::kPii, 3, R"(\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b)", &IbanValid},
    {"us_ssn", SafetyCategory::kPii, 3, R"(\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b)", nullptr},
    {"uk_nino", SafetyCategory::kPii, 3, R"(\b[A-CEGHJ-PR-TW-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b)", nullptr},
    {"phone", SafetyCategory::kPii, 1, R"((?:^|[^0-9A-Za-z])(\+[1-9][0-9]{0,2}[ .-]?(?:\(?[0-9]{1,4}\)?[ .-]?){2,4}[0-9]{2,4}))", nullptr},
    // Prompt injection heuristics (case-insensitive phrases).
    {"ignore_instructions", SafetyCategory::kPromptInjection, 3,
     R"((?i)\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier|preceding)\s+(?:instructions|prompts|rules|directions))", nullptr},
    {"reveal_prompt", SafetyCategory::kPromptInjection, 2,
     R"((?i)\b(?:reveal|print|show|repeat|output)\s+(?:your|the)\s+(?:system\s+prompt|hidden\s+instructions|initial\s+instructions))", nullptr},
    {"role_override", SafetyCategory::kPromptInjection, 2,
     R"((?i)\b(?:you\s+are\s+now\s+(?:in\s+)?(?:developer|dan|jailbreak|unrestricted)|new\s+system\s+prompt:))", nullptr},
    // Exfiltration: a URL whose query or path carries a long encoded blob.
    {"encoded_url_payload", SafetyCategory::kExfiltrationUrl, 3,
     R"(\bhttps?://[^\s/?#]+[^\s#]*[/?=&](?:[A-Za-z0-9+/_-]{40,}={0,2}|[0-9a-fA-F]{48,}))", nullptr},
};

struct Compiled {
  const Detector* detector;
  std::unique_ptr<RE2> re;
};

const std::vector<Compiled>& CompiledDetectors() {
  static const std::vector<Compiled>* compiled = [] {
    auto* v = new std::vector<Compiled>();
    RE2::Options options;
    options.set_log_errors(false);
    for (const Detector& d : kDetectors) {
      auto re = std::make_unique<RE2>(d.pattern, options);
      if (re->ok()) v->push_back({&d, std::move(re)});  // a bad built-in is a bug; tests catch it
    }
    return v;
  }();
  return *compiled;
}

}  // namespace

bool LuhnValid(absl::string_view text) {
  int digits = 0, sum = 0;
  for (size_t i = text.size(); i-- > 0;) {
    char c = text[i];
    if (!absl::ascii_isdigit(c)) continue;
    int d = c - '0';
    if (digits % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    ++digits;
  }
  return digits >= 13 && digits <= 19 && sum % 10 == 0;
}

bool IbanValid(absl::string_view text) {
  std::string s;
  for (char c : text) {
    if (c != ' ') s.push_back(c);
  }
  if (s.size() < 15 || s.size() > 34) return false;
  std::rotate(s.begin(), s.begin() + 4, s.end());
  int remainder = 0;
  for (char c : s) {
    if (absl::ascii_isdigit(c)) {
      remainder = (remainder * 10 + (c - '0')) % 97;
    } else if (absl::ascii_isupper(c)) {
      remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
    } else {
      return false;
    }
  }
  return remainder == 1;
}

std::vector<Finding> DetectLocal(absl::string_view text) {
  std::vector<Finding> out;
  for (const Compiled& c : CompiledDetectors()) {
    // Detectors with a capturing group report the group (the context around it is not part of
    // the finding, e.g. the character before a phone number).
    const int n = c.re->NumberOfCapturingGroups() >= 1 ? 2 : 1;
    const re2::StringPiece input(text.data(), text.size());
    re2::StringPiece groups[2];
    size_t pos = 0;
    while (pos <= text.size() && c.re->Match(input, pos, text.size(), RE2::UNANCHORED, groups, n)) {
      const re2::StringPiece& m = n == 2 && groups[1].data() != nullptr ? groups[1] : groups[0];
      absl::string_view match(m.data(), m.size());
      if (c.detector->validate == nullptr || c.detector->validate(match)) {
        size_t begin = match.data() - text.data();
        out.push_back({c.detector->category, c.detector->severity, c.detector->name, begin,
                       begin + match.size()});
      }
      pos = static_cast<size_t>(groups[0].data() - text.data()) + std::max<size_t>(groups[0].size(), 1);
    }
  }
  std::sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  return out;
}

}  // namespace kars::policy
