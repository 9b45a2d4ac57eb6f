/* Loading a scenario: files, includes, --set overrides, the error channel,
 * freeing, and the small helpers the world builder uses.
 */
#include "scenarios/lang/scenario-priv.h"

#include <glib/gstdio.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(nl - scenario - error - quark, nl_scenario_error)

gboolean nl__scn_fail(NlScnParser *p, const NlScnLoc *loc, int code,
                      const char *fmt, ...) {
  if (p->error != NULL)
    return FALSE; /* the first mistake wins */
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  /* Words quoted from the file may hold control characters (a stray tab in
   * a string, an escape sequence in binary garbage); show them as \xNN so
   * the message is one safe line on a terminal. */
  GString *safe = g_string_new(NULL);
  for (const char *c = msg; *c != '\0'; c++) {
    if ((guchar)*c < 0x20 || *c == 0x7f)
      g_string_append_printf(safe, "\\x%02x", (guint)(guchar)*c);
    else
      g_string_append_c(safe, *c);
  }
  g_set_error(&p->error, NL_SCENARIO_ERROR, code, "%s:%u:%u: %s", loc->file,
              loc->line, loc->column, safe->str);
  g_string_free(safe, TRUE);
  g_free(msg);
  return FALSE;
}

/* ------------------------------------------------------------------ */
/* Files and includes                                                   */

/* Reads @path if it is a regular file of at most @max bytes: opened
 * without blocking (a FIFO's open would wait for a writer), checked with
 * fstat before a byte is read, and read to at most @max + 1 bytes in case
 * it grows meanwhile.  Returns: (transfer full) the text, or NULL with
 * *@why set (a sentence fragment: "is a FIFO, not a regular file"). */
static char *read_regular(const char *path, gsize max, gsize *len,
                          char **why) {
  *len = 0;
  *why = NULL;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    *why = g_strdup_printf("cannot be read: %s", g_strerror(e));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    *why = g_strdup_printf("cannot be read: %s", g_strerror(e));
    close(fd);
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    *why = g_strdup_printf(
        "is %s, not a regular file",
        S_ISDIR(st.st_mode)    ? "a directory"
        : S_ISFIFO(st.st_mode) ? "a FIFO"
        : S_ISSOCK(st.st_mode) ? "a socket"
                               : "a device");
    close(fd);
    return NULL;
  }
  if ((guint64)st.st_size > max) {
    *why = g_strdup_printf("is larger than %" G_GSIZE_FORMAT " bytes", max);
    close(fd);
    return NULL;
  }
  GString *text = g_string_sized_new((gsize)st.st_size + 1);
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      *why = g_strdup_printf("cannot be read: %s", g_strerror(e));
      break;
    }
    if (n == 0)
      break;
    g_string_append_len(text, buf, n);
    if (text->len > max) {
      *why = g_strdup_printf("is larger than %" G_GSIZE_FORMAT " bytes", max);
      break;
    }
  }
  close(fd);
  if (*why != NULL) {
    g_string_free(text, TRUE);
    return NULL;
  }
  *len = text->len;
  return g_string_free(text, FALSE);
}

/* Fails if @display is already open (an include cycle); the message names
 * the chain from that file to this include. */
static gboolean check_cycle(NlScnParser *p, const char *display,
                            const NlScnLoc *from) {
  char *canon = g_canonicalize_filename(display, NULL);
  for (guint i = 0; i < p->stack->len; i++) {
    if (strcmp(g_ptr_array_index(p->stack, i), canon) != 0)
      continue;
    GString *chain = g_string_new(NULL);
    for (guint j = i; j < p->stack_names->len; j++)
      g_string_append_printf(
          chain, "%s includes ",
          (const char *)g_ptr_array_index(p->stack_names, j));
    g_string_append(chain, display);
    nl__scn_fail(p, from, NL_SCENARIO_ERROR_INCLUDE,
                 "include cycle: %s; expected each file to be included "
                 "only from outside the cycle",
                 chain->str);
    g_string_free(chain, TRUE);
    g_free(canon);
    return FALSE;
  }
  g_free(canon);
  return TRUE;
}

