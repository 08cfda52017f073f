// The per-thread caches of the injection path (snapshot and credential values) never serve what
// a change has replaced: each test warms the caches of one or more threads, changes the broker
// or the source underneath, and checks that the very next injection on every thread sees it.
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libkars/base/sync.h"
#include "libkars/broker/broker.h"
#include "libkars/broker/config.h"
#include "libkars/broker/credential.h"
#include "tests/unit/broker/helpers.h"
#include "tests/unit/broker/token_server.h"

namespace kars::broker {
namespace {

using testing::AuthValue;
using testing::Grant;
using testing::MustBroker;
using testing::TempDir;

constexpr const char* kUrl = "https://api.example/v1/x";

// Injects on its own thread, keeping one Injection (and so its thread's caches) between calls.
class Worker {
 public:
  explicit Worker(Broker& b) : b_(b), thread_([this] { Loop(); }) {}
  ~Worker() {
    {
      MutexLock lock(&mu_);
      quit_ = true;
    }
    cv_.SignalAll();
    thread_.join();
  }
  // One injection on the worker's thread; returns it (copied out).
  Injection Inject() {
    Injection copy;
    Run([&] {
      EXPECT_TRUE(b_.Inject("agent-1", "POST", kUrl, {}, &inj_).ok());
      copy.reason = inj_.reason;
      copy.lease_id = inj_.lease_id;
      copy.grant_id = inj_.grant_id;
      copy.set_headers = inj_.set_headers;
    });
    return copy;
  }

 private:
  void Run(std::function<void()> f) {
    MutexLock lock(&mu_);
    job_ = std::move(f);
    cv_.SignalAll();
    while (job_) cv_.Wait(&mu_);
  }
  void Loop() {
    MutexLock lock(&mu_);
    while (true) {
      while (!quit_ && !job_) cv_.Wait(&mu_);
      if (job_) {
        job_();
        job_ = nullptr;
        cv_.SignalAll();
      } else {
        return;
      }
    }
  }

  Broker& b_;
  Injection inj_;
  Mutex mu_;
  CondVar cv_;
  std::function<void()> job_ ABSL_GUARDED_BY(mu_);
  bool quit_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

Injection InjectHere(Broker& b, Injection* reuse) {
  EXPECT_TRUE(b.Inject("agent-1", "POST", kUrl, {}, reuse).ok());
  return std::move(*reuse);
}

void Replace(const TempDir& dir, const std::string& key, const std::string& value) {
  dir.Write("." + key + ".tmp", value);
  ASSERT_EQ(rename((dir.path() + "/." + key + ".tmp").c_str(), (dir.path() + "/" + key).c_str()), 0);
}

TEST(InjectCache, RemovedGrantDeniesTheNextInjectionOnEveryThread) {
  TempDir dir;
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: k, type: file, path: '", dir.Write("k", "grant-value-01"),
                                   "'}\n", Grant("k")));
  ASSERT_NE(b, nullptr);
  Worker other(*b);
  Injection mine;
  ASSERT_TRUE(InjectHere(*b, &mine).allowed());
  ASSERT_TRUE(InjectHere(*b, &mine).allowed());
  const Injection before = other.Inject();
  ASSERT_TRUE(before.allowed());
  ASSERT_TRUE(other.Inject().allowed());

  ASSERT_TRUE(b->RemoveGrant("g").ok());
  EXPECT_EQ(InjectHere(*b, &mine).reason, DenyReason::kNoGrant);
  EXPECT_EQ(other.Inject().reason, DenyReason::kNoGrant);

