/* Expectations in one pass (scenarios/runner/runner-expect.c): each record
 * is filed once, as it is added, into the expectations it concerns, so the
 * results do not depend on which records the trace keeps, and equal what
 * the kept records say. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "scenarios/runner/runner-path.h"
#include "sim/net/wire.h"
#include "test-run-util.h"

/* Every kind of expectation, some at a time during the run, some failing
 * on purpose so their reasons (counts, exit codes, lines) show. */
static const char *every_kind =
    "duration 4s\n"
    "network internet 192.0.2.0/24\n"
    "network lan 10.0.0.0/24\n"
    "host server\n"
    "  link internet 192.0.2.10\n"
    "  run udp-echo-server 7\n"
    "  run tcp-echo-server 8\n"
    "nat gw preset=port-restricted-cone\n"
    "  inside lan 10.0.0.1\n"
    "  outside internet 192.0.2.1\n"
    "host c[1..3]\n"
    "  link lan 10.0.0.${10+i}\n"
    "  route default via 10.0.0.1\n"
    "  run at=${i*10}ms udp-echo-client 192.0.2.10 7 hello 5 100\n"
    "  run at=${i*10+500}ms tcp-echo-client 192.0.2.10 8 hi\n"
    "host outsider\n"
    "  link internet 192.0.2.20\n"
    "  run at=1s udp-echo-client 192.0.2.1 9 knock 2 10\n"
    "at 300ms expect stdout c1/udp-echo-client contains \"echo: hello\"\n"
    "at 300ms expect stdout c2/udp-echo-client contains \"5 of 5\"\n"
    "expect stdout c[1..3]/udp-echo-client contains \"5 of 5\"\n"
    "expect stdout c1/udp-echo-client lacks \"no echo\"\n"
    "expect stderr c1/udp-echo-client contains \"nothing\"\n"
    "expect exit c[1..3]/udp-echo-client code 0\n"
    "expect exit c1/tcp-echo-client code 3\n"
    "expect exit server/udp-echo-server code 0\n"
    "expect received server from c1 bytes == 1\n"
    "expect received server from c2 packets >= 5\n"
    "expect received c3 from server bytes == 25\n"
    "expect tcp c2/tcp-echo-client state TIME_WAIT\n"
    "expect tcp server state ESTABLISHED\n"
    "expect tcp c1 state LISTEN\n"
    "expect filtered gw count == 0\n"
    "expect filtered gw reason=no-mapping count >= 1\n"
    "expect calls c1/udp-echo-client < 10\n"
    "expect sent c2/udp-echo-client bytes == 25\n"
    "expect fds server/udp-echo-server == 4\n"
    "expect blocked server/udp-echo-server in recvfrom\n"
    "at 2s expect blocked server/tcp-echo-server in accept\n"
    "expect path c1 server direct\n";

/* The results of every expectation, one line each. */
static char *results(TestRun *r) {
  GString *out = g_string_new(NULL);
  for (guint i = 0; i < nl_run_n_expects(r->run); i++) {
    gboolean passed;
    const char *why;
    NlTime when;
    const NlScnExpect *x =
        nl_run_expect_result(r->run, i, &passed, &why, &when);
    g_string_append_printf(out, "%s: %s at %" G_GINT64_FORMAT ": %s\n",
                           x->source, passed ? "pass" : "FAIL", when,
                           why ? why : "");
  }
  GString *rep = g_string_new(NULL);
  nl_run_report_failures(r->run, rep);
  g_string_append(out, rep->str);
  g_string_free(rep, TRUE);
  return g_string_free(out, FALSE);
}

/* How many records of @kind the trace kept. */
static guint kept(TestRun *r, NlTraceKind kind) {
  guint n = 0;
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, nl_run_trace(r->run));
  while (nl_trace_iter_next(&it, &rec, &p))
    n += rec->kind == kind;
  return n;
}

