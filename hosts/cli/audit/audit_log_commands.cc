// `kars audit` commands that create keys or read and write a log directory.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "hosts/cli/audit/args.h"
#include "hosts/cli/audit/commands.h"
#include "hosts/cli/io.h"
#include "hosts/cli/registry.h"
#include "kars/audit.h"

namespace kars::cli::audit {
namespace {

// Owns a kars_buf for the duration of a command.
struct Buf {
  kars_buf b{nullptr, 0};
  ~Buf() { kars_buf_dispose(&b); }
  std::string str() const { return std::string(reinterpret_cast<const char*>(b.data), b.len); }
};

struct Options {
  kars_audit_options* o = nullptr;
  ~Options() { kars_audit_options_free(o); }
};

struct LogHandle {
  kars_audit_log* log = nullptr;
  ~LogHandle() { kars_audit_log_free(log); }
};

int Fail(const char* context, kars_status status, kars_error* err, bool invalid_is_tampering) {
  PrintError(context, err);
  return ExitFor(status, invalid_is_tampering);
}

// Opens DIR read-only (never creating, never repairing) or, with a private key file, for writing.
int OpenLog(const std::string& dir, const std::optional<std::string>& key_path, LogHandle* out,
            uint64_t segment_size = 0) {
  Options opts;
  kars_error* err = nullptr;
  kars_status s = kars_audit_options_new(&opts.o, &err);
  if (s == KARS_OK && segment_size != 0) {
    s = kars_audit_options_set_segment_size(opts.o, segment_size, &err);
    if (s != KARS_OK) return Fail("--segment-size", s, err, false);
  }
  if (s == KARS_OK) s = kars_audit_options_set_create(opts.o, key_path.has_value(), &err);
  if (s == KARS_OK && !key_path.has_value()) s = kars_audit_options_set_read_only(opts.o, 1, &err);
  if (s == KARS_OK && key_path.has_value()) {
    std::optional<std::string> key = ReadFile(*key_path);
    if (!key) return kExitUsage;
    s = kars_audit_options_set_signing_key(opts.o, key->data(), key->size(), &err);
    if (s != KARS_OK) return Fail(key_path->c_str(), s, err, false);
  }
  if (s == KARS_OK) s = kars_audit_log_open(&out->log, dir.c_str(), opts.o, &err);
  if (s != KARS_OK) return Fail(dir.c_str(), s, err, false);
  const char* notes = kars_audit_log_recovery_notes(out->log);
  if (notes[0] != '\0') std::fprintf(stderr, "kars: %s: %s\n", dir.c_str(), notes);
  return kExitOk;
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

int Keygen(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, 2, {"--name", "--out"}, {"--witness"});
  if (!args || !args->positional.empty() || !args->Value("--name") || !args->Value("--out")) {
    std::fprintf(stderr, "usage: kars audit keygen --name NAME --out PREFIX [--witness]\n");
    return kExitUsage;
  }
  const std::string name = *args->Value("--name");
  const std::string priv_path = *args->Value("--out") + ".key";
  const std::string pub_path = *args->Value("--out") + ".pub";
  if (FileExists(priv_path) || FileExists(pub_path)) {
    std::fprintf(stderr, "kars: refusing to overwrite %s or %s\n", priv_path.c_str(),
                 pub_path.c_str());
    return kExitUsage;
  }
  Buf priv, pub;
  kars_error* err = nullptr;
  // A witness key makes C2SP cosignature/v1 signatures; a log key signs checkpoints.
  const kars_audit_key_type type =
      args->Has("--witness") ? KARS_AUDIT_KEY_COSIGNATURE : KARS_AUDIT_KEY_NOTE;
  kars_status s = kars_audit_keygen_v2(&priv.b, &pub.b, name.data(), name.size(), type, &err);
  if (s != KARS_OK) return Fail("keygen", s, err, false);
  if (!WriteFile(priv_path, priv.str() + "\n", 0600)) return kExitUsage;
  // WriteFile honours the umask; the private key must be 0600 whatever it is.
  if (::chmod(priv_path.c_str(), 0600) != 0) return kExitUsage;
  if (!WriteFile(pub_path, pub.str() + "\n", 0644)) return kExitUsage;
  std::printf("%s\n", pub.str().c_str());
  return kExitOk;
}

int Append(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, 2, {"--key", "--segment-size"}, {});
  if (!args || args->positional.size() < 2 || !args->Value("--key")) {
    std::fprintf(stderr,
                 "usage: kars audit append DIR --key PRIV [--segment-size BYTES] JSON... ('-' "
                 "reads lines of stdin)\n");
    return kExitUsage;
  }
  uint64_t segment_size = 0;
  if (auto v = args->Value("--segment-size")) {
    auto n = ParseIndex(*v, "--segment-size");
    if (!n) return kExitUsage;
    segment_size = *n;
  }
  LogHandle log;
  if (int rc = OpenLog(args->positional[0], args->Value("--key"), &log, segment_size);
      rc != kExitOk) {
    return rc;
  }
  std::vector<std::string> inputs(args->positional.begin() + 1, args->positional.end());
  if (inputs.size() == 1 && inputs[0] == "-") {
    inputs.clear();
    for (std::string line; std::getline(std::cin, line);) {
      if (!line.empty()) inputs.push_back(line);
    }
  }
  for (const std::string& json : inputs) {
    Buf rec;
    kars_error* err = nullptr;
    kars_status s = kars_audit_record_from_json(&rec.b, json.data(), json.size(), &err);
    if (s != KARS_OK) return Fail("append", s, err, false);
    uint64_t index = 0;
    s = kars_audit_log_append(&index, log.log, rec.b.data, rec.b.len, &err);
    if (s != KARS_OK) return Fail("append", s, err, false);
    std::printf("%llu\n", static_cast<unsigned long long>(index));
  }
  kars_error* err = nullptr;
  kars_status s = kars_audit_log_close(log.log, &err);
  if (s != KARS_OK) return Fail("close", s, err, false);
  return kExitOk;
}

namespace {

struct ShowState {
  bool json;
  int status = KARS_OK;
};

int PrintRecord(uint64_t index, const uint8_t* record, size_t len, void* userdata) {
  auto* st = static_cast<ShowState*>(userdata);
  Buf json;
  kars_error* err = nullptr;
  kars_status s = kars_audit_record_to_json(&json.b, record, len, &err);
  if (s != KARS_OK) {
    PrintError("show", err);
    st->status = s;
    return 1;
  }
  if (st->json) {
    std::printf("%s\n", json.str().c_str());
  } else {
    std::printf("%llu\t%s\n", static_cast<unsigned long long>(index), json.str().c_str());
  }
  return 0;
}

}  // namespace

int Show(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, 2, {"--from", "--limit"}, {"--json"});
  if (!args || args->positional.size() != 1) {
    std::fprintf(stderr, "usage: kars audit show DIR [--from N] [--limit K] [--json]\n");
    return kExitUsage;
  }
  uint64_t from = 0, limit = 0;
  if (auto v = args->Value("--from")) {
    auto n = ParseIndex(*v, "--from");
    if (!n) return kExitUsage;
    from = *n;
  }
  if (auto v = args->Value("--limit")) {
    auto n = ParseIndex(*v, "--limit");
    if (!n) return kExitUsage;
    limit = *n;
  }
  LogHandle log;
  if (int rc = OpenLog(args->positional[0], std::nullopt, &log); rc != kExitOk) return rc;
  ShowState st{args->Has("--json")};
  kars_error* err = nullptr;
  kars_status s = kars_audit_log_iterate(log.log, from, limit, PrintRecord, &st, &err);
  if (s == KARS_E_CALLBACK) {
    kars_error_free(err);
    return ExitFor(static_cast<kars_status>(st.status), true);
  }
  if (s != KARS_OK) return Fail("show", s, err, true);
  return kExitOk;
}

