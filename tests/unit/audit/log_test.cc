// The log's semantics on real files: append, read, reopen, rotation, checkpoints, bad input.
#include "libkars/audit/log.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "libkars/audit/checkpoint.h"
#include "libkars/audit/merkle.h"
#include "libkars/audit/record.h"
#include "libkars/audit/segment.h"
#include "libkars/audit/verify.h"
#include "libkars/base/status.h"
#include "tests/unit/audit/test_util.h"

namespace kars::audit {
namespace {

using testing::MakeRecord;
using testing::TempDir;

LogOptions Opts(const Signer& key) {
  LogOptions o;
  o.signer = key;
  o.origin = "kars.test/log";
  return o;
}

class LogTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string dir_ = tmp_.Sub("log");
  Signer key_ = *Signer::Generate("kars.test/log");
};

TEST_F(LogTest, AppendsReadsAndContinuesTheSameLogAfterReopen) {
  Hash root5;
  {
    auto log = Log::Open(dir_, Opts(key_));
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_TRUE((*log)->open_report().created);
    for (uint64_t i = 0; i < 5; ++i) {
      auto idx = (*log)->Append(MakeRecord(i));
      ASSERT_TRUE(idx.ok()) << idx.status();
      EXPECT_EQ(*idx, i);
    }
    EXPECT_EQ((*log)->Size(), 5u);
    auto bytes = (*log)->Read(3);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    auto rec = DecodeRecord(*bytes);
    EXPECT_EQ(rec->sequence(), 3u);
    EXPECT_EQ(rec->rule_id(), "rule-3");
    root5 = *(*log)->Root(5);
    ASSERT_TRUE((*log)->Close().ok());
    // A clean close signs the final state.
    auto cp = (*log)->LatestCheckpoint();
    ASSERT_TRUE(cp.ok());
    EXPECT_EQ(cp->size, 5u);
  }
  auto log = Log::Open(dir_, Opts(key_));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_FALSE((*log)->open_report().created);
  EXPECT_EQ((*log)->Size(), 5u);
  EXPECT_EQ(*(*log)->Append(MakeRecord(5)), 5u);
  auto proof = (*log)->Consistency(5, 6);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(VerifyConsistency(5, 6, root5, *(*log)->Root(6), proof->path).ok());
  auto cp = (*log)->CheckpointNow();
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->size, 6u);
  auto opened = OpenCheckpoint(cp->note, key_.verifier());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->origin, "kars.test/log");
  EXPECT_EQ(opened->root, *(*log)->Root(6));
  auto incl = (*log)->Inclusion(2, 6);
  ASSERT_TRUE(incl.ok());
  EXPECT_TRUE(VerifyInclusion(LeafHash(*(*log)->Read(2)), 2, 6, incl->path, opened->root).ok());
}

TEST_F(LogTest, EveryDurabilityModeAcknowledgesDurableRecords) {
  for (Durability d : {Durability::kEachAppend, Durability::kBatch, Durability::kInterval}) {
    TempDir t;
    LogOptions o = Opts(key_);
    o.durability = d;
    {
      auto log = Log::Open(t.Sub("l"), o);
      ASSERT_TRUE(log.ok()) << log.status();
      for (uint64_t i = 0; i < 20; ++i) ASSERT_EQ(*(*log)->Append(MakeRecord(i)), i);
    }
    auto log = Log::Open(t.Sub("l"), o);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->Size(), 20u);
    VerifyOptions vo;
    vo.key = key_.verifier();
    (*log)->Close().IgnoreError();
    VerifyReport r = VerifyLog(t.Sub("l"), vo);
    EXPECT_TRUE(r.status.ok()) << r.Summary();
    EXPECT_EQ(r.records, 20u);
  }
}

TEST_F(LogTest, RotatesSegmentsAndReadsAcrossThem) {
  LogOptions o = Opts(key_);
  o.segment_size = 4096;
  o.checkpoint_every_records = 50;
  {
    auto log = Log::Open(dir_, o);
    ASSERT_TRUE(log.ok());
    for (uint64_t i = 0; i < 300; ++i) ASSERT_EQ(*(*log)->Append(MakeRecord(i, 100)), i);
    for (uint64_t i = 0; i < 300; i += 37) {
      auto rec = DecodeRecord(*(*log)->Read(i));
      EXPECT_EQ(rec->sequence(), i);
    }
  }
  int segments = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    if (e.path().extension() == ".kseg") ++segments;
  }
  EXPECT_GT(segments, 5);
  VerifyOptions vo;
  vo.key = key_.verifier();
  VerifyReport r = VerifyLog(dir_, vo);
  EXPECT_TRUE(r.status.ok()) << r.Summary();
  EXPECT_EQ(r.records, 300u);
  EXPECT_GE(r.checkpoints_verified, 6u);  // every 50 records, and the final one
  auto log = Log::Open(dir_, o);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(*(*log)->Append(MakeRecord(300, 100)), 300u);
  EXPECT_EQ(DecodeRecord(*(*log)->Read(299))->sequence(), 299u);
}

