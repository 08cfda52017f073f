#include "libkars/mesh/keys.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <signal/fingerprint.h>
#include <signal/key_helper.h>
#include <signal/session_builder.h>
#include <signal/session_pre_key.h>

#include "absl/strings/str_cat.h"
#include "libkars/base/openssl.h"
#include "libkars/base/status.h"
#include "libkars/mesh/store_keys.h"

namespace kars::mesh {
namespace {

using kars::v1::mesh::OneTimePreKey;
using kars::v1::mesh::PreKeyBundle;
using kars::v1::mesh::PublishKeysRequest;

constexpr int kFingerprintIterations = 5200;

absl::StatusOr<SignalPtr<ratchet_identity_key_pair>> LoadIdentity(SignalEnv& env) {
  ratchet_identity_key_pair* kp = nullptr;
  int rc = signal_protocol_identity_get_key_pair(env.stores(), &kp);
  if (rc != 0) return SignalError("load identity key pair", rc);
  return SignalPtr<ratchet_identity_key_pair>(kp);
}

absl::StatusOr<std::string> Serialize(int (*fn)(signal_buffer**, const void*), const void* obj) {
  signal_buffer* raw = nullptr;
  int rc = fn(&raw, obj);
  if (rc != 0) return SignalError("serialize key", rc);
  SignalBuffer b(raw);
  return std::string(View(b.get()));
}

absl::Status NewSignedPreKey(SignalEnv& env, uint32_t id, int64_t now_s) {
  auto identity = LoadIdentity(env);
  if (!identity.ok()) return identity.status();
  ec_key_pair* pair = nullptr;
  int rc = curve_generate_key_pair(env.ctx(), &pair);
  if (rc != 0) return SignalError("generate signed prekey", rc);
  SignalPtr<ec_key_pair> kp(pair);
  auto pub = SerializeKey(ec_key_pair_get_public(kp.get()));
  if (!pub.ok()) return pub.status();
  signal_buffer* sig = nullptr;
  rc = curve_calculate_signature(env.ctx(), &sig,
                                 ratchet_identity_key_pair_get_private(identity->get()),
                                 reinterpret_cast<const uint8_t*>(pub->data()), pub->size());
  if (rc != 0) return SignalError("sign signed prekey", rc);
  SignalBuffer signature(sig);
  session_signed_pre_key* spk = nullptr;
  rc = session_signed_pre_key_create(&spk, id, static_cast<uint64_t>(now_s) * 1000, kp.get(),
                                     signal_buffer_data(signature.get()),
                                     signal_buffer_len(signature.get()));
  if (rc != 0) return SignalError("create signed prekey", rc);
  SignalPtr<session_signed_pre_key> owned(spk);
  StoreTxn txn(env.store());
  rc = signal_protocol_signed_pre_key_store_key(env.stores(), spk);
  if (rc != 0) return SignalError("store signed prekey", rc);
  if (absl::Status s = env.store().Put(Ns::kMeta, kMetaSignedPreKeyId, EncodeU32(id)); !s.ok()) {
    return s;
  }
  return txn.Commit();
}

absl::StatusOr<SignalPtr<ec_public_key>> DecodeKey(signal_context* ctx, absl::string_view bytes,
                                                   absl::string_view what) {
  ec_public_key* key = nullptr;
  int rc =
      curve_decode_point(&key, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ctx);
  if (rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat("bundle ", what, " is not a valid public key"));
  }
  return SignalPtr<ec_public_key>(key);
}

absl::StatusOr<ossl::PKey> DecodeAuthKey(absl::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::PKey key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
  if (!key) return ossl::Error("load relay authentication key");
  return key;
}

}  // namespace

