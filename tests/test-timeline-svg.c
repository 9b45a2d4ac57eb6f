/* The timeline as SVG: well-formed, deterministic, and drawing what the
 * trace holds (one lane per node, one arrow per hop, drops with reasons,
 * NAT translations, text boxes), read back with GLib's GMarkup parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <string.h>

#include "export/timeline.h"
#include "test-timeline-fixture.h"

/* One drawn object: a graphviz <g> with a class (node or edge). */
typedef struct {
  char *cls, *id;
  GString *text;    /* its <text> contents, joined by '|' */
  GString *tooltip; /* its xlink:title */
  char *stroke;     /* of its first <path> */
  char *d;          /* of its first <path> */
  char *fill;       /* of its first <polygon> or <path> */
} Obj;

typedef struct {
  GPtrArray *objs;  /* Obj, in document order */
  GPtrArray *stack; /* Obj or NULL per open element */
  gboolean in_text;
} Svg;

static void obj_free(gpointer p) {
  Obj *o = p;
  g_free(o->cls);
  g_free(o->id);
  g_free(o->stroke);
  g_free(o->d);
  g_free(o->fill);
  g_string_free(o->text, TRUE);
  g_string_free(o->tooltip, TRUE);
  g_free(o);
}

static Obj *svg_current(Svg *s) {
  for (guint i = s->stack->len; i > 0; i--)
    if (g_ptr_array_index(s->stack, i - 1) != NULL)
      return g_ptr_array_index(s->stack, i - 1);
  return NULL;
}

static const char *attr(const char **names, const char **values,
                        const char *name) {
  for (int i = 0; names[i]; i++)
    if (strcmp(names[i], name) == 0)
      return values[i];
  return NULL;
}

static void svg_start(GMarkupParseContext *c, const char *el,
                      const char **names, const char **values, gpointer data,
                      GError **error) {
  Svg *s = data;
  Obj *o = NULL;
  const char *cls = attr(names, values, "class");
  if (strcmp(el, "g") == 0 && cls != NULL &&
      (g_str_has_prefix(cls, "node ") || g_str_has_prefix(cls, "edge "))) {
    o = g_new0(Obj, 1);
    o->cls = g_strdup(cls + 5);
    o->id = g_strdup(attr(names, values, "id"));
    o->text = g_string_new(NULL);
    o->tooltip = g_string_new(NULL);
    g_ptr_array_add(s->objs, o);
  }
  Obj *cur = o ? o : svg_current(s);
  if (cur != NULL && strcmp(el, "a") == 0 &&
      attr(names, values, "xlink:title") != NULL)
    g_string_assign(cur->tooltip, attr(names, values, "xlink:title"));
  if (cur != NULL && strcmp(el, "path") == 0 && cur->stroke == NULL) {
    cur->stroke = g_strdup(attr(names, values, "stroke"));
    cur->d = g_strdup(attr(names, values, "d"));
  }
  if (cur != NULL && cur->fill == NULL &&
      (strcmp(el, "polygon") == 0 || strcmp(el, "path") == 0))
    cur->fill = g_strdup(attr(names, values, "fill"));
  if (strcmp(el, "text") == 0) {
    s->in_text = TRUE;
    if (cur != NULL && cur->text->len)
      g_string_append_c(cur->text, '|');
  }
  g_ptr_array_add(s->stack, o);
}

static void svg_end(GMarkupParseContext *c, const char *el, gpointer data,
                    GError **error) {
  Svg *s = data;
  s->in_text = FALSE;
  g_ptr_array_remove_index(s->stack, s->stack->len - 1);
}

static void svg_text(GMarkupParseContext *c, const char *text, gsize len,
                     gpointer data, GError **error) {
  Svg *s = data;
  Obj *cur = svg_current(s);
  if (s->in_text && cur != NULL)
    g_string_append_len(cur->text, text, (gssize)len);
}

