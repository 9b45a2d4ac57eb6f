/* Internals of the timeline: the model made from the trace
 * (timeline-model.c), its layout into pages (timeline-layout.c) and the
 * drawing through graphviz (timeline.c).
 *
 * Coordinates are in points, "down" coordinates (y grows down the page),
 * relative to the page's top-left corner.
 */
#ifndef NL_TIMELINE_PRIV_H
#define NL_TIMELINE_PRIV_H

#include <glib.h>

#include "export/export-priv.h"
#include "export/timeline.h"

G_BEGIN_DECLS

/* Text metrics and geometry, in points. */
#define TL_FONT 9.0       /* hop labels, time labels */
#define TL_BOX_FONT 8.5   /* boxes on lanes */
#define TL_LINE 11.0      /* one line of text in a box */
#define TL_ROW 21.0       /* the least distance between two rows */
#define TL_BOX_PAD 8.0    /* a box's width beyond its text */
#define TL_HEAD_H 34.0    /* lane header box */
#define TL_HEAD_W 150.0
#define TL_PAGE_W 960.0   /* a 16:9 slide, 13.33 x 7.5 in */
#define TL_BAR_W 7.0      /* the bar of a waiting call */
#define TL_CROSS 5.0      /* half a drop cross */

/* Legend entries: colours and marks a page can show. */
typedef enum {
  LG_UDP,
  LG_TCP,
  LG_STUN,
  LG_ICMP,
  LG_OTHER,
  LG_RELAY,
  LG_DIRECT,
  LG_HOOK,
  LG_DROP,
  LG_XLATE,
  LG_BAR,
  LG_LOOP,
  LG_STATE,
  LG_N
} TlLegend;

typedef struct {
  char *key;   /* "node" or "node/program" */
  char *label; /* shown */
  char *sub;   /* second line: the kind, or the key when labelled */
  guint32 node;
  char *kind;  /* the node's kind, or NULL */
  gboolean band; /* TCP states as a band beside the lane */
  int band_side; /* -1 left, +1 right */
  double x;
} TlLane;

/* What a row holds. */
typedef struct {
  NlTime time;
  double above, below; /* extents of its contents about its line */
  double y;            /* its line, on its page */
  int page;            /* 0-based */
} TlRow;

typedef enum {
  BX_LANE,   /* centred on the lane, or beside it (layout decides) */
  BX_SPAN,   /* across every lane (a scenario note) */
} TlBoxPlace;

typedef struct {
  guint row;
  int lane;       /* -1 for BX_SPAN */
  guint16 kind;   /* NlTraceKind, for its style and class */
  char *text;     /* plain text; lines separated by '\n' after wrapping */
  char *tooltip;  /* plain */
  const char *fill, *fontcolor; /* NULL: the kind's */
  char *cls;      /* extra classes, or NULL */
  guint lines;
  double w, h;    /* size */
  double x;       /* centre, after placement */
  TlBoxPlace place;
} TlBox;

typedef struct {
  uint64_t id;
  int from, to;       /* lanes; -1: beyond the left edge, -2: the right */
  guint row0, row1;   /* send and end rows */
  gboolean ended;     /* received or dropped (else still in flight) */
  gboolean dropped;
  NlDropReason reason;
  int drop_lane;      /* lane of the drop, or -1 (on the way) */
  gboolean to_self;   /* loopback */
  gboolean no_arrow;  /* a drop whose send is not drawn: the cross only */
  const char *colour;
  TlLegend legend;
  gboolean dashed;
  char *label;        /* plain, wrapped */
  guint label_lines;
  double label_w;
  char *tooltip;      /* plain */
  NlTime sent, end_time;
} TlHop;

typedef struct {
  int lane;
  guint row0, row1; /* from the call's start to its return */
  gboolean open;    /* never returned (the process ended) */
  char *tooltip;
} TlBar;

typedef struct {
  int lane;
  guint row;
  guint end_row; /* the lane's next state's row; G_MAXUINT: the end */
  char *state;   /* "ESTABLISHED" */
  char *tooltip; /* the record */
} TlState;

typedef struct {
  guint row0, row1; /* the rows of the first time, drawn */
  int lane0, lane1; /* lanes it touches */
  guint64 times;
  NlTime t0, t1;    /* first start, last end */
} TlLoop;

