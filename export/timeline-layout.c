/* The timeline's layout: how wide the lanes are, where long text wraps,
 * how far apart the rows are, which rows go on which 16:9 page, and on
 * which side of its lane each box goes so that no arrow crosses it.
 *
 * Text is measured with Helvetica's and Courier's published metrics (the
 * Adobe font metrics every PDF viewer and browser substitute with a
 * metric-compatible font), plus a margin for DejaVu, which cairo uses when
 * Helvetica is missing: the layout never asks the machine's fonts, so the
 * same trace gives the same picture everywhere.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export/timeline-priv.h"

/* Helvetica's advance widths, 1/1000 em, for ' ' (32) to '~' (126). */
static const guint16 helvetica[95] = {
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333,
    278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278,
    584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278,
    500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944,
    667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556,
    278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500,
    278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584};

/* DejaVu Sans, cairo's stand-in, runs about 10% wider. */
#define FONT_MARGIN 1.10

double nl__tl_text_width(const char *text, double size, gboolean bold,
                         gboolean mono) {
  double em = 0;
  for (const char *p = text; *p; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (mono)
      em += 600;
    else if (c >= 32 && c <= 126)
      em += helvetica[c - 32] * (bold ? 1.08 : 1.0);
    else
      em += 1000; /* arrows, ellipses, CJK: wide */
  }
  return em / 1000.0 * size * (mono ? 1.0 : FONT_MARGIN);
}

/* Appends @word to @lines, cutting it when it alone is wider than @width. */
static void wrap_word(GString *line, GPtrArray *lines, const char *word,
                      double size, gboolean bold, gboolean mono,
                      double width) {
  GString *w = g_string_new(word);
  for (;;) {
    GString *try = g_string_new(line->str);
    g_string_append(try, w->str);
    if (nl__tl_text_width(try->str, size, bold, mono) <= width) {
      g_string_assign(line, try->str);
      g_string_free(try, TRUE);
      break;
    }
    g_string_free(try, TRUE);
    if (line->len > 0) {
      /* Start a new line with it (without leading spaces). */
      g_ptr_array_add(lines, g_strdup(g_strchomp(line->str)));
      g_string_truncate(line, 0);
      while (w->len > 0 && w->str[0] == ' ')
        g_string_erase(w, 0, 1);
      continue;
    }
    /* Too long for a line of its own: cut it. */
    const char *p = w->str;
    GString *part = g_string_new(NULL);
    while (*p) {
      const char *next = g_utf8_next_char(p);
      g_string_append_len(part, p, next - p);
      if (nl__tl_text_width(part->str, size, bold, mono) > width &&
          part->len > (gsize)(next - p)) {
        g_string_truncate(part, part->len - (next - p));
        break;
      }
      p = next;
    }
    g_ptr_array_add(lines, g_string_free(part, FALSE));
    g_string_erase(w, 0, p - w->str);
    if (w->len == 0)
      break;
  }
  g_string_free(w, TRUE);
}

char *nl__tl_wrap(const char *text, double size, gboolean bold, gboolean mono,
                  double width, guint *n_lines, double *widest) {
  GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
  gchar **paras = g_strsplit(text, "\n", -1);
  for (int i = 0; paras[i] != NULL; i++) {
    GString *line = g_string_new(NULL);
    /* Words end after a space or a comma; the space stays with the word
     * before it, so a line never starts with one. */
    const char *p = paras[i];
    while (*p) {
      const char *e = p;
      while (*e && *e != ' ' && *e != ',')
        e++;
      while (*e == ' ' || *e == ',')
        e++;
      char *word = g_strndup(p, e - p);
      wrap_word(line, lines, word, size, bold, mono, width);
      g_free(word);
      p = e;
    }
    g_ptr_array_add(lines, g_strdup(g_strchomp(line->str)));
    g_string_free(line, TRUE);
  }
  g_strfreev(paras);
  GString *out = g_string_new(NULL);
  double w = 0;
  for (guint i = 0; i < lines->len; i++) {
    const char *l = g_ptr_array_index(lines, i);
    w = MAX(w, nl__tl_text_width(l, size, bold, mono));
    if (i)
      g_string_append_c(out, '\n');
    g_string_append(out, l);
  }
  if (n_lines)
    *n_lines = MAX(lines->len, 1);
  if (widest)
    *widest = w;
  g_ptr_array_unref(lines);
  return g_string_free(out, FALSE);
}

