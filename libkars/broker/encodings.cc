#include "libkars/broker/encodings.h"

#include <openssl/evp.h>

#include "libkars/base/secure_zero.h"

namespace kars::broker {
namespace {

std::string Base64(absl::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

const char* EncodingName(Encoding e) {
  switch (e) {
    case Encoding::kRaw: return "raw";
    case Encoding::kBase64: return "base64";
    case Encoding::kBase64Url: return "base64url";
    case Encoding::kHexLower: return "hex";
    case Encoding::kHexUpper: return "HEX";
    case Encoding::kPercent: return "percent";
    case Encoding::kPercentLower: return "percent-lower";
    case Encoding::kJson: return "json";
  }
  return "unknown";
}

std::string Base64Core(absl::string_view value, int offset, bool url) {
  // Encode behind `offset` zero bytes, then keep only the characters whose 6 bits all come from
  // the value: character i covers bits [6i, 6i+6) of the stream.
  std::string padded(static_cast<std::size_t>(offset), '\0');
  padded.append(value.data(), value.size());
  std::string enc = Base64(padded);
  SecureZero(padded);
  const std::size_t total_bits = 8 * (value.size() + static_cast<std::size_t>(offset));
  const std::size_t first = (8 * static_cast<std::size_t>(offset) + 5) / 6;
  const std::size_t last = total_bits / 6;  // exclusive: the character after may mix in a neighbour
  std::string core = last > first ? enc.substr(first, last - first) : std::string();
  SecureZero(enc);
  if (url) {
    for (char& c : core) {
      if (c == '+') c = '-';
      else if (c == '/') c = '_';
    }
  }
  return core;
}

std::string HexEncode(absl::string_view value, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  out.reserve(2 * value.size());
  for (unsigned char c : value) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string PercentEncode(absl::string_view value, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  out.reserve(3 * value.size());
  for (unsigned char c : value) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

std::string JsonEscape(absl::string_view value) {
  std::string out;
  out.reserve(value.size() + 8);
  for (unsigned char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          const char* digits = "0123456789abcdef";
          out += "\\u00";
          out.push_back(digits[c >> 4]);
          out.push_back(digits[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

std::vector<EncodedForm> EncodedForms(absl::string_view value, std::size_t min_len) {
  std::vector<EncodedForm> forms;
  auto add = [&](Encoding e, std::string bytes) {
    bool keep = bytes.size() >= min_len;
    for (const auto& f : forms) {
      if (f.bytes == bytes) keep = false;
    }
    if (keep) {
      forms.push_back({e, std::move(bytes)});
    } else {
      SecureZero(bytes);
    }
  };
  add(Encoding::kRaw, std::string(value.data(), value.size()));
  for (int offset = 0; offset < 3; ++offset) {
    add(Encoding::kBase64, Base64Core(value, offset, false));
    add(Encoding::kBase64Url, Base64Core(value, offset, true));
  }
  add(Encoding::kHexLower, HexEncode(value, false));
  add(Encoding::kHexUpper, HexEncode(value, true));
  add(Encoding::kPercent, PercentEncode(value, true));
  add(Encoding::kPercentLower, PercentEncode(value, false));
  add(Encoding::kJson, JsonEscape(value));
  return forms;
}

void WipeForms(std::vector<EncodedForm>& forms) {
  for (auto& f : forms) SecureZero(f.bytes);
  forms.clear();
}

}  // namespace kars::broker
