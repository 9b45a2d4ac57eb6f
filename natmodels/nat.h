/* The NAT translator (DESIGN layer 3): a table of mappings driven by an
 * NlNatBehaviour, working on real IPv4 wire bytes in place.
 *
 * It knows nothing of nodes or links.  The network layer owns the packet,
 * calls nl_nat_process() with the direction it travels, and then forwards
 * it (PASS), turns it back inside (HAIRPIN) or drops it and writes the drop
 * record itself (DROP).  A chain of NATs is two NlNat, the packet passed
 * through both.
 *
 * Trace: every mapping created, refreshed, expired or dropped by a reboot
 * is an NL_TRACE_NAT_MAP text record at node @trace_node_id, with aux one
 * of NlNatMapEvent:
 *   "new UDP 10.0.0.5:50001 -> 203.0.113.1:50001 (for 192.0.2.10:3478)"
 *   "refresh UDP 10.0.0.5:50001 -> 203.0.113.1:50001 (outbound, until
 *    130.000000000)"
 *   "expire UDP 10.0.0.5:50001 -> 203.0.113.1:50001 (idle)"
 *   "reboot: 3 mappings dropped"
 * For ICMP echo the "port" is the echo identifier.  A refresh record is
 * written only when a packet of a refreshing direction extends the
 * lifetime, and at most once per second of virtual time per mapping (the
 * lifetime itself is always extended exactly), so a busy flow does not
 * bury the trace; a TCP state change that extends it is always recorded
 * ("refresh TCP ... (inbound, established, until 7441.000000000)").
 * Expiry records are written at the exact expiry time by the NAT's one
 * event ("expire ... (idle)"), or when a full pool evicts a mapping
 * ("expire ... (evicted: pool exhausted)").
 *
 * What the NAT does not do (the node around it does): answer pings or
 * other packets addressed to its own external address (ICMP echo is never
 * hairpinned), decrement TTL, reassemble fragments (fragments are dropped
 * as MALFORMED), or send ICMP errors of its own.
 *
 * Filtering state: a mapping remembers every remote it has sent to (the
 * address for address-dependent filtering, address:port for
 * address-and-port-dependent) for as long as the mapping lives.
 */
#ifndef NL_NAT_H
#define NL_NAT_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "natmodels/nat-behaviour.h"
#include "sim/core/event.h"
#include "sim/core/trace.h"
#include "sim/net/wire.h"

G_BEGIN_DECLS

typedef struct NlNat NlNat;

typedef enum {
  NL_NAT_OUTBOUND, /* inside -> outside */
  NL_NAT_INBOUND,  /* outside -> inside */
} NlNatDirection;

/* X(ENUM, "name") */
#define NL_NAT_VERDICT_MAP(X)                                                  \
  X(PASS, "pass")       /* rewritten in place; forward it on */              \
  X(HAIRPIN, "hairpin") /* rewritten; send it back to the inside */          \
  X(DROP, "drop")       /* *why_out says why; the packet is unchanged */

typedef enum {
#define NL_X(e, s) NL_NAT_##e,
  NL_NAT_VERDICT_MAP(NL_X)
#undef NL_X
  NL_NAT_N_VERDICTS
} NlNatVerdict;

/* aux of NL_TRACE_NAT_MAP records. */
#define NL_NAT_MAP_EVENT_MAP(X)                                                \
  X(NEW, "new")                                                                \
  X(REFRESH, "refresh")                                                        \
  X(EXPIRE, "expire")                                                          \
  X(REBOOT, "reboot")                                                          \
  X(FORWARD, "forward")

typedef enum {
#define NL_X(e, s) NL_NAT_MAP_##e,
  NL_NAT_MAP_EVENT_MAP(NL_X)
#undef NL_X
  NL_NAT_MAP_N_EVENTS
} NlNatMapEvent;

typedef struct {
  guint64 mappings_live;    /* in the table now */
  guint64 mappings_created; /* since creation (reboots do not reset) */
  guint64 mappings_expired; /* by timeout or eviction */
  guint64 translated;       /* packets that got PASS or HAIRPIN */
  guint64 hairpinned;       /* of which HAIRPIN */
  guint64 filtered;         /* drops by the filtering rule (for a firewall:
                             * every FIREWALL drop) */
  guint64 dropped;          /* every DROP verdict, filtered included */
} NlNatCounters;

/**
 * nl_nat_new: a NAT with behaviour @b (copied) and the external addresses
 * @external_addrs (host byte order; copied; at least one unless
 * b->translate is FALSE).  An inside host always uses the same external
 * address (RFC 4787 REQ-2 "paired"): external_addrs[inside address %
 * n_addrs].
 * @q: the clock and where the expiry event is scheduled.
 * @trace: where NAT_MAP records go (may be NULL).
 * @trace_node_id: nl_trace_intern() id of the NAT node, for records.
 * @seed: the scenario seed; random port allocation uses the stream
 *   "nat:<name>/ports".
 * @name: the NAT's name (copied), for the stream and snapshots.
 * Returns: (transfer full) the NAT, free with nl_nat_free().
 */
NlNat *nl_nat_new(const NlNatBehaviour *b, const uint32_t *external_addrs,
                  guint n_addrs, NlEventQueue *q, NlTrace *trace,
                  guint32 trace_node_id, uint64_t seed, const char *name);

