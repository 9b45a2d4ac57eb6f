/* The timeline for lectures, on synthetic traces: long runs are split
 * into numbered 16:9 pages (files, one PDF with the reference card), never
 * cut; repeated exchanges fold into one framed instance; time labels share
 * their decimals; the legend lists what is drawn; a call that waits is a
 * bar; lanes per program follow ports, listed lanes carry labels and send
 * what goes elsewhere to the edge; boxes stay clear of arrows; the run's
 * end and TCP states as a band are options. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/timeline-priv.h"
#include "export/timeline.h"
#include "test-timeline-fixture.h"

static char *tmp_dir;

static int setup(void **state) {
  tmp_dir = g_dir_make_tmp("natlab-pages-XXXXXX", NULL);
  return tmp_dir ? 0 : -1;
}

static int teardown(void **state) {
  GDir *d = g_dir_open(tmp_dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d)) != NULL) {
    char *p = g_build_filename(tmp_dir, name, NULL);
    g_remove(p);
    g_free(p);
  }
  if (d)
    g_dir_close(d);
  g_rmdir(tmp_dir);
  g_free(tmp_dir);
  return 0;
}

static guint count(const char *text, const char *what) {
  guint n = 0;
  for (const char *p = text; (p = strstr(p, what)) != NULL; p++)
    n++;
  return n;
}

static char *render_svg(const NlTrace *t, const NlTimelineOptions *o) {
  gsize len;
  GError *err = NULL;
  guint8 *svg = nl_timeline_render(t, "svg", o, &len, &err);
  if (svg == NULL)
    fail_msg("render: %s", err->message);
  return (char *)svg;
}

/* A host "a" and a host "b" on one lane each; @n UDP exchanges a -> b ->
 * a, 10 ms apart, the requests of @len bytes each (len 0: 1 + i bytes,
 * so no two are alike). */
static NlTrace *exchanges(guint n, gsize len) {
  NlTrace *t = nl_trace_new();
  guint32 a = nl_trace_intern(t, "a"), b = nl_trace_intern(t, "b");
  nl_trace_addf(t, 0, NL_TRACE_NODE, a, 0, 0, 0, "host");
  nl_trace_addf(t, 0, NL_TRACE_NODE, b, 0, 0, 0, "host");
  guint8 pkt[512];
  char data[300];
  memset(data, 'x', sizeof data);
  uint64_t id = 1;
  for (guint i = 0; i < n; i++) {
    NlTime at = (NlTime)i * 10 * NL_MS;
    gsize l = len ? len : 1 + i % 250;
    size_t m = fx_udp_bytes(pkt, "10.0.0.1", 5000, "10.0.0.2", 7, data, l, id);
    nl_trace_add(t, at, NL_TRACE_PKT_SEND, a, b, id, 0, pkt, (guint32)m);
    nl_trace_add(t, at + NL_MS, NL_TRACE_PKT_RECV, b, a, id, 0, pkt,
                 (guint32)m);
    id++;
    m = fx_udp_bytes(pkt, "10.0.0.2", 7, "10.0.0.1", 5000, data, l, id);
    nl_trace_add(t, at + NL_MS, NL_TRACE_PKT_SEND, b, a, id, 0, pkt,
                 (guint32)m);
    nl_trace_add(t, at + 2 * NL_MS, NL_TRACE_PKT_RECV, a, b, id, 0, pkt,
                 (guint32)m);
    id++;
  }
  return t;
}

