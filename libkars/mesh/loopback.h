// A complete relay inside the process: a directory of bundles (one one-time prekey consumed per
// fetch) and per-mailbox queues with sequence numbers, in memory. Tests and benchmarks use it to
// exercise the protocol without a network; it follows the relay's semantics except durability.
//
// Thread-safety: thread-safe.
#ifndef KARS_MESH_LOOPBACK_H_
#define KARS_MESH_LOOPBACK_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "libkars/base/sync.h"
#include "libkars/mesh/transport.h"

namespace kars::mesh {

class LoopbackHub {
 public:
  // A transport acting as `mailbox`.
  std::unique_ptr<Transport> Connect(const std::string& mailbox);

  // Every envelope ever sent, in order (what a network capture of the relay would show).
  std::vector<kars::v1::mesh::Envelope> Captured() const;
  // Puts an envelope straight into a mailbox (replays, tampering, reordering in tests).
  void Inject(const kars::v1::mesh::Envelope& envelope);
  // Removes and returns everything pending for `mailbox` without delivering it.
  std::vector<kars::v1::mesh::Envelope> Drain(const std::string& mailbox);

 private:
  friend class LoopbackTransport;
  struct Mailbox {
    kars::v1::mesh::PublishKeysRequest keys;
    bool has_keys = false;
    std::map<uint64_t, kars::v1::mesh::Envelope> pending;
  };
  mutable kars::Mutex mu_;
  kars::CondVar arrived_;  // signalled whenever an envelope enters any mailbox
  std::map<std::string, Mailbox> boxes_ ABSL_GUARDED_BY(mu_);
  std::vector<kars::v1::mesh::Envelope> captured_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace kars::mesh

#endif  // KARS_MESH_LOOPBACK_H_
