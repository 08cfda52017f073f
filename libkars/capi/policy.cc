// The C ABI of the policy engine (include/kars/policy.h): translation only.
#include "kars/policy.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "libkars/base/status.h"
#include "libkars/capi/buf.h"
#include "libkars/capi/guard.h"
#include "libkars/policy/engine.h"
#include "libkars/policy/journal_store.h"
#include "libkars/policy/policy_tests.h"
#include "libkars/policy/request_parser.h"

namespace pol = kars::policy;
using kars::capi::FillBuf;
using kars::capi::Guard;
using kars::capi::GuardVoid;

struct kars_policy_options {
  pol::EngineOptions options;
  std::string journal_path;
};
struct kars_policy_sources {
  std::vector<pol::PolicySource> sources;
};
struct kars_policy_engine {
  // Shared so that an asynchronous wait keeps the engine alive past kars_policy_engine_free.
  explicit kars_policy_engine(pol::EngineOptions options)
      : shared(std::make_shared<pol::Engine>(options)), engine(*shared) {}
  std::shared_ptr<pol::Engine> shared;
  pol::Engine& engine;
};
struct kars_policy_request {
  kars::v1::Request request;
};
struct kars_policy_decision {
  pol::Decision decision;
};

namespace {

absl::string_view View(const char* s) { return s == nullptr ? absl::string_view() : s; }

absl::Status ReadWholeFile(const char* path, std::string* out) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return kars::ErrnoError(absl::StrCat("cannot read ", path), errno);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return kars::ErrnoError(absl::StrCat("cannot read ", path), e);
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return absl::OkStatus();
}

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
    case KARS_POLICY_FIELD_A2A_METHOD: return k == R::kA2A ? r->mutable_a2a()->mutable_method() : nullptr;
    default: return nullptr;
  }
}

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(&out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

absl::Status Resolve(kars_policy_engine* engine, const char* ticket, const char* approver,
                     const char* reason, bool approve) {
  KARS_REQUIRE_ARG(engine);
  KARS_REQUIRE_ARG(ticket);
  KARS_REQUIRE_ARG(approver);
  return engine->engine.approvals().Resolve(ticket, approve, approver, std::string(View(reason)));
}

}  // namespace

extern "C" {

kars_status kars_policy_options_new(kars_policy_options** out, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    *out = new kars_policy_options();
    return absl::OkStatus();
  });
}

void kars_policy_options_free(kars_policy_options* options) { delete options; }

kars_status kars_policy_options_set_approval_ttl_ms(kars_policy_options* options, uint64_t ttl_ms,
                                                    kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    if (ttl_ms == 0 || ttl_ms > INT64_MAX / 1000000) return absl::InvalidArgumentError("ttl_ms must be 1..2^63/1e6");
    options->options.approval_ttl_ns = static_cast<int64_t>(ttl_ms) * 1000000;
    return absl::OkStatus();
  });
}

kars_status kars_policy_options_set_reservation_timeout_ms(kars_policy_options* options,
                                                           uint64_t timeout_ms, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    if (timeout_ms == 0 || timeout_ms > INT64_MAX / 1000000) {
      return absl::InvalidArgumentError("timeout_ms must be 1..2^63/1e6");
    }
    options->options.reservation_timeout_ns = static_cast<int64_t>(timeout_ms) * 1000000;
    return absl::OkStatus();
  });
}

kars_status kars_policy_options_set_budget_journal(kars_policy_options* options, const char* path,
                                                   kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    KARS_REQUIRE_ARG(path);
    if (*path == 0) return absl::InvalidArgumentError("path must not be empty");
    options->journal_path = path;
    return absl::OkStatus();
  });
}

kars_status kars_policy_sources_new(kars_policy_sources** out, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    *out = new kars_policy_sources();
    return absl::OkStatus();
  });
}

void kars_policy_sources_free(kars_policy_sources* sources) { delete sources; }

kars_status kars_policy_sources_add_bytes(kars_policy_sources* sources, const char* name,
                                          const uint8_t* data, size_t len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(sources);
    KARS_REQUIRE_ARG(name);
    if (data == nullptr && len != 0) return absl::InvalidArgumentError("data must not be NULL");
    sources->sources.push_back({pol::PolicySource::kDocuments, name,
                                std::string(reinterpret_cast<const char*>(data), len)});
    return absl::OkStatus();
  });
}

