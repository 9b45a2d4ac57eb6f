/* Port allocation strategies (RFC 4787 §4.2), one file each behind this
 * small vtable (STYLE rule 6).  Private to natmodels/.
 *
 * The NAT owns the "which ports are in use" bitmap of each external address
 * and protocol; a strategy only decides where to look.  Every strategy
 * answers the same query: a free port in [lo, hi], of the inside port's
 * parity when asked, or FALSE when there is none.
 */
#ifndef NL_NAT_ALLOC_PRIV_H
#define NL_NAT_ALLOC_PRIV_H

#include <glib.h>
#include <stdint.h>

#include "natmodels/nat-behaviour.h"

G_BEGIN_DECLS

typedef struct {
  uint16_t internal_port; /* the inside port (or ICMP identifier) */
  uint16_t lo, hi;        /* inclusive range to choose from */
  gboolean keep_parity;   /* the result must have internal_port's parity */
  const uint64_t *used;   /* 65536-bit bitmap: bit p set = port p taken */
} NlNatPortQuery;

typedef struct {
  const char *name;
  /* Returns the strategy's state (may be NULL).  @seed and @stream name the
   * random stream a strategy may draw from. */
  void *(*open)(uint64_t seed, const char *stream);
  /* OUT: @port.  Returns FALSE when no port fits. */
  gboolean (*pick)(void *priv, const NlNatPortQuery *q, uint16_t *port);
  void (*close)(void *priv);
} NlNatAllocator;

extern const NlNatAllocator nl__nat_alloc_preserve;
extern const NlNatAllocator nl__nat_alloc_sequential;
extern const NlNatAllocator nl__nat_alloc_random;

static inline gboolean nl__nat_port_used(const uint64_t *used, uint32_t p) {
  return (used[p >> 6] >> (p & 63)) & 1u;
}

static inline gboolean nl__nat_port_fits(const NlNatPortQuery *q,
                                         uint32_t p) {
  return p >= q->lo && p <= q->hi &&
         (!q->keep_parity || (p & 1u) == (q->internal_port & 1u)) &&
         !nl__nat_port_used(q->used, p);
}

/**
 * nl__nat_port_scan: the first port at or after @start (wrapping from hi to
 * lo) that fits @q.  Skips whole bitmap words that are full, so a scan over
 * a crowded range stays cheap.
 * Returns: FALSE when no port fits.
 */
static inline gboolean nl__nat_port_scan(const NlNatPortQuery *q,
                                         uint32_t start, uint16_t *out) {
  uint32_t n = (uint32_t)q->hi - q->lo + 1;
  if (start < q->lo || start > q->hi)
    start = q->lo;
  uint32_t p = start;
  for (uint32_t seen = 0; seen < n;) {
    if ((p & 63) == 0 && q->used[p >> 6] == ~(uint64_t)0 && p + 63 <= q->hi &&
        seen + 64 <= n) {
      seen += 64;
      p += 64;
    } else {
      if (nl__nat_port_fits(q, p)) {
        *out = (uint16_t)p;
        return TRUE;
      }
      seen++;
      p++;
    }
    if (p > q->hi)
      p = q->lo;
  }
  return FALSE;
}

G_END_DECLS

#endif