static void test_results_do_not_depend_on_what_is_kept(void **state) {
  /* Everything kept, as with --trace; only what the reports read; and
   * only what natlab run keeps without outputs. */
  NlRunOptions all = {0};
  NlRunOptions few = {.trace_mask = (1u << NL_TRACE_STDOUT) |
                                    (1u << NL_TRACE_STDERR) |
                                    (1u << NL_TRACE_PROC)};
  NlRunOptions checks = {.trace_mask = NL_RUN_CHECK_KINDS};
  /* natlab run -q: the lines no report reads are not kept either. */
  NlRunOptions quiet = {.trace_mask = NL_RUN_CHECK_KINDS,
                        .output_unshown = TRUE};
  TestRun *a = test_run_opts("every.nlab", every_kind, &all);
  TestRun *b = test_run_opts("every.nlab", every_kind, &few);
  TestRun *c = test_run_opts("every.nlab", every_kind, &checks);
  TestRun *q = test_run_opts("every.nlab", every_kind, &quiet);
  char *ra = results(a), *rb = results(b), *rc = results(c);
  char *rq = results(q);
  assert_string_equal(ra, rb);
  assert_string_equal(ra, rc);
  assert_string_equal(ra, rq);
  assert_int_equal(a->failed, b->failed);
  assert_int_equal(a->failed, c->failed);
  assert_int_equal(a->failed, q->failed);
  /* -q kept the lines of the programs output expectations name (c1, c2,
   * c3's udp-echo-client) and not the servers' or the TCP clients'. */
  assert_true(kept(q, NL_TRACE_STDOUT) > 0);
  assert_true(kept(q, NL_TRACE_STDOUT) < kept(c, NL_TRACE_STDOUT));
  assert_int_equal(
      test_count_lines(q->text, "stdout [server/udp-echo-server]", NULL), 0);
  assert_true(
      test_count_lines(c->text, "stdout [server/udp-echo-server]", NULL) > 0);
  assert_true(test_count_lines(c->text, "stdout [c1/udp-echo-client] echo: "
                               "hello", NULL) == 5);
  assert_int_equal(test_count_lines(q->text, "stdout [c1/udp-echo-client] "
                                    "echo: hello", NULL),
                   test_count_lines(c->text,
                                    "stdout [c1/udp-echo-client] echo: hello", NULL));
  g_free(rq);
  test_run_free(q);
  /* The ones written to fail did, with the reasons the records give. */
  assert_non_null(strstr(ra, "from c1 bytes == 1: FAIL"));
  assert_non_null(strstr(ra, "contains \"nothing\": FAIL"));
  assert_non_null(strstr(ra, "code 3: FAIL at 4000000000: it exited with 0"));
  assert_non_null(strstr(ra, "udp-echo-server code 0: FAIL at 4000000000: "
                             "it did not exit: blocked in recvfrom()"));
  assert_non_null(strstr(ra, "state LISTEN: FAIL"));
  assert_non_null(strstr(ra, "calls c1/udp-echo-client < 10: FAIL"));
  assert_non_null(strstr(ra, "gw count == 0: FAIL"));
  /* And the others held. */
  assert_non_null(strstr(ra, "reason=no-mapping count >= 1: pass"));
  assert_non_null(strstr(ra, "state TIME_WAIT: pass"));
  assert_non_null(strstr(ra, "server state ESTABLISHED: pass"));
  assert_non_null(strstr(ra, "from c2 packets >= 5: pass"));
  assert_non_null(strstr(ra, "sent c2/udp-echo-client bytes == 25: pass"));
  assert_non_null(strstr(ra, "fds server/udp-echo-server == 4: pass"));
  assert_non_null(strstr(ra, "lacks \"no echo\": pass"));
  assert_non_null(strstr(ra, "in recvfrom: pass"));
  assert_non_null(strstr(ra, "in accept: pass at 2000000000"));
  assert_non_null(strstr(ra, "path c1 server direct: pass"));
  /* A check during the run sees the records up to its time only. */
  assert_non_null(strstr(ra, "c2/udp-echo-client contains \"5 of 5\": FAIL "
                             "at 300000000"));
  assert_non_null(strstr(ra, "c[1..3]/udp-echo-client contains \"5 of 5\": "
                             "pass"));
  assert_int_equal(a->failed, 9);
  /* Fewer records kept: the trace holds no packets at all. */
  assert_true(kept(a, NL_TRACE_PKT_DELIVER) > 0);
  assert_int_equal(kept(b, NL_TRACE_PKT_DELIVER), 0);
  assert_int_equal(kept(b, NL_TRACE_PKT_DROP), 0);
  assert_int_equal(kept(b, NL_TRACE_TCP_STATE), 0);
  /* And natlab run without outputs keeps nothing per delivered packet. */
  assert_int_equal(kept(c, NL_TRACE_PKT_DELIVER), 0);
  /* A second run is the same, record for record. */
  TestRun *again = test_run_opts("every.nlab", every_kind, &all);
  assert_string_equal(a->text, again->text);
  char *ragain = results(again);
  assert_string_equal(ra, ragain);
  g_free(ragain);
  test_run_free(again);
  g_free(ra);
  g_free(rb);
  g_free(rc);
  test_run_free(a);
  test_run_free(b);
  test_run_free(c);
}

