// Broker: the credential broker's one entry point. Holds credentials (sources behind caches),
// grants and leases; injects credentials into requests the agent makes, scans outgoing requests
// for held secrets in every encoding, and creates redactors for responses.
// Thread-safety: thread-safe. Reads (Inject, ScanOutbound, NewRedactor) take one snapshot of the
// grant table (with its credentials resolved) and the leak index, which changes replace whole
// (copy-on-write); the injection path takes no exclusive lock shared by all requests. Each thread
// keeps the snapshot and the credential values its last injections used, checked on every call
// against one stamp each (so every change is seen by the next injection), which lets a repeated
// injection take no lock and write no cache line another thread reads. Those per-thread copies
// are released when the thread next injects with a changed state, or exits; a broker destroyed
// releases the destroying thread's own.
#ifndef KARS_BROKER_BROKER_H_
#define KARS_BROKER_BROKER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "libkars/base/sync.h"
#include "libkars/broker/config.h"
#include "libkars/broker/credential.h"
#include "libkars/broker/grant.h"
#include "libkars/broker/leak_index.h"
#include "libkars/broker/lease.h"
#include "libkars/broker/redactor.h"
#include "libkars/broker/request.h"
#include "libkars/broker/sharded_counter.h"

namespace kars::broker {

// Why a request was refused. The names are part of the C ABI (kars_broker_injection_reason).
enum class DenyReason {
  kNone,
  kNoGrant,                 // "no_grant"
  kCredentialUnavailable,   // "credential_unavailable"
  kCredentialExfiltration,  // "credential_exfiltration"
  kInvalidRequest,          // "invalid_request"
  kLeasesExhausted,         // "leases_exhausted"
};
const char* DenyReasonName(DenyReason r);

// The outcome of Inject. Header values and the query hold secrets: wiped on destruction and on
// Reset. An Injection passed back to Inject is refilled in place, reusing its buffers, so a
// caller that keeps one per thread injects without heap allocation.
struct Injection {
  Injection() = default;
  Injection(Injection&&) = default;
  Injection& operator=(Injection&&) = default;
  ~Injection();
  // Wipes the values and empties every field, keeping the buffers.
  void Reset();

  // Every allowed injection is under a lease: an empty (new or reset) one is not allowed.
  bool allowed() const { return reason == DenyReason::kNone && !lease_id.empty(); }
  DenyReason reason = DenyReason::kNone;
  std::string message;        // why, for the agent and logs; never a value
  std::string credential_id;  // the credential injected, or the one an exfiltration hit
  std::string grant_id;
  std::string lease_id;
  absl::InlinedVector<Header, 1> set_headers;         // to set (replacing any of the same name)
  absl::InlinedVector<std::string, 2> remove_headers;  // to remove, as the request spelled them
  std::string query;                       // "name=value" to append to the query, if any
};

struct ScanVerdict {
  bool clean = true;
  std::string credential_id;  // held credential id, or "pattern:<name>" for the second layer
  std::string location;       // "url", "header:<name>" or "body"
  std::string encoding;       // the form that matched (raw, base64, ...); "" for patterns
};

struct BrokerMetrics {
  std::uint64_t injections = 0;
  std::uint64_t denials_no_grant = 0;
  std::uint64_t denials_unavailable = 0;
  std::uint64_t denials_exfiltration = 0;
  std::uint64_t denials_invalid = 0;
  std::uint64_t denials_exhausted = 0;
  std::uint64_t scans = 0;
  std::uint64_t scan_hits = 0;
  std::uint64_t revocations = 0;
  std::uint64_t index_rebuilds = 0;
  std::uint64_t source_failures = 0;  // failed fetches over all sources (each also an event)
  std::uint64_t keys_added = 0;       // directory keys that appeared after the directory was added
  std::uint64_t keys_removed = 0;     // directory keys whose file went away
};

class Broker {
 public:
  // What one thread keeps between injections (inject.cc).
  struct ThreadCache;

  static absl::StatusOr<std::unique_ptr<Broker>> Create(BrokerSettings settings);
  // From config text (YAML or JSON); every source and grant is added or none is.
  static absl::StatusOr<std::unique_ptr<Broker>> FromConfig(absl::string_view text);
  ~Broker();

  // KARS_E_EXISTS for a duplicate id. Local sources (file, env) are read now; a read failure
  // does not fail the call: the credential stays unavailable and requests using it are denied.
  // A directory spec adds one source "<id>/<key>" per key file and keeps following the
  // directory (see RescanDirectories); it fails when the directory cannot be listed.
  absl::Status AddSource(SourceSpec spec) ABSL_LOCKS_EXCLUDED(mu_);
  // KARS_E_NOT_FOUND if absent, KARS_E_PRECONDITION while a grant uses it.
  absl::Status RemoveSource(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);
  // KARS_E_EXISTS for a duplicate id, KARS_E_NOT_FOUND for a credential that is not configured.
  absl::Status AddGrant(Grant grant) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status RemoveGrant(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);

  // Denials are an Injection with a reason, not an error; errors are internal failures only.
  absl::StatusOr<Injection> Inject(absl::string_view principal, absl::string_view method,
                                   absl::string_view url, const std::vector<Header>& headers);
  // The same into `out` (reset first, its buffers reused), reading the headers through views.
  absl::Status Inject(absl::string_view principal, absl::string_view method, absl::string_view url,
                      absl::Span<const HeaderView> headers, Injection* out);

