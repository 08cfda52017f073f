// Retention: dropping old segments keeps what remains verifiable, provable and crash-safe.
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "gtest/gtest.h"
#include "libkars/audit/checkpoint.h"
#include "libkars/audit/log.h"
#include "libkars/audit/merkle.h"
#include "libkars/audit/segment.h"
#include "libkars/audit/tree.h"
#include "libkars/audit/verify.h"
#include "libkars/base/status.h"
#include "tests/unit/audit/test_util.h"

namespace kars::audit {
namespace {

using testing::MakeRecord;
using testing::TempDir;

// A tree that forgot its first `base` leaves answers every proof at or beyond the base exactly
// as the full tree does.
TEST(PrunedTree, ProvesEverythingAtOrBeyondItsBaseLikeTheFullTree) {
  HashTree full;
  for (int i = 0; i < 70; ++i) full.AppendLeaf("leaf " + std::to_string(i));
  for (uint64_t base = 0; base <= 70; ++base) {
    HashTree dropped = full;
    dropped.DropBefore(base);
    // Rebuilt from the saved state alone, as a reopened log does.
    HashTree restored = *HashTree::FromFrontier(base, FrontierOf(full, base));
    for (uint64_t i = base; i < 70; ++i) restored.AppendLeafHash(full.leaf_hash(i));
    for (const HashTree* t : {&dropped, &restored}) {
      ASSERT_EQ(t->size(), 70u);
      for (uint64_t n = std::max<uint64_t>(base, 1); n <= 70; ++n) {
        ASSERT_EQ(*t->Root(n), *full.Root(n)) << base << " " << n;
        for (uint64_t i = base; i < n; ++i) {
          ASSERT_EQ(*t->Inclusion(i, n), *full.Inclusion(i, n)) << base << " " << i << " " << n;
        }
        for (uint64_t m = base; m <= n; ++m) {
          if (m == 0) continue;
          ASSERT_EQ(*t->Consistency(m, n), *full.Consistency(m, n)) << base << " " << m << " " << n;
        }
      }
      if (base > 0) {
        EXPECT_EQ(ToCStatus(t->Inclusion(base - 1, 70).status()), KARS_E_NOT_FOUND);
        EXPECT_EQ(ToCStatus(t->Root(base - 1).status()),
                  base == 1 ? KARS_OK : KARS_E_NOT_FOUND);  // size 0 is the empty tree
      }
    }
  }
}

class RetentionTest : public ::testing::Test {
 protected:
  LogOptions Opts() {
    LogOptions o;
    o.signer = key_;
    o.origin = "kars.test/retain";
    o.segment_size = 4096;  // about 12 records of 300 bytes per segment
    o.checkpoint_every_records = 0;
    return o;
  }
  std::unique_ptr<Log> Filled(uint64_t n) {
    auto log = Log::Open(dir_, Opts());
    EXPECT_TRUE(log.ok()) << log.status();
    for (uint64_t i = 0; i < n; ++i) EXPECT_TRUE((*log)->Append(MakeRecord(i, 200)).ok());
    return *std::move(log);
  }
  std::vector<uint64_t> SegmentStarts() {
    std::vector<uint64_t> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      uint64_t first;
      if (ParseSegmentFileName(e.path().filename().string(), &first)) out.push_back(first);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  VerifyReport Verify(std::vector<std::string> external = {}) {
    VerifyOptions vo;
    vo.key = key_.verifier();
    vo.external_checkpoints = std::move(external);
    return VerifyLog(dir_, vo);
  }

  TempDir tmp_;
  std::string dir_ = tmp_.Sub("log");
  Signer key_ = *Signer::Generate("kars.test/retain");
};

TEST_F(RetentionTest, DropsWholeSegmentsAndTheRestStillVerifiesProvesAndReopens) {
  auto log = Filled(100);
  const std::vector<uint64_t> starts = SegmentStarts();
  ASSERT_GT(starts.size(), 4u);
  auto early = log->CheckpointNow();
  ASSERT_TRUE(early.ok());
  const Hash root100 = *log->Root(100);
  const uint64_t before = starts[3] + 1;  // inside the fourth segment: it is kept whole
  auto kept = log->Retain(before);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(*kept, starts[3]);
  EXPECT_EQ(log->FirstIndex(), starts[3]);
  EXPECT_EQ(SegmentStarts().front(), starts[3]);

  // Dropped records: a distinct, clear error for reads and proofs.
  auto gone = log->Read(0);
  EXPECT_EQ(ToCStatus(gone.status()), KARS_E_NOT_FOUND);
  EXPECT_NE(gone.status().message().find("retention"), std::string::npos) << gone.status();
  EXPECT_EQ(ToCStatus(log->Inclusion(starts[3] - 1, 100).status()), KARS_E_NOT_FOUND);
  EXPECT_EQ(ToCStatus(log->Consistency(starts[3] - 1, 100).status()), KARS_E_NOT_FOUND);
  // Kept records: proofs against the signed root, as before retention.
  EXPECT_EQ(*log->Root(100), root100);
  for (uint64_t i = starts[3]; i < 100; ++i) {
    auto p = log->Inclusion(i, 100);
    ASSERT_TRUE(p.ok()) << p.status();
    ASSERT_TRUE(VerifyInclusion(LeafHash(*log->Read(i)), i, 100, p->path, root100).ok()) << i;
  }
  // Appends continue, rotation continues from the pruned tree.
  for (uint64_t i = 100; i < 130; ++i) ASSERT_TRUE(log->Append(MakeRecord(i, 200)).ok());
  auto c = log->Consistency(starts[3], 130);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(VerifyConsistency(starts[3], 130, *log->Root(starts[3]), *log->Root(130), c->path).ok());
  ASSERT_TRUE(log->Close().ok());
  log.reset();

  VerifyReport r = Verify({early->note});
  EXPECT_TRUE(r.status.ok()) << r.Summary();
  EXPECT_EQ(r.records, 130u);
  EXPECT_EQ(r.first_index, starts[3]);
  EXPECT_GE(r.checkpoints_verified, 2u);

  auto reopened = Log::Open(dir_, Opts());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->FirstIndex(), starts[3]);
  EXPECT_EQ((*reopened)->Size(), 130u);
  EXPECT_EQ(*(*reopened)->Root(100), root100);
  EXPECT_TRUE((*reopened)->Read(starts[3]).ok());
  EXPECT_EQ(ToCStatus((*reopened)->Read(starts[3] - 1).status()), KARS_E_NOT_FOUND);
  // Retaining again (and retaining nothing) works on a reopened log.
  auto again = (*reopened)->Retain(starts[3]);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, starts[3]);
  EXPECT_EQ(ToCStatus((*reopened)->Retain(131).status()), KARS_E_INVALID_ARGUMENT);
}

TEST_F(RetentionTest, ReadOnlyLogsCannotRetain) {
  Filled(30)->Close().IgnoreError();
  LogOptions o = Opts();
  o.read_only = true;
  auto ro = Log::Open(dir_, o);
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ(ToCStatus((*ro)->Retain(20).status()), KARS_E_PRECONDITION);
}

// The carried tree state is what the rest verifies from: altering it is caught, with or without
// a fixed-up header checksum.
TEST_F(RetentionTest, TamperedCarriedStateIsDetected) {
  auto log = Filled(60);
  const std::vector<uint64_t> starts = SegmentStarts();
  ASSERT_TRUE(log->Retain(starts[2]).ok());
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  ASSERT_TRUE(Verify().status.ok()) << Verify().Summary();
  const std::string seg = dir_ + "/" + SegmentFileName(starts[2]);
  const std::string original = testing::ReadAll(seg);
  size_t header_size = 0;
  SegmentHeader header = *DecodeSegmentHeader(original, &header_size);
  ASSERT_FALSE(header.frontier.empty());

  std::string flipped = original;
  flipped[20] ^= 1;  // the first carried hash, checksum left as it was
  testing::WriteAllTo(seg, flipped);
  VerifyReport r = Verify();
  EXPECT_EQ(ToCStatus(r.status), KARS_E_TAMPERED) << r.Summary();
  EXPECT_EQ(r.first_bad_index, starts[2]);

  header.frontier[0][0] ^= 1;  // a consistent header around a false state
  std::string forged = EncodeSegmentHeader(header) + original.substr(header_size);
  testing::WriteAllTo(seg, forged);
  r = Verify();
  EXPECT_EQ(ToCStatus(r.status), KARS_E_TAMPERED) << r.Summary();
  EXPECT_EQ(r.first_bad_index, starts[2]) << r.Summary();
  EXPECT_NE(r.status.message().find("tree state"), std::string::npos) << r.Summary();
  EXPECT_EQ(ToCStatus(Log::Open(dir_, Opts()).status()), KARS_E_TAMPERED);
}

// Each step of a retention interrupted (as kill -9 would), then reopened: the log opens, finishes
// the job, verifies, and keeps every acknowledged record from the first kept one.
TEST_F(RetentionTest, InterruptedRetentionIsFinishedOnOpen) {
  auto log = Filled(80);
  ASSERT_TRUE(log->CheckpointNow().ok());
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  const std::vector<uint64_t> starts = SegmentStarts();
  const uint64_t n = starts[3];
  const std::string journal = dir_ + "/" + kRetainFile;
  const std::string index = dir_ + "/" + kIndexFile;
  const std::string full_index = testing::ReadAll(index);
  const std::string new_index = full_index.substr(n * kIndexEntryBytes);
  struct Step {
    const char* what;
    bool new_index;
    size_t segments_removed;
  };
  for (const Step& step : {Step{"journal written", false, 0}, Step{"index rewritten", true, 0},
                           Step{"one segment removed", true, 1},
                           Step{"all segments removed", true, 3}}) {
    SCOPED_TRACE(step.what);
    TempDir copy;
    const std::string d = copy.Sub("log");
    std::filesystem::copy(dir_, d);
    testing::WriteAllTo(d + "/" + kRetainFile, "retain-before " + std::to_string(n) + "\n");
    if (step.new_index) testing::WriteAllTo(d + "/" + kIndexFile, new_index);
    for (size_t k = 0; k < step.segments_removed; ++k) {
      std::filesystem::remove(d + "/" + SegmentFileName(starts[k]));
    }
    // Until it is finished, readers are told why they cannot open; verify still works.
    LogOptions ro = Opts();
    ro.read_only = true;
    EXPECT_EQ(ToCStatus(Log::Open(d, ro).status()), KARS_E_PRECONDITION);
    VerifyOptions vo;
    vo.key = key_.verifier();
    VerifyReport mid = VerifyLog(d, vo);
    EXPECT_TRUE(mid.status.ok()) << mid.Summary();

    auto reopened = Log::Open(d, Opts());
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    EXPECT_NE((*reopened)->open_report().notes.find("retention"), std::string::npos);
    EXPECT_EQ((*reopened)->FirstIndex(), n);
    EXPECT_EQ((*reopened)->Size(), 80u);
    for (uint64_t i = n; i < 80; ++i) ASSERT_TRUE((*reopened)->Read(i).ok()) << i;
    ASSERT_TRUE((*reopened)->Append(MakeRecord(80, 200)).ok());
    ASSERT_TRUE((*reopened)->Close().ok());
    reopened->reset();
    EXPECT_FALSE(std::filesystem::exists(d + "/" + kRetainFile));
    VerifyReport after = VerifyLog(d, vo);
    EXPECT_TRUE(after.status.ok()) << after.Summary();
    EXPECT_EQ(after.records, 81u);
    EXPECT_EQ(after.first_index, n);
  }
}

}  // namespace
}  // namespace kars::audit
