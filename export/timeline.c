/* The timeline: a sequence diagram drawn from the trace.
 *
 * How it is drawn.  Graphviz has no sequence-diagram layout, so this file
 * computes every position itself and asks graphviz only to draw: each
 * element is a node with a `pos` in points, and the graph is laid out with
 * the "nop2" engine (the library form of `neato -n2`), which keeps node
 * positions as given and routes the edges that have none as straight lines
 * (splines=line).  Lanes are a header box and a dashed lifeline edge to an
 * invisible point at the bottom; a packet hop is an edge between two
 * invisible points (clipping off, so the arrow tip touches the lifeline);
 * labels and boxes are fixed-size nodes, so the layout never depends on
 * font metrics.  Checked with graphviz 2.42/2.43 (Debian 12).  The "dot"
 * output keeps the positions, so `neato -n2 -Tsvg file.dot` redraws it.
 *
 * Coordinates here are "down" coordinates (y grows down the page) in
 * points; graphviz's y grows up, so y is negated when written, and graphviz
 * translates the drawing to its bounding box.
 *
 * Determinism: nodes are created in trace order with serial names, hash
 * tables are used only for look-ups, never iterated, and the PDF creation
 * date that cairo writes is replaced by a fixed one.
 */
#include "export/timeline.h"
#include "export/call-help.h"

#include <errno.h>
#include <gvc.h>
#include <string.h>

#include "export/export-priv.h"
#include "sim/net/wire.h"

/* Geometry, in points. */
enum {
  LANE_X0 = 215, /* x of the first lane (clear of the time axis) */
  LANE_W = 250,  /* distance between lanes */
  TIME_X = 84,   /* right edge of the time labels */
  HEAD_W = 140,  /* lane header box */
  HEAD_H = 34,
  ROW_Y0 = 48,     /* y of the first row below the header centre */
  ROW_H = 26,      /* one row per record */
  BOX_H = 18,      /* text boxes on a lane */
  CROSS = 5,       /* half the size of a drop cross */
  FOOTER_ROWS = 16 /* repeat the lane names below this many rows */
};

typedef struct {
  guint32 name;
  char *kind; /* "host", "nat", ... or NULL when never declared */
  int x;
  /* The last packet this lane received, for the "before" of a NAT
   * translation. */
  const guint8 *last_rx;
  guint32 last_rx_len;
  uint64_t last_rx_id;
  /* The last NAT table snapshot of this lane, shown or not. */
  const guint8 *table;
  guint32 table_len;
  NlTime table_time;
} Lane;

typedef struct {
  uint64_t id; /* key of Tl.hops */
  const NlTraceRecord *rec;
  const guint8 *pkt;
  int lane, peer_lane; /* peer_lane -1 when unknown */
  int x, y;
  const char *colour;
  gboolean done;
} Hop;

typedef struct {
  const NlTrace *trace;
  uint64_t kinds;
  guint max_rows;
  NlTimelineColourFn hop_colour;
  gpointer hop_colour_data;
  Agraph_t *g;
  guint serial;
  GArray *lanes;       /* of Lane */
  GHashTable *lane_of; /* interned name -> lane index + 1 */
  GHashTable *hops;    /* &Hop.id -> Hop */
  GPtrArray *hop_list; /* Hop, in send order (owns them) */
  guint rows;          /* rows drawn */
  guint64 more;        /* records not drawn, past max_rows */
  NlTime last_time;    /* of the last record counted in @more */
  guint seen;          /* legend entries used: bits of Legend */
  GString *s, *t;      /* scratch */
} Tl;

/* The legend explains the colours and marks that the drawing uses. */
typedef enum {
  LEGEND_UDP,
  LEGEND_TCP,
  LEGEND_STUN,
  LEGEND_ICMP,
  LEGEND_OTHER,
  LEGEND_DROP,
  LEGEND_XLATE,
  LEGEND_N
} Legend;

static const struct {
  const char *colour, *text;
} legend[LEGEND_N] = {
    [LEGEND_UDP] = {"#1f4e8c", "UDP"},
    [LEGEND_TCP] = {"#212121", "TCP"},
    [LEGEND_STUN] = {"#6a1b9a", "STUN/TURN"},
    [LEGEND_ICMP] = {"#8d5524", "ICMP"},
    [LEGEND_OTHER] = {"#616161", "other IP"},
    [LEGEND_DROP] = {"#d32f2f", "dropped (reason)"},
    [LEGEND_XLATE] = {"#ffcc80", "NAT translation"},
};

/* ---- text ---------------------------------------------------------- */

/* Appends @len bytes of @text to @out as a graphviz escString that shows
 * literally.  Graphviz unescapes a label once but a tooltip twice (checked
 * with 2.43: in a tooltip "\\\\" shows one backslash and "\\\\N" is not the
 * node name), so a backslash becomes two or four (@tip).  '&' becomes an
 * entity, which graphviz keeps in SVG and decodes for cairo.  Control
 * characters and invalid UTF-8 are replaced.  At most @max characters
 * (0: no limit) and, when @one_line, only the first line; a cut ends in
 * an ellipsis. */
static void gv_escape(GString *out, const guint8 *text, gsize len, guint max,
                      gboolean one_line, gboolean tip) {
  const guint8 *p = text, *end = text + len;
  guint n = 0;
  while (p < end) {
    gunichar c = nl__export_next_char(&p, end);
    if ((one_line && c == '\n' && p < end) ||
        (max && n + 1 == max && p < end)) {
      g_string_append(out, "…");
      return;
    }
    if (one_line && c == '\n')
      break;
    n++;
    if (c == '\\')
      g_string_append(out, tip ? "\\\\\\\\" : "\\\\");
    else if (c == '&')
      g_string_append(out, "&amp;");
    else if (c == '\n')
      g_string_append(out, "\\n");
    else if (c == '\t')
      g_string_append_c(out, ' ');
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0))
      g_string_append_c(out, '?');
    else
      g_string_append_unichar(out, c);
  }
}

static void gv_text(GString *out, const guint8 *text, gsize len, guint max,
                    gboolean one_line) {
  gv_escape(out, text, len, max, one_line, FALSE);
}

static void gv_str(GString *out, const char *s) {
  gv_escape(out, (const guint8 *)s, strlen(s), 0, FALSE, FALSE);
}

