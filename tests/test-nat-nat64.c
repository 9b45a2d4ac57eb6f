/* NAT64's translation (natmodels/nat64.c, RFC 7915 with the RFC 6052
 * well-known prefix): IPv6 to IPv4 from the host's pool address with the
 * header fields carried over and a valid checksum, IPv4 back to IPv6 from
 * 64:ff9b::a.b.c.d, echo as echo, and what is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "natmodels/nat64.h"
#include "sim/net/wire.h"

static NlIp6 ip(const char *s) {
  NlIp6 a;
  assert_true(nl_ip6_from_string(s, &a));
  return a;
}

static void test_nat64_prefix(void **state) {
  uint32_t v4 = 0;
  NlIp6 a = ip("64:ff9b::203.0.113.10");
  assert_true(nl_nat64_prefix_match(&a, &v4));
  assert_int_equal(v4, 0xcb00710a);
  NlIp6 b = nl_nat64_synthesize(0xc000020a);
  char s[NL_IP6_STRLEN];
  assert_string_equal(nl_ip6_to_string(&b, s), "64:ff9b::c000:20a");
  NlIp6 c = ip("2001:db8::cb00:710a");
  assert_false(nl_nat64_prefix_match(&c, NULL));
}

static void test_nat64_udp_both_ways(void **state) {
  NlNat64 *x = nl_nat64_new(NULL, 0);
  guint8 pkt[256], back[256];
  NlIp6 h1 = ip("2001:db8:6::5"), h2 = ip("2001:db8:6::9");
  NlIp6 dst = ip("64:ff9b::203.0.113.10");
  size_t n = nl_udp6_build(pkt, &h1, 40000, &dst, 7000, "hello", 5, 61, 0x28);
  NlDropReason why;
  size_t m = nl_nat64_6to4(x, 0, pkt, n, pkt, &why);
  assert_int_equal(m, 20 + 8 + 5);
  NlIp4Header ip4;
  assert_null(nl_ip4_parse(pkt, m, &ip4));
  assert_int_equal(ip4.src, NL_NAT64_POOL + 1);
  assert_int_equal(ip4.dst, 0xcb00710a);
  assert_int_equal(ip4.ttl, 61);
  assert_int_equal(ip4.tos, 0x28);
  assert_true(ip4.df);
  assert_int_equal(ip4.proto, NL_IPPROTO_UDP);
  NlUdpHeader uh;
  assert_null(nl_udp4_parse(pkt, m, &ip4, &uh)); /* checksum checks */
  assert_int_equal(uh.sport, 40000);
  assert_int_equal(uh.dport, 7000);
  assert_memory_equal(pkt + 28, "hello", 5);
  /* A second host gets the next pool address; the first keeps its own. */
  n = nl_udp6_build(pkt, &h2, 40001, &dst, 7000, "x", 1, 64, 0);
  m = nl_nat64_6to4(x, 0, pkt, n, pkt, &why);
  assert_null(nl_ip4_parse(pkt, m, &ip4));
  assert_int_equal(ip4.src, NL_NAT64_POOL + 2);
  assert_true(nl_nat64_owns(x, NL_NAT64_POOL + 2));
  assert_false(nl_nat64_owns(x, NL_NAT64_POOL + 3));
  /* The answer to the first host, back to IPv6. */
  m = nl_udp4_build(pkt, 0xcb00710a, 7000, NL_NAT64_POOL + 1, 40000, "hi", 2,
                    9, 50, FALSE);
  size_t k = nl_nat64_4to6(x, pkt, m, back, &why);
  assert_int_equal(k, 40 + 8 + 2);
  NlIp6Header ip6;
  assert_null(nl_ip6_parse(back, k, &ip6));
  assert_true(nl_ip6_equal(&ip6.dst, &h1));
  NlIp6 from = nl_nat64_synthesize(0xcb00710a);
  assert_true(nl_ip6_equal(&ip6.src, &from));
  assert_int_equal(ip6.hop_limit, 50);
  assert_null(nl_udp6_parse(back, k, &ip6, &uh));
  assert_int_equal(uh.sport, 7000);
  assert_int_equal(uh.dport, 40000);
  /* Not a pool address in use: refused. */
  m = nl_udp4_build(pkt, 0xcb00710a, 7000, NL_NAT64_POOL + 7, 40000, "hi", 2,
                    9, 50, FALSE);
  assert_int_equal(nl_nat64_4to6(x, pkt, m, back, &why), 0);
  nl_nat64_free(x);
}

static void test_nat64_refuses_what_it_cannot_translate(void **state) {
  NlNat64 *x = nl_nat64_new(NULL, 0);
  guint8 pkt[256];
  NlIp6 h = ip("2001:db8:6::5"), dst = ip("64:ff9b::203.0.113.10");
  NlIp6 other = ip("2001:db8:9::1");
  NlDropReason why;
  /* Not to the prefix. */
  size_t n = nl_udp6_build(pkt, &h, 1, &other, 2, "x", 1, 64, 0);
  assert_int_equal(nl_nat64_6to4(x, 0, pkt, n, pkt, &why), 0);
  /* An ICMPv6 error (not echo). */
  n = nl_udp6_build(pkt, &h, 1, &dst, 2, "x", 1, 64, 0);
  pkt[6] = NL_IPPROTO_ICMPV6;
  pkt[40] = NL_ICMP6_DEST_UNREACH;
  assert_int_equal(nl_nat64_6to4(x, 0, pkt, n, pkt, &why), 0);
  assert_int_equal(why, NL_DROP_BLOCKED);
  /* Truncated. */
  assert_int_equal(nl_nat64_6to4(x, 0, pkt, 30, pkt, &why), 0);
  assert_int_equal(why, NL_DROP_MALFORMED);
  /* Nothing was given a pool address. */
  assert_false(nl_nat64_owns(x, NL_NAT64_POOL + 1));
  /* Echo request out as ICMP echo, with a valid ICMP checksum. */
  NlIp6Header e = {.payload_len = 8, .next = NL_IPPROTO_ICMPV6,
                   .hop_limit = 64, .src = h, .dst = dst};
  nl_ip6_write(pkt, &e);
  memset(pkt + 40, 0, 8);
  pkt[40] = NL_ICMP6_ECHO_REQUEST;
  pkt[45] = 7; /* identifier 7 */
  nl_ip6_update_l4_checksum(pkt, 48);
  size_t m = nl_nat64_6to4(x, 0, pkt, 48, pkt, &why);
  assert_int_equal(m, 28);
  assert_int_equal(pkt[9], NL_IPPROTO_ICMP);
  assert_int_equal(pkt[20], NL_ICMP_ECHO_REQUEST);
  assert_int_equal(nl_wire_checksum(pkt + 20, 8), 0);
  nl_nat64_free(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nat64_prefix),
      cmocka_unit_test(test_nat64_udp_both_ways),
      cmocka_unit_test(test_nat64_refuses_what_it_cannot_translate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
