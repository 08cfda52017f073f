// Encrypting to and decrypting from one peer over libsignal sessions (X3DH then Double Ratchet).
//
// Thread-safety: one thread at a time (the agent serialises access).
#ifndef KARS_MESH_SESSION_H_
#define KARS_MESH_SESSION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kars/v1/mesh.pb.h"
#include "libkars/mesh/signal_env.h"

namespace kars::mesh {

struct Sealed {
  kars::v1::mesh::CiphertextType type;
  std::string ciphertext;
};

bool HasSession(SignalEnv& env, absl::string_view peer);

// Encrypts on the established session with `peer` (KARS_E_PRECONDITION when there is none).
absl::StatusOr<Sealed> Seal(SignalEnv& env, absl::string_view peer, absl::string_view plaintext);

// Decrypts a ciphertext from `peer`. A prekey message needs no prior session. Errors:
// KARS_E_EXISTS duplicate (already decrypted once), KARS_E_DENIED changed identity not approved,
// KARS_E_TAMPERED fails authentication, KARS_E_PRECONDITION no session / unknown prekey,
// KARS_E_INVALID_ARGUMENT unparseable. A failed decryption leaves the session as it was.
absl::StatusOr<std::string> Open(SignalEnv& env, absl::string_view peer,
                                 kars::v1::mesh::CiphertextType type, absl::string_view ciphertext);

// The identity key a prekey message claims, serialized (for approval of a changed identity).
absl::StatusOr<std::string> PreKeyMessageIdentity(SignalEnv& env, absl::string_view ciphertext);

}  // namespace kars::mesh

#endif  // KARS_MESH_SESSION_H_
