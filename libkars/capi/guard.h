// The one guard every extern "C" entry point runs its body through: C++ exceptions never cross
// the C ABI, and every failure becomes a kars_status plus an optional kars_error.
#ifndef KARS_CAPI_GUARD_H_
#define KARS_CAPI_GUARD_H_

#include <exception>
#include <new>
#include <type_traits>

#include "absl/status/status.h"
#include "libkars/capi/error.h"

namespace kars::capi {

// Runs `body`, which returns absl::Status. OK → KARS_OK; an error status → its kars code with
// *err filled; std::bad_alloc → KARS_E_NO_MEMORY; any other exception → KARS_E_INTERNAL.
template <class Body>
kars_status Guard(kars_error** err, Body&& body) noexcept {
  static_assert(std::is_same_v<std::invoke_result_t<Body>, absl::Status>,
                "a guarded body returns absl::Status");
  try {
    return SetError(err, body());
  } catch (const std::bad_alloc&) {
    return SetError(err, KARS_E_NO_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return SetError(err, KARS_E_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return SetError(err, KARS_E_INTERNAL, "internal error: unknown exception");
  }
}

// For entry points that cannot report an error (free functions, accessors): swallow exceptions.
template <class Body>
void GuardVoid(Body&& body) noexcept {
  try {
    body();
  } catch (...) {
  }
}

// Validates a required pointer argument.
#define KARS_REQUIRE_ARG(ptr)                                                        \
  do {                                                                               \
    if ((ptr) == nullptr) return absl::InvalidArgumentError(#ptr " must not be NULL"); \
  } while (0)

}  // namespace kars::capi

#endif  // KARS_CAPI_GUARD_H_
