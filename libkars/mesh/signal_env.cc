#include "libkars/mesh/signal_env.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"
#include "libkars/mesh/crypto_provider.h"
#include "libkars/mesh/store_keys.h"

namespace kars::mesh {

absl::Status SignalError(absl::string_view what, int code) {
  switch (code) {
    case SG_ERR_NOMEM:
      return absl::ResourceExhaustedError(absl::StrCat(what, ": out of memory"));
    case SG_ERR_DUPLICATE_MESSAGE:
      return MakeStatus(KARS_E_EXISTS, absl::StrCat(what, ": duplicate message"));
    case SG_ERR_INVALID_MAC:
    case SG_ERR_INVALID_MESSAGE:
    case SG_ERR_INVALID_PROTO_BUF:
    case SG_ERR_VRF_SIG_VERIF_FAILED:
      return TamperedError(absl::StrCat(what, ": message fails authentication (error ", code, ")"));
    case SG_ERR_INVALID_KEY:
      return TamperedError(absl::StrCat(what, ": invalid key or key signature"));
    case SG_ERR_INVALID_KEY_ID:
      return MakeStatus(KARS_E_PRECONDITION,
                        absl::StrCat(what, ": the message uses a prekey this agent no longer has"));
    case SG_ERR_NO_SESSION:
      return MakeStatus(KARS_E_PRECONDITION, absl::StrCat(what, ": no session with this peer"));
    case SG_ERR_UNTRUSTED_IDENTITY:
      return MakeStatus(
          KARS_E_DENIED,
          absl::StrCat(what, ": the peer's identity key changed and is not approved"));
    case SG_ERR_INVALID_VERSION:
    case SG_ERR_LEGACY_MESSAGE:
      return absl::InvalidArgumentError(absl::StrCat(what, ": unsupported message version"));
    case SG_ERR_STALE_KEY_EXCHANGE:
      return MakeStatus(KARS_E_PRECONDITION, absl::StrCat(what, ": stale key exchange"));
    default:
      if (code <= kStoreIoError) return IoError(absl::StrCat(what, ": the agent store failed"));
      return absl::InternalError(absl::StrCat(what, ": libsignal error ", code));
  }
}

absl::StatusOr<std::string> SerializeKey(const ec_public_key* key) {
  signal_buffer* raw = nullptr;
  int rc = ec_public_key_serialize(&raw, key);
  if (rc != 0) return SignalError("serialize public key", rc);
  SignalBuffer buf(raw);
  return std::string(View(buf.get()));
}

struct SignalEnvCallbacks {
  static SignalEnv& Env(void* ud) { return *static_cast<SignalEnv*>(ud); }
  static LocalStore& Store(void* ud) { return *Env(ud).store_; }

  static int Load(LocalStore& store, Ns ns, const std::string& key, signal_buffer** out) {
    const std::string* v = store.Find(ns, key);
    if (v == nullptr) return 0;
    *out = signal_buffer_create(reinterpret_cast<const uint8_t*>(v->data()), v->size());
    return *out == nullptr ? SG_ERR_NOMEM : 1;
  }
  static int Put(LocalStore& store, Ns ns, const std::string& key, const uint8_t* d, size_t n) {
    return store.Put(ns, key, absl::string_view(reinterpret_cast<const char*>(d), n)).ok()
               ? SG_SUCCESS
               : kStoreIoError;
  }
  static int Del(LocalStore& store, Ns ns, const std::string& key) {
    auto r = store.Delete(ns, key);
    if (!r.ok()) return kStoreIoError;
    return *r ? 1 : 0;
  }