  // The grant back is a new grant: a new lease, on both threads.
  auto g = ParseGrant("{id: g, principals: ['agent-*'], destination: {host: api.example}, credential: k}");
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(b->AddGrant(*g).ok());
  const Injection after = other.Inject();
  ASSERT_TRUE(after.allowed());
  EXPECT_NE(after.lease_id, before.lease_id);
  EXPECT_EQ(AuthValue(after), "Bearer grant-value-01");
  EXPECT_TRUE(InjectHere(*b, &mine).allowed());
}

TEST(InjectCache, RotatedFileIsInjectedByTheNextCallOnEveryThread) {
  TempDir dir;
  // check_interval_ms 0: every injection asks whether the file changed.
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: k, type: file, path: '", dir.Write("k", "rotating-value-00"),
                                   "', check_interval_ms: 0}\n", Grant("k")));
  ASSERT_NE(b, nullptr);
  Worker other(*b);
  Injection mine;
  for (int gen = 1; gen <= 5; ++gen) {
    const std::string old_value = absl::StrCat("Bearer rotating-value-0", gen - 1);
    EXPECT_EQ(AuthValue(InjectHere(*b, &mine)), old_value);
    EXPECT_EQ(AuthValue(other.Inject()), old_value);
    Replace(dir, "k", absl::StrCat("rotating-value-0", gen));
    const std::string value = absl::StrCat("Bearer rotating-value-0", gen);
    EXPECT_EQ(AuthValue(other.Inject()), value);
    EXPECT_EQ(AuthValue(InjectHere(*b, &mine)), value);
  }
}

TEST(InjectCache, RotatedFileIsInjectedOnceItsCheckIntervalPassed) {
  TempDir dir;
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: k, type: file, path: '", dir.Write("k", "interval-value-0"),
                                   "', check_interval_ms: 100}\n", Grant("k")));
  ASSERT_NE(b, nullptr);
  Injection mine;
  EXPECT_EQ(AuthValue(InjectHere(*b, &mine)), "Bearer interval-value-0");
  Replace(dir, "k", "interval-value-1");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(AuthValue(InjectHere(*b, &mine)), "Bearer interval-value-1");
}

TEST(InjectCache, RemovedDirectoryKeyDeniesTheNextInjectionOnEveryThread) {
  TempDir dir;
  dir.Write("a", "dir-cache-key-1");
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: app, type: directory, path: '", dir.path(),
                                   "', check_interval_ms: 3600000}\n", Grant("app/a")));
  ASSERT_NE(b, nullptr);
  Worker other(*b);
  Injection mine;
  ASSERT_EQ(AuthValue(InjectHere(*b, &mine)), "Bearer dir-cache-key-1");
  ASSERT_EQ(AuthValue(other.Inject()), "Bearer dir-cache-key-1");

  ASSERT_EQ(unlink((dir.path() + "/a").c_str()), 0);
  b->RescanDirectories(/*force=*/true);
  EXPECT_EQ(InjectHere(*b, &mine).reason, DenyReason::kCredentialUnavailable);
  EXPECT_EQ(other.Inject().reason, DenyReason::kCredentialUnavailable);

  dir.Write("a", "dir-cache-key-2");
  b->RescanDirectories(/*force=*/true);
  EXPECT_EQ(AuthValue(other.Inject()), "Bearer dir-cache-key-2");
  EXPECT_EQ(AuthValue(InjectHere(*b, &mine)), "Bearer dir-cache-key-2");
}

TEST(InjectCache, InjectionsOnManyThreadsAreAllCounted) {
  TempDir dir;
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: k, type: file, path: '", dir.Write("k", "counted-value-1"),
                                   "'}\n", Grant("k")));
  ASSERT_NE(b, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> allowed{0};
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&] {
      Injection inj;
      for (int i = 0; i < 100; ++i) {
        if (b->Inject("agent-1", "POST", kUrl, {}, &inj).ok() && inj.allowed()) ++allowed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed, 1200);
  EXPECT_EQ(b->Metrics().injections, 1200u);
}

