// kars-relay: store-and-forward of mesh ciphertext over gRPC, with durable mailboxes.
//
//   kars-relay --data-dir DIR [--listen HOST:PORT] [--config FILE] [--ttl-seconds N]
//              [--max-message-bytes N] [--max-mailbox-messages N] [--rate-limit PER_SECOND]
//              [--allow-reregister] [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
//
// A config file holds the same options, one "name = value" per line ('#' starts a comment);
// flags override it. The bound address is printed to stdout as "listening on HOST:PORT" once
// the relay serves (with port 0 the OS chooses). SIGTERM/SIGINT shut down gracefully: no new
// sends are taken, every queued send is committed and acknowledged, streams end, exit status 0.
// With --tls-cert/--tls-key the relay serves TLS; --tls-client-ca also requires client
// certificates signed by that CA (mTLS).
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "hosts/relay/async_send.h"
#include "hosts/relay/auth.h"
#include "hosts/relay/mailbox_db.h"
#include "hosts/relay/relay_service.h"
#include "hosts/relay/tls.h"

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

int Usage(const char* why) {
  std::fprintf(stderr,
               "kars-relay: %s\nusage: kars-relay --data-dir DIR [--listen HOST:PORT] "
               "[--config FILE] [--ttl-seconds N] [--max-message-bytes N] "
               "[--max-mailbox-messages N] [--rate-limit PER_SECOND] [--allow-reregister] "
               "[--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]\n",
               why);
  return 2;
}

bool ReadConfig(const std::string& path, std::map<std::string, std::string>* opts) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto trim = [](std::string s) {
      size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t\r");
      return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    (*opts)[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return true;
}

bool ParseNumber(const std::string& s, long long* out) {
  char* end = nullptr;
  *out = std::strtoll(s.c_str(), &end, 10);
  return !s.empty() && *end == '\0' && *out >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opts = {{"listen", "127.0.0.1:7443"}};
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--allow-reregister") {
      flags["allow-reregister"] = "true";
    } else if (a.rfind("--", 0) == 0 && i + 1 < argc) {
      flags[a.substr(2)] = argv[++i];
    } else {
      return Usage(("unexpected argument " + a).c_str());
    }
  }
  if (flags.count("config") && !ReadConfig(flags["config"], &opts)) {
    return Usage(("cannot read config file " + flags["config"]).c_str());
  }
  for (auto& [k, v] : flags) opts[k] = v;

  const std::map<std::string, bool> known = {
      {"listen", 1},      {"data-dir", 1},          {"config", 1},
      {"ttl-seconds", 1}, {"max-message-bytes", 1}, {"max-mailbox-messages", 1},
      {"rate-limit", 1},  {"allow-reregister", 1},  {"tls-cert", 1},
      {"tls-key", 1},     {"tls-client-ca", 1}};
  for (auto& [k, v] : opts) {
    if (!known.count(k)) return Usage(("unknown option " + k).c_str());
  }
  if (!opts.count("data-dir")) return Usage("--data-dir is required");

  kars::relay::Limits limits;
  long long n = 0;
  double rate = 1000;
  if (opts.count("ttl-seconds")) {
    if (!ParseNumber(opts["ttl-seconds"], &n) || n == 0) return Usage("bad --ttl-seconds");
    limits.default_ttl_ms = n * 1000;
  }
  if (opts.count("max-message-bytes")) {
    if (!ParseNumber(opts["max-message-bytes"], &n) || n == 0)
      return Usage("bad --max-message-bytes");
    limits.max_message_bytes = static_cast<size_t>(n);
  }
  if (opts.count("max-mailbox-messages")) {
    if (!ParseNumber(opts["max-mailbox-messages"], &n) || n == 0) {
      return Usage("bad --max-mailbox-messages");
    }
    limits.max_mailbox_messages = n;
  }
  if (opts.count("rate-limit")) {
    if (!ParseNumber(opts["rate-limit"], &n)) return Usage("bad --rate-limit");
    rate = static_cast<double>(n);
  }
  limits.allow_reregister = opts.count("allow-reregister") && opts["allow-reregister"] == "true";

  std::string error;
  auto credentials = kars::relay::ServerCredentialsFor(
      {opts["tls-cert"], opts["tls-key"], opts["tls-client-ca"]}, &error);
  if (!credentials) return Usage(error.c_str());
  auto db = kars::relay::MailboxDb::Open(opts["data-dir"], limits, &error);
  if (!db) {
    std::fprintf(stderr, "kars-relay: %s\n", error.c_str());
    return 2;
  }
  kars::relay::Auth auth(rate);
  kars::relay::RelayService service(db.get(), &auth);

  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(opts["listen"], credentials, &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(limits.max_message_bytes + 64 * 1024));
  builder.RegisterService(&service);
  kars::relay::AsyncSend sends(&service, db.get(), builder.AddCompletionQueue());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "kars-relay: cannot listen on %s\n", opts["listen"].c_str());
    return 2;
  }
  std::string host = opts["listen"].substr(0, opts["listen"].rfind(':'));
  sends.Start(2);
  std::printf("listening on %s:%d\n", host.c_str(), port);
  std::fflush(stdout);

  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  auto next_sweep = std::chrono::steady_clock::now();
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::chrono::steady_clock::now() >= next_sweep) {
      int expired = 0;
      auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
      grpc::Status st = db->ExpireDue(now_ms, &expired);
      if (!st.ok()) std::fprintf(stderr, "kars-relay: %s\n", st.error_message().c_str());
      next_sweep = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
  }
  // Graceful: stop streams, let in-flight calls finish (sends already durable are acked).
  service.Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  db->StopWriter();  // every queued send committed and its RPC finished before the queue closes
  sends.Shutdown();
  server.reset();
  db.reset();
  std::fprintf(stderr, "kars-relay: stopped\n");
  return 0;
}
