// SendStream against a real relay process: answers come in request order, one per request, each
// with the status the unary Send would have given (oversize, unknown recipient, full mailbox,
// duplicate, rate limit), and a refused send does not end the stream; a stream without a token
// is refused as a whole; and under SIGKILL nothing the stream acknowledged is lost.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "libkars/base/status.h"
#include "libkars/mesh/relay_client.h"
#include "tests/integration/mesh/relay_process.h"
#include "tests/integration/mesh/relay_test_client.h"

namespace kars::mesh {
namespace {

namespace pb = kars::v1::mesh;
using testing::RawRelayClient;
using testing::RelayProcess;

pb::SendRequest To(const pb::Envelope& e) {
  pb::SendRequest r;
  *r.mutable_envelope() = e;
  return r;
}

std::vector<pb::SendResult> SendAll(RawRelayClient& c, const std::vector<pb::SendRequest>& reqs,
                                    grpc::Status* final_status) {
  std::vector<pb::SendResult> results;
  *final_status = c.SendStream(reqs, [&](size_t i, const pb::SendResult& r) {
    EXPECT_EQ(i, results.size());
    results.push_back(r);
  });
  return results;
}

TEST(RelayStream, RefusedSendsAreAnsweredInOrderAndTheStreamGoesOn) {
  RelayProcess relay({"--max-mailbox-messages", "4", "--max-message-bytes", "1000"});
  RawRelayClient bob(relay.address(), "bob"), alice(relay.address(), "alice");
  ASSERT_TRUE(bob.Login().ok());
  ASSERT_TRUE(alice.Login(false).ok());
  pb::Envelope first = testing::RandomEnvelope("bob", 1000);
  pb::Envelope bad_id = testing::RandomEnvelope("bob", 10);
  bad_id.set_message_id("short");
  std::vector<pb::Envelope> stored = {first, testing::RandomEnvelope("bob", 10),
                                      testing::RandomEnvelope("bob", 10),
                                      testing::RandomEnvelope("bob", 10)};
  std::vector<pb::SendRequest> reqs = {
      To(first),
      To(testing::RandomEnvelope("bob", 1001)),   // oversize
      To(testing::RandomEnvelope("nobody", 10)),  // unknown recipient
      To(bad_id),                                 // malformed
      To(stored[1]),
      To(stored[2]),
      // Last: until its commit finds it held already, a duplicate holds a place in the mailbox
      // like any queued send, which would make the fullness of what follows a race.
      To(first),
  };
  grpc::Status final_status;
  auto results = SendAll(alice, reqs, &final_status);
  ASSERT_TRUE(final_status.ok()) << final_status.error_message();
  ASSERT_EQ(results.size(), reqs.size());
  using C = grpc::StatusCode;
  const std::vector<C> want = {C::OK, C::INVALID_ARGUMENT, C::NOT_FOUND, C::INVALID_ARGUMENT,
                               C::OK, C::OK, C::OK};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(results[i].code(), static_cast<int>(want[i])) << i << ": " << results[i].error_message();
  }
  EXPECT_FALSE(results[0].duplicate());
  EXPECT_TRUE(results[6].duplicate());
  EXPECT_NE(results[1].error_message().find("exceeds the relay's limit of 1000"), std::string::npos);
  EXPECT_NE(results[2].error_message().find("no mailbox 'nobody'"), std::string::npos);
  EXPECT_NE(results[3].error_message().find("message id must be 16 bytes"), std::string::npos);

  // A second stream fills the mailbox: the send past the limit is refused, the stream goes on.
  results = SendAll(alice, {To(stored[3]), To(testing::RandomEnvelope("bob", 10)),
                            To(testing::RandomEnvelope("bob", 2000))}, &final_status);
  ASSERT_TRUE(final_status.ok()) << final_status.error_message();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].code(), 0) << results[0].error_message();
  EXPECT_EQ(results[1].code(), static_cast<int>(C::RESOURCE_EXHAUSTED));
  EXPECT_NE(results[1].error_message().find("mailbox 'bob' is full"), std::string::npos);
  EXPECT_EQ(results[2].code(), static_cast<int>(C::INVALID_ARGUMENT));

  auto items = bob.Pending();
  ASSERT_EQ(items.size(), stored.size());
  for (size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(items[i].envelope().message_id(), stored[i].message_id()) << i;
    EXPECT_EQ(items[i].envelope().sender(), "alice");  // stamped by the relay, as for Send
  }
}