/* Parses @svg; fails the test unless it is well-formed XML. */
static Svg *svg_parse(const guint8 *svg, gsize len) {
  static const GMarkupParser parser = {svg_start, svg_end, svg_text, NULL,
                                       NULL};
  Svg *s = g_new0(Svg, 1);
  s->objs = g_ptr_array_new_with_free_func(obj_free);
  s->stack = g_ptr_array_new();
  GMarkupParseContext *c = g_markup_parse_context_new(&parser, 0, s, NULL);
  GError *err = NULL;
  gboolean ok =
      g_markup_parse_context_parse(c, (const char *)svg, (gssize)len, &err) &&
      g_markup_parse_context_end_parse(c, &err);
  if (!ok)
    fail_msg("SVG is not well-formed: %s", err->message);
  g_markup_parse_context_free(c);
  assert_int_equal(s->stack->len, 0);
  return s;
}

static void svg_free(Svg *s) {
  g_ptr_array_free(s->objs, TRUE);
  g_ptr_array_free(s->stack, TRUE);
  g_free(s);
}

/* Does the class list of @o hold @word? */
static gboolean has_class(const Obj *o, const char *word) {
  gchar **words = g_strsplit(o->cls, " ", 0);
  gboolean yes = g_strv_contains((const gchar *const *)words, word);
  g_strfreev(words);
  return yes;
}

static guint count_class(const Svg *s, const char *word) {
  guint n = 0;
  for (guint i = 0; i < s->objs->len; i++)
    n += has_class(g_ptr_array_index(s->objs, i), word);
  return n;
}

static const Obj *find_text(const Svg *s, const char *word, const char *text) {
  for (guint i = 0; i < s->objs->len; i++) {
    const Obj *o = g_ptr_array_index(s->objs, i);
    if (has_class(o, word) && strstr(o->text->str, text) != NULL)
      return o;
  }
  return NULL;
}

static guint8 *render(const NlTrace *t, const NlTimelineOptions *o,
                      gsize *len) {
  GError *err = NULL;
  guint8 *svg = nl_timeline_render(t, "svg", o, len, &err);
  if (svg == NULL)
    fail_msg("render failed: %s", err->message);
  return svg;
}

static Svg *render_parse(const NlTrace *t, const NlTimelineOptions *o) {
  gsize len;
  guint8 *svg = render(t, o, &len);
  Svg *s = svg_parse(svg, len);
  g_free(svg);
  return s;
}

static void
test_timeline_svg_is_byte_identical_for_the_same_trace(void **state) {
  NlTrace *t1 = nl_trace_new(), *t2 = nl_trace_new();
  FixtureCounts c;
  fixture_build(t1, &c);
  fixture_build(t2, &c);
  NlTimelineOptions o = {.title = "determinism"};
  gsize l1, l2, l3;
  guint8 *a = render(t1, &o, &l1), *b = render(t1, &o, &l2);
  guint8 *d = render(t2, &o, &l3);
  assert_true(l1 > 1000);
  assert_int_equal(l1, l2);
  assert_memory_equal(a, b, l1);
  assert_int_equal(l1, l3);
  assert_memory_equal(a, d, l1);

  /* And through a file.  A file is a slide: it holds the first 16:9 page
   * (the next pages go beside it), which is what rendering page 1 gives. */
  char *dir = g_dir_make_tmp("natlab-timeline-XXXXXX", NULL);
  char *path = g_build_filename(dir, "t.svg", NULL);
  GError *err = NULL;
  char **files = NULL;
  assert_true(nl_timeline_write_files(t1, path, &o, &files, &err));
  assert_string_equal(files[0], path);
  NlTimelineOptions first = o;
  first.page = 1;
  gsize lp;
  guint8 *p1 = render(t1, &first, &lp);
  char *file;
  gsize flen;
  assert_true(g_file_get_contents(path, &file, &flen, NULL));
  assert_int_equal(flen, lp);
  assert_memory_equal(file, p1, lp);
  for (char **f = files; *f; f++)
    g_remove(*f);
  g_strfreev(files);
  g_free(p1);
  g_remove(path);
  g_rmdir(dir);
  g_free(file);
  g_free(path);
  g_free(dir);
  g_free(a);
  g_free(b);
  g_free(d);
  nl_trace_free(t1);
  nl_trace_free(t2);
}

