/* Metrics (scenarios/runner/runner-metric.c), checked against traces
 * whose answer is known: hand-made traces of a TCP transfer (goodput is
 * bytes over time, a lost segment is one retransmission, a connection
 * through a NAT is matched by its ISN), and runs whose numbers follow
 * from the scenario (UDP without loss: delivered equals sent; bytes on a
 * network are the datagrams' sizes; the time to a line).  And the text
 * form: every mistake is one error naming its column. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "scenarios/runner/runner-metric.h"
#include "sim/net/wire.h"
#include "test-run-util.h"

static NlRunMetric *metric(const char *spec, const NlScenario *s) {
  GError *e = NULL;
  NlRunMetric *m = nl_run_metric_parse(spec, s, &e);
  if (m == NULL)
    fail_msg("%s: %s", spec, e->message);
  return m;
}

static double eval(const char *spec, NlTrace *t, const NlScenario *s) {
  NlRunMetric *m = metric(spec, s);
  double v = -1;
  GError *e = NULL;
  if (!nl_run_metric_eval_trace(m, t, s, &v, &e))
    fail_msg("%s: %s", spec, e->message);
  nl_run_metric_free(m);
  return v;
}

/* ---- hand-made TCP traces ---- */

#define ISN 4294960000u /* wraps within the transfer */
#define SEG 1000

static void tcp_rec(NlTrace *t, NlTime when, NlTraceKind kind, const char *node,
                    const char *peer, uint32_t src, uint16_t sport,
                    uint32_t dst, uint16_t dport, uint32_t seq, uint8_t flags,
                    size_t plen) {
  static guint8 buf[2048];
  static guint8 payload[SEG];
  NlTcpHeader h = {.sport = sport,
                   .dport = dport,
                   .seq = seq,
                   .ack = 1,
                   .flags = flags,
                   .window = 65535};
  size_t n = nl_tcp4_build(buf, src, dst, &h, payload, plen, 1, 64, TRUE);
  nl_trace_add(t, when, kind, nl_trace_intern(t, node),
               nl_trace_intern(t, peer), 0, 0, buf, (guint32)n);
}

/* Host a (10.0.0.5, behind a NAT that makes it 203.0.113.1:40000) sends
 * @n segments to b (192.0.2.10:80), 10 ms apart, each arriving 25 ms
 * later.  Segment @lost (or none when >= n) is lost once and sent again
 * after the last; it arrives 25 ms after that. */
static NlTrace *transfer(guint n, guint lost, uint32_t isn, NlTime *first,
                         NlTime *last) {
  NlTrace *t = nl_trace_new();
  uint32_t a = 0x0a000005, anat = 0xcb007101, b = 0xc000020a;
  tcp_rec(t, 0, NL_TRACE_PKT_SEND, "a", "gw", a, 5555, b, 80, isn, NL_TCP_SYN,
          0);
  tcp_rec(t, 25 * NL_MS, NL_TRACE_PKT_DELIVER, "b", "gw", anat, 40000, b, 80,
          isn, NL_TCP_SYN, 0);
  NlTime at = 100 * NL_MS;
  *first = at;
  for (guint i = 0; i < n; i++, at += 10 * NL_MS) {
    uint32_t seq = isn + 1 + i * SEG;
    tcp_rec(t, at, NL_TRACE_PKT_SEND, "a", "gw", a, 5555, b, 80, seq,
            NL_TCP_ACK, SEG);
    if (i != lost)
      tcp_rec(t, at + 25 * NL_MS, NL_TRACE_PKT_DELIVER, "b", "gw", anat, 40000,
              b, 80, seq, NL_TCP_ACK, SEG);
    *last = at + 25 * NL_MS;
  }
  if (lost < n) {
    uint32_t seq = isn + 1 + lost * SEG;
    tcp_rec(t, at, NL_TRACE_PKT_SEND, "a", "gw", a, 5555, b, 80, seq,
            NL_TCP_ACK, SEG);
    tcp_rec(t, at + 25 * NL_MS, NL_TRACE_PKT_DELIVER, "b", "gw", anat, 40000, b,
            80, seq, NL_TCP_ACK, SEG);
    *last = at + 25 * NL_MS;
  }
  /* A FIN carries no data. */
  tcp_rec(t, at + NL_MS, NL_TRACE_PKT_SEND, "a", "gw", a, 5555, b, 80,
          isn + 1 + n * SEG, NL_TCP_FIN | NL_TCP_ACK, 0);
  return t;
}

