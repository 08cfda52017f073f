#include "libkars/audit/proof_text.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_split.h"
#include "libkars/audit/encoding.h"

namespace kars::audit {
namespace {

constexpr absl::string_view kInclusionHeader = "kars-audit-inclusion-proof/v1";
constexpr absl::string_view kConsistencyHeader = "kars-audit-consistency-proof/v1";

std::string Format(absl::string_view header, absl::string_view k1, uint64_t v1,
                   absl::string_view k2, uint64_t v2, const std::vector<Hash>& path) {
  std::string out = absl::StrCat(header, "\n", k1, " ", v1, "\n", k2, " ", v2, "\n");
  for (const Hash& h : path) absl::StrAppend(&out, Base64Encode(AsBytes(h)), "\n");
  return out;
}

struct Parsed {
  uint64_t v1 = 0;
  uint64_t v2 = 0;
  std::vector<Hash> path;
};

absl::StatusOr<Parsed> Parse(absl::string_view text, absl::string_view header,
                             absl::string_view k1, absl::string_view k2) {
  const std::string what = absl::StrCat(header.substr(0, header.size() - 3));
  if (text.empty() || text.back() != '\n') {
    return absl::InvalidArgumentError(absl::StrCat(what, ": must end with a newline"));
  }
  text.remove_suffix(1);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (lines.size() < 3 || lines[0] != header) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": first line must be '", header, "'"));
  }
  if (lines.size() - 3 > kMaxProofHashes) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": too many hashes"));
  }
  Parsed out;
  uint64_t* values[2] = {&out.v1, &out.v2};
  absl::string_view keys[2] = {k1, k2};
  for (int i = 0; i < 2; ++i) {
    absl::string_view line = lines[1 + i];
    if (!absl::ConsumePrefix(&line, keys[i]) || !absl::ConsumePrefix(&line, " ")) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": line ", 2 + i, " must be '", keys[i], " <number>'"));
    }
    absl::StatusOr<uint64_t> v = ParseDecimal(line, absl::StrCat(what, " ", keys[i]));
    if (!v.ok()) return v.status();
    *values[i] = *v;
  }
  for (size_t i = 3; i < lines.size(); ++i) {
    absl::StatusOr<std::string> raw = Base64Decode(lines[i], absl::StrCat(what, " hash"));
    if (!raw.ok()) return raw.status();
    if (raw->size() != kHashSize) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": hash on line ", i + 1,
                                                     " is not 32 bytes"));
    }
    out.path.push_back(HashFromBytes(*raw));
  }
  return out;
}

}  // namespace

std::string FormatInclusionProof(const InclusionProof& p) {
  return Format(kInclusionHeader, "index", p.index, "size", p.size, p.path);
}

std::string FormatConsistencyProof(const ConsistencyProof& p) {
  return Format(kConsistencyHeader, "old", p.old_size, "new", p.new_size, p.path);
}

absl::StatusOr<InclusionProof> ParseInclusionProof(absl::string_view text) {
  absl::StatusOr<Parsed> p = Parse(text, kInclusionHeader, "index", "size");
  if (!p.ok()) return p.status();
  return InclusionProof{p->v1, p->v2, std::move(p->path)};
}

absl::StatusOr<ConsistencyProof> ParseConsistencyProof(absl::string_view text) {
  absl::StatusOr<Parsed> p = Parse(text, kConsistencyHeader, "old", "new");
  if (!p.ok()) return p.status();
  return ConsistencyProof{p->v1, p->v2, std::move(p->path)};
}

}  // namespace kars::audit
