#include "libkars/mesh/payload.h"

#include <gtest/gtest.h>

#include "libkars/base/status.h"

namespace kars::mesh {
namespace {

namespace pb = kars::v1::mesh;

pb::Payload MakePayload(size_t body) {
  pb::Payload p;
  p.set_message_id(std::string(kMessageIdSize, 'i'));
  p.set_body(std::string(body, 'b'));
  return p;
}

TEST(Payload, PadsToBucketsAndRoundTrips) {
  for (size_t n : {0u, 1u, 200u, 239u, 300u, 1000u, 5000u, 70000u}) {
    std::string padded = PadPayload(MakePayload(n));
    EXPECT_EQ(padded.size(), PaddedSize(padded.size())) << n;
    auto back = UnpadPayload(padded);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->body().size(), n);
  }
  // Lengths within a bucket are indistinguishable.
  EXPECT_EQ(PadPayload(MakePayload(10)).size(), PadPayload(MakePayload(200)).size());
  EXPECT_EQ(PaddedSize(1), 256u + kPayloadHeaderRoom);
  EXPECT_EQ(PaddedSize(257 + kPayloadHeaderRoom), 384u + kPayloadHeaderRoom);
  EXPECT_EQ(PaddedSize(385 + kPayloadHeaderRoom), 512u + kPayloadHeaderRoom);
  EXPECT_EQ(PaddedSize(1537 + kPayloadHeaderRoom), 2048u + kPayloadHeaderRoom);
  // A power-of-two body with its id and timestamp stays in its own bucket.
  EXPECT_EQ(PadPayload(MakePayload(1024)).size(), 1024u + kPayloadHeaderRoom);
  EXPECT_EQ(PadPayload(MakePayload(4096)).size(), 4096u + kPayloadHeaderRoom);
}

TEST(Payload, MalformedPaddingIsTampered) {
  EXPECT_EQ(ToCStatus(UnpadPayload(std::string(256, '\0')).status()), KARS_E_TAMPERED);
  std::string padded = PadPayload(MakePayload(10));
  padded.back() = 'x';
  EXPECT_EQ(ToCStatus(UnpadPayload(padded).status()), KARS_E_TAMPERED);
  EXPECT_EQ(ToCStatus(UnpadPayload("\x0a\x03"
                                   "abc\x80")
                          .status()),
            KARS_E_TAMPERED);  // short id
}

TEST(Envelope, ValidatesEveryRoutingField) {
  pb::Envelope e;
  e.set_recipient("bob");
  e.set_sender("alice");
  e.set_message_id(std::string(kMessageIdSize, 'x'));
  e.set_type(pb::CIPHERTEXT_TYPE_SIGNAL);
  e.set_ciphertext("c");
  ASSERT_TRUE(ParseEnvelope(e.SerializeAsString()).ok());
  auto bad = [&](auto mutate, absl::string_view needle) {
    pb::Envelope copy = e;
    mutate(copy);
    auto r = ParseEnvelope(copy.SerializeAsString());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(ToCStatus(r.status()), KARS_E_INVALID_ARGUMENT);
    EXPECT_NE(r.status().message().find(needle), absl::string_view::npos) << r.status();
  };
  bad([](pb::Envelope& c) { c.set_recipient(""); }, "recipient");
  bad([](pb::Envelope& c) { c.set_sender("a/b"); }, "sender");
  bad([](pb::Envelope& c) { c.set_message_id("short"); }, "message id");
  bad([](pb::Envelope& c) { c.set_type(static_cast<pb::CiphertextType>(42)); }, "unknown");
  bad([](pb::Envelope& c) { c.clear_ciphertext(); }, "empty");
  EXPECT_EQ(ToCStatus(ParseEnvelope("\xff\xff\xff").status()), KARS_E_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace kars::mesh
