// The relay's mailbox rules over raw gRPC against a real relay process: per-client rate limit
// with a retry-after, a full mailbox refused by name, the size limit, deduplication by message
// id, per-sender order, and TTL expiry reported back to the sender.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/mesh/relay_process.h"
#include "tests/integration/mesh/relay_test_client.h"

namespace kars::mesh {
namespace {

namespace pb = kars::v1::mesh;
using testing::RawRelayClient;
using testing::RelayProcess;

TEST(RelayLimits, RateLimitRefusesWithRetryAfterAndRecovers) {
  RelayProcess relay({"--rate-limit", "5"});  // 5/s, burst 10
  RawRelayClient bob(relay.address(), "bob"), alice(relay.address(), "alice");
  ASSERT_TRUE(bob.Login().ok());
  ASSERT_TRUE(alice.Login(false).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(alice.Send(testing::RandomEnvelope("bob")).ok()) << i;
  grpc::ClientContext ctx;
  grpc::Status st = alice.Send(testing::RandomEnvelope("bob"), nullptr, &ctx);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("rate limit"), std::string::npos) << st.error_message();
  auto it = ctx.GetServerTrailingMetadata().find("retry-after-ms");
  ASSERT_NE(it, ctx.GetServerTrailingMetadata().end());
  int retry_ms = std::stoi(std::string(it->second.data(), it->second.size()));
  EXPECT_GT(retry_ms, 0);
  EXPECT_LE(retry_ms, 200);  // one unit refills in 1/5 s
  // Another client is not affected; the limited one may send again after the wait.
  RawRelayClient carol(relay.address(), "carol");
  ASSERT_TRUE(carol.Login(false).ok());
  EXPECT_TRUE(carol.Send(testing::RandomEnvelope("bob")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(retry_ms + 20));
  EXPECT_TRUE(alice.Send(testing::RandomEnvelope("bob")).ok());
}

TEST(RelayLimits, FullMailboxOversizeAndDuplicatesAreReportedNeverDropped) {
  RelayProcess relay({"--max-mailbox-messages", "3", "--max-message-bytes", "1000"});
  RawRelayClient bob(relay.address(), "bob"), alice(relay.address(), "alice");
  ASSERT_TRUE(bob.Login().ok());
  ASSERT_TRUE(alice.Login(false).ok());
  grpc::Status st = alice.Send(testing::RandomEnvelope("bob", 1001));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("exceeds the relay's limit of 1000"), std::string::npos);
  pb::Envelope first = testing::RandomEnvelope("bob", 1000);
  bool dup = true;
  ASSERT_TRUE(alice.Send(first, &dup).ok());
  EXPECT_FALSE(dup);
  ASSERT_TRUE(alice.Send(first, &dup).ok());  // same id again: reported, not stored twice
  EXPECT_TRUE(dup);
  ASSERT_TRUE(alice.Send(testing::RandomEnvelope("bob", 100)).ok());
  ASSERT_TRUE(alice.Send(testing::RandomEnvelope("bob", 100)).ok());
  st = alice.Send(testing::RandomEnvelope("bob", 100));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("mailbox 'bob' is full"), std::string::npos);
  auto items = bob.Pending();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].envelope().message_id(), first.message_id());
  EXPECT_EQ(items[0].envelope().sender(), "alice");
  // Acking frees room.
  ASSERT_TRUE(bob.Ack({items[0].seq()}).ok());
  EXPECT_TRUE(alice.Send(testing::RandomEnvelope("bob", 100)).ok());
}

// A fan-out whose first copy the relay already held still stores (and counts) the other copies:
// the mailbox bound of a member that got a new copy holds at exactly the limit.
TEST(RelayLimits, FanoutWithADuplicateFirstCopyKeepsTheOtherMailboxesCounted) {
  RelayProcess relay({"--max-mailbox-messages", "2"});
  RawRelayClient bob(relay.address(), "bob"), carol(relay.address(), "carol"),
      alice(relay.address(), "alice");
  ASSERT_TRUE(bob.Login().ok());
  ASSERT_TRUE(carol.Login().ok());
  ASSERT_TRUE(alice.Login(false).ok());
  pb::Envelope first = testing::RandomEnvelope("bob", 100);
  ASSERT_TRUE(alice.Send(first).ok());
  bool dup = false;
  ASSERT_TRUE(alice.Send(first, &dup, nullptr, {"carol"}).ok());  // bob has it, carol does not
  EXPECT_TRUE(dup);
  ASSERT_EQ(carol.Pending().size(), 1u);
  ASSERT_EQ(bob.Pending().size(), 1u);
  // carol holds one message: one more fits, the next is refused.
  ASSERT_TRUE(alice.Send(testing::RandomEnvelope("carol", 100)).ok());
  grpc::Status st = alice.Send(testing::RandomEnvelope("carol", 100));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("mailbox 'carol' is full"), std::string::npos);
  EXPECT_EQ(carol.Pending().size(), 2u);
  // And bob, whose copy was the duplicate, also has exactly one more place.
  ASSERT_TRUE(alice.Send(testing::RandomEnvelope("bob", 100)).ok());
  EXPECT_EQ(alice.Send(testing::RandomEnvelope("bob", 100)).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(RelayLimits, ConcurrentSendersEachKeepTheirOrder) {
  RelayProcess relay({"--rate-limit", "0"});
  RawRelayClient bob(relay.address(), "bob");
  ASSERT_TRUE(bob.Login().ok());
  constexpr int kSenders = 8, kEach = 100;
  std::vector<std::vector<std::string>> sent(kSenders);
  std::vector<std::thread> threads;
  for (int s = 0; s < kSenders; ++s) {
    threads.emplace_back([&, s] {
      RawRelayClient me(relay.address(), "s" + std::to_string(s));
      ASSERT_TRUE(me.Login(false).ok());
      for (int i = 0; i < kEach; ++i) {
        pb::Envelope e = testing::RandomEnvelope("bob", 100);
        ASSERT_TRUE(me.Send(e).ok());
        sent[s].push_back(e.message_id());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::map<std::string, std::vector<std::string>> got;
  for (const auto& item : bob.Pending()) {
    got[item.envelope().sender()].push_back(item.envelope().message_id());
  }
  for (int s = 0; s < kSenders; ++s) EXPECT_EQ(got["s" + std::to_string(s)], sent[s]) << s;
}

TEST(RelayLimits, ExpiredMessageIsDroppedAndTheSenderIsTold) {
  RelayProcess relay({"--ttl-seconds", "1"});
  RawRelayClient bob(relay.address(), "bob"), alice(relay.address(), "alice");
  ASSERT_TRUE(bob.Login().ok());
  ASSERT_TRUE(alice.Login().ok());  // alice's mailbox receives the notice
  pb::Envelope e = testing::RandomEnvelope("bob");
  ASSERT_TRUE(alice.Send(e).ok());
  std::vector<pb::ReceiveResponse> notices;
  for (int i = 0; i < 50 && notices.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    notices = alice.Pending();
  }
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].envelope().type(), pb::CIPHERTEXT_TYPE_EXPIRY_NOTICE);
  EXPECT_EQ(notices[0].envelope().message_id(), e.message_id());
  EXPECT_EQ(notices[0].envelope().sender(), "bob");  // the recipient that never collected it
  EXPECT_TRUE(bob.Pending().empty());
}

}  // namespace
}  // namespace kars::mesh
