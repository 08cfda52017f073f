// `kars policy`: check, eval and test policy files through the C ABI.
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "hosts/cli/io.h"
#include "hosts/cli/registry.h"
#include "kars/policy.h"

namespace kars::cli {
namespace {

constexpr char kUsage[] =
    "usage: kars policy check FILE... [--blocklist FEED]...\n"
    "       kars policy eval FILE... --request REQUEST.json|- [--explain] [--blocklist FEED]...\n"
    "       kars policy test FILE... --cases CASES.yaml [--blocklist FEED]...\n"
    "       kars policy scan FILE... --text TEXT|- [--annotations ANNOTATIONS.json]\n"
    "check prints warnings (FILE:LINE:COL: W_SHADOWED|W_NEVER_MATCHES: ...) on standard error.\n"
    "eval requests may carry \"content\": {text, annotations}, held against the safety floors.\n"
    "Exit codes: 0 ok (eval: a decision was made, whatever its effect), 1 invalid policy, invalid\n"
    "request, failed test case or denied scan, 2 usage or I/O error.\n";

struct Args {
  std::vector<std::string> files;
  std::vector<std::string> feeds;
  std::string request;
  std::string cases;
  std::string text;
  std::string annotations;
  bool explain = false;
};

bool ParseArgs(int argc, char** argv, Args* out) {
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string* target) {
      if (i + 1 >= argc) return false;
      *target = argv[++i];
      return true;
    };
    if (a == "--explain") {
      out->explain = true;
    } else if (a == "--request") {
      if (!value(&out->request)) return false;
    } else if (a == "--cases") {
      if (!value(&out->cases)) return false;
    } else if (a == "--text") {
      if (!value(&out->text)) return false;
    } else if (a == "--annotations") {
      if (!value(&out->annotations)) return false;
    } else if (a == "--blocklist") {
      std::string feed;
      if (!value(&feed)) return false;
      out->feeds.push_back(feed);
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "kars policy: unknown option '%s'\n", a.c_str());
      return false;
    } else {
      out->files.push_back(a);
    }
  }
  return !out->files.empty();
}

// A file, or standard input for "-".
std::optional<std::string> ReadInput(const std::string& path) {
  if (path != "-") return ReadFile(path);
  std::string bytes;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) bytes.append(buf, n);
  if (std::ferror(stdin)) {
    std::fprintf(stderr, "kars: cannot read standard input\n");
    return std::nullopt;
  }
  return bytes;
}

// Builds the sources; returns an exit code (kExitOk on success).
int LoadSources(const Args& args, kars_policy_sources** out) {
  kars_error* err = nullptr;
  if (kars_policy_sources_new(out, &err) != KARS_OK) {
    PrintError("policy", err);
    return kExitUsage;
  }
  for (const auto& f : args.files) {
    if (kars_policy_sources_add_file(*out, f.c_str(), &err) != KARS_OK) {
      PrintError("policy", err);
      return kExitUsage;
    }
  }
  for (const auto& f : args.feeds) {
    auto text = ReadFile(f);
    if (!text) return kExitUsage;
    if (kars_policy_sources_add_domain_feed(*out, f.c_str(), reinterpret_cast<const uint8_t*>(text->data()),
                                            text->size(), &err) != KARS_OK) {
      PrintError("policy", err);
      return kExitUsage;
    }
  }
  return kExitOk;
}

// Compile errors are the policy's fault (exit 1); anything else is ours or the system's (2).
int LoadFailure(const char* context, kars_error* err) {
  int code = kars_error_code(err) == KARS_E_INVALID_ARGUMENT ? kExitInvalid : kExitUsage;
  PrintError(context, err);
  return code;
}

int Check(const Args& args) {
  kars_policy_sources* sources = nullptr;
  int rc = LoadSources(args, &sources);
  if (rc == kExitOk) {
    kars_error* err = nullptr;
    kars_buf warnings = {nullptr, 0};
    kars_policy_engine* engine = nullptr;
    kars_buf digest = {nullptr, 0};
    if (kars_policy_check(&warnings, sources, &err) != KARS_OK) {
      rc = LoadFailure("policy check", err);
    } else if (kars_policy_engine_new(&engine, nullptr, &err) != KARS_OK ||
               kars_policy_engine_load(engine, sources, &err) != KARS_OK ||
               kars_policy_engine_digest(&digest, engine, &err) != KARS_OK) {
      rc = LoadFailure("policy check", err);
    } else {
      if (warnings.len > 0) std::fprintf(stderr, "%s", reinterpret_cast<const char*>(warnings.data));
      std::printf("ok: %zu file(s), policy digest %s\n", args.files.size(),
                  reinterpret_cast<const char*>(digest.data));
    }
    kars_buf_dispose(&warnings);
    kars_buf_dispose(&digest);
    kars_policy_engine_free(engine);
  }
  kars_policy_sources_free(sources);
  return rc;
}

