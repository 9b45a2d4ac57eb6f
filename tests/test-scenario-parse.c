/* The scenario language, one test per feature: each loads a small scenario
 * and asserts on the syntax tree the world builder will walk. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib/gstdio.h>
#include <string.h>

#include "scenarios/lang/scenario.h"
#include "sim/core/trace.h"

#define NET "network lan 10.0.0.0/24\n"

static NlScenario *load_with(const char *text, const char *const *over) {
  GError *err = NULL;
  NlScenario *s = nl_scenario_load_string("t.nlab", text, -1, over, &err);
  if (s == NULL)
    fail_msg("unexpected error: %s", err->message);
  return s;
}

static NlScenario *load(const char *text) {
  return load_with(text, NULL);
}

static char *good_path(const char *name) {
  const char *root = g_getenv("NATLAB_SOURCE_ROOT");
  return g_build_filename(root != NULL ? root : ".", "tests", "scenarios-good",
                          name, NULL);
}

static NlScnNode *node(NlScenario *s, const char *name) {
  NlScnNode *n = nl_scenario_find_node(s, name);
  assert_non_null(n);
  return n;
}

static NlScnLink *link0(NlScnNode *n) {
  assert_true(n->links->len > 0);
  return g_ptr_array_index(n->links, 0);
}

static const char *addr_str(const NlScnAddr *a) {
  static char buf[NL_SCN_ADDR_STRLEN];
  return nl_scn_addr_to_string(a, buf);
}

static void test_scenario_seed_and_duration(void **state) {
  NlScenario *s = load(NET "host a\n");
  assert_int_equal(s->seed, NL_SCENARIO_DEFAULT_SEED);
  assert_int_equal(s->duration, NL_SCENARIO_DEFAULT_DURATION);
  assert_false(s->seed_set);
  nl_scenario_free(s);
  s = load("seed 18446744073709551615\nduration 1.5min\n" NET "host a\n");
  assert_true(s->seed == G_MAXUINT64);
  assert_int_equal(s->duration, 90 * NL_S);
  assert_true(s->seed_set && s->duration_set);
  nl_scenario_free(s);
}

static NlTime latency_of(const char *value) {
  char *text =
      g_strdup_printf(NET "host a\n  link lan 10.0.0.5 latency=%s\n", value);
  NlScenario *s = load(text);
  NlScnLink *k = link0(node(s, "a"));
  assert_true(k->props.up.set & (1u << NL_SCN_PROP_LATENCY));
  assert_int_equal(k->props.up.latency, k->props.down.latency);
  NlTime t = k->props.up.latency;
  nl_scenario_free(s);
  g_free(text);
  return t;
}

static void test_scenario_time_units(void **state) {
  assert_int_equal(latency_of("7ns"), 7);
  assert_int_equal(latency_of("3us"), 3 * NL_US);
  assert_int_equal(latency_of("20ms"), 20 * NL_MS);
  assert_int_equal(latency_of("1.5ms"), 1500 * NL_US);
  assert_int_equal(latency_of("2s"), 2 * NL_S);
  assert_int_equal(latency_of("0.000000001s"), 1);
  assert_int_equal(latency_of("2min"), 120 * NL_S);
  assert_int_equal(latency_of("1h"), 3600 * NL_S);
  assert_int_equal(latency_of("0"), 0);
}

static NlScnLinkDir dir_of(const char *props) {
  char *text = g_strdup_printf(NET "host a\n  link lan 10.0.0.5 %s\n", props);
  NlScenario *s = load(text);
  NlScnLinkDir d = link0(node(s, "a"))->props.up;
  nl_scenario_free(s);
  g_free(text);
  return d;
}

static void test_scenario_bandwidth_units(void **state) {
  assert_int_equal(dir_of("bandwidth=64kbit").bandwidth, 64000);
  assert_int_equal(dir_of("bandwidth=10Mbit").bandwidth, 10000000);
  assert_int_equal(dir_of("bandwidth=10Mbit/s").bandwidth, 10000000);
  assert_int_equal(dir_of("bandwidth=1Gbit").bandwidth, 1000000000);
  assert_int_equal(dir_of("bandwidth=1.5Mbit").bandwidth, 1500000);
  assert_int_equal(dir_of("bandwidth=300bit").bandwidth, 300);
  assert_int_equal(dir_of("bandwidth=8Mbps").bandwidth, 8000000);
}

static void test_scenario_size_and_queue_units(void **state) {
  NlScnLinkDir d = dir_of("queue=64 mtu=1500");
  assert_int_equal(d.queue_packets, 64);
  assert_int_equal(d.queue_bytes, 0);
  assert_int_equal(d.mtu, 1500);
  d = dir_of("queue=64KiB mtu=1280B");
  assert_int_equal(d.queue_packets, 0);
  assert_int_equal(d.queue_bytes, 65536);
  assert_int_equal(d.mtu, 1280);
  assert_int_equal(dir_of("queue=2MB").queue_bytes, 2000000);
  assert_int_equal(dir_of("queue=1MiB").queue_bytes, 1048576);
  assert_int_equal(dir_of("queue=1.5KB").queue_bytes, 1500);
}

static void test_scenario_percent_units(void **state) {
  NlScnLinkDir d = dir_of("loss=0.5% dup=0.1% reorder=100%");
  assert_true(d.loss > 0.00499 && d.loss < 0.00501);
  assert_true(d.dup > 0.000999 && d.dup < 0.001001);
  assert_true(d.reorder == 1.0);
  assert_int_equal(d.set, (1u << NL_SCN_PROP_LOSS) | (1u << NL_SCN_PROP_DUP) |
                              (1u << NL_SCN_PROP_REORDER));
  assert_true(dir_of("loss=0%").loss == 0.0);
}

static void test_scenario_network_prefixes_and_defaults(void **state) {
  NlScenario *s =
      load("network internet 203.0.113.0/24 198.51.100.0/24 2001:db8::/32 "
           "latency=20ms up.loss=1%\nhost a\n");
  assert_int_equal(s->networks->len, 1);
  NlScnNetwork *n = nl_scenario_find_network(s, "internet");
  assert_non_null(n);
  assert_int_equal(n->prefixes->len, 3);
  assert_string_equal(addr_str(&g_array_index(n->prefixes, NlScnAddr, 0)),
                      "203.0.113.0/24");
  assert_string_equal(addr_str(&g_array_index(n->prefixes, NlScnAddr, 1)),
                      "198.51.100.0/24");
  NlScnAddr *v6 = &g_array_index(n->prefixes, NlScnAddr, 2);
  assert_int_equal(v6->family, 6);
  assert_int_equal(v6->len, 32);
  assert_string_equal(addr_str(v6), "2001:db8::/32");
  assert_int_equal(n->props.up.latency, 20 * NL_MS);
  assert_int_equal(n->props.down.latency, 20 * NL_MS);
  assert_true(n->props.up.set & (1u << NL_SCN_PROP_LOSS));
  assert_false(n->props.down.set & (1u << NL_SCN_PROP_LOSS));
  assert_null(nl_scenario_find_node(s, "internet"));
  nl_scenario_free(s);
}

static void test_scenario_host_links_names_routes(void **state) {
  NlScenario *s = load("network lan 10.0.0.0/24 2001:db8:1::/64\n"
                       "network dmz 172.16.5.0/24\n"
                       "host a\n"
                       "  name a.example.com A2.example.org\n"
                       "  link lan 10.0.0.5 2001:db8:1::5\n"
                       "  link dmz 172.16.5.9\n"
                       "  route default via 10.0.0.1\n"
                       "  route 172.16.0.0/12 via 172.16.5.1\n"
                       "  route ::/0 via 2001:db8:1::1\n");
  NlScnNode *a = node(s, "a");
  assert_int_equal(a->kind, NL_SCN_NODE_HOST);
  assert_int_equal(a->names->len, 2);
  assert_string_equal(g_ptr_array_index(a->names, 1), "A2.example.org");
  assert_int_equal(a->links->len, 2);
  NlScnLink *k = link0(a);
  assert_int_equal(k->role, NL_SCN_ROLE_PLAIN);
  assert_ptr_equal(k->net, nl_scenario_find_network(s, "lan"));
  assert_ptr_equal(k->node, a);
  assert_int_equal(k->addrs->len, 2);
  NlScnAddr *ip = &g_array_index(k->addrs, NlScnAddr, 0);
  assert_int_equal(nl_scn_addr_ip4(ip), 0x0a000005);
  assert_int_equal(ip->len, 32);
  assert_string_equal(addr_str(&g_array_index(k->addrs, NlScnAddr, 1)),
                      "2001:db8:1::5");
  assert_ptr_equal(nl_scenario_find_link(a, "dmz"),
                   g_ptr_array_index(a->links, 1));
  assert_int_equal(a->routes->len, 3);
  NlScnRoute *r = g_ptr_array_index(a->routes, 0);
  assert_int_equal(r->dest.family, 4);
  assert_int_equal(r->dest.len, 0);
  assert_string_equal(addr_str(&r->via), "10.0.0.1");
  assert_ptr_equal(r->link, k);
  r = g_ptr_array_index(a->routes, 1);
  assert_string_equal(addr_str(&r->dest), "172.16.0.0/12");
  assert_ptr_equal(r->link, g_ptr_array_index(a->links, 1));
  r = g_ptr_array_index(a->routes, 2);
  assert_int_equal(r->dest.family, 6);
  assert_int_equal(r->dest.len, 0);
  assert_ptr_equal(r->link, k);
  nl_scenario_free(s);
}

static void test_scenario_router_kind(void **state) {
  NlScenario *s = load(NET "network wan 198.51.100.0/24\nrouter r1\n"
                           "  link lan 10.0.0.1\n  link wan 198.51.100.7\n");
  NlScnNode *r = node(s, "r1");
  assert_int_equal(r->kind, NL_SCN_NODE_ROUTER);
  assert_int_equal(r->links->len, 2);
  assert_string_equal(nl_scn_node_kind_name(r->kind), "router");
  nl_scenario_free(s);
}

static void test_scenario_per_direction_and_effective(void **state) {
  NlScenario *s = load("network lan 10.0.0.0/24 latency=10ms bandwidth=1Mbit\n"
                       "host a\n"
                       "  link lan 10.0.0.5 up.latency=2ms down.loss=3% "
                       "mtu=1400\n");
  NlScnLink *k = link0(node(s, "a"));
  assert_int_equal(k->props.up.set,
                   (1u << NL_SCN_PROP_LATENCY) | (1u << NL_SCN_PROP_MTU));
  assert_int_equal(k->props.down.set,
                   (1u << NL_SCN_PROP_LOSS) | (1u << NL_SCN_PROP_MTU));
  NlScnLinkProps e;
  nl_scenario_link_effective(k, &e);
  assert_int_equal(e.up.latency, 2 * NL_MS);    /* the link's own */
  assert_int_equal(e.down.latency, 10 * NL_MS); /* the network's */
  assert_int_equal(e.up.bandwidth, 1000000);
  assert_int_equal(e.down.bandwidth, 1000000);
  assert_true(e.down.loss > 0.0299 && e.down.loss < 0.0301);
  assert_false(e.up.set & (1u << NL_SCN_PROP_LOSS));
  assert_int_equal(e.up.mtu, 1400);
  assert_int_equal(e.up.loc[NL_SCN_PROP_LATENCY].line, 3);
  assert_int_equal(e.down.loc[NL_SCN_PROP_LATENCY].line, 1);
  nl_scenario_free(s);
}

