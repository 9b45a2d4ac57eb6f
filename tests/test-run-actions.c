/* Scenario timelines and expectations, run: each action changes the world
 * at its time, visibly in the trace; expectations hold or fail with their
 * file:line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "test-run-util.h"

static const char world[] =
    "seed 3\n"
    "duration 12s\n"
    "network lan 10.0.0.0/24 latency=5ms\n"
    "network internet 192.0.2.0/24 latency=10ms\n"
    "host client\n"
    "  link lan 10.0.0.10\n"
    "  route default via 10.0.0.1\n"
    "  run at=1s udp-echo-client 192.0.2.7 7 ping 10 300\n"
    "nat gw preset=port-restricted-cone udp_timeout=30s\n"
    "  inside lan 10.0.0.1\n"
    "  outside internet 192.0.2.1\n"
    "host server\n"
    "  link internet 192.0.2.7\n"
    "  run udp-echo-server 7\n";

static TestRun *run_with(const char *rest) {
  char *text = g_strconcat(world, rest, NULL);
  TestRun *r = test_run("actions.nlab", text);
  g_free(text);
  return r;
}

static void test_action_link_down_and_up(void **state) {
  TestRun *r = run_with("at 1500ms link server internet down\n"
                        "at 2200ms link server internet up\n"
                        "expect exit client/udp-echo-client code 1\n");
  assert_int_equal(r->failed, 0);
  assert_int_equal(test_count_lines(r->text, "1.500000000 server link",
                                    "internet down", NULL), 1);
  assert_true(test_count_lines(r->text, "(link down)", NULL) >= 1);
  /* Nothing is dropped for the link after it came back. */
  assert_int_equal(test_count_lines(r->text, "3.", "(link down)", NULL), 0);
  GPtrArray *l = test_stdout(r, "client/udp-echo-client");
  assert_string_equal(g_ptr_array_index(l, l->len - 1),
                      "9 of 10 echoes received");
  g_ptr_array_unref(l);
  test_run_free(r);
}

static void test_action_link_set_changes_properties(void **state) {
  TestRun *r = run_with("at 1500ms link client lan set loss=100%\n"
                        "at 2000ms link client lan set loss=0%\n");
  assert_int_equal(test_count_lines(r->text, "client link lan changed", NULL),
                   2);
  assert_true(test_count_lines(r->text, "client drop", "(link loss)", NULL) >=
              1);
  assert_int_equal(test_count_lines(r->text, "3.", "(link loss)", NULL), 0);
  test_run_free(r);
}

static void test_action_nat_snapshot_and_reboot(void **state) {
  TestRun *r = run_with("at 1500ms snapshot gw\n"
                        "at 1600ms nat gw reboot\n");
  assert_int_equal(test_count_lines(r->text, "1.500000000 gw nat-table",
                                    "UDP 10.0.0.10:", NULL), 1);
  assert_int_equal(test_count_lines(r->text, "1.600000000 gw mapping reboot",
                                    NULL), 1);
  /* The next datagram out makes a new mapping. */
  assert_int_equal(test_count_lines(r->text, "gw mapping new", NULL), 2);
  test_run_free(r);
}

static void test_action_partition_heal_note(void **state) {
  TestRun *r = run_with("at 1500ms partition gw server\n"
                        "at 2s heal gw server\n"
                        "at 2100ms note \"whole again\"\n");
  assert_true(test_count_lines(r->text, "(blocked by policy)", NULL) >= 1);
  assert_int_equal(test_count_lines(r->text, "2.5", "(blocked by policy)",
                                    NULL), 0);
  assert_int_equal(test_count_lines(r->text, "2.100000000", "note whole again",
                                    NULL), 1);
  test_run_free(r);
}

