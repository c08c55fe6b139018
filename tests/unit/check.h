/* Minimal TAP-style checks for unit tests: `ok N - name` per check, a summary
 * line, exit status 1 if anything failed. */
#ifndef BESEDA_CHECK_H
#define BESEDA_CHECK_H
#include <stdio.h>

static int check_count, check_failed;

#define CHECK(cond, name) do { \
    check_count++; \
    if (cond) printf("ok %d - %s\n", check_count, name); \
    else { check_failed++; printf("not ok %d - %s (%s:%d: %s)\n", check_count, name, __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_DONE() (printf("# %d checks, %d failed\n", check_count, check_failed), check_failed ? 1 : 0)
#endif
