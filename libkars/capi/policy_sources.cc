// The policy C ABI: compilation sources and `check`. Translation only.
#include "kars/policy.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"
#include "libkars/capi/buf.h"
#include "libkars/capi/guard.h"
#include "libkars/capi/policy_internal.h"

namespace pol = kars::policy;
using kars::capi::FillBuf;
using kars::capi::Guard;
using kars::capi::GuardVoid;

namespace {

absl::Status ReadWholeFile(const char* path, std::string* out) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return kars::ErrnoError(absl::StrCat("cannot read ", path), errno);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return kars::ErrnoError(absl::StrCat("cannot read ", path), e);
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return absl::OkStatus();
}

}  // namespace

extern "C" {

kars_status kars_policy_sources_new(kars_policy_sources** out, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    *out = new kars_policy_sources();
    return absl::OkStatus();
  });
}

void kars_policy_sources_free(kars_policy_sources* sources) { delete sources; }

kars_status kars_policy_sources_add_bytes(kars_policy_sources* sources, const char* name,
                                          const uint8_t* data, size_t len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(sources);
    KARS_REQUIRE_ARG(name);
    if (data == nullptr && len != 0) return absl::InvalidArgumentError("data must not be NULL");
    sources->sources.push_back({pol::PolicySource::kDocuments, name,
                                std::string(reinterpret_cast<const char*>(data), len)});
    return absl::OkStatus();
  });
}

kars_status kars_policy_sources_add_file(kars_policy_sources* sources, const char* path,
                                         kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(sources);
    KARS_REQUIRE_ARG(path);
    std::string text;
    absl::Status s = ReadWholeFile(path, &text);
    if (!s.ok()) return s;
    sources->sources.push_back({pol::PolicySource::kDocuments, path, std::move(text)});
    return absl::OkStatus();
  });
}

kars_status kars_policy_sources_add_domain_feed(kars_policy_sources* sources, const char* name,
                                                const uint8_t* data, size_t len,
                                                kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(sources);
    KARS_REQUIRE_ARG(name);
    if (data == nullptr && len != 0) return absl::InvalidArgumentError("data must not be NULL");
    sources->sources.push_back({pol::PolicySource::kDomainFeed, name,
                                std::string(reinterpret_cast<const char*>(data), len)});
    return absl::OkStatus();
  });
}

kars_status kars_policy_check(kars_buf* out_warnings, const kars_policy_sources* sources,
                              kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(sources);
    auto set = pol::CompilePolicySet(sources->sources);
    if (!set.ok()) return set.status();
    if (out_warnings != nullptr) {
      std::string text;
      for (const auto& w : (*set)->warnings) absl::StrAppend(&text, w, "\n");
      FillBuf(out_warnings, text);
    }
    return absl::OkStatus();
  });
}

}  // extern "C"
