/* The timeline: a sequence diagram drawn from the trace.
 *
 * How it is drawn.  Graphviz has no sequence-diagram layout, so the model
 * (timeline-model.c) and the layout (timeline-layout.c) compute every
 * position, and this file asks graphviz only to draw: each element is a
 * node with a `pos` in points, and each page is laid out with the "nop2"
 * engine (the library form of `neato -n2`), which keeps node positions as
 * given and draws the edges that have none as straight lines
 * (splines=line).  Lanes are a header box and a dashed lifeline edge; a
 * packet hop is an edge between two invisible points (clipping off, so
 * the arrow tip touches the lifeline); labels and boxes are fixed-size
 * nodes, so the drawing never depends on font metrics.  Two invisible
 * points at the corners make each page exactly its size (16:9).  Checked
 * with graphviz 2.42/2.43 (Debian 12).  The "dot" output keeps the
 * positions, so `neato -n2 -Tsvg file.dot` redraws it.
 *
 * Graphviz's y grows up, so y is negated when written.
 *
 * Determinism: nodes are created in a fixed order with serial names, hash
 * tables are used only for look-ups, never iterated; PDF pages are merged
 * by pdf-merge.c, which writes no date.
 */
#include "export/timeline.h"

#include <gvc.h>
#include <string.h>

#include "export/call-help.h"
#include "export/timeline-priv.h"

/* ---- text ---------------------------------------------------------- */

/* Appends @text (valid UTF-8) to @out as a graphviz escString that shows
 * literally.  Graphviz unescapes a label once but a tooltip twice (checked
 * with 2.43: in a tooltip "\\\\" shows one backslash and "\\\\N" is not the
 * node name), so a backslash becomes two or four (@tip).  '&' becomes an
 * entity, which graphviz keeps in SVG and decodes for cairo.  Newlines
 * become graphviz line breaks; @just ('l', 'r', 'n') ends each line
 * justified left, right or centred. */
static void gv_escape(GString *out, const char *text, gboolean tip,
                      char just) {
  for (const char *p = text; *p; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (c == '\\')
      g_string_append(out, tip ? "\\\\\\\\" : "\\\\");
    else if (c == '&')
      g_string_append(out, "&amp;");
    else if (c == '\n')
      g_string_append_printf(out, "\\%c", just == 'n' ? 'n' : just);
    else if (c < 0x20)
      g_string_append_c(out, '?');
    else
      g_string_append_unichar(out, c);
  }
  if (!tip && just != 'n')
    g_string_append_printf(out, "\\%c", just);
}

/* ---- graphviz helpers ---------------------------------------------- */

typedef struct {
  TlModel *m;
  Agraph_t *g;
  guint serial;
  int page;
  double y_off; /* virtual y of this page's coordinates */
  guint seen;   /* legend entries drawn on this page: bits of TlLegend */
  GString *s;
} Pg;

static void set(void *obj, const char *name, const char *value) {
  agset(obj, (char *)name, (char *)value);
}

static void set_inches(void *obj, const char *name, double points) {
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  set(obj, name, g_ascii_formatd(buf, sizeof buf, "%.4f", points / 72.0));
}

static void set_num(void *obj, const char *name, double v) {
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  set(obj, name, g_ascii_formatd(buf, sizeof buf, "%.1f", v));
}

/* Declares every attribute used, with its default, so that agset works
 * and the output lists them in a fixed order. */
static void declare_attributes(Agraph_t *g, gboolean png) {
  static const char *const graph[][2] = {{"splines", "line"},
                                         {"bgcolor", "white"},
                                         {"pad", "0"},
                                         {"margin", "0"},
                                         {"outputorder", "edgesfirst"}};
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
  /* Bitmaps at twice a slide's points: 1920 x 1080 for a 960 x 540 page. */
  agattr(g, AGRAPH, (char *)"dpi", png ? (char *)"144" : (char *)"72");
  for (size_t i = 0; i < G_N_ELEMENTS(node); i++)
    agattr(g, AGNODE, (char *)node[i][0], (char *)node[i][1]);
  for (size_t i = 0; i < G_N_ELEMENTS(edge); i++)
    agattr(g, AGEDGE, (char *)edge[i][0], (char *)edge[i][1]);
}

/* A node at (@x, @y) (down coordinates), @w x @h points. */
static Agnode_t *node_at(Pg *pg, double x, double y, double w, double h,
                         const char *shape, const char *cls) {
  char name[24], pos[64], bx[G_ASCII_DTOSTR_BUF_SIZE],
      by[G_ASCII_DTOSTR_BUF_SIZE];
  g_snprintf(name, sizeof name, "n%u", pg->serial++);
  Agnode_t *n = agnode(pg->g, name, 1);
  g_snprintf(pos, sizeof pos, "%s,%s", g_ascii_formatd(bx, sizeof bx, "%.1f", x),
             g_ascii_formatd(by, sizeof by, "%.1f", -y));
  set(n, "pos", pos);
  set(n, "shape", shape);
  set_inches(n, "width", MAX(w, 0.5));
  set_inches(n, "height", MAX(h, 0.5));
  if (cls != NULL)
    set(n, "class", cls);
  return n;
}

static Agnode_t *point_at(Pg *pg, double x, double y) {
  Agnode_t *n = node_at(pg, x, y, 1, 1, "point", NULL);
  set(n, "style", "invis");
  return n;
}

