// One decision: validate the request, collect matching rules through the indexes, combine
// (deny > approve > allow/audit; nothing matched → deny), then egress guards, content-safety
// floors, approvals, limits.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "libkars/policy/engine.h"

namespace kars::policy {
namespace {

absl::Status Missing(absl::string_view field) {
  return absl::InvalidArgumentError(absl::StrCat("request is missing required field '", field, "'"));
}

absl::Status ValidateAnnotations(const v1::SafetyAnnotations& annotations) {
  for (const auto& [category, severity] : annotations.severities()) {
    SafetyCategory c;
    int level;
    if (!ParseSafetyCategory(category, &c) || !ParseSeverity(severity, &level)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "request field 'content.annotations' holds '", category, "': '", severity,
          "' (categories: secrets, pii, prompt_injection, exfiltration_url, hate, sexual, "
          "violence, self_harm, jailbreak; severities: safe, low, medium, high)"));
    }
  }
  return absl::OkStatus();
}

absl::Status Validate(const v1::Request& r, Kind* kind) {
  if (!RequestKind(r, kind)) {
    return absl::InvalidArgumentError(
        "request names no kind: set one of inference, tool, mcp, egress, mesh, a2a");
  }
  if (r.principal().agent().empty()) return Missing("principal.agent");
  // Checked whether or not the set has floors: a host's mistake should not depend on the policy.
  // Without content there is nothing to check (and no map to walk).
  if (r.has_content()) {
    if (absl::Status s = ValidateAnnotations(r.content().annotations()); !s.ok()) return s;
  }
  switch (*kind) {
    case Kind::kInference:
      if (r.inference().model().empty()) return Missing("inference.model");
      break;
    case Kind::kTool:
      if (r.tool().name().empty()) return Missing("tool.name");
      break;
    case Kind::kMcp:
      if (r.mcp().server().empty()) return Missing("mcp.server");
      if (r.mcp().tool().empty()) return Missing("mcp.tool");
      break;
    case Kind::kEgress:
      if (r.egress().host().empty()) return Missing("egress.host");
      if (r.egress().port() == 0 || r.egress().port() > 65535) {
        return absl::InvalidArgumentError("request field 'egress.port' must be 1..65535");
      }
      break;
    case Kind::kMesh:
      if (r.mesh().direction() != "send" && r.mesh().direction() != "receive") {
        return absl::InvalidArgumentError("request field 'mesh.direction' must be send or receive");
      }
      if (r.mesh().peer().empty()) return Missing("mesh.peer");
      break;
    case Kind::kA2a:
      if (r.a2a().peer().empty()) return Missing("a2a.peer");
      break;
  }
  return absl::OkStatus();
}

absl::Status BuildEgressFacts(const v1::EgressRequest& e, EgressFacts* f) {
  absl::string_view host = e.host();
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host.size() >= sizeof f->host_buf) {
    return absl::InvalidArgumentError("request field 'egress.host' is empty or longer than 253");
  }
  bool has_colon = false;
  const bool is_name = BuildLowercaseHostView(host, f->host_buf, &f->host, &has_colon);
  const absl::string_view lower(f->host_buf, host.size());
  // Only something that starts like an address can be one; skip the parse for names.
  if ((absl::ascii_isdigit(lower[0]) || has_colon) && ParseIp(lower, &f->addrs[0])) {
    f->host.count = 0;
    f->host_is_ip = true;
    f->addr_count = 1;
    f->any_internal = IsInternalAddress(f->addrs[0]);
    return absl::OkStatus();
  }
  if (!is_name) {
    return absl::InvalidArgumentError(
        "request field 'egress.host' has an empty label or more than 127 labels");
  }
  // RepeatedPtrField<std::string>'s accessors are compiled into libprotobuf, not inlined: one
  // begin/end pair serves the size check and the loop.
  const auto first = e.resolved_ips().begin(), last = e.resolved_ips().end();
  if (static_cast<size_t>(last - first) > EgressFacts::kMaxAddrs) {
    return absl::InvalidArgumentError(
        absl::StrCat("request field 'egress.resolvedIps' has more than ", EgressFacts::kMaxAddrs,
                     " addresses"));
  }
  for (auto it = first; it != last; ++it) {
    const std::string& ip = *it;
    IpAddr& addr = f->addrs[f->addr_count];
    if (!ParseIp(ip, &addr)) {
      return absl::InvalidArgumentError(
          absl::StrCat("request field 'egress.resolvedIps' holds '", ip, "', not an IP address"));
    }
    f->any_internal |= IsInternalAddress(addr);
    ++f->addr_count;
  }
  return absl::OkStatus();
}

