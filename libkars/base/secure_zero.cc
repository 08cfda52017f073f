#include "libkars/base/secure_zero.h"

#include <openssl/crypto.h>

namespace kars {

void SecureZero(void* data, std::size_t size) {
  if (data != nullptr && size != 0) OPENSSL_cleanse(data, size);
}

void SecureZero(std::string& s) {
  s.resize(s.capacity());
  SecureZero(s.data(), s.size());
  s.clear();
}

}  // namespace kars