static void test_timeline_pages_long_run_is_paged_not_cut(void **state) {
  NlTrace *t = exchanges(120, 0);
  NlTimelineOptions o = {.title = "long", .no_collapse = TRUE};
  char *path = g_build_filename(tmp_dir, "long.svg", NULL);
  char **files = NULL;
  GError *err = NULL;
  assert_true(nl_timeline_write_files(t, path, &o, &files, &err));
  guint n = g_strv_length(files);
  assert_true(n >= 5);
  /* PATH is page 1, then STEM-02.svg... (padded to the same width). */
  assert_string_equal(files[0], path);
  char *second = g_build_filename(tmp_dir, n >= 10 ? "long-02.svg"
                                                   : "long-2.svg",
                                  NULL);
  assert_string_equal(files[1], second);
  GHashTable *hops = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           NULL);
  for (guint p = 0; p < n; p++) {
    char *svg;
    assert_true(g_file_get_contents(files[p], &svg, NULL, NULL));
    /* A 16:9 slide, numbered, not cut. */
    const char *vb = strstr(svg, "viewBox=\"0.00 0.00 ");
    assert_non_null(vb);
    double w = g_ascii_strtod(vb + 19, NULL);
    double h = g_ascii_strtod(strchr(vb + 19, ' ') + 1, NULL);
    assert_float_equal(w / h, 16.0 / 9.0, 0.01);
    char *number = g_strdup_printf(">%u / %u<", p + 1, n);
    assert_non_null(strstr(svg, number));
    g_free(number);
    assert_int_equal(count(svg, "class=\"node more\""), 0);
    /* Lane headers on every page. */
    assert_int_equal(count(svg, "class=\"node lane\""), 2);
    for (const char *q = svg; (q = strstr(q, "id=\"hop&#45;")) != NULL; q++) {
      const char *e = strchr(q + 4, '"');
      g_hash_table_add(hops, g_strndup(q + 4, e - q - 4));
    }
    g_free(svg);
  }
  /* Every hop is drawn, on the page it starts (and the next when it
   * crosses). */
  assert_int_equal(g_hash_table_size(hops), 240);
  g_hash_table_destroy(hops);
  g_strfreev(files);
  g_free(second);
  g_free(path);
  nl_trace_free(t);
}

/* The objects of a PDF: "/Type /Page" (not /Pages) and a valid xref. */
static guint pdf_pages(const char *pdf, gsize len) {
  guint pages = 0;
  for (const char *p = pdf; (p = memmem(p, len - (p - pdf), "/Type /Page", 11));
       p++)
    pages += p[11] != 's';
  const char *sx = NULL;
  for (const char *p = pdf; (p = memmem(p, len - (p - pdf), "startxref", 9));
       p++)
    sx = p;
  assert_non_null(sx);
  gsize xref = strtoul(sx + 9, NULL, 10);
  assert_true(xref < len);
  assert_memory_equal(pdf + xref, "xref\n0 ", 7);
  char *end;
  unsigned long n = strtoul(pdf + xref + 7, &end, 10);
  const char *row = strchr(end, '\n') + 1 + 20; /* past object 0 */
  for (unsigned long i = 1; i < n; i++, row += 20) {
    gsize off = strtoul(row, NULL, 10);
    char head[32];
    g_snprintf(head, sizeof head, "%lu 0 obj", i);
    assert_true(off < len);
    assert_memory_equal(pdf + off, head, strlen(head));
  }
  return pages;
}

static void test_timeline_pages_pdf_holds_every_page_and_the_card(
    void **state) {
  NlTrace *t = exchanges(60, 0);
  guint32 a = nl_trace_intern(t, "a");
  guint32 p = nl_trace_intern(t, "a/client");
  nl_trace_addf(t, 2 * NL_S, NL_TRACE_CALL, a, p, 0, 0,
                "recvfrom(3, 4096) = 12");
  nl_trace_addf(t, 2 * NL_S, NL_TRACE_CALL, a, p, 0, 0,
                "connect(3, 10.0.0.2:7) = 0");
  NlTimelineOptions o = {.title = "pdf", .no_collapse = TRUE};
  TlModel *m = nl__tl_model_new(t, &o);
  nl__tl_layout(m, TRUE);
  int n = m->n_pages;
  assert_true(n >= 3);
  nl__tl_model_free(m);
  gsize len;
  GError *err = NULL;
  char *pdf = (char *)nl_timeline_render(t, "pdf", &o, &len, &err);
  assert_non_null(pdf);
  /* Every page, then one card page for the two calls. */
  assert_int_equal(pdf_pages(pdf, len), n + 1);
  g_free(pdf);
  o.no_card = TRUE;
  pdf = (char *)nl_timeline_render(t, "pdf", &o, &len, &err);
  assert_int_equal(pdf_pages(pdf, len), n);
  g_free(pdf);
  /* PNG: the card is a file of its own. */
  o.no_card = FALSE;
  char *path = g_build_filename(tmp_dir, "slides.png", NULL);
  char *card = g_build_filename(tmp_dir, "slides-card.png", NULL);
  char **files = NULL;
  assert_true(nl_timeline_write_files(t, path, &o, &files, &err));
  assert_int_equal(g_strv_length(files), n + 1);
  assert_string_equal(files[n], card);
  char *png;
  gsize plen;
  assert_true(g_file_get_contents(card, &png, &plen, NULL));
  assert_memory_equal(png, "\x89PNG", 4);
  g_free(png);
  g_strfreev(files);
  g_free(card);
  g_free(path);
  nl_trace_free(t);
}

