// Audit log benchmarks on 256-byte records, with the machine's ceilings measured in the same run:
// OpenSSL SHA-256 over 256 bytes, and fdatasync of a small write.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "benchmark/benchmark.h"
#include "libkars/audit/log.h"
#include "libkars/audit/record.h"
#include "libkars/audit/tree.h"
#include "libkars/audit/verify.h"
#include "libkars/base/sync.h"

namespace kars::audit {
namespace {

std::string BenchDir(const std::string& name) {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = std::string(tmp != nullptr ? tmp : "/tmp") + "/kars-bench-audit";
  std::filesystem::create_directories(base);
  std::string dir = base + "/" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

// A record whose stored form is 256 bytes.
v1::AuditRecord Record256() {
  v1::AuditRecord r;
  r.mutable_principal()->set_agent("agent-1");
  r.mutable_principal()->set_sandbox("sandbox-1");
  r.mutable_principal()->set_namespace_("default");
  r.set_subsystem("policy");
  r.set_action("model.call");
  r.set_effect("allow");
  r.set_reason_code("rule.matched");
  r.set_rule_id("allow-models");
  r.set_timestamp_micros(1700000000000000);
  r.set_policy_digest(std::string(32, 'p'));
  r.set_request_digest(std::string(32, 'q'));
  std::string probe = *EncodeRecord(r, 123456, 1);
  (*r.mutable_attributes())["pad"] = std::string(256 - probe.size() - 9, 'x');
  return r;
}

void BM_Sha256Ceiling256B(benchmark::State& state) {
  std::string data(256, 'a');
  for (auto _ : state) {
    Hash h = Sha256(data);
    benchmark::DoNotOptimize(h);
    data[0] = static_cast<char>(h[0]);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha256Ceiling256B);

void BM_FdatasyncCeiling(benchmark::State& state) {
  const std::string dir = BenchDir("fdatasync");
  std::filesystem::create_directories(dir);
  int fd = ::open((dir + "/f").c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  std::string data(256, 'a');
  off_t off = 0;
  for (auto _ : state) {
    if (::pwrite(fd, data.data(), data.size(), off) != 256 || ::fdatasync(fd) != 0) {
      state.SkipWithError("write/fdatasync failed");
      break;
    }
    off += 256;
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FdatasyncCeiling)->UseRealTime();

// (a) hashing and tree only: leaf hash of the stored bytes plus the tree update.
void BM_AppendInMemory(benchmark::State& state) {
  const std::string bytes = *EncodeRecord(Record256(), 123456, 1);
  auto tree = std::make_unique<HashTree>();
  tree->Reserve(1 << 24);
  for (auto _ : state) {
    tree->AppendLeaf(bytes);
    if (tree->size() == (1 << 24)) {
      state.PauseTiming();
      tree = std::make_unique<HashTree>();
      tree->Reserve(1 << 24);
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_AppendInMemory);

// One log per durability mode, shared by the appending threads of a benchmark.
Log* SharedLog(Durability mode) {
  static std::mutex mu;
  static std::map<Durability, std::unique_ptr<Log>> logs;
  std::lock_guard<std::mutex> l(mu);
  auto& log = logs[mode];
  if (log == nullptr) {
    LogOptions o;
    o.durability = mode;
    o.signer = *Signer::Generate("kars.bench/audit");
    o.checkpoint_every_records = 100000;
    log = *Log::Open(BenchDir("durable-" + std::to_string(static_cast<int>(mode))), o);
  }
  return log.get();
}

// The group-commit mechanism behind a figure: how many records each fdatasync acknowledged and
// how many writer batches it covered. Reported by thread 0 over the whole run.
void ReportCommitStats(benchmark::State& state, const Log& log, const CommitStats& before) {
  if (state.thread_index() != 0) return;
  const CommitStats after = log.Stats();
  const double syncs = static_cast<double>(after.syncs - before.syncs);
  if (syncs == 0) return;
  state.counters["records_per_sync"] =
      static_cast<double>(after.synced_records - before.synced_records) / syncs;
  state.counters["batches_per_sync"] = static_cast<double>(after.batches - before.batches) / syncs;
}

// (b) durable append with group commit: acknowledged appends per second across all threads.
void BM_DurableAppendGroupCommit(benchmark::State& state) {
  Log* log = SharedLog(Durability::kBatch);
  const v1::AuditRecord rec = Record256();
  const CommitStats before = log->Stats();
  for (auto _ : state) {
    if (!log->Append(rec).ok()) {
      state.SkipWithError("append failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  ReportCommitStats(state, *log, before);
}
BENCHMARK(BM_DurableAppendGroupCommit)->Threads(1)->Threads(8)->Threads(64)->UseRealTime();

// (b) durable append with group commit, the asynchronous way: one thread keeps `inflight`
// appends queued, each completion being its acknowledgement (the callback runs once the record
// is synced). Acknowledged appends per second.
void BM_DurableAppendAsync(benchmark::State& state) {
  Log* log = SharedLog(Durability::kBatch);
  const v1::AuditRecord rec = Record256();
  const uint64_t inflight = static_cast<uint64_t>(state.range(0));
  kars::Mutex mu;
  kars::CondVar cv;
  uint64_t queued = 0;
  uint64_t acked = 0;
  bool failed = false;
  auto done = [&](absl::StatusOr<uint64_t> r) {
    MutexLock l(&mu);
    if (!r.ok()) failed = true;
    // Wake the producer only when it is blocked on a full window: once per batch, not per record.
    if (queued - acked++ == inflight) cv.Signal();
  };
  const CommitStats before = log->Stats();
  for (auto _ : state) {
    {
      MutexLock l(&mu);
      while (queued - acked >= inflight) cv.Wait(&mu);
      ++queued;
    }
    if (!log->AppendAsync(rec, done).ok()) {
      state.SkipWithError("append failed");
      break;
    }
  }
  {
    // Every append counted must be acknowledged within the timed region.
    MutexLock l(&mu);
    while (acked < queued) cv.WaitWithTimeout(&mu, absl::Milliseconds(1));
    if (failed) state.SkipWithError("an acknowledgement reported failure");
  }
  state.SetItemsProcessed(state.iterations());
  ReportCommitStats(state, *log, before);
}
BENCHMARK(BM_DurableAppendAsync)->ArgName("inflight")->Arg(1)->Arg(8)->Arg(64)->UseRealTime();

// (c) one fdatasync per append.
void BM_DurableAppendSyncEach(benchmark::State& state) {
  Log* log = SharedLog(Durability::kEachAppend);
  const v1::AuditRecord rec = Record256();
  for (auto _ : state) {
    if (!log->Append(rec).ok()) {
      state.SkipWithError("append failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DurableAppendSyncEach)->Threads(1)->UseRealTime();

constexpr uint64_t kMillion = 1 << 20;

void BM_InclusionProof1M(benchmark::State& state) {
  static HashTree* tree = [] {
    auto* t = new HashTree();
    t->Reserve(kMillion);
    const std::string bytes = *EncodeRecord(Record256(), 123456, 1);
    for (uint64_t i = 0; i < kMillion; ++i) t->AppendLeafHash(LeafHash(bytes + std::to_string(i)));
    return t;
  }();
  std::mt19937_64 rng(7);
  for (auto _ : state) {
    auto proof = tree->Inclusion(rng() % kMillion, kMillion);
    benchmark::DoNotOptimize(proof);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InclusionProof1M);

// The same through the log (locks included), on a log of 1M durable records that the verify
// benchmark below then checks from the files.
const std::string& MillionLogDir() {
  static const std::string dir = [] {
    std::string d = BenchDir("million");
    LogOptions o;
    o.durability = Durability::kInterval;
    o.signer = *Signer::Generate("kars.bench/million");
    o.checkpoint_every_records = 100000;
    auto log = *Log::Open(d, o);
    const v1::AuditRecord rec = Record256();
    for (uint64_t i = 0; i < kMillion; ++i) (void)log->Append(rec);
    (void)log->Close();
    return d;
  }();
  return dir;
}

void BM_InclusionProof1MThroughLog(benchmark::State& state) {
  LogOptions ro;
  ro.read_only = true;
  auto log = *Log::Open(MillionLogDir(), ro);
  std::mt19937_64 rng(7);
  for (auto _ : state) {
    auto proof = log->Inclusion(rng() % kMillion, kMillion);
    benchmark::DoNotOptimize(proof);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InclusionProof1MThroughLog);

void BM_Verify1M(benchmark::State& state) {
  const std::string& dir = MillionLogDir();
  VerifyOptions vo;
  for (auto _ : state) {
    VerifyReport r = VerifyLog(dir, vo);
    if (!r.status.ok() || r.records != kMillion) {
      state.SkipWithError("verify failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kMillion);
}
BENCHMARK(BM_Verify1M)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace kars::audit

BENCHMARK_MAIN();