// A source callback runs in the middle of an injection; the event sink it reaches may change
// the broker and inject again on the same thread. The outer injection must still read the
// snapshot it started with (under ASan a freed one would be caught).
TEST(InjectCache, NestedInjectionFromTheEventSinkLeavesTheOuterOneIntact) {
  TempDir dir;
  const std::string marker = dir.path() + "/ran";
  // The first run hands out a value living 4-5 s (`date` counts whole seconds; fresh for half of
  // that); every later run fails, so the refresh after 2.6 s fails while the value still serves,
  // and a source_error event is emitted.
  const std::string plugin = dir.Write("plugin.sh", absl::StrCat(
      "#!/bin/sh\nif [ -e ", marker, " ]; then exit 1; fi\ntouch ", marker,
      "\necho \"{\\\"value\\\": \\\"nested-value-1\\\", \\\"expires_at\\\": $(( $(date +%s) + 5 ))}\"\n"));
  ASSERT_EQ(chmod(plugin.c_str(), 0700), 0);
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: p, type: exec, command: ['", plugin, "']}\n", Grant("p")));
  ASSERT_NE(b, nullptr);
  Broker* broker = b.get();
  bool nested_done = false;
  DenyReason nested_reason = DenyReason::kNone;
  broker->SetEventSink([&](const std::string& e) {
    if (nested_done || !absl::StrContains(e, "source_error")) return;
    nested_done = true;
    EXPECT_TRUE(broker->RemoveGrant("g").ok());
    Injection nested;
    EXPECT_TRUE(broker->Inject("agent-1", "POST", kUrl, {}, &nested).ok());
    nested_reason = nested.reason;
  });
  Injection outer;
  ASSERT_EQ(AuthValue(InjectHere(*broker, &outer)), "Bearer nested-value-1");
  std::this_thread::sleep_for(std::chrono::milliseconds(2600));
  ASSERT_TRUE(broker->Inject("agent-1", "POST", kUrl, {}, &outer).ok());
  ASSERT_TRUE(nested_done);
  EXPECT_EQ(nested_reason, DenyReason::kNoGrant);
  EXPECT_EQ(AuthValue(outer), "Bearer nested-value-1");  // began before the grant went away
  EXPECT_EQ(InjectHere(*broker, &outer).reason, DenyReason::kNoGrant);
}

// What the caches hold of a destroyed broker goes with the destroying thread's cache at once
// and with any other thread's cache when that thread exits.
TEST(InjectCache, DestroyedBrokerIsLetGoByTheCaches) {
  TempDir dir;
  auto b = MustBroker(absl::StrCat("sources:\n  - {id: k, type: file, path: '", dir.Write("k", "held-value-0001"),
                                   "'}\n", Grant("k")));
  ASSERT_NE(b, nullptr);
  Injection mine;
  ASSERT_TRUE(InjectHere(*b, &mine).allowed());
  std::weak_ptr<const LeakIndex> index = b->leak_index();
  b.reset();
  EXPECT_TRUE(index.expired());

  b = MustBroker(absl::StrCat("sources:\n  - {id: k, type: file, path: '", dir.path(), "/k'}\n", Grant("k")));
  ASSERT_NE(b, nullptr);
  index = b->leak_index();
  {
    Worker other(*b);
    ASSERT_TRUE(other.Inject().allowed());
    b.reset();
    EXPECT_FALSE(index.expired());  // the worker's cache still holds the last snapshot
  }
  EXPECT_TRUE(index.expired());
}

