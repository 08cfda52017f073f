#include "libkars/mesh/payload.h"

#include <openssl/rand.h>

#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"

namespace kars::mesh {

using kars::v1::mesh::CiphertextType;
using kars::v1::mesh::Envelope;
using kars::v1::mesh::Payload;

absl::StatusOr<std::string> NewMessageId() {
  std::string id(kMessageIdSize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), static_cast<int>(id.size())) != 1) {
    return absl::InternalError("random message id: RAND_bytes failed");
  }
  return id;
}

size_t PaddedSize(size_t n) {
  // Body buckets 256, 384, 512, 768, 1024, 1536, ...: each step at most 1.5x, so padding costs at
  // most half the message again, and a length reveals only which of ~2 buckets per doubling it
  // fell in. Every bucket has room for the payload's own fields besides the body (id, timestamp,
  // group, framing: under kPayloadHeaderRoom bytes), so that the common power-of-two bodies fill
  // their bucket instead of spilling into the next one half as large again.
  size_t bucket = 256;
  for (;;) {
    if (n <= bucket + kPayloadHeaderRoom) return bucket + kPayloadHeaderRoom;
    if (n <= bucket + bucket / 2 + kPayloadHeaderRoom) {
      return bucket + bucket / 2 + kPayloadHeaderRoom;
    }
    bucket *= 2;
  }
}

std::string PadPayload(const Payload& payload) {
  // One allocation of the final size: serialized payload, the 0x80 marker, zeros.
  const size_t n = payload.ByteSizeLong();
  std::string out(PaddedSize(n + 1), '\0');
  payload.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data()));
  out[n] = static_cast<char>(0x80);
  return out;
}

absl::StatusOr<Payload> UnpadPayload(absl::string_view padded) {
  // The marker is the last non-zero byte; the zeros after it are scanned word by word.
  size_t end = padded.size();
  while (end >= 8) {
    uint64_t word;
    std::memcpy(&word, padded.data() + end - 8, 8);
    if (word != 0) break;
    end -= 8;
  }
  while (end > 0 && padded[end - 1] == '\0') --end;
  if (end == 0 || static_cast<uint8_t>(padded[end - 1]) != 0x80) {
    return TamperedError("decrypted payload has malformed padding");
  }
  Payload payload;
  if (!payload.ParseFromArray(padded.data(), static_cast<int>(end - 1))) {
    return TamperedError("decrypted payload is not a valid kars.v1.mesh.Payload");
  }
  if (payload.message_id().size() != kMessageIdSize) {
    return TamperedError("decrypted payload has a malformed message id");
  }
  return payload;
}

absl::Status ValidateName(absl::string_view name, absl::string_view what) {
  if (name.empty() || name.size() > 128) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be 1 to 128 bytes long"));
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-' &&
        c != '@') {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " may contain only letters, digits and . _ - @"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateEnvelope(const Envelope& env) {
  if (absl::Status s = ValidateName(env.recipient(), "envelope recipient"); !s.ok()) return s;
  if (absl::Status s = ValidateName(env.sender(), "envelope sender"); !s.ok()) return s;
  if (env.message_id().size() != kMessageIdSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("envelope message id must be ", kMessageIdSize, " bytes"));
  }
  switch (env.type()) {
    case kars::v1::mesh::CIPHERTEXT_TYPE_PREKEY:
    case kars::v1::mesh::CIPHERTEXT_TYPE_SIGNAL:
      if (env.ciphertext().empty()) {
        return absl::InvalidArgumentError("envelope ciphertext is empty");
      }
      return absl::OkStatus();
    case kars::v1::mesh::CIPHERTEXT_TYPE_SENDER_KEY:
      if (env.ciphertext().empty()) {
        return absl::InvalidArgumentError("envelope ciphertext is empty");
      }
      return ValidateName(env.group_id(), "envelope group id");
    case kars::v1::mesh::CIPHERTEXT_TYPE_EXPIRY_NOTICE:
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("envelope has unknown ciphertext type ", static_cast<int>(env.type())));
  }
}

absl::StatusOr<Envelope> ParseEnvelope(absl::string_view bytes) {
  Envelope env;
  if (!env.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError("envelope is not a valid kars.v1.mesh.Envelope");
  }
  if (absl::Status s = ValidateEnvelope(env); !s.ok()) return s;
  return env;
}

}  // namespace kars::mesh
