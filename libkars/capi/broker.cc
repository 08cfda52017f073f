// The C ABI of the credential broker: translation only; the logic lives in libkars/broker/.
#include "kars/broker.h"

#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libkars/base/secure_zero.h"
#include "libkars/base/status.h"
#include "libkars/broker/broker.h"
#include "libkars/capi/buf.h"
#include "libkars/capi/guard.h"

struct kars_broker_options {
  kars::broker::BrokerSettings settings;
};

struct kars_broker {
  std::unique_ptr<kars::broker::Broker> impl;
  // The C callback registration; its userdata_free runs when replaced or on free.
  struct Callback {
    kars_broker_event_cb cb = nullptr;
    void* userdata = nullptr;
    void (*userdata_free)(void*) = nullptr;
    ~Callback() {
      if (userdata_free != nullptr) userdata_free(userdata);
    }
  };
};

struct kars_broker_injection {
  kars::broker::Injection impl;
};

struct kars_broker_verdict {
  kars::broker::ScanVerdict impl;
};

struct kars_broker_redactor {
  std::unique_ptr<kars::broker::Redactor> impl;
};

namespace {

using kars::capi::Guard;
using kars::capi::GuardVoid;

absl::string_view View(const char* p, size_t n) { return p == nullptr ? absl::string_view() : absl::string_view(p, n); }

// Views of the caller's headers: nothing is copied on the injection path, and up to kOnStack
// headers need no allocation either.
class HeaderViews {
 public:
  absl::Status Init(const kars_header* headers, size_t n) {
    if (n > 0 && headers == nullptr) return absl::InvalidArgumentError("headers must not be NULL when n_headers > 0");
    if (n > kOnStack) {
      heap_.resize(n);
      data_ = heap_.data();
    }
    for (size_t i = 0; i < n; ++i) {
      const kars_header& h = headers[i];
      if ((h.name == nullptr && h.name_len > 0) || (h.value == nullptr && h.value_len > 0)) {
        return absl::InvalidArgumentError(absl::StrCat("headers[", i, "] has a NULL pointer with a length"));
      }
      new (&data_[i]) kars::broker::HeaderView(View(h.name, h.name_len), View(h.value, h.value_len));
    }
    n_ = n;
    return absl::OkStatus();
  }
  absl::Span<const kars::broker::HeaderView> views() const { return {data_, n_}; }

 private:
  static constexpr size_t kOnStack = 16;
  // Left uninitialised (each view is constructed as it is filled): clearing 16 views on every
  // call cost more than the checks.
  union Stack {
    Stack() {}
    kars::broker::HeaderView views[kOnStack];
  } stack_;
  static_assert(std::is_trivially_destructible_v<kars::broker::HeaderView>);
  std::vector<kars::broker::HeaderView> heap_;
  kars::broker::HeaderView* data_ = stack_.views;
  size_t n_ = 0;
};

absl::Status Headers(const kars_header* headers, size_t n, std::vector<kars::broker::Header>* out) {
  if (n > 0 && headers == nullptr) return absl::InvalidArgumentError("headers must not be NULL when n_headers > 0");
  for (size_t i = 0; i < n; ++i) {
    if ((headers[i].name == nullptr && headers[i].name_len > 0) ||
        (headers[i].value == nullptr && headers[i].value_len > 0)) {
      return absl::InvalidArgumentError(absl::StrCat("headers[", i, "] has a NULL pointer with a length"));
    }
    out->emplace_back(std::string(View(headers[i].name, headers[i].name_len)),
                      std::string(View(headers[i].value, headers[i].value_len)));
  }
  return absl::OkStatus();
}

void WipeHeaders(std::vector<kars::broker::Header>& headers) {
  for (auto& h : headers) kars::SecureZero(h.second);
}

absl::Status RequireText(const char* p, size_t n, const char* what) {
  if (p == nullptr && n > 0) return absl::InvalidArgumentError(absl::StrCat(what, " must not be NULL"));
  return absl::OkStatus();
}

}  // namespace

extern "C" {

kars_status kars_broker_options_new(kars_broker_options** out, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    *out = new kars_broker_options();
    return absl::OkStatus();
  });
}

void kars_broker_options_free(kars_broker_options* options) { delete options; }

