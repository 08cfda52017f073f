#include "libkars/base/sync.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace kars {
namespace {

TEST(SyncTest, WritersAreMutuallyExclusive) {
  Mutex mu;
  long counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        MutexLock lock(&mu);
        ++counter;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter, 40000);
}

TEST(SyncTest, ReadersSeeWhatTheWriterPublished) {
  Mutex mu;
  int value = 0;
  std::thread writer([&] {
    MutexLock lock(&mu);
    value = 42;
  });
  writer.join();
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      ReaderMutexLock lock(&mu);
      EXPECT_EQ(value, 42);
    });
  }
  for (auto& reader : readers) reader.join();
}

TEST(SyncTest, CondVarWakesAWaiter) {
  Mutex mu;
  CondVar cv;
  bool ready = false;
  std::thread producer([&] {
    MutexLock lock(&mu);
    ready = true;
    cv.SignalAll();
  });
  {
    MutexLock lock(&mu);
    while (!ready) cv.Wait(&mu);
  }
  producer.join();
  EXPECT_TRUE(ready);
}

TEST(SyncTest, TimedWaitsReportTimeouts) {
  Mutex mu;
  CondVar cv;
  MutexLock lock(&mu);
  EXPECT_TRUE(cv.WaitWithTimeout(&mu, absl::Milliseconds(5)));
  EXPECT_TRUE(cv.WaitWithDeadline(&mu, absl::Now() - absl::Seconds(1)));
}

}  // namespace
}  // namespace kars