static void test_metric_goodput_is_bytes_over_time_without_loss(void **s) {
  (void)s;
  NlTime first, last;
  NlTrace *t = transfer(50, G_MAXUINT, ISN, &first, &last);
  double want = 50.0 * SEG * 8 / ((last - first) / 1e9) / 1e6;
  assert_true(fabs(eval("goodput:a:b", t, NULL) - want) < 1e-9);
  assert_true(fabs(eval("goodput:a:b:80", t, NULL) - want) < 1e-9);
  assert_true(eval("retransmits:a:b", t, NULL) == 0);
  /* Another port: no such flow. */
  assert_true(isnan(eval("goodput:a:b:81", t, NULL)));
  /* Nothing goes from b to a. */
  assert_true(isnan(eval("goodput:b:a", t, NULL)));
  nl_trace_free(t);
}

/* A lost segment is one retransmission, and the bytes after the hole
 * count only once it is filled: the time runs to the hole's repair. */
static void test_metric_goodput_waits_for_the_hole(void **s) {
  (void)s;
  NlTime first, last;
  NlTrace *t = transfer(50, 10, ISN, &first, &last);
  double want = 50.0 * SEG * 8 / ((last - first) / 1e9) / 1e6;
  assert_true(fabs(eval("goodput:a:b", t, NULL) - want) < 1e-9);
  assert_true(eval("retransmits:a:b", t, NULL) == 1);
  nl_trace_free(t);
}

/* b's SYN came from another ISN: not a's connection. */
static void test_metric_tcp_flows_are_matched_by_isn(void **s) {
  (void)s;
  NlTime first, last;
  NlTrace *t = transfer(5, G_MAXUINT, ISN, &first, &last);
  NlTrace *u = nl_trace_new();
  /* Only b's side, with another ISN. */
  tcp_rec(u, 0, NL_TRACE_PKT_SEND, "a", "gw", 0x0a000005, 5555, 0xc000020a, 80,
          1000, NL_TCP_SYN, 0);
  tcp_rec(u, NL_MS, NL_TRACE_PKT_DELIVER, "b", "gw", 0xcb007101, 40000,
          0xc000020a, 80, 2000, NL_TCP_SYN, 0);
  tcp_rec(u, 2 * NL_MS, NL_TRACE_PKT_DELIVER, "b", "gw", 0xcb007101, 40000,
          0xc000020a, 80, 2001, NL_TCP_ACK, SEG);
  assert_false(isnan(eval("goodput:a:b", t, NULL)));
  assert_true(isnan(eval("goodput:a:b", u, NULL)));
  assert_true(isnan(eval("retransmits:a:b", u, NULL)));
  nl_trace_free(t);
  nl_trace_free(u);
}

/* ---- runs ---- */

static const char udp_lab[] =
    "seed 1\n"
    "duration 40s\n"
    "set loss = 0%\n"
    "network lan 10.0.0.0/24 latency=1ms\n"
    "network internet 192.0.2.0/24 latency=10ms\n"
    "host server\n"
    "  link internet 192.0.2.10\n"
    "  run udp-echo-server 7\n"
    "nat gw preset=port-restricted-cone\n"
    "  inside lan 10.0.0.1\n"
    "  outside internet 192.0.2.1 loss=$loss\n"
    "host client\n"
    "  link lan 10.0.0.5\n"
    "  route default via 10.0.0.1\n"
    "  run at=1s udp-echo-client 192.0.2.10 7 0123456789 20 10\n"
    "expect stdout client/udp-echo-client contains \"echoes received\"\n";

static TestRun *udp_run(const char *loss) {
  char *over = g_strdup_printf("loss=%s", loss);
  const char *overrides[] = {over, NULL};
  GError *e = NULL;
  TestRun *r = g_new0(TestRun, 1);
  r->s = nl_scenario_load_string("udp.nlab", udp_lab, -1, overrides, &e);
  if (r->s == NULL)
    fail_msg("%s", e->message);
  NlRunOptions o = {0};
  r->run = nl_run_new(r->s, &o, &e);
  if (r->run == NULL)
    fail_msg("%s", e->message);
  r->failed = nl_run_execute(r->run);
  r->text = test_trace_text(nl_run_trace(r->run));
  g_free(over);
  return r;
}

static double run_eval(const char *spec, TestRun *r) {
  return eval(spec, nl_run_trace(r->run), r->s);
}

static void test_metric_udp_delivered_equals_sent_without_loss(void **s) {
  (void)s;
  TestRun *r = udp_run("0%");
  assert_true(run_eval("sent:client", r) == 20);
  assert_true(run_eval("sent:client:7", r) == 20);
  assert_true(run_eval("sent:client:8", r) == 0);
  assert_true(run_eval("delivered:server:7", r) == 20);
  assert_true(run_eval("delivered:client", r) == 20);
  /* 40 datagrams of 10 bytes, each 38 bytes of IP, crossed each network
   * once; on the LAN, the client's side of each. */
  assert_true(run_eval("bytes:lan", r) == 40 * 38);
  assert_true(run_eval("bytes:internet", r) == 40 * 38);
  assert_true(run_eval("packets:internet:server", r) == 40);
  assert_true(run_eval("packets:lan:client", r) == 40);
  assert_true(run_eval("echoes=stdout:client/udp-echo-client:([0-9]+) of", r) ==
              20);
  assert_true(run_eval("stdout.count:client/udp-echo-client:^echo:", r) == 20);
  test_run_free(r);
}

