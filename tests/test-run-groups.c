/* Groups in the scenario language (scenarios/lang/scenario-group.c): a
 * line or block written once for N numbered copies, integer expressions,
 * address pools, and expectations over a group. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "test-run-util.h"

/* The trace without the expectation records (a group is one, its
 * hand-written expansion one per copy). */
static char *without_checks(const char *text) {
  GString *out = g_string_new(NULL);
  char **lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++)
    if (strstr(*l, " expect ") == NULL && **l != '\0')
      g_string_append_printf(out, "%s\n", *l);
  g_strfreev(lines);
  return g_string_free(out, FALSE);
}

static const char *grouped =
    "duration 2s\n"
    "set n = 3\n"
    "network internet 192.0.2.0/24\n"
    "network lan[1..$n] 10.${i}.0.0/24\n"
    "host server\n"
    "  link internet 192.0.2.10\n"
    "  run udp-echo-server 7\n"
    "nat gw[1..$n] preset=port-restricted-cone\n"
    "  inside lan${i} 10.${i}.0.1\n"
    "  outside internet 192.0.2.${100+i}\n"
    "host c[1..${n*2}]\n"
    "  link lan${(i-1)/2+1} 10.${(i-1)/2+1}.0.${(i-1)%2+10}\n"
    "  route default via 10.${(i-1)/2+1}.0.1\n"
    "  run at=${i*10}ms udp-echo-client 192.0.2.10 7 hello 3 100\n"
    "expect stdout c[1..${n*2}]/udp-echo-client contains \"3 of 3\"\n";

static char *by_hand(void) {
  GString *s = g_string_new("duration 2s\n"
                            "network internet 192.0.2.0/24\n");
  for (int i = 1; i <= 3; i++)
    g_string_append_printf(s, "network lan%d 10.%d.0.0/24\n", i, i);
  g_string_append(s, "host server\n"
                     "  link internet 192.0.2.10\n"
                     "  run udp-echo-server 7\n");
  for (int i = 1; i <= 3; i++)
    g_string_append_printf(s,
                           "nat gw%d preset=port-restricted-cone\n"
                           "  inside lan%d 10.%d.0.1\n"
                           "  outside internet 192.0.2.%d\n",
                           i, i, i, 100 + i);
  for (int i = 1; i <= 6; i++) {
    int lan = (i - 1) / 2 + 1;
    g_string_append_printf(
        s,
        "host c%d\n"
        "  link lan%d 10.%d.0.%d\n"
        "  route default via 10.%d.0.1\n"
        "  run at=%dms udp-echo-client 192.0.2.10 7 hello 3 100\n",
        i, lan, lan, (i - 1) % 2 + 10, lan, i * 10);
  }
  for (int i = 1; i <= 6; i++)
    g_string_append_printf(
        s, "expect stdout c%d/udp-echo-client contains \"3 of 3\"\n", i);
  return g_string_free(s, FALSE);
}

static void test_group_equals_its_hand_written_expansion(void **state) {
  TestRun *g = test_run("g.nlab", grouped);
  char *text = by_hand();
  TestRun *h = test_run("h.nlab", text);
  assert_int_equal(g->failed, 0);
  assert_int_equal(h->failed, 0);
  /* One expectation for the group, six written out. */
  assert_int_equal(nl_run_n_expects(g->run), 1);
  assert_int_equal(nl_run_n_expects(h->run), 6);
  char *a = without_checks(g->text), *b = without_checks(h->text);
  assert_true(strlen(a) > 1000);
  assert_string_equal(a, b);
  /* And a second run of the group gives the same trace. */
  TestRun *g2 = test_run("g.nlab", grouped);
  assert_string_equal(g->text, g2->text);
  g_free(a);
  g_free(b);
  g_free(text);
  test_run_free(g);
  test_run_free(g2);
  test_run_free(h);
}

/* A group expectation holds when at least at-least= of its copies do, and
 * its report says how many held and names those that did not. */
