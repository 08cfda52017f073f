/* The demo host: one governed agent session, composed from libkars and libkars-mesh through
 * their C ABI only, the way the router daemon composes them for every call an agent makes.
 *
 * The agent "team-a/coder" holds no credential. For each call it makes, the host asks the policy
 * engine, lets the broker inject (or refuse) a credential, scans what leaves, redacts what comes
 * back, talks to a peer over the Signal mesh, and appends every decision to the audit log.
 *
 * Usage: agent_session WORK_DIR RELAY_ADDRESS POLICY_FILE BROKER_CONFIG AUDIT_PRIVATE_KEY SECRET_FILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kars/kars.h>
#include <kars/mesh.h>

#define AGENT "team-a.coder"
#define PEER "team-a.planner"
#define PRINCIPAL_JSON "{\"agent\":\"" AGENT "\",\"namespace\":\"team-a\"}"

typedef struct session {
  kars_policy_engine *policy;
  kars_policy_decision *decision;
  kars_broker *broker;
  kars_audit_log *audit;
} session;

static void fail(const char *what, kars_error *err) {
  fprintf(stderr, "agent_session: %s: %s (%s)\n", what, kars_error_message(err),
          kars_status_name(kars_error_code(err)));
  kars_error_free(err);
  exit(1);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *data;
  long size;
  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0) {
    fprintf(stderr, "agent_session: cannot read %s\n", path);
    exit(1);
  }
  rewind(f);
  data = malloc((size_t)size + 1);
  if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) exit(1);
  data[size] = '\0';
  fclose(f);
  if (len != NULL) *len = (size_t)size;
  return data;
}

static const char *effect_name(kars_policy_effect effect) {
  switch (effect) {
    case KARS_POLICY_ALLOW: return "allow";
    case KARS_POLICY_APPROVE: return "approve";
    case KARS_POLICY_AUDIT: return "audit";
    default: return "deny";
  }
}

/* Appends one decision to the audit log and returns its index. */
static uint64_t record(session *s, const char *subsystem, const char *action, const char *effect,
                       const char *reason, const char *rule, const char *credential) {
  char json[1024];
  kars_buf bytes = {NULL, 0};
  kars_error *err = NULL;
  uint64_t index = 0;
  snprintf(json, sizeof json,
           "{\"principal\":" PRINCIPAL_JSON ",\"subsystem\":\"%s\",\"action\":\"%s\","
           "\"effect\":\"%s\",\"reasonCode\":\"%s\",\"ruleId\":\"%s\",\"credentialId\":\"%s\"}",
           subsystem, action, effect, reason, rule, credential);
  if (kars_audit_record_from_json(&bytes, json, strlen(json), &err) != KARS_OK) fail("record", err);
  if (kars_audit_log_append(&index, s->audit, bytes.data, bytes.len, &err) != KARS_OK)
    fail("audit append", err);
  kars_buf_dispose(&bytes);
  return index;
}

/* Decides one request given as JSON, prints the decision and records it. */
static kars_policy_effect decide(session *s, const char *action, const char *request_json) {
  kars_error *err = NULL;
  kars_policy_effect effect;
  const char *rule;
  uint64_t index;
  if (kars_policy_engine_decide_json(s->decision, s->policy, request_json, strlen(request_json), 0,
                                     &err) != KARS_OK)
    fail(action, err);
  effect = kars_policy_decision_effect(s->decision);
  rule = kars_policy_decision_rule_count(s->decision) ? kars_policy_decision_rule_id(s->decision, 0)
                                                      : "";
  index = record(s, "policy", action, effect_name(effect), kars_policy_decision_reason(s->decision),
                 rule, "");
  printf("  policy  %-8s %-14s reason=%s%s%s  (audit #%llu)\n", effect_name(effect), action,
         kars_policy_decision_reason(s->decision), *rule ? " rule=" : "", rule,
         (unsigned long long)index);
  return effect;
}