static gboolean parse_file_text(NlScnParser *p, const char *display,
                                const char *text, gsize len,
                                const NlScnLoc *from) {
  char *canon = g_canonicalize_filename(display, NULL);
  if (p->stack->len > NL_SCENARIO_MAX_INCLUDE_DEPTH) {
    g_free(canon);
    return nl__scn_fail(p, from, NL_SCENARIO_ERROR_INCLUDE,
                        "includes are nested more than %d deep",
                        NL_SCENARIO_MAX_INCLUDE_DEPTH);
  }
  char *name = g_strdup(display);
  g_ptr_array_add(p->s->files, name);
  g_ptr_array_add(p->stack, canon);
  g_ptr_array_add(p->stack_names, name);
  gboolean ok = nl__scn_parse_text(p, name, text, len);
  g_ptr_array_remove_index(p->stack_names, p->stack_names->len - 1);
  g_ptr_array_remove_index(p->stack, p->stack->len - 1); /* frees canon */
  return ok;
}

gboolean nl__scn_include(NlScnParser *p, const NlScnLoc *loc, const char *path);

gboolean nl__scn_include(NlScnParser *p, const NlScnLoc *loc,
                         const char *path) {
  char *dir = g_path_get_dirname(loc->file);
  char *display = g_path_is_absolute(path) || strcmp(dir, ".") == 0
                      ? g_strdup(path)
                      : g_build_filename(dir, path, NULL);
  char *text = NULL;
  gsize len = 0;
  gboolean ok = FALSE;
  g_free(dir);
  if (!check_cycle(p, display, loc))
    goto out;
  char *why = NULL;
  text = read_regular(display, NL_SCENARIO_MAX_FILE, &len, &why);
  if (text == NULL) {
    if (g_str_has_prefix(why, "cannot be read: "))
      nl__scn_fail(p, loc, NL_SCENARIO_ERROR_INCLUDE,
                   "cannot read included file \"%s\" (paths are relative "
                   "to the including file): %s",
                   display, why + strlen("cannot be read: "));
    else
      nl__scn_fail(p, loc, NL_SCENARIO_ERROR_INCLUDE,
                   "cannot include \"%s\": it %s", display, why);
    g_free(why);
    goto out;
  }
  p->total_read += len;
  if (p->total_read > NL_SCENARIO_MAX_TOTAL) {
    nl__scn_fail(p, loc, NL_SCENARIO_ERROR_INCLUDE,
                 "cannot include \"%s\": the scenario and its includes "
                 "come to more than %u bytes in total",
                 display, NL_SCENARIO_MAX_TOTAL);
    goto out;
  }
  ok = parse_file_text(p, display, text, len, loc);
out:
  g_free(text);
  g_free(display);
  return ok;
}

/* ------------------------------------------------------------------ */
/* Loading                                                              */

static NlScenario *scenario_new(const char *path) {
  NlScenario *s = g_new0(NlScenario, 1);
  s->path = g_strdup(path);
  s->files = g_ptr_array_new_with_free_func(g_free);
  s->seed = NL_SCENARIO_DEFAULT_SEED;
  s->duration = NL_SCENARIO_DEFAULT_DURATION;
  s->consts = g_ptr_array_new();
  s->networks = g_ptr_array_new();
  s->nodes = g_ptr_array_new();
  s->actions = g_ptr_array_new();
  s->expects = g_ptr_array_new();
  nl__scn_timeline_init(&s->timeline);
  s->node_index = g_hash_table_new(g_str_hash, g_str_equal);
  s->network_index = g_hash_table_new(g_str_hash, g_str_equal);
  return s;
}

static void pending_run_free(gpointer data) {
  NlScnPendingRun *pr = data;
  if (pr->run != NULL)
    nl__scn_run_free(pr->run);
  g_free(pr->node);
  g_free(pr);
}

