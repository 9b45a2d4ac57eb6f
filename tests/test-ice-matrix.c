/* natlab matrix: the NAT-pair outcomes of ICE, asserted from the command's
 * own simulation runs (natlab matrix runs one per cell): without TURN only
 * port-restricted-cone x symmetric and symmetric x symmetric (either
 * order) fail; with TURN exactly those are relayed and the rest direct;
 * the same on every run and under every seed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static const char *const types[] = {"none", "full-cone", "restricted-cone",
                                    "port-restricted-cone", "symmetric"};

/* Runs natlab with @args (NULL-terminated); returns its exit code. */
static int natlab(const char *const *args, char **out, char **err) {
  char *exe = g_build_filename(g_getenv("NATLAB_BUILD_ROOT"), "tools",
                               "natlab", NULL);
  GPtrArray *argv = g_ptr_array_new();
  g_ptr_array_add(argv, exe);
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add(argv, (gpointer)*a);
  g_ptr_array_add(argv, NULL);
  int status = -1;
  GError *e = NULL;
  if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL,
                    NULL, out, err, &status, &e))
    fail_msg("%s", e->message);
  g_ptr_array_free(argv, TRUE);
  g_free(exe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *matrix_csv(gboolean turn, const char *seed) {
  const char *args[8];
  int n = 0;
  args[n++] = "matrix";
  args[n++] = "--format";
  args[n++] = "csv";
  args[n++] = "--jobs";
  args[n++] = "2";
  if (turn)
    args[n++] = "--turn";
  if (seed) {
    args[n++] = g_strdup_printf("--seed=%s", seed);
  }
  args[n] = NULL;
  char *out = NULL, *err = NULL;
  int rc = natlab(args, &out, &err);
  if (rc != 0)
    fail_msg("natlab matrix exited %d: %s", rc, err);
  assert_string_equal(err, "");
  g_free(err);
  if (seed)
    g_free((char *)args[n - 1]);
  return out;
}

static gboolean hard_pair(const char *a, const char *b) {
  gboolean pa = strcmp(a, "port-restricted-cone") == 0,
           sa = strcmp(a, "symmetric") == 0;
  gboolean pb = strcmp(b, "port-restricted-cone") == 0,
           sb = strcmp(b, "symmetric") == 0;
  return (pa && sb) || (sa && pb) || (sa && sb);
}

/* Checks every row of a matrix CSV against the RFC 4787 expectation. */
static void check_matrix(const char *csv, gboolean turn) {
  char **lines = g_strsplit(csv, "\n", -1);
  assert_string_equal(lines[0],
                      "a_nat,b_nat,outcome,time_to_connect_s,path_bytes");
  guint rows = 0;
  for (guint i = 0; i < G_N_ELEMENTS(types); i++)
    for (guint j = 0; j < G_N_ELEMENTS(types); j++) {
      const char *line = lines[1 + i * G_N_ELEMENTS(types) + j];
      assert_non_null(line);
      char **f = g_strsplit(line, ",", -1);
      assert_int_equal(g_strv_length(f), 5);
      assert_string_equal(f[0], types[i]); /* cells in row order */
      assert_string_equal(f[1], types[j]);
      gboolean hard = hard_pair(types[i], types[j]);
      const char *want = !hard ? "direct" : turn ? "relayed" : "failed";
      if (strcmp(f[2], want) != 0)
        fail_msg("%s x %s: %s, expected %s", types[i], types[j], f[2], want);
      guint64 bytes = g_ascii_strtoull(f[4], NULL, 10);
      if (strcmp(want, "failed") == 0) {
        assert_string_equal(f[3], "");
        assert_true(bytes == 0);
      } else {
        double t = g_ascii_strtod(f[3], NULL);
        assert_true(t > 0.1 && t < 10.0);
        /* 6 datagrams of 100 bytes: 128 bytes of IP each, once per leg. */
        if (strcmp(want, "direct") == 0)
          assert_true(bytes == 6 * 128);
        else
          assert_true(bytes >= 2 * 6 * 128 && bytes <= 2 * 6 * 128 + 6 * 40);
        /* Relaying connects later: the relay waits for better pairs. */
        if (strcmp(want, "relayed") == 0)
          assert_true(t > 2.0);
      }
      g_strfreev(f);
      rows++;
    }
  assert_int_equal(rows, 25);
  assert_string_equal(lines[26], "");
  assert_null(lines[27]);
  g_strfreev(lines);
}

/* The outcome column only, for comparing seeds. */
static char *outcomes(const char *csv) {
  GString *s = g_string_new(NULL);
  char **lines = g_strsplit(csv, "\n", -1);
  for (char **l = lines + 1; *l && **l; l++) {
    char **f = g_strsplit(*l, ",", -1);
    g_string_append_printf(s, "%s %s %s\n", f[0], f[1], f[2]);
    g_strfreev(f);
  }
  g_strfreev(lines);
  return g_string_free(s, FALSE);
}

static void test_matrix_without_turn(void **state) {
  char *a = matrix_csv(FALSE, NULL), *b = matrix_csv(FALSE, NULL);
  check_matrix(a, FALSE);
  assert_string_equal(a, b); /* identical, times and bytes too */
  g_free(a);
  g_free(b);
}

static void test_matrix_with_turn(void **state) {
  char *a = matrix_csv(TRUE, NULL), *b = matrix_csv(TRUE, NULL);
  check_matrix(a, TRUE);
  assert_string_equal(a, b);
  g_free(a);
  g_free(b);
}

static void test_matrix_stable_across_seeds(void **state) {
  char *base = matrix_csv(TRUE, "1"), *want = outcomes(base);
  const char *seeds[] = {"7", "4242", "18446744073709551615"};
  for (gsize i = 0; i < G_N_ELEMENTS(seeds); i++) {
    char *csv = matrix_csv(TRUE, seeds[i]);
    check_matrix(csv, TRUE);
    char *got = outcomes(csv);
    assert_string_equal(got, want);
    g_free(got);
    g_free(csv);
  }
  g_free(want);
  g_free(base);
}

static void test_matrix_custom_nat_text_svg_and_file(void **state) {
  char *dir = g_dir_make_tmp("natlab-matrix-XXXXXX", NULL);
  char *svg = g_build_filename(dir, "m.svg", NULL);
  /* A symmetric NAT that allocates at random: like "symmetric", hopeless
   * against port-restricted-cone and symmetric peers. */
  const char *args[] = {"matrix", "--nat",
                        "cgn=preset=symmetric,allocation=random",
                        "--format", "svg", "-o", svg, NULL};
  char *out = NULL, *err = NULL;
  assert_int_equal(natlab(args, &out, &err), 0);
  assert_string_equal(out, "");
  char *text = NULL;
  assert_true(g_file_get_contents(svg, &text, NULL, NULL));
  assert_true(g_str_has_prefix(text, "<?xml"));
  assert_non_null(strstr(text, "</svg>\n"));
  /* 36 cells: grey for the 8 failures (port-restricted-cone, symmetric
   * and cgn against symmetric and cgn, and those two against
   * port-restricted-cone), green for the rest (no TURN). */
  guint cells = 0, grey = 0, green = 0;
  for (const char *p = text; (p = strstr(p, "<rect x=")); p++) {
    const char *h = strstr(p, "height=\"56\""), *end = strstr(p, "/>");
    if (h != NULL && h < end) {
      cells++;
      grey += g_str_has_prefix(strstr(p, "fill="), "fill=\"#9e9e9e\"");
      green += g_str_has_prefix(strstr(p, "fill="), "fill=\"#2e8b3e\"");
    }
  }
  assert_int_equal(cells, 36);
  assert_int_equal(grey, 8);
  assert_int_equal(green, 28);
  assert_non_null(strstr(text, ">cgn</text>"));
  g_free(text);
  g_free(out);
  g_free(err);
  /* The text table, to stdout. */
  const char *targs[] = {"matrix", "--jobs", "1", NULL};
  assert_int_equal(natlab(targs, &out, &err), 0);
  assert_non_null(strstr(out, "no TURN relay"));
  assert_non_null(strstr(out, "\nsymmetric  "));
  assert_null(strstr(out, " \n")); /* no trailing blanks */
  g_free(out);
  g_free(err);
  g_unlink(svg);
  g_rmdir(dir);
  g_free(svg);
  g_free(dir);
}

static void test_matrix_refuses_bad_arguments(void **state) {
  struct {
    const char *args[6];
    const char *says;
  } bad[] = {
      {{"matrix", "--format", "xml", NULL}, "--format xml"},
      {{"matrix", "--jobs", "0", NULL}, "--jobs"},
      {{"matrix", "--nat", "cgn", NULL}, "expected NAME=FIELD=VALUE"},
      {{"matrix", "--nat", "x=mapping=sideways", NULL}, "--nat x=mapping"},
      {{"matrix", "--nat", "x=preset=cone", NULL}, "unknown preset \"cone\""},
      {{"matrix", "--nat", "none=hairpinning=on", NULL}, "already a column"},
      {{"matrix", "--nat", "a=hairpinning=on", "--nat",
        "a=hairpinning=off", NULL},
       "given twice"},
      {{"matrix", "extra", NULL}, "unexpected argument"},
      {{"matrix", "-o", "/no/such/dir/m.csv", NULL}, "/no/such/dir"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    char *out = NULL, *err = NULL;
    assert_int_equal(natlab(bad[i].args, &out, &err), 2);
    if (strstr(err, bad[i].says) == NULL)
      fail_msg("expected \"%s\" in: %s", bad[i].says, err);
    assert_string_equal(out, "");
    g_free(out);
    g_free(err);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matrix_without_turn),
      cmocka_unit_test(test_matrix_with_turn),
      cmocka_unit_test(test_matrix_stable_across_seeds),
      cmocka_unit_test(test_matrix_custom_nat_text_svg_and_file),
      cmocka_unit_test(test_matrix_refuses_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
