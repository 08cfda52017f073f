#include "libkars/broker/lease.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"

namespace kars::broker {
namespace {

std::string RandomPrefix() {
  unsigned char bytes[8] = {};
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // Uniqueness, not secrecy, is what the prefix is for; the clock is an acceptable fallback.
    const int64_t t = absl::ToUnixNanos(absl::Now());
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(t >> (8 * i));
  }
  return absl::StrCat("lease-",
                      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(bytes), sizeof bytes)), "-");
}

}  // namespace

std::string CredentialLabel(const Grant& g) {
  return g.kind == InjectionKind::kBasic ? absl::StrCat(g.username_credential, "+", g.password_credential)
                                         : g.credential;
}

LeaseTable::LeaseTable(std::size_t max_leases) : max_(max_leases), prefix_(RandomPrefix()) {}

std::string LeaseTable::IdOf(std::uint64_t seq) const { return absl::StrCat(prefix_, seq); }

bool LeaseTable::SeqOf(absl::string_view id, std::uint64_t* seq) const {
  return absl::StartsWith(id, prefix_) && absl::SimpleAtoi(id.substr(prefix_.size()), seq);
}

void LeaseTable::Forget(std::uint64_t seq, const Record& r) {
  auto it = reuse_.find(r.reuse_key);
  if (it != reuse_.end() && it->second == seq) reuse_.erase(it);
}

void LeaseTable::ExpireFront(absl::Time now) {
  while (!order_.empty() && order_.front().first <= now) {
    auto it = records_.find(order_.front().second);
    if (it != records_.end()) {
      Forget(it->first, it->second);
      records_.erase(it);
    }
    order_.pop_front();
  }
}

absl::StatusOr<std::string> LeaseTable::Acquire(const std::shared_ptr<const Grant>& grant,
                                                absl::string_view principal, absl::string_view origin,
                                                absl::Time now, absl::Duration ttl) {
  // The grant's address names this grant object: a grant removed and added again gets new leases.
  char identity[sizeof(const Grant*)];
  const Grant* g = grant.get();
  std::memcpy(identity, &g, sizeof g);
  std::string key;
  key.reserve(sizeof identity + principal.size() + origin.size() + 1);
  key.append(identity, sizeof identity);
  key.append(principal.data(), principal.size());
  key.push_back('\0');
  key.append(origin.data(), origin.size());
  std::uint64_t seq;
  {
    absl::MutexLock lock(&mu_);
    ExpireFront(now);
    auto reuse = reuse_.find(key);
    if (reuse != reuse_.end()) {
      auto it = records_.find(reuse->second);
      // Reused only while it outlives the ttl this injection would have had, capped at half its
      // own life: a refreshed short-lived token must not ride on a lease past the old expiry.
      if (it != records_.end() && !it->second.revoked &&
          it->second.expires - now >= std::min(ttl, (it->second.expires - it->second.issued) / 2)) {
        return it->second.id;
      }
      reuse_.erase(reuse);
    }
    if (records_.size() >= max_) {
      // The queue's front may be a long lease hiding expired short ones: look at all once.
      absl::erase_if(records_, [&](const auto& kv) {
        if (kv.second.expires > now) return false;
        Forget(kv.first, kv.second);
        return true;
      });
      if (records_.size() >= max_) {
        return MakeStatus(KARS_E_EXHAUSTED, absl::StrCat("lease table is full (", max_, " live leases)"));
      }
    }
    seq = next_++;
    const absl::Time expires = now + ttl;
    std::string id = IdOf(seq);
    records_.emplace(seq, Record{grant, std::string(principal), absl::StrCat(origin, grant->path_prefix), now,
                                 expires, false, key, id});
    reuse_.emplace(std::move(key), seq);
    order_.emplace_back(expires, seq);
    return id;
  }
}

absl::Status LeaseTable::Check(absl::string_view id, absl::Time now) const {
  std::uint64_t seq = 0;
  absl::MutexLock lock(&mu_);
  auto it = SeqOf(id, &seq) ? records_.find(seq) : records_.end();
  if (it == records_.end()) return MakeStatus(KARS_E_NOT_FOUND, absl::StrCat("no lease ", id));
  if (it->second.revoked) return MakeStatus(KARS_E_DENIED, absl::StrCat("lease ", id, " is revoked"));
  if (now >= it->second.expires) return MakeStatus(KARS_E_DENIED, absl::StrCat("lease ", id, " expired"));
  return absl::OkStatus();
}

std::size_t LeaseTable::Revoke(RevokeBy by, const std::string& key) {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  std::size_t n = 0;
  auto revoke = [&](std::uint64_t seq, Record& r) {
    if (!r.revoked && now < r.expires) {
      r.revoked = true;
      Forget(seq, r);  // the next injection gets a fresh lease
      ++n;
    }
  };
  if (by == RevokeBy::kLease) {
    std::uint64_t seq = 0;
    if (SeqOf(key, &seq)) {
      auto it = records_.find(seq);
      if (it != records_.end()) revoke(it->first, it->second);
    }
    return n;
  }
  for (auto& [seq, r] : records_) {
    bool hit = false;
    switch (by) {
      case RevokeBy::kCredential: {
        const auto creds = r.grant->Credentials();
        hit = std::find(creds.begin(), creds.end(), key) != creds.end();
        break;
      }
      case RevokeBy::kGrant: hit = r.grant->id == key; break;
      case RevokeBy::kPrincipal: hit = r.principal == key; break;
      case RevokeBy::kLease: break;
    }
    if (hit) revoke(seq, r);
  }
  return n;
}

std::vector<Lease> LeaseTable::List(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<std::uint64_t, const Record*>> live;
  for (const auto& [seq, r] : records_) {
    if (now < r.expires) live.emplace_back(seq, &r);
  }
  std::sort(live.begin(), live.end());
  std::vector<Lease> out;
  for (const auto& [seq, r] : live) {
    out.push_back(Lease{IdOf(seq), CredentialLabel(*r->grant), r->grant->id, r->principal, r->destination,
                        r->issued, r->expires - r->issued, r->revoked});
  }
  return out;
}

}  // namespace kars::broker
