/* The checks of the C hosts in tests/abi: CHECK(cond, fmt, ...) counts and prints a failure
 * ("FAIL file:line: ...") and carries on; the host exits non-zero when `failures` is not 0. */
#ifndef LIFEHOOK_TESTS_ABI_HOST_CHECK_H
#define LIFEHOOK_TESTS_ABI_HOST_CHECK_H

#include <stdio.h>

static int failures = 0;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      ++failures;                                          \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fputc('\n', stderr);                                 \
    }                                                      \
  } while (0)

#endif
