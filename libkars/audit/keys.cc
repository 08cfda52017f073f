#include "libkars/audit/keys.h"

#include <openssl/rand.h>

#include <cstdio>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_split.h"
#include "libkars/audit/encoding.h"
#include "libkars/audit/hash.h"
#include "libkars/base/secure_zero.h"

namespace kars::audit {
namespace {

constexpr size_t kKeySize = 32;

std::string Hex8(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

absl::StatusOr<uint32_t> ParseHex8(absl::string_view text) {
  if (text.size() != 8) return absl::InvalidArgumentError("key: key hash is not 8 hex digits");
  uint32_t v = 0;
  for (char c : text) {
    uint32_t d;
    if (c >= '0' && c <= '9') d = static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<uint32_t>(c - 'a' + 10);
    else return absl::InvalidArgumentError("key: key hash is not lowercase hex");
    v = v << 4 | d;
  }
  return v;
}

// Every key parsing error names which key was malformed.
absl::Status Prefixed(absl::string_view what, const absl::Status& s) {
  if (absl::StartsWith(s.message(), what)) return s;
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", s.message()));
}

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* k) { return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free); }

// Splits "<name>+<hash>+<base64(alg || key)>" and checks the algorithm byte and hash.
struct KeyParts {
  std::string name;
  uint32_t hash = 0;
  uint8_t alg = 0;
  std::string key;  // 32 raw bytes
};

absl::StatusOr<KeyParts> SplitKey(absl::string_view text, absl::string_view what) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits('+', 2));
  if (parts.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": expected name+hash+key"));
  }
  KeyParts out;
  if (absl::Status s = CheckKeyName(parts[0]); !s.ok()) return s;
  out.name = std::string(parts[0].data(), parts[0].size());
  absl::StatusOr<uint32_t> hash = ParseHex8(parts[1]);
  if (!hash.ok()) return hash.status();
  out.hash = *hash;
  absl::StatusOr<std::string> raw = Base64Decode(parts[2], what);
  if (!raw.ok()) return raw.status();
  const uint8_t alg = raw->empty() ? 0 : static_cast<uint8_t>((*raw)[0]);
  if (raw->size() != 1 + kKeySize || (alg != kAlgEd25519 && alg != kAlgCosignatureV1)) {
    SecureZero(raw->data(), raw->size());
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": not an Ed25519 note key (type 0x01) or cosignature/v1 key (type 0x04)"));
  }
  out.alg = alg;
  out.key = raw->substr(1);
  SecureZero(raw->data(), raw->size());
  return out;
}

}  // namespace

absl::Status CheckKeyName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("key name is empty");
  if (name.size() > 256) return absl::InvalidArgumentError("key name is longer than 256 bytes");
  for (char c : name) {
    if (c <= 0x20 || c >= 0x7f || c == '+') {
      return absl::InvalidArgumentError(
          "key name must be printable ASCII without spaces or '+'");
    }
  }
  return absl::OkStatus();
}

uint32_t KeyHash(absl::string_view name, absl::string_view public_key, uint8_t alg) {
  std::string input = absl::StrCat(name, "\n");
  input.push_back(static_cast<char>(alg));
  input.append(public_key.data(), public_key.size());
  Hash h = Sha256(input);
  return uint32_t{h[0]} << 24 | uint32_t{h[1]} << 16 | uint32_t{h[2]} << 8 | uint32_t{h[3]};
}

absl::Status RequireKeyType(const Verifier& key, uint8_t alg, absl::string_view role) {
  if (key.alg() == alg) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      role, ": key '", key.name(), "' is a ",
      key.alg() == kAlgCosignatureV1 ? "cosignature/v1 witness key (type 0x04)"
                                     : "note signing key (type 0x01)",
      ", not a ",
      alg == kAlgCosignatureV1 ? "cosignature/v1 witness key (type 0x04)"
                               : "note signing key (type 0x01)"));
}

absl::StatusOr<Verifier> Verifier::FromRaw(absl::string_view name, absl::string_view public_key,
                                           uint8_t alg) {
  if (absl::Status s = CheckKeyName(name); !s.ok()) return s;
  if (alg != kAlgEd25519 && alg != kAlgCosignatureV1) {
    return absl::InvalidArgumentError("public key: unknown key type");
  }
  if (public_key.size() != kKeySize) {
    return absl::InvalidArgumentError("public key: Ed25519 keys are 32 bytes");
  }
  EVP_PKEY* k = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(public_key.data()),
      public_key.size());
  if (k == nullptr) return absl::InvalidArgumentError("public key: not a valid Ed25519 key");
  Verifier v;
  v.name_ = std::string(name.data(), name.size());
  v.public_key_ = std::string(public_key.data(), public_key.size());
  v.alg_ = alg;
  v.key_hash_ = KeyHash(name, public_key, alg);
  v.key_ = Own(k);
  return v;
}

