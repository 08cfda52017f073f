// Runs the broker's scenarios — successes, denials, exfiltration attempts, every source failure,
// malformed config, redaction — in a child process whose stdout, stderr and event log go to
// files, then searches every byte the child wrote for each secret value in every encoding.
// The child speaks only the C ABI, as a host does, and prints everything it is given except
// the injected header values (which exist to be sent upstream, not shown).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "kars/broker.h"
#include "libkars/broker/encodings.h"
#include "tests/unit/broker/token_server.h"

namespace {

using kars::broker::testing::TempDir;
using kars::broker::testing::TokenRequest;
using kars::broker::testing::TokenResponse;
using kars::broker::testing::TokenServer;

// Values with characters that make every encoding differ from the raw form.
const std::vector<std::string> kSecrets = {
    "file-Secret/+value=0001\"q", "env-Secret_value-0002\\x", "plugin-Secret value 0003",
    "client-Secret:0004&z", "oauth-Access.Token~0005", "workload-Subject/Token+0006"};

FILE* events_file = nullptr;

int OnEvent(const char* json, size_t len, void*) {
  fprintf(events_file, "%.*s\n", static_cast<int>(len), json);
  return 0;
}

void Print(const char* what, kars_status st, kars_error* err) {
  printf("%s: %s %s\n", what, kars_status_name(st), err != nullptr ? kars_error_message(err) : "");
  fprintf(stderr, "%s: %s\n", what, err != nullptr ? kars_error_message(err) : "ok");
  kars_error_free(err);
}

void PrintInjection(const char* what, kars_broker* b, const std::string& principal, const std::string& url,
                    const std::vector<kars_header>& headers) {
  kars_broker_injection* inj = nullptr;
  kars_error* err = nullptr;
  kars_status st = kars_broker_inject(&inj, b, principal.data(), principal.size(), "POST", 4, url.data(),
                                      url.size(), headers.data(), headers.size(), &err);
  if (st != KARS_OK) return Print(what, st, err);
  printf("%s: allowed=%d reason=%s message=%s credential=%s grant=%s lease=%s headers=%zu removes=%zu\n",
         what, kars_broker_injection_allowed(inj), kars_broker_injection_reason(inj),
         kars_broker_injection_message(inj), kars_broker_injection_credential_id(inj),
         kars_broker_injection_grant_id(inj), kars_broker_injection_lease_id(inj),
         kars_broker_injection_set_header_count(inj), kars_broker_injection_remove_header_count(inj));
  for (size_t i = 0; i < kars_broker_injection_remove_header_count(inj); ++i) {
    printf("  remove %s\n", kars_broker_injection_remove_header(inj, i));
  }
  kars_broker_injection_free(inj);
}

void PrintBuf(const char* what, kars_status st, kars_buf* buf) {
  printf("%s: %s %.*s\n", what, kars_status_name(st), static_cast<int>(buf->len),
         reinterpret_cast<const char*>(buf->data));
  kars_buf_dispose(buf);
}

// The header points into `name` and `value`: both must outlive it.
kars_header H(absl::string_view name, absl::string_view value) {
  return kars_header{name.data(), name.size(), value.data(), value.size()};
}

int Child(const std::string& dir) {
  events_file = fopen((dir + "/events.log").c_str(), "w");
  setvbuf(stdout, nullptr, _IONBF, 0);
  TempDir work;
  const std::string file_secret = work.Write("model-key", kSecrets[0]);
  setenv("KARS_LEAK_TEST_ENV", kSecrets[1].c_str(), 1);
  const std::string plugin_ok = work.Write("ok.sh", absl::StrCat("#!/bin/sh\necho '{\"value\": \"", kSecrets[2], "\"}'\n"));
  const std::string plugin_fail = work.Write("fail.sh", absl::StrCat("#!/bin/sh\necho '", kSecrets[2], "'\necho '", kSecrets[2], "' >&2\nexit 7\n"));
  const std::string plugin_garbage = work.Write("garbage.sh", absl::StrCat("#!/bin/sh\necho '{\"value\": \"", kSecrets[2], "\", \"expires_at\": \"", kSecrets[2], "\"}'\n"));
  chmod(plugin_ok.c_str(), 0700);
  chmod(plugin_fail.c_str(), 0700);
  chmod(plugin_garbage.c_str(), 0700);
  const std::string client_secret = work.Write("client-secret", kSecrets[3]);
  const std::string subject = work.Write("subject", kSecrets[5]);
  int mode = 0;
  TokenServer server([&](const TokenRequest&) {
    switch (mode) {
      case 0: return TokenResponse{200, absl::StrCat("{\"access_token\":\"", kSecrets[4], "\",\"expires_in\":600}")};
      case 1: return TokenResponse{401, absl::StrCat("{\"error\":\"invalid_client\",\"error_description\":\"", kSecrets[3], " ", kSecrets[5], "\"}")};
      default: return TokenResponse{200, absl::StrCat("not json ", kSecrets[4])};
    }
  });
  const std::string grant_tail = "    principals: ['agent-*']\n";
  auto config = absl::StrCat(
      "sources:\n",
      "  - {id: file, type: file, path: '", file_secret, "'}\n",
      "  - {id: env, type: env, name: KARS_LEAK_TEST_ENV}\n",
      "  - {id: plugin, type: exec, command: ['", plugin_ok, "']}\n",
      "  - {id: plugin-fail, type: exec, command: ['", plugin_fail, "']}\n",
      "  - {id: plugin-garbage, type: exec, command: ['", plugin_garbage, "']}\n",
      "  - {id: oauth, type: oauth_client_credentials, token_url: '", server.url(), "', ca_file: '",
      server.ca_file(), "', client_id: c, client_secret: {file: '", client_secret, "'}}\n",
      "  - {id: wi, type: oauth_token_exchange, token_url: '", server.url(), "', ca_file: '",
      server.ca_file(), "', subject_token_file: '", subject, "'}\n",
      "grants:\n");
  for (const char* id : {"file", "env", "plugin", "plugin-fail", "plugin-garbage", "oauth", "wi"}) {
    absl::StrAppend(&config, "  - id: g-", id, "\n", grant_tail, "    destination: {host: ", id,
                    ".example}\n    credential: ", id, "\n");
  }
  kars_broker* b = nullptr;
  kars_error* err = nullptr;
  kars_status st = kars_broker_new_from_config(&b, config.data(), config.size(), &err);
  Print("new_from_config", st, err);
  if (st != KARS_OK) return 3;
  kars_broker_set_event_callback(b, OnEvent, nullptr, nullptr, nullptr);

  const std::vector<kars_header> agent = {H("Authorization", "Bearer agent-own"), H("Accept", "text/plain")};
  for (const char* id : {"file", "env", "plugin", "plugin-fail", "plugin-garbage", "oauth", "wi"}) {
    PrintInjection(id, b, "agent-1", absl::StrCat("https://", id, ".example/v1/x"), agent);
  }
  mode = 1;  // token endpoint now answers 401 echoing secrets in error_description
  kars_broker_revoke(nullptr, b, KARS_BROKER_REVOKE_CREDENTIAL, "oauth", 5, nullptr);
  kars_broker_remove_grant(b, "g-oauth", 7, nullptr);
  kars_broker_remove_source(b, "oauth", 5, nullptr);
  const std::string oauth_again = absl::StrCat("{id: oauth, type: oauth_client_credentials, token_url: '", server.url(),
                                               "', ca_file: '", server.ca_file(), "', client_id: c, client_secret: {file: '",
                                               client_secret, "'}}");
  st = kars_broker_add_source(b, oauth_again.data(), oauth_again.size(), &err);
  Print("add_source", st, err);
  err = nullptr;
  const std::string g = "{id: g-oauth, principals: ['agent-*'], destination: {host: oauth.example}, credential: oauth}";
  st = kars_broker_add_grant(b, g.data(), g.size(), &err);
  Print("add_grant", st, err);
  err = nullptr;
  PrintInjection("oauth-401", b, "agent-1", "https://oauth.example/v1/x", {});
  mode = 2;
  kars_broker_remove_grant(b, "g-oauth", 7, nullptr);
  kars_broker_remove_source(b, "oauth", 5, nullptr);
  kars_broker_add_source(b, oauth_again.data(), oauth_again.size(), nullptr);
  kars_broker_add_grant(b, g.data(), g.size(), nullptr);
  PrintInjection("oauth-garbage", b, "agent-1", "https://oauth.example/v1/x", {});

  // Exfiltration attempts in every form, through inject and scan.
  for (const std::string& s : kSecrets) {
    for (auto& form : kars::broker::EncodedForms(s, 6)) {
      const std::string url = absl::StrCat("https://file.example/v1/x?q=", form.bytes);
      PrintInjection("exfil-url", b, "agent-1", url, {});
      const std::vector<kars_header> h = {H("X-Leak", form.bytes)};
      PrintInjection("exfil-header", b, "agent-1", "https://file.example/v1/x", h);
      kars_broker_verdict* v = nullptr;
      st = kars_broker_scan_outbound(&v, b, url.data(), url.size(), h.data(), h.size(),
                                     reinterpret_cast<const uint8_t*>(form.bytes.data()), form.bytes.size(), &err);
      if (st == KARS_OK) {
        printf("scan: clean=%d credential=%s location=%s encoding=%s\n", kars_broker_verdict_clean(v),
               kars_broker_verdict_credential_id(v), kars_broker_verdict_location(v), kars_broker_verdict_encoding(v));
      } else {
        Print("scan", st, err);
        err = nullptr;
      }
      kars_broker_verdict_free(v);
    }
  }
  // Redaction of a response that echoes secrets, fed in small pieces.
  kars_broker_redactor* r = nullptr;
  kars_broker_redactor_new(&r, b, nullptr);
  std::string response;
  for (const std::string& s : kSecrets) absl::StrAppend(&response, "data: {\"echo\":\"", s, "\"}\n\n");
  for (size_t i = 0; i < response.size(); i += 7) {
    kars_buf out = {nullptr, 0};
    const size_t n = std::min<size_t>(7, response.size() - i);
    kars_broker_redactor_feed(&out, r, reinterpret_cast<const uint8_t*>(response.data() + i), n, nullptr);
    printf("%.*s", static_cast<int>(out.len), reinterpret_cast<const char*>(out.data));
    kars_buf_dispose(&out);
  }
  kars_buf out = {nullptr, 0};
  kars_broker_redactor_finish(&out, r, nullptr);
  printf("%.*s\n", static_cast<int>(out.len), reinterpret_cast<const char*>(out.data));
  kars_buf_dispose(&out);
  kars_broker_redactor_free(r);

  PrintBuf("leases", kars_broker_list_leases(&out, b, nullptr), &out);
  PrintBuf("credentials", kars_broker_list_credentials(&out, b, nullptr), &out);
  PrintBuf("metrics", kars_broker_metrics(&out, b, nullptr), &out);
  kars_broker_free(b);

  // Malformed configs around secrets: an inline client secret, a bad YAML document.
  for (const std::string& bad : {absl::StrCat("sources: [{id: x, type: oauth_client_credentials, token_url: 'https://h/t', client_id: c, client_secret: '", kSecrets[3], "'}]"),
                                 absl::StrCat("sources: [{id: x, type: file, path: /nonexistent, colour: '", kSecrets[0], "'}]"),
                                 absl::StrCat("grants: [{id: g, principals: [x], destination: {host: h}, credential: c, inject: {format: '", kSecrets[0], "'}}]")}) {
    kars_broker* nb = nullptr;
    err = nullptr;
    st = kars_broker_new_from_config(&nb, bad.data(), bad.size(), &err);
    Print("bad_config", st, err);
    kars_broker_free(nb);
  }
  fclose(events_file);
  return 0;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--child") == 0) return Child(argv[2]);
  TempDir dir;
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open((dir.path() + "/stdout.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int errfd = open((dir.path() + "/stderr.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, 1);
    dup2(errfd, 2);
    execl("/proc/self/exe", argv[0], "--child", dir.path().c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  int failures = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "child failed (status %d); its stderr:\n%s\n", status, Slurp(dir.path() + "/stderr.log").c_str());
    return 1;
  }
  std::string all;
  for (const char* name : {"stdout.log", "stderr.log", "events.log"}) {
    const std::string text = Slurp(dir.path() + "/" + name);
    printf("%s: %zu bytes\n", name, text.size());
    all += text;
    all += '\n';
  }
  // The scenarios must actually have happened, or finding nothing proves nothing.
  for (const char* must : {"file: allowed=1", "env: allowed=1", "plugin: allowed=1", "oauth: allowed=1",
                           "wi: allowed=1", "plugin-fail: allowed=0", "exited with status 7",
                           "oauth-401: allowed=0", "HTTP 401 (invalid_client)", "not a JSON object",
                           "reason=credential_exfiltration", "[REDACTED:file]",
                           "[REDACTED:wi]", "[REDACTED:oauth/client_secret]", "[REDACTED:wi/subject_token]", "\"event\":\"inject\"", "must be {file: PATH}", "unknown field 'colour'"}) {
    if (all.find(must) == std::string::npos) {
      fprintf(stderr, "scenario output lacks: %s\n", must);
      ++failures;
    }
  }
  int checked = 0;
  for (const std::string& s : kSecrets) {
    for (const auto& form : kars::broker::EncodedForms(s, 6)) {
      ++checked;
      if (all.find(form.bytes) != std::string::npos) {
        fprintf(stderr, "LEAK: a %s form of secret #%zu appears in the child's output\n",
                kars::broker::EncodingName(form.encoding), &s - &kSecrets[0]);
        ++failures;
      }
    }
  }
  printf("searched %zu bytes for %d encoded forms of %zu secrets: %d failures\n", all.size(), checked,
         kSecrets.size(), failures);
  return failures == 0 ? 0 : 1;
}