static void model_call(session *s, const char *secret) {
  static const char url[] = "https://api.openai.com/v1/chat/completions";
  /* The agent tried to bring its own (guessed) key; the broker strips it. */
  kars_header agent_headers[] = {{"Authorization", 13, "Bearer guessed", 14},
                                 {"Content-Type", 12, "application/json", 16}};
  kars_broker_injection *injection = NULL;
  kars_broker_redactor *redactor = NULL;
  kars_error *err = NULL;
  kars_buf out = {NULL, 0};
  char response[256];
  size_t cut, len;
  uint64_t reservation;

  printf("\n1. model call (the agent holds no key)\n");
  if (decide(s, "model.call",
             "{\"principal\":" PRINCIPAL_JSON ",\"inference\":{\"provider\":\"openai\","
             "\"model\":\"gpt-4o-mini\",\"operation\":\"chat\",\"maxOutputTokens\":512,"
             "\"estimatedPromptTokens\":200}}") != KARS_POLICY_ALLOW)
    exit(1);
  reservation = kars_policy_decision_reservation(s->decision);
  if (kars_broker_inject(&injection, s->broker, AGENT, strlen(AGENT), "POST", 4, url,
                         sizeof url - 1, agent_headers, 2, &err) != KARS_OK)
    fail("inject", err);
  if (!kars_broker_injection_allowed(injection)) {
    fprintf(stderr, "agent_session: broker refused: %s\n", kars_broker_injection_message(injection));
    exit(1);
  }
  printf("  broker  injected %zu header(s) from credential '%s' under lease %s; removed %zu header(s) "
         "the agent supplied\n",
         kars_broker_injection_set_header_count(injection),
         kars_broker_injection_credential_id(injection), kars_broker_injection_lease_id(injection),
         kars_broker_injection_remove_header_count(injection));
  printf("  audit   #%llu records credential id '%s' (never its value)\n",
         (unsigned long long)record(s, "broker", "credential.inject", "allow", "grant.matched",
                                    kars_broker_injection_grant_id(injection),
                                    kars_broker_injection_credential_id(injection)),
         kars_broker_injection_credential_id(injection));
  kars_broker_injection_free(injection);

  /* The upstream echoes the key back, split across chunks: it never reaches the agent. */
  len = (size_t)snprintf(response, sizeof response, "data: {\"debug\":\"key=%s\"}\n\n", secret);
  cut = len / 2;
  if (kars_broker_redactor_new(&redactor, s->broker, &err) != KARS_OK) fail("redactor", err);
  printf("  broker  response to the agent: ");
  if (kars_broker_redactor_feed(&out, redactor, (const uint8_t *)response, cut, &err) != KARS_OK)
    fail("redact", err);
  fwrite(out.data, 1, out.len, stdout);
  kars_buf_dispose(&out);
  if (kars_broker_redactor_feed(&out, redactor, (const uint8_t *)response + cut, len - cut, &err) !=
      KARS_OK)
    fail("redact", err);
  fwrite(out.data, 1, out.len, stdout);
  kars_buf_dispose(&out);
  if (kars_broker_redactor_finish(&out, redactor, &err) != KARS_OK) fail("redact", err);
  fwrite(out.data, 1, out.len, stdout);
  kars_buf_dispose(&out);
  kars_broker_redactor_free(redactor);

  if (reservation == 0) {
    fprintf(stderr, "agent_session: the model call reserved no token budget\n");
    exit(1);
  }
  if (kars_policy_engine_settle(s->policy, reservation, 180, 320, &err) != KARS_OK)
    fail("settle", err);
  printf("  policy  reserved 712 tokens before the call, settled 500 after it (180 in, 320 out)\n");
}

static void tools(session *s) {
  kars_error *err = NULL;
  char retry[512], ticket[128];
  printf("\n2. tool calls\n");
  decide(s, "tool.invoke",
         "{\"principal\":" PRINCIPAL_JSON ",\"tool\":{\"name\":\"search\",\"arguments\":{\"q\":\"kars\"}}}");
  decide(s, "tool.invoke",
         "{\"principal\":" PRINCIPAL_JSON ",\"tool\":{\"name\":\"deploy\",\"arguments\":{}}}");
  if (decide(s, "tool.invoke",
             "{\"principal\":" PRINCIPAL_JSON ",\"tool\":{\"name\":\"shell\",\"arguments\":"
             "{\"cmd\":\"make test\"}}}") != KARS_POLICY_APPROVE)
    exit(1);
  snprintf(ticket, sizeof ticket, "%s", kars_policy_decision_ticket(s->decision));
  if (kars_policy_engine_approve(s->policy, ticket, "alice@team-a", "tests only", &err) != KARS_OK)
    fail("approve", err);
  printf("  human   alice@team-a approved ticket %s\n", ticket);
  record(s, "policy", "approval.grant", "allow", "approval.granted", "tools-shell-needs-approval", "");
  snprintf(retry, sizeof retry,
           "{\"principal\":" PRINCIPAL_JSON ",\"tool\":{\"name\":\"shell\",\"arguments\":"
           "{\"cmd\":\"make test\"}},\"approvalTicket\":\"%s\"}",
           ticket);
  decide(s, "tool.invoke", retry);
  printf("  (the same ticket again: an approval is single-use)\n");
  decide(s, "tool.invoke", retry);
}

