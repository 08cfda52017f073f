#include "libkars/mesh/payload.h"

#include <openssl/rand.h>

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
  // 256, 384, 512, 768, 1024, 1536, ...: each step at most 1.5x, so padding costs at most half
  // the message again, and a length reveals only which of ~2 buckets per doubling it fell in.
  size_t bucket = 256;
  for (;;) {
    if (n <= bucket) return bucket;
    if (n <= bucket + bucket / 2) return bucket + bucket / 2;
    bucket *= 2;
  }
}

std::string PadPayload(const Payload& payload) {
  std::string out = payload.SerializeAsString();
  size_t total = PaddedSize(out.size() + 1);
  out.push_back(static_cast<char>(0x80));
  out.resize(total, '\0');
  return out;
}

absl::StatusOr<Payload> UnpadPayload(absl::string_view padded) {
  size_t end = padded.find_last_not_of('\0');
  if (end == absl::string_view::npos || static_cast<uint8_t>(padded[end]) != 0x80) {
    return TamperedError("decrypted payload has malformed padding");
  }
  Payload payload;
  if (!payload.ParseFromArray(padded.data(), static_cast<int>(end))) {
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
