// The relay process alone on pre-encrypted 1 KiB envelopes, durability on (WAL, synchronous=FULL,
// acknowledged only after the group commit that holds the envelope): many concurrent senders,
// each an authenticated mailbox with its own gRPC channel and one Send in flight at a time
// (asynchronous completion-queue client, so that the benchmark does not eat the relay's CPU), and an
// open-loop paced load at 5,000 messages/s for latency. Reports the relay's and the client's CPU
// beside wall time, and the load average, since the machine is shared.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/integration/mesh/relay_process.h"
#include "tests/integration/mesh/relay_test_client.h"

#ifdef KARS_RELAY_BIN
namespace kars::mesh {
namespace {

namespace pb = kars::v1::mesh;
using Clock = std::chrono::steady_clock;
using testing::RawRelayClient;
using testing::RelayProcess;

RelayProcess& Relay() {
  static auto* relay = new RelayProcess(
      {"--rate-limit", "0", "--max-mailbox-messages", "100000000", "--ttl-seconds", "3600"});
  return *relay;
}

// CPU seconds (user + system) the relay process has used so far.
double RelayCpuSeconds() {
  std::ifstream in("/proc/" + std::to_string(Relay().pid()) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string f;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoll(f);
    if (i == 15) stime = std::stoll(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double OwnCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// `n` logged-in sender mailboxes (kept across runs) and one sink mailbox they all send to.
std::vector<std::unique_ptr<RawRelayClient>>& Senders(size_t n) {
  static auto* senders = new std::vector<std::unique_ptr<RawRelayClient>>();
  static bool sink_ready = [] {
    RawRelayClient sink(Relay().address(), "sink");
    return sink.Login().ok();
  }();
  if (!sink_ready) std::abort();
  while (senders->size() < n) {
    senders->push_back(std::make_unique<RawRelayClient>(
        Relay().address(), absl::StrCat("sender", senders->size())));
    if (!senders->back()->Login(false).ok()) std::abort();
  }
  return *senders;
}

struct Tally;

// One asynchronous Send and what it needs to outlive the call.
struct Call {
  grpc::ClientContext ctx;
  pb::SendRequest req;
  pb::SendResponse resp;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<pb::SendResponse>> reader;
  Clock::time_point started;
  Tally* tally;
  std::function<void()> then;  // runs after the completion (the chain's next send)
};

// Collects completions; Wait() returns once `expected` calls finished.
struct Tally {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<double> latency_ms;
  int64_t done = 0, failed = 0;
  size_t chains_stopped = 0;
  void Finish(const grpc::Status& st, Clock::time_point started) {
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    std::lock_guard<std::mutex> l(mu);
    latency_ms.push_back(ms);
    ++done;
    if (!st.ok()) ++failed;
    cv.notify_all();
  }
  void Wait(int64_t expected) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return done >= expected; });
  }
  void StopChain() {
    std::lock_guard<std::mutex> l(mu);
    ++chains_stopped;
    cv.notify_all();
  }
  void WaitChains(size_t n) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return chains_stopped >= n; });
  }
};

// The client's completion queue, polled by one thread for the life of the process: the
// cheapest gRPC client there is, so that the client leaves the relay as much CPU as it can.
grpc::CompletionQueue& ClientQueue() {
  static auto* cq = [] {
    auto* q = new grpc::CompletionQueue();
    std::thread([q] {
      void* tag = nullptr;
      bool ok = false;
      while (q->Next(&tag, &ok)) {
        auto* call = static_cast<Call*>(tag);
        call->tally->Finish(call->status, call->started);
        auto then = std::move(call->then);
        delete call;
        if (then) then();
      }
    }).detach();
    return q;
  }();
  return *cq;
}