void kars_broker_options_set_token_patterns(kars_broker_options* options, int enabled) {
  if (options != nullptr) options->settings.token_patterns = enabled != 0;
}

void kars_broker_options_set_max_leases(kars_broker_options* options, size_t max_leases) {
  if (options != nullptr && max_leases > 0) options->settings.max_leases = max_leases;
}

kars_status kars_broker_new(kars_broker** out, const kars_broker_options* options, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    auto b = kars::broker::Broker::Create(options != nullptr ? options->settings
                                                             : kars::broker::BrokerSettings{});
    if (!b.ok()) return b.status();
    *out = new kars_broker{*std::move(b)};
    return absl::OkStatus();
  });
}

kars_status kars_broker_new_from_config(kars_broker** out, const char* config, size_t config_len,
                                        kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    if (absl::Status s = RequireText(config, config_len, "config"); !s.ok()) return s;
    auto b = kars::broker::Broker::FromConfig(View(config, config_len));
    if (!b.ok()) return b.status();
    *out = new kars_broker{*std::move(b)};
    return absl::OkStatus();
  });
}

void kars_broker_free(kars_broker* broker) {
  GuardVoid([&] {
    if (broker != nullptr) broker->impl->SetEventSink(nullptr);
    delete broker;
  });
}

kars_status kars_broker_add_source(kars_broker* broker, const char* definition, size_t len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(broker);
    KARS_REQUIRE_ARG(definition);
    auto specs = kars::broker::ParseSources(View(definition, len));
    if (!specs.ok()) return specs.status();
    for (auto& spec : *specs) {
      if (absl::Status s = broker->impl->AddSource(std::move(spec)); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

kars_status kars_broker_remove_source(kars_broker* broker, const char* id, size_t id_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(broker);
    KARS_REQUIRE_ARG(id);
    return broker->impl->RemoveSource(std::string(id, id_len));
  });
}

kars_status kars_broker_add_grant(kars_broker* broker, const char* definition, size_t len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(broker);
    KARS_REQUIRE_ARG(definition);
    auto grant = kars::broker::ParseGrant(View(definition, len));
    if (!grant.ok()) return grant.status();
    return broker->impl->AddGrant(*std::move(grant));
  });
}

kars_status kars_broker_remove_grant(kars_broker* broker, const char* id, size_t id_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(broker);
    KARS_REQUIRE_ARG(id);
    return broker->impl->RemoveGrant(std::string(id, id_len));
  });
}

kars_status kars_broker_inject(kars_broker_injection** out, kars_broker* broker, const char* principal,
                               size_t principal_len, const char* method, size_t method_len,
                               const char* url, size_t url_len, const kars_header* headers,
                               size_t n_headers, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(broker);
    KARS_REQUIRE_ARG(principal);
    KARS_REQUIRE_ARG(method);
    KARS_REQUIRE_ARG(url);
    HeaderViews h;
    if (absl::Status s = h.Init(headers, n_headers); !s.ok()) return s;
    auto inj = std::make_unique<kars_broker_injection>();
    absl::Status s = broker->impl->Inject(View(principal, principal_len), View(method, method_len),
                                          View(url, url_len), h.views(), &inj->impl);
    if (!s.ok()) return s;
    *out = inj.release();
    return absl::OkStatus();
  });
}

kars_status kars_broker_inject_into(kars_broker_injection* injection, kars_broker* broker,
                                    const char* principal, size_t principal_len, const char* method,
                                    size_t method_len, const char* url, size_t url_len,
                                    const kars_header* headers, size_t n_headers, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(injection);
    KARS_REQUIRE_ARG(broker);
    KARS_REQUIRE_ARG(principal);
    KARS_REQUIRE_ARG(method);
    KARS_REQUIRE_ARG(url);
    HeaderViews h;
    if (absl::Status s = h.Init(headers, n_headers); !s.ok()) {
      injection->impl.Reset();  // a failed call leaves an empty result, which is not allowed
      return s;
    }
    // Inject refills the injection in place (and empties it itself when it fails).
    return broker->impl->Inject(View(principal, principal_len), View(method, method_len), View(url, url_len),
                                h.views(), &injection->impl);
  });
}

