// Filling a kars_buf the caller releases with kars_buf_dispose (which calls free()).
#ifndef KARS_CAPI_BUF_H_
#define KARS_CAPI_BUF_H_

#include <cstdlib>
#include <cstring>
#include <new>
#include "absl/strings/string_view.h"

#include "kars/common.h"

namespace kars::capi {

// Copies `bytes` into a fresh malloc'd buffer in *out; throws std::bad_alloc (which the guard
// turns into KARS_E_NO_MEMORY) when it cannot. A terminating NUL is added but not counted, so
// text results can be used as C strings.
inline void FillBuf(kars_buf* out, absl::string_view bytes) {
  auto* data = static_cast<uint8_t*>(std::malloc(bytes.size() + 1));
  if (data == nullptr) throw std::bad_alloc();
  if (!bytes.empty()) std::memcpy(data, bytes.data(), bytes.size());
  data[bytes.size()] = 0;
  out->data = data;
  out->len = bytes.size();
}

}  // namespace kars::capi

#endif  // KARS_CAPI_BUF_H_
