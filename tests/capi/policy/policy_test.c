/* The policy C ABI through the shared library, from C. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kars/kars.h>

#include "../check.h"

static const char *kPolicy =
    "apiVersion: kars.dev/v1\n"
    "kind: Policy\n"
    "metadata: {name: capi}\n"
    "spec:\n"
    "  rules:\n"
    "    - {id: search, effect: allow, tool: {names: [search]}}\n"
    "    - {id: shell, effect: approve, tool: {names: [shell]}}\n"
    "    - {id: models, effect: allow, inference: {models: [\"gpt-*\"]}}\n"
    "  limits:\n"
    "    - {id: tokens, budget: {window: day, amount: 1000}}\n";

static kars_policy_engine *make_engine(void) {
  kars_policy_engine *engine = NULL;
  kars_policy_sources *sources = NULL;
  kars_error *err = NULL;
  CHECK(kars_policy_engine_new(&engine, NULL, &err) == KARS_OK);
  CHECK(kars_policy_sources_new(&sources, &err) == KARS_OK);
  CHECK(kars_policy_sources_add_bytes(sources, "capi.yaml", (const uint8_t *)kPolicy,
                                      strlen(kPolicy), &err) == KARS_OK);
  CHECK(kars_policy_engine_load(engine, sources, &err) == KARS_OK);
  kars_policy_sources_free(sources);
  return engine;
}

static void test_json_decisions(void) {
  kars_policy_engine *engine = make_engine();
  kars_policy_decision *d = NULL;
  kars_error *err = NULL;
  kars_buf json = {NULL, 0};
  const char *allow = "{\"principal\":{\"agent\":\"a\"},\"tool\":{\"name\":\"search\"}}";
  const char *deny = "{\"principal\":{\"agent\":\"a\"},\"tool\":{\"name\":\"rm\"}}";
  CHECK(kars_policy_decision_new(&d, &err) == KARS_OK);
  CHECK(kars_policy_engine_decide_json(d, engine, allow, strlen(allow), KARS_POLICY_EXPLAIN, &err) == KARS_OK);
  CHECK(kars_policy_decision_effect(d) == KARS_POLICY_ALLOW);
  CHECK(strcmp(kars_policy_decision_reason(d), "rule.allow") == 0);
  CHECK(kars_policy_decision_rule_count(d) == 1);
  CHECK(strcmp(kars_policy_decision_rule_id(d, 0), "search") == 0);
  CHECK(strcmp(kars_policy_decision_rule_id(d, 1), "") == 0);
  CHECK(strstr(kars_policy_decision_explanation(d), "rule 'search'") != NULL);
  CHECK(kars_policy_decision_to_json(&json, d, &err) == KARS_OK);
  CHECK(strstr((const char *)json.data, "\"effect\":\"allow\"") != NULL);
  CHECK(strstr((const char *)json.data, "\"rules\":[\"search\"]") != NULL);
  kars_buf_dispose(&json);

  CHECK(kars_policy_engine_decide_json(d, engine, deny, strlen(deny), 0, &err) == KARS_OK);
  CHECK(kars_policy_decision_effect(d) == KARS_POLICY_DENY);
  CHECK(strcmp(kars_policy_decision_reason(d), "default.deny") == 0);
  CHECK(strcmp(kars_policy_decision_explanation(d), "") == 0);

  /* Malformed requests are errors, and read as deny. */
  CHECK(kars_policy_engine_decide_json(d, engine, "{\"tool\":{\"name\":\"search\"}}", 26, 0, &err) ==
        KARS_E_INVALID_ARGUMENT);
  CHECK(err != NULL && strstr(kars_error_message(err), "principal.agent") != NULL);
  kars_error_free(err);
  err = NULL;
  CHECK(kars_policy_decision_effect(d) == KARS_POLICY_DENY);
  CHECK(kars_policy_engine_decide_json(d, engine, "{", 1, 0, NULL) == KARS_E_INVALID_ARGUMENT);
  CHECK(kars_policy_decision_effect(d) == KARS_POLICY_DENY);
  CHECK(kars_policy_engine_decide_json(d, engine, NULL, 0, 0, NULL) == KARS_E_INVALID_ARGUMENT);

  kars_policy_decision_free(d);
  kars_policy_engine_free(engine);
}

