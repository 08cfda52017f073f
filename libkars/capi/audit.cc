// C ABI of the audit log (include/kars/audit.h): translation only; the logic is in libkars/audit.
#include "kars/audit.h"

#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "libkars/audit/keys.h"
#include "libkars/audit/log.h"
#include "libkars/audit/offline.h"
#include "libkars/audit/proof_text.h"
#include "libkars/audit/record.h"
#include "libkars/audit/verify.h"
#include "libkars/audit/witness.h"
#include "libkars/base/status.h"
#include "libkars/capi/audit_handles.h"
#include "libkars/capi/buf.h"
#include "libkars/capi/guard.h"

namespace {

using kars::capi::Bytes;
using kars::capi::FillBuf;
using kars::capi::Guard;
using kars::capi::RequireBytes;

}  // namespace

extern "C" {

kars_status kars_audit_options_new(kars_audit_options** out, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    *out = new kars_audit_options();
    return absl::OkStatus();
  });
}

void kars_audit_options_free(kars_audit_options* options) { delete options; }

kars_status kars_audit_options_set_durability(kars_audit_options* options,
                                              kars_audit_durability mode, uint32_t interval_ms,
                                              kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    // A C caller may pass any int: read the raw value, since an out-of-range enum is undefined
    // behaviour in C++.
    int raw = 0;
    static_assert(sizeof raw == sizeof mode, "kars_audit_durability is int-sized");
    std::memcpy(&raw, &mode, sizeof raw);
    switch (raw) {
      case KARS_AUDIT_SYNC_EACH_APPEND:
        options->options.durability = kars::audit::Durability::kEachAppend;
        break;
      case KARS_AUDIT_SYNC_BATCH:
        options->options.durability = kars::audit::Durability::kBatch;
        break;
      case KARS_AUDIT_SYNC_INTERVAL:
        if (interval_ms < 1 || interval_ms > 60000) {
          return absl::InvalidArgumentError("sync interval must be 1 to 60000 ms");
        }
        options->options.durability = kars::audit::Durability::kInterval;
        options->options.sync_interval = absl::Milliseconds(interval_ms);
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat("unknown durability mode ", raw));
    }
    return absl::OkStatus();
  });
}

kars_status kars_audit_options_set_checkpoint_cadence(kars_audit_options* options,
                                                      uint64_t every_records, uint32_t every_ms,
                                                      kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    options->options.checkpoint_every_records = every_records;
    options->options.checkpoint_every = absl::Milliseconds(every_ms);
    return absl::OkStatus();
  });
}

kars_status kars_audit_options_set_signing_key(kars_audit_options* options, const char* private_key,
                                               size_t private_key_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    KARS_REQUIRE_ARG(private_key);
    absl::StatusOr<kars::audit::Signer> s =
        kars::audit::Signer::FromText(Bytes(private_key, private_key_len));
    if (!s.ok()) return s.status();
    if (absl::Status t = kars::audit::RequireKeyType(s->verifier(), kars::audit::kAlgEd25519,
                                                     "signing key");
        !t.ok()) {
      return t;
    }
    options->options.signer = *std::move(s);
    return absl::OkStatus();
  });
}

kars_status kars_audit_options_set_origin(kars_audit_options* options, const char* origin,
                                          size_t origin_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    KARS_REQUIRE_ARG(origin);
    absl::string_view o = Bytes(origin, origin_len);
    if (o.empty() || o.size() > 255) {
      return absl::InvalidArgumentError("origin must be 1 to 255 bytes");
    }
    for (char c : o) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return absl::InvalidArgumentError("origin must not contain control characters");
      }
    }
    options->options.origin = std::string(o.data(), o.size());
    return absl::OkStatus();
  });
}

kars_status kars_audit_options_set_max_record_size(kars_audit_options* options, size_t max_bytes,
                                                   kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    if (max_bytes == 0 || max_bytes > (256u << 20)) {
      return absl::InvalidArgumentError("max record size must be 1 byte to 256 MiB");
    }
    options->options.max_record_size = max_bytes;
    return absl::OkStatus();
  });
}

kars_status kars_audit_options_set_segment_size(kars_audit_options* options, uint64_t bytes,
                                                kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    if (bytes < 4096) return absl::InvalidArgumentError("segment size must be at least 4096 bytes");
    options->options.segment_size = bytes;
    return absl::OkStatus();
  });
}

