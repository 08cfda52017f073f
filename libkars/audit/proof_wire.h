// The standard proof encodings independent verifiers accept, beside the kars text envelope
// (proof_text.h):
//   - the bare RFC 6962 / RFC 9162 audit path: the proof's node hashes, 32 bytes each,
//     concatenated in RFC order (leaf side first for inclusion; RFC 6962 section 2.1.2 order for
//     consistency). Exactly the `inclusion_path` / `consistency_path` vectors of RFC 9162's
//     InclusionProofDataV2 / ConsistencyProofDataV2 without their TLS framing, and what Go's
//     golang.org/x/mod/sumdb/tlog RecordProof / TreeProof hold. The index and sizes travel beside
//     it (in the record's sequence and the checkpoints).
//   - C2SP tlog-proof@v1 (https://c2sp.org/tlog-proof) for inclusion: a text proof that embeds the
//     signed checkpoint it proves against:
//       c2sp.org/tlog-proof@v1\n[extra <base64>\n]index <i>\n<base64 hash>\n...\n\n<checkpoint note>
// RFC 9162's full TLS structures are not offered: they start with a LogID (a DER OID), which a
// kars log, named by its checkpoint origin, does not have.
// The one parser of untrusted bytes in these formats (fuzzed by fuzz/audit/fuzz_proof.cc).
#ifndef KARS_AUDIT_PROOF_WIRE_H_
#define KARS_AUDIT_PROOF_WIRE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libkars/audit/hash.h"

namespace kars::audit {

std::string EncodeAuditPath(const std::vector<Hash>& path);
// InvalidArgument unless the length is a multiple of 32 and at most kMaxProofHashes hashes.
absl::StatusOr<std::vector<Hash>> DecodeAuditPath(absl::string_view bytes);

struct TlogProof {
  uint64_t index = 0;
  std::vector<Hash> path;
  std::string extra;       // opaque and unauthenticated; empty when absent
  std::string checkpoint;  // the signed note, verbatim
};

std::string FormatTlogProof(const TlogProof& proof);
// Strict: canonical decimal and base64, no empty hash lines, a non-empty checkpoint. The
// checkpoint is returned as bytes; verifying it is the caller's business.
absl::StatusOr<TlogProof> ParseTlogProof(absl::string_view text);

inline constexpr absl::string_view kTlogProofHeader = "c2sp.org/tlog-proof@v1";

}  // namespace kars::audit

#endif  // KARS_AUDIT_PROOF_WIRE_H_
