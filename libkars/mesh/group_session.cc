#include "libkars/mesh/group_session.h"

#include <signal/group_cipher.h>
#include <signal/group_session_builder.h>
#include <signal/protocol.h>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"
#include "libkars/mesh/store_keys.h"

namespace kars::mesh {
namespace {

signal_protocol_sender_key_name Name(absl::string_view group, absl::string_view member) {
  return {group.data(), group.size(), {member.data(), member.size(), 1}};
}

}  // namespace

absl::StatusOr<std::string> SenderKeyDistribution(SignalEnv& env, absl::string_view group,
                                                  absl::string_view self) {
  signal_protocol_sender_key_name name = Name(group, self);
  group_session_builder* builder = nullptr;
  int rc = group_session_builder_create(&builder, env.stores(), env.ctx());
  if (rc != 0) return SignalError("create group session builder", rc);
  sender_key_distribution_message* msg = nullptr;
  rc = group_session_builder_create_session(builder, &msg, &name);
  group_session_builder_free(builder);
  if (rc != 0) return SignalError("create sender key", rc);
  SignalPtr<sender_key_distribution_message> owned(msg);
  return std::string(
      View(ciphertext_message_get_serialized(reinterpret_cast<ciphertext_message*>(msg))));
}

absl::Status ProcessSenderKeyDistribution(SignalEnv& env, absl::string_view group,
                                          absl::string_view sender, absl::string_view message) {
  sender_key_distribution_message* msg = nullptr;
  int rc = sender_key_distribution_message_deserialize(
      &msg, reinterpret_cast<const uint8_t*>(message.data()), message.size(), env.ctx());
  if (rc != 0) return TamperedError("malformed sender key distribution message");
  SignalPtr<sender_key_distribution_message> owned(msg);
  signal_protocol_sender_key_name name = Name(group, sender);
  group_session_builder* builder = nullptr;
  rc = group_session_builder_create(&builder, env.stores(), env.ctx());
  if (rc != 0) return SignalError("create group session builder", rc);
  rc = group_session_builder_process_session(builder, &name, msg);
  group_session_builder_free(builder);
  if (rc != 0) return SignalError("process sender key", rc);
  return absl::OkStatus();
}

absl::Status RotateSenderKey(SignalEnv& env, absl::string_view group, absl::string_view self) {
  signal_protocol_sender_key_name name = Name(group, self);
  auto r = env.store().Delete(Ns::kSenderKey, SenderKeyKey(&name));
  return r.ok() ? absl::OkStatus() : r.status();
}

absl::Status ForgetGroupKeys(SignalEnv& env, absl::string_view group) {
  const std::string prefix = PeerPrefix(group);
  for (const auto& [k, v] : env.store().List(Ns::kSenderKey)) {
    if (k.compare(0, prefix.size(), prefix) != 0) continue;
    if (auto r = env.store().Delete(Ns::kSenderKey, k); !r.ok()) return r.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> GroupSeal(SignalEnv& env, absl::string_view group,
                                      absl::string_view self, absl::string_view plaintext) {
  signal_protocol_sender_key_name name = Name(group, self);
  group_cipher* cipher = nullptr;
  int rc = group_cipher_create(&cipher, env.stores(), &name, env.ctx());
  if (rc != 0) return SignalError("create group cipher", rc);
  ciphertext_message* msg = nullptr;
  rc = group_cipher_encrypt(cipher, reinterpret_cast<const uint8_t*>(plaintext.data()),
                            plaintext.size(), &msg);
  group_cipher_free(cipher);
  if (rc != 0) return SignalError(absl::StrCat("encrypt to group '", std::string(group), "'"), rc);
  SignalPtr<ciphertext_message> owned(msg);
  return std::string(View(ciphertext_message_get_serialized(msg)));
}

absl::StatusOr<std::string> GroupOpen(SignalEnv& env, absl::string_view group,
                                      absl::string_view sender, absl::string_view ciphertext) {
  const std::string what = absl::StrCat("decrypt group '", std::string(group), "' message from '",
                                        std::string(sender), "'");
  sender_key_message* msg = nullptr;
  int rc = sender_key_message_deserialize(&msg, reinterpret_cast<const uint8_t*>(ciphertext.data()),
                                          ciphertext.size(), env.ctx());
  if (rc != 0) return TamperedError(absl::StrCat(what, ": malformed sender key message"));
  SignalPtr<sender_key_message> owned(msg);
  signal_protocol_sender_key_name name = Name(group, sender);
  group_cipher* cipher = nullptr;
  rc = group_cipher_create(&cipher, env.stores(), &name, env.ctx());
  if (rc != 0) return SignalError("create group cipher", rc);
  signal_buffer* plain = nullptr;
  rc = group_cipher_decrypt(cipher, msg, nullptr, &plain);
  group_cipher_free(cipher);
  if (rc == SG_ERR_NO_SESSION) {
    return MakeStatus(KARS_E_PRECONDITION,
                      absl::StrCat(what, ": no sender key for it (not distributed to this agent)"));
  }
  if (rc != 0) return SignalError(what, rc);
  SignalBuffer owned_plain(plain);
  return std::string(View(plain));
}

}  // namespace kars::mesh
