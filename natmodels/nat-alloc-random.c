/* Random allocation: a uniformly drawn port of the range (and parity).
 * The draws come from the NAT's own stream, derived by name from the
 * scenario seed, so runs repeat and other components' randomness is not
 * disturbed.  After a bounded number of taken draws it falls back to the
 * next free port after the last draw, so a nearly full pool still answers
 * in bounded time. */
#include "natmodels/nat-alloc-priv.h"

#include "sim/core/rand.h"

#define RANDOM_TRIES 32

typedef struct {
  NlRand rand;
} Random;

static void *random_open(uint64_t seed, const char *stream) {
  Random *r = g_new0(Random, 1);
  nl_rand_init(&r->rand, seed, stream);
  return r;
}

static gboolean random_pick(void *priv, const NlNatPortQuery *q,
                            uint16_t *port) {
  Random *r = priv;
  uint32_t n = (uint32_t)q->hi - q->lo + 1;
  uint32_t p = q->lo;
  for (int i = 0; i < RANDOM_TRIES; i++) {
    p = q->lo + (uint32_t)nl_rand_below(&r->rand, n);
    if (q->keep_parity && (p & 1u) != (q->internal_port & 1u))
      p = p < q->hi ? p + 1 : p - 1; /* fits() rejects it if out of range */
    if (nl__nat_port_fits(q, p)) {
      *port = (uint16_t)p;
      return TRUE;
    }
  }
  return nl__nat_port_scan(q, p, port);
}

static void random_close(void *priv) {
  g_free(priv);
}

const NlNatAllocator nl__nat_alloc_random = {
  .name = "random",
  .open = random_open,
  .pick = random_pick,
  .close = random_close,
};
