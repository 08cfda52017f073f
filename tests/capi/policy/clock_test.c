/* A host-driven clock through the C ABI: a budget window boundary and an approval TTL. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <kars/kars.h>

#include "../check.h"

static const char *kPolicy =
    "apiVersion: kars.dev/v1\n"
    "kind: Policy\n"
    "metadata: {name: clock}\n"
    "spec:\n"
    "  rules:\n"
    "    - {id: models, effect: allow, inference: {}}\n"
    "    - {id: shell, effect: approve, tool: {names: [shell]}}\n"
    "  limits:\n"
    "    - {id: per-minute, budget: {window: minute, amount: 100}}\n";

/* 2026-12-01T12:00:59.900Z */
static const int64_t kStart = 1796126459900000000LL;

struct fake_clock {
  int64_t now;
  int freed;
};

static int64_t fake_now(void *userdata) { return ((struct fake_clock *)userdata)->now; }
static void fake_free(void *userdata) { ((struct fake_clock *)userdata)->freed++; }

static kars_policy_engine *engine_with_clock(struct fake_clock *clock) {
  kars_policy_options *options = NULL;
  kars_policy_engine *engine = NULL;
  kars_policy_sources *sources = NULL;
  kars_error *err = NULL;
  CHECK(kars_policy_options_new(&options, &err) == KARS_OK);
  CHECK(kars_policy_options_set_clock(NULL, fake_now, clock, NULL, NULL) == KARS_E_INVALID_ARGUMENT);
  CHECK(kars_policy_options_set_clock(options, fake_now, clock, fake_free, &err) == KARS_OK);
  CHECK(kars_policy_options_set_approval_ttl_ms(options, 1000, &err) == KARS_OK);
  CHECK(kars_policy_engine_new(&engine, options, &err) == KARS_OK);
  kars_policy_options_free(options);
  CHECK(clock->freed == 0); /* the engine still uses it */
  CHECK(kars_policy_sources_new(&sources, &err) == KARS_OK);
  CHECK(kars_policy_sources_add_bytes(sources, "clock.yaml", (const uint8_t *)kPolicy,
                                      strlen(kPolicy), &err) == KARS_OK);
  CHECK(kars_policy_engine_load(engine, sources, &err) == KARS_OK);
  kars_policy_sources_free(sources);
  return engine;
}

static kars_policy_effect decide(kars_policy_engine *engine, kars_policy_decision *d,
                                 const char *json) {
  CHECK(kars_policy_engine_decide_json(d, engine, json, strlen(json), 0, NULL) == KARS_OK);
  return kars_policy_decision_effect(d);
}

static void test_budget_window_boundary(void) {
  struct fake_clock clock = {kStart, 0};
  kars_policy_engine *engine = engine_with_clock(&clock);
  kars_policy_decision *d = NULL;
  const char *ask = "{\"principal\":{\"agent\":\"a\"},\"inference\":{\"model\":\"m\",\"maxOutputTokens\":100}}";
  const char *one = "{\"principal\":{\"agent\":\"a\"},\"inference\":{\"model\":\"m\",\"maxOutputTokens\":1}}";
  CHECK(kars_policy_decision_new(&d, NULL) == KARS_OK);
  CHECK(decide(engine, d, ask) == KARS_POLICY_ALLOW);
  CHECK(decide(engine, d, one) == KARS_POLICY_DENY);
  CHECK(strcmp(kars_policy_decision_reason(d), "limit.budget") == 0);
  clock.now += 99999999; /* 12:00:59.999999999: still the same UTC minute */
  CHECK(decide(engine, d, one) == KARS_POLICY_DENY);
  clock.now += 1; /* 12:01:00.000: a new minute */
  CHECK(decide(engine, d, ask) == KARS_POLICY_ALLOW);
  CHECK(decide(engine, d, one) == KARS_POLICY_DENY);
  kars_policy_decision_free(d);
  kars_policy_engine_free(engine);
  CHECK(clock.freed == 1);
}

static void test_approval_ttl(void) {
  struct fake_clock clock = {kStart, 0};
  kars_policy_engine *engine = engine_with_clock(&clock);
  kars_policy_decision *d = NULL;
  kars_policy_ticket_state state = KARS_POLICY_TICKET_PENDING;
  char ticket[64], retry[256];
  const char *shell = "{\"principal\":{\"agent\":\"a\"},\"tool\":{\"name\":\"shell\"}}";
  CHECK(kars_policy_decision_new(&d, NULL) == KARS_OK);
  CHECK(decide(engine, d, shell) == KARS_POLICY_APPROVE);
  snprintf(ticket, sizeof ticket, "%s", kars_policy_decision_ticket(d));
  snprintf(retry, sizeof retry,
           "{\"principal\":{\"agent\":\"a\"},\"tool\":{\"name\":\"shell\"},\"approvalTicket\":\"%s\"}", ticket);
  clock.now += 999000000; /* 999 ms: still pending */
  CHECK(kars_policy_engine_wait(&state, engine, ticket, 1, NULL) == KARS_OK);
  CHECK(state == KARS_POLICY_TICKET_PENDING);
  clock.now += 1000000; /* 1 s: the TTL has passed */
  CHECK(kars_policy_engine_wait(&state, engine, ticket, 1000, NULL) == KARS_OK);
  CHECK(state == KARS_POLICY_TICKET_EXPIRED);
  CHECK(kars_policy_engine_approve(engine, ticket, "alice", "late", NULL) == KARS_E_PRECONDITION);
  CHECK(decide(engine, d, retry) == KARS_POLICY_DENY);
  CHECK(strcmp(kars_policy_decision_reason(d), "approval.expired") == 0);
  kars_policy_decision_free(d);
  kars_policy_engine_free(engine);
  CHECK(clock.freed == 1);
}

int main(void) {
  test_budget_window_boundary();
  test_approval_ttl();
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  return 0;
}
