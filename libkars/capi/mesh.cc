// extern "C" entry points of kars/mesh.h: translation only; the logic lives in libkars/mesh/.
#include "kars/mesh.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"
#include "libkars/capi/buf.h"
#include "libkars/capi/guard.h"
#include "libkars/capi/mesh_transport.h"
#include "libkars/mesh/agent.h"

struct kars_mesh_options {
  kars::mesh::AgentOptions options;
};

struct kars_mesh_agent {
  std::unique_ptr<kars::mesh::Agent> agent;
  // The host transport in use, if any, for kars_mesh_agent_push. Read under the agent's own
  // serialisation of attach (attach is not concurrent with push by contract).
  std::shared_ptr<kars::capi::HostTransport> host;
};

struct kars_mesh_event {
  const kars::v1::mesh::AgentEvent* ev;
};

namespace {

using kars::capi::Guard;

const uint8_t* Bytes(const std::string& s, size_t* len) {
  if (len != nullptr) *len = s.size();
  return reinterpret_cast<const uint8_t*>(s.data());
}

}  // namespace

extern "C" {

kars_status kars_mesh_options_new(kars_mesh_options** out, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    *out = new kars_mesh_options();
    return absl::OkStatus();
  });
}

void kars_mesh_options_free(kars_mesh_options* options) { delete options; }

kars_status kars_mesh_options_set_trust_mode(kars_mesh_options* options, kars_mesh_trust_mode mode,
                                             kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    // Read as an int: a C caller may pass any value, and loading an out-of-range enum in C++ is
    // undefined behaviour.
    int value = 0;
    static_assert(sizeof value == sizeof mode);
    std::memcpy(&value, &mode, sizeof value);
    switch (value) {
      case KARS_MESH_TRUST_BLOCK:
        options->options.trust = kars::mesh::TrustMode::kBlockUntilApproved;
        return absl::OkStatus();
      case KARS_MESH_TRUST_ACCEPT_AND_REPORT:
        options->options.trust = kars::mesh::TrustMode::kAcceptAndReport;
        return absl::OkStatus();
    }
    return absl::InvalidArgumentError(absl::StrCat("unknown trust mode ", value));
  });
}

kars_status kars_mesh_options_set_prekeys(kars_mesh_options* options, uint32_t pool,
                                          uint32_t low_water, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    if (low_water < 1 || low_water > pool || pool > 10000) {
      return absl::InvalidArgumentError("prekeys: need 1 <= low_water <= pool <= 10000");
    }
    options->options.keys.prekey_pool = pool;
    options->options.keys.prekey_low_water = low_water;
    return absl::OkStatus();
  });
}

kars_status kars_mesh_options_set_signed_prekey_rotation(kars_mesh_options* options,
                                                         int64_t rotate_seconds,
                                                         int64_t keep_seconds, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    if (rotate_seconds < 0 || keep_seconds < 0) {
      return absl::InvalidArgumentError("signed prekey rotation: seconds must be >= 0");
    }
    options->options.keys.signed_prekey_rotate_s = rotate_seconds;
    options->options.keys.signed_prekey_keep_s = keep_seconds;
    return absl::OkStatus();
  });
}

kars_status kars_mesh_options_set_relay_timeout_ms(kars_mesh_options* options, uint32_t timeout_ms,
                                                   kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    if (timeout_ms < 1 || timeout_ms > 600000) {
      return absl::InvalidArgumentError("relay timeout must be 1 to 600000 ms");
    }
    options->options.rpc_timeout = absl::Milliseconds(timeout_ms);
    return absl::OkStatus();
  });
}

kars_status kars_mesh_options_set_relay_tls(kars_mesh_options* options, const char* ca_pem,
                                            size_t ca_len, const char* cert_pem, size_t cert_len,
                                            const char* key_pem, size_t key_len,
                                            const char* server_name, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    if ((ca_pem == nullptr && ca_len != 0) || (cert_pem == nullptr && cert_len != 0) ||
        (key_pem == nullptr && key_len != 0)) {
      return absl::InvalidArgumentError("relay TLS: a length was given without its buffer");
    }
    kars::mesh::RelayTls tls;
    tls.enabled = true;
    if (ca_pem != nullptr) tls.root_certs_pem.assign(ca_pem, ca_len);
    if (cert_pem != nullptr) tls.cert_chain_pem.assign(cert_pem, cert_len);
    if (key_pem != nullptr) tls.private_key_pem.assign(key_pem, key_len);
    if (server_name != nullptr) tls.server_name = server_name;
    if (absl::Status s = kars::mesh::ValidateRelayTls(tls); !s.ok()) return s;
    options->options.relay_tls = tls;
    return absl::OkStatus();
  });
}

kars_status kars_mesh_agent_open(kars_mesh_agent** out, const char* dir, const char* name,
                                 const kars_mesh_options* options, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(dir);
    KARS_REQUIRE_ARG(name);
    if (*dir == '\0') return absl::InvalidArgumentError("dir must not be empty");
    kars::mesh::AgentOptions opts =
        options != nullptr ? options->options : kars::mesh::AgentOptions();
    auto agent = kars::mesh::Agent::Open(dir, name, opts);
    if (!agent.ok()) return agent.status();
    *out = new kars_mesh_agent{std::move(*agent), nullptr};
    return absl::OkStatus();
  });
}