static void test_timeline_svg_has_one_lane_and_lifeline_per_node(void **state) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  Svg *s = render_parse(t, NULL);
  assert_int_equal(count_class(s, "lifeline"), c.lanes);
  const char *names[] = {"alice", "nat-a", "stun", "bob"};
  const char *kinds[] = {"host", "nat", "server", "host"};
  guint headers = 0;
  for (guint i = 0; i < s->objs->len; i++) {
    const Obj *o = g_ptr_array_index(s->objs, i);
    if (!has_class(o, "lane"))
      continue;
    /* Headers in declaration order (footers repeat them). */
    char *want = g_strdup_printf("%s|%s", names[headers % c.lanes],
                                 kinds[headers % c.lanes]);
    assert_string_equal(o->text->str, want);
    g_free(want);
    headers++;
  }
  assert_true(headers == c.lanes || headers == 2 * c.lanes);
  svg_free(s);
  nl_trace_free(t);
}

static void test_timeline_svg_has_one_arrow_per_hop(void **state) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  Svg *s = render_parse(t, NULL);
  assert_int_equal(count_class(s, "hop"), c.hops);
  assert_int_equal(count_class(s, "hop-label"), c.hops);
  assert_int_equal(count_class(s, "lost"), c.drops);
  /* Each hop id once. */
  GHashTable *ids = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < s->objs->len; i++) {
    const Obj *o = g_ptr_array_index(s->objs, i);
    if (has_class(o, "hop")) {
      assert_non_null(o->id);
      assert_true(g_str_has_prefix(o->id, "hop-"));
      assert_true(g_hash_table_add(ids, o->id));
    }
  }
  assert_int_equal(g_hash_table_size(ids), c.hops);
  g_hash_table_destroy(ids);
  /* The labels say what the packets are. */
  assert_non_null(find_text(s, "hop-label",
                            "STUN Binding request 10.0.0.5:50001 → "
                            "192.0.2.10:3478"));
  assert_non_null(find_text(s, "hop-label",
                            "UDP 203.0.113.1:62000 → 198.51.100.1:50002 "
                            "(5 B)"));
  assert_non_null(find_text(s, "hop-label", "[SYN,ACK]"));
  /* The tooltip of an arrow holds the full decode and the times. */
  const Obj *syn = NULL;
  for (guint i = 0; i < s->objs->len; i++) {
    const Obj *o = g_ptr_array_index(s->objs, i);
    if (o->id && strcmp(o->id, "hop-7") == 0)
      syn = o;
  }
  assert_non_null(syn);
  assert_non_null(strstr(syn->tooltip->str, "TCP 198.51.100.1:40000 > "
                                            "192.0.2.10:80 [S]"));
  assert_non_null(strstr(syn->tooltip->str, "sent 2 s, received 2.025 s"));
  svg_free(s);
  nl_trace_free(t);
}

static void test_timeline_svg_draws_drops_with_their_reason(void **state) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  Svg *s = render_parse(t, NULL);
  assert_int_equal(count_class(s, "drop-reason"), c.drops);
  assert_int_equal(count_class(s, "drop"), 2 * c.drops); /* two strokes */
  const Obj *loss = find_text(s, "drop-reason", "link loss");
  const Obj *queue = find_text(s, "drop-reason", "queue full");
  assert_non_null(loss);
  assert_non_null(queue);
  assert_non_null(strstr(loss->tooltip->str, "dropped at bob: link loss"));
  /* A drop with no send drawn still gets its cross. */
  NlTrace *t2 = nl_trace_new();
  guint32 r = nl_trace_intern(t2, "r1");
  guint8 pkt[64];
  size_t n = fx_udp_bytes(pkt, "10.0.0.1", 1, "10.0.0.2", 2, "x", 1, 1);
  nl_trace_addf(t2, 0, NL_TRACE_NODE, r, 0, 0, 0, "router");
  nl_trace_add(t2, 5, NL_TRACE_PKT_DROP, r, 0, 99, NL_DROP_NO_ROUTE, pkt,
               (guint32)n);
  Svg *s2 = render_parse(t2, NULL);
  assert_non_null(find_text(s2, "drop-reason", "no route"));
  assert_int_equal(count_class(s2, "hop"), 0);
  svg_free(s2);
  nl_trace_free(t2);
  svg_free(s);
  nl_trace_free(t);
}

