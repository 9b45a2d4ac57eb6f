/* Figures from whole runs: the figures in docs/ regenerate byte for byte
 * (docs/figures/figures.list), every shipped scenario's timeline is drawn
 * whole (paged where long, never cut), the command line's timeline
 * options override the scenario's, and the DOT of small scenarios (the
 * topology, a timeline) matches its golden file in tests/golden/ (set
 * NATLAB_UPDATE_GOLDEN=1 to rewrite them after an intended change). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <sys/wait.h>

#include "export/timeline.h"
#include "export/topology.h"
#include "test-run-util.h"

static char *source_path(const char *rel) {
  return g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), rel, NULL);
}

/* natlab-python (programs/python/) is built only where libpython3.11-dev
 * is installed; its lessons are named NAME-py.nlab. */
static gboolean python_built(void) {
  char *so = g_build_filename(g_getenv("NATLAB_BUILD_ROOT"), "programs",
                              "python3.so", NULL);
  gboolean built = g_file_test(so, G_FILE_TEST_EXISTS);
  g_free(so);
  return built;
}

/* Whether this build is instrumented by AddressSanitizer (meson's
 * b_sanitize instruments natlab and python3.so with the tests).  Its
 * python3.so is another image: CPython's static objects lie at other
 * offsets in it (PyType_Type at 0x6373e0, not 0x6356e0), so its method
 * cache, which indexes entries by bits of interned names' addresses,
 * keeps other names alive, later objects land elsewhere in the heap, and
 * a set of objects (the chat server's clients) iterates in another order.
 * A Python lesson's figure is then that build's own: the same on every
 * run, not the release build's. */
static gboolean sanitized(void) {
#if defined(__SANITIZE_ADDRESS__)
  return TRUE;
#else
  return FALSE;
#endif
}

static int spawn_natlab(GPtrArray *args, char **out, char **err) {
  char *exe = g_build_filename(g_getenv("NATLAB_BUILD_ROOT"), "tools",
                               "natlab", NULL);
  GPtrArray *argv = g_ptr_array_new();
  g_ptr_array_add(argv, exe);
  for (guint i = 0; i < args->len; i++)
    g_ptr_array_add(argv, g_ptr_array_index(args, i));
  g_ptr_array_add(argv, NULL);
  int status = -1;
  GError *e = NULL;
  if (!g_spawn_sync(g_getenv("NATLAB_SOURCE_ROOT"), (char **)argv->pdata,
                    NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status, &e))
    g_error("%s", e->message);
  g_ptr_array_free(argv, TRUE);
  g_free(exe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void remove_dir(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d)) != NULL) {
    char *p = g_build_filename(dir, name, NULL);
    g_remove(p);
    g_free(p);
  }
  if (d)
    g_dir_close(d);
  g_rmdir(dir);
}

