/* NATs in a chain (a carrier-grade NAT in front of a home NAT), reboot,
 * table snapshots and run-to-run determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test-nat-util.h"

/* home: 192.168.1.0/24 inside, 100.64.0.7 outside.
 * cgn:  100.64.0.0/10 inside, 203.0.113.1 outside. */
typedef struct {
  NlEventQueue *q;
  NlTrace *trace;
  NlNat *home, *cgn;
  NlEvent tick;
} Chain;

static void chain_init(Chain *c, const char *home_preset,
                       const char *cgn_preset) {
  uint32_t home_ext = A("100.64.0.7"), cgn_ext = A("203.0.113.1");
  c->q = nl_event_queue_new();
  c->trace = nl_trace_new();
  nl_trace_set_packet_format(c->trace, nl_wire_describe);
  nl_event_init(&c->tick, env_noop, NULL);
  c->home = nl_nat_new(nl_nat_behaviour_find(home_preset), &home_ext, 1, c->q,
                       c->trace, nl_trace_intern(c->trace, "home"), SEED,
                       "home");
  c->cgn = nl_nat_new(nl_nat_behaviour_find(cgn_preset), &cgn_ext, 1, c->q,
                      c->trace, nl_trace_intern(c->trace, "cgn"), SEED, "cgn");
}

static void chain_free(Chain *c) {
  nl_nat_free(c->home);
  nl_nat_free(c->cgn);
  nl_trace_free(c->trace);
  nl_event_queue_free(c->q);
}

static void chain_at(Chain *c, NlTime t) {
  nl_event_schedule(c->q, &c->tick, t);
  nl_event_run_until(c->q, t);
}

/* Out through home then cgn; returns the verdict of the last NAT run. */
static NlNatVerdict chain_out(Chain *c, guint8 *pkt, size_t len) {
  NlDropReason why;
  NlNatVerdict v = nl_nat_process(c->home, NL_NAT_OUTBOUND, pkt, len, &why);
  if (v != NL_NAT_PASS)
    return v;
  return nl_nat_process(c->cgn, NL_NAT_OUTBOUND, pkt, len, &why);
}

static NlNatVerdict chain_in(Chain *c, guint8 *pkt, size_t len,
                             NlDropReason *why) {
  NlNatVerdict v = nl_nat_process(c->cgn, NL_NAT_INBOUND, pkt, len, why);
  if (v != NL_NAT_PASS)
    return v;
  return nl_nat_process(c->home, NL_NAT_INBOUND, pkt, len, why);
}

static char *run_chain(void) {
  Chain c;
  guint8 pkt[256];
  size_t len;
  NlDropReason why;
  chain_init(&c, "port-restricted-cone", "symmetric");
  chain_at(&c, 1 * NL_S);
  /* 192.168.1.10:5000 -> 192.0.2.10:3478 */
  len = build_udp(pkt, A("192.168.1.10"), 5000, A("192.0.2.10"), 3478);
  assert_int_equal(chain_out(&c, pkt, len), NL_NAT_PASS);
  Seen s = seen_checked(pkt, len);
  /* home preserves 5000; the symmetric CGN allocates sequentially. */
  assert_int_equal(s.src, A("203.0.113.1"));
  assert_int_equal(s.sport, 1024);
  /* The reply goes back through both. */
  chain_at(&c, 2 * NL_S);
  len = build_udp(pkt, A("192.0.2.10"), 3478, A("203.0.113.1"), 1024);
  assert_int_equal(chain_in(&c, pkt, len, &why), NL_NAT_PASS);
  s = seen_checked(pkt, len);
  assert_int_equal(s.dst, A("192.168.1.10"));
  assert_int_equal(s.dport, 5000);
  assert_int_equal(s.src, A("192.0.2.10"));
  /* The second server gets a different CGN port (symmetric outer NAT
   * hides the home NAT's endpoint independence). */
  len = build_udp(pkt, A("192.168.1.10"), 5000, A("198.51.100.20"), 3478);
  assert_int_equal(chain_out(&c, pkt, len), NL_NAT_PASS);
  s = seen_checked(pkt, len);
  assert_int_equal(s.sport, 1025);
  /* A probe from a third host stops at the CGN. */
  len = build_udp(pkt, A("198.51.100.99"), 4000, A("203.0.113.1"), 1024);
  assert_int_equal(chain_in(&c, pkt, len, &why), NL_NAT_DROP);
  assert_int_equal(why, NL_DROP_NAT_FILTERED);
  /* Reboot of the home NAT: the CGN still maps, the home NAT does not. */
  chain_at(&c, 3 * NL_S);
  nl_nat_reboot(c.home);
  len = build_udp(pkt, A("192.0.2.10"), 3478, A("203.0.113.1"), 1024);
  assert_int_equal(chain_in(&c, pkt, len, &why), NL_NAT_DROP);
  assert_int_equal(why, NL_DROP_NAT_NO_MAPPING);
  s = seen_checked(pkt, len);
  assert_int_equal(s.dst, A("100.64.0.7")); /* the CGN did translate */
  nl_nat_trace_snapshot(c.home);
  nl_nat_trace_snapshot(c.cgn);
  GString *text = g_string_new(NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, c.trace);
  while (nl_trace_iter_next(&it, &rec, &payload)) {
    nl_trace_format(c.trace, rec, payload, text);
    g_string_append_c(text, '\n');
  }
  chain_free(&c);
  return g_string_free(text, FALSE);
}