kars_status kars_audit_options_set_read_only(kars_audit_options* options, int read_only,
                                             kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    options->options.read_only = read_only != 0;
    return absl::OkStatus();
  });
}

kars_status kars_audit_options_set_create(kars_audit_options* options, int create_if_missing,
                                          kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(options);
    options->options.create_if_missing = create_if_missing != 0;
    return absl::OkStatus();
  });
}

kars_status kars_audit_log_open(kars_audit_log** out, const char* dir,
                                const kars_audit_options* options, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(out);
    KARS_REQUIRE_ARG(dir);
    kars::audit::LogOptions o = options != nullptr ? options->options : kars::audit::LogOptions{};
    absl::StatusOr<std::unique_ptr<kars::audit::Log>> log = kars::audit::Log::Open(dir, std::move(o));
    if (!log.ok()) return log.status();
    *out = new kars_audit_log{*std::move(log)};
    return absl::OkStatus();
  });
}

kars_status kars_audit_log_close(kars_audit_log* log, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(log);
    return log->log->Close();
  });
}

void kars_audit_log_free(kars_audit_log* log) {
  kars::capi::GuardVoid([&] { delete log; });
}

const char* kars_audit_log_recovery_notes(const kars_audit_log* log) {
  if (log == nullptr) return "";
  return log->log->open_report().notes.c_str();
}

kars_status kars_audit_log_append(uint64_t* index, kars_audit_log* log, const uint8_t* record,
                                  size_t record_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(index);
    KARS_REQUIRE_ARG(log);
    if (absl::Status s = RequireBytes(record, record_len, "record"); !s.ok()) return s;
    absl::StatusOr<uint64_t> i = log->log->AppendEncoded(Bytes(record, record_len));
    if (!i.ok()) return i.status();
    *index = *i;
    return absl::OkStatus();
  });
}

kars_status kars_audit_log_append_async(uint64_t* index, kars_audit_log* log,
                                        const uint8_t* record, size_t record_len,
                                        kars_audit_append_done_fn done, void* userdata,
                                        kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(log);
    KARS_REQUIRE_ARG(done);
    if (absl::Status s = RequireBytes(record, record_len, "record"); !s.ok()) return s;
    absl::StatusOr<uint64_t> i = log->log->AppendEncodedAsync(
        Bytes(record, record_len), [done, userdata](absl::StatusOr<uint64_t> result) {
          if (result.ok()) {
            done(userdata, KARS_OK, *result, nullptr);
          } else {
            const std::string message(result.status().message());
            done(userdata, kars::ToCStatus(result.status()), 0, message.c_str());
          }
        });
    if (!i.ok()) return i.status();
    if (index != nullptr) *index = *i;
    return absl::OkStatus();
  });
}

uint64_t kars_audit_log_size(const kars_audit_log* log) {
  return log == nullptr ? 0 : log->log->Size();
}

kars_status kars_audit_log_checkpoint(kars_buf* note, kars_audit_log* log, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(note);
    KARS_REQUIRE_ARG(log);
    absl::StatusOr<kars::audit::StoredCheckpoint> cp = log->log->LatestCheckpoint();
    if (!cp.ok()) return cp.status();
    FillBuf(note, cp->note);
    return absl::OkStatus();
  });
}

kars_status kars_audit_log_checkpoint_now(kars_buf* note, kars_audit_log* log, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(note);
    KARS_REQUIRE_ARG(log);
    absl::StatusOr<kars::audit::StoredCheckpoint> cp = log->log->CheckpointNow();
    if (!cp.ok()) return cp.status();
    FillBuf(note, cp->note);
    return absl::OkStatus();
  });
}

kars_status kars_audit_log_checkpoint_at(kars_buf* note, kars_audit_log* log, uint64_t tree_size,
                                         kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(note);
    KARS_REQUIRE_ARG(log);
    absl::StatusOr<kars::audit::StoredCheckpoint> cp = log->log->CheckpointAt(tree_size);
    if (!cp.ok()) return cp.status();
    FillBuf(note, cp->note);
    return absl::OkStatus();
  });
}

kars_status kars_audit_log_inclusion_proof(kars_buf* proof, kars_audit_log* log, uint64_t index,
                                           uint64_t tree_size, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(proof);
    KARS_REQUIRE_ARG(log);
    absl::StatusOr<kars::audit::InclusionProof> p = log->log->Inclusion(index, tree_size);
    if (!p.ok()) return p.status();
    FillBuf(proof, kars::audit::FormatInclusionProof(*p));
    return absl::OkStatus();
  });
}