static Agedge_t *line(Pg *pg, double x1, double y1, double x2, double y2,
                      const char *colour, const char *cls) {
  Agnode_t *a = point_at(pg, x1, y1), *b = point_at(pg, x2, y2);
  Agedge_t *e = agedge(pg->g, a, b, NULL, 1);
  set(e, "color", colour);
  if (cls != NULL)
    set(e, "class", cls);
  return e;
}

/* Plain text (already escaped, one line); @align 'l', 'r' or 'c' about
 * @x. */
static Agnode_t *text_at(Pg *pg, double x, double y, const char *plain,
                         double size, char align, gboolean bold,
                         const char *cls) {
  double w = nl__tl_text_width(plain, size, bold, FALSE) + 4;
  double cx = align == 'l' ? x + w / 2 : align == 'r' ? x - w / 2 : x;
  Agnode_t *n = node_at(pg, cx, y, w, size * 1.3, "plaintext", cls);
  set_num(n, "fontsize", size);
  if (bold)
    set(n, "fontname", "Helvetica-Bold");
  g_string_truncate(pg->s, 0);
  gv_escape(pg->s, plain, FALSE, align == 'c' ? 'n' : align);
  set(n, "label", pg->s->str);
  return n;
}

static void tip(void *obj, const char *plain, GString *scratch) {
  g_string_truncate(scratch, 0);
  gv_escape(scratch, plain, TRUE, 'n');
  set(obj, "tooltip", scratch->str);
}

/* ---- page geometry -------------------------------------------------- */

static TlRow *row_at(const TlModel *m, guint i) {
  return &g_array_index(m->rows, TlRow, i);
}

static TlLane *lane_at(const TlModel *m, int i) {
  return g_ptr_array_index(m->lanes, i);
}

/* Virtual y to this page's y. */
static double py(const Pg *pg, double vy) {
  return vy - pg->y_off;
}

static gboolean on_page(const Pg *pg, guint row) {
  return row < pg->m->rows->len && row_at(pg->m, row)->page == pg->page;
}

/* ---- lanes ----------------------------------------------------------- */

static const char *lane_fill(const char *kind) {
  static const char *const fills[][2] = {
      {"host", "#dce9f7"},   {"client", "#dce9f7"}, {"peer", "#dce9f7"},
      {"program", "#e8eaf6"}, {"server", "#d9f0d9"}, {"nat", "#ffe0b8"},
      {"cgnat", "#ffe0b8"},  {"router", "#e4e4e4"}, {"firewall", "#f6d5d5"}};
  for (size_t i = 0; kind && i < G_N_ELEMENTS(fills); i++)
    if (g_str_has_prefix(kind, fills[i][0]))
      return fills[i][1];
  return "#f2f2f2";
}

static void lane_header(Pg *pg, int i, double y) {
  TlLane *l = lane_at(pg->m, i);
  GString *s = g_string_new(NULL);
  char *label = nl__tl_wrap(l->label, 11, TRUE, FALSE, TL_HEAD_W - 10, NULL,
                            NULL);
  gv_escape(s, label, FALSE, 'n');
  g_free(label);
  if (l->sub != NULL) {
    g_string_append(s, "\\n");
    gv_escape(s, l->sub, FALSE, 'n');
  }
  Agnode_t *n = node_at(pg, l->x, y, TL_HEAD_W, pg->m->head_h, "box", "lane");
  set(n, "label", s->str);
  set(n, "style", "rounded,filled");
  set(n, "fillcolor", lane_fill(l->kind));
  set(n, "fontname", "Helvetica-Bold");
  set_num(n, "fontsize", 11);
  g_string_printf(s, "%s (%s)", l->key, l->kind ? l->kind : "undeclared");
  tip(n, s->str, pg->s);
  g_string_free(s, TRUE);
}

static double header_y(const TlModel *m) {
  return m->title_h + m->head_h / 2;
}

static void draw_lanes(Pg *pg, double bottom) {
  const TlModel *m = pg->m;
  double hy = header_y(m);
  for (guint i = 0; i < m->lanes->len; i++) {
    TlLane *l = lane_at(m, (int)i);
    Agedge_t *e = line(pg, l->x, hy + m->head_h / 2, l->x, bottom, "#9e9e9e",
                       "lifeline");
    set(e, "style", "dashed");
    set(e, "arrowhead", "none");
    set(e, "penwidth", "1");
    lane_header(pg, (int)i, hy);
  }
}

/* ---- rows: time labels ----------------------------------------------- */

static void time_labels(Pg *pg) {
  const TlModel *m = pg->m;
  NlTime shown = 0;
  gboolean first = TRUE;
  for (guint i = m->page_row[pg->page]; i < m->page_row[pg->page + 1]; i++) {
    const TlRow *r = row_at(m, i);
    if (!first && r->time == shown)
      continue;
    first = FALSE;
    shown = r->time;
    g_string_truncate(pg->s, 0);
    GString *t = g_string_new(NULL);
    nl__tl_time_axis(r->time, m->decimals, t);
    Agnode_t *n = text_at(pg, m->axis_x, r->y, t->str, TL_FONT, 'r', FALSE,
                          "time");
    set(n, "fontcolor", "#555555");
    g_string_free(t, TRUE);
  }
}

/* ---- boxes ----------------------------------------------------------- */

