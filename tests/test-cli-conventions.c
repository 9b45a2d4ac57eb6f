/* The natlab command line keeps the conventions of git, meson and cargo:
 * help on stdout with exit 0, per-command help, exit codes in the help,
 * unknown commands and options named, numbers validated, outputs validated
 * before the run. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

#include "natmodels/nat-behaviour.h"

typedef struct {
  int rc;
  char *out, *err;
} Result;

/* Runs the build tree's natlab with the NULL-terminated arguments. */
static Result natlab(const char *first, ...) {
  GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(argv, g_build_filename(g_getenv("NATLAB_BUILD_ROOT"), "tools",
                                         "natlab", NULL));
  va_list ap;
  va_start(ap, first);
  for (const char *a = first; a; a = va_arg(ap, const char *))
    g_ptr_array_add(argv, g_strdup(a));
  va_end(ap);
  g_ptr_array_add(argv, NULL);
  Result r = {-1, NULL, NULL};
  int status;
  GError *e = NULL;
  if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL,
                    NULL, &r.out, &r.err, &status, &e))
    g_error("%s", e->message);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  g_ptr_array_free(argv, TRUE);
  return r;
}

static void result_clear(Result *r) {
  g_free(r->out);
  g_free(r->err);
}

/* A small scenario whose client prints a line: proof that a run happened. */
static char *write_scenario(const char *dir) {
  char *path = g_build_filename(dir, "s.nlab", NULL);
  g_assert(g_file_set_contents(
      path,
      "seed 1\nduration 2s\nnetwork lan 10.0.0.0/24 latency=1ms\n"
      "host a\n  link lan 10.0.0.1\n  run udp-echo-server 7\n"
      "host b\n  link lan 10.0.0.2\n"
      "  run at=100ms udp-echo-client 10.0.0.1 7 hi 1 100\n"
      "expect exit b/udp-echo-client code 0\n",
      -1, NULL));
  return path;
}

static void test_cli_help_on_stdout_exit_0(void **state) {
  const char *forms[][3] = {
      {"--help", NULL, NULL}, {"-h", NULL, NULL}, {"help", NULL, NULL}};
  for (gsize i = 0; i < G_N_ELEMENTS(forms); i++) {
    Result r = natlab(forms[i][0], NULL);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.err, "");
    /* Every command is listed, with the exit codes. */
    assert_non_null(strstr(r.out, "  run SCENARIO"));
    assert_non_null(strstr(r.out, "  check SCENARIO"));
    assert_non_null(strstr(r.out, "  presets"));
    assert_non_null(strstr(r.out, "Exit status:"));
    assert_non_null(strstr(r.out, "3  --check-determinism"));
    result_clear(&r);
  }
  /* No command at all is a usage error: the same text, on stderr. */
  Result r = natlab(NULL, NULL);
  assert_int_equal(r.rc, 2);
  assert_string_equal(r.out, "");
  assert_non_null(strstr(r.err, "Commands:"));
  result_clear(&r);
}

static void test_cli_command_help_lists_only_its_options(void **state) {
  Result run = natlab("run", "--help", NULL);
  assert_int_equal(run.rc, 0);
  assert_string_equal(run.err, "");
  assert_non_null(strstr(run.out, "natlab run [OPTION"));
  assert_non_null(strstr(run.out, "--seed=N"));
  assert_non_null(strstr(run.out, "--timeline=FILE"));
  assert_non_null(strstr(run.out, "1  an expectation failed"));
  Result check = natlab("check", "--help", NULL);
  assert_int_equal(check.rc, 0);
  assert_non_null(strstr(check.out, "natlab check [OPTION"));
  assert_non_null(strstr(check.out, "--set=NAME=VALUE"));
  assert_null(strstr(check.out, "--seed"));
  assert_null(strstr(check.out, "--timeline"));
  assert_null(strstr(check.out, "--watchdog"));
  assert_null(strstr(check.out, "determinism"));
  /* `natlab help run` is `natlab run --help`. */
  Result help = natlab("help", "run", NULL);
  assert_int_equal(help.rc, 0);
  assert_string_equal(help.out, run.out);
  result_clear(&run);
  result_clear(&check);
  result_clear(&help);
}

