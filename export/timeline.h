/* The timeline: a sequence diagram of a run, drawn from the trace alone and
 * rendered through graphviz's libraries (libgvc, libcgraph).
 *
 * Lanes are nodes (NL_TRACE_NODE records, in that order), programs (one
 * lane each, "host/name"), or a listed choice of either, each with a label.
 * Time flows down; each packet hop is an arrow from the sender's lane at
 * the send row to the receiver's lane at the receive row (to the edge of
 * the figure when the other end has no lane).  Drops end in a red cross
 * with the reason; NAT translations are boxes on the NAT's lane; program
 * output, notes, socket calls and TCP states are boxes on their lane, never
 * cut (long text wraps) and placed clear of the arrows.  A call that waits
 * is drawn where it starts ("accept(3) blocks"), as a bar on the lane
 * while it waits, and where it returns.  TCP states may instead be drawn
 * as a band beside a lane (the kernel's state machine).  Repeated
 * exchanges are drawn once in a frame saying how often they happened
 * ("×12").  Rows follow the order of the records, not linear time, so idle
 * gaps do not stretch the picture; each row shows its virtual time at the
 * left, every label with the same precision.
 *
 * Long timelines are split into numbered 16:9 pages (slides): one file per
 * page for SVG, PNG and DOT, one multi-page PDF; PNG and PDF also get a
 * reference card of the socket calls drawn (tooltips vanish on paper).
 * Each page's legend lists exactly the colours and marks drawn on it.
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
 * (the receive arrow already shows them), NAT table snapshots, statistics
 * and the topology.  NL_TRACE_PKT_SEND also governs the receive records,
 * NL_TRACE_CALL the BLOCK records. */
#define NL_TIMELINE_DEFAULT_KINDS                                              \
  ((((uint64_t)1 << NL_TRACE_N_KINDS) - 1) &                                   \
   ~(NL_TIMELINE_KIND(PKT_DELIVER) | NL_TIMELINE_KIND(NAT_TABLE) |             \
     NL_TIMELINE_KIND(STATS) | NL_TIMELINE_KIND(TOPOLOGY)))

/* A timeline draws at most this many rows; past it, what is left is
 * folded into one row with a note saying so (see docs/performance.md). */
#define NL_TIMELINE_MAX_ROWS 25000

/* The colours the timeline gives the traversal paths (the chapter's
 * second figure): hops to or from a TURN relay, and hops between peers
 * once STUN or TURN servers are in the scenario. */
#define NL_TIMELINE_RELAY_COLOUR "#d98c00"
#define NL_TIMELINE_DIRECT_COLOUR "#2e7d32"

/**
 * NlTimelineColourFn: chooses the colour of one packet hop (a graphviz
 * colour such as "#2e7d32"), or NULL for the timeline's own choice.
 * @send: the PKT_SEND record; @packet: its wire bytes.
 */
typedef const char *(*NlTimelineColourFn)(const NlTrace *trace,
                                          const NlTraceRecord *send,
                                          const guint8 *packet, gpointer data);

typedef enum {
  NL_TIMELINE_LANES_HOST = 0, /* one lane per node */
  NL_TIMELINE_LANES_PROGRAM,  /* one per program; one per node running none */
} NlTimelineLanes;

typedef enum {
  NL_TIMELINE_STYLE_DEFAULT = 0, /* colours by protocol */
  NL_TIMELINE_STYLE_CHAPTER,     /* the textbook figure's: dashed honey-amber
                                  * TCP arrows, dashed slate UDP arrows */
} NlTimelineStyle;

/* One lane of an explicit list: a node ("server") or a program
 * ("server/tcp", as the trace names it), and the label shown. */
typedef struct {
  const char *name;
  const char *label; /* NULL: the name */
} NlTimelineLane;

typedef struct {
  const char *title; /* drawn above the lanes; NULL for none */
  /* 0: draw every row (long timelines are paged).  N: draw only the first
   * N rows and end with "… M more events". */
  guint max_rows;
  uint64_t kinds; /* bit (1 << NlTraceKind) per kind; 0: the default */
  NlTimelineColourFn hop_colour; /* NULL: the timeline's colours */
  gpointer hop_colour_data;
  const char *hop_colour_legend; /* the legend's words for the hook's
                                  * colours; NULL: "highlighted" */
  NlTime from, to; /* draw only records in [from, to]; to 0: no end */
  NlTimelineLanes lanes;
  const NlTimelineLane *lane_list; /* n_lanes > 0: exactly these lanes */
  guint n_lanes;
  const char *states; /* lanes drawn with a TCP state band beside them:
                       * "all" or lane names separated by ','; NULL: none
                       * (states are boxes on the lane) */
  NlTimelineStyle style;
  /* 0: every page; N: page N only; -1: one long picture, no pages. */
  gint page;
  gboolean no_collapse; /* draw repeated exchanges every time */
  gboolean no_end;      /* leave out the run's end: processes killed when
                         * it ended, and every expectation */
  gboolean no_card;     /* no reference card page in PNG and PDF output */
} NlTimelineOptions;

/**
 * nl_timeline_render: (transfer full) the timeline of @trace in graphviz
 * output @format ("dot", "svg", "png" or "pdf"), @len bytes, g_free() it.
 * PDF holds every page (and the reference card); the other formats hold
 * page @opts->page when it is set, otherwise the whole timeline as one
 * long picture.
 * @opts: NULL for the defaults.
 * Returns: NULL with @error set (NL_EXPORT_ERROR) on failure, or when the
 * page asked for does not exist.
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
 * A PDF holds every page.  For the other formats, a timeline of one page
 * (or @opts->page set) is written to @path; a longer one to one file per
 * page, "STEM-1.svg", "STEM-2.svg"...  (numbers padded to the same
 * width), and a PNG's reference card to "STEM-card.png".
 * @opts: NULL for the defaults.
 * OUT: @files (may be NULL): (transfer full) the files written, NULL
 * terminated; g_strfreev() it.
 * Returns: FALSE with @error set on an unknown extension or failure.
 */
gboolean nl_timeline_write_files(const NlTrace *trace, const char *path,
                                 const NlTimelineOptions *opts, char ***files,
                                 GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* nl_timeline_write_files() without the list of files. */
gboolean nl_timeline_write(const NlTrace *trace, const char *path,
                           const NlTimelineOptions *opts,
                           GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

#endif
