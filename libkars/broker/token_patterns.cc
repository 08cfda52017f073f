#include "libkars/broker/token_patterns.h"

#include <hs/hs.h>

#include "absl/strings/str_cat.h"
#include "libkars/base/status.h"
#include "libkars/broker/hs_allocator.h"
#include "libkars/broker/leak_index.h"

namespace kars::broker {
namespace {

struct Shape {
  const char* name;
  const char* regex;
};

// Named by shape, not by issuer. Each is specific enough that ordinary prose and code do not hit.
constexpr Shape kShapes[] = {
    {"pem_private_key", R"(-----BEGIN ([A-Z0-9]+ )?PRIVATE KEY-----)"},
    {"akia_access_key_id", R"(\b(AKIA|ASIA)[0-9A-Z]{16}\b)"},
    {"gh_prefixed_token", R"(\bgh[pousr]_[A-Za-z0-9]{36,255}\b)"},
    {"github_pat_token", R"(\bgithub_pat_[A-Za-z0-9_]{60,255}\b)"},
    {"glpat_token", R"(\bglpat-[A-Za-z0-9_-]{20,}\b)"},
    {"xox_token", R"(\bxox[abposr]-[A-Za-z0-9-]{10,}\b)"},
    {"sk_prefixed_key", R"(\bsk-(proj-|ant-)?[A-Za-z0-9_-]{32,}\b)"},
    {"aiza_api_key", R"(\bAIza[0-9A-Za-z_-]{35}\b)"},
    {"jwt", R"(\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,})"},
};
constexpr unsigned kShapeCount = sizeof(kShapes) / sizeof(kShapes[0]);

struct FirstHit {
  int id = -1;
};

int OnMatch(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
  static_cast<FirstHit*>(ctx)->id = static_cast<int>(id);
  return 1;
}

absl::StatusOr<hs_database_t*> Compile() {
  InstallLockedHyperscanAllocators();
  std::vector<const char*> exprs;
  std::vector<unsigned> flags(kShapeCount, HS_FLAG_SINGLEMATCH);
  std::vector<unsigned> ids;
  for (unsigned i = 0; i < kShapeCount; ++i) {
    exprs.push_back(kShapes[i].regex);
    ids.push_back(i);
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), kShapeCount, HS_MODE_BLOCK, nullptr,
                       &db, &error) != HS_SUCCESS) {
    std::string why = error != nullptr ? error->message : "unknown error";
    hs_free_compile_error(error);
    return MakeStatus(KARS_E_INTERNAL, absl::StrCat("token patterns: compile failed: ", why));
  }
  return db;
}

}  // namespace

absl::StatusOr<const TokenPatterns*> TokenPatterns::Builtin() {
  // Built once and kept for the life of the process.
  static const absl::StatusOr<TokenPatterns*> instance = []() -> absl::StatusOr<TokenPatterns*> {
    auto db = Compile();
    if (!db.ok()) return db.status();
    auto* p = new TokenPatterns();
    p->db_ = *db;
    p->generation_ = NextHyperscanGeneration();
    return p;
  }();
  if (!instance.ok()) return instance.status();
  return *instance;
}

absl::StatusOr<std::string> TokenPatterns::FindFirst(absl::string_view data) const {
  if (data.empty()) return std::string();
  hs_scratch_t* scratch = ThreadScratch(ScratchSlot::kTokenPatterns, db_, generation_);
  if (scratch == nullptr) return MakeStatus(KARS_E_NO_MEMORY, "token patterns: no scratch");
  FirstHit hit;
  const hs_error_t rc =
      hs_scan(db_, data.data(), static_cast<unsigned>(data.size()), 0, scratch, OnMatch, &hit);
  if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) {
    return MakeStatus(KARS_E_INTERNAL, absl::StrCat("token patterns: hyperscan error ", rc));
  }
  return hit.id < 0 ? std::string() : std::string(kShapes[hit.id].name);
}

std::vector<std::string> TokenPatterns::names() const {
  std::vector<std::string> out;
  for (const Shape& s : kShapes) out.emplace_back(s.name);
  return out;
}

}  // namespace kars::broker
