#include "libkars/mesh/crypto_provider.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace kars::mesh {
namespace {

struct Algorithms {
  EVP_MAC* hmac = nullptr;
  // HMAC-SHA256 with the digest already bound: initialising a copy of it with a key avoids the
  // digest fetch that naming "SHA256" in EVP_MAC_init would repeat on every call.
  EVP_MAC_CTX* hmac_sha256 = nullptr;
  EVP_MD* sha512 = nullptr;
  // Indexed by [mode][key size]: mode 0 CBC, 1 CTR; sizes 128, 192, 256.
  EVP_CIPHER* aes[2][3] = {};

  Algorithms() {
    hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (hmac != nullptr) {
      hmac_sha256 = EVP_MAC_CTX_new(hmac);
      char digest[] = "SHA256";
      OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                             OSSL_PARAM_construct_end()};
      if (hmac_sha256 != nullptr && EVP_MAC_CTX_set_params(hmac_sha256, params) != 1) {
        EVP_MAC_CTX_free(hmac_sha256);
        hmac_sha256 = nullptr;
      }
    }
    sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
    const char* names[2][3] = {{"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"},
                               {"AES-128-CTR", "AES-192-CTR", "AES-256-CTR"}};
    for (int m = 0; m < 2; ++m) {
      for (int k = 0; k < 3; ++k) aes[m][k] = EVP_CIPHER_fetch(nullptr, names[m][k], nullptr);
    }
  }
};

// Never destroyed: libsignal contexts may outlive static destruction order.
const Algorithms& Algos() {
  static const Algorithms* algos = new Algorithms();
  return *algos;
}

int Random(uint8_t* data, size_t len, void*) {
  return RAND_bytes(data, static_cast<int>(len)) == 1 ? SG_SUCCESS : SG_ERR_UNKNOWN;
}