kars_status kars_broker_injection_new(kars_broker_injection** out, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    *out = new kars_broker_injection();
    return absl::OkStatus();
  });
}

void kars_broker_injection_free(kars_broker_injection* injection) { delete injection; }

int kars_broker_injection_allowed(const kars_broker_injection* inj) {
  return inj != nullptr && inj->impl.allowed() ? 1 : 0;
}

const char* kars_broker_injection_reason(const kars_broker_injection* inj) {
  return inj == nullptr ? "" : kars::broker::DenyReasonName(inj->impl.reason);
}

const char* kars_broker_injection_message(const kars_broker_injection* inj) {
  return inj == nullptr ? "" : inj->impl.message.c_str();
}

const char* kars_broker_injection_credential_id(const kars_broker_injection* inj) {
  return inj == nullptr ? "" : inj->impl.credential_id.c_str();
}

const char* kars_broker_injection_grant_id(const kars_broker_injection* inj) {
  return inj == nullptr ? "" : inj->impl.grant_id.c_str();
}

const char* kars_broker_injection_lease_id(const kars_broker_injection* inj) {
  return inj == nullptr ? "" : inj->impl.lease_id.c_str();
}

size_t kars_broker_injection_set_header_count(const kars_broker_injection* inj) {
  return inj == nullptr ? 0 : inj->impl.set_headers.size();
}

kars_status kars_broker_injection_set_header(kars_header* out, const kars_broker_injection* inj,
                                             size_t index, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(inj);
    if (index >= inj->impl.set_headers.size()) {
      return absl::InvalidArgumentError(absl::StrCat("header index ", index, " out of range (",
                                                     inj->impl.set_headers.size(), " headers)"));
    }
    const auto& h = inj->impl.set_headers[index];
    *out = kars_header{h.first.c_str(), h.first.size(), h.second.c_str(), h.second.size()};
    return absl::OkStatus();
  });
}

size_t kars_broker_injection_remove_header_count(const kars_broker_injection* inj) {
  return inj == nullptr ? 0 : inj->impl.remove_headers.size();
}

const char* kars_broker_injection_remove_header(const kars_broker_injection* inj, size_t index) {
  if (inj == nullptr || index >= inj->impl.remove_headers.size()) return nullptr;
  return inj->impl.remove_headers[index].c_str();
}

const char* kars_broker_injection_query(const kars_broker_injection* inj) {
  return inj == nullptr ? "" : inj->impl.query.c_str();
}

kars_status kars_broker_scan_outbound(kars_broker_verdict** out, kars_broker* broker, const char* url,
                                      size_t url_len, const kars_header* headers, size_t n_headers,
                                      const uint8_t* body, size_t body_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(broker);
    if (absl::Status s = RequireText(url, url_len, "url"); !s.ok()) return s;
    if (body == nullptr && body_len > 0) return absl::InvalidArgumentError("body must not be NULL");
    std::vector<kars::broker::Header> h;
    absl::Status s = Headers(headers, n_headers, &h);
    if (!s.ok()) return s;
    auto v = broker->impl->ScanOutbound(View(url, url_len), h,
                                        View(reinterpret_cast<const char*>(body), body_len));
    WipeHeaders(h);
    if (!v.ok()) return v.status();
    *out = new kars_broker_verdict{*std::move(v)};
    return absl::OkStatus();
  });
}

void kars_broker_verdict_free(kars_broker_verdict* verdict) { delete verdict; }

int kars_broker_verdict_clean(const kars_broker_verdict* v) { return v != nullptr && v->impl.clean ? 1 : 0; }

const char* kars_broker_verdict_credential_id(const kars_broker_verdict* v) {
  return v == nullptr ? "" : v->impl.credential_id.c_str();
}

const char* kars_broker_verdict_location(const kars_broker_verdict* v) {
  return v == nullptr ? "" : v->impl.location.c_str();
}

const char* kars_broker_verdict_encoding(const kars_broker_verdict* v) {
  return v == nullptr ? "" : v->impl.encoding.c_str();
}

kars_status kars_broker_redactor_new(kars_broker_redactor** out, const kars_broker* broker, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(broker);
    *out = new kars_broker_redactor{broker->impl->NewRedactor()};
    return absl::OkStatus();
  });
}

