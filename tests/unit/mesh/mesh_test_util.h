// Shared helpers for mesh unit tests: agents on a loopback hub, collecting their events.
#ifndef KARS_TESTS_UNIT_MESH_MESH_TEST_UTIL_H_
#define KARS_TESTS_UNIT_MESH_MESH_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "libkars/mesh/agent.h"
#include "libkars/mesh/loopback.h"

namespace kars::mesh::testing {

namespace pb = kars::v1::mesh;

inline std::string TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kars-mesh-agent-XXXXXX").string();
  return mkdtemp(tmpl.data());
}

inline std::unique_ptr<Agent> MakeAgent(LoopbackHub& hub, const std::string& name,
                                        const std::string& dir = "",
                                        AgentOptions options = AgentOptions()) {
  auto agent = Agent::Open(dir, name, options);
  EXPECT_TRUE(agent.ok()) << agent.status();
  if (!agent.ok()) return nullptr;
  absl::Status s = (*agent)->Attach(hub.Connect(name));
  EXPECT_TRUE(s.ok()) << s;
  return std::move(*agent);
}

inline std::vector<pb::AgentEvent> Events(Agent& agent) {
  std::vector<pb::AgentEvent> out;
  auto n = agent.Receive(absl::ZeroDuration(), [&](const pb::AgentEvent& ev) {
    out.push_back(ev);
    return 0;
  });
  EXPECT_TRUE(n.ok()) << n.status();
  return out;
}

inline std::vector<std::string> Bodies(const std::vector<pb::AgentEvent>& events) {
  std::vector<std::string> out;
  for (const auto& ev : events) {
    if (ev.kind() == pb::AgentEvent::KIND_MESSAGE) out.push_back(ev.body());
  }
  return out;
}

}  // namespace kars::mesh::testing

#endif  // KARS_TESTS_UNIT_MESH_MESH_TEST_UTIL_H_
