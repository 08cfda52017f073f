// Encrypt+decrypt of 1 KiB on an established session: the bare library, our session layer, the
// whole agent path (payload, padding, envelope, inbox, duplicate set) over an in-process hub,
// and OpenSSL AES-256-CBC + HMAC-SHA256 as the ceiling. Plus X3DH session setups per second.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <signal/protocol.h>
#include <signal/session_cipher.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "libkars/mesh/agent.h"
#include "libkars/mesh/keys.h"
#include "libkars/mesh/loopback.h"
#include "libkars/mesh/payload.h"
#include "libkars/mesh/session.h"

namespace kars::mesh {
namespace {

namespace pb = kars::v1::mesh;

const std::string& Kib() {
  static const std::string* m = new std::string(1024, 'm');
  return *m;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "bench setup failed: %s\n", what);
    std::abort();
  }
}

// Two parties with in-memory stores and a session established both ways.
struct Pair {
  std::unique_ptr<LocalStore> store_a, store_b;
  std::unique_ptr<SignalEnv> a, b;

  Pair() {
    store_a = std::move(*LocalStore::Open(""));
    store_b = std::move(*LocalStore::Open(""));
    a = std::move(*SignalEnv::Create(store_a.get(), TrustMode::kBlockUntilApproved));
    b = std::move(*SignalEnv::Create(store_b.get(), TrustMode::kBlockUntilApproved));
    Check(EnsureIdentity(*a, "a", 0).ok() && EnsureIdentity(*b, "b", 0).ok(), "identities");
    Handshake();
  }
  pb::PreKeyBundle BundleOfB() {
    auto keys = PublicKeys(*b);
    auto pre = GeneratePreKeys(*b, 1);
    Check(keys.ok() && pre.ok(), "bundle");
    pb::PreKeyBundle bundle;
    bundle.set_mailbox("b");
    bundle.set_registration_id(keys->registration_id());
    bundle.set_identity_key(keys->identity_key());
    bundle.set_signed_prekey_id(keys->signed_prekey_id());
    bundle.set_signed_prekey(keys->signed_prekey());
    bundle.set_signed_prekey_signature(keys->signed_prekey_signature());
    *bundle.mutable_one_time_prekey() = (*pre)[0];
    return bundle;
  }
  void Handshake() {
    Check(ProcessBundle(*a, BundleOfB()).ok(), "x3dh");
    auto first = Seal(*a, "b", "hello");
    Check(first.ok() && Open(*b, "a", first->type, first->ciphertext).ok(), "first message");
    auto reply = Seal(*b, "a", "hello");
    Check(reply.ok() && Open(*a, "b", reply->type, reply->ciphertext).ok(), "reply");
  }
};

// The library alone: session_cipher_encrypt / decrypt_signal_message on the same stores.
void BareOnce(SignalEnv& from, const char* from_name, SignalEnv& to, const char* to_name) {
  signal_protocol_address to_addr = {to_name, 1, 1}, from_addr = {from_name, 1, 1};
  session_cipher* enc = nullptr;
  session_cipher* dec = nullptr;
  session_cipher_create(&enc, from.stores(), &to_addr, from.ctx());
  session_cipher_create(&dec, to.stores(), &from_addr, to.ctx());
  ciphertext_message* msg = nullptr;
  Check(session_cipher_encrypt(enc, reinterpret_cast<const uint8_t*>(Kib().data()), Kib().size(),
                               &msg) == 0,
        "bare encrypt");
  signal_buffer* ser = ciphertext_message_get_serialized(msg);
  signal_message* sm = nullptr;
  Check(signal_message_deserialize(&sm, signal_buffer_data(ser), signal_buffer_len(ser),
                                   to.ctx()) == 0,
        "bare parse");
  signal_buffer* plain = nullptr;
  Check(session_cipher_decrypt_signal_message(dec, sm, nullptr, &plain) == 0, "bare decrypt");
  benchmark::DoNotOptimize(plain);
  signal_buffer_free(plain);
  SIGNAL_UNREF(sm);
  SIGNAL_UNREF(msg);
  session_cipher_free(enc);
  session_cipher_free(dec);
}

void BM_Bare_OneWay(benchmark::State& state) {
  Pair p;
  for (auto _ : state) BareOnce(*p.a, "a", *p.b, "b");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Bare_OneWay);

