// Secret: bytes of one credential value, held in their own locked, dump-excluded pages and wiped
// on release. It cannot be copied, printed or implicitly converted; code that needs the bytes
// asks for them with Reveal(), which is easy to find in review.
// Thread-safety: immutable after construction; share it as std::shared_ptr<const Secret>.
#ifndef KARS_BROKER_SECRET_H_
#define KARS_BROKER_SECRET_H_

#include <cstddef>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kars::broker {

class Secret {
 public:
  // Copies `value` into fresh pages. Fails only when the pages cannot be mapped; mlock failing
  // (RLIMIT_MEMLOCK) is tolerated and reported by locked().
  static absl::StatusOr<std::shared_ptr<const Secret>> Create(absl::string_view value);

  ~Secret();
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;

  // The bytes. Valid while this Secret lives; never log, format or copy them into errors.
  absl::string_view Reveal() const { return absl::string_view(data_, size_); }
  std::size_t size() const { return size_; }
  bool locked() const { return locked_; }

  // Constant-time equality (CRYPTO_memcmp); only the lengths are compared in variable time.
  bool Equals(absl::string_view other) const;
  bool Equals(const Secret& other) const { return Equals(other.Reveal()); }

 private:
  Secret(char* data, std::size_t size, std::size_t mapped, bool locked)
      : data_(data), size_(size), mapped_(mapped), locked_(locked) {}

  char* data_;
  std::size_t size_;
  std::size_t mapped_;
  bool locked_;
};

using SecretPtr = std::shared_ptr<const Secret>;

}  // namespace kars::broker

#endif  // KARS_BROKER_SECRET_H_
