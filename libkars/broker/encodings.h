// The forms in which a held secret value can appear in traffic: raw, base64 and base64url (the
// context-free core of the encoding at each of the three byte alignments the value can have
// inside a longer encoded stream), hex in both cases, percent-encoding in both hex cases, and
// JSON string escaping. The leak scanner and the redactor match every form literally.
// Thread-safety: pure functions.
#ifndef KARS_BROKER_ENCODINGS_H_
#define KARS_BROKER_ENCODINGS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace kars::broker {

enum class Encoding { kRaw, kBase64, kBase64Url, kHexLower, kHexUpper, kPercent, kPercentLower, kJson };

const char* EncodingName(Encoding e);

struct EncodedForm {
  Encoding encoding;
  std::string bytes;
};

// Every distinct form of `value` (duplicates of an earlier form are dropped, and so are forms
// shorter than `min_len`, which would match innocent traffic). Callers wipe the result with
// WipeForms when done: every form is as sensitive as the value.
std::vector<EncodedForm> EncodedForms(absl::string_view value, std::size_t min_len);

void WipeForms(std::vector<EncodedForm>& forms);

// Building blocks, exposed for tests.
// The base64 characters that depend only on `value` when it is preceded by `offset` (0..2) other
// bytes and followed by anything: the characters straddling a neighbour are dropped, no padding.
std::string Base64Core(absl::string_view value, int offset, bool url);
std::string HexEncode(absl::string_view value, bool upper);
// Percent-encodes every byte outside RFC 3986's unreserved set.
std::string PercentEncode(absl::string_view value, bool upper);
// The body of a JSON string literal holding `value` (no quotes), as a conventional encoder
// writes it: \" \\ \b \f \n \r \t, \u00XX for other controls.
std::string JsonEscape(absl::string_view value);

}  // namespace kars::broker

#endif  // KARS_BROKER_ENCODINGS_H_
