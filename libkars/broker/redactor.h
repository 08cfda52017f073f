// Redactor: replaces every held secret value (in every encoded form) in a response stream with
// "[REDACTED:<credential-id>]", including occurrences split across chunks. It holds back at most
// (longest form − 1) bytes between chunks, so memory stays bounded however long the stream is.
// It redacts against the leak index current when it was created: one stream sees one set.
// Thread-safety: one thread at a time.
#ifndef KARS_BROKER_REDACTOR_H_
#define KARS_BROKER_REDACTOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libkars/broker/leak_index.h"

namespace kars::broker {

class Redactor {
 public:
  explicit Redactor(std::shared_ptr<const LeakIndex> index);
  ~Redactor();
  Redactor(const Redactor&) = delete;
  Redactor& operator=(const Redactor&) = delete;

  // Appends to *out the bytes of the stream so far that can no longer be part of a match.
  absl::Status Feed(absl::string_view chunk, std::string* out);
  // Appends the rest. Feed and Finish fail with KARS_E_PRECONDITION after Finish.
  absl::Status Finish(std::string* out);

  // Bytes currently held back (at most max_form_length() - 1 between calls).
  std::size_t pending() const { return pending_.size(); }
  std::size_t redactions() const { return redactions_; }

 private:
  absl::Status Process(bool final, std::string* out);

  std::shared_ptr<const LeakIndex> index_;
  std::string pending_;
  std::vector<LeakMatch> matches_;
  std::size_t redactions_ = 0;
  bool finished_ = false;
};

}  // namespace kars::broker

#endif  // KARS_BROKER_REDACTOR_H_
