// The relay process alone on pre-encrypted 1 KiB envelopes, durability on (WAL, synchronous=FULL,
// acknowledged only after the group commit that holds the envelope): many concurrent senders,
// each an authenticated mailbox with its own gRPC channel (asynchronous completion-queue client,
// so that the benchmark does not eat the relay's CPU), and an open-loop paced load at 5,000
// messages/s for latency. Each both ways: unary Send (one in flight per sender) and SendStream
// (one stream per sender, a window of sends in flight on it). Reports the relay's and the
// client's CPU beside wall time, and the load average, since the machine is shared.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
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

// What a client completion-queue tag points to.
struct Tag {
  virtual ~Tag() = default;
  virtual void Proceed(bool ok) = 0;
};

// One asynchronous Send and what it needs to outlive the call.
struct Call final : Tag {
  void Proceed(bool ok) override;
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
      while (q->Next(&tag, &ok)) static_cast<Tag*>(tag)->Proceed(ok);
    }).detach();
    return q;
  }();
  return *cq;
}

void Call::Proceed(bool) {
  tally->Finish(status, started);
  auto next = std::move(then);
  delete this;
  if (next) next();
}

// A SendRequest carrying `base` with a message id unique to (sender, counter).
pb::SendRequest Request(const pb::Envelope& base, uint64_t sender, uint64_t counter) {
  pb::SendRequest req;
  *req.mutable_envelope() = base;
  char* id = req.mutable_envelope()->mutable_message_id()->data();
  std::memcpy(id, &sender, 8);
  std::memcpy(id + 8, &counter, 8);
  return req;
}

// One SendStream of one sender on the client queue: requests are written one after another as
// they are queued, answers are matched to them in order. `refill` (closed loop) runs after each
// answer and may queue the next request; Close() half-closes once everything was answered, and
// the tally's chain stops when the stream finished.
class StreamSender {
 public:
  StreamSender(RawRelayClient* client, Tally* tally, std::function<void(StreamSender*)> refill)
      : tally_(tally), refill_(std::move(refill)) {
    client->Authorize(&ctx_);
    // Prepared, then started: the start's completion may run before the assignment returns.
    rw_ = client->stub()->PrepareAsyncSendStream(&ctx_, &ClientQueue());
    rw_->StartCall(&started_);
  }
  void Queue(pb::SendRequest req) {
    std::lock_guard<std::mutex> l(mu_);
    unwritten_.push_back(std::move(req));
    sent_at_.push_back(Clock::now());
    WriteNext();
  }
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    closing_ = true;
    MaybeClose();
  }

 private:
  struct Op final : Tag {
    Op(StreamSender* s, void (StreamSender::*h)(bool)) : s(s), h(h) {}
    void Proceed(bool ok) override { (s->*h)(ok); }
    StreamSender* s;
    void (StreamSender::*h)(bool);
  };

  void OnStarted(bool ok) {
    std::lock_guard<std::mutex> l(mu_);
    open_ = ok;
    if (!ok) ++failed_;
    rw_->Read(&resp_, &read_);
    WriteNext();
  }
  void OnWritten(bool ok) {
    std::lock_guard<std::mutex> l(mu_);
    writing_ = false;
    if (!ok) ++failed_;
    WriteNext();
    MaybeClose();
  }
  void OnRead(bool ok) {
    if (!ok) {
      rw_->Finish(&status_, &finished_);
      return;
    }
    size_t answered = static_cast<size_t>(resp_.results_size());
    std::vector<Clock::time_point> times;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (size_t i = 0; i < answered && !sent_at_.empty(); ++i) {
        times.push_back(sent_at_.front());
        sent_at_.pop_front();
      }
    }
    for (size_t i = 0; i < times.size(); ++i) {
      tally_->Finish(resp_.results(static_cast<int>(i)).code() == 0
                         ? grpc::Status::OK
                         : grpc::Status(grpc::StatusCode::INTERNAL, "refused"),
                     times[i]);
      if (refill_) refill_(this);
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      MaybeClose();
    }
    rw_->Read(&resp_, &read_);
  }
  void OnWritesDone(bool) {}
  void OnFinished(bool) {
    if (!status_.ok()) ++failed_;
    tally_->StopChain();
  }
  void WriteNext() {
    if (!open_ || writing_ || unwritten_.empty()) return;
    writing_ = true;
    req_ = std::move(unwritten_.front());
    unwritten_.pop_front();
    rw_->Write(req_, &written_);
  }
  void MaybeClose() {
    if (!closing_ || closed_ || writing_ || !unwritten_.empty() || !sent_at_.empty()) return;
    closed_ = true;
    rw_->WritesDone(&writes_done_);
  }

  Tally* tally_;
  std::function<void(StreamSender*)> refill_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<pb::SendRequest, pb::SendStreamResponse>> rw_;
  Op started_{this, &StreamSender::OnStarted};
  Op written_{this, &StreamSender::OnWritten};
  Op read_{this, &StreamSender::OnRead};
  Op writes_done_{this, &StreamSender::OnWritesDone};
  Op finished_{this, &StreamSender::OnFinished};
  std::mutex mu_;
  bool open_ = false, writing_ = false, closing_ = false, closed_ = false;
  std::deque<pb::SendRequest> unwritten_;
  std::deque<Clock::time_point> sent_at_;  // of every request not answered yet
  pb::SendRequest req_;
  pb::SendStreamResponse resp_;
  grpc::Status status_;

 public:
  std::atomic<int64_t> failed_{0};
};

