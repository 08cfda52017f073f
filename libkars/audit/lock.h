// Scoped locks over absl::Mutex that ThreadSanitizer can see. Debian's libabsl is not built
// with TSan, so its mutexes establish no happens-before edges for TSan and every access they
// guard would be reported as a race; these wrappers add the edges by hand in TSan builds and
// are plain absl locks otherwise.
#ifndef KARS_AUDIT_LOCK_H_
#define KARS_AUDIT_LOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define KARS_AUDIT_TSAN_ACQUIRE(m) __tsan_acquire(static_cast<void*>(m))
#define KARS_AUDIT_TSAN_RELEASE(m) __tsan_release(static_cast<void*>(m))
#else
#define KARS_AUDIT_TSAN_ACQUIRE(m) static_cast<void>(m)
#define KARS_AUDIT_TSAN_RELEASE(m) static_cast<void>(m)
#endif

namespace kars::audit {

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(absl::Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
    KARS_AUDIT_TSAN_ACQUIRE(mu_);
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() {
    KARS_AUDIT_TSAN_RELEASE(mu_);
    mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  absl::Mutex* const mu_;
};

class ABSL_SCOPED_LOCKABLE ReaderMutexLock {
 public:
  explicit ReaderMutexLock(absl::Mutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->ReaderLock();
    KARS_AUDIT_TSAN_ACQUIRE(mu_);
  }
  ~ReaderMutexLock() ABSL_UNLOCK_FUNCTION() {
    // Readers release too: coarser than a real reader lock, but never a false report.
    KARS_AUDIT_TSAN_RELEASE(mu_);
    mu_->ReaderUnlock();
  }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  absl::Mutex* const mu_;
};

// CondVar waits release and reacquire the mutex inside absl; tell TSan.
inline void Wait(absl::CondVar& cv, absl::Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
  KARS_AUDIT_TSAN_RELEASE(mu);
  cv.Wait(mu);
  KARS_AUDIT_TSAN_ACQUIRE(mu);
}

inline bool WaitWithTimeout(absl::CondVar& cv, absl::Mutex* mu, absl::Duration timeout)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
  KARS_AUDIT_TSAN_RELEASE(mu);
  const bool timed_out = cv.WaitWithTimeout(mu, timeout);
  KARS_AUDIT_TSAN_ACQUIRE(mu);
  return timed_out;
}

}  // namespace kars::audit

#endif  // KARS_AUDIT_LOCK_H_
