/* A packet capture of a run, from the trace: a pcapng file that Wireshark
 * and tshark open directly.
 *
 * One interface per node link, named "node:ifname" ("router:eth1") and
 * described with its network and address; raw IPv4 packets
 * (LINKTYPE_IPV4) with nanosecond timestamps in the programs' epoch (what
 * their CLOCK_REALTIME reads at that virtual time, from the trace's
 * TOPOLOGY CLOCK record), each marked inbound or outbound.  A dropped
 * packet carries a comment with the reason ("dropped at nat-b: nat
 * filtered").  Packets are carried as wire bytes in the trace, so a
 * capture is a copy, not a translation.
 *
 * Wireshark's TCP analysis does not tell interfaces apart: a segment that
 * crosses two links (through a router) is shown once per link and its
 * second copy reads as a retransmission.  Capture the nodes at the ends
 * (nl_pcap_write_nodes) to see each segment once.
 */
#ifndef NL_PCAP_H
#define NL_PCAP_H

#include <glib.h>

#include "export/export.h"
#include "sim/core/trace.h"

G_BEGIN_DECLS

/**
 * nl_pcap_write_nodes: writes a pcapng capture of @trace to @path ("-"
 * for stdout).
 * @nodes: NULL for every link: each hop once, on the link of the node
 *   that sent it (as if every link were tapped at its sender), plus drops
 *   that never reached a link.  Or a NULL-terminated list of node names:
 *   what crossed their links, as tcpdump on those nodes would see it (what
 *   each sent, what it received, and what arrived and was dropped there).
 * Returns: FALSE with @error set (NL_EXPORT_ERROR) if a name is not a
 * node of the trace or the file cannot be written.
 */
gboolean nl_pcap_write_nodes(const NlTrace *trace, const char *path,
                             const char *const *nodes,
                             GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* nl_pcap_write_nodes() with one node, or NULL for every link. */
gboolean nl_pcap_write(const NlTrace *trace, const char *path, const char *node,
                       GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

#endif