int Checkpoint(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, 2, {"--key"}, {});
  if (!args || args->positional.size() != 1) {
    std::fprintf(stderr, "usage: kars audit checkpoint DIR [--key PRIV]\n");
    return kExitUsage;
  }
  LogHandle log;
  if (int rc = OpenLog(args->positional[0], args->Value("--key"), &log); rc != kExitOk) return rc;
  Buf note;
  kars_error* err = nullptr;
  kars_status s = args->Value("--key") ? kars_audit_log_checkpoint_now(&note.b, log.log, &err)
                                       : kars_audit_log_checkpoint(&note.b, log.log, &err);
  if (s != KARS_OK) return Fail("checkpoint", s, err, false);
  std::fwrite(note.b.data, 1, note.b.len, stdout);
  return kExitOk;
}

int Prove(int argc, char** argv) {
  auto args =
      ParseArgs(argc, argv, 2, {"--size", "--record-out", "--checkpoint-out", "--format"}, {});
  if (!args || args->positional.size() != 2) {
    std::fprintf(stderr,
                 "usage: kars audit prove DIR INDEX [--size N] [--record-out FILE] "
                 "[--checkpoint-out FILE] [--format text|rfc6962|tlog-proof]\n");
    return kExitUsage;
  }
  auto format = ParseProofFormat(args->Value("--format"), true);
  if (!format) return kExitUsage;
  auto index = ParseIndex(args->positional[1], "INDEX");
  if (!index) return kExitUsage;
  LogHandle log;
  if (int rc = OpenLog(args->positional[0], std::nullopt, &log); rc != kExitOk) return rc;
  kars_error* err = nullptr;
  Buf note;
  uint64_t size = 0;
  if (auto v = args->Value("--size")) {
    auto n = ParseIndex(*v, "--size");
    if (!n) return kExitUsage;
    size = *n;
    if (args->Value("--checkpoint-out")) {
      kars_status s = kars_audit_log_checkpoint_at(&note.b, log.log, size, &err);
      if (s != KARS_OK) return Fail("prove", s, err, false);
    }
  } else {
    // Against the newest checkpoint, so that the proof verifies with what a verifier holds.
    kars_status s = kars_audit_log_checkpoint(&note.b, log.log, &err);
    if (s != KARS_OK) return Fail("prove (no --size given)", s, err, false);
    // The size of the log's own checkpoint: its second line.
    const std::string text = note.str();
    const size_t a = text.find('\n');
    const size_t b = text.find('\n', a + 1);
    auto n = ParseIndex(text.substr(a + 1, b - a - 1), "checkpoint size");
    if (!n) return kExitInvalid;
    size = *n;
  }
  Buf proof;
  kars_status s =
      kars_audit_log_inclusion_proof_v2(&proof.b, log.log, *index, size, *format, &err);
  if (s != KARS_OK) return Fail("prove", s, err, false);
  if (auto path = args->Value("--record-out")) {
    Buf rec;
    s = kars_audit_log_read(&rec.b, log.log, *index, &err);
    if (s != KARS_OK) return Fail("prove", s, err, true);
    if (!WriteFile(*path, rec.str())) return kExitUsage;
  }
  if (auto path = args->Value("--checkpoint-out")) {
    if (!WriteFile(*path, note.str())) return kExitUsage;
  }
  std::fwrite(proof.b.data, 1, proof.b.len, stdout);
  return kExitOk;
}

