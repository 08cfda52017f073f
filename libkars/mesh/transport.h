// What an agent needs from a relay. RelayClient speaks gRPC to a kars-relay; LoopbackHub is a
// complete in-process relay (directory and mailboxes in memory) for tests and benchmarks that
// measure the protocol rather than the network.
#ifndef KARS_MESH_TRANSPORT_H_
#define KARS_MESH_TRANSPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kars/v1/mesh.pb.h"

namespace kars::mesh {

// Thread-safety: implementations are thread-safe.
class Transport {
 public:
  virtual ~Transport() = default;
  // Publishes identity, signed prekey and new one-time prekeys; returns how many one-time
  // prekeys the relay now holds.
  virtual absl::StatusOr<uint32_t> PublishKeys(const kars::v1::mesh::PublishKeysRequest& req) = 0;
  // A bundle of `mailbox`, consuming one one-time prekey. KARS_E_NOT_FOUND for an unknown one.
  virtual absl::StatusOr<kars::v1::mesh::PreKeyBundle> FetchBundle(absl::string_view mailbox) = 0;
  // Stores an envelope durably; true when it was a duplicate of one already held.
  virtual absl::StatusOr<bool> Send(const kars::v1::mesh::Envelope& envelope) = 0;
  // Stores one envelope for its recipient and every one of `also_to` (group fan-out), all or none.
  virtual absl::StatusOr<bool> Fanout(const kars::v1::mesh::Envelope& envelope,
                                      const std::vector<std::string>& also_to) = 0;
  // Stores several envelopes (each a SendRequest: an envelope and its fan-out), in order; one
  // outcome per request, as Fanout's. The relay client sends them on one stream; this default
  // sends them one by one.
  virtual std::vector<absl::StatusOr<bool>> SendMany(
      const std::vector<kars::v1::mesh::SendRequest>& requests) {
    std::vector<absl::StatusOr<bool>> out;
    out.reserve(requests.size());
    for (const auto& r : requests) {
      out.push_back(Fanout(r.envelope(), std::vector<std::string>(r.also_to().begin(),
                                                                   r.also_to().end())));
    }
    return out;
  }
  // Pending envelopes (at most `max`); waits up to `wait` for a live one when none is pending.
  virtual absl::StatusOr<std::vector<kars::v1::mesh::ReceiveResponse>> Receive(absl::Duration wait,
                                                                               size_t max) = 0;
  // Deletes received envelopes by sequence number.
  virtual absl::Status Ack(const std::vector<uint64_t>& seqs) = 0;
};

}  // namespace kars::mesh

#endif  // KARS_MESH_TRANSPORT_H_
