/* Why an output expectation failed (see explain.h). */
#include "scenarios/runner/explain.h"

#include <string.h>

/* Lines longer than this are compared by their first bytes only, and
 * only the last lines of a very chatty program are searched, so a failed
 * expectation costs at most about 2^26 steps. */
#define COMPARE_BYTES 1024
#define COMPARE_LINES 4096

/* The fewest insertions, deletions and substitutions that make @text a
 * substring of @line (Sellers' algorithm: a match may start anywhere). */
static guint substring_distance(const char *text, const char *line) {
  gsize m = strlen(text), n = MIN(strlen(line), COMPARE_BYTES);
  guint *col = g_new(guint, m + 1);
  for (gsize i = 0; i <= m; i++)
    col[i] = (guint)i;
  guint best = col[m];
  for (gsize j = 1; j <= n; j++) {
    guint diag = col[0]; /* a match may start at any column: row 0 is 0 */
    for (gsize i = 1; i <= m; i++) {
      guint up = col[i];
      guint v = diag + (text[i - 1] != line[j - 1]);
      v = MIN(v, up + 1);
      v = MIN(v, col[i - 1] + 1);
      diag = up;
      col[i] = v;
    }
    best = MIN(best, col[m]);
  }
  g_free(col);
  return best;
}

gint nl__run_closest(const char *const *lines, guint n, const char *text,
                     guint *distance) {
  gint best = -1;
  guint bestd = G_MAXUINT;
  guint first = n > COMPARE_LINES ? n - COMPARE_LINES : 0;
  for (guint i = first; i < n; i++) {
    guint d = substring_distance(text, lines[i]);
    if (d < bestd) {
      bestd = d;
      best = (gint)i;
    }
  }
  if (distance)
    *distance = bestd;
  /* Half the text wrong is no longer "close". */
  if (best >= 0 && 2 * bestd >= strlen(text))
    return -1;
  return best;
}

typedef struct {
  NlTime time;
  char *text;
} Line;

static void line_clear(gpointer p) {
  g_free(((Line *)p)->text);
}

/* "  [   1.500000000] text" */
static void append_line(GString *out, const char *indent, const Line *l) {
  char tb[NL_TIME_STRLEN];
  g_string_append_printf(out, "%s[%12s] %s\n", indent,
                         nl_time_to_string(l->time, tb), l->text);
}

char *nl__run_explain_output(const NlTrace *t, guint32 proc, NlTraceKind kind,
                             const char *text, gboolean negate, NlTime until) {
  const char *who = nl_trace_name(t, proc);
  const char *stream = kind == NL_TRACE_STDOUT ? "stdout" : "stderr";
  NlTraceKind other =
      kind == NL_TRACE_STDOUT ? NL_TRACE_STDERR : NL_TRACE_STDOUT;
  GArray *lines = g_array_new(FALSE, FALSE, sizeof(Line));
  g_array_set_clear_func(lines, line_clear);
  Line elsewhere = {0, NULL};
  char *end = NULL; /* how the program ended, or NULL */
  gboolean started = FALSE;
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p) && rec->time <= until) {
    if (rec->peer != proc)
      continue;
    if (rec->kind == kind) {
      Line l = {rec->time, g_strndup((const char *)p, rec->len)};
      g_array_append_val(lines, l);
    } else if (rec->kind == other && !negate && elsewhere.text == NULL &&
               g_strstr_len((const char *)p, rec->len, text) != NULL) {
      elsewhere.time = rec->time;
      elsewhere.text = g_strndup((const char *)p, rec->len);
    } else if (rec->kind == NL_TRACE_PROC) {
      started = TRUE;
      if (g_str_has_prefix((const char *)p, "start "))
        continue;
      g_free(end);
      end = g_strndup((const char *)p, rec->len);
    }
  }

  GString *out = g_string_new(NULL);
  if (negate) {
    /* `lacks`: which lines had it. */
    guint shown = 0, total = 0;
    for (guint i = 0; i < lines->len; i++) {
      const Line *l = &g_array_index(lines, Line, i);
      if (strstr(l->text, text) == NULL)
        continue;
      if (total++ == 0)
        g_string_append_printf(out, "    printed on %s:\n", stream);
      if (shown < NL_EXPLAIN_LAST_LINES) {
        append_line(out, "      ", l);
        shown++;
      }
    }
    if (total > shown)
      g_string_append_printf(out, "      ... and %u more\n", total - shown);
    goto out;
  }

  if (!started) {
    g_string_append_printf(out, "    %s never started\n", who);
    goto out;
  }
  if (elsewhere.text != NULL) {
    g_string_append_printf(out, "    it was printed on %s:\n",
                           kind == NL_TRACE_STDOUT ? "stderr" : "stdout");
    append_line(out, "      ", &elsewhere);
  }
  if (lines->len == 0) {
    g_string_append_printf(out, "    %s printed nothing on %s\n", who, stream);
  } else {
    const char **texts = g_new(const char *, lines->len);
    for (guint i = 0; i < lines->len; i++)
      texts[i] = g_array_index(lines, Line, i).text;
    gint c = nl__run_closest(texts, lines->len, text, NULL);
    g_free(texts);
    if (c >= 0) {
      g_string_append(out, "    closest line:\n");
      append_line(out, "      ", &g_array_index(lines, Line, c));
    }
    guint from = lines->len > NL_EXPLAIN_LAST_LINES
                     ? lines->len - NL_EXPLAIN_LAST_LINES
                     : 0;
    if (from == 0)
      g_string_append_printf(out, "    %s printed on %s:\n", who, stream);
    else
      g_string_append_printf(out,
                             "    the last %u of %u lines %s printed "
                             "on %s:\n",
                             lines->len - from, lines->len, who, stream);
    for (guint i = from; i < lines->len; i++)
      append_line(out, "      ", &g_array_index(lines, Line, i));
  }
  if (end != NULL)
    g_string_append_printf(out, "    then: %s\n", end);
  else
    g_string_append_printf(out, "    %s was still running\n", who);
out:
  g_free(end);
  g_free(elsewhere.text);
  g_array_free(lines, TRUE);
  return g_string_free(out, FALSE);
}
