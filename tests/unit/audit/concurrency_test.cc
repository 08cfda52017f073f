// Many appenders at once: every record lands exactly once and the tree stays valid.
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "libkars/audit/checkpoint.h"
#include "libkars/audit/log.h"
#include "libkars/audit/merkle.h"
#include "libkars/audit/record.h"
#include "libkars/audit/verify.h"
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

}  // namespace
}  // namespace kars::audit