static void test_scenario_runs_builtin_and_user(void **state) {
  char *path = good_path("full.nlab");
  GError *err = NULL;
  NlScenario *s = nl_scenario_load(path, NULL, &err);
  assert_non_null(s);
  NlScnNode *a = node(s, "peer_a");
  assert_int_equal(a->runs->len, 2);
  NlScnRun *r = g_ptr_array_index(a->runs, 0);
  assert_string_equal(r->name, "client");
  assert_int_equal(r->at, NL_S);
  assert_int_equal(r->kind, NL_SCN_PROGRAM_BUILTIN);
  assert_null(r->path);
  assert_int_equal(r->argc, 4);
  assert_string_equal(r->argv[0], "udp-echo-client");
  assert_string_equal(r->argv[3], "hello");
  assert_null(r->argv[4]);
  assert_ptr_equal(r->node, a);
  r = g_ptr_array_index(a->runs, 1);
  assert_int_equal(r->kind, NL_SCN_PROGRAM_SOURCE);
  assert_string_equal(r->name, "my-client");
  assert_int_equal(r->at, 0);
  assert_true(g_path_is_absolute(r->path));
  assert_true(g_str_has_suffix(r->path, "/tests/scenarios-good/my-client.c"));
  assert_true(g_file_test(r->path, G_FILE_TEST_IS_REGULAR));
  assert_int_equal(r->argc, 4);
  assert_string_equal(r->argv[1], "--server");
  assert_string_equal(r->argv[3], "two words");
  nl_scenario_free(s);
  g_free(path);
}

