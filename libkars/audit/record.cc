#include "libkars/audit/record.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"

namespace kars::audit {

absl::StatusOr<std::string> EncodeRecord(const v1::AuditRecord& rec, uint64_t index,
                                         int64_t now_micros) {
  if (rec.sequence() != 0) {
    return absl::InvalidArgumentError(
        "audit record: sequence is assigned by the log; leave it 0");
  }
  v1::AuditRecord copy = rec;
  copy.set_sequence(index);
  if (copy.timestamp_micros() == 0) copy.set_timestamp_micros(now_micros);
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    // Deterministic: map entries in key order, so equal records always have equal bytes.
    coded.SetSerializationDeterministic(true);
    if (!copy.SerializeToCodedStream(&coded)) {
      return absl::InvalidArgumentError("audit record: cannot be serialised");
    }
  }
  return out;
}

absl::StatusOr<v1::AuditRecord> DecodeRecord(absl::string_view bytes) {
  v1::AuditRecord rec;
  if (!rec.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError("audit record: not a valid kars.v1.AuditRecord");
  }
  return rec;
}

absl::StatusOr<uint64_t> DecodeSequence(absl::string_view bytes) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  uint64_t sequence = 0;
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;
    if (tag == WireFormatLite::MakeTag(v1::AuditRecord::kSequenceFieldNumber,
                                       WireFormatLite::WIRETYPE_VARINT)) {
      if (!in.ReadVarint64(&sequence)) break;
      continue;
    }
    if (!WireFormatLite::SkipField(&in, tag)) {
      return absl::InvalidArgumentError("audit record: malformed protobuf wire data");
    }
  }
  if (!in.ConsumedEntireMessage() || in.CurrentPosition() != static_cast<int>(bytes.size())) {
    return absl::InvalidArgumentError("audit record: malformed protobuf wire data");
  }
  return sequence;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace kars::audit