static gboolean style_bold(const TlBoxStyle *st) {
  return strstr(st->font, "Bold") != NULL;
}

static gboolean style_mono(const TlBoxStyle *st) {
  return strcmp(st->font, "Courier") == 0;
}

static TlRow *row_at(TlModel *m, guint i) {
  return &g_array_index(m->rows, TlRow, i);
}

static double lane_x(const TlModel *m, int lane) {
  return ((const TlLane *)g_ptr_array_index(m->lanes, lane))->x;
}

double nl__tl_end_x(const TlModel *m, int l) {
  if (l >= 0)
    return lane_x(m, l);
  return l == -1 ? 14 : m->width - 14;
}

/* ---- widths ---------------------------------------------------------- */

static double natural_box_width(const TlBox *x) {
  const TlBoxStyle *st = nl__tl_box_style(x->kind);
  double w = 0;
  gchar **lines = g_strsplit(x->text, "\n", -1);
  for (int i = 0; lines[i]; i++)
    w = MAX(w, nl__tl_text_width(lines[i], st->size, style_bold(st),
                                 style_mono(st)));
  g_strfreev(lines);
  return w + TL_BOX_PAD * 2;
}

static void choose_gap(TlModel *m, gboolean paged) {
  double want = 0;
  for (guint i = 0; i < m->boxes->len; i++) {
    const TlBox *x = g_ptr_array_index(m->boxes, i);
    if (x->place == BX_LANE)
      want = MAX(want, natural_box_width(x) + 24);
  }
  for (guint i = 0; i < m->hops->len; i++) {
    const TlHop *h = g_ptr_array_index(m->hops, i);
    if (h->from >= 0 && h->to >= 0 && ABS(h->from - h->to) == 1)
      want = MAX(want, nl__tl_text_width(h->label, TL_FONT, FALSE, FALSE) + 40);
  }
  /* Wide enough for the text (which wraps past it), but a slide of many
   * lanes stays about 1,440 points wide, so its text stays readable. */
  int n = MAX((int)m->lanes->len, 2);
  double most = MAX(210, (1440.0 - 260) / (n - 1));
  m->gap = CLAMP(want, MIN(210, most), MIN(340, most));
  (void)paged;
}

/* ---- rows ------------------------------------------------------------ */

static void extend(TlModel *m, guint row, double above, double below) {
  if (row >= m->rows->len)
    return;
  TlRow *r = row_at(m, row);
  r->above = MAX(r->above, above);
  r->below = MAX(r->below, below);
}

/* Wraps the text of every box and hop label to the room it has. */
static void wrap_all(TlModel *m) {
  double span = (MAX((int)m->lanes->len, 1) - 1) * m->gap + TL_HEAD_W;
  for (guint i = 0; i < m->boxes->len; i++) {
    TlBox *x = g_ptr_array_index(m->boxes, i);
    const TlBoxStyle *st = nl__tl_box_style(x->kind);
    double room = (x->place == BX_SPAN ? span : m->gap - 24) - 2 * TL_BOX_PAD;
    double w;
    char *wrapped = nl__tl_wrap(x->text, st->size, style_bold(st),
                                style_mono(st), room, &x->lines, &w);
    g_free(x->text);
    x->text = wrapped;
    x->w = w + 2 * TL_BOX_PAD;
    if (x->place == BX_SPAN)
      x->w = MAX(x->w, span);
    x->h = x->lines * TL_LINE + 7;
    extend(m, x->row, x->h / 2, x->h / 2);
  }
  for (guint i = 0; i < m->hops->len; i++) {
    TlHop *h = g_ptr_array_index(m->hops, i);
    double room;
    if (h->from >= 0 && h->to >= 0 && h->from != h->to)
      room = ABS(h->from - h->to) * m->gap - 36;
    else
      room = m->gap - 36;
    room = MAX(room, 150);
    double w;
    char *wrapped = nl__tl_wrap(h->label, TL_FONT, FALSE, FALSE, room,
                                &h->label_lines, &w);
    g_free(h->label);
    h->label = wrapped;
    h->label_w = w;
    extend(m, h->row0, h->label_lines * TL_LINE + 5, 4);
    if (h->dropped)
      extend(m, h->row1, 7, 7);
  }
  for (guint i = 0; i < m->states->len; i++) {
    const TlState *s = g_ptr_array_index(m->states, i);
    extend(m, s->row, 7, 7);
  }
  for (guint i = 0; i < m->loops->len; i++) {
    const TlLoop *lp = g_ptr_array_index(m->loops, i);
    extend(m, lp->row0, row_at(m, lp->row0)->above + 16, 0);
    extend(m, lp->row1, 0, row_at(m, lp->row1)->below + 8);
  }
  for (guint i = 0; i < m->rows->len; i++)
    extend(m, i, 7, 7); /* the time label */
}