static void test_cli_unknown_command_is_named(void **state) {
  Result r = natlab("bogus", NULL);
  assert_int_equal(r.rc, 2);
  assert_string_equal(r.out, "");
  assert_non_null(strstr(r.err, "'bogus' is not a natlab command"));
  assert_non_null(strstr(r.err, "natlab --help"));
  result_clear(&r);
  r = natlab("chek", "x.nlab", NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "did you mean 'check'?"));
  result_clear(&r);
  r = natlab("--bogus", NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "unknown option --bogus"));
  result_clear(&r);
  r = natlab("help", "bogus", NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "'bogus' is not a natlab command"));
  result_clear(&r);
}

static void test_cli_unknown_option_is_named(void **state) {
  Result r = natlab("run", "--bogus", "x.nlab", NULL);
  assert_int_equal(r.rc, 2);
  assert_string_equal(r.out, "");
  assert_non_null(strstr(r.err, "natlab run: unknown option --bogus"));
  assert_non_null(strstr(r.err, "natlab run --help"));
  result_clear(&r);
  /* A run-only option is unknown to check. */
  r = natlab("check", "--seed", "1", "x.nlab", NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "natlab check: unknown option --seed"));
  result_clear(&r);
  r = natlab("run", NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "no scenario given"));
  result_clear(&r);
}

static void test_cli_numbers_are_validated(void **state) {
  const char *bad_seeds[] = {
      "-1", "18446744073709551616", "1.5", "0x10", " 1", "", "12abc"};
  for (gsize i = 0; i < G_N_ELEMENTS(bad_seeds); i++) {
    char *opt = g_strdup_printf("--seed=%s", bad_seeds[i]);
    Result r = natlab("run", opt, "x.nlab", NULL);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "--seed wants a whole number from 0 to "
                                  "18446744073709551615"));
    result_clear(&r);
    g_free(opt);
  }
  const char *bad_watchdogs[] = {"0", "-5", "3600001", "ten"};
  for (gsize i = 0; i < G_N_ELEMENTS(bad_watchdogs); i++) {
    char *opt = g_strdup_printf("--watchdog=%s", bad_watchdogs[i]);
    Result r = natlab("run", opt, "x.nlab", NULL);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "--watchdog wants a whole number from 1"));
    result_clear(&r);
    g_free(opt);
  }
}

static void test_cli_seed_limits_accepted(void **state) {
  char *dir = g_dir_make_tmp("natlab-cli-XXXXXX", NULL);
  char *scn = write_scenario(dir);
  Result r = natlab("run", "--quiet", "--seed=18446744073709551615",
                    "--watchdog=3600000", scn, NULL);
  assert_int_equal(r.rc, 0);
  assert_non_null(strstr(r.out, "1 of 1 expectations held"));
  result_clear(&r);
  g_remove(scn);
  g_rmdir(dir);
  g_free(scn);
  g_free(dir);
}

static void test_cli_outputs_checked_before_the_run(void **state) {
  char *dir = g_dir_make_tmp("natlab-cli-XXXXXX", NULL);
  char *scn = write_scenario(dir);
  char *jpg = g_build_filename(dir, "x.jpg", NULL);
  char *nodir = g_build_filename(dir, "no", "such", "t.svg", NULL);
  char *trace = g_build_filename(dir, "t.txt", NULL);
  /* Nothing ran: no program output, no expectation report. */
  Result r = natlab("run", scn, "--timeline", jpg, NULL);
  assert_int_equal(r.rc, 2);
  assert_string_equal(r.out, "");
  assert_non_null(strstr(r.err, "x.jpg: the extension picks the format"));
  assert_false(g_file_test(jpg, G_FILE_TEST_EXISTS));
  result_clear(&r);
  r = natlab("run", scn, "--timeline", nodir, NULL);
  assert_int_equal(r.rc, 2);
  assert_string_equal(r.out, "");
  assert_non_null(strstr(r.err, "does not exist"));
  result_clear(&r);
  r = natlab("run", scn, "--trace", dir, NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "is a folder"));
  result_clear(&r);
  r = natlab("run", scn, "--trace", trace, "--jsonl", trace, NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "--trace and --jsonl both write"));
  result_clear(&r);
  r = natlab("run", scn, "--trace", "-", "--pcap", "-", NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "--trace and --pcap both write to stdout"));
  result_clear(&r);
  r = natlab("run", scn, "--timeline", "-", NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "--timeline cannot write to stdout"));
  result_clear(&r);
  g_remove(scn);
  g_rmdir(dir);
  g_free(scn);
  g_free(jpg);
  g_free(nodir);
  g_free(trace);
  g_free(dir);
}