static gboolean check_overrides(const char *path, const char *const *overrides,
                                GError **error) {
  for (guint i = 0; overrides != NULL && overrides[i] != NULL; i++) {
    const char *o = overrides[i];
    const char *eq = strchr(o, '=');
    gboolean ok = eq != NULL && eq > o;
    for (const char *c = o; ok && c < eq; c++)
      ok = g_ascii_isalnum(*c) || *c == '_';
    if (!ok) {
      g_set_error(error, NL_SCENARIO_ERROR, NL_SCENARIO_ERROR_OVERRIDE,
                  "--set %s: expected NAME=VALUE, like latency=50ms", o);
      return FALSE;
    }
    for (guint j = 0; j < i; j++)
      if (strncmp(overrides[j], o, (gsize)(eq - o + 1)) == 0) {
        g_set_error(error, NL_SCENARIO_ERROR, NL_SCENARIO_ERROR_OVERRIDE,
                    "--set %s: %.*s is already set by --set %s", o,
                    (int)(eq - o), o, overrides[j]);
        return FALSE;
      }
  }
  (void)path;
  return TRUE;
}

NlScenario *nl_scenario_load_string(const char *path, const char *text,
                                    gssize len, const char *const *overrides,
                                    GError **error) {
  g_return_val_if_fail(path != NULL, NULL);
  g_return_val_if_fail(text != NULL || len == 0, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  if (text == NULL)
    text = "";
  gsize n = len < 0 ? strlen(text) : (gsize)len;
  if (!check_overrides(path, overrides, error))
    return NULL;
  if (n > NL_SCENARIO_MAX_FILE) {
    g_set_error(error, NL_SCENARIO_ERROR, NL_SCENARIO_ERROR_IO,
                "%s: the file is larger than %u bytes; expected a scenario",
                path, NL_SCENARIO_MAX_FILE);
    return NULL;
  }
  guint n_over = overrides != NULL ? g_strv_length((char **)overrides) : 0;
  NlScnParser p = {0};
  p.s = scenario_new(path);
  p.overrides = overrides;
  p.override_used = g_new0(gboolean, n_over + 1);
  p.stack = g_ptr_array_new_with_free_func(g_free);
  p.stack_names = g_ptr_array_new();
  p.consts = g_hash_table_new(g_str_hash, g_str_equal);
  p.claimed_addrs = g_hash_table_new(g_direct_hash, g_direct_equal);
  p.abs_dirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  p.file_tests = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  p.pending_runs = g_ptr_array_new_with_free_func(pending_run_free);
  p.name_loc = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  p.prefixes = g_tree_new_full(nl__scn_prefix_cmp, NULL, g_free, NULL);

  p.total_read = n;
  NlScnLoc top = {path, 1, 1};
  gboolean ok = parse_file_text(&p, path, text, n, &top) && nl__scn_check(&p);
  for (guint i = 0; ok && i < n_over; i++) {
    if (p.override_used[i])
      continue;
    const char *o = overrides[i];
    char *name = g_strndup(o, (gsize)(strchr(o, '=') - o));
    GPtrArray *names = g_ptr_array_new();
    for (guint k = 0; k < p.s->consts->len; k++)
      g_ptr_array_add(names,
                      ((NlScnConst *)g_ptr_array_index(p.s->consts, k))->name);
    g_ptr_array_add(names, NULL);
    const char *near = nl__scn_suggest(name, (const char *const *)names->pdata);
    char *all = g_strjoinv(", ", (char **)names->pdata);
    if (near != NULL)
      g_set_error(&p.error, NL_SCENARIO_ERROR, NL_SCENARIO_ERROR_OVERRIDE,
                  "--set %s: %s sets no constant \"%s\"; did you mean "
                  "\"%s\"?",
                  o, path, name, near);
    else
      g_set_error(&p.error, NL_SCENARIO_ERROR, NL_SCENARIO_ERROR_OVERRIDE,
                  "--set %s: %s sets no constant \"%s\" (%s%s)", o, path, name,
                  names->len > 1 ? "its constants: " : "it sets none", all);
    g_free(all);
    g_ptr_array_free(names, TRUE);
    g_free(name);
    ok = FALSE;
  }

  g_free(p.override_used);
  g_ptr_array_free(p.stack, TRUE);
  g_ptr_array_free(p.stack_names, TRUE);
  g_hash_table_destroy(p.consts);
  g_hash_table_destroy(p.claimed_addrs);
  g_hash_table_destroy(p.abs_dirs);
  g_free(p.last_path_file);
  g_free(p.last_path_rel);
  g_free(p.last_path);
  g_hash_table_destroy(p.file_tests);
  g_ptr_array_free(p.pending_runs, TRUE);
  g_hash_table_destroy(p.name_loc);
  g_tree_destroy(p.prefixes);
  if (!ok) {
    g_assert(p.error != NULL);
    g_propagate_error(error, p.error);
    nl_scenario_free(p.s);
    return NULL;
  }
  return p.s;
}

NlScenario *nl_scenario_load(const char *path, const char *const *overrides,
                             GError **error) {
  g_return_val_if_fail(path != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  char *text = NULL;
  gsize len = 0;
  char *why = NULL;
  text = read_regular(path, NL_SCENARIO_MAX_FILE, &len, &why);
  if (text == NULL) {
    g_set_error(error, NL_SCENARIO_ERROR, NL_SCENARIO_ERROR_IO,
                "%s: cannot read the scenario: it %s", path, why);
    g_free(why);
    return NULL;
  }
  NlScenario *s =
      nl_scenario_load_string(path, text, (gssize)len, overrides, error);
  g_free(text);
  return s;
}

/* ------------------------------------------------------------------ */
/* Freeing                                                              */

void nl__scn_run_free(NlScnRun *r) {
  g_free(r->name);
  g_free(r->program);
  g_free(r->path);
  g_strfreev(r->sources);
  g_strfreev(r->argv);
  if (r->env)
    g_ptr_array_free(r->env, TRUE);
  g_free(r->cwd);
  g_free(r);
}

static void link_free(NlScnLink *k) {
  g_free(k->network);
  g_array_free(k->addrs, TRUE);
  g_free(k);
}

void nl__scn_node_free(NlScnNode *n) {
  g_ptr_array_free(n->names, TRUE);
  for (guint i = 0; i < n->links->len; i++)
    link_free(g_ptr_array_index(n->links, i));
  g_ptr_array_free(n->links, TRUE);
  for (guint i = 0; i < n->routes->len; i++)
    g_free(g_ptr_array_index(n->routes, i));
  g_ptr_array_free(n->routes, TRUE);
  for (guint i = 0; i < n->runs->len; i++)
    nl__scn_run_free(g_ptr_array_index(n->runs, i));
  g_ptr_array_free(n->runs, TRUE);
  for (guint i = 0; i < n->overrides->len; i++) {
    NlScnOverride *o = g_ptr_array_index(n->overrides, i);
    g_free(o->field);
    g_free(o->value);
    g_free(o);
  }
  g_ptr_array_free(n->overrides, TRUE);
  g_ptr_array_free(n->forwards, TRUE);
  g_free(n->preset);
  g_free(n->timezone);
  g_ptr_array_free(n->env, TRUE);
  g_free(n->name);
  g_free(n);
}

void nl__scn_action_free(NlScnAction *a) {
  g_free(a->node);
  g_free(a->node2);
  g_free(a->network);
  g_free(a->program);
  g_free(a->text);
  g_free(a);
}

void nl__scn_expect_free(NlScnExpect *e) {
  if (e->copies != NULL) {
    for (guint i = 0; i < e->copies->len; i++)
      nl__scn_expect_free(g_ptr_array_index(e->copies, i));
    g_ptr_array_free(e->copies, TRUE);
  }
  g_free(e->source);
  g_free(e->node);
  g_free(e->program);
  g_free(e->peer);
  g_free(e->text);
  g_free(e->title);
  g_free(e->feedback);
  g_free(e->requires);
  g_free(e);
}

void nl_scenario_free(NlScenario *s) {
  if (s == NULL)
    return;
  for (guint i = 0; i < s->consts->len; i++) {
    NlScnConst *c = g_ptr_array_index(s->consts, i);
    g_free(c->name);
    g_free(c->value);
    g_free(c);
  }
  g_ptr_array_free(s->consts, TRUE);
  for (guint i = 0; i < s->networks->len; i++) {
    NlScnNetwork *n = g_ptr_array_index(s->networks, i);
    g_free(n->name);
    g_array_free(n->prefixes, TRUE);
    g_free(n);
  }
  g_ptr_array_free(s->networks, TRUE);
  for (guint i = 0; i < s->nodes->len; i++)
    nl__scn_node_free(g_ptr_array_index(s->nodes, i));
  g_ptr_array_free(s->nodes, TRUE);
  for (guint i = 0; i < s->actions->len; i++)
    nl__scn_action_free(g_ptr_array_index(s->actions, i));
  g_ptr_array_free(s->actions, TRUE);
  for (guint i = 0; i < s->expects->len; i++)
    nl__scn_expect_free(g_ptr_array_index(s->expects, i));
  g_ptr_array_free(s->expects, TRUE);
  nl__scn_timeline_clear(&s->timeline);
  g_hash_table_destroy(s->node_index);
  g_hash_table_destroy(s->network_index);
  g_ptr_array_free(s->files, TRUE);
  g_free(s->path);
  g_free(s);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

NlScnNode *nl_scenario_find_node(const NlScenario *s, const char *name) {
  g_return_val_if_fail(s != NULL && name != NULL, NULL);
  return g_hash_table_lookup(s->node_index, name);
}

NlScnNetwork *nl_scenario_find_network(const NlScenario *s, const char *name) {
  g_return_val_if_fail(s != NULL && name != NULL, NULL);
  return g_hash_table_lookup(s->network_index, name);
}

NlScnRun *nl_scenario_find_run(const NlScnNode *node, const char *name) {
  g_return_val_if_fail(node != NULL && name != NULL, NULL);
  for (guint i = 0; i < node->runs->len; i++) {
    NlScnRun *r = g_ptr_array_index(node->runs, i);
    if (strcmp(r->name, name) == 0)
      return r;
  }
  return NULL;
}

NlScnLink *nl_scenario_find_link(const NlScnNode *node, const char *network) {
  g_return_val_if_fail(node != NULL && network != NULL, NULL);
  for (guint i = 0; i < node->links->len; i++) {
    NlScnLink *k = g_ptr_array_index(node->links, i);
    if (strcmp(k->network, network) == 0)
      return k;
  }
  return NULL;
}

static void dir_apply(NlScnLinkDir *d, const NlScnLinkDir *s) {
  for (int p = 0; p < NL_SCN_N_PROPS; p++) {
    if (!(s->set & (1u << p)))
      continue;
    switch ((NlScnProp)p) {
      case NL_SCN_PROP_LATENCY:
        d->latency = s->latency;
        break;
      case NL_SCN_PROP_JITTER:
        d->jitter = s->jitter;
        break;
      case NL_SCN_PROP_LOSS:
        d->loss = s->loss;
        break;
      case NL_SCN_PROP_DUP:
        d->dup = s->dup;
        break;
      case NL_SCN_PROP_REORDER:
        d->reorder = s->reorder;
        break;
      case NL_SCN_PROP_BANDWIDTH:
        d->bandwidth = s->bandwidth;
        break;
      case NL_SCN_PROP_QUEUE:
        d->queue_packets = s->queue_packets;
        d->queue_bytes = s->queue_bytes;
        break;
      case NL_SCN_PROP_MTU:
        d->mtu = s->mtu;
        break;
      case NL_SCN_N_PROPS:
      default:
        g_assert_not_reached();
    }
    d->loc[p] = s->loc[p];
    d->set |= 1u << p;
  }
}

void nl_scenario_props_apply(NlScnLinkProps *dst, const NlScnLinkProps *src) {
  g_return_if_fail(dst != NULL && src != NULL);
  dir_apply(&dst->up, &src->up);
  dir_apply(&dst->down, &src->down);
}

void nl_scenario_link_effective(const NlScnLink *link, NlScnLinkProps *out) {
  g_return_if_fail(link != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  if (link->net != NULL)
    nl_scenario_props_apply(out, &link->net->props);
  nl_scenario_props_apply(out, &link->props);
}

gboolean nl_scn_cmp_holds(NlScnCmp cmp, gint64 value, gint64 expected) {
  switch (cmp) {
    case NL_SCN_CMP_EQ:
      return value == expected;
    case NL_SCN_CMP_NE:
      return value != expected;
    case NL_SCN_CMP_LT:
      return value < expected;
    case NL_SCN_CMP_LE:
      return value <= expected;
    case NL_SCN_CMP_GT:
      return value > expected;
    case NL_SCN_CMP_GE:
      return value >= expected;
    default:
      g_return_val_if_reached(FALSE);
  }
}

#define NL_NAME_FN(fn, Type, MAP, N)                                           \
  const char *fn(Type k) {                                                     \
    static const char *const names[] = {MAP(NL_X)};                            \
    g_return_val_if_fail((guint)k < G_N_ELEMENTS(names), "?");                 \
    return names[k];                                                           \
  }

#define NL_X(e, s) s,
NL_NAME_FN(nl_scn_node_kind_name, NlScnNodeKind, NL_SCN_NODE_KIND_MAP, 0)
NL_NAME_FN(nl_scn_action_name, NlScnActionKind, NL_SCN_ACTION_MAP, 0)
NL_NAME_FN(nl_scn_expect_name, NlScnExpectKind, NL_SCN_EXPECT_MAP, 0)
NL_NAME_FN(nl_scn_cmp_name, NlScnCmp, NL_SCN_CMP_MAP, 0)
NL_NAME_FN(nl_scn_program_kind_name, NlScnProgramKind, NL_SCN_PROGRAM_KIND_MAP,
           0)
#undef NL_X
#define NL_X(e, s, u) s,
NL_NAME_FN(nl_scn_prop_name, NlScnProp, NL_SCN_PROP_MAP, 0)
#undef NL_X

char *nl__scn_path(NlScnParser *p, const char *file, const char *rel) {
  /* A group's copies name the same file one after another. */
  if (p->last_path != NULL && strcmp(p->last_path_file, file) == 0 &&
      strcmp(p->last_path_rel, rel) == 0)
    return g_strdup(p->last_path);
  const char *abs = g_hash_table_lookup(p->abs_dirs, file);
  if (abs == NULL) {
    char *dir = g_path_get_dirname(file);
    char *made = g_canonicalize_filename(dir, NULL);
    g_free(dir);
    g_hash_table_insert(p->abs_dirs, g_strdup(file), made);
    abs = made;
  }
  char *r = g_canonicalize_filename(rel, abs);
  g_free(p->last_path_file);
  g_free(p->last_path_rel);
  g_free(p->last_path);
  p->last_path_file = g_strdup(file);
  p->last_path_rel = g_strdup(rel);
  p->last_path = g_strdup(r);
  return r;
}

gboolean nl__scn_file_test(NlScnParser *p, const char *path, GFileTest test) {
  char t[16], *d = t + sizeof t;
  *--d = '\0';
  guint v0 = (guint)test;
  do
    *--d = (char)('0' + v0 % 10);
  while ((v0 /= 10) != 0);
  char *key = g_strconcat(d, ":", path, NULL); /* "%d:%s" */
  gpointer v = g_hash_table_lookup(p->file_tests, key);
  if (v != NULL) {
    g_free(key);
    return GPOINTER_TO_INT(v) - 1;
  }
  gboolean r = g_file_test(path, test);
  g_hash_table_insert(p->file_tests, key, GINT_TO_POINTER(1 + r));
  return r;
}
