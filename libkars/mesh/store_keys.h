// How signal store entries are keyed inside LocalStore namespaces.
#ifndef KARS_MESH_STORE_KEYS_H_
#define KARS_MESH_STORE_KEYS_H_

#include <signal/signal_protocol.h>

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace kars::mesh {

// Store callbacks return this on a write failure, below every libsignal code.
inline constexpr int kStoreIoError = SG_ERR_MINIMUM - 1;

inline constexpr char kMetaIdentityPublic[] = "identity.public";
inline constexpr char kMetaIdentityPrivate[] = "identity.private";
inline constexpr char kMetaRegistrationId[] = "registration_id";
inline constexpr char kMetaAuthKey[] = "auth.private";  // Ed25519 relay authentication key (DER)
inline constexpr char kMetaName[] = "name";
inline constexpr char kMetaNextPreKeyId[] = "next_prekey_id";
inline constexpr char kMetaSignedPreKeyId[] = "signed_prekey_id";  // the current one
inline constexpr char kMetaInboxSeq[] = "inbox_seq";
inline constexpr char kMetaHeldSeq[] = "held_seq";
inline constexpr char kMetaOutboxSeq[] = "outbox_seq";
inline constexpr char kMetaSentSeq[] = "sent_seq";
inline constexpr char kMetaResetPrefix[] = "reset.";  // + peer: when a re-handshake was asked
inline constexpr char kMetaAuthFailPrefix[] = "authfail.";  // + peer: failures since a success

// Big-endian so that byte order is numeric order.
inline std::string EncodeU32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  return s;
}
inline uint32_t DecodeU32(absl::string_view s) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4 && i < s.size(); ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}
inline std::string EncodeU64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (56 - 8 * i)) & 0xff);
  return s;
}
inline uint64_t DecodeU64(absl::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

// Peer names cannot contain NUL (validated where they enter), so name + NUL is a clean prefix.
inline std::string PeerPrefix(absl::string_view name) {
  std::string s(name.data(), name.size());
  s.push_back('\0');
  return s;
}
inline std::string AddressKey(const signal_protocol_address* a) {
  return PeerPrefix(absl::string_view(a->name, a->name_len)) +
         EncodeU32(static_cast<uint32_t>(a->device_id));
}
inline std::string SenderKeyKey(const signal_protocol_sender_key_name* n) {
  return PeerPrefix(absl::string_view(n->group_id, n->group_id_len)) + AddressKey(&n->sender);
}

}  // namespace kars::mesh

#endif  // KARS_MESH_STORE_KEYS_H_
