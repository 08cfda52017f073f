// The outbound scanner and the streaming redactor over arbitrary bytes, against a broker that
// holds a few values. The first byte picks a split point for the redactor; the redacted output
// must never contain a held value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "libkars/broker/broker.h"

namespace {

const char* const kHeld[] = {"fuzz-secret-AAAA", "b/c+d=e&f\"g\\h", "0123456789"};

kars::broker::Broker* Instance() {
  static kars::broker::Broker* broker = [] {
    auto b = kars::broker::Broker::Create(kars::broker::BrokerSettings{});
    if (!b.ok()) std::abort();
    for (const char* v : kHeld) {
      setenv("KARS_FUZZ_HELD", v, 1);
      auto spec = kars::broker::ParseSource(std::string("{id: held-") + v[0] + ", type: env, name: KARS_FUZZ_HELD}");
      if (!spec.ok() || !(*b)->AddSource(*std::move(spec)).ok()) std::abort();
    }
    return b->release();
  }();
  return broker;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kars::broker::Broker* broker = Instance();
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = size == 0 ? 0 : data[0] % (size + 1);
  auto verdict = broker->ScanOutbound(input.substr(0, split), {{"X-Fuzz", input}}, input.substr(split));
  if (!verdict.ok()) std::abort();
  auto redactor = broker->NewRedactor();
  std::string out;
  if (!redactor->Feed(input.substr(0, split), &out).ok() || !redactor->Feed(input.substr(split), &out).ok() ||
      !redactor->Finish(&out).ok()) {
    std::abort();
  }
  for (const char* v : kHeld) {
    if (out.find(v) != std::string::npos) std::abort();
  }
  return 0;
}
