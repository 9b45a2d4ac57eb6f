/* Results: units (one submission's run of one test file under one seed)
 * as key files, shard results files, and the assembly of units into the
 * per-submission results a report shows.  A single run and a merge of
 * shards go through the same assembly, so they agree byte for byte. */
#include "grade/grade-priv.h"

#include <string.h>

#define RESULTS_MAGIC "natlab-grade-results 1"

NlGradeTest *nl__grade_test_new(void) {
  return g_new0(NlGradeTest, 1);
}

void nl__grade_test_free(gpointer p) {
  NlGradeTest *t = p;
  if (t == NULL)
    return;
  g_free(t->name);
  g_free(t->where);
  g_free(t->expected);
  g_free(t->feedback);
  g_free(t->failure);
  g_free(t->happened);
  g_free(t->trace);
  g_free(t->output);
  g_free(t->replay);
  g_free(t->seeds);
  g_free(t->svg);
  g_free(t);
}

static NlGradeTest *test_copy(const NlGradeTest *t) {
  NlGradeTest *c = nl__grade_test_new();
  *c = *t;
  c->name = g_strdup(t->name);
  c->where = g_strdup(t->where);
  c->expected = g_strdup(t->expected);
  c->feedback = g_strdup(t->feedback);
  c->failure = g_strdup(t->failure);
  c->happened = g_strdup(t->happened);
  c->trace = g_strdup(t->trace);
  c->output = g_strdup(t->output);
  c->replay = g_strdup(t->replay);
  c->seeds = g_strdup(t->seeds);
  c->svg = g_strdup(t->svg);
  return c;
}

NlGradeSubmission *nl__grade_sub_new(const char *name) {
  NlGradeSubmission *s = g_new0(NlGradeSubmission, 1);
  s->name = g_strdup(name);
  s->tests = g_ptr_array_new_with_free_func(nl__grade_test_free);
  return s;
}

void nl_grade_results_free(NlGradeResults *r) {
  if (r == NULL)
    return;
  for (guint i = 0; i < r->subs->len; i++) {
    NlGradeSubmission *s = g_ptr_array_index(r->subs, i);
    g_free(s->name);
    g_free(s->build_log);
    g_ptr_array_free(s->tests, TRUE);
    g_free(s);
  }
  g_ptr_array_free(r->subs, TRUE);
  g_free(r->assignment);
  g_free(r->title);
  g_free(r);
}

void nl__grade_unit_free(gpointer p) {
  NlGradeUnit *u = p;
  if (u == NULL)
    return;
  g_free(u->build_log);
  if (u->tests)
    g_ptr_array_free(u->tests, TRUE);
  g_free(u);
}

/* ---- key files ---- */

static void put(GKeyFile *kf, const char *group, guint i, const char *key,
                const char *value) {
  if (value == NULL)
    return;
  char *k = g_strdup_printf("t%u.%s", i, key);
  g_key_file_set_string(kf, group, k, value);
  g_free(k);
}

static char *get(GKeyFile *kf, const char *group, guint i, const char *key) {
  char *k = g_strdup_printf("t%u.%s", i, key);
  char *v = g_key_file_get_string(kf, group, k, NULL);
  g_free(k);
  return v;
}

void nl__grade_unit_to_keyfile(const NlGradeUnit *u, GKeyFile *kf,
                               const char *group) {
  g_key_file_set_uint64(kf, group, "index", u->index);
  g_key_file_set_uint64(kf, group, "sub", u->sub);
  g_key_file_set_uint64(kf, group, "test", u->test);
  g_key_file_set_uint64(kf, group, "seed_i", u->seed_i);
  if (u->build_log)
    g_key_file_set_string(kf, group, "build_log", u->build_log);
  g_key_file_set_uint64(kf, group, "n", u->tests->len);
  for (guint i = 0; i < u->tests->len; i++) {
    const NlGradeTest *t = g_ptr_array_index(u->tests, i);
    char num[64];
    put(kf, group, i, "name", t->name);
    put(kf, group, i, "where", t->where);
    put(kf, group, i, "expected", t->expected);
    put(kf, group, i, "feedback", t->feedback);
    g_snprintf(num, sizeof num, "%" G_GINT64_FORMAT, t->max);
    put(kf, group, i, "max", num);
    g_snprintf(num, sizeof num, "%" G_GINT64_FORMAT, t->got);
    put(kf, group, i, "got", num);
    put(kf, group, i, "passed", t->passed ? "1" : "0");
    put(kf, group, i, "failure", t->failure);
    put(kf, group, i, "happened", t->happened);
    put(kf, group, i, "trace", t->trace);
    put(kf, group, i, "output", t->output);
    g_snprintf(num, sizeof num, "%" G_GUINT64_FORMAT, t->seed);
    put(kf, group, i, "seed", num);
    put(kf, group, i, "replay", t->replay);
    put(kf, group, i, "svg", t->svg);
  }
}

