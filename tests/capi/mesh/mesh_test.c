/* The mesh C ABI from C: argument checking, options, and two processes (alice here, bob in a
 * forked child with its own agent) exchanging messages through a real kars-relay started on an
 * OS-chosen loopback port. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kars/common.h>
#include <kars/mesh.h>

#include "../check.h"

static char workdir[256];
static char relay_addr[64];
static pid_t relay_pid = -1;

static void start_relay(const char *relay_bin) {
  int fds[2];
  char data_dir[300];
  FILE *out;
  char line[128];
  snprintf(data_dir, sizeof data_dir, "%s/relay", workdir);
  if (pipe(fds) != 0) exit(2);
  relay_pid = fork();
  if (relay_pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test, even when it crashes */
    dup2(fds[1], 1);
    close(fds[0]);
    execl(relay_bin, relay_bin, "--listen", "127.0.0.1:0", "--data-dir", data_dir, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  out = fdopen(fds[0], "r");
  if (out == NULL || fgets(line, sizeof line, out) == NULL ||
      sscanf(line, "listening on %63s", relay_addr) != 1) {
    fprintf(stderr, "relay did not start\n");
    kill(relay_pid, SIGKILL);
    exit(2);
  }
}

static void stop_relay(void) {
  if (relay_pid > 0) {
    kill(relay_pid, SIGTERM);
    waitpid(relay_pid, NULL, 0);
    relay_pid = -1;
  }
}

static kars_mesh_agent *open_agent(const char *name) {
  char dir[300];
  kars_mesh_agent *agent = NULL;
  kars_error *err = NULL;
  snprintf(dir, sizeof dir, "%s/%s", workdir, name);
  if (kars_mesh_agent_open(&agent, dir, name, NULL, &err) != KARS_OK) {
    fprintf(stderr, "open %s: %s\n", name, kars_error_message(err));
    kars_error_free(err);
    return NULL;
  }
  if (kars_mesh_agent_connect(agent, relay_addr, &err) != KARS_OK) {
    fprintf(stderr, "connect %s: %s\n", name, kars_error_message(err));
    kars_error_free(err);
    kars_mesh_agent_free(agent);
    return NULL;
  }
  return agent;
}

struct inbox {
  int messages;
  char last_body[256];
  char last_peer[64];
  size_t identity_key_len;
};

static int collect(const kars_mesh_event *ev, void *userdata) {
  struct inbox *in = (struct inbox *)userdata;
  size_t len = 0, id_len = 0;
  const uint8_t *body;
  if (kars_mesh_event_get_kind(ev) != KARS_MESH_EVENT_MESSAGE) return 0;
  body = kars_mesh_event_get_body(ev, &len);
  if (len >= sizeof in->last_body) len = sizeof in->last_body - 1;
  memcpy(in->last_body, body, len);
  in->last_body[len] = 0;
  snprintf(in->last_peer, sizeof in->last_peer, "%s", kars_mesh_event_get_peer(ev));
  kars_mesh_event_get_message_id(ev, &id_len);
  kars_mesh_event_get_identity_key(ev, &in->identity_key_len);
  if (id_len != 16 || kars_mesh_event_get_status(ev) != KARS_OK) return 1;
  in->messages++;
  return 0;
}

/* Receives until `want` messages arrived or about 10 s passed. */
static int receive(kars_mesh_agent *agent, struct inbox *in, int want) {
  int i;
  for (i = 0; i < 20 && in->messages < want; ++i) {
    if (kars_mesh_agent_receive(NULL, agent, 500, collect, in, NULL) != KARS_OK) return -1;
  }
  return in->messages >= want ? 0 : -1;
}

/* bob, in his own process: wait for alice's message, answer with its body reversed. */
static int run_bob(int ready_fd) {
  struct inbox in;
  kars_mesh_agent *bob = open_agent("bob");
  char reply[256];
  size_t n, i;
  memset(&in, 0, sizeof in);
  if (bob == NULL) return 3;
  if (write(ready_fd, "r", 1) != 1) return 3;
  close(ready_fd);
  if (receive(bob, &in, 1) != 0 || strcmp(in.last_peer, "alice") != 0) return 4;
  n = strlen(in.last_body);
  for (i = 0; i < n; ++i) reply[i] = in.last_body[n - 1 - i];
  reply[n] = 0;
  if (kars_mesh_agent_send(NULL, bob, "alice", (const uint8_t *)reply, n, 0, NULL) != KARS_OK) {
    return 5;
  }
  kars_mesh_agent_free(bob);
  return 0;
}

