// Relay client authentication: single-use challenges, Ed25519 proof of possession (OpenSSL),
// bearer tokens held in memory, and per-client token-bucket rate limits.
//
// Thread-safety: thread-safe.
#ifndef KARS_HOSTS_RELAY_AUTH_H_
#define KARS_HOSTS_RELAY_AUTH_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace kars::relay {

class Auth {
 public:
  // `rate_per_s` sends per second per client (burst twice that); 0 disables the limit.
  explicit Auth(double rate_per_s) : rate_per_s_(rate_per_s) {}

  std::string NewChallenge(const std::string& mailbox);
  // Checks the signature over the challenge (consuming it); returns the reason on failure.
  std::optional<std::string> Verify(const std::string& mailbox, const std::string& auth_key,
                                    const std::string& nonce, const std::string& signature);
  std::string IssueToken(const std::string& mailbox);
  // The mailbox a "Bearer <token>" header authenticates, if any.
  std::optional<std::string> MailboxFor(const std::string& authorization);
  // Takes one unit from the client's bucket; false when it is empty, with *retry_after_ms set
  // to when the bucket holds a unit again.
  bool Allow(const std::string& mailbox, int64_t* retry_after_ms);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  const double rate_per_s_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> nonces_;
  std::map<std::string, std::string> tokens_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace kars::relay

#endif  // KARS_HOSTS_RELAY_AUTH_H_