void kars_broker_redactor_free(kars_broker_redactor* redactor) { delete redactor; }

kars_status kars_broker_redactor_feed(kars_buf* out, kars_broker_redactor* redactor, const uint8_t* chunk,
                                      size_t chunk_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(redactor);
    if (chunk == nullptr && chunk_len > 0) return absl::InvalidArgumentError("chunk must not be NULL");
    std::string emitted;
    absl::Status s = redactor->impl->Feed(View(reinterpret_cast<const char*>(chunk), chunk_len), &emitted);
    if (!s.ok()) return s;
    kars::capi::FillBuf(out, emitted);
    return absl::OkStatus();
  });
}

kars_status kars_broker_redactor_finish(kars_buf* out, kars_broker_redactor* redactor, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(redactor);
    std::string emitted;
    absl::Status s = redactor->impl->Finish(&emitted);
    if (!s.ok()) return s;
    kars::capi::FillBuf(out, emitted);
    return absl::OkStatus();
  });
}

kars_status kars_broker_revoke(size_t* out_count, kars_broker* broker, kars_broker_revoke_by by,
                               const char* key, size_t key_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(broker);
    KARS_REQUIRE_ARG(key);
    // A C caller may pass any int: read the bytes, since loading an out-of-range enum value is
    // undefined in C++.
    int selector = 0;
    static_assert(sizeof selector == sizeof by);
    std::memcpy(&selector, &by, sizeof selector);
    kars::broker::RevokeBy what;
    switch (selector) {
      case KARS_BROKER_REVOKE_LEASE: what = kars::broker::RevokeBy::kLease; break;
      case KARS_BROKER_REVOKE_CREDENTIAL: what = kars::broker::RevokeBy::kCredential; break;
      case KARS_BROKER_REVOKE_GRANT: what = kars::broker::RevokeBy::kGrant; break;
      case KARS_BROKER_REVOKE_PRINCIPAL: what = kars::broker::RevokeBy::kPrincipal; break;
      default: return absl::InvalidArgumentError(absl::StrCat("unknown revoke selector ", selector));
    }
    const size_t n = broker->impl->Revoke(what, std::string(key, key_len));
    if (out_count != nullptr) *out_count = n;
    return absl::OkStatus();
  });
}

kars_status kars_broker_lease_check(const kars_broker* broker, const char* lease_id, size_t len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(broker);
    KARS_REQUIRE_ARG(lease_id);
    return broker->impl->CheckLease(std::string(lease_id, len));
  });
}

kars_status kars_broker_list_leases(kars_buf* out, const kars_broker* broker, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(broker);
    kars::capi::FillBuf(out, kars::broker::LeasesJson(broker->impl->ListLeases()));
    return absl::OkStatus();
  });
}

kars_status kars_broker_list_credentials(kars_buf* out, const kars_broker* broker, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(broker);
    kars::capi::FillBuf(out, kars::broker::CredentialsJson(broker->impl->ListCredentials()));
    return absl::OkStatus();
  });
}

kars_status kars_broker_metrics(kars_buf* out, const kars_broker* broker, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(broker);
    kars::capi::FillBuf(out, kars::broker::MetricsJson(broker->impl->Metrics()));
    return absl::OkStatus();
  });
}

kars_status kars_broker_rescan_directories(kars_broker* broker, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(broker);
    broker->impl->RescanDirectories(/*force=*/true);
    return absl::OkStatus();
  });
}

kars_status kars_broker_set_event_callback(kars_broker* broker, kars_broker_event_cb cb, void* userdata,
                                           void (*userdata_free)(void*), kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(broker);
    if (cb == nullptr) {
      broker->impl->SetEventSink(nullptr);  // the old registration's userdata_free runs here
      return absl::OkStatus();
    }
    auto reg = std::make_shared<kars_broker::Callback>();
    reg->cb = cb;
    reg->userdata = userdata;
    reg->userdata_free = userdata_free;
    broker->impl->SetEventSink([reg](const std::string& event) {
      (void)reg->cb(event.c_str(), event.size(), reg->userdata);
    });
    return absl::OkStatus();
  });
}

}  // extern "C"