void kars_mesh_agent_free(kars_mesh_agent* agent) {
  kars::capi::GuardVoid([&] { delete agent; });
}

kars_status kars_mesh_agent_connect(kars_mesh_agent* agent, const char* relay_address,
                                    kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(agent);
    KARS_REQUIRE_ARG(relay_address);
    if (absl::Status s = agent->agent->ConnectRelay(relay_address); !s.ok()) return s;
    agent->host.reset();
    return absl::OkStatus();
  });
}

kars_status kars_mesh_agent_attach_transport(kars_mesh_agent* agent,
                                             const kars_mesh_transport_callbacks* callbacks,
                                             void* userdata, void (*userdata_free)(void*),
                                             kars_error** err) {
  // Owned from here on, so that every failure below releases it exactly once.
  struct Owned {
    void* data;
    void (*free_fn)(void*);
    ~Owned() {
      if (free_fn != nullptr) free_fn(data);
    }
  } owned{userdata, userdata_free};
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(agent);
    KARS_REQUIRE_ARG(callbacks);
    if (callbacks->publish_keys == nullptr || callbacks->fetch_bundle == nullptr ||
        callbacks->send == nullptr) {
      return absl::InvalidArgumentError(
          "transport callbacks publish_keys, fetch_bundle and send are required");
    }
    auto host = std::make_shared<kars::capi::HostTransport>(agent->agent->name(), *callbacks,
                                                            userdata, userdata_free);
    owned.free_fn = nullptr;  // the transport frees it now
    agent->host = host;
    return agent->agent->Attach(host);
  });
}

kars_status kars_mesh_agent_push(kars_mesh_agent* agent, uint64_t seq, const uint8_t* envelope,
                                 size_t envelope_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(agent);
    KARS_REQUIRE_ARG(envelope);
    std::shared_ptr<kars::capi::HostTransport> host = agent->host;
    if (host == nullptr) {
      return kars::MakeStatus(KARS_E_PRECONDITION, "the agent uses no host-supplied transport");
    }
    return host->Push(seq, absl::string_view(reinterpret_cast<const char*>(envelope),
                                             envelope_len));
  });
}

kars_status kars_mesh_agent_send(kars_buf* message_id, kars_mesh_agent* agent, const char* peer,
                                 const uint8_t* body, size_t body_len, int64_t expires_at_ms,
                                 kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(agent);
    KARS_REQUIRE_ARG(peer);
    if (body == nullptr && body_len != 0)
      return absl::InvalidArgumentError("body must not be NULL");
    auto id = agent->agent->Send(
        peer, absl::string_view(reinterpret_cast<const char*>(body), body_len), expires_at_ms);
    if (!id.ok()) return id.status();
    if (message_id != nullptr) kars::capi::FillBuf(message_id, *id);
    return absl::OkStatus();
  });
}

kars_mesh_event_kind kars_mesh_event_get_kind(const kars_mesh_event* event) {
  return static_cast<kars_mesh_event_kind>(event->ev->kind());
}
const char* kars_mesh_event_get_peer(const kars_mesh_event* event) {
  return event->ev->peer().c_str();
}
const uint8_t* kars_mesh_event_get_message_id(const kars_mesh_event* event, size_t* len) {
  return Bytes(event->ev->message_id(), len);
}
const uint8_t* kars_mesh_event_get_body(const kars_mesh_event* event, size_t* len) {
  return Bytes(event->ev->body(), len);
}
const uint8_t* kars_mesh_event_get_identity_key(const kars_mesh_event* event, size_t* len) {
  return Bytes(event->ev->identity_key(), len);
}
int kars_mesh_event_identity_changed(const kars_mesh_event* event) {
  return event->ev->identity_changed() ? 1 : 0;
}
kars_status kars_mesh_event_get_status(const kars_mesh_event* event) {
  return static_cast<kars_status>(event->ev->status());
}
const char* kars_mesh_event_get_detail(const kars_mesh_event* event) {
  return event->ev->detail().c_str();
}
int64_t kars_mesh_event_get_sent_at_ms(const kars_mesh_event* event) {
  return event->ev->sent_at_ms();
}

const char* kars_mesh_event_get_group(const kars_mesh_event* event) {
  return event->ev->group_id().c_str();
}

kars_status kars_mesh_agent_group_create(kars_mesh_agent* agent, const char* group,
                                         const char* const* members, size_t n_members,
                                         kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(agent);
    KARS_REQUIRE_ARG(group);
    if (members == nullptr && n_members != 0) {
      return absl::InvalidArgumentError("members must not be NULL");
    }
    std::vector<std::string> list;
    for (size_t i = 0; i < n_members; ++i) {
      if (members[i] == nullptr) return absl::InvalidArgumentError("a member name is NULL");
      list.emplace_back(members[i]);
    }
    return agent->agent->CreateGroup(group, list);
  });
}

