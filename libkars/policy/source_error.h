// Where in a policy or request file something was written, and the one shape every load error
// takes: "FILE:LINE:COL: E_CODE: message". The E_ codes are stable; tools may match on them.
#ifndef KARS_POLICY_SOURCE_ERROR_H_
#define KARS_POLICY_SOURCE_ERROR_H_

#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kars::policy {

// Stable error codes of the loader and compiler.
inline constexpr absl::string_view kErrSyntax = "E_SYNTAX";          // not parseable YAML/JSON
inline constexpr absl::string_view kErrUnknownField = "E_UNKNOWN_FIELD";
inline constexpr absl::string_view kErrType = "E_TYPE";              // wrong YAML node type
inline constexpr absl::string_view kErrValue = "E_VALUE";            // a value out of range
inline constexpr absl::string_view kErrMissing = "E_MISSING";        // a required field is absent
inline constexpr absl::string_view kErrDuplicate = "E_DUPLICATE";    // an id or name used twice
inline constexpr absl::string_view kErrConflict = "E_CONFLICT";      // fields that exclude each other
inline constexpr absl::string_view kErrPattern = "E_PATTERN";        // a bad name/host/CIDR/port
inline constexpr absl::string_view kErrRegex = "E_REGEX";            // a regex RE2 rejects

struct SourcePos {
  int line = 0;  // 1-based; 0 when unknown
  int column = 0;
};

// Positions of messages and fields mapped from YAML, so that semantic errors found after mapping
// can still name the place. Keys are (message address, field number or -1, element index or -1).
class PositionTable {
 public:
  void Record(const void* message, int field, int index, SourcePos pos) {
    table_[std::make_tuple(message, field, index)] = pos;
  }
  // The most specific position known: the element, else the field, else the message.
  SourcePos Find(const void* message, int field = -1, int index = -1) const;

 private:
  absl::flat_hash_map<std::tuple<const void*, int, int>, SourcePos> table_;
};

// InvalidArgument "source:line:col: code: message" (line/col omitted when unknown).
absl::Status SourceError(absl::string_view source, SourcePos pos, absl::string_view code,
                         absl::string_view message);

}  // namespace kars::policy

#endif  // KARS_POLICY_SOURCE_ERROR_H_
