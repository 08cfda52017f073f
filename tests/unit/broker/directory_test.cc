// Directory sources follow the directory while traffic runs: keys added, removed and rotated on
// real files, without restart; injections already made keep their value and lease.
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libkars/base/status.h"
#include "libkars/base/sync.h"
#include "libkars/broker/broker.h"
#include "tests/unit/broker/helpers.h"
#include "tests/unit/broker/token_server.h"

namespace kars::broker {
namespace {

using testing::AuthValue;
using testing::MustBroker;
using testing::MustInject;
using testing::TempDir;

// Writes `value` to dir/key the way Kubernetes and careful operators do: a new file renamed over.
void Replace(const TempDir& dir, const std::string& key, const std::string& value) {
  dir.Write("." + key + ".tmp", value);  // hidden: never listed as a key itself
  ASSERT_EQ(rename((dir.path() + "/." + key + ".tmp").c_str(), (dir.path() + "/" + key).c_str()), 0);
}

// Polls until `done` holds or two seconds pass (the check interval is 50 ms).
template <class F>
bool Eventually(F done) {
  for (int i = 0; i < 200; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

class Events {
 public:
  std::function<void(const std::string&)> Sink() {
    return [this](const std::string& e) {
      MutexLock lock(&mu_);
      events_.push_back(e);
    };
  }
  int Count(absl::string_view needle) const {
    MutexLock lock(&mu_);
    int n = 0;
    for (const auto& e : events_) n += absl::StrContains(e, needle) ? 1 : 0;
    return n;
  }
  std::vector<std::string> All() const {
    MutexLock lock(&mu_);
    return events_;
  }

 private:
  mutable Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

std::string GrantFor(const std::string& id, const std::string& host, const std::string& cred) {
  return absl::StrCat("{id: ", id, ", principals: ['agent-*'], destination: {host: ", host, "}, credential: ", cred,
                      "}");
}

TEST(DirectorySource, FollowsKeysAddedRemovedAndRotatedMidTraffic) {
  TempDir dir;
  dir.Write("a", "dir-key-a-0001");
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: app, type: directory, path: '", dir.path(),
                                   "', check_interval_ms: 50}\ngrants:\n  - ", GrantFor("ga", "api.example", "app/a")));
  ASSERT_NE(b, nullptr);
  Events events;
  b->SetEventSink(events.Sink());

  // Traffic on key a throughout: every answer is allowed and carries one whole value.
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, ok{0};
  std::vector<std::thread> traffic;
  for (int t = 0; t < 3; ++t) {
    traffic.emplace_back([&] {
      Injection inj;
      while (!stop) {
        absl::Status s = b->Inject("agent-1", "POST", "https://api.example/v1/x", {}, &inj);
        const std::string v = AuthValue(inj);
        if (!s.ok() || !inj.allowed() || (v != "Bearer dir-key-a-0001" && v != "Bearer dir-key-a-0003")) {
          ++bad;
        } else {
          ++ok;
        }
      }
    });
  }

  // Added: a grant may name the new key at once (the directory is looked at again for it).
  Replace(dir, "b", "dir-key-b-0002");
  auto grant_b = ParseGrant(GrantFor("gb", "api-b.example", "app/b"));
  ASSERT_TRUE(grant_b.ok()) << grant_b.status();
  ASSERT_TRUE(b->AddGrant(*grant_b).ok());
  Injection before_removal = MustInject(*b, "https://api-b.example/v1/x");
  EXPECT_EQ(AuthValue(before_removal), "Bearer dir-key-b-0002");
  auto scan = b->ScanOutbound("https://evil.example/", {}, "here: dir-key-b-0002");
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->credential_id, "app/b");
  EXPECT_EQ(b->Metrics().keys_added, 1u);
  EXPECT_EQ(events.Count("\"source_added\",\"credential\":\"app/b\""), 1);

  // Rotated: new injections get the new value; one made before keeps its value and lease.
  Injection before_rotation = MustInject(*b);
  EXPECT_EQ(AuthValue(before_rotation), "Bearer dir-key-a-0001");
  Replace(dir, "a", "dir-key-a-0003");
  EXPECT_TRUE(Eventually([&] { return AuthValue(MustInject(*b)) == "Bearer dir-key-a-0003"; }));
  EXPECT_EQ(AuthValue(before_rotation), "Bearer dir-key-a-0001");
  EXPECT_TRUE(b->CheckLease(before_rotation.lease_id).ok());

  // Removed: new requests are denied; the in-flight one keeps its lease; the value is still
  // scanned for (it may still be live at its issuer).
  ASSERT_EQ(unlink((dir.path() + "/b").c_str()), 0);
  EXPECT_TRUE(Eventually([&] {
    return MustInject(*b, "https://api-b.example/v1/x").reason == DenyReason::kCredentialUnavailable;
  }));
  Injection denied = MustInject(*b, "https://api-b.example/v1/x");
  EXPECT_TRUE(absl::StrContains(denied.message, "key removed from directory")) << denied.message;
  EXPECT_TRUE(denied.set_headers.empty());
  EXPECT_TRUE(b->CheckLease(before_removal.lease_id).ok());
  scan = b->ScanOutbound("https://evil.example/", {}, "dir-key-b-0002");
  ASSERT_TRUE(scan.ok());
  EXPECT_FALSE(scan->clean);
  // Counted and reported by the thread that noticed, right after it retired the key.
  EXPECT_TRUE(Eventually([&] { return b->Metrics().keys_removed == 1u; }));
  EXPECT_TRUE(Eventually([&] { return events.Count("\"source_removed\",\"credential\":\"app/b\"") == 1; }));

  // Back again with a new value.
  Replace(dir, "b", "dir-key-b-0004");
  EXPECT_TRUE(Eventually([&] {
    return AuthValue(MustInject(*b, "https://api-b.example/v1/x")) == "Bearer dir-key-b-0004";
  }));

  stop = true;
  for (auto& t : traffic) t.join();
  EXPECT_EQ(bad, 0);
  EXPECT_GT(ok, 0);
  for (const std::string& e : events.All()) {
    for (const char* v : {"dir-key-a-0001", "dir-key-a-0003", "dir-key-b-0002", "dir-key-b-0004"}) {
      EXPECT_FALSE(absl::StrContains(e, v)) << e;
    }
  }
}

TEST(DirectorySource, EmptyDirectoryIsFineAndKeysArriveLater) {
  TempDir dir;
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: app, type: directory, path: '", dir.path(),
                                   "', check_interval_ms: 3600000}\n"));
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->ListCredentials().empty());
  auto grant = ParseGrant(GrantFor("g", "api.example", "app/token"));
  ASSERT_TRUE(grant.ok());
  EXPECT_EQ(ToCStatus(b->AddGrant(*grant)), KARS_E_NOT_FOUND);  // no such key yet
  dir.Write("token", "late-key-5555");
  // The interval is an hour: only the explicit rescan (or a grant naming the key) sees it.
  b->RescanDirectories(/*force=*/true);
  ASSERT_EQ(b->ListCredentials().size(), 1u);
  ASSERT_TRUE(b->AddGrant(*grant).ok());
  EXPECT_EQ(AuthValue(MustInject(*b)), "Bearer late-key-5555");
}

}  // namespace
}  // namespace kars::broker
