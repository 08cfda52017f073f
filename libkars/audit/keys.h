// Ed25519 keys in the C2SP signed-note text encodings, of one of two types (the algorithm byte):
// 0x01 signs notes (the log's checkpoints), 0x04 makes C2SP tlog-cosignature cosignature/v1
// signatures (witnesses). The two never mix: a key of one type is refused where the other is due.
//   verifier key: <name>+<hex8 key hash>+<base64(alg || 32-byte public key)>
//   signer key:   PRIVATE+KEY+<name>+<hex8 key hash>+<base64(alg || 32-byte seed)>
// The key hash (key ID) is the first 4 bytes (big-endian) of SHA-256(name || 0x0A || alg || public
// key), as golang.org/x/mod/sumdb/note computes it for 0x01 and tlog-cosignature for 0x04.
// Signer and Verifier are immutable after creation and thread-safe.
#ifndef KARS_AUDIT_KEYS_H_
#define KARS_AUDIT_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libkars/base/openssl.h"

namespace kars::audit {

inline constexpr uint8_t kAlgEd25519 = 0x01;
inline constexpr uint8_t kAlgCosignatureV1 = 0x04;

// Names are non-empty printable ASCII without spaces or '+', at most 256 bytes.
absl::Status CheckKeyName(absl::string_view name);
uint32_t KeyHash(absl::string_view name, absl::string_view public_key,
                 uint8_t alg = kAlgEd25519);

class Verifier {
 public:
  static absl::StatusOr<Verifier> FromText(absl::string_view vkey);
  static absl::StatusOr<Verifier> FromRaw(absl::string_view name, absl::string_view public_key,
                                          uint8_t alg = kAlgEd25519);

  const std::string& name() const { return name_; }
  uint32_t key_hash() const { return key_hash_; }
  uint8_t alg() const { return alg_; }
  const std::string& public_key() const { return public_key_; }
  std::string Text() const;
  // True when `sig` is a valid Ed25519 signature of `message` by this key.
  bool Verify(absl::string_view message, absl::string_view sig) const;

 private:
  std::string name_;
  uint32_t key_hash_ = 0;
  uint8_t alg_ = kAlgEd25519;
  std::string public_key_;
  std::shared_ptr<EVP_PKEY> key_;
};

class Signer {
 public:
  // A fresh key from the OpenSSL RNG.
  static absl::StatusOr<Signer> Generate(absl::string_view name, uint8_t alg = kAlgEd25519);
  static absl::StatusOr<Signer> FromText(absl::string_view skey);

  const std::string& name() const { return verifier_.name(); }
  uint32_t key_hash() const { return verifier_.key_hash(); }
  uint8_t alg() const { return verifier_.alg(); }
  const Verifier& verifier() const { return verifier_; }
  // The PRIVATE+KEY+... text; handle it as a secret.
  std::string Text() const;
  absl::StatusOr<std::string> Sign(absl::string_view message) const;

 private:
  Verifier verifier_;
  std::shared_ptr<EVP_PKEY> key_;
};

// InvalidArgument naming `role` unless the key has algorithm byte `alg`.
absl::Status RequireKeyType(const Verifier& key, uint8_t alg, absl::string_view role);

}  // namespace kars::audit

#endif  // KARS_AUDIT_KEYS_H_
