// Helpers for audit tests: real temporary directories and records.
#ifndef KARS_TESTS_UNIT_AUDIT_TEST_UTIL_H_
#define KARS_TESTS_UNIT_AUDIT_TEST_UTIL_H_

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "kars/v1/audit.pb.h"

namespace kars::audit::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/kars-audit-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline v1::AuditRecord MakeRecord(uint64_t i, size_t pad = 0) {
  v1::AuditRecord r;
  r.mutable_principal()->set_agent("agent-" + std::to_string(i % 7));
  r.mutable_principal()->set_sandbox("sb-1");
  r.mutable_principal()->set_namespace_("default");
  r.set_subsystem("policy");
  r.set_action("model.call");
  r.set_effect(i % 3 == 0 ? "deny" : "allow");
  r.set_reason_code("rule.matched");
  r.set_rule_id("rule-" + std::to_string(i));
  r.set_timestamp_micros(1700000000000000 + static_cast<int64_t>(i));
  if (pad > 0) (*r.mutable_attributes())["pad"] = std::string(pad, 'p');
  return r;
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void WriteAllTo(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

}  // namespace kars::audit::testing

#endif  // KARS_TESTS_UNIT_AUDIT_TEST_UTIL_H_
