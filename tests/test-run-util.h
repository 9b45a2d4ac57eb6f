/* Helpers for tests that run whole scenarios (suite "run"). */
#ifndef NL_TEST_RUN_UTIL_H
#define NL_TEST_RUN_UTIL_H

#include <glib.h>
#include <string.h>

#include "scenarios/lang/scenario.h"
#include "scenarios/runner/runner.h"

typedef struct {
  NlScenario *s;
  NlRun *run;
  guint failed;
  char *text; /* the whole trace in text form */
} TestRun;

static inline char *test_trace_text(NlTrace *t) {
  GString *out = g_string_new(NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    nl_trace_format(t, rec, p, out);
    g_string_append_c(out, '\n');
  }
  return g_string_free(out, FALSE);
}

/* Loads @text (or the file @path when @text is NULL), runs it to the end
 * with @opts (NULL: defaults). */
static inline TestRun *test_run_opts(const char *path, const char *text,
                                     const NlRunOptions *opts) {
  GError *err = NULL;
  TestRun *r = g_new0(TestRun, 1);
  r->s = text ? nl_scenario_load_string(path, text, -1, NULL, &err)
              : nl_scenario_load(path, NULL, &err);
  if (r->s == NULL)
    g_error("%s", err->message);
  r->run = nl_run_new(r->s, opts, &err);
  if (r->run == NULL)
    g_error("%s", err->message);
  r->failed = nl_run_execute(r->run);
  r->text = test_trace_text(nl_run_trace(r->run));
  return r;
}

static inline TestRun *test_run(const char *path, const char *text) {
  return test_run_opts(path, text, NULL);
}

static inline void test_run_free(TestRun *r) {
  nl_run_free(r->run);
  nl_scenario_free(r->s);
  g_free(r->text);
  g_free(r);
}

/* The lines of @kind (NL_TRACE_STDOUT or NL_TRACE_STDERR) a process
 * printed, in order: "HOST/NAME" as in the trace. */
static inline GPtrArray *test_lines(TestRun *r, NlTraceKind kind,
                                    const char *who) {
  NlTrace *t = nl_run_trace(r->run);
  GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p))
    if (rec->kind == kind && strcmp(nl_trace_name(t, rec->peer), who) == 0)
      g_ptr_array_add(lines, g_strndup((const char *)p, rec->len));
  return lines;
}

/* The lines a process printed on stdout. */
static inline GPtrArray *test_stdout(TestRun *r, const char *who) {
  return test_lines(r, NL_TRACE_STDOUT, who);
}

/* Number of lines of the text trace containing every one of the
 * NULL-terminated substrings. */
static inline guint test_count_lines(const char *text, ...) {
  guint n = 0;
  char **lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++) {
    va_list ap;
    va_start(ap, text);
    gboolean all = TRUE;
    for (const char *s = va_arg(ap, const char *); s;
         s = va_arg(ap, const char *))
      if (strstr(*l, s) == NULL)
        all = FALSE;
    va_end(ap);
    n += all;
  }
  g_strfreev(lines);
  return n;
}

#endif