static void test_run_figures_docs_regenerate_byte_identical(void **state) {
  char *list = source_path("docs/figures/figures.list");
  char *text = NULL;
  assert_true(g_file_get_contents(list, &text, NULL, NULL));
  char *dir = g_dir_make_tmp("natlab-figs-XXXXXX", NULL);
  gchar **lines = g_strsplit(text, "\n", -1);
  guint checked = 0;
  for (int i = 0; lines[i]; i++) {
    if (lines[i][0] == '#' || lines[i][0] == '\0')
      continue;
    gchar **w = g_strsplit_set(lines[i], " ", -1);
    assert_true(g_strv_length(w) >= 3);
    if (g_str_has_suffix(w[2], "-py.nlab") && !python_built()) {
      g_strfreev(w); /* a Python lesson, in a natlab built without Python */
      continue;
    }
    char *base = g_path_get_basename(w[0]);
    char *out = g_build_filename(dir, base, NULL);
    char *opt = g_strdup_printf("--%s", w[1]);
    GPtrArray *args = g_ptr_array_new();
    g_ptr_array_add(args, "run");
    g_ptr_array_add(args, w[2]);
    g_ptr_array_add(args, "--quiet");
    g_ptr_array_add(args, opt);
    g_ptr_array_add(args, out);
    for (int k = 3; w[k]; k++)
      if (w[k][0])
        g_ptr_array_add(args, w[k]);
    char *o = NULL, *e = NULL;
    int rc = spawn_natlab(args, &o, &e);
    if (rc != 0)
      fail_msg("%s: natlab run exited %d: %s", w[0], rc, e);
    char *want = NULL, *got = NULL;
    gsize lw = 0, lg = 0;
    char *committed = source_path(w[0]);
    if (g_str_has_suffix(w[2], "-py.nlab") && sanitized()) {
      /* The figure this build makes, made again (see sanitized()). */
      g_free(committed);
      char *again = g_strconcat("again-", base, NULL);
      committed = g_build_filename(dir, again, NULL);
      g_free(again);
      g_ptr_array_index(args, 4) = committed;
      char *o2 = NULL, *e2 = NULL;
      if (spawn_natlab(args, &o2, &e2) != 0)
        fail_msg("%s: natlab run (again) failed: %s", w[0], e2);
      g_free(o2);
      g_free(e2);
    }
    assert_true(g_file_get_contents(committed, &want, &lw, NULL));
    assert_true(g_file_get_contents(out, &got, &lg, NULL));
    if (lw != lg || memcmp(want, got, lw) != 0)
      fail_msg("%s does not regenerate byte for byte (tools/figures "
               "regenerates it; commit the result if the change is "
               "intended)",
               w[0]);
    checked++;
    g_free(want);
    g_free(got);
    g_free(committed);
    g_free(o);
    g_free(e);
    g_ptr_array_free(args, TRUE);
    g_free(opt);
    g_free(out);
    g_free(base);
    g_strfreev(w);
  }
  assert_true(checked >= 6);
  g_strfreev(lines);
  remove_dir(dir);
  g_free(dir);
  g_free(text);
  g_free(list);
}

static void collect(const char *dir, GPtrArray *out) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (d == NULL)
    return;
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *n;
  while ((n = g_dir_read_name(d)) != NULL)
    g_ptr_array_add(names, g_strdup(n));
  g_dir_close(d);
  g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
  for (guint i = 0; i < names->len; i++) {
    char *p = g_build_filename(dir, g_ptr_array_index(names, i), NULL);
    if (g_file_test(p, G_FILE_TEST_IS_DIR))
      collect(p, out);
    if (g_str_has_suffix(p, ".nlab"))
      g_ptr_array_add(out, p);
    else
      g_free(p);
  }
  g_ptr_array_unref(names);
}

/* The timeline options a scenario's timeline line asks for. */
static void options_of(const NlScenario *s, NlTimelineOptions *o,
                       GArray *lanes) {
  const NlScnTimeline *t = &s->timeline;
  memset(o, 0, sizeof *o);
  o->title = t->title;
  o->kinds = NL_TIMELINE_DEFAULT_KINDS & ~t->hide;
  o->from = t->from;
  o->to = t->to == NL_TIME_NEVER ? 0 : t->to;
  o->lanes = t->lanes == NL_SCN_LANES_PROGRAM ? NL_TIMELINE_LANES_PROGRAM
                                              : NL_TIMELINE_LANES_HOST;
  for (guint i = 0; t->lanes == NL_SCN_LANES_LIST && i < t->lane_list->len;
       i++) {
    const NlScnLane *l = g_ptr_array_index(t->lane_list, i);
    NlTimelineLane tl = {l->name, l->label};
    g_array_append_val(lanes, tl);
  }
  o->lane_list = (const NlTimelineLane *)lanes->data;
  o->n_lanes = lanes->len;
  o->states = t->states;
  o->style = t->style == NL_SCN_STYLE_CHAPTER ? NL_TIMELINE_STYLE_CHAPTER
                                              : NL_TIMELINE_STYLE_DEFAULT;
  o->no_collapse = !t->collapse;
  o->no_end = !t->end;
}

