// A Transport over callbacks a C host supplies (kars_mesh_transport_callbacks): the directory and
// the sending half call out to the host; the receiving half is a queue the host pushes into.
//
// Thread-safety: thread-safe. Push may run concurrently with everything else.
#ifndef KARS_CAPI_MESH_TRANSPORT_H_
#define KARS_CAPI_MESH_TRANSPORT_H_

#include <map>
#include <string>
#include <vector>

#include "kars/mesh.h"
#include "libkars/base/sync.h"
#include "libkars/mesh/transport.h"

namespace kars::capi {

class HostTransport : public kars::mesh::Transport {
 public:
  // `mailbox` is the agent's name; `userdata_free` runs on destruction.
  HostTransport(std::string mailbox, const kars_mesh_transport_callbacks& callbacks, void* userdata,
                void (*userdata_free)(void*));
  ~HostTransport() override;
  HostTransport(const HostTransport&) = delete;
  HostTransport& operator=(const HostTransport&) = delete;

  // Queues an envelope the host received; KARS_E_INVALID_ARGUMENT when it does not parse.
  absl::Status Push(uint64_t seq, absl::string_view envelope);

  absl::StatusOr<uint32_t> PublishKeys(const kars::v1::mesh::PublishKeysRequest& req) override;
  absl::StatusOr<kars::v1::mesh::PreKeyBundle> FetchBundle(absl::string_view mailbox) override;
  absl::StatusOr<bool> Send(const kars::v1::mesh::Envelope& envelope) override;
  absl::StatusOr<bool> Fanout(const kars::v1::mesh::Envelope& envelope,
                              const std::vector<std::string>& also_to) override;
  absl::StatusOr<std::vector<kars::v1::mesh::ReceiveResponse>> Receive(absl::Duration wait,
                                                                       size_t max) override;
  absl::Status Ack(const std::vector<uint64_t>& seqs) override;

 private:
  const std::string mailbox_;
  const kars_mesh_transport_callbacks callbacks_;
  void* const userdata_;
  void (*const userdata_free_)(void*);
  kars::Mutex mu_;
  kars::CondVar pushed_;
  std::map<uint64_t, kars::v1::mesh::Envelope> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kars::capi

#endif  // KARS_CAPI_MESH_TRANSPORT_H_
