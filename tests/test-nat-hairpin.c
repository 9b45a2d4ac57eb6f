/* Hairpinning, RFC 4787 §6: an inside host reaches another inside host
 * through its external address:port. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test-nat-util.h"

static const uint32_t HA = 0x0a000005; /* 10.0.0.5 */
static const uint32_t HB = 0x0a000006; /* 10.0.0.6 */
static const uint32_t S = 0xc000020a;  /* 192.0.2.10 */
static const uint32_t E = 0xcb007101;  /* 203.0.113.1 */

/* B has a mapping E:6000 (it talked to S); A sends to E:6000. */
typedef struct {
  const char *preset;
  const char *hairpinning;
  gboolean b_sends_to_a_first; /* B opened its filter towards A's mapping */
  NlNatVerdict want;
  NlDropReason why;
} Row;

static const Row rows[] = {
    /* REQ-9: on, EIF: A reaches B. */
    {"full-cone", "on", FALSE, NL_NAT_HAIRPIN, NL_DROP_NONE},
    /* REQ-9 with APDF and hairpin-filtering on: B's filter sees A's
     * external endpoint (REQ-9b), so A gets through only once B has sent
     * to it. */
    {"port-restricted-cone", "on", FALSE, NL_NAT_DROP, NL_DROP_NAT_FILTERED},
    {"port-restricted-cone", "on", TRUE, NL_NAT_HAIRPIN, NL_DROP_NONE},
    /* Off: dropped, whatever the filter. */
    {"full-cone", "off", FALSE, NL_NAT_DROP, NL_DROP_NAT_HAIRPIN},
    {"symmetric", "off", TRUE, NL_NAT_DROP, NL_DROP_NAT_HAIRPIN},
};

static void test_nat_rfc4787_req9_hairpinning(void **state) {
  for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
    Env env;
    NlNatBehaviour b = behaviour(rows[i].preset, "hairpinning",
                                 rows[i].hairpinning, "allocation", "preserve",
                                 "hairpin-filtering", "on", NULL);
    env_init(&env, &b);
    Seen sa, sb, got;
    /* A's mapping E:5000 and B's E:6000, both towards S. */
    assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, HA, 5000, S, 3478, &sa),
                     NL_NAT_PASS);
    assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, HB, 6000, S, 3478, &sb),
                     NL_NAT_PASS);
    assert_int_equal(sa.sport, 5000);
    assert_int_equal(sb.sport, 6000);
    if (rows[i].b_sends_to_a_first) {
      /* B's packet itself does not get through (A never sent to B, or
       * hairpinning is off), but it opens B's filter towards A. */
      assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, HB, 6000, E, 5000, NULL),
                       NL_NAT_DROP);
    }
    NlNatVerdict v = env_udp(&env, NL_NAT_OUTBOUND, HA, 5000, E, 6000, &got);
    if (v != rows[i].want)
      fail_msg("row %u: %s (%s)", i, nl_nat_verdict_name(v),
               nl_drop_reason_name(env.why));
    assert_int_equal(env.why, rows[i].why);
    if (v == NL_NAT_HAIRPIN) {
      /* REQ-9b: from A's external endpoint, to B's inside endpoint. */
      assert_int_equal(got.src, E);
      assert_int_equal(got.sport, 5000);
      assert_int_equal(got.dst, HB);
      assert_int_equal(got.dport, 6000);
      NlNatCounters c;
      nl_nat_get_counters(env.nat, &c);
      assert_int_equal(c.hairpinned, 1);
    }
    env_free(&env);
  }
}

/* B answers A's hairpinned packet the same way, to A's external endpoint,
 * and A receives it from B's external endpoint: a conversation works. */
static void test_nat_rfc4787_req9b_hairpin_reply_reaches_sender(
    void **state) {
  Env env;
  NlNatBehaviour b =
      behaviour("port-restricted-cone", "hairpin-filtering", "on", NULL);
  env_init(&env, &b);
  Seen got = {0};
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, HA, 5000, S, 3478, NULL),
                   NL_NAT_PASS);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, HB, 6000, S, 3478, NULL),
                   NL_NAT_PASS);
  /* B punches towards A, A sends, B replies. */
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, HB, 6000, E, 5000, &got),
                   NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_NAT_FILTERED);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, HA, 5000, E, 6000, &got),
                   NL_NAT_HAIRPIN);
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, HB, 6000, E, 5000, &got),
                   NL_NAT_HAIRPIN);
  assert_int_equal(got.src, E);
  assert_int_equal(got.sport, 6000);
  assert_int_equal(got.dst, HA);
  assert_int_equal(got.dport, 5000);
  /* To an external port with no mapping: nothing to hairpin to. */
  assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, HA, 5000, E, 7000, NULL),
                   NL_NAT_DROP);
  assert_int_equal(env.why, NL_DROP_NAT_NO_MAPPING);
  env_free(&env);
}