// The credential-level cache directly, on synthetic times: a slot is never usable at or past
// the refresh-ahead point (so never past expiry), nor after any change of the credential, nor
// for another credential.
TEST(CredentialCache, SlotStopsAtTheRefreshPointAndAtEveryChange) {
  TempDir dir;
  const int64_t expiry = 2000000000;  // Unix seconds
  const std::string out = dir.Write("out.json", absl::StrCat("{\"value\": \"slot-value-1\", \"expires_at\": ", expiry, "}"));
  const std::string plugin = dir.Write("p.sh", absl::StrCat("#!/bin/sh\ncat ", out, "\n"));
  ASSERT_EQ(chmod(plugin.c_str(), 0700), 0);
  auto exec = [&] { return NewExecSource(ExecSourceOptions{{plugin}, absl::Seconds(10)}); };
  Credential c("c", exec(), CredentialOptions{absl::Seconds(60)});
  Credential d("d", exec(), CredentialOptions{absl::Seconds(60)});
  const absl::Time end = absl::FromUnixSeconds(expiry);
  const absl::Time t0 = end - absl::Seconds(1000);

  CachedToken slot;
  ASSERT_TRUE(c.GetInto(t0, &slot).ok());
  ASSERT_NE(c.Cached(slot, t0), nullptr);
  EXPECT_EQ(c.Cached(slot, t0)->value->Reveal(), "slot-value-1");
  EXPECT_NE(c.Cached(slot, end - absl::Seconds(61)), nullptr);
  EXPECT_EQ(c.Cached(slot, end - absl::Seconds(60)), nullptr);  // refresh ahead by 60 s
  EXPECT_EQ(c.Cached(slot, end), nullptr);
  EXPECT_EQ(c.Cached(slot, end + absl::Seconds(1)), nullptr);

  CachedToken other;
  ASSERT_TRUE(d.GetInto(t0, &other).ok());
  EXPECT_EQ(d.Cached(slot, t0), nullptr);  // filled from c
  EXPECT_EQ(c.Cached(other, t0), nullptr);

  // A refetch (here: past the refresh point) gives a new state; the old slot is dead.
  dir.Write("out.json", absl::StrCat("{\"value\": \"slot-value-2\", \"expires_at\": ", expiry + 1000, "}"));
  CachedToken refreshed;
  ASSERT_TRUE(c.GetInto(end - absl::Seconds(30), &refreshed).ok());
  EXPECT_EQ(refreshed.token.value->Reveal(), "slot-value-2");
  EXPECT_EQ(c.Cached(slot, t0), nullptr);
  ASSERT_NE(c.Cached(refreshed, end - absl::Seconds(30)), nullptr);

  // Retired: nothing cached serves, and a get fails and empties its slot.
  ASSERT_TRUE(c.Retire("test"));
  EXPECT_EQ(c.Cached(refreshed, end - absl::Seconds(30)), nullptr);
  CachedToken retired = refreshed;
  EXPECT_FALSE(c.GetInto(end - absl::Seconds(30), &retired).ok());
  EXPECT_EQ(retired.token.value, nullptr);
  EXPECT_EQ(c.Cached(retired, end - absl::Seconds(30)), nullptr);
  ASSERT_TRUE(c.Restore());
  EXPECT_EQ(c.Cached(refreshed, end - absl::Seconds(30)), nullptr);
  ASSERT_TRUE(c.GetInto(end - absl::Seconds(30), &retired).ok());
  EXPECT_NE(c.Cached(retired, end - absl::Seconds(30)), nullptr);
}

// A value that lives a very short time is never reused past its expiry either.
TEST(CredentialCache, ShortLivedValueIsNotReusedPastHalfItsLife) {
  TempDir dir;
  const int64_t expiry = 2000000000;
  const std::string plugin = dir.Write("p.sh", absl::StrCat("#!/bin/sh\necho '{\"value\": \"short-value-1\", \"expires_at\": ",
                                                            expiry, "}'\n"));
  ASSERT_EQ(chmod(plugin.c_str(), 0700), 0);
  Credential c("c", NewExecSource(ExecSourceOptions{{plugin}, absl::Seconds(10)}), CredentialOptions{absl::Seconds(60)});
  const absl::Time end = absl::FromUnixSeconds(expiry);
  CachedToken slot;
  ASSERT_TRUE(c.GetInto(end - absl::Seconds(2), &slot).ok());  // lives 2 s: fresh for 1 s
  EXPECT_NE(c.Cached(slot, end - absl::Milliseconds(1001)), nullptr);
  EXPECT_EQ(c.Cached(slot, end - absl::Seconds(1)), nullptr);
  EXPECT_EQ(c.Cached(slot, end), nullptr);
}

}  // namespace
}  // namespace kars::broker
