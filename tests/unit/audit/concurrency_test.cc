// Many appenders at once: every record lands exactly once and the tree stays valid.
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "libkars/audit/checkpoint.h"
#include "libkars/audit/log.h"
#include "libkars/audit/merkle.h"
#include "libkars/audit/record.h"
#include "libkars/audit/verify.h"
#include "libkars/base/status.h"
#include "tests/unit/audit/test_util.h"

namespace kars::audit {
namespace {

TEST(ConcurrencyTest, EightThreadsAppendEveryRecordExactlyOnce) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  testing::TempDir tmp;
  Signer key = *Signer::Generate("kars.test/concurrent");
  LogOptions o;
  o.signer = key;
  o.checkpoint_every_records = 300;
  o.segment_size = 64 << 10;  // rotate while appenders race
  auto log = Log::Open(tmp.Sub("log"), o);
  ASSERT_TRUE(log.ok());
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto rec = testing::MakeRecord(static_cast<uint64_t>(i));
        rec.mutable_principal()->set_agent("thread-" + std::to_string(t));
        rec.set_rule_id(std::to_string(i));
        auto idx = (*log)->Append(rec);
        ASSERT_TRUE(idx.ok()) << idx.status();
        got[t].push_back(*idx);
      }
    });
  }
  // Proofs and reads run against the growing log at the same time.
  std::thread reader([&] {
    for (int k = 0; k < 200; ++k) {
      const uint64_t n = (*log)->Size();
      if (n == 0) continue;
      auto p = (*log)->Inclusion(n / 2, n);
      ASSERT_TRUE(p.ok()) << p.status();
      ASSERT_TRUE(VerifyInclusion(LeafHash(*(*log)->Read(n / 2)), n / 2, n, p->path,
                                  *(*log)->Root(n)).ok());
    }
  });
  for (auto& th : threads) th.join();
  reader.join();
  const uint64_t total = kThreads * kPerThread;
  EXPECT_EQ((*log)->Size(), total);
  std::set<uint64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    // Each thread's own appends are ordered, and every index is handed out once.
    EXPECT_TRUE(std::is_sorted(got[t].begin(), got[t].end()));
    all.insert(got[t].begin(), got[t].end());
  }
  EXPECT_EQ(all.size(), total);
  EXPECT_EQ(*all.rbegin(), total - 1);
  // The record at each index is the one its thread was told it got.
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; i += 50) {
      auto rec = DecodeRecord(*(*log)->Read(got[t][i]));
      EXPECT_EQ(rec->principal().agent(), "thread-" + std::to_string(t));
      EXPECT_EQ(rec->rule_id(), std::to_string(i));
      EXPECT_EQ(rec->sequence(), got[t][i]);
    }
  }
  ASSERT_TRUE((*log)->Close().ok());
  VerifyOptions vo;
  vo.key = key.verifier();
  VerifyReport r = VerifyLog(tmp.Sub("log"), vo);
  EXPECT_TRUE(r.status.ok()) << r.Summary();
  EXPECT_EQ(r.records, total);
  EXPECT_GT(r.checkpoints_verified, 1u);
}

// Retention racing appends, rotation, reads and proofs: every kept record stays readable and
// provable, dropped ones fail with NOT_FOUND, and the log verifies afterwards.
TEST(ConcurrencyTest, RetentionRacesAppendsReadsAndProofs) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 400;
  testing::TempDir tmp;
  Signer key = *Signer::Generate("kars.test/concurrent");
  LogOptions o;
  o.signer = key;
  o.checkpoint_every_records = 200;
  o.segment_size = 8 << 10;
  auto log = *Log::Open(tmp.Sub("log"), o);
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto rec = testing::MakeRecord(static_cast<uint64_t>(i), 100);
        rec.set_rule_id(std::to_string(t) + "-" + std::to_string(i));
        ASSERT_TRUE(log->Append(rec).ok());
      }
    });
  }
  std::thread retainer([&] {
    while (!done) {
      const uint64_t n = log->Size();
      if (n > 300) {
        auto kept = log->Retain(n - 300);
        ASSERT_TRUE(kept.ok()) << kept.status();
        ASSERT_LE(*kept, n - 300);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::thread reader([&] {
    while (!done) {
      const uint64_t n = log->Size();
      if (n < 2) continue;
      const uint64_t i = n - 2;  // recent: kept unless retention overtakes it
      auto bytes = log->Read(i);
      auto p = log->Inclusion(i, n);
      if (!bytes.ok() || !p.ok()) {
        ASSERT_EQ(ToCStatus(bytes.ok() ? p.status() : bytes.status()), KARS_E_NOT_FOUND);
        continue;
      }
      ASSERT_TRUE(VerifyInclusion(LeafHash(*bytes), i, n, p->path, *log->Root(n)).ok());
      if (log->FirstIndex() > 0) {
        EXPECT_EQ(ToCStatus(log->Read(log->FirstIndex() - 1).status()), KARS_E_NOT_FOUND);
      }
    }
  });
  for (auto& th : threads) th.join();
  done = true;
  retainer.join();
  reader.join();
  const uint64_t first = log->FirstIndex();
  EXPECT_GT(first, 0u);
  EXPECT_EQ(log->Size(), uint64_t{kThreads * kPerThread});
  ASSERT_TRUE(log->Close().ok());
  VerifyOptions vo;
  vo.key = key.verifier();
  VerifyReport r = VerifyLog(tmp.Sub("log"), vo);
  EXPECT_TRUE(r.status.ok()) << r.Summary();
  EXPECT_EQ(r.first_index, first);
  EXPECT_EQ(r.records, uint64_t{kThreads * kPerThread});
}

}  // namespace
}  // namespace kars::audit
