/* The check harness the C ABI tests share: CHECK records a failure and carries on, so one run
 * reports every broken expectation. Each test's main returns failures != 0. */
#ifndef KARS_TESTS_CAPI_CHECK_H
#define KARS_TESTS_CAPI_CHECK_H

#include <stdio.h>

static int failures = 0;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
      ++failures;                                                                \
    }                                                                            \
  } while (0)

#endif /* KARS_TESTS_CAPI_CHECK_H */
