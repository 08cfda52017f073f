#include "libkars/mesh/crypto_provider.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

namespace kars::mesh {
namespace {

std::string Str(signal_buffer* b) {
  std::string s(reinterpret_cast<const char*>(signal_buffer_data(b)), signal_buffer_len(b));
  signal_buffer_free(b);
  return s;
}

TEST(CryptoProvider, HmacSha256MatchesRfc4231Case2) {
  const auto& p = OpenSslCryptoProvider();
  void* ctx = nullptr;
  const std::string key = "Jefe", data = "what do ya want for nothing?";
  ASSERT_EQ(p.hmac_sha256_init_func(&ctx, reinterpret_cast<const uint8_t*>(key.data()), key.size(),
                                    nullptr),
            0);
  ASSERT_EQ(p.hmac_sha256_update_func(ctx, reinterpret_cast<const uint8_t*>(data.data()),
                                      data.size(), nullptr),
            0);
  signal_buffer* out = nullptr;
  ASSERT_EQ(p.hmac_sha256_final_func(ctx, &out, nullptr), 0);
  p.hmac_sha256_cleanup_func(ctx, nullptr);
  std::string mac = Str(out);
  const unsigned char expected[] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
                                    0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
                                    0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
                                    0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
  EXPECT_EQ(mac, std::string(reinterpret_cast<const char*>(expected), sizeof expected));
}

std::string Mac(const std::string& key, const std::string& data) {
  const auto& p = OpenSslCryptoProvider();
  void* ctx = nullptr;
  EXPECT_EQ(p.hmac_sha256_init_func(&ctx, reinterpret_cast<const uint8_t*>(key.data()),
                                    key.size(), nullptr),
            0);
  EXPECT_EQ(p.hmac_sha256_update_func(ctx, reinterpret_cast<const uint8_t*>(data.data()),
                                      data.size(), nullptr),
            0);
  signal_buffer* out = nullptr;
  EXPECT_EQ(p.hmac_sha256_final_func(ctx, &out, nullptr), 0);
  p.hmac_sha256_cleanup_func(ctx, nullptr);
  return Str(out);
}

std::string ReferenceMac(const std::string& key, const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

// Pooled contexts remember their last key: repeating, interleaving and nesting keys (as
// libsignal's chain-key and HKDF steps do) must give exactly HMAC-SHA256 every time.
TEST(CryptoProvider, HmacWithRepeatedAndInterleavedKeysMatchesReference) {
  const std::string k1(32, '\x0b'), k2 = "Jefe", k3(32, '\0'), empty;
  const std::string keys[] = {k1, k1, k2, k1, k3, k3, k2, empty, empty, k1, std::string(100, 'L')};
  int i = 0;
  for (const auto& key : keys) {
    const std::string data = "message " + std::to_string(i++);
    EXPECT_EQ(Mac(key, data), ReferenceMac(key, data)) << i;
  }
  // Two contexts open at once under the same key, finished in reverse order.
  const auto& p = OpenSslCryptoProvider();
  void* a = nullptr;
  void* b = nullptr;
  ASSERT_EQ(p.hmac_sha256_init_func(&a, reinterpret_cast<const uint8_t*>(k1.data()), k1.size(),
                                    nullptr),
            0);
  ASSERT_EQ(p.hmac_sha256_init_func(&b, reinterpret_cast<const uint8_t*>(k1.data()), k1.size(),
                                    nullptr),
            0);
  ASSERT_NE(a, b);
  ASSERT_EQ(p.hmac_sha256_update_func(a, reinterpret_cast<const uint8_t*>("aa"), 2, nullptr), 0);
  ASSERT_EQ(p.hmac_sha256_update_func(b, reinterpret_cast<const uint8_t*>("bb"), 2, nullptr), 0);
  signal_buffer* out_b = nullptr;
  signal_buffer* out_a = nullptr;
  ASSERT_EQ(p.hmac_sha256_final_func(b, &out_b, nullptr), 0);
  ASSERT_EQ(p.hmac_sha256_final_func(a, &out_a, nullptr), 0);
  p.hmac_sha256_cleanup_func(b, nullptr);
  p.hmac_sha256_cleanup_func(a, nullptr);
  EXPECT_EQ(Str(out_a), ReferenceMac(k1, "aa"));
  EXPECT_EQ(Str(out_b), ReferenceMac(k1, "bb"));
  EXPECT_EQ(Mac(k1, "after"), ReferenceMac(k1, "after"));
}

TEST(CryptoProvider, Sha512ContextIsReusableAfterFinal) {
  const auto& p = OpenSslCryptoProvider();
  void* ctx = nullptr;
  ASSERT_EQ(p.sha512_digest_init_func(&ctx, nullptr), 0);
  std::string digests[2];
  for (auto& d : digests) {
    ASSERT_EQ(p.sha512_digest_update_func(ctx, reinterpret_cast<const uint8_t*>("abc"), 3, nullptr),
              0);
    signal_buffer* out = nullptr;
    ASSERT_EQ(p.sha512_digest_final_func(ctx, &out, nullptr), 0);
    d = Str(out);
  }
  p.sha512_digest_cleanup_func(ctx, nullptr);
  unsigned char ref[64];
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest("abc", 3, ref, &len, EVP_sha512(), nullptr), 1);
  EXPECT_EQ(digests[0], std::string(reinterpret_cast<char*>(ref), len));
  EXPECT_EQ(digests[1], digests[0]);
}

TEST(CryptoProvider, AesRoundTripsForEveryModeAndKeySize) {
  const auto& p = OpenSslCryptoProvider();
  const std::string plain = "seventeen bytes!!and more to cross blocks";
  const uint8_t iv[16] = {1, 2, 3};
  for (int mode : {SG_CIPHER_AES_CBC_PKCS5, SG_CIPHER_AES_CTR_NOPADDING}) {
    for (size_t key_len : {16u, 24u, 32u}) {
      std::vector<uint8_t> key(key_len, 7);
      signal_buffer* ct = nullptr;
      ASSERT_EQ(
          p.encrypt_func(&ct, mode, key.data(), key.size(), iv, 16,
                         reinterpret_cast<const uint8_t*>(plain.data()), plain.size(), nullptr),
          0);
      if (mode == SG_CIPHER_AES_CBC_PKCS5) {
        EXPECT_EQ(signal_buffer_len(ct) % 16, 0u);
      } else {
        EXPECT_EQ(signal_buffer_len(ct), plain.size());
      }
      signal_buffer* pt = nullptr;
      ASSERT_EQ(p.decrypt_func(&pt, mode, key.data(), key.size(), iv, 16, signal_buffer_data(ct),
                               signal_buffer_len(ct), nullptr),
                0);
      EXPECT_EQ(Str(pt), plain) << mode << " " << key_len;
      signal_buffer_free(ct);
    }
  }
}

// Cipher contexts are reused per thread: successive keys and IVs on one context must give what a
// fresh OpenSSL context gives.
TEST(CryptoProvider, ReusedCipherContextsMatchFreshOnes) {
  const auto& p = OpenSslCryptoProvider();
  const std::string plain(100, 'p');
  for (int round = 0; round < 3; ++round) {
    std::vector<uint8_t> key(32, static_cast<uint8_t>(round + 1));
    uint8_t iv[16] = {static_cast<uint8_t>(round)};
    signal_buffer* ct = nullptr;
    ASSERT_EQ(p.encrypt_func(&ct, SG_CIPHER_AES_CBC_PKCS5, key.data(), 32, iv, 16,
                             reinterpret_cast<const uint8_t*>(plain.data()), plain.size(),
                             nullptr),
              0);
    std::string got = Str(ct);
    EVP_CIPHER_CTX* ref = EVP_CIPHER_CTX_new();
    std::string want(plain.size() + 16, '\0');
    int n1 = 0, n2 = 0;
    ASSERT_EQ(EVP_EncryptInit_ex(ref, EVP_aes_256_cbc(), nullptr, key.data(), iv), 1);
    ASSERT_EQ(EVP_EncryptUpdate(ref, reinterpret_cast<unsigned char*>(want.data()), &n1,
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size())),
              1);
    ASSERT_EQ(EVP_EncryptFinal_ex(ref, reinterpret_cast<unsigned char*>(want.data()) + n1, &n2), 1);
    EVP_CIPHER_CTX_free(ref);
    want.resize(static_cast<size_t>(n1 + n2));
    EXPECT_EQ(got, want) << round;
  }
}

TEST(CryptoProvider, RejectsBadKeySizeAndBadPadding) {
  const auto& p = OpenSslCryptoProvider();
  const uint8_t key[20] = {}, iv[16] = {};
  signal_buffer* out = nullptr;
  EXPECT_NE(p.encrypt_func(&out, SG_CIPHER_AES_CBC_PKCS5, key, 20, iv, 16, key, 5, nullptr), 0);
  uint8_t garbage[16] = {9, 9, 9};
  EXPECT_NE(p.decrypt_func(&out, SG_CIPHER_AES_CBC_PKCS5, key, 16, iv, 16, garbage, 16, nullptr),
            0);
}

}  // namespace
}  // namespace kars::mesh