typedef struct {
  /* Options, resolved. */
  const NlTrace *trace;
  const char *title;
  uint64_t kinds;
  NlTimelineStyle style;
  NlExpWorld *world;
  /* The model. */
  GPtrArray *lanes; /* TlLane */
  GArray *rows;     /* TlRow */
  GPtrArray *boxes; /* TlBox */
  GPtrArray *hops;  /* TlHop */
  GPtrArray *bars;  /* TlBar */
  GPtrArray *states; /* TlState */
  GPtrArray *loops; /* TlLoop */
  guint64 more;     /* records left out past max_rows or the row limit */
  NlTime more_until;
  gboolean folded;  /* the row limit folded the rest */
  gboolean edges;   /* some hop goes beyond the figure's edge */
  int decimals;     /* of the time labels */
  const char *hook_colour; /* the first colour the caller's hook gave */
  const char *hook_legend; /* the legend's words for it */
  GPtrArray *calls; /* const char*: call names drawn, first-use order */
  /* The layout. */
  double gap;       /* between lanes */
  double width, height; /* of a page */
  double top, bottom;   /* of the rows' area */
  double axis_x;        /* right edge of the time labels */
  char *title_lines;    /* the title, wrapped to the page */
  guint n_title_lines;
  double title_h;       /* room above the lane headers (title or not) */
  double head_h;        /* lane header boxes: tall enough for their text */
  int n_pages;
  gboolean paged;
  guint crossings;      /* boxes no placement could keep clear of arrows */
  /* What each page draws (after the layout), so that drawing a page costs
   * what is on it: rows [page_row[p], page_row[p + 1]), and the items. */
  guint *page_row;
  GPtrArray **page_hops, **page_boxes, **page_bars, **page_states,
      **page_loops;
} TlModel;

/* timeline-model.c: the model of @trace under @opts; free with _free. */
TlModel *nl__tl_model_new(const NlTrace *trace, const NlTimelineOptions *opts);
void nl__tl_model_free(TlModel *m);

/* timeline-layout.c: widths, wrapping, rows, pages and box placement.
 * @paged FALSE lays everything out on one long page. */
void nl__tl_layout(TlModel *m, gboolean paged);
void nl__tl_pages_free(TlModel *m);

/* The x of a hop's end at lane @l (-1, -2: the left, right edge). */
double nl__tl_end_x(const TlModel *m, int l);
/* A row's y with the pages laid one under another (a line from one page
 * to the next is straight in these coordinates). */
double nl__tl_vy(const TlModel *m, guint row);

/* Text width estimates from Helvetica's and Courier's metrics (the layout
 * must not depend on the fonts of the machine). */
double nl__tl_text_width(const char *text, double size, gboolean bold,
                         gboolean mono);
/* Wraps @text to lines of at most @width points (at spaces and after
 * commas; a word longer than a line is cut); returns the lines joined
 * with '\n' (transfer full).  OUT: @lines, @w (the widest). */
char *nl__tl_wrap(const char *text, double size, gboolean bold, gboolean mono,
                  double width, guint *lines, double *w);

/* The time as the time axis shows it: seconds with @decimals digits. */
void nl__tl_time_axis(NlTime t, int decimals, GString *out);
/* "0 s", "20 ms", "20.5 ms", "1.25 s": short and exact (tooltips). */
void nl__tl_time_short(NlTime t, GString *out);

/* The look of a box of kind @kind. */
typedef struct {
  const char *shape, *style, *fill, *font, *fontcolor;
  double size;
} TlBoxStyle;
const TlBoxStyle *nl__tl_box_style(guint16 kind);

/* Legend colours and words. */
const char *nl__tl_legend_colour(TlLegend l, NlTimelineStyle style);
const char *nl__tl_legend_text(TlLegend l);

/* pdf-merge.c: one PDF of the pages of @n PDFs (each as cairo writes
 * them).  Returns: (transfer full) the PDF, or NULL when a page does not
 * parse.  OUT: @len. */
guint8 *nl__pdf_merge(GBytes *const *pages, guint n, gsize *len);

G_END_DECLS

#endif
