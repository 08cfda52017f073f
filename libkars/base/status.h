// Translation between absl::Status, which the C++ core returns, and kars_status, which the C ABI
// returns. absl has no codes for I/O, tampering, callbacks or short buffers; those travel as a
// payload on the status so that the exact kars code survives any number of hops through the core.
#ifndef KARS_BASE_STATUS_H_
#define KARS_BASE_STATUS_H_

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "kars/common.h"

namespace kars {

// A status with the canonical absl code closest to `code` and the exact kars code attached.
absl::Status MakeStatus(kars_status code, absl::string_view message);

absl::Status IoError(absl::string_view message);
absl::Status TamperedError(absl::string_view message);
absl::Status CallbackError(absl::string_view message);
absl::Status BufferTooSmallError(absl::string_view message);

// The kars code for `status`: the attached code if present, else the mapping of its absl code.
kars_status ToCStatus(const absl::Status& status);

// A copy of `status` that shares no representation with it (message and payloads copied). For a
// status kept under a lock and handed to other threads: a plain copy shares a reference count
// that Debian's Abseil updates in code ThreadSanitizer cannot see, so the last release on one
// thread would look like a race with a read on another.
absl::Status DetachedCopy(const absl::Status& status);

// IoError from errno, as "<what>: <strerror(errno_value)>".
absl::Status ErrnoError(absl::string_view what, int errno_value);

}  // namespace kars

#endif  // KARS_BASE_STATUS_H_
