#include "libkars/capi/error.h"

#include <new>

#include "libkars/base/status.h"

namespace kars::capi {
namespace {

kars_error* OutOfMemoryError() noexcept {
  // Built at load time, so reporting an allocation failure never needs an allocation.
  static kars_error oom{KARS_E_NO_MEMORY, "out of memory", true};
  return &oom;
}

}  // namespace

kars_status SetError(kars_error** err, kars_status code, absl::string_view message) noexcept {
  if (err == nullptr) return code;
  try {
    *err = new kars_error{code, std::string(message.data(), message.size())};
  } catch (...) {
    *err = OutOfMemoryError();
  }
  return code;
}

kars_status SetError(kars_error** err, const absl::Status& status) noexcept {
  if (status.ok()) return KARS_OK;
  return SetError(err, ToCStatus(status), status.message());
}

}  // namespace kars::capi