static void gv_tip(GString *out, const guint8 *text, gsize len) {
  gv_escape(out, text, len, 0, FALSE, TRUE);
}

static void gv_tipstr(GString *out, const char *s) {
  gv_escape(out, (const guint8 *)s, strlen(s), 0, FALSE, TRUE);
}

/* A width for @chars characters at @size points; an estimate, since the
 * layout must not depend on the fonts of the machine. */
static int text_width(guint chars, double size, gboolean mono) {
  return (int)(chars * size * (mono ? 0.62 : 0.6)) + 4;
}

static int bold_width(guint chars, double size) {
  return (int)(chars * size * 0.68) + 4;
}

static guint text_chars(const char *s) {
  return (guint)g_utf8_strlen(s, -1);
}

/* "0 s", "20 ms", "20.5 ms", "1.25 s": short and exact. */
static void time_label(NlTime t, GString *out) {
  char buf[40];
  gboolean neg = t < 0;
  uint64_t a = neg ? (uint64_t)(-(t + 1)) + 1 : (uint64_t)t;
  if (a == 0) {
    g_string_append(out, "0 s");
    return;
  }
  if (a < 1000000000u)
    g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT ".%06" G_GUINT64_FORMAT,
               a / 1000000u, a % 1000000u);
  else
    g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT ".%09" G_GUINT64_FORMAT,
               a / 1000000000u, a % 1000000000u);
  char *e = buf + strlen(buf) - 1;
  while (*e == '0')
    *e-- = '\0';
  if (*e == '.')
    *e = '\0';
  g_string_append_printf(out, "%s%s %s", neg ? "-" : "", buf,
                         a < 1000000000u ? "ms" : "s");
}

/* ---- graphviz helpers ---------------------------------------------- */

static void set(void *obj, const char *name, const char *value) {
  agset(obj, (char *)name, (char *)value);
}

static void set_inches(void *obj, const char *name, int points) {
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  set(obj, name, g_ascii_formatd(buf, sizeof buf, "%.4f", points / 72.0));
}

static void set_size(void *obj, double points) {
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  set(obj, "fontsize", g_ascii_formatd(buf, sizeof buf, "%.1f", points));
}

/* Declares every attribute used, with its default, so that agset works
 * and the output lists them in a fixed order. */
static void declare_attributes(Agraph_t *g) {
  static const char *const graph[][2] = {{"splines", "line"},
                                         {"bgcolor", "white"},
                                         {"pad", "0.25"},
                                         {"outputorder", "breadthfirst"}};
  static const char *const node[][2] = {{"shape", "plaintext"},
                                        {"label", ""},
                                        {"pos", ""},
                                        {"width", "0.01"},
                                        {"height", "0.01"},
                                        {"fixedsize", "true"},
                                        {"margin", "0"},
                                        {"fontname", "Helvetica"},
                                        {"fontsize", "9"},
                                        {"fontcolor", "black"},
                                        {"style", ""},
                                        {"color", "black"},
                                        {"fillcolor", "white"},
                                        {"penwidth", "1"},
                                        {"tooltip", ""},
                                        {"class", ""},
                                        {"id", ""}};
  static const char *const edge[][2] = {
      {"color", "black"},      {"style", ""},
      {"arrowhead", "normal"}, {"arrowsize", "0.7"},
      {"penwidth", "1.2"},     {"headclip", "false"},
      {"tailclip", "false"},   {"tooltip", ""},
      {"class", ""},           {"id", ""}};
  for (size_t i = 0; i < G_N_ELEMENTS(graph); i++)
    agattr(g, AGRAPH, (char *)graph[i][0], (char *)graph[i][1]);
  for (size_t i = 0; i < G_N_ELEMENTS(node); i++)
    agattr(g, AGNODE, (char *)node[i][0], (char *)node[i][1]);
  for (size_t i = 0; i < G_N_ELEMENTS(edge); i++)
    agattr(g, AGEDGE, (char *)edge[i][0], (char *)edge[i][1]);
}

/* A node at (@x, @y) down coordinates, @w x @h points, fixed size. */
static Agnode_t *tl_node(Tl *tl, int x, int y, int w, int h, const char *shape,
                         const char *cls) {
  char name[24], pos[48];
  g_snprintf(name, sizeof name, "n%u", tl->serial++);
  Agnode_t *n = agnode(tl->g, name, 1);
  g_snprintf(pos, sizeof pos, "%d,%d", x, -y);
  set(n, "pos", pos);
  set(n, "shape", shape);
  set_inches(n, "width", w);
  set_inches(n, "height", h);
  if (cls != NULL)
    set(n, "class", cls);
  return n;
}

static Agnode_t *tl_point(Tl *tl, int x, int y) {
  Agnode_t *n = tl_node(tl, x, y, 1, 1, "point", NULL);
  set(n, "style", "invis");
  return n;
}

static Agedge_t *tl_line(Tl *tl, int x1, int y1, int x2, int y2,
                         const char *colour, const char *cls) {
  Agnode_t *a = tl_point(tl, x1, y1), *b = tl_point(tl, x2, y2);
  Agedge_t *e = agedge(tl->g, a, b, NULL, 1);
  set(e, "color", colour);
  if (cls != NULL)
    set(e, "class", cls);
  return e;
}

/* Plain text; @align is 'l', 'r' or 'c' about @x. */
static Agnode_t *tl_text(Tl *tl, int x, int y, const char *label, double size,
                         char align, gboolean bold, const char *cls) {
  /* The label is already escaped; count its characters roughly. */
  int w = bold ? bold_width(text_chars(label), size)
               : text_width(text_chars(label), size, FALSE);
  int cx = align == 'l' ? x + w / 2 : align == 'r' ? x - w / 2 : x;
  Agnode_t *n = tl_node(tl, cx, y, w, (int)(size * 1.3), "plaintext", cls);
  set_size(n, size);
  if (bold)
    set(n, "fontname", "Helvetica-Bold");
  if (align == 'c') {
    set(n, "label", label);
  } else {
    char *l = g_strdup_printf("%s\\%c", label, align);
    set(n, "label", l);
    g_free(l);
  }
  return n;
}

/* ---- lanes ---------------------------------------------------------- */

static int lane_find(const Tl *tl, guint32 name) {
  if (name == 0)
    return -1;
  return GPOINTER_TO_INT(
             g_hash_table_lookup(tl->lane_of, GUINT_TO_POINTER(name))) -
         1;
}

