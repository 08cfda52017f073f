// Sender-key (group) cryptography over libsignal: this agent's sender key per group, its
// distribution message for members, processing members' distributions, and one encryption per
// group message regardless of the number of members.
//
// Thread-safety: one thread at a time (the agent serialises access).
#ifndef KARS_MESH_GROUP_SESSION_H_
#define KARS_MESH_GROUP_SESSION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libkars/mesh/signal_env.h"

namespace kars::mesh {

// The distribution message for this agent's sender key in `group` (created if absent).
absl::StatusOr<std::string> SenderKeyDistribution(SignalEnv& env, absl::string_view group,
                                                  absl::string_view self);

// Stores `sender`'s sender key for `group` from its distribution message.
absl::Status ProcessSenderKeyDistribution(SignalEnv& env, absl::string_view group,
                                          absl::string_view sender, absl::string_view message);

// Forgets this agent's sender key for `group`; the next distribution creates a fresh one, which
// members removed meanwhile never receive.
absl::Status RotateSenderKey(SignalEnv& env, absl::string_view group, absl::string_view self);

// Forgets every sender key of `group` (this agent left it).
absl::Status ForgetGroupKeys(SignalEnv& env, absl::string_view group);

absl::StatusOr<std::string> GroupSeal(SignalEnv& env, absl::string_view group,
                                      absl::string_view self, absl::string_view plaintext);
// Errors as for Open in session.h; no sender key from `sender` is KARS_E_PRECONDITION.
absl::StatusOr<std::string> GroupOpen(SignalEnv& env, absl::string_view group,
                                      absl::string_view sender, absl::string_view ciphertext);

}  // namespace kars::mesh

#endif  // KARS_MESH_GROUP_SESSION_H_
