// Thin POSIX file helpers for the log's storage: full writes and reads that retry EINTR and
// short transfers, directory fsync, and read-only mappings. Errors name the path.
#ifndef KARS_AUDIT_POSIX_FILE_H_
#define KARS_AUDIT_POSIX_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kars::audit {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  ~Fd();
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

absl::StatusOr<Fd> OpenFile(const std::string& path, int flags, int mode = 0644);
absl::Status WriteAll(int fd, absl::string_view bytes, const std::string& path);
absl::Status PwriteAll(int fd, absl::string_view bytes, uint64_t offset, const std::string& path);
absl::Status PreadAll(int fd, char* out, size_t len, uint64_t offset, const std::string& path);
absl::StatusOr<uint64_t> FileSize(int fd, const std::string& path);
absl::Status DataSync(int fd, const std::string& path);
absl::Status SyncDir(const std::string& dir);
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);
// Writes a small file atomically (temp file, fsync, rename, directory fsync).
absl::Status WriteFileAtomic(const std::string& dir, const std::string& name,
                             absl::string_view bytes, int mode = 0644);
absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir);

// A read-only private mapping of a whole file (empty files map to an empty view).
class Mapping {
 public:
  static absl::StatusOr<Mapping> Open(const std::string& path);
  Mapping() = default;
  Mapping(Mapping&& o) noexcept;
  Mapping& operator=(Mapping&& o) noexcept;
  ~Mapping();
  absl::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace kars::audit

#endif  // KARS_AUDIT_POSIX_FILE_H_
