// Starts a real kars-relay on an OS-chosen loopback port for a test, and always stops it. The
// data directory outlives restarts (Stop + Start) and is removed with the object.
#ifndef KARS_TESTS_INTEGRATION_MESH_RELAY_PROCESS_H_
#define KARS_TESTS_INTEGRATION_MESH_RELAY_PROCESS_H_

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace kars::mesh::testing {

class RelayProcess {
 public:
  explicit RelayProcess(std::vector<std::string> extra = {}) : extra_(std::move(extra)) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kars-relay-test-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    Start();
  }
  ~RelayProcess() {
    Stop(SIGKILL);
    std::filesystem::remove_all(dir_);
  }

  // Starts the relay (again) on the same data directory; address() is empty when it failed.
  // `port` 0 lets the OS choose; a restart may ask for the previous port.
  void Start(int port = 0) {
    address_.clear();
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test, even when it crashes
      dup2(fds[1], 1);
      close(fds[0]);
      std::vector<std::string> args = {KARS_RELAY_BIN, "--listen",
                                       "127.0.0.1:" + std::to_string(port), "--data-dir",
                                       dir_ + "/data"};
      args.insert(args.end(), extra_.begin(), extra_.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    FILE* out = fdopen(fds[0], "r");
    char line[128] = {};
    if (out != nullptr && fgets(line, sizeof line, out) != nullptr) {
      std::string s(line);
      if (s.rfind("listening on ", 0) == 0) address_ = s.substr(13, s.find('\n') - 13);
    }
    if (out != nullptr) fclose(out);
  }

  // Sends `sig` and waits for the process; returns its wait status (-1 when none was running).
  int Stop(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }
  int port() const { return std::stoi(address_.substr(address_.rfind(':') + 1)); }
  std::string dir() const { return dir_; }
  std::string db_path() const { return dir_ + "/data/relay.db"; }

 private:
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
  std::string dir_;
  std::string address_;
};

}  // namespace kars::mesh::testing

#endif  // KARS_TESTS_INTEGRATION_MESH_RELAY_PROCESS_H_