NlGradeUnit *nl__grade_unit_from_keyfile(GKeyFile *kf, const char *group,
                                         GError **error) {
  GError *err = NULL;
  NlGradeUnit *u = g_new0(NlGradeUnit, 1);
  u->tests = g_ptr_array_new_with_free_func(nl__grade_test_free);
  u->index = (guint)g_key_file_get_uint64(kf, group, "index", &err);
  if (!err)
    u->sub = (guint)g_key_file_get_uint64(kf, group, "sub", &err);
  if (!err)
    u->test = (guint)g_key_file_get_uint64(kf, group, "test", &err);
  if (!err)
    u->seed_i = (guint)g_key_file_get_uint64(kf, group, "seed_i", &err);
  guint64 n = err ? 0 : g_key_file_get_uint64(kf, group, "n", &err);
  if (err) {
    g_propagate_error(error, err);
    nl__grade_unit_free(u);
    return NULL;
  }
  u->build_log = g_key_file_get_string(kf, group, "build_log", NULL);
  for (guint i = 0; i < n && i < 100000; i++) {
    NlGradeTest *t = nl__grade_test_new();
    t->name = get(kf, group, i, "name");
    t->where = get(kf, group, i, "where");
    t->expected = get(kf, group, i, "expected");
    t->feedback = get(kf, group, i, "feedback");
    char *v = get(kf, group, i, "max");
    t->max = v ? g_ascii_strtoll(v, NULL, 10) : 0;
    g_free(v);
    v = get(kf, group, i, "got");
    t->got = v ? g_ascii_strtoll(v, NULL, 10) : 0;
    g_free(v);
    v = get(kf, group, i, "passed");
    t->passed = v && strcmp(v, "1") == 0;
    g_free(v);
    t->failure = get(kf, group, i, "failure");
    t->happened = get(kf, group, i, "happened");
    t->trace = get(kf, group, i, "trace");
    t->output = get(kf, group, i, "output");
    v = get(kf, group, i, "seed");
    t->seed = v ? g_ascii_strtoull(v, NULL, 10) : 0;
    g_free(v);
    t->replay = get(kf, group, i, "replay");
    t->svg = get(kf, group, i, "svg");
    if (t->name == NULL) {
      g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_IO,
                  "unit %s: test %u has no name", group, i);
      nl__grade_test_free(t);
      nl__grade_unit_free(u);
      return NULL;
    }
    g_ptr_array_add(u->tests, t);
  }
  return u;
}

/* ---- assembly ---- */

static gint by_index(gconstpointer a, gconstpointer b) {
  const NlGradeUnit *x = *(NlGradeUnit *const *)a;
  const NlGradeUnit *y = *(NlGradeUnit *const *)b;
  return x->index < y->index ? -1 : x->index > y->index;
}

