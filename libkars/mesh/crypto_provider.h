// The crypto provider libsignal-protocol-c calls for every primitive, implemented over OpenSSL 3.
// Algorithms are fetched once per process (EVP_*_fetch is a lock plus a lookup, too slow to repeat
// per message); HMAC and cipher contexts are pooled per thread and re-keyed on each use.
#ifndef KARS_MESH_CRYPTO_PROVIDER_H_
#define KARS_MESH_CRYPTO_PROVIDER_H_

#include <signal/signal_protocol.h>

namespace kars::mesh {

// A provider whose callbacks are thread-safe (they share only immutable fetched algorithms).
// Returns a reference to one process-wide instance.
const signal_crypto_provider& OpenSslCryptoProvider();

}  // namespace kars::mesh

#endif  // KARS_MESH_CRYPTO_PROVIDER_H_