kars_status kars_policy_sources_add_file(kars_policy_sources* sources, const char* path,
                                         kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(sources);
    KARS_REQUIRE_ARG(path);
    std::string text;
    absl::Status s = ReadWholeFile(path, &text);
    if (!s.ok()) return s;
    sources->sources.push_back({pol::PolicySource::kDocuments, path, std::move(text)});
    return absl::OkStatus();
  });
}

kars_status kars_policy_sources_add_domain_feed(kars_policy_sources* sources, const char* name,
                                                const uint8_t* data, size_t len,
                                                kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(sources);
    KARS_REQUIRE_ARG(name);
    if (data == nullptr && len != 0) return absl::InvalidArgumentError("data must not be NULL");
    sources->sources.push_back({pol::PolicySource::kDomainFeed, name,
                                std::string(reinterpret_cast<const char*>(data), len)});
    return absl::OkStatus();
  });
}

kars_status kars_policy_check(kars_buf* out_warnings, const kars_policy_sources* sources,
                              kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(sources);
    auto set = pol::CompilePolicySet(sources->sources);
    if (!set.ok()) return set.status();
    if (out_warnings != nullptr) {
      std::string text;
      for (const auto& w : (*set)->warnings) absl::StrAppend(&text, w, "\n");
      FillBuf(out_warnings, text);
    }
    return absl::OkStatus();
  });
}

kars_status kars_policy_engine_new(kars_policy_engine** out, const kars_policy_options* options,
                                   kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    pol::EngineOptions engine_options = options != nullptr ? options->options : pol::EngineOptions{};
    if (options != nullptr && !options->journal_path.empty()) {
      auto store = pol::JournalCounterStore::Open(options->journal_path);
      if (!store.ok()) return store.status();
      engine_options.counters = *std::move(store);
    }
    *out = new kars_policy_engine(engine_options);
    return absl::OkStatus();
  });
}

void kars_policy_engine_free(kars_policy_engine* engine) {
  GuardVoid([&] { delete engine; });
}

kars_status kars_policy_engine_load(kars_policy_engine* engine, const kars_policy_sources* sources,
                                    kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(engine);
    KARS_REQUIRE_ARG(sources);
    return engine->engine.Load(sources->sources);
  });
}

kars_status kars_policy_engine_digest(kars_buf* out_hex, const kars_policy_engine* engine,
                                      kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out_hex);
    KARS_REQUIRE_ARG(engine);
    FillBuf(out_hex, engine->engine.Current()->digest_hex);
    return absl::OkStatus();
  });
}

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

kars_status kars_policy_decision_new(kars_policy_decision** out, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    *out = new kars_policy_decision();
    return absl::OkStatus();
  });
}

void kars_policy_decision_free(kars_policy_decision* decision) {
  GuardVoid([&] { delete decision; });
}

kars_status kars_policy_engine_decide(kars_policy_decision* out, kars_policy_engine* engine,
                                      const kars_policy_request* request, uint32_t flags,
                                      kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(engine);
    KARS_REQUIRE_ARG(request);
    return engine->engine.Decide(request->request, (flags & KARS_POLICY_EXPLAIN) != 0, &out->decision);
  });
}

kars_status kars_policy_engine_decide_json(kars_policy_decision* out, kars_policy_engine* engine,
                                           const char* json, size_t len, uint32_t flags,
                                           kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(engine);
    KARS_REQUIRE_ARG(json);
    kars::v1::Request request;
    absl::Status s = pol::ParseRequestJson(absl::string_view(json, len), &request);
    if (!s.ok()) {
      out->decision = pol::Decision{};
      out->decision.reason = "request.invalid";
      return s;
    }
    return engine->engine.Decide(request, (flags & KARS_POLICY_EXPLAIN) != 0, &out->decision);
  });
}

kars_policy_effect kars_policy_decision_effect(const kars_policy_decision* d) {
  return d == nullptr ? KARS_POLICY_DENY : static_cast<kars_policy_effect>(d->decision.effect);
}

const char* kars_policy_decision_reason(const kars_policy_decision* d) {
  return d == nullptr ? "" : d->decision.reason;
}

