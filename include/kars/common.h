/* kars: status codes, error objects, byte buffers and version information.
 *
 * Conventions for every kars header:
 *   - A fallible call returns kars_status (0 on success, negative on failure) and takes an
 *     optional `kars_error **err` as its last parameter. On failure, if err is not NULL, *err
 *     receives an error object the caller owns and releases with kars_error_free. On success *err
 *     is left untouched. Passing NULL discards the details; the status code remains.
 *   - `T **out` parameters are owned by the caller; a returned `const T *` is borrowed and its
 *     comment says what invalidates it.
 *   - Inputs are pointer + length; the library copies whatever it keeps.
 *   - No C++ exception ever crosses this boundary.
 */
#ifndef KARS_COMMON_H
#define KARS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "kars/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KARS_VERSION_MAJOR 0
#define KARS_VERSION_MINOR 1
#define KARS_VERSION_PATCH 0
/* The version these headers declare, as MAJOR * 10000 + MINOR * 100 + PATCH. */
#define KARS_VERSION_NUMBER \
  (KARS_VERSION_MAJOR * 10000 + KARS_VERSION_MINOR * 100 + KARS_VERSION_PATCH)
#define KARS_VERSION_STRING "0.1.0"

/* Result of every fallible call. Values are part of the ABI: they are never renumbered, and new
 * codes are only ever added. Only failures a caller can act on have their own code. */
typedef enum kars_status {
  KARS_OK = 0,
  KARS_E_INTERNAL = -1,         /* a bug or an unexpected failure inside kars */
  KARS_E_INVALID_ARGUMENT = -2, /* the input is malformed or out of range; the message says which */
  KARS_E_NOT_FOUND = -3,        /* the named object does not exist */
  KARS_E_EXISTS = -4,           /* the object to create exists already */
  KARS_E_DENIED = -5,           /* refused: not permitted, or authentication failed */
  KARS_E_BUFFER_TOO_SMALL = -6, /* a caller-supplied buffer cannot hold the result */
  KARS_E_CANCELLED = -7,        /* the operation was cancelled */
  KARS_E_CALLBACK = -8,         /* a caller's callback returned non-zero and aborted the call */
  KARS_E_NO_MEMORY = -9,        /* an allocation failed */
  KARS_E_IO = -10,              /* reading or writing a file, socket or device failed */
  KARS_E_TAMPERED = -11,        /* stored or received data fails an integrity check */
  KARS_E_UNAVAILABLE = -12,     /* a service or resource is unreachable or timed out; retry later */
  KARS_E_EXHAUSTED = -13,       /* a quota, limit or capacity is used up */
  KARS_E_PRECONDITION = -14     /* the object's state does not allow the call (e.g. locked) */
} kars_status;

/* An error: a status code and a human-readable message. Immutable once returned; safe to read
 * from any thread. Messages never contain secret values. */
typedef struct kars_error kars_error;

/* The error's code; never KARS_OK. Returns KARS_E_INVALID_ARGUMENT for a NULL error. */
KARS_API kars_status kars_error_code(const kars_error *err);

/* The error's message, NUL-terminated UTF-8. Borrowed: valid until kars_error_free(err).
 * Returns "" for a NULL error. */
KARS_API const char *kars_error_message(const kars_error *err);

/* Releases an error. Accepts NULL. */
KARS_API void kars_error_free(kars_error *err);

/* The constant name of a status code, e.g. "KARS_E_NOT_FOUND"; "KARS_E_UNKNOWN" for a value that
 * is not a kars_status. The string is static. */
KARS_API const char *kars_status_name(kars_status status);

/* Bytes the library returns to the caller. The caller owns `data` and releases it with
 * kars_buf_dispose; it is not NUL-terminated unless the producing call says so. */
typedef struct kars_buf {
  uint8_t *data;
  size_t len;
} kars_buf;

/* Releases buf->data and resets buf to { NULL, 0 }. Accepts NULL and an already empty buffer.
 * Not safe to call concurrently on the same buffer. */
KARS_API void kars_buf_dispose(kars_buf *buf);

/* The version of the loaded library, as MAJOR * 10000 + MINOR * 100 + PATCH. Compare with
 * KARS_VERSION_NUMBER to detect a header/library mismatch. Thread-safe. */
KARS_API uint32_t kars_version_number(void);

/* The version of the loaded library as a static string, e.g. "0.1.0". Thread-safe. */
KARS_API const char *kars_version_string(void);

/* Checks that the loaded library can serve a program compiled against `compiled_version`
 * (pass KARS_VERSION_NUMBER): the major versions must be equal and the library's minor version
 * at least the compiled one. Returns KARS_OK, or KARS_E_PRECONDITION with an error naming both
 * versions. Thread-safe. */
KARS_API kars_status kars_version_check(uint32_t compiled_version, kars_error **err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KARS_COMMON_H */