kars_status kars_audit_log_consistency_proof(kars_buf* proof, kars_audit_log* log,
                                             uint64_t old_size, uint64_t new_size,
                                             kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(proof);
    KARS_REQUIRE_ARG(log);
    absl::StatusOr<kars::audit::ConsistencyProof> p = log->log->Consistency(old_size, new_size);
    if (!p.ok()) return p.status();
    FillBuf(proof, kars::audit::FormatConsistencyProof(*p));
    return absl::OkStatus();
  });
}

kars_status kars_audit_log_read(kars_buf* record, kars_audit_log* log, uint64_t index,
                                kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(record);
    KARS_REQUIRE_ARG(log);
    absl::StatusOr<std::string> bytes = log->log->Read(index);
    if (!bytes.ok()) return bytes.status();
    FillBuf(record, *bytes);
    return absl::OkStatus();
  });
}

kars_status kars_audit_log_iterate(kars_audit_log* log, uint64_t from, uint64_t limit,
                                   kars_audit_record_fn fn, void* userdata, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(log);
    KARS_REQUIRE_ARG(fn);
    const uint64_t size = log->log->Size();
    const uint64_t end = (limit == 0 || limit > size - std::min(from, size)) ? size : from + limit;
    for (uint64_t i = from; i < end; ++i) {
      absl::StatusOr<std::string> bytes = log->log->Read(i);
      if (!bytes.ok()) return bytes.status();
      if (fn(i, reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size(), userdata) != 0) {
        return kars::CallbackError(absl::StrCat("the callback stopped iteration at record ", i));
      }
    }
    return absl::OkStatus();
  });
}

kars_status kars_audit_keygen(kars_buf* private_key, kars_buf* public_key, const char* name,
                              size_t name_len, kars_error** err) {
  return kars_audit_keygen_v2(private_key, public_key, name, name_len, KARS_AUDIT_KEY_NOTE, err);
}

kars_status kars_audit_checkpoint_verify(uint64_t* tree_size, const char* public_key,
                                         size_t public_key_len, const uint8_t* note,
                                         size_t note_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(public_key);
    KARS_REQUIRE_ARG(note);
    absl::StatusOr<kars::audit::Checkpoint> cp = kars::audit::VerifyCheckpointNote(
        Bytes(public_key, public_key_len), Bytes(note, note_len));
    if (!cp.ok()) return cp.status();
    if (tree_size != nullptr) *tree_size = cp->size;
    return absl::OkStatus();
  });
}

kars_status kars_audit_inclusion_verify(const char* public_key, size_t public_key_len,
                                        const uint8_t* checkpoint, size_t checkpoint_len,
                                        const uint8_t* proof, size_t proof_len,
                                        const uint8_t* record, size_t record_len,
                                        kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(public_key);
    KARS_REQUIRE_ARG(checkpoint);
    KARS_REQUIRE_ARG(proof);
    if (absl::Status s = RequireBytes(record, record_len, "record"); !s.ok()) return s;
    return kars::audit::VerifyInclusionOffline(
        Bytes(public_key, public_key_len), Bytes(checkpoint, checkpoint_len),
        Bytes(proof, proof_len), Bytes(record, record_len));
  });
}

kars_status kars_audit_consistency_verify(const char* public_key, size_t public_key_len,
                                          const uint8_t* old_checkpoint, size_t old_checkpoint_len,
                                          const uint8_t* new_checkpoint, size_t new_checkpoint_len,
                                          const uint8_t* proof, size_t proof_len,
                                          kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(public_key);
    KARS_REQUIRE_ARG(old_checkpoint);
    KARS_REQUIRE_ARG(new_checkpoint);
    KARS_REQUIRE_ARG(proof);
    return kars::audit::VerifyConsistencyOffline(
        Bytes(public_key, public_key_len), Bytes(old_checkpoint, old_checkpoint_len),
        Bytes(new_checkpoint, new_checkpoint_len), Bytes(proof, proof_len));
  });
}

kars_status kars_audit_verify_dir(kars_buf* report, uint64_t* first_bad_index, const char* dir,
                                  const char* public_key, size_t public_key_len,
                                  kars_error** err) {
  return kars_audit_verify_dir_with_checkpoints(report, first_bad_index, dir, public_key,
                                                public_key_len, nullptr, nullptr, 0, err);
}

