// The injection hot path: one snapshot read, an allocation-free URL view, the leak check over the
// agent's URL and headers, a grant found by host, a cached credential, and the result written
// into the caller's Injection (its buffers reused) under a lease from one shard of the table.
#include <openssl/evp.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libkars/base/secure_zero.h"
#include "libkars/broker/broker.h"
#include "libkars/broker/encodings.h"

namespace kars::broker {
namespace {

// Headers by which an agent could bring credentials of its own; stripped unless a grant says
// pass-through.
constexpr absl::string_view kCredentialHeaders[] = {"authorization", "proxy-authorization", "cookie",
                                                    "api-key", "x-api-key"};

bool IsCredentialHeader(absl::string_view name) {
  for (absl::string_view h : kCredentialHeaders) {
    if (AsciiEqualsIgnoreCase(name, h)) return true;
  }
  return false;
}

std::string DestinationString(const DestinationView& d) {
  return absl::StrCat(d.scheme, "://", d.host, ":", d.port, d.path);
}

// "scheme://host:port" into `buf` (scheme ≤ 5, host ≤ 255, port ≤ 5 bytes).
absl::string_view Origin(const DestinationView& d, char (&buf)[kMaxHostLength + 16]) {
  char* p = buf;
  std::memcpy(p, d.scheme.data(), d.scheme.size());
  p += d.scheme.size();
  std::memcpy(p, "://", 3);
  p += 3;
  std::memcpy(p, d.host.data(), d.host.size());
  p += d.host.size();
  *p++ = ':';
  p = absl::numbers_internal::FastIntToBuffer(d.port, p);
  return absl::string_view(buf, static_cast<std::size_t>(p - buf));
}

void AppendBase64(absl::string_view bytes, std::string* out) {
  const std::size_t at = out->size();
  out->resize(at + 4 * ((bytes.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out->data() + at),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out->resize(at + static_cast<std::size_t>(n));
}

// `format` with its one "{value}" replaced, written over `out` (which callers have wiped).
void FormatValueInto(const std::string& format, absl::string_view value, std::string* out) {
  const std::size_t at = format.find("{value}");
  out->clear();
  out->append(format, 0, at);
  out->append(value.data(), value.size());
  out->append(format, at + 7, std::string::npos);
}

// The agent's URL and header values joined by NUL (which no encoded form contains), scanned at
// once. The buffer is kept per thread and wiped after each use: it holds what the agent sent.
struct JoinBuffer {
  std::string bytes;
  ~JoinBuffer() { SecureZero(bytes); }
};

}  // namespace

Injection::~Injection() { Reset(); }

// Like Reset, but the vectors keep their (wiped) elements so that their strings' buffers are
// reused; Inject sizes them exactly before returning.
static void Recycle(Injection* inj) {
  inj->reason = DenyReason::kNone;
  inj->message.clear();
  inj->credential_id.clear();
  inj->grant_id.clear();
  inj->lease_id.clear();
  for (auto& h : inj->set_headers) SecureZero(h.second);
  SecureZero(inj->query);
}

void Injection::Reset() {
  reason = DenyReason::kNone;
  message.clear();
  credential_id.clear();
  grant_id.clear();
  lease_id.clear();
  for (auto& h : set_headers) SecureZero(h.second);
  set_headers.clear();
  remove_headers.clear();
  SecureZero(query);
}

void Broker::Deny(DenyReason r, std::string message, std::string credential, absl::string_view principal,
                  absl::string_view url, Injection* out) {
  switch (r) {
    case DenyReason::kNoGrant: ++no_grant_; break;
    case DenyReason::kCredentialUnavailable: ++unavailable_; break;
    case DenyReason::kCredentialExfiltration: ++exfiltration_; break;
    case DenyReason::kInvalidRequest: ++invalid_; break;
    case DenyReason::kLeasesExhausted: ++exhausted_; break;
    case DenyReason::kNone: break;
  }
  out->Reset();
  out->reason = r;
  out->message = Sanitize(message);
  out->credential_id = std::move(credential);
  // The URL the agent sent may itself carry a secret (that may be why it is denied).
  Emit(absl::StrCat("{\"event\":\"deny\",\"reason\":\"", DenyReasonName(r), "\",\"principal\":",
                    JsonString(principal), ",\"credential\":", JsonString(out->credential_id),
                    ",\"url\":", JsonString(Sanitize(url)), ",\"message\":", JsonString(out->message),
                    "}"));
}

absl::StatusOr<Injection> Broker::Inject(absl::string_view principal, absl::string_view method,
                                         absl::string_view url, const std::vector<Header>& headers) {
  absl::InlinedVector<HeaderView, 8> views;
  views.reserve(headers.size());
  for (const Header& h : headers) views.emplace_back(h.first, h.second);
  Injection inj;
  if (absl::Status s = Inject(principal, method, url, views, &inj); !s.ok()) return s;
  return inj;
}

absl::Status Broker::Inject(absl::string_view principal, absl::string_view method, absl::string_view url,
                            absl::Span<const HeaderView> headers, Injection* out) {
  Recycle(out);
  const absl::Time now = absl::Now();
  if (principal.empty()) {
    Deny(DenyReason::kInvalidRequest, "principal is empty", "", principal, url, out);
    return absl::OkStatus();
  }
  if (method.empty()) {
    Deny(DenyReason::kInvalidRequest, "method is empty", "", principal, url, out);
    return absl::OkStatus();
  }
  DestinationView dest;
  if (absl::Status s = ParseUrlInto(url, &dest); !s.ok()) {
    Deny(DenyReason::kInvalidRequest, std::string(s.message()), "", principal, url, out);
    return absl::OkStatus();
  }
  MaybeRescan(now);
  // One snapshot of everything the decision reads: leak index, grants, their credentials.
  const std::shared_ptr<const Snapshot> snap = snapshot();
  const LeakIndex& index = *snap->index;

  // Held values the agent already put in the URL or its headers: refused before anything else.
  if (!index.empty()) {
    LeakMatch hit;
    absl::StatusOr<bool> found = false;
    if (headers.empty()) {
      found = index.FindFirst(url, &hit);
    } else {
      thread_local JoinBuffer join;
      std::string& joined = join.bytes;
      joined.assign(url.data(), url.size());
      for (const HeaderView& h : headers) joined.append(1, '\0').append(h.second.data(), h.second.size());
      found = index.FindFirst(joined, &hit);
      SecureZero(joined.data(), joined.size());
      joined.clear();
    }
    if (!found.ok()) {
      out->Reset();
      return found.status();
    }
    if (*found) {
      const std::string& cred = index.credential_id(hit.credential);
      Deny(DenyReason::kCredentialExfiltration,
           absl::StrCat("request carries the value of credential '", cred, "' (", EncodingName(hit.encoding), ")"),
           cred, principal, url, out);
      return absl::OkStatus();
    }
  }

  const std::size_t at = snap->grants->Match(principal, method, dest);
  if (at == GrantTable::kNoMatch) {
    Deny(DenyReason::kNoGrant,
         absl::StrCat("no grant for principal '", principal, "' to ", method, " ", DestinationString(dest)), "",
         principal, url, out);
    return absl::OkStatus();
  }
  const std::shared_ptr<const Grant>& grant_ptr = snap->grants->grant(at);
  const Grant& grant = *grant_ptr;
  const auto& creds = snap->credentials[at];
  absl::InlinedVector<Token, 2> tokens;
  for (std::size_t i = 0; i < creds.size(); ++i) {
    if (creds[i] == nullptr) {
      const std::string id(grant.Credentials()[i]);
      Deny(DenyReason::kCredentialUnavailable, absl::StrCat("credential '", id, "' is not configured"), id,
           principal, url, out);
      return absl::OkStatus();
    }
    auto token = creds[i]->Get(now);
    if (!token.ok()) {
      Deny(DenyReason::kCredentialUnavailable, std::string(token.status().message()), creds[i]->id(), principal,
           url, out);
      return absl::OkStatus();
    }
    tokens.push_back(*std::move(token));
  }

  out->grant_id.assign(grant.id);
  if (grant.kind == InjectionKind::kBasic) {
    out->credential_id.assign(grant.username_credential).append(1, '+').append(grant.password_credential);
  } else {
    out->credential_id.assign(grant.credential);
  }
  std::size_t removed = 0;
  for (const HeaderView& h : headers) {
    const bool ours = grant.kind != InjectionKind::kQuery && HeaderNameEquals(h.first, grant.header);
    bool passed = false;
    for (const auto& p : grant.pass_through) passed = passed || HeaderNameEquals(p, h.first);
    if (!ours && !(IsCredentialHeader(h.first) && !passed)) continue;
    if (removed < out->remove_headers.size()) {
      out->remove_headers[removed].assign(h.first.data(), h.first.size());
    } else {
      out->remove_headers.emplace_back(h.first);
    }
    ++removed;
  }
  out->remove_headers.resize(removed);
  out->set_headers.resize(grant.kind == InjectionKind::kQuery ? 0 : 1);
  switch (grant.kind) {
    case InjectionKind::kHeader: {
      Header& h = out->set_headers[0];
      h.first.assign(grant.header);
      FormatValueInto(grant.format, tokens[0].value->Reveal(), &h.second);
      break;
    }
    case InjectionKind::kBasic: {
      std::string pair = absl::StrCat(tokens[0].value->Reveal(), ":", tokens[1].value->Reveal());
      Header& h = out->set_headers[0];
      h.first.assign("Authorization");
      h.second.assign("Basic ");
      AppendBase64(pair, &h.second);
      SecureZero(pair);
      break;
    }
    case InjectionKind::kQuery: {
      std::string value;
      FormatValueInto(grant.format, tokens[0].value->Reveal(), &value);
      std::string encoded = PercentEncode(value, true);
      out->query = absl::StrCat(PercentEncode(grant.query_param, true), "=", encoded);
      SecureZero(encoded);
      SecureZero(value);
      break;
    }
  }

  absl::Duration ttl = grant.lease_ttl;
  for (const Token& t : tokens) {
    if (t.expires_at && *t.expires_at - now < ttl) ttl = *t.expires_at - now;
  }
  char origin_buf[kMaxHostLength + 16];
  const absl::string_view origin = Origin(dest, origin_buf);
  if (absl::Status s = leases_.Acquire(grant_ptr, principal, origin, now, ttl, &out->lease_id); !s.ok()) {
    const std::string label = out->credential_id;
    Deny(DenyReason::kLeasesExhausted, std::string(s.message()), label, principal, url, out);
    return absl::OkStatus();
  }
  injections_.fetch_add(1, std::memory_order_relaxed);
  if (snap->has_sink) {
    Emit(absl::StrCat("{\"event\":\"inject\",\"lease\":", JsonString(out->lease_id), ",\"credential\":",
                      JsonString(out->credential_id), ",\"grant\":", JsonString(grant.id), ",\"principal\":",
                      JsonString(principal), ",\"destination\":", JsonString(DestinationString(dest)), "}"));
  }
  return absl::OkStatus();
}

}  // namespace kars::broker