TEST_F(LogTest, CheckpointsByTimeWhenRecordsArrive) {
  LogOptions o = Opts(key_);
  o.checkpoint_every_records = 0;
  o.checkpoint_every = absl::Milliseconds(20);
  auto log = Log::Open(dir_, o);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(MakeRecord(0)).ok());
  // Wait (bounded) for the timer: this checks behaviour, not speed. A slow open (sanitizers)
  // may let the timer sign the empty tree first; the record must be covered by a later tick.
  auto covers_record = [&] {
    auto cp = (*log)->LatestCheckpoint();
    return cp.ok() && cp->size == 1;
  };
  for (int i = 0; i < 500 && !covers_record(); ++i) absl::SleepFor(absl::Milliseconds(10));
  auto cp = (*log)->LatestCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->size, 1u);
}

// With nothing timed to do (no key, so no checkpoints) the writer sleeps until an append
// arrives: it must not spin on an infinite timeout.
TEST_F(LogTest, AnIdleLogWithoutTimersDoesNotSpin) {
  LogOptions o;
  auto log = Log::Open(dir_, o);
  ASSERT_TRUE(log.ok()) << log.status();
  auto cpu_ms = [] {
    rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000 +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000;
  };
  const long before = cpu_ms();
  absl::SleepFor(absl::Milliseconds(400));
  // A sleeping writer uses next to nothing; a spinning one all the CPU it gets (measured: 50+
  // ms of the 400 even on a machine loaded 6 threads per core).
  EXPECT_LT(cpu_ms() - before, 20);
  EXPECT_EQ(*(*log)->Append(MakeRecord(0)), 0u);  // and it still wakes for work
}

TEST_F(LogTest, OversizedRecordIsRejectedAndNothingIsAppended) {
  LogOptions o = Opts(key_);
  o.max_record_size = 1000;
  auto log = Log::Open(dir_, o);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(*(*log)->Append(MakeRecord(0)), 0u);
  auto big = (*log)->Append(MakeRecord(1, 2000));
  EXPECT_EQ(ToCStatus(big.status()), KARS_E_EXHAUSTED);
  EXPECT_NE(big.status().message().find("exceeds the limit"), std::string::npos);
  std::string raw;
  MakeRecord(1, 2000).SerializeToString(&raw);
  EXPECT_EQ(ToCStatus((*log)->AppendEncoded(raw).status()), KARS_E_EXHAUSTED);
  EXPECT_EQ(ToCStatus((*log)->AppendEncoded("\xff\xff\xff").status()), KARS_E_INVALID_ARGUMENT);
  auto with_seq = MakeRecord(1);
  with_seq.set_sequence(9);
  EXPECT_EQ(ToCStatus((*log)->Append(with_seq).status()), KARS_E_INVALID_ARGUMENT);
  EXPECT_EQ(*(*log)->Append(MakeRecord(1)), 1u);
  EXPECT_EQ((*log)->Size(), 2u);
}