/**
 * nl_nat_add_forward: port forwarding (static DNAT), as home routers offer:
 * @proto (NL_IPPROTO_UDP or NL_IPPROTO_TCP) packets from outside to
 * external port @ext_port go to the inside host @int_addr, port @int_port,
 * whoever sends them (no filtering), and that host's packets from
 * @int_port go out from @ext_port whatever the mapping behaviour, so its
 * answers come back from the address its clients asked.  The external
 * address is the one paired with @int_addr (RFC 4787 REQ-2); the port is
 * never given to a mapping, also after a reboot, which keeps forwards.
 * Hairpinning to a forwarded port reaches the host too (when on).  A
 * firewall (translate off) only opens @ext_port, which must equal
 * @int_port, to @int_addr.  A NAT_MAP record ("forward TCP
 * 203.0.113.1:8080 -> 10.0.0.10:80") says so in the trace.
 * Returns: TRUE, or FALSE with @error (the port is forwarded already or in
 * use, port 0, or a firewall asked to change the port).
 */
gboolean nl_nat_add_forward(NlNat *nat, uint8_t proto, uint16_t ext_port,
                            uint32_t int_addr, uint16_t int_port,
                            GError **error) G_GNUC_WARN_UNUSED_RESULT;

/**
 * nl_nat_set_dmz: a "DMZ host": a UDP or TCP packet from outside that no
 * mapping or forward claims goes to @int_addr, to the same port, through a
 * new mapping (as if @int_addr had sent to the remote first: it expires and
 * filters like any other).  A firewall lets everything in to @int_addr.
 */
void nl_nat_set_dmz(NlNat *nat, uint32_t int_addr);

/* Cancels the expiry event and frees every mapping.  NULL is a no-op. */
void nl_nat_free(NlNat *nat);

/**
 * nl_nat_process: runs one IPv4 packet through the NAT at the queue's
 * current time.  The caller keeps ownership of @pkt.
 * @dir: NL_NAT_OUTBOUND for a packet from the inside, NL_NAT_INBOUND for
 *   one arriving from the outside.
 * @pkt, @len: the packet's wire bytes, rewritten in place on PASS and
 *   HAIRPIN (addresses, ports or ICMP identifier, and every checksum —
 *   updated incrementally, so a packet that arrived with a bad transport
 *   checksum still has a bad one).
 * @why_out: OUT: NL_DROP_NONE, or why the packet was dropped:
 *   NAT_NO_MAPPING (inbound with no live mapping, e.g. an unsolicited TCP
 *   SYN, RFC 5382 REQ-4), NAT_FILTERED (RFC 4787 §5), NAT_POOL_EXHAUSTED,
 *   NAT_HAIRPIN (hairpinning off, or ICMP echo to an external address),
 *   BLOCKED (block-outbound-udp, or a protocol a translating NAT cannot
 *   key), FIREWALL (any inbound drop when translate is off), MALFORMED
 *   (unparseable, truncated, or a fragment).
 * Returns: PASS, HAIRPIN (an outbound packet addressed to one of this NAT's
 *   own mappings, now addressed to the inside host behind it: send it back
 *   inside), or DROP (the packet bytes are unchanged).
 *
 * Expired mappings are removed first, so a packet at exactly a mapping's
 * expiry time no longer finds it.
 */
NlNatVerdict nl_nat_process(NlNat *nat, NlNatDirection dir, guint8 *pkt,
                            size_t len, NlDropReason *why_out);
/* The same, for a packet whose IPv4 header @ip the caller has just read
 * with nl_ip4_parse() (which found nothing wrong): it is not read again. */
NlNatVerdict nl_nat_process_parsed(NlNat *nat, NlNatDirection dir,
                                   guint8 *pkt, size_t len,
                                   const NlIp4Header *ip,
                                   NlDropReason *why_out);
/* Private, for the NAT node (nat-node.c): nl_nat_process_parsed for a
 * packet whose kept header @ip follows the packet (after the call its
 * addresses are the packet's, whatever the verdict).
 * Returns: NL_DROP_NONE when the packet goes on (PASS or HAIRPIN), else
 *   why it was dropped. */
NlDropReason nl__nat_translate_ip4(NlNat *nat, NlNatDirection dir,
                                   guint8 *pkt, NlIp4Header *ip);

/**
 * nl_nat_snapshot: appends the table at the current time to @out, one
 * mapping a line in creation order, e.g.
 *   "nat home at 1.000000000: 1 mapping\n"
 *   "UDP 10.0.0.5:5000 -> 203.0.113.1:5000 for 192.0.2.10:3478
 *    expires 121.000000000 allow 192.0.2.10:3478\n"
 * Deterministic: the same history gives the same text.
 */
void nl_nat_snapshot(NlNat *nat, GString *out);

/* Writes nl_nat_snapshot() as an NL_TRACE_NAT_TABLE record (if tracing). */
void nl_nat_trace_snapshot(NlNat *nat);

/* Drops every mapping now, with one "reboot" record.  Port allocation state
 * (sequential cursor, random stream) carries on. */
void nl_nat_reboot(NlNat *nat);

/* OUT: @out. */
void nl_nat_get_counters(const NlNat *nat, NlNatCounters *out);

/* The behaviour the NAT was made with. */
const NlNatBehaviour *nl_nat_get_behaviour(const NlNat *nat);
const char *nl_nat_get_name(const NlNat *nat);

const char *nl_nat_verdict_name(NlNatVerdict v);
const char *nl_nat_map_event_name(NlNatMapEvent e);

G_END_DECLS

#endif
