#include "libkars/broker/lease.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <tuple>

#include "absl/hash/hash.h"
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

std::uint64_t NextInstance() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// The lease this thread was last given. A hit needs the same table instance, no revocation since
// (epoch), the same grant object, principal and origin, and the lease still reusable; it then
// costs no lock and no hash. An unexpired lease's record exists and holds its grant, so the
// grant's address cannot have been reused by another grant meanwhile.
struct LastLease {
  std::uint64_t instance = 0;
  std::uint64_t epoch = 0;
  const Grant* grant = nullptr;
  std::string principal;
  std::string origin;
  std::string id;
  absl::Time issued;
  absl::Time expires;
  absl::Duration half_life;
};

LastLease& ThreadLastLease() {
  thread_local LastLease last;
  return last;
}

}  // namespace

std::string CredentialLabel(const Grant& g) {
  return g.kind == InjectionKind::kBasic ? absl::StrCat(g.username_credential, "+", g.password_credential)
                                         : g.credential;
}

LeaseTable::LeaseTable(std::size_t max_leases)
    : max_(max_leases), prefix_(RandomPrefix()), instance_(NextInstance()) {}

void LeaseTable::IdOf(std::uint64_t seq, std::string* out) const {
  char digits[absl::numbers_internal::kFastToBufferSize];
  const char* end = absl::numbers_internal::FastIntToBuffer(seq, digits);
  out->assign(prefix_);
  out->append(digits, static_cast<std::size_t>(end - digits));
}

bool LeaseTable::SeqOf(absl::string_view id, std::uint64_t* seq) const {
  return absl::StartsWith(id, prefix_) && absl::SimpleAtoi(id.substr(prefix_.size()), seq);
}

void LeaseTable::Forget(Shard& shard, std::uint64_t seq, const Record& r) {
  auto it = shard.reuse.find(r.key);
  if (it != shard.reuse.end() && it->second == seq) shard.reuse.erase(it);
}

void LeaseTable::ExpireFront(Shard& shard, absl::Time now) {
  while (!shard.order.empty() && shard.order.front().first <= now) {
    auto it = shard.records.find(shard.order.front().second);
    if (it != shard.records.end()) {
      Forget(shard, it->first, it->second);
      shard.records.erase(it);
      live_.fetch_sub(1, std::memory_order_relaxed);
    }
    shard.order.pop_front();
  }
}

void LeaseTable::Sweep(absl::Time now) {
  // The queue's front may be a long lease hiding expired short ones: look at every record once.
  for (Shard& shard : shards_) {
    MutexLock lock(&shard.mu);
    absl::erase_if(shard.records, [&](const auto& kv) {
      if (kv.second.expires > now) return false;
      Forget(shard, kv.first, kv.second);
      live_.fetch_sub(1, std::memory_order_relaxed);
      return true;
    });
  }
}

absl::StatusOr<std::string> LeaseTable::Acquire(const std::shared_ptr<const Grant>& grant,
                                                absl::string_view principal, absl::string_view origin,
                                                absl::Time now, absl::Duration ttl) {
  std::string id;
  if (absl::Status s = Acquire(grant, principal, origin, now, ttl, &id); !s.ok()) return s;
  return id;
}

absl::Status LeaseTable::Acquire(const std::shared_ptr<const Grant>& grant, absl::string_view principal,
                                 absl::string_view origin, absl::Time now, absl::Duration ttl,
                                 std::string* id) {
  // The grant's address names this grant object: a grant removed and added again gets new leases.
  const Grant* g = grant.get();
  // Reused only while it outlives the ttl this injection would have had, capped at half its own
  // life: a refreshed short-lived token must not ride on a lease past the old expiry.
  auto reusable_until = [&](absl::Time expires, absl::Duration half_life) {
    return expires - now >= std::min(ttl, half_life);
  };
  LastLease& last = ThreadLastLease();
  const std::uint64_t epoch = epoch_.load(std::memory_order_acquire);
  if (last.instance == instance_ && last.epoch == epoch && last.grant == g && last.principal == principal &&
      last.origin == origin && reusable_until(last.expires, last.half_life)) {
    id->assign(last.id);
    return absl::OkStatus();
  }
  auto remember = [&](const Record& r) {
    last.instance = instance_;
    last.epoch = epoch;
    last.grant = g;
    last.principal.assign(principal.data(), principal.size());
    last.origin.assign(origin.data(), origin.size());
    last.id = r.id;
    last.issued = r.issued;
    last.expires = r.expires;
    last.half_life = r.half_life;
  };
  const std::uint64_t key = absl::Hash<std::tuple<std::uintptr_t, absl::string_view, absl::string_view>>{}(
      std::make_tuple(reinterpret_cast<std::uintptr_t>(g), principal, origin));
  const std::size_t shard_index = static_cast<std::size_t>(key >> 40) % kShards;
  Shard& shard = shards_[shard_index];
  auto same = [&](const Record& r) { return r.grant.get() == g && r.principal == principal && r.origin == origin; };
  auto reusable = [&](const Record& r) { return !r.revoked && reusable_until(r.expires, r.half_life); };
  {
    ReaderMutexLock lock(&shard.mu);
    auto reuse = shard.reuse.find(key);
    if (reuse != shard.reuse.end()) {
      auto it = shard.records.find(reuse->second);
      if (it != shard.records.end() && same(it->second) && reusable(it->second)) {
        id->assign(it->second.id);
        remember(it->second);
        return absl::OkStatus();
      }
    }
  }
  if (live_.load(std::memory_order_relaxed) >= max_) Sweep(now);
  MutexLock lock(&shard.mu);
  ExpireFront(shard, now);
  auto reuse = shard.reuse.find(key);
  if (reuse != shard.reuse.end()) {
    auto it = shard.records.find(reuse->second);
    if (it != shard.records.end() && same(it->second) && reusable(it->second)) {
      id->assign(it->second.id);  // another thread issued it meanwhile
      remember(it->second);
      return absl::OkStatus();
    }
    shard.reuse.erase(reuse);
  }
  if (live_.fetch_add(1, std::memory_order_relaxed) >= max_) {
    live_.fetch_sub(1, std::memory_order_relaxed);
    return MakeStatus(KARS_E_EXHAUSTED, absl::StrCat("lease table is full (", max_, " live leases)"));
  }
  const std::uint64_t seq = shard.next++ * kShards + shard_index;
  const absl::Time expires = now + ttl;
  IdOf(seq, id);
  auto [rec, inserted] = shard.records.emplace(
      seq, Record{grant, std::string(principal), std::string(origin), now, expires, ttl / 2, false, key, *id});
  (void)inserted;
  remember(rec->second);
  shard.reuse.emplace(key, seq);
  shard.order.emplace_back(expires, seq);
  return absl::OkStatus();
}