// Issues one Send from `client` carrying `base` with a message id unique to (sender, counter).
void SendAsync(RawRelayClient* client, const pb::Envelope& base, uint64_t sender, uint64_t counter,
               Tally* tally, std::function<void()> then) {
  auto* call = new Call();
  client->Authorize(&call->ctx);
  *call->req.mutable_envelope() = base;
  char* id = call->req.mutable_envelope()->mutable_message_id()->data();
  std::memcpy(id, &sender, 8);
  std::memcpy(id + 8, &counter, 8);
  call->tally = tally;
  call->then = std::move(then);
  call->started = Clock::now();
  call->reader = client->stub()->AsyncSend(&call->ctx, call->req, &ClientQueue());
  call->reader->Finish(&call->resp, &call->status, call);
}

void ReportCpu(benchmark::State& state, double wall, double relay_cpu, double own_cpu,
               double messages) {
  state.counters["relay_cpu_s"] = relay_cpu;
  state.counters["client_cpu_s"] = own_cpu;
  state.counters["wall_s"] = wall;
  state.counters["relay_us_cpu_per_msg"] = messages > 0 ? relay_cpu * 1e6 / messages : 0;
  state.counters["loadavg"] = LoadAverage();
}

// Closed loop: `senders` mailboxes, each with one Send in flight, for 3 s.
void BM_RelayAlone_Send(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  auto& senders = Senders(n);
  const pb::Envelope base = testing::RandomEnvelope("sink");
  static std::atomic<uint64_t> counter{0};
  for (auto _ : state) {
    Tally tally;
    const auto start = Clock::now(), end = start + std::chrono::seconds(3);
    const double relay0 = RelayCpuSeconds(), own0 = OwnCpuSeconds();
    // A chain is one sender: the next Send leaves when the previous one is acknowledged.
    std::function<void(size_t)> next = [&](size_t s) {
      if (Clock::now() >= end) return tally.StopChain();
      SendAsync(senders[s].get(), base, s, ++counter, &tally, [&next, s] { next(s); });
    };
    for (size_t s = 0; s < n; ++s) next(s);
    tally.WaitChains(n);
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    if (tally.failed > 0) state.SkipWithError("a send failed");
    state.counters["msgs_per_s"] = static_cast<double>(tally.done) / wall;
    state.counters["p50_ms"] = Percentile(tally.latency_ms, 0.50);
    state.counters["p99_ms"] = Percentile(tally.latency_ms, 0.99);
    ReportCpu(state, wall, RelayCpuSeconds() - relay0, OwnCpuSeconds() - own0,
              static_cast<double>(tally.done));
  }
}
BENCHMARK(BM_RelayAlone_Send)
    ->Arg(1)
    ->Arg(16)
    ->Arg(64)
    ->Arg(256)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Open loop: 5,000 messages/s spread over 32 senders for 3 s; latency from issue to ack.
void BM_RelayAlone_LatencyAt5k(benchmark::State& state) {
  const int kRate = 5000, kSeconds = 3;
  const size_t kSenders = 32;
  auto& senders = Senders(kSenders);
  const pb::Envelope base = testing::RandomEnvelope("sink");
  static std::atomic<uint64_t> counter{1ULL << 40};
  for (auto _ : state) {
    Tally tally;
    const int64_t total = int64_t{kRate} * kSeconds;
    const auto gap = std::chrono::nanoseconds(1000000000LL / kRate);
    const auto start = Clock::now();
    const double relay0 = RelayCpuSeconds(), own0 = OwnCpuSeconds();
    for (int64_t i = 0; i < total; ++i) {
      std::this_thread::sleep_until(start + gap * i);
      size_t s = static_cast<size_t>(i) % kSenders;
      SendAsync(senders[s].get(), base, s, ++counter, &tally, nullptr);
    }
    tally.Wait(total);
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    if (tally.failed > 0) state.SkipWithError("a send failed");
    state.counters["msgs_per_s"] = static_cast<double>(tally.done) / wall;
    state.counters["p50_ms"] = Percentile(tally.latency_ms, 0.50);
    state.counters["p99_ms"] = Percentile(tally.latency_ms, 0.99);
    ReportCpu(state, wall, RelayCpuSeconds() - relay0, OwnCpuSeconds() - own0,
              static_cast<double>(tally.done));
  }
}
BENCHMARK(BM_RelayAlone_LatencyAt5k)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kars::mesh
#endif  // KARS_RELAY_BIN
