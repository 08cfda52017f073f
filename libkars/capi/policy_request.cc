// The policy C ABI: the typed request builder. Translation only.
#include "kars/policy.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "libkars/capi/buf.h"
#include "libkars/capi/guard.h"
#include "libkars/capi/policy_internal.h"

namespace pol = kars::policy;
using kars::capi::FillBuf;
using kars::capi::Guard;
using kars::capi::GuardVoid;

namespace {

bool SetKind(kars::v1::Request* r, kars_policy_kind kind) {
  switch (kind) {
    case KARS_POLICY_KIND_INFERENCE: r->mutable_inference(); return true;
    case KARS_POLICY_KIND_TOOL: r->mutable_tool(); return true;
    case KARS_POLICY_KIND_MCP: r->mutable_mcp(); return true;
    case KARS_POLICY_KIND_EGRESS: r->mutable_egress(); return true;
    case KARS_POLICY_KIND_MESH: r->mutable_mesh(); return true;
    case KARS_POLICY_KIND_A2A: r->mutable_a2a(); return true;
  }
  return false;
}

// The string field `field` of `r`, or NULL when it is not one for the request's kind.
std::string* StringField(kars::v1::Request* r, kars_policy_field field) {
  using R = kars::v1::Request;
  const R::KindCase k = r->kind_case();
  switch (field) {
    case KARS_POLICY_FIELD_AGENT: return r->mutable_principal()->mutable_agent();
    case KARS_POLICY_FIELD_SANDBOX: return r->mutable_principal()->mutable_sandbox();
    case KARS_POLICY_FIELD_NAMESPACE: return r->mutable_principal()->mutable_namespace_();
    case KARS_POLICY_FIELD_APPROVAL_TICKET: return r->mutable_approval_ticket();
    case KARS_POLICY_FIELD_PROVIDER: return k == R::kInference ? r->mutable_inference()->mutable_provider() : nullptr;
    case KARS_POLICY_FIELD_MODEL: return k == R::kInference ? r->mutable_inference()->mutable_model() : nullptr;
    case KARS_POLICY_FIELD_OPERATION: return k == R::kInference ? r->mutable_inference()->mutable_operation() : nullptr;
    case KARS_POLICY_FIELD_TOOL_NAME: return k == R::kTool ? r->mutable_tool()->mutable_name() : nullptr;
    case KARS_POLICY_FIELD_MCP_SERVER: return k == R::kMcp ? r->mutable_mcp()->mutable_server() : nullptr;
    case KARS_POLICY_FIELD_MCP_TOOL: return k == R::kMcp ? r->mutable_mcp()->mutable_tool() : nullptr;
    case KARS_POLICY_FIELD_SCHEME: return k == R::kEgress ? r->mutable_egress()->mutable_scheme() : nullptr;
    case KARS_POLICY_FIELD_HOST: return k == R::kEgress ? r->mutable_egress()->mutable_host() : nullptr;
    case KARS_POLICY_FIELD_METHOD: return k == R::kEgress ? r->mutable_egress()->mutable_method() : nullptr;
    case KARS_POLICY_FIELD_PATH: return k == R::kEgress ? r->mutable_egress()->mutable_path() : nullptr;
    case KARS_POLICY_FIELD_DIRECTION: return k == R::kMesh ? r->mutable_mesh()->mutable_direction() : nullptr;
    case KARS_POLICY_FIELD_PEER:
      if (k == R::kMesh) return r->mutable_mesh()->mutable_peer();
      return k == R::kA2A ? r->mutable_a2a()->mutable_peer() : nullptr;
    case KARS_POLICY_FIELD_GROUP: return k == R::kMesh ? r->mutable_mesh()->mutable_group() : nullptr;
    case KARS_POLICY_FIELD_CONTENT_TEXT: return r->mutable_content()->mutable_text();
    case KARS_POLICY_FIELD_A2A_METHOD: return k == R::kA2A ? r->mutable_a2a()->mutable_method() : nullptr;
    default: return nullptr;
  }
}

}  // namespace

extern "C" {

kars_status kars_policy_request_new(kars_policy_request** out, kars_policy_kind kind,
                                    kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    auto request = std::make_unique<kars_policy_request>();
    if (!SetKind(&request->request, kind)) return absl::InvalidArgumentError("unknown request kind");
    *out = request.release();
    return absl::OkStatus();
  });
}

void kars_policy_request_free(kars_policy_request* request) { delete request; }

