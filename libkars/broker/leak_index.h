// LeakIndex: one Hyperscan literal database over every encoded form of every secret value the
// broker holds. Built once per change of the held values and swapped in whole (copy-on-write):
// scans running on the previous index finish on it.
// Thread-safety: immutable; scan from any number of threads (each thread keeps its own scratch).
#ifndef KARS_BROKER_LEAK_INDEX_H_
#define KARS_BROKER_LEAK_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libkars/broker/encodings.h"
#include "libkars/broker/secret.h"

struct hs_database;
struct hs_scratch;

namespace kars::broker {

struct HeldValue {
  std::string credential_id;
  SecretPtr value;
};

struct LeakMatch {
  std::size_t start;  // offset of the first matched byte
  std::size_t end;    // one past the last matched byte
  std::uint32_t credential;  // index into LeakIndex::credential_id()
  Encoding encoding;
};

class LeakIndex {
 public:
  // Forms shorter than this are not indexed (a 3-byte value would match everywhere).
  static constexpr std::size_t kMinFormLength = 6;

  static absl::StatusOr<std::shared_ptr<const LeakIndex>> Build(const std::vector<HeldValue>& held);

  ~LeakIndex();
  LeakIndex(const LeakIndex&) = delete;
  LeakIndex& operator=(const LeakIndex&) = delete;

  // The first match found in `data`, if any (scanning stops there).
  absl::StatusOr<bool> FindFirst(absl::string_view data, LeakMatch* match) const;
  // Every match in `data`, in the order Hyperscan reports them (by end offset).
  absl::Status FindAll(absl::string_view data, std::vector<LeakMatch>* matches) const;

  const std::string& credential_id(std::uint32_t index) const { return credential_ids_[index]; }
  std::size_t pattern_count() const { return pattern_len_.size(); }
  // Length of the longest indexed form; 0 when the index is empty.
  std::size_t max_form_length() const { return max_len_; }
  bool empty() const { return db_ == nullptr; }
  // Where the compiled database lives (tests check its pages are locked and dump-excluded).
  const void* database_address() const { return db_; }

  // The match that Hyperscan's pattern `id` ending at `end` stands for (used by the callback).
  LeakMatch MatchFor(unsigned id, std::size_t end) const;

 private:
  LeakIndex() = default;

  struct Pattern {
    std::uint32_t credential;
    Encoding encoding;
  };

  hs_database* db_ = nullptr;
  std::uint64_t generation_ = 0;
  std::vector<std::string> credential_ids_;
  std::vector<Pattern> patterns_;
  std::vector<std::uint32_t> pattern_len_;
  std::size_t max_len_ = 0;
};

// Per-thread Hyperscan scratch space that fits the database of generation `generation`. Each
// kind of database has its own slot: re-fitting one scratch to two alternating databases would
// reallocate it on every call.
enum class ScratchSlot { kLeakIndex = 0, kTokenPatterns = 1 };
hs_scratch* ThreadScratch(ScratchSlot slot, const hs_database* db, std::uint64_t generation);
std::uint64_t NextHyperscanGeneration();

}  // namespace kars::broker

#endif  // KARS_BROKER_LEAK_INDEX_H_
