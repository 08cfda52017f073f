// `kars mesh`: an agent on the mesh from the command line, over the public C ABI (kars/mesh.h).
//
//   kars-mesh init     --dir D --name N                 create the identity, print its key
//   kars-mesh send     --dir D --name N --relay A --to P (--message TEXT | --lines)
//   kars-mesh recv     --dir D --name N --relay A [--count N] [--timeout-ms T] [--leave-queued]
//   kars-mesh safety-number --dir D --name N --peer P [--pending]
//   kars-mesh approve  --dir D --name N --peer P
//   kars-mesh group-create --dir D --name N --relay A --group G --members M1,M2,...
//   kars-mesh group-add|group-remove --dir D --name N --relay A --group G --member M
//   kars-mesh group-send --dir D --name N --relay A --group G --message TEXT
//
// Group messages print as "group-message <group> <peer> <body>".
// `send --lines` sends every stdin line as one message and prints "sent <n>" after the relay
// acknowledged each. `recv` prints one line per event: "message <peer> <body>", "duplicate
// <peer>", "rejected <peer> <status> <detail>", "identity-changed <peer>", "expired <peer>",
// until --count messages arrived or --timeout-ms passed (exit 1 if fewer arrived).
// `recv --leave-queued` fetches and decrypts what the relay holds into the agent's inbox but
// declines every event, so they stay queued there (printed "queued <peer>") for a later recv.
// Every command may add --relay-ca CA.pem (TLS to the relay, trusting that bundle), --relay-cert
// CERT.pem --relay-key KEY.pem (a client certificate, for a relay requiring mutual TLS) and
// --relay-server-name NAME (the name expected in the relay's certificate).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hosts/cli/io.h"
#include "hosts/cli/registry.h"
#include "kars/mesh.h"

namespace {

using kars::cli::kExitInvalid;
using kars::cli::kExitOk;
using kars::cli::kExitUsage;

int Usage() {
  std::fprintf(stderr,
               "usage: kars-mesh init --dir D --name N\n"
               "       kars-mesh send --dir D --name N --relay HOST:PORT --to PEER "
               "(--message TEXT | --lines)\n"
               "       kars-mesh recv --dir D --name N --relay HOST:PORT [--count N] "
               "[--timeout-ms T] [--leave-queued]\n"
               "       kars-mesh safety-number --dir D --name N --peer P [--pending]\n"
               "       kars-mesh approve --dir D --name N --peer P\n"
               "       kars-mesh group-create --dir D --name N --relay HOST:PORT --group G "
               "--members A,B,...\n"
               "       kars-mesh group-add|group-remove --dir D --name N --relay HOST:PORT "
               "--group G --member M\n"
               "       kars-mesh group-send --dir D --name N --relay HOST:PORT --group G "
               "--message TEXT\n"
               "relay TLS (every command with --relay): --relay-ca CA.pem "
               "[--relay-cert CERT.pem --relay-key KEY.pem] [--relay-server-name NAME]\n");
  return kExitUsage;
}

struct Args {
  std::map<std::string, std::string> values;
  bool Has(const char* k) const { return values.count(k) != 0; }
  const std::string& Get(const char* k) const { return values.at(k); }
};

bool Parse(int argc, char** argv, Args* out) {
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    // insert_or_assign with whole strings: GCC 12 at -O3 misreads assigning a literal into a
    // map's fresh value (a false -Wrestrict).
    if (a == "--lines" || a == "--pending" || a == "--leave-queued") {
      out->values.insert_or_assign(std::string(a.substr(2)), std::string(1, '1'));
    } else if (a.starts_with("--") && i + 1 < argc) {
      out->values.insert_or_assign(std::string(a.substr(2)), std::string(argv[++i]));
    } else {
      std::fprintf(stderr, "kars: mesh: unexpected argument '%s'\n", argv[i]);
      return false;
    }
  }
  return true;
}

