// Maps YAML (and therefore JSON) onto protobuf messages by their schema. The one place policy
// documents and policy test files are parsed: unknown fields, wrong node types and unparseable
// scalars are errors naming FILE:LINE:COL.
#ifndef KARS_POLICY_YAML_TO_PROTO_H_
#define KARS_POLICY_YAML_TO_PROTO_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "libkars/policy/source_error.h"

namespace YAML {
class Node;
}

namespace kars::policy {

// Parses every YAML document in `text` (documents are separated by `---`). Syntax errors come
// back as E_SYNTAX with the position yaml-cpp reports.
absl::Status ParseYamlDocuments(absl::string_view source, absl::string_view text,
                                std::vector<YAML::Node>* out);

// Fills `out` from `node`. Field names are the lowerCamelCase JSON names or the proto names.
// Records the position of every message, field and element in `positions` (may be NULL).
absl::Status YamlToMessage(absl::string_view source, const YAML::Node& node,
                           google::protobuf::Message* out, PositionTable* positions);

}  // namespace kars::policy

#endif  // KARS_POLICY_YAML_TO_PROTO_H_