static void draw_box(Pg *pg, const TlBox *x) {
  const TlRow *r = row_at(pg->m, x->row);
  const TlBoxStyle *st = nl__tl_box_style(x->kind);
  char cls[48];
  g_snprintf(cls, sizeof cls, "event %s%s%s",
             nl_trace_kind_name((NlTraceKind)x->kind), x->cls ? " " : "",
             x->cls ? x->cls : "");
  Agnode_t *n = node_at(pg, x->x, r->y, x->w, x->h, st->shape, cls);
  g_string_truncate(pg->s, 0);
  gv_escape(pg->s, x->text, FALSE, 'n');
  set(n, "label", pg->s->str);
  set(n, "style", st->style);
  set(n, "fillcolor", x->fill ? x->fill : st->fill);
  set(n, "fontname", st->font);
  set(n, "fontcolor", x->fontcolor ? x->fontcolor : st->fontcolor);
  set(n, "color", "#9e9e9e");
  set(n, "penwidth", "0.8");
  set_num(n, "fontsize", st->size);
  tip(n, x->tooltip, pg->s);
  if (x->kind == NL_TRACE_NAT_XLATE)
    pg->seen |= 1u << LG_XLATE;
}

/* ---- hops ------------------------------------------------------------ */

/* Clips the segment (x0,y0)-(x1,y1) (virtual y) to the page's rows area;
 * FALSE when nothing of it is on the page. */
static gboolean clip(const Pg *pg, double *x0, double *y0, double *x1,
                     double *y1, gboolean *cut0, gboolean *cut1) {
  const TlModel *m = pg->m;
  double top = pg->y_off + m->top - 6, bottom = pg->y_off + m->bottom + 6;
  *cut0 = *cut1 = FALSE;
  if (MAX(*y0, *y1) < top || MIN(*y0, *y1) > bottom)
    return FALSE;
  double dx = *x1 - *x0, dy = *y1 - *y0;
  if (*y0 < top && dy > 0) {
    *x0 += dx * (top - *y0) / dy;
    *y0 = top;
    *cut0 = TRUE;
  }
  if (*y1 > bottom && dy > 0) {
    *x1 = *x0 + (*x1 - *x0) * (bottom - *y0) / (*y1 - *y0);
    *y1 = bottom;
    *cut1 = TRUE;
  }
  return TRUE;
}

static void hop_tooltip(const TlHop *h, GString *s) {
  g_string_assign(s, h->tooltip);
  g_string_append(s, "\nsent ");
  nl__tl_time_short(h->sent, s);
  if (h->dropped) {
    g_string_append(s, ", dropped ");
    nl__tl_time_short(h->end_time, s);
    g_string_append_printf(s, ": %s", nl_drop_reason_name(h->reason));
  } else if (h->ended && h->to >= 0) {
    g_string_append(s, ", received ");
    nl__tl_time_short(h->end_time, s);
  } else if (h->to < 0) {
    g_string_append(s, ", to a node the figure does not show");
  } else {
    g_string_append(s, ", still in flight");
  }
}

static void hop_id(Agedge_t *e, const TlHop *h) {
  char id[40];
  g_snprintf(id, sizeof id, "hop-%" G_GUINT64_FORMAT, h->id);
  set(e, "id", id);
}

/* A red cross at (@x, @y) and the reason beside it, away from @from_x. */
static void drop_mark(Pg *pg, double x, double y, double from_x,
                      NlDropReason why, const char *tooltip) {
  pg->seen |= 1u << LG_DROP;
  for (int k = 0; k < 2; k++) {
    int s = k ? -1 : 1;
    Agedge_t *e = line(pg, x - TL_CROSS, y - s * TL_CROSS, x + TL_CROSS,
                       y + s * TL_CROSS, "#d32f2f", "drop");
    set(e, "arrowhead", "none");
    set(e, "penwidth", "2.5");
    tip(e, tooltip, pg->s);
  }
  gboolean right = from_x <= x;
  Agnode_t *n = text_at(pg, x + (right ? 9 : -9), y,
                        nl_drop_reason_name(why), TL_FONT, right ? 'l' : 'r',
                        TRUE, "drop-reason");
  set(n, "fontcolor", "#d32f2f");
  tip(n, tooltip, pg->s);
}