// Contexts are reused rather than created per call: in OpenSSL 3.0 creating (or duplicating) an
// HMAC or cipher context allocates the context, its provider state and, for HMAC, three digest
// contexts, which costs more than the MAC of a short input. A context re-initialised with a new
// key is as fresh as a new one (EVP_MAC_init and EVP_CipherInit_ex2 reset all keyed state).
// Pools are per thread so that the callbacks stay lock-free; a context released on another
// thread than the one that took it simply joins that thread's pool.
//
// HMAC contexts also remember the key they were last keyed with: libsignal MACs under the same key
// several times per message (the chain key twice, the HKDF pseudo-random key three times, the
// all-zero HKDF salt on every message), and re-initialising a context with its own key (a NULL key
// to EVP_MAC_init) restarts from the stored inner state instead of redoing the key schedule.
class HmacPool {
 public:
  ~HmacPool() {
    for (Entry& e : free_) Drop(e);
    for (Entry& e : in_use_) OPENSSL_cleanse(e.key, sizeof e.key);
  }
  // A context ready to MAC under `key`.
  EVP_MAC_CTX* Take(const uint8_t* key, size_t key_len) {
    for (size_t i = 0; i < free_.size(); ++i) {
      Entry& e = free_[i];
      if (e.key_len == key_len && key_len <= kMaxKey && std::memcmp(e.key, key, key_len) == 0) {
        EVP_MAC_CTX* c = e.ctx;
        free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
        if (EVP_MAC_init(c, nullptr, 0, nullptr) == 1) return Keyed(c, key, key_len);
        EVP_MAC_CTX_free(c);
        break;
      }
    }
    EVP_MAC_CTX* c = nullptr;
    if (free_.empty()) {
      c = EVP_MAC_CTX_dup(Algos().hmac_sha256);
    } else {  // the least recently released one
      c = free_.front().ctx;
      OPENSSL_cleanse(free_.front().key, sizeof free_.front().key);
      free_.erase(free_.begin());
    }
    if (c == nullptr) return nullptr;
    if (EVP_MAC_init(c, key, key_len, nullptr) != 1) {
      EVP_MAC_CTX_free(c);
      return nullptr;
    }
    return Keyed(c, key, key_len);
  }
  void Give(EVP_MAC_CTX* c) {
    Entry e{c, {}, kMaxKey + 1};  // taken on another thread: its key is unknown here
    for (size_t i = 0; i < in_use_.size(); ++i) {
      if (in_use_[i].ctx == c) {
        e = in_use_[i];
        in_use_.erase(in_use_.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
    // Bounded: the library holds at most a few HMAC contexts at once, and about four keys per
    // message are worth remembering.
    if (free_.size() >= kMaxFree) {
      Drop(free_.front());
      free_.erase(free_.begin());
    }
    free_.push_back(e);
  }

 private:
  static constexpr size_t kMaxFree = 8;
  static constexpr size_t kMaxKey = 64;  // longer keys are not remembered
  struct Entry {
    EVP_MAC_CTX* ctx;
    uint8_t key[kMaxKey];
    size_t key_len;  // kMaxKey + 1: not remembered
  };
  EVP_MAC_CTX* Keyed(EVP_MAC_CTX* c, const uint8_t* key, size_t key_len) {
    Entry e{c, {}, kMaxKey + 1};
    if (key_len <= kMaxKey) {
      std::memcpy(e.key, key, key_len);
      e.key_len = key_len;
    }
    for (Entry& used : in_use_) {
      if (used.ctx == c) {  // a stale entry of a context released on another thread
        used = e;
        return c;
      }
    }
    in_use_.push_back(e);
    return c;
  }
  static void Drop(Entry& e) {
    OPENSSL_cleanse(e.key, sizeof e.key);
    EVP_MAC_CTX_free(e.ctx);
  }
  std::vector<Entry> free_;
  // Contexts handed out, with their key (a handful at most).
  std::vector<Entry> in_use_;
};

HmacPool& Hmacs() {
  thread_local HmacPool pool;
  return pool;
}

int HmacInit(void** ctx, const uint8_t* key, size_t key_len, void*) {
  if (Algos().hmac_sha256 == nullptr) return SG_ERR_UNKNOWN;
  EVP_MAC_CTX* mac = Hmacs().Take(key, key_len);
  if (mac == nullptr) return SG_ERR_UNKNOWN;
  *ctx = mac;
  return SG_SUCCESS;
}

int HmacUpdate(void* ctx, const uint8_t* data, size_t len, void*) {
  return EVP_MAC_update(static_cast<EVP_MAC_CTX*>(ctx), data, len) == 1 ? SG_SUCCESS
                                                                        : SG_ERR_UNKNOWN;
}

int HmacFinal(void* ctx, signal_buffer** output, void*) {
  uint8_t md[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_MAC_final(static_cast<EVP_MAC_CTX*>(ctx), md, &len, sizeof md) != 1) {
    return SG_ERR_UNKNOWN;
  }
  *output = signal_buffer_create(md, len);
  OPENSSL_cleanse(md, sizeof md);
  return *output == nullptr ? SG_ERR_NOMEM : SG_SUCCESS;
}

void HmacCleanup(void* ctx, void*) {
  if (ctx != nullptr) Hmacs().Give(static_cast<EVP_MAC_CTX*>(ctx));
}

int ShaInit(void** ctx, void*) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  if (md == nullptr) return SG_ERR_NOMEM;
  if (Algos().sha512 == nullptr || EVP_DigestInit_ex2(md, Algos().sha512, nullptr) != 1) {
    EVP_MD_CTX_free(md);
    return SG_ERR_UNKNOWN;
  }
  *ctx = md;
  return SG_SUCCESS;
}

int ShaUpdate(void* ctx, const uint8_t* data, size_t len, void*) {
  return EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx), data, len) == 1 ? SG_SUCCESS
                                                                         : SG_ERR_UNKNOWN;
}

// The library reuses a digest context after final, so final re-initialises it.
int ShaFinal(void* ctx, signal_buffer** output, void*) {
  auto* md = static_cast<EVP_MD_CTX*>(ctx);
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(md, out, &len) != 1) return SG_ERR_UNKNOWN;
  if (EVP_DigestInit_ex2(md, Algos().sha512, nullptr) != 1) return SG_ERR_UNKNOWN;
  *output = signal_buffer_create(out, len);
  return *output == nullptr ? SG_ERR_NOMEM : SG_SUCCESS;
}

void ShaCleanup(void* ctx, void*) { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx)); }

// One cipher context per algorithm and direction per thread, keyed afresh on every call (passing
// the cipher again only when the context last ran another one keeps its provider state).
struct CipherContexts {
  EVP_CIPHER_CTX* ctx[2][2][3] = {};  // [encrypt][mode][key size]
  std::vector<uint8_t> scratch;       // decryption output before its length is known
  ~CipherContexts() {
    for (auto& dir : ctx) {
      for (auto& mode : dir) {
        for (EVP_CIPHER_CTX* c : mode) EVP_CIPHER_CTX_free(c);
      }
    }
    OPENSSL_cleanse(scratch.data(), scratch.size());
  }
};

