#include "libkars/base/openssl.h"

#include <openssl/err.h>

#include <string>

namespace kars::ossl {

absl::Status Error(absl::string_view what) {
  std::string message(what.data(), what.size());
  const char* sep = ": ";
  while (unsigned long code = ERR_get_error()) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof reason);
    message += sep;
    message += reason;
    sep = "; ";
  }
  return absl::InternalError(message);
}

}  // namespace kars::ossl
