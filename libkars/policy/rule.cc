#include "libkars/policy/rule.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/message_differencer.h"

namespace kars::policy {

namespace pb = google::protobuf;

const char* KindName(Kind kind) {
  static constexpr const char* kNames[] = {"inference", "tool", "mcp", "egress", "mesh", "a2a"};
  return kNames[static_cast<int>(kind)];
}

bool ParseKind(absl::string_view name, Kind* out) {
  for (int i = 0; i < kKindCount; ++i) {
    if (name == KindName(static_cast<Kind>(i))) {
      *out = static_cast<Kind>(i);
      return true;
    }
  }
  return false;
}

const char* EffectName(Effect effect) {
  static constexpr const char* kNames[] = {"deny", "allow", "approve", "audit"};
  return kNames[static_cast<int>(effect)];
}

bool ParseEffect(absl::string_view name, Effect* out) {
  for (int i = 0; i < 4; ++i) {
    if (name == EffectName(static_cast<Effect>(i))) {
      *out = static_cast<Effect>(i);
      return true;
    }
  }
  return false;
}

int PrimaryField(Kind kind) {
  switch (kind) {
    case Kind::kInference: return 1;  // models
    case Kind::kMesh: return 1;       // peers
    default: return 0;                // tool names, mcp servers, a2a peers
  }
}

absl::string_view PrimaryValue(const v1::Request& r, Kind kind) {
  switch (kind) {
    case Kind::kInference: return r.inference().model();
    case Kind::kTool: return r.tool().name();
    case Kind::kMcp: return r.mcp().server();
    case Kind::kMesh: return r.mesh().peer();
    case Kind::kA2a: return r.a2a().peer();
    case Kind::kEgress: return r.egress().host();
  }
  return {};
}

std::string Rule::Location() const {
  if (pos.line <= 0) return source;
  return absl::StrCat(source, ":", pos.line, ":", pos.column);
}

const NameMatcher& Rule::primary() const { return names[PrimaryField(kind)]; }

bool PrincipalMatcher::MatchesLabels(const v1::Principal& p) const {
  for (const auto& [key, value] : labels) {
    auto it = p.labels().find(key);
    if (it == p.labels().end() || it->second != value) return false;
  }
  return true;
}

absl::Status ArgMatcher::Compile(const v1::ArgCondition& c, bool* bad_regex) {
  *bad_regex = false;
  pointer_ = c.pointer();
  if (!pointer_.empty() && pointer_[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("JSON pointer '", pointer_, "' must be empty or start with '/'"));
  }
  if (!pointer_.empty()) {
    for (absl::string_view token : absl::StrSplit(absl::string_view(pointer_).substr(1), '/')) {
      std::string decoded = absl::StrReplaceAll(token, {{"~1", "/"}});
      tokens_.push_back(absl::StrReplaceAll(decoded, {{"~0", "~"}}));
    }
  }
  int tests = (c.has_equals() ? 1 : 0) + (c.one_of_size() > 0 ? 1 : 0) + (!c.regex().empty() ? 1 : 0) +
              (c.has_range() ? 1 : 0);
  if (tests != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "argument condition on '", pointer_,
        "' must set exactly one of equals, oneOf, regex, range (found ", tests, ")"));
  }
  if (c.has_equals()) values_.push_back(c.equals());
  for (const auto& v : c.one_of()) values_.push_back(v);
  if (!c.regex().empty()) {
    RE2::Options options;
    options.set_log_errors(false);
    regex_ = std::make_unique<RE2>(c.regex(), options);
    if (!regex_->ok()) {
      *bad_regex = true;
      return absl::InvalidArgumentError(
          absl::StrCat("regex '", c.regex(), "' is invalid: ", regex_->error()));
    }
  }
  if (c.has_range()) {
    has_min_ = c.range().has_min();
    has_max_ = c.range().has_max();
    min_ = c.range().min();
    max_ = c.range().max();
    if (!has_min_ && !has_max_) {
      return absl::InvalidArgumentError(
          absl::StrCat("range on '", pointer_, "' needs min or max"));
    }
    if (has_min_ && has_max_ && min_ > max_) {
      return absl::InvalidArgumentError(absl::StrCat("range on '", pointer_, "' has min > max"));
    }
  }
  return absl::OkStatus();
}