TEST_F(LogTest, BadDirectoriesAndKeysHaveDistinctErrors) {
  LogOptions o = Opts(key_);
  o.create_if_missing = false;
  EXPECT_EQ(ToCStatus(Log::Open(dir_, o).status()), KARS_E_NOT_FOUND);

  std::filesystem::create_directories(tmp_.Sub("other"));
  testing::WriteAllTo(tmp_.Sub("other/notes.txt"), "hello");
  EXPECT_EQ(ToCStatus(Log::Open(tmp_.Sub("other"), Opts(key_)).status()), KARS_E_INVALID_ARGUMENT);

  auto log = Log::Open(dir_, Opts(key_));
  ASSERT_TRUE(log.ok());
  // One writer at a time.
  EXPECT_EQ(ToCStatus(Log::Open(dir_, Opts(key_)).status()), KARS_E_PRECONDITION);
  ASSERT_TRUE((*log)->Append(MakeRecord(0)).ok());
  ASSERT_TRUE((*log)->Close().ok());
  EXPECT_EQ(ToCStatus((*log)->Append(MakeRecord(1)).status()), KARS_E_PRECONDITION);
  log->reset();

  Signer other = *Signer::Generate("kars.test/log");
  EXPECT_EQ(ToCStatus(Log::Open(dir_, Opts(other)).status()), KARS_E_DENIED);
  LogOptions wrong_origin = Opts(key_);
  wrong_origin.origin = "kars.test/elsewhere";
  EXPECT_EQ(ToCStatus(Log::Open(dir_, wrong_origin).status()), KARS_E_INVALID_ARGUMENT);
  // Read-only opens share the directory with nothing and cannot append.
  LogOptions ro;
  ro.read_only = true;
  auto reader = Log::Open(dir_, ro);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->Size(), 1u);
  EXPECT_EQ(ToCStatus((*reader)->Append(MakeRecord(1)).status()), KARS_E_PRECONDITION);
  EXPECT_EQ(ToCStatus((*reader)->Read(1).status()), KARS_E_NOT_FOUND);
  EXPECT_EQ(ToCStatus((*reader)->Inclusion(0, 2).status()), KARS_E_INVALID_ARGUMENT);
}

TEST_F(LogTest, TornTailIsCutOnOpenAndReported) {
  {
    auto log = Log::Open(dir_, Opts(key_));
    for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE((*log)->Append(MakeRecord(i)).ok());
  }
  const std::string seg = dir_ + "/segment-00000000000000000000.kseg";
  std::string bytes = testing::ReadAll(seg);
  // Half a frame: what a crash in the middle of a write leaves.
  std::string frame = bytes.substr(bytes.size() - 40);
  testing::WriteAllTo(seg, bytes + std::string("\x30\x00\x00\x00\x01\x02\x03\x04partial", 15));
  VerifyOptions vo;
  vo.key = key_.verifier();
  VerifyReport before = VerifyLog(dir_, vo);
  EXPECT_TRUE(before.status.ok()) << before.Summary();
  EXPECT_FALSE(before.torn_tail.empty());
  auto log = Log::Open(dir_, Opts(key_));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->open_report().truncated_bytes, 15u);
  EXPECT_NE((*log)->open_report().notes.find("torn tail"), std::string::npos);
  EXPECT_EQ((*log)->Size(), 10u);
  EXPECT_EQ(*(*log)->Append(MakeRecord(10)), 10u);
  (*log)->Close().IgnoreError();
  VerifyReport after = VerifyLog(dir_, vo);
  EXPECT_TRUE(after.status.ok()) << after.Summary();
  EXPECT_TRUE(after.torn_tail.empty());
  EXPECT_EQ(after.records, 11u);
}

TEST_F(LogTest, RebuildsAnIndexThatLagsTheSegments) {
  {
    auto log = Log::Open(dir_, Opts(key_));
    for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE((*log)->Append(MakeRecord(i)).ok());
  }
  const std::string idx = dir_ + "/leaves.kidx";
  std::string bytes = testing::ReadAll(idx);
  testing::WriteAllTo(idx, bytes.substr(0, 4 * kIndexEntryBytes + 7));  // lost and torn entries
  auto log = Log::Open(dir_, Opts(key_));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->open_report().reindexed_records, 6u);
  EXPECT_EQ((*log)->Size(), 10u);
  EXPECT_EQ(testing::ReadAll(idx), bytes);
}

}  // namespace
}  // namespace kars::audit

namespace kars::audit {
namespace {

TEST_F(LogTest, ReadersOpenWhileAWriterAppendsAndSigns) {
  LogOptions o = Opts(key_);
  o.checkpoint_every_records = 10;
  auto writer = Log::Open(dir_, o);
  ASSERT_TRUE(writer.ok());
  std::atomic<bool> done{false};
  std::thread appender([&] {
    for (uint64_t i = 0; i < 400; ++i) ASSERT_TRUE((*writer)->Append(MakeRecord(i)).ok());
    done = true;
  });
  LogOptions ro;
  ro.read_only = true;
  int opened = 0;
  while (!done) {
    auto reader = Log::Open(dir_, ro);
    ASSERT_TRUE(reader.ok()) << reader.status();
    ++opened;
    const uint64_t n = (*reader)->Size();
    if (n > 0) {
      ASSERT_TRUE((*reader)->Read(n - 1).ok());
    }
    if (auto cp = (*reader)->LatestCheckpoint(); cp.ok()) {
      EXPECT_LE(cp->size, n);
    }
  }
  appender.join();
  EXPECT_GT(opened, 0);
}

}  // namespace
}  // namespace kars::audit
