// Policy documents → PolicySet: validation of every field, rule compilation, indexes, digest.
#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "absl/strings/str_cat.h"
#include "libkars/base/openssl.h"
#include "libkars/policy/compiler_internal.h"
#include "libkars/policy/policy_set.h"
#include "libkars/policy/warnings.h"
#include "libkars/policy/yaml_to_proto.h"
#include "yaml-cpp/yaml.h"

namespace kars::policy {
namespace {

namespace pb = google::protobuf;

constexpr absl::string_view kApiVersion = "kars.dev/v1";

absl::Status AddNames(const LoadedDocument& d, const pb::Message& msg, int field,
                      const pb::RepeatedPtrField<std::string>& patterns, NameMatcher* out,
                      bool as_prefix = false) {
  for (int i = 0; i < patterns.size(); ++i) {
    absl::Status s = as_prefix ? out->AddPrefix(patterns[i]) : out->Add(patterns[i]);
    if (!s.ok()) return d.Error(&msg, field, i, kErrPattern, s.message());
  }
  return absl::OkStatus();
}

absl::Status AddArgs(const LoadedDocument& d, const pb::Message& msg, int field,
                     const pb::RepeatedPtrField<v1::ArgCondition>& conditions, Rule* rule) {
  for (int i = 0; i < conditions.size(); ++i) {
    ArgMatcher m;
    bool bad_regex = false;
    absl::Status s = m.Compile(conditions[i], &bad_regex);
    if (!s.ok()) {
      absl::string_view code = bad_regex ? kErrRegex : kErrConflict;
      return d.Error(&conditions[i], -1, -1, code, s.message());
    }
    rule->args.push_back(std::move(m));
  }
  (void)msg;
  (void)field;
  return absl::OkStatus();
}

absl::Status CompileEgress(const LoadedDocument& d, const v1::EgressMatch& m, Rule* rule) {
  for (int i = 0; i < m.hosts_size(); ++i) {
    absl::Status s = rule->hosts.Add(m.hosts(i));
    if (!s.ok()) return d.Error(&m, v1::EgressMatch::kHostsFieldNumber, i, kErrPattern, s.message());
  }
  for (int i = 0; i < m.cidrs_size(); ++i) {
    absl::Status s = rule->cidrs.Add(m.cidrs(i));
    if (!s.ok()) return d.Error(&m, v1::EgressMatch::kCidrsFieldNumber, i, kErrPattern, s.message());
  }
  for (int i = 0; i < m.ports_size(); ++i) {
    absl::Status s = rule->ports.Add(m.ports(i));
    if (!s.ok()) return d.Error(&m, v1::EgressMatch::kPortsFieldNumber, i, kErrPattern, s.message());
  }
  for (int i = 0; i < m.methods_size(); ++i) {
    if (m.methods(i) != absl::AsciiStrToUpper(m.methods(i))) {
      return d.Error(&m, v1::EgressMatch::kMethodsFieldNumber, i, kErrPattern,
                     absl::StrCat("HTTP method '", m.methods(i), "' must be uppercase"));
    }
  }
  for (int i = 0; i < m.paths_size(); ++i) {
    if (m.paths(i).empty() || m.paths(i)[0] != '/') {
      return d.Error(&m, v1::EgressMatch::kPathsFieldNumber, i, kErrPattern,
                     absl::StrCat("path prefix '", m.paths(i), "' must start with '/'"));
    }
  }
  absl::Status s = AddNames(d, m, v1::EgressMatch::kSchemesFieldNumber, m.schemes(), &rule->names[0]);
  if (s.ok()) s = AddNames(d, m, v1::EgressMatch::kMethodsFieldNumber, m.methods(), &rule->names[1]);
  if (s.ok()) s = AddNames(d, m, v1::EgressMatch::kPathsFieldNumber, m.paths(), &rule->names[2], true);
  return s;
}

absl::Status CompileRule(const LoadedDocument& d, const v1::Rule& r, Rule* rule) {
  using R = v1::Rule;
  rule->id = r.id();
  rule->document = d.doc.metadata().name();
  rule->source = d.source;
  rule->pos = d.positions.Find(&r);
  if (!ParseEffect(r.effect(), &rule->effect)) {
    return d.Error(&r, R::kEffectFieldNumber, -1, r.effect().empty() ? kErrMissing : kErrValue,
                   absl::StrCat("rule '", r.id(), "': effect must be allow, deny, approve or audit",
                                r.effect().empty() ? "" : absl::StrCat(", not '", r.effect(), "'")));
  }
  int blocks = r.has_inference() + r.has_tool() + r.has_mcp() + r.has_egress() + r.has_mesh() +
               r.has_a2a();
  if (blocks != 1) {
    return d.Error(&r, -1, -1, blocks == 0 ? kErrMissing : kErrConflict,
                   absl::StrCat("rule '", r.id(), "' must name exactly one kind block (inference, "
                                "tool, mcp, egress, mesh or a2a), found ", blocks));
  }
  absl::Status s = CompilePrincipal(d, r.principal(), &rule->principal);
  if (!s.ok()) return s;
  if (r.has_inference()) {
    const auto& m = r.inference();
    rule->kind = Kind::kInference;
    s = AddNames(d, m, 1, m.providers(), &rule->names[0]);
    if (s.ok()) s = AddNames(d, m, 2, m.models(), &rule->names[1]);
    if (s.ok()) s = AddNames(d, m, 3, m.operations(), &rule->names[2]);
  } else if (r.has_tool()) {
    rule->kind = Kind::kTool;
    s = AddNames(d, r.tool(), 1, r.tool().names(), &rule->names[0]);
    if (s.ok()) s = AddArgs(d, r.tool(), 2, r.tool().args(), rule);
  } else if (r.has_mcp()) {
    const auto& m = r.mcp();
    rule->kind = Kind::kMcp;
    s = AddNames(d, m, 1, m.servers(), &rule->names[0]);
    if (s.ok()) s = AddNames(d, m, 2, m.tools(), &rule->names[1]);
    if (s.ok()) s = AddArgs(d, m, 3, m.args(), rule);
  } else if (r.has_egress()) {
    rule->kind = Kind::kEgress;
    s = CompileEgress(d, r.egress(), rule);
  } else if (r.has_mesh()) {
    const auto& m = r.mesh();
    rule->kind = Kind::kMesh;
    for (int i = 0; i < m.directions_size(); ++i) {
      if (m.directions(i) != "send" && m.directions(i) != "receive") {
        return d.Error(&m, 1, i, kErrValue,
                       absl::StrCat("mesh direction must be send or receive, not '",
                                    m.directions(i), "'"));
      }
    }
    s = AddNames(d, m, 1, m.directions(), &rule->names[0]);
    if (s.ok()) s = AddNames(d, m, 2, m.peers(), &rule->names[1]);
    if (s.ok()) s = AddNames(d, m, 3, m.groups(), &rule->names[2]);
  } else {
    const auto& m = r.a2a();
    rule->kind = Kind::kA2a;
    s = AddNames(d, m, 1, m.peers(), &rule->names[0]);
    if (s.ok()) s = AddNames(d, m, 2, m.methods(), &rule->names[1]);
  }
  return s;
}

absl::Status CompileSafetyFloor(const LoadedDocument& d, const v1::SafetyFloor& f, SafetyPolicy* out) {
  SafetyFloorRule rule;
  if (!ParseSafetyCategory(f.category(), &rule.category)) {
    return d.Error(&f, f.category().empty() ? -1 : 1, -1, f.category().empty() ? kErrMissing : kErrValue,
                   absl::StrCat("unknown safety category '", f.category(), "' (secrets, pii, prompt_injection, "
                                "exfiltration_url, hate, sexual, violence, self_harm, jailbreak)"));
  }
  if (!ParseSeverity(f.severity(), &rule.severity) || rule.severity == 0) {
    return d.Error(&f, f.severity().empty() ? -1 : 2, -1, f.severity().empty() ? kErrMissing : kErrValue,
                   "a safety floor's severity must be low, medium or high");
  }
  if (f.action() == "deny") {
    rule.action = SafetyFloorRule::kDeny;
  } else if (f.action() == "redact") {
    rule.action = SafetyFloorRule::kRedact;
    if (!HasLocalDetector(rule.category)) {
      return d.Error(&f, 3, -1, kErrConflict,
                     absl::StrCat("'", f.category(), "' has no local detector, so it cannot be redacted"));
    }
  } else if (f.action() == "audit") {
    rule.action = SafetyFloorRule::kAudit;
  } else {
    return d.Error(&f, f.action().empty() ? -1 : 3, -1, f.action().empty() ? kErrMissing : kErrValue,
                   "a safety floor's action must be deny, redact or audit");
  }
  rule.require_annotation = f.require_annotation();
  out->Add(rule);
  return absl::OkStatus();
}

absl::Status LoadDocuments(const PolicySource& src, std::vector<std::unique_ptr<LoadedDocument>>* out) {
  std::vector<YAML::Node> nodes;
  absl::Status s = ParseYamlDocuments(src.name, src.text, &nodes);
  if (!s.ok()) return s;
  for (const auto& node : nodes) {
    if (node.IsNull()) continue;  // an empty document between `---` separators
    auto d = std::make_unique<LoadedDocument>();
    d->source = src.name;
    s = YamlToMessage(src.name, node, &d->doc, &d->positions);
    if (!s.ok()) return s;
    const auto& doc = d->doc;
    using D = v1::PolicyDocument;
    if (doc.api_version() != kApiVersion) {
      return d->Error(&doc, doc.api_version().empty() ? -1 : D::kApiVersionFieldNumber, -1,
                      doc.api_version().empty() ? kErrMissing : kErrValue,
                      absl::StrCat("apiVersion must be '", kApiVersion, "'"));
    }
    if (doc.kind() != "Policy") {
      return d->Error(&doc, doc.kind().empty() ? -1 : D::kKindFieldNumber, -1,
                      doc.kind().empty() ? kErrMissing : kErrValue, "kind must be 'Policy'");
    }
    if (doc.metadata().name().empty()) {
      return d->Error(&doc, D::kMetadataFieldNumber, -1, kErrMissing, "metadata.name is required");
    }
    out->push_back(std::move(d));
  }
  return absl::OkStatus();
}

std::string Digest(const std::vector<std::unique_ptr<LoadedDocument>>& docs,
                   const std::vector<const PolicySource*>& feeds) {
  std::vector<std::pair<std::string, std::string>> parts;
  for (const auto& d : docs) {
    std::string bytes;
    pb::io::StringOutputStream stream(&bytes);
    pb::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    d->doc.SerializeToCodedStream(&coded);
    coded.Trim();
    parts.emplace_back(absl::StrCat("doc:", d->doc.metadata().name()), std::move(bytes));
  }
  for (const PolicySource* f : feeds) parts.emplace_back(absl::StrCat("feed:", f->name), f->text);
  std::sort(parts.begin(), parts.end());
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  for (const auto& [name, bytes] : parts) {
    for (const std::string* p : {&name, &bytes}) {
      uint64_t len = p->size();
      unsigned char len_bytes[8];
      for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(len >> (56 - 8 * i));
      ok = ok && EVP_DigestUpdate(ctx.get(), len_bytes, 8) == 1 &&
           EVP_DigestUpdate(ctx.get(), p->data(), p->size()) == 1;
    }
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), md, &md_len) == 1;
  if (!ok) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < md_len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 15]);
  }
  return hex;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const PolicySet>> CompilePolicySet(
    const std::vector<PolicySource>& sources) {
  auto set = std::make_shared<PolicySet>();
  std::vector<std::unique_ptr<LoadedDocument>> docs;
  std::vector<const PolicySource*> feeds;
  for (const auto& src : sources) {
    absl::Status s;
    if (src.type == PolicySource::kDomainFeed) {
      s = LoadDomainFeed(src, &set->blocklist);
      feeds.push_back(&src);
    } else {
      s = LoadDocuments(src, &docs);
    }
    if (!s.ok()) return s;
  }
  absl::flat_hash_map<std::string, const LoadedDocument*> doc_names;
  for (const auto& d : docs) {
    auto [it, inserted] = doc_names.emplace(d->doc.metadata().name(), d.get());
    if (!inserted) {
      return d->Error(&d->doc.metadata(), v1::Metadata::kNameFieldNumber, -1, kErrDuplicate,
                      absl::StrCat("a document named '", d->doc.metadata().name(),
                                   "' is already loaded from ", it->second->source,
                                   "; a set never silently replaces a document"));
    }
  }
  absl::flat_hash_map<std::string, uint32_t> rule_ids;
  for (const auto& d : docs) {
    const auto& rules = d->doc.spec().rules();
    for (int i = 0; i < rules.size(); ++i) {
      const v1::Rule& r = rules[i];
      if (r.id().empty()) {
        return d->Error(&r, -1, -1, kErrMissing, "a rule needs an id");
      }
      uint32_t index = static_cast<uint32_t>(set->rules.size());
      auto [it, inserted] = rule_ids.emplace(r.id(), index);
      if (!inserted) {
        return d->Error(&r, v1::Rule::kIdFieldNumber, -1, kErrDuplicate,
                        absl::StrCat("rule id '", r.id(), "' is already used in document '",
                                     set->rules[it->second].document, "'"));
      }
      Rule& rule = set->rules.emplace_back();
      absl::Status s = CompileRule(*d, r, &rule);
      if (!s.ok()) return s;
    }
    const auto& egress = d->doc.spec().egress();
    for (int i = 0; i < egress.blocklist_size(); ++i) {
      absl::Status s = AddDomain(egress.blocklist(i), &set->blocklist);
      if (!s.ok()) return d->Error(&egress, 1, i, kErrPattern, s.message());
    }
    for (int i = 0; i < egress.risky_tlds_size(); ++i) {
      absl::Status s = AddDomain(egress.risky_tlds(i), &set->risky_tlds);
      if (!s.ok()) return d->Error(&egress, 2, i, kErrPattern, s.message());
    }
    if (egress.disable_default_risky_tlds()) set->default_risky_tlds = false;
    for (const v1::SafetyFloor& f : d->doc.spec().safety().floors()) {
      absl::Status s = CompileSafetyFloor(*d, f, &set->safety);
      if (!s.ok()) return s;
    }
  }
  if (set->default_risky_tlds) {
    for (absl::string_view tld : DefaultRiskyTlds()) set->risky_tlds.Insert(tld);
  }
  absl::Status s = CompileLimits(docs, rule_ids, set.get());
  if (!s.ok()) return s;

  for (uint32_t i = 0; i < set->rules.size(); ++i) {
    const Rule& rule = set->rules[i];
    if (rule.kind != Kind::kEgress) {
      set->names[static_cast<int>(rule.kind)].Add(rule.primary(), i);
    } else if (!rule.hosts.empty()) {
      set->egress_hosts.Add(rule.hosts, i);
    } else if (!rule.cidrs.empty()) {
      set->egress_cidrs.Add(rule.cidrs, i);
    } else {
      set->egress_any.push_back(i);
    }
  }
  for (auto& index : set->names) index.Finish();
  set->egress_cidrs.Finish();
  set->document_count = docs.size();
  set->warnings = FindWarnings(*set);
  set->digest_hex = Digest(docs, feeds);
  if (set->digest_hex.empty()) return ossl::Error("policy set digest");
  return std::shared_ptr<const PolicySet>(std::move(set));
}

}  // namespace kars::policy
