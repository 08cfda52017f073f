// Small helpers the broker's test files share: a broker from config, one injection, its value.
#ifndef KARS_TESTS_UNIT_BROKER_HELPERS_H_
#define KARS_TESTS_UNIT_BROKER_HELPERS_H_

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libkars/broker/broker.h"

namespace kars::broker::testing {

inline std::string AuthValue(const Injection& inj) {
  return inj.set_headers.empty() ? "" : inj.set_headers[0].second;
}

// A grant giving principals agent-* the credential `cred` toward https://api.example.
inline std::string Grant(const std::string& cred) {
  return absl::StrCat("grants:\n  - id: g\n    principals: ['agent-*']\n    destination: {host: api.example}\n",
                      "    credential: ", cred, "\n");
}

inline std::unique_ptr<Broker> MustBroker(const std::string& config) {
  auto b = Broker::FromConfig(config);
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? *std::move(b) : nullptr;
}

inline Injection MustInject(Broker& b, const std::string& url = "https://api.example/v1/x") {
  auto inj = b.Inject("agent-1", "POST", url, {});
  EXPECT_TRUE(inj.ok()) << inj.status();
  return inj.ok() ? *std::move(inj) : Injection{};
}

}  // namespace kars::broker::testing

#endif  // KARS_TESTS_UNIT_BROKER_HELPERS_H_
