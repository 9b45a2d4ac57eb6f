/* The `timeline` statement's options, shared by the parser (a scenario's
 * `timeline KEY=VALUE...` line) and the command line (`natlab run --from
 * --to --hide --lanes --page`, which override the scenario), so both
 * accept the same values with the same messages.
 */
#include <string.h>

#include "scenarios/lang/scenario-priv.h"
#include "sim/core/trace.h"

static const char *const keys[] = {"title", "hide",  "from",  "to",
                                   "collapse", "lanes", "states", "style",
                                   "page",  "end",   "card",  NULL};

const char *const *nl_scenario_timeline_keys(void) {
  return keys;
}

void nl__scn_timeline_init(NlScnTimeline *t) {
  memset(t, 0, sizeof *t);
  t->to = NL_TIME_NEVER;
  t->collapse = TRUE;
  t->end = TRUE;
  t->card = TRUE;
  t->lane_list = g_ptr_array_new();
}

static void lane_free(NlScnLane *l) {
  g_free(l->name);
  g_free(l->label);
  g_free(l);
}

void nl__scn_timeline_clear(NlScnTimeline *t) {
  g_free(t->title);
  g_free(t->states);
  for (guint i = 0; t->lane_list && i < t->lane_list->len; i++)
    lane_free(g_ptr_array_index(t->lane_list, i));
  if (t->lane_list)
    g_ptr_array_free(t->lane_list, TRUE);
  memset(t, 0, sizeof *t);
}