static int lane_add(Tl *tl, guint32 name, const guint8 *kind, guint32 len) {
  int i = lane_find(tl, name);
  if (i >= 0 || name == 0)
    return i;
  Lane l = {0};
  l.name = name;
  l.kind = kind ? g_strndup((const char *)kind, len) : NULL;
  l.x = LANE_X0 + (int)tl->lanes->len * LANE_W;
  g_array_append_val(tl->lanes, l);
  g_hash_table_insert(tl->lane_of, GUINT_TO_POINTER(name),
                      GINT_TO_POINTER(tl->lanes->len));
  return (int)tl->lanes->len - 1;
}

static Lane *lane_at(Tl *tl, int i) {
  return &g_array_index(tl->lanes, Lane, i);
}

static const char *lane_fill(const char *kind) {
  static const char *const fills[][2] = {
      {"host", "#dce9f7"},   {"client", "#dce9f7"},  {"peer", "#dce9f7"},
      {"server", "#d9f0d9"}, {"nat", "#ffe0b8"},     {"cgnat", "#ffe0b8"},
      {"router", "#e4e4e4"}, {"firewall", "#f6d5d5"}};
  for (size_t i = 0; kind && i < G_N_ELEMENTS(fills); i++)
    if (g_str_has_prefix(kind, fills[i][0]))
      return fills[i][1];
  return "#f2f2f2";
}

static void lane_box(Tl *tl, int i, int y) {
  Lane *l = lane_at(tl, i);
  GString *s = tl->s;
  g_string_truncate(s, 0);
  gv_text(s, (const guint8 *)nl_trace_name(tl->trace, l->name),
          strlen(nl_trace_name(tl->trace, l->name)), 22, TRUE);
  if (l->kind != NULL && l->kind[0] != '\0' &&
      strcmp(l->kind, nl_trace_name(tl->trace, l->name)) != 0) {
    g_string_append(s, "\\n");
    gv_text(s, (const guint8 *)l->kind, strlen(l->kind), 22, TRUE);
  }
  Agnode_t *n = tl_node(tl, l->x, y, HEAD_W, HEAD_H, "box", "lane");
  set(n, "label", s->str);
  set(n, "style", "rounded,filled");
  set(n, "fillcolor", lane_fill(l->kind));
  set(n, "fontname", "Helvetica-Bold");
  set_size(n, 11);
  g_string_truncate(tl->t, 0);
  gv_tipstr(tl->t, nl_trace_name(tl->trace, l->name));
  g_string_append_printf(tl->t, " (%s)", l->kind ? l->kind : "undeclared");
  set(n, "tooltip", tl->t->str);
}

/* Lane headers, lifelines and (for long diagrams) footers. */
static void draw_lanes(Tl *tl, int bottom) {
  for (guint i = 0; i < tl->lanes->len; i++) {
    Lane *l = lane_at(tl, (int)i);
    Agedge_t *e =
        tl_line(tl, l->x, HEAD_H / 2, l->x, bottom, "#9e9e9e", "lifeline");
    set(e, "style", "dashed");
    set(e, "arrowhead", "none");
    set(e, "penwidth", "1");
    lane_box(tl, (int)i, 0);
  }
  for (guint i = 0; tl->rows >= FOOTER_ROWS && i < tl->lanes->len; i++)
    lane_box(tl, (int)i, bottom + HEAD_H / 2);
}

/* ---- rows ----------------------------------------------------------- */

static int row_y(guint row) {
  return ROW_Y0 + (int)row * ROW_H;
}

static gboolean shows(const Tl *tl, guint16 kind) {
  if (kind == NL_TRACE_NODE || kind >= NL_TRACE_N_KINDS)
    return FALSE;
  if (kind == NL_TRACE_PKT_RECV)
    kind = NL_TRACE_PKT_SEND;
  return (tl->kinds >> kind) & 1;
}

static Legend proto_legend(const NlPktInfo *i) {
  if (!i->ip)
    return LEGEND_OTHER;
  if (i->app != NULL)
    return LEGEND_STUN;
  switch (i->proto) {
    case NL_IPPROTO_UDP: return LEGEND_UDP;
    case NL_IPPROTO_TCP: return LEGEND_TCP;
    case NL_IPPROTO_ICMP: return LEGEND_ICMP;
    default: return LEGEND_OTHER;
  }
}

static const char *proto_colour(Tl *tl, const NlPktInfo *i) {
  Legend l = proto_legend(i);
  tl->seen |= 1u << l;
  return legend[l].colour;
}

/* A multi-line decode of a packet, escaped for a tooltip. */
static void pkt_tooltip(Tl *tl, const NlTraceRecord *rec, const guint8 *pkt,
                        GString *out) {
  GString *d = tl->t;
  NlPktInfo info;
  nl__export_pkt_info(pkt, rec->len, &info);
  g_string_truncate(d, 0);
  g_string_append_printf(d, "packet #%" G_GUINT64_FORMAT " %s → %s\n", rec->id,
                         nl_trace_name(tl->trace, rec->node),
                         nl_trace_name(tl->trace, rec->peer));
  if (info.app != NULL)
    g_string_append_printf(d, "%s\n", info.app);
  nl_wire_describe(pkt, rec->len, d);
  if (info.ip)
    g_string_append_printf(d, " ttl=%u", info.ttl);
  g_string_append_printf(d, "\n%u bytes on the wire:", rec->len);
  for (guint32 i = 0; i < rec->len && i < 64; i++)
    g_string_append_printf(d, "%s%02x", i % 16 ? " " : "\n", pkt[i]);
  if (rec->len > 64)
    g_string_append(d, "\n…");
  gv_tipstr(out, d->str);
}

static void time_row(Tl *tl, guint row, NlTime t, NlTime *shown) {
  if (row > 0 && t == *shown)
    return;
  *shown = t;
  g_string_truncate(tl->s, 0);
  time_label(t, tl->s);
  Agnode_t *n =
      tl_text(tl, TIME_X, row_y(row), tl->s->str, 9, 'r', FALSE, "time");
  set(n, "fontcolor", "#555555");
}

