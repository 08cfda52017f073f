// Approval tickets: bound to the request digest, TTL, single use, wait.
#include <thread>

#include "gtest/gtest.h"
#include "libkars/base/status.h"
#include "test_util.h"

namespace kars::policy {
namespace {

using testing::DecideOk;
using testing::Doc;
using testing::Req;

constexpr int64_t kSecond = 1000000000;

class Approvals : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions options;
    options.clock = &clock_;
    options.approval_ttl_ns = 60 * kSecond;
    engine_ = testing::EngineWith(Doc("a", R"(  rules:
    - {id: shell, effect: approve, tool: {names: [shell]}}
    - {id: no-rm, effect: deny, tool: {names: [shell], args: [{pointer: /cmd, regex: "rm .*"}]}}
)"), options);
  }
  v1::Request Shell(const std::string& cmd, const std::string& ticket = "") {
    return Req(R"({"principal":{"agent":"a"},"tool":{"name":"shell","arguments":{"cmd":")" + cmd +
               R"("}},"approvalTicket":")" + ticket + "\"}");
  }
  ManualClock clock_{1000 * kSecond};
  std::unique_ptr<Engine> engine_;
};

TEST_F(Approvals, ApprovedTicketAdmitsTheIdenticalRequestOnce) {
  Decision d = DecideOk(*engine_, Shell("ls"));
  ASSERT_EQ(d.effect, Effect::kApprove);
  EXPECT_STREQ(d.reason, "approval.required");
  std::string ticket = d.ticket;
  ASSERT_EQ(ticket.size(), 32u);
  // Asking again while pending returns the same ticket, not a second one.
  EXPECT_EQ(DecideOk(*engine_, Shell("ls")).ticket, ticket);
  ASSERT_EQ(engine_->approvals().Pending().size(), 1u);
  EXPECT_NE(engine_->approvals().Pending()[0].summary.find("\"shell\""), std::string::npos);
  EXPECT_STREQ(DecideOk(*engine_, Shell("ls", ticket)).reason, "approval.pending");

  ASSERT_TRUE(engine_->approvals().Resolve(ticket, true, "alice", "looks fine").ok());
  EXPECT_TRUE(engine_->approvals().Pending().empty());
  // A different request with the ticket is refused, and does not burn it.
  EXPECT_STREQ(DecideOk(*engine_, Shell("ls -la", ticket)).reason, "approval.mismatch");
  d = DecideOk(*engine_, Shell("ls", ticket));
  EXPECT_EQ(d.effect, Effect::kAllow);
  EXPECT_STREQ(d.reason, "approval.granted");
  d = DecideOk(*engine_, Shell("ls", ticket));
  EXPECT_EQ(d.effect, Effect::kDeny);
  EXPECT_STREQ(d.reason, "approval.used");
  TicketInfo info;
  ASSERT_TRUE(engine_->approvals().Get(ticket, &info).ok());
  EXPECT_EQ(info.state, TicketState::kUsed);
  EXPECT_EQ(info.approver, "alice");
  EXPECT_EQ(info.reason, "looks fine");
}

TEST_F(Approvals, DenyWinsEvenWithATicket) {
  Decision d = DecideOk(*engine_, Shell("rm -rf /"));
  EXPECT_STREQ(d.reason, "rule.deny");
  EXPECT_TRUE(d.ticket.empty());
}

TEST_F(Approvals, RejectedAndExpiredTicketsDeny) {
  std::string t1 = DecideOk(*engine_, Shell("a")).ticket;
  ASSERT_TRUE(engine_->approvals().Resolve(t1, false, "bob", "no").ok());
  EXPECT_STREQ(DecideOk(*engine_, Shell("a", t1)).reason, "approval.denied");
  EXPECT_EQ(kars::ToCStatus(engine_->approvals().Resolve(t1, true, "bob", "")), KARS_E_PRECONDITION);

  std::string t2 = DecideOk(*engine_, Shell("b")).ticket;
  clock_.Advance(61 * kSecond);
  EXPECT_STREQ(DecideOk(*engine_, Shell("b", t2)).reason, "approval.expired");
  EXPECT_EQ(kars::ToCStatus(engine_->approvals().Resolve(t2, true, "bob", "")), KARS_E_PRECONDITION);
  // A new request after expiry opens a new ticket.
  EXPECT_NE(DecideOk(*engine_, Shell("b")).ticket, t2);

  // An approved but unused ticket expires one TTL after the approval.
  std::string t3 = DecideOk(*engine_, Shell("c")).ticket;
  clock_.Advance(50 * kSecond);
  ASSERT_TRUE(engine_->approvals().Resolve(t3, true, "carol", "").ok());
  clock_.Advance(50 * kSecond);
  EXPECT_STREQ(DecideOk(*engine_, Shell("c", t3)).reason, "approval.granted");

  EXPECT_STREQ(DecideOk(*engine_, Shell("d", "0123")).reason, "approval.unknown");
  EXPECT_EQ(engine_->approvals().Resolve("0123", true, "x", "").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->approvals().Resolve(t3, true, "", "").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(Approvals, WaitReturnsWhenDecidedOrTimesOut) {
  std::string ticket = DecideOk(*engine_, Shell("w")).ticket;
  TicketState state;
  ASSERT_TRUE(engine_->approvals().Wait(ticket, 20 * 1000000, &state).ok());
  EXPECT_EQ(state, TicketState::kPending);
  std::thread approver([&] {
    absl::SleepFor(absl::Milliseconds(30));
    ASSERT_TRUE(engine_->approvals().Resolve(ticket, true, "dave", "").ok());
  });
  ASSERT_TRUE(engine_->approvals().Wait(ticket, 10 * kSecond, &state).ok());
  approver.join();
  EXPECT_EQ(state, TicketState::kApproved);
  EXPECT_EQ(engine_->approvals().Wait("nope", 1, &state).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace kars::policy
