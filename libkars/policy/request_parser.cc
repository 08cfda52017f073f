#include "libkars/policy/request_parser.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace kars::policy {

absl::Status ParseRequestJson(absl::string_view json, v1::Request* out) {
  out->Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), out, options);
  if (!status.ok()) {
    out->Clear();
    return absl::InvalidArgumentError(
        absl::StrCat("request JSON: ", std::string(status.message().data(), status.message().size())));
  }
  return absl::OkStatus();
}

}  // namespace kars::policy
