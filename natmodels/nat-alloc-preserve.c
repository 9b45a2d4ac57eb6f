/* Port preservation (RFC 4787 §4.2.1): the external port is the inside
 * port when that is free and in range; otherwise the next free port above
 * it (wrapping), so a collision still lands close to the inside port, as
 * many home routers do.  No state. */
#include "natmodels/nat-alloc-priv.h"

static void *preserve_open(uint64_t seed, const char *stream) {
  return NULL;
}

static gboolean preserve_pick(void *priv, const NlNatPortQuery *q,
                              uint16_t *port) {
  return nl__nat_port_scan(q, q->internal_port, port);
}

static void preserve_close(void *priv) {
}

const NlNatAllocator nl__nat_alloc_preserve = {
  .name = "preserve",
  .open = preserve_open,
  .pick = preserve_pick,
  .close = preserve_close,
};
