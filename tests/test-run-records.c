/* What a run records for its outputs beyond packets: the world as built
 * (TOPOLOGY records) and the calls that wait (BLOCK records, each answered
 * by the call's CALL record from the same thread). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "test-run-util.h"

typedef struct {
  NlTopoKind kind;
  guint index;
  char *node, *peer, *text;
} Topo;

static void topo_free(gpointer p) {
  Topo *t = p;
  g_free(t->node);
  g_free(t->peer);
  g_free(t->text);
  g_free(t);
}

static GPtrArray *topology_of(TestRun *r) {
  NlTrace *t = nl_run_trace(r->run);
  GPtrArray *out = g_ptr_array_new_with_free_func(topo_free);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (rec->kind != NL_TRACE_TOPOLOGY)
      continue;
    assert_int_equal(rec->time, 0);
    Topo *o = g_new0(Topo, 1);
    o->kind = (NlTopoKind)(rec->aux & 0xff);
    o->index = rec->aux >> 8;
    o->node = g_strdup(nl_trace_name(t, rec->node));
    o->peer = g_strdup(nl_trace_name(t, rec->peer));
    o->text = g_strndup((const char *)p, rec->len);
    g_ptr_array_add(out, o);
  }
  return out;
}

static const Topo *find_topo(GPtrArray *a, NlTopoKind kind, const char *node,
                             const char *text) {
  for (guint i = 0; i < a->len; i++) {
    const Topo *o = g_ptr_array_index(a, i);
    if (o->kind == kind && strcmp(o->node, node) == 0 &&
        (text == NULL || strcmp(o->text, text) == 0))
      return o;
  }
  return NULL;
}

static void test_run_records_topology_describes_the_world(void **state) {
  const char *scn =
      "seed 1\nduration 1s\n"
      "network lan 10.0.0.0/24 latency=2ms\n"
      "network wan 203.0.113.0/24 192.0.2.0/24 latency=20ms loss=1.5% "
      "bandwidth=10Mbit mtu=1400\n"
      "host a\n  name a.example.com\n  link lan 10.0.0.5 up.latency=1ms\n"
      "  run udp-echo-server 7\n"
      "  route default via 10.0.0.1\n"
      "nat gw preset=symmetric udp-timeout=30s\n"
      "  inside lan 10.0.0.1\n  outside wan 203.0.113.1\n"
      "router r\n  link wan 192.0.2.1\n"
      "expect exit a/udp-echo-server code 0\n";
  TestRun *r = test_run("topo.nlab", scn);
  GPtrArray *t = topology_of(r);
  assert_non_null(find_topo(t, NL_TOPO_CLOCK, "", "realtime-epoch=1735689600"));
  assert_non_null(find_topo(t, NL_TOPO_NETWORK, "lan",
                            "prefixes=10.0.0.0/24 latency=2ms"));
  assert_non_null(find_topo(t, NL_TOPO_NETWORK, "wan",
                            "prefixes=203.0.113.0/24,192.0.2.0/24 mtu=1400 "
                            "latency=20ms loss=1.5% bandwidth=10Mbit"));
  assert_non_null(find_topo(t, NL_TOPO_NAMES, "a", "names=a.example.com"));
  /* A link: its interface, address, role, MTU in force and its own
   * properties (here one direction only). */
  const Topo *l = find_topo(t, NL_TOPO_LINK, "a", NULL);
  assert_non_null(l);
  assert_string_equal(l->peer, "lan");
  assert_int_equal(l->index, 2); /* as if_nametoindex: lo is 1 */
  assert_string_equal(l->text, "ifname=eth0 addr=10.0.0.5/24 role=link "
                               "mtu=1500 up.latency=1ms");
  const Topo *out = find_topo(t, NL_TOPO_LINK, "gw",
                              "ifname=eth1 addr=203.0.113.1/24 role=outside "
                              "mtu=1400");
  assert_non_null(out);
  assert_int_equal(out->index, 3);
  assert_string_equal(out->peer, "wan");
  assert_non_null(find_topo(t, NL_TOPO_ROUTE, "a",
                            "dest=0.0.0.0/0 via=10.0.0.1"));
  /* The NAT's behaviour in effect: the preset and the override. */
  const Topo *nat = find_topo(t, NL_TOPO_NAT, "gw", NULL);
  assert_non_null(nat);
  assert_true(g_str_has_prefix(nat->text, "preset=symmetric mapping="
                                          "address-and-port-dependent "));
  assert_non_null(strstr(nat->text, " udp-timeout=30s "));
  assert_null(find_topo(t, NL_TOPO_NAT, "r", NULL));
  g_ptr_array_unref(t);
  test_run_free(r);
}

static void test_run_records_block_is_answered_by_its_call(void **state) {
  const char *scn =
      "seed 1\nduration 3s\nnetwork lan 10.0.0.0/24 latency=5ms\n"
      "host s\n  link lan 10.0.0.1\n  run udp-echo-server 7\n"
      "host c\n  link lan 10.0.0.2\n"
      "  run at=1s udp-echo-client 10.0.0.1 7 hi 2 100\n"
      "expect exit c/udp-echo-client code 0\n";
  TestRun *r = test_run("block.nlab", scn);
  NlTrace *t = nl_run_trace(r->run);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  guint blocks = 0, answered = 0, open_at_end = 0;
  /* Open waits, by process and thread. */
  GHashTable *open = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           g_free);
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (rec->kind != NL_TRACE_BLOCK && rec->kind != NL_TRACE_CALL)
      continue;
    char *key = g_strdup_printf("%s#%u", nl_trace_name(t, rec->peer),
                                rec->aux);
    if (rec->kind == NL_TRACE_BLOCK) {
      blocks++;
      /* "recvfrom(3)": the call and its descriptor, no result. */
      char *text = g_strndup((const char *)p, rec->len);
      assert_null(strstr(text, "="));
      assert_true(g_str_has_suffix(text, ")"));
      /* A thread waits in one call at a time. */
      assert_true(g_hash_table_insert(open, key, text));
      continue;
    }
    char *name = g_hash_table_lookup(open, key);
    if (name != NULL) {
      /* The call that returns is the one that waited. */
      char *paren = strchr(name, '(');
      assert_non_null(paren);
      assert_true(rec->len > (guint32)(paren - name));
      answered++;
      g_hash_table_remove(open, key);
    }
    g_free(key);
  }
  open_at_end = g_hash_table_size(open);
  /* The server waits for each datagram and is still waiting when the run
   * ends; the client waits for each echo. */
  assert_true(blocks >= 5);
  assert_int_equal(answered + open_at_end, blocks);
  assert_int_equal(open_at_end, 1);
  /* Calls that never wait leave no BLOCK record. */
  assert_int_equal(test_count_lines(r->text, " block ", "socket(", NULL), 0);
  assert_int_equal(test_count_lines(r->text, " block ", "sendto(", NULL), 0);
  assert_true(test_count_lines(r->text, "s block [s/udp-echo-server] "
                                        "recvfrom(3)",
                               NULL) >= 2);
  g_hash_table_destroy(open);
  test_run_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_records_topology_describes_the_world),
      cmocka_unit_test(test_run_records_block_is_answered_by_its_call),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