/* The rows' area of a page: below the title and the lane headers, above
 * the legend and the page number. */
static void page_frame(TlModel *m) {
  /* The title wraps (never cut); the lane headers are as tall as their
   * longest label wraps to. */
  g_free(m->title_lines);
  m->title_lines = NULL;
  m->n_title_lines = 0;
  if (m->title && m->title[0])
    m->title_lines = nl__tl_wrap(m->title, 16, TRUE, FALSE, m->width - 36,
                                 &m->n_title_lines, NULL);
  m->title_h = m->n_title_lines ? 20 + 20.0 * m->n_title_lines : 14;
  guint most = 1;
  for (guint i = 0; i < m->lanes->len; i++) {
    const TlLane *l = g_ptr_array_index(m->lanes, i);
    guint n = 1;
    char *w = nl__tl_wrap(l->label, 11, TRUE, FALSE, TL_HEAD_W - 10, &n, NULL);
    g_free(w);
    most = MAX(most, n + (l->sub != NULL));
  }
  m->head_h = MAX(TL_HEAD_H, most * 13.5 + 8);
  m->top = m->title_h + m->head_h + 10;
}

static void place_rows(TlModel *m, gboolean paged) {
  page_frame(m);
  m->bottom = paged ? m->height - 44 : G_MAXDOUBLE;
  int page = 0;
  double y = m->top;
  guint loop = 0;
  for (guint i = 0; i < m->rows->len; i++) {
    TlRow *r = row_at(m, i);
    if (i == 0) {
      y = m->top + r->above;
    } else {
      const TlRow *p = row_at(m, i - 1);
      y = p->y + MAX(TL_ROW, p->below + r->above + 3);
    }
    /* Keep a repeated exchange on one page when it fits one. */
    double need = r->below;
    while (loop < m->loops->len &&
           ((TlLoop *)g_ptr_array_index(m->loops, loop))->row0 < i)
      loop++;
    if (loop < m->loops->len &&
        ((TlLoop *)g_ptr_array_index(m->loops, loop))->row0 == i) {
      const TlLoop *lp = g_ptr_array_index(m->loops, loop);
      double h = 0;
      for (guint j = lp->row0; j <= lp->row1 && j < m->rows->len; j++)
        h += MAX(TL_ROW, row_at(m, j)->above + row_at(m, j)->below + 3);
      if (h < m->bottom - m->top)
        need = h;
    }
    if (paged && i > 0 && y + need > m->bottom) {
      page++;
      y = m->top + r->above;
    }
    r->y = y;
    r->page = page;
  }
  m->n_pages = page + 1;
}

/* ---- where boxes go ---------------------------------------------------- */

/* The virtual y of a row: pages one under another, each continuing where
 * the last one's rows' area ended, so an arrow from one page to the next
 * is one straight line. */
static double vy(const TlModel *m, guint row) {
  const TlRow *r = &g_array_index(m->rows, TlRow, row);
  return r->page * (m->bottom - m->top) + r->y;
}

double nl__tl_vy(const TlModel *m, guint row) {
  return vy(m, MIN(row, m->rows->len - 1));
}

/* How far segment (x0,y0)-(x1,y1) enters the rectangle [l,r]x[t,b]:
 * 0 when it stays out, else the length of x it covers inside. */
