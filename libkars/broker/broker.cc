#include "libkars/broker/broker.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>

#include "absl/container/inlined_vector.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "libkars/base/secure_zero.h"
#include "libkars/base/status.h"
#include "libkars/broker/encodings.h"
#include "libkars/broker/token_patterns.h"

namespace kars::broker {
namespace {

// Headers by which an agent could bring credentials of its own; stripped unless a grant says
// pass-through.
constexpr const char* kCredentialHeaders[] = {"authorization", "proxy-authorization", "cookie",
                                              "api-key", "x-api-key"};

bool IsCredentialHeader(absl::string_view name) {
  for (const char* h : kCredentialHeaders) {
    if (absl::EqualsIgnoreCase(name, h)) return true;
  }
  return false;
}

std::string DestinationString(const Destination& d) {
  return absl::StrCat(d.scheme, "://", d.host, ":", d.port, d.path.substr(0, d.path.find('?')));
}

std::string Base64(absl::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  out.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                                      static_cast<int>(bytes.size()))));
  return out;
}

std::string FormatValue(const std::string& format, absl::string_view value) {
  const std::size_t at = format.find("{value}");
  std::string out;
  out.reserve(format.size() + value.size());
  out.append(format, 0, at);
  out.append(value.data(), value.size());
  out.append(format, at + 7, std::string::npos);
  return out;
}


}  // namespace

const char* DenyReasonName(DenyReason r) {
  switch (r) {
    case DenyReason::kNone: return "";
    case DenyReason::kNoGrant: return "no_grant";
    case DenyReason::kCredentialUnavailable: return "credential_unavailable";
    case DenyReason::kCredentialExfiltration: return "credential_exfiltration";
    case DenyReason::kInvalidRequest: return "invalid_request";
    case DenyReason::kLeasesExhausted: return "leases_exhausted";
  }
  return "unknown";
}

Injection::~Injection() {
  for (auto& h : set_headers) SecureZero(h.second);
  SecureZero(query);
}

Broker::Broker(BrokerSettings settings)
    : settings_(settings), leases_(settings.max_leases),
      grants_(std::make_shared<GrantTable>(std::vector<Grant>())) {}

Broker::~Broker() = default;

absl::StatusOr<std::unique_ptr<Broker>> Broker::Create(BrokerSettings settings) {
  if (settings.token_patterns) {
    auto patterns = TokenPatterns::Builtin();
    if (!patterns.ok()) return patterns.status();
  }
  std::unique_ptr<Broker> b(new Broker(settings));
  if (absl::Status s = b->RebuildIndex(); !s.ok()) return s;
  return b;
}

absl::StatusOr<std::unique_ptr<Broker>> Broker::FromConfig(absl::string_view text) {
  auto config = ParseConfig(text);
  if (!config.ok()) return config.status();
  auto broker = Create(config->settings);
  if (!broker.ok()) return broker.status();
  // One index build for the whole config, not one per source.
  (*broker)->bulk_loading_ = true;
  for (auto& spec : config->sources) {
    if (absl::Status s = (*broker)->AddSource(std::move(spec)); !s.ok()) return s;
  }
  (*broker)->bulk_loading_ = false;
  if (absl::Status s = (*broker)->RebuildIndex(); !s.ok()) return s;
  for (auto& grant : config->grants) {
    if (absl::Status s = (*broker)->AddGrant(std::move(grant)); !s.ok()) return s;
  }
  return broker;
}

absl::Status Broker::AddSource(SourceSpec spec) {
  if (spec.id.empty() || spec.source == nullptr) {
    return absl::InvalidArgumentError("source: missing id or definition");
  }
  const bool eager = spec.source->FetchEagerly();
  auto cred = std::make_shared<Credential>(spec.id, std::move(spec.source), spec.options);
  cred->set_on_change([this] { (void)RebuildIndex(); });
  {
    absl::MutexLock lock(&mu_);
    if (credentials_.contains(spec.id)) {
      return MakeStatus(KARS_E_EXISTS, absl::StrCat("source '", spec.id, "' exists already"));
    }
    credentials_.emplace(spec.id, cred);
  }
  // The source's own secrets (an OAuth client secret) are scanned for from the start.
  if (absl::Status s = RebuildIndex(); !s.ok()) return s;
  if (eager) {
    auto token = cred->Get(absl::Now());
    if (!token.ok()) {
      Emit(absl::StrCat("{\"event\":\"source_error\",\"credential\":", JsonString(spec.id),
                        ",\"message\":", JsonString(Sanitize(token.status().message())), "}"));
    }
  }
  return absl::OkStatus();
}

