/* The assignment folder: its rubric, read line by line in the scenario
 * language's style, and its test files, each loaded and checked against
 * the rubric (docs/grading.md).  Every mistake is one error naming
 * file:line:col. */
#include "grade/grade-priv.h"

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

G_DEFINE_QUARK(natlab-grade-error-quark, nl_grade_error)

typedef struct {
  char *text;
  char *key, *value; /* KEY=VALUE words */
  guint col;
} Word;

static void words_free(GArray *w) {
  for (guint i = 0; i < w->len; i++) {
    Word *x = &g_array_index(w, Word, i);
    g_free(x->text);
    g_free(x->key);
    g_free(x->value);
  }
  g_array_free(w, TRUE);
}

static gboolean fail(GError **error, const char *file, guint line, guint col,
                     const char *fmt, ...) G_GNUC_PRINTF(5, 6);
static gboolean fail(GError **error, const char *file, guint line, guint col,
                     const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_ASSIGNMENT,
              "%s:%u:%u: %s", file, line, col, msg);
  g_free(msg);
  return FALSE;
}

/* Splits @line into words: blanks separate, "..." is one word (escapes
 * \" \\ \n \t), # starts a comment at the start of a word. */
static GArray *split(const char *line, const char *file, guint lineno,
                     GError **error) {
  GArray *out = g_array_new(FALSE, TRUE, sizeof(Word));
  const char *c = line;
  for (;;) {
    while (*c == ' ' || *c == '\t')
      c++;
    if (*c == '\0' || *c == '#')
      break;
    Word w = {.col = (guint)g_utf8_strlen(line, c - line) + 1};
    GString *s = g_string_new(NULL);
    gboolean quoted_value = FALSE;
    while (*c != '\0' && *c != ' ' && *c != '\t') {
      if (*c == '"') {
        const char *open = c++;
        while (*c != '"') {
          if (*c == '\0') {
            g_string_free(s, TRUE);
            words_free(out);
            fail(error, file, lineno,
                 (guint)g_utf8_strlen(line, open - line) + 1,
                 "unterminated string: expected a closing \"");
            return NULL;
          }
          if (*c == '\\' && c[1] != '\0') {
            c++;
            g_string_append_c(s, *c == 'n' ? '\n' : *c == 't' ? '\t' : *c);
          } else {
            g_string_append_c(s, *c);
          }
          c++;
        }
        c++;
        quoted_value = TRUE;
        continue;
      }
      if (*c == '=' && w.key == NULL && !quoted_value && s->len > 0) {
        w.key = g_strdup(s->str);
        g_string_truncate(s, 0);
        c++;
        continue;
      }
      g_string_append_c(s, *c++);
    }
    if (w.key != NULL) {
      w.value = g_strdup(s->str);
      w.text = g_strdup_printf("%s=%s", w.key, s->str);
      g_string_free(s, TRUE);
    } else {
      w.text = g_string_free(s, FALSE);
    }
    g_array_append_val(out, w);
  }
  return out;
}

static gboolean parse_size(const char *v, guint64 *out) {
  char *end;
  double n = g_ascii_strtod(v, &end);
  if (end == v || n < 0)
    return FALSE;
  static const struct {
    const char *unit;
    double mult;
  } units[] = {{"", 1},         {"B", 1},          {"KB", 1e3},
               {"kB", 1e3},     {"KiB", 1024.0},   {"MB", 1e6},
               {"MiB", 1048576.0}, {"GB", 1e9},    {"GiB", 1073741824.0}};
  for (guint i = 0; i < G_N_ELEMENTS(units); i++)
    if (strcmp(end, units[i].unit) == 0) {
      *out = (guint64)(n * units[i].mult);
      return TRUE;
    }
  return FALSE;
}

