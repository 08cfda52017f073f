#include "libkars/audit/posix_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"

namespace kars::audit {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<Fd> OpenFile(const std::string& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError(absl::StrCat("open ", path), errno);
  return Fd(fd);
}

absl::Status WriteAll(int fd, absl::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(absl::StrCat("write ", path), errno);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status PwriteAll(int fd, absl::string_view bytes, uint64_t offset, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(absl::StrCat("write ", path), errno);
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status PreadAll(int fd, char* out, size_t len, uint64_t offset, const std::string& path) {
  while (len > 0) {
    ssize_t n = ::pread(fd, out, len, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(absl::StrCat("read ", path), errno);
    if (n == 0) return IoError(absl::StrCat("read ", path, ": unexpected end of file"));
    out += n;
    len -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FileSize(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoError(absl::StrCat("stat ", path), errno);
  return static_cast<uint64_t>(st.st_size);
}

absl::Status DataSync(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0) return ErrnoError(absl::StrCat("fdatasync ", path), errno);
  return absl::OkStatus();
}

absl::Status SyncDir(const std::string& dir) {
  absl::StatusOr<Fd> fd = OpenFile(dir, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return fd.status();
  if (::fsync(fd->get()) != 0) return ErrnoError(absl::StrCat("fsync ", dir), errno);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  absl::StatusOr<Fd> fd = OpenFile(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<uint64_t> size = FileSize(fd->get(), path);
  if (!size.ok()) return size.status();
  std::string out(*size, '\0');
  if (*size > 0) {
    if (absl::Status s = PreadAll(fd->get(), out.data(), out.size(), 0, path); !s.ok()) return s;
  }
  return out;
}

absl::Status WriteFileAtomic(const std::string& dir, const std::string& name,
                             absl::string_view bytes, int mode) {
  const std::string tmp = absl::StrCat(dir, "/.", name, ".tmp");
  const std::string dst = absl::StrCat(dir, "/", name);
  {
    absl::StatusOr<Fd> fd = OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (!fd.ok()) return fd.status();
    if (absl::Status s = WriteAll(fd->get(), bytes, tmp); !s.ok()) return s;
    if (::fsync(fd->get()) != 0) return ErrnoError(absl::StrCat("fsync ", tmp), errno);
  }
  if (::rename(tmp.c_str(), dst.c_str()) != 0) {
    return ErrnoError(absl::StrCat("rename ", tmp, " to ", dst), errno);
  }
  return SyncDir(dir);
}

absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoError(absl::StrCat("list ", dir), errno);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  return names;
}

absl::StatusOr<Mapping> Mapping::Open(const std::string& path) {
  absl::StatusOr<Fd> fd = OpenFile(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<uint64_t> size = FileSize(fd->get(), path);
  if (!size.ok()) return size.status();
  Mapping m;
  if (*size == 0) return m;
  void* p = ::mmap(nullptr, *size, PROT_READ, MAP_PRIVATE, fd->get(), 0);
  if (p == MAP_FAILED) return ErrnoError(absl::StrCat("map ", path), errno);
  m.data_ = p;
  m.size_ = *size;
  return m;
}

Mapping::Mapping(Mapping&& o) noexcept : data_(o.data_), size_(o.size_) {
  o.data_ = nullptr;
  o.size_ = 0;
}

Mapping& Mapping::operator=(Mapping&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

Mapping::~Mapping() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace kars::audit