static void test_scenario_run_default_names_and_options(void **state) {
  NlScenario *s = load(NET "host a\n  link lan 10.0.0.5\n"
                           "  run udp-echo-server 7\n"
                           "  run name=second udp-echo-server 8 --port=9\n");
  NlScnNode *a = node(s, "a");
  NlScnRun *r0 = g_ptr_array_index(a->runs, 0);
  NlScnRun *r1 = g_ptr_array_index(a->runs, 1);
  assert_string_equal(r0->name, "udp-echo-server");
  assert_string_equal(r1->name, "second");
  /* After the program, KEY=VALUE words are arguments, kept whole. */
  assert_string_equal(r1->argv[2], "--port=9");
  assert_ptr_equal(nl_scenario_find_run(a, "second"), r1);
  assert_null(nl_scenario_find_run(a, "third"));
  nl_scenario_free(s);
}

static void test_scenario_nat_preset_and_overrides(void **state) {
  NlScenario *s =
      load("network lan 10.0.0.0/24\nnetwork wan 203.0.113.0/24\n"
           "nat n preset=port-restricted-cone udp_timeout=30s hairpinning=on "
           "udp-timeout=40s\n"
           "  inside lan 10.0.0.1\n  outside wan 203.0.113.1 latency=3ms\n"
           "firewall fw\n  inside lan 10.0.0.2\n  outside wan 203.0.113.2\n"
           "firewall fw2 preset=firewall filtering=address-dependent\n"
           "  inside lan 10.0.0.3\n  outside wan 203.0.113.3\n");
  NlScnNode *n = node(s, "n");
  assert_int_equal(n->kind, NL_SCN_NODE_NAT);
  assert_string_equal(n->preset, "port-restricted-cone");
  assert_int_equal(n->preset_loc.column, 14);
  assert_int_equal(n->overrides->len, 3);
  NlScnOverride *o = g_ptr_array_index(n->overrides, 0);
  assert_string_equal(o->field, "udp-timeout"); /* _ read as - */
  assert_string_equal(o->value, "30s");
  o = g_ptr_array_index(n->overrides, 2);
  assert_string_equal(o->value, "40s"); /* kept in order: last one wins */
  assert_int_equal(n->links->len, 2);
  assert_int_equal(((NlScnLink *)g_ptr_array_index(n->links, 0))->role,
                   NL_SCN_ROLE_INSIDE);
  assert_int_equal(((NlScnLink *)g_ptr_array_index(n->links, 1))->role,
                   NL_SCN_ROLE_OUTSIDE);
  NlScnNode *fw = node(s, "fw");
  assert_int_equal(fw->kind, NL_SCN_NODE_FIREWALL);
  assert_string_equal(fw->preset, "firewall");
  assert_int_equal(fw->overrides->len, 0);
  NlScnNode *fw2 = node(s, "fw2");
  assert_int_equal(fw2->overrides->len, 1);
  nl_scenario_free(s);
}

