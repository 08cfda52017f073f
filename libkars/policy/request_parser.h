// Requests from untrusted bytes: JSON (the C ABI and `kars policy eval`) mapped onto
// kars.v1.Request. Field names are lowerCamelCase; unknown fields are errors.
#ifndef KARS_POLICY_REQUEST_PARSER_H_
#define KARS_POLICY_REQUEST_PARSER_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "kars/v1/policy.pb.h"

namespace kars::policy {

absl::Status ParseRequestJson(absl::string_view json, v1::Request* out);

}  // namespace kars::policy

#endif  // KARS_POLICY_REQUEST_PARSER_H_
