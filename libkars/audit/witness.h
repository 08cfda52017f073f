// A witness co-signs a log's checkpoints, but only after checking that each one is consistent
// with the last checkpoint it co-signed: once a witness has signed a tree, the log can no longer
// show anyone a different history under that witness's name.
//
// The witness's state is one file holding the last checkpoint it co-signed (written atomically).
// The co-signature is a C2SP tlog-cosignature cosignature/v1 line (cosignature.h) by the
// witness's type-0x04 key, added to the log's note. The state is saved (fsynced, renamed into
// place) before the co-signed note is returned, so a witness never signs a tree it could later
// forget. One thread at a time per state file.
#ifndef KARS_AUDIT_WITNESS_H_
#define KARS_AUDIT_WITNESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libkars/audit/keys.h"

namespace kars::audit {

// Verifies `note` with `log_key`; if `state_path` holds an earlier co-signed checkpoint of the
// same origin, checks `consistency_proof` (kars text, or a bare RFC 6962 path) from it to `note` (none is needed the first
// time, or when the size did not change and the root is equal); then adds the witness's
// signature, saves the new state, and returns the co-signed note.
// Errors: INVALID_ARGUMENT (the witness key is not a cosignature/v1 key), DENIED / TAMPERED
// (log signature), TAMPERED (inconsistent with the last co-signed
// checkpoint, or a smaller tree), INVALID_ARGUMENT (malformed note or proof, another origin),
// IO (state file).
absl::StatusOr<std::string> Cosign(const std::string& state_path, const Signer& witness,
                                   const Verifier& log_key, absl::string_view note,
                                   absl::string_view consistency_proof);

}  // namespace kars::audit

#endif  // KARS_AUDIT_WITNESS_H_