/* Hairpinned TCP: checksums right, TCP state follows. */
static void test_nat_rfc4787_req9_hairpin_tcp(void **state) {
  Env env;
  env_init(&env, nl_nat_behaviour_find("full-cone"));
  Seen got = {0};
  assert_int_equal(
      env_tcp(&env, NL_NAT_OUTBOUND, HB, 6000, S, 80, NL_TCP_SYN, NULL),
      NL_NAT_PASS);
  assert_int_equal(
      env_tcp(&env, NL_NAT_OUTBOUND, HA, 5000, E, 6000, NL_TCP_SYN, &got),
      NL_NAT_HAIRPIN);
  assert_int_equal(got.dst, HB);
  assert_int_equal(got.sport, 5000);
  env_free(&env);
}

/* RFC 5780 §4.5: a client learns its mapped address from a STUN server,
 * then sends to that address from another local port; a NAT that
 * hairpins delivers the request back to the first socket.  The new
 * socket's mapping is one the first mapping never sent to, so every preset
 * with hairpinning must let hairpinned packets past its filter
 * (hairpin-filtering off by default) to pass the test. */
static void test_nat_rfc5780_hairpin_test_passes_every_hairpinning_preset(
    void **state) {
  guint tested = 0;
  for (guint i = 0; nl_nat_behaviour_preset(i) != NULL; i++) {
    const NlNatBehaviour *p = nl_nat_behaviour_preset(i);
    if (!p->hairpinning || p->block_outbound_udp)
      continue;
    assert_false(p->hairpin_filtering);
    Env env;
    env_init(&env, p);
    Seen first = {0}, got = {0};
    assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, HA, 5000, S, 3478, &first),
                     NL_NAT_PASS);
    NlNatVerdict v = env_udp(&env, NL_NAT_OUTBOUND, HA, 5001, first.src,
                             first.sport, &got);
    if (v != NL_NAT_HAIRPIN)
      fail_msg("%s: the hairpin test's request was %s (%s)", p->name,
               nl_nat_verdict_name(v), nl_drop_reason_name(env.why));
    assert_int_equal(got.dst, HA);
    assert_int_equal(got.dport, 5000);
    assert_int_equal(got.src, E);
    assert_int_not_equal(got.sport, first.sport);
    env_free(&env);
    tested++;
  }
  assert_true(tested >= 3); /* full, restricted and port-restricted cone */
}

/* hairpin-filtering=on: the target mapping's filtering applies to
 * hairpinned packets as to inbound ones, and RFC 5780's test fails behind
 * an address-dependent filter. */
static void test_nat_hairpin_filtering_on_applies_target_filter(void **state) {
  static const char *const presets[] = {"restricted-cone",
                                        "port-restricted-cone"};
  for (guint i = 0; i < G_N_ELEMENTS(presets); i++) {
    NlNatBehaviour b = behaviour(presets[i], "hairpin-filtering", "on", NULL);
    Env env;
    env_init(&env, &b);
    Seen first = {0};
    assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, HA, 5000, S, 3478, &first),
                     NL_NAT_PASS);
    assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, HA, 5001, first.src,
                             first.sport, NULL),
                     NL_NAT_DROP);
    assert_int_equal(env.why, NL_DROP_NAT_FILTERED);
    env_free(&env);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nat_rfc4787_req9_hairpinning),
      cmocka_unit_test(test_nat_rfc4787_req9b_hairpin_reply_reaches_sender),
      cmocka_unit_test(test_nat_rfc4787_req9_hairpin_tcp),
      cmocka_unit_test(
          test_nat_rfc5780_hairpin_test_passes_every_hairpinning_preset),
      cmocka_unit_test(test_nat_hairpin_filtering_on_applies_target_filter),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
