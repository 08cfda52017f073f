#include "libkars/capi/guard.h"

#include <new>
#include <stdexcept>

#include "gtest/gtest.h"
#include "libkars/base/status.h"

namespace kars::capi {
namespace {

struct ErrorHolder {
  kars_error* err = nullptr;
  ~ErrorHolder() { kars_error_free(err); }
};

TEST(GuardTest, OkLeavesTheErrorUntouched) {
  ErrorHolder e;
  EXPECT_EQ(Guard(&e.err, [] { return absl::OkStatus(); }), KARS_OK);
  EXPECT_EQ(e.err, nullptr);
}

TEST(GuardTest, StatusBecomesCodeAndMessage) {
  ErrorHolder e;
  EXPECT_EQ(Guard(&e.err, [] { return IoError("disk on fire"); }), KARS_E_IO);
  ASSERT_NE(e.err, nullptr);
  EXPECT_EQ(kars_error_code(e.err), KARS_E_IO);
  EXPECT_STREQ(kars_error_message(e.err), "disk on fire");
}

TEST(GuardTest, BadAllocBecomesNoMemory) {
  ErrorHolder e;
  auto body = []() -> absl::Status { throw std::bad_alloc(); };
  EXPECT_EQ(Guard(&e.err, body), KARS_E_NO_MEMORY);
  EXPECT_EQ(kars_error_code(e.err), KARS_E_NO_MEMORY);
}

TEST(GuardTest, ExceptionsBecomeInternal) {
  ErrorHolder e;
  auto std_body = []() -> absl::Status { throw std::runtime_error("boom"); };
  EXPECT_EQ(Guard(&e.err, std_body), KARS_E_INTERNAL);
  EXPECT_STREQ(kars_error_message(e.err), "internal error: boom");
  ErrorHolder f;
  auto odd_body = []() -> absl::Status { throw 42; };
  EXPECT_EQ(Guard(&f.err, odd_body), KARS_E_INTERNAL);
  EXPECT_STREQ(kars_error_message(f.err), "internal error: unknown exception");
}

TEST(GuardTest, NullErrorPointerStillReturnsTheCode) {
  EXPECT_EQ(Guard(nullptr, [] { return absl::NotFoundError("x"); }), KARS_E_NOT_FOUND);
}

TEST(GuardTest, RequireArgNamesTheParameter) {
  ErrorHolder e;
  const char* name = nullptr;
  EXPECT_EQ(Guard(&e.err, [&]() -> absl::Status {
              KARS_REQUIRE_ARG(name);
              return absl::OkStatus();
            }),
            KARS_E_INVALID_ARGUMENT);
  EXPECT_STREQ(kars_error_message(e.err), "name must not be NULL");
}

}  // namespace
}  // namespace kars::capi
