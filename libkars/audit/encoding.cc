#include "libkars/audit/encoding.h"

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"

namespace kars::audit {
namespace {

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

std::string Base64Encode(absl::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

absl::StatusOr<std::string> Base64Decode(absl::string_view text, absl::string_view what) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": invalid base64: ", why));
  };
  if (text.size() % 4 != 0) return bad("length is not a multiple of 4");
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = (text.size() >= 2 && text[text.size() - 2] == '=') ? 2 : 1;
  for (size_t i = 0; i < text.size() - pad; ++i) {
    if (!IsBase64Char(text[i])) return bad("unexpected character");
  }
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return bad("undecodable");
  out.resize(static_cast<size_t>(n) - pad);
  // Only the canonical spelling is accepted: re-encoding must give the input back.
  if (Base64Encode(out) != text) return bad("non-canonical encoding");
  return out;
}

absl::StatusOr<uint64_t> ParseDecimal(absl::string_view text, absl::string_view what) {
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": empty number"));
  if (text.size() > 1 && text[0] == '0') {
    return absl::InvalidArgumentError(absl::StrCat(what, ": leading zero in '", text, "'"));
  }
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(absl::StrCat(what, ": not a decimal number: '", text, "'"));
    }
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": number too large: '", text, "'"));
    }
    v = v * 10 + d;
  }
  return v;
}

}  // namespace kars::audit
