// extern "C" entry points of kars/common.h: translation only.
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "kars/common.h"
#include "libkars/capi/error.h"
#include "libkars/capi/guard.h"

namespace {

std::string VersionText(uint32_t v) {
  return absl::StrCat(v / 10000, ".", (v / 100) % 100, ".", v % 100);
}

}  // namespace

extern "C" {

kars_status kars_error_code(const kars_error* err) {
  return err == nullptr ? KARS_E_INVALID_ARGUMENT : err->code;
}

const char* kars_error_message(const kars_error* err) {
  return err == nullptr ? "" : err->message.c_str();
}

void kars_error_free(kars_error* err) {
  if (err != nullptr && !err->is_static) delete err;
}

const char* kars_status_name(kars_status status) {
  switch (status) {
    case KARS_OK: return "KARS_OK";
    case KARS_E_INTERNAL: return "KARS_E_INTERNAL";
    case KARS_E_INVALID_ARGUMENT: return "KARS_E_INVALID_ARGUMENT";
    case KARS_E_NOT_FOUND: return "KARS_E_NOT_FOUND";
    case KARS_E_EXISTS: return "KARS_E_EXISTS";
    case KARS_E_DENIED: return "KARS_E_DENIED";
    case KARS_E_BUFFER_TOO_SMALL: return "KARS_E_BUFFER_TOO_SMALL";
    case KARS_E_CANCELLED: return "KARS_E_CANCELLED";
    case KARS_E_CALLBACK: return "KARS_E_CALLBACK";
    case KARS_E_NO_MEMORY: return "KARS_E_NO_MEMORY";
    case KARS_E_IO: return "KARS_E_IO";
    case KARS_E_TAMPERED: return "KARS_E_TAMPERED";
    case KARS_E_UNAVAILABLE: return "KARS_E_UNAVAILABLE";
    case KARS_E_EXHAUSTED: return "KARS_E_EXHAUSTED";
    case KARS_E_PRECONDITION: return "KARS_E_PRECONDITION";
  }
  return "KARS_E_UNKNOWN";
}

void kars_buf_dispose(kars_buf* buf) {
  if (buf == nullptr) return;
  std::free(buf->data);
  buf->data = nullptr;
  buf->len = 0;
}

uint32_t kars_version_number(void) { return KARS_VERSION_NUMBER; }

const char* kars_version_string(void) { return KARS_VERSION_STRING; }

kars_status kars_version_check(uint32_t compiled_version, kars_error** err) {
  return kars::capi::Guard(err, [&]() -> absl::Status {
    const uint32_t loaded = KARS_VERSION_NUMBER;
    const bool same_major = compiled_version / 10000 == loaded / 10000;
    const bool minor_ok = (compiled_version / 100) % 100 <= (loaded / 100) % 100;
    if (same_major && minor_ok) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("program compiled against kars ", VersionText(compiled_version),
                     " cannot use the loaded libkars ", VersionText(loaded),
                     ": the major versions must match and the library's minor version must be "
                     "at least the program's"));
  });
}

}  // extern "C"
