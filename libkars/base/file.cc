#include "libkars/base/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"

namespace kars {

absl::Status AppendFileContents(const std::string& path, absl::string_view what, std::string* out,
                                MissingFile missing) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && missing == MissingFile::kEmpty) return absl::OkStatus();
    return ErrnoError(absl::StrCat(what, " ", path), errno);
  }
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return ErrnoError(absl::StrCat(what, " ", path), e);
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return absl::OkStatus();
}

}  // namespace kars