// The file named by flag `flag`, into *out; false (reported) when it cannot be read.
bool ReadFlagFile(const Args& args, const char* flag, std::string* out) {
  if (!args.Has(flag)) return true;
  auto bytes = kars::cli::ReadFile(args.Get(flag));
  if (!bytes) {
    std::fprintf(stderr, "kars: mesh: cannot read --%s %s\n", flag, args.Get(flag).c_str());
    return false;
  }
  *out = std::move(*bytes);
  return true;
}

// Options carrying the relay TLS flags (--relay-ca, --relay-cert, --relay-key,
// --relay-server-name); *out stays NULL when none is given. False (reported) on a bad flag.
bool RelayTlsOptions(const Args& args, kars_mesh_options** out) {
  *out = nullptr;
  if (!args.Has("relay-ca") && !args.Has("relay-cert") && !args.Has("relay-key") &&
      !args.Has("relay-server-name")) {
    return true;
  }
  std::string ca, cert, key;
  bool ok = ReadFlagFile(args, "relay-ca", &ca) && ReadFlagFile(args, "relay-cert", &cert) &&
            ReadFlagFile(args, "relay-key", &key);
  kars_error* err = nullptr;
  if (ok && kars_mesh_options_new(out, &err) != KARS_OK) ok = false;
  if (ok && kars_mesh_options_set_relay_tls(
                *out, args.Has("relay-ca") ? ca.data() : nullptr, ca.size(),
                args.Has("relay-cert") ? cert.data() : nullptr, cert.size(),
                args.Has("relay-key") ? key.data() : nullptr, key.size(),
                args.Has("relay-server-name") ? args.Get("relay-server-name").c_str() : nullptr,
                &err) != KARS_OK) {
    ok = false;
  }
  if (err != nullptr) kars::cli::PrintError("mesh: relay TLS", err);
  // The options hold (and later wipe) their own copy; wipe this one through a volatile pointer
  // so that the stores are not dropped as dead.
  volatile char* wipe = key.data();
  for (size_t i = 0; i < key.size(); ++i) wipe[i] = 0;
  if (!ok) {
    kars_mesh_options_free(*out);
    *out = nullptr;
  }
  return ok;
}

kars_mesh_agent* OpenAgent(const Args& args) {
  kars_mesh_agent* agent = nullptr;
  kars_error* err = nullptr;
  kars_mesh_options* options = nullptr;
  if (!RelayTlsOptions(args, &options)) return nullptr;
  kars_status st = kars_mesh_agent_open(&agent, args.Get("dir").c_str(),
                                        args.Get("name").c_str(), options, &err);
  kars_mesh_options_free(options);
  if (st != KARS_OK) {
    kars::cli::PrintError("mesh: open agent", err);
    return nullptr;
  }
  return agent;
}

bool Connect(kars_mesh_agent* agent, const Args& args) {
  kars_error* err = nullptr;
  if (kars_mesh_agent_connect(agent, args.Get("relay").c_str(), &err) != KARS_OK) {
    kars::cli::PrintError("mesh: connect", err);
    return false;
  }
  return true;
}

std::string Hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(d[p[i] >> 4]);
    s.push_back(d[p[i] & 15]);
  }
  return s;
}

int Init(const Args& args) {
  kars_mesh_agent* agent = OpenAgent(args);
  if (agent == nullptr) return kExitUsage;
  kars_buf key = {nullptr, 0};
  kars_error* err = nullptr;
  int rc = kExitOk;
  if (kars_mesh_agent_identity_key(&key, agent, &err) != KARS_OK) {
    kars::cli::PrintError("mesh: identity key", err);
    rc = kExitUsage;
  } else {
    std::printf("%s\n", Hex(key.data, key.len).c_str());
  }
  kars_buf_dispose(&key);
  kars_mesh_agent_free(agent);
  return rc;
}

int SendOne(kars_mesh_agent* agent, const std::string& to, const std::string& body) {
  kars_error* err = nullptr;
  if (kars_mesh_agent_send(nullptr, agent, to.c_str(),
                           reinterpret_cast<const uint8_t*>(body.data()), body.size(), 0,
                           &err) != KARS_OK) {
    kars_status code = kars_error_code(err);
    kars::cli::PrintError("mesh: send", err);
    return code == KARS_E_DENIED || code == KARS_E_TAMPERED ? kExitInvalid : kExitUsage;
  }
  return kExitOk;
}