static void test_timeline_pages_repeats_fold_into_a_frame(void **state) {
  NlTrace *t = exchanges(12, 20);
  char *svg = render_svg(t, NULL);
  /* Drawn once, in a frame that says how often. */
  assert_int_equal(count(svg, "class=\"edge hop\""), 2);
  assert_int_equal(count(svg, "class=\"node loop\""), 1);
  assert_non_null(strstr(svg, "×12 from 0 s to 112 ms"));
  assert_non_null(strstr(svg, ">repeated exchange<"));
  g_free(svg);
  NlTimelineOptions o = {.no_collapse = TRUE};
  svg = render_svg(t, &o);
  assert_int_equal(count(svg, "class=\"edge hop\""), 24);
  assert_int_equal(count(svg, "class=\"node loop\""), 0);
  g_free(svg);
  nl_trace_free(t);
  /* Twice is not a repeat. */
  t = exchanges(2, 20);
  svg = render_svg(t, NULL);
  assert_int_equal(count(svg, "class=\"edge hop\""), 4);
  g_free(svg);
  nl_trace_free(t);
}

static void test_timeline_pages_time_labels_share_decimals(void **state) {
  NlTrace *t = nl_trace_new();
  guint32 a = nl_trace_intern(t, "a");
  nl_trace_addf(t, 0, NL_TRACE_NODE, a, 0, 0, 0, "host");
  nl_trace_addf(t, 0, NL_TRACE_NOTE, a, 0, 0, 0, "start");
  nl_trace_addf(t, 1500 * NL_MS, NL_TRACE_NOTE, a, 0, 0, 0, "one");
  nl_trace_addf(t, 1500 * NL_MS + 1 * NL_US, NL_TRACE_NOTE, a, 0, 0, 0, "two");
  nl_trace_addf(t, 3 * NL_S, NL_TRACE_NOTE, a, 0, 0, 0, "three");
  char *svg = render_svg(t, NULL);
  assert_non_null(strstr(svg, ">0.000000 s<"));
  assert_non_null(strstr(svg, ">1.500000 s<"));
  assert_non_null(strstr(svg, ">1.500001 s<"));
  assert_non_null(strstr(svg, ">3.000000 s<"));
  g_free(svg);
  nl_trace_free(t);
}

static const char *mark_first(const NlTrace *t, const NlTraceRecord *send,
                              const guint8 *pkt, gpointer data) {
  return send->id == 1 ? "#00897b" : NULL;
}

static void test_timeline_pages_legend_lists_what_is_drawn(void **state) {
  /* UDP only: the legend says UDP, nothing else. */
  NlTrace *t = exchanges(2, 0);
  char *svg = render_svg(t, NULL);
  assert_int_equal(count(svg, "class=\"node legend\""), 1);
  assert_non_null(strstr(svg, ">UDP<"));
  g_free(svg);
  /* A hook's colour gets the caller's words. */
  NlTimelineOptions o = {.hop_colour = mark_first,
                         .hop_colour_legend = "the first request"};
  svg = render_svg(t, &o);
  assert_non_null(strstr(svg, ">the first request<"));
  assert_non_null(strstr(svg, "#00897b"));
  assert_int_equal(count(svg, "class=\"node legend\""), 2);
  g_free(svg);
  nl_trace_free(t);
  /* The chapter's style: TCP honey amber and dashed, in the legend too. */
  FixtureCounts c;
  t = nl_trace_new();
  fixture_build(t, &c);
  NlTimelineOptions ch = {.style = NL_TIMELINE_STYLE_CHAPTER};
  svg = render_svg(t, &ch);
  assert_non_null(strstr(svg, "stroke=\"#e0a030\" stroke-width=\"1.2\" "
                              "stroke-dasharray"));
  assert_non_null(strstr(svg, "stroke=\"#5b6b7b\""));
  assert_null(strstr(svg, "#212121\" stroke-width=\"1.2\""));
  g_free(svg);
  nl_trace_free(t);
}

