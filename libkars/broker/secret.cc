#include "libkars/broker/secret.h"

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "libkars/base/secure_zero.h"
#include "libkars/base/status.h"

namespace kars::broker {

absl::StatusOr<SecretPtr> Secret::Create(absl::string_view value) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  // At least one page even for an empty value, so data_ is always a valid mapping.
  const std::size_t mapped = ((value.size() + page) / page) * page;
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return ErrnoError("secret: mmap", errno);
  // Excluded from core dumps and from children created by fork: a crash report or a plugin
  // process must never carry a copy.
  (void)madvise(p, mapped, MADV_DONTDUMP);
  (void)madvise(p, mapped, MADV_DONTFORK);
  const bool locked = mlock(p, mapped) == 0;
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  return SecretPtr(new Secret(static_cast<char*>(p), value.size(), mapped, locked));
}

Secret::~Secret() {
  SecureZero(data_, mapped_);
  if (locked_) munlock(data_, mapped_);
  munmap(data_, mapped_);
}

bool Secret::Equals(absl::string_view other) const {
  if (other.size() != size_) return false;
  return size_ == 0 || CRYPTO_memcmp(data_, other.data(), size_) == 0;
}

}  // namespace kars::broker
