// Crash-test child: appends from several threads forever and writes each acknowledged index
// (8 bytes, native order) to stdout, a pipe, the moment its append returns, while another
// thread keeps dropping old segments (retention), so kills land inside retentions too. Killed
// by the test.
// Usage: audit_crash_child DIR PRIVATE_KEY_FILE MODE(0 each, 1 batch, 2 interval) THREADS
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kars/audit.h"

namespace {

void Die(const char* what, kars_error* err) {
  std::fprintf(stderr, "crash child: %s: %s\n", what, kars_error_message(err));
  std::_Exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  std::ifstream f(argv[2]);
  std::stringstream key;
  key << f.rdbuf();
  const std::string k = key.str();
  kars_audit_options* opts = nullptr;
  kars_error* err = nullptr;
  if (kars_audit_options_new(&opts, &err) != KARS_OK) Die("options", err);
  if (kars_audit_options_set_signing_key(opts, k.data(), k.size(), &err) != KARS_OK) Die("key", err);
  if (kars_audit_options_set_durability(opts, static_cast<kars_audit_durability>(std::atoi(argv[3])),
                                        5, &err) != KARS_OK) {
    Die("durability", err);
  }
  if (kars_audit_options_set_checkpoint_cadence(opts, 64, 20, &err) != KARS_OK) Die("cadence", err);
  if (kars_audit_options_set_segment_size(opts, 64 << 10, &err) != KARS_OK) Die("segment", err);
  kars_audit_log* log = nullptr;
  if (kars_audit_log_open(&log, argv[1], opts, &err) != KARS_OK) Die("open", err);
  const int threads = std::atoi(argv[4]);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([log, t] {
      for (unsigned n = 0;; ++n) {
        std::string json = "{\"action\":\"model.call\",\"rule_id\":\"t" + std::to_string(t) + "-" +
                           std::to_string(n) + "\",\"attributes\":{\"pad\":\"" +
                           std::string(n % 300, 'x') + "\"}}";
        kars_buf rec{nullptr, 0};
        kars_error* e = nullptr;
        if (kars_audit_record_from_json(&rec, json.data(), json.size(), &e) != KARS_OK) Die("json", e);
        uint64_t index = 0;
        if (kars_audit_log_append(&index, log, rec.data, rec.len, &e) != KARS_OK) Die("append", e);
        kars_buf_dispose(&rec);
        // One write of 8 bytes is atomic on a pipe: the parent never sees half an index.
        if (write(STDOUT_FILENO, &index, sizeof index) != sizeof index) std::_Exit(4);
      }
    });
  }
  // Keep about 600 records: with 64 KiB segments that drops a segment every few hundred appends.
  ts.emplace_back([log] {
    for (;;) {
      usleep(3000);
      const uint64_t size = kars_audit_log_size(log);
      kars_error* e = nullptr;
      if (size > 600 && kars_audit_log_retain(nullptr, log, size - 600, &e) != KARS_OK) {
        Die("retain", e);
      }
    }
  });
  for (auto& t : ts) t.join();
  return 0;
}
