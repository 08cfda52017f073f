#include "libkars/broker/leak_index.h"

#include <hs/hs.h>

#include <atomic>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "libkars/base/secure_zero.h"
#include "libkars/base/status.h"
#include "libkars/broker/hs_allocator.h"

namespace kars::broker {
namespace {

struct ScratchHolder {
  hs_scratch_t* scratch = nullptr;
  std::uint64_t fits = 0;  // generation of the database last checked against
  ~ScratchHolder() {
    if (scratch != nullptr) hs_free_scratch(scratch);
  }
};

struct ScanContext {
  const LeakIndex* index;
  bool first_only;
  LeakMatch* first;
  bool found;
  std::vector<LeakMatch>* all;
};

}  // namespace

std::uint64_t NextHyperscanGeneration() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

hs_scratch_t* ThreadScratch(ScratchSlot slot, const hs_database_t* db, std::uint64_t generation) {
  thread_local ScratchHolder holders[2];
  ScratchHolder& holder = holders[static_cast<int>(slot)];
  if (holder.fits != generation || holder.scratch == nullptr) {
    // Growing the scratch keeps it valid for every database it was grown for.
    if (hs_alloc_scratch(db, &holder.scratch) != HS_SUCCESS) return nullptr;
    holder.fits = generation;
  }
  return holder.scratch;
}

absl::StatusOr<std::shared_ptr<const LeakIndex>> LeakIndex::Build(
    const std::vector<HeldValue>& held) {
  InstallLockedHyperscanAllocators();  // the database will hold every value as a literal
  std::shared_ptr<LeakIndex> index(new LeakIndex());
  std::vector<std::string> forms;
  absl::flat_hash_map<std::string, std::size_t> seen;  // form → pattern id, to drop duplicates
  for (const HeldValue& h : held) {
    const auto credential = static_cast<std::uint32_t>(index->credential_ids_.size());
    index->credential_ids_.push_back(h.credential_id);
    if (h.value == nullptr) continue;
    std::vector<EncodedForm> encoded = EncodedForms(h.value->Reveal(), kMinFormLength);
    for (EncodedForm& f : encoded) {
      if (seen.contains(f.bytes)) continue;  // two credentials with one value: report the first
      seen.emplace(f.bytes, forms.size());
      index->patterns_.push_back({credential, f.encoding});
      index->pattern_len_.push_back(static_cast<std::uint32_t>(f.bytes.size()));
      if (f.bytes.size() > index->max_len_) index->max_len_ = f.bytes.size();
      forms.push_back(std::move(f.bytes));
    }
    WipeForms(encoded);
  }
  // The map's keys are copies of the forms; wipe them before they are freed.
  for (auto& [form, id] : seen) SecureZero(const_cast<std::string&>(form));
  seen.clear();
  if (!forms.empty()) {
    std::vector<const char*> exprs;
    std::vector<std::size_t> lens;
    std::vector<unsigned> flags(forms.size(), 0);
    std::vector<unsigned> ids;
    for (std::size_t i = 0; i < forms.size(); ++i) {
      exprs.push_back(forms[i].data());
      lens.push_back(forms[i].size());
      ids.push_back(static_cast<unsigned>(i));
    }
    hs_compile_error_t* compile_error = nullptr;
    const hs_error_t rc = hs_compile_lit_multi(exprs.data(), flags.data(), ids.data(), lens.data(),
                                               static_cast<unsigned>(forms.size()), HS_MODE_BLOCK,
                                               nullptr, &index->db_, &compile_error);
    for (auto& f : forms) SecureZero(f);
    if (rc != HS_SUCCESS) {
      // Hyperscan's message names the failure, never a pattern's bytes.
      std::string why = compile_error != nullptr ? compile_error->message : "unknown error";
      hs_free_compile_error(compile_error);
      return MakeStatus(KARS_E_INTERNAL, absl::StrCat("leak index: hyperscan compile failed: ", why));
    }
    index->generation_ = NextHyperscanGeneration();
    if (ThreadScratch(ScratchSlot::kLeakIndex, index->db_, index->generation_) == nullptr) {
      return MakeStatus(KARS_E_NO_MEMORY, "leak index: cannot allocate hyperscan scratch");
    }
  }
  return std::shared_ptr<const LeakIndex>(std::move(index));
}

LeakIndex::~LeakIndex() {
  if (db_ != nullptr) hs_free_database(db_);
}

namespace {

int OnMatch(unsigned id, unsigned long long /*from*/, unsigned long long to, unsigned /*flags*/,
            void* ctx_ptr) {
  auto* ctx = static_cast<ScanContext*>(ctx_ptr);
  const LeakMatch m = ctx->index->MatchFor(id, static_cast<std::size_t>(to));
  if (ctx->first_only) {
    *ctx->first = m;
    ctx->found = true;
    return 1;  // stop scanning
  }
  ctx->all->push_back(m);
  return 0;
}

}  // namespace

LeakMatch LeakIndex::MatchFor(unsigned id, std::size_t end) const {
  return LeakMatch{end - pattern_len_[id], end, patterns_[id].credential, patterns_[id].encoding};
}

absl::StatusOr<bool> LeakIndex::FindFirst(absl::string_view data, LeakMatch* match) const {
  if (db_ == nullptr || data.empty()) return false;
  hs_scratch_t* scratch = ThreadScratch(ScratchSlot::kLeakIndex, db_, generation_);
  if (scratch == nullptr) return MakeStatus(KARS_E_NO_MEMORY, "leak scan: no hyperscan scratch");
  ScanContext ctx{this, true, match, false, nullptr};
  const hs_error_t rc = hs_scan(db_, data.data(), static_cast<unsigned>(data.size()), 0, scratch,
                                OnMatch, &ctx);
  if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) {
    return MakeStatus(KARS_E_INTERNAL, absl::StrCat("leak scan: hyperscan error ", rc));
  }
  return ctx.found;
}

absl::Status LeakIndex::FindAll(absl::string_view data, std::vector<LeakMatch>* matches) const {
  if (db_ == nullptr || data.empty()) return absl::OkStatus();
  hs_scratch_t* scratch = ThreadScratch(ScratchSlot::kLeakIndex, db_, generation_);
  if (scratch == nullptr) return MakeStatus(KARS_E_NO_MEMORY, "leak scan: no hyperscan scratch");
  ScanContext ctx{this, false, nullptr, false, matches};
  const hs_error_t rc = hs_scan(db_, data.data(), static_cast<unsigned>(data.size()), 0, scratch,
                                OnMatch, &ctx);
  if (rc != HS_SUCCESS) {
    return MakeStatus(KARS_E_INTERNAL, absl::StrCat("leak scan: hyperscan error ", rc));
  }
  return absl::OkStatus();
}

}  // namespace kars::broker