absl::Status EnsureIdentity(SignalEnv& env, absl::string_view name, int64_t now_s) {
  LocalStore& store = env.store();
  if (auto existing = store.Get(Ns::kMeta, kMetaName)) {
    if (*existing != name) {
      return absl::InvalidArgumentError(
          absl::StrCat("agent store belongs to '", *existing, "', not '", std::string(name), "'"));
    }
    return absl::OkStatus();
  }
  ratchet_identity_key_pair* raw = nullptr;
  int rc = signal_protocol_key_helper_generate_identity_key_pair(&raw, env.ctx());
  if (rc != 0) return SignalError("generate identity key pair", rc);
  SignalPtr<ratchet_identity_key_pair> kp(raw);
  uint32_t registration_id = 0;
  rc = signal_protocol_key_helper_generate_registration_id(&registration_id, 0, env.ctx());
  if (rc != 0) return SignalError("generate registration id", rc);
  auto pub = SerializeKey(ratchet_identity_key_pair_get_public(kp.get()));
  if (!pub.ok()) return pub.status();
  auto priv = Serialize(
      [](signal_buffer** b, const void* k) {
        return ec_private_key_serialize(b, static_cast<const ec_private_key*>(k));
      },
      ratchet_identity_key_pair_get_private(kp.get()));
  if (!priv.ok()) return priv.status();

  ossl::PKeyCtx kctx(EVP_PKEY_CTX_new_from_name(nullptr, "ED25519", nullptr));
  EVP_PKEY* auth_raw = nullptr;
  if (!kctx || EVP_PKEY_keygen_init(kctx.get()) != 1 ||
      EVP_PKEY_keygen(kctx.get(), &auth_raw) != 1) {
    return ossl::Error("generate relay authentication key");
  }
  ossl::PKey auth(auth_raw);
  unsigned char* der = nullptr;
  int der_len = i2d_PrivateKey(auth.get(), &der);
  if (der_len <= 0) return ossl::Error("encode relay authentication key");
  std::string der_str(reinterpret_cast<char*>(der), static_cast<size_t>(der_len));
  OPENSSL_clear_free(der, static_cast<size_t>(der_len));

  StoreTxn txn(store);
  const std::string registration = EncodeU32(registration_id), first_prekey_id = EncodeU32(1);
  const std::pair<const char*, absl::string_view> entries[] = {
      {kMetaIdentityPublic, *pub},          {kMetaIdentityPrivate, *priv},
      {kMetaRegistrationId, registration},  {kMetaAuthKey, der_str},
      {kMetaNextPreKeyId, first_prekey_id}, {kMetaName, name}};
  for (const auto& [k, v] : entries) {
    if (absl::Status s = store.Put(Ns::kMeta, k, v); !s.ok()) return s;
  }
  if (absl::Status s = NewSignedPreKey(env, 1, now_s); !s.ok()) return s;
  return txn.Commit();
}

absl::StatusOr<std::string> IdentityPublicKey(SignalEnv& env) {
  auto v = env.store().Get(Ns::kMeta, kMetaIdentityPublic);
  if (!v) return absl::InternalError("agent store has no identity key");
  return *v;
}

absl::StatusOr<bool> MaintainSignedPreKey(SignalEnv& env, const KeyPolicy& policy, int64_t now_s) {
  auto current = env.store().Get(Ns::kMeta, kMetaSignedPreKeyId);
  if (!current) return absl::InternalError("agent store has no signed prekey");
  uint32_t current_id = DecodeU32(*current);
  bool rotated = false;
  for (const auto& [k, v] : env.store().List(Ns::kSignedPreKey)) {
    session_signed_pre_key* raw = nullptr;
    int rc = session_signed_pre_key_deserialize(&raw, reinterpret_cast<const uint8_t*>(v.data()),
                                                v.size(), env.ctx());
    if (rc != 0) return TamperedError("agent store holds an unreadable signed prekey");
    SignalPtr<session_signed_pre_key> spk(raw);
    int64_t age_s = now_s - static_cast<int64_t>(session_signed_pre_key_get_timestamp(raw) / 1000);
    uint32_t id = DecodeU32(k);
    if (id == current_id && age_s >= policy.signed_prekey_rotate_s) {
      if (absl::Status s = NewSignedPreKey(env, current_id + 1, now_s); !s.ok()) return s;
      rotated = true;
    } else if (id != current_id &&
               age_s >= policy.signed_prekey_rotate_s + policy.signed_prekey_keep_s) {
      // Replaced long enough ago that no honest handshake can still reference it.
      if (auto r = env.store().Delete(Ns::kSignedPreKey, k); !r.ok()) return r.status();
    }
  }
  return rotated;
}