int Consistency(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, 2, {"--format"}, {});
  if (!args || args->positional.size() != 3) {
    std::fprintf(stderr, "usage: kars audit consistency DIR OLD NEW [--format text|rfc6962]\n");
    return kExitUsage;
  }
  auto format = ParseProofFormat(args->Value("--format"), false);
  if (!format) return kExitUsage;
  auto old_size = ParseIndex(args->positional[1], "OLD");
  auto new_size = ParseIndex(args->positional[2], "NEW");
  if (!old_size || !new_size) return kExitUsage;
  LogHandle log;
  if (int rc = OpenLog(args->positional[0], std::nullopt, &log); rc != kExitOk) return rc;
  Buf proof;
  kars_error* err = nullptr;
  kars_status s = kars_audit_log_consistency_proof_v2(&proof.b, log.log, *old_size, *new_size,
                                                      *format, &err);
  if (s != KARS_OK) return Fail("consistency", s, err, false);
  std::fwrite(proof.b.data, 1, proof.b.len, stdout);
  return kExitOk;
}

int Retain(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, 2, {"--key", "--before"}, {});
  if (!args || args->positional.size() != 1 || !args->Value("--key") || !args->Value("--before")) {
    std::fprintf(stderr, "usage: kars audit retain DIR --key PRIV --before INDEX\n");
    return kExitUsage;
  }
  auto before = ParseIndex(*args->Value("--before"), "--before");
  if (!before) return kExitUsage;
  LogHandle log;
  if (int rc = OpenLog(args->positional[0], args->Value("--key"), &log); rc != kExitOk) return rc;
  uint64_t first_kept = 0;
  kars_error* err = nullptr;
  kars_status s = kars_audit_log_retain(&first_kept, log.log, *before, &err);
  if (s != KARS_OK) return Fail("retain", s, err, false);
  s = kars_audit_log_close(log.log, &err);
  if (s != KARS_OK) return Fail("close", s, err, false);
  std::printf("kept records from %llu (whole segments only)\n",
              static_cast<unsigned long long>(first_kept));
  return kExitOk;
}

}  // namespace kars::cli::audit