kars_status kars_audit_verify_dir_with_checkpoints(kars_buf* report, uint64_t* first_bad_index,
                                                   const char* dir, const char* public_key,
                                                   size_t public_key_len,
                                                   const uint8_t* const* checkpoints,
                                                   const size_t* checkpoint_lens,
                                                   size_t checkpoint_count, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(dir);
    kars::audit::VerifyOptions vo;
    if (checkpoint_count > 0) {
      KARS_REQUIRE_ARG(checkpoints);
      KARS_REQUIRE_ARG(checkpoint_lens);
      for (size_t i = 0; i < checkpoint_count; ++i) {
        if (checkpoints[i] == nullptr) {
          return absl::InvalidArgumentError(absl::StrCat("checkpoints[", i, "] is NULL"));
        }
        vo.external_checkpoints.emplace_back(reinterpret_cast<const char*>(checkpoints[i]),
                                             checkpoint_lens[i]);
      }
    }
    if (public_key != nullptr) {
      absl::StatusOr<kars::audit::Verifier> v =
          kars::audit::Verifier::FromText(Bytes(public_key, public_key_len));
      if (!v.ok()) return v.status();
      vo.key = *std::move(v);
    }
    kars::audit::VerifyReport r = kars::audit::VerifyLog(dir, vo);
    if (report != nullptr) FillBuf(report, r.Summary());
    if (first_bad_index != nullptr) *first_bad_index = r.first_bad_index.value_or(UINT64_MAX);
    return r.status;
  });
}

kars_status kars_audit_witness_cosign(kars_buf* cosigned, const char* state_path,
                                      const char* witness_private_key,
                                      size_t witness_private_key_len, const char* log_public_key,
                                      size_t log_public_key_len, const uint8_t* checkpoint,
                                      size_t checkpoint_len, const uint8_t* consistency_proof,
                                      size_t consistency_proof_len, kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(cosigned);
    KARS_REQUIRE_ARG(state_path);
    KARS_REQUIRE_ARG(witness_private_key);
    KARS_REQUIRE_ARG(log_public_key);
    KARS_REQUIRE_ARG(checkpoint);
    if (absl::Status s = RequireBytes(consistency_proof, consistency_proof_len, "consistency_proof");
        !s.ok()) {
      return s;
    }
    absl::StatusOr<kars::audit::Signer> w =
        kars::audit::Signer::FromText(Bytes(witness_private_key, witness_private_key_len));
    if (!w.ok()) return w.status();
    absl::StatusOr<kars::audit::Verifier> v =
        kars::audit::Verifier::FromText(Bytes(log_public_key, log_public_key_len));
    if (!v.ok()) return v.status();
    absl::StatusOr<std::string> out =
        kars::audit::Cosign(state_path, *w, *v, Bytes(checkpoint, checkpoint_len),
                            Bytes(consistency_proof, consistency_proof_len));
    if (!out.ok()) return out.status();
    FillBuf(cosigned, *out);
    return absl::OkStatus();
  });
}

kars_status kars_audit_record_to_json(kars_buf* json, const uint8_t* record, size_t record_len,
                                      kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(json);
    if (absl::Status s = RequireBytes(record, record_len, "record"); !s.ok()) return s;
    absl::StatusOr<kars::v1::AuditRecord> rec = kars::audit::DecodeRecord(Bytes(record, record_len));
    if (!rec.ok()) return rec.status();
    std::string out;
    google::protobuf::util::JsonPrintOptions jo;
    jo.preserve_proto_field_names = true;
    auto s = google::protobuf::util::MessageToJsonString(*rec, &out, jo);
    if (!s.ok()) return absl::InvalidArgumentError("audit record: cannot be converted to JSON");
    FillBuf(json, out);
    return absl::OkStatus();
  });
}

kars_status kars_audit_record_from_json(kars_buf* record, const char* json, size_t json_len,
                                        kars_error** err) {
  return Guard(err, [&]() -> absl::Status {
    KARS_REQUIRE_ARG(record);
    KARS_REQUIRE_ARG(json);
    kars::v1::AuditRecord rec;
    std::string text(json, json_len);
    auto s = google::protobuf::util::JsonStringToMessage(text, &rec);
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "audit record JSON: ", std::string(s.message().data(), s.message().size())));
    }
    std::string out;
    if (!rec.SerializeToString(&out)) {
      return absl::InvalidArgumentError("audit record: cannot be serialised");
    }
    FillBuf(record, out);
    return absl::OkStatus();
  });
}

}  // extern "C"
