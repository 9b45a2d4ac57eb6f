/* Refusal: a node where nothing listens on a port answers a TCP SYN with
 * an RST (connect fails with ECONNREFUSED) and a UDP datagram with ICMP
 * port unreachable (a connected socket gets ECONNREFUSED), whether or not
 * a program runs there: a host that never ran one, one whose program
 * ended, one whose program listens elsewhere, a router, and a NAT and a
 * firewall on their own inside addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "test-run-util.h"

static const char *const targets[] = {
    "10.0.0.10", /* idle: no program ever */
    "10.0.0.11", /* ran: its program ended */
    "10.0.0.12", /* busy: a UDP echo server on port 7 */
    "10.0.0.1",  /* router */
    "10.0.0.2",  /* NAT, inside address */
    "10.0.0.3",  /* firewall, inside address */
};

static void test_run_refusal_everywhere(void **state) {
  (void)state;
  char *probe = g_strdup_printf("%s/tests/probe.so",
                                g_getenv("NATLAB_BUILD_ROOT"));
  GString *text = g_string_new(
      "duration 30s\n"
      "network lan 10.0.0.0/24 latency=1ms\n"
      "network lan2 10.0.1.0/24\n"
      "network internet 203.0.113.0/24\n"
      "host idle\n  link lan 10.0.0.10\n"
      "host ran\n  link lan 10.0.0.11\n"
      "  run udp-echo-client 10.0.0.12 7 hello\n"
      "host busy\n  link lan 10.0.0.12\n  run udp-echo-server 7\n"
      "router r\n  link lan 10.0.0.1\n  link lan2 10.0.1.1\n"
      "nat gw preset=port-restricted-cone\n"
      "  inside lan 10.0.0.2\n  outside internet 203.0.113.1\n"
      "firewall fw\n  inside lan 10.0.0.3\n  outside internet 203.0.113.2\n"
      "host c\n  link lan 10.0.0.5\n");
  for (guint i = 0; i < G_N_ELEMENTS(targets); i++)
    g_string_append_printf(text, "  run at=%us name=p%u %s %s 80\n", 2 + 2 * i,
                           i, probe, targets[i]);
  for (guint i = 0; i < G_N_ELEMENTS(targets); i++)
    g_string_append_printf(
        text,
        "expect stdout c/p%u contains \"tcp %s: Connection refused\"\n"
        "expect stdout c/p%u contains \"udp %s: Connection refused\"\n",
        i, targets[i], i, targets[i]);
  TestRun *r = test_run("refusal.nlab", text->str);
  if (r->failed != 0) {
    GString *why = g_string_new(NULL);
    nl_run_report_failures(r->run, why);
    fail_msg("%s", why->str);
  }
  /* Each refusal is immediate: one round trip on the 1 ms lan. */
  for (guint i = 0; i < G_N_ELEMENTS(targets); i++) {
    char who[16];
    g_snprintf(who, sizeof who, "c/p%u", i);
    GPtrArray *l = test_stdout(r, who);
    assert_int_equal(l->len, 2);
    g_ptr_array_unref(l);
  }
  assert_int_equal(
      test_count_lines(r->text, " send ", "[R.]", "> 10.0.0.5:", NULL),
      G_N_ELEMENTS(targets));
  TestRun *again = test_run("refusal.nlab", text->str);
  assert_string_equal(r->text, again->text);
  test_run_free(again);
  test_run_free(r);
  g_string_free(text, TRUE);
  g_free(probe);
}

/* A NAT that cannot forward a packet it has translated (no route: ICMP net
 * unreachable; TTL at its end: time exceeded) tells the inside host, as a
 * plain router does, about the packet as the host sent it: a connect()
 * fails with ENETUNREACH and a connected UDP socket gets it too. */
static void test_run_nat_own_icmp_errors_reach_inside(void **state) {
  (void)state;
  char *probe = g_strdup_printf("%s/tests/probe.so",
                                g_getenv("NATLAB_BUILD_ROOT"));
  char *text = g_strdup_printf(
      "duration 30s\n"
      "network lan1 10.0.1.0/24 latency=1ms\n"
      "network lan2 10.0.2.0/24 latency=1ms\n"
      "network wan 203.0.113.0/24\n"
      "router r\n  link lan1 10.0.1.1\n  link wan 203.0.113.1\n"
      "nat gw preset=port-restricted-cone\n  inside lan2 10.0.2.1\n"
      "  outside wan 203.0.113.2\n"
      "host a\n  link lan1 10.0.1.5\n  route default via 10.0.1.1\n"
      "  run at=1s %s 192.0.2.99 80\n"
      "host b\n  link lan2 10.0.2.5\n  route default via 10.0.2.1\n"
      "  run at=1s %s 192.0.2.99 80\n"
      "expect stdout a/probe contains \"tcp 192.0.2.99: Network is "
      "unreachable\"\n"
      "expect stdout a/probe contains \"udp 192.0.2.99: Network is "
      "unreachable\"\n"
      "expect stdout b/probe contains \"tcp 192.0.2.99: Network is "
      "unreachable\"\n"
      "expect stdout b/probe contains \"udp 192.0.2.99: Network is "
      "unreachable\"\n",
      probe, probe);
  TestRun *r = test_run("nat-icmp.nlab", text);
  if (r->failed != 0) {
    GString *why = g_string_new(NULL);
    nl_run_report_failures(r->run, why);
    fail_msg("%s", why->str);
  }
  /* The NAT's errors go to b, from its inside address, quoting b's own
   * address (not the translated one); none is dropped at the NAT. */
  assert_int_equal(test_count_lines(r->text, " gw send -> b ", "ICMP", NULL),
                   2);
  assert_int_equal(test_count_lines(r->text, " gw drop", "ICMP", NULL), 0);
  assert_int_equal(test_count_lines(r->text, " gw deliver", NULL), 0);
  test_run_free(r);
  g_free(text);
  g_free(probe);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_refusal_everywhere),
      cmocka_unit_test(test_run_nat_own_icmp_errors_reach_inside),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
