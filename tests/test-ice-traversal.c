/* NAT traversal in the lab: the ICE lessons (scenarios/lessons/traversal)
 * run through the runner, judged from the trace: what the agents reported
 * (nl_run_ice_report), the NATs' drops, the bytes on the wire
 * (nl_run_path_bytes), and `expect path` judged by the agents.  Every run
 * is repeated and must give a byte-identical trace. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "scenarios/runner/runner-path.h"
#include "test-run-util.h"

static char *lesson(const char *name) {
  if (g_str_has_prefix(name, "figures/"))
    return g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "scenarios",
                            name, NULL);
  return g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "scenarios",
                          "lessons", "traversal", name, NULL);
}

/* Runs a lesson with --set overrides (NULL-terminated "NAME=VALUE"), twice,
 * and checks that both traces are identical. */
static TestRun *run_lesson(const char *name, const char *const *sets) {
  char *path = lesson(name);
  TestRun *runs[2];
  for (int i = 0; i < 2; i++) {
    GError *err = NULL;
    TestRun *r = g_new0(TestRun, 1);
    r->s = nl_scenario_load(path, sets, &err);
    if (r->s == NULL)
      fail_msg("%s", err->message);
    r->run = nl_run_new(r->s, NULL, &err);
    if (r->run == NULL)
      fail_msg("%s", err->message);
    r->failed = nl_run_execute(r->run);
    r->text = test_trace_text(nl_run_trace(r->run));
    runs[i] = r;
  }
  assert_string_equal(runs[0]->text, runs[1]->text);
  test_run_free(runs[1]);
  g_free(path);
  return runs[0];
}

static guint drops(TestRun *r, const char *node, NlDropReason why) {
  NlTrace *t = nl_run_trace(r->run);
  guint32 id = nl_trace_intern(t, node);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  guint n = 0;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p))
    n += rec->kind == NL_TRACE_PKT_DROP && rec->node == id &&
         nl_trace_drop_reason(rec->aux) == why;
  return n;
}

static void assert_no_failures(TestRun *r) {
  if (r->failed != 0) {
    GString *rep = g_string_new(NULL);
    nl_run_report_failures(r->run, rep);
    fail_msg("%s", rep->str);
  }
}

static void test_traversal_same_nat_host_candidates_without_hairpinning(
    void **state) {
  TestRun *r = run_lesson("same-nat.nlab", NULL);
  assert_no_failures(r);
  NlRunIceReport rep;
  for (int side = 0; side < 2; side++) {
    const char *a = side ? "peer-b" : "peer-a", *b = side ? "peer-a" : "peer-b";
    assert_true(nl_run_ice_report(r->run, a, b, NL_TIME_NEVER, &rep));
    assert_int_equal(rep.outcome, NL_RUN_ICE_SELECTED);
    assert_false(rep.relayed);
    assert_true(g_str_has_prefix(rep.local, "host:10.0.0."));
    assert_true(g_str_has_prefix(rep.remote, "host:10.0.0."));
  }
  /* Nothing of the session left the LAN: the NAT translated only the
   * STUN and signaling traffic. */
  assert_int_equal(test_count_lines(r->text, "home recv <- peer-", "UDP",
                                    "> 203.0.113.1:", NULL),
                   0);
  test_run_free(r);
}