static void test_timeline_svg_shows_translations_and_text(void **state) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  Svg *s = render_parse(t, NULL);
  assert_int_equal(count_class(s, "translate"), 3);
  assert_non_null(
      find_text(s, "translate", "src 10.0.0.5:50001 → 203.0.113.1:62000"));
  assert_non_null(
      find_text(s, "translate", "dst 203.0.113.1:62000 → 10.0.0.5:50001"));
  assert_non_null(find_text(s, "stdout", "mapped address 203.0.113.1:62000"));
  assert_non_null(find_text(s, "tcp", "SYN_SENT -> ESTABLISHED"));
  assert_non_null(find_text(s, "note", "Phase 2: alice writes to bob"));
  assert_non_null(find_text(s, "time", "2.025 s"));
  /* Text reaches the SVG literally: quotes, backslash, ampersand, angle
   * brackets; the box is cut short and the tooltip holds all of it. */
  const Obj *err = find_text(s, "stderr", "warning: \"queue\" full \\ retr");
  assert_non_null(err);
  assert_non_null(strstr(err->tooltip->str,
                         "warning: \"queue\" full \\ retrying & waiting "
                         "<soon>"));
  /* The socket call's tooltip is the call. */
  const Obj *call = find_text(s, "call", "sendto(3,");
  assert_non_null(call);
  assert_non_null(
      strstr(call->tooltip->str,
             "sendto(3, <20 bytes>, 20, 0, {192.0.2.10:3478}) = 20"));
  svg_free(s);
  nl_trace_free(t);
}

static void test_timeline_svg_kinds_choose_what_is_drawn(void **state) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  NlTimelineOptions o = {.kinds = NL_TIMELINE_DEFAULT_KINDS &
                                  ~NL_TIMELINE_KIND(STDOUT) &
                                  ~NL_TIMELINE_KIND(CALL)};
  Svg *s = render_parse(t, &o);
  assert_int_equal(count_class(s, "stdout"), 0);
  assert_int_equal(count_class(s, "call"), 0);
  assert_int_equal(count_class(s, "hop"), c.hops);
  svg_free(s);
  o.kinds = NL_TIMELINE_KIND(NOTE);
  s = render_parse(t, &o);
  assert_int_equal(count_class(s, "note"), 2);
  assert_int_equal(count_class(s, "hop"), 0);
  assert_int_equal(count_class(s, "lifeline"), c.lanes);
  svg_free(s);
  nl_trace_free(t);
}

static void test_timeline_svg_max_rows_marks_the_rest(void **state) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  /* Rows are the records of the shown kinds. */
  guint64 shown = 0;
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p))
    shown += rec->kind != NL_TRACE_NODE &&
             ((NL_TIMELINE_DEFAULT_KINDS >> rec->kind) & 1);
  NlTimelineOptions o = {.max_rows = 6};
  Svg *s = render_parse(t, &o);
  char *want = g_strdup_printf("… %" G_GUINT64_FORMAT " more events (to 3 s)",
                               shown - 6);
  assert_non_null(find_text(s, "more", want));
  g_free(want);
  /* Rows 1..6: note, proc, call, send #1, recv #1, mapping: one arrow,
   * and the lanes are still all there. */
  assert_int_equal(count_class(s, "hop"), 1);
  assert_int_equal(count_class(s, "lifeline"), c.lanes);
  assert_null(find_text(s, "stdout", "mapped"));
  svg_free(s);
  /* A hop whose arrival is past the last row runs to the marker. */
  o.max_rows = 4;
  s = render_parse(t, &o);
  assert_int_equal(count_class(s, "in-flight"), 1);
  svg_free(s);
  nl_trace_free(t);
}

