// A witness co-signs only checkpoints consistent with the last one it co-signed.
#include "libkars/audit/witness.h"

#include "gtest/gtest.h"
#include "libkars/audit/checkpoint.h"
#include "libkars/audit/note.h"
#include "libkars/audit/proof_text.h"
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
  Signer witness_ = *Signer::Generate("witness.test");
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
  EXPECT_TRUE(VerifyNote(n, witness_.verifier()).ok());
  // Same size again: no proof needed.
  EXPECT_TRUE(Cosign(state_, witness_, log_key_.verifier(), Signed(t, 12), "").ok());
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

}  // namespace
}  // namespace kars::audit