static void test_timeline_pages_relay_legend_is_amber(void **state) {
  /* A TURN server (its PROC start and its link) makes hops to it the
   * relay's: amber, and so says the legend; no purple STUN entry when
   * every STUN message went to the relay. */
  NlTrace *t = nl_trace_new();
  guint32 a = nl_trace_intern(t, "peer"), r = nl_trace_intern(t, "turn");
  nl_trace_addf(t, 0, NL_TRACE_NODE, a, 0, 0, 0, "host");
  nl_trace_addf(t, 0, NL_TRACE_NODE, r, 0, 0, 0, "host");
  nl_trace_addf(t, 0, NL_TRACE_TOPOLOGY, r, nl_trace_intern(t, "net"), 0,
                (uint16_t)(NL_TOPO_LINK | 2 << 8),
                "ifname=eth0 addr=192.0.2.20/24 role=link mtu=1500");
  nl_trace_addf(t, 0, NL_TRACE_PROC, r, nl_trace_intern(t, "turn/turn-server"),
                0, 0, "start pid=100 turn-server --listen 192.0.2.20");
  guint8 msg[64], pkt[128];
  size_t m = fx_stun(msg, 0x0003); /* Allocate request */
  size_t n = fx_udp_bytes(pkt, "10.0.0.5", 5000, "192.0.2.20", 3478, msg, m,
                          1);
  nl_trace_add(t, NL_MS, NL_TRACE_PKT_SEND, a, r, 1, 0, pkt, (guint32)n);
  nl_trace_add(t, 2 * NL_MS, NL_TRACE_PKT_RECV, r, a, 1, 0, pkt, (guint32)n);
  char *svg = render_svg(t, NULL);
  assert_non_null(strstr(svg, ">relayed (TURN)<"));
  assert_non_null(strstr(svg, "stroke=\"" NL_TIMELINE_RELAY_COLOUR "\""));
  assert_null(strstr(svg, ">STUN/TURN<"));
  assert_null(strstr(svg, "#6a1b9a"));
  g_free(svg);
  nl_trace_free(t);
}

static void test_timeline_pages_blocked_call_is_a_bar(void **state) {
  NlTrace *t = nl_trace_new();
  guint32 s = nl_trace_intern(t, "server"), p = nl_trace_intern(t, "server/tcp");
  nl_trace_addf(t, 0, NL_TRACE_NODE, s, 0, 0, 0, "host");
  nl_trace_addf(t, 1 * NL_US, NL_TRACE_BLOCK, s, p, 0, 100, "accept(3)");
  nl_trace_addf(t, 1 * NL_S, NL_TRACE_NOTE, s, 0, 0, 0, "meanwhile");
  nl_trace_addf(t, 2 * NL_S, NL_TRACE_CALL, s, p, 0, 100,
                "accept(3) = 4 from 10.0.0.2:40000");
  /* A call of another thread does not end it. */
  nl_trace_addf(t, 3 * NL_S, NL_TRACE_BLOCK, s, p, 0, 101, "recv(4)");
  nl_trace_addf(t, 3 * NL_S, NL_TRACE_CALL, s, p, 0, 100, "close(3) = 0");
  char *svg = render_svg(t, NULL);
  /* Where it starts, as it starts; the bar; where it returns. */
  assert_non_null(strstr(svg, ">accept(3) blocks<"));
  assert_non_null(strstr(svg, ">accept(3) = 4 from 10.0.0.2:40000<"));
  assert_int_equal(count(svg, "class=\"node bar\""), 2);
  assert_non_null(strstr(svg, "waits for a connection in the listen queue"));
  assert_non_null(strstr(svg, ">waiting in a call<"));
  /* recv(4) never returned: its bar runs to the end, labelled from its
   * BLOCK record. */
  assert_non_null(strstr(svg, ">recv(4) blocks<"));
  g_free(svg);
  /* Hiding calls hides their waits too. */
  NlTimelineOptions o = {.kinds = NL_TIMELINE_DEFAULT_KINDS &
                                  ~NL_TIMELINE_KIND(CALL)};
  svg = render_svg(t, &o);
  assert_int_equal(count(svg, "class=\"node bar\""), 0);
  assert_null(strstr(svg, "blocks<"));
  g_free(svg);
  nl_trace_free(t);
}

/* Host "h" runs two programs, p1 bound to UDP 7 and p2 to UDP 9; "c"
 * sends to each. */
