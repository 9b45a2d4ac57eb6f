/* The timeline's output formats: chosen by file extension, each one
 * deterministic (PNG and PDF included), unknown ones refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <string.h>

#include "export/timeline.h"
#include "test-timeline-fixture.h"

static char *tmp_dir;

static int setup(void **state) {
  tmp_dir = g_dir_make_tmp("natlab-timeline-XXXXXX", NULL);
  return tmp_dir ? 0 : -1;
}

static int teardown(void **state) {
  GDir *d = g_dir_open(tmp_dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d)) != NULL) {
    char *p = g_build_filename(tmp_dir, name, NULL);
    g_remove(p);
    g_free(p);
  }
  if (d)
    g_dir_close(d);
  g_rmdir(tmp_dir);
  g_free(tmp_dir);
  return 0;
}

/* Writes the fixture's timeline to @name twice; checks the files are
 * identical; returns the contents. */
static char *write_twice(const char *name, gsize *len) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  NlTimelineOptions o = {.title = "formats"};
  char *path = g_build_filename(tmp_dir, name, NULL);
  char *a, *b;
  gsize la, lb;
  GError *err = NULL;
  if (!nl_timeline_write(t, path, &o, &err))
    fail_msg("%s: %s", name, err->message);
  assert_true(g_file_get_contents(path, &a, &la, NULL));
  if (!nl_timeline_write(t, path, &o, &err))
    fail_msg("%s: %s", name, err->message);
  assert_true(g_file_get_contents(path, &b, &lb, NULL));
  assert_int_equal(la, lb);
  assert_memory_equal(a, b, la);
  g_free(b);
  g_free(path);
  nl_trace_free(t);
  *len = la;
  return a;
}

static void test_timeline_formats_dot_keeps_positions(void **state) {
  gsize len;
  char *dot = write_twice("t.dot", &len);
  assert_true(g_str_has_prefix(dot, "digraph timeline {"));
  /* Laid out: every node carries its pinned position. */
  assert_non_null(strstr(dot, "pos=\""));
  assert_non_null(strstr(dot, "STUN Binding request"));
  g_free(dot);
  /* .gv is DOT too. */
  char *gv = write_twice("t.GV", &len);
  assert_true(g_str_has_prefix(gv, "digraph timeline {"));
  g_free(gv);
}

static void test_timeline_formats_png_is_a_png(void **state) {
  gsize len;
  char *png = write_twice("t.png", &len);
  assert_true(len > 1000);
  assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
  g_free(png);
}

static void test_timeline_formats_pdf_has_no_wall_clock_date(void **state) {
  gsize len;
  char *pdf = write_twice("t.pdf", &len);
  assert_true(len > 1000);
  assert_memory_equal(pdf, "%PDF-", 5);
  /* cairo's creation date is replaced by a fixed one. */
  const char *key = "/CreationDate (D:";
  char *at = g_strstr_len(pdf, (gssize)len, key);
  if (at != NULL)
    assert_memory_equal(at + strlen(key), "19700101000000", 14);
  g_free(pdf);
}

static void test_timeline_formats_unknown_extension_is_refused(void **state) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  char *path = g_build_filename(tmp_dir, "t.jpg", NULL);
  GError *err = NULL;
  assert_false(nl_timeline_write(t, path, NULL, &err));
  assert_true(g_error_matches(err, NL_EXPORT_ERROR, NL_EXPORT_ERROR_FORMAT));
  assert_non_null(strstr(err->message, "t.jpg"));
  assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
  g_clear_error(&err);
  gsize len = 99;
  assert_null(nl_timeline_render(t, "gif", NULL, &len, &err));
  assert_int_equal(len, 0);
  assert_true(g_error_matches(err, NL_EXPORT_ERROR, NL_EXPORT_ERROR_FORMAT));
  g_clear_error(&err);
  /* A directory that does not exist is an I/O error. */
  char *bad = g_build_filename(tmp_dir, "missing", "t.svg", NULL);
  assert_false(nl_timeline_write(t, bad, NULL, &err));
  assert_true(g_error_matches(err, NL_EXPORT_ERROR, NL_EXPORT_ERROR_IO));
  g_clear_error(&err);
  g_free(bad);
  g_free(path);
  nl_trace_free(t);
}

static void test_timeline_formats_empty_trace_renders(void **state) {
  NlTrace *t = nl_trace_new();
  gsize len;
  GError *err = NULL;
  guint8 *svg = nl_timeline_render(t, "svg", NULL, &len, &err);
  assert_non_null(svg);
  assert_non_null(strstr((const char *)svg, "</svg>"));
  g_free(svg);
  nl_trace_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timeline_formats_dot_keeps_positions),
      cmocka_unit_test(test_timeline_formats_png_is_a_png),
      cmocka_unit_test(test_timeline_formats_pdf_has_no_wall_clock_date),
      cmocka_unit_test(test_timeline_formats_unknown_extension_is_refused),
      cmocka_unit_test(test_timeline_formats_empty_trace_renders),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