absl::StatusOr<Verifier> Verifier::FromText(absl::string_view vkey) {
  while (!vkey.empty() && (vkey.back() == '\n' || vkey.back() == '\r')) vkey.remove_suffix(1);
  if (absl::StartsWith(vkey, "PRIVATE+KEY+")) {
    return absl::InvalidArgumentError("public key: this is a private key; pass the .pub file");
  }
  absl::StatusOr<KeyParts> parts = SplitKey(vkey, "public key");
  if (!parts.ok()) return Prefixed("public key", parts.status());
  absl::StatusOr<Verifier> v = FromRaw(parts->name, parts->key, parts->alg);
  if (!v.ok()) return v.status();
  if (v->key_hash_ != parts->hash) {
    return absl::InvalidArgumentError("public key: key hash does not match name and key");
  }
  return v;
}

std::string Verifier::Text() const {
  std::string raw(1, static_cast<char>(alg_));
  raw += public_key_;
  return absl::StrCat(name_, "+", Hex8(key_hash_), "+", Base64Encode(raw));
}

bool Verifier::Verify(absl::string_view message, absl::string_view sig) const {
  if (sig.size() != 64) return false;
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) throw std::bad_alloc();
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                          sig.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

absl::StatusOr<Signer> Signer::Generate(absl::string_view name, uint8_t alg) {
  if (absl::Status s = CheckKeyName(name); !s.ok()) return s;
  if (alg != kAlgEd25519 && alg != kAlgCosignatureV1) {
    return absl::InvalidArgumentError("key type must be 0x01 (note) or 0x04 (cosignature/v1)");
  }
  unsigned char seed[kKeySize];
  if (RAND_bytes(seed, sizeof seed) != 1) return ossl::Error("generate Ed25519 key");
  std::string skey_raw(1, static_cast<char>(kAlgEd25519));
  skey_raw.append(reinterpret_cast<const char*>(seed), sizeof seed);
  SecureZero(seed, sizeof seed);
  // Route through the text form so that generation and loading share one code path.
  EVP_PKEY* k = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(skey_raw.data() + 1),
      kKeySize);
  SecureZero(skey_raw.data(), skey_raw.size());
  if (k == nullptr) return ossl::Error("generate Ed25519 key");
  Signer s;
  s.key_ = Own(k);
  unsigned char pub[kKeySize];
  size_t pub_len = sizeof pub;
  if (EVP_PKEY_get_raw_public_key(k, pub, &pub_len) != 1) return ossl::Error("derive public key");
  absl::StatusOr<Verifier> v =
      Verifier::FromRaw(name, absl::string_view(reinterpret_cast<char*>(pub), pub_len), alg);
  if (!v.ok()) return v.status();
  s.verifier_ = *std::move(v);
  return s;
}

absl::StatusOr<Signer> Signer::FromText(absl::string_view skey) {
  while (!skey.empty() && (skey.back() == '\n' || skey.back() == '\r')) skey.remove_suffix(1);
  if (!absl::ConsumePrefix(&skey, "PRIVATE+KEY+")) {
    return absl::InvalidArgumentError("private key: does not start with PRIVATE+KEY+");
  }
  absl::StatusOr<KeyParts> parts = SplitKey(skey, "private key");
  if (!parts.ok()) return Prefixed("private key", parts.status());
  EVP_PKEY* k = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(parts->key.data()),
      parts->key.size());
  SecureZero(parts->key.data(), parts->key.size());
  if (k == nullptr) return absl::InvalidArgumentError("private key: not a valid Ed25519 key");
  Signer s;
  s.key_ = Own(k);
  unsigned char pub[kKeySize];
  size_t pub_len = sizeof pub;
  if (EVP_PKEY_get_raw_public_key(k, pub, &pub_len) != 1) return ossl::Error("derive public key");
  absl::StatusOr<Verifier> v = Verifier::FromRaw(
      parts->name, absl::string_view(reinterpret_cast<char*>(pub), pub_len), parts->alg);
  if (!v.ok()) return v.status();
  if (v->key_hash() != parts->hash) {
    return absl::InvalidArgumentError("private key: key hash does not match name and key");
  }
  s.verifier_ = *std::move(v);
  return s;
}

std::string Signer::Text() const {
  unsigned char seed[kKeySize];
  size_t len = sizeof seed;
  std::string raw(1, static_cast<char>(alg()));
  if (EVP_PKEY_get_raw_private_key(key_.get(), seed, &len) == 1) {
    raw.append(reinterpret_cast<const char*>(seed), len);
  }
  SecureZero(seed, sizeof seed);
  std::string out =
      absl::StrCat("PRIVATE+KEY+", name(), "+", Hex8(key_hash()), "+", Base64Encode(raw));
  SecureZero(raw.data(), raw.size());
  return out;
}

absl::StatusOr<std::string> Signer::Sign(absl::string_view message) const {
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) throw std::bad_alloc();
  // Ed25519 is a one-shot signature: no separate digest (md must be NULL).
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) {
    return ossl::Error("Ed25519 sign init");
  }
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return ossl::Error("Ed25519 sign");
  }
  sig.resize(len);
  return sig;
}

}  // namespace kars::audit
