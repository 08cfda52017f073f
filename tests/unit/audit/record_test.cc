// The stored record form and its fast sequence decoder.
#include "gtest/gtest.h"
#include "libkars/audit/record.h"
#include "tests/unit/audit/test_util.h"

namespace kars::audit {
namespace {

TEST(RecordTest, EncodingSetsSequenceAndTimestampDeterministically) {
  v1::AuditRecord r = testing::MakeRecord(3);
  r.set_timestamp_micros(0);
  (*r.mutable_attributes())["b"] = "2";
  (*r.mutable_attributes())["a"] = "1";
  auto bytes = EncodeRecord(r, 42, 777);
  ASSERT_TRUE(bytes.ok());
  auto back = DecodeRecord(*bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->sequence(), 42u);
  EXPECT_EQ(back->timestamp_micros(), 777);
  EXPECT_EQ(*EncodeRecord(r, 42, 777), *bytes);  // same record, same bytes
  EXPECT_EQ(*DecodeSequence(*bytes), 42u);
  EXPECT_EQ(*DecodeSequence(*EncodeRecord(r, 0, 1)), 0u);
}

TEST(RecordTest, SequenceDecoderRejectsMalformedWireData) {
  std::string bytes = *EncodeRecord(testing::MakeRecord(1), 5, 1);
  EXPECT_FALSE(DecodeSequence(bytes.substr(0, bytes.size() - 1)).ok());  // truncated field
  EXPECT_FALSE(DecodeSequence("\x0f").ok());                             // bad wire type
  EXPECT_FALSE(DecodeSequence("\x08\xff\xff").ok());                     // unterminated varint
  EXPECT_FALSE(DecodeRecord("\x0f").ok());
}

}  // namespace
}  // namespace kars::audit
