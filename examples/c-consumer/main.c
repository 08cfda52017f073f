/* A plain C program using an installed kars: prints the version, exercises the error API and
 * asks the policy engine one question, so that a static link pulls in the real core. */
#include <stdio.h>
#include <string.h>

#include <kars/kars.h>

static const char policy[] =
    "apiVersion: kars.dev/v1\n"
    "kind: Policy\n"
    "metadata: {name: consumer}\n"
    "spec:\n"
    "  rules:\n"
    "    - id: search-only\n"
    "      effect: allow\n"
    "      tool: {names: [search]}\n";

static int decide(kars_policy_engine *engine, kars_policy_decision *decision, const char *tool) {
  char request[256];
  kars_error *err = NULL;
  snprintf(request, sizeof request,
           "{\"principal\":{\"agent\":\"consumer\"},\"tool\":{\"name\":\"%s\"}}", tool);
  if (kars_policy_engine_decide_json(decision, engine, request, strlen(request), 0, &err) !=
      KARS_OK) {
    fprintf(stderr, "decide: %s\n", kars_error_message(err));
    kars_error_free(err);
    return -1;
  }
  printf("tool %-6s -> %s (%s)\n", tool,
         kars_policy_decision_effect(decision) == KARS_POLICY_ALLOW ? "allow" : "deny",
         kars_policy_decision_reason(decision));
  return (int)kars_policy_decision_effect(decision);
}

int main(void) {
  kars_error *err = NULL;
  kars_status status;
  kars_policy_sources *sources = NULL;
  kars_policy_engine *engine = NULL;
  kars_policy_decision *decision = NULL;
  int ok;

  if (kars_version_check(KARS_VERSION_NUMBER, &err) != KARS_OK) {
    fprintf(stderr, "kars version mismatch: %s\n", kars_error_message(err));
    kars_error_free(err);
    return 1;
  }
  printf("kars %s (headers %s)\n", kars_version_string(), KARS_VERSION_STRING);

  /* Ask for an impossible version to see a real error object come back. */
  status = kars_version_check(KARS_VERSION_NUMBER + 10000, &err);
  if (status != KARS_E_PRECONDITION || err == NULL) {
    fprintf(stderr, "expected KARS_E_PRECONDITION, got %s\n", kars_status_name(status));
    return 1;
  }
  printf("error %s (%d): %s\n", kars_status_name(kars_error_code(err)), (int)kars_error_code(err),
         kars_error_message(err));
  kars_error_free(err);

  if (kars_policy_sources_new(&sources, &err) != KARS_OK ||
      kars_policy_sources_add_bytes(sources, "consumer.yaml", (const uint8_t *)policy,
                                    sizeof policy - 1, &err) != KARS_OK ||
      kars_policy_engine_new(&engine, NULL, &err) != KARS_OK ||
      kars_policy_engine_load(engine, sources, &err) != KARS_OK ||
      kars_policy_decision_new(&decision, &err) != KARS_OK) {
    fprintf(stderr, "policy: %s\n", kars_error_message(err));
    kars_error_free(err);
    return 1;
  }
  ok = decide(engine, decision, "search") == KARS_POLICY_ALLOW &&
       decide(engine, decision, "shell") == KARS_POLICY_DENY;
  kars_policy_decision_free(decision);
  kars_policy_engine_free(engine);
  kars_policy_sources_free(sources);
  return ok ? 0 : 1;
}
