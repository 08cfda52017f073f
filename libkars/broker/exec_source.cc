// A value printed by a command (an exec credential plugin): stdout is JSON
// {"value": "...", "expires_at": ...}. Any vendor's token exchange plugs in as a program. The
// plugin's stdout and stderr never reach an error message: either may hold the secret.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libkars/base/secure_zero.h"
#include "libkars/base/status.h"
#include "libkars/broker/source.h"
#include "yaml-cpp/yaml.h"

extern char** environ;

namespace kars::broker {
namespace {

constexpr std::size_t kMaxOutput = 64 * 1024;

class ExecSource final : public Source {
 public:
  explicit ExecSource(ExecSourceOptions o) : o_(std::move(o)) {}
  const char* kind() const override { return "exec"; }
  absl::StatusOr<Token> Fetch() override;

 private:
  ExecSourceOptions o_;
};

absl::StatusOr<Token> ExecSource::Fetch() {
  if (o_.argv.empty()) return absl::InvalidArgumentError("exec source: empty command");
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return ErrnoError("exec source: pipe", errno);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> argv;
  for (auto& a : o_.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    return ErrnoError(absl::StrCat("exec source: cannot start ", o_.argv[0]), rc);
  }
  std::string output;
  const absl::Time deadline = absl::Now() + o_.timeout;
  bool timed_out = false, too_long = false;
  char buf[4096];
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      timed_out = true;
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::ceil(absl::ToDoubleMilliseconds(left))));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;  // the loop re-checks the deadline
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
    if (output.size() > kMaxOutput) {
      too_long = true;
      break;
    }
  }
  SecureZero(buf, sizeof buf);
  close(out[0]);
  if (timed_out || too_long) kill(pid, SIGKILL);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  const std::string& cmd = o_.argv[0];
  if (timed_out) {
    SecureZero(output);
    return MakeStatus(KARS_E_UNAVAILABLE,
                      absl::StrCat("exec source: ", cmd, " timed out after ",
                                   absl::FormatDuration(o_.timeout)));
  }
  if (too_long) {
    SecureZero(output);
    return MakeStatus(KARS_E_INVALID_ARGUMENT,
                      absl::StrCat("exec source: ", cmd, " printed more than 64 KiB"));
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    SecureZero(output);
    const std::string how = WIFEXITED(wstatus)
                                ? absl::StrCat("exited with status ", WEXITSTATUS(wstatus))
                                : absl::StrCat("was killed by signal ", WTERMSIG(wstatus));
    return MakeStatus(KARS_E_UNAVAILABLE, absl::StrCat("exec source: ", cmd, " ", how));
  }
  auto token = ParsePluginOutput(output);
  SecureZero(output);
  if (!token.ok()) {
    return MakeStatus(ToCStatus(token.status()),
                      absl::StrCat("exec source: ", cmd, ": ", token.status().message()));
  }
  return token;
}

}  // namespace

absl::StatusOr<Token> ParsePluginOutput(std::string& output) {
  YAML::Node root;
  try {
    root = YAML::Load(output);
  } catch (const YAML::Exception&) {
    // The parser's message quotes the input; it may be the secret.
    return absl::InvalidArgumentError("output is not valid JSON");
  }
  if (!root.IsMap()) return absl::InvalidArgumentError("output is not a JSON object");
  const YAML::Node value = root["value"];
  if (!value || !value.IsScalar() || value.Scalar().empty()) {
    return absl::InvalidArgumentError("output has no non-empty string \"value\"");
  }
  Token token;
  auto secret = Secret::Create(value.Scalar());
  SecureZero(const_cast<std::string&>(value.Scalar()));
  if (!secret.ok()) return secret.status();
  token.value = *std::move(secret);
  const YAML::Node expires = root["expires_at"];
  if (expires && !expires.IsNull()) {
    if (!expires.IsScalar()) return absl::InvalidArgumentError("\"expires_at\" is not a scalar");
    const std::string& text = expires.Scalar();
    double seconds = 0;
    absl::Time t;
    std::string why;
    if (absl::SimpleAtod(text, &seconds)) {
      if (!(seconds >= 0 && seconds < 1e11)) {
        return absl::InvalidArgumentError("\"expires_at\" is out of range");
      }
      token.expires_at = absl::FromUnixMicros(static_cast<int64_t>(seconds * 1e6));
    } else if (absl::ParseTime(absl::RFC3339_full, text, &t, &why)) {
      token.expires_at = t;
    } else {
      return absl::InvalidArgumentError(
          "\"expires_at\" is neither an RFC 3339 time nor Unix seconds");
    }
  }
  return token;
}

std::unique_ptr<Source> NewExecSource(ExecSourceOptions options) {
  return std::make_unique<ExecSource>(std::move(options));
}

}  // namespace kars::broker
