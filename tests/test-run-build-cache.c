/* User programs in scenarios: programs of several files (`run ./a.c ./b.c`
 * and `run ./dir/`) and the build cache, which rebuilds a program when a
 * header it includes changes (natlab-cc's -MD list) and only then. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "test-run-util.h"

static char *tmpdir;

static int setup(void **state) {
  tmpdir = g_dir_make_tmp("natlab-build-XXXXXX", NULL);
  return tmpdir == NULL;
}

static void rm_rf(const char *path) {
  GDir *d = g_dir_open(path, 0, NULL);
  const char *e;
  while (d != NULL && (e = g_dir_read_name(d)) != NULL) {
    char *p = g_build_filename(path, e, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_DIR))
      rm_rf(p);
    else
      g_remove(p);
    g_free(p);
  }
  if (d != NULL)
    g_dir_close(d);
  g_rmdir(path);
}

static int teardown(void **state) {
  rm_rf(tmpdir);
  g_free(tmpdir);
  return 0;
}

/* Writes @text to @name under the test's folder. */
static char *put(const char *name, const char *text) {
  char *path = g_build_filename(tmpdir, name, NULL);
  char *dir = g_path_get_dirname(path);
  g_mkdir_with_parents(dir, 0755);
  g_free(dir);
  assert_true(g_file_set_contents(path, text, -1, NULL));
  return path;
}

static const char main_c[] =
    "#include <stdio.h>\n"
    "#include \"msg.h\"\n"
    "const char *other(void);\n"
    "int main(int argc, char **argv) {\n"
    "  printf(\"%s %s argc=%d\", MSG, other(), argc);\n"
    "  for (int i = 1; i < argc; i++) printf(\" [%s]\", argv[i]);\n"
    "  printf(\"\\n\");\n"
    "  return 0;\n"
    "}\n";

/* The one line @who printed in a run of @scn. */
static char *run_line(const char *scn, const char *who) {
  TestRun *r = test_run(scn, NULL);
  GPtrArray *lines = test_stdout(r, who);
  assert_int_equal(lines->len, 1);
  char *line = g_strdup(lines->pdata[0]);
  /* Same scenario, same trace. */
  TestRun *again = test_run(scn, NULL);
  assert_string_equal(r->text, again->text);
  test_run_free(again);
  g_ptr_array_unref(lines);
  test_run_free(r);
  return line;
}

/* The SHA-256 of the module at @path. */
static char *module_sum(const char *path) {
  char *data = NULL;
  gsize len = 0;
  assert_true(g_file_get_contents(path, &data, &len, NULL));
  char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
                                          (const guchar *)data, len);
  g_free(data);
  return sum;
}

static void test_build_header_edit_rebuilds(void **state) {
  char *m = put("hdr/main.c", main_c);
  char *o = put("hdr/other.c", "const char *other(void) { return \"b\"; }\n");
  char *h = put("hdr/msg.h", "#define MSG \"old\"\n");
  char *scn = put("hdr/s.nlab", "duration 1s\nnetwork lan 10.0.0.0/24\n"
                                "host a\n  link lan 10.0.0.1\n"
                                "  run ./main.c ./other.c\n");
  char *line = run_line(scn, "a/main");
  assert_string_equal(line, "old b argc=1");
  g_free(line);

  /* Unchanged: the cached module is used as it is. */
  const char *srcs[] = {m, o, NULL};
  GError *err = NULL;
  char *mod = nl_run_build_sources(srcs, &err);
  assert_non_null(mod);
  /* Not rebuilt: the same file (a rebuild writes a new file and renames
   * it over the old one while the old one still exists, so the inode
   * would differ) with the same content. */
  GStatBuf before, after;
  assert_int_equal(g_stat(mod, &before), 0);
  char *sum = module_sum(mod);
  char *mod2 = nl_run_build_sources(srcs, &err);
  assert_string_equal(mod, mod2);
  assert_int_equal(g_stat(mod2, &after), 0);
  assert_int_equal(before.st_ino, after.st_ino);
  char *same = module_sum(mod2);
  assert_string_equal(sum, same);
  g_free(same);
  g_free(mod2);

  /* An included header changes, with the same size and within the same
   * second: the program is rebuilt and prints the new text. */
  assert_true(g_file_set_contents(h, "#define MSG \"new\"\n", -1, NULL));
  line = run_line(scn, "a/main");
  assert_string_equal(line, "new b argc=1");
  g_free(line);
  /* So does the second source. */
  assert_true(g_file_set_contents(
      o, "const char *other(void) { return \"c\"; }\n", -1, NULL));
  line = run_line(scn, "a/main");
  assert_string_equal(line, "new c argc=1");
  g_free(line);
  /* The module was built again: its content changed.  (Not its inode:
   * a file system may give the new module the inode the first one had,
   * freed by the rebuild in between.) */
  mod2 = nl_run_build_sources(srcs, &err);
  assert_string_equal(mod, mod2);
  char *sum2 = module_sum(mod2);
  assert_string_not_equal(sum, sum2);
  g_free(sum2);
  g_free(sum);
  g_free(mod2);
  g_free(mod);
  g_free(m);
  g_free(o);
  g_free(h);
  g_free(scn);
}