/* A home NAT behind a carrier-grade NAT: each call translates its hop. */
static void test_nat_chain_cgn_in_front_of_home_nat(void **state) {
  char *t1 = run_chain();
  char *t2 = run_chain();
  assert_string_equal(t1, t2);
  assert_non_null(strstr(t1, "1.000000000 home mapping new UDP "
                             "192.168.1.10:5000 -> 100.64.0.7:5000 (for "
                             "192.0.2.10:3478)\n"
                             "1.000000000 cgn mapping new UDP "
                             "100.64.0.7:5000 -> 203.0.113.1:1024 (for "
                             "192.0.2.10:3478)\n"));
  assert_non_null(strstr(t1, "3.000000000 home mapping reboot: 1 mapping "
                             "dropped\n"));
  assert_non_null(strstr(t1, "3.000000000 home nat-table nat home at "
                             "3.000000000: 0 mappings\n"));
  g_free(t1);
  g_free(t2);
}

/* Reboot drops everything, once, visibly; counters keep their history. */
static void test_nat_reboot_drops_every_mapping(void **state) {
  Env env;
  env_init(&env, nl_nat_behaviour_find("full-cone"));
  for (int k = 0; k < 3; k++)
    assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, A("10.0.0.5"),
                             (uint16_t)(5000 + k), A("192.0.2.10"), 3478,
                             NULL),
                     NL_NAT_PASS);
  env_at(&env, 10 * NL_S);
  nl_nat_reboot(env.nat);
  NlNatCounters c;
  nl_nat_get_counters(env.nat, &c);
  assert_int_equal(c.mappings_live, 0);
  assert_int_equal(c.mappings_created, 3);
  assert_int_equal(env_count_records(&env, NL_NAT_MAP_REBOOT), 1);
  /* No expiry event is left behind, and none fires later. */
  assert_int_equal(nl_event_queue_size(env.q), 0);
  assert_int_equal(env_udp(&env, NL_NAT_INBOUND, A("192.0.2.10"), 3478,
                           A("203.0.113.1"), 5000, NULL),
                   NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_NAT_NO_MAPPING);
  GString *recs = env_map_records(&env);
  assert_non_null(strstr(recs->str, "10.000000000 reboot: 3 mappings "
                                    "dropped\n"));
  g_string_free(recs, TRUE);
  env_free(&env);
}

/* The snapshot: creation order, expiry, filter state. */
static void test_nat_snapshot_lists_table_in_creation_order(void **state) {
  Env env;
  env_init(&env, nl_nat_behaviour_find("port-restricted-cone"));
  env_at(&env, 1 * NL_S);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, A("10.0.0.9"), 7000,
                           A("192.0.2.10"), 3478, NULL),
                   NL_NAT_PASS);
  env_at(&env, 2 * NL_S);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, A("10.0.0.5"), 5000,
                           A("192.0.2.10"), 3478, NULL),
                   NL_NAT_PASS);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, A("10.0.0.5"), 5000,
                           A("198.51.100.20"), 19302, NULL),
                   NL_NAT_PASS);
  env.len = build_echo(env.pkt, A("10.0.0.5"), A("192.0.2.10"),
                       NL_ICMP_ECHO_REQUEST, 300);
  assert_int_equal(env_process(&env, NL_NAT_OUTBOUND), NL_NAT_PASS);
  GString *snap = g_string_new(NULL);
  nl_nat_snapshot(env.nat, snap);
  assert_string_equal(
      snap->str,
      "nat nat at 2.000000000: 3 mappings\n"
      "UDP 10.0.0.9:7000 -> 203.0.113.1:7000 for 192.0.2.10:3478 expires "
      "121.000000000 allow 192.0.2.10:3478\n"
      "UDP 10.0.0.5:5000 -> 203.0.113.1:5000 for 192.0.2.10:3478 expires "
      "122.000000000 allow 192.0.2.10:3478, 198.51.100.20:19302\n"
      "ICMP 10.0.0.5:300 -> 203.0.113.1:300 for 192.0.2.10 expires "
      "62.000000000 allow 192.0.2.10\n");
  /* At 62 s the echo mapping is gone from the table. */
  env_at(&env, 62 * NL_S);
  g_string_truncate(snap, 0);
  nl_nat_snapshot(env.nat, snap);
  assert_null(strstr(snap->str, "ICMP"));
  assert_non_null(strstr(snap->str, ": 2 mappings\n"));
  g_string_free(snap, TRUE);
  env_free(&env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nat_chain_cgn_in_front_of_home_nat),
      cmocka_unit_test(test_nat_reboot_drops_every_mapping),
      cmocka_unit_test(test_nat_snapshot_lists_table_in_creation_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
