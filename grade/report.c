/* Reports: text, TAP 13, JUnit XML and Gradescope's results.json, made
 * from results alone; and where they (and the timelines of failed tests)
 * are written, as docs/grading.md says.  Text from programs is made valid
 * UTF-8 and stripped of control characters before it reaches a report. */
#include "grade/grade-priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Valid UTF-8 without control characters other than newline and tab. */
static char *clean(const char *s) {
  if (s == NULL)
    return NULL;
  char *v = g_utf8_make_valid(s, -1);
  for (char *c = v; *c; c++)
    if ((unsigned char)*c < 0x20 && *c != '\n' && *c != '\t')
      *c = '?';
    else if (*c == 0x7f)
      *c = '?';
  return v;
}

static gint64 score_of(const NlGradeSubmission *s, gint64 *max) {
  gint64 got = 0;
  *max = 0;
  for (guint i = 0; i < s->tests->len; i++) {
    const NlGradeTest *t = g_ptr_array_index(s->tests, i);
    got += t->got;
    *max += t->max;
  }
  return got;
}

/* timelines/SUB--NN-name.svg for test @i (0-based) of @sub. */
static char *svg_name(const NlGradeSubmission *sub, guint i) {
  const NlGradeTest *t = g_ptr_array_index(sub->tests, i);
  GString *slug = g_string_new(NULL);
  for (const char *c = t->name; *c && slug->len < 40; c++) {
    if (g_ascii_isalnum(*c))
      g_string_append_c(slug, g_ascii_tolower(*c));
    else if (slug->len > 0 && slug->str[slug->len - 1] != '-')
      g_string_append_c(slug, '-');
  }
  while (slug->len > 0 && slug->str[slug->len - 1] == '-')
    g_string_truncate(slug, slug->len - 1);
  char *n = g_strdup_printf("timelines/%s--%02u-%s.svg", sub->name, i + 1,
                            slug->str);
  g_string_free(slug, TRUE);
  return n;
}

static void indent_block(GString *s, const char *text, const char *pad) {
  char *c = clean(text);
  char **lines = g_strsplit(c, "\n", -1);
  guint n = g_strv_length(lines);
  while (n > 0 && lines[n - 1][0] == '\0')
    n--;
  for (guint i = 0; i < n; i++)
    g_string_append_printf(s, "%s%s\n", pad, lines[i]);
  g_strfreev(lines);
  g_free(c);
}

/* ---- text ---- */

static void text_test(GString *s, const NlGradeSubmission *sub, guint i) {
  const NlGradeTest *t = g_ptr_array_index(sub->tests, i);
  char *got = nl_grade_points(t->got), *max = nl_grade_points(t->max);
  char *name = clean(t->name);
  g_string_append_printf(s, "%s %s/%s  %s  (%s)\n",
                         t->passed ? "[PASS]" : "[FAIL]", got, max, name,
                         t->where);
  g_free(name);
  g_free(got);
  g_free(max);
  if (t->seeds) {
    g_string_append(s, "    seeds: ");
    g_string_append(s, t->seeds);
    g_string_append_c(s, '\n');
  }
  if (t->passed)
    return;
  g_string_append(s, "    expected: ");
  indent_block(s, t->expected, "");
  if (t->feedback) {
    g_string_append(s, "    feedback:\n");
    indent_block(s, t->feedback, "      ");
  }
  if (t->failure)
    g_string_append_printf(s, "    failure: %s\n", t->failure);
  g_string_append(s, "    happened:\n");
  indent_block(s, t->happened, "      ");
  if (t->trace) {
    g_string_append(s, "    trace:\n");
    indent_block(s, t->trace, "      ");
  }
  if (t->output) {
    g_string_append(s, "    output:\n");
    indent_block(s, t->output, "      ");
  }
  g_string_append_printf(s, "    seed: %" G_GUINT64_FORMAT "\n", t->seed);
  g_string_append_printf(s, "    replay: %s\n", t->replay);
  if (t->svg) {
    char *n = svg_name(sub, i);
    g_string_append_printf(s, "    timeline: %s\n", n);
    g_free(n);
  }
}