/* The manifest beside module @mod (NAME-KEY.so -> NAME-KEY.deps). */
static char *manifest_of(const char *mod) {
  g_assert(g_str_has_suffix(mod, ".so"));
  return g_strdup_printf("%.*s.deps", (int)strlen(mod) - 3, mod);
}

/* Replaces the sum recorded for @path in manifest @deps with zeros. */
static void forge_sum(const char *deps, const char *path) {
  char *text = NULL;
  assert_true(g_file_get_contents(deps, &text, NULL, NULL));
  char **lines = g_strsplit(text, "\n", -1);
  gboolean found = FALSE;
  for (char **l = lines; *l; l++)
    if (g_str_has_suffix(*l, path) && strchr(*l, ' ') == *l + 64) {
      memset(*l, '0', 64);
      found = TRUE;
    }
  assert_true(found);
  char *again = g_strjoinv("\n", lines);
  assert_true(g_file_set_contents(deps, again, -1, NULL));
  g_free(again);
  g_strfreev(lines);
  g_free(text);
}

/* Sets the modification time of @path to @sec seconds from now. */
static void set_mtime(const char *path, gint64 sec) {
  struct timespec t[2];
  clock_gettime(CLOCK_REALTIME, &t[0]);
  t[0].tv_sec += sec;
  t[1] = t[0];
  assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* The build cache believes a file's recorded stat only when it is older
 * than the manifest by a second (else it reads the file), and a file
 * rewritten in place with its size and modification time put back is
 * still seen (its change time moved). */
static void test_build_stat_shortcut(void **state) {
  char *m = put("st/main.c", main_c);
  char *o = put("st/other.c", "const char *other(void) { return \"b\"; }\n");
  char *h = put("st/msg.h", "#define MSG \"one\"\n");
  const char *srcs[] = {m, o, NULL};
  GError *err = NULL;
  char *mod = nl_run_build_sources(srcs, &err);
  assert_non_null(mod);
  char *deps = manifest_of(mod);
  char *text = NULL;
  assert_true(g_file_get_contents(deps, &text, NULL, NULL));
  assert_true(g_str_has_prefix(text, "natlab-deps 2\n"));
  g_free(text);
  GStatBuf before, after;
  assert_int_equal(g_stat(mod, &before), 0);

  /* A wrong sum for msg.h, in a manifest written just now: the header
   * changed within the second its stat was taken, for all natlab knows,
   * so it is read, and the program is rebuilt. */
  forge_sum(deps, h);
  char *mod2 = nl_run_build_sources(srcs, &err);
  assert_string_equal(mod, mod2);
  g_free(mod2);
  char *sum1 = module_sum(mod);

  /* The same wrong sum in a manifest ten seconds newer than the header's
   * change: the stat is believed and the file not read, so the forged
   * sum goes unnoticed and the module is not rebuilt. */
  forge_sum(deps, h);
  set_mtime(deps, 10);
  assert_int_equal(g_stat(mod, &before), 0);
  mod2 = nl_run_build_sources(srcs, &err);
  assert_string_equal(mod, mod2);
  g_free(mod2);
  assert_int_equal(g_stat(mod, &after), 0);
  assert_int_equal(before.st_ino, after.st_ino);

  /* Rewritten in place, the same size, its modification time put back (as
   * a checkout that resets times does): its change time moved, so it is
   * read, and the program is rebuilt with the new text. */
  GStatBuf hs;
  assert_int_equal(g_stat(h, &hs), 0);
  FILE *f = fopen(h, "r+");
  assert_non_null(f);
  assert_int_equal(fputs("#define MSG \"two\"\n", f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
  struct timespec t[2] = {hs.st_atim, hs.st_mtim};
  assert_int_equal(utimensat(AT_FDCWD, h, t, 0), 0);
  set_mtime(deps, 10);
  mod2 = nl_run_build_sources(srcs, &err);
  assert_string_equal(mod, mod2);
  char *sum2 = module_sum(mod2);
  assert_string_not_equal(sum1, sum2);
  g_free(sum1);
  g_free(sum2);
  g_free(mod2);
  g_free(deps);
  g_free(mod);
  g_free(m);
  g_free(o);
  g_free(h);
}

static void test_build_several_files_and_arguments(void **state) {
  char *m = put("many/main.c", main_c);
  char *o =
      put("many/lib/other.c", "const char *other(void) { return \"lib\"; }\n");
  char *h = put("many/msg.h", "#define MSG \"m\"\n");
  /* The .c words after the first are sources; a quoted one, and every
   * word after the first argument, is an argument. */
  char *scn = put("many/s.nlab",
                  "duration 1s\nnetwork lan 10.0.0.0/24\n"
                  "host a\n  link lan 10.0.0.1\n"
                  "  run ./main.c ./lib/other.c one \"two.c\" three.c\n");
  char *line = run_line(scn, "a/main");
  assert_string_equal(line, "m lib argc=4 [one] [two.c] [three.c]");
  g_free(line);

  GError *err = NULL;
  NlScenario *s = nl_scenario_load(scn, NULL, &err);
  assert_non_null(s);
  const NlScnNode *n = g_ptr_array_index(s->nodes, 0);
  const NlScnRun *r = g_ptr_array_index(n->runs, 0);
  assert_int_equal(r->kind, NL_SCN_PROGRAM_SOURCE);
  assert_string_equal(r->name, "main");
  assert_int_equal(g_strv_length(r->sources), 2);
  assert_string_equal(r->sources[0], m);
  assert_string_equal(r->sources[1], o);
  assert_string_equal(r->argv[0], "./main.c");
  assert_int_equal(r->argc, 4);
  nl_scenario_free(s);
  g_free(m);
  g_free(o);
  g_free(h);
  g_free(scn);
}

static void test_build_folder_program(void **state) {
  char *m = put("prog/server/main.c", main_c);
  char *o = put("prog/server/other.c",
                "const char *other(void) { return \"dir\"; }\n");
  char *h = put("prog/server/msg.h", "#define MSG \"folder\"\n");
  char *scn = put("prog/s.nlab", "duration 1s\nnetwork lan 10.0.0.0/24\n"
                                 "host a\n  link lan 10.0.0.1\n"
                                 "  run ./server/ x.c\n");
  /* The instance is named after the folder. */
  char *line = run_line(scn, "a/server");
  assert_string_equal(line, "folder dir argc=2 [x.c]");
  g_free(line);
  g_free(m);
  g_free(o);
  g_free(h);
  g_free(scn);
}

static void expect_load_error(const char *name, const char *text,
                              const char *want) {
  char *scn = put(name, text);
  GError *err = NULL;
  NlScenario *s = nl_scenario_load(scn, NULL, &err);
  assert_null(s);
  if (strstr(err->message, want) == NULL)
    print_error("got: %s\nwanted: %s\n", err->message, want);
  assert_non_null(strstr(err->message, want));
  g_error_free(err);
  g_free(scn);
}

static void test_build_bad_program_lists(void **state) {
  g_free(put("bad/main.c", "int main(void) { return 0; }\n"));
  g_free(put("bad/empty/README", "no sources here\n"));
  expect_load_error("bad/a.nlab",
                    "network lan 10.0.0.0/24\nhost a\n  link lan 10.0.0.1\n"
                    "  run ./main.c ./missing.c\n",
                    "a.nlab:4:16: program file \"./missing.c\" does not "
                    "exist");
  expect_load_error("bad/b.nlab",
                    "network lan 10.0.0.0/24\nhost a\n  link lan 10.0.0.1\n"
                    "  run ./empty/\n",
                    "b.nlab:4:7: program folder \"./empty/\" has no .c files");
  expect_load_error("bad/c.nlab",
                    "network lan 10.0.0.0/24\nhost a\n  link lan 10.0.0.1\n"
                    "  run ./nowhere/\n",
                    "c.nlab:4:7: program folder \"./nowhere/\" does not exist");
}

static void test_build_compile_error_names_every_source(void **state) {
  char *m = put("err/main.c", "int main(void) { return helper(); }\n");
  char *o = put("err/other.c", "int helper(void) { return nope; }\n");
  const char *srcs[] = {m, o, NULL};
  GError *err = NULL;
  char *mod = nl_run_build_sources(srcs, &err);
  assert_null(mod);
  assert_int_equal(err->code, NL_RUN_ERROR_PROGRAM);
  assert_non_null(strstr(err->message, "natlab-cc could not build"));
  assert_non_null(strstr(err->message, "other.c:1:"));
  assert_non_null(strstr(err->message, "nope"));
  g_error_free(err);
  g_free(m);
  g_free(o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_build_header_edit_rebuilds),
      cmocka_unit_test(test_build_stat_shortcut),
      cmocka_unit_test(test_build_several_files_and_arguments),
      cmocka_unit_test(test_build_folder_program),
      cmocka_unit_test(test_build_bad_program_lists),
      cmocka_unit_test(test_build_compile_error_names_every_source),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
