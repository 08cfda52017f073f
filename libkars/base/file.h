// Reading a whole file for the core's loaders (policy sources, the budget journal).
#ifndef KARS_BASE_FILE_H_
#define KARS_BASE_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kars {

enum class MissingFile { kError, kEmpty };

// Appends the contents of `path` to `out`, reading until end of file (so pipes and /proc files
// work too). Errors are IoError "<what> <path>: <strerror>"; with MissingFile::kEmpty a file that
// does not exist appends nothing and succeeds.
absl::Status AppendFileContents(const std::string& path, absl::string_view what, std::string* out,
                                MissingFile missing = MissingFile::kError);

}  // namespace kars

#endif  // KARS_BASE_FILE_H_