CipherContexts& Ciphers() {
  thread_local CipherContexts contexts;
  return contexts;
}

int Crypt(bool encrypt, signal_buffer** output, int cipher, const uint8_t* key, size_t key_len,
          const uint8_t* iv, size_t iv_len, const uint8_t* in, size_t in_len) {
  int mode = cipher == SG_CIPHER_AES_CBC_PKCS5 ? 0 : cipher == SG_CIPHER_AES_CTR_NOPADDING ? 1 : -1;
  int size = key_len == 16 ? 0 : key_len == 24 ? 1 : key_len == 32 ? 2 : -1;
  if (mode < 0 || size < 0 || iv_len != 16 || in_len > INT32_MAX - EVP_MAX_BLOCK_LENGTH) {
    return SG_ERR_INVAL;
  }
  const EVP_CIPHER* evp = Algos().aes[mode][size];
  if (evp == nullptr) return SG_ERR_UNKNOWN;
  CipherContexts& all = Ciphers();
  EVP_CIPHER_CTX*& ctx = all.ctx[encrypt ? 1 : 0][mode][size];
  const EVP_CIPHER* bind = nullptr;  // the context already runs `evp`
  if (ctx == nullptr) {
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == nullptr) return SG_ERR_NOMEM;
    bind = evp;
  }
  if (EVP_CipherInit_ex2(ctx, bind, key, iv, encrypt ? 1 : 0, nullptr) != 1) {
    // A context in an unknown state is not reused.
    EVP_CIPHER_CTX_free(ctx);
    ctx = nullptr;
    return SG_ERR_UNKNOWN;
  }
  // Encryption output has a known length (CBC pads to the next whole block, CTR keeps it), so it
  // is written straight into the result; decryption output is only known after the padding check.
  const size_t max_out = in_len + EVP_MAX_BLOCK_LENGTH;
  size_t exact = mode == 1 ? in_len : (in_len / 16 + 1) * 16;
  signal_buffer* direct = nullptr;
  uint8_t* out;
  if (encrypt) {
    direct = signal_buffer_alloc(exact);
    if (direct == nullptr) return SG_ERR_NOMEM;
    out = signal_buffer_data(direct);
  } else {
    if (all.scratch.size() < max_out) all.scratch.resize(max_out);
    out = all.scratch.data();
  }
  int len1 = 0, len2 = 0;
  bool ok = EVP_CipherUpdate(ctx, out, &len1, in, static_cast<int>(in_len)) == 1 &&
            EVP_CipherFinal_ex(ctx, out + len1, &len2) == 1;
  size_t produced = static_cast<size_t>(len1) + static_cast<size_t>(len2);
  if (!ok || (encrypt && produced != exact)) {
    if (direct != nullptr) signal_buffer_bzero_free(direct);
    if (!encrypt) OPENSSL_cleanse(out, static_cast<size_t>(len1));
    return SG_ERR_UNKNOWN;
  }
  if (encrypt) {
    *output = direct;
    return SG_SUCCESS;
  }
  *output = signal_buffer_create(out, produced);
  OPENSSL_cleanse(out, produced);
  return *output == nullptr ? SG_ERR_NOMEM : SG_SUCCESS;
}

int Encrypt(signal_buffer** output, int cipher, const uint8_t* key, size_t key_len,
            const uint8_t* iv, size_t iv_len, const uint8_t* plaintext, size_t plaintext_len,
            void*) {
  return Crypt(true, output, cipher, key, key_len, iv, iv_len, plaintext, plaintext_len);
}

int Decrypt(signal_buffer** output, int cipher, const uint8_t* key, size_t key_len,
            const uint8_t* iv, size_t iv_len, const uint8_t* ciphertext, size_t ciphertext_len,
            void*) {
  return Crypt(false, output, cipher, key, key_len, iv, iv_len, ciphertext, ciphertext_len);
}

}  // namespace

const signal_crypto_provider& OpenSslCryptoProvider() {
  static const signal_crypto_provider provider = {Random,      HmacInit, HmacUpdate, HmacFinal,
                                                  HmacCleanup, ShaInit,  ShaUpdate,  ShaFinal,
                                                  ShaCleanup,  Encrypt,  Decrypt,    nullptr};
  return provider;
}

}  // namespace kars::mesh
