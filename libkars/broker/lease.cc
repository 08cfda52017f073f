#include "libkars/broker/lease.h"

#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
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
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
}

bool Expired(const Lease& l, absl::Time now) { return now >= l.issued + l.ttl; }

}  // namespace

LeaseTable::LeaseTable(std::size_t max_leases) : max_(max_leases), prefix_(RandomPrefix()) {}

absl::Status LeaseTable::Issue(Lease& lease) {
  const std::uint64_t seq = next_.fetch_add(1, std::memory_order_relaxed);
  lease.id = absl::StrCat("lease-", prefix_, "-", seq);
  absl::MutexLock lock(&mu_);
  // Expired leases go in batches, so the table's size follows the live leases, not the history.
  if (leases_.size() >= max_ || seq % 4096 == 0) Prune(lease.issued);
  if (leases_.size() >= max_) {
    return MakeStatus(KARS_E_EXHAUSTED,
                      absl::StrCat("lease table is full (", max_, " live leases)"));
  }
  leases_.emplace(lease.id, lease);
  return absl::OkStatus();
}

void LeaseTable::Prune(absl::Time now) {
  absl::erase_if(leases_, [&](const auto& kv) { return Expired(kv.second, now); });
}

absl::Status LeaseTable::Check(const std::string& id, absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) return MakeStatus(KARS_E_NOT_FOUND, absl::StrCat("no lease ", id));
  if (it->second.revoked) return MakeStatus(KARS_E_DENIED, absl::StrCat("lease ", id, " is revoked"));
  if (Expired(it->second, now)) return MakeStatus(KARS_E_DENIED, absl::StrCat("lease ", id, " expired"));
  return absl::OkStatus();
}

std::size_t LeaseTable::Revoke(RevokeBy by, const std::string& key) {
  absl::MutexLock lock(&mu_);
  std::size_t n = 0;
  auto revoke = [&](Lease& l) {
    if (!l.revoked) {
      l.revoked = true;
      ++n;
    }
  };
  if (by == RevokeBy::kLease) {
    auto it = leases_.find(key);
    if (it != leases_.end()) revoke(it->second);
    return n;
  }
  for (auto& [id, l] : leases_) {
    bool hit = false;
    switch (by) {
      case RevokeBy::kCredential:
        hit = l.credential == key || absl::StartsWith(l.credential, absl::StrCat(key, "+")) ||
              absl::EndsWith(l.credential, absl::StrCat("+", key));
        break;
      case RevokeBy::kGrant: hit = l.grant == key; break;
      case RevokeBy::kPrincipal: hit = l.principal == key; break;
      case RevokeBy::kLease: break;
    }
    if (hit) revoke(l);
  }
  return n;
}

std::vector<Lease> LeaseTable::List(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  std::vector<Lease> out;
  for (const auto& [id, l] : leases_) {
    if (!Expired(l, now)) out.push_back(l);
  }
  std::sort(out.begin(), out.end(), [](const Lease& a, const Lease& b) { return a.issued < b.issued; });
  return out;
}

}  // namespace kars::broker
