// Helpers for the policy unit tests: engines from inline YAML, requests from JSON.
#ifndef KARS_TESTS_UNIT_POLICY_TEST_UTIL_H_
#define KARS_TESTS_UNIT_POLICY_TEST_UTIL_H_

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "libkars/policy/engine.h"
#include "libkars/policy/request_parser.h"

namespace kars::policy::testing {

inline std::string ReadTestData(const std::string& relative) {
  const char* root = std::getenv("KARS_TEST_DATA");
  std::ifstream in(std::string(root != nullptr ? root : "tests/data") + "/" + relative);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A full document around `spec` (indented YAML for the spec mapping).
inline std::string Doc(const std::string& name, const std::string& spec) {
  return "apiVersion: kars.dev/v1\nkind: Policy\nmetadata:\n  name: " + name + "\nspec:\n" + spec;
}

inline v1::Request Req(const std::string& json) {
  v1::Request r;
  absl::Status s = ParseRequestJson(json, &r);
  EXPECT_TRUE(s.ok()) << s << " in " << json;
  return r;
}

inline std::unique_ptr<Engine> EngineWith(const std::string& yaml, EngineOptions options = {}) {
  auto engine = std::make_unique<Engine>(options);
  absl::Status s = engine->Load({{PolicySource::kDocuments, "test.yaml", yaml}});
  EXPECT_TRUE(s.ok()) << s;
  return engine;
}

inline Decision DecideOk(Engine& engine, const v1::Request& r) {
  Decision d;
  absl::Status s = engine.Decide(r, false, &d);
  EXPECT_TRUE(s.ok()) << s;
  return d;
}

}  // namespace kars::policy::testing

#endif  // KARS_TESTS_UNIT_POLICY_TEST_UTIL_H_