static gboolean parse_ms(const char *v, gint64 *out) {
  char *end;
  double n = g_ascii_strtod(v, &end);
  if (end == v || n <= 0)
    return FALSE;
  double mult = strcmp(end, "ms") == 0    ? 1
                : strcmp(end, "s") == 0   ? 1000
                : strcmp(end, "min") == 0 ? 60000
                                          : -1;
  if (mult < 0)
    return FALSE;
  *out = (gint64)(n * mult);
  return *out > 0;
}

static gboolean parse_line(NlAssignment *a, GArray *w, const char *file,
                           guint n, GError **error) {
  Word *w0 = &g_array_index(w, Word, 0);
  const char *kw = w0->text;
  guint nw = w->len;
#define W(i) (&g_array_index(w, Word, (i)))
#define END_COL(i) (W(i)->col + (guint)g_utf8_strlen(W(i)->text, -1) + 1)
  if (strcmp(kw, "assignment") == 0) {
    if (nw != 2)
      return fail(error, file, n, nw < 2 ? END_COL(0) : W(2)->col,
                  "expected one title: assignment \"TITLE\"");
    g_free(a->title);
    a->title = g_strdup(W(1)->text);
    return TRUE;
  }
  if (strcmp(kw, "program") == 0) {
    if (nw != 3)
      return fail(error, file, n, nw < 3 ? END_COL(nw - 1) : W(3)->col,
                  "expected program NAME FILE.c (the constant tests use and "
                  "the submission's file with main)");
    const char *name = W(1)->text;
    gboolean ok = g_ascii_isalpha(name[0]) || name[0] == '_';
    for (const char *c = name; *c; c++)
      ok &= g_ascii_isalnum(*c) || *c == '_';
    if (!ok)
      return fail(error, file, n, W(1)->col,
                  "expected a constant name (letters, digits, _), got \"%s\"",
                  name);
    const char *main = W(2)->text;
    if (!g_str_has_suffix(main, ".c") || strchr(main, '/') != NULL ||
        strlen(main) < 3)
      return fail(error, file, n, W(2)->col,
                  "expected a C file name like server.c (in the submission's "
                  "folder), got \"%s\"",
                  main);
    for (guint i = 0; i < a->programs->len; i++) {
      NlGradeProgram *p = g_ptr_array_index(a->programs, i);
      if (strcmp(p->name, name) == 0 || strcmp(p->main, main) == 0)
        return fail(error, file, n, W(1)->col,
                    "program %s (%s) is already declared at %s", p->name,
                    p->main, p->where);
    }
    NlGradeProgram *p = g_new0(NlGradeProgram, 1);
    p->name = g_strdup(name);
    p->main = g_strdup(main);
    p->where = g_strdup_printf("%s:%u:%u", file, n, W(1)->col);
    g_ptr_array_add(a->programs, p);
    return TRUE;
  }
  if (strcmp(kw, "test") == 0) {
    if (nw != 2)
      return fail(error, file, n, nw < 2 ? END_COL(0) : W(2)->col,
                  "expected test FILE.nlab");
    const char *rel = W(1)->text;
    if (!g_str_has_suffix(rel, ".nlab") || g_path_is_absolute(rel) ||
        strstr(rel, "..") != NULL)
      return fail(error, file, n, W(1)->col,
                  "expected a scenario file inside the assignment folder "
                  "like tests/one-client.nlab, got \"%s\"",
                  rel);
    for (guint i = 0; i < a->tests->len; i++) {
      NlGradeTestFile *t = g_ptr_array_index(a->tests, i);
      if (strcmp(t->rel, rel) == 0)
        return fail(error, file, n, W(1)->col,
                    "test %s is already listed at %s", rel, t->where);
    }
    NlGradeTestFile *t = g_new0(NlGradeTestFile, 1);
    t->rel = g_strdup(rel);
    t->path = g_build_filename(a->dir, rel, NULL);
    t->where = g_strdup_printf("%s:%u:%u", file, n, W(1)->col);
    g_ptr_array_add(a->tests, t);
    if (!g_file_test(t->path, G_FILE_TEST_IS_REGULAR))
      return fail(error, file, n, W(1)->col, "test file %s does not exist",
                  t->path);
    return TRUE;
  }
  if (strcmp(kw, "seeds") == 0) {
    guint64 k = 0;
    if (nw != 2 || !g_ascii_string_to_unsigned(W(1)->text, 10, 1, 1000, &k,
                                               NULL))
      return fail(error, file, n, nw < 2 ? END_COL(0) : W(1)->col,
                  "expected seeds K with K from 1 to 1000");
    a->seeds = (guint)k;
    return TRUE;
  }
  if (strcmp(kw, "limits") == 0) {
    if (nw < 2)
      return fail(error, file, n, END_COL(0),
                  "expected limits KEY=VALUE... (cpu=, memory=, wall=, "
                  "output=)");
    for (guint i = 1; i < nw; i++) {
      Word *x = W(i);
      gboolean ok = FALSE;
      if (x->key == NULL)
        return fail(error, file, n, x->col,
                    "expected KEY=VALUE like cpu=20s, got \"%s\"", x->text);
      if (strcmp(x->key, "cpu") == 0)
        ok = parse_ms(x->value, &a->limits.cpu_ms);
      else if (strcmp(x->key, "wall") == 0)
        ok = parse_ms(x->value, &a->limits.wall_ms);
      else if (strcmp(x->key, "memory") == 0)
        ok = parse_size(x->value, &a->limits.memory) &&
             a->limits.memory >= (64u << 20);
      else if (strcmp(x->key, "output") == 0)
        ok = parse_size(x->value, &a->limits.output);
      else
        return fail(error, file, n, x->col,
                    "unknown limit \"%s\": expected cpu, memory, wall or "
                    "output",
                    x->key);
      if (!ok)
        return fail(error, file, n, x->col + (guint)strlen(x->key) + 1,
                    "expected %s, got \"%s\"",
                    strcmp(x->key, "cpu") == 0 || strcmp(x->key, "wall") == 0
                        ? "a time like 20s or 500ms"
                    : strcmp(x->key, "memory") == 0
                        ? "a size of at least 64MiB like 1GiB"
                        : "a size like 64MiB",
                    x->value);
    }
    return TRUE;
  }
  static const char *const kws[] = {"assignment", "program", "test", "limits",
                                    "seeds", NULL};
  char *all = g_strjoinv(", ", (char **)kws);
  fail(error, file, n, w0->col, "unknown statement \"%s\": expected one of %s",
       kw, all);
  g_free(all);
  return FALSE;
#undef W
#undef END_COL
}