static const char *green_for_six(const NlTrace *t, const NlTraceRecord *send,
                                 const guint8 *pkt, gpointer data) {
  (*(int *)data)++;
  return send->id == 6 ? "#2e7d32" : NULL;
}

static void test_timeline_svg_hop_colour_hook_colours_hops(void **state) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  int calls = 0;
  NlTimelineOptions o = {.hop_colour = green_for_six,
                         .hop_colour_data = &calls};
  Svg *s = render_parse(t, &o);
  assert_int_equal(calls, c.hops);
  for (guint i = 0; i < s->objs->len; i++) {
    const Obj *o2 = g_ptr_array_index(s->objs, i);
    if (!has_class(o2, "hop"))
      continue;
    assert_non_null(o2->stroke);
    if (strcmp(o2->id, "hop-6") == 0)
      assert_string_equal(o2->stroke, "#2e7d32");
    else
      assert_string_not_equal(o2->stroke, "#2e7d32");
  }
  svg_free(s);
  nl_trace_free(t);
}

static void test_timeline_svg_survives_hostile_text(void **state) {
  NlTrace *t = nl_trace_new();
  guint32 a = nl_trace_intern(t, "a<&>\"b");
  guint32 b = nl_trace_intern(t, "undeclared");
  const guint8 junk[] = {'o',  'k', 0xff, 0xfe, 0x01, '\\', 'N',
                         '\n', '&', 'a',  'm',  'p',  ';',  0xc3};
  nl_trace_addf(t, 0, NL_TRACE_NODE, a, 0, 0, 0, "host");
  nl_trace_add(t, 1, NL_TRACE_STDOUT, a, 0, 0, 0, junk, sizeof junk);
  nl_trace_add(t, 2, NL_TRACE_STDOUT, b, 0, 0, 0, junk, sizeof junk);
  guint8 garbage[7] = {0x45, 1, 2, 3, 4, 5, 6};
  nl_trace_add(t, 3, NL_TRACE_PKT_SEND, a, b, 1, 0, garbage, sizeof garbage);
  nl_trace_add(t, 4, NL_TRACE_PKT_RECV, b, a, 1, 0, garbage, sizeof garbage);
  Svg *s = render_parse(t, NULL);
  /* The undeclared node got a lane after the declared one. */
  assert_int_equal(count_class(s, "lifeline"), 2);
  const Obj *first = find_text(s, "lane", "a<&>\"b");
  assert_non_null(first);
  assert_non_null(find_text(s, "lane", "undeclared"));
  /* Graphviz escapes stay literal: \N is not the node name. */
  const Obj *out = find_text(s, "stdout", "ok");
  assert_non_null(out);
  assert_non_null(strstr(out->tooltip->str, "\\N"));
  assert_non_null(strstr(out->tooltip->str, "&amp;"));
  assert_non_null(find_text(s, "hop-label", "malformed packet (7 B)"));
  assert_int_equal(count_class(s, "hop"), 1);
  svg_free(s);
  nl_trace_free(t);
}

static const Obj *find_id(const Svg *s, const char *id) {
  for (guint i = 0; i < s->objs->len; i++) {
    const Obj *o = g_ptr_array_index(s->objs, i);
    if (o->id != NULL && strcmp(o->id, id) == 0)
      return o;
  }
  return NULL;
}