absl::Status Broker::RemoveSource(const std::string& id) {
  {
    absl::MutexLock lock(&mu_);
    if (!credentials_.contains(id)) return MakeStatus(KARS_E_NOT_FOUND, absl::StrCat("no source '", id, "'"));
    for (const Grant& g : grants_->grants()) {
      for (const auto& c : g.Credentials()) {
        if (c == absl::string_view(id)) {
          return MakeStatus(KARS_E_PRECONDITION,
                            absl::StrCat("source '", id, "' is used by grant '", g.id, "'"));
        }
      }
    }
    credentials_.erase(id);
  }
  revocations_ += leases_.Revoke(RevokeBy::kCredential, id);
  return RebuildIndex();
}

absl::Status Broker::AddGrant(Grant grant) {
  if (absl::Status s = ValidateGrant(grant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  for (const Grant& g : grants_->grants()) {
    if (g.id == grant.id) return MakeStatus(KARS_E_EXISTS, absl::StrCat("grant '", grant.id, "' exists already"));
  }
  for (const auto& c : grant.Credentials()) {
    if (!credentials_.contains(std::string(c))) {
      return MakeStatus(KARS_E_NOT_FOUND,
                        absl::StrCat("grant '", grant.id, "': no source '", c, "'"));
    }
  }
  std::vector<Grant> all = grants_->grants();
  all.push_back(std::move(grant));
  grants_ = std::make_shared<GrantTable>(std::move(all));
  return absl::OkStatus();
}

absl::Status Broker::RemoveGrant(const std::string& id) {
  {
    absl::MutexLock lock(&mu_);
    std::vector<Grant> all = grants_->grants();
    auto it = std::find_if(all.begin(), all.end(), [&](const Grant& g) { return g.id == id; });
    if (it == all.end()) return MakeStatus(KARS_E_NOT_FOUND, absl::StrCat("no grant '", id, "'"));
    all.erase(it);
    grants_ = std::make_shared<GrantTable>(std::move(all));
  }
  revocations_ += leases_.Revoke(RevokeBy::kGrant, id);
  return absl::OkStatus();
}

absl::Status Broker::RebuildIndex() {
  if (bulk_loading_) return absl::OkStatus();
  absl::MutexLock rebuild(&rebuild_mu_);
  std::vector<std::shared_ptr<Credential>> creds;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [id, c] : credentials_) creds.push_back(c);
  }
  std::vector<HeldValue> held;
  for (const auto& c : creds) {
    SecretPtr current, previous;
    c->HeldValues(&current, &previous);
    if (current != nullptr) held.push_back({c->id(), current});
    if (previous != nullptr) held.push_back({c->id(), previous});
    for (auto& [name, secret] : c->AuxiliarySecrets()) {
      if (secret != nullptr) held.push_back({absl::StrCat(c->id(), "/", name), secret});
    }
  }
  auto index = LeakIndex::Build(held);
  if (!index.ok()) return index.status();
  ++rebuilds_;
  absl::MutexLock lock(&mu_);
  index_ = *std::move(index);
  return absl::OkStatus();
}

std::shared_ptr<const LeakIndex> Broker::leak_index() const {
  absl::ReaderMutexLock lock(&mu_);
  return index_;
}

void Broker::SetEventSink(std::function<void(const std::string&)> sink) {
  absl::MutexLock lock(&mu_);
  sink_ = sink ? std::make_shared<const std::function<void(const std::string&)>>(std::move(sink))
               : nullptr;
}

void Broker::Emit(std::string json) const {
  std::shared_ptr<const std::function<void(const std::string&)>> sink;
  {
    absl::ReaderMutexLock lock(&mu_);
    sink = sink_;
  }
  if (sink != nullptr) (*sink)(Sanitize(json));
}

std::string Broker::Sanitize(absl::string_view text) const {
  Redactor r(leak_index());
  std::string out;
  if (!r.Feed(text, &out).ok() || !r.Finish(&out).ok()) return "[message withheld]";
  return out;
}

Injection Broker::Deny(DenyReason r, std::string message, std::string credential,
                       absl::string_view principal, absl::string_view url) {
  switch (r) {
    case DenyReason::kNoGrant: ++no_grant_; break;
    case DenyReason::kCredentialUnavailable: ++unavailable_; break;
    case DenyReason::kCredentialExfiltration: ++exfiltration_; break;
    case DenyReason::kInvalidRequest: ++invalid_; break;
    case DenyReason::kLeasesExhausted: ++exhausted_; break;
    case DenyReason::kNone: break;
  }
  Injection inj;
  inj.reason = r;
  inj.message = Sanitize(message);
  inj.credential_id = std::move(credential);
  // The URL the agent sent may itself carry a secret (that may be why it is denied).
  Emit(absl::StrCat("{\"event\":\"deny\",\"reason\":\"", DenyReasonName(r), "\",\"principal\":",
                    JsonString(principal), ",\"credential\":", JsonString(inj.credential_id),
                    ",\"url\":", JsonString(Sanitize(url)), ",\"message\":", JsonString(inj.message),
                    "}"));
  return inj;
}