size_t kars_policy_decision_rule_count(const kars_policy_decision* d) {
  return d == nullptr ? 0 : d->decision.rule_count;
}

const char* kars_policy_decision_rule_id(const kars_policy_decision* d, size_t index) {
  if (d == nullptr || index >= d->decision.rule_count || d->decision.set == nullptr) return "";
  return d->decision.set->rules[d->decision.rules[index]].id.c_str();
}

const char* kars_policy_decision_ticket(const kars_policy_decision* d) {
  return d == nullptr ? "" : d->decision.ticket.c_str();
}

uint64_t kars_policy_decision_reservation(const kars_policy_decision* d) {
  return d == nullptr ? 0 : d->decision.reservation;
}

int64_t kars_policy_decision_retry_after_ms(const kars_policy_decision* d) {
  return d == nullptr ? 0 : d->decision.retry_after_ms;
}

const char* kars_policy_decision_explanation(const kars_policy_decision* d) {
  return d == nullptr ? "" : d->decision.explanation.c_str();
}

kars_status kars_policy_decision_to_json(kars_buf* out, const kars_policy_decision* decision,
                                         kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(decision);
    const pol::Decision& d = decision->decision;
    std::string rules;
    for (uint32_t i = 0; i < d.rule_count; ++i) {
      absl::StrAppend(&rules, i == 0 ? "" : ",", JsonQuote(d.set->rules[d.rules[i]].id));
    }
    std::string json = absl::StrCat(
        "{\"effect\":\"", pol::EffectName(d.effect), "\",\"reason\":", JsonQuote(d.reason),
        ",\"rules\":[", rules, "],\"ticket\":", JsonQuote(d.ticket),
        ",\"reservation\":", d.reservation, ",\"retryAfterMs\":", d.retry_after_ms,
        ",\"policyDigest\":", JsonQuote(d.set != nullptr ? d.set->digest_hex : ""),
        d.explanation.empty() ? "" : absl::StrCat(",\"explanation\":", JsonQuote(d.explanation)),
        "}");
    FillBuf(out, json);
    return absl::OkStatus();
  });
}

kars_status kars_policy_engine_settle(kars_policy_engine* engine, uint64_t reservation,
                                      uint64_t prompt_tokens, uint64_t output_tokens,
                                      kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(engine);
    return engine->engine.Settle(reservation, prompt_tokens, output_tokens);
  });
}

kars_status kars_policy_engine_pending(kars_buf* out_json, kars_policy_engine* engine,
                                       kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out_json);
    KARS_REQUIRE_ARG(engine);
    std::string json = "[";
    bool first = true;
    for (const auto& t : engine->engine.approvals().Pending()) {
      absl::StrAppend(&json, first ? "" : ",", "{\"id\":", JsonQuote(t.id),
                      ",\"requestDigest\":", JsonQuote(t.request_digest),
                      ",\"request\":", t.summary.empty() ? "null" : t.summary,
                      ",\"createdUnixMs\":", t.created_ns / 1000000,
                      ",\"expiresUnixMs\":", t.expires_ns / 1000000, "}");
      first = false;
    }
    json += "]";
    FillBuf(out_json, json);
    return absl::OkStatus();
  });
}

kars_status kars_policy_engine_approve(kars_policy_engine* engine, const char* ticket,
                                       const char* approver, const char* reason, kars_error** err) {
  return Guard(err, [&]() -> absl::Status { return Resolve(engine, ticket, approver, reason, true); });
}

kars_status kars_policy_engine_reject(kars_policy_engine* engine, const char* ticket,
                                      const char* approver, const char* reason, kars_error** err) {
  return Guard(err, [&]() -> absl::Status { return Resolve(engine, ticket, approver, reason, false); });
}

kars_status kars_policy_engine_wait(kars_policy_ticket_state* out_state, kars_policy_engine* engine,
                                    const char* ticket, uint64_t timeout_ms, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out_state);
    KARS_REQUIRE_ARG(engine);
    KARS_REQUIRE_ARG(ticket);
    pol::TicketState state;
    int64_t timeout_ns = timeout_ms > INT64_MAX / 1000000 ? INT64_MAX : static_cast<int64_t>(timeout_ms) * 1000000;
    absl::Status s = engine->engine.approvals().Wait(ticket, timeout_ns, &state);
    if (!s.ok()) return s;
    *out_state = static_cast<kars_policy_ticket_state>(state);
    return absl::OkStatus();
  });
}

