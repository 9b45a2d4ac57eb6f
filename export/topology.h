/* The topology of a run, from its trace (TOPOLOGY, NODE, PROC, NAT_MAP and
 * packet records), drawn through graphviz: networks with their prefixes and
 * properties, hosts and routers, NATs as hexagons with their type and
 * translation table, the links between them with their interface,
 * address and properties.  When the run has STUN or TURN servers, the
 * traversal is drawn over it: the direct path between peers green, the
 * relayed path through TURN amber, and a bar comparing the bytes each put
 * on the wire (relaying about doubles them).
 *
 * "dot" output is the graph before layout (a canonical description that
 * `dot -Tsvg` draws); SVG, PNG and PDF are laid out by graphviz's dot.
 * The same trace gives the same output.
 */
#ifndef NL_TOPOLOGY_H
#define NL_TOPOLOGY_H

#include <glib.h>

#include "export/export.h"
#include "sim/core/trace.h"

G_BEGIN_DECLS

typedef struct {
  const char *title; /* NULL: none */
} NlTopologyOptions;

/**
 * nl_topology_render: (transfer full) the topology of @trace in @format
 * ("dot", "svg", "png" or "pdf"), @len bytes; g_free() it.
 * Returns: NULL with @error set (NL_EXPORT_ERROR).
 */
guint8 *nl_topology_render(const NlTrace *trace, const char *format,
                           const NlTopologyOptions *opts, gsize *len,
                           GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Renders into @file, the format from its extension (.dot/.gv .svg .png
 * .pdf). */
gboolean nl_topology_write(const NlTrace *trace, const char *file,
                           const NlTopologyOptions *opts,
                           GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

#endif
