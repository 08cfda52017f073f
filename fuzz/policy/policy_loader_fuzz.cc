// Fuzzes the policy loader and compiler: any bytes either compile into a set that then decides
// without crashing, or fail with a FILE:LINE:COL error. A compiled set never allows a request
// that no rule matched.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "libkars/policy/engine.h"
#include "libkars/policy/request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kars::policy;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto set = CompilePolicySet({{PolicySource::kDocuments, "fuzz.yaml", text}});
  if (!set.ok()) {
    if (!absl::StartsWith(set.status().message(), "fuzz.yaml")) std::abort();
    return 0;
  }
  Engine engine;
  engine.Install(*set);
  kars::v1::Request request;
  for (const char* json : {
           R"({"principal":{"agent":"a"},"tool":{"name":"search","arguments":{"path":"/tmp"}}})",
           R"({"principal":{"agent":"a"},"egress":{"host":"api.example.com","port":443,"resolvedIps":["1.2.3.4"]}})",
           R"({"principal":{"agent":"a"},"inference":{"model":"gpt-4o","maxOutputTokens":10}})"}) {
    if (!ParseRequestJson(json, &request).ok()) std::abort();
    Decision d;
    if (!engine.Decide(request, true, &d).ok()) std::abort();
    if (d.effect != Effect::kDeny && d.matched_total == 0) std::abort();
  }
  return 0;
}
