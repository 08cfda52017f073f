#include "hosts/cli/audit/args.h"

#include <cstdio>
#include <string>

#include "hosts/cli/registry.h"

namespace kars::cli::audit {

std::optional<std::string> Args::Value(const std::string& flag) const {
  auto it = values.find(flag);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

std::optional<Args> ParseArgs(int argc, char** argv, int first, const std::set<std::string>& valued,
                              const std::set<std::string>& bare) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      if (valued.count(arg) != 0) {
        if (i + 1 >= argc) {
          std::fprintf(stderr, "kars: %s needs a value\n", arg.c_str());
          return std::nullopt;
        }
        a.values[arg] = argv[++i];
      } else if (bare.count(arg) != 0) {
        a.switches.insert(arg);
      } else {
        std::fprintf(stderr, "kars: unknown option %s\n", arg.c_str());
        return std::nullopt;
      }
    } else {
      a.positional.push_back(arg);
    }
  }
  return a;
}

std::optional<uint64_t> ParseIndex(const std::string& text, const char* what) {
  if (text.empty() || text.size() > 20) {
    std::fprintf(stderr, "kars: %s: not a number: '%s'\n", what, text.c_str());
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || v > (UINT64_MAX - static_cast<uint64_t>(c - '0')) / 10) {
      std::fprintf(stderr, "kars: %s: not a number: '%s'\n", what, text.c_str());
      return std::nullopt;
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::optional<kars_audit_proof_format> ParseProofFormat(const std::optional<std::string>& flag,
                                                        bool allow_tlog) {
  if (!flag || *flag == "text") return KARS_AUDIT_PROOF_TEXT;
  if (*flag == "rfc6962") return KARS_AUDIT_PROOF_RFC6962;
  if (*flag == "tlog-proof" && allow_tlog) return KARS_AUDIT_PROOF_TLOG;
  std::fprintf(stderr, "kars: --format must be text, rfc6962%s, not '%s'\n",
               allow_tlog ? " or tlog-proof" : "", flag->c_str());
  return std::nullopt;
}

kars_audit_proof_format DetectProofFormat(const std::string& proof) {
  if (proof.rfind("c2sp.org/tlog-proof@v1\n", 0) == 0) return KARS_AUDIT_PROOF_TLOG;
  if (proof.rfind("kars-audit-", 0) == 0) return KARS_AUDIT_PROOF_TEXT;
  return KARS_AUDIT_PROOF_RFC6962;  // binary: concatenated 32-byte hashes
}

bool IsKeyError(kars_status status, const kars_error* err) {
  if (status != KARS_E_INVALID_ARGUMENT || err == nullptr) return false;
  const std::string message = kars_error_message(err);
  return message.find(" key") < message.find(':');
}

int ExitFor(kars_status status, bool invalid_input_is_tampering) {
  switch (status) {
    case KARS_OK:
      return kExitOk;
    case KARS_E_TAMPERED:
    case KARS_E_DENIED:
      return kExitInvalid;
    case KARS_E_INVALID_ARGUMENT:
      return invalid_input_is_tampering ? kExitInvalid : kExitUsage;
    default:
      return kExitUsage;
  }
}

}  // namespace kars::cli::audit
