// Asynchronous appends: each is acknowledged exactly once, in index order, and only once durable.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "libkars/audit/log.h"
#include "libkars/audit/record.h"
#include "libkars/audit/verify.h"
#include "libkars/base/status.h"
#include "libkars/base/sync.h"
#include "tests/unit/audit/test_util.h"

namespace kars::audit {
namespace {

// Counts acknowledgements and lets the test wait until fewer than `limit` appends are in flight.
class InFlight {
 public:
  void Add() {
    MutexLock l(&mu_);
    ++queued_;
  }
  void Done() {
    MutexLock l(&mu_);
    ++acked_;
    cv_.SignalAll();
  }
  void WaitBelow(uint64_t limit) {
    MutexLock l(&mu_);
    while (queued_ - acked_ >= limit) cv_.Wait(&mu_);
  }
  uint64_t acked() {
    MutexLock l(&mu_);
    return acked_;
  }

 private:
  kars::Mutex mu_;
  kars::CondVar cv_;
  uint64_t queued_ = 0;
  uint64_t acked_ = 0;
};

TEST(AsyncAppendTest, EveryAppendIsAcknowledgedOnceInIndexOrderAfterItIsDurable) {
  constexpr uint64_t kRecords = 3000;
  testing::TempDir tmp;
  Signer key = *Signer::Generate("kars.test/async");
  LogOptions o;
  o.signer = key;
  o.checkpoint_every_records = 500;
  o.segment_size = 64 << 10;  // rotations while appends are in flight
  std::unique_ptr<Log> log = *Log::Open(tmp.Sub("log"), o);
  InFlight inflight;
  std::vector<uint64_t> acked_order;  // written only by the writer thread's callbacks
  std::atomic<uint64_t> acked_before_durable{0};
  std::vector<uint64_t> returned;
  for (uint64_t i = 0; i < kRecords; ++i) {
    inflight.WaitBelow(64);
    inflight.Add();
    auto rec = testing::MakeRecord(i);
    rec.set_rule_id(std::to_string(i));
    Log* raw = log.get();
    absl::StatusOr<uint64_t> index =
        log->AppendAsync(rec, [&, raw](absl::StatusOr<uint64_t> result) {
          ASSERT_TRUE(result.ok()) << result.status();
          // Acknowledged means durable: the log's size already covers the record.
          if (raw->Size() <= *result) acked_before_durable.fetch_add(1);
          acked_order.push_back(*result);
          inflight.Done();
        });
    ASSERT_TRUE(index.ok()) << index.status();
    returned.push_back(*index);
  }
  ASSERT_TRUE(log->Close().ok());  // acknowledges whatever is still queued
  EXPECT_EQ(inflight.acked(), kRecords);
  EXPECT_EQ(acked_before_durable.load(), 0u);
  ASSERT_EQ(acked_order.size(), kRecords);
  for (uint64_t i = 0; i < kRecords; ++i) {
    ASSERT_EQ(returned[i], i);
    ASSERT_EQ(acked_order[i], i);
  }
  for (uint64_t i = 0; i < kRecords; i += 97) {
    absl::StatusOr<v1::AuditRecord> rec = DecodeRecord(*log->Read(i));
    ASSERT_TRUE(rec.ok());
    EXPECT_EQ(rec->rule_id(), std::to_string(i));
    EXPECT_EQ(rec->sequence(), i);
  }
  VerifyOptions vo;
  vo.key = key.verifier();
  VerifyReport r = VerifyLog(tmp.Sub("log"), vo);
  EXPECT_TRUE(r.status.ok()) << r.Summary();
  EXPECT_EQ(r.records, kRecords);
}

TEST(AsyncAppendTest, CloseAcknowledgesEveryQueuedAppendBeforeReturning) {
  testing::TempDir tmp;
  std::unique_ptr<Log> log = *Log::Open(tmp.Sub("log"), LogOptions{});
  std::atomic<int> acked{0};
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(log->AppendAsync(testing::MakeRecord(i), [&](absl::StatusOr<uint64_t> r) {
                     EXPECT_TRUE(r.ok()) << r.status();
                     acked.fetch_add(1);
                   }).ok());
  }
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(acked.load(), 500);
  EXPECT_EQ(log->Size(), 500u);
}

TEST(AsyncAppendTest, ACallbackMayQueueTheNextAppend) {
  testing::TempDir tmp;
  std::unique_ptr<Log> log = *Log::Open(tmp.Sub("log"), LogOptions{});
  InFlight done;
  done.Add();
  std::function<void(absl::StatusOr<uint64_t>)> next = [&](absl::StatusOr<uint64_t> r) {
    ASSERT_TRUE(r.ok()) << r.status();
    if (*r + 1 == 50) return done.Done();
    ASSERT_TRUE(log->AppendAsync(testing::MakeRecord(*r + 1), next).ok());
  };
  ASSERT_TRUE(log->AppendAsync(testing::MakeRecord(0), next).ok());
  done.WaitBelow(1);
  EXPECT_EQ(log->Size(), 50u);
}

TEST(AsyncAppendTest, ARejectedAppendQueuesNothingAndNeverCallsBack) {
  testing::TempDir tmp;
  LogOptions o;
  o.max_record_size = 512;
  std::unique_ptr<Log> log = *Log::Open(tmp.Sub("log"), o);
  std::atomic<int> called{0};
  auto count = [&](absl::StatusOr<uint64_t>) { called.fetch_add(1); };
  EXPECT_EQ(ToCStatus(log->AppendAsync(testing::MakeRecord(0, 1000), count).status()),
            KARS_E_EXHAUSTED);
  EXPECT_EQ(ToCStatus(log->AppendEncodedAsync("\xff\xff", count).status()),
            KARS_E_INVALID_ARGUMENT);
  EXPECT_EQ(ToCStatus(log->AppendAsync(testing::MakeRecord(0), nullptr).status()),
            KARS_E_INVALID_ARGUMENT);
  ASSERT_TRUE(log->AppendAsync(testing::MakeRecord(1), count).ok());
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(ToCStatus(log->AppendAsync(testing::MakeRecord(2), count).status()),
            KARS_E_PRECONDITION);
  EXPECT_EQ(called.load(), 1);
  EXPECT_EQ(log->Size(), 1u);
}

// Storage that fails mid-stream (a file-size limit makes the segment write fail with EFBIG):
// every queued append is still settled exactly once, acknowledged ones are on disk, and the
// rest report the I/O error. Runs in a child process because the limit is process-wide.
TEST(AsyncAppendTest, AStorageFailureSettlesEveryQueuedAppendWithTheError) {
  testing::TempDir tmp;
  const std::string dir = tmp.Sub("log");
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(report[0]);
    signal(SIGXFSZ, SIG_IGN);
    LogOptions o;
    o.segment_size = 1 << 30;
    std::unique_ptr<Log> log = *Log::Open(dir, o);
    const rlimit limit{200 << 10, 200 << 10};  // segment and index stay small; no rotation
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(3);
    std::atomic<uint64_t> ok{0}, failed{0}, acked_max{0};
    std::atomic<bool> wrong{false};
    uint64_t queued = 0;
    InFlight inflight;  // small batches, so that some succeed before the limit is hit
    for (int i = 0; i < 4000; ++i) {
      inflight.WaitBelow(16);
      inflight.Add();
      absl::StatusOr<uint64_t> index =
          log->AppendAsync(testing::MakeRecord(i, 200), [&](absl::StatusOr<uint64_t> r) {
            inflight.Done();
            if (r.ok()) {
              ok.fetch_add(1);
              acked_max = std::max(acked_max.load(), *r + 1);
            } else {
              if (ToCStatus(r.status()) != KARS_E_IO) wrong = true;
              failed.fetch_add(1);
            }
          });
      if (!index.ok()) {
        if (ToCStatus(index.status()) != KARS_E_IO) wrong = true;
        break;
      }
      ++queued;
    }
    log->Close().IgnoreError();
    const uint64_t line[4] = {queued, ok.load(), failed.load(), wrong.load() ? 1u : 0u};
    if (write(report[1], line, sizeof line) != sizeof line) _exit(4);
    _exit(acked_max.load() == ok.load() ? 0 : 5);
  }
  close(report[1]);
  uint64_t line[4] = {};
  ASSERT_EQ(read(report[0], line, sizeof line), static_cast<ssize_t>(sizeof line));
  close(report[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "acknowledged appends were not a prefix of the log";
  const auto [queued, ok, failed, wrong] = std::tuple(line[0], line[1], line[2], line[3]);
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(ok + failed, queued) << "some queued append was never settled";
  EXPECT_GT(ok, 0u);
  EXPECT_GT(failed + (queued < 4000 ? 1 : 0), 0u) << "the size limit never made storage fail";
  // What was acknowledged survives: reopening cuts any torn tail and keeps every record.
  absl::StatusOr<std::unique_ptr<Log>> reopened = Log::Open(dir, LogOptions{});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_GE((*reopened)->Size(), ok);
  ASSERT_TRUE((*reopened)->Close().ok());
  EXPECT_TRUE(VerifyLog(dir, VerifyOptions{}).status.ok());
}

}  // namespace
}  // namespace kars::audit