static void test_run_figures_every_lesson_timeline_is_whole(void **state) {
  /* The lessons and the figures (assignments' tests may run a thousand
   * clients: their timelines draw the first rows and say so). */
  char *root = source_path("scenarios/lessons");
  char *figures = source_path("scenarios/figures");
  GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
  collect(root, files);
  collect(figures, files);
  g_free(figures);
  char *dir = g_dir_make_tmp("natlab-lessons-XXXXXX", NULL);
  guint drawn = 0;
  for (guint i = 0; i < files->len; i++) {
    const char *f = g_ptr_array_index(files, i);
    char *text = NULL;
    g_file_get_contents(f, &text, NULL, NULL);
    gboolean fragment = text && strstr(text, "# fragment") != NULL;
    g_free(text);
    if (fragment || (g_str_has_suffix(f, "-py.nlab") && !python_built()))
      continue; /* a Python lesson, in a natlab built without Python */
    TestRun *r = test_run(f, NULL);
    NlTimelineOptions o;
    GArray *lanes = g_array_new(FALSE, FALSE, sizeof(NlTimelineLane));
    options_of(r->s, &o, lanes);
    char *path = g_build_filename(dir, "t.svg", NULL);
    char **pages = NULL;
    GError *err = NULL;
    if (!nl_timeline_write_files(nl_run_trace(r->run), path, &o, &pages,
                                 &err))
      fail_msg("%s: %s", f, err->message);
    guint n = g_strv_length(pages);
    assert_true(n >= 1);
    for (guint p = 0; p < n; p++) {
      char *svg = NULL;
      assert_true(g_file_get_contents(pages[p], &svg, NULL, NULL));
      /* Uncut: no "… N more events"; each page a 16:9 slide. */
      if (strstr(svg, "class=\"node more\"") != NULL)
        fail_msg("%s: the timeline is cut on page %u", f, p + 1);
      const char *vb = strstr(svg, "viewBox=\"0.00 0.00 ");
      assert_non_null(vb);
      double w = g_ascii_strtod(vb + 19, NULL);
      double h = g_ascii_strtod(strchr(vb + 19, ' ') + 1, NULL);
      assert_true(w >= 959 && h > 0);
      assert_float_equal(w / h, 16.0 / 9.0, 0.01);
      g_free(svg);
      g_remove(pages[p]);
    }
    drawn++;
    g_strfreev(pages);
    g_free(path);
    g_array_free(lanes, TRUE);
    test_run_free(r);
  }
  assert_true(drawn >= 20);
  remove_dir(dir);
  g_free(dir);
  g_ptr_array_unref(files);
  g_free(root);
}

static char *read_or_fail(const char *path) {
  char *t = NULL;
  if (!g_file_get_contents(path, &t, NULL, NULL))
    fail_msg("cannot read %s", path);
  return t;
}

static void test_run_figures_command_line_overrides(void **state) {
  char *dir = g_dir_make_tmp("natlab-cli-XXXXXX", NULL);
  char *svg = g_build_filename(dir, "o.svg", NULL);
  GPtrArray *args = g_ptr_array_new();
  const char *base[] = {"run",
                        "scenarios/figures/socket-lifecycle.nlab",
                        "--quiet",
                        "--timeline",
                        svg,
                        "--lanes",
                        "tcp-client/client=Client",
                        "--from",
                        "1s",
                        "--to",
                        "1.011s",
                        "--hide",
                        "tcp"};
  for (gsize i = 0; i < G_N_ELEMENTS(base); i++)
    g_ptr_array_add(args, (gpointer)base[i]);
  char *out = NULL, *err = NULL;
  assert_int_equal(spawn_natlab(args, &out, &err), 0);
  char *text = read_or_fail(svg);
  /* One lane, the command line's, labelled; the window; no TCP states;
   * the handshake's arrows to the edge of the figure. */
  assert_non_null(strstr(text, ">Client</text>"));
  assert_null(strstr(text, "TCP Server"));
  assert_null(strstr(text, "class=\"node event tcp\""));
  assert_non_null(strstr(text, "[SYN]"));
  assert_null(strstr(text, "[FIN"));
  g_free(text);
  g_free(out);
  g_free(err);
  /* A page that does not exist is an error after the run; a bad value
   * one before it. */
  g_ptr_array_set_size(args, 5);
  g_ptr_array_add(args, "--page");
  g_ptr_array_add(args, "99");
  assert_int_equal(spawn_natlab(args, &out, &err), 2);
  assert_non_null(strstr(err, "not 99"));
  g_free(out);
  g_free(err);
  g_ptr_array_set_size(args, 5);
  g_ptr_array_add(args, "--from");
  g_ptr_array_add(args, "soon");
  assert_int_equal(spawn_natlab(args, &out, &err), 2);
  assert_non_null(strstr(err, "--from soon: expected a time"));
  g_free(out);
  g_free(err);
  g_ptr_array_set_size(args, 5);
  g_ptr_array_add(args, "--lanes");
  g_ptr_array_add(args, "nowhere");
  assert_int_equal(spawn_natlab(args, &out, &err), 2);
  assert_non_null(strstr(err, "\"nowhere\", which is not a node"));
  g_free(out);
  g_free(err);
  g_ptr_array_free(args, TRUE);
  remove_dir(dir);
  g_free(svg);
  g_free(dir);
}

