// An agent's own keys: the Signal identity key pair and registration id (created once), the signed
// prekey (rotated on a schedule, the previous kept for a grace period so in-flight handshakes
// still complete), the pool of one-time prekeys, and the Ed25519 key that authenticates the agent
// to the relay. Also turns a relay bundle into a libsignal session (X3DH).
//
// Thread-safety: one thread at a time (the agent serialises access).
#ifndef KARS_MESH_KEYS_H_
#define KARS_MESH_KEYS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kars/v1/mesh.pb.h"
#include "libkars/mesh/signal_env.h"

namespace kars::mesh {

struct KeyPolicy {
  uint32_t prekey_pool = 100;      // one-time prekeys published
  uint32_t prekey_low_water = 25;  // replenish when the relay holds fewer than this
  int64_t signed_prekey_rotate_s = 7 * 24 * 3600;
  int64_t signed_prekey_keep_s = 14 * 24 * 3600;  // how long a replaced one still decrypts
};

// Creates the identity, registration id, auth key and first signed prekey when the store holds
// none; checks that a store created for `name` is not opened as another agent.
absl::Status EnsureIdentity(SignalEnv& env, absl::string_view name, int64_t now_s);

// The agent's public identity key, serialized.
absl::StatusOr<std::string> IdentityPublicKey(SignalEnv& env);

// Rotates the signed prekey when older than the policy says, and drops replaced ones past their
// grace period. Returns whether a new signed prekey was made.
absl::StatusOr<bool> MaintainSignedPreKey(SignalEnv& env, const KeyPolicy& policy, int64_t now_s);

// Generates `count` new one-time prekeys (stored locally) and returns their public halves.
absl::StatusOr<std::vector<kars::v1::mesh::OneTimePreKey>> GeneratePreKeys(SignalEnv& env,
                                                                           uint32_t count);

// The identity and current signed prekey, ready to publish (without one-time prekeys).
absl::StatusOr<kars::v1::mesh::PublishKeysRequest> PublicKeys(SignalEnv& env);

// Validates a bundle from the relay and builds a session with its owner (X3DH). A bad signature
// is KARS_E_TAMPERED; a changed, unapproved identity KARS_E_DENIED.
absl::Status ProcessBundle(SignalEnv& env, const kars::v1::mesh::PreKeyBundle& bundle);

// The 60-digit safety number for this agent and a peer's identity key.
absl::StatusOr<std::string> SafetyNumber(SignalEnv& env, absl::string_view local_name,
                                         absl::string_view peer_name,
                                         absl::string_view peer_identity_key);

// Ed25519 relay authentication: the public key (raw 32 bytes) and a signature.
absl::StatusOr<std::string> AuthPublicKey(SignalEnv& env);
// The private key (DER) and a signature with it; signing needs no store access, so a transport
// can re-authenticate while the agent's state lock is held.
absl::StatusOr<std::string> AuthPrivateKeyDer(SignalEnv& env);
absl::StatusOr<std::string> AuthSign(absl::string_view private_key_der, absl::string_view message);

}  // namespace kars::mesh

#endif  // KARS_MESH_KEYS_H_
