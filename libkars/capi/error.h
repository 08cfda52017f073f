// The kars_error object behind the C ABI, and how the core fills an out-parameter with one.
// Shared by libkars and libkars-mesh: an error made by either is released by kars_error_free.
#ifndef KARS_CAPI_ERROR_H_
#define KARS_CAPI_ERROR_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "kars/common.h"

struct kars_error {
  kars_status code;
  std::string message;
  // The preallocated out-of-memory error is never deleted.
  bool is_static = false;
};

namespace kars::capi {

// Stores an error with `code` and `message` in *err if err is not NULL; returns `code`.
// Never throws: when the error object itself cannot be allocated, *err receives a static
// out-of-memory error.
kars_status SetError(kars_error** err, kars_status code, absl::string_view message) noexcept;

// SetError from a non-OK status; returns KARS_OK without touching *err for an OK status.
kars_status SetError(kars_error** err, const absl::Status& status) noexcept;

}  // namespace kars::capi

#endif  // KARS_CAPI_ERROR_H_
