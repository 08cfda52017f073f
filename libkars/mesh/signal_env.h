// One libsignal-protocol-c context bound to an agent's LocalStore: the OpenSSL crypto provider,
// the recursive lock the library requires, and the five store callback tables (identity, prekey,
// signed prekey, session, sender key) over the durable store. Also small RAII helpers for the
// library's refcounted objects and buffers.
//
// Thread-safety: one thread at a time (the agent serialises access); the library's own lock
// callbacks guard its internal state.
#ifndef KARS_MESH_SIGNAL_ENV_H_
#define KARS_MESH_SIGNAL_ENV_H_

#include <signal/signal_protocol.h>

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libkars/mesh/local_store.h"

namespace kars::mesh {

// What happens when a known peer presents a different identity key.
enum class TrustMode {
  kBlockUntilApproved,  // default: the peer is blocked until the host approves the new key
  kAcceptAndReport,     // the new key is trusted and the change is reported with the message
};

struct SignalUnref {
  void operator()(void* p) const noexcept {
    if (p != nullptr) signal_type_unref(static_cast<signal_type_base*>(p));
  }
};
template <class T>
using SignalPtr = std::unique_ptr<T, SignalUnref>;

struct SignalBufferFree {
  void operator()(signal_buffer* b) const noexcept { signal_buffer_bzero_free(b); }
};
using SignalBuffer = std::unique_ptr<signal_buffer, SignalBufferFree>;

inline absl::string_view View(const signal_buffer* b) {
  return b == nullptr
             ? absl::string_view()
             : absl::string_view(reinterpret_cast<const char*>(signal_buffer_const_data(b)),
                                 signal_buffer_len(b));
}

// The status for a libsignal error code, with `what` naming the operation.
absl::Status SignalError(absl::string_view what, int code);

// The serialized (33-byte, type-prefixed) form of a public key.
absl::StatusOr<std::string> SerializeKey(const ec_public_key* key);

class SignalEnv {
 public:
  static absl::StatusOr<std::unique_ptr<SignalEnv>> Create(LocalStore* store, TrustMode mode);
  ~SignalEnv();
  SignalEnv(const SignalEnv&) = delete;
  SignalEnv& operator=(const SignalEnv&) = delete;

  signal_context* ctx() const { return ctx_; }
  signal_protocol_store_context* stores() const { return stores_; }
  LocalStore& store() const { return *store_; }
  TrustMode trust_mode() const { return mode_; }

  // Set by the identity store when, in accept-and-report mode, a peer's key changed and was
  // accepted; read and cleared by whoever decrypts.
  bool TakeIdentityChanged() {
    bool v = identity_changed_;
    identity_changed_ = false;
    return v;
  }
  void NoteIdentityChanged() { identity_changed_ = true; }

 private:
  SignalEnv() = default;
  LocalStore* store_ = nullptr;
  TrustMode mode_ = TrustMode::kBlockUntilApproved;
  signal_context* ctx_ = nullptr;
  signal_protocol_store_context* stores_ = nullptr;
  std::recursive_mutex lock_;
  bool identity_changed_ = false;

  friend struct SignalEnvCallbacks;
};

}  // namespace kars::mesh

#endif  // KARS_MESH_SIGNAL_ENV_H_
