// Sealing of what an agent keeps on disk that holds message plaintext (its inbox of decrypted
// events, its resend copies, its outbox of control payloads): AES-256-GCM from OpenSSL under a
// per-agent key, with the value's namespace and key as associated data, so a sealed value cannot
// be moved to another slot unnoticed.
//
// Format: version byte 0x01 | 12-byte random IV | ciphertext | 16-byte tag.
//
// Thread-safety: immutable after construction; Seal and Open may run concurrently.
#ifndef KARS_MESH_AT_REST_H_
#define KARS_MESH_AT_REST_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kars::mesh {

class AtRestCipher {
 public:
  static constexpr size_t kKeySize = 32;
  // A fresh random key.
  static absl::StatusOr<std::string> NewKey();
  // KARS_E_INVALID_ARGUMENT unless `key` is kKeySize bytes.
  static absl::StatusOr<AtRestCipher> FromKey(absl::string_view key);

  absl::StatusOr<std::string> Seal(absl::string_view aad, absl::string_view plaintext) const;
  // KARS_E_TAMPERED when the value was altered, moved or sealed under another key.
  absl::StatusOr<std::string> Open(absl::string_view aad, absl::string_view sealed) const;

 private:
  std::string key_;
};

}  // namespace kars::mesh

#endif  // KARS_MESH_AT_REST_H_