static void text_sub(GString *s, const NlGradeResults *r,
                     const NlGradeSubmission *sub) {
  gint64 max;
  gint64 got = score_of(sub, &max);
  char *g = nl_grade_points(got), *m = nl_grade_points(max);
  guint passed = 0;
  for (guint i = 0; i < sub->tests->len; i++)
    passed += ((NlGradeTest *)g_ptr_array_index(sub->tests, i))->passed;
  char *title = clean(r->title);
  g_string_append_printf(s,
                         "natlab grade: %s (%s)\nsubmission: %s\n"
                         "score: %s/%s (%u of %u tests passed)\n",
                         r->assignment, title, sub->name, g, m, passed,
                         sub->tests->len);
  g_free(title);
  g_free(g);
  g_free(m);
  if (sub->build_log) {
    g_string_append(s, "build failed:\n");
    indent_block(s, sub->build_log, "  ");
  }
  g_string_append_c(s, '\n');
  for (guint i = 0; i < sub->tests->len; i++)
    text_test(s, sub, i);
}

/* ---- JSON (Gradescope) ---- */

static void json_str(GString *s, const char *v) {
  char *c = clean(v ? v : "");
  g_string_append_c(s, '"');
  for (const char *p = c; *p; p++) {
    switch (*p) {
      case '"': g_string_append(s, "\\\""); break;
      case '\\': g_string_append(s, "\\\\"); break;
      case '\n': g_string_append(s, "\\n"); break;
      case '\t': g_string_append(s, "\\t"); break;
      default: g_string_append_c(s, *p);
    }
  }
  g_string_append_c(s, '"');
  g_free(c);
}

static void gradescope_sub(GString *s, const NlGradeResults *r,
                           const NlGradeSubmission *sub) {
  gint64 max;
  gint64 got = score_of(sub, &max);
  char *g = nl_grade_points(got), *m = nl_grade_points(max);
  g_string_append_printf(s, "{\n  \"score\": %s,\n  \"max_score\": %s,\n", g,
                         m);
  g_free(g);
  g_free(m);
  GString *o = g_string_new(NULL);
  g_string_append_printf(o, "natlab grade: %s (%s), submission %s",
                         r->assignment, r->title, sub->name);
  if (sub->build_log)
    g_string_append_printf(o, "\nbuild failed:\n%s", sub->build_log);
  g_string_append(s, "  \"output\": ");
  json_str(s, o->str);
  g_string_free(o, TRUE);
  g_string_append(s, ",\n  \"visibility\": \"visible\",\n  \"tests\": [");
  for (guint i = 0; i < sub->tests->len; i++) {
    const NlGradeTest *t = g_ptr_array_index(sub->tests, i);
    GString *detail = g_string_new(NULL);
    text_test(detail, sub, i);
    char *tg = nl_grade_points(t->got), *tm = nl_grade_points(t->max);
    g_string_append_printf(s, "%s\n    {\"name\": ", i ? "," : "");
    json_str(s, t->name);
    g_string_append_printf(s,
                           ", \"score\": %s, \"max_score\": %s, "
                           "\"status\": \"%s\", \"output\": ",
                           tg, tm, t->passed ? "passed" : "failed");
    json_str(s, detail->str);
    g_string_append(s, "}");
    g_free(tg);
    g_free(tm);
    g_string_free(detail, TRUE);
  }
  g_string_append(s, "\n  ]\n}\n");
}

/* ---- TAP 13 ---- */

static void yaml_str(GString *s, const char *key, const char *v) {
  if (v == NULL)
    return;
  g_string_append_printf(s, "  %s: ", key);
  json_str(s, v); /* a JSON string is a YAML double-quoted scalar */
  g_string_append_c(s, '\n');
}

