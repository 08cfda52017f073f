// Credential: one source's value behind a cache. Refreshes ahead of expiry; concurrent callers
// that need a refresh share one fetch (single flight); a failed refresh keeps serving a value
// that is still valid and records the failure; an expired value is never returned.
// Thread-safety: thread-safe.
#ifndef KARS_BROKER_CREDENTIAL_H_
#define KARS_BROKER_CREDENTIAL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libkars/base/sync.h"
#include "libkars/broker/source.h"

namespace kars::broker {

struct CredentialOptions {
  // Refresh when less than this much validity is left (and never later than 90% of the lifetime).
  absl::Duration refresh_ahead = absl::Seconds(60);
};

struct CredentialInfo {
  std::string id;
  std::string kind;
  bool available = false;
  absl::optional<absl::Time> expires_at;
  std::uint64_t fetches_ok = 0;
  std::uint64_t fetches_failed = 0;
  std::uint64_t generation = 0;  // bumps each time the value changes
  std::string last_error;        // "" when the last fetch succeeded
};

class Credential;

// What one thread keeps of a credential's value so that later calls skip the credential's lock
// and write no cache line other threads read. Valid while the credential's state is unchanged
// (stamp) and until `until`, which is no later than the refresh-ahead point (so never past the
// value's expiry) nor than the source's next staleness check (a file source's re-stat).
struct CachedToken {
  std::uint64_t stamp = 0;  // the credential's state when filled; 0 when not reusable
  absl::Time until = absl::InfinitePast();
  Token token;
};

class Credential {
 public:
  Credential(std::string id, std::unique_ptr<Source> source, CredentialOptions options);
  Credential(const Credential&) = delete;
  Credential& operator=(const Credential&) = delete;

  const std::string& id() const { return id_; }

  // A value valid at `now`, fetching if needed. Errors are KARS_E_UNAVAILABLE (or the source's
  // code) with a message naming the credential and the cause.
  absl::StatusOr<Token> Get(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  // The same into `slot`, which is left reusable (stamp set) when the value may be served again
  // without asking until some later time. On failure the slot is emptied.
  absl::Status GetInto(absl::Time now, CachedToken* slot) ABSL_LOCKS_EXCLUDED(mu_);
  // The slot's token if it holds this credential's current state and is usable at `now`; null
  // when the caller must call GetInto. A lock-free read of one word: any change of value,
  // lifetime, retirement or restoration changes the state, and states are unique across all
  // credentials, so a slot filled from another credential never matches.
  const Token* Cached(const CachedToken& slot, absl::Time now) const {
    return slot.stamp == stamp_.load(std::memory_order_acquire) && now < slot.until ? &slot.token : nullptr;
  }

  // Current and previous values (either may be null), for the leak index: a rotated-out value
  // can still be live at its issuer and must not leave either.
  void HeldValues(SecretPtr* current, SecretPtr* previous) const ABSL_LOCKS_EXCLUDED(mu_);
  // The secrets the source itself holds (see Source::AuxiliarySecrets).
  std::vector<std::pair<std::string, SecretPtr>> AuxiliarySecrets() const {
    return source_->AuxiliarySecrets();
  }

  CredentialInfo Info() const ABSL_LOCKS_EXCLUDED(mu_);

  // Called (without any lock held) after the value changed. Set before the first Get.
  void set_on_change(std::function<void()> f) { on_change_ = std::move(f); }
  // Called (without any lock held) with the error of every failed fetch. Set before the first Get.
  void set_on_failure(std::function<void(const absl::Status&)> f) { on_failure_ = std::move(f); }

  // The source went away (a directory key was deleted): Get fails with KARS_E_NOT_FOUND and
  // fetches nothing until Restore. The last value stays held (as the previous one) so that it
  // is still scanned for. Returns false when already retired.
  bool Retire(absl::string_view why) ABSL_LOCKS_EXCLUDED(mu_);
  // The source is back: the next Get fetches. Returns false when not retired.
  bool Restore() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  bool Fresh(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Valid(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // When the current value stops being fresh (the refresh-ahead point); InfiniteFuture when it
  // never expires.
  absl::Time FreshUntil() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks a change of token_ or retired_ for Cached.
  void Changed() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fills *slot with the current token, reusable until the next refresh or staleness check.
  void Fill(CachedToken* slot) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string id_;
  const std::unique_ptr<Source> source_;
  const CredentialOptions options_;
  std::function<void()> on_change_;
  std::function<void(const absl::Status&)> on_failure_;

  mutable Mutex mu_;
  CondVar refreshed_;  // signalled when refreshing_ clears
  absl::optional<Token> token_ ABSL_GUARDED_BY(mu_);
  absl::Time fetched_at_ ABSL_GUARDED_BY(mu_);
  SecretPtr previous_ ABSL_GUARDED_BY(mu_);
  // Only the thread that set refreshing_ calls into source_ (Fetch, Stale) while it is set;
  // others call Stale() only under mu_ with refreshing_ clear.
  bool refreshing_ ABSL_GUARDED_BY(mu_) = false;
  bool retired_ ABSL_GUARDED_BY(mu_) = false;
  std::uint64_t flight_ ABSL_GUARDED_BY(mu_) = 0;  // completed fetches
  absl::Status last_status_ ABSL_GUARDED_BY(mu_);
  std::uint64_t ok_ ABSL_GUARDED_BY(mu_) = 0;
  std::uint64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  std::uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  // Written under mu_ on every change; read without it by Cached.
  std::atomic<std::uint64_t> stamp_;
};

}  // namespace kars::broker

#endif  // KARS_BROKER_CREDENTIAL_H_