absl::StatusOr<std::vector<OneTimePreKey>> GeneratePreKeys(SignalEnv& env, uint32_t count) {
  std::vector<OneTimePreKey> out;
  if (count == 0) return out;
  auto next = env.store().Get(Ns::kMeta, kMetaNextPreKeyId);
  uint32_t start = next ? DecodeU32(*next) : 1;
  // Ids stay within the library's medium range and never reuse a live id.
  if (start + count > PRE_KEY_MEDIUM_MAX_VALUE) start = 1;
  signal_protocol_key_helper_pre_key_list_node* head = nullptr;
  int rc = signal_protocol_key_helper_generate_pre_keys(&head, start, count, env.ctx());
  if (rc != 0) return SignalError("generate one-time prekeys", rc);
  StoreTxn txn(env.store());
  absl::Status status;
  for (auto* node = head; node != nullptr && status.ok();
       node = signal_protocol_key_helper_key_list_next(node)) {
    session_pre_key* pk = signal_protocol_key_helper_key_list_element(node);
    rc = signal_protocol_pre_key_store_key(env.stores(), pk);
    if (rc != 0) {
      status = SignalError("store one-time prekey", rc);
      break;
    }
    auto pub = SerializeKey(ec_key_pair_get_public(session_pre_key_get_key_pair(pk)));
    if (!pub.ok()) {
      status = pub.status();
      break;
    }
    OneTimePreKey& k = out.emplace_back();
    k.set_id(session_pre_key_get_id(pk));
    k.set_public_key(*pub);
  }
  signal_protocol_key_helper_key_list_free(head);
  if (!status.ok()) return status;
  if (absl::Status s = env.store().Put(Ns::kMeta, kMetaNextPreKeyId, EncodeU32(start + count));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = txn.Commit(); !s.ok()) return s;
  return out;
}

absl::StatusOr<PublishKeysRequest> PublicKeys(SignalEnv& env) {
  PublishKeysRequest req;
  auto pub = IdentityPublicKey(env);
  if (!pub.ok()) return pub.status();
  req.set_identity_key(*pub);
  uint32_t reg = 0;
  int rc = signal_protocol_identity_get_local_registration_id(env.stores(), &reg);
  if (rc != 0) return SignalError("load registration id", rc);
  req.set_registration_id(reg);
  auto current = env.store().Get(Ns::kMeta, kMetaSignedPreKeyId);
  if (!current) return absl::InternalError("agent store has no signed prekey");
  session_signed_pre_key* raw = nullptr;
  rc = signal_protocol_signed_pre_key_load_key(env.stores(), &raw, DecodeU32(*current));
  if (rc != 0) return SignalError("load signed prekey", rc);
  SignalPtr<session_signed_pre_key> spk(raw);
  auto spk_pub = SerializeKey(ec_key_pair_get_public(session_signed_pre_key_get_key_pair(raw)));
  if (!spk_pub.ok()) return spk_pub.status();
  req.set_signed_prekey_id(session_signed_pre_key_get_id(raw));
  req.set_signed_prekey(*spk_pub);
  req.set_signed_prekey_signature(
      std::string(reinterpret_cast<const char*>(session_signed_pre_key_get_signature(raw)),
                  session_signed_pre_key_get_signature_len(raw)));
  return req;
}

