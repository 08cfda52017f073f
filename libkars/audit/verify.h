// Offline verification of a log directory: recomputes everything from the files, never writes,
// never repairs, and reports the first bad index and why.
#ifndef KARS_AUDIT_VERIFY_H_
#define KARS_AUDIT_VERIFY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libkars/audit/keys.h"

namespace kars::audit {

struct VerifyOptions {
  // The log's public key: every stored checkpoint must carry a valid signature by it. Without
  // it signatures are not checked (roots still are).
  std::optional<Verifier> key;
  // Signed checkpoints obtained elsewhere (e.g. from a witness or a client that kept one): each
  // must be consistent with the log.
  std::vector<std::string> external_checkpoints;
};

struct VerifyReport {
  // OK; TAMPERED (damage, first_bad_index set when a record is to blame); DENIED (a checkpoint
  // is not signed by the key); INVALID_ARGUMENT (not a log); IO.
  absl::Status status;
  uint64_t records = 0;
  std::optional<uint64_t> first_bad_index;
  uint64_t checkpoints_verified = 0;
  uint64_t first_index = 0;  // the oldest record kept (above 0 after retention)
  std::string notes;
  std::string torn_tail;  // a crash left an incomplete last record (opening for writing cuts it)
  std::string Summary() const;
};

VerifyReport VerifyLog(const std::string& dir, const VerifyOptions& options);

}  // namespace kars::audit

#endif  // KARS_AUDIT_VERIFY_H_