static void test_scenario_nat_forwards_and_dmz(void **state) {
  NlScenario *s =
      load("network lan 10.0.0.0/24\nnetwork wan 203.0.113.0/24\n"
           "nat n preset=port-restricted-cone\n  inside lan 10.0.0.1\n"
           "  outside wan 203.0.113.1\n"
           "  forward tcp 8080 to 10.0.0.10:80\n"
           "  forward both 5000 to 10.0.0.11\n"
           "  dmz 10.0.0.12\n"
           "firewall fw\n  inside lan 10.0.0.2\n  outside wan 203.0.113.2\n"
           "  forward udp 53 to 10.0.0.13\n"
           "expect filtered n count 1\n"
           "expect filtered n reason=no-mapping count 1\n"
           "expect filtered fw reason=filtered count >= 0\n");
  NlScnNode *n = node(s, "n");
  assert_int_equal(n->forwards->len, 3);
  NlScnForward *f = g_ptr_array_index(n->forwards, 0);
  assert_true(f->tcp);
  assert_false(f->udp);
  assert_false(f->dmz);
  assert_int_equal(f->port, 8080);
  assert_int_equal(nl_scn_addr_ip4(&f->addr), 0x0a00000a);
  assert_int_equal(f->to_port, 80);
  assert_int_equal(f->loc.line, 6);
  f = g_ptr_array_index(n->forwards, 1);
  assert_true(f->tcp && f->udp);
  assert_int_equal(f->to_port, 5000); /* the public port when not given */
  f = g_ptr_array_index(n->forwards, 2);
  assert_true(f->dmz);
  assert_int_equal(nl_scn_addr_ip4(&f->addr), 0x0a00000c);
  NlScnExpect *e = g_ptr_array_index(s->expects, 0);
  assert_int_equal(e->drop_reasons, nl_scn_filtered_reasons());
  e = g_ptr_array_index(s->expects, 1);
  assert_int_equal(e->drop_reasons, 1u << NL_DROP_NAT_NO_MAPPING);
  e = g_ptr_array_index(s->expects, 2);
  assert_int_equal(e->drop_reasons,
                   (1u << NL_DROP_NAT_FILTERED) | (1u << NL_DROP_FIREWALL));
  assert_true(nl_scn_filtered_reasons() & (1u << NL_DROP_NAT_NO_MAPPING));
  assert_false(nl_scn_filtered_reasons() & (1u << NL_DROP_LOSS));
  NlScnNode *fw = node(s, "fw");
  assert_int_equal(fw->forwards->len, 1);
  f = g_ptr_array_index(fw->forwards, 0);
  assert_true(f->udp && !f->tcp);
  nl_scenario_free(s);
}

static void test_scenario_nat_chain(void **state) {
  NlScenario *s =
      load("network home 192.168.1.0/24\nnetwork isp 100.64.0.0/10\n"
           "network internet 203.0.113.0/24\n"
           "nat home_nat preset=full-cone\n  inside home 192.168.1.1\n"
           "  outside isp 100.64.0.2\n"
           "nat cgn preset=symmetric\n  inside isp 100.64.0.1\n"
           "  outside internet 203.0.113.1\n");
  assert_int_equal(s->nodes->len, 2);
  NlScnNode *cgn = node(s, "cgn");
  assert_ptr_equal(
      ((NlScnLink *)g_ptr_array_index(cgn->links, 0))->net,
      ((NlScnLink *)g_ptr_array_index(node(s, "home_nat")->links, 1))->net);
  nl_scenario_free(s);
}

static void test_scenario_actions(void **state) {
  char *path = good_path("full.nlab");
  GError *err = NULL;
  NlScenario *s = nl_scenario_load(path, NULL, &err);
  assert_non_null(s);
  static const NlScnActionKind want[] = {
      NL_SCN_ACTION_LINK_DOWN,  NL_SCN_ACTION_LINK_UP,
      NL_SCN_ACTION_LINK_SET,   NL_SCN_ACTION_NAT_REBOOT,
      NL_SCN_ACTION_HOST_CRASH, NL_SCN_ACTION_HOST_RESTART,
      NL_SCN_ACTION_PARTITION,  NL_SCN_ACTION_HEAL,
      NL_SCN_ACTION_STOP,       NL_SCN_ACTION_SNAPSHOT,
      NL_SCN_ACTION_NOTE,       NL_SCN_ACTION_STDIN,
  };
  assert_int_equal(s->actions->len, G_N_ELEMENTS(want));
  for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
    NlScnAction *a = g_ptr_array_index(s->actions, i);
    assert_int_equal(a->kind, want[i]);
  }
  NlScnNode *pa = node(s, "peer_a"), *pb = node(s, "peer_b");
  NlScnAction *a = g_ptr_array_index(s->actions, 0);
  assert_int_equal(a->at, 5 * NL_S);
  assert_ptr_equal(a->node_ref, pa);
  assert_ptr_equal(a->link, nl_scenario_find_link(pa, "lan_a"));
  a = g_ptr_array_index(s->actions, 2);
  assert_int_equal(a->at, 6500 * NL_MS);
  assert_int_equal(a->props.up.latency, 50 * NL_MS);
  assert_false(a->props.down.set & (1u << NL_SCN_PROP_LATENCY));
  assert_true(a->props.down.loss > 0.099 && a->props.down.loss < 0.101);
  a = g_ptr_array_index(s->actions, 3);
  assert_ptr_equal(a->node_ref, node(s, "nat_a"));
  a = g_ptr_array_index(s->actions, 6);
  assert_ptr_equal(a->node_ref, pa);
  assert_ptr_equal(a->node2_ref, pb);
  a = g_ptr_array_index(s->actions, 8);
  assert_string_equal(a->program, "client");
  assert_ptr_equal(a->run, nl_scenario_find_run(pa, "client"));
  a = g_ptr_array_index(s->actions, 10);
  assert_string_equal(a->text, "B starts hole punching");
  assert_int_equal(a->at, 3 * NL_S);
  a = g_ptr_array_index(s->actions, 11);
  assert_string_equal(a->text, "hello everyone");
  assert_ptr_equal(a->run, nl_scenario_find_run(pb, "chat-client"));
  assert_int_equal(a->loc.line, 48);
  assert_int_equal(a->program_loc.column, 20);
  nl_scenario_free(s);
  g_free(path);
}

