// The C ABI's audit handle types and byte helpers, shared by the audit .cc files of the C ABI.
#ifndef KARS_CAPI_AUDIT_HANDLES_H_
#define KARS_CAPI_AUDIT_HANDLES_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "kars/audit.h"
#include "libkars/audit/log.h"

struct kars_audit_options {
  kars::audit::LogOptions options;
};

struct kars_audit_log {
  std::unique_ptr<kars::audit::Log> log;
};

namespace kars::capi {

inline absl::string_view Bytes(const void* p, size_t len) {
  return absl::string_view(static_cast<const char*>(p), p == nullptr ? 0 : len);
}

inline absl::Status RequireBytes(const void* p, size_t len, const char* what) {
  if (p == nullptr && len != 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is NULL but its length is not 0"));
  }
  return absl::OkStatus();
}

}  // namespace kars::capi

#endif  // KARS_CAPI_AUDIT_HANDLES_H_