struct Accumulator {
  const PolicySet& set;
  const v1::Request& request;
  const EgressFacts* egress;
  Decision* out;
  bool any[4] = {};
  bool egress_cidr_allow = false;  // an allow/audit rule admitted the destination by CIDR
  bool egress_host_allow = false;  // an allow/audit rule named the host (exact or `*.` pattern)
  bool host_matched = false;       // the rules come from the host index

  void operator()(uint32_t index) {
    for (uint32_t i = 0; i < out->rule_count; ++i) {
      if (out->rules[i] == index) return;  // indexes may yield a rule twice
    }
    const Rule& rule = set.rules[index];
    if (!rule.Matches(request, egress, nullptr, host_matched)) return;
    any[static_cast<int>(rule.effect)] = true;
    if (rule.effect == Effect::kAllow || rule.effect == Effect::kAudit) {
      egress_cidr_allow |= !rule.cidrs.empty();
      egress_host_allow |= !rule.hosts.empty();
    }
    ++out->matched_total;
    if (out->rule_count < Decision::kMaxRules) out->rules[out->rule_count++] = index;
  }
};

// Egress guards that apply after the rules allowed: the blocklist; risky TLDs, unless a rule
// named the host explicitly; and destinations a name must not reach (internal addresses, bare
// IPs) unless a rule allowed them by CIDR.
const char* EgressGuard(const PolicySet& set, const EgressFacts& f, bool cidr_allowed,
                        bool host_allowed) {
  if (!f.host_is_ip) {
    if (set.blocklist.ContainsDomainOrParent(f.host)) return "egress.blocklist";
    if (!host_allowed && set.risky_tlds.Find(f.host, f.host.count - 1) >= 0) {
      return "egress.risky_tld";
    }
    if (f.addr_count == 0) return "egress.unresolved";
  }
  if (cidr_allowed) return nullptr;
  if (f.host_is_ip) return "egress.bare_ip";
  if (f.any_internal) return "egress.internal_address";
  return nullptr;
}

}  // namespace

// Content-safety floors over the request's content: deny and a missing required annotation
// deny (even over an approval); audit flags an allowed request; redact leaves the effect and
// hands the host the redacted text.
absl::Status Engine::ApplySafety(const PolicySet& set, const v1::Request& request, Decision* out) {
  absl::Status status = set.safety.Evaluate(request.content().text(),
                                            request.content().annotations(), &out->safety);
  if (!status.ok()) {
    out->effect = Effect::kDeny;
    out->reason = "request.invalid";
    out->ticket.clear();
    return absl::InvalidArgumentError(absl::StrCat("request field 'content.annotations': ",
                                                   status.message()));
  }
  out->safety_applied = true;
  switch (out->safety.action) {
    case SafetyResult::kAllow: break;
    case SafetyResult::kDeny:
      out->effect = Effect::kDeny;
      out->reason = out->safety.reason;  // safety.deny | safety.annotation_missing
      out->ticket.clear();
      break;
    case SafetyResult::kAudit:
    case SafetyResult::kRedact:
      if (out->effect == Effect::kAllow) out->effect = Effect::kAudit;
      if (out->effect == Effect::kAudit) out->reason = out->safety.reason;
      break;
  }
  return absl::OkStatus();
}

void Engine::ApplyApproval(const v1::Request& request, Decision* out) {
  const std::string digest = RequestDigest(request);
  if (digest.empty()) {
    out->effect = Effect::kDeny;
    out->reason = "approval.unavailable";
    return;
  }
  if (!request.approval_ticket().empty()) {
    switch (approvals_.Consume(request.approval_ticket(), digest)) {
      case ApprovalQueue::Use::kGranted:
        out->effect = Effect::kAllow;
        out->reason = "approval.granted";
        return;
      case ApprovalQueue::Use::kPending:
        out->ticket = request.approval_ticket();
        out->reason = "approval.pending";
        return;
      case ApprovalQueue::Use::kDenied: out->reason = "approval.denied"; break;
      case ApprovalQueue::Use::kExpired: out->reason = "approval.expired"; break;
      case ApprovalQueue::Use::kUsed: out->reason = "approval.used"; break;
      case ApprovalQueue::Use::kMismatch: out->reason = "approval.mismatch"; break;
      case ApprovalQueue::Use::kUnknown: out->reason = "approval.unknown"; break;
    }
    out->effect = Effect::kDeny;
    return;
  }
  std::string summary;
  google::protobuf::util::JsonPrintOptions options;
  (void)google::protobuf::util::MessageToJsonString(request, &summary, options);
  out->ticket = approvals_.Open(digest, summary);
  if (out->ticket.empty()) {
    out->effect = Effect::kDeny;
    out->reason = "approval.unavailable";
    return;
  }
  out->reason = "approval.required";
}

