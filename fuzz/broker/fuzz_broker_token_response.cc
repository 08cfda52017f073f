// The two parsers of bytes a credential source receives: a token endpoint's response and an
// exec plugin's output. They must return a status for anything, never crash or throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/time/clock.h"
#include "libkars/broker/oauth_source.h"
#include "libkars/broker/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  const int status = size > 0 && data[0] < 0x20 ? 400 + data[0] : 200;
  (void)kars::broker::ParseTokenResponse(status, body, absl::Now());
  std::string output(reinterpret_cast<const char*>(data), size);
  (void)kars::broker::ParsePluginOutput(output);
  return 0;
}