static void tap_all(GString *s, const NlGradeResults *r) {
  guint total = 0;
  for (guint k = 0; k < r->subs->len; k++)
    total += ((NlGradeSubmission *)g_ptr_array_index(r->subs, k))->tests->len;
  g_string_append_printf(s, "TAP version 13\n1..%u\n", total);
  guint n = 0;
  for (guint k = 0; k < r->subs->len; k++) {
    const NlGradeSubmission *sub = g_ptr_array_index(r->subs, k);
    gint64 max;
    gint64 got = score_of(sub, &max);
    char *g = nl_grade_points(got), *m = nl_grade_points(max);
    g_string_append_printf(s, "# %s: %s/%s\n", sub->name, g, m);
    g_free(g);
    g_free(m);
    for (guint i = 0; i < sub->tests->len; i++) {
      const NlGradeTest *t = g_ptr_array_index(sub->tests, i);
      char *tg = nl_grade_points(t->got), *tm = nl_grade_points(t->max);
      char *name = clean(t->name);
      /* '#' starts a directive in TAP: keep it out of the description. */
      g_strdelimit(name, "#", '_');
      g_string_append_printf(s, "%s %u - %s: %s\n",
                             t->passed ? "ok" : "not ok", ++n, sub->name,
                             name);
      g_free(name);
      g_string_append(s, "  ---\n");
      yaml_str(s, "submission", sub->name);
      g_string_append_printf(s, "  points: %s\n  max: %s\n", tg, tm);
      yaml_str(s, "where", t->where);
      yaml_str(s, "expected", t->expected);
      if (!t->passed) {
        yaml_str(s, "feedback", t->feedback);
        yaml_str(s, "failure", t->failure);
      }
      yaml_str(s, "happened", t->happened);
      if (!t->passed) {
        yaml_str(s, "trace", t->trace);
        yaml_str(s, "output", t->output);
        yaml_str(s, "build", sub->build_log);
      }
      g_string_append_printf(s, "  seed: %" G_GUINT64_FORMAT "\n", t->seed);
      yaml_str(s, "seeds", t->seeds);
      if (!t->passed)
        yaml_str(s, "replay", t->replay);
      if (t->svg) {
        char *sn = svg_name(sub, i);
        yaml_str(s, "timeline", sn);
        g_free(sn);
      }
      g_string_append(s, "  ...\n");
      g_free(tg);
      g_free(tm);
    }
  }
}

/* ---- JUnit XML ---- */

static void xml(GString *s, const char *v) {
  char *c = clean(v ? v : "");
  char *e = g_markup_escape_text(c, -1);
  g_string_append(s, e);
  g_free(e);
  g_free(c);
}