/* `received` and `filtered` count what the kept records say. */
static void test_counts_are_the_records(void **state) {
  TestRun *r = test_run("every.nlab", every_kind);
  NlTrace *t = nl_run_trace(r->run);
  guint32 c3 = nl_trace_lookup(t, "c3"), gw = nl_trace_lookup(t, "gw");
  gint64 bytes = 0, drops = 0;
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    NlIp4Header ip;
    if (rec->kind == NL_TRACE_PKT_DROP && rec->node == gw &&
        !(rec->aux & NL_DROP_OUTGOING))
      drops++;
    if (rec->kind != NL_TRACE_PKT_DELIVER || rec->node != c3 ||
        nl_ip4_parse(p, rec->len, &ip) != NULL || ip.src != 0xc000020a)
      continue;
    if (ip.proto == NL_IPPROTO_UDP)
      bytes += ip.total_len - ip.ihl_bytes - NL_UDP_HDR_LEN;
    else if (ip.proto == NL_IPPROTO_TCP)
      bytes += ip.total_len - ip.ihl_bytes - (p[ip.ihl_bytes + 12] >> 4) * 4;
  }
  /* Five echoes of "hello" and the TCP echo's reply at least. */
  assert_true(bytes > 25);
  assert_true(drops > 0);
  char *res = results(r);
  char *want = g_strdup_printf("received c3 from server bytes == 25: FAIL "
                               "at 4000000000: the count was %" G_GINT64_FORMAT,
                               bytes);
  assert_non_null(strstr(res, want));
  g_free(want);
  want = g_strdup_printf("gw count == 0: FAIL at 4000000000: the count was "
                         "%" G_GINT64_FORMAT, drops);
  assert_non_null(strstr(res, want));
  g_free(want);
  g_free(res);
  test_run_free(r);
}

/* The path reports (runner-path.c) tally the deliveries as they are made:
 * a run that keeps no delivery record (natlab run without outputs)
 * reports the same paths and bytes as one that keeps every record, for a
 * direct and a relayed path. */
static void test_path_reports_need_no_kept_deliveries(void **state) {
  char *path = g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "scenarios",
                                "figures", "nat-traversal.nlab", NULL);
  const char *const cone[] = {NULL};
  const char *const sym[] = {"nat=symmetric", NULL};
  const char *const *sets[] = {cone, sym};
  for (guint i = 0; i < G_N_ELEMENTS(sets); i++) {
    GString *rep[2];
    NlRunPathBytes pb[2];
    guint delivered[2];
    for (guint k = 0; k < 2; k++) {
      /* The second as natlab run -q keeps it (the agents' ice: lines). */
      NlRunOptions o = {.trace_mask = k ? NL_RUN_CHECK_KINDS : 0,
                        .output_unshown = k == 1};
      GError *err = NULL;
      NlScenario *s = nl_scenario_load(path, sets[i], &err);
      assert_non_null(s);
      NlRun *run = nl_run_new(s, &o, &err);
      assert_non_null(run);
      assert_int_equal(nl_run_execute(run), 0);
      rep[k] = g_string_new(NULL);
      nl_run_report_paths(run, rep[k]);
      nl_run_path_bytes(run, "peer-a", "peer-b", &pb[k]);
      if (k == 0) {
        /* The tally equals what the kept records say (natlab sweep's
         * path-bytes metric reads them). */
        NlRunPathBytes from_records;
        nl__run_path_bytes_in(s, nl_run_trace(run), "peer-a", "peer-b",
                              &from_records);
        assert_memory_equal(&from_records, &pb[0], sizeof pb[0]);
      }
      TestRun tr = {.run = run};
      delivered[k] = kept(&tr, NL_TRACE_PKT_DELIVER);
      nl_run_free(run);
      nl_scenario_free(s);
    }
    assert_true(delivered[0] > 0);
    assert_int_equal(delivered[1], 0);
    assert_string_equal(rep[0]->str, rep[1]->str);
    assert_non_null(strstr(rep[0]->str, i ? "relayed (ICE" : "direct (ICE"));
    assert_memory_equal(&pb[0], &pb[1], sizeof pb[0]);
    assert_true(i ? pb[0].relayed_bytes > 0 : pb[0].direct_bytes > 0);
    g_string_free(rep[0], TRUE);
    g_string_free(rep[1], TRUE);
  }
  g_free(path);
}