static double enters(double x0, double y0, double x1, double y1, double l,
                     double r, double t, double b) {
  if (MAX(y0, y1) < t || MIN(y0, y1) > b)
    return 0;
  double xa, xb;
  if (fabs(y1 - y0) < 1e-6) {
    xa = MIN(x0, x1);
    xb = MAX(x0, x1);
  } else {
    double ta = CLAMP((t - y0) / (y1 - y0), 0, 1);
    double tb = CLAMP((b - y0) / (y1 - y0), 0, 1);
    double xa0 = x0 + (x1 - x0) * ta, xb0 = x0 + (x1 - x0) * tb;
    xa = MIN(xa0, xb0);
    xb = MAX(xa0, xb0);
  }
  double lo = MAX(xa, l), hi = MIN(xb, r);
  return hi >= lo ? hi - lo + 1 : 0;
}

typedef struct {
  double l, r, t, b;
} Rect;

typedef struct {
  double x0, y0, x1, y1;
  Rect label; /* its label's place (empty when it has none) */
} Seg;

/* The drawn segment of hop @h, in virtual coordinates. */
static Seg hop_seg(const TlModel *m, const TlHop *h) {
  Seg s = {0};
  s.x0 = nl__tl_end_x(m, h->from);
  s.y0 = vy(m, h->row0);
  if (h->dropped && h->drop_lane < 0 && h->from >= 0) {
    int dir = h->to >= 0 && nl__tl_end_x(m, h->to) < s.x0 ? -1 : 1;
    s.x1 = s.x0 + dir * m->gap * 2 / 5;
  } else if (h->dropped && h->drop_lane >= 0) {
    s.x1 = lane_x(m, h->drop_lane);
  } else {
    s.x1 = nl__tl_end_x(m, h->to);
  }
  s.y1 = h->ended ? vy(m, h->row1) : vy(m, m->rows->len - 1) + TL_ROW;
  return s;
}

/* A hop's label: a rectangle above its start, towards the receiver. */
static Rect label_rect(const TlModel *m, const TlHop *h, const Seg *s) {
  Rect q;
  gboolean right = s->x1 >= s->x0;
  double w = h->label_w + 4;
  q.l = right ? s->x0 + 6 : s->x0 - 6 - w;
  q.r = q.l + w;
  q.b = s->y0 - 3;
  q.t = q.b - h->label_lines * TL_LINE - 2;
  return q;
}

static double collisions(const TlModel *m, GPtrArray *segs, double l, double r,
                         double t, double b) {
  double hit = 0;
  for (guint i = 0; i < segs->len; i++) {
    const Seg *s = g_ptr_array_index(segs, i);
    hit += enters(s->x0, s->y0, s->x1, s->y1, l, r, t, b);
    if (s->label.r > s->label.l && s->label.b > t && s->label.t < b) {
      double lo = MAX(l, s->label.l), hi = MIN(r, s->label.r);
      if (hi > lo)
        hit += hi - lo;
    }
  }
  return hit;
}

/* The rows an arrow crosses, [from, last], for the sweep in place_boxes. */
typedef struct {
  guint from, last;
  guint hop;
} Span;

static int span_by_from(const void *a, const void *b) {
  const Span *x = a, *y = b;
  if (x->from != y->from)
    return x->from < y->from ? -1 : 1;
  return x->hop < y->hop ? -1 : x->hop > y->hop;
}

static int span_by_last(const void *a, const void *b) {
  const Span *x = a, *y = b;
  if (x->last != y->last)
    return x->last < y->last ? -1 : 1;
  return x->hop < y->hop ? -1 : x->hop > y->hop;
}

/* Boxes (indexes into @boxes) by row, in their order within a row. */
static gint box_by_row(gconstpointer a, gconstpointer b, gpointer boxes) {
  guint i = *(const guint *)a, j = *(const guint *)b;
  const TlBox *x = g_ptr_array_index((GPtrArray *)boxes, i);
  const TlBox *y = g_ptr_array_index((GPtrArray *)boxes, j);
  if (x->row != y->row)
    return x->row < y->row ? -1 : 1;
  return i < j ? -1 : i > j;
}