static void test_group_expectation_counts_its_copies(void **state) {
  const char *text =
      "duration 1s\n"
      "network lan 10.0.0.0/24\n"
      "host a[1..4]\n"
      "  link lan auto\n"
      "  run udp-echo-client 10.0.0.99 7 hi 1 10\n"
      "host b\n"
      "  link lan 10.0.0.99\n"
      "  run name=echo[k=1..2] udp-echo-server ${6+k}\n"
      "expect exit a[1..4]/udp-echo-client code 0 at-least=0\n"
      "expect exit b/echo[1..2] code 0\n"
      "expect stdout a[1..4]/udp-echo-client contains \"1 of 1\" "
      "at-least=75%\n"
      "expect stdout a[k=1..4]/udp-echo-client contains \"1 of 1\"\n";
  TestRun *r = test_run("g.nlab", text);
  assert_int_equal(nl_run_n_expects(r->run), 4);
  gboolean passed;
  const char *why;
  NlTime when;
  /* at-least=0 holds whatever happens. */
  nl_run_expect_result(r->run, 0, &passed, &why, &when);
  assert_true(passed);
  /* The two servers never exit: the group fails, naming them. */
  nl_run_expect_result(r->run, 1, &passed, &why, &when);
  assert_false(passed);
  assert_non_null(strstr(why, "0 of 2 held (at least 2 wanted)"));
  assert_non_null(strstr(why, "b/echo1, b/echo2"));
  /* Every client got its echo (the servers ran, one on port 7). */
  nl_run_expect_result(r->run, 2, &passed, &why, &when);
  assert_true(passed);
  nl_run_expect_result(r->run, 3, &passed, &why, &when);
  assert_true(passed);
  assert_int_equal(r->failed, 1);
  test_run_free(r);
}

/* Groups and single lines in turn: each expectation is judged on its own
 * copies' records (the index keeps a group's copies side by side, after
 * those of the lines before it). */
static void test_groups_and_single_lines_in_turn(void **state) {
  const char *text =
      "duration 1s\n"
      "network lan 10.0.0.0/24\n"
      "host a[1..3]\n"
      "  link lan auto\n"
      "  run udp-echo-client 10.0.0.99 7 hi 1 10\n"
      "host b\n"
      "  link lan 10.0.0.99\n"
      "  run name=echo[k=1..2] udp-echo-server ${6+k}\n"
      "expect exit b/echo1 code 0\n"
      "expect stdout a[1..3]/udp-echo-client contains \"1 of 1\"\n"
      "expect exit a2/udp-echo-client code 0\n"
      "expect exit b/echo[1..2] code 0 at-least=1\n"
      "expect stdout a3/udp-echo-client contains \"1 of 1\"\n";
  TestRun *r = test_run("g.nlab", text);
  assert_int_equal(nl_run_n_expects(r->run), 5);
  const gboolean want[] = {FALSE, TRUE, TRUE, FALSE, TRUE};
  for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
    gboolean passed;
    const char *why;
    NlTime when;
    nl_run_expect_result(r->run, i, &passed, &why, &when);
    assert_int_equal(passed, want[i]);
    if (i == 3)
      assert_non_null(strstr(why, "0 of 2 held (at least 1 wanted)"));
  }
  assert_int_equal(r->failed, 2);
  test_run_free(r);
}

static void test_group_percentage_rounds_up(void **state) {
  /* 3 of 4 clients reach a server; 75% of 4 is 3 (held), 76% is 4. */
  const char *tmpl =
      "duration 1s\n"
      "network lan 10.0.0.0/24\n"
      "host a[1..4]\n"
      "  link lan auto\n"
      "  run udp-echo-client 10.0.0.99 ${7+i/4} hi 1 10\n"
      "host b\n"
      "  link lan 10.0.0.99\n"
      "  run udp-echo-server 7\n"
      "expect stdout a[1..4]/udp-echo-client contains \"1 of 1\" "
      "at-least=";
  char *t75 = g_strconcat(tmpl, "75%\n", NULL);
  char *t76 = g_strconcat(tmpl, "76%\n", NULL);
  TestRun *a = test_run("g.nlab", t75), *b = test_run("g.nlab", t76);
  assert_int_equal(a->failed, 0);
  assert_int_equal(b->failed, 1);
  test_run_free(a);
  test_run_free(b);
  g_free(t75);
  g_free(t76);
}

/* Pools hand out addresses in order, skipping those already given. */
static void test_pool_hands_out_addresses_in_order(void **state) {
  const char *text =
      "duration 1s\n"
      "network lan 10.1.0.0/24 pool=10.1.0.10-10.1.0.13 latency=2ms\n"
      "host gw\n"
      "  link lan 10.1.0.11\n"
      "host c[1..3]\n"
      "  link lan auto\n"
      "  run udp-echo-server 7\n"
      "expect exit c[1..3]/udp-echo-server code 0 at-least=0\n";
  TestRun *r = test_run("p.nlab", text);
  assert_non_null(strstr(r->text, "c1 topology [lan] ifname=eth0 "
                                  "addr=10.1.0.10/24"));
  assert_non_null(strstr(r->text, "c2 topology [lan] ifname=eth0 "
                                  "addr=10.1.0.12/24"));
  assert_non_null(strstr(r->text, "c3 topology [lan] ifname=eth0 "
                                  "addr=10.1.0.13/24"));
  test_run_free(r);
}