static NlTrace *two_programs(void) {
  NlTrace *t = nl_trace_new();
  guint32 h = nl_trace_intern(t, "h"), c = nl_trace_intern(t, "c");
  guint32 p1 = nl_trace_intern(t, "h/p1"), p2 = nl_trace_intern(t, "h/p2");
  nl_trace_addf(t, 0, NL_TRACE_NODE, h, 0, 0, 0, "host");
  nl_trace_addf(t, 0, NL_TRACE_NODE, c, 0, 0, 0, "host");
  nl_trace_addf(t, 0, NL_TRACE_PROC, h, p1, 0, 0, "start pid=100 p1");
  nl_trace_addf(t, 0, NL_TRACE_PROC, h, p2, 0, 0, "start pid=101 p2");
  nl_trace_addf(t, 1, NL_TRACE_CALL, h, p1, 0, 0,
                "socket(AF_INET, SOCK_DGRAM) = 3");
  nl_trace_addf(t, 1, NL_TRACE_CALL, h, p2, 0, 0,
                "socket(AF_INET, SOCK_DGRAM) = 3");
  nl_trace_addf(t, 2, NL_TRACE_CALL, h, p1, 0, 0, "bind(3, 0.0.0.0:7) = 0");
  nl_trace_addf(t, 2, NL_TRACE_CALL, h, p2, 0, 0, "bind(3, 0.0.0.0:9) = 0");
  guint8 pkt[64];
  for (int i = 0; i < 2; i++) {
    size_t n = fx_udp_bytes(pkt, "10.0.0.2", 4000, "10.0.0.1", i ? 9 : 7,
                            "q", 1, i + 1);
    NlTime at = (NlTime)(i + 1) * NL_S;
    nl_trace_add(t, at, NL_TRACE_PKT_SEND, c, h, i + 1, 0, pkt, (guint32)n);
    nl_trace_add(t, at + NL_MS, NL_TRACE_PKT_RECV, h, c, i + 1, 0, pkt,
                 (guint32)n);
  }
  return t;
}

static void test_timeline_pages_program_lanes_follow_ports(void **state) {
  NlTrace *t = two_programs();
  NlTimelineOptions o = {.lanes = NL_TIMELINE_LANES_PROGRAM};
  TlModel *m = nl__tl_model_new(t, &o);
  assert_int_equal(m->lanes->len, 3);
  const char *keys[] = {"h/p1", "h/p2", "c"};
  for (int i = 0; i < 3; i++)
    assert_string_equal(((TlLane *)g_ptr_array_index(m->lanes, i))->key,
                        keys[i]);
  assert_int_equal(m->hops->len, 2);
  const TlHop *to7 = g_ptr_array_index(m->hops, 0);
  const TlHop *to9 = g_ptr_array_index(m->hops, 1);
  assert_int_equal(to7->from, 2);
  assert_int_equal(to7->to, 0); /* p1 owns port 7 */
  assert_int_equal(to9->to, 1); /* p2 owns port 9 */
  nl__tl_model_free(m);
  /* By host: one lane for h. */
  m = nl__tl_model_new(t, NULL);
  assert_int_equal(m->lanes->len, 2);
  nl__tl_model_free(m);
  nl_trace_free(t);
}

static void test_timeline_pages_listed_lanes_label_and_edge(void **state) {
  NlTrace *t = two_programs();
  const NlTimelineLane lanes[] = {{"h/p2", "Nine"}, {"c", NULL}};
  NlTimelineOptions o = {.lane_list = lanes, .n_lanes = 2};
  char *svg = render_svg(t, &o);
  /* The labels, with the lane's name under them; p1's lane is not
   * drawn, so the datagram to port 7 goes to the edge of the figure. */
  assert_non_null(strstr(svg, ">Nine</text>"));
  assert_non_null(strstr(svg, ">h/p2</text>"));
  assert_int_equal(count(svg, "class=\"node lane\""), 2);
  assert_int_equal(count(svg, "class=\"edge hop\""), 2);
  assert_non_null(strstr(svg, "to a node the figure does not show"));
  g_free(svg);
  nl_trace_free(t);
}