NlGradeResults *nl__grade_assemble(const NlGradePlan *plan, GPtrArray *units,
                                   GError **error) {
  guint total = plan->subs->len * plan->n_tests * plan->n_seeds;
  NlGradeUnit **at = g_new0(NlGradeUnit *, MAX(total, 1));
  for (guint i = 0; i < units->len; i++) {
    NlGradeUnit *u = g_ptr_array_index(units, i);
    if (u->index >= total || at[u->index] != NULL) {
      g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_USAGE,
                  "unit %u is %s: were the shards of one grading merged?",
                  u->index, u->index >= total ? "out of range" : "repeated");
      g_free(at);
      return NULL;
    }
    at[u->index] = u;
  }
  for (guint i = 0; i < total; i++)
    if (at[i] == NULL) {
      g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_USAGE,
                  "unit %u of %u is missing: expected the results of every "
                  "shard",
                  i, total);
      g_free(at);
      return NULL;
    }
  NlGradeResults *r = g_new0(NlGradeResults, 1);
  r->assignment = g_strdup(plan->assignment);
  r->title = g_strdup(plan->title);
  r->subs = g_ptr_array_new();
  for (guint s = 0; s < plan->subs->len; s++) {
    NlGradeSubmission *sub =
        nl__grade_sub_new(g_ptr_array_index(plan->subs, s));
    g_ptr_array_add(r->subs, sub);
    for (guint f = 0; f < plan->n_tests; f++) {
      guint base = (s * plan->n_tests + f) * plan->n_seeds;
      NlGradeUnit *first = at[base];
      if (first->build_log && sub->build_log == NULL)
        sub->build_log = g_strdup(first->build_log);
      for (guint k = 0; k < first->tests->len; k++) {
        NlGradeTest *t = test_copy(g_ptr_array_index(first->tests, k));
        /* With several seeds: the outcome under each, when they differ. */
        gboolean differs = FALSE;
        for (guint q = 1; q < plan->n_seeds; q++) {
          NlGradeUnit *o = at[base + q];
          const NlGradeTest *ot =
              k < o->tests->len ? g_ptr_array_index(o->tests, k) : NULL;
          differs |= ot == NULL || ot->passed != t->passed;
        }
        if (differs) {
          GString *pass = g_string_new(NULL), *fail = g_string_new(NULL);
          for (guint q = 0; q < plan->n_seeds; q++) {
            NlGradeUnit *o = at[base + q];
            const NlGradeTest *ot =
                k < o->tests->len ? g_ptr_array_index(o->tests, k) : NULL;
            GString *to = ot && ot->passed ? pass : fail;
            g_string_append_printf(to, "%s%" G_GUINT64_FORMAT,
                                   to->len ? ", " : "", ot ? ot->seed : 0);
          }
          t->seeds = g_strdup_printf(
              "the outcome depends on the seed: it passes with seed %s and "
              "fails with seed %s",
              pass->str, fail->str);
          g_string_free(pass, TRUE);
          g_string_free(fail, TRUE);
        }
        g_ptr_array_add(sub->tests, t);
      }
    }
  }
  g_free(at);
  return r;
}

/* ---- results files ---- */

gboolean nl__grade_units_write(const NlGradePlan *plan, GPtrArray *units,
                               const char *path, GError **error) {
  GKeyFile *kf = g_key_file_new();
  g_key_file_set_string(kf, "grading", "format", RESULTS_MAGIC);
  g_key_file_set_string(kf, "grading", "assignment", plan->assignment);
  g_key_file_set_string(kf, "grading", "title", plan->title);
  g_key_file_set_string_list(kf, "grading", "submissions",
                             (const char *const *)plan->subs->pdata,
                             plan->subs->len);
  g_key_file_set_uint64(kf, "grading", "tests", plan->n_tests);
  g_key_file_set_uint64(kf, "grading", "seeds", plan->n_seeds);
  g_key_file_set_uint64(kf, "grading", "shard", plan->shard);
  g_key_file_set_uint64(kf, "grading", "shards", plan->shards);
  GPtrArray *sorted = g_ptr_array_copy(units, NULL, NULL);
  g_ptr_array_sort(sorted, by_index);
  for (guint i = 0; i < sorted->len; i++) {
    const NlGradeUnit *u = g_ptr_array_index(sorted, i);
    char *group = g_strdup_printf("unit %u", u->index);
    nl__grade_unit_to_keyfile(u, kf, group);
    g_free(group);
  }
  g_ptr_array_free(sorted, TRUE);
  gboolean ok = g_key_file_save_to_file(kf, path, error);
  g_key_file_free(kf);
  return ok;
}

