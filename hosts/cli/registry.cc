#include "hosts/cli/registry.h"

namespace kars::cli {
namespace {

std::vector<Group>& Mutable() {
  static std::vector<Group> groups;
  return groups;
}

}  // namespace

bool RegisterGroup(const Group& group) {
  Mutable().push_back(group);
  return true;
}

const std::vector<Group>& Groups() { return Mutable(); }

}  // namespace kars::cli