absl::StatusOr<Injection> Broker::Inject(absl::string_view principal, absl::string_view method,
                                         absl::string_view url, const std::vector<Header>& headers) {
  const absl::Time now = absl::Now();
  if (principal.empty()) return Deny(DenyReason::kInvalidRequest, "principal is empty", "", principal, url);
  if (method.empty()) return Deny(DenyReason::kInvalidRequest, "method is empty", "", principal, url);
  auto dest = ParseUrl(url);
  if (!dest.ok()) {
    return Deny(DenyReason::kInvalidRequest, std::string(dest.status().message()), "", principal, url);
  }
  // One snapshot of everything the decision reads: leak index, grant, credentials.
  std::shared_ptr<const LeakIndex> index;
  std::shared_ptr<const Grant> grant;
  absl::InlinedVector<std::shared_ptr<Credential>, 2> creds;
  bool has_sink;
  {
    absl::ReaderMutexLock lock(&mu_);
    index = index_;
    has_sink = sink_ != nullptr;
    grant = grants_->Match(principal, method, *dest);
    if (grant != nullptr) {
      for (const auto& id : grant->Credentials()) {
        auto it = credentials_.find(id);
        creds.push_back(it == credentials_.end() ? nullptr : it->second);
      }
    }
  }
  // Held values the agent already put in the URL or its headers: refused before anything else.
  // One scan over URL and header values joined by NUL, which no encoded form contains.
  LeakMatch hit;
  absl::StatusOr<bool> found = false;
  if (!index->empty() && headers.empty()) {
    found = index->FindFirst(url, &hit);
    if (!found.ok()) return found.status();
  } else if (!index->empty()) {
    std::string joined;
    std::size_t total = url.size();
    for (const Header& h : headers) total += h.second.size() + 1;
    joined.reserve(total);
    joined.append(url.data(), url.size());
    for (const Header& h : headers) joined.append(1, '\0').append(h.second);
    found = index->FindFirst(joined, &hit);
    SecureZero(joined);
    if (!found.ok()) return found.status();
  }
  if (*found) {
    const std::string& cred = index->credential_id(hit.credential);
    return Deny(DenyReason::kCredentialExfiltration,
                absl::StrCat("request carries the value of credential '", cred, "' (",
                             EncodingName(hit.encoding), ")"),
                cred, principal, url);
  }
  if (grant == nullptr) {
    return Deny(DenyReason::kNoGrant,
                absl::StrCat("no grant for principal '", principal, "' to ", method, " ",
                             DestinationString(*dest)),
                "", principal, url);
  }
  absl::InlinedVector<Token, 2> tokens;
  const auto ids = grant->Credentials();
  for (std::size_t i = 0; i < creds.size(); ++i) {
    const std::string id(ids[i]);
    if (creds[i] == nullptr) {
      return Deny(DenyReason::kCredentialUnavailable, absl::StrCat("credential '", id, "' is not configured"),
                  id, principal, url);
    }
    auto token = creds[i]->Get(now);
    if (!token.ok()) {
      return Deny(DenyReason::kCredentialUnavailable, std::string(token.status().message()), id,
                  principal, url);
    }
    tokens.push_back(*std::move(token));
  }

  Injection inj;
  inj.grant_id = grant->id;
  inj.credential_id = CredentialLabel(*grant);
  for (const Header& h : headers) {
    const bool ours = grant->kind != InjectionKind::kQuery && HeaderNameEquals(h.first, grant->header);
    bool passed = false;
    for (const auto& p : grant->pass_through) passed = passed || HeaderNameEquals(p, h.first);
    if (ours || (IsCredentialHeader(h.first) && !passed)) inj.remove_headers.push_back(h.first);
  }
  switch (grant->kind) {
    case InjectionKind::kHeader:
      inj.set_headers.emplace_back(grant->header, FormatValue(grant->format, tokens[0].value->Reveal()));
      break;
    case InjectionKind::kBasic: {
      std::string pair = absl::StrCat(tokens[0].value->Reveal(), ":", tokens[1].value->Reveal());
      std::string b64 = Base64(pair);
      inj.set_headers.emplace_back("Authorization", absl::StrCat("Basic ", b64));
      SecureZero(pair);
      SecureZero(b64);
      break;
    }
    case InjectionKind::kQuery: {
      std::string value = FormatValue(grant->format, tokens[0].value->Reveal());
      inj.query = absl::StrCat(PercentEncode(grant->query_param, true), "=", PercentEncode(value, true));
      SecureZero(value);
      break;
    }
  }

  absl::Duration ttl = grant->lease_ttl;
  for (const Token& t : tokens) {
    if (t.expires_at && *t.expires_at - now < ttl) ttl = *t.expires_at - now;
  }
  const std::string origin = absl::StrCat(dest->scheme, "://", dest->host, ":", dest->port);
  auto lease = leases_.Acquire(grant, principal, origin, now, ttl);
  if (!lease.ok()) {
    return Deny(DenyReason::kLeasesExhausted, std::string(lease.status().message()), inj.credential_id,
                principal, url);
  }
  inj.lease_id = *std::move(lease);
  ++injections_;
  if (has_sink) {
    Emit(absl::StrCat("{\"event\":\"inject\",\"lease\":", JsonString(inj.lease_id), ",\"credential\":",
                      JsonString(inj.credential_id), ",\"grant\":", JsonString(grant->id),
                      ",\"principal\":", JsonString(principal), ",\"destination\":",
                      JsonString(DestinationString(*dest)), "}"));
  }
  return inj;
}

