// Fuzzes the request parser and the decision path: any bytes are either refused as a request or
// decided; a malformed request never comes back as anything but deny.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "libkars/policy/engine.h"
#include "libkars/policy/request_parser.h"

namespace {

kars::policy::Engine* SharedEngine() {
  static kars::policy::Engine* engine = [] {
    auto* e = new kars::policy::Engine();
    absl::Status s = e->Load({{kars::policy::PolicySource::kDocuments, "fuzz-policy.yaml", R"(
apiVersion: kars.dev/v1
kind: Policy
metadata: {name: fuzz}
spec:
  rules:
    - {id: t, effect: allow, tool: {names: ["s*"], args: [{pointer: /a/0, regex: "x.*"}]}}
    - {id: e, effect: allow, egress: {hosts: ["*.example.com"], cidrs: [0.0.0.0/0]}}
    - {id: m, effect: approve, mcp: {servers: [gh]}}
    - {id: i, effect: allow, inference: {}}
  limits:
    - {id: b, budget: {window: day, amount: 100000}}
)"}});
    if (!s.ok()) std::abort();
    return e;
  }();
  return engine;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kars::v1::Request request;
  absl::Status s = kars::policy::ParseRequestJson(
      absl::string_view(reinterpret_cast<const char*>(data), size), &request);
  if (!s.ok()) return 0;
  kars::policy::Decision d;
  s = SharedEngine()->Decide(request, true, &d);
  if (!s.ok() && d.effect != kars::policy::Effect::kDeny) std::abort();
  if (d.reservation != 0) (void)SharedEngine()->Settle(d.reservation, 1, 1);
  return 0;
}