/* The label of a hop, written above its start, towards the receiver. */
static void hop_label(Tl *tl, Hop *h, const NlPktInfo *info) {
  GString *s = tl->s;
  g_string_truncate(s, 0);
  nl__export_pkt_label(info, h->pkt, h->rec->len, s);
  GString *esc = g_string_new(NULL);
  gv_str(esc, s->str);
  gboolean right = h->peer_lane < 0 || lane_at(tl, h->peer_lane)->x >= h->x;
  Agnode_t *n = tl_text(tl, h->x + (right ? 6 : -6), h->y - 8, esc->str, 9,
                        right ? 'l' : 'r', FALSE, "hop-label");
  set(n, "fontcolor", h->colour);
  g_string_truncate(esc, 0);
  pkt_tooltip(tl, h->rec, h->pkt, esc);
  set(n, "tooltip", esc->str);
  g_string_free(esc, TRUE);
}

static void hop_id(Agedge_t *e, const Hop *h) {
  char id[40];
  g_snprintf(id, sizeof id, "hop-%" G_GUINT64_FORMAT, h->id);
  set(e, "id", id);
}

/* The arrow of a hop that arrived, or was still in flight (@cls). */
static void hop_arrow(Tl *tl, Hop *h, int x, int y, const char *cls,
                      NlTime until) {
  Agedge_t *e;
  if (x == h->x) {
    /* To itself (loopback): out and back. */
    Agedge_t *out = tl_line(tl, h->x, h->y, h->x + 30, (h->y + y) / 2,
                            h->colour, "hop-part");
    set(out, "arrowhead", "none");
    Agnode_t *mid = aghead(out), *end = tl_point(tl, x, y);
    e = agedge(tl->g, mid, end, NULL, 1);
    set(e, "color", h->colour);
    set(e, "class", cls);
  } else {
    e = tl_line(tl, h->x, h->y, x, y, h->colour, cls);
  }
  if (strcmp(cls, "hop") != 0)
    set(e, "style", "dashed");
  hop_id(e, h);
  GString *tip = g_string_new(NULL);
  pkt_tooltip(tl, h->rec, h->pkt, tip);
  g_string_truncate(tl->s, 0);
  g_string_append(tl->s, "\\nsent ");
  time_label(h->rec->time, tl->s);
  g_string_append(tl->s, strcmp(cls, "hop") == 0 ? ", received " : ", ");
  if (strcmp(cls, "hop") == 0)
    time_label(until, tl->s);
  else
    g_string_append(tl->s, "still in flight");
  g_string_append(tip, tl->s->str);
  set(e, "tooltip", tip->str);
  g_string_free(tip, TRUE);
  h->done = TRUE;
}

/* A red cross at (@x, @y) and the reason beside it, away from @from_x. */
static void drop_mark(Tl *tl, int x, int y, int from_x, NlDropReason why,
                      const char *tooltip) {
  tl->seen |= 1u << LEGEND_DROP;
  for (int k = 0; k < 2; k++) {
    /* Two strokes: down and up. */
    int s = k ? -1 : 1;
    Agedge_t *e = tl_line(tl, x - CROSS, y - s * CROSS, x + CROSS,
                          y + s * CROSS, "#d32f2f", "drop");
    set(e, "arrowhead", "none");
    set(e, "penwidth", "2.5");
    set(e, "tooltip", tooltip);
  }
  GString *s = g_string_new(NULL);
  gv_str(s, nl_drop_reason_name(why));
  gboolean right = from_x <= x;
  Agnode_t *n = tl_text(tl, x + (right ? 9 : -9), y, s->str, 9,
                        right ? 'l' : 'r', TRUE, "drop-reason");
  set(n, "fontcolor", "#d32f2f");
  set(n, "tooltip", tooltip);
  g_string_free(s, TRUE);
}

/* Looks at a kind-styled box on a lane; @lane -1 spans every lane. */
typedef struct {
  const char *shape, *style, *fill, *font, *fontcolor;
  double size;
} BoxStyle;

static const BoxStyle *box_style(guint16 kind) {
  static const BoxStyle plain = {"box",       "rounded,filled", "#f2f2f2",
                                 "Helvetica", "#333333",        8.5};
  static const BoxStyle styles[NL_TRACE_N_KINDS] = {
      [NL_TRACE_NAT_XLATE] = {"box", "filled", "#ffcc80", "Helvetica", "black",
                              8.5},
      [NL_TRACE_NAT_MAP] = {"box", "rounded,filled", "#fff3e0", "Helvetica",
                            "#8d4a00", 8.5},
      [NL_TRACE_NAT_TABLE] = {"box", "filled", "#fff3e0", "Helvetica",
                              "#8d4a00", 8.5},
      [NL_TRACE_CALL] = {"box", "filled", "#f5f5f5", "Courier", "#37474f", 8.5},
      [NL_TRACE_TCP_STATE] = {"box", "rounded,filled", "#e3f2fd",
                              "Helvetica-Bold", "#0d47a1", 8.5},
      [NL_TRACE_PROC] = {"box", "rounded,filled", "#eeeeee", "Helvetica",
                         "#424242", 8.5},
      [NL_TRACE_STDOUT] = {"box", "filled", "#fffde7", "Courier", "black", 9},
      [NL_TRACE_STDERR] = {"box", "filled", "#ffebee", "Courier", "#b71c1c", 9},
      [NL_TRACE_STDIN] = {"box", "filled", "#e8f5e9", "Courier", "#1b5e20", 9},
      [NL_TRACE_NOTE] = {"note", "filled", "#fff9c4", "Helvetica-Oblique",
                         "black", 9},
      [NL_TRACE_CHECK] = {"box", "rounded,filled", "#e8f5e9", "Helvetica",
                          "#1b5e20", 8.5},
  };
  if (kind < NL_TRACE_N_KINDS && styles[kind].shape != NULL)
    return &styles[kind];
  return &plain;
}

static gboolean is_mono(const BoxStyle *st) {
  return strcmp(st->font, "Courier") == 0;
}