NlGradeResults *nl_grade_results_merge(char **paths, GError **error) {
  NlGradePlan plan = {0};
  GPtrArray *units = g_ptr_array_new_with_free_func(nl__grade_unit_free);
  NlGradeResults *r = NULL;
  char **subs = NULL;
  gboolean ok = TRUE;
  for (guint i = 0; ok && paths[i] != NULL; i++) {
    GKeyFile *kf = g_key_file_new();
    GError *err = NULL;
    char *magic = NULL;
    if (!g_key_file_load_from_file(kf, paths[i], G_KEY_FILE_NONE, &err) ||
        (magic = g_key_file_get_string(kf, "grading", "format", NULL)) ==
            NULL ||
        strcmp(magic, RESULTS_MAGIC) != 0) {
      g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_IO,
                  "%s: not a natlab grade results file (%s): expected the "
                  "-o file of `natlab grade --shard I/N`",
                  paths[i], err ? err->message : "no [grading] format line");
      g_clear_error(&err);
      g_free(magic);
      g_key_file_free(kf);
      ok = FALSE;
      break;
    }
    g_free(magic);
    char *assignment = g_key_file_get_string(kf, "grading", "assignment", NULL);
    char *title = g_key_file_get_string(kf, "grading", "title", NULL);
    char **these = g_key_file_get_string_list(kf, "grading", "submissions",
                                              NULL, NULL);
    guint n_tests = (guint)g_key_file_get_uint64(kf, "grading", "tests", NULL);
    guint n_seeds = (guint)g_key_file_get_uint64(kf, "grading", "seeds", NULL);
    if (i == 0) {
      plan.assignment = assignment;
      plan.title = title;
      subs = these;
      plan.n_tests = n_tests;
      plan.n_seeds = MAX(n_seeds, 1);
    } else {
      gboolean same = g_strcmp0(assignment, plan.assignment) == 0 &&
                      n_tests == plan.n_tests &&
                      MAX(n_seeds, 1) == plan.n_seeds && these && subs &&
                      g_strv_equal((const char *const *)these,
                                   (const char *const *)subs);
      g_free(assignment);
      g_free(title);
      g_strfreev(these);
      if (!same) {
        g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_USAGE,
                    "%s: its grading differs from %s's (assignment, "
                    "submissions, tests or seeds): expected shards of one "
                    "grading",
                    paths[i], paths[0]);
        g_key_file_free(kf);
        ok = FALSE;
        break;
      }
    }
    gsize ng = 0;
    char **groups = g_key_file_get_groups(kf, &ng);
    for (gsize g = 0; ok && g < ng; g++) {
      if (!g_str_has_prefix(groups[g], "unit "))
        continue;
      NlGradeUnit *u = nl__grade_unit_from_keyfile(kf, groups[g], &err);
      if (u == NULL) {
        g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_IO, "%s: %s",
                    paths[i], err->message);
        g_clear_error(&err);
        ok = FALSE;
        break;
      }
      g_ptr_array_add(units, u);
    }
    g_strfreev(groups);
    g_key_file_free(kf);
  }
  if (ok && subs == NULL) {
    g_set_error(error, NL_GRADE_ERROR, NL_GRADE_ERROR_USAGE,
                "no results file to merge");
    ok = FALSE;
  }
  if (ok) {
    plan.subs = g_ptr_array_new();
    for (guint i = 0; subs[i] != NULL; i++)
      g_ptr_array_add(plan.subs, subs[i]);
    r = nl__grade_assemble(&plan, units, error);
    g_ptr_array_free(plan.subs, TRUE);
  }
  g_strfreev(subs);
  g_free(plan.assignment);
  g_free(plan.title);
  g_ptr_array_free(units, TRUE);
  return r;
}

char *nl_grade_points(gint64 h) {
  if (h % 100 == 0)
    return g_strdup_printf("%" G_GINT64_FORMAT, h / 100);
  if (h % 10 == 0)
    return g_strdup_printf("%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT, h / 100,
                           (h % 100) / 10);
  return g_strdup_printf("%" G_GINT64_FORMAT ".%02" G_GINT64_FORMAT, h / 100,
                         h % 100);
}
