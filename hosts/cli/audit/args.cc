#include "hosts/cli/audit/args.h"

#include <cstdio>

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