kars_status kars_mesh_agent_group_add(kars_mesh_agent* agent, const char* group, const char* member,
                                      kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(agent);
    KARS_REQUIRE_ARG(group);
    KARS_REQUIRE_ARG(member);
    return agent->agent->AddGroupMember(group, member);
  });
}

kars_status kars_mesh_agent_group_remove(kars_mesh_agent* agent, const char* group,
                                         const char* member, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(agent);
    KARS_REQUIRE_ARG(group);
    KARS_REQUIRE_ARG(member);
    return agent->agent->RemoveGroupMember(group, member);
  });
}

kars_status kars_mesh_agent_group_send(kars_buf* message_id, kars_mesh_agent* agent,
                                       const char* group, const uint8_t* body, size_t body_len,
                                       kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(agent);
    KARS_REQUIRE_ARG(group);
    if (body == nullptr && body_len != 0)
      return absl::InvalidArgumentError("body must not be NULL");
    auto id = agent->agent->SendGroup(
        group, absl::string_view(reinterpret_cast<const char*>(body), body_len));
    if (!id.ok()) return id.status();
    if (message_id != nullptr) kars::capi::FillBuf(message_id, *id);
    return absl::OkStatus();
  });
}

kars_status kars_mesh_agent_receive(size_t* delivered, kars_mesh_agent* agent, uint32_t wait_ms,
                                    kars_mesh_event_cb callback, void* userdata, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(agent);
    KARS_REQUIRE_ARG(callback);
    auto n = agent->agent->Receive(absl::Milliseconds(wait_ms),
                                   [&](const kars::v1::mesh::AgentEvent& ev) {
                                     kars_mesh_event e{&ev};
                                     return callback(&e, userdata);
                                   });
    if (!n.ok()) return n.status();
    if (delivered != nullptr) *delivered = *n;
    return absl::OkStatus();
  });
}

kars_status kars_mesh_agent_approve_identity(kars_mesh_agent* agent, const char* peer,
                                             kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(agent);
    KARS_REQUIRE_ARG(peer);
    return agent->agent->ApproveIdentity(peer);
  });
}

kars_status kars_mesh_agent_reject_identity(kars_mesh_agent* agent, const char* peer,
                                            kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(agent);
    KARS_REQUIRE_ARG(peer);
    return agent->agent->RejectIdentity(peer);
  });
}

kars_status kars_mesh_agent_set_identity_callback(kars_mesh_agent* agent,
                                                  kars_mesh_identity_cb callback, void* userdata,
                                                  void (*userdata_free)(void*), kars_error** err) {
  // Shared by every copy of the decider; frees userdata when the last copy goes (on replacement
  // once no review still runs with it, or when the agent is freed).
  std::shared_ptr<void> data(userdata, [userdata_free](void* p) {
    if (userdata_free != nullptr) userdata_free(p);
  });
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(agent);
    if (callback == nullptr) {
      agent->agent->SetIdentityDecider(nullptr);
      return absl::OkStatus();
    }
    agent->agent->SetIdentityDecider(
        [callback, data](const kars::mesh::IdentityChange& c)
            -> absl::StatusOr<kars::mesh::IdentityDecision> {
          kars_mesh_identity_decision decision = KARS_MESH_IDENTITY_DEFER;
          int rc = callback(&decision, c.peer.c_str(),
                            reinterpret_cast<const uint8_t*>(c.old_key.data()), c.old_key.size(),
                            reinterpret_cast<const uint8_t*>(c.new_key.data()), c.new_key.size(),
                            c.safety_number.c_str(), data.get());
          if (rc != 0) {
            return kars::CallbackError(absl::StrCat("identity callback returned ", rc, " for '",
                                                    c.peer, "'; the change stays pending"));
          }
          int value = 0;
          std::memcpy(&value, &decision, sizeof value);
          switch (value) {
            case KARS_MESH_IDENTITY_DEFER:
              return kars::mesh::IdentityDecision::kDefer;
            case KARS_MESH_IDENTITY_APPROVE:
              return kars::mesh::IdentityDecision::kApprove;
            case KARS_MESH_IDENTITY_REJECT:
              return kars::mesh::IdentityDecision::kReject;
          }
          return kars::CallbackError(
              absl::StrCat("identity callback set unknown decision ", value));
        });
    return absl::OkStatus();
  });
}

kars_status kars_mesh_agent_safety_number(kars_buf* out, kars_mesh_agent* agent, const char* peer,
                                          int pending, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(agent);
    KARS_REQUIRE_ARG(peer);
    auto sn = agent->agent->SafetyNumber(peer, pending != 0);
    if (!sn.ok()) return sn.status();
    kars::capi::FillBuf(out, *sn);
    return absl::OkStatus();
  });
}

kars_status kars_mesh_agent_identity_key(kars_buf* out, kars_mesh_agent* agent, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(agent);
    auto key = agent->agent->IdentityKey();
    if (!key.ok()) return key.status();
    kars::capi::FillBuf(out, *key);
    return absl::OkStatus();
  });
}

}  // extern "C"