static void test_traversal_same_nat_srflx_with_hairpinning(void **state) {
  /* Hairpinning on, server-reflexive candidates only: they work. */
  TestRun *r = run_lesson("same-nat-hairpin.nlab", NULL);
  assert_no_failures(r);
  NlRunIceReport rep;
  assert_true(nl_run_ice_report(r->run, "peer-a", "peer-b", NL_TIME_NEVER,
                                &rep));
  assert_string_equal(rep.local, "srflx:203.0.113.1:50001");
  assert_string_equal(rep.remote, "srflx:203.0.113.1:50002");
  assert_int_equal(drops(r, "home", NL_DROP_NAT_HAIRPIN), 0);
  test_run_free(r);
  /* Hairpinning on with host candidates too: the host pair still wins
   * (higher priority); the srflx pair is there but not needed. */
  const char *const both[] = {"types=host,srflx", NULL};
  r = run_lesson("same-nat-hairpin.nlab", both);
  assert_true(nl_run_ice_report(r->run, "peer-a", "peer-b", NL_TIME_NEVER,
                                &rep));
  assert_true(g_str_has_prefix(rep.local, "host:"));
  test_run_free(r);
  /* The same without hairpinning: every check is dropped by the NAT and
   * no pair is selected. */
  const char *const off[] = {"hairpin=off", NULL};
  r = run_lesson("same-nat-hairpin.nlab", off);
  assert_false(nl_run_ice_report(r->run, "peer-a", "peer-b", NL_TIME_NEVER,
                                 &rep));
  assert_int_equal(rep.outcome, NL_RUN_ICE_PENDING);
  assert_true(drops(r, "home", NL_DROP_NAT_HAIRPIN) >= 2);
  assert_int_equal(r->failed, 2); /* its expect path and expect stdout */
  test_run_free(r);
}

/* A path that dies at @at is reported by both agents within 30 s. */
static void assert_path_failed(TestRun *r, NlTime at, gboolean relayed) {
  for (int side = 0; side < 2; side++) {
    const char *a = side ? "peer-b" : "peer-a", *b = side ? "peer-a" : "peer-b";
    NlRunIceReport rep;
    assert_true(nl_run_ice_report(r->run, a, b, at - 1, &rep));
    assert_int_equal(rep.outcome, NL_RUN_ICE_SELECTED);
    assert_true(nl_run_ice_report(r->run, a, b, NL_TIME_NEVER, &rep));
    assert_int_equal(rep.outcome, NL_RUN_ICE_PATH_FAILED);
    assert_int_equal(rep.relayed, relayed);
    assert_true(rep.at > at);
    assert_true(rep.at <= at + 30 * NL_S);
    assert_non_null(strstr(rep.why, "consent expired"));
  }
}

static void test_traversal_path_failure_link_down(void **state) {
  TestRun *r = run_lesson("path-failure.nlab", NULL);
  assert_no_failures(r);
  assert_path_failed(r, 10 * NL_S, FALSE);
  test_run_free(r);
}

static void test_traversal_path_failure_nat_reboot(void **state) {
  TestRun *r = run_lesson("nat-reboot.nlab", NULL);
  assert_no_failures(r);
  assert_path_failed(r, 10 * NL_S, TRUE);
  /* After the reboot NAT-A had no mapping for what the relay sent. */
  assert_true(drops(r, "nat-a", NL_DROP_NAT_NO_MAPPING) > 0);
  test_run_free(r);
}

static void test_traversal_expect_path_follows_the_agent(void **state) {
  /* Data did come straight from the peer (the packet heuristic would say
   * "direct"), but the agents declared the path dead: expect path at the
   * end fails, with their reason. */
  char *path = lesson("generated-expect-path.nlab");
  const char *text = "set nat_a = port-restricted-cone\n"
                     "set nat_b = port-restricted-cone\n"
                     "set turn = none\n"
                     "set duration = 55s\n"
                     "include \"topology.nlab\"\n"
                     "at 10s link peer-b lan-b down\n"
                     "at 9s expect path peer-a peer-b direct\n"
                     "at 9s expect path peer-a peer-b relayed\n"
                     "expect path peer-a peer-b direct\n";
  TestRun *r = test_run(path, text);
  assert_int_equal(r->failed, 2);
  GString *rep = g_string_new(NULL);
  nl_run_report_failures(r->run, rep);
  /* 9 s: the agent selected a direct path, so "relayed" fails... */
  assert_non_null(strstr(rep->str, ":8: expectation failed: expect path "
                                   "peer-a peer-b relayed: the ICE agent on "
                                   "peer-a selected srflx:203.0.113.1:50001 "
                                   "-> srflx:198.51.100.1:50002, a direct "
                                   "path"));
  /* ...and at the end, the path it selected had failed. */
  assert_non_null(strstr(rep->str, ":9: expectation failed: expect path "
                                   "peer-a peer-b direct: the direct path "
                                   "ICE selected on peer-a"));
  assert_non_null(strstr(rep->str, "consent expired"));
  g_string_free(rep, TRUE);
  /* The passing check's record reports the bytes on the wire. */
  assert_int_equal(test_count_lines(r->text, "pass: expect path peer-a peer-b "
                                    "direct: the ICE agent on peer-a "
                                    "selected",
                                    "data on the wire: direct 768 bytes (6 "
                                    "packets), relayed 0 bytes",
                                    NULL),
                   1);
  test_run_free(r);
  g_free(path);
}