/* The ICE reports read the tally's copy of the `ice: ` lines (kept as
 * the trace adds them, where the trace keeps them all): the same reports,
 * at the end and at times during the run, as reading the trace. */
static void test_ice_reports_from_their_lines_are_the_trace(void **state) {
  char *path = g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "scenarios",
                                "figures", "nat-traversal.nlab", NULL);
  const char *const cone[] = {NULL};
  const char *const sym[] = {"nat=symmetric", NULL};
  const char *const *sets[] = {cone, sym};
  /* All kept, and as natlab run -q keeps them. */
  NlRunOptions opts[] = {
      {0}, {.trace_mask = NL_RUN_CHECK_KINDS, .output_unshown = TRUE}};
  static const NlTime at[] = {0, 500 * NL_MS, NL_S, 2 * NL_S, NL_TIME_NEVER};
  for (guint i = 0; i < G_N_ELEMENTS(sets); i++)
    for (guint k = 0; k < G_N_ELEMENTS(opts); k++) {
      GError *err = NULL;
      NlScenario *s = nl_scenario_load(path, sets[i], &err);
      assert_non_null(s);
      NlRun *run = nl_run_new(s, &opts[k], &err);
      assert_non_null(run);
      assert_int_equal(nl_run_execute(run), 0);
      GString *rep[2];
      NlRunIceReport ice[2][G_N_ELEMENTS(at)][2];
      for (guint from = 0; from < 2; from++) {
        if (from == 1) /* the trace */
          nl__path_tally_forget_ice_lines(nl__run_path_tally(run));
        rep[from] = g_string_new(NULL);
        nl_run_report_paths(run, rep[from]);
        for (guint t = 0; t < G_N_ELEMENTS(at); t++) {
          nl_run_ice_report(run, "peer-a", "peer-b", at[t], &ice[from][t][0]);
          nl_run_ice_report(run, "peer-b", "peer-a", at[t], &ice[from][t][1]);
        }
      }
      assert_non_null(strstr(rep[0]->str, "(ICE on "));
      assert_string_equal(rep[0]->str, rep[1]->str);
      assert_memory_equal(ice[0], ice[1], sizeof ice[0]);
      /* The reports changed during the run: an outcome at the end, none
       * at its start. */
      assert_int_equal(ice[0][0][0].outcome, NL_RUN_ICE_NONE);
      assert_int_equal(ice[0][G_N_ELEMENTS(at) - 1][0].outcome,
                       NL_RUN_ICE_SELECTED);
      g_string_free(rep[0], TRUE);
      g_string_free(rep[1], TRUE);
      nl_run_free(run);
      nl_scenario_free(s);
    }
  g_free(path);
}

/* A LAN with an echo server at 10.0.0.1, run for a second. */
static GString *echo_lan(void) {
  return g_string_new("duration 1s\n"
                      "network lan 10.0.0.0/24\n"
                      "host server\n"
                      "  link lan 10.0.0.1\n"
                      "  run udp-echo-server 7\n");
}

