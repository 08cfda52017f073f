#include "libkars/broker/lease.h"

#include <openssl/rand.h>

#include <algorithm>

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

void LeaseTable::ExpireFront(absl::Time now) {
  while (!order_.empty() && order_.front().first <= now) {
    records_.erase(order_.front().second);
    order_.pop_front();
  }
}

absl::StatusOr<std::string> LeaseTable::Issue(std::shared_ptr<const Grant> grant, absl::string_view principal,
                                              std::string destination, absl::Time issued, absl::Duration ttl) {
  std::uint64_t seq;
  {
    absl::MutexLock lock(&mu_);
    ExpireFront(issued);
    if (records_.size() >= max_) {
      // The queue's front may be a long lease hiding expired short ones: look at all once.
      absl::erase_if(records_, [&](const auto& kv) { return kv.second.expires <= issued; });
      if (records_.size() >= max_) {
        return MakeStatus(KARS_E_EXHAUSTED, absl::StrCat("lease table is full (", max_, " live leases)"));
      }
    }
    seq = next_++;
    const absl::Time expires = issued + ttl;
    records_.emplace(seq, Record{std::move(grant), std::string(principal), std::move(destination), issued,
                                 expires, false});
    order_.emplace_back(expires, seq);
  }
  return IdOf(seq);
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
  auto revoke = [&](Record& r) {
    if (!r.revoked && now < r.expires) {
      r.revoked = true;
      ++n;
    }
  };
  if (by == RevokeBy::kLease) {
    std::uint64_t seq = 0;
    if (SeqOf(key, &seq)) {
      auto it = records_.find(seq);
      if (it != records_.end()) revoke(it->second);
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
    if (hit) revoke(r);
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
