// The stored form of an audit record: deterministic protobuf serialisation of kars.v1.AuditRecord
// with the sequence number equal to the record's leaf index.
#ifndef KARS_AUDIT_RECORD_H_
#define KARS_AUDIT_RECORD_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kars/v1/audit.pb.h"

namespace kars::audit {

// The caller's record with sequence = index and, when unset, timestamp = now_micros.
// InvalidArgument when the caller set a sequence number (the log assigns it).
absl::StatusOr<std::string> EncodeRecord(const v1::AuditRecord& rec, uint64_t index,
                                         int64_t now_micros);
// Parses stored or caller bytes; InvalidArgument when they are not an AuditRecord.
absl::StatusOr<v1::AuditRecord> DecodeRecord(absl::string_view bytes);

// The sequence number of stored bytes, checking only that they are well-formed protobuf wire
// data: verification's fast path (a full parse costs several times more).
absl::StatusOr<uint64_t> DecodeSequence(absl::string_view bytes);

int64_t NowMicros();

}  // namespace kars::audit

#endif  // KARS_AUDIT_RECORD_H_
