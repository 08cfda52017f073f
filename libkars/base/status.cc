#include "libkars/base/status.h"

#include <cstring>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kars {
namespace {

constexpr absl::string_view kCodeUrl = "kars.dev/status";

absl::StatusCode CanonicalCode(kars_status code) {
  switch (code) {
    case KARS_OK: return absl::StatusCode::kOk;
    case KARS_E_INVALID_ARGUMENT: return absl::StatusCode::kInvalidArgument;
    case KARS_E_NOT_FOUND: return absl::StatusCode::kNotFound;
    case KARS_E_EXISTS: return absl::StatusCode::kAlreadyExists;
    case KARS_E_DENIED: return absl::StatusCode::kPermissionDenied;
    case KARS_E_BUFFER_TOO_SMALL: return absl::StatusCode::kOutOfRange;
    case KARS_E_CANCELLED: return absl::StatusCode::kCancelled;
    case KARS_E_CALLBACK: return absl::StatusCode::kAborted;
    case KARS_E_NO_MEMORY: return absl::StatusCode::kResourceExhausted;
    case KARS_E_IO: return absl::StatusCode::kUnavailable;
    case KARS_E_TAMPERED: return absl::StatusCode::kDataLoss;
    case KARS_E_UNAVAILABLE: return absl::StatusCode::kUnavailable;
    case KARS_E_EXHAUSTED: return absl::StatusCode::kResourceExhausted;
    case KARS_E_PRECONDITION: return absl::StatusCode::kFailedPrecondition;
    case KARS_E_INTERNAL: break;
  }
  return absl::StatusCode::kInternal;
}

kars_status FromCanonical(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return KARS_OK;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange: return KARS_E_INVALID_ARGUMENT;
    case absl::StatusCode::kNotFound: return KARS_E_NOT_FOUND;
    case absl::StatusCode::kAlreadyExists: return KARS_E_EXISTS;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated: return KARS_E_DENIED;
    case absl::StatusCode::kCancelled: return KARS_E_CANCELLED;
    case absl::StatusCode::kResourceExhausted: return KARS_E_EXHAUSTED;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded: return KARS_E_UNAVAILABLE;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted: return KARS_E_PRECONDITION;
    case absl::StatusCode::kDataLoss: return KARS_E_TAMPERED;
    default: return KARS_E_INTERNAL;
  }
}

}  // namespace

absl::Status MakeStatus(kars_status code, absl::string_view message) {
  if (code == KARS_OK) return absl::OkStatus();
  absl::Status status(CanonicalCode(code), message);
  status.SetPayload(kCodeUrl, absl::Cord(std::to_string(static_cast<int>(code))));
  return status;
}

absl::Status IoError(absl::string_view message) { return MakeStatus(KARS_E_IO, message); }
absl::Status TamperedError(absl::string_view message) { return MakeStatus(KARS_E_TAMPERED, message); }
absl::Status CallbackError(absl::string_view message) { return MakeStatus(KARS_E_CALLBACK, message); }
absl::Status BufferTooSmallError(absl::string_view message) {
  return MakeStatus(KARS_E_BUFFER_TOO_SMALL, message);
}

kars_status ToCStatus(const absl::Status& status) {
  if (status.ok()) return KARS_OK;
  if (auto payload = status.GetPayload(kCodeUrl)) {
    int code = 0;
    if (absl::SimpleAtoi(std::string(*payload), &code) && code < 0 && code >= KARS_E_PRECONDITION) {
      return static_cast<kars_status>(code);
    }
  }
  return FromCanonical(status.code());
}

absl::Status DetachedCopy(const absl::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status copy(status.code(), std::string(status.message()));
  status.ForEachPayload([&copy](absl::string_view url, const absl::Cord& payload) {
    copy.SetPayload(url, absl::Cord(std::string(payload)));
  });
  return copy;
}

absl::Status ErrnoError(absl::string_view what, int errno_value) {
  char buf[256];
  // GNU strerror_r returns the message pointer, which may or may not be buf.
  const char* text = strerror_r(errno_value, buf, sizeof buf);
  return IoError(absl::StrCat(what, ": ", text));
}

}  // namespace kars
