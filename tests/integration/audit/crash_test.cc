// SIGKILL at random moments, 50 times, while the child appends and retains: every acknowledged
// record not dropped by retention survives, an interrupted retention is finished, the log
// verifies, and appends continue on the same log. Uses only the public C ABI and real processes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <string>

#include "kars/audit.h"

namespace {

int failures = 0;
#define CHECK(cond, ...)                                            \
  do {                                                              \
    if (!(cond)) {                                                  \
      std::fprintf(stderr, "crash test: check failed: %s: ", #cond); \
      std::fprintf(stderr, __VA_ARGS__);                            \
      std::fprintf(stderr, "\n");                                   \
      ++failures;                                                   \
    }                                                               \
  } while (0)

std::string ErrText(kars_error* err) {
  std::string s = err != nullptr ? kars_error_message(err) : "";
  kars_error_free(err);
  return s;
}

// Runs the child for about `run_ms`, then SIGKILLs it; returns the indexes it acknowledged.
std::vector<uint64_t> RunAndKill(const std::string& child, const std::string& dir,
                                 const std::string& key, int mode, int threads, int run_ms) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    const std::string m = std::to_string(mode), t = std::to_string(threads);
    execl(child.c_str(), child.c_str(), dir.c_str(), key.c_str(), m.c_str(), t.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::vector<uint64_t> acked;
  std::string buf;
  auto drain = [&](int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char chunk[4096];
    ssize_t n = read(fds[0], chunk, sizeof chunk);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
    return true;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms);
  while (std::chrono::steady_clock::now() < deadline) drain(1);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child exited early (status %d)", status);
  while (drain(0)) {
  }
  close(fds[0]);
  for (size_t i = 0; i + 8 <= buf.size(); i += 8) {
    uint64_t v;
    std::memcpy(&v, buf.data() + i, 8);
    acked.push_back(v);
  }
  return acked;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string child = argv[1];
  const char* tmp = std::getenv("TMPDIR");
  std::string base = std::string(tmp != nullptr ? tmp : "/tmp") + "/kars-crash-XXXXXX";
  if (mkdtemp(base.data()) == nullptr) return 2;
  const std::string dir = base + "/log";
  const std::string key_path = base + "/log.key";

  kars_buf priv{nullptr, 0}, pub{nullptr, 0};
  kars_error* err = nullptr;
  if (kars_audit_keygen(&priv, &pub, "kars.test/crash", 15, &err) != KARS_OK) return 2;
  {
    FILE* f = std::fopen(key_path.c_str(), "w");
    std::fwrite(priv.data, 1, priv.len, f);
    std::fclose(f);
  }
  kars_audit_options* opts = nullptr;
  kars_audit_options_new(&opts, nullptr);
  kars_audit_options_set_signing_key(opts, reinterpret_cast<char*>(priv.data), priv.len, nullptr);
  kars_audit_options_set_segment_size(opts, 64 << 10, nullptr);

  std::mt19937 rng(std::random_device{}());
  std::set<uint64_t> acked;
  uint64_t expected_size = 0;
  int torn = 0, retentions_finished = 0;
  for (int run = 0; run < 50; ++run) {
    const int mode = run % 3;  // each append, batch, interval: all promise survival of a kill
    const int threads = 1 + static_cast<int>(rng() % 4);
    const int run_ms = 20 + static_cast<int>(rng() % 180);
    for (uint64_t i : RunAndKill(child, dir, key_path, mode, threads, run_ms)) {
      CHECK(acked.insert(i).second, "index %llu acknowledged twice", static_cast<unsigned long long>(i));
    }
    kars_audit_log* log = nullptr;
    kars_status s = kars_audit_log_open(&log, dir.c_str(), opts, &err);
    if (s != KARS_OK) {
      std::fprintf(stderr, "crash test: run %d: reopen failed: %s\n", run, ErrText(err).c_str());
      ++failures;
      break;
    }
    err = nullptr;
    const std::string notes = kars_audit_log_recovery_notes(log);
    if (notes.find("torn") != std::string::npos) ++torn;
    if (notes.find("retention") != std::string::npos) ++retentions_finished;
    const uint64_t size = kars_audit_log_size(log);
    // Retention may have dropped old records; everything acknowledged from there on must stay.
    const uint64_t first = kars_audit_log_first_index(log);
    acked.erase(acked.begin(), acked.lower_bound(first));
    CHECK(size >= expected_size, "run %d: log shrank from %llu to %llu", run,
          static_cast<unsigned long long>(expected_size), static_cast<unsigned long long>(size));
    for (uint64_t i : acked) {
      if (i >= size) {
        CHECK(false, "run %d: acknowledged record %llu lost (size %llu)", run,
              static_cast<unsigned long long>(i), static_cast<unsigned long long>(size));
        break;
      }
    }
    // Spot-check acknowledged records by content: each carries its own index.
    for (int k = 0; k < 20 && !acked.empty(); ++k) {
      auto it = acked.begin();
      std::advance(it, rng() % acked.size());
      kars_buf rec{nullptr, 0}, json{nullptr, 0};
      s = kars_audit_log_read(&rec, log, *it, &err);
      CHECK(s == KARS_OK, "run %d: read %llu: %s", run, static_cast<unsigned long long>(*it),
            ErrText(err).c_str());
      err = nullptr;
      if (s == KARS_OK && kars_audit_record_to_json(&json, rec.data, rec.len, nullptr) == KARS_OK) {
        const std::string j(reinterpret_cast<char*>(json.data), json.len);
        CHECK(*it == 0 || j.find("\"sequence\":\"" + std::to_string(*it) + "\"") != std::string::npos,
              "run %d: record %llu has the wrong sequence: %s", run,
              static_cast<unsigned long long>(*it), j.c_str());
      }
      kars_buf_dispose(&rec);
      kars_buf_dispose(&json);
    }
    // Appends continue the same log.
    kars_buf rec{nullptr, 0};
    const char* j = "{\"action\":\"after.crash\"}";
    kars_audit_record_from_json(&rec, j, std::strlen(j), nullptr);
    uint64_t index = 0;
    s = kars_audit_log_append(&index, log, rec.data, rec.len, &err);
    CHECK(s == KARS_OK && index == size, "run %d: append after reopen: %s", run, ErrText(err).c_str());
    err = nullptr;
    kars_buf_dispose(&rec);
    acked.insert(index);
    expected_size = size + 1;
    kars_audit_log_free(log);

    kars_buf report{nullptr, 0};
    uint64_t bad = 0;
    s = kars_audit_verify_dir(&report, &bad, dir.c_str(), reinterpret_cast<char*>(pub.data), pub.len,
                              &err);
    CHECK(s == KARS_OK, "run %d: verify: %s", run,
          report.data ? reinterpret_cast<char*>(report.data) : ErrText(err).c_str());
    if (s != KARS_OK) kars_error_free(err);
    err = nullptr;
    kars_buf_dispose(&report);
    if (failures > 0) break;
  }
  std::printf("crash test: 50 kills, %zu kept acknowledged records all present, %d torn tails "
              "cut, %d interrupted retentions finished, final size %llu\n",
              acked.size(), torn, retentions_finished,
              static_cast<unsigned long long>(expected_size));
  kars_audit_options_free(opts);
  kars_buf_dispose(&priv);
  kars_buf_dispose(&pub);
  std::filesystem::remove_all(base);
  return failures == 0 ? 0 : 1;
}