static void test_builder_and_budget(void) {
  kars_policy_engine *engine = make_engine();
  kars_policy_request *req = NULL;
  kars_policy_decision *d = NULL;
  kars_error *err = NULL;
  uint64_t reservation;
  CHECK(kars_policy_decision_new(&d, NULL) == KARS_OK);
  CHECK(kars_policy_request_new(&req, KARS_POLICY_KIND_INFERENCE, &err) == KARS_OK);
  CHECK(kars_policy_request_set_string(req, KARS_POLICY_FIELD_AGENT, "a", 1, &err) == KARS_OK);
  CHECK(kars_policy_request_set_string(req, KARS_POLICY_FIELD_MODEL, "gpt-4o", 6, &err) == KARS_OK);
  CHECK(kars_policy_request_set_uint(req, KARS_POLICY_FIELD_MAX_OUTPUT_TOKENS, 600, &err) == KARS_OK);
  CHECK(kars_policy_request_set_uint(req, KARS_POLICY_FIELD_ESTIMATED_PROMPT_TOKENS, 100, &err) == KARS_OK);
  /* A field of another kind is refused. */
  CHECK(kars_policy_request_set_string(req, KARS_POLICY_FIELD_HOST, "x", 1, NULL) == KARS_E_INVALID_ARGUMENT);
  CHECK(kars_policy_request_set_uint(req, KARS_POLICY_FIELD_PORT, 1, NULL) == KARS_E_INVALID_ARGUMENT);

  CHECK(kars_policy_engine_decide(d, engine, req, 0, &err) == KARS_OK);
  CHECK(kars_policy_decision_effect(d) == KARS_POLICY_ALLOW);
  reservation = kars_policy_decision_reservation(d);
  CHECK(reservation != 0);
  /* 700 of 1000 reserved: a second identical call does not fit. */
  CHECK(kars_policy_engine_decide(d, engine, req, 0, &err) == KARS_OK);
  CHECK(strcmp(kars_policy_decision_reason(d), "limit.budget") == 0);
  /* Settling returns the difference; then it fits. */
  CHECK(kars_policy_engine_settle(engine, reservation, 100, 50, &err) == KARS_OK);
  CHECK(kars_policy_engine_settle(engine, reservation, 100, 50, &err) == KARS_E_NOT_FOUND);
  kars_error_free(err);
  err = NULL;
  CHECK(kars_policy_engine_decide(d, engine, req, 0, &err) == KARS_OK);
  CHECK(kars_policy_decision_effect(d) == KARS_POLICY_ALLOW);

  /* Reuse the builder for an egress request. */
  CHECK(kars_policy_request_reset(req, KARS_POLICY_KIND_EGRESS, &err) == KARS_OK);
  CHECK(kars_policy_request_set_string(req, KARS_POLICY_FIELD_AGENT, "a", 1, &err) == KARS_OK);
  CHECK(kars_policy_request_set_string(req, KARS_POLICY_FIELD_HOST, "example.com", 11, &err) == KARS_OK);
  CHECK(kars_policy_request_set_uint(req, KARS_POLICY_FIELD_PORT, 443, &err) == KARS_OK);
  CHECK(kars_policy_request_add_resolved_ip(req, "93.184.216.34", 13, &err) == KARS_OK);
  CHECK(kars_policy_engine_decide(d, engine, req, 0, &err) == KARS_OK);
  CHECK(kars_policy_decision_effect(d) == KARS_POLICY_DENY);
  CHECK(kars_policy_request_set_uint(req, KARS_POLICY_FIELD_PORT, 70000, NULL) == KARS_E_INVALID_ARGUMENT);

  kars_policy_request_free(req);
  kars_policy_decision_free(d);
  kars_policy_engine_free(engine);
}

static volatile int callback_state = -1;
static int on_ticket(kars_policy_ticket_state state, void *userdata) {
  *(int *)userdata += 1;
  callback_state = (int)state;
  return 0;
}

