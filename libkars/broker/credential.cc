#include "libkars/broker/credential.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"

namespace kars::broker {

namespace {

// Credential states are numbered from one counter, so a state names its credential too.
std::uint64_t NextStamp() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

Credential::Credential(std::string id, std::unique_ptr<Source> source, CredentialOptions options)
    : id_(std::move(id)), source_(std::move(source)), options_(options), stamp_(NextStamp()) {}

void Credential::Changed() { stamp_.store(NextStamp(), std::memory_order_release); }

bool Credential::Valid(absl::Time now) const {
  return token_.has_value() && (!token_->expires_at || now < *token_->expires_at);
}

absl::Time Credential::FreshUntil() const {
  if (!token_->expires_at) return absl::InfiniteFuture();
  // Refresh ahead by refresh_ahead, but never in the first half of a short lifetime, so a token
  // that lives less than refresh_ahead is not fetched on every call.
  const absl::Duration lifetime = *token_->expires_at - fetched_at_;
  const absl::Duration ahead = std::min(options_.refresh_ahead, lifetime / 2);
  return *token_->expires_at - ahead;
}

bool Credential::Fresh(absl::Time now) const { return token_.has_value() && now < FreshUntil(); }

void Credential::Fill(CachedToken* slot) const {
  slot->token = *token_;
  slot->stamp = stamp_.load(std::memory_order_relaxed);
  // FreshUntil is never past the expiry, so a reused slot never serves an expired value.
  slot->until = std::min(FreshUntil(), source_->NextStaleCheck());
}

absl::StatusOr<Token> Credential::Get(absl::Time now) {
  CachedToken slot;
  if (absl::Status s = GetInto(now, &slot); !s.ok()) return s;
  return std::move(slot.token);
}

absl::Status Credential::GetInto(absl::Time now, CachedToken* slot) {
  slot->stamp = 0;
  auto serve = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {  // a value that is valid but not to be reused
    slot->token = *token_;
    return absl::OkStatus();
  };
  auto fail = [&](const absl::Status& s) {  // called under mu_; the copy leaves the lock
    slot->token = Token{};
    return DetachedCopy(s);
  };
  {
    MutexLock lock(&mu_);
    if (retired_) return fail(last_status_);
    if (refreshing_) {
      if (Valid(now)) return serve();  // someone is refreshing; the current value still serves
      const std::uint64_t awaited = flight_ + 1;
      while (refreshing_) refreshed_.Wait(&mu_);
      if (retired_) return fail(last_status_);
      if (Valid(now)) return serve();
      if (flight_ >= awaited && !last_status_.ok()) return fail(last_status_);
      // The flight we waited for ended without a usable value and no error (cannot happen), or a
      // newer state: fall through and fetch ourselves.
    }
    if (token_.has_value() && Fresh(now) && !source_->Stale()) {
      Fill(slot);
      return absl::OkStatus();
    }
    refreshing_ = true;
  }

  absl::StatusOr<Token> fetched = source_->Fetch();
  if (fetched.ok() && fetched->expires_at && *fetched->expires_at <= now) {
    fetched = MakeStatus(KARS_E_UNAVAILABLE, absl::StrCat(source_->kind(),
                                                          " source returned an expired value"));
  }

  bool changed = false;
  absl::Status result;
  absl::Status failure;
  {
    MutexLock lock(&mu_);
    refreshing_ = false;
    refreshed_.SignalAll();
    ++flight_;
    if (retired_) {
      result = fail(last_status_);  // retired while fetching: the fetched value is not used
    } else if (fetched.ok()) {
      ++ok_;
      last_status_ = absl::OkStatus();
      changed = !token_.has_value() || !token_->value->Equals(*fetched->value);
      if (changed) {
        if (token_.has_value()) previous_ = token_->value;
        ++generation_;
        token_ = *fetched;
      } else {
        token_->expires_at = fetched->expires_at;  // same value, new lifetime
      }
      fetched_at_ = now;
      Changed();
      Fill(slot);
    } else {
      ++failed_;
      last_status_ = MakeStatus(ToCStatus(fetched.status()),
                                absl::StrCat("credential ", id_, ": ", fetched.status().message()));
      failure = DetachedCopy(last_status_);
      if (Valid(now)) {
        result = serve();  // keep serving; the failure shows in Info()
      } else {
        result = fail(last_status_);
      }
    }
  }
  if (!failure.ok() && on_failure_) on_failure_(failure);
  if (changed && on_change_) on_change_();
  return result;
}

bool Credential::Retire(absl::string_view why) {
  {
    MutexLock lock(&mu_);
    if (retired_) return false;
    retired_ = true;
    if (token_.has_value()) {
      previous_ = token_->value;
      token_.reset();
      ++generation_;
    }
    Changed();
    last_status_ = MakeStatus(KARS_E_NOT_FOUND, absl::StrCat("credential ", id_, ": ", why));
  }
  if (on_change_) on_change_();
  return true;
}

bool Credential::Restore() {
  MutexLock lock(&mu_);
  if (!retired_) return false;
  retired_ = false;
  last_status_ = absl::OkStatus();
  Changed();
  return true;
}

void Credential::HeldValues(SecretPtr* current, SecretPtr* previous) const {
  MutexLock lock(&mu_);
  *current = token_.has_value() ? token_->value : nullptr;
  *previous = previous_;
}

CredentialInfo Credential::Info() const {
  MutexLock lock(&mu_);
  CredentialInfo info;
  info.id = id_;
  info.kind = source_->kind();
  info.available = Valid(absl::Now());
  if (token_.has_value()) info.expires_at = token_->expires_at;
  info.fetches_ok = ok_;
  info.fetches_failed = failed_;
  info.generation = generation_;
  info.last_error = std::string(last_status_.message());
  return info;
}

}  // namespace kars::broker
