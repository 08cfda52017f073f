// A real HTTPS token endpoint for tests: listens on 127.0.0.1 with an OS-chosen port, serves
// a certificate from a CA generated at start (written to ca_file() for the client), answers
// each POST through a handler and counts the requests. Stopped by its destructor.
#ifndef KARS_TESTS_UNIT_BROKER_TOKEN_SERVER_H_
#define KARS_TESTS_UNIT_BROKER_TOKEN_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "libkars/base/sync.h"
#include "absl/time/time.h"

namespace kars::broker::testing {

struct TokenRequest {
  std::string target;
  std::string authorization;
  std::string body;
};

struct TokenResponse {
  int status = 200;
  std::string body;
  absl::Duration delay = absl::ZeroDuration();  // before answering (cut short by Stop)
};

// absl::Notification's lock is invisible to ThreadSanitizer; this one is built on kars::Mutex.
class StopSignal {
 public:
  void Notify() {
    kars::MutexLock lock(&mu_);
    stopped_ = true;
    cv_.SignalAll();
  }
  bool HasBeenNotified() const {
    kars::MutexLock lock(&mu_);
    return stopped_;
  }
  // True when notified before the timeout ran out.
  bool WaitForNotificationWithTimeout(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    kars::MutexLock lock(&mu_);
    while (!stopped_ && absl::Now() < deadline) cv_.WaitWithDeadline(&mu_, deadline);
    return stopped_;
  }

 private:
  mutable kars::Mutex mu_;
  kars::CondVar cv_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

class TokenServer {
 public:
  using Handler = std::function<TokenResponse(const TokenRequest&)>;
  explicit TokenServer(Handler handler);
  ~TokenServer();

  int port() const { return port_; }
  std::string url(const std::string& path = "/token") const;
  const std::string& ca_file() const { return ca_file_; }
  int calls() const { return calls_.load(); }
  std::vector<TokenRequest> requests() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Handler handler_;
  int port_ = 0;
  std::string ca_file_;
  std::atomic<int> calls_{0};
  mutable kars::Mutex mu_;
  std::vector<TokenRequest> requests_ ABSL_GUARDED_BY(mu_);
  StopSignal stop_;
  friend struct Impl;
  void Serve(int fd);
};

// A fresh temporary directory, removed with its contents by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

}  // namespace kars::broker::testing

#endif  // KARS_TESTS_UNIT_BROKER_TOKEN_SERVER_H_
