// The standard proof encodings: bare RFC 6962 audit paths and C2SP tlog-proof, produced from the
// log and verified offline; every malformation is refused.
#include "libkars/audit/proof_wire.h"

#include "gtest/gtest.h"
#include "libkars/audit/checkpoint.h"
#include "libkars/audit/log.h"
#include "libkars/audit/offline.h"
#include "libkars/audit/record.h"
#include "libkars/base/status.h"
#include "tests/unit/audit/test_util.h"

namespace kars::audit {
namespace {

using testing::MakeRecord;

TEST(ProofWire, AuditPathIsTheHashesConcatenated) {
  std::vector<Hash> path = {LeafHash("a"), LeafHash("b"), LeafHash("c")};
  const std::string raw = EncodeAuditPath(path);
  ASSERT_EQ(raw.size(), 96u);
  EXPECT_EQ(raw.substr(32, 32), std::string(AsBytes(path[1])));
  EXPECT_EQ(*DecodeAuditPath(raw), path);
  EXPECT_TRUE(DecodeAuditPath("")->empty());
  EXPECT_EQ(ToCStatus(DecodeAuditPath(raw.substr(1)).status()), KARS_E_INVALID_ARGUMENT);
  EXPECT_EQ(ToCStatus(DecodeAuditPath(std::string(32 * (kMaxProofHashes + 1), 'x')).status()),
            KARS_E_INVALID_ARGUMENT);
}

TEST(ProofWire, TlogProofRoundTripsAndMatchesTheC2spLayout) {
  TlogProof p{73894, {LeafHash("x"), LeafHash("y")}, "extra data", "origin\n5\nAAAA\n\n— k sig\n"};
  const std::string text = FormatTlogProof(p);
  EXPECT_EQ(text.rfind("c2sp.org/tlog-proof@v1\nextra ZXh0cmEgZGF0YQ==\nindex 73894\n", 0), 0u)
      << text;
  EXPECT_NE(text.find("=\n\norigin\n5\n"), std::string::npos) << text;
  auto back = ParseTlogProof(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->index, p.index);
  EXPECT_EQ(back->path, p.path);
  EXPECT_EQ(back->extra, p.extra);
  EXPECT_EQ(back->checkpoint, p.checkpoint);
  p.extra.clear();
  p.path.clear();
  EXPECT_EQ(FormatTlogProof(p), "c2sp.org/tlog-proof@v1\nindex 73894\n\norigin\n5\nAAAA\n\n— k sig\n");
}

TEST(ProofWire, MalformedTlogProofsAreRefused) {
  const std::string h = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
  for (const std::string& bad : {
           std::string(""),
           std::string("c2sp.org/tlog-proof@v2\nindex 1\n\ncp\n"),
           std::string("c2sp.org/tlog-proof@v1\n"),
           std::string("c2sp.org/tlog-proof@v1\nindex 01\n\ncp\n"),
           std::string("c2sp.org/tlog-proof@v1\nindex -1\n\ncp\n"),
           std::string("c2sp.org/tlog-proof@v1\nindex 1\n") + h,
           std::string("c2sp.org/tlog-proof@v1\nindex 1\n") + h + "\n",
           std::string("c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\ncp\n"),
           std::string("c2sp.org/tlog-proof@v1\nextra \nindex 1\n\ncp\n"),
           std::string("c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\ncp\n"),
           std::string("c2sp.org/tlog-proof@v1\nnope 1\n\ncp\n"),
       }) {
    EXPECT_EQ(ToCStatus(ParseTlogProof(bad).status()), KARS_E_INVALID_ARGUMENT) << bad;
  }
}

TEST(ProofWire, ProofsFromALogVerifyOfflineInEveryEncoding) {
  testing::TempDir tmp;
  Signer key = *Signer::Generate("kars.test/wire");
  LogOptions o;
  o.signer = key;
  o.checkpoint_every_records = 0;
  auto log = *Log::Open(tmp.Sub("log"), o);
  for (uint64_t i = 0; i < 21; ++i) ASSERT_TRUE(log->Append(MakeRecord(i)).ok());
  const std::string old_cp = log->CheckpointNow()->note;
  for (uint64_t i = 21; i < 37; ++i) ASSERT_TRUE(log->Append(MakeRecord(i)).ok());
  const std::string cp = log->CheckpointNow()->note;
  const std::string pub = key.verifier().Text();
  for (uint64_t i = 0; i < 37; ++i) {
    const std::string record = *log->Read(i);
    const std::string path = EncodeAuditPath(log->Inclusion(i, 37)->path);
    EXPECT_TRUE(VerifyInclusionPathOffline(pub, cp, path, record).ok()) << i;
    const std::string tlog = FormatTlogProof(TlogProof{i, log->Inclusion(i, 37)->path, "", cp});
    EXPECT_TRUE(VerifyTlogProofOffline(pub, tlog, record).ok()) << i;
    // A changed record under this proof fails; so does the next record (another index).
    v1::AuditRecord changed = *DecodeRecord(record);
    changed.set_effect("changed");
    const std::string altered = changed.SerializeAsString();
    EXPECT_EQ(ToCStatus(VerifyInclusionPathOffline(pub, cp, path, altered)), KARS_E_TAMPERED);
    EXPECT_EQ(ToCStatus(VerifyTlogProofOffline(pub, tlog, altered)), KARS_E_TAMPERED);
    const std::string next = *log->Read((i + 1) % 37);
    EXPECT_FALSE(VerifyInclusionPathOffline(pub, cp, path, next).ok());
    EXPECT_EQ(ToCStatus(VerifyTlogProofOffline(pub, tlog, next)), KARS_E_TAMPERED);
  }
  const std::string consistency = EncodeAuditPath(log->Consistency(21, 37)->path);
  EXPECT_TRUE(VerifyConsistencyPathOffline(pub, old_cp, cp, consistency).ok());
  std::string bent = consistency;
  bent[5] ^= 1;
  EXPECT_EQ(ToCStatus(VerifyConsistencyPathOffline(pub, old_cp, cp, bent)), KARS_E_TAMPERED);
  EXPECT_EQ(ToCStatus(VerifyConsistencyPathOffline(pub, old_cp, cp, bent.substr(3))),
            KARS_E_INVALID_ARGUMENT);
  // A tlog-proof whose embedded checkpoint was signed by someone else.
  Signer other = *Signer::Generate("kars.test/wire");
  const std::string foreign = *SignCheckpoint(other, Checkpoint{log->origin(), 37, *log->Root(37), {}});
  EXPECT_EQ(ToCStatus(VerifyTlogProofOffline(
                pub, FormatTlogProof(TlogProof{3, log->Inclusion(3, 37)->path, "", foreign}),
                *log->Read(3))),
            KARS_E_DENIED);
}

}  // namespace
}  // namespace kars::audit
