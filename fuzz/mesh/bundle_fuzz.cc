// Untrusted prekey bundle bytes from the relay: parsed and handed to X3DH. Only a bundle signed
// by its identity key may produce a session.
#include <cstdint>
#include <cstdlib>

#include "libkars/mesh/keys.h"
#include "libkars/mesh/local_store.h"
#include "libkars/mesh/session.h"

namespace {

kars::mesh::SignalEnv& Env() {
  static kars::mesh::SignalEnv* env = [] {
    auto store = kars::mesh::LocalStore::Open("");
    if (!store.ok()) std::abort();
    auto env =
        kars::mesh::SignalEnv::Create(store->release(), kars::mesh::TrustMode::kBlockUntilApproved);
    if (!env.ok() || !kars::mesh::EnsureIdentity(**env, "alice", 0).ok()) std::abort();
    return env->release();
  }();
  return *env;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kars::v1::mesh::PreKeyBundle bundle;
  if (!bundle.ParseFromArray(data, static_cast<int>(size))) return 0;
  bundle.set_mailbox("peer");
  (void)kars::mesh::ProcessBundle(Env(), bundle);
  return 0;
}