/* Under loss (the NAT's outside link, both ways): delivered to the server
 * is what the client sent less what that link lost on the way out; the
 * echoes the client counts are what came back. */
static void test_metric_udp_delivered_under_loss(void **s) {
  (void)s;
  TestRun *r = udp_run("30%");
  guint lost_out = 0;
  char **lines = g_strsplit(r->text, "\n", -1);
  for (char **l = lines; *l; l++)
    if (strstr(*l, " gw drop -> server ") && strstr(*l, "(link loss)"))
      lost_out++;
  g_strfreev(lines);
  double sent = run_eval("sent:client:7", r);
  double got = run_eval("delivered:server:7", r);
  assert_true(sent == 20);
  assert_true(lost_out > 0);
  assert_true(got == sent - lost_out);
  double echoes = run_eval("stdout:client/udp-echo-client:([0-9]+) of", r);
  assert_true(echoes == run_eval("delivered:client", r));
  assert_true(echoes < got);
  test_run_free(r);
}

/* Time to a line and to the exit, from the program's own start. */
static void test_metric_times_from_the_program_start(void **s) {
  (void)s;
  TestRun *r = udp_run("0%");
  NlTime line = -1, end = -1;
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  NlTrace *t = nl_run_trace(r->run);
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (strcmp(nl_trace_name(t, rec->peer), "client/udp-echo-client") != 0)
      continue;
    if (rec->kind == NL_TRACE_STDOUT && line < 0 &&
        g_strstr_len((const char *)p, rec->len, "echoes received"))
      line = rec->time;
    if (rec->kind == NL_TRACE_PROC && rec->len > 5 && !memcmp(p, "exit ", 5))
      end = rec->time;
  }
  assert_true(line > NL_S && end >= line);
  double want = (line - NL_S) / 1e9;
  assert_true(fabs(run_eval("line:client/udp-echo-client:echoes rec", r) -
                   want) < 1e-12);
  assert_true(fabs(run_eval("exit:client/udp-echo-client", r) -
                   (end - NL_S) / 1e9) < 1e-12);
  assert_true(isnan(run_eval("line:client/udp-echo-client:never printed", r)));
  /* The server never exits: no value. */
  assert_true(isnan(run_eval("exit:server/udp-echo-server", r)));
  test_run_free(r);
}

static void test_metric_stdout_aggregates(void **s) {
  (void)s;
  TestRun *r = udp_run("0%");
  /* "echo: 0123456789" twenty times: the number 123456789 each time. */
  const char *re = ":client/udp-echo-client:^echo: 0([0-9]+)";
  char *spec;
  static const struct {
    const char *agg;
    double want;
  } cases[] = {{"", 123456789},
               {".mean", 123456789},
               {".first", 123456789},
               {".last", 123456789},
               {".min", 123456789},
               {".max", 123456789},
               {".sum", 20.0 * 123456789},
               {".count", 20}};
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    spec = g_strdup_printf("stdout%s%s", cases[i].agg, re);
    assert_true(run_eval(spec, r) == cases[i].want);
    g_free(spec);
  }
  /* A capture that is not a number is an error naming the line. */
  NlRunMetric *m = metric("stdout:client/udp-echo-client:^(echo)", r->s);
  GError *e = NULL;
  double v;
  assert_false(nl_run_metric_eval(m, r->run, &v, &e));
  assert_non_null(strstr(e->message, "captured \"echo\", not a number"));
  g_error_free(e);
  nl_run_metric_free(m);
  test_run_free(r);
}

/* The sweep lesson's bulk sender under 5% loss finishes its transfer for
 * every seed (it used to sleep forever in send() after fast recovery),
 * and its goodput is the bytes the receiver counted over the time. */