static void test_two_processes(void) {
  int fds[2];
  char ready;
  pid_t bob;
  int status = 0;
  struct inbox in;
  kars_buf id = {NULL, 0};
  kars_buf sn = {NULL, 0};
  kars_mesh_agent *alice;
  const char *text = "ping from alice";
  memset(&in, 0, sizeof in);
  if (pipe(fds) != 0) exit(2);
  bob = fork();
  if (bob == 0) {
    close(fds[0]);
    _exit(run_bob(fds[1]));
  }
  close(fds[1]);
  CHECK(read(fds[0], &ready, 1) == 1); /* bob has published his bundle */
  close(fds[0]);
  alice = open_agent("alice");
  CHECK(alice != NULL);
  if (alice == NULL) return;
  CHECK(kars_mesh_agent_send(&id, alice, "bob", (const uint8_t *)text, strlen(text), 0, NULL) ==
        KARS_OK);
  CHECK(id.len == 16);
  CHECK(receive(alice, &in, 1) == 0);
  CHECK(strcmp(in.last_body, "ecila morf gnip") == 0);
  CHECK(strcmp(in.last_peer, "bob") == 0);
  CHECK(in.identity_key_len == 33);
  waitpid(bob, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(kars_mesh_agent_safety_number(&sn, alice, "bob", 0, NULL) == KARS_OK);
  CHECK(sn.len == 60);
  kars_buf_dispose(&sn);
  kars_buf_dispose(&id);
  kars_mesh_agent_free(alice);
}

static void test_bad_arguments(void) {
  kars_mesh_agent *agent = NULL;
  kars_mesh_options *opts = NULL;
  kars_error *err = NULL;
  char dir[300];
  CHECK(kars_mesh_agent_open(NULL, "x", "x", NULL, NULL) == KARS_E_INVALID_ARGUMENT);
  CHECK(kars_mesh_agent_open(&agent, "", "x", NULL, &err) == KARS_E_INVALID_ARGUMENT);
  CHECK(strstr(kars_error_message(err), "dir") != NULL);
  kars_error_free(err);
  err = NULL;
  snprintf(dir, sizeof dir, "%s/carol", workdir);
  CHECK(kars_mesh_agent_open(&agent, dir, "bad name", NULL, &err) == KARS_E_INVALID_ARGUMENT);
  CHECK(strstr(kars_error_message(err), "agent name") != NULL);
  kars_error_free(err);
  err = NULL;
  CHECK(kars_mesh_options_new(&opts, NULL) == KARS_OK);
  CHECK(kars_mesh_options_set_trust_mode(opts, (kars_mesh_trust_mode)7, NULL) ==
        KARS_E_INVALID_ARGUMENT);
  CHECK(kars_mesh_options_set_trust_mode(opts, KARS_MESH_TRUST_ACCEPT_AND_REPORT, NULL) == KARS_OK);
  CHECK(kars_mesh_options_set_prekeys(opts, 10, 20, NULL) == KARS_E_INVALID_ARGUMENT);
  CHECK(kars_mesh_options_set_prekeys(opts, 20, 10, NULL) == KARS_OK);
  CHECK(kars_mesh_options_set_signed_prekey_rotation(opts, -1, 0, NULL) == KARS_E_INVALID_ARGUMENT);
  CHECK(kars_mesh_options_set_relay_timeout_ms(opts, 0, NULL) == KARS_E_INVALID_ARGUMENT);
  CHECK(kars_mesh_options_set_relay_timeout_ms(opts, 2000, NULL) == KARS_OK);
  CHECK(kars_mesh_agent_open(&agent, dir, "carol", opts, NULL) == KARS_OK);
  /* Not connected yet: sending is a precondition failure, not a crash. */
  CHECK(kars_mesh_agent_send(NULL, agent, "bob", (const uint8_t *)"x", 1, 0, &err) ==
        KARS_E_PRECONDITION);
  kars_error_free(err);
  CHECK(kars_mesh_agent_send(NULL, agent, NULL, NULL, 0, 0, NULL) == KARS_E_INVALID_ARGUMENT);
  CHECK(kars_mesh_agent_receive(NULL, agent, 0, NULL, NULL, NULL) == KARS_E_INVALID_ARGUMENT);
  CHECK(kars_mesh_agent_approve_identity(agent, "bob", NULL) == KARS_E_NOT_FOUND);
  /* A second handle on the same directory is refused while the first is open. */
  {
    kars_mesh_agent *second = NULL;
    CHECK(kars_mesh_agent_open(&second, dir, "carol", NULL, NULL) == KARS_E_PRECONDITION);
    CHECK(second == NULL);
  }
  kars_mesh_agent_free(agent);
  kars_mesh_options_free(opts);
  kars_mesh_agent_free(NULL);
  kars_mesh_options_free(NULL);
}

int main(int argc, char **argv) {
  char cmd[300];
  if (argc != 2) {
    fprintf(stderr, "usage: capi_mesh_test KARS_RELAY\n");
    return 2;
  }
  snprintf(workdir, sizeof workdir, "%s/kars-capi-mesh-XXXXXX",
           getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
  if (mkdtemp(workdir) == NULL) return 2;
  start_relay(argv[1]);
  test_bad_arguments();
  test_two_processes();
  stop_relay();
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", workdir);
  if (failures == 0) printf("capi.mesh: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