static gboolean bad(GError **error, int code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static gboolean bad(GError **error, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error_literal(error, NL_SCENARIO_ERROR, code, msg);
  g_free(msg);
  return FALSE;
}

static gboolean set_time(NlTime *out, const char *value, GError **error) {
  gboolean neg = FALSE;
  if (nl__scn_parse_time(value, out, &neg))
    return TRUE;
  if (neg)
    return bad(error, NL_SCENARIO_ERROR_VALUE,
               "a time cannot be negative, got \"%s\"", value);
  return bad(error, NL_SCENARIO_ERROR_VALUE,
             "expected a time like 20ms (a number and one of the units ns, "
             "us, ms, s, min, h), got \"%s\"",
             value);
}

static gboolean set_hide(NlScnTimeline *t, const char *value, guint *offset,
                         GError **error) {
  char **kinds = g_strsplit(value, ",", -1);
  guint64 hide = 0;
  guint at = 0; /* characters before kinds[n] in the value */
  for (guint n = 0; kinds[n] != NULL;
       at += (guint)g_utf8_strlen(kinds[n], -1) + 1, n++) {
    int found = -1;
    for (int q = 0; q < NL_TRACE_N_KINDS; q++)
      if (strcmp(kinds[n], nl_trace_kind_name((NlTraceKind)q)) == 0)
        found = q;
    if (found >= 0) {
      hide |= G_GUINT64_CONSTANT(1) << found;
      continue;
    }
    GPtrArray *names = g_ptr_array_new();
    for (int q = 0; q < NL_TRACE_N_KINDS; q++)
      g_ptr_array_add(names, (gpointer)nl_trace_kind_name((NlTraceKind)q));
    g_ptr_array_add(names, NULL);
    char *all = g_strjoinv(", ", (char **)names->pdata);
    if (offset)
      *offset = at;
    bad(error, NL_SCENARIO_ERROR_VALUE,
        "unknown record kind \"%s\" in hide=: expected a comma-separated "
        "list of %s",
        kinds[n], all);
    g_free(all);
    g_ptr_array_free(names, TRUE);
    g_strfreev(kinds);
    return FALSE;
  }
  g_strfreev(kinds);
  t->hide = hide;
  return TRUE;
}

/* "host", "program", or "NAME[=LABEL],..." with NAME a node or
 * node/program. */
static gboolean set_lanes(NlScnTimeline *t, const char *value, guint *offset,
                          GError **error) {
  for (guint i = 0; i < t->lane_list->len; i++)
    lane_free(g_ptr_array_index(t->lane_list, i));
  g_ptr_array_set_size(t->lane_list, 0);
  if (strcmp(value, "host") == 0 || strcmp(value, "program") == 0) {
    t->lanes = value[0] == 'h' ? NL_SCN_LANES_HOST : NL_SCN_LANES_PROGRAM;
    return TRUE;
  }
  char **items = g_strsplit(value, ",", -1);
  guint at = 0;
  gboolean ok = TRUE;
  for (guint n = 0; ok && items[n] != NULL;
       at += (guint)g_utf8_strlen(items[n], -1) + 1, n++) {
    char *eq = strchr(items[n], '=');
    char *name = g_strstrip(g_strndup(items[n], eq ? (gsize)(eq - items[n])
                                                   : strlen(items[n])));
    char *label = eq ? g_strstrip(g_strdup(eq + 1)) : NULL;
    char *slash = strchr(name, '/');
    gboolean valid = name[0] != '\0' && (label == NULL || label[0] != '\0');
    if (valid && slash != NULL) {
      *slash = '\0';
      valid = nl__scn_valid_name(name) && nl__scn_valid_name(slash + 1);
      *slash = '/';
    } else if (valid) {
      valid = nl__scn_valid_name(name);
    }
    if (!valid) {
      if (offset)
        *offset = at;
      bad(error, NL_SCENARIO_ERROR_VALUE,
          "expected lanes=host, lanes=program or a comma-separated list of "
          "NODE or NODE/PROGRAM, each optionally =LABEL, got \"%s\"",
          items[n]);
      ok = FALSE;
      g_free(name);
      g_free(label);
      break;
    }
    for (guint i = 0; i < t->lane_list->len; i++) {
      NlScnLane *o = g_ptr_array_index(t->lane_list, i);
      if (strcmp(o->name, name) == 0) {
        if (offset)
          *offset = at;
        bad(error, NL_SCENARIO_ERROR_CONFLICT,
            "lane \"%s\" is listed twice in lanes=", name);
        ok = FALSE;
      }
    }
    if (!ok) {
      g_free(name);
      g_free(label);
      break;
    }
    NlScnLane *l = g_new0(NlScnLane, 1);
    l->name = name;
    l->label = label;
    l->offset = at;
    g_ptr_array_add(t->lane_list, l);
  }
  g_strfreev(items);
  if (ok)
    t->lanes = NL_SCN_LANES_LIST;
  return ok;
}

gboolean nl_scenario_timeline_set(NlScnTimeline *t, const char *key,
                                  const char *value, guint *offset,
                                  GError **error) {
  g_return_val_if_fail(t != NULL && key != NULL && value != NULL, FALSE);
  if (offset)
    *offset = 0;
  if (strcmp(key, "title") == 0) {
    g_free(t->title);
    t->title = g_strdup(value);
    return TRUE;
  }
  if (strcmp(key, "hide") == 0)
    return set_hide(t, value, offset, error);
  if (strcmp(key, "from") == 0)
    return set_time(&t->from, value, error);
  if (strcmp(key, "to") == 0)
    return set_time(&t->to, value, error);
  if (strcmp(key, "lanes") == 0)
    return set_lanes(t, value, offset, error);
  if (strcmp(key, "states") == 0) {
    g_free(t->states);
    t->states = strcmp(value, "none") == 0 ? NULL : g_strdup(value);
    return TRUE;
  }
  if (strcmp(key, "style") == 0) {
    if (strcmp(value, "default") == 0 || strcmp(value, "chapter") == 0) {
      t->style = value[0] == 'd' ? NL_SCN_STYLE_DEFAULT : NL_SCN_STYLE_CHAPTER;
      return TRUE;
    }
    return bad(error, NL_SCENARIO_ERROR_VALUE,
               "expected style=default or style=chapter, got \"%s\"", value);
  }
  if (strcmp(key, "page") == 0) {
    guint64 n;
    if (strcmp(value, "all") == 0) {
      t->page = 0;
      return TRUE;
    }
    if (strcmp(value, "none") == 0) {
      t->page = -1;
      return TRUE;
    }
    if (nl__scn_parse_uint(value, &n) && n >= 1 && n <= 100000) {
      t->page = (gint)n;
      return TRUE;
    }
    return bad(error, NL_SCENARIO_ERROR_VALUE,
               "expected page=all, page=none (one long picture) or a page "
               "number from 1, got \"%s\"",
               value);
  }
  gboolean *flag = strcmp(key, "collapse") == 0 ? &t->collapse
                   : strcmp(key, "end") == 0    ? &t->end
                   : strcmp(key, "card") == 0   ? &t->card
                                                : NULL;
  if (flag != NULL) {
    if (nl__scn_parse_bool(value, flag))
      return TRUE;
    return bad(error, NL_SCENARIO_ERROR_VALUE, "expected on or off, got \"%s\"",
               value);
  }
  const char *near = nl__scn_suggest(key, keys);
  return bad(error, NL_SCENARIO_ERROR_SYNTAX,
             "unknown timeline option \"%s\"%s%s%s", key,
             near ? "; did you mean \"" : "", near ? near : "",
             near ? "\"?" : "");
}

gboolean nl_scenario_timeline_check(const NlScenario *s, guint *index,
                                    GError **error) {
  const NlScnTimeline *t = &s->timeline;
  if (t->to <= t->from)
    return bad(error, NL_SCENARIO_ERROR_VALUE,
               "expected from= to be earlier than to=");
  for (guint i = 0; t->lanes == NL_SCN_LANES_LIST && i < t->lane_list->len;
       i++) {
    const NlScnLane *l = g_ptr_array_index(t->lane_list, i);
    char *node = g_strdup(l->name);
    char *slash = strchr(node, '/');
    if (slash)
      *slash++ = '\0';
    const NlScnNode *n = g_hash_table_lookup(s->node_index, node);
    gboolean ok = n != NULL;
    for (guint r = 0; ok && slash && r <= n->runs->len; r++) {
      if (r == n->runs->len) {
        ok = FALSE;
        break;
      }
      const NlScnRun *run = g_ptr_array_index(n->runs, r);
      if (strcmp(run->name, slash) == 0)
        break;
    }
    if (!ok) {
      if (index)
        *index = i;
      if (n == NULL)
        bad(error, NL_SCENARIO_ERROR_REFERENCE,
            "lanes= names \"%s\", which is not a node of the scenario", node);
      else
        bad(error, NL_SCENARIO_ERROR_REFERENCE,
            "lanes= names \"%s\", but %s runs no program named \"%s\"",
            l->name, node, slash);
      g_free(node);
      return FALSE;
    }
    g_free(node);
  }
  return TRUE;
}