/* Compares @data with tests/golden/@name (or writes it there when
 * NATLAB_UPDATE_GOLDEN is set). */
static void golden(const char *name, const guint8 *data, gsize len) {
  char *rel = g_build_filename("tests", "golden", name, NULL);
  char *path = source_path(rel);
  if (g_getenv("NATLAB_UPDATE_GOLDEN") != NULL) {
    assert_true(g_file_set_contents(path, (const char *)data, (gssize)len,
                                    NULL));
  } else {
    char *want = NULL;
    gsize lw = 0;
    if (!g_file_get_contents(path, &want, &lw, NULL))
      fail_msg("no golden file %s (NATLAB_UPDATE_GOLDEN=1 writes it)", rel);
    if (lw != len || memcmp(want, data, len) != 0) {
      /* Where they part, for the message. */
      gsize at = 0;
      while (at < MIN(lw, len) && want[at] == (char)data[at])
        at++;
      fail_msg("%s differs at byte %" G_GSIZE_FORMAT " (rerun with "
               "NATLAB_UPDATE_GOLDEN=1 if the change is intended)",
               rel, at);
    }
    g_free(want);
  }
  g_free(path);
  g_free(rel);
}

static const char small[] =
    "seed 1\nduration 2s\n"
    "network lan 10.0.0.0/24 latency=2ms\n"
    "network wan 203.0.113.0/24 latency=10ms loss=1%\n"
    "host client\n  link lan 10.0.0.5\n  route default via 10.0.0.1\n"
    "  run at=1s udp-echo-client 203.0.113.7 7 hi 2 100\n"
    "nat gw preset=symmetric\n  inside lan 10.0.0.1\n"
    "  outside wan 203.0.113.1\n"
    "host server\n  link wan 203.0.113.7\n  run udp-echo-server 7\n"
    "timeline title=\"A small scenario\"\n"
    "expect exit client/udp-echo-client code 0\n";

static void test_run_figures_golden_dot(void **state) {
  TestRun *r = test_run("small.nlab", small);
  NlTrace *t = nl_run_trace(r->run);
  GError *err = NULL;
  gsize len;
  NlTopologyOptions to = {.title = "A small scenario"};
  guint8 *dot = nl_topology_render(t, "dot", &to, &len, &err);
  assert_non_null(dot);
  golden("topology-small.dot", dot, len);
  g_free(dot);
  /* The timeline's DOT keeps every position: a golden of its layout. */
  NlTimelineOptions o = {.title = "A small scenario", .page = 1};
  dot = nl_timeline_render(t, "dot", &o, &len, &err);
  assert_non_null(dot);
  golden("timeline-small.dot", dot, len);
  g_free(dot);
  o.lanes = NL_TIMELINE_LANES_PROGRAM;
  o.no_end = TRUE;
  dot = nl_timeline_render(t, "dot", &o, &len, &err);
  assert_non_null(dot);
  golden("timeline-small-programs.dot", dot, len);
  g_free(dot);
  test_run_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_figures_docs_regenerate_byte_identical),
      cmocka_unit_test(test_run_figures_every_lesson_timeline_is_whole),
      cmocka_unit_test(test_run_figures_command_line_overrides),
      cmocka_unit_test(test_run_figures_golden_dot),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
