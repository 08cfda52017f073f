#include "libkars/policy/policy_tests.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "libkars/policy/engine.h"
#include "libkars/policy/yaml_to_proto.h"
#include "yaml-cpp/yaml.h"

namespace kars::policy {

absl::Status RunPolicyTests(std::shared_ptr<const PolicySet> set, const Clock* clock,
                            absl::string_view source, absl::string_view text,
                            PolicyTestReport* report) {
  std::vector<YAML::Node> nodes;
  absl::Status s = ParseYamlDocuments(source, text, &nodes);
  if (!s.ok()) return s;
  if (nodes.size() != 1) {
    return SourceError(source, {}, kErrValue, "a cases file holds exactly one YAML document");
  }
  v1::PolicyTestFile file;
  PositionTable positions;
  s = YamlToMessage(source, nodes[0], &file, &positions);
  if (!s.ok()) return s;
  if (file.cases().empty()) return SourceError(source, {}, kErrMissing, "no cases");
  for (const auto& c : file.cases()) {
    SourcePos pos = positions.Find(&c);
    Effect expected;
    if (!ParseEffect(c.expect(), &expected)) {
      return SourceError(source, positions.Find(&c, v1::PolicyTestCase::kExpectFieldNumber),
                         c.expect().empty() ? kErrMissing : kErrValue,
                         absl::StrCat("case '", c.name(), "': expect must be allow, deny, approve or audit"));
    }
    if (c.name().empty()) return SourceError(source, pos, kErrMissing, "a case needs a name");
  }
  EngineOptions options;
  options.clock = clock;
  Engine engine(options);
  engine.Install(std::move(set));
  Decision d;
  for (const auto& c : file.cases()) {
    SourcePos pos = positions.Find(&c);
    std::string where = absl::StrCat(source, ":", pos.line, ":", pos.column);
    absl::Status status = engine.Decide(c.request(), false, &d);
    Effect expected;
    ParseEffect(c.expect(), &expected);
    std::string got = status.ok() ? absl::StrCat(EffectName(d.effect), " (", d.reason, ")")
                                  : absl::StrCat("error: ", status.message());
    bool pass = status.ok() && d.effect == expected &&
                (c.expect_reason().empty() || c.expect_reason() == d.reason);
    // A malformed request is expected to be refused: "deny" with reason request.invalid.
    if (!status.ok() && expected == Effect::kDeny &&
        (c.expect_reason().empty() || c.expect_reason() == "request.invalid")) {
      pass = true;
    }
    if (pass) {
      ++report->passed;
      absl::StrAppend(&report->text, "PASS ", c.name(), "\n");
    } else {
      ++report->failed;
      absl::StrAppend(&report->text, "FAIL ", c.name(), " (", where, "): expected ", c.expect(),
                      c.expect_reason().empty() ? "" : absl::StrCat(" (", c.expect_reason(), ")"),
                      ", got ", got, "\n");
    }
  }
  absl::StrAppend(&report->text, report->passed, " passed, ", report->failed, " failed\n");
  return absl::OkStatus();
}

}  // namespace kars::policy