absl::Status Engine::Decide(const v1::Request& request, bool explain, Decision* out) {
  out->effect = Effect::kDeny;
  out->reason = "default.deny";
  out->rule_count = 0;
  out->matched_total = 0;
  out->ticket.clear();
  out->reservation = 0;
  out->retry_after_ms = 0;
  out->explanation.clear();
  out->safety_applied = false;
  Kind kind = Kind::kTool;  // set by Validate; initialised for the compiler's flow analysis
  absl::Status status = Validate(request, &kind);
  if (!status.ok()) {
    out->reason = "request.invalid";
    return status;
  }
  EgressFacts facts;
  if (kind == Kind::kEgress) {
    status = BuildEgressFacts(request.egress(), &facts);
    if (!status.ok()) {
      out->reason = "request.invalid";
      return status;
    }
  }
  ExpireReservations();
  if (out->set == nullptr || out->set.get() != current_.load(std::memory_order_acquire)) {
    ReaderMutexLock lock(&set_mu_);
    out->set = set_;
  }
  const PolicySet& set = *out->set;
  Accumulator acc{set, request, kind == Kind::kEgress ? &facts : nullptr, out};
  if (kind == Kind::kEgress) {
    acc.host_matched = true;
    set.egress_hosts.ForEach(facts.host, acc);
    acc.host_matched = false;  // CIDR and catch-all rules have no host patterns
    for (size_t i = 0; i < facts.addr_count; ++i) set.egress_cidrs.ForEach(facts.addrs[i], acc);
    for (uint32_t r : set.egress_any) acc(r);
  } else {
    set.names[static_cast<int>(kind)].ForEach(PrimaryValue(request, kind), acc);
  }
  // Rule order never matters: the recorded ids are reported sorted by rule id.
  if (out->rule_count > 1) {
    std::sort(out->rules, out->rules + out->rule_count, [&set](uint32_t a, uint32_t b) {
      return set.rules[a].id < set.rules[b].id;
    });
  }

  if (acc.any[static_cast<int>(Effect::kDeny)]) {
    out->reason = "rule.deny";
  } else if (acc.any[static_cast<int>(Effect::kApprove)]) {
    out->effect = Effect::kApprove;  // the ticket comes after the guards: never ask in vain
  } else if (acc.any[static_cast<int>(Effect::kAudit)]) {
    out->effect = Effect::kAudit;
    out->reason = "rule.audit";
  } else if (acc.any[static_cast<int>(Effect::kAllow)]) {
    out->effect = Effect::kAllow;
    out->reason = "rule.allow";
  }
  if (kind == Kind::kEgress && out->effect != Effect::kDeny) {
    if (const char* guard = EgressGuard(set, facts, acc.egress_cidr_allow, acc.egress_host_allow); guard != nullptr) {
      out->effect = Effect::kDeny;
      out->reason = guard;
    }
  }
  if (out->effect != Effect::kDeny && !set.safety.empty() &&
      (request.has_content() || kind == Kind::kInference)) {
    status = ApplySafety(set, request, out);
    if (!status.ok()) return status;
  }
  if (out->effect == Effect::kApprove) ApplyApproval(request, out);
  if ((out->effect == Effect::kAllow || out->effect == Effect::kAudit) && !set.limits.empty()) {
    ApplyLimits(set, request, kind, out);
  }
  if (explain) {
    absl::StrAppend(&out->explanation, "policy set ", set.digest_hex.substr(0, 16), " (",
                    set.rules.size(), " rules): ", KindName(kind), " request, ",
                    out->matched_total, " rule(s) matched\n");
    for (uint32_t i = 0; i < out->rule_count; ++i) {
      set.rules[out->rules[i]].Matches(request, kind == Kind::kEgress ? &facts : nullptr,
                                       &out->explanation);
    }
    if (out->matched_total > out->rule_count) {
      absl::StrAppend(&out->explanation, "(", out->matched_total - out->rule_count,
                      " more not listed)\n");
    }
    if (out->safety_applied) {
      absl::StrAppend(&out->explanation, "content safety: ", out->safety.reason, " (",
                      out->safety.findings.size(), " finding(s)");
      for (const std::string& t : out->safety.triggered) absl::StrAppend(&out->explanation, "; ", t);
      absl::StrAppend(&out->explanation, ")\n");
    }
    absl::StrAppend(&out->explanation, "combination: deny > approve > audit > allow; "
                    "nothing matched → deny\n", "decision: ", EffectName(out->effect),
                    " (", out->reason, ")\n");
  }
  return absl::OkStatus();
}

}  // namespace kars::policy
