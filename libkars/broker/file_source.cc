// A value read from one file, as Kubernetes projects a Secret key. Kubernetes updates projected
// files by swapping a symlink to a new directory, so a change shows as a new inode, size or mtime
// of the path (stat follows the link); the file is re-read then, never rewritten in place by us.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "libkars/base/secure_zero.h"
#include "libkars/base/status.h"
#include "libkars/broker/source.h"

namespace kars::broker {
namespace {

constexpr std::size_t kMaxFileSize = 1 << 20;

struct Identity {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  long long mtime_ns = 0;
  bool operator==(const Identity&) const = default;
};

absl::StatusOr<Identity> StatPath(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoError(absl::StrCat("file source: stat ", path), errno);
  return Identity{st.st_dev, st.st_ino, st.st_size,
                  static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec};
}

class FileSource final : public Source {
 public:
  explicit FileSource(FileSourceOptions o) : o_(std::move(o)) {}
  const char* kind() const override { return "file"; }
  bool FetchEagerly() const override { return true; }

  absl::StatusOr<Token> Fetch() override {
    auto before = StatPath(o_.path);
    if (!before.ok()) return before.status();
    const int fd = open(o_.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(absl::StrCat("file source: open ", o_.path), errno);
    std::string bytes;
    char chunk[4096];
    while (true) {
      const ssize_t n = read(fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int e = errno;
        close(fd);
        SecureZero(chunk, sizeof chunk);
        SecureZero(bytes);
        return ErrnoError(absl::StrCat("file source: read ", o_.path), e);
      }
      if (n == 0) break;
      bytes.append(chunk, static_cast<std::size_t>(n));
      if (bytes.size() > kMaxFileSize) break;
    }
    close(fd);
    SecureZero(chunk, sizeof chunk);
    if (bytes.size() > kMaxFileSize) {
      SecureZero(bytes);
      return MakeStatus(KARS_E_INVALID_ARGUMENT,
                        absl::StrCat("file source: ", o_.path, " is larger than 1 MiB"));
    }
    // Editors and `echo` add a final newline that is not part of the value.
    while (!bytes.empty() && (bytes.back() == '\n' || bytes.back() == '\r')) bytes.pop_back();
    if (bytes.empty()) {
      return MakeStatus(KARS_E_INVALID_ARGUMENT, absl::StrCat("file source: ", o_.path, " is empty"));
    }
    auto secret = Secret::Create(bytes);
    SecureZero(bytes);
    if (!secret.ok()) return secret.status();
    seen_ = *before;
    last_check_ = absl::Now();
    return Token{*std::move(secret), absl::nullopt};
  }

  bool Stale() override {
    const absl::Time now = absl::Now();
    if (now - last_check_ < o_.check_interval) return false;
    last_check_ = now;
    auto id = StatPath(o_.path);
    // A vanished file is stale too: the next Fetch reports why.
    return !id.ok() || !(*id == seen_);
  }

  absl::Time NextStaleCheck() const override { return last_check_ + o_.check_interval; }

 private:
  FileSourceOptions o_;
  Identity seen_;
  absl::Time last_check_ = absl::InfinitePast();
};

class EnvSource final : public Source {
 public:
  explicit EnvSource(const std::string& name) : name_(name) {
    const char* v = getenv(name.c_str());
    if (v == nullptr || *v == '\0') {
      error_ = MakeStatus(KARS_E_NOT_FOUND,
                          absl::StrCat("env source: variable ", name, " is not set or empty"));
      return;
    }
    auto s = Secret::Create(v);
    if (s.ok()) value_ = *std::move(s);
    else error_ = s.status();
  }
  const char* kind() const override { return "env"; }
  bool FetchEagerly() const override { return true; }
  absl::StatusOr<Token> Fetch() override {
    if (!error_.ok()) return error_;
    return Token{value_, absl::nullopt};
  }

 private:
  std::string name_;
  SecretPtr value_;
  absl::Status error_;
};

}  // namespace

std::unique_ptr<Source> NewFileSource(FileSourceOptions options) {
  return std::make_unique<FileSource>(std::move(options));
}

std::unique_ptr<Source> NewEnvSource(const std::string& name) {
  return std::make_unique<EnvSource>(name);
}

}  // namespace kars::broker