absl::Status LeaseTable::Check(absl::string_view id, absl::Time now) const {
  std::uint64_t seq = 0;
  if (!SeqOf(id, &seq)) return MakeStatus(KARS_E_NOT_FOUND, absl::StrCat("no lease ", id));
  const Shard& shard = shards_[seq % kShards];
  ReaderMutexLock lock(&shard.mu);
  auto it = shard.records.find(seq);
  if (it == shard.records.end()) return MakeStatus(KARS_E_NOT_FOUND, absl::StrCat("no lease ", id));
  if (it->second.revoked) return MakeStatus(KARS_E_DENIED, absl::StrCat("lease ", id, " is revoked"));
  if (now >= it->second.expires) return MakeStatus(KARS_E_DENIED, absl::StrCat("lease ", id, " expired"));
  return absl::OkStatus();
}

std::size_t LeaseTable::Revoke(RevokeBy by, const std::string& key) {
  // The epoch moves before and after the marking: a thread that remembered a lease while the
  // marking ran (under the older of the two epochs) cannot reuse it once this call returns.
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  struct BumpAfter {
    std::atomic<std::uint64_t>& epoch;
    ~BumpAfter() { epoch.fetch_add(1, std::memory_order_acq_rel); }
  } bump_after{epoch_};
  const absl::Time now = absl::Now();
  std::size_t n = 0;
  auto revoke = [&](Shard& shard, std::uint64_t seq, Record& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu) {
    if (!r.revoked && now < r.expires) {
      r.revoked = true;
      Forget(shard, seq, r);  // the next injection gets a fresh lease
      ++n;
    }
  };
  if (by == RevokeBy::kLease) {
    std::uint64_t seq = 0;
    if (!SeqOf(key, &seq)) return 0;
    Shard& shard = shards_[seq % kShards];
    MutexLock lock(&shard.mu);
    auto it = shard.records.find(seq);
    if (it != shard.records.end()) revoke(shard, it->first, it->second);
    return n;
  }
  for (Shard& shard : shards_) {
    MutexLock lock(&shard.mu);
    for (auto& [seq, r] : shard.records) {
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
      if (hit) revoke(shard, seq, r);
    }
  }
  return n;
}

std::vector<Lease> LeaseTable::List(absl::Time now) const {
  std::vector<Lease> out;
  std::vector<std::pair<absl::Time, std::uint64_t>> order;
  for (const Shard& shard : shards_) {
    ReaderMutexLock lock(&shard.mu);
    for (const auto& [seq, r] : shard.records) {
      if (now >= r.expires) continue;
      out.push_back(Lease{r.id, CredentialLabel(*r.grant), r.grant->id, r.principal,
                          absl::StrCat(r.origin, r.grant->path_prefix), r.issued, r.expires - r.issued,
                          r.revoked});
      order.emplace_back(r.issued, seq);
    }
  }
  // Oldest first; within one clock tick, by each shard's issue order.
  std::vector<std::size_t> perm(out.size());
  for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::sort(perm.begin(), perm.end(), [&](std::size_t a, std::size_t b) { return order[a] < order[b]; });
  std::vector<Lease> sorted;
  sorted.reserve(out.size());
  for (std::size_t i : perm) sorted.push_back(std::move(out[i]));
  return sorted;
}

}  // namespace kars::broker
