// C ABI of the audit log's standard encodings (RFC 6962 audit paths, C2SP tlog-proof and
// tlog-cosignature) and of retention: translation only; the logic is in libkars/audit.
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "kars/audit.h"
#include "libkars/audit/checkpoint.h"
#include "libkars/audit/cosignature.h"
#include "libkars/audit/keys.h"
#include "libkars/audit/note.h"
#include "libkars/audit/offline.h"
#include "libkars/audit/proof_text.h"
#include "libkars/audit/proof_wire.h"
#include "libkars/base/secure_zero.h"
#include "libkars/capi/audit_handles.h"
#include "libkars/capi/buf.h"
#include "libkars/capi/guard.h"

namespace {

using kars::capi::Bytes;
using kars::capi::FillBuf;
using kars::capi::Guard;
using kars::capi::RequireBytes;

// A C caller may pass any int: read the raw bytes of the parameter (never its value as the
// enum type), since an out-of-range enum value is undefined behaviour in C++.
template <typename Enum>
int RawEnum(const Enum* e) {
  int raw = 0;
  static_assert(sizeof raw == sizeof *e, "ABI enums are int-sized");
  std::memcpy(&raw, e, sizeof raw);
  return raw;
}

absl::StatusOr<int> ProofFormat(int raw, bool inclusion) {
  switch (raw) {
    case KARS_AUDIT_PROOF_TEXT:
    case KARS_AUDIT_PROOF_RFC6962:
      return raw;
    case KARS_AUDIT_PROOF_TLOG:
      if (inclusion) return raw;
      return absl::InvalidArgumentError(
          "C2SP tlog-proof encodes inclusion proofs only; use KARS_AUDIT_PROOF_RFC6962 or "
          "KARS_AUDIT_PROOF_TEXT for consistency proofs");
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown proof format ", raw));
  }
}

}  // namespace

extern "C" {

kars_status kars_audit_log_inclusion_proof_v2(kars_buf* proof, kars_audit_log* log, uint64_t index,
                                              uint64_t tree_size, kars_audit_proof_format format,
                                              kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(proof);
    KARS_REQUIRE_ARG(log);
    absl::StatusOr<int> f = ProofFormat(RawEnum(&format), true);
    if (!f.ok()) return f.status();
    absl::StatusOr<kars::audit::InclusionProof> p = log->log->Inclusion(index, tree_size);
    if (!p.ok()) return p.status();
    switch (*f) {
      case KARS_AUDIT_PROOF_TEXT:
        FillBuf(proof, kars::audit::FormatInclusionProof(*p));
        break;
      case KARS_AUDIT_PROOF_RFC6962:
        FillBuf(proof, kars::audit::EncodeAuditPath(p->path));
        break;
      default: {
        absl::StatusOr<kars::audit::StoredCheckpoint> cp = log->log->CheckpointAt(tree_size);
        if (!cp.ok()) return cp.status();
        FillBuf(proof, kars::audit::FormatTlogProof(
                           kars::audit::TlogProof{index, std::move(p->path), "", cp->note}));
      }
    }
    return absl::OkStatus();
  });
}

kars_status kars_audit_log_consistency_proof_v2(kars_buf* proof, kars_audit_log* log,
                                                uint64_t old_size, uint64_t new_size,
                                                kars_audit_proof_format format, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(proof);
    KARS_REQUIRE_ARG(log);
    absl::StatusOr<int> f = ProofFormat(RawEnum(&format), false);
    if (!f.ok()) return f.status();
    absl::StatusOr<kars::audit::ConsistencyProof> p = log->log->Consistency(old_size, new_size);
    if (!p.ok()) return p.status();
    FillBuf(proof, *f == KARS_AUDIT_PROOF_TEXT ? kars::audit::FormatConsistencyProof(*p)
                                               : kars::audit::EncodeAuditPath(p->path));
    return absl::OkStatus();
  });
}

kars_status kars_audit_inclusion_verify_v2(const char* public_key, size_t public_key_len,
                                           const uint8_t* checkpoint, size_t checkpoint_len,
                                           const uint8_t* proof, size_t proof_len,
                                           kars_audit_proof_format format, const uint8_t* record,
                                           size_t record_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(public_key);
    KARS_REQUIRE_ARG(proof);
    if (absl::Status s = RequireBytes(record, record_len, "record"); !s.ok()) return s;
    absl::StatusOr<int> f = ProofFormat(RawEnum(&format), true);
    if (!f.ok()) return f.status();
    const absl::string_view key = Bytes(public_key, public_key_len);
    const absl::string_view rec = Bytes(record, record_len);
    if (*f == KARS_AUDIT_PROOF_TLOG) {
      if (checkpoint != nullptr) {
        return absl::InvalidArgumentError(
            "checkpoint must be NULL with KARS_AUDIT_PROOF_TLOG: the proof carries its own");
      }
      return kars::audit::VerifyTlogProofOffline(key, Bytes(proof, proof_len), rec);
    }
    KARS_REQUIRE_ARG(checkpoint);
    const absl::string_view cp = Bytes(checkpoint, checkpoint_len);
    if (*f == KARS_AUDIT_PROOF_TEXT) {
      return kars::audit::VerifyInclusionOffline(key, cp, Bytes(proof, proof_len), rec);
    }
    return kars::audit::VerifyInclusionPathOffline(key, cp, Bytes(proof, proof_len), rec);
  });
}

