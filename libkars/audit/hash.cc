#include "libkars/audit/hash.h"

#include <openssl/evp.h>

#include <cstring>
#include <new>

#include "libkars/base/openssl.h"

namespace kars::audit {
namespace {

// Fetching the digest once and reusing one context per thread keeps the per-hash cost at the
// compression function instead of provider lookups and allocations.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw std::bad_alloc();
  return md;
}

EVP_MD_CTX* ThreadCtx() {
  thread_local ossl::MdCtx ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) throw std::bad_alloc();
  return ctx.get();
}

struct Part {
  const void* data;
  size_t len;
};

template <size_t N>
Hash Digest(const Part (&parts)[N]) {
  EVP_MD_CTX* ctx = ThreadCtx();
  Hash out;
  unsigned int len = 0;
  // SHA-256 over memory cannot fail short of a broken provider; treat that as fatal misuse.
  if (EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr) != 1) throw std::bad_alloc();
  for (const Part& p : parts) {
    if (p.len != 0 && EVP_DigestUpdate(ctx, p.data, p.len) != 1) throw std::bad_alloc();
  }
  if (EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != kHashSize) throw std::bad_alloc();
  return out;
}

}  // namespace

Hash LeafHash(absl::string_view data) {
  static const uint8_t kLeafPrefix = 0x00;
  return Digest({Part{&kLeafPrefix, 1}, Part{data.data(), data.size()}});
}

Hash NodeHash(const Hash& left, const Hash& right) {
  // One contiguous buffer: a single update call is measurably cheaper than three.
  uint8_t buf[1 + 2 * kHashSize];
  buf[0] = 0x01;
  std::memcpy(buf + 1, left.data(), kHashSize);
  std::memcpy(buf + 1 + kHashSize, right.data(), kHashSize);
  return Digest({Part{buf, sizeof buf}});
}

Hash Sha256(absl::string_view data) { return Digest({Part{data.data(), data.size()}}); }

Hash EmptyRoot() { return Sha256(""); }

Hash HashFromBytes(absl::string_view bytes) {
  Hash h{};
  std::memcpy(h.data(), bytes.data(), kHashSize);
  return h;
}

std::string HexHash(const Hash& h) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * kHashSize);
  for (uint8_t b : h) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

}  // namespace kars::audit
