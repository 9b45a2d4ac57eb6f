/* The timeline: a sequence diagram of a run, drawn from the trace alone and
 * rendered through graphviz's libraries (libgvc, libcgraph).
 *
 * One vertical lane per node (declared by NL_TRACE_NODE records, in that
 * order; nodes used without a declaration get a lane after them), time
 * flowing down, one arrow per packet hop from the sender's lane at the send
 * row to the receiver's lane at the receive row.  Drops end in a red cross
 * with the reason; NAT translations are boxes on the NAT's lane; program
 * output, notes, socket calls and TCP states are small boxes on their lane.
 * Rows follow the order of the records, not linear time, so idle gaps do
 * not stretch the picture; each row shows its virtual time at the left.
 *
 * The same trace and options give byte-identical output.
 */
#ifndef NL_TIMELINE_H
#define NL_TIMELINE_H

#include <glib.h>
#include <stdint.h>

#include "export/export.h"
#include "sim/core/trace.h"

G_BEGIN_DECLS

#define NL_TIMELINE_KIND(k) ((uint64_t)1 << NL_TRACE_##k)

/* The kinds shown by default: everything except the per-socket deliveries
 * (the receive arrow already shows them), NAT table snapshots and
 * statistics.  NL_TRACE_PKT_SEND also governs the receive records. */
#define NL_TIMELINE_DEFAULT_KINDS                                              \
  ((((uint64_t)1 << NL_TRACE_N_KINDS) - 1) &                                   \
   ~(NL_TIMELINE_KIND(PKT_DELIVER) | NL_TIMELINE_KIND(NAT_TABLE) |             \
     NL_TIMELINE_KIND(STATS)))

/* Rows drawn by default before "… N more events". */
#define NL_TIMELINE_DEFAULT_ROWS 300

/**
 * NlTimelineColourFn: chooses the colour of one packet hop (a graphviz
 * colour such as "#2e7d32"), or NULL for the default colour by protocol.
 * This is the hook for "direct path green, relay path amber".
 * @send: the PKT_SEND record; @packet: its wire bytes.
 */
typedef const char *(*NlTimelineColourFn)(const NlTrace *trace,
                                          const NlTraceRecord *send,
                                          const guint8 *packet, gpointer data);

typedef struct {
  const char *title; /* drawn above the lanes; NULL for none */
  guint max_rows;    /* 0: NL_TIMELINE_DEFAULT_ROWS */
  uint64_t kinds;    /* bit (1 << NlTraceKind) per kind; 0: the default */
  NlTimelineColourFn hop_colour; /* NULL: colour by protocol */
  gpointer hop_colour_data;
} NlTimelineOptions;

/**
 * nl_timeline_render: (transfer full) the timeline of @trace in graphviz
 * output @format ("dot", "svg", "png" or "pdf"), @len bytes, g_free() it.
 * @opts: NULL for the defaults.
 * Returns: NULL with @error set (NL_EXPORT_ERROR) on failure.
 */
guint8 *nl_timeline_render(const NlTrace *trace, const char *format,
                           const NlTimelineOptions *opts, gsize *len,
                           GError **error) G_GNUC_WARN_UNUSED_RESULT;

/**
 * nl_timeline_format_of: the format nl_timeline_write() picks for @path
 * from its extension ("dot", "svg", "png", "pdf"), or NULL when the
 * extension is none of them.
 */
const char *nl_timeline_format_of(const char *path);

/**
 * nl_timeline_write: renders the timeline of @trace into @path, in the
 * format named by the extension of @path (.dot/.gv, .svg, .png, .pdf).
 * @opts: NULL for the defaults.
 * Returns: FALSE with @error set on an unknown extension or failure.
 */
gboolean nl_timeline_write(const NlTrace *trace, const char *path,
                           const NlTimelineOptions *opts,
                           GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

#endif
