#include "libkars/policy/source_error.h"

#include "absl/strings/str_cat.h"

namespace kars::policy {

SourcePos PositionTable::Find(const void* message, int field, int index) const {
  if (auto it = table_.find(std::make_tuple(message, field, index)); it != table_.end()) {
    return it->second;
  }
  if (index >= 0) return Find(message, field, -1);
  if (field >= 0) return Find(message, -1, -1);
  return {};
}

absl::Status SourceError(absl::string_view source, SourcePos pos, absl::string_view code,
                         absl::string_view message) {
  if (pos.line > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", pos.line, ":", pos.column, ": ", code, ": ", message));
  }
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", code, ": ", message));
}

}  // namespace kars::policy