static void egress(session *s, const char *secret) {
  static const char url[] = "https://api.github.com/gists";
  kars_broker_verdict *verdict = NULL;
  kars_error *err = NULL;
  char body[512];
  size_t i, n;
  printf("\n3. egress\n");
  /* An allowed host name that resolves to the cloud metadata address (DNS rebinding). */
  decide(s, "egress.connect",
         "{\"principal\":" PRINCIPAL_JSON ",\"egress\":{\"scheme\":\"https\",\"host\":"
         "\"api.github.com\",\"port\":443,\"method\":\"GET\",\"path\":\"/latest/meta-data/\","
         "\"resolvedIps\":[\"169.254.169.254\"]}}");
  if (decide(s, "egress.connect",
             "{\"principal\":" PRINCIPAL_JSON ",\"egress\":{\"scheme\":\"https\",\"host\":"
             "\"api.github.com\",\"port\":443,\"method\":\"POST\",\"path\":\"/gists\","
             "\"resolvedIps\":[\"140.82.112.6\"]}}") != KARS_POLICY_ALLOW)
    exit(1);
  /* The agent learned the key somehow and tries to smuggle it out hex-encoded. */
  n = (size_t)snprintf(body, sizeof body, "{\"files\":{\"notes.txt\":{\"content\":\"");
  for (i = 0; secret[i] != '\0' && n + 3 < sizeof body; ++i)
    n += (size_t)snprintf(body + n, sizeof body - n, "%02x", (unsigned char)secret[i]);
  n += (size_t)snprintf(body + n, sizeof body - n, "\"}}}");
  if (kars_broker_scan_outbound(&verdict, s->broker, url, sizeof url - 1, NULL, 0,
                                (const uint8_t *)body, n, &err) != KARS_OK)
    fail("scan", err);
  if (kars_broker_verdict_clean(verdict)) {
    fprintf(stderr, "agent_session: the exfiltration attempt was not caught\n");
    exit(1);
  }
  printf("  broker  deny     egress.body    reason=credential_exfiltration credential=%s in %s "
         "(%s)  (audit #%llu)\n",
         kars_broker_verdict_credential_id(verdict), kars_broker_verdict_location(verdict),
         kars_broker_verdict_encoding(verdict),
         (unsigned long long)record(s, "broker", "egress.scan", "deny", "credential_exfiltration",
                                    "", kars_broker_verdict_credential_id(verdict)));
  kars_broker_verdict_free(verdict);
}

static int print_message(const kars_mesh_event *event, void *userdata) {
  size_t len = 0;
  const uint8_t *body;
  (void)userdata;
  if (kars_mesh_event_get_kind(event) != KARS_MESH_EVENT_MESSAGE) return 0;
  body = kars_mesh_event_get_body(event, &len);
  printf("  mesh    %s decrypted from %s: \"%.*s\"\n", PEER, kars_mesh_event_get_peer(event),
         (int)len, (const char *)body);
  return 0;
}

