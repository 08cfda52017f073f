// `kars audit` commands that verify: a whole log directory, or proofs with only a public key.
#include <cstdio>
#include <string>

#include "hosts/cli/audit/args.h"
#include "hosts/cli/audit/commands.h"
#include "hosts/cli/io.h"
#include "hosts/cli/registry.h"
#include "kars/audit.h"

namespace kars::cli::audit {
namespace {

const uint8_t* U8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

}  // namespace

int Verify(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, 2, {"--key", "--checkpoint"}, {});
  if (!args || args->positional.size() != 1 || !args->Value("--key")) {
    std::fprintf(stderr, "usage: kars audit verify DIR --key PUB [--checkpoint FILE]\n");
    return kExitUsage;
  }
  std::optional<std::string> key = ReadFile(*args->Value("--key"));
  if (!key) return kExitUsage;
  // A checkpoint kept from earlier must still agree with the log.
  std::optional<std::string> held;
  if (auto path = args->Value("--checkpoint")) {
    held = ReadFile(*path);
    if (!held) return kExitUsage;
  }
  const uint8_t* held_data = held ? U8(*held) : nullptr;
  const size_t held_len = held ? held->size() : 0;
  kars_buf report{nullptr, 0};
  uint64_t first_bad = UINT64_MAX;
  kars_error* err = nullptr;
  kars_status s = kars_audit_verify_dir_with_checkpoints(
      &report, &first_bad, args->positional[0].c_str(), key->data(), key->size(), &held_data,
      &held_len, held ? 1 : 0, &err);
  const bool reported = report.data != nullptr;
  if (reported) {
    std::fprintf(s == KARS_OK ? stdout : stderr, "%s\n", reinterpret_cast<char*>(report.data));
  }
  kars_buf_dispose(&report);
  if (s == KARS_OK) return kExitOk;
  if (!reported && err != nullptr) {
    PrintError("verify", err);
  } else {
    kars_error_free(err);
  }
  // Not a log, or a malformed key: the caller's mistake, not evidence of tampering.
  return ExitFor(s, false);
}

int VerifyProof(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, 2, {"--key"}, {});
  const size_t n = args ? args->positional.size() : 0;
  if (!args || (n != 2 && n != 3) || !args->Value("--key")) {
    std::fprintf(stderr,
                 "usage: kars audit verify-proof --key PUB CHECKPOINT PROOF RECORD\n"
                 "       kars audit verify-proof --key PUB TLOG_PROOF RECORD\n");
    return kExitUsage;
  }
  auto key = ReadFile(*args->Value("--key"));
  auto proof = ReadFile(args->positional[n - 2]);
  auto record = ReadFile(args->positional[n - 1]);
  if (!key || !proof || !record) return kExitUsage;
  const kars_audit_proof_format format = DetectProofFormat(*proof);
  if ((format == KARS_AUDIT_PROOF_TLOG) != (n == 2)) {
    std::fprintf(stderr, format == KARS_AUDIT_PROOF_TLOG
                             ? "kars: a tlog-proof carries its checkpoint: pass PROOF RECORD\n"
                             : "kars: this proof needs the CHECKPOINT it proves against\n");
    return kExitUsage;
  }
  std::string checkpoint;
  if (n == 3) {
    auto cp = ReadFile(args->positional[0]);
    if (!cp) return kExitUsage;
    checkpoint = *cp;
  } else {
    checkpoint = proof->substr(proof->find("\n\n") + 2);  // the embedded checkpoint
  }
  uint64_t size = 0;
  kars_error* err = nullptr;
  kars_status s = kars_audit_checkpoint_verify(&size, key->data(), key->size(), U8(checkpoint),
                                               checkpoint.size(), &err);
  // A malformed key file is a usage error; a malformed checkpoint is invalid evidence.
  if (IsKeyError(s, err)) {
    PrintError(args->Value("--key")->c_str(), err);
    return kExitUsage;
  }
  if (s != KARS_OK) {
    PrintError("checkpoint", err);
    return ExitFor(s, true);
  }
  s = kars_audit_inclusion_verify_v2(
      key->data(), key->size(), n == 3 ? U8(checkpoint) : nullptr, checkpoint.size(), U8(*proof),
      proof->size(), format, U8(*record), record->size(), &err);
  if (s != KARS_OK) {
    PrintError("verify-proof", err);
    return ExitFor(s, true);
  }
  std::printf("valid: the record is in the log under the signed checkpoint of size %llu\n",
              static_cast<unsigned long long>(size));
  return kExitOk;
}

