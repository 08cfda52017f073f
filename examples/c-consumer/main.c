/* A plain C program using an installed kars: prints the version and exercises the error API. */
#include <stdio.h>
#include <string.h>

#include <kars/kars.h>

int main(void) {
  kars_error *err = NULL;
  kars_status status;

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
  return 0;
}