/* Host @name at 10.0.0.@octet, sending the server "hello" three times. */
static void add_echo_client(GString *s, const char *name, guint octet) {
  g_string_append_printf(s,
                         "host %s\n"
                         "  link lan 10.0.0.%u\n"
                         "  run udp-echo-client 10.0.0.1 7 hello 3 10\n",
                         name, octet);
}

/* A thousand expectations, and a group of a thousand copies, over a
 * thousand programs: each gets its own result. */
static void test_thousand_expectations_each_their_own(void **state) {
  GString *s = g_string_new("duration 2s\n"
                            "network lan 10.0.0.0/16\n"
                            "host server\n"
                            "  link lan 10.0.0.1\n"
                            "  run udp-echo-server 7\n"
                            "host c[1..1000]\n"
                            "  link lan auto\n"
                            "  run at=${i}ms udp-echo-client 10.0.0.1 7 "
                            "m${i} 1\n"
                            "expect stdout c[1..1000]/udp-echo-client "
                            "contains \"1 of 1\"\n");
  for (int i = 1; i <= 1000; i++)
    g_string_append_printf(s,
                           "expect stdout c%d/udp-echo-client contains "
                           "\"echo: m%d\"\n",
                           i, i == 500 ? 501 : i);
  TestRun *r = test_run("thousand.nlab", s->str);
  assert_int_equal(r->failed, 1);
  char *res = results(r);
  assert_non_null(strstr(res, "c500/udp-echo-client contains \"echo: m501\": "
                              "FAIL"));
  assert_non_null(strstr(res, "c501/udp-echo-client contains \"echo: m501\": "
                              "pass"));
  assert_non_null(strstr(res, "c[1..1000]/udp-echo-client contains \"1 of 1\""
                              ": pass"));
  /* The failure is explained from the program's lines. */
  assert_non_null(strstr(res, "echo: m500"));
  g_free(res);
  test_run_free(r);
  g_string_free(s, TRUE);
}

/* A text is found anywhere in a line: at its start, at its end, after
 * earlier places where only its first byte matches, longer than sixteen
 * bytes; never past the line's end. */
static void test_text_found_anywhere_in_a_line(void **state) {
  static const struct {
    const char *text;
    gboolean holds;
  } cases[] = {
      {"echo: hello", TRUE},            /* the whole line */
      {"echo", TRUE},                   /* its start */
      {"ello", TRUE},                   /* 'e' first matches at 0 */
      {"echoes received", TRUE},        /* its end */
      {"3 of 3 echoes received", TRUE}, /* longer than 16 bytes */
      {"3 of 3 echoes received!", FALSE},
      {"echo: hellox", FALSE},          /* longer than the line */
      {"hello ", FALSE},
      {"lo", TRUE},
      {"", TRUE},
  };
  GString *s = echo_lan();
  add_echo_client(s, "c", 2);
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
    g_string_append_printf(s, "expect stdout c/udp-echo-client contains \"%s\"\n",
                           cases[i].text);
  TestRun *r = test_run("anywhere.nlab", s->str);
  char *res = results(r);
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *want = g_strdup_printf("contains \"%s\": %s", cases[i].text,
                                 cases[i].holds ? "pass" : "FAIL");
    if (strstr(res, want) == NULL)
      fail_msg("%s not in:\n%s", want, res);
    g_free(want);
  }
  g_free(res);
  test_run_free(r);
  g_string_free(s, TRUE);
}

/* The same, each text the only one looked for in its program's lines (an
 * entry's copy of its first text decides most lines), and a text of
 * stdout never found in stderr. */