int Send(const Args& args) {
  if (!args.Has("relay") || !args.Has("to") || (args.Has("message") == args.Has("lines"))) {
    return Usage();
  }
  kars_mesh_agent* agent = OpenAgent(args);
  if (agent == nullptr) return kExitUsage;
  int rc = Connect(agent, args) ? kExitOk : kExitUsage;
  if (rc == kExitOk && args.Has("message"))
    rc = SendOne(agent, args.Get("to"), args.Get("message"));
  if (rc == kExitOk && args.Has("lines")) {
    std::string line;
    long n = 0;
    while (rc == kExitOk && std::getline(std::cin, line)) {
      rc = SendOne(agent, args.Get("to"), line);
      if (rc == kExitOk) {
        std::printf("sent %ld\n", ++n);
        std::fflush(stdout);
      }
    }
  }
  kars_mesh_agent_free(agent);
  return rc;
}

struct RecvState {
  long messages = 0;
  bool leave_queued = false;
};

int PrintEvent(const kars_mesh_event* ev, void* userdata) {
  auto* st = static_cast<RecvState*>(userdata);
  const char* peer = kars_mesh_event_get_peer(ev);
  if (st->leave_queued) {
    std::printf("queued %s\n", peer);
    std::fflush(stdout);
    ++st->messages;
    return 1;  // declined: the event stays in the agent's inbox
  }
  switch (kars_mesh_event_get_kind(ev)) {
    case KARS_MESH_EVENT_MESSAGE: {
      size_t len = 0;
      const uint8_t* body = kars_mesh_event_get_body(ev, &len);
      const char* group = kars_mesh_event_get_group(ev);
      if (*group != '\0') {
        std::printf("group-message %s %s %.*s\n", group, peer, static_cast<int>(len),
                    reinterpret_cast<const char*>(body));
      } else {
        std::printf("message %s %.*s\n", peer, static_cast<int>(len),
                    reinterpret_cast<const char*>(body));
      }
      ++st->messages;
      break;
    }
    case KARS_MESH_EVENT_DUPLICATE:
      std::printf("duplicate %s\n", peer);
      break;
    case KARS_MESH_EVENT_REJECTED:
      std::printf("rejected %s %s %s\n", peer, kars_status_name(kars_mesh_event_get_status(ev)),
                  kars_mesh_event_get_detail(ev));
      break;
    case KARS_MESH_EVENT_IDENTITY_CHANGED:
      std::printf("identity-changed %s\n", peer);
      break;
    case KARS_MESH_EVENT_EXPIRED:
      std::printf("expired %s\n", peer);
      break;
  }
  std::fflush(stdout);
  return 0;
}

int Recv(const Args& args) {
  if (!args.Has("relay")) return Usage();
  long want = args.Has("count") ? std::stol(args.Get("count")) : 0;
  long timeout_ms = args.Has("timeout-ms") ? std::stol(args.Get("timeout-ms")) : 0;
  kars_mesh_agent* agent = OpenAgent(args);
  if (agent == nullptr) return kExitUsage;
  if (!Connect(agent, args)) {
    kars_mesh_agent_free(agent);
    return kExitUsage;
  }
  RecvState st;
  st.leave_queued = args.Has("leave-queued");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int rc = kExitOk;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    kars_error* err = nullptr;
    kars_status s = kars_mesh_agent_receive(
        nullptr, agent, static_cast<uint32_t>(left > 0 ? std::min(left, 1000L) : 0), PrintEvent,
        &st, &err);
    if (s == KARS_E_CALLBACK && st.leave_queued) {
      kars_error_free(err);
      break;
    }
    if (s != KARS_OK && s != KARS_E_UNAVAILABLE) {
      kars::cli::PrintError("mesh: receive", err);
      rc = kExitUsage;
      break;
    }
    kars_error_free(err);  // unavailable: the relay is restarting; keep trying until the deadline
    if (want > 0 && st.messages >= want) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      if (want > 0) rc = kExitInvalid;
      break;
    }
  }
  kars_mesh_agent_free(agent);
  return rc;
}

