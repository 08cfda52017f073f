// RFC 6962 / RFC 9162 hashing: SHA-256 with a 0x00 prefix for leaves and 0x01 for inner nodes,
// so that a leaf can never be passed off as an inner node (second-preimage resistance).
// Thread-safe: each thread keeps its own digest context.
#ifndef KARS_AUDIT_HASH_H_
#define KARS_AUDIT_HASH_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace kars::audit {

inline constexpr size_t kHashSize = 32;
using Hash = std::array<uint8_t, kHashSize>;

// SHA-256(0x00 || data).
Hash LeafHash(absl::string_view data);
// SHA-256(0x01 || left || right).
Hash NodeHash(const Hash& left, const Hash& right);
// SHA-256 of the empty string: the root of the empty tree.
Hash EmptyRoot();
// Plain SHA-256, for key hashes and digests.
Hash Sha256(absl::string_view data);

inline absl::string_view AsBytes(const Hash& h) {
  return absl::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}
// Copies exactly kHashSize bytes; the caller checks the length.
Hash HashFromBytes(absl::string_view bytes);
std::string HexHash(const Hash& h);

}  // namespace kars::audit

#endif  // KARS_AUDIT_HASH_H_
