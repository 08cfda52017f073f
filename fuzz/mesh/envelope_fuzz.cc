// Untrusted envelope bytes from the relay: the parser, then decryption by a real agent (which
// must turn every bad input into a REJECTED/DUPLICATE event, never a crash or a delivery).
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "libkars/mesh/agent.h"
#include "libkars/mesh/loopback.h"
#include "libkars/mesh/payload.h"

namespace {

kars::mesh::Agent& Bob() {
  static kars::mesh::LoopbackHub* hub = new kars::mesh::LoopbackHub();
  static kars::mesh::Agent* bob = [] {
    auto agent = kars::mesh::Agent::Open("", "bob", kars::mesh::AgentOptions());
    if (!agent.ok() || !(*agent)->Attach(hub->Connect("bob")).ok()) std::abort();
    return agent->release();
  }();
  return *bob;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto env =
      kars::mesh::ParseEnvelope(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!env.ok()) return 0;
  env->set_recipient("bob");
  if (!Bob().Accept({*env}).ok()) std::abort();  // in memory: only I/O can fail, and there is none
  auto delivered = Bob().Deliver([](const kars::v1::mesh::AgentEvent& ev) {
    // Garbage can never decrypt into a message.
    if (ev.kind() == kars::v1::mesh::AgentEvent::KIND_MESSAGE) std::abort();
    return 0;
  });
  if (!delivered.ok()) std::abort();
  return 0;
}
