/* Every scenario example in the documentation runs and meets its
 * expectations: the ```nlab blocks of the Markdown pages (except those
 * marked no-check or no-run) and the example of natlab-scenario(5). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test-run-util.h"

typedef struct {
  char *where; /* "docs/scenario-format.md:12" */
  char *path;  /* where it is loaded from: relative paths resolve there */
  char *text;
} Example;

static void example_free(gpointer p) {
  Example *e = p;
  g_free(e->where);
  g_free(e->path);
  g_free(e->text);
  g_free(e);
}

static void add(GPtrArray *out, const char *file, guint line,
                const char *text) {
  Example *e = g_new0(Example, 1);
  e->where = g_strdup_printf("%s:%u", file, line);
  char *dir = g_path_get_dirname(file);
  e->path = g_build_filename(dir, "example.nlab", NULL);
  g_free(dir);
  e->text = g_strdup(text);
  g_ptr_array_add(out, e);
}

/* The runnable ```nlab blocks of the Markdown file @file. */
static guint markdown_examples(const char *file, GPtrArray *out) {
  char *text = NULL;
  if (!g_file_get_contents(file, &text, NULL, NULL))
    return 0;
  char **lines = g_strsplit(text, "\n", -1);
  GString *block = NULL;
  guint start = 0, n = 0;
  gboolean skip = FALSE;
  for (guint i = 0; lines[i] != NULL; i++) {
    if (block == NULL && g_str_has_prefix(lines[i], "```nlab")) {
      block = g_string_new(NULL);
      start = i + 2;
      skip = strstr(lines[i], "no-check") || strstr(lines[i], "no-run");
    } else if (block != NULL && strcmp(lines[i], "```") == 0) {
      if (!skip) {
        add(out, file, start, block->str);
        n++;
      }
      g_string_free(block, TRUE);
      block = NULL;
    } else if (block != NULL) {
      g_string_append_printf(block, "%s\n", lines[i]);
    }
  }
  assert_null(block); /* every block is closed */
  g_strfreev(lines);
  g_free(text);
  return n;
}

/* The example under SYNOPSIS of a manual page (.nf to .fi, roff escapes
 * undone). */
static guint man_example(const char *file, GPtrArray *out) {
  char *text = NULL;
  if (!g_file_get_contents(file, &text, NULL, NULL))
    return 0;
  const char *syn = strstr(text, ".SH SYNOPSIS\n.nf\n");
  const char *end = syn ? strstr(syn, "\n.fi\n") : NULL;
  guint n = 0;
  if (syn && end) {
    syn += strlen(".SH SYNOPSIS\n.nf\n");
    char *body = g_strndup(syn, (gsize)(end - syn + 1));
    GString *plain = g_string_new(NULL);
    for (const char *c = body; *c; c++) {
      if (c[0] == '\\' && c[1] == '-') {
        g_string_append_c(plain, '-');
        c++;
      } else if (c[0] == '\\' && c[1] == '(' && c[2] == 'd' && c[3] == 'q') {
        g_string_append_c(plain, '"');
        c += 3;
      } else {
        g_string_append_c(plain, *c);
      }
    }
    guint line = 1;
    for (const char *c = text; c < syn; c++)
      line += *c == '\n';
    add(out, file, line, plain->str);
    g_string_free(plain, TRUE);
    g_free(body);
    n = 1;
  }
  g_free(text);
  return n;
}

static void test_docs_examples_run_and_hold(void **state) {
  const char *root = g_getenv("NATLAB_SOURCE_ROOT");
  assert_non_null(root);
  GPtrArray *examples = g_ptr_array_new_with_free_func(example_free);
  /* Every Markdown page of docs/, and the READMEs. */
  char *docs = g_build_filename(root, "docs", NULL);
  GDir *d = g_dir_open(docs, 0, NULL);
  assert_non_null(d);
  GPtrArray *pages = g_ptr_array_new_with_free_func(g_free);
  const char *e;
  while ((e = g_dir_read_name(d)) != NULL)
    if (g_str_has_suffix(e, ".md"))
      g_ptr_array_add(pages, g_build_filename(docs, e, NULL));
  g_dir_close(d);
  g_ptr_array_add(pages, g_build_filename(root, "README.md", NULL));
  g_ptr_array_add(pages,
                  g_build_filename(root, "scenarios", "README.md", NULL));
  guint from_format = 0;
  for (guint i = 0; i < pages->len; i++) {
    guint n = markdown_examples(pages->pdata[i], examples);
    if (g_str_has_suffix(pages->pdata[i], "scenario-format.md"))
      from_format = n;
  }
  char *man = g_build_filename(docs, "man", "natlab-scenario.5", NULL);
  assert_int_equal(man_example(man, examples), 1);
  /* The format page shows every statement with one. */
  assert_true(from_format >= 14);

  for (guint i = 0; i < examples->len; i++) {
    const Example *x = examples->pdata[i];
    GError *err = NULL;
    NlScenario *s = nl_scenario_load_string(x->path, x->text, -1, NULL, &err);
    if (s == NULL)
      fail_msg("example at %s: %s", x->where, err->message);
    NlRun *run = nl_run_new(s, NULL, &err);
    if (run == NULL)
      fail_msg("example at %s: %s", x->where, err->message);
    guint failed = nl_run_execute(run);
    if (failed > 0) {
      GString *rep = g_string_new(NULL);
      nl_run_report_failures(run, rep);
      fail_msg("example at %s:\n%s", x->where, rep->str);
    }
    char *a = test_trace_text(nl_run_trace(run));
    nl_run_free(run);
    /* And the same trace a second time. */
    run = nl_run_new(s, NULL, &err);
    assert_non_null(run);
    nl_run_execute(run);
    char *b = test_trace_text(nl_run_trace(run));
    if (strcmp(a, b) != 0)
      fail_msg("example at %s: two runs gave different traces", x->where);
    g_free(a);
    g_free(b);
    nl_run_free(run);
    nl_scenario_free(s);
  }
  g_ptr_array_unref(pages);
  g_ptr_array_unref(examples);
  g_free(man);
  g_free(docs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_docs_examples_run_and_hold),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
