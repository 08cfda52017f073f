#include "libkars/base/file.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "kars/common.h"
#include "libkars/base/status.h"

namespace kars {
namespace {

std::string TempPath(const char* name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/kars_file_test_" + name;
}

TEST(FileTest, AppendsTheWholeFile) {
  const std::string path = TempPath("whole");
  std::string bytes(200000, 'x');  // more than one read buffer
  bytes[199999] = 'y';
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  std::string out = "prefix";
  ASSERT_TRUE(AppendFileContents(path, "reading", &out).ok());
  EXPECT_EQ(out, "prefix" + bytes);
  std::remove(path.c_str());
}

TEST(FileTest, AMissingFileIsAnErrorNamingItUnlessEmptyIsAllowed) {
  const std::string path = TempPath("missing");
  std::remove(path.c_str());
  std::string out;
  absl::Status s = AppendFileContents(path, "policy file", &out);
  EXPECT_EQ(ToCStatus(s), KARS_E_IO);
  EXPECT_NE(s.message().find("policy file " + path), absl::string_view::npos) << s;
  EXPECT_TRUE(AppendFileContents(path, "journal", &out, MissingFile::kEmpty).ok());
  EXPECT_TRUE(out.empty());
}

TEST(FileTest, ADirectoryIsAnError) {
  std::string out;
  EXPECT_EQ(ToCStatus(AppendFileContents("/", "reading", &out)), KARS_E_IO);
}

}  // namespace
}  // namespace kars