TEST(RelayStream, ManyInFlightAreStoredAndAnsweredInRequestOrder) {
  RelayProcess relay({"--rate-limit", "0"});
  RawRelayClient bob(relay.address(), "bob"), alice(relay.address(), "alice");
  ASSERT_TRUE(bob.Login().ok());
  ASSERT_TRUE(alice.Login(false).ok());
  // More than the relay's window, so that the stream is held back and resumes.
  std::vector<pb::SendRequest> reqs;
  for (int i = 0; i < 3000; ++i) reqs.push_back(To(testing::RandomEnvelope("bob", 64)));
  grpc::Status final_status;
  auto results = SendAll(alice, reqs, &final_status);
  ASSERT_TRUE(final_status.ok()) << final_status.error_message();
  ASSERT_EQ(results.size(), reqs.size());
  for (const auto& r : results) ASSERT_EQ(r.code(), 0) << r.error_message();
  std::vector<pb::ReceiveResponse> items;
  while (items.size() < reqs.size()) {
    auto more = bob.Pending();
    ASSERT_FALSE(more.empty());
    std::vector<uint64_t> seqs;
    for (auto& m : more) seqs.push_back(m.seq());
    ASSERT_TRUE(bob.Ack(seqs).ok());
    items.insert(items.end(), more.begin(), more.end());
  }
  ASSERT_EQ(items.size(), reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    ASSERT_EQ(items[i].envelope().message_id(), reqs[i].envelope().message_id()) << i;
  }
}

TEST(RelayStream, RateLimitAnswersWithRetryAfterPerSend) {
  RelayProcess relay({"--rate-limit", "5"});  // 5/s, burst 10
  RawRelayClient bob(relay.address(), "bob"), alice(relay.address(), "alice");
  ASSERT_TRUE(bob.Login().ok());
  ASSERT_TRUE(alice.Login(false).ok());
  std::vector<pb::SendRequest> reqs;
  for (int i = 0; i < 12; ++i) reqs.push_back(To(testing::RandomEnvelope("bob", 10)));
  grpc::Status final_status;
  auto results = SendAll(alice, reqs, &final_status);
  ASSERT_TRUE(final_status.ok());
  ASSERT_EQ(results.size(), 12u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(results[i].code(), 0) << i;
  for (int i = 10; i < 12; ++i) {
    EXPECT_EQ(results[i].code(), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED)) << i;
    EXPECT_NE(results[i].error_message().find("rate limit"), std::string::npos);
    EXPECT_GT(results[i].retry_after_ms(), 0);
    EXPECT_LE(results[i].retry_after_ms(), 200);
  }
}

TEST(RelayStream, WithoutATokenTheWholeStreamIsRefused) {
  RelayProcess relay;
  RawRelayClient bob(relay.address(), "bob"), alice(relay.address(), "alice");
  ASSERT_TRUE(bob.Login().ok());
  size_t answers = 0;
  grpc::Status st = alice.SendStream({To(testing::RandomEnvelope("bob", 10))},
                                     [&](size_t, const pb::SendResult&) { ++answers; },
                                     /*authorize=*/false);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(answers, 0u);
  EXPECT_TRUE(bob.Pending().empty());
}

TEST(RelayStream, TheMeshRelayClientSendsABatchOnOneStream) {
  RelayProcess relay({"--rate-limit", "0"});
  RawRelayClient bob(relay.address(), "bob");
  ASSERT_TRUE(bob.Login().ok());
  testing::Ed25519 key;
  RelayClient alice(
      relay.address(), "alice", key.Public(),
      [&key](absl::string_view m) -> absl::StatusOr<std::string> {
        return key.Sign(std::string(m));
      },
      absl::Seconds(5));
  ASSERT_TRUE(alice.Authenticate().ok());
  pb::Envelope first = testing::RandomEnvelope("bob", 100);
  std::vector<pb::SendRequest> reqs = {To(first), To(testing::RandomEnvelope("bob", 100)),
                                       To(first), To(testing::RandomEnvelope("nobody", 100)),
                                       To(testing::RandomEnvelope("bob", 100))};
  auto results = alice.SendMany(reqs);
  ASSERT_EQ(results.size(), reqs.size());
  ASSERT_TRUE(results[0].ok() && results[1].ok() && results[2].ok() && results[4].ok());
  EXPECT_FALSE(*results[0]);
  EXPECT_FALSE(*results[1]);
  EXPECT_TRUE(*results[2]);  // the duplicate
  EXPECT_EQ(results[3].status().code(), absl::StatusCode::kNotFound) << results[3].status();
  auto items = bob.Pending();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].envelope().message_id(), reqs[0].envelope().message_id());
  EXPECT_EQ(items[1].envelope().message_id(), reqs[1].envelope().message_id());
  EXPECT_EQ(items[2].envelope().message_id(), reqs[4].envelope().message_id());

  // A relay that is gone: every request fails as unavailable (safe to resend), none is lost
  // silently as a success.
  relay.Stop(SIGKILL);
  results = alice.SendMany({To(testing::RandomEnvelope("bob", 100)),
                            To(testing::RandomEnvelope("bob", 100))});
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) EXPECT_EQ(ToCStatus(r.status()), KARS_E_UNAVAILABLE) << r.status();
}

