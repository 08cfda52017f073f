// Mutex, scoped locks and condition variable for the whole core.
//
// Why not absl::Mutex: Debian's libabsl is built without ThreadSanitizer, so its locks create no
// happens-before edges TSan can see (every guarded access is reported as a race), and it is built
// with deadlock detection on, which costs about 10% on the hottest paths. These wrap the C++
// standard primitives (pthreads underneath, which TSan intercepts) and keep Abseil's thread-safety
// annotations, so clang's -Wthread-safety still checks GUARDED_BY and friends.
#ifndef KARS_BASE_SYNC_H_
#define KARS_BASE_SYNC_H_

#include <chrono>
#include <condition_variable>
#include <shared_mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kars {

// A reader/writer mutex. Not recursive: locking it twice on one thread deadlocks.
class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() { mu_.lock_shared(); }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock_shared(); }
  // For annotations only: tells the analysis the caller holds the lock.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}
  void AssertReaderHeld() const ABSL_ASSERT_SHARED_LOCK() {}

 private:
  friend class CondVar;
  std::shared_mutex mu_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE ReaderMutexLock {
 public:
  explicit ReaderMutexLock(Mutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) { mu_->ReaderLock(); }
  ~ReaderMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// Waits release the mutex (held exclusively by the caller) and reacquire it before returning.
// Wake-ups may be spurious: callers re-check their condition in a loop.
class CondVar {
 public:
  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { cv_.wait(mu->mu_); }
  // Returns true if the timeout elapsed (absl::CondVar's convention).
  // An infinite (or absurdly long) timeout is an untimed wait: libstdc++'s wait_for overflows
  // when now + timeout passes the clock's range and then returns at once, which would make a
  // caller's wait loop spin.
  bool WaitWithTimeout(Mutex* mu, absl::Duration timeout) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (timeout >= kLongestTimedWait) {
      cv_.wait(mu->mu_);
      return false;
    }
    return cv_.wait_for(mu->mu_, absl::ToChronoNanoseconds(timeout)) == std::cv_status::timeout;
  }
  bool WaitWithDeadline(Mutex* mu, absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return WaitWithTimeout(mu, deadline - absl::Now());
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  static constexpr absl::Duration kLongestTimedWait = absl::Hours(24 * 365 * 100);
  std::condition_variable_any cv_;
};

}  // namespace kars

#endif  // KARS_BASE_SYNC_H_
