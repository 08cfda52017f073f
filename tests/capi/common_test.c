/* The common C layer through the shared library, from C. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kars/kars.h>

#include "check.h"

static void test_version(void) {
  char expected[32];
  CHECK(kars_version_number() == KARS_VERSION_NUMBER);
  CHECK(strcmp(kars_version_string(), KARS_VERSION_STRING) == 0);
  snprintf(expected, sizeof expected, "%d.%d.%d", KARS_VERSION_MAJOR, KARS_VERSION_MINOR,
           KARS_VERSION_PATCH);
  CHECK(strcmp(kars_version_string(), expected) == 0);
}

static void test_version_check(void) {
  kars_error *err = NULL;
  CHECK(kars_version_check(KARS_VERSION_NUMBER, &err) == KARS_OK);
  CHECK(err == NULL);
  /* A program built against the next major version must be refused, with both versions named. */
  CHECK(kars_version_check(KARS_VERSION_NUMBER + 10000, &err) == KARS_E_PRECONDITION);
  CHECK(err != NULL);
  CHECK(kars_error_code(err) == KARS_E_PRECONDITION);
  CHECK(strstr(kars_error_message(err), "1.1.0") != NULL);
  CHECK(strstr(kars_error_message(err), KARS_VERSION_STRING) != NULL);
  kars_error_free(err);
  /* A newer minor than the library has is refused too; a NULL err still yields the code. */
  CHECK(kars_version_check(KARS_VERSION_NUMBER + 100, NULL) == KARS_E_PRECONDITION);
}

static void test_error_accessors_tolerate_null(void) {
  CHECK(kars_error_code(NULL) == KARS_E_INVALID_ARGUMENT);
  CHECK(strcmp(kars_error_message(NULL), "") == 0);
  kars_error_free(NULL);
}

static void test_status_names(void) {
  CHECK(strcmp(kars_status_name(KARS_OK), "KARS_OK") == 0);
  CHECK(strcmp(kars_status_name(KARS_E_TAMPERED), "KARS_E_TAMPERED") == 0);
  CHECK(strcmp(kars_status_name(KARS_E_PRECONDITION), "KARS_E_PRECONDITION") == 0);
  CHECK(strcmp(kars_status_name((kars_status)-999), "KARS_E_UNKNOWN") == 0);
  /* Codes are ABI: their values never change. */
  CHECK(KARS_E_INTERNAL == -1 && KARS_E_INVALID_ARGUMENT == -2 && KARS_E_NOT_FOUND == -3);
  CHECK(KARS_E_IO == -10 && KARS_E_TAMPERED == -11 && KARS_E_PRECONDITION == -14);
}

static void test_buf_dispose(void) {
  kars_buf buf;
  buf.data = (uint8_t *)malloc(16);
  buf.len = 16;
  kars_buf_dispose(&buf);
  CHECK(buf.data == NULL && buf.len == 0);
  kars_buf_dispose(&buf); /* already empty */
  kars_buf_dispose(NULL);
}

int main(void) {
  test_version();
  test_version_check();
  test_error_accessors_tolerate_null();
  test_status_names();
  test_buf_dispose();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("capi common: all checks passed\n");
  return 0;
}