static void test_scenario_timeline_run_joins_node(void **state) {
  NlScenario *s = load(NET "host a\n  link lan 10.0.0.5\n  run chat-server\n"
                           "at 4s run a name=late chat-client 10.0.0.5\n"
                           "at 5s stop a/late\n");
  NlScnNode *a = node(s, "a");
  assert_int_equal(a->runs->len, 2);
  NlScnRun *r = g_ptr_array_index(a->runs, 1);
  assert_string_equal(r->name, "late");
  assert_int_equal(r->at, 4 * NL_S);
  assert_ptr_equal(r->node, a);
  assert_int_equal(r->argc, 2);
  assert_int_equal(s->actions->len, 1);
  assert_ptr_equal(((NlScnAction *)g_ptr_array_index(s->actions, 0))->run, r);
  nl_scenario_free(s);
}

static void test_scenario_expectations(void **state) {
  char *path = good_path("full.nlab");
  GError *err = NULL;
  NlScenario *s = nl_scenario_load(path, NULL, &err);
  assert_non_null(s);
  NlScnNode *pa = node(s, "peer_a"), *pb = node(s, "peer_b");
  assert_int_equal(s->expects->len, 10);
  NlScnExpect *e = g_ptr_array_index(s->expects, 0);
  assert_int_equal(e->kind, NL_SCN_EXPECT_STDOUT);
  assert_int_equal(e->at, NL_TIME_NEVER);
  assert_false(e->negate);
  assert_string_equal(e->text, "hello");
  assert_ptr_equal(e->run, nl_scenario_find_run(pa, "client"));
  assert_string_equal(e->source,
                      "expect stdout peer_a/client contains \"hello\"");
  e = g_ptr_array_index(s->expects, 1);
  assert_int_equal(e->kind, NL_SCN_EXPECT_STDERR);
  assert_true(e->negate);
  assert_ptr_equal(e->run, nl_scenario_find_run(pa, "my-client"));
  e = g_ptr_array_index(s->expects, 2);
  assert_int_equal(e->kind, NL_SCN_EXPECT_EXIT);
  assert_int_equal(e->cmp, NL_SCN_CMP_EQ);
  assert_int_equal(e->value, 0);
  e = g_ptr_array_index(s->expects, 3);
  assert_int_equal(e->kind, NL_SCN_EXPECT_RECEIVED);
  assert_ptr_equal(e->node_ref, pb);
  assert_ptr_equal(e->peer_ref, pa);
  assert_false(e->count_packets);
  assert_int_equal(e->cmp, NL_SCN_CMP_GE);
  assert_int_equal(e->value, 1000);
  e = g_ptr_array_index(s->expects, 4);
  assert_true(e->count_packets);
  assert_int_equal(e->cmp, NL_SCN_CMP_GT);
  assert_int_equal(e->value, 2);
  e = g_ptr_array_index(s->expects, 5);
  assert_int_equal(e->kind, NL_SCN_EXPECT_TCP);
  assert_null(e->program);
  assert_string_equal(e->text, "ESTABLISHED");
  assert_int_equal(e->tcp_state, NL_TCP_ESTABLISHED);
  e = g_ptr_array_index(s->expects, 6);
  assert_string_equal(e->text, "TIME_WAIT");
  assert_int_equal(e->tcp_state, NL_TCP_TIME_WAIT);
  assert_ptr_equal(e->run, nl_scenario_find_run(pb, "chat-client"));
  e = g_ptr_array_index(s->expects, 7);
  assert_int_equal(e->kind, NL_SCN_EXPECT_PATH);
  assert_int_equal(e->path, NL_SCN_PATH_DIRECT);
  assert_ptr_equal(e->peer_ref, pb);
  e = g_ptr_array_index(s->expects, 8);
  assert_int_equal(e->kind, NL_SCN_EXPECT_FILTERED);
  assert_ptr_equal(e->node_ref, node(s, "nat_a"));
  e = g_ptr_array_index(s->expects, 9);
  assert_int_equal(e->at, 20 * NL_S);
  assert_ptr_equal(e->node_ref, node(s, "fw"));
  assert_true(nl_scn_cmp_holds(e->cmp, 0, e->value));
  assert_false(nl_scn_cmp_holds(e->cmp, 1, e->value));
  nl_scenario_free(s);
  g_free(path);
}

static void test_scenario_expect_relayed_and_counts(void **state) {
  NlScenario *s =
      load(NET "host a\n  link lan 10.0.0.5\n  run tcp-echo-client\n"
               "host b\n  link lan 10.0.0.6\n"
               "expect path a b relayed\n"
               "expect received a from b bytes 64KiB\n"
               "expect exit a/tcp-echo-client code != -1\n");
  NlScnExpect *e = g_ptr_array_index(s->expects, 0);
  assert_int_equal(e->path, NL_SCN_PATH_RELAYED);
  e = g_ptr_array_index(s->expects, 1);
  assert_int_equal(e->cmp, NL_SCN_CMP_EQ);
  assert_int_equal(e->value, 65536);
  e = g_ptr_array_index(s->expects, 2);
  assert_int_equal(e->cmp, NL_SCN_CMP_NE);
  assert_int_equal(e->value, -1);
  nl_scenario_free(s);
}

