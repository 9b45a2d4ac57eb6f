/* Stateful NAT64 (RFC 6146) as Tayga with a NAT44 builds it: each IPv6
 * host that sends through the device gets an address of a private pool
 * (NL_NAT64_POOL, 192.168.255.0/24, in order of first packet), its IPv6
 * packets to the well-known prefix 64:ff9b::/96 (RFC 6052) are translated
 * to IPv4 from that address to the address the last 32 bits hold (RFC
 * 7915: header fields, UDP/TCP checksums over the new pseudo-header,
 * ICMPv6 echo as ICMP echo), and the device's IPv4 NAT then maps that
 * address and port to its external ones with its own behaviour (mapping,
 * filtering, timeouts, records).  Answers come back through the NAT to
 * the pool address and are translated back to IPv6, from
 * 64:ff9b::a.b.c.d.
 *
 * Not translated (dropped, BLOCKED): IPv6 fragments, extension headers,
 * ICMP errors (RFC 7915 §4.2, §5.2 translate them with the packet they
 * quote; natlab does not yet), other protocols.  Pure functions on bytes
 * plus the pool; nat-node.c moves the packets. */
#ifndef NL_NAT64_H
#define NL_NAT64_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/core/trace.h"
#include "sim/net/wire6.h"

G_BEGIN_DECLS

#define NL_NAT64_POOL 0xc0a8ff00u /* 192.168.255.0/24: .1 to .254 */

typedef struct NlNat64 NlNat64;

NlNat64 *nl_nat64_new(NlTrace *trace, guint32 trace_node_id);
void nl_nat64_free(NlNat64 *x);

/* Whether @a is in 64:ff9b::/96; @v4 gets the address it holds. */
gboolean nl_nat64_prefix_match(const NlIp6 *a, uint32_t *v4);
/* 64:ff9b::@v4 (RFC 6052 §2.2, /96). */
NlIp6 nl_nat64_synthesize(uint32_t v4);

/**
 * nl_nat64_6to4: translates the IPv6 packet @in (@len bytes, to the
 * prefix) into IPv4 at @out (which holds @len bytes; may be @in).
 * Returns: the new length, or 0 with *@why set (not translatable, or the
 * pool is full).
 */
size_t nl_nat64_6to4(NlNat64 *x, NlTime now, const guint8 *in, size_t len,
                     guint8 *out, NlDropReason *why);

/* Whether @dst is a pool address given to an IPv6 host. */
gboolean nl_nat64_owns(const NlNat64 *x, uint32_t dst);

/**
 * nl_nat64_4to6: translates the IPv4 packet @in (@len bytes, to a pool
 * address) into IPv6 at @out (which holds @len + 20 bytes; not @in).
 * Returns: the new length, or 0 with *@why set.
 */
size_t nl_nat64_4to6(NlNat64 *x, const guint8 *in, size_t len, guint8 *out,
                     NlDropReason *why);

G_END_DECLS

#endif