void BM_Bare_Conversational(benchmark::State& state) {
  Pair p;
  bool turn = false;
  for (auto _ : state) {
    if (turn)
      BareOnce(*p.a, "a", *p.b, "b");
    else
      BareOnce(*p.b, "b", *p.a, "a");
    turn = !turn;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Bare_Conversational);

// Our session layer: padding + Seal/Open.
void SessionOnce(SignalEnv& from, const char* to_name, SignalEnv& to, const char* from_name) {
  pb::Payload payload;
  payload.set_message_id(std::string(16, 'i'));
  payload.set_body(Kib());
  auto sealed = Seal(from, to_name, PadPayload(payload));
  auto plain = Open(to, from_name, sealed->type, sealed->ciphertext);
  auto back = UnpadPayload(*plain);
  Check(back.ok(), "session round trip");
  benchmark::DoNotOptimize(back);
}

void BM_Session_OneWay(benchmark::State& state) {
  Pair p;
  for (auto _ : state) SessionOnce(*p.a, "b", *p.b, "a");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Session_OneWay);

void BM_Session_Conversational(benchmark::State& state) {
  Pair p;
  bool turn = false;
  for (auto _ : state) {
    if (turn)
      SessionOnce(*p.a, "b", *p.b, "a");
    else
      SessionOnce(*p.b, "a", *p.a, "b");
    turn = !turn;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Session_Conversational);

// The whole agent path over the in-process hub (no network, memory stores).
struct AgentPair {
  LoopbackHub hub;
  std::unique_ptr<Agent> a, b;
  AgentPair() {
    a = std::move(*Agent::Open("", "a", AgentOptions()));
    b = std::move(*Agent::Open("", "b", AgentOptions()));
    Check(a->Attach(hub.Connect("a")).ok() && b->Attach(hub.Connect("b")).ok(), "attach");
    Once(*a, "b", *b);
    Once(*b, "a", *a);
  }
  static void Once(Agent& from, const char* to_name, Agent& to) {
    Check(from.Send(to_name, Kib()).ok(), "send");
    size_t got = 0;
    auto n = to.Receive(absl::ZeroDuration(), [&](const pb::AgentEvent& ev) {
      got += ev.kind() == pb::AgentEvent::KIND_MESSAGE;
      return 0;
    });
    Check(n.ok() && got == 1, "receive");
  }
};

void BM_Agent_OneWay(benchmark::State& state) {
  AgentPair p;
  for (auto _ : state) AgentPair::Once(*p.a, "b", *p.b);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Agent_OneWay);

void BM_Agent_Conversational(benchmark::State& state) {
  AgentPair p;
  bool turn = false;
  for (auto _ : state) {
    if (turn)
      AgentPair::Once(*p.a, "b", *p.b);
    else
      AgentPair::Once(*p.b, "a", *p.a);
    turn = !turn;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Agent_Conversational);

// Ceiling: AES-256-CBC + HMAC-SHA256 encrypt-then-MAC and verify-then-decrypt, same bytes.
void BM_OpenSsl_AesCbcHmac(benchmark::State& state) {
  unsigned char key[32], mac_key[32], iv[16];
  RAND_bytes(key, 32);
  RAND_bytes(mac_key, 32);
  RAND_bytes(iv, 16);
  EVP_CIPHER* aes = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                         OSSL_PARAM_construct_end()};
  std::string ct(Kib().size() + 32, '\0'), pt(Kib().size() + 32, '\0');
  unsigned char tag[32], tag2[32];
  for (auto _ : state) {
    int l1 = 0, l2 = 0;
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex2(c, aes, key, iv, nullptr);
    EVP_EncryptUpdate(c, reinterpret_cast<unsigned char*>(ct.data()), &l1,
                      reinterpret_cast<const unsigned char*>(Kib().data()),
                      static_cast<int>(Kib().size()));
    EVP_EncryptFinal_ex(c, reinterpret_cast<unsigned char*>(ct.data()) + l1, &l2);
    EVP_CIPHER_CTX_free(c);
    size_t n = static_cast<size_t>(l1 + l2), tl = 0;
    EVP_MAC_CTX* m = EVP_MAC_CTX_new(hmac);
    EVP_MAC_init(m, mac_key, 32, params);
    EVP_MAC_update(m, reinterpret_cast<unsigned char*>(ct.data()), n);
    EVP_MAC_final(m, tag, &tl, sizeof tag);
    EVP_MAC_CTX_free(m);
    // Receiver: verify, then decrypt.
    m = EVP_MAC_CTX_new(hmac);
    EVP_MAC_init(m, mac_key, 32, params);
    EVP_MAC_update(m, reinterpret_cast<unsigned char*>(ct.data()), n);
    EVP_MAC_final(m, tag2, &tl, sizeof tag2);
    EVP_MAC_CTX_free(m);
    Check(CRYPTO_memcmp(tag, tag2, 32) == 0, "mac");
    c = EVP_CIPHER_CTX_new();
    EVP_DecryptInit_ex2(c, aes, key, iv, nullptr);
    EVP_DecryptUpdate(c, reinterpret_cast<unsigned char*>(pt.data()), &l1,
                      reinterpret_cast<unsigned char*>(ct.data()), static_cast<int>(n));
    EVP_DecryptFinal_ex(c, reinterpret_cast<unsigned char*>(pt.data()) + l1, &l2);
    EVP_CIPHER_CTX_free(c);
    benchmark::DoNotOptimize(pt.data());
  }
  EVP_CIPHER_free(aes);
  EVP_MAC_free(hmac);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OpenSsl_AesCbcHmac);

// X3DH: process a fresh bundle, send the first (prekey) message, decrypt it on the other side.
void BM_SessionSetup(benchmark::State& state) {
  Pair p;
  for (auto _ : state) {
    state.PauseTiming();
    pb::PreKeyBundle bundle = p.BundleOfB();
    state.ResumeTiming();
    Check(ProcessBundle(*p.a, bundle).ok(), "x3dh");
    auto first = Seal(*p.a, "b", "hello");
    Check(first.ok() && first->type == pb::CIPHERTEXT_TYPE_PREKEY, "prekey message");
    Check(Open(*p.b, "a", first->type, first->ciphertext).ok(), "first decrypt");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SessionSetup);

}  // namespace
}  // namespace kars::mesh
BENCHMARK_MAIN();