static void test_traversal_relaying_about_doubles_the_bytes(void **state) {
  TestRun *d = run_lesson("cone-direct.nlab", NULL);
  TestRun *t = run_lesson("symmetric-relayed.nlab", NULL);
  assert_no_failures(d);
  assert_no_failures(t);
  NlRunPathBytes bd, bt;
  nl_run_path_bytes(d->run, "peer-a", "peer-b", &bd);
  nl_run_path_bytes(t->run, "peer-a", "peer-b", &bt);
  /* 3 datagrams each way of 100 bytes of data: 128 bytes of IP each. */
  assert_int_equal(bd.direct_packets, 6);
  assert_int_equal(bd.direct_bytes, 6 * 128);
  assert_int_equal(bd.relayed_bytes, 0);
  assert_int_equal(bt.direct_bytes, 0);
  assert_int_equal(bt.relayed_packets, 6);
  /* Two legs per datagram, plus TURN's framing on the peer-relay leg. */
  assert_true(bt.relayed_bytes >= 2 * bd.direct_bytes);
  assert_true(bt.relayed_bytes <= 2 * bd.direct_bytes + 6 * 40);
  test_run_free(d);
  test_run_free(t);
}

static void test_traversal_symmetric_without_relay_fails(void **state) {
  TestRun *r = run_lesson("symmetric-no-relay.nlab", NULL);
  assert_no_failures(r);
  NlRunIceReport rep;
  assert_true(nl_run_ice_report(r->run, "peer-a", "peer-b", NL_TIME_NEVER,
                                &rep));
  assert_int_equal(rep.outcome, NL_RUN_ICE_FAILED);
  /* The checks' last retransmission: 39.5 s after they started. */
  assert_true(rep.at > 40 * NL_S && rep.at < 43 * NL_S);
  assert_true(drops(r, "nat-a", NL_DROP_NAT_FILTERED) > 0);
  assert_true(drops(r, "nat-b", NL_DROP_NAT_FILTERED) > 0);
  test_run_free(r);
}

/* The chapter's figure, in its two modes: direct through cone NATs,
 * relayed through symmetric ones, and the report natlab run prints. */