static void test_one_text_found_anywhere_in_a_line(void **state) {
  static const struct {
    const char *stream, *text;
    gboolean holds;
  } cases[] = {
      {"stdout", "echo: hello", TRUE},
      {"stdout", "ello", TRUE},                   /* 'e' first matches at 0 */
      {"stdout", "echoes received", TRUE},        /* its end */
      {"stdout", "3 of 3 echoes received", TRUE}, /* longer than 16 bytes */
      {"stdout", "3 of 3 echoes received!", FALSE},
      {"stdout", "echo: hellox", FALSE}, /* longer than the line */
      {"stdout", "hello ", FALSE},
      {"stdout", "zz", FALSE}, /* its first byte in no line */
      {"stdout", "", TRUE},
      {"stderr", "echo", FALSE},
  };
  GString *s = echo_lan();
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *name = g_strdup_printf("c%u", i);
    add_echo_client(s, name, 10 + i);
    g_string_append_printf(s,
                           "expect %s c%u/udp-echo-client contains \"%s\"\n",
                           cases[i].stream, i, cases[i].text);
    g_free(name);
  }
  TestRun *r = test_run("one.nlab", s->str);
  char *res = results(r);
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *want = g_strdup_printf("c%u/udp-echo-client contains \"%s\": %s", i,
                                 cases[i].text,
                                 cases[i].holds ? "pass" : "FAIL");
    if (strstr(res, want) == NULL)
      fail_msg("%s not in:\n%s", want, res);
    g_free(want);
  }
  g_free(res);
  test_run_free(r);
  g_string_free(s, TRUE);
}

/* A program's texts found one by one: once all but one are seen, the
 * one left decides which lines are looked at (its stream, its length,
 * its first byte), and it is found on the line that holds it, whatever
 * the texts seen before it looked like. */
static void test_last_text_left_found_on_its_line(void **state) {
  static const struct {
    const char *first, *stream, *left;
    gboolean held;
  } cases[] = {
      /* "llo" first (on the first line, "echo: hello"); the last line
       * ("3 of 3 echoes received") has no 'l', and holds the text left. */
      {"llo", "stdout", "3 of 3", TRUE},
      /* The one left longer than sixteen bytes. */
      {"llo", "stdout", "3 of 3 echoes received", TRUE},
      /* The one left in the other stream: no line there. */
      {"llo", "stderr", "3 of 3", FALSE},
      /* The one left's first byte on every line before the one that
       * holds it. */
      {"llo", "stdout", "echoes", TRUE},
      /* The one left nowhere. */
      {"llo", "stdout", "4 of 3", FALSE},
      /* The one left seen on the same line as the first. */
      {"echo: ", "stdout", "hello", TRUE},
  };
  GString *s = echo_lan();
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *name = g_strdup_printf("c%u", i);
    add_echo_client(s, name, 10 + i);
    g_string_append_printf(s,
                           "expect stdout c%u/udp-echo-client contains \"%s\"\n"
                           "expect %s c%u/udp-echo-client contains \"%s\"\n"
                           "expect %s c%u/udp-echo-client lacks \"%s\"\n",
                           i, cases[i].first, cases[i].stream, i,
                           cases[i].left, cases[i].stream, i, cases[i].left);
    g_free(name);
  }
  TestRun *r = test_run("left.nlab", s->str);
  char *res = results(r);
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *want[3] = {
        g_strdup_printf("c%u/udp-echo-client contains \"%s\": pass", i,
                        cases[i].first),
        g_strdup_printf("c%u/udp-echo-client contains \"%s\": %s", i,
                        cases[i].left, cases[i].held ? "pass" : "FAIL"),
        g_strdup_printf("c%u/udp-echo-client lacks \"%s\": %s", i,
                        cases[i].left, cases[i].held ? "FAIL" : "pass"),
    };
    for (guint k = 0; k < 3; k++) {
      if (strstr(res, want[k]) == NULL)
        fail_msg("%s not in:\n%s", want[k], res);
      g_free(want[k]);
    }
  }
  g_free(res);
  test_run_free(r);
  g_string_free(s, TRUE);
}

/* The bytes nl_run_path_bytes tallies for a pair, counted again from the
 * delivery records the trace kept: IP bytes of UDP datagrams that are not
 * STUN and of TCP segments with data, delivered at either host from the
 * other's address. */