static void test_scenario_timeline_options(void **state) {
  char *path = good_path("full.nlab");
  GError *err = NULL;
  NlScenario *s = nl_scenario_load(path, NULL, &err);
  assert_non_null(s);
  assert_true(s->timeline.set);
  assert_string_equal(s->timeline.title, "Cone NATs: direct");
  assert_int_equal(s->timeline.hide,
                   (G_GUINT64_CONSTANT(1) << NL_TRACE_STDOUT) |
                       (G_GUINT64_CONSTANT(1) << NL_TRACE_CALL));
  assert_true(s->timeline.collapse);
  assert_int_equal(s->timeline.from, NL_S);
  assert_int_equal(s->timeline.to, 25 * NL_S);
  nl_scenario_free(s);
  g_free(path);
  s = load(NET "host a\n");
  assert_false(s->timeline.set);
  assert_int_equal(s->timeline.to, NL_TIME_NEVER);
  nl_scenario_free(s);
}


static void test_scenario_timeline_figure_options(void **state) {
  /* Defaults: host lanes, repeated exchanges folded, every page, the
   * run's end and the reference card shown. */
  NlScenario *s = load(NET "host a\n");
  assert_int_equal(s->timeline.lanes, NL_SCN_LANES_HOST);
  assert_true(s->timeline.collapse);
  assert_int_equal(s->timeline.page, 0);
  assert_true(s->timeline.end);
  assert_true(s->timeline.card);
  assert_null(s->timeline.states);
  assert_int_equal(s->timeline.style, NL_SCN_STYLE_DEFAULT);
  nl_scenario_free(s);
  s = load(NET "host srv\n  link lan 10.0.0.1\n  run name=tcp udp-echo-server 7\n"
               "host cli\n  link lan 10.0.0.2\n"
               "timeline lanes=\"srv/tcp=TCP Server, cli=TCP Client\" "
               "states=srv/tcp style=chapter page=3 end=off card=off "
               "collapse=off\n");
  const NlScnTimeline *t = &s->timeline;
  assert_int_equal(t->lanes, NL_SCN_LANES_LIST);
  assert_int_equal(t->lane_list->len, 2);
  const NlScnLane *l0 = g_ptr_array_index(t->lane_list, 0);
  const NlScnLane *l1 = g_ptr_array_index(t->lane_list, 1);
  assert_string_equal(l0->name, "srv/tcp");
  assert_string_equal(l0->label, "TCP Server");
  assert_string_equal(l1->name, "cli");
  assert_string_equal(l1->label, "TCP Client");
  assert_string_equal(t->states, "srv/tcp");
  assert_int_equal(t->style, NL_SCN_STYLE_CHAPTER);
  assert_int_equal(t->page, 3);
  assert_false(t->end || t->card || t->collapse);
  nl_scenario_free(s);
  s = load(NET "host a\ntimeline lanes=program page=none\n");
  assert_int_equal(s->timeline.lanes, NL_SCN_LANES_PROGRAM);
  assert_int_equal(s->timeline.page, -1);
  /* The command line applies options the same way, over the file's. */
  GError *err = NULL;
  assert_true(nl_scenario_timeline_set(&s->timeline, "from", "2s", NULL,
                                       &err));
  assert_int_equal(s->timeline.from, 2 * NL_S);
  assert_true(nl_scenario_timeline_set(&s->timeline, "lanes", "a", NULL,
                                       &err));
  assert_int_equal(s->timeline.lanes, NL_SCN_LANES_LIST);
  assert_true(nl_scenario_timeline_check(s, NULL, &err));
  guint offset = 99;
  assert_false(nl_scenario_timeline_set(&s->timeline, "hide", "call,nope",
                                        &offset, &err));
  assert_int_equal(offset, 5);
  assert_non_null(strstr(err->message, "unknown record kind \"nope\""));
  g_clear_error(&err);
  assert_true(nl_scenario_timeline_set(&s->timeline, "lanes", "b", NULL,
                                       &err));
  assert_false(nl_scenario_timeline_check(s, NULL, &err));
  assert_non_null(strstr(err->message, "\"b\", which is not a node"));
  g_clear_error(&err);
  nl_scenario_free(s);
}

/* Writes @text to @dir/@name. */
static char *put_file(const char *dir, const char *name, const char *text) {
  char *path = g_build_filename(dir, name, NULL);
  assert_true(g_file_set_contents(path, text, -1, NULL));
  return path;
}

static void test_scenario_timeline_of_an_including_file_wins(void **state) {
  char *dir = g_dir_make_tmp("natlab-scn-XXXXXX", NULL);
  char *lesson = put_file(dir, "lesson.nlab",
                          NET "host a\ntimeline title=\"lesson\" hide=call\n");
  char *after = put_file(dir, "after.nlab",
                         "include \"lesson.nlab\"\n"
                         "timeline title=\"slide\" from=1s\n");
  char *before = put_file(dir, "before.nlab",
                          "timeline title=\"first\"\n"
                          "include \"lesson.nlab\"\n");
  GError *err = NULL;
  /* After the include: the slide's line replaces the lesson's. */
  NlScenario *s = nl_scenario_load(after, NULL, &err);
  assert_non_null(s);
  assert_string_equal(s->timeline.title, "slide");
  assert_int_equal(s->timeline.hide, 0);
  assert_int_equal(s->timeline.from, NL_S);
  assert_int_equal(s->timeline.loc.line, 2);
  nl_scenario_free(s);
  /* Before it: the included lesson's line is ignored. */
  s = nl_scenario_load(before, NULL, &err);
  assert_non_null(s);
  assert_string_equal(s->timeline.title, "first");
  assert_int_equal(s->timeline.hide, 0);
  nl_scenario_free(s);
  g_remove(lesson);
  g_remove(after);
  g_remove(before);
  g_rmdir(dir);
  g_free(lesson);
  g_free(after);
  g_free(before);
  g_free(dir);
}