int PeerCommand(const Args& args, bool approve) {
  if (!args.Has("peer")) return Usage();
  kars_mesh_agent* agent = OpenAgent(args);
  if (agent == nullptr) return kExitUsage;
  kars_error* err = nullptr;
  int rc = kExitOk;
  if (approve) {
    if (kars_mesh_agent_approve_identity(agent, args.Get("peer").c_str(), &err) != KARS_OK) {
      kars::cli::PrintError("mesh: approve", err);
      rc = kExitInvalid;
    }
  } else {
    kars_buf out = {nullptr, 0};
    if (kars_mesh_agent_safety_number(&out, agent, args.Get("peer").c_str(),
                                      args.Has("pending") ? 1 : 0, &err) != KARS_OK) {
      kars::cli::PrintError("mesh: safety number", err);
      rc = kExitInvalid;
    } else {
      std::printf("%s\n", reinterpret_cast<const char*>(out.data));
    }
    kars_buf_dispose(&out);
  }
  kars_mesh_agent_free(agent);
  return rc;
}

int Group(const std::string& cmd, const Args& args) {
  if (!args.Has("relay") || !args.Has("group")) return Usage();
  if ((cmd == "group-create" && !args.Has("members")) ||
      ((cmd == "group-add" || cmd == "group-remove") && !args.Has("member")) ||
      (cmd == "group-send" && !args.Has("message"))) {
    return Usage();
  }
  kars_mesh_agent* agent = OpenAgent(args);
  if (agent == nullptr) return kExitUsage;
  if (!Connect(agent, args)) {
    kars_mesh_agent_free(agent);
    return kExitUsage;
  }
  const char* group = args.Get("group").c_str();
  kars_error* err = nullptr;
  kars_status s = KARS_OK;
  if (cmd == "group-create") {
    std::vector<std::string> names;
    std::string list = args.Get("members");
    for (size_t start = 0; start <= list.size();) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      if (comma > start) names.push_back(list.substr(start, comma - start));
      start = comma + 1;
    }
    std::vector<const char*> ptrs;
    for (const auto& n : names) ptrs.push_back(n.c_str());
    s = kars_mesh_agent_group_create(agent, group, ptrs.data(), ptrs.size(), &err);
  } else if (cmd == "group-add") {
    s = kars_mesh_agent_group_add(agent, group, args.Get("member").c_str(), &err);
  } else if (cmd == "group-remove") {
    s = kars_mesh_agent_group_remove(agent, group, args.Get("member").c_str(), &err);
  } else {
    const std::string& m = args.Get("message");
    s = kars_mesh_agent_group_send(nullptr, agent, group,
                                   reinterpret_cast<const uint8_t*>(m.data()), m.size(), &err);
  }
  int rc = kExitOk;
  if (s != KARS_OK) {
    rc = s == KARS_E_DENIED ? kExitInvalid : kExitUsage;
    kars::cli::PrintError(("mesh: " + cmd).c_str(), err);
  }
  kars_mesh_agent_free(agent);
  return rc;
}

int MeshMain(int argc, char** argv) {
  if (argc < 2) return Usage();
  Args args;
  if (!Parse(argc, argv, &args) || !args.Has("dir") || !args.Has("name")) return Usage();
  std::string cmd = argv[1];
  if (cmd == "init") return Init(args);
  if (cmd == "send") return Send(args);
  if (cmd == "recv") return Recv(args);
  if (cmd == "safety-number") return PeerCommand(args, false);
  if (cmd == "approve") return PeerCommand(args, true);
  if (cmd.rfind("group-", 0) == 0) return Group(cmd, args);
  return Usage();
}

}  // namespace

KARS_CLI_GROUP(kMeshGroup, "mesh", "end-to-end encrypted agent messaging (libkars-mesh)", MeshMain);
