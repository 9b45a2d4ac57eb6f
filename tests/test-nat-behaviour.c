/* Behaviour as data: the preset registry, field overrides with helpful
 * errors, and every preset behaving as its fields say. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test-nat-util.h"

static void test_nat_behaviour_presets_registry(void **state) {
  static const struct {
    const char *name;
    NlNatMappingMode m;
    NlNatFilteringMode f;
    gboolean translate, block_udp;
  } want[] = {
      {"full-cone", NL_NAT_MAPPING_EIM, NL_NAT_FILTERING_EIF, TRUE, FALSE},
      {"restricted-cone", NL_NAT_MAPPING_EIM, NL_NAT_FILTERING_ADF, TRUE,
       FALSE},
      {"port-restricted-cone", NL_NAT_MAPPING_EIM, NL_NAT_FILTERING_APDF,
       TRUE, FALSE},
      {"symmetric", NL_NAT_MAPPING_APDM, NL_NAT_FILTERING_APDF, TRUE, FALSE},
      {"firewall", NL_NAT_MAPPING_EIM, NL_NAT_FILTERING_APDF, FALSE, FALSE},
      {"udp-blocked", NL_NAT_MAPPING_EIM, NL_NAT_FILTERING_APDF, TRUE, TRUE},
  };
  guint n = 0;
  while (nl_nat_behaviour_preset(n) != NULL)
    n++;
  assert_int_equal(n, G_N_ELEMENTS(want));
  for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
    const NlNatBehaviour *b = nl_nat_behaviour_find(want[i].name);
    assert_non_null(b);
    assert_ptr_equal(b, nl_nat_behaviour_preset(i));
    assert_string_equal(b->name, want[i].name);
    assert_int_equal(b->version, NL_NAT_BEHAVIOUR_VERSION);
    assert_int_equal(b->mapping, want[i].m);
    assert_int_equal(b->filtering, want[i].f);
    assert_int_equal(b->translate, want[i].translate);
    assert_int_equal(b->block_outbound_udp, want[i].block_udp);
    /* RFC defaults. */
    assert_int_equal(b->udp_timeout, 120 * NL_S);
    assert_int_equal(b->tcp_established_timeout, 7440 * NL_S);
    assert_int_equal(b->tcp_transitory_timeout, 240 * NL_S);
    assert_int_equal(b->icmp_timeout, 60 * NL_S);
    assert_true(b->outbound_refresh);
    assert_true(nl_nat_behaviour_check(b, NULL));
  }
  assert_null(nl_nat_behaviour_find("cone"));
}

