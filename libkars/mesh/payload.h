// The one place mesh bytes from the network are parsed: envelopes from the relay and the padded
// plaintext payload inside a ciphertext. Plaintexts are padded to size buckets before encryption
// so that a ciphertext's length reveals only the bucket, never the exact message length.
#ifndef KARS_MESH_PAYLOAD_H_
#define KARS_MESH_PAYLOAD_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kars/v1/mesh.pb.h"

namespace kars::mesh {

inline constexpr size_t kMessageIdSize = 16;
inline constexpr size_t kMaxBodySize = 1024 * 1024 - 4096;  // fits the relay's 1 MiB default

// A fresh random 16-byte message id.
absl::StatusOr<std::string> NewMessageId();

// Room in every bucket for the payload fields other than the body.
inline constexpr size_t kPayloadHeaderRoom = 64;

// The smallest bucket holding n bytes: kPayloadHeaderRoom plus 256, 384, 512, 768, 1024, 1536,
// ... (powers of two and one and a half times powers of two).
size_t PaddedSize(size_t n);

// Serializes the payload and pads it: payload bytes, one 0x80 byte, zeros up to the bucket.
std::string PadPayload(const kars::v1::mesh::Payload& payload);

// Inverse of PadPayload. Malformed padding or payload is KARS_E_TAMPERED (it came out of an
// authenticated decryption, so only a misbehaving peer can produce it).
absl::StatusOr<kars::v1::mesh::Payload> UnpadPayload(absl::string_view padded);

// Parses an envelope received from the relay, checking every field routing depends on.
// Errors are KARS_E_INVALID_ARGUMENT naming the bad field.
absl::StatusOr<kars::v1::mesh::Envelope> ParseEnvelope(absl::string_view bytes);
absl::Status ValidateEnvelope(const kars::v1::mesh::Envelope& env);

// A peer or mailbox name: 1..128 bytes of [A-Za-z0-9._@-].
absl::Status ValidateName(absl::string_view name, absl::string_view what);

}  // namespace kars::mesh

#endif  // KARS_MESH_PAYLOAD_H_
