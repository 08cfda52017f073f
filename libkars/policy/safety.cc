#include "libkars/policy/safety.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kars::policy {

const char* SafetyCategoryName(SafetyCategory c) {
  static constexpr const char* kNames[] = {"secrets", "pii", "prompt_injection", "exfiltration_url",
                                           "hate", "sexual", "violence", "self_harm", "jailbreak"};
  return kNames[static_cast<int>(c)];
}

bool ParseSafetyCategory(absl::string_view name, SafetyCategory* out) {
  for (int i = 0; i < kSafetyCategoryCount; ++i) {
    if (name == SafetyCategoryName(static_cast<SafetyCategory>(i))) {
      *out = static_cast<SafetyCategory>(i);
      return true;
    }
  }
  return false;
}

bool HasLocalDetector(SafetyCategory c) { return static_cast<int>(c) <= 3; }

const char* SeverityName(int severity) {
  static constexpr const char* kNames[] = {"safe", "low", "medium", "high"};
  return kNames[std::clamp(severity, 0, 3)];
}

bool ParseSeverity(absl::string_view name, int* out) {
  for (int i = 0; i < 4; ++i) {
    if (name == SeverityName(i)) {
      *out = i;
      return true;
    }
  }
  return false;
}

absl::Status SafetyPolicy::Evaluate(absl::string_view text, const v1::SafetyAnnotations& annotations,
                                    SafetyResult* out) const {
  *out = SafetyResult{};
  int annotated[kSafetyCategoryCount];
  std::fill(std::begin(annotated), std::end(annotated), -1);
  for (const auto& [name, severity] : annotations.severities()) {
    SafetyCategory c;
    int s;
    if (!ParseSafetyCategory(name, &c)) {
      return absl::InvalidArgumentError(absl::StrCat("annotation for unknown safety category '", name, "'"));
    }
    if (!ParseSeverity(severity, &s)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "annotation '", name, "' has severity '", severity, "' (safe, low, medium or high)"));
    }
    annotated[static_cast<int>(c)] = s;
  }
  out->findings = DetectLocal(text);
  int local[kSafetyCategoryCount] = {};
  for (const Finding& f : out->findings) {
    int& m = local[static_cast<int>(f.category)];
    m = std::max(m, f.severity);
  }
  std::vector<const Finding*> to_redact;
  bool annotation_missing = false;
  for (const SafetyFloorRule& floor : floors_) {
    const int c = static_cast<int>(floor.category);
    if (floor.require_annotation && annotated[c] < 0) {
      annotation_missing = true;
      out->triggered.push_back(absl::StrCat(SafetyCategoryName(floor.category), ":annotation_missing"));
      continue;
    }
    const int signal = std::max(local[c], annotated[c]);
    if (signal < floor.severity) continue;
    static constexpr const char* kActions[] = {"audit", "redact", "deny"};
    out->triggered.push_back(absl::StrCat(SafetyCategoryName(floor.category), ">=",
                                          SeverityName(floor.severity), ":", kActions[floor.action]));
    SafetyResult::Action action = floor.action == SafetyFloorRule::kDeny     ? SafetyResult::kDeny
                                  : floor.action == SafetyFloorRule::kRedact ? SafetyResult::kRedact
                                                                             : SafetyResult::kAudit;
    // Redaction can only remove what was found locally; an annotation alone cannot be redacted,
    // so it escalates to deny (fail closed).
    if (action == SafetyResult::kRedact && local[c] < floor.severity) action = SafetyResult::kDeny;
    if (action == SafetyResult::kRedact) {
      for (const Finding& f : out->findings) {
        if (f.category == floor.category && f.severity >= floor.severity) to_redact.push_back(&f);
      }
    }
    out->action = std::max(out->action, action);
  }
  if (annotation_missing) {
    out->action = SafetyResult::kDeny;
    out->reason = "safety.annotation_missing";
    return absl::OkStatus();
  }
  static constexpr const char* kReasons[] = {"safety.clear", "safety.audit", "safety.redact", "safety.deny"};
  out->reason = kReasons[out->action];
  if (out->action == SafetyResult::kRedact) {
    std::sort(to_redact.begin(), to_redact.end(),
              [](const Finding* a, const Finding* b) { return a->begin < b->begin; });
    size_t pos = 0;
    for (const Finding* f : to_redact) {
      if (f->end <= pos) continue;  // inside a span already redacted
      size_t begin = std::max(pos, f->begin);
      absl::StrAppend(&out->redacted, text.substr(pos, begin - pos));
      absl::StrAppend(&out->redacted, "[REDACTED:", SafetyCategoryName(f->category), "]");
      pos = f->end;
    }
    absl::StrAppend(&out->redacted, text.substr(pos));
  }
  return absl::OkStatus();
}

}  // namespace kars::policy