static void draw_hop(Pg *pg, const TlHop *h) {
  const TlModel *m = pg->m;
  double x0 = nl__tl_end_x(m, h->from), y0 = nl__tl_vy(m, h->row0);
  double x1, y1;
  gboolean part_way = h->dropped && h->drop_lane < 0 && h->from >= 0;
  if (part_way) {
    int dir = h->to >= 0 && nl__tl_end_x(m, h->to) < x0 ? -1 : 1;
    if (h->to == -1)
      dir = -1;
    x1 = x0 + dir * m->gap * 2 / 5;
  } else if (h->dropped && h->drop_lane >= 0) {
    x1 = nl__tl_end_x(m, h->drop_lane);
  } else {
    x1 = nl__tl_end_x(m, h->to);
  }
  gboolean flying = !h->ended;
  y1 = h->ended ? nl__tl_vy(m, h->row1)
                : nl__tl_vy(m, m->rows->len - 1) + TL_ROW * (m->more ? 1 : 0.5);
  GString *tipstr = g_string_new(NULL);
  hop_tooltip(h, tipstr);
  if (h->dropped) {
    g_string_append(tipstr, "\n");
  }
  /* The label, above the start, towards the receiver. */
  if (on_page(pg, h->row0) && !h->no_arrow) {
    gboolean right = x1 >= x0;
    double ly = py(pg, y0) - 4 - (h->label_lines - 1) * TL_LINE / 2 -
                TL_LINE / 2;
    double w = h->label_w + 4;
    double cx = x0 + (right ? 6 + w / 2 : -6 - w / 2);
    Agnode_t *n = node_at(pg, cx, ly, w, h->label_lines * TL_LINE + 2,
                          "plaintext", "hop-label");
    g_string_truncate(pg->s, 0);
    gv_escape(pg->s, h->label, FALSE, right ? 'l' : 'r');
    set(n, "label", pg->s->str);
    set_num(n, "fontsize", TL_FONT);
    set(n, "fontcolor", h->colour);
    /* Readable where another arrow passes under it. */
    set(n, "style", "filled");
    set(n, "fillcolor", "#ffffffc0");
    set(n, "color", "#ffffff00");
    tip(n, h->tooltip, pg->s);
  }
  double cx0 = x0, cy0 = y0, cx1 = x1, cy1 = y1;
  gboolean cut0, cut1;
  if (h->no_arrow) {
    if (on_page(pg, h->row1)) {
      GString *dt = g_string_new(NULL);
      g_string_append_printf(dt, "dropped at %s: %s, ",
                             lane_at(m, h->drop_lane)->key,
                             nl_drop_reason_name(h->reason));
      nl__tl_time_short(h->end_time, dt);
      g_string_append_c(dt, '\n');
      g_string_append(dt, h->tooltip);
      drop_mark(pg, x1, py(pg, y1), x1 - 1, h->reason, dt->str);
      g_string_free(dt, TRUE);
    }
    g_string_free(tipstr, TRUE);
    return;
  }
  if (h->to_self && !h->dropped) {
    /* Loopback: out and back. */
    if (on_page(pg, h->row0)) {
      double mid = (py(pg, y0) + py(pg, y1)) / 2;
      Agedge_t *a = line(pg, x0, py(pg, y0), x0 + 30, mid, h->colour,
                         "hop-part");
      set(a, "arrowhead", "none");
      Agnode_t *end = point_at(pg, x1, py(pg, y1));
      Agedge_t *e = agedge(pg->g, aghead(a), end, NULL, 1);
      set(e, "color", h->colour);
      set(e, "class", flying ? "hop in-flight" : "hop");
      hop_id(e, h);
      tip(e, tipstr->str, pg->s);
      pg->seen |= 1u << h->legend;
    }
    g_string_free(tipstr, TRUE);
    return;
  }
  if (clip(pg, &cx0, &cy0, &cx1, &cy1, &cut0, &cut1)) {
    const char *cls = h->dropped ? "hop lost"
                      : flying   ? "hop in-flight"
                                 : "hop";
    Agedge_t *e = line(pg, cx0, py(pg, cy0), cx1, py(pg, cy1), h->colour, cls);
    if (h->dropped || cut1) {
      set(e, "arrowhead", "none");
    }
    if (h->dropped || flying || h->dashed)
      set(e, "style", "dashed");
    hop_id(e, h);
    tip(e, tipstr->str, pg->s);
    pg->seen |= 1u << h->legend;
  }
  if (h->dropped && on_page(pg, h->row1)) {
    GString *dt = g_string_new(NULL);
    g_string_append_printf(dt, "dropped at %s: %s, ",
                           h->drop_lane >= 0
                               ? lane_at(m, h->drop_lane)->key
                           : h->from >= 0 ? lane_at(m, h->from)->key
                                          : "?",
                           nl_drop_reason_name(h->reason));
    nl__tl_time_short(h->end_time, dt);
    g_string_append_c(dt, '\n');
    g_string_append(dt, h->tooltip);
    drop_mark(pg, x1, py(pg, y1), x0, h->reason, dt->str);
    g_string_free(dt, TRUE);
  }
  g_string_free(tipstr, TRUE);
}

/* ---- bars, states, loops ------------------------------------------------ */

static void draw_bar(Pg *pg, const TlBar *b) {
  const TlModel *m = pg->m;
  double y0 = nl__tl_vy(m, b->row0);
  double y1 = b->open ? nl__tl_vy(m, m->rows->len - 1) : nl__tl_vy(m, b->row1);
  double t = pg->y_off + m->top - 4, bt = pg->y_off + m->bottom + 4;
  y0 = MAX(y0, t);
  y1 = MIN(y1, bt);
  if (y1 <= y0)
    return;
  double x = lane_at(m, b->lane)->x;
  Agnode_t *n = node_at(pg, x, py(pg, (y0 + y1) / 2), TL_BAR_W, y1 - y0, "box",
                        "bar");
  set(n, "style", "filled");
  set(n, "fillcolor", nl__tl_legend_colour(LG_BAR, m->style));
  set(n, "color", "#78909c");
  set(n, "penwidth", "0.6");
  tip(n, b->tooltip, pg->s);
  pg->seen |= 1u << LG_BAR;
}

static const char *state_fill(const char *state) {
  static const char *const fills[][2] = {
      {"CLOSED", "#e0e0e0"},      {"LISTEN", "#bbdefb"},
      {"SYN_SENT", "#fff59d"},    {"SYN_RECEIVED", "#fff59d"},
      {"ESTABLISHED", "#a5d6a7"}, {"TIME_WAIT", "#e1bee7"}};
  for (size_t i = 0; i < G_N_ELEMENTS(fills); i++)
    if (strcmp(state, fills[i][0]) == 0)
      return fills[i][1];
  return "#ffcc80"; /* closing states */
}