static void test_nat_behaviour_set_overrides_fields(void **state) {
  static const struct {
    const char *field, *value, *described;
  } rows[] = {
      {"mapping", "address-dependent", "mapping=address-dependent"},
      {"mapping", "apdm", "mapping=address-and-port-dependent"},
      {"filtering", "adf", "filtering=address-dependent"},
      {"allocation", "random", "allocation=random"},
      {"port-range", "20000-20099", "port-range=20000-20099"},
      {"port-min", "3000", "port-range=3000-65535"},
      {"parity", "preserve", "parity=preserve"},
      {"exhaustion", "evict-oldest", "exhaustion=evict-oldest"},
      {"hairpinning", "off", "hairpinning=off"},
      {"hairpin-filtering", "on", "hairpin-filtering=on"},
      {"udp-timeout", "30s", "udp-timeout=30s"},
      {"udp-timeout", "500ms", "udp-timeout=500ms"},
      {"tcp-established-timeout", "2h", "tcp-established-timeout=2h"},
      {"tcp-transitory-timeout", "4min", "tcp-transitory-timeout=4min"},
      {"icmp-timeout", "90s", "icmp-timeout=90s"},
      {"inbound-refresh", "no", "inbound-refresh=off"},
      {"outbound-refresh", "false", "outbound-refresh=off"},
      {"translate", "off", "translate=off"},
      {"block-outbound-udp", "yes", "block-outbound-udp=on"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
    NlNatBehaviour b = *nl_nat_behaviour_find("full-cone");
    GError *error = NULL;
    assert_true(nl_nat_behaviour_set(&b, rows[i].field, rows[i].value,
                                     &error));
    assert_null(error);
    GString *d = g_string_new(NULL);
    nl_nat_behaviour_describe(&b, d);
    if (strstr(d->str, rows[i].described) == NULL)
      fail_msg("%s=%s: described as %s", rows[i].field, rows[i].value,
               d->str);
    /* describe's output reads back into the same behaviour. */
    NlNatBehaviour again = *nl_nat_behaviour_find("symmetric");
    gchar **pairs = g_strsplit(d->str, " ", -1);
    for (gchar **p = pairs; *p; p++) {
      gchar **kv = g_strsplit(*p, "=", 2);
      assert_true(nl_nat_behaviour_set(&again, kv[0], kv[1], NULL));
      g_strfreev(kv);
    }
    g_strfreev(pairs);
    GString *d2 = g_string_new(NULL);
    nl_nat_behaviour_describe(&again, d2);
    assert_string_equal(d2->str, d->str);
    g_string_free(d2, TRUE);
    g_string_free(d, TRUE);
  }
  /* The preset itself is untouched (it is const data). */
  assert_int_equal(nl_nat_behaviour_find("full-cone")->mapping,
                   NL_NAT_MAPPING_EIM);
}

static void test_nat_behaviour_set_errors_list_allowed_values(void **state) {
  static const struct {
    const char *field, *value, *must_mention;
    int code;
  } rows[] = {
      {"mapping", "cone", "endpoint-independent (eim), address-dependent "
                          "(adm), address-and-port-dependent (apdm)",
       NL_NAT_ERROR_BAD_VALUE},
      {"filtering", "x", "address-and-port-dependent (apdf)",
       NL_NAT_ERROR_BAD_VALUE},
      {"allocation", "lottery", "preserve (preserve), sequential (seq), "
                                "random (rand)",
       NL_NAT_ERROR_BAD_VALUE},
      {"udp-timeout", "30", "unit ns, us, ms, s, min or h",
       NL_NAT_ERROR_BAD_VALUE},
      {"udp-timeout", "0s", "positive", NL_NAT_ERROR_BAD_VALUE},
      {"udp-timeout", "-5s", "positive", NL_NAT_ERROR_BAD_VALUE},
      {"hairpinning", "maybe", "on, off", NL_NAT_ERROR_BAD_VALUE},
      {"port-range", "9-3", "LO-HI", NL_NAT_ERROR_BAD_VALUE},
      {"port-min", "70000", "1..65535", NL_NAT_ERROR_BAD_VALUE},
      {"port-min", "65535", "larger than port-max", NL_NAT_ERROR_BAD_VALUE},
      {"colour", "red", "fields: mapping, filtering", NL_NAT_ERROR_UNKNOWN_FIELD},
  };
  for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
    NlNatBehaviour b = *nl_nat_behaviour_find("full-cone");
    NlNatBehaviour before = b;
    b.port_max = 60000;
    before.port_max = 60000;
    GError *error = NULL;
    assert_false(
        nl_nat_behaviour_set(&b, rows[i].field, rows[i].value, &error));
    assert_non_null(error);
    assert_true(g_error_matches(error, NL_NAT_ERROR, rows[i].code));
    if (strstr(error->message, rows[i].must_mention) == NULL)
      fail_msg("%s=%s: \"%s\" does not mention \"%s\"", rows[i].field,
               rows[i].value, error->message, rows[i].must_mention);
    GString *d1 = g_string_new(NULL), *d2 = g_string_new(NULL);
    nl_nat_behaviour_describe(&b, d1);
    nl_nat_behaviour_describe(&before, d2);
    assert_string_equal(d1->str, d2->str); /* unchanged on failure */
    g_string_free(d1, TRUE);
    g_string_free(d2, TRUE);
    g_error_free(error);
  }
}

static void test_nat_behaviour_check_rejects_bad_tables(void **state) {
  NlNatBehaviour b = *nl_nat_behaviour_find("symmetric");
  b.version = 99;
  assert_false(nl_nat_behaviour_check(&b, NULL));
  b = *nl_nat_behaviour_find("symmetric");
  b.udp_timeout = 0;
  assert_false(nl_nat_behaviour_check(&b, NULL));
  b = *nl_nat_behaviour_find("symmetric");
  b.port_min = 5000;
  b.port_max = 4000;
  GError *error = NULL;
  assert_false(nl_nat_behaviour_check(&b, &error));
  assert_non_null(strstr(error->message, "5000-4000"));
  g_error_free(error);
}

