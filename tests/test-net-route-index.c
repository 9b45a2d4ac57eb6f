/* Routing tables and addresses at scale (sim/net/net.c): past a few
 * routes a node finds its route by prefix, past a few interfaces its
 * addresses in a set.  The answers must be those of a scan of the table in
 * order (longest prefix first, connected before static at equal length,
 * then in the order declared), for small and large tables, with routes
 * added at random, equal prefixes, a default route, gateways that are not
 * on-link, and prefixes added to a network after the table was used. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/test-net-util.h"

/* A route as declared, for the reference scan. */
typedef struct {
  uint32_t prefix;
  guint len;
  uint32_t via; /* 0: connected */
  guint net;    /* index of the network it leaves by */
  guint order;
} Ref;

static uint32_t mask(guint len) {
  return len == 0 ? 0 : ~(uint32_t)0 << (32 - len);
}

/* The reference: the longest matching prefix; at equal length connected
 * first, then the first declared. */
static const Ref *ref_route(GArray *refs, uint32_t dst) {
  const Ref *best = NULL;
  for (guint i = 0; i < refs->len; i++) {
    const Ref *r = &g_array_index(refs, Ref, i);
    if ((dst & mask(r->len)) != r->prefix)
      continue;
    if (best == NULL || r->len > best->len ||
        (r->len == best->len && (r->via == 0) && best->via != 0) ||
        (r->len == best->len && (r->via == 0) == (best->via == 0) &&
         r->order < best->order))
      best = r;
  }
  return best;
}

static uint32_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(*s >> 32);
}

/* A router on @nets networks 10.N.0.0/16 (N = 1..nets, address
 * 10.N.0.1) with @routes static routes at random, then @queries
 * destinations at random compared with the reference. */
static void check_table(guint nets, guint routes, guint queries) {
  NlWorld *w = nl_world_new(SEED);
  NlNode *r = nl_node_new(w, "r", NL_NODE_ROUTER);
  GPtrArray *networks = g_ptr_array_new();
  GArray *refs = g_array_new(FALSE, FALSE, sizeof(Ref));
  guint order = 0;
  for (guint i = 1; i <= nets; i++) {
    char name[16];
    g_snprintf(name, sizeof name, "net%u", i);
    NlNetwork *n = nl_network_new(w, name);
    nl_network_add_prefix(n, (10u << 24) | (i << 16), 16);
    nl_node_attach(r, n, (10u << 24) | (i << 16) | 1, NULL);
    g_ptr_array_add(networks, n);
    Ref c = {(10u << 24) | (i << 16), 16, 0, i - 1, order++};
    g_array_append_val(refs, c);
  }
  uint64_t seed = 42;
  static const guint lens[] = {0, 8, 12, 16, 20, 24, 28, 32};
  for (guint k = 0; k < routes; k++) {
    guint len = lens[lcg(&seed) % G_N_ELEMENTS(lens)];
    /* Prefixes in 172.16.0.0/12 and over the connected networks, so
     * that many overlap, and some equal. */
    uint32_t p = lcg(&seed) % 4 == 0
                     ? (10u << 24) | ((1 + lcg(&seed) % nets) << 16) |
                           (lcg(&seed) & 0xffff)
                     : (172u << 24) | (16u << 16) | (lcg(&seed) & 0x000fffff);
    p &= mask(len);
    guint via_net = lcg(&seed) % nets;
    gboolean offlink = lcg(&seed) % 10 == 0;
    uint32_t via = offlink ? (192u << 24) | (2u << 8) | 1
                           : (10u << 24) | ((via_net + 1) << 16) | 2;
    nl_node_add_route(r, p, len, via);
    if (!offlink) { /* a gateway that is not on-link is ignored */
      Ref s = {p, len, via, via_net, order++};
      g_array_append_val(refs, s);
    }
  }
  for (guint q = 0; q < queries; q++) {
    uint32_t dst;
    switch (q % 3) {
      case 0:
        dst = (172u << 24) | (16u << 16) | (lcg(&seed) & 0x000fffff);
        break;
      case 1:
        dst = (10u << 24) | ((1 + lcg(&seed) % (nets + 2)) << 16) |
              (lcg(&seed) & 0xffff);
        break;
      default:
        dst = lcg(&seed);
    }
    /* Half the queries again at a prefix's exact address. */
    if (q % 2 == 1 && refs->len > 0)
      dst = g_array_index(refs, Ref, lcg(&seed) % refs->len).prefix |
            (dst & 1);
    NlIface *f;
    uint32_t nh;
    const Ref *want = ref_route(refs, dst);
    gboolean found = nl_node_route(r, dst, &f, &nh);
    if (want == NULL) {
      assert_false(found);
      assert_null(f);
      continue;
    }
    assert_true(found);
    assert_ptr_equal(f, nl_node_find_iface(
                            r, nl_network_name(g_ptr_array_index(
                                   networks, want->net))));
    assert_int_equal(nh, want->via ? want->via : dst);
  }
  /* A prefix added to a network later is connected at once. */
  uint32_t later = (100u << 24) | (64u << 16);
  NlIface *f;
  uint32_t nh;
  assert_int_equal(nl_node_route(r, later | 5, &f, &nh),
                   ref_route(refs, later | 5) != NULL);
  nl_network_add_prefix(g_ptr_array_index(networks, nets - 1), later, 16);
  assert_true(nl_node_route(r, later | 5, &f, &nh));
  assert_ptr_equal(f, nl_node_iface(r, nets - 1));
  assert_int_equal(nh, later | 5);
  g_array_free(refs, TRUE);
  g_ptr_array_free(networks, TRUE);
  nl_world_free(w);
}