static void junit_all(GString *s, const NlGradeResults *r) {
  guint total = 0, failures = 0;
  for (guint k = 0; k < r->subs->len; k++) {
    const NlGradeSubmission *sub = g_ptr_array_index(r->subs, k);
    for (guint i = 0; i < sub->tests->len; i++) {
      total++;
      failures += !((NlGradeTest *)g_ptr_array_index(sub->tests, i))->passed;
    }
  }
  g_string_append(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  g_string_append(s, "<testsuites name=\"");
  xml(s, r->assignment);
  g_string_append_printf(s, "\" tests=\"%u\" failures=\"%u\">\n", total,
                         failures);
  for (guint k = 0; k < r->subs->len; k++) {
    const NlGradeSubmission *sub = g_ptr_array_index(r->subs, k);
    gint64 max;
    gint64 got = score_of(sub, &max);
    guint f = 0;
    for (guint i = 0; i < sub->tests->len; i++)
      f += !((NlGradeTest *)g_ptr_array_index(sub->tests, i))->passed;
    char *g = nl_grade_points(got), *m = nl_grade_points(max);
    g_string_append(s, "  <testsuite name=\"");
    xml(s, sub->name);
    g_string_append_printf(s,
                           "\" tests=\"%u\" failures=\"%u\" errors=\"0\" "
                           "skipped=\"0\">\n    <properties>\n"
                           "      <property name=\"score\" value=\"%s\"/>\n"
                           "      <property name=\"max_score\" "
                           "value=\"%s\"/>\n    </properties>\n",
                           sub->tests->len, f, g, m);
    g_free(g);
    g_free(m);
    for (guint i = 0; i < sub->tests->len; i++) {
      const NlGradeTest *t = g_ptr_array_index(sub->tests, i);
      g_string_append(s, "    <testcase name=\"");
      xml(s, t->name);
      g_string_append(s, "\" classname=\"");
      xml(s, sub->name);
      g_string_append_c(s, '.');
      xml(s, r->assignment);
      char *tg = nl_grade_points(t->got), *tm = nl_grade_points(t->max);
      g_string_append_printf(s, "\" file=\"%s\" points=\"%s\" max=\"%s\">\n",
                             t->where, tg, tm);
      g_free(tg);
      g_free(tm);
      GString *detail = g_string_new(NULL);
      text_test(detail, sub, i);
      if (!t->passed) {
        g_string_append(s, "      <failure type=\"");
        xml(s, t->failure ? t->failure : "expectation failed");
        g_string_append(s, "\" message=\"");
        xml(s, t->happened);
        g_string_append(s, "\">");
        xml(s, detail->str);
        if (sub->build_log)
          xml(s, sub->build_log);
        g_string_append(s, "</failure>\n");
      } else {
        g_string_append(s, "      <system-out>");
        xml(s, detail->str);
        g_string_append(s, "</system-out>\n");
      }
      g_string_free(detail, TRUE);
      g_string_append(s, "    </testcase>\n");
    }
    g_string_append(s, "  </testsuite>\n");
  }
  g_string_append(s, "</testsuites>\n");
}

void nl_grade_format_submission(const NlGradeResults *r,
                                const NlGradeSubmission *sub,
                                NlGradeFormat format, GString *s) {
  if (format == NL_GRADE_FORMAT_GRADESCOPE)
    gradescope_sub(s, r, sub);
  else
    text_sub(s, r, sub);
}

void nl_grade_format_all(const NlGradeResults *r, NlGradeFormat format,
                         GString *s) {
  if (format == NL_GRADE_FORMAT_TAP)
    tap_all(s, r);
  else
    junit_all(s, r);
}

/* ---- writing ---- */

static gboolean write_file(const char *path, const GString *s,
                           GError **error) {
  return g_file_set_contents(path, s->str, (gssize)s->len, error);
}

static gboolean write_timelines(const NlGradeResults *r, const char *dir,
                                GError **error) {
  for (guint k = 0; k < r->subs->len; k++) {
    const NlGradeSubmission *sub = g_ptr_array_index(r->subs, k);
    for (guint i = 0; i < sub->tests->len; i++) {
      const NlGradeTest *t = g_ptr_array_index(sub->tests, i);
      if (t->svg == NULL)
        continue;
      char *name = svg_name(sub, i);
      char *path = g_build_filename(dir, name, NULL);
      char *folder = g_path_get_dirname(path);
      g_mkdir_with_parents(folder, 0755);
      gboolean ok = g_file_set_contents(path, t->svg, -1, error);
      g_free(folder);
      g_free(path);
      g_free(name);
      if (!ok)
        return FALSE;
    }
  }
  return TRUE;
}

gboolean nl_grade_report(const NlGradeResults *r, NlGradeFormat format,
                         const char *out, GError **error) {
  gboolean per_sub = format == NL_GRADE_FORMAT_TEXT ||
                     format == NL_GRADE_FORMAT_GRADESCOPE;
  gboolean folder = per_sub && out != NULL && r->subs->len > 1;
  if (out == NULL) {
    GString *s = g_string_new(NULL);
    if (per_sub)
      for (guint k = 0; k < r->subs->len; k++) {
        if (k > 0 && format == NL_GRADE_FORMAT_TEXT)
          g_string_append_c(s, '\n');
        nl_grade_format_submission(r, g_ptr_array_index(r->subs, k), format,
                                   s);
      }
    else
      nl_grade_format_all(r, format, s);
    fwrite(s->str, 1, s->len, stdout);
    g_string_free(s, TRUE);
    return fflush(stdout) == 0;
  }
  if (folder) {
    if (g_mkdir_with_parents(out, 0755) != 0) {
      g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_IO,
                  "%s: cannot make the report folder: %s", out,
                  g_strerror(errno));
      return FALSE;
    }
    for (guint k = 0; k < r->subs->len; k++) {
      const NlGradeSubmission *sub = g_ptr_array_index(r->subs, k);
      GString *s = g_string_new(NULL);
      nl_grade_format_submission(r, sub, format, s);
      char *name = g_strdup_printf(
          "%s.%s", sub->name, format == NL_GRADE_FORMAT_TEXT ? "txt" : "json");
      char *path = g_build_filename(out, name, NULL);
      gboolean ok = write_file(path, s, error);
      g_free(path);
      g_free(name);
      g_string_free(s, TRUE);
      if (!ok)
        return FALSE;
    }
    return write_timelines(r, out, error);
  }
  GString *s = g_string_new(NULL);
  if (per_sub && r->subs->len == 1)
    nl_grade_format_submission(r, g_ptr_array_index(r->subs, 0), format, s);
  else if (!per_sub)
    nl_grade_format_all(r, format, s);
  gboolean ok = write_file(out, s, error);
  g_string_free(s, TRUE);
  char *dir = g_path_get_dirname(out);
  ok = ok && write_timelines(r, dir, error);
  g_free(dir);
  return ok;
}
