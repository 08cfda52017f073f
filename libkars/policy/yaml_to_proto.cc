#include "libkars/policy/yaml_to_proto.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/struct.pb.h"
#include "yaml-cpp/yaml.h"

namespace kars::policy {
namespace {

namespace pb = google::protobuf;

// Deeper nesting than this is refused: it only ever comes from hostile or broken input, and the
// mapper recurses.
constexpr int kMaxDepth = 64;

SourcePos PosOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

const char* NodeTypeName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Map: return "a mapping";
    default: return "nothing";
  }
}

class Mapper {
 public:
  Mapper(absl::string_view source, PositionTable* positions)
      : source_(source), positions_(positions) {}

  absl::Status Message(const YAML::Node& node, pb::Message* msg, int depth) {
    if (depth > kMaxDepth) return Error(node, kErrValue, "nesting too deep");
    Record(msg, -1, -1, node);
    const pb::Descriptor* desc = msg->GetDescriptor();
    if (desc->full_name() == "google.protobuf.Value") {
      return Value(node, static_cast<pb::Value*>(msg), depth);
    }
    if (node.IsNull()) return absl::OkStatus();  // `tool:` or `tool: {}` both mean "empty"
    if (!node.IsMap()) {
      return Error(node, kErrType,
                   absl::StrCat("expected a mapping for ", desc->name(), ", found ",
                                NodeTypeName(node)));
    }
    absl::flat_hash_set<int> seen;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) return Error(key, kErrType, "a field name must be a scalar");
      const std::string& name = key.Scalar();
      const pb::FieldDescriptor* field = desc->FindFieldByName(name);
      if (field == nullptr) field = desc->FindFieldByCamelcaseName(name);
      if (field == nullptr) {
        return Error(key, kErrUnknownField,
                     absl::StrCat("unknown field '", name, "' in ", desc->name()));
      }
      if (!seen.insert(field->number()).second) {
        return Error(key, kErrDuplicate, absl::StrCat("field '", name, "' given twice"));
      }
      Record(msg, field->number(), -1, key);
      absl::Status status = Field(entry.second, msg, field, depth);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Field(const YAML::Node& node, pb::Message* msg, const pb::FieldDescriptor* field,
                     int depth) {
    const pb::Reflection* refl = msg->GetReflection();
    if (field->is_map()) {
      if (node.IsNull()) return absl::OkStatus();
      if (!node.IsMap()) {
        return Error(node, kErrType, absl::StrCat("expected a mapping for '", field->name(),
                                                  "', found ", NodeTypeName(node)));
      }
      const pb::Descriptor* entry_desc = field->message_type();
      absl::flat_hash_set<std::string> keys;
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) return Error(entry.first, kErrType, "a key must be a scalar");
        if (!keys.insert(entry.first.Scalar()).second) {
          return Error(entry.first, kErrDuplicate,
                       absl::StrCat("key '", entry.first.Scalar(), "' given twice"));
        }
        pb::Message* item = refl->AddMessage(msg, field);
        const pb::Reflection* item_refl = item->GetReflection();
        item_refl->SetString(item, entry_desc->map_key(), entry.first.Scalar());
        absl::Status status = Single(entry.second, item, entry_desc->map_value(), depth);
        if (!status.ok()) return status;
      }
      return absl::OkStatus();
    }
    if (field->is_repeated()) {
      if (node.IsNull()) return absl::OkStatus();
      if (!node.IsSequence()) {
        return Error(node, kErrType, absl::StrCat("expected a sequence for '", field->name(),
                                                  "', found ", NodeTypeName(node)));
      }
      for (size_t i = 0; i < node.size(); ++i) {
        Record(msg, field->number(), static_cast<int>(i), node[i]);
        absl::Status status = Repeated(node[i], msg, field, depth);
        if (!status.ok()) return status;
      }
      return absl::OkStatus();
    }
    return Single(node, msg, field, depth);
  }

  absl::Status Repeated(const YAML::Node& node, pb::Message* msg,
                        const pb::FieldDescriptor* field, int depth) {
    const pb::Reflection* refl = msg->GetReflection();
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      return Message(node, refl->AddMessage(msg, field), depth + 1);
    }
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
      if (!node.IsScalar()) return ScalarExpected(node, field);
      refl->AddString(msg, field, node.Scalar());
      return absl::OkStatus();
    }
    return Error(node, kErrType, absl::StrCat("unsupported repeated field '", field->name(), "'"));
  }

  absl::Status Single(const YAML::Node& node, pb::Message* msg, const pb::FieldDescriptor* field,
                      int depth) {
    const pb::Reflection* refl = msg->GetReflection();
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      return Message(node, refl->MutableMessage(msg, field), depth + 1);
    }
    if (!node.IsScalar()) return ScalarExpected(node, field);
    const std::string& text = node.Scalar();
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        refl->SetString(msg, field, text);
        return absl::OkStatus();
      case pb::FieldDescriptor::CPPTYPE_BOOL: {
        bool value = false;
        if (!YAML::convert<bool>::decode(node, value)) return BadScalar(node, field, "a boolean");
        refl->SetBool(msg, field, value);
        return absl::OkStatus();
      }
      case pb::FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t value = 0;
        if (!absl::SimpleAtoi(text, &value)) return BadScalar(node, field, "an unsigned integer");
        refl->SetUInt64(msg, field, value);
        return absl::OkStatus();
      }
      case pb::FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t value = 0;
        if (!absl::SimpleAtoi(text, &value)) {
          return BadScalar(node, field, "an unsigned 32-bit integer");
        }
        refl->SetUInt32(msg, field, value);
        return absl::OkStatus();
      }
      case pb::FieldDescriptor::CPPTYPE_INT64: {
        int64_t value = 0;
        if (!absl::SimpleAtoi(text, &value)) return BadScalar(node, field, "an integer");
        refl->SetInt64(msg, field, value);
        return absl::OkStatus();
      }
      case pb::FieldDescriptor::CPPTYPE_DOUBLE: {
        double value = 0;
        if (!absl::SimpleAtod(text, &value)) return BadScalar(node, field, "a number");
        refl->SetDouble(msg, field, value);
        return absl::OkStatus();
      }
      default:
        return Error(node, kErrType, absl::StrCat("unsupported field '", field->name(), "'"));
    }
  }

  // Arbitrary YAML as a JSON-like value. Quoted scalars are strings; plain ones are read as
  // null, booleans or numbers when they look like one.
  absl::Status Value(const YAML::Node& node, pb::Value* out, int depth) {
    if (depth > kMaxDepth) return Error(node, kErrValue, "nesting too deep");
    if (node.IsNull()) {
      out->set_null_value(pb::NULL_VALUE);
    } else if (node.IsScalar()) {
      const std::string& text = node.Scalar();
      bool flag = false;
      double number = 0;
      if (node.Tag() == "!") {
        out->set_string_value(text);
      } else if (text == "true" || text == "false") {
        out->set_bool_value(text == "true");
      } else if (YAML::convert<bool>::decode(node, flag) && (text == "True" || text == "False")) {
        out->set_bool_value(flag);
      } else if (absl::SimpleAtod(text, &number) && !text.empty() &&
                 text.find_first_not_of("0123456789+-.eE") == std::string::npos) {
        out->set_number_value(number);
      } else {
        out->set_string_value(text);
      }
    } else if (node.IsSequence()) {
      auto* list = out->mutable_list_value();
      for (const auto& item : node) {
        absl::Status status = Value(item, list->add_values(), depth + 1);
        if (!status.ok()) return status;
      }
    } else if (node.IsMap()) {
      auto* fields = out->mutable_struct_value()->mutable_fields();
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) return Error(entry.first, kErrType, "a key must be a scalar");
        if (fields->count(entry.first.Scalar()) != 0) {
          return Error(entry.first, kErrDuplicate,
                       absl::StrCat("key '", entry.first.Scalar(), "' given twice"));
        }
        absl::Status status = Value(entry.second, &(*fields)[entry.first.Scalar()], depth + 1);
        if (!status.ok()) return status;
      }
    }
    return absl::OkStatus();
  }

  absl::Status ScalarExpected(const YAML::Node& node, const pb::FieldDescriptor* field) {
    return Error(node, kErrType, absl::StrCat("expected a scalar for '", field->name(),
                                              "', found ", NodeTypeName(node)));
  }
  absl::Status BadScalar(const YAML::Node& node, const pb::FieldDescriptor* field,
                         absl::string_view what) {
    return Error(node, kErrValue, absl::StrCat("'", field->name(), "' must be ", what, ", not '",
                                               node.Scalar(), "'"));
  }
  absl::Status Error(const YAML::Node& node, absl::string_view code, absl::string_view message) {
    return SourceError(source_, PosOf(node), code, message);
  }
  void Record(const void* msg, int field, int index, const YAML::Node& node) {
    if (positions_ != nullptr) positions_->Record(msg, field, index, PosOf(node));
  }

  absl::string_view source_;
  PositionTable* positions_;
};

}  // namespace

absl::Status ParseYamlDocuments(absl::string_view source, absl::string_view text,
                                std::vector<YAML::Node>* out) {
  try {
    *out = YAML::LoadAll(std::string(text.data(), text.size()));
  } catch (const YAML::Exception& e) {
    SourcePos pos;
    if (e.mark.line >= 0) pos = {e.mark.line + 1, e.mark.column + 1};
    return SourceError(source, pos, kErrSyntax, e.msg);
  }
  return absl::OkStatus();
}

absl::Status YamlToMessage(absl::string_view source, const YAML::Node& node,
                           google::protobuf::Message* out, PositionTable* positions) {
  try {
    return Mapper(source, positions).Message(node, out, 0);
  } catch (const YAML::Exception& e) {
    // yaml-cpp reports some malformed input only when a node is first read.
    SourcePos pos;
    if (e.mark.line >= 0) pos = {e.mark.line + 1, e.mark.column + 1};
    return SourceError(source, pos, kErrSyntax, e.msg);
  }
}

}  // namespace kars::policy