NlScenario *nl__grade_load_test(const NlAssignment *a, const char *path,
                                const char *const *values, gboolean *used,
                                GError **error) {
  guint n = a->programs->len;
  gboolean *set = g_new(gboolean, n + 1);
  for (guint p = 0; p < n; p++)
    set[p] = TRUE;
  NlScenario *s = NULL;
  /* Every program set; a constant the file lacks is named by the error
   * ("--set NAME=VALUE: FILE sets no constant ..."): left out, again. */
  for (guint attempt = 0; attempt <= n; attempt++) {
    GPtrArray *sets = g_ptr_array_new_with_free_func(g_free);
    for (guint p = 0; p < n; p++)
      if (set[p])
        g_ptr_array_add(
            sets, g_strdup_printf(
                      "%s=%s",
                      ((NlGradeProgram *)g_ptr_array_index(a->programs, p))
                          ->name,
                      values[p]));
    g_ptr_array_add(sets, NULL);
    GError *err = NULL;
    s = nl_scenario_load(path, (const char *const *)sets->pdata, &err);
    gint unused = -1;
    if (s == NULL && err->code == NL_SCENARIO_ERROR_OVERRIDE)
      for (guint p = 0, k = 0; p < n && unused < 0; p++) {
        if (!set[p])
          continue;
        char *head = g_strdup_printf(
            "--set %s:", (char *)g_ptr_array_index(sets, k++));
        if (g_str_has_prefix(err->message, head))
          unused = (gint)p;
        g_free(head);
      }
    g_ptr_array_free(sets, TRUE);
    if (s != NULL || unused < 0) {
      if (err != NULL)
        g_propagate_error(error, err);
      break;
    }
    g_error_free(err);
    set[unused] = FALSE;
  }
  for (guint p = 0; used != NULL && p < n; p++)
    used[p] = s != NULL && set[p];
  g_free(set);
  return s;
}