int VerifyConsistency(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, 2, {"--key"}, {});
  if (!args || args->positional.size() != 3 || !args->Value("--key")) {
    std::fprintf(stderr,
                 "usage: kars audit verify-consistency --key PUB OLD_CHECKPOINT NEW_CHECKPOINT "
                 "PROOF\n");
    return kExitUsage;
  }
  auto key = ReadFile(*args->Value("--key"));
  auto old_cp = ReadFile(args->positional[0]);
  auto new_cp = ReadFile(args->positional[1]);
  auto proof = ReadFile(args->positional[2]);
  if (!key || !old_cp || !new_cp || !proof) return kExitUsage;
  kars_error* err = nullptr;
  kars_status s = kars_audit_consistency_verify_v2(
      key->data(), key->size(), U8(*old_cp), old_cp->size(), U8(*new_cp), new_cp->size(),
      U8(*proof), proof->size(), DetectProofFormat(*proof), &err);
  if (s != KARS_OK) {
    PrintError("verify-consistency", err);
    return ExitFor(s, true);
  }
  std::printf("valid: the newer checkpoint extends the older one\n");
  return kExitOk;
}

}  // namespace kars::cli::audit

namespace kars::cli::audit {

int Cosign(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, 2, {"--key", "--log-key", "--state"}, {});
  if (!args || args->positional.empty() || args->positional.size() > 2 || !args->Value("--key") ||
      !args->Value("--log-key") || !args->Value("--state")) {
    std::fprintf(stderr,
                 "usage: kars audit cosign --key WITNESS_PRIV --log-key PUB --state FILE "
                 "CHECKPOINT [PROOF]\n");
    return kExitUsage;
  }
  auto key = ReadFile(*args->Value("--key"));
  auto log_key = ReadFile(*args->Value("--log-key"));
  auto checkpoint = ReadFile(args->positional[0]);
  std::optional<std::string> proof = std::string();
  if (args->positional.size() == 2) proof = ReadFile(args->positional[1]);
  if (!key || !log_key || !checkpoint || !proof) return kExitUsage;
  kars_buf out{nullptr, 0};
  kars_error* err = nullptr;
  kars_status s = kars_audit_witness_cosign(
      &out, args->Value("--state")->c_str(), key->data(), key->size(), log_key->data(),
      log_key->size(), U8(*checkpoint), checkpoint->size(),
      proof->empty() ? nullptr : U8(*proof), proof->size(), &err);
  if (s != KARS_OK) {
    // A malformed or wrong-type key file is the caller's mistake; a bad checkpoint is evidence.
    const bool key_problem = IsKeyError(s, err);
    PrintError("cosign", err);
    return key_problem ? kExitUsage : ExitFor(s, true);
  }
  std::fwrite(out.data, 1, out.len, stdout);
  kars_buf_dispose(&out);
  return kExitOk;
}

int VerifyCosignature(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, 2, {"--witness-key"}, {});
  if (!args || args->positional.size() != 1 || !args->Value("--witness-key")) {
    std::fprintf(stderr, "usage: kars audit verify-cosignature --witness-key PUB CHECKPOINT\n");
    return kExitUsage;
  }
  auto key = ReadFile(*args->Value("--witness-key"));
  auto note = ReadFile(args->positional[0]);
  if (!key || !note) return kExitUsage;
  uint64_t timestamp = 0;
  kars_error* err = nullptr;
  kars_status s = kars_audit_cosignature_verify(&timestamp, key->data(), key->size(), U8(*note),
                                                note->size(), &err);
  if (s != KARS_OK) {
    const bool key_problem = IsKeyError(s, err);
    PrintError("verify-cosignature", err);
    return key_problem ? kExitUsage : ExitFor(s, true);
  }
  std::printf("valid: co-signed (cosignature/v1) at %llu\n",
              static_cast<unsigned long long>(timestamp));
  return kExitOk;
}

}  // namespace kars::cli::audit