static void test_action_partition_through_a_router(void **state) {
  TestRun *r = test_run(
      "p.nlab",
      "seed 1\nduration 6s\n"
      "network a-net 10.0.1.0/24 latency=1ms\n"
      "network b-net 10.0.2.0/24 latency=1ms\n"
      "host a\n  link a-net 10.0.1.5\n  route default via 10.0.1.1\n"
      "  run udp-echo-server 7\n"
      "router r\n  link a-net 10.0.1.1\n  link b-net 10.0.2.1\n"
      "host b\n  link b-net 10.0.2.5\n  route default via 10.0.2.1\n"
      "  run at=1s udp-echo-client 10.0.1.5 7 hi 3 1000\n"
      "at 500ms partition a b\nat 2500ms heal a b\n"
      "expect stdout b/udp-echo-client contains \"2 of 3 echoes\"\n");
  assert_int_equal(r->failed, 0);
  /* a and b share no segment: the router's hop carries their packet. */
  assert_int_equal(test_count_lines(r->text, "1.000004000 b drop",
                                    "(blocked by policy)", NULL), 1);
  test_run_free(r);
}

static void test_action_host_crash_and_restart(void **state) {
  TestRun *r = run_with("at 2s host server crash\n"
                        "at 3s host server restart\n");
  assert_int_equal(test_count_lines(r->text, "2.000000000 server proc",
                                    "killed: the host crashed", NULL), 1);
  assert_true(test_count_lines(r->text, "server drop", "(host down)", NULL) >=
              1);
  /* Restarted, the host answers the datagram with port unreachable: its
   * server is gone. */
  assert_true(test_count_lines(r->text, "server drop", "(no socket on port)",
                               NULL) >= 1);
  test_run_free(r);
}

static void test_expect_results_name_their_line(void **state) {
  TestRun *r = run_with(
      "expect received server from client bytes >= 40\n"
      "expect received server from client packets == 10\n"
      "at 1100ms expect stdout client/udp-echo-client contains \"echo: ping\"\n"
      "at 1010ms expect stdout client/udp-echo-client contains \"echo: ping\"\n"
      "expect stdout client/udp-echo-client lacks \"no echo\"\n"
      "expect exit client/udp-echo-client code 0\n"
      "expect filtered gw count == 0\n"
      "expect received server from client bytes > 1000\n"
      "expect path client server direct\n"
      "expect path client server relayed\n");
  /* Behind the NAT the client is seen as 192.0.2.1: still "from client". */
  assert_int_equal(r->failed, 3);
  GString *rep = g_string_new(NULL);
  nl_run_report_failures(r->run, rep);
  assert_non_null(strstr(rep->str, "actions.nlab:18: expectation failed: "
                                   "expect stdout client/udp-echo-client "
                                   "contains \"echo: ping\": no such line "
                                   "was printed"));
  assert_non_null(strstr(rep->str, "actions.nlab:22: expectation failed: "
                                   "expect received server from client bytes"
                                   " > 1000: the count was 40"));
  assert_non_null(strstr(rep->str, "actions.nlab:24: expectation failed: "
                                   "expect path client server relayed: data "
                                   "arrived directly from the peer"));
  assert_int_equal(test_count_lines(r->text, "1.100000000 client expect",
                                    "pass", NULL), 1);
  g_string_free(rep, TRUE);
  test_run_free(r);
}