kars_status kars_policy_engine_scan(kars_buf* out_json, kars_policy_engine* engine, const char* text,
                                    size_t len, const char* annotations_json,
                                    size_t annotations_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out_json);
    KARS_REQUIRE_ARG(engine);
    if (text == nullptr && len != 0) return absl::InvalidArgumentError("text must not be NULL");
    kars::v1::SafetyAnnotations annotations;
    if (annotations_json != nullptr && annotations_len != 0) {
      google::protobuf::util::JsonParseOptions options;
      auto status = google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(annotations_json, annotations_len), &annotations, options);
      if (!status.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "annotations JSON: ", std::string(status.message().data(), status.message().size())));
      }
    }
    auto set = engine->engine.Current();
    pol::SafetyResult result;
    absl::string_view input(text == nullptr ? "" : text, len);
    absl::Status s = set->safety.Evaluate(input, annotations, &result);
    if (!s.ok()) return s;
    static constexpr const char* kActions[] = {"allow", "audit", "redact", "deny"};
    std::string json = absl::StrCat("{\"action\":\"", kActions[result.action], "\",\"reason\":\"",
                                    result.reason, "\",\"findings\":[");
    for (size_t i = 0; i < result.findings.size(); ++i) {
      const auto& f = result.findings[i];
      absl::StrAppend(&json, i == 0 ? "" : ",", "{\"category\":\"", pol::SafetyCategoryName(f.category),
                      "\",\"severity\":\"", pol::SeverityName(f.severity), "\",\"detector\":\"",
                      f.detector, "\",\"begin\":", f.begin, ",\"end\":", f.end, "}");
    }
    json += "],\"triggered\":[";
    for (size_t i = 0; i < result.triggered.size(); ++i) {
      absl::StrAppend(&json, i == 0 ? "" : ",", JsonQuote(result.triggered[i]));
    }
    json += "]";
    if (result.action == pol::SafetyResult::kRedact) absl::StrAppend(&json, ",\"redacted\":", JsonQuote(result.redacted));
    json += "}";
    FillBuf(out_json, json);
    return absl::OkStatus();
  });
}

kars_status kars_policy_engine_wait_async(kars_policy_engine* engine, const char* ticket,
                                          uint64_t timeout_ms,
                                          int (*callback)(kars_policy_ticket_state state, void* userdata),
                                          void* userdata, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(engine);
    KARS_REQUIRE_ARG(ticket);
    KARS_REQUIRE_ARG(callback);
    pol::TicketInfo info;
    absl::Status s = engine->engine.approvals().Get(ticket, &info);
    if (!s.ok()) return s;
    int64_t timeout_ns = timeout_ms > INT64_MAX / 1000000 ? INT64_MAX : static_cast<int64_t>(timeout_ms) * 1000000;
    std::thread([shared = engine->shared, id = std::string(ticket), timeout_ns, callback, userdata] {
      pol::TicketState state = pol::TicketState::kPending;
      (void)shared->approvals().Wait(id, timeout_ns, &state);
      (void)callback(static_cast<kars_policy_ticket_state>(state), userdata);
    }).detach();
    return absl::OkStatus();
  });
}

kars_status kars_policy_engine_test(kars_buf* out_report, size_t* out_failed,
                                    kars_policy_engine* engine, const char* name,
                                    const uint8_t* cases, size_t len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out_report);
    KARS_REQUIRE_ARG(engine);
    KARS_REQUIRE_ARG(name);
    if (cases == nullptr && len != 0) return absl::InvalidArgumentError("cases must not be NULL");
    pol::PolicyTestReport report;
    absl::Status s = pol::RunPolicyTests(
        engine->engine.Current(), &engine->engine.clock(), name,
        absl::string_view(reinterpret_cast<const char*>(cases), len), &report);
    if (!s.ok()) return s;
    FillBuf(out_report, report.text);
    if (out_failed != nullptr) *out_failed = report.failed;
    return absl::OkStatus();
  });
}

}  // extern "C"
