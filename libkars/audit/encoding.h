// Strict text encodings shared by the note, key and proof formats: padded standard base64 and
// canonical decimal. Strict because a second accepted spelling of the same value is a way to
// make two different-looking artefacts verify alike.
#ifndef KARS_AUDIT_ENCODING_H_
#define KARS_AUDIT_ENCODING_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kars::audit {

std::string Base64Encode(absl::string_view bytes);
// Rejects characters outside the standard alphabet, missing or misplaced padding, and encodings
// whose unused bits are not zero. `what` names the field in the error.
absl::StatusOr<std::string> Base64Decode(absl::string_view text, absl::string_view what);

// Decimal without sign, leading zeros (except "0" itself) or overflow.
absl::StatusOr<uint64_t> ParseDecimal(absl::string_view text, absl::string_view what);

}  // namespace kars::audit

#endif  // KARS_AUDIT_ENCODING_H_
