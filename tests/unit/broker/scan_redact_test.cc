#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libkars/broker/broker.h"
#include "libkars/broker/encodings.h"
#include "libkars/broker/leak_index.h"
#include "libkars/broker/redactor.h"
#include "tests/unit/broker/token_server.h"

namespace kars::broker {
namespace {

using testing::TempDir;

const char kValue[] = "tok_Zq8/xY+wer\"ty\\12";

std::string B64(const std::string& s, bool url) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  out.resize(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                             reinterpret_cast<const unsigned char*>(s.data()), s.size()));
  if (url) {
    for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return out;
}

class ScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>();
    auto b = Broker::FromConfig(absl::StrCat(
        "sources:\n  - {id: model-key, type: file, path: '", dir_->Write("k", kValue), "'}\n"));
    ASSERT_TRUE(b.ok()) << b.status();
    broker_ = *std::move(b);
  }
  ScanVerdict Scan(const std::string& url, const std::vector<Header>& headers, const std::string& body) {
    auto v = broker_->ScanOutbound(url, headers, body);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : ScanVerdict{};
  }
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Broker> broker_;
};

TEST_F(ScanTest, CleanRequestPasses) {
  auto v = Scan("https://api.example/v1/chat?x=1", {{"Content-Type", "application/json"}},
                "{\"messages\":[\"hello tok_Zq8 world\"]}");
  EXPECT_TRUE(v.clean);
}

TEST_F(ScanTest, EveryEncodingOfExfiltrationIsCaught) {
  const std::string value = kValue;
  std::vector<std::pair<std::string, std::string>> attempts = {
      {"raw", value},
      {"hex", HexEncode(value, false)},
      {"HEX", HexEncode(value, true)},
      {"percent", PercentEncode(value, true)},
      {"percent-lower", PercentEncode(value, false)},
      {"json", JsonEscape(value)},
  };
  // Base64 and base64url, with the value at each alignment inside a longer encoded payload.
  for (int pre = 0; pre < 3; ++pre) {
    for (bool url : {false, true}) {
      attempts.push_back({url ? "base64url" : "base64",
                          B64(std::string(pre, '#') + "user=" + value + "&more", url)});
    }
  }
  for (const auto& [encoding, payload] : attempts) {
    for (const char* where : {"url", "header", "body"}) {
      ScanVerdict v;
      const std::string w = where;
      if (w == "url") v = Scan("https://evil.example/c?d=" + payload, {}, "");
      if (w == "header") v = Scan("https://evil.example/", {{"X-Data", "zz" + payload + "zz"}}, "");
      if (w == "body") v = Scan("https://evil.example/", {}, "{\"leak\":\"" + payload + "\"}");
      EXPECT_FALSE(v.clean) << encoding << " in " << where;
      EXPECT_EQ(v.credential_id, "model-key") << encoding << " in " << where;
      EXPECT_EQ(v.location.substr(0, 3), w.substr(0, 3)) << encoding;
      // The verdict names the credential, never carries its bytes.
      EXPECT_EQ(v.location.find(value), std::string::npos);
    }
  }
  EXPECT_GE(broker_->Metrics().scan_hits, attempts.size() * 3);
}

TEST_F(ScanTest, WellKnownTokenShapesAreCaughtEvenWhenNotHeld) {
  auto v = Scan("https://evil.example/", {}, "key=ghp_0123456789abcdefghijABCDEFGHIJ012345");
  EXPECT_FALSE(v.clean);
  EXPECT_EQ(v.credential_id, "pattern:gh_prefixed_token");
  v = Scan("https://evil.example/", {}, "-----BEGIN RSA PRIVATE KEY-----\nMIIE");
  EXPECT_EQ(v.credential_id, "pattern:pem_private_key");
  v = Scan("https://evil.example/", {}, "AKIAABCDEFGHIJKLMNOP");
  EXPECT_EQ(v.credential_id, "pattern:akia_access_key_id");
}

TEST(ScanSettings, PatternLayerCanBeTurnedOff) {
  auto b = Broker::FromConfig("settings: {token_patterns: false}\n");
  ASSERT_TRUE(b.ok());
  auto v = (*b)->ScanOutbound("https://x.example/", {}, "AKIAABCDEFGHIJKLMNOP");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->clean);
}

std::shared_ptr<const LeakIndex> IndexOf(const std::vector<std::pair<std::string, std::string>>& values) {
  std::vector<HeldValue> held;
  for (const auto& [id, v] : values) held.push_back({id, *Secret::Create(v)});
  auto index = LeakIndex::Build(held);
  EXPECT_TRUE(index.ok()) << index.status();
  return *index;
}

std::string RedactPieces(const std::shared_ptr<const LeakIndex>& index, const std::vector<std::string>& pieces) {
  Redactor r(index);
  std::string out;
  for (const auto& p : pieces) {
    EXPECT_TRUE(r.Feed(p, &out).ok());
    EXPECT_LE(r.pending() + 1, std::max<std::size_t>(index->max_form_length(), 1));
  }
  EXPECT_TRUE(r.Finish(&out).ok());
  return out;
}

TEST(Redactor, ReplacesValueAtEverySingleAndDoubleSplitPoint) {
  const std::string value = "sk-live-ABCDEFGHIJ0123456789";
  auto index = IndexOf({{"model-key", value}});
  const std::string stream = "data: {\"x\":\"" + value + "\"}\n\ndata: again " + value + "\n";
  const std::string want = "data: {\"x\":\"[REDACTED:model-key]\"}\n\ndata: again [REDACTED:model-key]\n";
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    EXPECT_EQ(RedactPieces(index, {stream.substr(0, i), stream.substr(i)}), want) << "split " << i;
    for (std::size_t j = i; j <= stream.size(); j += 3) {
      EXPECT_EQ(RedactPieces(index, {stream.substr(0, i), stream.substr(i, j - i), stream.substr(j)}), want)
          << "splits " << i << "," << j;
    }
  }
  // One byte at a time.
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  EXPECT_EQ(RedactPieces(index, bytes), want);
}

TEST(Redactor, RedactsEncodedFormsAndNamesEachCredential) {
  const std::string a = "alpha-secret-0001", b = "bravo/secret+0002";
  auto index = IndexOf({{"a", a}, {"b", b}});
  const std::string stream = "x " + HexEncode(a, false) + " y " + PercentEncode(b, true) + " z";
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    EXPECT_EQ(RedactPieces(index, {stream.substr(0, i), stream.substr(i)}),
              "x [REDACTED:a] y [REDACTED:b] z")
        << "split " << i;
  }
}

TEST(Redactor, MemoryStaysBoundedOnLongStreams) {
  auto index = IndexOf({{"k", "0123456789abcdef-secret"}});
  Redactor r(index);
  std::string out;
  const std::string chunk(4096, 'a');
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(r.Feed(chunk, &out).ok());
    ASSERT_LT(r.pending(), index->max_form_length());
    out.clear();
  }
  ASSERT_TRUE(r.Finish(&out).ok());
  EXPECT_EQ(r.Feed("x", &out).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Redactor, EmptyIndexPassesThrough) {
  auto index = IndexOf({});
  EXPECT_EQ(RedactPieces(index, {"hello ", "world"}), "hello world");
}

}  // namespace
}  // namespace kars::broker
