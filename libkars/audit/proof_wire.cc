#include "libkars/audit/proof_wire.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libkars/audit/encoding.h"
#include "libkars/audit/proof_text.h"

namespace kars::audit {

std::string EncodeAuditPath(const std::vector<Hash>& path) {
  std::string out;
  out.reserve(path.size() * kHashSize);
  for (const Hash& h : path) out.append(reinterpret_cast<const char*>(h.data()), h.size());
  return out;
}

absl::StatusOr<std::vector<Hash>> DecodeAuditPath(absl::string_view bytes) {
  if (bytes.size() % kHashSize != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "audit path: ", bytes.size(), " bytes is not a whole number of 32-byte hashes"));
  }
  if (bytes.size() / kHashSize > kMaxProofHashes) {
    return absl::InvalidArgumentError("audit path: too many hashes");
  }
  std::vector<Hash> out;
  out.reserve(bytes.size() / kHashSize);
  for (size_t i = 0; i < bytes.size(); i += kHashSize) {
    out.push_back(HashFromBytes(bytes.substr(i, kHashSize)));
  }
  return out;
}

std::string FormatTlogProof(const TlogProof& proof) {
  std::string out = absl::StrCat(kTlogProofHeader, "\n");
  if (!proof.extra.empty()) absl::StrAppend(&out, "extra ", Base64Encode(proof.extra), "\n");
  absl::StrAppend(&out, "index ", proof.index, "\n");
  for (const Hash& h : proof.path) absl::StrAppend(&out, Base64Encode(AsBytes(h)), "\n");
  absl::StrAppend(&out, "\n", proof.checkpoint);
  return out;
}

namespace {

// Takes the next '\n'-terminated line off *text; false when there is none.
bool NextLine(absl::string_view* text, absl::string_view* line) {
  const size_t nl = text->find('\n');
  if (nl == absl::string_view::npos) return false;
  *line = text->substr(0, nl);
  text->remove_prefix(nl + 1);
  return true;
}

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("tlog-proof: ", why));
}

}  // namespace

absl::StatusOr<TlogProof> ParseTlogProof(absl::string_view text) {
  absl::string_view line;
  if (!NextLine(&text, &line) || line != kTlogProofHeader) {
    return Malformed(absl::StrCat("first line must be '", kTlogProofHeader, "'"));
  }
  TlogProof out;
  if (!NextLine(&text, &line)) return Malformed("missing index line");
  if (absl::ConsumePrefix(&line, "extra ")) {
    absl::StatusOr<std::string> extra = Base64Decode(line, "tlog-proof extra data");
    if (!extra.ok()) return extra.status();
    if (extra->empty()) return Malformed("empty extra data");
    out.extra = *std::move(extra);
    if (!NextLine(&text, &line)) return Malformed("missing index line");
  }
  if (!absl::ConsumePrefix(&line, "index ")) return Malformed("expected 'index <number>'");
  absl::StatusOr<uint64_t> index = ParseDecimal(line, "tlog-proof index");
  if (!index.ok()) return index.status();
  out.index = *index;
  for (;;) {
    if (!NextLine(&text, &line)) return Malformed("missing the blank line before the checkpoint");
    if (line.empty()) break;
    if (out.path.size() == kMaxProofHashes) return Malformed("too many hashes");
    absl::StatusOr<std::string> raw = Base64Decode(line, "tlog-proof hash");
    if (!raw.ok()) return raw.status();
    if (raw->size() != kHashSize) return Malformed("a proof hash is not 32 bytes");
    out.path.push_back(HashFromBytes(*raw));
  }
  if (text.empty()) return Malformed("no checkpoint after the proof hashes");
  out.checkpoint = std::string(text.data(), text.size());
  return out;
}

}  // namespace kars::audit