kars_status kars_policy_request_reset(kars_policy_request* request, kars_policy_kind kind,
                                      kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(request);
    request->request.Clear();
    if (!SetKind(&request->request, kind)) return absl::InvalidArgumentError("unknown request kind");
    return absl::OkStatus();
  });
}

kars_status kars_policy_request_set_string(kars_policy_request* request, kars_policy_field field,
                                           const char* value, size_t len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(request);
    if (value == nullptr && len != 0) return absl::InvalidArgumentError("value must not be NULL");
    std::string* target = StringField(&request->request, field);
    if (target == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("field ", static_cast<int>(field), " is not a string field of this request kind"));
    }
    target->assign(value == nullptr ? "" : value, len);
    return absl::OkStatus();
  });
}

kars_status kars_policy_request_set_uint(kars_policy_request* request, kars_policy_field field,
                                         uint64_t value, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(request);
    auto& r = request->request;
    using R = kars::v1::Request;
    if (r.kind_case() == R::kInference && field == KARS_POLICY_FIELD_MAX_OUTPUT_TOKENS) {
      r.mutable_inference()->set_max_output_tokens(value);
    } else if (r.kind_case() == R::kInference && field == KARS_POLICY_FIELD_ESTIMATED_PROMPT_TOKENS) {
      r.mutable_inference()->set_estimated_prompt_tokens(value);
    } else if (r.kind_case() == R::kInference && field == KARS_POLICY_FIELD_STREAMING) {
      if (value > 1) return absl::InvalidArgumentError("streaming must be 0 or 1");
      r.mutable_inference()->set_streaming(value == 1);
    } else if (r.kind_case() == R::kEgress && field == KARS_POLICY_FIELD_PORT) {
      if (value == 0 || value > 65535) return absl::InvalidArgumentError("port must be 1..65535");
      r.mutable_egress()->set_port(static_cast<uint32_t>(value));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("field ", static_cast<int>(field), " is not a numeric field of this request kind"));
    }
    return absl::OkStatus();
  });
}

kars_status kars_policy_request_add_label(kars_policy_request* request, const char* key,
                                          size_t key_len, const char* value, size_t value_len,
                                          kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(request);
    KARS_REQUIRE_ARG(key);
    if (value == nullptr && value_len != 0) return absl::InvalidArgumentError("value must not be NULL");
    (*request->request.mutable_principal()->mutable_labels())[std::string(key, key_len)] =
        std::string(value == nullptr ? "" : value, value_len);
    return absl::OkStatus();
  });
}

kars_status kars_policy_request_add_resolved_ip(kars_policy_request* request, const char* ip,
                                                size_t len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(request);
    KARS_REQUIRE_ARG(ip);
    if (!request->request.has_egress()) return absl::InvalidArgumentError("not an egress request");
    request->request.mutable_egress()->add_resolved_ips(std::string(ip, len));
    return absl::OkStatus();
  });
}

kars_status kars_policy_request_add_annotation(kars_policy_request* request, const char* category,
                                              size_t category_len, const char* severity,
                                              size_t severity_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(request);
    KARS_REQUIRE_ARG(category);
    KARS_REQUIRE_ARG(severity);
    const absl::string_view c(category, category_len), v(severity, severity_len);
    pol::SafetyCategory parsed;
    int level = 0;
    if (!pol::ParseSafetyCategory(c, &parsed)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown safety category '", c, "'"));
    }
    if (!pol::ParseSeverity(v, &level)) {
      return absl::InvalidArgumentError(
          absl::StrCat("safety severity '", v, "' is not safe, low, medium or high"));
    }
    (*request->request.mutable_content()->mutable_annotations()->mutable_severities())[std::string(c)] =
        std::string(v);
    return absl::OkStatus();
  });
}

kars_status kars_policy_request_set_arguments_json(kars_policy_request* request, const char* json,
                                                   size_t len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(request);
    KARS_REQUIRE_ARG(json);
    auto& r = request->request;
    google::protobuf::Value* target = r.has_tool() ? r.mutable_tool()->mutable_arguments()
                                      : r.has_mcp() ? r.mutable_mcp()->mutable_arguments()
                                                    : nullptr;
    if (target == nullptr) return absl::InvalidArgumentError("arguments belong to tool and mcp requests");
    auto status = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(json, len), target);
    if (!status.ok()) {
      target->Clear();
      return absl::InvalidArgumentError(absl::StrCat(
          "arguments JSON: ", std::string(status.message().data(), status.message().size())));
    }
    return absl::OkStatus();
  });
}

}  // extern "C"
