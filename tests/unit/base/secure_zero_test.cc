#include "libkars/base/secure_zero.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace kars {
namespace {

TEST(SecureZeroTest, WipesRawBytes) {
  unsigned char bytes[32];
  std::fill(std::begin(bytes), std::end(bytes), 0xa5);
  SecureZero(bytes, sizeof bytes);
  EXPECT_TRUE(std::all_of(std::begin(bytes), std::end(bytes), [](unsigned char b) { return b == 0; }));
  SecureZero(nullptr, 10);  // tolerated
}

TEST(SecureZeroTest, WipesTheWholeStringBuffer) {
  std::string secret(100, 'S');
  secret.resize(10);  // the tail beyond size still holds 'S' until wiped
  const char* buffer = secret.data();
  const std::size_t capacity = secret.capacity();
  SecureZero(secret);
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.data(), buffer) << "wiping must not reallocate";
  for (std::size_t i = 0; i < capacity; ++i) ASSERT_EQ(buffer[i], '\0') << "byte " << i;
}

}  // namespace
}  // namespace kars
