#include "libkars/base/openssl.h"

#include <openssl/err.h>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace kars {
namespace {

TEST(OpensslTest, OwnsAndReleasesContexts) {
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  ASSERT_NE(ctx, nullptr);
  ossl::Md sha256(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  ASSERT_NE(sha256, nullptr);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ASSERT_EQ(EVP_DigestInit_ex(ctx.get(), sha256.get(), nullptr), 1);
  ASSERT_EQ(EVP_DigestUpdate(ctx.get(), "abc", 3), 1);
  ASSERT_EQ(EVP_DigestFinal_ex(ctx.get(), out, &len), 1);
  EXPECT_EQ(len, 32u);
  EXPECT_EQ(out[0], 0xba);  // SHA-256("abc") = ba7816bf...
  EXPECT_EQ(out[31], 0xad);
}

TEST(OpensslTest, ErrorDrainsTheQueueIntoTheMessage) {
  ossl::Md missing(EVP_MD_fetch(nullptr, "NO-SUCH-DIGEST", nullptr));
  ASSERT_EQ(missing, nullptr);
  absl::Status status = ossl::Error("fetch digest");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StartsWith(status.message(), "fetch digest: error:")) << status.message();
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_EQ(ossl::Error("nothing queued").message(), "nothing queued");
}

}  // namespace
}  // namespace kars
