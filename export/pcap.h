/* A packet capture of a run, from the trace: a libpcap file of raw IPv4
 * packets (LINKTYPE_RAW) with nanosecond timestamps in virtual time, which
 * Wireshark and tshark open directly.
 */
#ifndef NL_PCAP_H
#define NL_PCAP_H

#include <glib.h>

#include "export/export.h"
#include "sim/core/trace.h"

G_BEGIN_DECLS

/**
 * nl_pcap_write: writes a capture of @trace to @path ("-" for stdout).
 * @node: NULL for every hop of every packet (each PKT_SEND record once,
 *   as if every link were tapped), or the name of one node for what crossed
 *   its interfaces: what it sent, what it received, and what arrived there
 *   and was dropped on arrival (a PKT_DROP at @node of a hop sent to it).
 * Timestamps are virtual time since the start of the run, in ns.
 * Returns: FALSE with @error set (NL_EXPORT_ERROR) if @node names no node
 * of the trace or the file cannot be written.
 */
gboolean nl_pcap_write(const NlTrace *trace, const char *path, const char *node,
                       GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

#endif
