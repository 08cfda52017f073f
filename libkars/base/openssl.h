// Ownership of OpenSSL objects, and OpenSSL's error queue as an absl::Status.
#ifndef KARS_BASE_OPENSSL_H_
#define KARS_BASE_OPENSSL_H_

#include <openssl/evp.h>

#include <memory>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace kars::ossl {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept { Free(p); }
};

using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX_free>>;
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PKeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using Md = std::unique_ptr<EVP_MD, Deleter<EVP_MD_free>>;
using Cipher = std::unique_ptr<EVP_CIPHER, Deleter<EVP_CIPHER_free>>;
using Mac = std::unique_ptr<EVP_MAC, Deleter<EVP_MAC_free>>;
using MacCtx = std::unique_ptr<EVP_MAC_CTX, Deleter<EVP_MAC_CTX_free>>;

// Drains the thread's OpenSSL error queue into an internal error "<what>: <openssl reasons>".
absl::Status Error(absl::string_view what);

}  // namespace kars::ossl

#endif  // KARS_BASE_OPENSSL_H_