absl::StatusOr<ScanVerdict> Broker::ScanOutbound(absl::string_view url, const std::vector<Header>& headers,
                                                 absl::string_view body) {
  ++scans_;
  const std::shared_ptr<const LeakIndex> index = leak_index();
  const TokenPatterns* patterns = nullptr;
  if (settings_.token_patterns) {
    auto p = TokenPatterns::Builtin();
    if (!p.ok()) return p.status();
    patterns = *p;
  }
  ScanVerdict v;
  auto scan = [&](absl::string_view where, absl::string_view data) -> absl::StatusOr<bool> {
    LeakMatch m;
    auto found = index->FindFirst(data, &m);
    if (!found.ok()) return found.status();
    if (*found) {
      v.clean = false;
      v.credential_id = index->credential_id(m.credential);
      v.location = std::string(where);
      v.encoding = EncodingName(m.encoding);
      return true;
    }
    if (patterns != nullptr) {
      auto name = patterns->FindFirst(data);
      if (!name.ok()) return name.status();
      if (!name->empty()) {
        v.clean = false;
        v.credential_id = absl::StrCat("pattern:", *name);
        v.location = std::string(where);
        return true;
      }
    }
    return false;
  };
  auto hit = scan("url", url);
  for (std::size_t i = 0; hit.ok() && !*hit && i < headers.size(); ++i) {
    hit = scan(absl::StrCat("header:", headers[i].first), headers[i].second);
  }
  if (hit.ok() && !*hit) hit = scan("body", body);
  if (!hit.ok()) return hit.status();
  if (!v.clean) {
    ++scan_hits_;
    Emit(absl::StrCat("{\"event\":\"deny\",\"reason\":\"credential_exfiltration\",\"credential\":",
                      JsonString(v.credential_id), ",\"location\":", JsonString(Sanitize(v.location)),
                      ",\"encoding\":", JsonString(v.encoding), "}"));
  }
  return v;
}

std::unique_ptr<Redactor> Broker::NewRedactor() const { return std::make_unique<Redactor>(leak_index()); }

std::size_t Broker::Revoke(RevokeBy by, const std::string& key) {
  const std::size_t n = leases_.Revoke(by, key);
  revocations_ += n;
  static constexpr const char* kBy[] = {"lease", "credential", "grant", "principal"};
  Emit(absl::StrCat("{\"event\":\"revoke\",\"by\":\"", kBy[static_cast<int>(by)], "\",\"key\":",
                    JsonString(key), ",\"revoked\":", n, "}"));
  return n;
}

std::vector<CredentialInfo> Broker::ListCredentials() const {
  std::vector<std::shared_ptr<Credential>> creds;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [id, c] : credentials_) creds.push_back(c);
  }
  std::vector<CredentialInfo> out;
  for (const auto& c : creds) {
    out.push_back(c->Info());
    out.back().last_error = Sanitize(out.back().last_error);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::vector<Grant> Broker::ListGrants() const {
  absl::ReaderMutexLock lock(&mu_);
  return grants_->grants();
}

BrokerMetrics Broker::Metrics() const {
  BrokerMetrics m;
  m.injections = injections_;
  m.denials_no_grant = no_grant_;
  m.denials_unavailable = unavailable_;
  m.denials_exfiltration = exfiltration_;
  m.denials_invalid = invalid_;
  m.denials_exhausted = exhausted_;
  m.scans = scans_;
  m.scan_hits = scan_hits_;
  m.revocations = revocations_;
  m.index_rebuilds = rebuilds_;
  return m;
}

}  // namespace kars::broker
