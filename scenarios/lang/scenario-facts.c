/* What a scenario says about the system its programs see: a host's
 * `timezone=` and `nofile=` options, its `env` lines, and a run's `env=`
 * and `cwd=` options (docs/scenario-format.md, sim/host/facts.h). */
#include "scenarios/lang/scenario-priv.h"

#include <string.h>

#include "sim/core/tz.h"

#define NOFILE_MAX 1048576 /* Linux's fs.nr_open */

static NlScnLoc loc_of(const NlScnLine *l, const NlScnTok *t, gboolean value) {
  NlScnLoc loc = {l->file, l->line, value && t->key ? t->vcol : t->col};
  return loc;
}

/* An environment variable's name: a letter or '_', then letters, digits
 * and '_' (what a shell can export). */
static gboolean env_name_ok(const char *s, size_t n) {
  if (n == 0 || !(g_ascii_isalpha(s[0]) || s[0] == '_'))
    return FALSE;
  for (size_t i = 1; i < n; i++)
    if (!(g_ascii_isalnum(s[i]) || s[i] == '_'))
      return FALSE;
  return TRUE;
}

/* Checks "NAME=VALUE" at @loc and adds it to @env. */
static gboolean add_env(NlScnParser *p, const NlScnLoc *loc, const char *kv,
                        GPtrArray *env, const char *usage) {
  const char *eq = strchr(kv, '=');
  if (eq == NULL || !env_name_ok(kv, (size_t)(eq - kv)))
    return nl__scn_fail(p, loc, NL_SCENARIO_ERROR_VALUE,
                        "expected NAME=VALUE with NAME a letter or _ then "
                        "letters, digits or _ (like LANG=C.UTF-8), got "
                        "\"%s\" (usage: %s)",
                        kv, usage);
  g_ptr_array_add(env, g_strdup(kv));
  return TRUE;
}

gboolean nl__scn_host_options(NlScnParser *p, NlScnLine *l, guint from,
                              NlScnNode *n, const char *usage) {
  static const char *const opts[] = {"timezone", "nofile", NULL};
  gboolean tz_given = FALSE, nofile_given = FALSE;
  for (guint i = from; i < l->ntok; i++) {
    const NlScnTok *t = &l->tok[i];
    NlScnLoc loc = loc_of(l, t, FALSE), vloc = loc_of(l, t, TRUE);
    if (t->key == NULL)
      return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_SYNTAX,
                          "expected OPTION=VALUE or the end of the line, "
                          "got \"%s\" (usage: %s)",
                          t->text, usage);
    if (strcmp(t->key, "timezone") == 0) {
      if (tz_given)
        return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_CONFLICT,
                            "timezone= is given twice; expected it once");
      NlTz tz;
      if (!nl_tz_parse(t->value, &tz))
        return nl__scn_fail(
            p, &vloc, NL_SCENARIO_ERROR_VALUE,
            "expected a time zone: a named zone like Europe/Berlin (the "
            "table in docs/posix-coverage.md) or a POSIX TZ rule like "
            "CET-1CEST,M3.5.0,M10.5.0/3, got \"%s\"%s",
            t->value, nl__scn_from(t));
      n->timezone = g_strdup(t->value);
      tz_given = TRUE;
    } else if (strcmp(t->key, "nofile") == 0) {
      guint64 v;
      if (nofile_given)
        return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_CONFLICT,
                            "nofile= is given twice; expected it once");
      if (!nl__scn_parse_uint(t->value, &v) || v < 3 || v > NOFILE_MAX)
        return nl__scn_fail(p, &vloc, NL_SCENARIO_ERROR_VALUE,
                            "expected a descriptor limit from 3 to %d "
                            "(RLIMIT_NOFILE; Linux's default is 1024), got "
                            "\"%s\"%s",
                            NOFILE_MAX, t->value, nl__scn_from(t));
      n->nofile = v;
      nofile_given = TRUE;
    } else {
      const char *near = nl__scn_suggest(t->key, opts);
      return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_SYNTAX,
                          "unknown %s option \"%s\"%s%s%s (usage: %s)",
                          l->tok[0].text, t->key,
                          near ? "; did you mean \"" : "", near ? near : "",
                          near ? "\"?" : "", usage);
    }
  }
  return TRUE;
}

gboolean nl__scn_blk_env(NlScnParser *p, NlScnLine *l) {
  const char *usage = "env NAME=VALUE...";
  if (p->block->kind != NL_SCN_NODE_HOST &&
      p->block->kind != NL_SCN_NODE_ROUTER) {
    NlScnLoc loc = loc_of(l, &l->tok[0], FALSE);
    return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_SYNTAX,
                        "programs run on hosts and routers: expected no "
                        "`env` in a %s block",
                        nl_scn_node_kind_name(p->block->kind));
  }
  if (l->ntok < 2) {
    NlScnLoc loc = loc_of(l, &l->tok[0], FALSE);
    return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_SYNTAX,
                        "expected NAME=VALUE after env (usage: %s)", usage);
  }
  for (guint i = 1; i < l->ntok; i++) {
    const NlScnTok *t = &l->tok[i];
    NlScnLoc loc = loc_of(l, t, FALSE);
    if (!add_env(p, &loc, t->text, p->block->env, usage))
      return FALSE;
  }
  return TRUE;
}

gboolean nl__scn_run_option(NlScnParser *p, NlScnLine *l, guint i,
                            NlScnRun *r) {
  const NlScnTok *t = &l->tok[i];
  NlScnLoc vloc = loc_of(l, t, TRUE);
  if (strcmp(t->key, "env") == 0) {
    if (r->env == NULL)
      r->env = g_ptr_array_new_with_free_func(g_free);
    return add_env(p, &vloc, t->value, r->env, "env=NAME=VALUE");
  }
  /* cwd=: a directory, relative to the scenario file as program paths. */
  if (r->cwd != NULL) {
    NlScnLoc loc = loc_of(l, t, FALSE);
    return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_CONFLICT,
                        "cwd= is given twice; expected it once");
  }
  char *path = nl__scn_path(p, l->file, t->value);
  if (!nl__scn_file_test(p, path, G_FILE_TEST_IS_DIR)) {
    gboolean ok = nl__scn_fail(p, &vloc, NL_SCENARIO_ERROR_VALUE,
                               "expected an existing directory for cwd=, "
                               "got \"%s\" (looked for %s; a relative "
                               "directory is from the scenario file's)",
                               t->value, path);
    g_free(path);
    return ok;
  }
  r->cwd = path;
  return TRUE;
}
