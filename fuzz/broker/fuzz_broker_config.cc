// The broker's config parser over arbitrary bytes: it must return a status, never crash, hang
// or throw. Building sources starts nothing (exec plugins run only on fetch).
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "libkars/broker/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  (void)kars::broker::ParseConfig(text);
  (void)kars::broker::ParseSource(text);
  (void)kars::broker::ParseGrant(text);
  return 0;
}
