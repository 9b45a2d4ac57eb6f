/* stun-prog.h: small helpers shared by the STUN and TURN programs.
 *
 * Everything here is static and keeps its state in caller-owned structs:
 * the programs keep no mutable globals, so natlab can load each program
 * once and run many instances of it.  I/O and time use only POSIX calls
 * (socket, bind, poll, clock_gettime, ...) and randomness comes from
 * getrandom(), all of which natlab's shim answers in virtual time and from
 * the run's seeded streams.
 */
#ifndef NL_STUN_PROG_H
#define NL_STUN_PROG_H

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "stun-codec.h"

/* Monotonic time in nanoseconds. */
static inline int64_t nl_prog_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A per-instance pseudo-random stream (splitmix64).  Seeded from
 * getrandom() unless the user gives --seed, so runs can be repeated. */
typedef struct {
  uint64_t s;
} NlProgRand;

static inline void nl_prog_rand_seed(NlProgRand *r, uint64_t seed) {
  r->s = seed;
}

static inline void nl_prog_rand_seed_os(NlProgRand *r) {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
    seed = 0;
  if (seed == 0)
    seed = (uint64_t)nl_prog_now_ns() ^ ((uint64_t)getpid() << 32);
  r->s = seed;
}

static inline uint64_t nl_prog_rand_next(NlProgRand *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline void nl_prog_rand_bytes(NlProgRand *r, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = nl_prog_rand_next(r);
    size_t k = n - i < 8 ? n - i : 8;
    memcpy(out + i, &v, k);
  }
}

/* With --signals (real OS only), blocks SIGINT and SIGTERM so the main loop
 * notices them with nl_prog_should_stop() and exits cleanly, printing its
 * summary, without a handler and the global flag a handler would need.
 * It is opt-in because inside natlab the program is a coroutine of the
 * natlab process, whose own signal mask must stay untouched; there the run
 * ends the program (or --duration does). */
typedef struct {
  gboolean enabled;
  sigset_t set;
} NlProgSignals;

static inline void nl_prog_block_signals(NlProgSignals *s) {
  if (!s->enabled)
    return;
  sigemptyset(&s->set);
  sigaddset(&s->set, SIGINT);
  sigaddset(&s->set, SIGTERM);
  sigprocmask(SIG_BLOCK, &s->set, NULL);
}

static inline int nl_prog_should_stop(const NlProgSignals *s) {
  struct timespec zero = {0, 0};
  return s->enabled && sigtimedwait(&s->set, NULL, &zero) > 0;
}

/* Creates a socket of @type bound to @sa (SO_REUSEADDR for TCP).
 * Returns: the descriptor, or -errno. */
static inline int nl_prog_bind(const struct sockaddr *sa, int type) {
  int fd = socket(sa->sa_family, type, 0);
  if (fd < 0)
    return -errno;
  int one = 1;
  if (type == SOCK_STREAM)
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, sa, nl_stun_addr_len(sa)) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  if (type == SOCK_STREAM && listen(fd, 64) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

/* Zeroed memory the program keeps across calls (buffers, connections,
 * allocations), from malloc: in the lab that is the process's own heap,
 * which goes with the process even when the process is killed where it
 * stands (a server at the end of a run); GLib's g_malloc would take it from
 * natlab's heap and a killed server would leak it.  Free it with free().
 * Out of memory ends the program, as g_malloc does. */
static inline void *nl_prog_alloc(size_t n) {
  void *p = calloc(1, n > 0 ? n : 1);
  if (p == NULL) {
    fprintf(stderr, "out of memory (%zu bytes)\n", n);
    exit(1);
  }
  return p;
}

/* Writes all of @len bytes to a stream socket.  Returns: 0 or -errno. */
static inline int nl_prog_write_all(int fd, const uint8_t *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Parses a decimal in [lo, hi]; returns FALSE on junk. */
static inline gboolean nl_prog_parse_uint(const char *s, unsigned long lo,
                                          unsigned long hi,
                                          unsigned long *out) {
  char *end;
  if (s == NULL || *s == '\0')
    return FALSE;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi)
    return FALSE;
  *out = v;
  return TRUE;
}

#endif /* NL_STUN_PROG_H */