/* The band beside a lane: one segment per state, from its transition to
 * the next (or the end), named where it starts. */
static void draw_states(Pg *pg) {
  const TlModel *m = pg->m;
  GPtrArray *states = m->page_states[pg->page];
  for (guint i = 0; i < states->len; i++) {
    const TlState *s = g_ptr_array_index(states, i);
    const TlLane *l = lane_at(m, s->lane);
    double end = s->end_row == G_MAXUINT
                     ? nl__tl_vy(m, m->rows->len - 1) + TL_ROW / 2
                     : nl__tl_vy(m, s->end_row);
    double y0 = MAX(nl__tl_vy(m, s->row), pg->y_off + m->top - 4);
    double y1 = MIN(end, pg->y_off + m->bottom + 4);
    if (y1 <= y0)
      continue;
    double bx = l->x + l->band_side * 16;
    Agnode_t *n = node_at(pg, bx, py(pg, (y0 + y1) / 2), 9, y1 - y0, "box",
                          "state-band");
    set(n, "style", "filled");
    set(n, "fillcolor", state_fill(s->state));
    set(n, "color", "#90a4ae");
    set(n, "penwidth", "0.5");
    tip(n, s->tooltip, pg->s);
    pg->seen |= 1u << LG_STATE;
    if (!on_page(pg, s->row))
      continue;
    Agnode_t *t = text_at(pg, bx + l->band_side * 8,
                          row_at(m, s->row)->y, s->state, 8,
                          l->band_side < 0 ? 'r' : 'l', TRUE, "tcp state");
    set(t, "fontcolor", "#0d47a1");
    tip(t, s->tooltip, pg->s);
  }
}

static void draw_loop(Pg *pg, const TlLoop *lp) {
  const TlModel *m = pg->m;
  if (!on_page(pg, lp->row0))
    return;
  const TlRow *r0 = row_at(m, lp->row0), *r1 = row_at(m, lp->row1);
  double left = lane_at(m, lp->lane0)->x - m->gap / 2 + 8;
  double right = lane_at(m, lp->lane1)->x + m->gap / 2 - 8;
  left = MAX(left, m->axis_x + 6);
  double top = r0->y - r0->above - 2;
  double bottom = r1->page == pg->page ? r1->y + r1->below + 4 : m->bottom;
  Agnode_t *f = node_at(pg, (left + right) / 2, (top + bottom) / 2,
                        right - left, bottom - top, "box", "loop");
  set(f, "style", "rounded,dashed");
  set(f, "color", nl__tl_legend_colour(LG_LOOP, m->style));
  set(f, "fillcolor", "none");
  GString *s = g_string_new(NULL);
  g_string_printf(s, "×%" G_GUINT64_FORMAT " ", lp->times);
  g_string_append(s, "from ");
  nl__tl_time_short(lp->t0, s);
  g_string_append(s, " to ");
  nl__tl_time_short(lp->t1, s);
  Agnode_t *t = text_at(pg, left + 6, top + 7, s->str, 9, 'l', TRUE,
                        "loop-label");
  set(t, "fontcolor", nl__tl_legend_colour(LG_LOOP, m->style));
  g_string_prepend(s, "this exchange happened ");
  g_string_append(s, "; drawn once");
  tip(f, s->str, pg->s);
  tip(t, s->str, pg->s);
  g_string_free(s, TRUE);
  pg->seen |= 1u << LG_LOOP;
}

/* ---- legend, title, page number --------------------------------------- */

static void draw_legend(Pg *pg, double y) {
  const TlModel *m = pg->m;
  double x = m->lanes->len ? MAX(lane_at(m, 0)->x - TL_HEAD_W / 2, 12) : 12;
  for (int i = 0; i < LG_N; i++) {
    if (!(pg->seen & (1u << i)))
      continue;
    const char *colour = i == LG_HOOK && m->hook_colour
                             ? m->hook_colour
                             : nl__tl_legend_colour((TlLegend)i, m->style);
    if (i == LG_XLATE || i == LG_BAR || i == LG_STATE) {
      Agnode_t *n = node_at(pg, x + 12, y, i == LG_XLATE ? 24 : 8,
                            i == LG_XLATE ? 12 : 14, "box", "legend");
      set(n, "style", "filled");
      set(n, "fillcolor", colour);
      set(n, "color", "#9e9e9e");
    } else if (i == LG_DROP) {
      for (int k = 0; k < 2; k++) {
        int s = k ? -1 : 1;
        Agedge_t *e = line(pg, x + 12 - TL_CROSS, y - s * TL_CROSS,
                           x + 12 + TL_CROSS, y + s * TL_CROSS, colour,
                           "legend");
        set(e, "arrowhead", "none");
        set(e, "penwidth", "2.5");
      }
    } else if (i == LG_LOOP) {
      Agnode_t *n = node_at(pg, x + 12, y, 24, 12, "box", "legend");
      set(n, "style", "rounded,dashed");
      set(n, "color", colour);
    } else {
      Agedge_t *e = line(pg, x, y, x + 24, y, colour, "legend");
      set(e, "penwidth", "1.5");
      if (m->style == NL_TIMELINE_STYLE_CHAPTER &&
          (i == LG_TCP || i == LG_UDP))
        set(e, "style", "dashed");
    }
    const char *words = i == LG_HOOK ? m->hook_legend
                                     : nl__tl_legend_text((TlLegend)i);
    text_at(pg, x + 30, y, words, TL_FONT, 'l', FALSE, "legend");
    x += 30 + nl__tl_text_width(words, TL_FONT, FALSE, FALSE) + 20;
  }
}