static void test_approvals(void) {
  kars_policy_engine *engine = make_engine();
  kars_policy_decision *d = NULL;
  kars_error *err = NULL;
  kars_buf pending = {NULL, 0};
  kars_policy_ticket_state state;
  char ticket[64];
  char retry[256];
  const char *shell = "{\"principal\":{\"agent\":\"a\"},\"tool\":{\"name\":\"shell\"}}";
  CHECK(kars_policy_decision_new(&d, NULL) == KARS_OK);
  CHECK(kars_policy_engine_decide_json(d, engine, shell, strlen(shell), 0, &err) == KARS_OK);
  CHECK(kars_policy_decision_effect(d) == KARS_POLICY_APPROVE);
  CHECK(strlen(kars_policy_decision_ticket(d)) == 32);
  snprintf(ticket, sizeof ticket, "%s", kars_policy_decision_ticket(d));
  CHECK(kars_policy_engine_pending(&pending, engine, &err) == KARS_OK);
  CHECK(strstr((const char *)pending.data, ticket) != NULL);
  kars_buf_dispose(&pending);
  CHECK(kars_policy_engine_wait(&state, engine, ticket, 1, &err) == KARS_OK);
  CHECK(state == KARS_POLICY_TICKET_PENDING);
  {
    static int calls = 0;
    int spins = 0;
    CHECK(kars_policy_engine_wait_async(engine, "no-such-ticket", 1000, on_ticket, &calls, NULL) == KARS_E_NOT_FOUND);
    CHECK(kars_policy_engine_wait_async(engine, ticket, 10000, on_ticket, &calls, &err) == KARS_OK);
    CHECK(kars_policy_engine_approve(engine, ticket, "alice", "ok", &err) == KARS_OK);
    while (callback_state < 0 && spins++ < 500) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    CHECK(callback_state == KARS_POLICY_TICKET_APPROVED);
    CHECK(calls == 1);
  }
  CHECK(kars_policy_engine_approve(engine, ticket, "alice", "ok", NULL) == KARS_E_PRECONDITION);
  CHECK(kars_policy_engine_reject(engine, "nope", "alice", NULL, NULL) == KARS_E_NOT_FOUND);
  CHECK(kars_policy_engine_wait(&state, engine, ticket, 1000, &err) == KARS_OK);
  CHECK(state == KARS_POLICY_TICKET_APPROVED);
  snprintf(retry, sizeof retry,
           "{\"principal\":{\"agent\":\"a\"},\"tool\":{\"name\":\"shell\"},\"approvalTicket\":\"%s\"}", ticket);
  CHECK(kars_policy_engine_decide_json(d, engine, retry, strlen(retry), 0, &err) == KARS_OK);
  CHECK(kars_policy_decision_effect(d) == KARS_POLICY_ALLOW);
  CHECK(kars_policy_engine_decide_json(d, engine, retry, strlen(retry), 0, &err) == KARS_OK);
  CHECK(kars_policy_decision_effect(d) == KARS_POLICY_DENY);
  CHECK(strcmp(kars_policy_decision_reason(d), "approval.used") == 0);
  kars_policy_decision_free(d);
  kars_policy_engine_free(engine);
}