static void test_run_firewall_chained_nats_and_directions(void **state) {
  TestRun *r = test_run(
      "fw.nlab",
      "seed 1\nduration 5s\n"
      "network home 192.168.1.0/24\n"
      "network carrier 100.64.0.0/16\n"
      "network office 10.9.0.0/24\n"
      "network internet 203.0.113.0/24 192.0.2.0/24 latency=10ms\n"
      /* A laptop behind a home NAT behind a carrier-grade NAT. */
      "host laptop\n  link home 192.168.1.10 down.latency=50ms\n"
      "  route default via 192.168.1.1\n"
      "  run at=1s udp-echo-client 192.0.2.7 7 via-two-nats\n"
      "nat homenat preset=full-cone\n  inside home 192.168.1.1\n"
      "  outside carrier 100.64.0.2\n  route default via 100.64.0.1\n"
      "nat cgn preset=symmetric\n  inside carrier 100.64.0.1\n"
      "  outside internet 203.0.113.9\n"
      /* An office behind a stateful firewall, no translation. */
      "host desk\n  link office 10.9.0.5\n  route default via 10.9.0.1\n"
      "  run udp-echo-server 7\n"
      "  run at=1s name=out udp-echo-client 192.0.2.7 7 from-inside\n"
      "firewall fw\n  inside office 10.9.0.1\n  outside internet 192.0.2.1\n"
      "host server\n  link internet 192.0.2.7\n"
      "  route 10.9.0.0/24 via 192.0.2.1\n  run udp-echo-server 7\n"
      "  run at=2s name=in udp-echo-client 10.9.0.5 7 unsolicited\n"
      "expect exit laptop/udp-echo-client code 0\n"
      "expect exit desk/out code 0\n"
      "expect exit server/in code 1\n"
      "expect filtered fw count == 1\n");
  assert_int_equal(r->failed, 0);
  /* Through both NATs the server sees the carrier's address. */
  assert_int_equal(test_count_lines(r->text, "server stdout",
                                    "from 203.0.113.9:", NULL), 1);
  /* The firewall does not translate: the office address goes out. */
  assert_int_equal(test_count_lines(r->text, "server stdout",
                                    "from 10.9.0.5:", NULL), 1);
  /* down.latency=50ms applies on the way to the laptop only: the echo
   * leaves the home NAT at some t and arrives at t + 50 ms. */
  assert_int_equal(test_count_lines(r->text, "homenat send -> laptop", NULL), 1);
  assert_int_equal(test_count_lines(r->text, "laptop send -> homenat",
                                    "1.000004000", NULL), 1);
  assert_int_equal(test_count_lines(r->text, "1.000004000 homenat recv", NULL),
                   1);
  test_run_free(r);
}

static void test_run_ipv6_small_mtu_is_refused_with_its_line(void **state) {
  GError *err = NULL;
  NlScenario *s = nl_scenario_load_string(
      "v6.nlab",
      "network lan 10.0.0.0/24 2001:db8::/64 mtu=1200\nhost a\n"
      "  link lan 10.0.0.5\nhost b\n  link lan 10.0.0.6 2001:db8::6\n",
      -1, NULL, &err);
  assert_non_null(s);
  NlRun *r = nl_run_new(s, NULL, &err);
  assert_null(r);
  /* IPv4 takes any MTU; the IPv6 address on b's link is refused. */
  assert_true(g_str_has_prefix(err->message,
                               "v6.nlab:5:21: IPv6 needs a link MTU of at "
                               "least 1280 bytes"));
  g_error_free(err);
  nl_scenario_free(s);
}

static void count_calls(void *data, NlTime now, NlTime end, uint64_t ev) {
  (*(int *)data)++;
}

static void test_run_progress_slices_leave_the_trace_unchanged(void **state) {
  char *text = g_strconcat(world, "at 1500ms nat gw reboot\n", NULL);
  TestRun *plain = test_run("actions.nlab", text);
  GError *err = NULL;
  NlScenario *s = nl_scenario_load_string("actions.nlab", text, -1, NULL, &err);
  NlRun *run = nl_run_new(s, NULL, &err);
  int calls = 0;
  nl_run_set_progress(run, count_calls, &calls);
  nl_run_execute(run);
  char *sliced = test_trace_text(nl_run_trace(run));
  assert_true(calls >= 200);
  assert_string_equal(plain->text, sliced);
  g_free(sliced);
  nl_run_free(run);
  nl_scenario_free(s);
  test_run_free(plain);
  g_free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_action_link_down_and_up),
    cmocka_unit_test(test_action_link_set_changes_properties),
    cmocka_unit_test(test_action_nat_snapshot_and_reboot),
    cmocka_unit_test(test_action_partition_heal_note),
    cmocka_unit_test(test_action_partition_through_a_router),
    cmocka_unit_test(test_action_host_crash_and_restart),
    cmocka_unit_test(test_expect_results_name_their_line),
    cmocka_unit_test(test_run_progress_slices_leave_the_trace_unchanged),
    cmocka_unit_test(test_run_firewall_chained_nats_and_directions),
    cmocka_unit_test(test_run_ipv6_small_mtu_is_refused_with_its_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