int WithEngine(const Args& args, int (*body)(const Args&, kars_policy_engine*)) {
  kars_policy_sources* sources = nullptr;
  kars_policy_engine* engine = nullptr;
  int rc = LoadSources(args, &sources);
  if (rc == kExitOk) {
    kars_error* err = nullptr;
    if (kars_policy_engine_new(&engine, nullptr, &err) != KARS_OK) {
      rc = LoadFailure("policy", err);
    } else if (kars_policy_engine_load(engine, sources, &err) != KARS_OK) {
      rc = LoadFailure("policy", err);
    } else {
      rc = body(args, engine);
    }
  }
  kars_policy_engine_free(engine);
  kars_policy_sources_free(sources);
  return rc;
}

int Eval(const Args& args, kars_policy_engine* engine) {
  auto request = ReadInput(args.request);
  if (!request) return kExitUsage;
  kars_error* err = nullptr;
  kars_policy_decision* decision = nullptr;
  kars_buf json = {nullptr, 0};
  int rc = kExitOk;
  if (kars_policy_decision_new(&decision, &err) != KARS_OK) {
    PrintError("policy eval", err);
    return kExitUsage;
  }
  if (kars_policy_engine_decide_json(decision, engine, request->data(), request->size(),
                                     args.explain ? KARS_POLICY_EXPLAIN : 0, &err) != KARS_OK) {
    // A malformed request is refused: report it as a deny the way a host would see it.
    std::string context = "policy eval: " + args.request;
    PrintError(context.c_str(), err);
    rc = kExitInvalid;
  }
  if (kars_policy_decision_to_json(&json, decision, &err) != KARS_OK) {
    PrintError("policy eval", err);
    rc = kExitUsage;
  } else {
    std::printf("%s\n", reinterpret_cast<const char*>(json.data));
    if (args.explain) std::fprintf(stderr, "%s", kars_policy_decision_explanation(decision));
  }
  kars_buf_dispose(&json);
  kars_policy_decision_free(decision);
  return rc;
}

int Test(const Args& args, kars_policy_engine* engine) {
  auto cases = ReadFile(args.cases);
  if (!cases) return kExitUsage;
  kars_error* err = nullptr;
  kars_buf report = {nullptr, 0};
  size_t failed = 0;
  if (kars_policy_engine_test(&report, &failed, engine, args.cases.c_str(),
                              reinterpret_cast<const uint8_t*>(cases->data()), cases->size(),
                              &err) != KARS_OK) {
    return LoadFailure("policy test", err);
  }
  std::printf("%s", reinterpret_cast<const char*>(report.data));
  kars_buf_dispose(&report);
  return failed == 0 ? kExitOk : kExitInvalid;
}

// Prints the scan result; exit 1 when the text must be denied, 0 otherwise.
int Scan(const Args& args, kars_policy_engine* engine) {
  auto text = ReadInput(args.text);
  if (!text) return kExitUsage;
  std::optional<std::string> annotations = std::string();
  if (!args.annotations.empty()) annotations = ReadFile(args.annotations);
  if (!annotations) return kExitUsage;
  kars_error* err = nullptr;
  kars_buf json = {nullptr, 0};
  if (kars_policy_engine_scan(&json, engine, text->data(), text->size(), annotations->data(),
                              annotations->size(), &err) != KARS_OK) {
    return LoadFailure("policy scan", err);
  }
  const char* out = reinterpret_cast<const char*>(json.data);
  std::printf("%s\n", out);
  bool deny = std::strstr(out, "\"action\":\"deny\"") != nullptr;
  kars_buf_dispose(&json);
  return deny ? kExitInvalid : kExitOk;
}

int PolicyMain(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "help") == 0) {
    std::fprintf(argc < 2 ? stderr : stdout, "%s", kUsage);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  Args args;
  std::string command = argv[1];
  if (!ParseArgs(argc, argv, &args)) {
    std::fprintf(stderr, "%s", kUsage);
    return kExitUsage;
  }
  if (command == "check") return Check(args);
  if (command == "eval") {
    if (args.request.empty()) {
      std::fprintf(stderr, "kars policy eval: --request REQUEST.json is required\n%s", kUsage);
      return kExitUsage;
    }
    return WithEngine(args, Eval);
  }
  if (command == "test") {
    if (args.cases.empty()) {
      std::fprintf(stderr, "kars policy test: --cases CASES.yaml is required\n%s", kUsage);
      return kExitUsage;
    }
    return WithEngine(args, Test);
  }
  if (command == "scan") {
    if (args.text.empty()) {
      std::fprintf(stderr, "kars policy scan: --text TEXT is required\n%s", kUsage);
      return kExitUsage;
    }
    return WithEngine(args, Scan);
  }
  std::fprintf(stderr, "kars policy: unknown command '%s'\n%s", command.c_str(), kUsage);
  return kExitUsage;
}

}  // namespace
}  // namespace kars::cli

KARS_CLI_GROUP(kPolicyGroup, "policy", "check, evaluate and test policy files", kars::cli::PolicyMain);