static void draw_title(Pg *pg) {
  const TlModel *m = pg->m;
  if (m->title == NULL || m->title[0] == '\0')
    return;
  gchar **lines = g_strsplit(m->title_lines, "\n", -1);
  for (int i = 0; lines[i]; i++)
    text_at(pg, 18, 18 + 20 * i, lines[i], 16, 'l', TRUE, "title");
  g_strfreev(lines);
}

static void draw_more(Pg *pg, double y) {
  const TlModel *m = pg->m;
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "… %" G_GUINT64_FORMAT " more event%s", m->more,
                         m->more == 1 ? "" : "s");
  if (m->folded)
    g_string_append_printf(s, " not drawn: a timeline draws at most %u rows; "
                              "draw a window with from=/to=",
                           NL_TIMELINE_MAX_ROWS);
  g_string_append(s, " (to ");
  nl__tl_time_short(m->more_until, s);
  g_string_append(s, ")");
  double x = m->lanes->len ? (lane_at(m, 0)->x +
                              lane_at(m, (int)m->lanes->len - 1)->x) / 2
                           : m->width / 2;
  Agnode_t *n = text_at(pg, x, y, s->str, 10, 'c', FALSE, "more");
  set(n, "fontname", "Helvetica-Oblique");
  set(n, "style", "filled");
  set(n, "fillcolor", "white");
  g_string_free(s, TRUE);
}

/* Page @page of @m as a graph (laid out by the caller). */
static Agraph_t *page_graph(TlModel *m, int page, gboolean png) {
  Pg pg = {.m = m, .page = page, .s = g_string_new(NULL)};
  pg.y_off = page * (m->bottom - m->top);
  pg.g = agopen((char *)"timeline", Agdirected, NULL);
  declare_attributes(pg.g, png);
  /* The page's corners: the drawing is exactly the page. */
  point_at(&pg, 0, 0);
  point_at(&pg, m->width, m->height);
  draw_title(&pg);
  gboolean last = page == m->n_pages - 1;
  double bottom = m->bottom;
  if (last && m->rows->len > 0) {
    const TlRow *r = row_at(m, m->rows->len - 1);
    bottom = MIN(m->bottom, r->y + r->below + (m->more ? TL_ROW + 4 : 8));
  }
  if (!m->paged)
    bottom = m->bottom;
  draw_lanes(&pg, bottom);
  /* Loops and bars under the rest. */
  for (guint i = 0; i < m->page_loops[page]->len; i++)
    draw_loop(&pg, g_ptr_array_index(m->page_loops[page], i));
  for (guint i = 0; i < m->page_bars[page]->len; i++)
    draw_bar(&pg, g_ptr_array_index(m->page_bars[page], i));
  draw_states(&pg);
  time_labels(&pg);
  for (guint i = 0; i < m->page_hops[page]->len; i++)
    draw_hop(&pg, g_ptr_array_index(m->page_hops[page], i));
  for (guint i = 0; i < m->page_boxes[page]->len; i++)
    draw_box(&pg, g_ptr_array_index(m->page_boxes[page], i));
  if (last && m->more) {
    const TlRow *r = m->rows->len ? row_at(m, m->rows->len - 1) : NULL;
    draw_more(&pg, r ? r->y + r->below + TL_ROW / 2 + 2 : m->top + 10);
  }
  draw_legend(&pg, m->height - 18);
  if (m->n_pages > 1) {
    g_string_printf(pg.s, "%d / %d", page + 1, m->n_pages);
    char *t = g_strdup(pg.s->str);
    Agnode_t *n = text_at(&pg, m->width - 16, m->height - 18, t, 9, 'r', FALSE,
                          "page-number");
    set(n, "fontcolor", "#757575");
    g_free(t);
  }
  g_string_free(pg.s, TRUE);
  return pg.g;
}

/* ---- the reference card -------------------------------------------------- */

/* The card: for each call drawn, its C signature, the Python equivalent,
 * what it waits for, its errors and what O_NONBLOCK changes.  One page
 * per @per_page calls. */
