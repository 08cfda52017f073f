#include <openssl/evp.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <type_traits>

#include "gtest/gtest.h"
#include "libkars/broker/encodings.h"
#include "libkars/broker/secret.h"

namespace kars::broker {
namespace {

std::string B64(const std::string& s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  out.resize(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                             reinterpret_cast<const unsigned char*>(s.data()), s.size()));
  return out;
}

TEST(Secret, HoldsValueAndComparesExactly) {
  auto s = Secret::Create("hunter2-value");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Reveal(), "hunter2-value");
  EXPECT_TRUE((*s)->Equals("hunter2-value"));
  EXPECT_FALSE((*s)->Equals("hunter2-valuf"));
  EXPECT_FALSE((*s)->Equals("hunter2-valu"));
  static_assert(!std::is_copy_constructible_v<Secret>);
  static_assert(!std::is_copy_assignable_v<Secret>);
}

// The kernel's view of the pages: excluded from core dumps ("dd"), not inherited by fork
// ("dc"), and locked ("lo") when RLIMIT_MEMLOCK allows it.
TEST(Secret, PagesAreDumpExcludedAndLocked) {
  auto s = Secret::Create("page-flags-value");
  ASSERT_TRUE(s.ok());
  const auto addr = reinterpret_cast<std::uintptr_t>((*s)->Reveal().data());
  std::ifstream smaps("/proc/self/smaps");
  std::string line, flags;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = addr >= lo && addr < hi;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      flags = line;
      break;
    }
  }
  ASSERT_FALSE(flags.empty()) << "mapping not found";
  EXPECT_NE(flags.find(" dd"), std::string::npos) << flags;
  EXPECT_NE(flags.find(" dc"), std::string::npos) << flags;
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)  // sanitizers make mlock a no-op
  if ((*s)->locked()) {
    EXPECT_NE(flags.find(" lo"), std::string::npos) << flags;
  }
#endif
}

TEST(Secret, EmptyValueIsValid) {
  auto s = Secret::Create("");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->size(), 0u);
  EXPECT_TRUE((*s)->Equals(""));
}

// The core of the base64 form must appear in the encoding of the value embedded after any
// number of other bytes and before any trailer: that is what makes mid-stream detection work.
TEST(Encodings, Base64CoreAppearsAtEveryAlignment) {
  const std::string value = "s3cr3t-Value_with/odd+chars";
  for (int pre = 0; pre < 6; ++pre) {
    for (int post = 0; post < 4; ++post) {
      const std::string stream = std::string(pre, 'P') + value + std::string(post, 'Q');
      const std::string enc = B64(stream);
      std::string url = enc;
      for (char& c : url) c = c == '+' ? '-' : c == '/' ? '_' : c;
      EXPECT_NE(enc.find(Base64Core(value, pre % 3, false)), std::string::npos) << pre << "," << post;
      EXPECT_NE(url.find(Base64Core(value, pre % 3, true)), std::string::npos) << pre << "," << post;
    }
  }
}

TEST(Encodings, Base64CoreDropsOnlyStraddlingCharacters) {
  // 6 bytes at offset 0 encode to exactly 8 characters, all from the value.
  EXPECT_EQ(Base64Core("abcdef", 0, false), B64("abcdef"));
  // 3 bytes at offset 1: 32 bits → characters 2..5 are pure, and the 5th-6th straddle the end.
  EXPECT_EQ(Base64Core("abc", 1, false).size(), 3u);
}

TEST(Encodings, HexPercentJson) {
  EXPECT_EQ(HexEncode("\x01\xab", false), "01ab");
  EXPECT_EQ(HexEncode("\x01\xab", true), "01AB");
  EXPECT_EQ(PercentEncode("a b/c~", true), "a%20b%2Fc~");
  EXPECT_EQ(PercentEncode("a/", false), "a%2f");
  EXPECT_EQ(JsonEscape("q\"\\\n\x01"), "q\\\"\\\\\\n\\u0001");
}

TEST(Encodings, FormsAreDistinctAndLongEnough) {
  auto forms = EncodedForms("ab", 6);
  for (const auto& f : forms) EXPECT_GE(f.bytes.size(), 6u);
  forms = EncodedForms("plain-token-123", 6);
  for (std::size_t i = 0; i < forms.size(); ++i) {
    for (std::size_t j = i + 1; j < forms.size(); ++j) EXPECT_NE(forms[i].bytes, forms[j].bytes);
  }
  // 15 bytes without '+' or '/' in their encoding: raw, base64 at 3 alignments (base64url is the
  // same text), hex, HEX; percent and JSON forms equal the raw form.
  EXPECT_EQ(forms.size(), 6u);
  WipeForms(forms);
  EXPECT_TRUE(forms.empty());
}

}  // namespace
}  // namespace kars::broker