/* A box with @label (escaped, one line or two) on lane @lane. */
static Agnode_t *event_box(Tl *tl, int lane, int y, guint16 kind,
                           const char *label, guint chars, int lines,
                           const char *tooltip) {
  const BoxStyle *st = box_style(kind);
  int x, w = strstr(st->font, "Bold")
                 ? bold_width(chars, st->size) + 10
                 : text_width(chars, st->size, is_mono(st)) + 10;
  if (lane < 0) {
    int n = MAX(1, (int)tl->lanes->len);
    x = LANE_X0 + (n - 1) * LANE_W / 2;
    w = MAX(w, (n - 1) * LANE_W + HEAD_W);
  } else {
    x = lane_at(tl, lane)->x;
  }
  char cls[32];
  g_snprintf(cls, sizeof cls, "event %s",
             nl_trace_kind_name((NlTraceKind)kind));
  Agnode_t *n =
      tl_node(tl, x, y, w, lines > 1 ? BOX_H + 4 : BOX_H, st->shape, cls);
  set(n, "label", label);
  set(n, "style", st->style);
  set(n, "fillcolor", st->fill);
  set(n, "fontname", st->font);
  set(n, "fontcolor", st->fontcolor);
  set(n, "color", "#9e9e9e");
  set(n, "penwidth", "0.8");
  set_size(n, lines > 1 ? st->size - 1 : st->size);
  set(n, "tooltip", tooltip);
  return n;
}

/* The most characters a box on one lane holds. */
static guint box_max_chars(guint16 kind, int lane) {
  const BoxStyle *st = box_style(kind);
  int room = lane < 0 ? 4 * LANE_W : LANE_W - 24;
  return (guint)(room / (st->size * (is_mono(st) ? 0.62 : 0.56)));
}

/* Appends the NAT table last recorded at @lane, if any, to a tooltip. */
static void table_tip(Tl *tl, int lane, GString *tip) {
  const Lane *l = lane >= 0 ? lane_at(tl, lane) : NULL;
  if (l == NULL || l->table == NULL)
    return;
  g_string_truncate(tl->s, 0);
  g_string_append(tl->s, "\nNAT table at ");
  time_label(l->table_time, tl->s);
  g_string_append(tl->s, ":\n");
  gv_tipstr(tip, tl->s->str);
  gv_tip(tip, l->table, l->table_len);
}

/* The label of an expectation: its outcome first, without the file and
 * line ("…/x.nlab:33: pass: expect …" → "pass: expect …"); the tooltip
 * keeps them.  OUT: @failed. */
static gsize check_label_start(const guint8 *text, guint32 len,
                               gboolean *failed) {
  static const char *const marks[] = {": pass: ", ": fail: ", ": FAIL: "};
  for (gsize i = 0; i + 8 <= len; i++) {
    for (size_t m = 0; m < G_N_ELEMENTS(marks); m++) {
      if (memcmp(text + i, marks[m], 8) == 0) {
        *failed = m > 0;
        return i + 2;
      }
    }
  }
  char *lower = g_ascii_strdown((const char *)text, len);
  *failed = strstr(lower, "fail") != NULL;
  g_free(lower);
  return 0;
}

static void text_box(Tl *tl, const NlTraceRecord *rec, const guint8 *payload,
                     int lane, int y) {
  GString *label = g_string_new(NULL), *tip = g_string_new(NULL);
  gboolean failed = FALSE;
  gsize skip = rec->kind == NL_TRACE_CHECK
                   ? check_label_start(payload, rec->len, &failed)
                   : 0;
  gv_text(label, payload + skip, rec->len - skip,
          box_max_chars(rec->kind, lane), TRUE);
  /* Tooltip: the kind, where, and the whole text (for a call, the C call
   * and its result). */
  g_string_truncate(tl->t, 0);
  g_string_append_printf(
      tl->t, "%s at %s", nl_trace_kind_name((NlTraceKind)rec->kind),
      rec->node ? nl_trace_name(tl->trace, rec->node) : "(scenario)");
  if (rec->peer)
    g_string_append_printf(tl->t, " [%s]", nl_trace_name(tl->trace, rec->peer));
  g_string_append(tl->t, ", ");
  time_label(rec->time, tl->t);
  g_string_append_c(tl->t, '\n');
  gv_tipstr(tip, tl->t->str);
  gv_tip(tip, payload, rec->len);
  const NlCallHelp *help = rec->kind == NL_TRACE_CALL
                               ? nl_call_help_for((const char *)payload,
                                                  rec->len)
                               : NULL;
  if (help != NULL) {
    g_string_truncate(tl->t, 0);
    g_string_append_printf(tl->t, "\n\n%s\nPython: %s\nBlocks on: %s\n"
                           "Errors: %s",
                           help->signature, help->python,
                           help->blocks ? help->blocks : "nothing",
                           help->errors);
    gv_tipstr(tip, tl->t->str);
  }
  if (rec->kind == NL_TRACE_NAT_MAP)
    table_tip(tl, lane, tip);
  Agnode_t *n = event_box(tl, lane, y, rec->kind, label->str,
                          text_chars(label->str), 1, tip->str);
  if (rec->kind == NL_TRACE_CHECK && failed) {
    set(n, "fillcolor", "#ffebee");
    set(n, "fontcolor", "#b71c1c");
  }
  g_string_free(label, TRUE);
  g_string_free(tip, TRUE);
}

/* A NAT translation: what changed, from the packet the NAT last received
 * (the same hop id when there is one) to the rewritten bytes. */
static void xlate_box(Tl *tl, const NlTraceRecord *rec, const guint8 *pkt,
                      int lane, int y) {
  Lane *l = lane >= 0 ? lane_at(tl, lane) : NULL;
  NlPktInfo before, after;
  tl->seen |= 1u << LEGEND_XLATE;
  nl__export_pkt_info(pkt, rec->len, &after);
  gboolean have = l != NULL && l->last_rx != NULL;
  if (have)
    nl__export_pkt_info(l->last_rx, l->last_rx_len, &before);
  GString *s = tl->s, *plain = g_string_new(NULL);
  g_string_truncate(s, 0);
  int lines = 0;
  if (have && before.ip && after.ip) {
    for (int src = 1; src >= 0; src--) {
      gboolean changed =
          src ? (before.src != after.src || before.sport != after.sport)
              : (before.dst != after.dst || before.dport != after.dport);
      if (!changed)
        continue;
      if (lines++)
        g_string_append_c(s, '\n');
      g_string_append(s, src ? "src " : "dst ");
      nl__export_endpoint(&before, src, s);
      g_string_append(s, " → ");
      nl__export_endpoint(&after, src, s);
    }
  }
  if (lines == 0) {
    g_string_append(s, "NAT ");
    nl__export_pkt_label(&after, pkt, rec->len, s);
    lines = 1;
  }
  gv_str(plain, s->str);
  guint chars = 0;
  gchar **parts = g_strsplit(s->str, "\n", 0);
  for (int i = 0; parts[i]; i++)
    chars = MAX(chars, text_chars(parts[i]));
  g_strfreev(parts);
  GString *tip = g_string_new(NULL);
  g_string_truncate(tl->t, 0);
  g_string_append_printf(tl->t, "NAT %s translated, ",
                         nl_trace_name(tl->trace, rec->node));
  time_label(rec->time, tl->t);
  g_string_append(tl->t, "\nbefore: ");
  if (have)
    nl_wire_describe(l->last_rx, l->last_rx_len, tl->t);
  else
    g_string_append(tl->t, "(not in the trace)");
  g_string_append(tl->t, "\nafter: ");
  nl_wire_describe(pkt, rec->len, tl->t);
  gv_tipstr(tip, tl->t->str);
  table_tip(tl, lane, tip);
  event_box(tl, lane, y, rec->kind, plain->str, chars, lines, tip->str);
  g_string_free(plain, TRUE);
  g_string_free(tip, TRUE);
}