  // Sessions.
  static int LoadSession(signal_buffer** record, signal_buffer** user_record,
                         const signal_protocol_address* a, void* ud) {
    (void)user_record;
    return Load(Store(ud), Ns::kSession, AddressKey(a), record);
  }
  static int SubDeviceSessions(signal_int_list** sessions, const char* name, size_t len, void* ud) {
    signal_int_list* list = signal_int_list_alloc();
    if (list == nullptr) return SG_ERR_NOMEM;
    std::string prefix = PeerPrefix(absl::string_view(name, len));
    for (const auto& [k, v] : Store(ud).List(Ns::kSession)) {
      if (k.size() == prefix.size() + 4 && k.compare(0, prefix.size(), prefix) == 0) {
        int device = static_cast<int>(DecodeU32(absl::string_view(k).substr(prefix.size())));
        if (device != 1) signal_int_list_push_back(list, device);
      }
    }
    *sessions = list;
    return static_cast<int>(signal_int_list_size(list));
  }
  static int StoreSession(const signal_protocol_address* a, uint8_t* rec, size_t len, uint8_t*,
                          size_t, void* ud) {
    return Put(Store(ud), Ns::kSession, AddressKey(a), rec, len);
  }
  static int ContainsSession(const signal_protocol_address* a, void* ud) {
    return Store(ud).Contains(Ns::kSession, AddressKey(a)) ? 1 : 0;
  }
  static int DeleteSession(const signal_protocol_address* a, void* ud) {
    return Del(Store(ud), Ns::kSession, AddressKey(a));
  }
  static int DeleteAllSessions(const char* name, size_t len, void* ud) {
    std::string prefix = PeerPrefix(absl::string_view(name, len));
    int n = 0;
    for (const auto& [k, v] : Store(ud).List(Ns::kSession)) {
      if (k.compare(0, prefix.size(), prefix) == 0) {
        int rc = Del(Store(ud), Ns::kSession, k);
        if (rc < 0) return rc;
        n += rc;
      }
    }
    return n;
  }

  // One-time and signed prekeys.
  static int LoadPreKey(signal_buffer** rec, uint32_t id, void* ud) {
    int rc = Load(Store(ud), Ns::kPreKey, EncodeU32(id), rec);
    return rc == 1 ? SG_SUCCESS : rc == 0 ? SG_ERR_INVALID_KEY_ID : rc;
  }
  static int StorePreKey(uint32_t id, uint8_t* rec, size_t len, void* ud) {
    return Put(Store(ud), Ns::kPreKey, EncodeU32(id), rec, len);
  }
  static int ContainsPreKey(uint32_t id, void* ud) {
    return Store(ud).Contains(Ns::kPreKey, EncodeU32(id)) ? 1 : 0;
  }
  static int RemovePreKey(uint32_t id, void* ud) {
    int rc = Del(Store(ud), Ns::kPreKey, EncodeU32(id));
    return rc < 0 ? rc : SG_SUCCESS;
  }
  static int LoadSignedPreKey(signal_buffer** rec, uint32_t id, void* ud) {
    int rc = Load(Store(ud), Ns::kSignedPreKey, EncodeU32(id), rec);
    return rc == 1 ? SG_SUCCESS : rc == 0 ? SG_ERR_INVALID_KEY_ID : rc;
  }
  static int StoreSignedPreKey(uint32_t id, uint8_t* rec, size_t len, void* ud) {
    return Put(Store(ud), Ns::kSignedPreKey, EncodeU32(id), rec, len);
  }
  static int ContainsSignedPreKey(uint32_t id, void* ud) {
    return Store(ud).Contains(Ns::kSignedPreKey, EncodeU32(id)) ? 1 : 0;
  }
  static int RemoveSignedPreKey(uint32_t id, void* ud) {
    int rc = Del(Store(ud), Ns::kSignedPreKey, EncodeU32(id));
    return rc < 0 ? rc : SG_SUCCESS;
  }

  // Identities.
  static int GetIdentityKeyPair(signal_buffer** pub, signal_buffer** priv, void* ud) {
    if (Load(Store(ud), Ns::kMeta, kMetaIdentityPublic, pub) != 1) return SG_ERR_INVALID_KEY;
    if (Load(Store(ud), Ns::kMeta, kMetaIdentityPrivate, priv) != 1) {
      signal_buffer_free(*pub);
      *pub = nullptr;
      return SG_ERR_INVALID_KEY;
    }
    return SG_SUCCESS;
  }
  static int GetRegistrationId(void* ud, uint32_t* id) {
    auto v = Store(ud).Get(Ns::kMeta, kMetaRegistrationId);
    if (!v || v->size() != 4) return SG_ERR_UNKNOWN;
    *id = DecodeU32(*v);
    return SG_SUCCESS;
  }
  static int SaveIdentity(const signal_protocol_address* a, uint8_t* key, size_t len, void* ud) {
    std::string peer(a->name, a->name_len);
    if (key == nullptr) return Del(Store(ud), Ns::kIdentity, peer) < 0 ? kStoreIoError : 0;
    return Put(Store(ud), Ns::kIdentity, peer, key, len);
  }
  static int IsTrustedIdentity(const signal_protocol_address* a, uint8_t* key, size_t len,
                               void* ud) {
    std::string peer(a->name, a->name_len);
    absl::string_view presented(reinterpret_cast<const char*>(key), len);
    const std::string* known = Store(ud).Find(Ns::kIdentity, peer);
    if (known == nullptr || *known == presented) return 1;  // trust on first use, then pinning
    if (Env(ud).mode_ == TrustMode::kAcceptAndReport) {
      Env(ud).NoteIdentityChanged();
      return 1;
    }
    if (!Store(ud).Put(Ns::kPendingIdentity, peer, presented).ok()) return kStoreIoError;
    return 0;
  }