  // Directory sources: adds a source for every key file that appeared and retires every key
  // whose file went away (requests using it are then denied as credential_unavailable; requests
  // already injected finish on the value they got, and their leases stay valid until revoked).
  // Runs by itself at most once per directory's check interval from Inject, ScanOutbound,
  // NewRedactor, AddGrant and ListCredentials; `force` runs it now.
  void RescanDirectories(bool force = false) ABSL_LOCKS_EXCLUDED(mu_, dir_mu_);

  absl::StatusOr<ScanVerdict> ScanOutbound(absl::string_view url, const std::vector<Header>& headers,
                                           absl::string_view body);

  std::unique_ptr<Redactor> NewRedactor();

  std::size_t Revoke(RevokeBy by, const std::string& key);
  absl::Status CheckLease(const std::string& id) const { return leases_.Check(id, absl::Now()); }
  std::vector<Lease> ListLeases() const { return leases_.List(absl::Now()); }
  std::vector<CredentialInfo> ListCredentials() ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<Grant> ListGrants() const ABSL_LOCKS_EXCLUDED(mu_);
  BrokerMetrics Metrics() const;

  // Receives one JSON object per event (injection, denial, source failure, revocation), on the
  // thread that caused it, with no broker lock held. Events never carry values.
  void SetEventSink(std::function<void(const std::string&)> sink) ABSL_LOCKS_EXCLUDED(mu_);

  // Replaces any held value (in any form) in `text`: the last line of defence for messages.
  std::string Sanitize(absl::string_view text) const;

  std::shared_ptr<const LeakIndex> leak_index() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // What a request reads, replaced whole on every change: grants with their credentials
  // resolved (by grant position), the leak index, and whether anyone listens for events.
  struct Snapshot {
    std::shared_ptr<const GrantTable> grants;
    std::vector<absl::InlinedVector<std::shared_ptr<Credential>, 2>> credentials;
    std::shared_ptr<const LeakIndex> index;
    bool has_sink = false;
    const Broker* broker = nullptr;  // compared only (see ~Broker)
  };
  static ThreadCache& ThisThreadCache();
  struct Directory {
    std::string id;
    std::string path;
    absl::Duration check_interval;
    absl::Time next_check;
    std::vector<std::string> keys;  // present at the last listing, sorted
  };

  explicit Broker(BrokerSettings settings);
  absl::Status RebuildIndex() ABSL_LOCKS_EXCLUDED(mu_, rebuild_mu_);
  void PublishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<const Snapshot> snapshot() const ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<Credential> NewCredential(SourceSpec& spec);
  absl::Status AddFileOrOther(SourceSpec spec) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status AddDirectory(SourceSpec spec) ABSL_LOCKS_EXCLUDED(mu_, dir_mu_);
  void RescanDirectory(Directory& dir, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(dir_mu_);
  void MaybeRescan(absl::Time now) {
    if (absl::ToUnixNanos(now) >= next_rescan_ns_.load(std::memory_order_relaxed)) RescanDirectories();
  }
  void OnSourceFailure(const std::string& id, const absl::Status& status);
  void Emit(std::string json) const;
  void Deny(DenyReason r, std::string message, std::string credential, absl::string_view principal,
            absl::string_view url, Injection* out);

  const BrokerSettings settings_;
  LeaseTable leases_;

  mutable Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Credential>> credentials_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const GrantTable> grants_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const std::function<void(const std::string&)>> sink_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const LeakIndex> index_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const Snapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  // Names snapshot_ for the per-thread caches: set under mu_ with each publish, from one counter
  // shared by all brokers, so a stamp never names another snapshot (nor another broker's).
  std::atomic<std::uint64_t> snapshot_stamp_{0};
  Mutex rebuild_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // one rebuild at a time

  Mutex dir_mu_ ABSL_ACQUIRED_BEFORE(rebuild_mu_, mu_);
  std::vector<Directory> directories_ ABSL_GUARDED_BY(dir_mu_);
  std::atomic<std::int64_t> next_rescan_ns_{INT64_MAX};  // the earliest next_check, Unix ns
  std::atomic<bool> rescanning_{false};                  // one rescan at a time; others go on

  std::atomic<bool> bulk_loading_{false};  // FromConfig: defer index builds to the end
  // Relaxed counters: each is one uncontended increment on its path.
  ShardedCounter injections_;  // every allowed request: per-thread cells
  mutable std::atomic<std::uint64_t> no_grant_{0}, unavailable_{0},
      exfiltration_{0}, invalid_{0}, exhausted_{0}, scans_{0}, scan_hits_{0}, revocations_{0},
      rebuilds_{0}, source_failures_{0}, keys_added_{0}, keys_removed_{0};
};

// JSON renderings for the C ABI and events: metadata only.
std::string LeasesJson(const std::vector<Lease>& leases);
std::string CredentialsJson(const std::vector<CredentialInfo>& creds);
std::string MetricsJson(const BrokerMetrics& m);
std::string JsonString(absl::string_view s);

}  // namespace kars::broker

#endif  // KARS_BROKER_BROKER_H_