static void test_cli_stdout_output_moves_report_to_stderr(void **state) {
  char *dir = g_dir_make_tmp("natlab-cli-XXXXXX", NULL);
  char *scn = write_scenario(dir);
  Result r = natlab("run", scn, "--trace", "-", NULL);
  assert_int_equal(r.rc, 0);
  /* stdout is the trace alone; the person's report is on stderr. */
  assert_non_null(strstr(r.out, "udp-echo-client"));
  assert_null(strstr(r.out, "expectations held"));
  assert_non_null(strstr(r.err, "1 of 1 expectations held"));
  result_clear(&r);
  r = natlab("run", scn, NULL);
  assert_int_equal(r.rc, 0);
  assert_non_null(strstr(r.out, "1 of 1 expectations held"));
  result_clear(&r);
  g_remove(scn);
  g_rmdir(dir);
  g_free(scn);
  g_free(dir);
}

static void test_cli_presets_named_text_and_json(void **state) {
  guint n = 0;
  while (nl_nat_behaviour_preset(n) != NULL)
    n++;
  assert_true(n >= 2);
  Result r = natlab("presets", NULL);
  assert_int_equal(r.rc, 0);
  char **lines = g_strsplit(r.out, "\n", -1);
  assert_int_equal(g_strv_length(lines), n + 1); /* and the last "" */
  for (guint i = 0; i < n; i++) {
    const NlNatBehaviour *b = nl_nat_behaviour_preset(i);
    char *want = g_strdup_printf("%s mapping=", b->name);
    assert_true(g_str_has_prefix(lines[i], want));
    g_free(want);
  }
  g_strfreev(lines);
  result_clear(&r);

  r = natlab("presets", "--format=json", NULL);
  assert_int_equal(r.rc, 0);
  assert_true(g_str_has_prefix(r.out, "[\n  {\"name\": \""));
  assert_true(g_str_has_suffix(r.out, "}\n]\n"));
  for (guint i = 0; i < n; i++) {
    char *want = g_strdup_printf("{\"name\": \"%s\", \"mapping\": \"",
                                 nl_nat_behaviour_preset(i)->name);
    assert_non_null(strstr(r.out, want));
    g_free(want);
  }
  result_clear(&r);

  r = natlab("presets", "symmetric", NULL);
  assert_int_equal(r.rc, 0);
  assert_true(g_str_has_prefix(r.out, "symmetric mapping=address-and-port-"));
  /* One line: that preset only. */
  assert_ptr_equal(strchr(r.out, '\n'), r.out + strlen(r.out) - 1);
  result_clear(&r);

  r = natlab("presets", "symetric", NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "did you mean \"symmetric\"?"));
  result_clear(&r);
  r = natlab("presets", "--format=xml", NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "--format is text or json"));
  result_clear(&r);
}

/* natlab check reports what run would report before running: a program
 * that does not compile, a .so that is not one or has no main, an IPv6
 * link below IPv6's minimum MTU. */