static void path_bytes_from_records(TestRun *r, const char *a, const char *b,
                                    NlRunPathBytes *out) {
  memset(out, 0, sizeof *out);
  NlTrace *t = nl_run_trace(r->run);
  const NlScnNode *sa = nl_scenario_find_node(r->s, a);
  const NlScnNode *sb = nl_scenario_find_node(r->s, b);
  guint32 na = nl_trace_lookup(t, a), nb = nl_trace_lookup(t, b);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    NlIp4Header ip;
    if (rec->kind != NL_TRACE_PKT_DELIVER ||
        (rec->node != na && rec->node != nb) ||
        nl_ip4_parse(p, rec->len, &ip) != NULL ||
        !nl__run_node_has(r->s, rec->node == na ? sb : sa, ip.src, 0))
      continue;
    const guint8 *l4 = p + ip.ihl_bytes;
    gsize n = ip.total_len - ip.ihl_bytes;
    gboolean data;
    if (ip.proto == NL_IPPROTO_UDP)
      data = n < NL_UDP_HDR_LEN + 20 || l4[NL_UDP_HDR_LEN + 4] != 0x21 ||
             l4[NL_UDP_HDR_LEN + 5] != 0x12; /* not STUN's cookie */
    else if (ip.proto == NL_IPPROTO_TCP)
      data = n > (gsize)(l4[12] >> 4) * 4;
    else
      data = FALSE;
    if (data) {
      out->direct_bytes += ip.total_len;
      out->direct_packets++;
    }
  }
}

/* The tally of deliveries by node and source (runner-path.c) gives each
 * pair its own bytes: a server that hears from hundreds of addresses in
 * turn, clients that hear from the server only (their counts held back
 * in their node's slot until read), UDP and TCP. */
static void test_path_bytes_of_each_pair_are_the_records(void **state) {
  const char *text =
      "duration 2s\n"
      "network lan 10.0.0.0/16\n"
      "host server\n"
      "  link lan 10.0.0.1\n"
      "  run udp-echo-server 7\n"
      "  run tcp-echo-server 8\n"
      "host c[1..300]\n"
      "  link lan auto\n"
      "  run at=${i}ms udp-echo-client 10.0.0.1 7 m${i} ${i%4+1} 5\n"
      "host t[1..3]\n"
      "  link lan auto\n"
      "  run at=${i*100}ms tcp-echo-client 10.0.0.1 8 hi${i}\n";
  TestRun *r = test_run("pairs.nlab", text);
  guint nonzero = 0;
  for (guint i = 0; i < 303; i++) {
    char *name = i < 300 ? g_strdup_printf("c%u", i + 1)
                         : g_strdup_printf("t%u", i - 299);
    NlRunPathBytes got, want;
    nl_run_path_bytes(r->run, "server", name, &got);
    path_bytes_from_records(r, "server", name, &want);
    if (got.direct_bytes != want.direct_bytes ||
        got.direct_packets != want.direct_packets || got.relayed_bytes != 0 ||
        got.relayed_packets != 0)
      fail_msg("server %s: tallied %" G_GUINT64_FORMAT " bytes (%u), the "
               "records say %" G_GUINT64_FORMAT " (%u)",
               name, got.direct_bytes, got.direct_packets, want.direct_bytes,
               want.direct_packets);
    /* A client echoes i%4+1 datagrams each way (both legs of each). */
    if (i < 300)
      assert_int_equal(got.direct_packets, 2 * (((i + 1) % 4) + 1));
    nonzero += got.direct_bytes > 0;
    /* And the pair the other way round. */
    nl_run_path_bytes(r->run, name, "server", &want);
    assert_memory_equal(&got, &want, sizeof got);
    g_free(name);
  }
  assert_int_equal(nonzero, 303);
  /* Two clients never talked to each other. */
  NlRunPathBytes none;
  nl_run_path_bytes(r->run, "c1", "c2", &none);
  assert_int_equal(none.direct_bytes, 0);
  assert_int_equal(none.direct_packets, 0);
  test_run_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_found_anywhere_in_a_line),
      cmocka_unit_test(test_one_text_found_anywhere_in_a_line),
      cmocka_unit_test(test_results_do_not_depend_on_what_is_kept),
      cmocka_unit_test(test_counts_are_the_records),
      cmocka_unit_test(test_path_reports_need_no_kept_deliveries),
      cmocka_unit_test(test_ice_reports_from_their_lines_are_the_trace),
      cmocka_unit_test(test_thousand_expectations_each_their_own),
      cmocka_unit_test(test_last_text_left_found_on_its_line),
      cmocka_unit_test(test_path_bytes_of_each_pair_are_the_records),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