/* The first and last points of a path "Mx,yC..." (straight here). */
static void path_ends(const Obj *o, double *x0, double *y0, double *x1,
                      double *y1) {
  assert_non_null(o->d);
  assert_int_equal(o->d[0], 'M');
  *x0 = g_ascii_strtod(o->d + 1, NULL);
  *y0 = g_ascii_strtod(strchr(o->d, ',') + 1, NULL);
  const char *last = strrchr(o->d, ' ');
  last = last ? last + 1 : o->d + 1;
  *x1 = g_ascii_strtod(last, NULL);
  *y1 = g_ascii_strtod(strchr(last, ',') + 1, NULL);
}

static void
test_timeline_svg_forwarding_continues_from_the_arrival(void **state) {
  NlTrace *t = nl_trace_new();
  guint32 a = nl_trace_intern(t, "a"), r = nl_trace_intern(t, "r"),
          b = nl_trace_intern(t, "b");
  nl_trace_addf(t, 0, NL_TRACE_NODE, a, 0, 0, 0, "host");
  nl_trace_addf(t, 0, NL_TRACE_NODE, r, 0, 0, 0, "router");
  nl_trace_addf(t, 0, NL_TRACE_NODE, b, 0, 0, 0, "host");
  guint8 pkt[64];
  size_t n = fx_udp_bytes(pkt, "10.0.0.1", 1, "10.0.1.1", 2, "x", 1, 1);
  /* 1: a -> r; r passes it on to b at once (2); b answers (3) and r
   * passes that back (4) at once; r also bounces one back to b (5). */
  nl_trace_add(t, 0, NL_TRACE_PKT_SEND, a, r, 1, 0, pkt, (guint32)n);
  nl_trace_add(t, 5, NL_TRACE_PKT_RECV, r, a, 1, 0, pkt, (guint32)n);
  nl_trace_add(t, 5, NL_TRACE_PKT_SEND, r, b, 2, 0, pkt, (guint32)n);
  nl_trace_add(t, 9, NL_TRACE_PKT_RECV, b, r, 2, 0, pkt, (guint32)n);
  nl_trace_add(t, 9, NL_TRACE_PKT_SEND, b, r, 3, 0, pkt, (guint32)n);
  nl_trace_add(t, 12, NL_TRACE_PKT_RECV, r, b, 3, 0, pkt, (guint32)n);
  nl_trace_add(t, 12, NL_TRACE_PKT_SEND, r, a, 4, 0, pkt, (guint32)n);
  nl_trace_add(t, 15, NL_TRACE_PKT_RECV, a, r, 4, 0, pkt, (guint32)n);
  nl_trace_add(t, 20, NL_TRACE_PKT_SEND, b, r, 5, 0, pkt, (guint32)n);
  nl_trace_add(t, 22, NL_TRACE_PKT_RECV, r, b, 5, 0, pkt, (guint32)n);
  nl_trace_add(t, 22, NL_TRACE_PKT_SEND, r, b, 6, 0, pkt, (guint32)n);
  nl_trace_add(t, 25, NL_TRACE_PKT_RECV, b, r, 6, 0, pkt, (guint32)n);
  Svg *s = render_parse(t, NULL);
  double ax0, ay0, ax1, ay1, bx0, by0, bx1, by1;
  /* Passed on the other way: the next arrow starts where the last ended. */
  path_ends(find_id(s, "hop-1"), &ax0, &ay0, &ax1, &ay1);
  path_ends(find_id(s, "hop-2"), &bx0, &by0, &bx1, &by1);
  assert_true(ax1 < bx1);
  assert_float_equal(by0, ay1, 1.0);
  assert_true(by1 > by0); /* time flows down: SVG y grows down */
  path_ends(find_id(s, "hop-3"), &ax0, &ay0, &ax1, &ay1);
  path_ends(find_id(s, "hop-4"), &bx0, &by0, &bx1, &by1);
  assert_float_equal(by0, ay1, 1.0);
  /* Sent back the way it came: a row of its own. */
  path_ends(find_id(s, "hop-5"), &ax0, &ay0, &ax1, &ay1);
  path_ends(find_id(s, "hop-6"), &bx0, &by0, &bx1, &by1);
  assert_true(by0 > ay1 + 10);
  svg_free(s);
  nl_trace_free(t);
}

