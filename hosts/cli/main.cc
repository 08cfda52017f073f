// `kars`: the command line over libkars. Dispatches to the registered command groups.
#include <cstdio>
#include <cstring>

#include "hosts/cli/registry.h"
#include "kars/common.h"

namespace {

void Usage(FILE* out) {
  std::fprintf(out, "usage: kars <group> <command> [args...]\n       kars --version\n\ngroups:\n");
  for (const auto& group : kars::cli::Groups()) {
    std::fprintf(out, "  %-8s %s\n", group.name, group.summary);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage(stderr);
    return kars::cli::kExitUsage;
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    std::printf("kars %s\n", kars_version_string());
    return kars::cli::kExitOk;
  }
  if (std::strcmp(argv[1], "help") == 0 || std::strcmp(argv[1], "--help") == 0) {
    Usage(stdout);
    return kars::cli::kExitOk;
  }
  for (const auto& group : kars::cli::Groups()) {
    if (std::strcmp(argv[1], group.name) == 0) return group.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "kars: unknown command group '%s'\n", argv[1]);
  Usage(stderr);
  return kars::cli::kExitUsage;
}