static void test_load_errors_and_digest(void) {
  kars_policy_engine *engine = make_engine();
  kars_policy_sources *bad = NULL;
  kars_error *err = NULL;
  kars_buf before = {NULL, 0}, after = {NULL, 0}, warnings = {NULL, 0};
  const char *broken = "apiVersion: kars.dev/v1\nkind: Policy\nmetadata: {name: x}\nspec: {rulez: []}\n";
  CHECK(kars_policy_engine_digest(&before, engine, &err) == KARS_OK);
  CHECK(before.len == 64);
  CHECK(kars_policy_sources_new(&bad, &err) == KARS_OK);
  CHECK(kars_policy_sources_add_bytes(bad, "broken.yaml", (const uint8_t *)broken, strlen(broken), &err) == KARS_OK);
  CHECK(kars_policy_engine_load(engine, bad, &err) == KARS_E_INVALID_ARGUMENT);
  CHECK(err != NULL && strstr(kars_error_message(err), "broken.yaml:4:8: E_UNKNOWN_FIELD") != NULL);
  if (err != NULL) fprintf(stderr, "(expected) %s\n", kars_error_message(err));
  kars_error_free(err);
  err = NULL;
  CHECK(kars_policy_check(&warnings, bad, NULL) == KARS_E_INVALID_ARGUMENT);
  CHECK(kars_policy_engine_digest(&after, engine, &err) == KARS_OK);
  CHECK(before.len == after.len && memcmp(before.data, after.data, before.len) == 0);
  CHECK(kars_policy_sources_add_file(bad, "/nonexistent/policy.yaml", &err) == KARS_E_IO);
  CHECK(err != NULL && strstr(kars_error_message(err), "/nonexistent/policy.yaml") != NULL);
  kars_error_free(err);
  kars_buf_dispose(&before);
  kars_buf_dispose(&after);
  kars_policy_sources_free(bad);
  kars_policy_engine_free(engine);
  /* NULL is fine for every free. */
  kars_policy_engine_free(NULL);
  kars_policy_sources_free(NULL);
  kars_policy_request_free(NULL);
  kars_policy_decision_free(NULL);
  kars_policy_options_free(NULL);
  CHECK(kars_policy_decision_effect(NULL) == KARS_POLICY_DENY);
}

static void test_options_and_tests(void) {
  kars_policy_options *options = NULL;
  kars_policy_engine *engine = NULL;
  kars_policy_sources *sources = NULL;
  kars_buf report = {NULL, 0};
  size_t failed = 99;
  const char *cases =
      "cases:\n"
      "  - {name: ok, request: {principal: {agent: a}, tool: {name: search}}, expect: allow}\n"
      "  - {name: wrong, request: {principal: {agent: a}, tool: {name: rm}}, expect: allow}\n";
  CHECK(kars_policy_options_new(&options, NULL) == KARS_OK);
  CHECK(kars_policy_options_set_approval_ttl_ms(options, 0, NULL) == KARS_E_INVALID_ARGUMENT);
  CHECK(kars_policy_options_set_approval_ttl_ms(options, 5000, NULL) == KARS_OK);
  CHECK(kars_policy_options_set_reservation_timeout_ms(options, 5000, NULL) == KARS_OK);
  CHECK(kars_policy_options_set_budget_journal(options, "/nonexistent-dir/budgets.journal", NULL) == KARS_OK);
  CHECK(kars_policy_engine_new(&engine, options, NULL) == KARS_E_IO);
  CHECK(kars_policy_options_set_budget_journal(options, "", NULL) == KARS_E_INVALID_ARGUMENT);
  kars_policy_options_free(options);
  CHECK(kars_policy_options_new(&options, NULL) == KARS_OK);
  CHECK(kars_policy_engine_new(&engine, options, NULL) == KARS_OK);
  kars_policy_options_free(options);
  CHECK(kars_policy_sources_new(&sources, NULL) == KARS_OK);
  CHECK(kars_policy_sources_add_bytes(sources, "p.yaml", (const uint8_t *)kPolicy, strlen(kPolicy), NULL) == KARS_OK);
  CHECK(kars_policy_sources_add_domain_feed(sources, "feed.txt", (const uint8_t *)"bad.example\n", 12, NULL) == KARS_OK);
  CHECK(kars_policy_engine_load(engine, sources, NULL) == KARS_OK);
  CHECK(kars_policy_engine_test(&report, &failed, engine, "cases.yaml", (const uint8_t *)cases, strlen(cases), NULL) == KARS_OK);
  CHECK(failed == 1);
  CHECK(report.data != NULL && strstr((const char *)report.data, "FAIL wrong") != NULL);
  kars_buf_dispose(&report);
  kars_policy_sources_free(sources);
  kars_policy_engine_free(engine);
}

int main(void) {
  test_json_decisions();
  test_builder_and_budget();
  test_approvals();
  test_load_errors_and_digest();
  test_options_and_tests();
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  return 0;
}