static Agraph_t *card_graph(TlModel *m, guint first, guint count,
                            gboolean png) {
  Pg pg = {.m = m, .s = g_string_new(NULL)};
  pg.g = agopen((char *)"card", Agdirected, NULL);
  declare_attributes(pg.g, png);
  double w = MAX(m->width, TL_PAGE_W), h = w * 9 / 16;
  point_at(&pg, 0, 0);
  point_at(&pg, w, h);
  text_at(&pg, 18, 18, "Reference card: the socket calls in this timeline",
          16, 'l', TRUE, "title");
  /* Two columns. */
  double colw = (w - 54) / 2, y[2] = {46, 46};
  for (guint i = first; i < first + count && i < m->calls->len; i++) {
    const NlCallHelp *c = nl_call_help_named(g_ptr_array_index(m->calls, i));
    if (c == NULL)
      continue;
    int col = y[0] <= y[1] ? 0 : 1;
    double x = 18 + col * (colw + 18);
    Agnode_t *n = text_at(&pg, x, y[col] + 7, c->name, 12, 'l', TRUE,
                          "card-call");
    (void)n;
    y[col] += 18;
    const char *lines[][2] = {{"", c->signature},
                              {"Python: ", c->python},
                              {"Blocks on: ", c->blocks ? c->blocks
                                                        : "nothing (returns "
                                                          "at once)"},
                              {"Errors: ", c->errors},
                              {"Non-blocking: ", c->nonblocking}};
    for (size_t k = 0; k < G_N_ELEMENTS(lines); k++) {
      if (lines[k][1] == NULL)
        continue;
      gboolean mono = k == 0;
      char *text = g_strconcat(lines[k][0], lines[k][1], NULL);
      guint nl;
      double tw;
      char *wrapped = nl__tl_wrap(text, 8.5, FALSE, mono, colw - 8, &nl, &tw);
      double bh = nl * TL_LINE + 2;
      Agnode_t *t = node_at(&pg, x + 4 + (tw + 4) / 2, y[col] + bh / 2,
                            tw + 4, bh, "plaintext", "card-line");
      g_string_truncate(pg.s, 0);
      gv_escape(pg.s, wrapped, FALSE, 'l');
      set(t, "label", pg.s->str);
      set(t, "fontsize", "8.5");
      set(t, "fontname", mono ? "Courier" : "Helvetica");
      set(t, "fontcolor", mono ? "#37474f" : "#212121");
      y[col] += bh + 2;
      g_free(text);
      g_free(wrapped);
    }
    y[col] += 10;
  }
  g_string_free(pg.s, TRUE);
  return pg.g;
}

/* ---- rendering ------------------------------------------------------------ */

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

void *nl__export_graphviz_lock(void) {
  G_LOCK(graphviz);
  return graphviz_context();
}

void nl__export_graphviz_unlock(void) {
  G_UNLOCK(graphviz);
}

/* Lays out and renders @g (then frees it); NULL with @error set. */
static GBytes *render_graph(Agraph_t *g, const char *format, GError **error) {
  GVC_t *gvc = graphviz_context();
  char *data = NULL;
  unsigned int size = 0;
  GBytes *out = NULL;
  /* Graphviz warns on stderr (e.g. a label wider than its fixed-size
   * node); the drawing is still right, so only errors are shown. */
  agerrlevel_t level = agseterr(AGERR);
  if (gvLayout(gvc, g, "nop2") != 0) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_RENDER,
                "graphviz could not lay out the timeline");
    goto fail_layout;
  }
  if (gvRenderData(gvc, g, format, &data, &size) != 0 || data == NULL) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_RENDER,
                "graphviz has no \"%s\" renderer here (is the cairo plugin "
                "of graphviz installed?)",
                format);
    goto fail_render;
  }
  out = g_bytes_new(data, size);
  gvFreeRenderData(data);
fail_render:
  gvFreeLayout(gvc, g);
fail_layout:
  agseterr(level);
  agclose(g);
  return out;
}

static gboolean known_format(const char *format, GError **error) {
  static const char *const formats[] = {"dot", "svg", "png", "pdf"};
  for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
    if (strcmp(format, formats[i]) == 0)
      return TRUE;
  g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_FORMAT,
              "timeline format \"%s\" is not one of dot, svg, png, pdf",
              format);
  return FALSE;
}

#define CARD_CALLS 8 /* calls on one card page */

/* Renders what @format holds of @m: PDF every page (and the card), the
 * others page @page (0-based) or the card (@page == n_pages).  The
 * pages go to @out. */
static gboolean render_pages(TlModel *m, const char *format, int page,
                             gboolean card, GPtrArray *out, GError **error) {
  gboolean png = strcmp(format, "png") == 0;
  gboolean pdf = strcmp(format, "pdf") == 0;
  int first = pdf ? 0 : page, last = pdf ? m->n_pages - 1 : page;
  gboolean ok = TRUE;
  G_LOCK(graphviz);
  for (int p = first; ok && p <= last && p < m->n_pages; p++) {
    GBytes *b = render_graph(page_graph(m, p, png), format, error);
    ok = b != NULL;
    if (ok)
      g_ptr_array_add(out, b);
  }
  if (ok && card && m->calls->len > 0 && (pdf || page == m->n_pages)) {
    for (guint c = 0; ok && c < m->calls->len; c += CARD_CALLS) {
      GBytes *b = render_graph(card_graph(m, c, CARD_CALLS, png), format,
                               error);
      ok = b != NULL;
      if (ok)
        g_ptr_array_add(out, b);
    }
  }
  G_UNLOCK(graphviz);
  return ok;
}

static guint8 *steal(GBytes *b, gsize *len) {
  gsize n;
  const guint8 *d = g_bytes_get_data(b, &n);
  guint8 *out = g_malloc(n + 1);
  memcpy(out, d, n);
  out[n] = 0;
  *len = n;
  return out;
}

/* The PDF of @pages: one page as is, more merged. */
static guint8 *pdf_of(GPtrArray *pages, gsize *len, GError **error) {
  guint8 *data = nl__pdf_merge((GBytes *const *)pages->pdata, pages->len, len);
  if (data == NULL)
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_RENDER,
                "the PDF pages graphviz wrote could not be joined");
  return data;
}

static TlModel *model_for(const NlTrace *trace, const NlTimelineOptions *opts,
                          gboolean paged) {
  TlModel *m = nl__tl_model_new(trace, opts);
  nl__tl_layout(m, paged);
  return m;
}

static gboolean card_wanted(const NlTimelineOptions *opts, const char *format) {
  return !(opts && opts->no_card) &&
         (strcmp(format, "png") == 0 || strcmp(format, "pdf") == 0);
}

