// A witness co-signs only checkpoints consistent with the last one it co-signed.
#include "libkars/audit/witness.h"

#include "gtest/gtest.h"
#include "libkars/audit/checkpoint.h"
#include "libkars/audit/cosignature.h"
#include "libkars/audit/note.h"
#include "libkars/audit/proof_text.h"
#include "libkars/audit/proof_wire.h"
#include "libkars/audit/tree.h"
#include "libkars/base/status.h"
#include "tests/unit/audit/test_util.h"

namespace kars::audit {
namespace {

class WitnessTest : public ::testing::Test {
 protected:
  std::string Signed(const HashTree& t, uint64_t size) {
    return *SignCheckpoint(log_key_, Checkpoint{"kars.test/w", size, *t.Root(size), {}});
  }
  std::string Proof(const HashTree& t, uint64_t m, uint64_t n) {
    return FormatConsistencyProof(ConsistencyProof{m, n, *t.Consistency(m, n)});
  }
  testing::TempDir tmp_;
  std::string state_ = tmp_.Sub("witness.state");
  Signer log_key_ = *Signer::Generate("kars.test/w");
  Signer witness_ = *Signer::Generate("witness.test", kAlgCosignatureV1);
};

TEST_F(WitnessTest, CosignsAConsistentSequenceAndTheResultVerifiesWithBothKeys) {
  HashTree t;
  for (int i = 0; i < 20; ++i) t.AppendLeaf("r" + std::to_string(i));
  auto first = Cosign(state_, witness_, log_key_.verifier(), Signed(t, 5), "");
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Cosign(state_, witness_, log_key_.verifier(), Signed(t, 12), Proof(t, 5, 12));
  ASSERT_TRUE(second.ok()) << second.status();
  Note n = *ParseNote(*second);
  EXPECT_EQ(n.signatures.size(), 2u);
  EXPECT_TRUE(VerifyNote(n, log_key_.verifier()).ok());
  auto when = VerifyCosignature(n, witness_.verifier());
  ASSERT_TRUE(when.ok()) << when.status();
  EXPECT_GT(*when, 1700000000u);
  // The cosignature line is the C2SP cosignature/v1 payload: timestamp (8) + Ed25519 (64).
  EXPECT_EQ(n.signatures[1].signature.size(), 72u);
  EXPECT_EQ(n.signatures[1].key_hash,
            KeyHash("witness.test", witness_.verifier().public_key(), kAlgCosignatureV1));
  // A bare RFC 6962 path works as well as the kars text.
  EXPECT_TRUE(Cosign(state_, witness_, log_key_.verifier(), Signed(t, 15),
                     EncodeAuditPath(*t.Consistency(12, 15)))
                  .ok());
  EXPECT_TRUE(Cosign(state_, witness_, log_key_.verifier(), Signed(t, 12), "").status().code() !=
              absl::StatusCode::kOk);  // and the witness now stands at 15
  // Same size again: no proof needed.
  EXPECT_TRUE(Cosign(state_, witness_, log_key_.verifier(), Signed(t, 15), "").ok());
}

TEST_F(WitnessTest, RefusesForksRollbacksAndBadProofs) {
  HashTree t, fork;
  for (int i = 0; i < 20; ++i) {
    t.AppendLeaf("r" + std::to_string(i));
    fork.AppendLeaf(i == 3 ? "forged" : "r" + std::to_string(i));
  }
  ASSERT_TRUE(Cosign(state_, witness_, log_key_.verifier(), Signed(t, 8), "").ok());
  // A rewritten history, correctly signed by the log, with its own valid-looking proof.
  EXPECT_EQ(ToCStatus(Cosign(state_, witness_, log_key_.verifier(), Signed(fork, 12),
                             Proof(fork, 8, 12)).status()),
            KARS_E_TAMPERED);
  EXPECT_EQ(ToCStatus(Cosign(state_, witness_, log_key_.verifier(), Signed(fork, 8), "").status()),
            KARS_E_TAMPERED);
  EXPECT_EQ(ToCStatus(Cosign(state_, witness_, log_key_.verifier(), Signed(t, 6), "").status()),
            KARS_E_TAMPERED);
  EXPECT_EQ(ToCStatus(Cosign(state_, witness_, log_key_.verifier(), Signed(t, 12),
                             Proof(t, 7, 12)).status()),
            KARS_E_INVALID_ARGUMENT);
  EXPECT_EQ(ToCStatus(Cosign(state_, witness_, log_key_.verifier(), Signed(t, 12), "junk").status()),
            KARS_E_INVALID_ARGUMENT);
  // Not signed by the log's key.
  Signer other = *Signer::Generate("kars.test/w");
  std::string forged = *SignCheckpoint(other, Checkpoint{"kars.test/w", 12, *t.Root(12), {}});
  EXPECT_EQ(ToCStatus(Cosign(state_, witness_, log_key_.verifier(), forged, Proof(t, 8, 12)).status()),
            KARS_E_DENIED);
  // After all the refusals the witness still follows the true log.
  EXPECT_TRUE(Cosign(state_, witness_, log_key_.verifier(), Signed(t, 12), Proof(t, 8, 12)).ok());
}

TEST_F(WitnessTest, RefusesAnInconsistentCheckpointAndKeepsItsStateAcrossRestarts) {
  HashTree t, fork;
  for (int i = 0; i < 20; ++i) {
    t.AppendLeaf("r" + std::to_string(i));
    fork.AppendLeaf(i == 10 ? "forged" : "r" + std::to_string(i));
  }
  ASSERT_TRUE(Cosign(state_, witness_, log_key_.verifier(), Signed(t, 12), "").ok());
  // The state is a file: a new witness process (same key, same file) remembers size 12, so a
  // fork at 10 is refused even with a perfectly valid proof of the forked tree from 8.
  const std::string saved = testing::ReadAll(state_);
  EXPECT_NE(saved.find("\n12\n"), std::string::npos);
  EXPECT_EQ(ToCStatus(Cosign(state_, witness_, log_key_.verifier(), Signed(fork, 16),
                             Proof(fork, 12, 16)).status()),
            KARS_E_TAMPERED);
  EXPECT_EQ(testing::ReadAll(state_), saved);  // a refusal leaves the state alone
}

TEST_F(WitnessTest, ForgedOrAlteredCosignaturesFail) {
  HashTree t;
  for (int i = 0; i < 9; ++i) t.AppendLeaf("r" + std::to_string(i));
  auto cosigned = Cosign(state_, witness_, log_key_.verifier(), Signed(t, 9), "");
  ASSERT_TRUE(cosigned.ok()) << cosigned.status();
  Note good = *ParseNote(*cosigned);
  ASSERT_TRUE(VerifyCosignature(good, witness_.verifier()).ok());

  // Another key under the witness's name: no line with the right key ID.
  Signer impostor = *Signer::Generate("witness.test", kAlgCosignatureV1);
  Note forged = good;
  forged.signatures[1] = *MakeCosignature(impostor, good.text, 1700000000);
  EXPECT_EQ(ToCStatus(VerifyCosignature(forged, witness_.verifier()).status()), KARS_E_DENIED);
  // The right key ID with another key's signature.
  forged.signatures[1].key_hash = witness_.key_hash();
  EXPECT_EQ(ToCStatus(VerifyCosignature(forged, witness_.verifier()).status()), KARS_E_TAMPERED);
  // A moved timestamp.
  Note moved = good;
  moved.signatures[1].signature[7] ^= 1;
  EXPECT_EQ(ToCStatus(VerifyCosignature(moved, witness_.verifier()).status()), KARS_E_TAMPERED);
  // Another tree under the same cosignature.
  Note other = good;
  other.text = CheckpointText(Checkpoint{"kars.test/w", 8, *t.Root(8), {}});
  EXPECT_EQ(ToCStatus(VerifyCosignature(other, witness_.verifier()).status()), KARS_E_TAMPERED);
  // A truncated payload.
  Note cut = good;
  cut.signatures[1].signature.resize(64);
  EXPECT_EQ(ToCStatus(VerifyCosignature(cut, witness_.verifier()).status()),
            KARS_E_INVALID_ARGUMENT);
  // A plain note signature by a cosignature key is not possible, and a note key is no witness.
  EXPECT_EQ(ToCStatus(SignNoteText(witness_, good.text).status()), KARS_E_INVALID_ARGUMENT);
  EXPECT_EQ(ToCStatus(VerifyCosignature(good, log_key_.verifier()).status()),
            KARS_E_INVALID_ARGUMENT);
  EXPECT_EQ(ToCStatus(Cosign(tmp_.Sub("other.state"), log_key_, log_key_.verifier(),
                             Signed(t, 9), "").status()),
            KARS_E_INVALID_ARGUMENT);
}

// The signed message of C2SP tlog-cosignature, byte for byte, against the specification's
// example layout.
TEST(CosignatureFormat, SignedMessageIsHeaderTimeLineAndNoteText) {
  EXPECT_EQ(CosignatureMessage(1679315147, "example.com/behind-the-sofa\n20852163\nCsUY=\n"),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUY=\n");
}

}  // namespace
}  // namespace kars::audit