static int drop_x(Tl *tl, const Hop *h, int lane) {
  if (lane >= 0 && lane != h->lane)
    return lane_at(tl, lane)->x;
  /* Dropped at the sender (queue full, no route): part of the way. */
  int dir = h->peer_lane >= 0 && lane_at(tl, h->peer_lane)->x < h->x ? -1 : 1;
  return h->x + dir * LANE_W * 2 / 5;
}

static void draw_record(Tl *tl, const NlTraceRecord *rec, const guint8 *payload,
                        guint row) {
  int y = row_y(row), lane = lane_find(tl, rec->node);
  switch (rec->kind) {
    case NL_TRACE_PKT_SEND: {
      if (lane < 0)
        return;
      Hop *h = g_new0(Hop, 1);
      NlPktInfo info;
      nl__export_pkt_info(payload, rec->len, &info);
      h->id = rec->id;
      h->rec = rec;
      h->pkt = payload;
      h->lane = lane;
      h->peer_lane = lane_find(tl, rec->peer);
      h->x = lane_at(tl, lane)->x;
      h->y = y;
      h->colour = NULL;
      if (tl->hop_colour != NULL)
        h->colour =
            tl->hop_colour(tl->trace, rec, payload, tl->hop_colour_data);
      if (h->colour == NULL)
        h->colour = proto_colour(tl, &info);
      g_ptr_array_add(tl->hop_list, h);
      g_hash_table_insert(tl->hops, &h->id, h);
      hop_label(tl, h, &info);
      return;
    }
    case NL_TRACE_PKT_RECV: {
      Hop *h = g_hash_table_lookup(tl->hops, &rec->id);
      if (lane < 0)
        return;
      if (h != NULL && !h->done) {
        hop_arrow(tl, h, lane_at(tl, lane)->x, y, "hop", rec->time);
        return;
      }
      /* Its send is not in the trace: a short arrow in from the peer. */
      Hop tmp = {.id = rec->id,
                 .rec = rec,
                 .pkt = payload,
                 .lane = lane,
                 .peer_lane = -1,
                 .y = y};
      int from = lane_find(tl, rec->peer);
      NlPktInfo info;
      nl__export_pkt_info(payload, rec->len, &info);
      tmp.colour = proto_colour(tl, &info);
      tmp.x = from >= 0 ? lane_at(tl, from)->x : lane_at(tl, lane)->x - 60;
      hop_arrow(tl, &tmp, lane_at(tl, lane)->x, y, "hop", rec->time);
      return;
    }
    case NL_TRACE_PKT_DROP: {
      Hop *h = g_hash_table_lookup(tl->hops, &rec->id);
      GString *tip = g_string_new(NULL);
      g_string_truncate(tl->t, 0);
      g_string_append_printf(tl->t, "dropped at %s: %s, ",
                             rec->node ? nl_trace_name(tl->trace, rec->node)
                                       : "?",
                             nl_drop_reason_name(nl_trace_drop_reason(rec->aux)));
      time_label(rec->time, tl->t);
      g_string_append_c(tl->t, '\n');
      gv_tipstr(tip, tl->t->str);
      pkt_tooltip(tl, rec, payload, tip);
      if (h != NULL && !h->done) {
        int x = drop_x(tl, h, lane);
        Agedge_t *e = tl_line(tl, h->x, h->y, x, y, h->colour, "hop lost");
        set(e, "style", "dashed");
        set(e, "arrowhead", "none");
        set(e, "tooltip", tip->str);
        hop_id(e, h);
        h->done = TRUE;
        drop_mark(tl, x, y, h->x, nl_trace_drop_reason(rec->aux), tip->str);
      } else if (lane >= 0) {
        drop_mark(tl, lane_at(tl, lane)->x, y, 0, nl_trace_drop_reason(rec->aux),
                  tip->str);
      }
      g_string_free(tip, TRUE);
      return;
    }
    case NL_TRACE_NAT_XLATE: xlate_box(tl, rec, payload, lane, y); return;
    case NL_TRACE_PKT_DELIVER: {
      GString *label = g_string_new(NULL), *tip = g_string_new(NULL);
      NlPktInfo info;
      nl__export_pkt_info(payload, rec->len, &info);
      g_string_truncate(tl->s, 0);
      g_string_append(tl->s, "deliver ");
      nl__export_pkt_label(&info, payload, rec->len, tl->s);
      gv_text(label, (const guint8 *)tl->s->str, tl->s->len,
              box_max_chars(rec->kind, lane), TRUE);
      pkt_tooltip(tl, rec, payload, tip);
      event_box(tl, lane, y, rec->kind, label->str, text_chars(label->str), 1,
                tip->str);
      g_string_free(label, TRUE);
      g_string_free(tip, TRUE);
      return;
    }
    default: text_box(tl, rec, payload, lane, y); return;
  }
}

/* Remembers the packets each lane receives, whether drawn or not. */
static void note_state(Tl *tl, const NlTraceRecord *rec,
                       const guint8 *payload) {
  if (rec->kind != NL_TRACE_PKT_RECV && rec->kind != NL_TRACE_NAT_TABLE)
    return;
  int lane = lane_find(tl, rec->node);
  if (lane < 0)
    return;
  Lane *l = lane_at(tl, lane);
  if (rec->kind == NL_TRACE_NAT_TABLE) {
    l->table = payload;
    l->table_len = rec->len;
    l->table_time = rec->time;
    return;
  }
  l->last_rx = payload;
  l->last_rx_len = rec->len;
  l->last_rx_id = rec->id;
}