absl::Status ProcessBundle(SignalEnv& env, const PreKeyBundle& bundle) {
  auto identity = DecodeKey(env.ctx(), bundle.identity_key(), "identity key");
  if (!identity.ok()) return identity.status();
  auto spk = DecodeKey(env.ctx(), bundle.signed_prekey(), "signed prekey");
  if (!spk.ok()) return spk.status();
  SignalPtr<ec_public_key> otk;
  if (!bundle.one_time_prekey().public_key().empty()) {
    auto k = DecodeKey(env.ctx(), bundle.one_time_prekey().public_key(), "one-time prekey");
    if (!k.ok()) return k.status();
    otk = std::move(*k);
  }
  session_pre_key_bundle* raw = nullptr;
  const std::string& sig = bundle.signed_prekey_signature();
  int rc = session_pre_key_bundle_create(
      &raw, bundle.registration_id(), 1, otk ? bundle.one_time_prekey().id() : 0, otk.get(),
      bundle.signed_prekey_id(), spk->get(), reinterpret_cast<const uint8_t*>(sig.data()),
      sig.size(), identity->get());
  if (rc != 0) return SignalError("read prekey bundle", rc);
  SignalPtr<session_pre_key_bundle> owned(raw);
  signal_protocol_address address = {bundle.mailbox().data(), bundle.mailbox().size(), 1};
  session_builder* builder = nullptr;
  rc = session_builder_create(&builder, env.stores(), &address, env.ctx());
  if (rc != 0) return SignalError("create session builder", rc);
  rc = session_builder_process_pre_key_bundle(builder, raw);
  session_builder_free(builder);
  if (rc == SG_ERR_INVALID_KEY) {
    return TamperedError(absl::StrCat("prekey bundle of '", bundle.mailbox(),
                                      "' has an invalid signed prekey signature"));
  }
  if (rc != 0) return SignalError(absl::StrCat("handshake with '", bundle.mailbox(), "'"), rc);
  return absl::OkStatus();
}

absl::StatusOr<std::string> SafetyNumber(SignalEnv& env, absl::string_view local_name,
                                         absl::string_view peer_name,
                                         absl::string_view peer_identity_key) {
  auto own = IdentityPublicKey(env);
  if (!own.ok()) return own.status();
  auto local_key = DecodeKey(env.ctx(), *own, "identity key");
  if (!local_key.ok()) return local_key.status();
  auto remote_key = DecodeKey(env.ctx(), peer_identity_key, "peer identity key");
  if (!remote_key.ok()) return remote_key.status();
  fingerprint_generator* gen = nullptr;
  int rc = fingerprint_generator_create(&gen, kFingerprintIterations, 1, env.ctx());
  if (rc != 0) return SignalError("create fingerprint generator", rc);
  std::string local(local_name.data(), local_name.size());
  std::string remote(peer_name.data(), peer_name.size());
  fingerprint* fp = nullptr;
  rc = fingerprint_generator_create_for(gen, local.c_str(), local_key->get(), remote.c_str(),
                                        remote_key->get(), &fp);
  fingerprint_generator_free(gen);
  if (rc != 0) return SignalError("compute safety number", rc);
  SignalPtr<fingerprint> owned(fp);
  return std::string(displayable_fingerprint_text(fingerprint_get_displayable(fp)));
}

absl::StatusOr<std::string> AuthPrivateKeyDer(SignalEnv& env) {
  auto der = env.store().Get(Ns::kMeta, kMetaAuthKey);
  if (!der) return absl::InternalError("agent store has no relay authentication key");
  return *der;
}

absl::StatusOr<std::string> AuthPublicKey(SignalEnv& env) {
  auto der = AuthPrivateKeyDer(env);
  if (!der.ok()) return der.status();
  auto key = DecodeAuthKey(*der);
  if (!key.ok()) return key.status();
  unsigned char raw[32];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key->get(), raw, &len) != 1) {
    return ossl::Error("read relay authentication public key");
  }
  return std::string(reinterpret_cast<char*>(raw), len);
}

absl::StatusOr<std::string> AuthSign(absl::string_view private_key_der, absl::string_view message) {
  auto key = DecodeAuthKey(private_key_der);
  if (!key.ok()) return key.status();
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  unsigned char sig[64];
  size_t len = sizeof sig;
  if (!ctx ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key->get(), nullptr) !=
          1 ||
      EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    return ossl::Error("sign relay challenge");
  }
  return std::string(reinterpret_cast<char*>(sig), len);
}

}  // namespace kars::mesh
