/* Name lookup answers the address the asker can reach: a NAT's name is its
 * inside address for hosts on its inside and its outside address for
 * everyone else; a host with several links is found on the network the
 * asker shares with it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "test-run-util.h"

static void test_run_names_resolve_to_reachable_address(void **state) {
  (void)state;
  char *resolve = g_strdup_printf("%s/tests/resolve.so",
                                  g_getenv("NATLAB_BUILD_ROOT"));
  char *text = g_strdup_printf(
      "duration 5s\n"
      "network lan 10.0.0.0/24\n"
      "network lab 172.16.0.0/24\n"
      "network internet 203.0.113.0/24\n"
      "network far 198.51.100.0/24\n"
      "nat gw preset=port-restricted-cone\n"
      "  name gw.example.net\n"
      "  inside lan 10.0.0.1\n"
      "  outside internet 203.0.113.1\n"
      "router r\n  link internet 203.0.113.2\n  link far 198.51.100.1\n"
      "host srv\n  link lan 10.0.0.7\n  link lab 172.16.0.7\n"
      "host inside\n  link lan 10.0.0.5\n  route default via 10.0.0.1\n"
      "  run %s gw gw.example.net srv\n"
      "host outside\n  link internet 203.0.113.9\n"
      "  run %s gw gw.example.net\n"
      "host remote\n  link far 198.51.100.9\n  route default via 198.51.100.1\n"
      "  run %s gw\n"
      "host labhost\n  link lab 172.16.0.5\n  run %s srv\n"
      "expect stdout inside/resolve contains \"gw -> 10.0.0.1\"\n"
      "expect stdout inside/resolve contains \"gw.example.net -> 10.0.0.1\"\n"
      "expect stdout inside/resolve contains \"srv -> 10.0.0.7\"\n"
      "expect stdout outside/resolve contains \"gw -> 203.0.113.1\"\n"
      "expect stdout outside/resolve contains \"gw.example.net -> "
      "203.0.113.1\"\n"
      "expect stdout remote/resolve contains \"gw -> 203.0.113.1\"\n"
      "expect stdout labhost/resolve contains \"srv -> 172.16.0.7\"\n",
      resolve, resolve, resolve, resolve);
  TestRun *r = test_run("names.nlab", text);
  if (r->failed != 0) {
    GString *why = g_string_new(NULL);
    nl_run_report_failures(r->run, why);
    fail_msg("%s", why->str);
  }
  test_run_free(r);
  g_free(text);
  g_free(resolve);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_names_resolve_to_reachable_address),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
