/* A tiny checker for POSIX conformance programs.  Each program runs the
 * same checks on the real OS (built with cc, over 127.0.0.1) and inside
 * natlab (built with the shim); the tests compare the two lists of
 * outcomes, so the lab must answer as Linux does. */
#ifndef NL_POSIX_CHECK_H
#define NL_POSIX_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CHECK(name, cond)                                                      \
  do {                                                                         \
    int ok_ = (cond);                                                          \
    printf("%s %s\n", ok_ ? "PASS" : "FAIL", name);                            \
    if (!ok_)                                                                  \
      printf("  at %s:%d errno=%d (%s)\n", __FILE__, __LINE__, errno,         \
             strerror(errno));                                                 \
  } while (0)

/* A call that must fail with errno @e. */
#define CHECK_ERR(name, call, e) CHECK(name, (call) < 0 && errno == (e))

static inline double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#endif