// Issues one Send from `client` carrying `base` with a message id unique to (sender, counter).
void SendAsync(RawRelayClient* client, const pb::Envelope& base, uint64_t sender, uint64_t counter,
               Tally* tally, std::function<void()> then) {
  auto* call = new Call();
  client->Authorize(&call->ctx);
  call->req = Request(base, sender, counter);
  call->tally = tally;
  call->then = std::move(then);
  call->started = Clock::now();
  call->reader = client->stub()->AsyncSend(&call->ctx, call->req, &ClientQueue());
  call->reader->Finish(&call->resp, &call->status, call);
}

// One measured run's counters: throughput, latency percentiles, and the CPU both processes used
// over `wall` seconds (from the CPU readings taken at its start). Fails the run if a send failed.
void ReportRun(benchmark::State& state, const Tally& tally, int64_t failed, double wall,
               double relay_cpu0, double own_cpu0) {
  if (failed > 0) state.SkipWithError("a send failed");
  const double relay_cpu = RelayCpuSeconds() - relay_cpu0;
  const double messages = static_cast<double>(tally.done);
  state.counters["msgs_per_s"] = messages / wall;
  state.counters["p50_ms"] = Percentile(tally.latency_ms, 0.50);
  state.counters["p99_ms"] = Percentile(tally.latency_ms, 0.99);
  state.counters["relay_cpu_s"] = relay_cpu;
  state.counters["client_cpu_s"] = OwnCpuSeconds() - own_cpu0;
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
    ReportRun(state, tally, tally.failed, wall, relay0, own0);
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

// Closed loop: `senders` mailboxes, each with one SendStream holding `window` sends in flight,
// for 3 s.
void BM_RelayAlone_Stream(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const size_t window = static_cast<size_t>(state.range(1));
  auto& senders = Senders(n);
  const pb::Envelope base = testing::RandomEnvelope("sink");
  static std::atomic<uint64_t> counter{1ULL << 50};
  for (auto _ : state) {
    Tally tally;
    const auto start = Clock::now(), end = start + std::chrono::seconds(3);
    const double relay0 = RelayCpuSeconds(), own0 = OwnCpuSeconds();
    std::vector<std::unique_ptr<StreamSender>> streams;
    for (size_t s = 0; s < n; ++s) {
      streams.push_back(std::make_unique<StreamSender>(
          senders[s].get(), &tally, [&base, &end, s](StreamSender* self) {
            if (Clock::now() >= end) return self->Close();
            self->Queue(Request(base, s, ++counter));
          }));
      for (size_t w = 0; w < window; ++w) streams.back()->Queue(Request(base, s, ++counter));
    }
    tally.WaitChains(n);
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    int64_t failed = tally.failed;
    for (auto& st : streams) failed += st->failed_;
    ReportRun(state, tally, failed, wall, relay0, own0);
  }
}
BENCHMARK(BM_RelayAlone_Stream)
    ->Args({1, 64})
    ->Args({16, 64})
    ->Args({64, 16})
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
    ReportRun(state, tally, tally.failed, wall, relay0, own0);
  }
}
BENCHMARK(BM_RelayAlone_LatencyAt5k)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

// The same open loop on one SendStream per sender.
void BM_RelayAlone_StreamLatencyAt5k(benchmark::State& state) {
  const int kRate = 5000, kSeconds = 3;
  const size_t kSenders = 32;
  auto& senders = Senders(kSenders);
  const pb::Envelope base = testing::RandomEnvelope("sink");
  static std::atomic<uint64_t> counter{3ULL << 50};
  for (auto _ : state) {
    Tally tally;
    std::vector<std::unique_ptr<StreamSender>> streams;
    for (size_t s = 0; s < kSenders; ++s) {
      streams.push_back(std::make_unique<StreamSender>(senders[s].get(), &tally, nullptr));
    }
    const int64_t total = int64_t{kRate} * kSeconds;
    const auto gap = std::chrono::nanoseconds(1000000000LL / kRate);
    const auto start = Clock::now();
    const double relay0 = RelayCpuSeconds(), own0 = OwnCpuSeconds();
    for (int64_t i = 0; i < total; ++i) {
      std::this_thread::sleep_until(start + gap * i);
      size_t s = static_cast<size_t>(i) % kSenders;
      streams[s]->Queue(Request(base, s, ++counter));
    }
    tally.Wait(total);
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    for (auto& st : streams) st->Close();
    tally.WaitChains(kSenders);
    int64_t failed = tally.failed;
    for (auto& st : streams) failed += st->failed_;
    ReportRun(state, tally, failed, wall, relay0, own0);
  }
}
BENCHMARK(BM_RelayAlone_StreamLatencyAt5k)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kars::mesh
#endif  // KARS_RELAY_BIN