static void test_nat_duration_parse_units(void **state) {
  static const struct {
    const char *s;
    NlTime want;
  } ok[] = {{"7ns", 7},           {"100us", 100 * NL_US},
            {"500ms", 500 * NL_MS}, {"30s", 30 * NL_S},
            {"2min", 120 * NL_S}, {"1h", 3600 * NL_S}};
  static const char *const bad[] = {"", "s", "10", "10 s", "1.5s", "0ms",
                                    "3d", "99999999999999999999s"};
  for (guint i = 0; i < G_N_ELEMENTS(ok); i++) {
    NlTime t = 0;
    assert_true(nl_nat_duration_parse(ok[i].s, &t));
    assert_int_equal(t, ok[i].want);
  }
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    NlTime t;
    if (nl_nat_duration_parse(bad[i], &t))
      fail_msg("\"%s\" parsed", bad[i]);
  }
}

/* STYLE rule 14: the same scenario over every preset, each behaving as its
 * fields say: inside H talks to S1 then S2; S1 from another port and a
 * probe P try to come in; a second inside host tries to hairpin. */
static void test_nat_every_preset_behaves_as_its_fields(void **state) {
  const uint32_t h = A("10.0.0.5"), h2 = A("10.0.0.6"), e = A("203.0.113.1");
  const uint32_t s1 = A("192.0.2.10"), s2 = A("198.51.100.20");
  const uint32_t p = A("198.51.100.99");
  for (guint i = 0; nl_nat_behaviour_preset(i) != NULL; i++) {
    const NlNatBehaviour *b = nl_nat_behaviour_preset(i);
    Env env;
    env_init(&env, b);
    Seen a = {0}, c = {0};
    NlNatVerdict v = env_udp(&env, NL_NAT_OUTBOUND, h, 5000, s1, 3478, &a);
    if (b->block_outbound_udp) {
      assert_int_equal(v, NL_NAT_DROP);
      assert_int_equal(env.why, NL_DROP_BLOCKED);
      env_free(&env);
      continue;
    }
    assert_int_equal(v, NL_NAT_PASS);
    assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, h, 5000, s2, 3478, &c),
                     NL_NAT_PASS);
    uint32_t ext = b->translate ? e : h;
    assert_int_equal(a.src, ext);
    assert_int_equal(c.src, ext);
    if (b->mapping == NL_NAT_MAPPING_EIM || !b->translate)
      assert_int_equal(a.sport, c.sport);
    else
      assert_int_not_equal(a.sport, c.sport);
    if (b->allocation == NL_NAT_ALLOC_PRESERVE)
      assert_int_equal(a.sport, 5000);
    /* From S1's other port. */
    v = env_udp(&env, NL_NAT_INBOUND, s1, 3479, ext, a.sport, NULL);
    assert_int_equal(v, b->filtering == NL_NAT_FILTERING_APDF ? NL_NAT_DROP
                                                              : NL_NAT_PASS);
    /* From a probe never contacted. */
    v = env_udp(&env, NL_NAT_INBOUND, p, 4000, ext, a.sport, NULL);
    assert_int_equal(v, b->filtering == NL_NAT_FILTERING_EIF ? NL_NAT_PASS
                                                             : NL_NAT_DROP);
    if (v == NL_NAT_DROP)
      assert_int_equal(env.why, b->translate ? NL_DROP_NAT_FILTERED
                                             : NL_DROP_FIREWALL);
    if (b->translate) {
      /* h2 sends to h's external endpoint after h sent to h2's. */
      Seen d = {0};
      assert_int_equal(env_udp(&env, NL_NAT_OUTBOUND, h2, 6000, s1, 3478, &d),
                       NL_NAT_PASS);
      env_udp(&env, NL_NAT_OUTBOUND, h, 5000, e, d.sport, NULL);
      v = env_udp(&env, NL_NAT_OUTBOUND, h2, 6000, e, a.sport, NULL);
      assert_int_equal(v, b->hairpinning ? NL_NAT_HAIRPIN : NL_NAT_DROP);
      assert_int_equal(env.why,
                       b->hairpinning ? NL_DROP_NONE : NL_DROP_NAT_HAIRPIN);
    }
    env_free(&env);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nat_behaviour_presets_registry),
      cmocka_unit_test(test_nat_behaviour_set_overrides_fields),
      cmocka_unit_test(test_nat_behaviour_set_errors_list_allowed_values),
      cmocka_unit_test(test_nat_behaviour_check_rejects_bad_tables),
      cmocka_unit_test(test_nat_duration_parse_units),
      cmocka_unit_test(test_nat_every_preset_behaves_as_its_fields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
