// Every kind of tampering verify must catch, with the first bad index and the reason.
#include "gtest/gtest.h"
#include "libkars/audit/checkpoint.h"
#include "libkars/audit/log.h"
#include "libkars/audit/record.h"
#include "libkars/audit/segment.h"
#include "libkars/audit/verify.h"
#include "libkars/base/status.h"
#include "tests/unit/audit/test_util.h"

namespace kars::audit {
namespace {

using testing::MakeRecord;
using testing::ReadAll;
using testing::TempDir;
using testing::WriteAllTo;

constexpr uint64_t kRecords = 20;

struct SegmentFile {
  std::string header;
  std::vector<std::string> records;
};

SegmentFile ParseSegment(const std::string& path) {
  std::string bytes = ReadAll(path);
  size_t header_size = 0;
  EXPECT_TRUE(DecodeSegmentHeader(bytes, &header_size).ok());
  SegmentFile f;
  f.header = bytes.substr(0, header_size);
  ScanFrames(bytes, header_size, [&](size_t, absl::string_view rec, const Hash&) {
    f.records.emplace_back(rec);
    return true;
  });
  return f;
}

// Rewrites a segment as a careful attacker would: valid frames and, optionally, a matching index.
void WriteSegment(const std::string& dir, const SegmentFile& f, bool rewrite_index) {
  std::string bytes = f.header;
  std::string index;
  for (const std::string& rec : f.records) {
    AppendIndexEntry(&index, LeafHash(rec), bytes.size());
    AppendFrame(&bytes, rec, LeafHash(rec));
  }
  WriteAllTo(dir + "/segment-00000000000000000000.kseg", bytes);
  if (rewrite_index) WriteAllTo(dir + "/leaves.kidx", index);
}

std::string Reencode(const std::string& stored, const std::string& new_rule) {
  auto rec = *DecodeRecord(stored);
  rec.set_rule_id(new_rule);
  std::string out;
  rec.SerializeToString(&out);
  return out;
}

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LogOptions o;
    o.signer = key_;
    o.origin = "kars.test/tamper";
    o.checkpoint_every_records = 0;
    o.checkpoint_every = absl::ZeroDuration();  // checkpoints exactly every 5, by hand
    o.durability = Durability::kInterval;
    auto log = Log::Open(dir_, o);
    ASSERT_TRUE(log.ok()) << log.status();
    for (uint64_t i = 0; i < kRecords; ++i) {
      ASSERT_TRUE((*log)->Append(MakeRecord(i)).ok());
      if ((i + 1) % 5 == 0) {
        ASSERT_TRUE((*log)->CheckpointNow().ok());
      }
    }
    ASSERT_TRUE((*log)->Close().ok());
    segment_ = dir_ + "/segment-00000000000000000000.kseg";
    ASSERT_TRUE(Verify().status.ok()) << Verify().Summary();
  }

  VerifyReport Verify(std::vector<std::string> external = {}) {
    VerifyOptions vo;
    vo.key = key_.verifier();
    vo.external_checkpoints = std::move(external);
    return VerifyLog(dir_, vo);
  }

  void ExpectTampered(const VerifyReport& r, std::optional<uint64_t> index, const char* why) {
    EXPECT_EQ(ToCStatus(r.status), KARS_E_TAMPERED) << r.Summary();
    EXPECT_EQ(r.first_bad_index, index) << r.Summary();
    EXPECT_NE(r.status.message().find(why), std::string::npos) << r.Summary();
  }

  TempDir tmp_;
  std::string dir_ = tmp_.Sub("log");
  std::string segment_;
  Signer key_ = *Signer::Generate("kars.test/tamper");
};

TEST_F(TamperTest, IntactLogVerifiesWithEveryCheckpoint) {
  VerifyReport r = Verify();
  EXPECT_EQ(r.records, kRecords);
  EXPECT_EQ(r.checkpoints_verified, 4u);
}

TEST_F(TamperTest, ChangedByteInARecord) {
  SegmentFile f = ParseSegment(segment_);
  std::string bytes = ReadAll(segment_);
  const size_t at = bytes.find(f.records[7]) + 10;
  bytes[at] ^= 0x01;
  WriteAllTo(segment_, bytes);
  ExpectTampered(Verify(), 7, "changed");
}

TEST_F(TamperTest, ChangedRecordWithRecomputedFramesAndIndex) {
  SegmentFile f = ParseSegment(segment_);
  f.records[7] = Reencode(f.records[7], "rule-forged");
  WriteSegment(dir_, f, true);
  // Nothing local betrays it but the signed root of size 10: the bad record is in [5, 10).
  ExpectTampered(Verify(), 5, "signed for tree size 10");
}

TEST_F(TamperTest, ChangedRecordWithRecomputedFramesButOldIndex) {
  SegmentFile f = ParseSegment(segment_);
  f.records[12] = Reencode(f.records[12], "rule-forged");
  WriteSegment(dir_, f, false);
  ExpectTampered(Verify(), 12, "differs from the index");
}

TEST_F(TamperTest, RemovedRecord) {
  SegmentFile f = ParseSegment(segment_);
  f.records.erase(f.records.begin() + 7);
  WriteSegment(dir_, f, true);
  ExpectTampered(Verify(), 7, "record 7 was removed");
}