static void test_scenario_constants_and_overrides(void **state) {
  const char *text = "set lat = 20ms\nset net = 10.0.0\nset both = ${net}.5\n"
                     "set price = \"$5 a word\"\n" NET
                     "host a\n  link lan $both latency=$lat\n"
                     "at 1s note $$lat costs $price\n";
  NlScenario *s = load(text);
  NlScnLink *k = link0(node(s, "a"));
  assert_int_equal(k->props.up.latency, 20 * NL_MS);
  assert_string_equal(addr_str(&g_array_index(k->addrs, NlScnAddr, 0)),
                      "10.0.0.5");
  NlScnAction *a = g_ptr_array_index(s->actions, 0);
  assert_string_equal(a->text, "$lat costs $5 a word");
  assert_int_equal(s->consts->len, 4);
  NlScnConst *c = g_ptr_array_index(s->consts, 0);
  assert_string_equal(c->name, "lat");
  assert_false(c->overridden);
  nl_scenario_free(s);

  const char *over[] = {"lat=50ms", "net=10.0.0", NULL};
  s = load_with(text, over);
  k = link0(node(s, "a"));
  assert_int_equal(k->props.up.latency, 50 * NL_MS);
  c = g_ptr_array_index(s->consts, 0);
  assert_true(c->overridden);
  assert_string_equal(c->value, "50ms");
  nl_scenario_free(s);

  /* set NAME=VALUE, without spaces, is the same statement. */
  s = load("set lat=5ms\n" NET "host a\n  link lan 10.0.0.5 latency=$lat\n");
  assert_int_equal(link0(node(s, "a"))->props.up.latency, 5 * NL_MS);
  nl_scenario_free(s);
}

static void test_scenario_include_and_locations(void **state) {
  char *path = good_path("full.nlab");
  GError *err = NULL;
  NlScenario *s = nl_scenario_load(path, NULL, &err);
  assert_non_null(s);
  assert_int_equal(s->files->len, 2);
  assert_string_equal(g_ptr_array_index(s->files, 0), path);
  const char *inc = g_ptr_array_index(s->files, 1);
  assert_true(g_str_has_suffix(inc, "scenarios-good/common.nlab"));
  /* Elements of the included file carry its name and lines. */
  NlScnNetwork *n = nl_scenario_find_network(s, "internet");
  assert_ptr_equal(n->loc.file, inc);
  assert_int_equal(n->loc.line, 4);
  assert_int_equal(n->loc.column, 1);
  assert_int_equal(n->props.up.latency, 20 * NL_MS);
  NlScnNode *stun = node(s, "stun");
  assert_string_equal(g_ptr_array_index(stun->names, 0), "stun.example.com");
  /* The included constant is usable by the including file afterwards. */
  NlScnNode *a = node(s, "peer_a");
  NlScnLink *k = link0(a);
  assert_ptr_equal(k->loc.file, g_ptr_array_index(s->files, 0));
  assert_int_equal(k->loc.line, 12);
  assert_int_equal(k->loc.column, 3);
  assert_int_equal(k->network_loc.column, 8);
  assert_int_equal(g_array_index(k->addrs, NlScnAddr, 0).loc.column, 14);
  assert_int_equal(a->loc.line, 10);
  NlScnRun *r = g_ptr_array_index(a->runs, 0);
  assert_int_equal(r->loc.line, 15);
  assert_int_equal(r->program_loc.column, 25);
  nl_scenario_free(s);
  g_free(path);
}

static void test_scenario_layout_tabs_crlf_bom_comments(void **state) {
  NlScenario *s = load("\xef\xbb\xbf# a comment\r\n"
                       "network lan 10.0.0.0/24   # trailing comment\r\n"
                       "\r\n"
                       "host a\r\n"
                       "\tlink lan 10.0.0.5\r\n"
                       "   # a comment inside the block keeps it open\r\n"
                       "\r\n"
                       "\t name a.example.com # caf\xc3\xa9\r\n");
  NlScnNode *a = node(s, "a");
  assert_int_equal(a->links->len, 1);
  assert_int_equal(a->names->len, 1);
  assert_int_equal(link0(a)->loc.column, 2);
  nl_scenario_free(s);
}

static void test_scenario_strings_and_escapes(void **state) {
  NlScenario *s = load(NET "host a\n  link lan 10.0.0.5\n  run chat-client\n"
                           "at 1s stdin a/chat-client \"say \\\"hi\\\"\\tnow "
                           "\\\\ # not a comment\"\n"
                           "at 2s note plain words joined\n");
  NlScnAction *a = g_ptr_array_index(s->actions, 0);
  assert_string_equal(a->text, "say \"hi\"\tnow \\ # not a comment");
  a = g_ptr_array_index(s->actions, 1);
  assert_string_equal(a->text, "plain words joined");
  nl_scenario_free(s);
}

