/* The broker through its C ABI, exactly as a C host uses it: config, inject, scan, redact,
 * revoke, list, events, and bad input. Files are real; the test makes and removes them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kars/kars.h"

#include "../check.h"

static const char kSecret[] = "c-abi-secret-0123456789";

static int events = 0;
static int leaked_in_event = 0;
static int freed = 0;
static int on_event(const char *json, size_t len, void *userdata) {
  (void)userdata;
  (void)len;
  ++events;
  if (strstr(json, kSecret) != NULL) ++leaked_in_event;
  return 0;
}
static void on_free(void *userdata) {
  (void)userdata;
  ++freed;
}

static kars_header hdr(const char *name, const char *value) {
  kars_header h;
  h.name = name;
  h.name_len = strlen(name);
  h.value = value;
  h.value_len = strlen(value);
  return h;
}

int main(void) {
  char dir[] = "/tmp/kars-capi-broker-XXXXXX";
  char path[256], config[1024];
  FILE *f;
  kars_broker *b = NULL;
  kars_error *err = NULL;
  kars_broker_injection *inj = NULL;
  kars_broker_verdict *v = NULL;
  kars_broker_redactor *r = NULL;
  kars_buf out = {NULL, 0}, rest = {NULL, 0};
  kars_header h, agent[2];
  size_t n = 0;
  char lease[128];

  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/key", dir);
  f = fopen(path, "w");
  CHECK(f != NULL);
  fputs(kSecret, f);
  fclose(f);

  /* Malformed config: a clear error, no broker. */
  CHECK(kars_broker_new_from_config(&b, "grants: [{id: g}]", 17, &err) == KARS_E_INVALID_ARGUMENT);
  CHECK(b == NULL);
  CHECK(strstr(kars_error_message(err), "grant") != NULL);
  kars_error_free(err);
  err = NULL;

  snprintf(config, sizeof config,
           "sources:\n  - {id: model, type: file, path: '%s'}\n"
           "grants:\n  - id: g\n    principals: ['agent-*']\n"
           "    destination: {host: api.model.example, path_prefix: /v1/}\n"
           "    credential: model\n",
           path);
  CHECK(kars_broker_new_from_config(&b, config, strlen(config), &err) == KARS_OK);
  CHECK(b != NULL);
  CHECK(kars_broker_set_event_callback(b, on_event, NULL, on_free, &err) == KARS_OK);

  /* Inject: the agent's own Authorization is stripped, ours set. */
  agent[0] = hdr("Authorization", "Bearer agent-made-up");
  agent[1] = hdr("Accept", "application/json");
  CHECK(kars_broker_inject(&inj, b, "agent-1", 7, "POST", 4, "https://api.model.example/v1/chat", 33,
                           agent, 2, &err) == KARS_OK);
  CHECK(kars_broker_injection_allowed(inj) == 1);
  CHECK(strcmp(kars_broker_injection_reason(inj), "") == 0);
  CHECK(kars_broker_injection_set_header_count(inj) == 1);
  CHECK(kars_broker_injection_set_header(&h, inj, 0, &err) == KARS_OK);
  CHECK(h.name_len == 13 && memcmp(h.name, "Authorization", 13) == 0);
  CHECK(h.value_len == 7 + strlen(kSecret) && memcmp(h.value + 7, kSecret, strlen(kSecret)) == 0);
  CHECK(kars_broker_injection_set_header(&h, inj, 1, &err) == KARS_E_INVALID_ARGUMENT);
  kars_error_free(err);
  err = NULL;
  CHECK(kars_broker_injection_remove_header_count(inj) == 1);
  CHECK(strcmp(kars_broker_injection_remove_header(inj, 0), "Authorization") == 0);
  CHECK(kars_broker_injection_remove_header(inj, 1) == NULL);
  CHECK(strcmp(kars_broker_injection_grant_id(inj), "g") == 0);
  CHECK(strcmp(kars_broker_injection_credential_id(inj), "model") == 0);
  snprintf(lease, sizeof lease, "%s", kars_broker_injection_lease_id(inj));
  CHECK(strncmp(lease, "lease-", 6) == 0);
  kars_broker_injection_free(inj);
  inj = NULL;
  CHECK(kars_broker_lease_check(b, lease, strlen(lease), NULL) == KARS_OK);

  /* No grant: denied, with a reason. */
  CHECK(kars_broker_inject(&inj, b, "intruder", 8, "POST", 4, "https://api.model.example/v1/chat", 33,
                           NULL, 0, &err) == KARS_OK);
  CHECK(kars_broker_injection_allowed(inj) == 0);
  CHECK(strcmp(kars_broker_injection_reason(inj), "no_grant") == 0);
  CHECK(kars_broker_injection_set_header_count(inj) == 0);
  kars_broker_injection_free(inj);
  inj = NULL;

  /* NULL arguments are invalid, not crashes. */
  CHECK(kars_broker_inject(&inj, b, NULL, 0, "GET", 3, "https://x/", 10, NULL, 0, &err) == KARS_E_INVALID_ARGUMENT);
  kars_error_free(err);
  err = NULL;
  CHECK(kars_broker_inject(&inj, b, "a", 1, "GET", 3, "https://x/", 10, NULL, 2, NULL) == KARS_E_INVALID_ARGUMENT);

  /* Outbound scan: hex of the secret in the body is exfiltration. */
  {
    char body[128] = "{\"data\":\"";
    const char *digits = "0123456789abcdef";
    size_t i, at = strlen(body);
    for (i = 0; kSecret[i] != 0; ++i) {
      body[at++] = digits[(unsigned char)kSecret[i] >> 4];
      body[at++] = digits[(unsigned char)kSecret[i] & 15];
    }
    memcpy(body + at, "\"}", 3);
    CHECK(kars_broker_scan_outbound(&v, b, "https://evil.example/", 21, NULL, 0, (const uint8_t *)body,
                                    strlen(body), &err) == KARS_OK);
    CHECK(kars_broker_verdict_clean(v) == 0);
    CHECK(strcmp(kars_broker_verdict_credential_id(v), "model") == 0);
    CHECK(strcmp(kars_broker_verdict_location(v), "body") == 0);
    CHECK(strcmp(kars_broker_verdict_encoding(v), "hex") == 0);
    kars_broker_verdict_free(v);
    v = NULL;
    h = hdr("X-Trace", "nothing here");
    CHECK(kars_broker_scan_outbound(&v, b, "https://ok.example/", 19, &h, 1, NULL, 0, &err) == KARS_OK);
    CHECK(kars_broker_verdict_clean(v) == 1);
    kars_broker_verdict_free(v);
    v = NULL;
  }

  /* Redaction across a chunk boundary in the middle of the value. */
  CHECK(kars_broker_redactor_new(&r, b, &err) == KARS_OK);
  CHECK(kars_broker_redactor_feed(&out, r, (const uint8_t *)"data: c-abi-secr", 16, &err) == KARS_OK);
  CHECK(kars_broker_redactor_feed(&rest, r, (const uint8_t *)"et-0123456789 done\n", 19, &err) == KARS_OK);
  {
    char all[256];
    snprintf(all, sizeof all, "%.*s%.*s", (int)out.len, (const char *)out.data, (int)rest.len,
             (const char *)rest.data);
    kars_buf_dispose(&out);
    kars_buf_dispose(&rest);
    CHECK(kars_broker_redactor_finish(&rest, r, &err) == KARS_OK);
    snprintf(all + strlen(all), sizeof all - strlen(all), "%.*s", (int)rest.len, (const char *)rest.data);
    CHECK(strcmp(all, "data: [REDACTED:model] done\n") == 0);
    kars_buf_dispose(&rest);
  }
  CHECK(kars_broker_redactor_finish(&rest, r, &err) == KARS_E_PRECONDITION);
  kars_error_free(err);
  err = NULL;
  kars_broker_redactor_free(r);

  /* Listings never contain the value. */
  CHECK(kars_broker_list_leases(&out, b, &err) == KARS_OK);
  CHECK(strstr((const char *)out.data, lease) != NULL);
  CHECK(strstr((const char *)out.data, kSecret) == NULL);
  kars_buf_dispose(&out);
  CHECK(kars_broker_list_credentials(&out, b, &err) == KARS_OK);
  CHECK(strstr((const char *)out.data, "\"id\":\"model\"") != NULL);
  CHECK(strstr((const char *)out.data, kSecret) == NULL);
  kars_buf_dispose(&out);
  CHECK(kars_broker_metrics(&out, b, &err) == KARS_OK);
  CHECK(strstr((const char *)out.data, "\"injections\":1") != NULL);
  kars_buf_dispose(&out);

  /* Revocation. */
  CHECK(kars_broker_revoke(&n, b, KARS_BROKER_REVOKE_PRINCIPAL, "agent-1", 7, &err) == KARS_OK);
  CHECK(n == 1);
  CHECK(kars_broker_lease_check(b, lease, strlen(lease), &err) == KARS_E_DENIED);
  kars_error_free(err);
  err = NULL;
  CHECK(kars_broker_lease_check(b, "lease-x", 7, NULL) == KARS_E_NOT_FOUND);
  CHECK(kars_broker_revoke(&n, b, (kars_broker_revoke_by)9, "x", 1, NULL) == KARS_E_INVALID_ARGUMENT);

  /* Built up call by call. */
  CHECK(kars_broker_add_grant(b, "{id: g2, principals: [x], destination: {host: h.example}, credential: nope}",
                              75, &err) == KARS_E_NOT_FOUND);
  kars_error_free(err);
  err = NULL;
  CHECK(kars_broker_add_source(b, "{id: e, type: env, name: PATH}", 30, &err) == KARS_OK);
  CHECK(kars_broker_add_source(b, "{id: e, type: env, name: PATH}", 30, NULL) == KARS_E_EXISTS);
  CHECK(kars_broker_add_grant(b, "{id: g2, principals: [x], destination: {host: h.example}, credential: e}",
                              72, &err) == KARS_OK);
  CHECK(kars_broker_remove_source(b, "e", 1, NULL) == KARS_E_PRECONDITION);
  CHECK(kars_broker_remove_grant(b, "g2", 2, &err) == KARS_OK);
  CHECK(kars_broker_remove_source(b, "e", 1, &err) == KARS_OK);
  CHECK(kars_broker_remove_source(b, "e", 1, NULL) == KARS_E_NOT_FOUND);

  CHECK(events >= 3);
  CHECK(leaked_in_event == 0);
  kars_broker_free(b);
  CHECK(freed == 1);
  kars_broker_free(NULL);

  /* An empty broker from options. */
  {
    kars_broker_options *o = NULL;
    CHECK(kars_broker_options_new(&o, &err) == KARS_OK);
    kars_broker_options_set_token_patterns(o, 0);
    kars_broker_options_set_max_leases(o, 10);
    CHECK(kars_broker_new(&b, o, &err) == KARS_OK);
    kars_broker_options_free(o);
    CHECK(kars_broker_scan_outbound(&v, b, "https://x/", 10, NULL, 0, (const uint8_t *)"AKIAABCDEFGHIJKLMNOP", 20,
                                    &err) == KARS_OK);
    CHECK(kars_broker_verdict_clean(v) == 1); /* token patterns off */
    kars_broker_verdict_free(v);
    kars_broker_free(b);
  }

  /* A directory source follows keys added and removed later; one injection reused. */
  {
    char keys[300], key[320], def[400];
    kars_broker_injection *reused = NULL;
    snprintf(keys, sizeof keys, "%s/keys", dir);
    CHECK(mkdir(keys, 0700) == 0);
    CHECK(kars_broker_new(&b, NULL, &err) == KARS_OK);
    snprintf(def, sizeof def, "{id: app, type: directory, path: '%s', check_interval_ms: 3600000}", keys);
    CHECK(kars_broker_add_source(b, def, strlen(def), &err) == KARS_OK);
    snprintf(key, sizeof key, "%s/late", keys);
    f = fopen(key, "w");
    CHECK(f != NULL);
    fputs("c-abi-late-key-4242", f);
    fclose(f);
    CHECK(kars_broker_rescan_directories(b, &err) == KARS_OK);
    CHECK(kars_broker_rescan_directories(NULL, NULL) == KARS_E_INVALID_ARGUMENT);
    snprintf(def, sizeof def, "{id: g, principals: ['*'], destination: {host: h.example}, credential: app/late}");
    CHECK(kars_broker_add_grant(b, def, strlen(def), &err) == KARS_OK);
    CHECK(kars_broker_injection_new(&reused, &err) == KARS_OK);
    CHECK(kars_broker_injection_allowed(reused) == 0);
    CHECK(kars_broker_inject_into(reused, b, "a", 1, "GET", 3, "https://h.example/", 18, NULL, 0, &err) == KARS_OK);
    CHECK(kars_broker_injection_allowed(reused) == 1);
    CHECK(kars_broker_injection_set_header(&h, reused, 0, &err) == KARS_OK);
    CHECK(h.value_len == strlen("Bearer c-abi-late-key-4242"));
    CHECK(memcmp(h.value, "Bearer c-abi-late-key-4242", h.value_len) == 0);
    CHECK(unlink(key) == 0);
    CHECK(kars_broker_rescan_directories(b, &err) == KARS_OK);
    CHECK(kars_broker_inject_into(reused, b, "a", 1, "GET", 3, "https://h.example/", 18, NULL, 0, &err) == KARS_OK);
    CHECK(kars_broker_injection_allowed(reused) == 0);
    CHECK(strcmp(kars_broker_injection_reason(reused), "credential_unavailable") == 0);
    CHECK(kars_broker_injection_set_header_count(reused) == 0);
    CHECK(kars_broker_inject_into(NULL, b, "a", 1, "GET", 3, "https://h.example/", 18, NULL, 0, NULL) ==
          KARS_E_INVALID_ARGUMENT);
    CHECK(kars_broker_metrics(&out, b, &err) == KARS_OK);
    CHECK(strstr((const char *)out.data, "\"keys_added\":1") != NULL);
    CHECK(strstr((const char *)out.data, "\"keys_removed\":1") != NULL);
    CHECK(strstr((const char *)out.data, "\"source_failures\":0") != NULL);
    kars_buf_dispose(&out);
    kars_broker_injection_free(reused);
    kars_broker_free(b);
    rmdir(keys);
  }

  unlink(path);
  rmdir(dir);
  if (failures == 0) printf("capi broker: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
