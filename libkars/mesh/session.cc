#include "libkars/mesh/session.h"

#include <signal/protocol.h>
#include <signal/session_cipher.h>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"

namespace kars::mesh {
namespace {

using kars::v1::mesh::CiphertextType;

struct CipherFree {
  void operator()(session_cipher* c) const noexcept { session_cipher_free(c); }
};
using CipherPtr = std::unique_ptr<session_cipher, CipherFree>;

absl::StatusOr<CipherPtr> MakeCipher(SignalEnv& env, const signal_protocol_address& address) {
  session_cipher* c = nullptr;
  int rc = session_cipher_create(&c, env.stores(), &address, env.ctx());
  if (rc != 0) return SignalError("create session cipher", rc);
  return CipherPtr(c);
}

signal_protocol_address Address(absl::string_view peer) { return {peer.data(), peer.size(), 1}; }

}  // namespace

bool HasSession(SignalEnv& env, absl::string_view peer) {
  signal_protocol_address a = Address(peer);
  return signal_protocol_session_contains_session(env.stores(), &a) == 1;
}

absl::StatusOr<Sealed> Seal(SignalEnv& env, absl::string_view peer, absl::string_view plaintext) {
  if (!HasSession(env, peer)) {
    return MakeStatus(KARS_E_PRECONDITION,
                      absl::StrCat("no session with '", std::string(peer), "'"));
  }
  signal_protocol_address a = Address(peer);
  auto cipher = MakeCipher(env, a);
  if (!cipher.ok()) return cipher.status();
  ciphertext_message* msg = nullptr;
  int rc = session_cipher_encrypt(cipher->get(), reinterpret_cast<const uint8_t*>(plaintext.data()),
                                  plaintext.size(), &msg);
  if (rc != 0) return SignalError(absl::StrCat("encrypt to '", std::string(peer), "'"), rc);
  SignalPtr<ciphertext_message> owned(msg);
  Sealed out;
  out.type = ciphertext_message_get_type(msg) == CIPHERTEXT_PREKEY_TYPE
                 ? kars::v1::mesh::CIPHERTEXT_TYPE_PREKEY
                 : kars::v1::mesh::CIPHERTEXT_TYPE_SIGNAL;
  out.ciphertext = std::string(View(ciphertext_message_get_serialized(msg)));
  return out;
}

absl::StatusOr<std::string> Open(SignalEnv& env, absl::string_view peer, CiphertextType type,
                                 absl::string_view ciphertext) {
  // Built only on failure: the success path allocates nothing it does not return.
  auto what = [peer] { return absl::StrCat("decrypt from '", peer, "'"); };
  signal_protocol_address a = Address(peer);
  auto cipher = MakeCipher(env, a);
  if (!cipher.ok()) return cipher.status();
  const auto* data = reinterpret_cast<const uint8_t*>(ciphertext.data());
  signal_buffer* plain = nullptr;
  int rc;
  if (type == kars::v1::mesh::CIPHERTEXT_TYPE_PREKEY) {
    pre_key_signal_message* msg = nullptr;
    rc = pre_key_signal_message_deserialize(&msg, data, ciphertext.size(), env.ctx());
    if (rc != 0) return TamperedError(absl::StrCat(what(), ": malformed prekey message"));
    SignalPtr<pre_key_signal_message> owned(msg);
    rc = session_cipher_decrypt_pre_key_signal_message(cipher->get(), msg, nullptr, &plain);
  } else if (type == kars::v1::mesh::CIPHERTEXT_TYPE_SIGNAL) {
    signal_message* msg = nullptr;
    rc = signal_message_deserialize(&msg, data, ciphertext.size(), env.ctx());
    if (rc != 0) return TamperedError(absl::StrCat(what(), ": malformed signal message"));
    SignalPtr<signal_message> owned(msg);
    rc = session_cipher_decrypt_signal_message(cipher->get(), msg, nullptr, &plain);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(what(), ": not a ciphertext type"));
  }
  if (rc != 0) return SignalError(what(), rc);
  SignalBuffer owned_plain(plain);
  return std::string(View(plain));
}

absl::StatusOr<std::string> PreKeyMessageIdentity(SignalEnv& env, absl::string_view ciphertext) {
  pre_key_signal_message* msg = nullptr;
  int rc = pre_key_signal_message_deserialize(
      &msg, reinterpret_cast<const uint8_t*>(ciphertext.data()), ciphertext.size(), env.ctx());
  if (rc != 0) return TamperedError("malformed prekey message");
  SignalPtr<pre_key_signal_message> owned(msg);
  return SerializeKey(pre_key_signal_message_get_identity_key(msg));
}

}  // namespace kars::mesh