guint8 *nl_timeline_render(const NlTrace *trace, const char *format,
                           const NlTimelineOptions *opts, gsize *len,
                           GError **error) {
  g_return_val_if_fail(trace != NULL, NULL);
  g_return_val_if_fail(format != NULL, NULL);
  g_return_val_if_fail(len != NULL, NULL);
  *len = 0;
  if (!known_format(format, error))
    return NULL;
  gint page = opts ? opts->page : 0;
  gboolean pdf = strcmp(format, "pdf") == 0;
  gboolean paged = page > 0 || (pdf && page == 0);
  TlModel *m = model_for(trace, opts, paged);
  guint8 *result = NULL;
  if (page > m->n_pages) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_FORMAT,
                "the timeline has %d page%s, not %d", m->n_pages,
                m->n_pages == 1 ? "" : "s", page);
    nl__tl_model_free(m);
    return NULL;
  }
  GPtrArray *pages =
      g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  if (pdf && page == 0) {
    /* Every page and the card, in one PDF. */
    if (render_pages(m, format, 0, card_wanted(opts, format), pages, error))
      result = pdf_of(pages, len, error);
  } else {
    /* One page: the one asked for, or the whole timeline as one. */
    int p = page > 0 ? page - 1 : 0;
    if (pdf) {
      G_LOCK(graphviz);
      GBytes *b = render_graph(page_graph(m, p, FALSE), format, error);
      G_UNLOCK(graphviz);
      if (b != NULL)
        g_ptr_array_add(pages, b);
    } else {
      render_pages(m, format, p, FALSE, pages, error);
    }
    if (pages->len > 0)
      result = steal(g_ptr_array_index(pages, 0), len);
  }
  g_ptr_array_unref(pages);
  nl__tl_model_free(m);
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

static gboolean put(const char *file, const guint8 *data, gsize len,
                    GPtrArray *files, GError **error) {
  GError *err = NULL;
  if (!g_file_set_contents(file, (const char *)data, (gssize)len, &err)) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_IO, "%s",
                err->message);
    g_error_free(err);
    return FALSE;
  }
  g_ptr_array_add(files, g_strdup(file));
  return TRUE;
}

/* "dir/stem" and ".ext" of @path. */
static char *stem_of(const char *file, const char **ext) {
  const char *dot = strrchr(file, '.');
  const char *slash = strrchr(file, '/');
  if (dot == NULL || (slash && dot < slash))
    dot = file + strlen(file);
  *ext = dot;
  return g_strndup(file, (gsize)(dot - file));
}

gboolean nl_timeline_write_files(const NlTrace *trace, const char *filename,
                                 const NlTimelineOptions *opts, char ***files,
                                 GError **error) {
  g_return_val_if_fail(filename != NULL, FALSE);
  if (files)
    *files = NULL;
  const char *format = nl_timeline_format_of(filename);
  if (format == NULL) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_FORMAT,
                "%s: a timeline file ends in .svg, .png, .pdf or .dot",
                filename);
    return FALSE;
  }
  gint page = opts ? opts->page : 0;
  GPtrArray *written = g_ptr_array_new_with_free_func(g_free);
  gboolean ok = FALSE;
  if (strcmp(format, "pdf") == 0 || page != 0) {
    gsize len;
    guint8 *data = nl_timeline_render(trace, format, opts, &len, error);
    if (data != NULL)
      ok = put(filename, data, len, written, error);
    g_free(data);
  } else {
    /* Every page: the first in @filename, the next ones beside it. */
    TlModel *m = model_for(trace, opts, TRUE);
    const char *ext;
    char *stem = stem_of(filename, &ext);
    int digits = m->n_pages >= 100 ? 3 : m->n_pages >= 10 ? 2 : 1;
    ok = TRUE;
    for (int p = 0; ok && p < m->n_pages; p++) {
      GPtrArray *pages =
          g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
      ok = render_pages(m, format, p, FALSE, pages, error);
      if (ok) {
        char *name = p == 0 ? g_strdup(filename)
                            : g_strdup_printf("%s-%0*d%s", stem, digits,
                                              p + 1, ext);
        gsize len;
        const guint8 *d = g_bytes_get_data(g_ptr_array_index(pages, 0), &len);
        ok = put(name, d, len, written, error);
        g_free(name);
      }
      g_ptr_array_unref(pages);
    }
    if (ok && card_wanted(opts, format) && m->calls->len > 0) {
      GPtrArray *pages =
          g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
      ok = render_pages(m, format, m->n_pages, TRUE, pages, error);
      for (guint i = 0; ok && i < pages->len; i++) {
        char *name = i == 0 ? g_strdup_printf("%s-card%s", stem, ext)
                            : g_strdup_printf("%s-card-%u%s", stem, i + 1, ext);
        gsize len;
        const guint8 *d = g_bytes_get_data(g_ptr_array_index(pages, i), &len);
        ok = put(name, d, len, written, error);
        g_free(name);
      }
      g_ptr_array_unref(pages);
    }
    g_free(stem);
    nl__tl_model_free(m);
  }
  if (ok && files) {
    g_ptr_array_add(written, NULL);
    *files = (char **)g_ptr_array_free(written, FALSE);
  } else {
    g_ptr_array_unref(written);
  }
  return ok;
}

gboolean nl_timeline_write(const NlTrace *trace, const char *filename,
                           const NlTimelineOptions *opts, GError **error) {
  return nl_timeline_write_files(trace, filename, opts, NULL, error);
}
