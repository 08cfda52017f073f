// End to end with 2, 10 and 100 agents through a real relay process (the relay alone is measured
// in relay_alone_bench.cc).
#include <benchmark/benchmark.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libkars/mesh/agent.h"

#ifdef KARS_RELAY_BIN
namespace kars::mesh {
namespace {

namespace pb = kars::v1::mesh;
using Clock = std::chrono::steady_clock;

class Relay {
 public:
  Relay() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kars-bench-relay-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    int fds[2];
    if (pipe(fds) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test, even when it crashes
      dup2(fds[1], 1);
      std::string data = dir_ + "/data";
      execl(KARS_RELAY_BIN, KARS_RELAY_BIN, "--listen", "127.0.0.1:0", "--data-dir", data.c_str(),
            "--rate-limit", "0", "--max-mailbox-messages", "100000000", (char*)nullptr);
      _exit(127);
    }
    close(fds[1]);
    FILE* out = fdopen(fds[0], "r");
    char line[128] = {};
    if (fgets(line, sizeof line, out) == nullptr) std::abort();
    fclose(out);
    std::string s(line);
    address_ = s.substr(13, s.find('\n') - 13);
  }
  ~Relay() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    std::filesystem::remove_all(dir_);
  }
  const std::string& address() const { return address_; }

 private:
  pid_t pid_;
  std::string dir_, address_;
};

Relay& SharedRelay() {
  static Relay* relay = new Relay();  // lives for the process; stopped by atexit below
  static bool registered = [] {
    std::atexit([] { delete relay; });
    return true;
  }();
  (void)registered;
  return *relay;
}

std::unique_ptr<Agent> Connect(const std::string& name) {
  auto agent = Agent::Open("", name, AgentOptions());
  if (!agent.ok() || !(*agent)->ConnectRelay(SharedRelay().address()).ok()) std::abort();
  return std::move(*agent);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// End to end: N agents in a ring, each sending to the next and receiving from the previous.
void BM_EndToEnd(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int per_agent = std::max(20, 2000 / n);
  std::vector<std::unique_ptr<Agent>> agents;
  for (int i = 0; i < n; ++i) agents.push_back(Connect(absl::StrCat("e2e", n, "-", i)));
  for (auto _ : state) {
    std::mutex mu;
    std::vector<double> lat;
    std::atomic<int> received{0};
    const int total = n * per_agent;
    auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {  // receiver
        std::vector<double> mine;
        auto deadline = Clock::now() + std::chrono::seconds(120);
        int got = 0;
        while (got < per_agent && Clock::now() < deadline) {
          auto r = agents[i]->Receive(absl::Milliseconds(100), [&](const pb::AgentEvent& ev) {
            if (ev.kind() != pb::AgentEvent::KIND_MESSAGE) return 0;
            int64_t sent_ns = 0;
            std::memcpy(&sent_ns, ev.body().data(), sizeof sent_ns);
            mine.push_back(static_cast<double>(Clock::now().time_since_epoch().count() - sent_ns) /
                           1e6);
            ++got;
            return 0;
          });
          if (!r.ok()) break;
        }
        received += got;
        std::lock_guard<std::mutex> l(mu);
        lat.insert(lat.end(), mine.begin(), mine.end());
      });
      threads.emplace_back([&, i] {  // sender
        std::string body(1024, 'x');
        const std::string to = absl::StrCat("e2e", n, "-", (i + 1) % n);
        for (int k = 0; k < per_agent; ++k) {
          int64_t now = Clock::now().time_since_epoch().count();
          std::memcpy(body.data(), &now, sizeof now);
          if (!agents[i]->Send(to, body).ok()) std::abort();
        }
      });
    }
    for (auto& t : threads) t.join();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    if (received != total) state.SkipWithError("messages missing");
    state.counters["msgs_per_s"] = static_cast<double>(received.load()) / secs;
    state.counters["p50_ms"] = Percentile(lat, 0.50);
    state.counters["p99_ms"] = Percentile(lat, 0.99);
  }
}
BENCHMARK(BM_EndToEnd)
    ->Arg(2)
    ->Arg(10)
    ->Arg(100)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kars::mesh
#endif  // KARS_RELAY_BIN
