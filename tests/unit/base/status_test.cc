#include "libkars/base/status.h"

#include <cerrno>

#include "absl/strings/cord.h"
#include "gtest/gtest.h"

namespace kars {
namespace {

TEST(StatusTest, OkMapsToOk) { EXPECT_EQ(ToCStatus(absl::OkStatus()), KARS_OK); }

TEST(StatusTest, CanonicalCodesMapToTheirKarsCodes) {
  EXPECT_EQ(ToCStatus(absl::InvalidArgumentError("x")), KARS_E_INVALID_ARGUMENT);
  EXPECT_EQ(ToCStatus(absl::NotFoundError("x")), KARS_E_NOT_FOUND);
  EXPECT_EQ(ToCStatus(absl::AlreadyExistsError("x")), KARS_E_EXISTS);
  EXPECT_EQ(ToCStatus(absl::PermissionDeniedError("x")), KARS_E_DENIED);
  EXPECT_EQ(ToCStatus(absl::UnauthenticatedError("x")), KARS_E_DENIED);
  EXPECT_EQ(ToCStatus(absl::CancelledError("x")), KARS_E_CANCELLED);
  EXPECT_EQ(ToCStatus(absl::ResourceExhaustedError("x")), KARS_E_EXHAUSTED);
  EXPECT_EQ(ToCStatus(absl::UnavailableError("x")), KARS_E_UNAVAILABLE);
  EXPECT_EQ(ToCStatus(absl::DeadlineExceededError("x")), KARS_E_UNAVAILABLE);
  EXPECT_EQ(ToCStatus(absl::FailedPreconditionError("x")), KARS_E_PRECONDITION);
  EXPECT_EQ(ToCStatus(absl::DataLossError("x")), KARS_E_TAMPERED);
  EXPECT_EQ(ToCStatus(absl::UnknownError("x")), KARS_E_INTERNAL);
  EXPECT_EQ(ToCStatus(absl::InternalError("x")), KARS_E_INTERNAL);
}

TEST(StatusTest, KarsOnlyCodesSurviveTheRoundTrip) {
  for (kars_status code : {KARS_E_IO, KARS_E_TAMPERED, KARS_E_CALLBACK, KARS_E_BUFFER_TOO_SMALL,
                           KARS_E_NO_MEMORY, KARS_E_INTERNAL, KARS_E_EXHAUSTED}) {
    absl::Status status = MakeStatus(code, "message");
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.message(), "message");
    EXPECT_EQ(ToCStatus(status), code) << kars_status_name(code);
  }
  EXPECT_TRUE(MakeStatus(KARS_OK, "ignored").ok());
}

TEST(StatusTest, ErrnoErrorNamesTheOperationAndTheReason) {
  absl::Status status = ErrnoError("open /nope", ENOENT);
  EXPECT_EQ(ToCStatus(status), KARS_E_IO);
  EXPECT_EQ(status.message(), "open /nope: No such file or directory");
}

TEST(StatusTest, ADetachedCopyKeepsCodeMessageAndKarsCodeButSharesNothing) {
  const absl::Status original = MakeStatus(KARS_E_TAMPERED, "record 7 changed");
  absl::Status copy = DetachedCopy(original);
  EXPECT_EQ(copy, original);
  EXPECT_EQ(ToCStatus(copy), KARS_E_TAMPERED);
  EXPECT_NE(copy.message().data(), original.message().data());  // its own bytes
  copy.SetPayload("kars.test/extra", absl::Cord("x"));
  EXPECT_FALSE(original.GetPayload("kars.test/extra").has_value());
  EXPECT_TRUE(DetachedCopy(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace kars
