// The injection hot path: one snapshot read, an allocation-free URL view, the leak check over the
// agent's URL and headers, a grant found by host, a cached credential, and the result written
// into the caller's Injection (its buffers reused) under a lease from one shard of the table.
// The snapshot and the credential values come from this thread's cache when their stamps are
// unchanged, so a repeated injection takes no lock and writes no line other threads share.
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

// The snapshot this thread last read and the credential values it last used. An injection
// marks the cache in use while it reads from it: a nested call on the same thread (from an
// event sink or a source callback) then works on its own copies, leaving the outer call's alone.
struct Broker::ThreadCache {
  ThreadCache();
  ~ThreadCache();

  struct Entry {
    const Credential* credential = nullptr;  // compared only: which credential filled the slot
    CachedToken slot;
  };
  static constexpr std::size_t kEntries = 4;

  // The usable cached value of `cred`, if any.
  Entry* Find(const Credential& cred, absl::Time now) {
    for (Entry& e : entries) {
      if (e.credential == &cred && cred.Cached(e.slot, now) != nullptr) return &e;
    }
    return nullptr;
  }
  // The entry to refill for `cred`: its own old one, else the next in turn; never `keep`.
  Entry* Victim(const Credential* cred, const Entry* keep) {
    for (Entry& e : entries) {
      if (e.credential == cred && &e != keep) return &e;
    }
    Entry* e = &entries[next++ % kEntries];
    if (e == keep) e = &entries[next++ % kEntries];
    return e;
  }
  void Clear() {
    snapshot_stamp = 0;
    snapshot.reset();
    for (Entry& e : entries) e = Entry{};
  }

  bool in_use = false;
  std::uint64_t snapshot_stamp = 0;
  std::shared_ptr<const Snapshot> snapshot;
  Entry entries[kEntries];
  std::size_t next = 0;
};

namespace {
// This thread's cache while it exists (trivially destructible, so safe to read at any time of the
// thread's life, even after the cache itself was destroyed at exit).
thread_local Broker::ThreadCache* live_cache = nullptr;
}  // namespace

Broker::ThreadCache::ThreadCache() { live_cache = this; }
Broker::ThreadCache::~ThreadCache() { live_cache = nullptr; }

Broker::ThreadCache& Broker::ThisThreadCache() {
  thread_local ThreadCache cache;
  return cache;
}

Broker::~Broker() {
  // Other threads' caches let go of this broker's snapshot on their next injection or exit;
  // the destroying thread's (often the only one) lets go now. A broker destroyed after this
  // thread's cache (a static one at exit) has nothing to let go of here.
  ThreadCache* cache = live_cache;
  if (cache != nullptr && !cache->in_use && cache->snapshot != nullptr && cache->snapshot->broker == this) {
    cache->Clear();
  }
}

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
  ThreadCache& cache = ThisThreadCache();
  const bool use_cache = !cache.in_use;
  std::shared_ptr<const Snapshot> own_snap;
  const Snapshot* snap;
  if (use_cache) {
    if (cache.snapshot_stamp != snapshot_stamp_.load(std::memory_order_acquire)) {
      ReaderMutexLock lock(&mu_);
      cache.snapshot = snapshot_;
      cache.snapshot_stamp = snapshot_stamp_.load(std::memory_order_relaxed);
    }
    snap = cache.snapshot.get();
    cache.in_use = true;
  } else {
    own_snap = snapshot();
    snap = own_snap.get();
  }
  struct Release {
    ThreadCache* cache;
    ~Release() {
      if (cache != nullptr) cache->in_use = false;
    }
  } release{use_cache ? &cache : nullptr};
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
  // At most two (basic auth): pointers into this thread's cache, or into `own` for a nested call.
  const Token* tokens[2] = {nullptr, nullptr};
  CachedToken own[2];
  const ThreadCache::Entry* first = nullptr;  // the entry tokens[0] lives in
  for (std::size_t i = 0; i < creds.size(); ++i) {
    if (creds[i] == nullptr) {
      const std::string id(grant.Credentials()[i]);
      Deny(DenyReason::kCredentialUnavailable, absl::StrCat("credential '", id, "' is not configured"), id,
           principal, url, out);
      return absl::OkStatus();
    }
    ThreadCache::Entry* entry = use_cache ? cache.Find(*creds[i], now) : nullptr;
    if (entry == nullptr) {
      CachedToken* slot = &own[i];
      if (use_cache) {
        entry = cache.Victim(creds[i].get(), first);
        entry->credential = creds[i].get();
        slot = &entry->slot;
      }
      if (absl::Status s = creds[i]->GetInto(now, slot); !s.ok()) {
        Deny(DenyReason::kCredentialUnavailable, std::string(s.message()), creds[i]->id(), principal, url, out);
        return absl::OkStatus();
      }
      tokens[i] = &slot->token;
    } else {
      tokens[i] = &entry->slot.token;
    }
    if (i == 0) first = entry;
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
      FormatValueInto(grant.format, tokens[0]->value->Reveal(), &h.second);
      break;
    }
    case InjectionKind::kBasic: {
      std::string pair = absl::StrCat(tokens[0]->value->Reveal(), ":", tokens[1]->value->Reveal());
      Header& h = out->set_headers[0];
      h.first.assign("Authorization");
      h.second.assign("Basic ");
      AppendBase64(pair, &h.second);
      SecureZero(pair);
      break;
    }
    case InjectionKind::kQuery: {
      std::string value;
      FormatValueInto(grant.format, tokens[0]->value->Reveal(), &value);
      std::string encoded = PercentEncode(value, true);
      out->query = absl::StrCat(PercentEncode(grant.query_param, true), "=", encoded);
      SecureZero(encoded);
      SecureZero(value);
      break;
    }
  }

  absl::Duration ttl = grant.lease_ttl;
  for (std::size_t i = 0; i < creds.size(); ++i) {
    const Token& t = *tokens[i];
    if (t.expires_at && *t.expires_at - now < ttl) ttl = *t.expires_at - now;
  }
  char origin_buf[kMaxHostLength + 16];
  const absl::string_view origin = Origin(dest, origin_buf);
  if (absl::Status s = leases_.Acquire(grant_ptr, principal, origin, now, ttl, &out->lease_id); !s.ok()) {
    const std::string label = out->credential_id;
    Deny(DenyReason::kLeasesExhausted, std::string(s.message()), label, principal, url, out);
    return absl::OkStatus();
  }
  injections_.Add();
  if (snap->has_sink) {
    Emit(absl::StrCat("{\"event\":\"inject\",\"lease\":", JsonString(out->lease_id), ",\"credential\":",
                      JsonString(out->credential_id), ",\"grant\":", JsonString(grant.id), ",\"principal\":",
                      JsonString(principal), ",\"destination\":", JsonString(DestinationString(dest)), "}"));
  }
  return absl::OkStatus();
}

}  // namespace kars::broker
