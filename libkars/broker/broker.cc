// The broker's management side (sources, grants, the leak index, events, listings) and the
// outbound scan; the injection hot path is inject.cc, directory following directory.cc.
#include "libkars/broker/broker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"
#include "libkars/broker/encodings.h"
#include "libkars/broker/token_patterns.h"

namespace kars::broker {

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

Broker::Broker(BrokerSettings settings)
    : settings_(settings), leases_(settings.max_leases),
      grants_(std::make_shared<GrantTable>(std::vector<Grant>())) {
  MutexLock lock(&mu_);
  PublishLocked();
}

namespace {

std::uint64_t NextSnapshotStamp() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

void Broker::PublishLocked() {
  auto snap = std::make_shared<Snapshot>();
  snap->broker = this;
  snap->grants = grants_;
  snap->index = index_;
  snap->has_sink = sink_ != nullptr;
  snap->credentials.resize(grants_->size());
  for (std::size_t i = 0; i < grants_->size(); ++i) {
    for (const auto& id : grants_->grant(i)->Credentials()) {
      auto it = credentials_.find(id);
      snap->credentials[i].push_back(it == credentials_.end() ? nullptr : it->second);
    }
  }
  snapshot_ = std::move(snap);
  snapshot_stamp_.store(NextSnapshotStamp(), std::memory_order_release);
}

std::shared_ptr<const Broker::Snapshot> Broker::snapshot() const {
  ReaderMutexLock lock(&mu_);
  return snapshot_;
}


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

std::shared_ptr<Credential> Broker::NewCredential(SourceSpec& spec) {
  auto cred = std::make_shared<Credential>(spec.id, std::move(spec.source), spec.options);
  cred->set_on_change([this] { (void)RebuildIndex(); });
  cred->set_on_failure([this, id = spec.id](const absl::Status& s) { OnSourceFailure(id, s); });
  return cred;
}

void Broker::OnSourceFailure(const std::string& id, const absl::Status& status) {
  source_failures_.fetch_add(1, std::memory_order_relaxed);
  Emit(absl::StrCat("{\"event\":\"source_error\",\"credential\":", JsonString(id), ",\"code\":",
                    static_cast<int>(ToCStatus(status)), ",\"message\":", JsonString(Sanitize(status.message())),
                    "}"));
}

absl::Status Broker::AddSource(SourceSpec spec) {
  if (spec.id.empty() || (spec.source == nullptr && spec.directory.empty())) {
    return absl::InvalidArgumentError("source: missing id or definition");
  }
  if (spec.source == nullptr) return AddDirectory(std::move(spec));
  return AddFileOrOther(std::move(spec));
}

absl::Status Broker::AddFileOrOther(SourceSpec spec) {
  const bool eager = spec.source->FetchEagerly();
  auto cred = NewCredential(spec);
  {
    MutexLock lock(&mu_);
    if (credentials_.contains(spec.id)) {
      return MakeStatus(KARS_E_EXISTS, absl::StrCat("source '", spec.id, "' exists already"));
    }
    credentials_.emplace(spec.id, cred);
  }
  // The source's own secrets (an OAuth client secret) are scanned for from the start.
  if (absl::Status s = RebuildIndex(); !s.ok()) return s;
  // A failure is reported through OnSourceFailure (metrics and a source_error event).
  if (eager) (void)cred->Get(absl::Now());
  return absl::OkStatus();
}

absl::Status Broker::RemoveSource(const std::string& id) {
  {
    MutexLock lock(&mu_);
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
    PublishLocked();
  }
  revocations_ += leases_.Revoke(RevokeBy::kCredential, id);
  return RebuildIndex();
}

absl::Status Broker::AddGrant(Grant grant) {
  if (absl::Status s = ValidateGrant(grant); !s.ok()) return s;
  bool missing = false;
  {
    ReaderMutexLock lock(&mu_);
    for (const auto& c : grant.Credentials()) missing = missing || !credentials_.contains(c);
  }
  // A grant may name a directory key that appeared since the last listing.
  if (missing) RescanDirectories(/*force=*/true);
  MutexLock lock(&mu_);
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
  PublishLocked();
  return absl::OkStatus();
}

absl::Status Broker::RemoveGrant(const std::string& id) {
  {
    MutexLock lock(&mu_);
    std::vector<Grant> all = grants_->grants();
    auto it = std::find_if(all.begin(), all.end(), [&](const Grant& g) { return g.id == id; });
    if (it == all.end()) return MakeStatus(KARS_E_NOT_FOUND, absl::StrCat("no grant '", id, "'"));
    all.erase(it);
    grants_ = std::make_shared<GrantTable>(std::move(all));
    PublishLocked();
  }
  revocations_ += leases_.Revoke(RevokeBy::kGrant, id);
  return absl::OkStatus();
}

absl::Status Broker::RebuildIndex() {
  if (bulk_loading_) return absl::OkStatus();
  MutexLock rebuild(&rebuild_mu_);
  std::vector<std::shared_ptr<Credential>> creds;
  {
    ReaderMutexLock lock(&mu_);
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
  MutexLock lock(&mu_);
  index_ = *std::move(index);
  PublishLocked();
  return absl::OkStatus();
}

std::shared_ptr<const LeakIndex> Broker::leak_index() const {
  ReaderMutexLock lock(&mu_);
  return index_;
}

void Broker::SetEventSink(std::function<void(const std::string&)> sink) {
  MutexLock lock(&mu_);
  sink_ = sink ? std::make_shared<const std::function<void(const std::string&)>>(std::move(sink))
               : nullptr;
  PublishLocked();
}

void Broker::Emit(std::string json) const {
  std::shared_ptr<const std::function<void(const std::string&)>> sink;
  {
    ReaderMutexLock lock(&mu_);
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

absl::StatusOr<ScanVerdict> Broker::ScanOutbound(absl::string_view url, const std::vector<Header>& headers,
                                                 absl::string_view body) {
  ++scans_;
  MaybeRescan(absl::Now());
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

std::unique_ptr<Redactor> Broker::NewRedactor() {
  MaybeRescan(absl::Now());
  return std::make_unique<Redactor>(leak_index());
}

std::size_t Broker::Revoke(RevokeBy by, const std::string& key) {
  const std::size_t n = leases_.Revoke(by, key);
  revocations_ += n;
  static constexpr const char* kBy[] = {"lease", "credential", "grant", "principal"};
  Emit(absl::StrCat("{\"event\":\"revoke\",\"by\":\"", kBy[static_cast<int>(by)], "\",\"key\":",
                    JsonString(key), ",\"revoked\":", n, "}"));
  return n;
}

std::vector<CredentialInfo> Broker::ListCredentials() {
  MaybeRescan(absl::Now());
  std::vector<std::shared_ptr<Credential>> creds;
  {
    ReaderMutexLock lock(&mu_);
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
  ReaderMutexLock lock(&mu_);
  return grants_->grants();
}

BrokerMetrics Broker::Metrics() const {
  BrokerMetrics m;
  m.injections = injections_.Load();
  m.denials_no_grant = no_grant_;
  m.denials_unavailable = unavailable_;
  m.denials_exfiltration = exfiltration_;
  m.denials_invalid = invalid_;
  m.denials_exhausted = exhausted_;
  m.scans = scans_;
  m.scan_hits = scan_hits_;
  m.revocations = revocations_;
  m.index_rebuilds = rebuilds_;
  m.source_failures = source_failures_;
  m.keys_added = keys_added_;
  m.keys_removed = keys_removed_;
  return m;
}

}  // namespace kars::broker