/* Each test file loads with every program set, holds a graded
 * expectation, and sets each program it runs as a constant.  The
 * programs are set to a placeholder (an empty file, removed after): the
 * reference solution the `set` lines name need not be there. */
static gboolean check_tests(NlAssignment *a, GError **error) {
  GHashTable *names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                            g_free);
  gboolean ok = TRUE;
  char *placeholder = NULL;
  int pfd = g_file_open_tmp("natlab-grade-XXXXXX.so", &placeholder, error);
  if (pfd < 0) {
    g_hash_table_destroy(names);
    return FALSE;
  }
  close(pfd);
  const char **values = g_new0(const char *, a->programs->len + 1);
  for (guint p = 0; p < a->programs->len; p++)
    values[p] = placeholder;
  gboolean *used = g_new0(gboolean, a->programs->len + 1);
  for (guint i = 0; ok && i < a->tests->len; i++) {
    NlGradeTestFile *t = g_ptr_array_index(a->tests, i);
    NlScenario *s = nl__grade_load_test(a, t->path, values, used, error);
    if (s == NULL) {
      ok = FALSE;
      break;
    }
    /* A requires= names one other expectation of the file. */
    for (guint k = 0; ok && k < s->expects->len; k++) {
      const NlScnExpect *e = g_ptr_array_index(s->expects, k);
      if (e->requires == NULL)
        continue;
      guint found = 0;
      gboolean self = FALSE;
      for (guint q = 0; q < s->expects->len; q++) {
        const NlScnExpect *o = g_ptr_array_index(s->expects, q);
        if (o->title != NULL && strcmp(o->title, e->requires) == 0) {
          found++;
          self |= q == k;
        }
      }
      const NlScnLoc *l = &e->requires_loc;
      if (self)
        ok = fail(error, l->file, l->line, l->column,
                  "requires=\"%s\" names this expectation itself: expected "
                  "the name= of another expectation of this file",
                  e->requires);
      else if (found != 1)
        ok = fail(error, l->file, l->line, l->column,
                  found == 0 ? "requires=\"%s\": no expectation of this file "
                               "has name=\"%s\""
                             : "requires=\"%s\": more than one expectation "
                               "of this file has name=\"%s\"",
                  e->requires, e->requires);
    }
    guint graded = 0;
    for (guint k = 0; ok && k < s->expects->len; k++) {
      const NlScnExpect *e = g_ptr_array_index(s->expects, k);
      if (e->points < 0)
        continue;
      graded++;
      char *name = nl__grade_test_name(e);
      const char *prev = g_hash_table_lookup(names, name);
      if (prev != NULL) {
        NlScnLoc l = e->title ? e->title_loc : e->loc;
        fail(error, l.file, l.line, l.column,
             "the test name \"%s\" is already used at %s: expected a "
             "name= unique in the assignment",
             name, prev);
        g_free(name);
        ok = FALSE;
        break;
      }
      g_hash_table_insert(names, name,
                          g_strdup_printf("%s:%u", e->loc.file, e->loc.line));
    }
    if (ok && graded == 0) {
      char *w = g_strdup(t->where);
      g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_ASSIGNMENT,
                  "%s: %s has no graded expectation: expected an `expect` "
                  "line with points=",
                  w, t->rel);
      g_free(w);
      ok = FALSE;
    }
    /* The programs of the rubric it uses are constants it sets. */
    for (guint k = 0; ok && k < a->programs->len; k++) {
      NlGradeProgram *p = g_ptr_array_index(a->programs, k);
      if (!used[k] && a->programs->len == 1) {
        g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_ASSIGNMENT,
                    "%s: %s does not set the program's constant: expected "
                    "a line `set %s = ../reference/%s` and `run ... $%s`",
                    p->where, t->rel, p->name, p->main, p->name);
        ok = FALSE;
      }
    }
    nl_scenario_free(s);
  }
  g_unlink(placeholder);
  g_free(placeholder);
  g_free(values);
  g_free(used);
  g_hash_table_destroy(names);
  return ok;
}

