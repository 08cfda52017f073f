#include "libkars/broker/redactor.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "libkars/base/secure_zero.h"
#include "libkars/base/status.h"

namespace kars::broker {

Redactor::Redactor(std::shared_ptr<const LeakIndex> index) : index_(std::move(index)) {}

Redactor::~Redactor() { SecureZero(pending_); }

absl::Status Redactor::Feed(absl::string_view chunk, std::string* out) {
  if (finished_) return MakeStatus(KARS_E_PRECONDITION, "redactor: feed after finish");
  pending_.append(chunk.data(), chunk.size());
  return Process(false, out);
}

absl::Status Redactor::Finish(std::string* out) {
  if (finished_) return MakeStatus(KARS_E_PRECONDITION, "redactor: finish called twice");
  finished_ = true;
  absl::Status s = Process(true, out);
  SecureZero(pending_);
  return s;
}

absl::Status Redactor::Process(bool final, std::string* out) {
  const std::string& buf = pending_;
  const std::size_t hold = index_->max_form_length() > 0 ? index_->max_form_length() - 1 : 0;
  // Every match that starts before `safe` lies wholly inside buf: no form is longer than hold + 1.
  const std::size_t safe = final ? buf.size() : (buf.size() > hold ? buf.size() - hold : 0);
  matches_.clear();
  if (absl::Status s = index_->FindAll(buf, &matches_); !s.ok()) return s;
  std::sort(matches_.begin(), matches_.end(), [](const LeakMatch& a, const LeakMatch& b) {
    return a.start != b.start ? a.start < b.start : a.end > b.end;
  });
  std::size_t pos = 0;  // first byte of buf not yet emitted
  for (std::size_t i = 0; i < matches_.size();) {
    const LeakMatch& first = matches_[i];
    if (first.start >= safe) break;
    if (first.start < pos) {  // inside a span already redacted
      ++i;
      continue;
    }
    // Overlapping matches merge into one span, labelled with its leftmost-longest credential.
    std::size_t end = first.end;
    std::size_t j = i + 1;
    while (j < matches_.size() && matches_[j].start < end) {
      end = std::max(end, matches_[j].end);
      ++j;
    }
    out->append(buf, pos, first.start - pos);
    absl::StrAppend(out, "[REDACTED:", index_->credential_id(first.credential), "]");
    ++redactions_;
    pos = end;
    i = j;
  }
  const std::size_t cut = std::max(pos, safe);
  if (cut > pos) out->append(buf, pos, cut - pos);
  // Keep the unemitted tail; wipe the bytes that move so no copy of a value lingers.
  const std::size_t tail = pending_.size() - cut;
  std::memmove(pending_.data(), pending_.data() + cut, tail);
  SecureZero(pending_.data() + tail, pending_.size() - tail);
  pending_.resize(tail);
  return absl::OkStatus();
}

}  // namespace kars::broker
