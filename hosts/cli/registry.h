// Command groups of the `kars` CLI (`kars audit ...`, `kars policy ...`). A group registers
// itself at static-initialisation time, so adding one touches no shared file.
#ifndef KARS_HOSTS_CLI_REGISTRY_H_
#define KARS_HOSTS_CLI_REGISTRY_H_

#include <vector>

namespace kars::cli {

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalid = 1;  // verification failed: tampered, invalid, policy test failed
inline constexpr int kExitUsage = 2;    // usage or I/O error

// argv[0] is the group name; argv[1..] its arguments.
using GroupMain = int (*)(int argc, char** argv);

struct Group {
  const char* name;
  const char* summary;
  GroupMain run;
};

bool RegisterGroup(const Group& group);
const std::vector<Group>& Groups();

}  // namespace kars::cli

#define KARS_CLI_GROUP(ident, name, summary, fn) \
  [[maybe_unused]] static const bool ident = ::kars::cli::RegisterGroup({name, summary, fn})

#endif  // KARS_HOSTS_CLI_REGISTRY_H_