static void test_scenario_addr_helpers(void **state) {
  NlScenario *s = load("network lan 10.0.0.0/8\nnetwork v6 fe80::/10\n"
                       "host a\n  link lan 10.255.255.254\n"
                       "  link v6 fe80::1\n");
  NlScnNode *a = node(s, "a");
  NlScnAddr *ip = &g_array_index(link0(a)->addrs, NlScnAddr, 0);
  NlScnNetwork *n = nl_scenario_find_network(s, "lan");
  assert_true(
      nl_scn_addr_in_prefix(ip, &g_array_index(n->prefixes, NlScnAddr, 0)));
  NlScnNetwork *v6 = nl_scenario_find_network(s, "v6");
  assert_false(
      nl_scn_addr_in_prefix(ip, &g_array_index(v6->prefixes, NlScnAddr, 0)));
  assert_string_equal(nl_scn_prop_name(NL_SCN_PROP_REORDER), "reorder");
  assert_string_equal(nl_scn_action_name(NL_SCN_ACTION_NAT_REBOOT),
                      "nat reboot");
  assert_string_equal(nl_scn_expect_name(NL_SCN_EXPECT_FILTERED), "filtered");
  assert_string_equal(nl_scn_cmp_name(NL_SCN_CMP_GE), ">=");
  const char *const *b = nl_scenario_builtin_programs();
  assert_int_equal(g_strv_length((char **)b), 13);
  assert_true(g_strv_contains(b, "signaling-server"));
  assert_true(g_strv_contains(b, "ice-peer"));
  nl_scenario_free(s);
}

static void test_scenario_loopback_only_host(void **state) {
  /* A host with no link is allowed (socket lessons on one machine). */
  NlScenario *s = load("host solo\n  run tcp-echo-server\n"
                       "  run tcp-echo-client 127.0.0.1\n");
  assert_int_equal(node(s, "solo")->links->len, 0);
  assert_int_equal(node(s, "solo")->runs->len, 2);
  nl_scenario_free(s);
}

/* Every ```nlab block of docs/scenario-format.md is a complete scenario
 * that loads (blocks marked "nlab no-check" need other files). */
static void test_scenario_doc_examples_load(void **state) {
  const char *root = g_getenv("NATLAB_SOURCE_ROOT");
  char *doc = g_build_filename(root != NULL ? root : ".", "docs",
                               "scenario-format.md", NULL);
  char *example =
      g_build_filename(root != NULL ? root : ".", "docs", "example.nlab", NULL);
  char *text = NULL;
  assert_true(g_file_get_contents(doc, &text, NULL, NULL));
  char **lines = g_strsplit(text, "\n", -1);
  guint checked = 0;
  GString *block = NULL;
  guint start = 0;
  for (guint i = 0; lines[i] != NULL; i++) {
    /* "no-run" examples load; only test-docs-examples.c skips them. */
    if (block == NULL && (strcmp(lines[i], "```nlab") == 0 ||
                          strcmp(lines[i], "```nlab no-run") == 0)) {
      block = g_string_new(NULL);
      start = i + 1;
    } else if (block != NULL && strcmp(lines[i], "```") == 0) {
      GError *err = NULL;
      NlScenario *s =
          nl_scenario_load_string(example, block->str, -1, NULL, &err);
      if (s == NULL)
        fail_msg("example at %s:%u: %s", doc, start, err->message);
      nl_scenario_free(s);
      g_string_free(block, TRUE);
      block = NULL;
      checked++;
    } else if (block != NULL) {
      g_string_append_printf(block, "%s\n", lines[i]);
    }
  }
  assert_null(block);
  assert_true(checked >= 12);
  g_strfreev(lines);
  g_free(text);
  g_free(doc);
  g_free(example);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scenario_seed_and_duration),
      cmocka_unit_test(test_scenario_time_units),
      cmocka_unit_test(test_scenario_bandwidth_units),
      cmocka_unit_test(test_scenario_size_and_queue_units),
      cmocka_unit_test(test_scenario_percent_units),
      cmocka_unit_test(test_scenario_network_prefixes_and_defaults),
      cmocka_unit_test(test_scenario_host_links_names_routes),
      cmocka_unit_test(test_scenario_router_kind),
      cmocka_unit_test(test_scenario_per_direction_and_effective),
      cmocka_unit_test(test_scenario_runs_builtin_and_user),
      cmocka_unit_test(test_scenario_run_default_names_and_options),
      cmocka_unit_test(test_scenario_nat_preset_and_overrides),
      cmocka_unit_test(test_scenario_nat_forwards_and_dmz),
      cmocka_unit_test(test_scenario_nat_chain),
      cmocka_unit_test(test_scenario_actions),
      cmocka_unit_test(test_scenario_timeline_run_joins_node),
      cmocka_unit_test(test_scenario_expectations),
      cmocka_unit_test(test_scenario_expect_relayed_and_counts),
      cmocka_unit_test(test_scenario_timeline_options),
      cmocka_unit_test(test_scenario_timeline_figure_options),
      cmocka_unit_test(test_scenario_timeline_of_an_including_file_wins),
      cmocka_unit_test(test_scenario_constants_and_overrides),
      cmocka_unit_test(test_scenario_include_and_locations),
      cmocka_unit_test(test_scenario_layout_tabs_crlf_bom_comments),
      cmocka_unit_test(test_scenario_strings_and_escapes),
      cmocka_unit_test(test_scenario_addr_helpers),
      cmocka_unit_test(test_scenario_loopback_only_host),
      cmocka_unit_test(test_scenario_doc_examples_load),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