static void test_cli_check_validates_the_world(void **state) {
  char *dir = g_dir_make_tmp("natlab-check-XXXXXX", NULL);
  const struct {
    const char *file, *content, *run, *want;
  } cases[] = {
      {"broken.c", "int main(void) { return undefined_x; }\n", "./broken.c",
       "broken.c:1:"},
      {"notelf.so", "not an object\n", "./notelf.so", "not an ELF file"},
      {"nomain.c", NULL, "./nomain.so", "defines no main()"},
  };
  char *nomain_c = g_build_filename(dir, "nomain.c", NULL);
  char *nomain_so = g_build_filename(dir, "nomain.so", NULL);
  g_assert(
      g_file_set_contents(nomain_c, "int f(void) { return 1; }\n", -1, NULL));
  char *cc = g_build_filename(g_getenv("NATLAB_BUILD_ROOT"), "tools",
                              "natlab-cc", NULL);
  const char *cc_argv[] = {cc, "-o", nomain_so, nomain_c, NULL};
  int status;
  g_assert(g_spawn_sync(NULL, (char **)cc_argv, NULL, G_SPAWN_DEFAULT, NULL,
                        NULL, NULL, NULL, &status, NULL));
  assert_int_equal(status, 0);
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    if (cases[i].content != NULL) {
      char *f = g_build_filename(dir, cases[i].file, NULL);
      g_assert(g_file_set_contents(f, cases[i].content, -1, NULL));
      g_free(f);
    }
    char *scn = g_build_filename(dir, "c.nlab", NULL);
    char *text = g_strdup_printf("duration 1s\nnetwork lan 10.0.0.0/24\n"
                                 "host a\n  link lan 10.0.0.1\n  run %s\n",
                                 cases[i].run);
    g_assert(g_file_set_contents(scn, text, -1, NULL));
    Result r = natlab("check", scn, NULL);
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.out, "");
    if (strstr(r.err, cases[i].want) == NULL)
      print_error("%s: %s\n", cases[i].run, r.err);
    assert_non_null(strstr(r.err, "c.nlab:5:7: "));
    assert_non_null(strstr(r.err, cases[i].want));
    result_clear(&r);
    /* run says the same. */
    r = natlab("run", scn, NULL);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, cases[i].want));
    result_clear(&r);
    g_remove(scn);
    g_free(scn);
    g_free(text);
  }
  char *v6 = g_build_filename(dir, "v6.nlab", NULL);
  g_assert(g_file_set_contents(v6,
                               "duration 1s\n"
                               "network lan 2001:db8::/64 mtu=1000\n"
                               "host a\n  link lan 2001:db8::1\n",
                               -1, NULL));
  Result r = natlab("check", v6, NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err, "v6.nlab:4:12: IPv6 needs a link MTU of at "
                                "least 1280 bytes"));
  result_clear(&r);
  /* A valid scenario is ok; several are checked in one call. */
  char *good = write_scenario(dir);
  r = natlab("check", good, v6, NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.out, "s.nlab: ok"));
  result_clear(&r);
  r = natlab("check", good, NULL);
  assert_int_equal(r.rc, 0);
  result_clear(&r);
  const char *names[] = {"broken.c",  "notelf.so", "nomain.c",
                         "nomain.so", "v6.nlab",   "s.nlab"};
  for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
    char *f = g_build_filename(dir, names[i], NULL);
    g_remove(f);
    g_free(f);
  }
  g_rmdir(dir);
  g_free(good);
  g_free(v6);
  g_free(cc);
  g_free(nomain_c);
  g_free(nomain_so);
  g_free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cli_help_on_stdout_exit_0),
      cmocka_unit_test(test_cli_command_help_lists_only_its_options),
      cmocka_unit_test(test_cli_unknown_command_is_named),
      cmocka_unit_test(test_cli_unknown_option_is_named),
      cmocka_unit_test(test_cli_numbers_are_validated),
      cmocka_unit_test(test_cli_seed_limits_accepted),
      cmocka_unit_test(test_cli_outputs_checked_before_the_run),
      cmocka_unit_test(test_cli_stdout_output_moves_report_to_stderr),
      cmocka_unit_test(test_cli_presets_named_text_and_json),
      cmocka_unit_test(test_cli_check_validates_the_world),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
