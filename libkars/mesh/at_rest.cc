#include "libkars/mesh/at_rest.h"

#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "libkars/base/openssl.h"
#include "libkars/base/status.h"

namespace kars::mesh {
namespace {

constexpr char kVersion = 0x01;
constexpr size_t kIvSize = 12;
constexpr size_t kTagSize = 16;

const EVP_CIPHER* Gcm() {
  // Fetched once: a fetch is a lock and a lookup.
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

const unsigned char* U(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

absl::StatusOr<std::string> AtRestCipher::NewKey() {
  std::string key(kKeySize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kKeySize) != 1) {
    return ossl::Error("agent store key: RAND_bytes");
  }
  return key;
}

absl::StatusOr<AtRestCipher> AtRestCipher::FromKey(absl::string_view key) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError("agent store key must be 32 bytes");
  }
  AtRestCipher c;
  c.key_.assign(key.data(), key.size());
  return c;
}

absl::StatusOr<std::string> AtRestCipher::Seal(absl::string_view aad,
                                               absl::string_view plaintext) const {
  if (Gcm() == nullptr) return ossl::Error("AES-256-GCM unavailable");
  std::string out(1 + kIvSize + plaintext.size() + kTagSize, '\0');
  out[0] = kVersion;
  auto* iv = reinterpret_cast<unsigned char*>(&out[1]);
  if (RAND_bytes(iv, kIvSize) != 1) return ossl::Error("agent store seal: RAND_bytes");
  ossl::CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0, final_len = 0;
  auto* body = reinterpret_cast<unsigned char*>(&out[1 + kIvSize]);
  if (ctx == nullptr || EVP_EncryptInit_ex2(ctx.get(), Gcm(), U(key_), iv, nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), body, &len, U(plaintext), static_cast<int>(plaintext.size())) !=
          1 ||
      EVP_EncryptFinal_ex(ctx.get(), body + len, &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagSize,
                          body + plaintext.size()) != 1) {
    return ossl::Error("agent store seal");
  }
  return out;
}

absl::StatusOr<std::string> AtRestCipher::Open(absl::string_view aad,
                                               absl::string_view sealed) const {
  if (sealed.size() < 1 + kIvSize + kTagSize || sealed[0] != kVersion) {
    return TamperedError("agent store holds a sealed value in an unknown format");
  }
  if (Gcm() == nullptr) return ossl::Error("AES-256-GCM unavailable");
  const size_t n = sealed.size() - 1 - kIvSize - kTagSize;
  absl::string_view iv = sealed.substr(1, kIvSize);
  absl::string_view body = sealed.substr(1 + kIvSize, n);
  std::string tag(sealed.substr(1 + kIvSize + n));
  std::string out(n, '\0');
  ossl::CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0, final_len = 0;
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  bool ok =
      ctx != nullptr && EVP_DecryptInit_ex2(ctx.get(), Gcm(), U(key_), U(iv), nullptr) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), dst, &len, U(body), static_cast<int>(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagSize, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), dst + len, &final_len) == 1;
  if (!ok) {
    ERR_clear_error();
    return TamperedError("agent store holds a sealed value that fails authentication");
  }
  return out;
}

}  // namespace kars::mesh