/* ---- the whole drawing ---------------------------------------------- */

/* Can @rec share the row of @prev?  A node that passes a packet on at the
 * instant it arrives (a router forwarding) draws the hop out from the same
 * point the hop in ended, when the two go opposite ways, so a path reads as
 * one line and takes fewer rows. */
static gboolean merges(const Tl *tl, const NlTraceRecord *prev,
                       const NlTraceRecord *rec) {
  if (prev->kind != NL_TRACE_PKT_RECV || rec->kind != NL_TRACE_PKT_SEND ||
      prev->node != rec->node || prev->time != rec->time)
    return FALSE;
  int me = lane_find(tl, rec->node), in = lane_find(tl, prev->peer),
      out = lane_find(tl, rec->peer);
  return me >= 0 && in >= 0 && out >= 0 && (in - me) * (out - me) < 0;
}

/* Gives each shown record, in order, its row. */
typedef struct {
  const NlTraceRecord *prev;
  guint64 next;
} RowStep;

static guint64 row_step(const Tl *tl, RowStep *st, const NlTraceRecord *rec) {
  guint64 row =
      st->prev != NULL && merges(tl, st->prev, rec) ? st->next - 1 : st->next++;
  st->prev = rec;
  return row;
}

/* Before drawing: the lanes (declared ones first, in declaration order,
 * then the undeclared in first-use order), then the rows. */
static void plan(Tl *tl) {
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, tl->trace);
  while (nl_trace_iter_next(&it, &rec, &p))
    if (rec->kind == NL_TRACE_NODE)
      lane_add(tl, rec->node, p, rec->len);
  nl_trace_iter_init(&it, tl->trace);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (!shows(tl, rec->kind))
      continue;
    lane_add(tl, rec->node, NULL, 0);
    if (rec->kind == NL_TRACE_PKT_SEND)
      lane_add(tl, rec->peer, NULL, 0);
  }
  RowStep st = {0};
  nl_trace_iter_init(&it, tl->trace);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (shows(tl, rec->kind) && row_step(tl, &st, rec) >= tl->max_rows) {
      tl->more++;
      tl->last_time = rec->time;
    }
  }
  tl->rows = (guint)MIN(st.next, (guint64)tl->max_rows);
}

/* One line of legend entries under the drawing, for what it used. */
static void draw_legend(Tl *tl, int y) {
  int x = LANE_X0 - HEAD_W / 2;
  for (int i = 0; i < LEGEND_N; i++) {
    if (!(tl->seen & (1u << i)))
      continue;
    Agnode_t *n;
    if (i == LEGEND_XLATE) {
      n = tl_node(tl, x + 12, y, 24, 12, "box", "legend");
      set(n, "style", "filled");
      set(n, "fillcolor", legend[i].colour);
      set(n, "color", "#9e9e9e");
    } else if (i == LEGEND_DROP) {
      for (int k = 0; k < 2; k++) {
        int s = k ? -1 : 1;
        Agedge_t *e = tl_line(tl, x + 12 - CROSS, y - s * CROSS, x + 12 + CROSS,
                              y + s * CROSS, legend[i].colour, "legend");
        set(e, "arrowhead", "none");
        set(e, "penwidth", "2.5");
      }
    } else {
      Agedge_t *e = tl_line(tl, x, y, x + 24, y, legend[i].colour, "legend");
      set(e, "penwidth", "1.5");
    }
    n = tl_text(tl, x + 30, y, legend[i].text, 9, 'l', FALSE, "legend");
    x += 30 + text_width(text_chars(legend[i].text), 9, FALSE) + 18;
  }
}

static void draw(Tl *tl) {
  int end_y = row_y(tl->rows) + (tl->more ? ROW_H : 0);
  int bottom = end_y + ROW_H / 2;
  if (tl->rows >= FOOTER_ROWS)
    bottom += ROW_H / 2;

  draw_lanes(tl, bottom);

  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  NlTime shown_time = 0;
  RowStep st = {0};
  nl_trace_iter_init(&it, tl->trace);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (shows(tl, rec->kind)) {
      guint64 row = row_step(tl, &st, rec);
      if (row >= tl->rows)
        break;
      time_row(tl, (guint)row, rec->time, &shown_time);
      draw_record(tl, rec, p, (guint)row);
    }
    note_state(tl, rec, p);
  }

  /* Hops still open: in flight at the end of the trace, or beyond the
   * rows drawn.  In send order. */
  for (guint i = 0; i < tl->hop_list->len; i++) {
    Hop *h = g_ptr_array_index(tl->hop_list, i);
    if (h->done || h->peer_lane < 0)
      continue;
    hop_arrow(tl, h, lane_at(tl, h->peer_lane)->x, end_y, "hop in-flight", 0);
  }

  if (tl->more) {
    g_string_truncate(tl->s, 0);
    g_string_append_printf(tl->s, "… %" G_GUINT64_FORMAT " more event%s (to ",
                           tl->more, tl->more == 1 ? "" : "s");
    time_label(tl->last_time, tl->s);
    g_string_append(tl->s, ")");
    int n = MAX(1, (int)tl->lanes->len);
    Agnode_t *m = tl_text(tl, LANE_X0 + (n - 1) * LANE_W / 2, end_y, tl->s->str,
                          10, 'c', FALSE, "more");
    set(m, "fontname", "Helvetica-Oblique");
    set(m, "style", "filled");
    set(m, "fillcolor", "white");
  }
  draw_legend(tl, bottom + (tl->rows >= FOOTER_ROWS ? HEAD_H + 12 : 20));
}

static void draw_title(Tl *tl, const char *title) {
  if (title == NULL || title[0] == '\0')
    return;
  GString *s = g_string_new(NULL);
  gv_text(s, (const guint8 *)title, strlen(title), 120, TRUE);
  tl_text(tl, LANE_X0 - HEAD_W / 2, -HEAD_H - 10, s->str, 16, 'l', TRUE,
          "title");
  g_string_free(s, TRUE);
}