static void mesh(session *s, const char *work, const char *relay) {
  static const char text[] = "PR 42 is ready for review";
  kars_mesh_agent *coder = NULL, *planner = NULL;
  kars_error *err = NULL;
  kars_buf safety = {NULL, 0};
  char dir[1024];
  size_t delivered = 0;
  printf("\n4. agent-to-agent message (end-to-end encrypted; the relay stores ciphertext only)\n");
  snprintf(dir, sizeof dir, "%s/mesh-coder", work);
  if (kars_mesh_agent_open(&coder, dir, AGENT, NULL, &err) != KARS_OK) fail("mesh open", err);
  snprintf(dir, sizeof dir, "%s/mesh-planner", work);
  if (kars_mesh_agent_open(&planner, dir, PEER, NULL, &err) != KARS_OK) fail("mesh open", err);
  if (kars_mesh_agent_connect(coder, relay, &err) != KARS_OK) fail("mesh connect", err);
  if (kars_mesh_agent_connect(planner, relay, &err) != KARS_OK) fail("mesh connect", err);
  if (decide(s, "mesh.send",
             "{\"principal\":" PRINCIPAL_JSON ",\"mesh\":{\"direction\":\"send\",\"peer\":\"" PEER
             "\"}}") != KARS_POLICY_ALLOW)
    exit(1);
  if (kars_mesh_agent_send(NULL, coder, PEER, (const uint8_t *)text, sizeof text - 1, 0, &err) !=
      KARS_OK)
    fail("mesh send", err);
  if (kars_mesh_agent_receive(&delivered, planner, 5000, print_message, NULL, &err) != KARS_OK)
    fail("mesh receive", err);
  if (delivered != 1) {
    fprintf(stderr, "agent_session: expected one message, got %zu\n", delivered);
    exit(1);
  }
  record(s, "mesh", "mesh.deliver", "allow", "message.delivered", "mesh-team", "");
  if (kars_mesh_agent_safety_number(&safety, coder, PEER, 0, &err) != KARS_OK)
    fail("safety number", err);
  printf("  mesh    safety number %s and %s compare out of band: %s\n", AGENT, PEER,
         (const char *)safety.data);
  kars_buf_dispose(&safety);
  kars_mesh_agent_free(coder);
  kars_mesh_agent_free(planner);
}

int main(int argc, char **argv) {
  session s = {NULL, NULL, NULL, NULL};
  kars_policy_sources *sources = NULL;
  kars_audit_options *audit_options = NULL;
  kars_error *err = NULL;
  kars_buf digest = {NULL, 0}, note = {NULL, 0};
  char audit_dir[1024], *config, *key, *secret;
  size_t key_len, secret_len;

  if (argc != 7) {
    fprintf(stderr, "usage: agent_session WORK_DIR RELAY POLICY BROKER_CONFIG AUDIT_KEY SECRET_FILE\n");
    return 2;
  }
  if (kars_version_check(KARS_VERSION_NUMBER, &err) != KARS_OK) fail("version", err);

  if (kars_policy_sources_new(&sources, &err) != KARS_OK ||
      kars_policy_sources_add_file(sources, argv[3], &err) != KARS_OK ||
      kars_policy_engine_new(&s.policy, NULL, &err) != KARS_OK ||
      kars_policy_engine_load(s.policy, sources, &err) != KARS_OK ||
      kars_policy_decision_new(&s.decision, &err) != KARS_OK ||
      kars_policy_engine_digest(&digest, s.policy, &err) != KARS_OK)
    fail("policy", err);
  kars_policy_sources_free(sources);

  config = read_file(argv[4], NULL);
  if (kars_broker_new_from_config(&s.broker, config, strlen(config), &err) != KARS_OK)
    fail("broker", err);
  free(config);

  key = read_file(argv[5], &key_len);
  snprintf(audit_dir, sizeof audit_dir, "%s/audit", argv[1]);
  if (kars_audit_options_new(&audit_options, &err) != KARS_OK ||
      kars_audit_options_set_durability(audit_options, KARS_AUDIT_SYNC_BATCH, 0, &err) != KARS_OK ||
      kars_audit_options_set_signing_key(audit_options, key, key_len, &err) != KARS_OK ||
      kars_audit_log_open(&s.audit, audit_dir, audit_options, &err) != KARS_OK)
    fail("audit", err);
  kars_audit_options_free(audit_options);
  free(key);

  secret = read_file(argv[6], &secret_len);
  while (secret_len > 0 && (secret[secret_len - 1] == '\n')) secret[--secret_len] = '\0';

  printf("agent %s: policy %.16s..., broker with 1 credential, audit log %s\n", AGENT,
         (const char *)digest.data, audit_dir);
  kars_buf_dispose(&digest);

  model_call(&s, secret);
  tools(&s);
  egress(&s, secret);
  mesh(&s, argv[1], argv[2]);

  if (kars_audit_log_checkpoint_now(&note, s.audit, &err) != KARS_OK) fail("checkpoint", err);
  printf("\n5. audit: %llu records, signed checkpoint:\n%s",
         (unsigned long long)kars_audit_log_size(s.audit), (const char *)note.data);
  kars_buf_dispose(&note);
  if (kars_audit_log_close(s.audit, &err) != KARS_OK) fail("audit close", err);

  memset(secret, 0, secret_len);
  free(secret);
  kars_audit_log_free(s.audit);
  kars_broker_free(s.broker);
  kars_policy_decision_free(s.decision);
  kars_policy_engine_free(s.policy);
  return 0;
}