/* A copy's ${EXPR}s, read once for all copies, give what reading each
 * copy's line gives: C's truncating / and %, unary minus, precedence,
 * another constant beside the group variable. */
static void test_group_expressions_per_copy(void **state) {
  const char *text =
      "duration 1s\n"
      "set n = 3\n"
      "network lan 10.1.0.0/16 latency=1ms\n"
      "host c[1..12]\n"
      "  link lan 10.1.${(i-1)/5+1}.${-(-i)%7*n+(i-1)/3-1+10}\n";
  TestRun *r = test_run("x.nlab", text);
  assert_non_null(strstr(r->text, "c1 topology [lan] ifname=eth0 "
                                  "addr=10.1.1.12/16"));
  assert_non_null(strstr(r->text, "c7 topology [lan] ifname=eth0 "
                                  "addr=10.1.2.11/16"));
  assert_non_null(strstr(r->text, "c12 topology [lan] ifname=eth0 "
                                  "addr=10.1.3.27/16"));
  test_run_free(r);
}

static char *load_error(const char *text) {
  GError *err = NULL;
  NlScenario *s = nl_scenario_load_string("e.nlab", text, -1, NULL, &err);
  assert_null(s);
  char *m = g_strdup(err->message);
  g_error_free(err);
  return m;
}

/* Mistakes in a copy name the line and the copy. */
static void test_group_errors_name_the_copy_and_the_line(void **state) {
  static const struct {
    const char *text, *want;
  } cases[] = {
      {"network lan 10.1.0.0/24\nhost c[1..300]\n  link lan 10.1.0.${i}\n",
       "e.nlab:3:12: expected an IPv4 address like 10.0.0.5, got "
       "\"10.1.0.256\" (from $i) (in copy i=256 of c[1..300])"},
      {"network lan 10.1.0.0/24 pool=10.1.0.10-10.1.0.11\nhost "
       "c[1..3]\n  link lan auto\n",
       "e.nlab:3:12: network lan's pool of addresses is used up: expected a "
       "larger subnet or pool= (in copy i=3 of c[1..3])"},
      {"network lan 10.1.0.0/24\nhost c[1..${2/0}]\n  link lan 10.1.0.5\n",
       "e.nlab:2:14: division by zero in the expression"},
      {"set i = 4\nnetwork lan 10.1.0.0/24\nhost c[1..3]\n  link lan "
       "10.1.0.${i}\n",
       "e.nlab:3:7: the group variable $i is already set at e.nlab:1:5; "
       "expected another name (NAME[k=1..3])"},
      {"network lan 10.1.0.0/24\nhost c[3..1]\n  link lan 10.1.0.5\n",
       "e.nlab:2:7: a group of 3..1: expected a first number not above the "
       "last, and at most 100000 copies"},
      {"set w = wide\nnetwork lan 10.1.0.0/24\nhost a\n  link lan "
       "10.1.0.${w+1}\n",
       "e.nlab:4:21: $w is \"wide\": expected an integer in an expression"},
      {"network lan 10.1.0.0/24\nhost a[1..2]\n  link lan auto\nexpect exit "
       "a[1..2]/x code 0 at-least=3\n",
       "e.nlab:4:30: expected at-least=K with K from 0 to 2 (the copies of "
       "a[1..2]), or a percentage like 95%"},
      {"network lan 10.1.0.0/24 pool=10.2.0.1-10.2.0.9\n",
       "e.nlab:1:30: expected a pool inside one of the network's subnets, "
       "got \"10.2.0.1-10.2.0.9\""},
      /* A copy's expressions are read once for all copies
       * (nl__scn_eval_copy); a mistake in one copy is still reported
       * where it is, in that copy. */
      {"network lan 10.1.0.0/24\nhost c[1..3]\n  link lan "
       "10.1.0.${100/(2-i)}\n",
       "e.nlab:3:24: division by zero in the expression (in copy i=2 of "
       "c[1..3])"},
      {"network lan 10.1.0.0/24\nhost c[1..2]\n  link lan "
       "10.1.0.${i+99999999999999999999}\n",
       "e.nlab:3:23: this number is too large for an expression (in copy "
       "i=1 of c[1..2])"},
      /* Mistakes in the order a reader meets them: a division by zero
       * before an unset constant after it, and the other way round. */
      {"network lan 10.1.0.0/24\nhost c[1..2]\n  link lan 10.1.0.${4/0*x}\n",
       "e.nlab:3:22: division by zero in the expression (in copy i=1 of "
       "c[1..2])"},
      {"network lan 10.1.0.0/24\nhost c[1..2]\n  link lan 10.1.0.${x+4/0}\n",
       "e.nlab:3:21: $x is not set: expected a constant or a group variable "
       "in the expression (in copy i=1 of c[1..2])"},
      /* The one division of 64-bit integers that overflows (the processor
       * traps on it): a value, then the word's own mistake. */
      {"network lan 10.1.0.0/24\nhost c[1..2]\n  link lan "
       "10.1.0.${(-9223372036854775807-1)/-1}\n",
       "e.nlab:3:12: expected an IPv4 address like 10.0.0.5, got "
       "\"10.1.0.-9223372036854775808\" (from "
       "${(-9223372036854775807-1)/-1}) (in copy i=1 of c[1..2])"},
      /* A line's words are found once (nl__scn_lex_words): the first
       * mistake read left to right still wins, a substitution's before a
       * later unterminated string. */
      {"network lan 10.1.0.0/24\nhost c[1..2]\n  link $nope 10.1.0.5 "
       "\"x\n",
       "e.nlab:3:8: $nope is not set: expected a `set nope = VALUE` line "
       "before this one (in copy i=1 of c[1..2])"},
      {"set n = 3\nnetwork lan 10.1.0.0/24\nhost c[1..2]\n  link lan "
       "10.1.0.${i*n+1} \"x\n",
       "e.nlab:4:28: unterminated string: expected a closing \" before the "
       "end of the line (in copy i=1 of c[1..2])"},
      {"network lan 10.1.0.0/24\nhost c[1..2]\n  link lan 10.1.0.${i}\"x\n",
       "e.nlab:3:23: a quote may only start a word or a value after KEY=; "
       "expected a space before it (in copy i=1 of c[1..2])"},
  };
  for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
    char *m = load_error(cases[k].text);
    if (strcmp(m, cases[k].want) != 0)
      print_error("case %zu:\n  got  %s\n  want %s\n", k, m, cases[k].want);
    assert_string_equal(m, cases[k].want);
    g_free(m);
  }
}