  // Sender keys.
  static int StoreSenderKey(const signal_protocol_sender_key_name* n, uint8_t* rec, size_t len,
                            uint8_t*, size_t, void* ud) {
    return Put(Store(ud), Ns::kSenderKey, SenderKeyKey(n), rec, len);
  }
  static int LoadSenderKey(signal_buffer** rec, signal_buffer** user_record,
                           const signal_protocol_sender_key_name* n, void* ud) {
    (void)user_record;
    return Load(Store(ud), Ns::kSenderKey, SenderKeyKey(n), rec);
  }

  static void Lock(void* ud) { Env(ud).lock_.lock(); }
  static void Unlock(void* ud) { Env(ud).lock_.unlock(); }
};

absl::StatusOr<std::unique_ptr<SignalEnv>> SignalEnv::Create(LocalStore* store, TrustMode mode) {
  std::unique_ptr<SignalEnv> env(new SignalEnv());
  env->store_ = store;
  env->mode_ = mode;
  using C = SignalEnvCallbacks;
  void* ud = env.get();
  if (signal_context_create(&env->ctx_, ud) != 0) {
    return absl::ResourceExhaustedError("cannot create signal context");
  }
  signal_context_set_crypto_provider(env->ctx_, &OpenSslCryptoProvider());
  signal_context_set_locking_functions(env->ctx_, C::Lock, C::Unlock);
  if (signal_protocol_store_context_create(&env->stores_, env->ctx_) != 0) {
    return absl::ResourceExhaustedError("cannot create signal store context");
  }
  signal_protocol_session_store sessions = {
      C::LoadSession,   C::SubDeviceSessions, C::StoreSession, C::ContainsSession,
      C::DeleteSession, C::DeleteAllSessions, nullptr,         ud};
  signal_protocol_pre_key_store prekeys = {C::LoadPreKey,   C::StorePreKey, C::ContainsPreKey,
                                           C::RemovePreKey, nullptr,        ud};
  signal_protocol_signed_pre_key_store signed_prekeys = {C::LoadSignedPreKey,
                                                         C::StoreSignedPreKey,
                                                         C::ContainsSignedPreKey,
                                                         C::RemoveSignedPreKey,
                                                         nullptr,
                                                         ud};
  signal_protocol_identity_key_store identities = {C::GetIdentityKeyPair,
                                                   C::GetRegistrationId,
                                                   C::SaveIdentity,
                                                   C::IsTrustedIdentity,
                                                   nullptr,
                                                   ud};
  signal_protocol_sender_key_store sender_keys = {C::StoreSenderKey, C::LoadSenderKey, nullptr, ud};
  signal_protocol_store_context_set_session_store(env->stores_, &sessions);
  signal_protocol_store_context_set_pre_key_store(env->stores_, &prekeys);
  signal_protocol_store_context_set_signed_pre_key_store(env->stores_, &signed_prekeys);
  signal_protocol_store_context_set_identity_key_store(env->stores_, &identities);
  signal_protocol_store_context_set_sender_key_store(env->stores_, &sender_keys);
  return env;
}

SignalEnv::~SignalEnv() {
  if (stores_ != nullptr) signal_protocol_store_context_destroy(stores_);
  if (ctx_ != nullptr) signal_context_destroy(ctx_);
}

}  // namespace kars::mesh
