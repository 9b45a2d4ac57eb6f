/* Port forwarding through the runner (the `forward` and `dmz` lines of a
 * nat block) and what `expect filtered` counts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "test-run-util.h"

static void assert_all_held(TestRun *r) {
  if (r->failed != 0) {
    GString *why = g_string_new(NULL);
    nl_run_report_failures(r->run, why);
    fail_msg("%s", why->str);
  }
}

#define HOME                                                                   \
  "network lan 192.168.1.0/24 latency=1ms\n"                                   \
  "network internet 203.0.113.0/24 198.51.100.0/24 latency=10ms\n"             \
  "host visitor\n  link internet 198.51.100.7\n"

/* An unsolicited connection to a NAT finds no mapping: its SYN and one
 * retry (2 s timeout) are dropped.  `expect filtered` counts them (every
 * drop the NAT makes), `reason=no-mapping` too, and `reason=filtered` (the
 * filtering rule alone) does not. */
static void test_run_expect_filtered_counts_every_nat_drop(void **state) {
  (void)state;
  TestRun *r = test_run(
      "filtered.nlab",
      "duration 20s\n" HOME
      "nat gw preset=port-restricted-cone\n"
      "  inside lan 192.168.1.1\n  outside internet 203.0.113.1\n"
      "host server\n  link lan 192.168.1.10\n  route default via 192.168.1.1\n"
      "  run tcp-echo-server\n"
      "host visitor2\n  link internet 198.51.100.8\n"
      "  run at=5s tcp-echo-client --timeout 2 203.0.113.1 8080\n"
      "expect filtered gw count == 2\n"
      "expect filtered gw reason=no-mapping count == 2\n"
      "expect filtered gw reason=filtered count == 0\n"
      "expect filtered gw reason=hairpin-off count == 0\n");
  assert_all_held(r);
  test_run_free(r);
}

/* UDP and TCP forwards and a DMZ host, end to end: the echo servers behind
 * the NAT answer visitors from the public address; an inside host reaches
 * the forwarded server at the public address too (hairpinning); a reboot
 * keeps the forwards. */
static void test_run_forwards_udp_tcp_dmz_hairpin(void **state) {
  (void)state;
  static const char text[] =
      "duration 30s\n" HOME
      "nat gw preset=symmetric hairpinning=on\n"
      "  inside lan 192.168.1.1\n  outside internet 203.0.113.1\n"
      "  forward tcp 80 to 192.168.1.10:8080\n"
      "  forward udp 7 to 192.168.1.11\n"
      "  dmz 192.168.1.12\n"
      "host web\n  link lan 192.168.1.10\n  route default via 192.168.1.1\n"
      "  run tcp-echo-server 8080\n"
      "host udp\n  link lan 192.168.1.11\n  route default via 192.168.1.1\n"
      "  run udp-echo-server 7\n"
      "host dmz\n  link lan 192.168.1.12\n  route default via 192.168.1.1\n"
      "  run udp-echo-server 5060\n"
      "host laptop\n  link lan 192.168.1.20\n  route default via 192.168.1.1\n"
      "  run at=3s name=hairpin tcp-echo-client --timeout 2 203.0.113.1 80 "
      "from inside\n"
      "host visitor2\n  link internet 198.51.100.8\n"
      "  run at=1s name=tcp tcp-echo-client --timeout 2 203.0.113.1 80 hi\n"
      "  run at=1s name=udp udp-echo-client 203.0.113.1 7 ping\n"
      "  run at=2s name=dmz udp-echo-client 203.0.113.1 5060 invite\n"
      "  run at=12s name=after udp-echo-client 203.0.113.1 7 again\n"
      "at 10s nat gw reboot\n"
      "expect stdout visitor2/tcp contains \"Server replied: hi\"\n"
      "expect stdout visitor2/udp contains \"echo: ping\"\n"
      "expect stdout visitor2/dmz contains \"echo: invite\"\n"
      "expect stdout laptop/hairpin contains \"Server replied: from "
      "inside\"\n"
      "expect stdout web/tcp-echo-server contains \"Connected: "
      "('203.0.113.1',\"\n"
      "expect stdout visitor2/after contains \"echo: again\"\n"
      "expect filtered gw count == 0\n";
  TestRun *r = test_run("forwards.nlab", text);
  assert_all_held(r);
  /* The forwards are in the trace, before anything else the NAT does. */
  assert_int_equal(test_count_lines(r->text, " gw mapping forward ", NULL), 3);
  TestRun *again = test_run("forwards.nlab", text);
  assert_string_equal(r->text, again->text);
  test_run_free(again);
  test_run_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_expect_filtered_counts_every_nat_drop),
      cmocka_unit_test(test_run_forwards_udp_tcp_dmz_hairpin),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
