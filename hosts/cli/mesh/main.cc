// `kars-mesh COMMAND ...`: the mesh command group as a program of its own (see CMakeLists.txt).
#include <cstdio>
#include <cstring>

#include "hosts/cli/registry.h"

int main(int argc, char** argv) {
  for (const auto& group : kars::cli::Groups()) {
    // argv[0] stands in for the group name, as `kars mesh` would pass it.
    if (std::strcmp(group.name, "mesh") == 0) return group.run(argc, argv);
  }
  std::fprintf(stderr, "kars-mesh: built without the mesh command group\n");
  return kars::cli::kExitUsage;
}