static void test_timeline_pages_boxes_stay_clear_of_arrows(void **state) {
  /* a sends to c across b; b prints while the arrow is in flight: the
   * box goes beside b's lane, where the arrow is not. */
  NlTrace *t = nl_trace_new();
  guint32 a = nl_trace_intern(t, "a"), b = nl_trace_intern(t, "b"),
          c = nl_trace_intern(t, "c");
  nl_trace_addf(t, 0, NL_TRACE_NODE, a, 0, 0, 0, "host");
  nl_trace_addf(t, 0, NL_TRACE_NODE, b, 0, 0, 0, "host");
  nl_trace_addf(t, 0, NL_TRACE_NODE, c, 0, 0, 0, "host");
  guint8 pkt[64];
  size_t n = fx_udp_bytes(pkt, "10.0.0.1", 1, "10.0.0.3", 2, "x", 1, 1);
  nl_trace_add(t, 0, NL_TRACE_PKT_SEND, a, c, 1, 0, pkt, (guint32)n);
  static const char *const words[] = {"first", "second", "third", "fourth"};
  for (int i = 0; i < 4; i++)
    nl_trace_addf(t, (NlTime)(i + 1) * NL_MS, NL_TRACE_STDOUT, b, 0, 0, 0,
                  "the %s line b prints while the datagram flies by",
                  words[i]);
  nl_trace_add(t, 5 * NL_MS, NL_TRACE_PKT_RECV, c, a, 1, 0, pkt, (guint32)n);
  TlModel *m = nl__tl_model_new(t, NULL);
  nl__tl_layout(m, TRUE);
  assert_int_equal(m->crossings, 0);
  /* At least one box had to move off its lane's centre to stay clear. */
  double bx = ((TlLane *)g_ptr_array_index(m->lanes, 1))->x;
  guint moved = 0;
  for (guint i = 0; i < m->boxes->len; i++)
    moved += ((TlBox *)g_ptr_array_index(m->boxes, i))->x != bx;
  assert_true(moved > 0);
  nl__tl_model_free(m);
  nl_trace_free(t);
}

static void test_timeline_pages_end_and_states_are_options(void **state) {
  NlTrace *t = nl_trace_new();
  guint32 s = nl_trace_intern(t, "s"), p = nl_trace_intern(t, "s/srv");
  nl_trace_addf(t, 0, NL_TRACE_NODE, s, 0, 0, 0, "host");
  nl_trace_addf(t, 1, NL_TRACE_TCP_STATE, s, 0, 0, 0,
                "0.0.0.0:80 > 0.0.0.0:0 CLOSED -> LISTEN");
  nl_trace_addf(t, 2 * NL_S, NL_TRACE_TCP_STATE, s, 0, 0, 0,
                "10.0.0.1:80 > 10.0.0.2:4000 LISTEN -> SYN_RECEIVED");
  nl_trace_addf(t, 3 * NL_S, NL_TRACE_PROC, s, p, 0, 0,
                "killed: the simulation ended");
  nl_trace_addf(t, 3 * NL_S, NL_TRACE_TCP_STATE, s, 0, 0, 0,
                "0.0.0.0:80 > 0.0.0.0:0 LISTEN -> CLOSED");
  nl_trace_addf(t, 3 * NL_S, NL_TRACE_CHECK, s, 0, 0, 0,
                "x.nlab:9: pass: expect tcp s state LISTEN");
  char *svg = render_svg(t, NULL);
  /* States as boxes, the change and the other end (or the port). */
  assert_non_null(strstr(svg, ">CLOSED &#45;&gt; LISTEN (:80)<"));
  assert_non_null(
      strstr(svg, ">LISTEN &#45;&gt; SYN_RECEIVED (10.0.0.2:4000)<"));
  assert_non_null(strstr(svg, "killed: the simulation ended"));
  assert_int_equal(count(svg, "class=\"node event expect\""), 1);
  g_free(svg);
  NlTimelineOptions o = {.no_end = TRUE, .states = "all"};
  svg = render_svg(t, &o);
  assert_null(strstr(svg, "killed"));
  assert_int_equal(count(svg, "class=\"node event expect\""), 0);
  /* The band: a segment per state until the end, named where it starts,
   * instead of boxes. */
  assert_int_equal(count(svg, "class=\"node event tcp\""), 0);
  assert_int_equal(count(svg, "class=\"node state&#45;band\""), 2);
  assert_non_null(strstr(svg, ">SYN_RECEIVED<"));
  assert_non_null(strstr(svg, ">TCP state (kernel)<"));
  g_free(svg);
  nl_trace_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timeline_pages_long_run_is_paged_not_cut),
      cmocka_unit_test(test_timeline_pages_pdf_holds_every_page_and_the_card),
      cmocka_unit_test(test_timeline_pages_repeats_fold_into_a_frame),
      cmocka_unit_test(test_timeline_pages_time_labels_share_decimals),
      cmocka_unit_test(test_timeline_pages_legend_lists_what_is_drawn),
      cmocka_unit_test(test_timeline_pages_relay_legend_is_amber),
      cmocka_unit_test(test_timeline_pages_blocked_call_is_a_bar),
      cmocka_unit_test(test_timeline_pages_program_lanes_follow_ports),
      cmocka_unit_test(test_timeline_pages_listed_lanes_label_and_edge),
      cmocka_unit_test(test_timeline_pages_boxes_stay_clear_of_arrows),
      cmocka_unit_test(test_timeline_pages_end_and_states_are_options),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