TEST_F(TamperTest, ReorderedRecords) {
  SegmentFile f = ParseSegment(segment_);
  std::swap(f.records[7], f.records[8]);
  WriteSegment(dir_, f, true);
  ExpectTampered(Verify(), 7, "position 7 holds record 8");
}

TEST_F(TamperTest, InsertedRecord) {
  SegmentFile f = ParseSegment(segment_);
  f.records.insert(f.records.begin() + 8, f.records[7]);
  WriteSegment(dir_, f, true);
  ExpectTampered(Verify(), 8, "inserted");
}

TEST_F(TamperTest, TruncatedAtARecordBoundary) {
  SegmentFile f = ParseSegment(segment_);
  f.records.resize(18);
  WriteSegment(dir_, f, true);
  ExpectTampered(Verify(), 18, "truncated");
  // The log refuses to open rather than carry on without the signed records.
  LogOptions o;
  o.signer = key_;
  EXPECT_EQ(ToCStatus(Log::Open(dir_, o).status()), KARS_E_TAMPERED);
}

TEST_F(TamperTest, TruncatedIndexAndSegmentButNotCheckpoints) {
  SegmentFile f = ParseSegment(segment_);
  f.records.resize(12);
  WriteSegment(dir_, f, false);
  ExpectTampered(Verify(), 12, "truncated");
}

TEST_F(TamperTest, BadCheckpointSignature) {
  const std::string path = dir_ + "/checkpoints.knotes";
  std::string bytes = ReadAll(path);
  std::vector<std::string> notes;
  ScanFrames(bytes, 0, [&](size_t, absl::string_view n, const Hash&) {
    notes.emplace_back(n);
    return true;
  });
  ASSERT_EQ(notes.size(), 4u);
  Note n = *ParseNote(notes[1]);
  n.signatures[0].signature[5] ^= 0x20;
  notes[1] = FormatNote(n);
  std::string out;
  for (const auto& note : notes) AppendFrame(&out, note, LeafHash(note));
  WriteAllTo(path, out);
  VerifyReport r = Verify();
  EXPECT_EQ(ToCStatus(r.status), KARS_E_TAMPERED) << r.Summary();
  EXPECT_NE(r.status.message().find("checkpoint 1"), std::string::npos) << r.Summary();
  EXPECT_NE(r.status.message().find("does not verify"), std::string::npos) << r.Summary();
}

TEST_F(TamperTest, WrongKeyIsDenied) {
  VerifyOptions vo;
  vo.key = Signer::Generate("kars.test/tamper")->verifier();
  VerifyReport r = VerifyLog(dir_, vo);
  EXPECT_EQ(ToCStatus(r.status), KARS_E_DENIED) << r.Summary();
}

TEST_F(TamperTest, RewrittenAndResignedHistoryContradictsAnEarlierCheckpoint) {
  // A client kept the checkpoint of size 10. The operator, who holds the key, rewrites record 3
  // and re-signs every checkpoint: the log is self-consistent again, but not with the client's.
  LogOptions ro;
  ro.read_only = true;
  std::string kept = (*(*Log::Open(dir_, ro))->CheckpointAt(10)).note;
  SegmentFile f = ParseSegment(segment_);
  f.records[3] = Reencode(f.records[3], "rule-forged");
  WriteSegment(dir_, f, true);
  HashTree t;
  for (const auto& rec : f.records) t.AppendLeaf(rec);
  std::string cps;
  for (uint64_t size = 5; size <= kRecords; size += 5) {
    std::string note = *SignCheckpoint(key_, Checkpoint{"kars.test/tamper", size, *t.Root(size), {}});
    AppendFrame(&cps, note, LeafHash(note));
  }
  WriteAllTo(dir_ + "/checkpoints.knotes", cps);
  EXPECT_TRUE(Verify().status.ok()) << "self-consistent after re-signing";
  VerifyReport r = Verify({kept});
  EXPECT_EQ(ToCStatus(r.status), KARS_E_TAMPERED) << r.Summary();
  EXPECT_NE(r.status.message().find("forked"), std::string::npos) << r.Summary();
}

TEST_F(TamperTest, CheckpointsOutOfOrder) {
  const std::string path = dir_ + "/checkpoints.knotes";
  std::string bytes = ReadAll(path);
  std::vector<std::string> notes;
  ScanFrames(bytes, 0, [&](size_t, absl::string_view n, const Hash&) {
    notes.emplace_back(n);
    return true;
  });
  std::swap(notes[1], notes[2]);
  std::string out;
  for (const auto& note : notes) AppendFrame(&out, note, LeafHash(note));
  WriteAllTo(path, out);
  ExpectTampered(Verify(), 10, "smaller than an earlier checkpoint");
}

TEST_F(TamperTest, NotALogDirectory) {
  TempDir other;
  VerifyOptions vo;
  VerifyReport r = VerifyLog(other.path(), vo);
  EXPECT_EQ(ToCStatus(r.status), KARS_E_INVALID_ARGUMENT) << r.Summary();
}

}  // namespace
}  // namespace kars::audit
