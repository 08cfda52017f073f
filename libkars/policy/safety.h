// Content-safety floors: local detectors over text (secret token formats, PII with checksum
// validation, prompt-injection phrases, URLs carrying encoded data) plus upstream classifier
// annotations, held against per-category floors with an action. Compiled once per policy set;
// immutable and thread-safe.
#ifndef KARS_POLICY_SAFETY_H_
#define KARS_POLICY_SAFETY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "kars/v1/policy.pb.h"

namespace kars::policy {

enum class SafetyCategory : uint8_t {
  kSecrets = 0, kPii, kPromptInjection, kExfiltrationUrl, kHate, kSexual, kViolence, kSelfHarm,
  kJailbreak
};
inline constexpr int kSafetyCategoryCount = 9;
const char* SafetyCategoryName(SafetyCategory c);
bool ParseSafetyCategory(absl::string_view name, SafetyCategory* out);
// True for the categories the built-in detectors cover (and which can therefore be redacted).
bool HasLocalDetector(SafetyCategory c);

// 0 safe, 1 low, 2 medium, 3 high.
const char* SeverityName(int severity);
bool ParseSeverity(absl::string_view name, int* out);

struct Finding {
  SafetyCategory category;
  int severity;
  const char* detector;  // static name, e.g. "aws_access_key", "payment_card"
  size_t begin, end;     // byte offsets in the scanned text
};

// Runs every built-in detector over `text`. Findings are sorted by offset; values are never
// copied out (only offsets), so secrets stay in the caller's buffer.
std::vector<Finding> DetectLocal(absl::string_view text);

// Luhn check over the digits of `text` (other characters ignored); false for < 13 digits.
bool LuhnValid(absl::string_view text);
// ISO 13616 mod-97 check of an IBAN (spaces ignored).
bool IbanValid(absl::string_view text);

struct SafetyFloorRule {
  SafetyCategory category;
  int severity;  // floor
  enum Action : uint8_t { kAudit = 0, kRedact = 1, kDeny = 2 } action;
  bool require_annotation;
};

struct SafetyResult {
  enum Action : uint8_t { kAllow = 0, kAudit = 1, kRedact = 2, kDeny = 3 } action = kAllow;
  const char* reason = "safety.clear";  // safety.clear | safety.audit | safety.redact |
                                        // safety.deny | safety.annotation_missing
  std::vector<Finding> findings;
  std::string redacted;  // the text with redacted spans replaced, when action is redact
  std::vector<std::string> triggered;  // "category>=severity:action" per triggered floor
};

class SafetyPolicy {
 public:
  void Add(const SafetyFloorRule& floor) { floors_.push_back(floor); }
  bool empty() const { return floors_.empty(); }
  // Evaluates `text` with the host's `annotations`. Annotations with an unknown category or
  // severity are INVALID_ARGUMENT (never silently ignored).
  absl::Status Evaluate(absl::string_view text, const v1::SafetyAnnotations& annotations,
                        SafetyResult* out) const;

 private:
  std::vector<SafetyFloorRule> floors_;
};

}  // namespace kars::policy

#endif  // KARS_POLICY_SAFETY_H_