/* The scale benchmark's 1,000 clients on 100 NATs fit in under 30 lines,
 * and load as 1,000 + 100 + 1 nodes. */
static void test_thousand_clients_fit_in_thirty_lines(void **state) {
  char *path = g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "bench",
                                "scenarios", "udp-echo-1000-nat.nlab", NULL);
  char *text = NULL;
  assert_true(g_file_get_contents(path, &text, NULL, NULL));
  guint lines = 0;
  for (const char *c = text; *c; c++)
    lines += *c == '\n';
  assert_true(lines < 30);
  GError *err = NULL;
  NlScenario *s = nl_scenario_load(path, NULL, &err);
  assert_non_null(s);
  assert_int_equal(s->nodes->len, 1 + 100 + 1000);
  assert_int_equal(s->networks->len, 1 + 100);
  nl_scenario_free(s);
  /* A small copy of it runs and meets its expectation. */
  const char *const sets[] = {"lans=2", NULL};
  s = nl_scenario_load(path, sets, &err);
  assert_non_null(s);
  NlRun *run = nl_run_new(s, NULL, &err);
  assert_non_null(run);
  assert_int_equal(nl_run_execute(run), 0);
  nl_run_free(run);
  nl_scenario_free(s);
  g_free(text);
  g_free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_group_equals_its_hand_written_expansion),
      cmocka_unit_test(test_group_expectation_counts_its_copies),
      cmocka_unit_test(test_groups_and_single_lines_in_turn),
      cmocka_unit_test(test_group_percentage_rounds_up),
      cmocka_unit_test(test_pool_hands_out_addresses_in_order),
      cmocka_unit_test(test_group_expressions_per_copy),
      cmocka_unit_test(test_group_errors_name_the_copy_and_the_line),
      cmocka_unit_test(test_thousand_clients_fit_in_thirty_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