kars_status kars_audit_consistency_verify_v2(const char* public_key, size_t public_key_len,
                                             const uint8_t* old_checkpoint,
                                             size_t old_checkpoint_len,
                                             const uint8_t* new_checkpoint,
                                             size_t new_checkpoint_len, const uint8_t* proof,
                                             size_t proof_len, kars_audit_proof_format format,
                                             kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(public_key);
    KARS_REQUIRE_ARG(old_checkpoint);
    KARS_REQUIRE_ARG(new_checkpoint);
    if (absl::Status s = RequireBytes(proof, proof_len, "proof"); !s.ok()) return s;
    absl::StatusOr<int> f = ProofFormat(RawEnum(&format), false);
    if (!f.ok()) return f.status();
    const absl::string_view key = Bytes(public_key, public_key_len);
    const absl::string_view old_cp = Bytes(old_checkpoint, old_checkpoint_len);
    const absl::string_view new_cp = Bytes(new_checkpoint, new_checkpoint_len);
    if (*f == KARS_AUDIT_PROOF_TEXT) {
      KARS_REQUIRE_ARG(proof);
      return kars::audit::VerifyConsistencyOffline(key, old_cp, new_cp, Bytes(proof, proof_len));
    }
    // An empty path (equal sizes, or from the empty tree) may come as NULL.
    return kars::audit::VerifyConsistencyPathOffline(key, old_cp, new_cp, Bytes(proof, proof_len));
  });
}

kars_status kars_audit_keygen_v2(kars_buf* private_key, kars_buf* public_key, const char* name,
                                 size_t name_len, kars_audit_key_type type, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(private_key);
    KARS_REQUIRE_ARG(public_key);
    KARS_REQUIRE_ARG(name);
    const int raw = RawEnum(&type);
    if (raw != KARS_AUDIT_KEY_NOTE && raw != KARS_AUDIT_KEY_COSIGNATURE) {
      return absl::InvalidArgumentError(absl::StrCat("unknown key type ", raw));
    }
    absl::StatusOr<kars::audit::Signer> s =
        kars::audit::Signer::Generate(Bytes(name, name_len), static_cast<uint8_t>(raw));
    if (!s.ok()) return s.status();
    std::string secret = s->Text();
    kars_buf pub{nullptr, 0};
    FillBuf(&pub, s->verifier().Text());
    try {
      FillBuf(private_key, secret);
    } catch (...) {
      kars_buf_dispose(&pub);
      kars::SecureZero(secret);
      throw;
    }
    kars::SecureZero(secret);
    *public_key = pub;
    return absl::OkStatus();
  });
}

kars_status kars_audit_cosignature_verify(uint64_t* timestamp, const char* witness_public_key,
                                          size_t witness_public_key_len, const uint8_t* note,
                                          size_t note_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(witness_public_key);
    KARS_REQUIRE_ARG(note);
    absl::StatusOr<kars::audit::Verifier> w = kars::audit::Verifier::FromText(
        Bytes(witness_public_key, witness_public_key_len));
    if (!w.ok()) return w.status();
    absl::StatusOr<kars::audit::Note> parsed = kars::audit::ParseNote(Bytes(note, note_len));
    if (!parsed.ok()) return parsed.status();
    absl::StatusOr<uint64_t> t = kars::audit::VerifyCosignature(*parsed, *w);
    if (!t.ok()) return t.status();
    if (timestamp != nullptr) *timestamp = *t;
    return absl::OkStatus();
  });
}

kars_status kars_audit_log_retain(uint64_t* first_kept, kars_audit_log* log, uint64_t before,
                                  kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(log);
    absl::StatusOr<uint64_t> first = log->log->Retain(before);
    if (!first.ok()) return first.status();
    if (first_kept != nullptr) *first_kept = *first;
    return absl::OkStatus();
  });
}

uint64_t kars_audit_log_first_index(const kars_audit_log* log) {
  return log == nullptr ? 0 : log->log->FirstIndex();
}

}  // extern "C"