/* Where in @idx (ascending) hop @hop is or would go. */
static guint active_find(const GArray *idx, guint hop) {
  guint lo = 0, hi = idx->len;
  while (lo < hi) {
    guint mid = lo + (hi - lo) / 2;
    if (g_array_index(idx, guint, mid) < hop)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static void place_boxes(TlModel *m) {
  /* The arrows that cross each row a box is on, in the hops' order: a
   * sweep down the rows, keeping the arrows that cross the row reached
   * (listing them for every row took memory in rows times arrows in
   * flight: 150 MiB for a 25,000-row timeline of 1,000 hosts). */
  guint n = m->rows->len, nh = m->hops->len;
  Seg *all = g_new0(Seg, MAX(nh, 1));
  Span *starts = g_new(Span, MAX(nh, 1));
  guint ns = 0;
  for (guint i = 0; i < nh; i++) {
    const TlHop *h = g_ptr_array_index(m->hops, i);
    Seg *s = &all[i];
    *s = hop_seg(m, h);
    if (!h->no_arrow)
      s->label = label_rect(m, h, s);
    if (n == 0)
      continue;
    guint from = h->row0 > 0 ? h->row0 - 1 : 0;
    guint last = h->ended ? MIN(h->row1, n - 1) : n - 1;
    if (from <= last)
      starts[ns++] = (Span){from, last, i};
  }
  Span *ends = g_memdup2(starts, sizeof(Span) * MAX(ns, 1));
  qsort(starts, ns, sizeof(Span), span_by_from);
  qsort(ends, ns, sizeof(Span), span_by_last);
  guint nb = m->boxes->len;
  guint *order = g_new(guint, MAX(nb, 1));
  for (guint i = 0; i < nb; i++)
    order[i] = i;
  g_qsort_with_data(order, (gint)nb, sizeof(guint), box_by_row, m->boxes);
  GArray *idx = g_array_new(FALSE, FALSE, sizeof(guint)); /* hops, sorted */
  GPtrArray *active = g_ptr_array_new();                  /* their Segs */
  guint si = 0, ei = 0;
  static GPtrArray empty;
  for (guint bi = 0; bi < nb; bi++) {
    TlBox *x = g_ptr_array_index(m->boxes, order[bi]);
    if (x->place == BX_SPAN) {
      int k = MAX((int)m->lanes->len, 1);
      x->x = m->lanes->len ? (lane_x(m, 0) + lane_x(m, k - 1)) / 2
                           : m->width / 2;
      continue;
    }
    double cx = lane_x(m, x->lane);
    double t = vy(m, x->row) - x->h / 2, b = vy(m, x->row) + x->h / 2;
    GPtrArray *segs = &empty;
    if (x->row < n) {
      for (; si < ns && starts[si].from <= x->row; si++) {
        guint at = active_find(idx, starts[si].hop);
        g_array_insert_val(idx, at, starts[si].hop);
        g_ptr_array_insert(active, (gint)at, &all[starts[si].hop]);
      }
      for (; ei < ns && ends[ei].last < x->row; ei++) {
        guint at = active_find(idx, ends[ei].hop);
        g_array_remove_index(idx, at);
        g_ptr_array_remove_index(active, at);
      }
      segs = active;
    }
    /* Centred, then beside the lane (beyond its state band): first the
     * side the arrows are not. */
    const TlLane *ln = g_ptr_array_index(m->lanes, x->lane);
    double lgap = ln->band && ln->band_side < 0 ? 24 : 3;
    double rgap = ln->band && ln->band_side > 0 ? 24 : 3;
    double cand[3] = {cx, cx - lgap - x->w / 2, cx + rgap + x->w / 2};
    double left = collisions(m, segs, cx - x->w - 3, cx - 1, t, b);
    double right = collisions(m, segs, cx + 1, cx + x->w + 3, t, b);
    if (right < left) {
      double tmp = cand[1];
      cand[1] = cand[2];
      cand[2] = tmp;
    }
    double best = G_MAXDOUBLE;
    double lo = m->axis_x + 6, hi = m->width - 6;
    for (int c = 0; c < 3; c++) {
      double hit = collisions(m, segs, cand[c] - x->w / 2 - 1,
                              cand[c] + x->w / 2 + 1, t, b);
      /* Off the page, or over the time labels: never. */
      if (cand[c] - x->w / 2 < lo || cand[c] + x->w / 2 > hi)
        hit += 100000;
      if (hit < best) {
        best = hit;
        x->x = cand[c];
      }
      if (hit == 0)
        break;
    }
    if (best >= 100000)
      x->x = CLAMP(x->x, lo + x->w / 2, MAX(lo + x->w / 2, hi - x->w / 2));
    if (best > 0) {
      m->crossings++;
      g_debug("box \"%s\" (row %u, lane %d): no side clear of arrows (%g)",
              x->text, x->row, x->lane, best);
    }
  }
  g_array_free(idx, TRUE);
  g_ptr_array_free(active, TRUE);
  g_free(order);
  g_free(starts);
  g_free(ends);
  g_free(all);
}

/* ---- what each page draws ---------------------------------------------- */

static int page_of(const TlModel *m, guint row) {
  if (row >= m->rows->len)
    return m->n_pages - 1;
  return row_at((TlModel *)m, row)->page;
}

static void bucket(GPtrArray **pages, int from, int to, gpointer item) {
  for (int p = from; p <= to; p++)
    g_ptr_array_add(pages[p], item);
}

static GPtrArray **buckets(int n) {
  GPtrArray **b = g_new0(GPtrArray *, (gsize)MAX(n, 0));
  for (int p = 0; p < n; p++)
    b[p] = g_ptr_array_new();
  return b;
}

static void paginate_items(TlModel *m) {
  int n = m->n_pages;
  m->page_row = g_new0(guint, n + 1);
  for (int p = 0, r = 0; p <= n; p++) {
    while ((guint)r < m->rows->len && row_at(m, r)->page < p)
      r++;
    m->page_row[p] = (guint)r;
  }
  m->page_row[n] = m->rows->len;
  m->page_hops = buckets(n);
  m->page_boxes = buckets(n);
  m->page_bars = buckets(n);
  m->page_states = buckets(n);
  m->page_loops = buckets(n);
  for (guint i = 0; i < m->hops->len; i++) {
    TlHop *h = g_ptr_array_index(m->hops, i);
    int p0 = page_of(m, h->no_arrow ? h->row1 : h->row0);
    int p1 = h->ended ? page_of(m, h->row1) : n - 1;
    bucket(m->page_hops, p0, MAX(p0, p1), h);
  }
  for (guint i = 0; i < m->boxes->len; i++) {
    TlBox *x = g_ptr_array_index(m->boxes, i);
    int p = page_of(m, x->row);
    bucket(m->page_boxes, p, p, x);
  }
  for (guint i = 0; i < m->bars->len; i++) {
    TlBar *b = g_ptr_array_index(m->bars, i);
    int p0 = page_of(m, b->row0);
    int p1 = b->open ? n - 1 : page_of(m, b->row1);
    bucket(m->page_bars, p0, MAX(p0, p1), b);
  }
  /* A state lasts until the lane's next one. */
  GHashTable *last = g_hash_table_new(g_direct_hash, g_direct_equal);
  for (guint i = m->states->len; i-- > 0;) {
    TlState *st = g_ptr_array_index(m->states, i);
    gpointer next = g_hash_table_lookup(last, GINT_TO_POINTER(st->lane + 1));
    st->end_row = next ? ((TlState *)next)->row : G_MAXUINT;
    g_hash_table_insert(last, GINT_TO_POINTER(st->lane + 1), st);
    int p0 = page_of(m, st->row);
    int p1 = st->end_row == G_MAXUINT ? n - 1 : page_of(m, st->end_row);
    bucket(m->page_states, p0, MAX(p0, p1), st);
  }
  g_hash_table_destroy(last);
  for (guint p = 0; p < (guint)n; p++) /* in order again */
    for (guint a = 0, z = m->page_states[p]->len; a + 1 < z; a++, z--) {
      gpointer tmp = g_ptr_array_index(m->page_states[p], a);
      m->page_states[p]->pdata[a] = g_ptr_array_index(m->page_states[p], z - 1);
      m->page_states[p]->pdata[z - 1] = tmp;
    }
  for (guint i = 0; i < m->loops->len; i++) {
    TlLoop *lp = g_ptr_array_index(m->loops, i);
    int p = page_of(m, lp->row0);
    bucket(m->page_loops, p, p, lp);
  }
}

void nl__tl_pages_free(TlModel *m) {
  for (int p = 0; m->page_row != NULL && p < m->n_pages; p++) {
    g_ptr_array_free(m->page_hops[p], TRUE);
    g_ptr_array_free(m->page_boxes[p], TRUE);
    g_ptr_array_free(m->page_bars[p], TRUE);
    g_ptr_array_free(m->page_states[p], TRUE);
    g_ptr_array_free(m->page_loops[p], TRUE);
  }
  g_free(m->page_row);
  g_free(m->page_hops);
  g_free(m->page_boxes);
  g_free(m->page_bars);
  g_free(m->page_states);
  g_free(m->page_loops);
  m->page_row = NULL;
}

/* ---- the whole layout -------------------------------------------------- */

void nl__tl_layout(TlModel *m, gboolean paged) {
  m->paged = paged;
  choose_gap(m, paged);
  int n = MAX((int)m->lanes->len, 1);
  /* Left of the first lane: the time axis, then half a lane (or a state
   * band, or the edge arrows' room). */
  GString *s = g_string_new(NULL);
  nl__tl_time_axis(m->rows->len ? g_array_index(m->rows, TlRow,
                                                m->rows->len - 1).time
                                : 0,
                   m->decimals, s);
  double axis = nl__tl_text_width(s->str, TL_FONT, FALSE, FALSE) + 22;
  g_string_free(s, TRUE);
  double left = m->gap / 2, right = m->gap / 2;
  for (guint i = 0; i < m->lanes->len; i++) {
    const TlLane *l = g_ptr_array_index(m->lanes, i);
    if (l->band && l->band_side < 0 && i == 0)
      left = MAX(left, 118);
    if (l->band && l->band_side > 0 && i + 1 == m->lanes->len)
      right = MAX(right, 118);
  }
  if (m->edges) {
    left = MAX(left, 90);
    right = MAX(right, 90);
  }
  left = MAX(left, TL_HEAD_W / 2 + 6);
  right = MAX(right, TL_HEAD_W / 2 + 6);
  /* Room for the first and last lanes' boxes to stand beside them, clear
   * of the arrows. */
  for (guint i = 0; i < m->boxes->len; i++) {
    const TlBox *x = g_ptr_array_index(m->boxes, i);
    if (x->place != BX_LANE)
      continue;
    double w = MIN(natural_box_width(x), m->gap - 24) + 10;
    const TlLane *ln = g_ptr_array_index(m->lanes, x->lane);
    if (x->lane == 0)
      left = MAX(left, w + (ln->band && ln->band_side < 0 ? 22 : 0));
    if (x->lane == n - 1)
      right = MAX(right, w + (ln->band && ln->band_side > 0 ? 22 : 0));
  }
  double content = axis + left + (n - 1) * m->gap + right;
  if (paged && content < TL_PAGE_W && n > 1) {
    /* Wider lanes fill the slide. */
    double more = (TL_PAGE_W - content) / (n - 1 + 1.0);
    m->gap = MIN(m->gap + more, 380);
    content = axis + left + (n - 1) * m->gap + right;
  }
  m->width = paged ? MAX(content, TL_PAGE_W) : content;
  double shift = (m->width - content) / 2;
  for (guint i = 0; i < m->lanes->len; i++) {
    TlLane *l = g_ptr_array_index(m->lanes, i);
    l->x = shift + axis + left + i * m->gap;
  }
  m->axis_x = shift + axis - 10;
  m->height = paged ? m->width * 9 / 16 : 0;
  wrap_all(m);
  if (!paged) {
    place_rows(m, FALSE);
    double last = m->rows->len
                      ? row_at(m, m->rows->len - 1)->y +
                            row_at(m, m->rows->len - 1)->below
                      : m->top;
    m->bottom = last + (m->more ? TL_ROW : 0) + 10;
    m->height = m->bottom + 44;
  } else {
    place_rows(m, TRUE);
  }
  place_boxes(m);
  paginate_items(m);
}