namespace {

// Resolves RFC 6901 reference tokens against a JSON value; NULL when absent.
const pb::Value* Resolve(const pb::Value& root, const std::vector<std::string>& tokens) {
  const pb::Value* v = &root;
  for (const auto& token : tokens) {
    if (v->has_struct_value()) {
      auto it = v->struct_value().fields().find(token);
      if (it == v->struct_value().fields().end()) return nullptr;
      v = &it->second;
    } else if (v->has_list_value()) {
      size_t index = 0;
      if (token.empty() || (token.size() > 1 && token[0] == '0') ||
          !absl::SimpleAtoi(token, &index) || index >= static_cast<size_t>(v->list_value().values_size())) {
        return nullptr;
      }
      v = &v->list_value().values(static_cast<int>(index));
    } else {
      return nullptr;
    }
  }
  return v;
}

}  // namespace

bool ArgMatcher::Matches(const pb::Value& root) const {
  const pb::Value* v = Resolve(root, tokens_);
  if (v == nullptr) return false;  // a condition on an absent argument never holds
  if (!values_.empty()) {
    for (const auto& want : values_) {
      if (pb::util::MessageDifferencer::Equals(want, *v)) return true;
    }
    return false;
  }
  if (regex_ != nullptr) {
    return v->kind_case() == pb::Value::kStringValue && RE2::FullMatch(v->string_value(), *regex_);
  }
  if (v->kind_case() != pb::Value::kNumberValue) return false;
  double n = v->number_value();
  return (!has_min_ || n >= min_) && (!has_max_ || n <= max_);
}

namespace {

// Reads the request field only when `m` has patterns: most conditions are empty, and a protobuf
// string accessor is several loads the compiler does not defer on its own.
template <class Message>
inline bool Holds(const NameMatcher& m, const Message& message,
                  const std::string& (Message::*field)() const) {
  return m.empty() || m.Matches((message.*field)());
}

}  // namespace

bool Rule::Matches(const v1::Request& r, const EgressFacts* egress, std::string* why,
                   bool host_matched) const {
  if (!principal.Matches(r.principal())) return false;
  switch (kind) {
    case Kind::kInference: {
      const auto& q = r.inference();
      if (!Holds(names[0], q, &v1::InferenceRequest::provider) ||
          !Holds(names[1], q, &v1::InferenceRequest::model) ||
          !Holds(names[2], q, &v1::InferenceRequest::operation)) {
        return false;
      }
      break;
    }
    case Kind::kTool:
      if (!Holds(names[0], r.tool(), &v1::ToolRequest::name)) return false;
      for (const auto& a : args) {
        if (!a.Matches(r.tool().arguments())) return false;
      }
      break;
    case Kind::kMcp:
      if (!Holds(names[0], r.mcp(), &v1::McpRequest::server) ||
          !Holds(names[1], r.mcp(), &v1::McpRequest::tool)) {
        return false;
      }
      for (const auto& a : args) {
        if (!a.Matches(r.mcp().arguments())) return false;
      }
      break;
    case Kind::kMesh:
      if (!Holds(names[0], r.mesh(), &v1::MeshRequest::direction) ||
          !Holds(names[1], r.mesh(), &v1::MeshRequest::peer) ||
          !Holds(names[2], r.mesh(), &v1::MeshRequest::group)) {
        return false;
      }
      break;
    case Kind::kA2a:
      if (!Holds(names[0], r.a2a(), &v1::A2aRequest::peer) ||
          !Holds(names[1], r.a2a(), &v1::A2aRequest::method)) {
        return false;
      }
      break;
    case Kind::kEgress: {
      if (egress == nullptr) return false;
      if (!host_matched && !hosts.empty() && !hosts.Matches(egress->host.host)) return false;
      if (!cidrs.empty() && !cidrs.ContainsAll(egress->addrs, egress->addr_count)) return false;
      const auto& e = r.egress();
      if (!ports.Matches(e.port()) || !Holds(names[0], e, &v1::EgressRequest::scheme) ||
          !Holds(names[1], e, &v1::EgressRequest::method) ||
          !Holds(names[2], e, &v1::EgressRequest::path)) {
        return false;
      }
      break;
    }
  }
  if (why != nullptr) {
    absl::StrAppend(why, "rule '", id, "' (document '", document, "', effect ", EffectName(effect),
                    "): kind ", KindName(kind), ", principal selector and every ",
                    KindName(kind), " condition hold\n");
  }
  return true;
}

}  // namespace kars::policy
