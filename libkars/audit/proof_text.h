// Text encodings of RFC 6962 proofs, for files and the C ABI. The hash list is exactly the RFC
// 6962 audit path / consistency proof, one base64 hash per line, leaf side first:
//   kars-audit-inclusion-proof/v1\nindex <i>\nsize <n>\n<hash>\n...
//   kars-audit-consistency-proof/v1\nold <m>\nnew <n>\n<hash>\n...
// The one parser of untrusted proof bytes (fuzzed by fuzz/audit/fuzz_proof.cc).
#ifndef KARS_AUDIT_PROOF_TEXT_H_
#define KARS_AUDIT_PROOF_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libkars/audit/hash.h"

namespace kars::audit {

inline constexpr size_t kMaxProofHashes = 130;

struct InclusionProof {
  uint64_t index = 0;
  uint64_t size = 0;
  std::vector<Hash> path;
};

struct ConsistencyProof {
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  std::vector<Hash> path;
};

std::string FormatInclusionProof(const InclusionProof& p);
std::string FormatConsistencyProof(const ConsistencyProof& p);
absl::StatusOr<InclusionProof> ParseInclusionProof(absl::string_view text);
absl::StatusOr<ConsistencyProof> ParseConsistencyProof(absl::string_view text);

}  // namespace kars::audit

#endif  // KARS_AUDIT_PROOF_TEXT_H_