static void test_metric_bulk_transfer_under_loss_completes(void **s) {
  (void)s;
  char *path = g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "scenarios",
                                "lessons", "sweeps", "tcp-loss.nlab", NULL);
  const char *overrides[] = {"loss=5%", NULL};
  GError *e = NULL;
  NlScenario *sc = nl_scenario_load(path, overrides, &e);
  if (sc == NULL)
    fail_msg("%s", e->message);
  for (guint64 seed = 1; seed <= 3; seed++) {
    NlRunOptions o = {.seed_set = TRUE, .seed = seed};
    NlRun *run = nl_run_new(sc, &o, &e);
    if (run == NULL)
      fail_msg("%s", e->message);
    assert_int_equal(nl_run_execute(run), 0);
    NlRunMetric *m = metric("exit:sender/bulk-send", sc);
    double v = NAN;
    assert_true(nl_run_metric_eval(m, run, &v, NULL));
    assert_true(v > 14.9 && v < 16);
    nl_run_metric_free(m);
    m = metric("retransmits:sender:receiver:5001", sc);
    assert_true(nl_run_metric_eval(m, run, &v, NULL));
    assert_true(v > 0);
    nl_run_metric_free(m);
    nl_run_free(run);
  }
  nl_scenario_free(sc);
  g_free(path);
}

/* ---- the text form ---- */

static void test_metric_bad_specs_name_their_column(void **s) {
  (void)s;
  TestRun *r = udp_run("0%");
  static const struct {
    const char *spec, *want;
  } cases[] = {
      {"goodptu:client:server", "column 1: unknown metric \"goodptu\"; did "
                                "you mean \"goodput\"?"},
      {"frobnicate:x", "column 1: unknown metric \"frobnicate\" (goodput,"},
      {"goodput", "column 8: expected goodput:FROM:TO[:PORT]"},
      {"goodput:client", "column 9: expected goodput:FROM:TO[:PORT]"},
      {"goodput:client:sever",
       "column 16: udp.nlab has no node \"sever\"; did you mean \"server\"?"},
      {"goodput:client:server:99999",
       "column 23: expected a port from 1 to 65535, not \"99999\""},
      {"goodput:client:client", "column 16: expected two different nodes"},
      {"sent:client:7:8", "column 15: expected sent:HOST[:PORT]"},
      {"bytes:lann", "column 7: udp.nlab has no network \"lann\"; did you "
                     "mean \"lan\"?"},
      {"bytes:lan:server", "column 11: server has no link on lan"},
      {"line:client:x", "column 6: expected HOST/PROGRAM"},
      {"line:client/echo:x",
       "column 13: client runs no program \"echo\" (it runs "
       "udp-echo-client)"},
      {"line:client/udp-echo-client:(", "column 29: not a regular expression"},
      {"sent:gw", "column 6: gw is not a host (sent counts the datagrams a "
                  "host's programs send)"},
      {"line:client/udp-echo-client:", "expected line:HOST/PROGRAM:REGEX"},
      {"exit:client/udp-echo-client:x", "expected exit:HOST/PROGRAM"},
      {"stdout.avg:client/udp-echo-client:x",
       "column 8: unknown aggregate \"avg\""},
      {"goodput.mean:a:b", "column 8: only stdout and stderr take"},
      {"9x=goodput:client:server", "column 1: a label starts with a letter"},
      {"x[=goodput:client:server", "column 2: expected LABEL[UNIT]="},
      {":client", "column 1: expected [LABEL=]KIND:ARGUMENTS"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    GError *e = NULL;
    NlRunMetric *m = nl_run_metric_parse(cases[i].spec, r->s, &e);
    if (m != NULL)
      fail_msg("%s: accepted", cases[i].spec);
    if (strstr(e->message, cases[i].want) == NULL)
      fail_msg("%s: \"%s\" does not contain \"%s\"", cases[i].spec, e->message,
               cases[i].want);
    g_error_free(e);
  }
  /* Labels and units. */
  NlRunMetric *m = metric("rtt[ms]=stdout.max:client/udp-echo-client:x", r->s);
  assert_string_equal(nl_run_metric_label(m), "rtt");
  assert_string_equal(nl_run_metric_unit(m), "ms");
  nl_run_metric_free(m);
  m = metric("goodput:client:server:7", r->s);
  assert_string_equal(nl_run_metric_label(m), "goodput");
  assert_string_equal(nl_run_metric_unit(m), "Mbit/s");
  nl_run_metric_free(m);
  test_run_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_metric_goodput_is_bytes_over_time_without_loss),
      cmocka_unit_test(test_metric_goodput_waits_for_the_hole),
      cmocka_unit_test(test_metric_tcp_flows_are_matched_by_isn),
      cmocka_unit_test(test_metric_udp_delivered_equals_sent_without_loss),
      cmocka_unit_test(test_metric_udp_delivered_under_loss),
      cmocka_unit_test(test_metric_times_from_the_program_start),
      cmocka_unit_test(test_metric_stdout_aggregates),
      cmocka_unit_test(test_metric_bulk_transfer_under_loss_completes),
      cmocka_unit_test(test_metric_bad_specs_name_their_column),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