static void test_traversal_figure_two_modes(void **state) {
  const char *const sym[] = {"nat=symmetric", NULL};
  TestRun *cone = run_lesson("figures/nat-traversal.nlab", NULL);
  TestRun *relay = run_lesson("figures/nat-traversal.nlab", sym);
  assert_no_failures(cone);
  assert_no_failures(relay);
  NlRunIceReport rc, rr;
  assert_true(nl_run_ice_report(cone->run, "peer-a", "peer-b", NL_TIME_NEVER,
                                &rc));
  assert_true(nl_run_ice_report(relay->run, "peer-b", "peer-a",
                                NL_TIME_NEVER, &rr));
  assert_false(rc.relayed);
  assert_string_equal(rc.local, "srflx:203.0.113.1:50001");
  assert_string_equal(rc.remote, "srflx:198.51.100.1:50002");
  assert_true(rr.relayed);
  assert_true(g_str_has_prefix(rr.remote, "relay:192.0.2.20:"));
  /* Symmetric NATs filtered the probes; cone NATs let them in once both
   * had punched. */
  assert_true(drops(relay, "nat-a", NL_DROP_NAT_FILTERED) > 0);
  GString *a = g_string_new(NULL), *b = g_string_new(NULL);
  nl_run_report_paths(cone->run, a);
  nl_run_report_paths(relay->run, b);
  assert_string_equal(a->str,
                      "path peer-a peer-b: direct (ICE on peer-a: "
                      "srflx:203.0.113.1:50001 -> srflx:198.51.100.1:50002); "
                      "data on the wire: 768 bytes direct (6 packets), 0 "
                      "bytes relayed (0 packets, two legs each)\n");
  assert_true(g_str_has_prefix(b->str, "path peer-a peer-b: relayed (ICE on "
                                       "peer-a: relay:192.0.2.20:"));
  assert_non_null(strstr(b->str, "data on the wire: 0 bytes direct (0 "
                                 "packets), 1592 bytes relayed (6 "
                                 "packets, two legs each)\n"));
  g_string_free(a, TRUE);
  g_string_free(b, TRUE);
  test_run_free(cone);
  test_run_free(relay);
}

/* The TCP hole punch of the bare hole-punch lesson: two connect()s, no
 * listen(), a simultaneous open through cone NATs; nothing through
 * symmetric ones. */
static void test_traversal_tcp_simultaneous_open(void **state) {
  char *dir = g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "scenarios",
                               "lessons", "client-server-p2p", NULL);
  char *cone = g_build_filename(dir, "tcp-hole-punch.nlab", NULL);
  char *sym = g_build_filename(dir, "tcp-hole-punch-symmetric.nlab", NULL);
  TestRun *r = test_run(cone, NULL);
  assert_no_failures(r);
  /* A's SYN was filtered by NAT-B, then B's SYN met A in SYN_SENT. */
  assert_int_equal(test_count_lines(r->text, "nat-b drop <- nat-a",
                                    "(nat filtered) TCP 203.0.113.1:50001 > "
                                    "198.51.100.1:50002 [S]",
                                    NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "peer-a tcp 10.0.0.5:50001 > "
                                    "198.51.100.1:50002 SYN_SENT -> "
                                    "SYN_RECEIVED",
                                    NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "peer-b tcp 192.168.1.10:50002 "
                                    "> 203.0.113.1:50001 SYN_SENT -> "
                                    "ESTABLISHED",
                                    NULL),
                   1);
  /* No peer listened or accepted. */
  assert_int_equal(test_count_lines(r->text, "[peer-a/peer] listen(", NULL) +
                       test_count_lines(r->text, "[peer-b/peer] listen(",
                                        NULL) +
                       test_count_lines(r->text, "[peer-a/peer] accept(",
                                        NULL),
                   0);
  NlRunPathBytes pb;
  nl_run_path_bytes(r->run, "peer-a", "peer-b", &pb);
  assert_int_equal(pb.direct_packets, 2); /* one greeting each way */
  assert_int_equal(pb.relayed_bytes, 0);
  test_run_free(r);
  r = test_run(sym, NULL);
  assert_no_failures(r);
  assert_int_equal(test_count_lines(r->text, "SYN_SENT -> SYN_RECEIVED",
                                    "peer-", NULL),
                   0);
  test_run_free(r);
  g_free(cone);
  g_free(sym);
  g_free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(
          test_traversal_same_nat_host_candidates_without_hairpinning),
      cmocka_unit_test(test_traversal_same_nat_srflx_with_hairpinning),
      cmocka_unit_test(test_traversal_path_failure_link_down),
      cmocka_unit_test(test_traversal_path_failure_nat_reboot),
      cmocka_unit_test(test_traversal_expect_path_follows_the_agent),
      cmocka_unit_test(test_traversal_relaying_about_doubles_the_bytes),
      cmocka_unit_test(test_traversal_symmetric_without_relay_fails),
      cmocka_unit_test(test_traversal_figure_two_modes),
      cmocka_unit_test(test_traversal_tcp_simultaneous_open),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