NlAssignment *nl_assignment_load(const char *dir, GError **error) {
  NlAssignment *a = g_new0(NlAssignment, 1);
  a->dir = g_strdup(dir);
  char *trimmed = g_strdup(dir);
  while (strlen(trimmed) > 1 && g_str_has_suffix(trimmed, "/"))
    trimmed[strlen(trimmed) - 1] = '\0';
  a->id = g_path_get_basename(trimmed);
  g_free(trimmed);
  a->programs = g_ptr_array_new();
  a->tests = g_ptr_array_new();
  a->limits = (NlGradeLimits){.cpu_ms = 60000, .memory = 2ull << 30,
                              .wall_ms = 300000, .output = 64u << 20};
  char *rubric = g_build_filename(dir, "rubric", NULL);
  char *text = NULL;
  gsize len = 0;
  gboolean ok = TRUE;
  if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
    g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_ASSIGNMENT,
                "%s: not a folder: expected an assignment folder with a "
                "rubric",
                dir);
    ok = FALSE;
  } else if (!g_file_get_contents(rubric, &text, &len, NULL) ||
             len > (1u << 20) || !g_utf8_validate(text, (gssize)len, NULL) ||
             memchr(text, '\0', len) != NULL) {
    g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_ASSIGNMENT,
                "%s: cannot read the rubric: expected a UTF-8 text file "
                "(docs/grading.md)",
                rubric);
    ok = FALSE;
  }
  char **lines = ok ? g_strsplit(text, "\n", -1) : NULL;
  for (guint n = 0; ok && lines[n] != NULL; n++) {
    char *l = lines[n];
    gsize ll = strlen(l);
    if (ll > 0 && l[ll - 1] == '\r')
      l[ll - 1] = '\0';
    GArray *w = split(l, rubric, n + 1, error);
    if (w == NULL) {
      ok = FALSE;
      break;
    }
    if (w->len > 0)
      ok = parse_line(a, w, rubric, n + 1, error);
    words_free(w);
  }
  if (ok && a->programs->len == 0)
    ok = fail(error, rubric, 1, 1,
              "no program: expected a line `program NAME FILE.c`");
  if (ok && a->tests->len == 0)
    ok = fail(error, rubric, 1, 1,
              "no test: expected a line `test tests/FILE.nlab`");
  if (ok && a->title == NULL)
    a->title = g_strdup(a->id);
  g_strfreev(lines);
  g_free(text);
  g_free(rubric);
  if (ok)
    ok = check_tests(a, error);
  if (!ok) {
    nl_assignment_free(a);
    return NULL;
  }
  return a;
}

void nl_assignment_free(NlAssignment *a) {
  if (a == NULL)
    return;
  for (guint i = 0; i < a->programs->len; i++) {
    NlGradeProgram *p = g_ptr_array_index(a->programs, i);
    g_free(p->name);
    g_free(p->main);
    g_free(p->where);
    g_free(p);
  }
  for (guint i = 0; i < a->tests->len; i++) {
    NlGradeTestFile *t = g_ptr_array_index(a->tests, i);
    g_free(t->rel);
    g_free(t->path);
    g_free(t->where);
    g_free(t);
  }
  g_ptr_array_free(a->programs, TRUE);
  g_ptr_array_free(a->tests, TRUE);
  g_free(a->dir);
  g_free(a->id);
  g_free(a->title);
  g_free(a);
}

char *nl__grade_test_name(const NlScnExpect *e) {
  return g_strdup(e->title ? e->title : e->source);
}
