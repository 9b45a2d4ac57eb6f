/* An IPv6 stateful firewall (RFC 6092, "simple security" for IPv6
 * customer edge routers): no translation; outbound traffic opens state,
 * unsolicited inbound traffic is filtered.  The NAT models' filtering
 * behaviours decide what an open state lets in (RFC 6092 REC-11 leaves
 * the choice to the device: endpoint-independent, address-dependent or
 * address-and-port-dependent), and their timeouts how long it stays open
 * (UDP at least 2 minutes, TCP as RFC 5382).
 *
 * State is one entry per inside endpoint (protocol, address, port; for
 * ICMPv6 echo the identifier) with the remotes it sent to.  Inbound:
 *   UDP, TCP: passes when an entry of the destination endpoint admits
 *     the source under the filtering behaviour and has not expired;
 *   ICMPv6 echo reply: as UDP, by identifier;
 *   ICMPv6 errors (Destination Unreachable, Packet Too Big, Time
 *     Exceeded, Parameter Problem): pass when the packet they quote
 *     matches an entry (so path MTU discovery works through it);
 *   everything else (unsolicited): dropped, FIREWALL.
 * Non-first fragments carry no ports: inbound, they pass when the first
 * fragment of their datagram (same source, destination and
 * identification, within 60 s) was let in.
 *
 * Expiry is checked when an entry is used, against the virtual clock, so
 * the table needs no event.  Trace: NL_TRACE_NAT_MAP records "new UDP
 * [2001:db8:1::5]:4000 (for [2001:db8:2::7]:7000)" as the NAT writes. */
#ifndef NL_FW6_H
#define NL_FW6_H

#include <glib.h>
#include <stddef.h>

#include "natmodels/nat.h"
#include "sim/core/trace.h"

G_BEGIN_DECLS

typedef struct NlFw6 NlFw6;

/* A firewall with the filtering and timeouts of @b (copied). */
NlFw6 *nl_fw6_new(const NlNatBehaviour *b, NlTrace *trace,
                  guint32 trace_node_id);
void nl_fw6_free(NlFw6 *fw);

/**
 * nl_fw6_process: an IPv6 packet crossing the firewall in direction @dir at
 * virtual time @now.
 * Returns: TRUE when it passes; FALSE when it is filtered.
 */
gboolean nl_fw6_process(NlFw6 *fw, NlNatDirection dir, NlTime now,
                        const guint8 *pkt, size_t len);

/* Forgets every entry (a reboot). */
void nl_fw6_clear(NlFw6 *fw);

G_END_DECLS

#endif