// Streams of 500 from `senders` clients until the relay is gone; `stop` runs once 2000 sends
// were acknowledged. Returns the acknowledged message ids.
std::set<std::string> StreamStorm(RelayProcess& relay, int senders,
                                  const std::function<void()>& stop) {
  std::mutex mu;
  std::set<std::string> acked;
  std::vector<std::unique_ptr<RawRelayClient>> clients;
  std::vector<std::thread> threads;
  for (int i = 0; i < senders; ++i) {
    clients.push_back(std::make_unique<RawRelayClient>(relay.address(), "storm" + std::to_string(i)));
    EXPECT_TRUE(clients.back()->Login(false).ok());
  }
  for (auto& c : clients) {
    threads.emplace_back([&, c = c.get()] {
      for (int round = 0; round < 1000; ++round) {
        std::vector<pb::SendRequest> reqs;
        for (int n = 0; n < 500; ++n) reqs.push_back(To(testing::RandomEnvelope("sink", 200)));
        grpc::Status st = c->SendStream(reqs, [&](size_t i, const pb::SendResult& r) {
          if (r.code() != 0) return;  // only answers with code 0 count as acknowledged
          std::lock_guard<std::mutex> l(mu);
          acked.insert(reqs[i].envelope().message_id());
        });
        if (!st.ok()) return;  // the relay stopped
      }
    });
  }
  for (int i = 0; i < 3000; ++i) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (acked.size() >= 2000) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop();
  for (auto& t : threads) t.join();
  return acked;
}

TEST(RelayStream, SigtermMidStormDrainsExitsZeroAndLosesNothingAcknowledged) {
  RelayProcess relay({"--rate-limit", "0"});
  ASSERT_FALSE(relay.address().empty());
  RawRelayClient sink(relay.address(), "sink");
  ASSERT_TRUE(sink.Login().ok());
  int status = -1;
  std::set<std::string> acked = StreamStorm(relay, 4, [&] { status = relay.Stop(SIGTERM); });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
  ASSERT_GE(acked.size(), 2000u);
  relay.Start();
  ASSERT_FALSE(relay.address().empty());
  sink.Connect(relay.address());
  ASSERT_TRUE(sink.Login().ok());
  std::set<std::string> stored;
  for (;;) {
    auto items = sink.Pending();
    if (items.empty()) break;
    std::vector<uint64_t> seqs;
    for (const auto& item : items) {
      stored.insert(item.envelope().message_id());
      seqs.push_back(item.seq());
    }
    ASSERT_TRUE(sink.Ack(seqs).ok());
  }
  size_t lost = 0;
  for (const auto& id : acked) lost += stored.count(id) == 0;
  EXPECT_EQ(lost, 0u) << "of " << acked.size() << " acknowledged sends";
}

TEST(RelayStream, SigkillMidStormLosesNothingTheStreamsAcknowledged) {
  RelayProcess relay({"--rate-limit", "0"});
  ASSERT_FALSE(relay.address().empty());
  RawRelayClient sink(relay.address(), "sink");
  ASSERT_TRUE(sink.Login().ok());
  std::set<std::string> acked = StreamStorm(relay, 8, [&] { relay.Stop(SIGKILL); });
  ASSERT_GE(acked.size(), 2000u);

  relay.Start();
  ASSERT_FALSE(relay.address().empty());
  sink.Connect(relay.address());
  ASSERT_TRUE(sink.Login().ok());
  std::map<std::string, int> stored;
  for (;;) {
    auto items = sink.Pending();
    if (items.empty()) break;
    std::vector<uint64_t> seqs;
    for (const auto& item : items) {
      ++stored[item.envelope().message_id()];
      seqs.push_back(item.seq());
    }
    ASSERT_TRUE(sink.Ack(seqs).ok());
  }
  size_t lost = 0;
  for (const auto& id : acked) lost += stored.count(id) == 0;
  EXPECT_EQ(lost, 0u) << "of " << acked.size() << " acknowledged sends";
  for (const auto& [id, n] : stored) EXPECT_EQ(n, 1) << "stored twice";
}

}  // namespace
}  // namespace kars::mesh
