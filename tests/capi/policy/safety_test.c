/* Content-safety floors applied by decisions, through the C ABI: builder content and
 * annotations, redaction, missing annotations, and the JSON form. */
#include <stdio.h>
#include <string.h>

#include <kars/kars.h>

#include "../check.h"

static const char *kPolicy =
    "apiVersion: kars.dev/v1\n"
    "kind: Policy\n"
    "metadata: {name: safety}\n"
    "spec:\n"
    "  rules:\n"
    "    - {id: tools, effect: allow, tool: {}}\n"
    "  safety:\n"
    "    floors:\n"
    "      - {category: pii, severity: medium, action: redact}\n"
    "      - {category: violence, severity: high, action: deny, requireAnnotation: true}\n";

static void set_text(kars_policy_request *r, const char *text) {
  CHECK(kars_policy_request_set_string(r, KARS_POLICY_FIELD_CONTENT_TEXT, text, strlen(text), NULL) == KARS_OK);
}

int main(void) {
  kars_policy_engine *engine = NULL;
  kars_policy_sources *sources = NULL;
  kars_policy_request *r = NULL;
  kars_policy_decision *d = NULL;
  kars_error *err = NULL;
  kars_buf json = {NULL, 0};
  CHECK(kars_policy_engine_new(&engine, NULL, &err) == KARS_OK);
  CHECK(kars_policy_sources_new(&sources, &err) == KARS_OK);
  CHECK(kars_policy_sources_add_bytes(sources, "s.yaml", (const uint8_t *)kPolicy, strlen(kPolicy), &err) == KARS_OK);
  CHECK(kars_policy_engine_load(engine, sources, &err) == KARS_OK);
  kars_policy_sources_free(sources);
  CHECK(kars_policy_decision_new(&d, &err) == KARS_OK);
  CHECK(kars_policy_request_new(&r, KARS_POLICY_KIND_TOOL, &err) == KARS_OK);
  CHECK(kars_policy_request_set_string(r, KARS_POLICY_FIELD_AGENT, "a", 1, &err) == KARS_OK);
  CHECK(kars_policy_request_set_string(r, KARS_POLICY_FIELD_TOOL_NAME, "send", 4, &err) == KARS_OK);
  set_text(r, "write to bob@example.com");

  /* No violence annotation: the floor requires one. */
  CHECK(kars_policy_engine_decide(d, engine, r, 0, &err) == KARS_OK);
  CHECK(kars_policy_decision_effect(d) == KARS_POLICY_DENY);
  CHECK(strcmp(kars_policy_decision_reason(d), "safety.annotation_missing") == 0);

  CHECK(kars_policy_request_add_annotation(r, "violence", 8, "gore", 4, &err) == KARS_E_INVALID_ARGUMENT);
  CHECK(strstr(kars_error_message(err), "gore") != NULL);
  kars_error_free(err);
  err = NULL;
  CHECK(kars_policy_request_add_annotation(r, "weather", 7, "low", 3, NULL) == KARS_E_INVALID_ARGUMENT);
  CHECK(kars_policy_request_add_annotation(r, "violence", 8, "low", 3, &err) == KARS_OK);
  CHECK(kars_policy_engine_decide(d, engine, r, 0, &err) == KARS_OK);
  CHECK(kars_policy_decision_effect(d) == KARS_POLICY_AUDIT);
  CHECK(strcmp(kars_policy_decision_reason(d), "safety.redact") == 0);
  CHECK(strcmp(kars_policy_decision_redacted(d), "write to [REDACTED:pii]") == 0);
  CHECK(kars_policy_decision_to_json(&json, d, &err) == KARS_OK);
  CHECK(strstr((const char *)json.data, "\"safety\":{\"action\":\"redact\"") != NULL);
  CHECK(strstr((const char *)json.data, "bob@example.com") == NULL); /* never the matched text */
  kars_buf_dispose(&json);

  CHECK(kars_policy_request_add_annotation(r, "violence", 8, "high", 4, &err) == KARS_OK);
  CHECK(kars_policy_engine_decide(d, engine, r, 0, &err) == KARS_OK);
  CHECK(strcmp(kars_policy_decision_reason(d), "safety.deny") == 0);
  CHECK(strcmp(kars_policy_decision_redacted(d), "") == 0);

  /* The same through JSON. */
  {
    const char *req = "{\"principal\":{\"agent\":\"a\"},\"tool\":{\"name\":\"send\"},"
                      "\"content\":{\"text\":\"hi\",\"annotations\":{\"severities\":{\"violence\":\"safe\"}}}}";
    CHECK(kars_policy_engine_decide_json(d, engine, req, strlen(req), 0, &err) == KARS_OK);
    CHECK(kars_policy_decision_effect(d) == KARS_POLICY_ALLOW);
  }
  CHECK(strcmp(kars_policy_decision_redacted(NULL), "") == 0);
  kars_policy_request_free(r);
  kars_policy_decision_free(d);
  kars_policy_engine_free(engine);
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  return 0;
}