static void test_timeline_svg_checks_and_nat_tables(void **state) {
  NlTrace *t = nl_trace_new();
  guint32 nat = nl_trace_intern(t, "nat"), h = nl_trace_intern(t, "h");
  nl_trace_addf(t, 0, NL_TRACE_NODE, h, 0, 0, 0, "host");
  nl_trace_addf(t, 0, NL_TRACE_NODE, nat, 0, 0, 0, "nat");
  /* Outcome first, without the file and line; "fail" inside a passing
   * expectation's text does not make it a failure. */
  nl_trace_addf(t, 1, NL_TRACE_CHECK, h, 0, 0, 0,
                "/x/s.nlab:3: pass: expect stdout h contains \"fail\"");
  nl_trace_addf(t, 2, NL_TRACE_CHECK, h, 0, 0, 0,
                "/x/s.nlab:4: fail: expect exit h code 0: it was 1");
  /* A NAT table snapshot (not drawn by default) shows in the tooltip of
   * the next translation at that NAT. */
  nl_trace_addf(t, 3, NL_TRACE_NAT_TABLE, nat, 0, 0, 0,
                "udp 10.0.0.5:1 <-> 203.0.113.1:1 expires 30 s");
  guint8 pkt[64], out[64];
  size_t n = fx_udp_bytes(pkt, "10.0.0.5", 1, "192.0.2.1", 2, "x", 1, 1);
  size_t m = fx_udp_bytes(out, "203.0.113.1", 1, "192.0.2.1", 2, "x", 1, 1);
  nl_trace_add(t, 4, NL_TRACE_PKT_SEND, h, nat, 1, 0, pkt, (guint32)n);
  nl_trace_add(t, 5, NL_TRACE_PKT_RECV, nat, h, 1, 0, pkt, (guint32)n);
  nl_trace_add(t, 5, NL_TRACE_NAT_XLATE, nat, 0, 1, 0, out, (guint32)m);
  Svg *s = render_parse(t, NULL);
  const Obj *pass = find_text(s, "expect", "pass: expect stdout h");
  const Obj *fail = find_text(s, "expect", "fail: expect exit h code 0");
  assert_non_null(pass);
  assert_non_null(fail);
  assert_true(g_str_has_prefix(pass->text->str, "pass:"));
  assert_non_null(strstr(pass->tooltip->str, "/x/s.nlab:3: pass:"));
  assert_non_null(pass->fill);
  assert_non_null(fail->fill);
  assert_string_not_equal(pass->fill, fail->fill);
  assert_string_equal(fail->fill, "#ffebee");
  assert_int_equal(count_class(s, "nat-table"), 0);
  const Obj *x = find_text(s, "translate", "src 10.0.0.5:1 → 203.0.113.1:1");
  assert_non_null(x);
  assert_non_null(strstr(x->tooltip->str, "NAT table at 0.000003 ms:\n"
                                          "udp 10.0.0.5:1 <-> 203.0.113.1:1"));
  svg_free(s);
  nl_trace_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timeline_svg_is_byte_identical_for_the_same_trace),
      cmocka_unit_test(test_timeline_svg_has_one_lane_and_lifeline_per_node),
      cmocka_unit_test(test_timeline_svg_has_one_arrow_per_hop),
      cmocka_unit_test(test_timeline_svg_draws_drops_with_their_reason),
      cmocka_unit_test(test_timeline_svg_shows_translations_and_text),
      cmocka_unit_test(test_timeline_svg_kinds_choose_what_is_drawn),
      cmocka_unit_test(test_timeline_svg_max_rows_marks_the_rest),
      cmocka_unit_test(test_timeline_svg_hop_colour_hook_colours_hops),
      cmocka_unit_test(test_timeline_svg_survives_hostile_text),
      cmocka_unit_test(test_timeline_svg_forwarding_continues_from_the_arrival),
      cmocka_unit_test(test_timeline_svg_checks_and_nat_tables),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