static void test_route_small_table_as_scanned(void **state) {
  check_table(2, 3, 2000);
}

static void test_route_large_table_as_scanned(void **state) {
  check_table(40, 1000, 20000);
}

static void test_route_default_only_large_table(void **state) {
  /* 30 networks, and a default route: nothing else matches 8.8.8.8. */
  NlWorld *w = nl_world_new(SEED);
  NlNode *r = nl_node_new(w, "r", NL_NODE_ROUTER);
  for (guint i = 1; i <= 30; i++) {
    char name[16];
    g_snprintf(name, sizeof name, "net%u", i);
    NlNetwork *n = nl_network_new(w, name);
    nl_network_add_prefix(n, (10u << 24) | (i << 8), 24);
    nl_node_attach(r, n, (10u << 24) | (i << 8) | 1, NULL);
  }
  NlIface *f;
  uint32_t nh;
  assert_false(nl_node_route(r, A("8.8.8.8"), &f, &nh));
  nl_node_add_route(r, 0, 0, A("10.0.7.9"));
  nl_node_add_route(r, 0, 0, A("10.0.9.9")); /* the second is never used */
  assert_true(nl_node_route(r, A("8.8.8.8"), &f, &nh));
  assert_ptr_equal(f, nl_node_iface(r, 6));
  assert_int_equal(nh, A("10.0.7.9"));
  assert_true(nl_node_route(r, A("10.0.12.3"), &f, &nh));
  assert_ptr_equal(f, nl_node_iface(r, 11));
  assert_int_equal(nh, A("10.0.12.3"));
  nl_world_free(w);
}

/* Addresses: every interface's, loopback, and no other. */
static void check_addrs(guint ifaces) {
  NlWorld *w = nl_world_new(SEED);
  NlNode *r = nl_node_new(w, "r", NL_NODE_ROUTER);
  for (guint i = 1; i <= ifaces; i++) {
    char name[16];
    g_snprintf(name, sizeof name, "net%u", i);
    NlNetwork *n = nl_network_new(w, name);
    nl_network_add_prefix(n, (10u << 24) | (i << 8), 24);
    nl_node_attach(r, n, (10u << 24) | (i << 8) | 1, NULL);
    /* An interface with IPv6 only has no IPv4 address. */
    if (i == 3) {
      NlNetwork *v6 = nl_network_new(w, "v6only");
      nl_node_attach(r, v6, 0, NULL);
    }
  }
  for (guint i = 1; i <= ifaces + 5; i++) {
    assert_int_equal(nl_node_has_addr(r, (10u << 24) | (i << 8) | 1),
                     i <= ifaces);
    assert_false(nl_node_has_addr(r, (10u << 24) | (i << 8) | 2));
  }
  assert_true(nl_node_has_addr(r, A("127.0.0.1")));
  assert_true(nl_node_has_addr(r, A("127.1.2.3")));
  assert_false(nl_node_has_addr(r, 0));
  nl_world_free(w);
}

static void test_addrs_few_interfaces(void **state) {
  check_addrs(1);
  check_addrs(4);
}

static void test_addrs_many_interfaces(void **state) {
  check_addrs(9);
  check_addrs(300);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_route_small_table_as_scanned),
      cmocka_unit_test(test_route_large_table_as_scanned),
      cmocka_unit_test(test_route_default_only_large_table),
      cmocka_unit_test(test_addrs_few_interfaces),
      cmocka_unit_test(test_addrs_many_interfaces),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
