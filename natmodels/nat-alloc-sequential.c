/* Sequential allocation: each new mapping takes the next free port after
 * the one given out last (wrapping at the end of the range), whatever the
 * inside port.  The cursor is shared by every external address and
 * protocol of the NAT, as on devices with one global counter. */
#include "natmodels/nat-alloc-priv.h"

typedef struct {
  uint32_t next; /* 0 until the first pick: start at the range's low end */
} Sequential;

static void *sequential_open(uint64_t seed, const char *stream) {
  return g_new0(Sequential, 1);
}

static gboolean sequential_pick(void *priv, const NlNatPortQuery *q,
                                uint16_t *port) {
  Sequential *s = priv;
  if (!nl__nat_port_scan(q, s->next, port))
    return FALSE;
  s->next = (uint32_t)*port + 1;
  return TRUE;
}

static void sequential_close(void *priv) {
  g_free(priv);
}

const NlNatAllocator nl__nat_alloc_sequential = {
  .name = "sequential",
  .open = sequential_open,
  .pick = sequential_pick,
  .close = sequential_close,
};