/* cairo writes the wall-clock time into a PDF's /CreationDate; overwrite
 * its digits (and time-zone offset) in place, keeping every byte offset. */
static void pdf_fix_dates(char *data, gsize len) {
  static const char *const keys[] = {"/CreationDate (D:", "/ModDate (D:"};
  for (size_t k = 0; k < G_N_ELEMENTS(keys); k++) {
    gsize kl = strlen(keys[k]);
    for (gsize i = 0; i + kl < len; i++) {
      if (memcmp(data + i, keys[k], kl) != 0)
        continue;
      const char *fixed = "19700101000000";
      for (gsize j = i + kl; j < len && data[j] != ')'; j++) {
        if (*fixed)
          data[j] = *fixed++;
        else if (g_ascii_isdigit(data[j]))
          data[j] = '0';
        else if (data[j] == '-')
          data[j] = '+';
      }
    }
  }
}

/* One graphviz context for the process.  Graphviz 2.42's pango plugin
 * keeps a pointer to the last font name it measured, and that name belongs
 * to the context: freeing the context after each render leaves the next
 * render comparing against freed memory (AddressSanitizer sees it).  A
 * context that lives as long as the process avoids that, and saves
 * loading the plugins again.  Graphviz is not thread-safe, so renders take
 * a lock. */
G_LOCK_DEFINE_STATIC(graphviz);

static GVC_t *graphviz_context(void) {
  static GVC_t *gvc;
  if (gvc == NULL)
    gvc = gvContext();
  return gvc;
}

guint8 *nl_timeline_render(const NlTrace *trace, const char *format,
                           const NlTimelineOptions *opts, gsize *len,
                           GError **error) {
  g_return_val_if_fail(trace != NULL, NULL);
  g_return_val_if_fail(format != NULL, NULL);
  g_return_val_if_fail(len != NULL, NULL);
  *len = 0;
  static const char *const formats[] = {"dot", "svg", "png", "pdf"};
  gboolean known = FALSE;
  for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
    known = known || strcmp(format, formats[i]) == 0;
  if (!known) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_FORMAT,
                "timeline format \"%s\" is not one of dot, svg, png, pdf",
                format);
    return NULL;
  }

  Tl tl = {0};
  tl.trace = trace;
  tl.kinds = opts && opts->kinds ? opts->kinds : NL_TIMELINE_DEFAULT_KINDS;
  tl.max_rows =
      opts && opts->max_rows ? opts->max_rows : NL_TIMELINE_DEFAULT_ROWS;
  tl.hop_colour = opts ? opts->hop_colour : NULL;
  tl.hop_colour_data = opts ? opts->hop_colour_data : NULL;
  tl.lanes = g_array_new(FALSE, TRUE, sizeof(Lane));
  tl.lane_of = g_hash_table_new(g_direct_hash, g_direct_equal);
  tl.hops = g_hash_table_new(g_int64_hash, g_int64_equal);
  tl.hop_list = g_ptr_array_new_with_free_func(g_free);
  tl.s = g_string_new(NULL);
  tl.t = g_string_new(NULL);

  guint8 *result = NULL;
  G_LOCK(graphviz);
  GVC_t *gvc = graphviz_context();
  tl.g = agopen((char *)"timeline", Agdirected, NULL);
  declare_attributes(tl.g);
  plan(&tl);
  draw_title(&tl, opts ? opts->title : NULL);
  draw(&tl);

  char *data = NULL;
  unsigned int size = 0;
  /* Graphviz warns on stderr (e.g. a label wider than its fixed-size
   * node); the drawing is still right, so only errors are shown. */
  agerrlevel_t level = agseterr(AGERR);
  if (gvLayout(gvc, tl.g, "nop2") != 0) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_RENDER,
                "graphviz could not lay out the timeline");
    goto fail_layout;
  }
  if (gvRenderData(gvc, tl.g, format, &data, &size) != 0 || data == NULL) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_RENDER,
                "graphviz has no \"%s\" renderer here (is the cairo plugin "
                "of graphviz installed?)",
                format);
    goto fail_render;
  }
  if (strcmp(format, "pdf") == 0)
    pdf_fix_dates(data, size);
  result = g_malloc(size + 1);
  memcpy(result, data, size);
  result[size] = 0;
  *len = size;
  gvFreeRenderData(data);
fail_render:
  gvFreeLayout(gvc, tl.g);
fail_layout:
  agseterr(level);
  agclose(tl.g);
  G_UNLOCK(graphviz);
  for (guint i = 0; i < tl.lanes->len; i++)
    g_free(lane_at(&tl, (int)i)->kind);
  g_array_free(tl.lanes, TRUE);
  g_hash_table_destroy(tl.lane_of);
  g_hash_table_destroy(tl.hops);
  g_ptr_array_free(tl.hop_list, TRUE);
  g_string_free(tl.s, TRUE);
  g_string_free(tl.t, TRUE);
  return result;
}

/* Output formats by file extension (STYLE rule 15). */
static const struct {
  const char *ext, *format;
} extensions[] = {
    {".dot", "dot"}, {".gv", "dot"},  {".svg", "svg"},
    {".png", "png"}, {".pdf", "pdf"},
};

const char *nl_timeline_format_of(const char *filename) {
  const char *format = NULL;
  char *lower = g_ascii_strdown(filename, -1);
  for (size_t i = 0; i < G_N_ELEMENTS(extensions); i++)
    if (g_str_has_suffix(lower, extensions[i].ext))
      format = extensions[i].format;
  g_free(lower);
  return format;
}

gboolean nl_timeline_write(const NlTrace *trace, const char *filename,
                           const NlTimelineOptions *opts, GError **error) {
  g_return_val_if_fail(filename != NULL, FALSE);
  const char *format = nl_timeline_format_of(filename);
  if (format == NULL) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_FORMAT,
                "%s: a timeline file ends in .svg, .png, .pdf or .dot",
                filename);
    return FALSE;
  }
  gsize len;
  guint8 *data = nl_timeline_render(trace, format, opts, &len, error);
  if (data == NULL)
    return FALSE;
  GError *err = NULL;
  gboolean ok =
      g_file_set_contents(filename, (const char *)data, (gssize)len, &err);
  if (!ok) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_IO, "%s", err->message);
    g_error_free(err);
  }
  g_free(data);
  return ok;
}
