#include "hosts/relay/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace kars::relay {

namespace {

constexpr auto kChallengeLifetime = std::chrono::seconds(60);

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();  // no randomness, no security: never hand out predictable tokens
  }
  return out;
}

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

// The same bytes the client signs (libkars/mesh/relay_client.cc AuthChallengeMessage).
std::string ChallengeMessage(const std::string& mailbox, const std::string& nonce) {
  std::string m("kars-mesh-auth-v1");
  m.push_back('\0');
  m += mailbox;
  m.push_back('\0');
  m += nonce;
  return m;
}

}  // namespace

std::string Auth::NewChallenge(const std::string& mailbox) {
  std::string nonce = RandomBytes(32);
  std::lock_guard<std::mutex> l(mu_);
  nonces_[mailbox] = {nonce, std::chrono::steady_clock::now() + kChallengeLifetime};
  return nonce;
}

std::optional<std::string> Auth::Verify(const std::string& mailbox, const std::string& auth_key,
                                        const std::string& nonce, const std::string& signature) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = nonces_.find(mailbox);
    if (it == nonces_.end() || it->second.second < std::chrono::steady_clock::now() ||
        it->second.first.size() != nonce.size() ||
        CRYPTO_memcmp(it->second.first.data(), nonce.data(), nonce.size()) != 0) {
      return "no valid challenge for this mailbox (request one first; they are single-use)";
    }
    nonces_.erase(it);
  }
  if (auth_key.size() != 32) return "authentication key must be a 32-byte Ed25519 public key";
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                  reinterpret_cast<const unsigned char*>(auth_key.data()), 32),
      EVP_PKEY_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::string msg = ChallengeMessage(mailbox, nonce);
  if (!key || !ctx ||
      EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key.get(), nullptr) !=
          1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(msg.data()),
                       msg.size()) != 1) {
    return "signature over the challenge does not verify";
  }
  return std::nullopt;
}

std::string Auth::IssueToken(const std::string& mailbox) {
  std::string token = Hex(RandomBytes(32));
  std::lock_guard<std::mutex> l(mu_);
  tokens_[token] = mailbox;
  return token;
}

std::optional<std::string> Auth::MailboxFor(const std::string& authorization) {
  const std::string prefix = "Bearer ";
  if (authorization.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  std::lock_guard<std::mutex> l(mu_);
  auto it = tokens_.find(authorization.substr(prefix.size()));
  if (it == tokens_.end()) return std::nullopt;
  return it->second;
}

bool Auth::Allow(const std::string& mailbox, int64_t* retry_after_ms) {
  if (rate_per_s_ <= 0) return true;
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> l(mu_);
  auto [it, fresh] = buckets_.try_emplace(mailbox, Bucket{2 * rate_per_s_, now});
  Bucket& b = it->second;
  if (!fresh) {
    double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(2 * rate_per_s_, b.tokens + elapsed * rate_per_s_);
    b.at = now;
  }
  if (b.tokens < 1) {
    *retry_after_ms = static_cast<int64_t>(std::ceil((1 - b.tokens) * 1000 / rate_per_s_));
    return false;
  }
  b.tokens -= 1;
  return true;
}

}  // namespace kars::relay
