/* The statement parser: lines of words into the syntax tree.
 *
 * Each statement is a keyword and its words.  A line that starts with a
 * blank belongs to the block opened by the last host, router, nat or
 * firewall line.  Everything that can be judged from one line (words,
 * units, addresses, presets, programs) is judged here, in file order;
 * names that refer to other lines are resolved in scenario-check.c.
 */
#include "scenarios/lang/scenario-priv.h"

#include <string.h>

#include "sim/core/trace.h"

#include "natmodels/nat-behaviour.h"

/* ------------------------------------------------------------------ */
/* Locations and messages                                               */

static NlScnLoc tok_loc(const NlScnLine *l, const NlScnTok *t) {
  NlScnLoc loc = {l->file, l->line, t->col};
  return loc;
}

static NlScnLoc val_loc(const NlScnLine *l, const NlScnTok *t) {
  NlScnLoc loc = {l->file, l->line, t->key != NULL ? t->vcol : t->col};
  return loc;
}

/* Just past the last word: where a missing word would go. */
static NlScnLoc end_loc(const NlScnLine *l) {
  gsize end = l->ntok > 0 ? l->tok[l->ntok - 1].end : 0;
  NlScnLoc loc = {l->file, l->line,
                  (guint)g_utf8_strlen(l->raw, (gssize)end) + 2};
  return loc;
}

static gboolean fail_tok(NlScnParser *p, const NlScnLine *l, guint i, int code,
                         const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static gboolean fail_tok(NlScnParser *p, const NlScnLine *l, guint i, int code,
                         const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  NlScnLoc loc = i < l->ntok ? tok_loc(l, &l->tok[i]) : end_loc(l);
  nl__scn_fail(p, &loc, code, "%s", msg);
  g_free(msg);
  return FALSE;
}

static gboolean fail_val(NlScnParser *p, const NlScnLine *l, guint i,
                         const char *expected) {
  const NlScnTok *t = &l->tok[i];
  NlScnLoc loc = val_loc(l, t);
  const char *v = t->key != NULL ? t->value : t->text;
  return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_VALUE,
                      "expected %s, got \"%s\"%s", expected, v,
                      nl__scn_from(t));
}

/* A plain word: not quoted, not KEY=VALUE. */
static gboolean is_word(const NlScnLine *l, guint i) {
  return i < l->ntok && !l->tok[i].quoted && l->tok[i].key == NULL;
}

/* Requires word @i to exist (any kind); @what names it ("a network name"),
 * @usage shows the statement. */
static gboolean need(NlScnParser *p, const NlScnLine *l, guint i,
                     const char *what, const char *usage) {
  if (i < l->ntok)
    return TRUE;
  return fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX, "expected %s (usage: %s)",
                  what, usage);
}

static gboolean need_word(NlScnParser *p, const NlScnLine *l, guint i,
                          const char *what, const char *usage) {
  if (!need(p, l, i, what, usage))
    return FALSE;
  if (is_word(l, i))
    return TRUE;
  return fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                  "expected %s, got \"%s\" (usage: %s)", what, l->tok[i].text,
                  usage);
}

static gboolean no_more(NlScnParser *p, const NlScnLine *l, guint i,
                        const char *usage) {
  if (i >= l->ntok)
    return TRUE;
  return fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                  "unexpected \"%s\" at the end of the line (usage: %s)",
                  l->tok[i].text, usage);
}

static gboolean get_name(NlScnParser *p, const NlScnLine *l, guint i,
                         const char *what, const char *usage) {
  if (!need_word(p, l, i, what, usage))
    return FALSE;
  if (nl__scn_valid_name(l->tok[i].text))
    return TRUE;
  return fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                  "expected %s (a letter, then letters, digits, _ or -), "
                  "got \"%s\"%s",
                  what, l->tok[i].text, nl__scn_from(&l->tok[i]));
}

/* Parses a time at word @i (or its value when it is KEY=VALUE). */
static gboolean get_time(NlScnParser *p, const NlScnLine *l, guint i,
                         NlTime *out) {
  const NlScnTok *t = &l->tok[i];
  const char *v = t->key != NULL ? t->value : t->text;
  gboolean neg = FALSE;
  if (nl__scn_parse_time(v, out, &neg))
    return TRUE;
  if (neg) {
    NlScnLoc loc = val_loc(l, t);
    return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_VALUE,
                        "a time cannot be negative, got \"%s\"%s", v,
                        nl__scn_from(t));
  }
  return fail_val(p, l, i,
                  "a time like 20ms (a number and one of the units ns, us, "
                  "ms, s, min, h)");
}

static gboolean get_addr(NlScnParser *p, const NlScnLine *l, guint i,
                         gboolean prefix, NlScnAddr *out) {
  const NlScnTok *t = &l->tok[i];
  const char *v = t->key != NULL ? t->value : t->text;
  out->loc = val_loc(l, t);
  if (nl__scn_parse_addr(v, prefix, out)) {
    if (prefix) {
      NlScnAddr m = *out;
      nl__scn_addr_mask(&m);
      if (!nl__scn_addr_equal(&m, out)) {
        char buf[NL_SCN_ADDR_STRLEN];
        return nl__scn_fail(p, &out->loc, NL_SCENARIO_ERROR_VALUE,
                            "expected a subnet, but \"%s\" has host bits set; "
                            "did you mean %s?",
                            v, nl_scn_addr_to_string(&m, buf));
      }
    }
    return TRUE;
  }
  gboolean v6 = strchr(v, ':') != NULL;
  if (!prefix && strchr(v, '/') != NULL)
    return fail_val(p, l, i,
                    v6 ? "an IPv6 address like 2001:db8::5 (without /length)"
                       : "an IPv4 address like 10.0.0.5 (without /length)");
  if (prefix && strchr(v, '/') == NULL &&
      nl__scn_parse_addr(v, FALSE, &(NlScnAddr){0}))
    return fail_val(p, l, i,
                    v6 ? "a subnet with its length like 2001:db8::/64"
                       : "a subnet with its length like 10.0.0.0/24");
  if (prefix)
    return fail_val(p, l, i,
                    v6 ? "an IPv6 subnet like 2001:db8::/64"
                       : "an IPv4 subnet like 10.0.0.0/24");
  return fail_val(p, l, i,
                  v6 ? "an IPv6 address like 2001:db8::5"
                     : "an IPv4 address like 10.0.0.5");
}

/* [CMP] NUMBER at word *i; advances *i. */
static gboolean get_count(NlScnParser *p, const NlScnLine *l, guint *i,
                          NlScnCmp *cmp, gint64 *value, gboolean allow_neg,
                          const char *usage) {
  static const char *const ops[] = {
#define NL_X(e, s) s,
      NL_SCN_CMP_MAP(NL_X)
#undef NL_X
  };
  *cmp = NL_SCN_CMP_EQ;
  if (!need(p, l, *i, "a number", usage))
    return FALSE;
  for (guint k = 0; k < G_N_ELEMENTS(ops); k++) {
    if (is_word(l, *i) && strcmp(l->tok[*i].text, ops[k]) == 0) {
      *cmp = (NlScnCmp)k;
      (*i)++;
      break;
    }
  }
  if (!need(p, l, *i, "a number", usage))
    return FALSE;
  const char *v = l->tok[*i].text;
  guint64 u;
  gboolean unit;
  if (allow_neg ? nl__scn_parse_int(v, value)
                : (nl__scn_parse_size(v, &u, &unit) && u <= G_MAXINT64)) {
    if (!allow_neg)
      *value = (gint64)u;
    (*i)++;
    return TRUE;
  }
  return fail_val(p, l, *i,
                  allow_neg ? "a whole number like 0 (optionally after one of "
                              "== != < <= > >=)"
                            : "a count like 1000 or 64KiB (optionally after "
                              "one of == != < <= > >=)");
}

/* ------------------------------------------------------------------ */
/* Link properties                                                      */

static const char *const prop_names[] = {
#define NL_X(e, s, u) s,
    NL_SCN_PROP_MAP(NL_X)
#undef NL_X
        NULL,
};

static char *prop_list(void) {
  return g_strjoinv(", ", (char **)prop_names);
}

static gboolean set_prop(NlScnParser *p, const NlScnLine *l, guint i,
                         NlScnLinkDir *d, NlScnProp prop, NlScnLoc loc) {
  const NlScnTok *t = &l->tok[i];
  const char *v = t->value;
  switch (prop) {
    case NL_SCN_PROP_LATENCY:
      if (!get_time(p, l, i, &d->latency))
        return FALSE;
      break;
    case NL_SCN_PROP_JITTER:
      if (!get_time(p, l, i, &d->jitter))
        return FALSE;
      break;
    case NL_SCN_PROP_LOSS:
    case NL_SCN_PROP_DUP:
    case NL_SCN_PROP_REORDER: {
      double f;
      if (!nl__scn_parse_percent(v, &f))
        return fail_val(p, l, i,
                        "a percentage from 0% to 100% like 0.5% (the % sign "
                        "is required)");
      if (prop == NL_SCN_PROP_LOSS)
        d->loss = f;
      else if (prop == NL_SCN_PROP_DUP)
        d->dup = f;
      else
        d->reorder = f;
      break;
    }
    case NL_SCN_PROP_BANDWIDTH:
      if (!nl__scn_parse_rate(v, &d->bandwidth))
        return fail_val(p, l, i,
                        "a bandwidth like 10Mbit (units bit, kbit, Mbit, Gbit, "
                        "optionally /s)");
      break;
    case NL_SCN_PROP_QUEUE: {
      guint64 n;
      gboolean unit;
      if (!nl__scn_parse_size(v, &n, &unit) || n == 0 ||
          (!unit && n > G_MAXUINT32))
        return fail_val(p, l, i,
                        "a queue length in packets like 64, or in bytes like "
                        "64KiB");
      d->queue_packets = unit ? 0 : (guint32)n;
      d->queue_bytes = unit ? n : 0;
      break;
    }
    case NL_SCN_PROP_MTU: {
      guint64 n;
      if (!nl__scn_parse_size(v, &n, NULL) || n < 68 || n > 65535)
        return fail_val(p, l, i, "an MTU in bytes from 68 to 65535 like 1500");
      d->mtu = (guint32)n;
      break;
    }
    case NL_SCN_N_PROPS:
    default:
      g_assert_not_reached();
  }
  d->set |= 1u << prop;
  d->loc[prop] = loc;
  return TRUE;
}

/* Reads PROPERTY=VALUE words from @from to the end of the line. */
static gboolean parse_props(NlScnParser *p, const NlScnLine *l, guint from,
                            NlScnLinkProps *props, const char *usage) {
  for (guint i = from; i < l->ntok; i++) {
    const NlScnTok *t = &l->tok[i];
    if (t->key == NULL)
      return fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                      "expected PROPERTY=VALUE like latency=5ms, got \"%s\" "
                      "(usage: %s)",
                      t->text, usage);
    for (guint k = from; k < i; k++)
      if (strcmp(l->tok[k].key, t->key) == 0)
        return fail_tok(p, l, i, NL_SCENARIO_ERROR_CONFLICT,
                        "%s is already given at column %u of this line", t->key,
                        l->tok[k].col);
    const char *name = t->key;
    gboolean up = TRUE, down = TRUE;
    if (g_str_has_prefix(name, "up.")) {
      name += 3;
      down = FALSE;
    } else if (g_str_has_prefix(name, "down.")) {
      name += 5;
      up = FALSE;
    }
    int prop = -1;
    for (int k = 0; prop_names[k] != NULL; k++)
      if (strcmp(name, prop_names[k]) == 0)
        prop = k;
    if (prop < 0) {
      const char *near = nl__scn_suggest(name, prop_names);
      char *all = prop_list();
      if (near != NULL)
        fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                 "unknown link property \"%s\"; did you mean \"%s\"? "
                 "(properties: %s, each may start with up. or down.)",
                 name, near, all);
      else
        fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                 "unknown link property \"%s\": expected one of %s (each may "
                 "start with up. or down.)",
                 name, all);
      g_free(all);
      return FALSE;
    }
    if (prop == NL_SCN_PROP_MTU && !(up && down))
      return fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                      "mtu is the same in both directions: expected mtu=, "
                      "not %s=",
                      t->key);
    NlScnLoc loc = tok_loc(l, t);
    if (up && !set_prop(p, l, i, &props->up, (NlScnProp)prop, loc))
      return FALSE;
    if (down && !set_prop(p, l, i, &props->down, (NlScnProp)prop, loc))
      return FALSE;
  }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Names                                                                */

/* Claims @name for a node or network declared at @loc. */
static gboolean claim_name(NlScnParser *p, const NlScnLine *l, guint i,
                           const char *what) {
  const char *name = l->tok[i].text;
  NlScnLoc *prev = g_hash_table_lookup(p->name_loc, name);
  if (prev != NULL)
    return fail_tok(p, l, i, NL_SCENARIO_ERROR_CONFLICT,
                    "the name \"%s\" is already declared at %s:%u:%u; "
                    "expected a new name for this %s",
                    name, prev->file, prev->line, prev->column, what);
  NlScnLoc *loc = g_new(NlScnLoc, 1);
  *loc = tok_loc(l, &l->tok[i]);
  g_hash_table_insert(p->name_loc, g_strdup(name), loc);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Top-level statements                                                 */

static gboolean stmt_seed(NlScnParser *p, NlScnLine *l) {
  const char *usage = "seed NUMBER";
  if (p->s->seed_set)
    return fail_tok(p, l, 0, NL_SCENARIO_ERROR_CONFLICT,
                    "seed is already set at %s:%u", p->seed_loc.file,
                    p->seed_loc.line);
  if (!need_word(p, l, 1, "a number", usage))
    return FALSE;
  if (!nl__scn_parse_uint(l->tok[1].text, &p->s->seed))
    return fail_val(p, l, 1, "a whole number from 0 to 18446744073709551615");
  p->s->seed_set = TRUE;
  p->seed_loc = tok_loc(l, &l->tok[0]);
  return no_more(p, l, 2, usage);
}

static gboolean stmt_duration(NlScnParser *p, NlScnLine *l) {
  const char *usage = "duration TIME";
  if (p->s->duration_set)
    return fail_tok(p, l, 0, NL_SCENARIO_ERROR_CONFLICT,
                    "duration is already set at %s:%u", p->duration_loc.file,
                    p->duration_loc.line);
  if (!need_word(p, l, 1, "a time like 30s", usage) ||
      !get_time(p, l, 1, &p->s->duration))
    return FALSE;
  if (p->s->duration == 0)
    return fail_val(p, l, 1, "a duration longer than 0s");
  p->s->duration_set = TRUE;
  p->duration_loc = tok_loc(l, &l->tok[0]);
  return no_more(p, l, 2, usage);
}

static gboolean stmt_set(NlScnParser *p, NlScnLine *l) {
  const char *usage = "set NAME = VALUE";
  const char *name, *value;
  guint vi;
  if (!need(p, l, 1, "a constant name", usage))
    return FALSE;
  if (l->tok[1].key != NULL && !l->tok[1].quoted) {
    name = l->tok[1].key; /* set name=value */
    vi = 1;
    value = l->tok[1].value;
    if (!no_more(p, l, 2, usage))
      return FALSE;
  } else {
    if (!need_word(p, l, 1, "a constant name", usage))
      return FALSE;
    name = l->tok[1].text;
    if (!need(p, l, 2, "=", usage))
      return FALSE;
    if (!is_word(l, 2) || strcmp(l->tok[2].text, "=") != 0)
      return fail_tok(p, l, 2, NL_SCENARIO_ERROR_SYNTAX,
                      "expected = after the constant name, got \"%s\" "
                      "(usage: %s)",
                      l->tok[2].text, usage);
    if (!need(p, l, 3, "a value", usage) || !no_more(p, l, 4, usage))
      return FALSE;
    vi = 3;
    value = l->tok[3].text;
  }
  for (const char *c = name; *c != '\0'; c++)
    if (!(g_ascii_isalnum(*c) || *c == '_') || g_ascii_isdigit(name[0]))
      return fail_tok(p, l, 1, NL_SCENARIO_ERROR_SYNTAX,
                      "expected a constant name made of letters, digits and "
                      "_ (not starting with a digit), got \"%s\"",
                      name);
  NlScnConst *prev = g_hash_table_lookup(p->consts, name);
  if (prev != NULL)
    return fail_tok(p, l, 1, NL_SCENARIO_ERROR_CONFLICT,
                    "$%s is already set at %s:%u:%u", name, prev->loc.file,
                    prev->loc.line, prev->loc.column);
  (void)vi;
  NlScnConst *c = g_new0(NlScnConst, 1);
  c->loc = tok_loc(l, &l->tok[1]);
  c->name = g_strdup(name);
  for (guint k = 0; p->overrides != NULL && p->overrides[k] != NULL; k++) {
    const char *o = p->overrides[k];
    gsize n = strlen(name);
    if (strncmp(o, name, n) == 0 && o[n] == '=') {
      c->value = g_strdup(o + n + 1);
      c->overridden = TRUE;
      p->override_used[k] = TRUE;
    }
  }
  if (c->value == NULL)
    c->value = g_strdup(value);
  g_ptr_array_add(p->s->consts, c);
  g_hash_table_insert(p->consts, c->name, c);
  return TRUE;
}

gboolean nl__scn_include(NlScnParser *p, const NlScnLoc *loc, const char *path);

static gboolean stmt_include(NlScnParser *p, NlScnLine *l) {
  const char *usage = "include \"FILE\"";
  if (!need(p, l, 1, "a file name", usage) || !no_more(p, l, 2, usage))
    return FALSE;
  if (l->tok[1].key != NULL || l->tok[1].text[0] == '\0')
    return fail_tok(p, l, 1, NL_SCENARIO_ERROR_SYNTAX,
                    "expected a file name like \"common.nlab\", got \"%s\"",
                    l->tok[1].text);
  NlScnLoc loc = tok_loc(l, &l->tok[1]);
  return nl__scn_include(p, &loc, l->tok[1].text);
}

gint nl__scn_prefix_cmp(gconstpointer a, gconstpointer b, gpointer data) {
  const NlScnAddr *x = a, *y = b;
  (void)data;
  if (x->family != y->family)
    return x->family < y->family ? -1 : 1;
  return memcmp(x->bytes, y->bytes, 16);
}

/* Records subnet @a of @n, or fails if it overlaps one declared before.
 * Subnets are nested or disjoint, and those already recorded are pairwise
 * disjoint (the first overlap stops loading), so only two neighbours in
 * address order can overlap @a: the last one starting at or before it (which
 * may contain it) and the first one starting at or after it (which it may
 * contain).  This keeps 10,000 networks at O(n log n). */
static gboolean claim_prefix(NlScnParser *p, NlScnNetwork *n,
                             const NlScnAddr *a) {
  GTreeNode *after = g_tree_lower_bound(p->prefixes, a);
  GTreeNode *upper = g_tree_upper_bound(p->prefixes, a);
  GTreeNode *before = upper != NULL ? g_tree_node_previous(upper)
                                    : g_tree_node_last(p->prefixes);
  const NlScnAddr *hit = NULL;
  GTreeNode *hit_node = NULL;
  if (before != NULL && nl_scn_addr_in_prefix(a, g_tree_node_key(before))) {
    hit_node = before;
  } else if (after != NULL &&
             nl_scn_addr_in_prefix(g_tree_node_key(after), a)) {
    hit_node = after;
  }
  if (hit_node != NULL) {
    hit = g_tree_node_key(hit_node);
    const NlScnNetwork *o = g_tree_node_value(hit_node);
    char sa[NL_SCN_ADDR_STRLEN], sb[NL_SCN_ADDR_STRLEN];
    return nl__scn_fail(p, &a->loc, NL_SCENARIO_ERROR_CONFLICT,
                        "subnet %s overlaps %s of network %s (%s:%u:%u); "
                        "expected subnets that do not overlap",
                        nl_scn_addr_to_string(a, sa),
                        nl_scn_addr_to_string(hit, sb), o->name, hit->loc.file,
                        hit->loc.line, hit->loc.column);
  }
  NlScnAddr *key = g_new(NlScnAddr, 1);
  *key = *a;
  g_tree_insert(p->prefixes, key, n);
  return TRUE;
}

static uint32_t addr4(const NlScnAddr *a) {
  return (uint32_t)a->bytes[0] << 24 | (uint32_t)a->bytes[1] << 16 |
         (uint32_t)a->bytes[2] << 8 | a->bytes[3];
}

static gboolean addr4_in(const NlScnAddr *prefix, uint32_t a) {
  uint32_t mask = prefix->len == 0 ? 0 : ~(uint32_t)0 << (32 - prefix->len);
  return (a & mask) == addr4(prefix);
}

/* The first IPv4 subnet's host addresses (not its network and broadcast
 * addresses), from the lowest. */
static void default_pool(NlScnNetwork *n) {
  for (guint k = 0; k < n->prefixes->len; k++) {
    const NlScnAddr *a = &g_array_index(n->prefixes, NlScnAddr, k);
    if (a->family != 4)
      continue;
    uint32_t base = addr4(a);
    uint32_t size = a->len == 0 ? 0 : (uint32_t)1 << (32 - a->len);
    n->pool_first = a->len >= 31 ? base : base + 1;
    n->pool_last = a->len >= 31 ? base + size - 1 : base + size - 2;
    n->pool_next = n->pool_first;
    return;
  }
}

/* pool=FIRST-LAST on a network: addresses inside its subnets. */
static gboolean pool_option(NlScnParser *p, NlScnLine *l, guint k,
                            NlScnNetwork *n) {
  const char *v = l->tok[k].value;
  const char *dash = strchr(v, '-');
  NlScnAddr a, b;
  char *first = dash ? g_strndup(v, (gsize)(dash - v)) : NULL;
  gboolean ok = dash != NULL && nl__scn_parse_addr(first, FALSE, &a) &&
                nl__scn_parse_addr(dash + 1, FALSE, &b) && a.family == 4 &&
                b.family == 4 && addr4(&a) <= addr4(&b);
  g_free(first);
  if (!ok)
    return fail_val(p, l, k,
                    "a pool of IPv4 addresses like pool=10.0.1.10-10.0.1.250 "
                    "(first-last, the first not above the last)");
  gboolean inside = FALSE;
  for (guint j = 0; j < n->prefixes->len; j++) {
    const NlScnAddr *pre = &g_array_index(n->prefixes, NlScnAddr, j);
    if (pre->family == 4 && addr4_in(pre, addr4(&a)) &&
        addr4_in(pre, addr4(&b)))
      inside = TRUE;
  }
  if (!inside)
    return fail_val(p, l, k, "a pool inside one of the network's subnets");
  n->pool_first = n->pool_next = addr4(&a);
  n->pool_last = addr4(&b);
  n->has_pool = TRUE;
  return TRUE;
}

/* `auto`: the network's next unclaimed pool address. */
static gboolean auto_addr(NlScnParser *p, const NlScnLine *l, guint i,
                          const char *network, NlScnAddr *out) {
  NlScnNetwork *n = g_hash_table_lookup(p->s->network_index, network);
  if (n == NULL)
    return fail_tok(p, l, i, NL_SCENARIO_ERROR_REFERENCE,
                    "`auto` takes the next address of network %s's pool: "
                    "expected the network declared above this line",
                    network);
  while (n->pool_next <= n->pool_last && n->pool_next >= n->pool_first &&
         g_hash_table_contains(p->claimed_addrs,
                               GUINT_TO_POINTER(n->pool_next + 1)))
    n->pool_next++;
  if (n->pool_next > n->pool_last || n->pool_next < n->pool_first ||
      (n->pool_first == 0 && n->pool_last == 0))
    return fail_tok(p, l, i, NL_SCENARIO_ERROR_VALUE,
                    "network %s's pool of addresses is used up: expected a "
                    "larger subnet or pool=",
                    network);
  memset(out, 0, sizeof *out);
  out->family = 4;
  out->len = 32;
  out->bytes[0] = (guint8)(n->pool_next >> 24);
  out->bytes[1] = (guint8)(n->pool_next >> 16);
  out->bytes[2] = (guint8)(n->pool_next >> 8);
  out->bytes[3] = (guint8)n->pool_next;
  out->loc = tok_loc(l, &l->tok[i]);
  n->pool_next++;
  return TRUE;
}

static gboolean stmt_network(NlScnParser *p, NlScnLine *l) {
  const char *usage = "network NAME SUBNET... [PROPERTY=VALUE...]";
  if (!get_name(p, l, 1, "a network name", usage) ||
      !claim_name(p, l, 1, "network"))
    return FALSE;
  NlScnNetwork *n = g_new0(NlScnNetwork, 1);
  n->loc = tok_loc(l, &l->tok[0]);
  n->name = g_strdup(l->tok[1].text);
  n->prefixes = g_array_new(FALSE, TRUE, sizeof(NlScnAddr));
  g_ptr_array_add(p->s->networks, n);
  g_hash_table_insert(p->s->network_index, n->name, n);
  guint i = 2;
  for (; is_word(l, i); i++) {
    NlScnAddr a;
    if (!get_addr(p, l, i, TRUE, &a))
      return FALSE;
    g_array_append_val(n->prefixes, a);
  }
  if (n->prefixes->len == 0)
    return need_word(p, l, 2, "a subnet like 10.0.0.0/24", usage) &&
           fail_val(p, l, 2, "a subnet like 10.0.0.0/24");
  /* pool=FIRST-LAST: the addresses `link NAME auto` hands out. */
  guint full = l->ntok;
  for (guint k = i; k < l->ntok; k++)
    if (l->tok[k].key != NULL && strcmp(l->tok[k].key, "pool") == 0) {
      if (!pool_option(p, l, k, n))
        return FALSE;
      /* The other options are the link defaults: cut this one out. */
      NlScnTok cut = l->tok[k];
      memmove(&l->tok[k], &l->tok[k + 1],
              (l->ntok - k - 1) * sizeof(NlScnTok));
      l->tok[l->ntok - 1] = cut;
      l->ntok--;
      break;
    }
  gboolean props_ok = parse_props(p, l, i, &n->props, usage);
  l->ntok = full;
  if (!props_ok)
    return FALSE;
  if (!n->has_pool)
    default_pool(n);
  /* Overlaps, with this network's other prefixes and earlier networks. */
  for (guint j = 0; j < n->prefixes->len; j++)
    if (!claim_prefix(p, n, &g_array_index(n->prefixes, NlScnAddr, j)))
      return FALSE;
  return TRUE;
}

static GPtrArray *preset_names(void) {
  GPtrArray *a = g_ptr_array_new();
  const NlNatBehaviour *b;
  for (guint i = 0; (b = nl_nat_behaviour_preset(i)) != NULL; i++)
    g_ptr_array_add(a, (gpointer)b->name);
  g_ptr_array_add(a, NULL);
  return a;
}

/* The field names nl_nat_behaviour_set() takes, for suggestions:
 * natmodels' own description of a preset, plus port-min and port-max
 * (described together as port-range).  NULL-terminated (transfer full). */
static char **field_names(void) {
  GString *d = g_string_new(NULL);
  nl_nat_behaviour_describe(nl_nat_behaviour_preset(0), d);
  char **pairs = g_strsplit(d->str, " ", -1);
  for (guint i = 0; pairs[i] != NULL; i++) {
    char *eq = strchr(pairs[i], '=');
    if (eq != NULL)
      *eq = '\0';
  }
  g_string_free(d, TRUE);
  guint n = g_strv_length(pairs);
  pairs = g_renew(char *, pairs, n + 3);
  pairs[n] = g_strdup("port-min");
  pairs[n + 1] = g_strdup("port-max");
  pairs[n + 2] = NULL;
  return pairs;
}

static gboolean check_preset(NlScnParser *p, const NlScnLine *l, guint i,
                             const char *kind) {
  const char *name = l->tok[i].value;
  GPtrArray *names = preset_names();
  gboolean found = FALSE;
  for (guint k = 0; names->pdata[k] != NULL; k++)
    if (strcmp(names->pdata[k], name) == 0)
      found = TRUE;
  if (!found) {
    const char *near = nl__scn_suggest(name, (const char *const *)names->pdata);
    char *all = g_strjoinv(", ", (char **)names->pdata);
    NlScnLoc loc = val_loc(l, &l->tok[i]);
    if (near != NULL)
      nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_VALUE,
                   "unknown %s preset \"%s\"%s; did you mean \"%s\"? "
                   "(presets: %s)",
                   kind, name, nl__scn_from(&l->tok[i]), near, all);
    else
      nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_VALUE,
                   "unknown %s preset \"%s\"%s: expected one of %s", kind, name,
                   nl__scn_from(&l->tok[i]), all);
    g_free(all);
  }
  g_ptr_array_free(names, TRUE);
  return found;
}

/* Applies FIELD=VALUE to @b (a copy of the preset, overridden in order),
 * so natmodels itself judges the field and the value. */
static gboolean check_override(NlScnParser *p, const NlScnLine *l, guint i,
                               const char *field, NlNatBehaviour *b) {
  GError *err = NULL;
  if (nl_nat_behaviour_set(b, field, l->tok[i].value, &err))
    return TRUE;
  if (g_error_matches(err, NL_NAT_ERROR, NL_NAT_ERROR_UNKNOWN_FIELD)) {
    char **fields = field_names();
    const char *near = nl__scn_suggest(field, (const char *const *)fields);
    char *all = g_strjoinv(", ", fields);
    if (near != NULL)
      fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
               "unknown NAT field \"%s\"; did you mean \"%s\"? (fields: %s)",
               l->tok[i].key, near, all);
    else
      fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
               "unknown NAT field \"%s\": expected one of %s", l->tok[i].key,
               all);
    g_free(all);
    g_strfreev(fields);
  } else {
    NlScnLoc loc = val_loc(l, &l->tok[i]);
    /* natmodels words its messages "nat FIELD: ..."; the field is
     * already named here. */
    const char *why = err->message;
    const char *colon = strstr(why, ": ");
    if (g_str_has_prefix(why, "nat ") && colon != NULL)
      why = colon + 2;
    nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_VALUE,
                 "bad value \"%s\"%s for NAT field %s: %s", l->tok[i].value,
                 nl__scn_from(&l->tok[i]), field, why);
  }
  g_error_free(err);
  return FALSE;
}

static gboolean stmt_node(NlScnParser *p, NlScnLine *l) {
  NlScnNodeKind kind = NL_SCN_NODE_HOST;
  for (int k = 0; k < NL_SCN_N_NODE_KINDS; k++)
    if (strcmp(l->tok[0].text, nl_scn_node_kind_name((NlScnNodeKind)k)) == 0)
      kind = (NlScnNodeKind)k;
  gboolean natlike = kind == NL_SCN_NODE_NAT || kind == NL_SCN_NODE_FIREWALL;
  /* (constants, not made per line: a thousand hosts' lines name them) */
  static const char *const usages[NL_SCN_N_NODE_KINDS] = {
      [NL_SCN_NODE_HOST] = "host NAME [timezone=ZONE] [nofile=N]",
      [NL_SCN_NODE_ROUTER] = "router NAME [timezone=ZONE] [nofile=N]",
      [NL_SCN_NODE_NAT] = "nat NAME preset=PRESET [FIELD=VALUE...]",
      [NL_SCN_NODE_FIREWALL] =
          "firewall NAME [preset=PRESET] [FIELD=VALUE...]",
  };
  static const char *const whats[NL_SCN_N_NODE_KINDS] = {
      [NL_SCN_NODE_HOST] = "a host name",
      [NL_SCN_NODE_ROUTER] = "a router name",
      [NL_SCN_NODE_NAT] = "a nat name",
      [NL_SCN_NODE_FIREWALL] = "a firewall name",
  };
  /* (the statement table calls this for the kinds' words alone) */
  g_assert(strcmp(l->tok[0].text, nl_scn_node_kind_name(kind)) == 0);
  const char *usage = usages[kind];
  gboolean ok = get_name(p, l, 1, whats[kind], usage) &&
                claim_name(p, l, 1, l->tok[0].text);
  if (!ok)
    goto out;
  NlScnNode *n = g_new0(NlScnNode, 1);
  n->loc = tok_loc(l, &l->tok[0]);
  n->kind = kind;
  n->name = g_strdup(l->tok[1].text);
  n->names = g_ptr_array_new_with_free_func(g_free);
  n->links = g_ptr_array_new();
  n->routes = g_ptr_array_new();
  n->runs = g_ptr_array_new();
  n->overrides = g_ptr_array_new();
  n->forwards = g_ptr_array_new_with_free_func(g_free);
  n->env = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(p->s->nodes, n);
  g_hash_table_insert(p->s->node_index, n->name, n);
  p->block = n;
  if (!natlike) {
    ok = nl__scn_host_options(p, l, 2, n, usage);
    goto out;
  }
  NlNatBehaviour b; /* the preset, overridden field by field */
  for (guint i = 2; i < l->ntok; i++) {
    const NlScnTok *t = &l->tok[i];
    if (t->key == NULL) {
      ok = fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                    "expected FIELD=VALUE like preset=symmetric, got \"%s\" "
                    "(usage: %s)",
                    t->text, usage);
      goto out;
    }
    if (strcmp(t->key, "preset") == 0) {
      if (i != 2) {
        ok = fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                      "expected preset= first, right after the name (fields "
                      "then override it in order)");
        goto out;
      }
      if (!check_preset(p, l, i, l->tok[0].text)) {
        ok = FALSE;
        goto out;
      }
      n->preset = g_strdup(t->value);
      n->preset_loc = val_loc(l, t);
      continue;
    }
    if (n->preset == NULL) {
      if (kind == NL_SCN_NODE_NAT) {
        ok = fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                      "expected preset=PRESET before the fields it "
                      "overrides (usage: %s)",
                      usage);
        goto out;
      }
      n->preset = g_strdup("firewall");
      n->preset_loc = tok_loc(l, &l->tok[0]);
    }
    if (n->overrides->len == 0)
      b = *nl_nat_behaviour_find(n->preset);
    char *field = g_strdup(t->key);
    g_strdelimit(field, "_", '-');
    if (!check_override(p, l, i, field, &b)) {
      g_free(field);
      ok = FALSE;
      goto out;
    }
    NlScnOverride *o = g_new0(NlScnOverride, 1);
    o->loc = tok_loc(l, t);
    o->field = field;
    o->value = g_strdup(t->value);
    g_ptr_array_add(n->overrides, o);
  }
  if (n->preset == NULL) {
    if (kind == NL_SCN_NODE_NAT) {
      GPtrArray *names = preset_names();
      char *all = g_strjoinv(", ", (char **)names->pdata);
      ok = fail_tok(p, l, 2, NL_SCENARIO_ERROR_SYNTAX,
                    "expected preset=PRESET after the nat's name (presets: "
                    "%s)",
                    all);
      g_free(all);
      g_ptr_array_free(names, TRUE);
      goto out;
    }
    n->preset = g_strdup("firewall");
    n->preset_loc = tok_loc(l, &l->tok[0]);
  }
out:
  return ok;
}

/* ------------------------------------------------------------------ */
/* Block statements                                                     */

static gboolean blk_name(NlScnParser *p, NlScnLine *l) {
  const char *usage = "name DNS-NAME...";
  if (!need_word(p, l, 1, "a DNS name like peer-a.example.com", usage))
    return FALSE;
  for (guint i = 1; i < l->ntok; i++) {
    if (!is_word(l, i) || !nl__scn_valid_hostname(l->tok[i].text))
      return fail_val(p, l, i,
                      "a DNS name like peer-a.example.com (letters, digits "
                      "and -, in labels separated by dots)");
    char *lower = g_ascii_strdown(l->tok[i].text, -1);
    char *key = g_strconcat("dns:", lower, NULL);
    g_free(lower);
    NlScnLoc *prev = g_hash_table_lookup(p->name_loc, key);
    if (prev != NULL) {
      g_free(key);
      return fail_tok(p, l, i, NL_SCENARIO_ERROR_CONFLICT,
                      "the DNS name \"%s\" is already given at %s:%u:%u",
                      l->tok[i].text, prev->file, prev->line, prev->column);
    }
    NlScnLoc *loc = g_new(NlScnLoc, 1);
    *loc = tok_loc(l, &l->tok[i]);
    g_hash_table_insert(p->name_loc, key, loc);
    g_ptr_array_add(p->block->names, g_strdup(l->tok[i].text));
  }
  return TRUE;
}

static gboolean blk_link(NlScnParser *p, NlScnLine *l) {
  const char *kw = l->tok[0].text;
  NlScnRole role = strcmp(kw, "inside") == 0    ? NL_SCN_ROLE_INSIDE
                   : strcmp(kw, "outside") == 0 ? NL_SCN_ROLE_OUTSIDE
                                                : NL_SCN_ROLE_PLAIN;
  gboolean natlike = p->block->kind == NL_SCN_NODE_NAT ||
                     p->block->kind == NL_SCN_NODE_FIREWALL;
  char *usage =
      g_strconcat(kw, " NETWORK ADDRESS... [PROPERTY=VALUE...]", NULL);
  gboolean ok = FALSE;
  if (natlike && role == NL_SCN_ROLE_PLAIN) {
    fail_tok(p, l, 0, NL_SCENARIO_ERROR_SYNTAX,
             "a %s connects with `inside` and `outside`, not `link`",
             nl_scn_node_kind_name(p->block->kind));
    goto out;
  }
  if (!natlike && role != NL_SCN_ROLE_PLAIN) {
    fail_tok(p, l, 0, NL_SCENARIO_ERROR_SYNTAX,
             "`%s` belongs to a nat or firewall; a %s connects with `link`", kw,
             nl_scn_node_kind_name(p->block->kind));
    goto out;
  }
  if (!get_name(p, l, 1, "a network name", usage))
    goto out;
  NlScnLink *k = g_new0(NlScnLink, 1);
  k->loc = tok_loc(l, &l->tok[0]);
  k->role = role;
  k->network = g_strdup(l->tok[1].text);
  k->network_loc = tok_loc(l, &l->tok[1]);
  k->node = p->block;
  k->addrs = g_array_new(FALSE, TRUE, sizeof(NlScnAddr));
  g_ptr_array_add(p->block->links, k);
  guint i = 2;
  for (; is_word(l, i); i++) {
    NlScnAddr a;
    if (strcmp(l->tok[i].text, "auto") == 0 && !l->tok[i].quoted) {
      if (!auto_addr(p, l, i, k->network, &a))
        goto out;
    } else if (!get_addr(p, l, i, FALSE, &a)) {
      goto out;
    }
    if (a.family == 4)
      g_hash_table_add(p->claimed_addrs, GUINT_TO_POINTER(addr4(&a) + 1));
    g_array_append_val(k->addrs, a);
  }
  if (k->addrs->len == 0) {
    if (need(p, l, 2, "an address like 10.0.0.5", usage))
      fail_val(p, l, 2, "an address like 10.0.0.5");
    goto out;
  }
  ok = parse_props(p, l, i, &k->props, usage);
out:
  g_free(usage);
  return ok;
}

static gboolean blk_route(NlScnParser *p, NlScnLine *l) {
  const char *usage = "route SUBNET|default via GATEWAY";
  if (!need_word(p, l, 1, "a subnet like 172.16.0.0/12, or default", usage))
    return FALSE;
  NlScnRoute *r = g_new0(NlScnRoute, 1);
  r->loc = tok_loc(l, &l->tok[0]);
  g_ptr_array_add(p->block->routes, r);
  if (strcmp(l->tok[1].text, "default") == 0) {
    r->dest.family = 4;
    r->dest.len = 0;
    r->dest.loc = tok_loc(l, &l->tok[1]);
  } else if (!get_addr(p, l, 1, TRUE, &r->dest)) {
    return FALSE;
  }
  if (!need_word(p, l, 2, "via", usage))
    return FALSE;
  if (strcmp(l->tok[2].text, "via") != 0)
    return fail_tok(p, l, 2, NL_SCENARIO_ERROR_SYNTAX,
                    "expected via, got \"%s\" (usage: %s)", l->tok[2].text,
                    usage);
  if (!need_word(p, l, 3, "a gateway address", usage) ||
      !get_addr(p, l, 3, FALSE, &r->via))
    return FALSE;
  if (r->via.family != r->dest.family) {
    if (strcmp(l->tok[1].text, "default") == 0 && r->via.family == 6) {
      r->dest.family = 6; /* default via an IPv6 gateway is ::/0 */
    } else {
      return fail_tok(p, l, 3, NL_SCENARIO_ERROR_VALUE,
                      "expected an IPv%u gateway for an IPv%u subnet, got "
                      "\"%s\"",
                      r->dest.family, r->dest.family, l->tok[3].text);
    }
  }
  return no_more(p, l, 4, usage);
}

static const char *const builtins[] = {
    "udp-echo-server",
    "udp-echo-client",
    "tcp-echo-server",
    "tcp-echo-client",
    "chat-server",
    "chat-client",
    "stun-server",
    "stun-client",
    "turn-server",
    "turn-client",
    "signaling-server",
    "ice-peer",
    "python3", /* CPython (natlab-python): `run python3 -m MODULE` */
    NULL,
};

const char *const *nl_scenario_builtin_programs(void) {
  return builtins;
}

/* Byte order of two strings in a GPtrArray, so a folder's files come in
 * the same order on every machine and locale. */
static gint cmp_strings(gconstpointer a, gconstpointer b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Reads [OPTION=VALUE...] PROGRAM ARG... from word @i.  @at_given: the
 * time came from `at T run`, so at= is not allowed. */
static gboolean parse_run(NlScnParser *p, NlScnLine *l, guint i, NlScnRun *r,
                          gboolean at_given) {
  const char *usage =
      at_given ? "at TIME run NODE [name=NAME] [env=NAME=VALUE] [cwd=DIR] "
                 "PROGRAM ARG..."
               : "run [at=TIME] [name=NAME] [count=N] [every=TIME] "
                 "[env=NAME=VALUE] [cwd=DIR] PROGRAM ARG...";
  static const char *const opts[] = {"at",  "name",  "env", "cwd",
                                     "count", "every", NULL};
  for (; i < l->ntok && l->tok[i].key != NULL && !l->tok[i].quoted; i++) {
    const NlScnTok *t = &l->tok[i];
    if (strcmp(t->key, "at") == 0 && !at_given) {
      if (!get_time(p, l, i, &r->at))
        return FALSE;
      r->at_loc = val_loc(l, t);
    } else if (strcmp(t->key, "name") == 0) {
      if (!nl__scn_valid_name(t->value))
        return fail_val(p, l, i,
                        "a program name (a letter, then letters, digits, _ "
                        "or -)");
      g_free(r->name);
      r->name = g_strdup(t->value);
    } else if (strcmp(t->key, "at") == 0) {
      return fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                      "the start time is already given by `at`; expected "
                      "no at= here");
    } else if (strcmp(t->key, "env") == 0 || strcmp(t->key, "cwd") == 0) {
      if (!nl__scn_run_option(p, l, i, r))
        return FALSE;
    } else if ((strcmp(t->key, "count") == 0 ||
                strcmp(t->key, "every") == 0) && at_given) {
      return fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                      "%s= is for a `run` line in a host block: expected "
                      "run at=TIME count=N there",
                      t->key);
    } else if (strcmp(t->key, "count") == 0) {
      guint64 n = 0;
      if (!nl__scn_parse_uint(t->value, &n) || n < 1 ||
          n > NL_SCN_MAX_RUN_COUNT)
        return fail_val(p, l, i, "a count from 1 to 10000");
      r->count = (guint)n;
    } else if (strcmp(t->key, "every") == 0) {
      if (!get_time(p, l, i, &r->every))
        return FALSE;
    } else {
      const char *near = nl__scn_suggest(t->key, opts);
      return fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                      "unknown run option \"%s\"%s%s%s (options come before "
                      "the program: %s)",
                      t->key, near ? "; did you mean \"" : "", near ? near : "",
                      near ? "\"?" : "", usage);
    }
  }
  if (!need(p, l, i, "a program", usage))
    return FALSE;
  const NlScnTok *pt = &l->tok[i];
  r->program = g_strdup(pt->text);
  r->program_loc = tok_loc(l, pt);
  const char *prog = pt->text;
  gboolean user = strchr(prog, '/') != NULL || g_str_has_suffix(prog, ".c") ||
                  g_str_has_suffix(prog, ".so") || g_str_has_suffix(prog, ".py");
  if (user) {
    if (g_str_has_suffix(prog, ".c") || g_str_has_suffix(prog, "/"))
      r->kind = NL_SCN_PROGRAM_SOURCE;
    else if (g_str_has_suffix(prog, ".so"))
      r->kind = NL_SCN_PROGRAM_SHARED;
    else if (g_str_has_suffix(prog, ".py"))
      r->kind = NL_SCN_PROGRAM_PYTHON;
    else
      return fail_val(p, l, i,
                      "a user program ending in .c, .so or .py, or a folder "
                      "of .c files ending in /, like ./my-client.c");
    r->path = nl__scn_path(p, l->file, prog);
    gboolean folder = g_str_has_suffix(prog, "/");
    if (!nl__scn_file_test(p, r->path, folder ? G_FILE_TEST_IS_DIR
                                               : G_FILE_TEST_IS_REGULAR)) {
      NlScnLoc loc = tok_loc(l, pt);
      return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_VALUE,
                          "program %s \"%s\" does not exist (looked for "
                          "%s; a user program's path is relative to the "
                          "scenario file)",
                          folder ? "folder" : "file", prog, r->path);
    }
    if (r->kind == NL_SCN_PROGRAM_PYTHON) {
      NlScnLoc loc = tok_loc(l, pt);
      if (!nl__scn_python_source_ok(p, &loc, prog, r->path))
        return FALSE;
    }
    /* The sources of one program: a folder's .c files, or the .c words
     * that follow the first (quote one to pass it as an argument). */
    GPtrArray *srcs = g_ptr_array_new_with_free_func(g_free);
    if (folder) {
      GDir *d = g_dir_open(r->path, 0, NULL);
      const char *e;
      while (d != NULL && (e = g_dir_read_name(d)) != NULL) {
        char *f = g_build_filename(r->path, e, NULL);
        if (g_str_has_suffix(e, ".c") && g_file_test(f, G_FILE_TEST_IS_REGULAR))
          g_ptr_array_add(srcs, f);
        else
          g_free(f);
      }
      if (d != NULL)
        g_dir_close(d);
      g_ptr_array_sort(srcs, cmp_strings);
      if (srcs->len == 0) {
        g_ptr_array_free(srcs, TRUE);
        NlScnLoc loc = tok_loc(l, pt);
        return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_VALUE,
                            "program folder \"%s\" has no .c files: "
                            "expected the sources of one program in it",
                            prog);
      }
    } else if (r->kind == NL_SCN_PROGRAM_SOURCE) {
      g_ptr_array_add(srcs, g_strdup(r->path));
      for (; i + 1 < l->ntok && !l->tok[i + 1].quoted &&
             l->tok[i + 1].key == NULL &&
             g_str_has_suffix(l->tok[i + 1].text, ".c");
           i++) {
        char *f = nl__scn_path(p, l->file, l->tok[i + 1].text);
        if (!nl__scn_file_test(p, f, G_FILE_TEST_IS_REGULAR)) {
          NlScnLoc loc = tok_loc(l, &l->tok[i + 1]);
          nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_VALUE,
                       "program file \"%s\" does not exist (looked for %s; "
                       "the .c words after the first are more files of the "
                       "same program)",
                       l->tok[i + 1].text, f);
          g_free(f);
          g_ptr_array_free(srcs, TRUE);
          return FALSE;
        }
        g_ptr_array_add(srcs, f);
      }
    }
    if (srcs->len > 0) {
      g_ptr_array_add(srcs, NULL);
      r->sources = (char **)g_ptr_array_free(srcs, FALSE);
    } else {
      g_ptr_array_free(srcs, TRUE);
    }
    char *trimmed = g_strndup(prog, strlen(prog) - (folder ? 1 : 0));
    char *base = g_path_get_basename(trimmed);
    g_free(trimmed);
    char *dot = strrchr(base, '.');
    if (dot != NULL && dot != base && !folder)
      *dot = '\0';
    if (r->name == NULL)
      r->name = base;
    else
      g_free(base);
  } else {
    if (!g_strv_contains(builtins, prog)) {
      const char *near = nl__scn_suggest(prog, builtins);
      char *all = g_strjoinv(", ", (char **)builtins);
      NlScnLoc loc = tok_loc(l, pt);
      if (near != NULL)
        nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_VALUE,
                     "unknown program \"%s\"; did you mean \"%s\"? (built-in "
                     "programs: %s; a user program is a path ending in .c "
                     "or .so)",
                     prog, near, all);
      else
        nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_VALUE,
                     "unknown program \"%s\": expected a built-in program "
                     "(%s) or a user program path ending in .c or .so",
                     prog, all);
      g_free(all);
      return FALSE;
    }
    r->kind = NL_SCN_PROGRAM_BUILTIN;
    if (r->name == NULL)
      r->name = g_strdup(prog);
  }
  /* argv[0] is the program as written; the arguments follow the last
   * source word (@i). */
  guint first = i + 1;
  r->argc = (int)(l->ntok - first) + 1;
  r->argv = g_new0(char *, r->argc + 1);
  r->argv[0] = g_strdup(pt->text);
  for (guint k = first; k < l->ntok; k++)
    r->argv[k - first + 1] = g_strdup(l->tok[k].text);
  return TRUE;
}

static gboolean blk_run(NlScnParser *p, NlScnLine *l) {
  if (p->block->kind == NL_SCN_NODE_NAT ||
      p->block->kind == NL_SCN_NODE_FIREWALL)
    return fail_tok(p, l, 0, NL_SCENARIO_ERROR_SYNTAX,
                    "programs run on hosts and routers: expected no `run` "
                    "in a %s block",
                    nl_scn_node_kind_name(p->block->kind));
  NlScnRun *r = g_new0(NlScnRun, 1);
  r->loc = tok_loc(l, &l->tok[0]);
  r->at_loc = r->loc;
  r->node = p->block;
  g_ptr_array_add(p->block->runs, r);
  if (!parse_run(p, l, 1, r, FALSE))
    return FALSE;
  /* count=N: N instances NAME-1 ... NAME-N, started every= apart. */
  if (r->count > 1) {
    char *base = r->name;
    for (guint k = 2; k <= r->count; k++) {
      NlScnRun *c = g_new0(NlScnRun, 1);
      *c = *r;
      c->name = g_strdup_printf("%s-%u", base, k);
      c->program = g_strdup(r->program);
      c->path = g_strdup(r->path);
      c->sources = g_strdupv(r->sources);
      c->argv = g_strdupv(r->argv);
      c->cwd = g_strdup(r->cwd);
      if (r->env != NULL) {
        c->env = g_ptr_array_new_with_free_func(g_free);
        for (guint e = 0; e < r->env->len; e++)
          g_ptr_array_add(c->env, g_strdup(g_ptr_array_index(r->env, e)));
      }
      c->at = r->at + (NlTime)(k - 1) * r->every;
      g_ptr_array_add(p->block->runs, c);
    }
    r->name = g_strdup_printf("%s-1", base);
    g_free(base);
  }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Timeline                                                             */

/* HOST/PROGRAM at word @i. */
static gboolean get_host_prog(NlScnParser *p, const NlScnLine *l, guint i,
                              char **node, NlScnLoc *node_loc, char **prog,
                              NlScnLoc *prog_loc, gboolean prog_optional,
                              const char *usage) {
  if (!need_word(p, l, i, "HOST/PROGRAM like peer_a/client", usage))
    return FALSE;
  const char *v = l->tok[i].text;
  const char *slash = strchr(v, '/');
  char *h = slash ? g_strndup(v, (gsize)(slash - v)) : g_strdup(v);
  gboolean ok = nl__scn_valid_name(h) &&
                (slash ? nl__scn_valid_name(slash + 1) : prog_optional);
  if (!ok) {
    g_free(h);
    return fail_val(p, l, i,
                    prog_optional ? "HOST or HOST/PROGRAM like peer_a/client"
                                  : "HOST/PROGRAM like peer_a/client (the "
                                    "program's instance name after the /)");
  }
  *node = h;
  *node_loc = tok_loc(l, &l->tok[i]);
  if (slash != NULL) {
    *prog = g_strdup(slash + 1);
    *prog_loc = *node_loc;
    prog_loc->column += (guint)g_utf8_strlen(v, slash - v) + 1;
  }
  return TRUE;
}

static gboolean get_node_word(NlScnParser *p, const NlScnLine *l, guint i,
                              char **node, NlScnLoc *loc, const char *what,
                              const char *usage) {
  if (!get_name(p, l, i, what, usage))
    return FALSE;
  *node = g_strdup(l->tok[i].text);
  *loc = tok_loc(l, &l->tok[i]);
  return TRUE;
}

/* The rest of the line from @i as one text: a quoted string, or words. */
static gboolean get_text(NlScnParser *p, const NlScnLine *l, guint i,
                         char **out, const char *usage) {
  if (!need(p, l, i, "a text like \"hello\"", usage))
    return FALSE;
  GString *s = g_string_new(NULL);
  for (guint k = i; k < l->ntok; k++) {
    if (k > i)
      g_string_append_c(s, ' ');
    g_string_append(s, l->tok[k].text);
  }
  *out = g_string_free(s, FALSE);
  return TRUE;
}

static const char *const action_words[] = {
    "link", "nat",      "host", "partition", "heal",   "run",
    "stop", "snapshot", "note", "stdin",     "expect", NULL,
};

static gboolean parse_expect(NlScnParser *p, NlScnLine *l, guint i, NlTime at);

static gboolean stmt_at(NlScnParser *p, NlScnLine *l) {
  const char *usage = "at TIME ACTION...";
  NlTime at;
  if (!need_word(p, l, 1, "a time like 5s", usage) || !get_time(p, l, 1, &at))
    return FALSE;
  if (!need_word(p, l, 2,
                 "an action (link, nat, host, partition, heal, run, "
                 "stop, snapshot, note, stdin, expect)",
                 usage))
    return FALSE;
  const char *w = l->tok[2].text;
  if (strcmp(w, "expect") == 0)
    return parse_expect(p, l, 2, at);
  if (strcmp(w, "run") == 0) {
    NlScnPendingRun *pr = g_new0(NlScnPendingRun, 1);
    pr->run = g_new0(NlScnRun, 1);
    pr->run->loc = tok_loc(l, &l->tok[0]);
    pr->run->at_loc = tok_loc(l, &l->tok[1]);
    pr->run->at = at;
    g_ptr_array_add(p->pending_runs, pr);
    return get_node_word(p, l, 3, &pr->node, &pr->node_loc, "a host name",
                         "at TIME run HOST [name=NAME] PROGRAM ARG...") &&
           parse_run(p, l, 4, pr->run, TRUE);
  }
  if (!g_strv_contains(action_words, w)) {
    const char *near = nl__scn_suggest(w, action_words);
    char *all = g_strjoinv(", ", (char **)action_words);
    gboolean r =
        near != NULL
            ? fail_tok(p, l, 2, NL_SCENARIO_ERROR_SYNTAX,
                       "unknown action \"%s\"; did you mean \"%s\"? "
                       "(actions: %s)",
                       w, near, all)
            : fail_tok(p, l, 2, NL_SCENARIO_ERROR_SYNTAX,
                       "unknown action \"%s\": expected one of %s", w, all);
    g_free(all);
    return r;
  }
  NlScnAction *a = g_new0(NlScnAction, 1);
  a->loc = tok_loc(l, &l->tok[0]);
  a->at_loc = tok_loc(l, &l->tok[1]);
  a->at = at;
  g_ptr_array_add(p->s->actions, a);

  if (strcmp(w, "link") == 0) {
    usage = "at TIME link NODE NETWORK down|up|set PROPERTY=VALUE...";
    if (!get_node_word(p, l, 3, &a->node, &a->node_loc, "a node name", usage) ||
        !get_node_word(p, l, 4, &a->network, &a->network_loc, "a network name",
                       usage) ||
        !need_word(p, l, 5, "down, up or set", usage))
      return FALSE;
    const char *v = l->tok[5].text;
    if (strcmp(v, "down") == 0 || strcmp(v, "up") == 0) {
      a->kind = v[0] == 'd' ? NL_SCN_ACTION_LINK_DOWN : NL_SCN_ACTION_LINK_UP;
      return no_more(p, l, 6, usage);
    }
    if (strcmp(v, "set") != 0)
      return fail_tok(p, l, 5, NL_SCENARIO_ERROR_SYNTAX,
                      "expected down, up or set, got \"%s\" (usage: %s)", v,
                      usage);
    a->kind = NL_SCN_ACTION_LINK_SET;
    return need(p, l, 6, "PROPERTY=VALUE like loss=10%", usage) &&
           parse_props(p, l, 6, &a->props, usage);
  }
  if (strcmp(w, "nat") == 0 || strcmp(w, "host") == 0) {
    gboolean nat = w[0] == 'n';
    usage = nat ? "at TIME nat NAT reboot" : "at TIME host HOST crash|restart";
    if (!get_node_word(p, l, 3, &a->node, &a->node_loc,
                       nat ? "a nat name" : "a host name", usage) ||
        !need_word(p, l, 4, nat ? "reboot" : "crash or restart", usage))
      return FALSE;
    const char *v = l->tok[4].text;
    if (nat && strcmp(v, "reboot") == 0)
      a->kind = NL_SCN_ACTION_NAT_REBOOT;
    else if (!nat && strcmp(v, "crash") == 0)
      a->kind = NL_SCN_ACTION_HOST_CRASH;
    else if (!nat && strcmp(v, "restart") == 0)
      a->kind = NL_SCN_ACTION_HOST_RESTART;
    else
      return fail_tok(p, l, 4, NL_SCENARIO_ERROR_SYNTAX,
                      "expected %s, got \"%s\" (usage: %s)",
                      nat ? "reboot" : "crash or restart", v, usage);
    return no_more(p, l, 5, usage);
  }
  if (strcmp(w, "partition") == 0 || strcmp(w, "heal") == 0) {
    a->kind = w[0] == 'p' ? NL_SCN_ACTION_PARTITION : NL_SCN_ACTION_HEAL;
    usage =
        w[0] == 'p' ? "at TIME partition NODE NODE" : "at TIME heal NODE NODE";
    return get_node_word(p, l, 3, &a->node, &a->node_loc, "a node name",
                         usage) &&
           get_node_word(p, l, 4, &a->node2, &a->node2_loc,
                         "a second node name", usage) &&
           no_more(p, l, 5, usage);
  }
  if (strcmp(w, "stop") == 0) {
    a->kind = NL_SCN_ACTION_STOP;
    usage = "at TIME stop HOST/PROGRAM";
    return get_host_prog(p, l, 3, &a->node, &a->node_loc, &a->program,
                         &a->program_loc, FALSE, usage) &&
           no_more(p, l, 4, usage);
  }
  if (strcmp(w, "snapshot") == 0) {
    a->kind = NL_SCN_ACTION_SNAPSHOT;
    usage = "at TIME snapshot NAT";
    return get_node_word(p, l, 3, &a->node, &a->node_loc, "a nat name",
                         usage) &&
           no_more(p, l, 4, usage);
  }
  if (strcmp(w, "note") == 0) {
    a->kind = NL_SCN_ACTION_NOTE;
    return get_text(p, l, 3, &a->text, "at TIME note \"TEXT\"");
  }
  /* stdin */
  a->kind = NL_SCN_ACTION_STDIN;
  usage = "at TIME stdin HOST/PROGRAM \"LINE\"";
  return get_host_prog(p, l, 3, &a->node, &a->node_loc, &a->program,
                       &a->program_loc, FALSE, usage) &&
         get_text(p, l, 4, &a->text, usage);
}

static const char *const expect_words[] = {
#define NL_X(e, s) s,
    NL_SCN_EXPECT_MAP(NL_X)
#undef NL_X
        NULL,
};

/* The state names of sim/tcp/tcp.h, so the two cannot drift apart. */
static const char *const tcp_states[] = {
#define NL_X(e, str) str,
    NL_TCP_STATE_MAP(NL_X)
#undef NL_X
        NULL,
};

static gboolean grading_options(NlScnParser *p, NlScnLine *l, guint first,
                                NlScnExpect *e, guint *ntok);
static gboolean parse_expect_kind(NlScnParser *p, NlScnLine *l, guint i,
                                  NlScnExpect *e);

/* [CMP] TIME at word *i (into @value, ns); advances *i. */
static gboolean get_cmp_time(NlScnParser *p, const NlScnLine *l, guint *i,
                             NlScnCmp *cmp, gint64 *value, const char *usage) {
  static const char *const ops[] = {
#define NL_X(e, s) s,
      NL_SCN_CMP_MAP(NL_X)
#undef NL_X
  };
  *cmp = NL_SCN_CMP_EQ;
  if (!need(p, l, *i, "a time like 20ms", usage))
    return FALSE;
  for (guint k = 0; k < G_N_ELEMENTS(ops); k++) {
    if (is_word(l, *i) && strcmp(l->tok[*i].text, ops[k]) == 0) {
      *cmp = (NlScnCmp)k;
      (*i)++;
      break;
    }
  }
  NlTime t;
  if (!need(p, l, *i, "a time like 20ms", usage) || !get_time(p, l, *i, &t))
    return FALSE;
  *value = t;
  (*i)++;
  return TRUE;
}

/* `expect KIND ...` with `expect` at word @i. */
static gboolean parse_expect(NlScnParser *p, NlScnLine *l, guint i, NlTime at) {
  const char *usage = "expect stdout|stderr|exit|received|tcp|path|filtered|"
                      "calls|wasted|cpu|fds|sent|connections|blocked ...";
  if (!need_word(p, l, i + 1,
                 "what to expect (stdout, stderr, exit, received, tcp, path, "
                 "filtered, calls, wasted, cpu, fds, sent, connections, "
                 "blocked)",
                 usage))
    return FALSE;
  const char *w = l->tok[i + 1].text;
  int kind = -1;
  for (int k = 0; kind < 0 && expect_words[k] != NULL; k++)
    if (strcmp(w, expect_words[k]) == 0)
      kind = k; /* (the words differ: the first is the one) */
  if (kind < 0) {
    const char *near = nl__scn_suggest(w, expect_words);
    char *all = g_strjoinv(", ", (char **)expect_words);
    gboolean r = near != NULL
                     ? fail_tok(p, l, i + 1, NL_SCENARIO_ERROR_SYNTAX,
                                "unknown expectation \"%s\"; did you mean "
                                "\"%s\"? (expectations: %s)",
                                w, near, all)
                     : fail_tok(p, l, i + 1, NL_SCENARIO_ERROR_SYNTAX,
                                "unknown expectation \"%s\": expected one of "
                                "%s",
                                w, all);
    g_free(all);
    return r;
  }
  NlScnExpect *e = g_new0(NlScnExpect, 1);
  e->loc = tok_loc(l, &l->tok[0]);
  e->at_loc = i > 0 ? tok_loc(l, &l->tok[1]) : e->loc;
  e->at = at;
  e->kind = (NlScnExpectKind)kind;
  e->within = NL_TIME_NEVER;
  /* A copy of a grouped line belongs to its group (scenario-group.c). */
  g_ptr_array_add(p->group_head != NULL ? p->group_head->copies
                                        : p->s->expects,
                  e);
  guint full = l->ntok, cut = full;
  if (!grading_options(p, l, i + 1, e, &cut))
    return FALSE;
  e->source = g_strndup(l->raw + l->tok[i].start,
                        l->tok[cut - 1].end - l->tok[i].start);
  l->ntok = cut; /* the options are read: the kind sees the rest */
  gboolean ok = parse_expect_kind(p, l, i, e);
  l->ntok = full;
  return ok;
}

/* The words of `expect KIND ...` after KIND, for @e's kind. */
static gboolean parse_expect_kind(NlScnParser *p, NlScnLine *l, guint i,
                                  NlScnExpect *e) {
  const char *usage;
  guint j = i + 2;
  switch (e->kind) {
    case NL_SCN_EXPECT_STDOUT:
    case NL_SCN_EXPECT_STDERR:
      usage = e->kind == NL_SCN_EXPECT_STDOUT
                  ? "expect stdout HOST/PROGRAM contains|lacks \"TEXT\""
                  : "expect stderr HOST/PROGRAM contains|lacks \"TEXT\"";
      if (!get_host_prog(p, l, j, &e->node, &e->node_loc, &e->program,
                         &e->program_loc, FALSE, usage) ||
          !need_word(p, l, j + 1, "contains or lacks", usage))
        return FALSE;
      if (strcmp(l->tok[j + 1].text, "lacks") == 0)
        e->negate = TRUE;
      else if (strcmp(l->tok[j + 1].text, "contains") != 0)
        return fail_tok(p, l, j + 1, NL_SCENARIO_ERROR_SYNTAX,
                        "expected contains or lacks, got \"%s\" (usage: %s)",
                        l->tok[j + 1].text, usage);
      return get_text(p, l, j + 2, &e->text, usage);
    case NL_SCN_EXPECT_EXIT:
      usage = "expect exit HOST/PROGRAM [code [CMP] NUMBER] [within TIME]";
      if (!get_host_prog(p, l, j, &e->node, &e->node_loc, &e->program,
                         &e->program_loc, FALSE, usage) ||
          !need_word(p, l, j + 1, "code or within", usage))
        return FALSE;
      j++;
      if (strcmp(l->tok[j].text, "code") == 0) {
        j++;
        e->has_code = TRUE;
        if (!get_count(p, l, &j, &e->cmp, &e->value, TRUE, usage))
          return FALSE;
      } else if (strcmp(l->tok[j].text, "within") != 0) {
        return fail_tok(p, l, j, NL_SCENARIO_ERROR_SYNTAX,
                        "expected code or within, got \"%s\" (usage: %s)",
                        l->tok[j].text, usage);
      }
      if (is_word(l, j) && strcmp(l->tok[j].text, "within") == 0) {
        if (!need(p, l, j + 1, "a time like 10s", usage) ||
            !get_time(p, l, j + 1, &e->within))
          return FALSE;
        j += 2;
      }
      return no_more(p, l, j, usage);
    case NL_SCN_EXPECT_RECEIVED:
      usage = "expect received HOST from HOST bytes|packets [CMP] NUMBER";
      if (!get_node_word(p, l, j, &e->node, &e->node_loc, "a host name",
                         usage) ||
          !need_word(p, l, j + 1, "from", usage))
        return FALSE;
      if (strcmp(l->tok[j + 1].text, "from") != 0)
        return fail_tok(p, l, j + 1, NL_SCENARIO_ERROR_SYNTAX,
                        "expected from, got \"%s\" (usage: %s)",
                        l->tok[j + 1].text, usage);
      if (!get_node_word(p, l, j + 2, &e->peer, &e->peer_loc,
                         "the sending host's name", usage) ||
          !need_word(p, l, j + 3, "bytes or packets", usage))
        return FALSE;
      if (strcmp(l->tok[j + 3].text, "packets") == 0)
        e->count_packets = TRUE;
      else if (strcmp(l->tok[j + 3].text, "bytes") != 0)
        return fail_tok(p, l, j + 3, NL_SCENARIO_ERROR_SYNTAX,
                        "expected bytes or packets, got \"%s\" (usage: %s)",
                        l->tok[j + 3].text, usage);
      j += 4;
      return get_count(p, l, &j, &e->cmp, &e->value, FALSE, usage) &&
             no_more(p, l, j, usage);
    case NL_SCN_EXPECT_TCP: {
      usage = "expect tcp HOST[/PROGRAM] state STATE";
      if (!get_host_prog(p, l, j, &e->node, &e->node_loc, &e->program,
                         &e->program_loc, TRUE, usage) ||
          !need_word(p, l, j + 1, "state", usage))
        return FALSE;
      if (strcmp(l->tok[j + 1].text, "state") != 0)
        return fail_tok(p, l, j + 1, NL_SCENARIO_ERROR_SYNTAX,
                        "expected state, got \"%s\" (usage: %s)",
                        l->tok[j + 1].text, usage);
      if (!need_word(p, l, j + 2, "a TCP state like ESTABLISHED", usage))
        return FALSE;
      char *st = g_ascii_strup(l->tok[j + 2].text, -1);
      g_strdelimit(st, "-", '_');
      if (!g_strv_contains(tcp_states, st)) {
        g_free(st);
        char *all = g_strjoinv(", ", (char **)tcp_states);
        char *msg = g_strdup_printf("a TCP state (%s)", all);
        fail_val(p, l, j + 2, msg);
        g_free(msg);
        g_free(all);
        return FALSE;
      }
      for (int k = 0; tcp_states[k] != NULL; k++)
        if (strcmp(tcp_states[k], st) == 0)
          e->tcp_state = (NlTcpState)k;
      e->text = st;
      return no_more(p, l, j + 3, usage);
    }
    case NL_SCN_EXPECT_PATH:
      usage = "expect path HOST HOST direct|relayed";
      if (!get_node_word(p, l, j, &e->node, &e->node_loc, "a host name",
                         usage) ||
          !get_node_word(p, l, j + 1, &e->peer, &e->peer_loc,
                         "a second host name", usage) ||
          !need_word(p, l, j + 2, "direct or relayed", usage))
        return FALSE;
      if (strcmp(l->tok[j + 2].text, "direct") == 0)
        e->path = NL_SCN_PATH_DIRECT;
      else if (strcmp(l->tok[j + 2].text, "relayed") == 0)
        e->path = NL_SCN_PATH_RELAYED;
      else
        return fail_tok(p, l, j + 2, NL_SCENARIO_ERROR_SYNTAX,
                        "expected direct or relayed, got \"%s\"",
                        l->tok[j + 2].text);
      return no_more(p, l, j + 3, usage);
    case NL_SCN_EXPECT_FILTERED:
      usage = "expect filtered NAT [reason=REASON] count [CMP] NUMBER";
      if (!get_node_word(p, l, j, &e->node, &e->node_loc, "a nat name",
                         usage))
        return FALSE;
      e->drop_reasons = nl_scn_filtered_reasons();
      if (j + 1 < l->ntok && l->tok[j + 1].key != NULL &&
          strcmp(l->tok[j + 1].key, "reason") == 0) {
        e->drop_reasons = nl__scn_filter_reason(l->tok[j + 1].value);
        if (e->drop_reasons == 0) {
          const char *const names[] = {"filtered", "no-mapping",
                                       "hairpin-off", "pool-exhausted",
                                       "blocked", NULL};
          const char *near = nl__scn_suggest(l->tok[j + 1].value, names);
          NlScnLoc loc = val_loc(l, &l->tok[j + 1]);
          return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_VALUE,
                              "unknown drop reason \"%s\"%s%s%s (reasons: %s)",
                              l->tok[j + 1].value,
                              near ? "; did you mean \"" : "",
                              near ? near : "", near ? "\"?" : "",
                              nl__scn_filter_reason_names());
        }
        j++;
      }
      if (!need_word(p, l, j + 1, "count", usage))
        return FALSE;
      if (strcmp(l->tok[j + 1].text, "count") != 0)
        return fail_tok(p, l, j + 1, NL_SCENARIO_ERROR_SYNTAX,
                        "expected count, got \"%s\" (usage: %s)",
                        l->tok[j + 1].text, usage);
      j += 2;
      return get_count(p, l, &j, &e->cmp, &e->value, FALSE, usage) &&
             no_more(p, l, j, usage);
    case NL_SCN_EXPECT_CALLS:
    case NL_SCN_EXPECT_WASTED:
    case NL_SCN_EXPECT_FDS:
    case NL_SCN_EXPECT_CONNECTIONS:
      usage = e->kind == NL_SCN_EXPECT_CALLS    ? "expect calls HOST/PROGRAM [CMP] NUMBER"
              : e->kind == NL_SCN_EXPECT_WASTED ? "expect wasted HOST/PROGRAM [CMP] NUMBER"
              : e->kind == NL_SCN_EXPECT_FDS    ? "expect fds HOST/PROGRAM [CMP] NUMBER"
                                                : "expect connections HOST/PROGRAM [CMP] NUMBER";
      if (!get_host_prog(p, l, j, &e->node, &e->node_loc, &e->program,
                         &e->program_loc, FALSE, usage))
        return FALSE;
      j++;
      return get_count(p, l, &j, &e->cmp, &e->value, FALSE, usage) &&
             no_more(p, l, j, usage);
    case NL_SCN_EXPECT_SENT:
      usage = "expect sent HOST/PROGRAM bytes [CMP] NUMBER";
      if (!get_host_prog(p, l, j, &e->node, &e->node_loc, &e->program,
                         &e->program_loc, FALSE, usage) ||
          !need_word(p, l, j + 1, "bytes", usage))
        return FALSE;
      if (strcmp(l->tok[j + 1].text, "bytes") != 0)
        return fail_tok(p, l, j + 1, NL_SCENARIO_ERROR_SYNTAX,
                        "expected bytes, got \"%s\" (usage: %s)",
                        l->tok[j + 1].text, usage);
      j += 2;
      return get_count(p, l, &j, &e->cmp, &e->value, FALSE, usage) &&
             no_more(p, l, j, usage);
    case NL_SCN_EXPECT_CPU:
      usage = "expect cpu HOST/PROGRAM [CMP] TIME";
      if (!get_host_prog(p, l, j, &e->node, &e->node_loc, &e->program,
                         &e->program_loc, FALSE, usage))
        return FALSE;
      j++;
      if (!get_cmp_time(p, l, &j, &e->cmp, &e->value, usage))
        return FALSE;
      return no_more(p, l, j, usage);
    case NL_SCN_EXPECT_BLOCKED:
      usage = "expect blocked HOST/PROGRAM [in CALL] [since [CMP] TIME]";
      if (!get_host_prog(p, l, j, &e->node, &e->node_loc, &e->program,
                         &e->program_loc, FALSE, usage))
        return FALSE;
      j++;
      if (is_word(l, j) && strcmp(l->tok[j].text, "in") == 0) {
        if (!get_name(p, l, j + 1, "a call name like accept", usage))
          return FALSE;
        e->text = g_strdup(l->tok[j + 1].text);
        j += 2;
      }
      if (is_word(l, j) && strcmp(l->tok[j].text, "since") == 0) {
        j++;
        e->has_since = TRUE;
        if (!get_cmp_time(p, l, &j, &e->since_cmp, &e->since, usage))
          return FALSE;
      }
      return no_more(p, l, j, usage);
    case NL_SCN_N_EXPECTS:
    default:
      g_assert_not_reached();
  }
  return FALSE;
}

/* Points written as 5, 2.5 or 0.25 (at most two decimals, at most 10000):
 * in hundredths. */
static gboolean parse_points(const char *v, gint64 *out) {
  gint64 whole = 0, frac = 0;
  int digits = 0, fdigits = 0;
  const char *c = v;
  for (; *c >= '0' && *c <= '9'; c++, digits++) {
    whole = whole * 10 + (*c - '0');
    if (whole > 10000)
      return FALSE;
  }
  if (*c == '.') {
    for (c++; *c >= '0' && *c <= '9'; c++, fdigits++) {
      if (fdigits == 2)
        return FALSE;
      frac = frac * 10 + (*c - '0');
    }
    if (fdigits == 0)
      return FALSE;
  }
  if (*c != '\0' || digits == 0)
    return FALSE;
  if (fdigits == 1)
    frac *= 10;
  *out = whole * 100 + frac;
  return *out <= 10000 * 100;
}

/* The trailing grading options of an expect line (points=, name=,
 * feedback=): read into @e and cut off the line (*ntok words remain). */
static gboolean grading_options(NlScnParser *p, NlScnLine *l, guint first,
                                NlScnExpect *e, guint *ntok) {
  static const char *const keys[] = {"points", "name", "feedback",
                                     "requires", NULL};
  guint n = l->ntok;
  while (n > first + 1 && l->tok[n - 1].key != NULL &&
         g_strv_contains(keys, l->tok[n - 1].key))
    n--;
  e->points = -1;
  for (guint k = n; k < l->ntok; k++) {
    const NlScnTok *t = &l->tok[k];
    for (guint q = n; q < k; q++)
      if (strcmp(l->tok[q].key, t->key) == 0)
        return fail_tok(p, l, k, NL_SCENARIO_ERROR_CONFLICT,
                        "%s= is already given on this line", t->key);
    if (strcmp(t->key, "points") == 0) {
      if (!parse_points(t->value, &e->points))
        return fail_val(p, l, k,
                        "points from 0 to 10000 like 5 or 2.5 (at most two "
                        "decimals)");
      e->points_loc = val_loc(l, t);
    } else if (strcmp(t->key, "name") == 0) {
      if (t->value[0] == '\0')
        return fail_val(p, l, k, "a test name like \"echoes one line\"");
      e->title = g_strdup(t->value);
      e->title_loc = val_loc(l, t);
    } else if (strcmp(t->key, "requires") == 0) {
      if (t->value[0] == '\0')
        return fail_val(p, l, k,
                        "the name= of another expectation of this file, "
                        "like \"echoes before the crash\"");
      e->requires = g_strdup(t->value);
      e->requires_loc = val_loc(l, t);
    } else {
      e->feedback = g_strdup(t->value);
    }
  }
  *ntok = n;
  return TRUE;
}

static gboolean stmt_expect(NlScnParser *p, NlScnLine *l) {
  return parse_expect(p, l, 0, NL_TIME_NEVER);
}

/* Whether @file is open (an including file, or the current one). */
static gboolean file_open(const NlScnParser *p, const char *file) {
  for (guint i = 0; i < p->stack_names->len; i++)
    if (strcmp(g_ptr_array_index(p->stack_names, i), file) == 0)
      return TRUE;
  return FALSE;
}

static gboolean stmt_timeline(NlScnParser *p, NlScnLine *l) {
  const char *usage = "timeline [title=\"TEXT\"] [hide=KIND,...] [from=TIME] "
                      "[to=TIME] [collapse=on|off] [lanes=host|program|"
                      "NAME[=LABEL],...] [states=LANE,...] "
                      "[style=default|chapter] [page=all|none|N] [end=on|off] "
                      "[card=on|off]";
  NlScnTimeline *t = &p->s->timeline;
  if (t->set && strcmp(t->loc.file, l->file) == 0)
    return fail_tok(p, l, 0, NL_SCENARIO_ERROR_CONFLICT,
                    "timeline is already set at %s:%u", t->loc.file,
                    t->loc.line);
  /* A file that includes a lesson may set its own timeline: the including
   * file's line wins, whichever comes first. */
  if (t->set && file_open(p, t->loc.file))
    return TRUE;
  if (t->set) {
    nl__scn_timeline_clear(t);
    nl__scn_timeline_init(t);
  }
  t->set = TRUE;
  t->loc = tok_loc(l, &l->tok[0]);
  for (guint i = 1; i < l->ntok; i++) {
    const NlScnTok *k = &l->tok[i];
    if (k->key == NULL)
      return fail_tok(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                      "expected OPTION=VALUE, got \"%s\" (usage: %s)", k->text,
                      usage);
    GError *err = NULL;
    guint offset = 0;
    if (strcmp(k->key, "lanes") == 0)
      t->lanes_loc = val_loc(l, k);
    if (nl_scenario_timeline_set(t, k->key, k->value, &offset, &err))
      continue;
    gboolean syntax = err->code == NL_SCENARIO_ERROR_SYNTAX;
    NlScnLoc loc = syntax ? tok_loc(l, k) : val_loc(l, k);
    if (!syntax && !k->vquoted && k->from == NULL)
      loc.column += offset;
    nl__scn_fail(p, &loc, err->code, "%s%s%s%s", err->message,
                 syntax ? " (usage: " : "", syntax ? usage : "",
                 syntax ? ")" : nl__scn_from(k));
    g_error_free(err);
    return FALSE;
  }
  if (t->to <= t->from)
    return fail_tok(p, l, 0, NL_SCENARIO_ERROR_VALUE,
                    "expected from= to be earlier than to=");
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                             */

typedef gboolean (*StmtFn)(NlScnParser *p, NlScnLine *l);

typedef struct {
  const char *word;
  StmtFn fn;
} Stmt;

static const Stmt top_stmts[] = {
    {"seed", stmt_seed},
    {"duration", stmt_duration},
    {"set", stmt_set},
    {"include", stmt_include},
    {"network", stmt_network},
    {"host", stmt_node},
    {"router", stmt_node},
    {"nat", stmt_node},
    {"firewall", stmt_node},
    {"at", stmt_at},
    {"expect", stmt_expect},
    {"timeline", stmt_timeline},
    {NULL, NULL},
};

static const Stmt host_stmts[] = {
    {"name", blk_name}, {"link", blk_link},   {"route", blk_route},
    {"run", blk_run},   {"inside", blk_link}, {"outside", blk_link},
    {"forward", nl__scn_blk_forward}, {"dmz", nl__scn_blk_dmz},
    {"env", nl__scn_blk_env},
    {NULL, NULL},
};

static const char *const top_words[] = {
    "seed", "duration", "set", "include", "network",  "host", "router",
    "nat",  "firewall", "at",  "expect",  "timeline", NULL,
};
static const char *const host_words[] = {"name", "link", "route", "run",
                                         "env",  NULL};
static const char *const nat_words[] = {"inside", "outside", "route", "name",
                                        "forward", "dmz", NULL};
static const char *const all_words[] = {
    "seed",  "duration", "set",    "include", "network",  "host", "router",
    "nat",   "firewall", "at",     "expect",  "timeline", "name", "link",
    "route", "run",      "inside", "outside", "forward", "dmz", "env",
    NULL,
};

static gboolean unknown_keyword(NlScnParser *p, NlScnLine *l,
                                const char *const *words, const char *where) {
  const char *w = l->tok[0].text;
  const char *near = nl__scn_suggest(w, words);
  if (near == NULL)
    near = nl__scn_suggest(w, all_words);
  char *all = g_strjoinv(", ", (char **)words);
  gboolean r =
      near != NULL
          ? fail_tok(p, l, 0, NL_SCENARIO_ERROR_SYNTAX,
                     "unknown keyword \"%s\"; did you mean \"%s\"?", w, near)
          : fail_tok(p, l, 0, NL_SCENARIO_ERROR_SYNTAX,
                     "unknown keyword \"%s\": expected %s (%s)", w, where, all);
  g_free(all);
  return r;
}

static gboolean parse_line(NlScnParser *p, NlScnLine *l);

/* The copies of a group, read as if written out one after another:
 * @lines are the group's line and, for a block, its indented lines (raw,
 * with their line numbers).  An `expect` group becomes one expectation
 * holding its copies; `at-least=K` or `at-least=P%` on the line says how
 * many must hold (all by default). */
static gboolean parse_group(NlScnParser *p, const char *file,
                            NlScnGroupKind kind, GPtrArray *lines,
                            GArray *numbers) {
  NlScnLine head = {0};
  head.file = file;
  head.line = g_array_index(numbers, guint, 0);
  head.raw = g_ptr_array_index(lines, 0);
  NlScnGroup g;
  if (!nl__scn_group_parse(p, &head, &g)) {
    nl__scn_group_clear(&g); /* a failed parse may hold the variable */
    return FALSE;
  }
  char *tmpl = g_strdup(g.template_line);
  NlScnExpect *group = NULL;
  gint64 at_least = -1;
  gboolean percent = FALSE;
  gboolean ok = TRUE;
  if (kind == NL_SCN_GROUP_EXPECT) {
    /* at-least=K: read and cut from the template. */
    char *al = strstr(tmpl, " at-least=");
    if (al != NULL) {
      char *v = al + strlen(" at-least=");
      char *end = v;
      while (*end != '\0' && *end != ' ' && *end != '\t')
        end++;
      char *num = g_strndup(v, (gsize)(end - v));
      percent = g_str_has_suffix(num, "%");
      if (percent)
        num[strlen(num) - 1] = '\0';
      gint64 n = -1;
      char *ne = NULL;
      if (*num != '\0')
        n = g_ascii_strtoll(num, &ne, 10);
      gboolean whole = ne != NULL && *ne == '\0';
      g_free(num);
      const char *orig = strstr(head.raw, " at-least=");
      NlScnLoc loc = {file, head.line,
                      (guint)g_utf8_strlen(head.raw,
                                           orig ? orig + 1 - head.raw : 0) +
                          1};
      if (!whole || n < 0 ||
          (percent ? n > 100 : n > g.hi - g.lo + 1)) {
        nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_VALUE,
                     "expected at-least=K with K from 0 to %" G_GINT64_FORMAT
                     " (the copies of %s), or a percentage like 95%%",
                     g.hi - g.lo + 1, g.label);
        ok = FALSE;
      }
      at_least = n;
      memmove(al, end, strlen(end) + 1);
    }
    group = g_new0(NlScnExpect, 1);
    group->copies = g_ptr_array_new();
  }
  /* The lines' words are found once; each copy substitutes them. */
  NlScnLexed **words = g_new0(NlScnLexed *, lines->len);
  for (guint k = 0; ok && k < lines->len; k++) {
    NlScnLine l = {0};
    l.file = file;
    l.line = g_array_index(numbers, guint, k);
    l.raw = k == 0 ? tmpl : g_ptr_array_index(lines, k);
    words[k] = nl__scn_lex_words(&l, TRUE);
  }
  for (gint64 v = g.lo; ok && v <= g.hi; v++) {
    nl__scn_group_bind(p, &g, v);
    p->group_head = group;
    for (guint k = 0; ok && k < lines->len; k++) {
      NlScnLine l = {0};
      l.file = file;
      l.line = g_array_index(numbers, guint, k);
      l.raw = k == 0 ? tmpl : g_ptr_array_index(lines, k);
      ok = nl__scn_lex_fill(p, &l, words[k]) && parse_line(p, &l);
      nl__scn_line_clear(&l);
    }
    p->group_head = NULL;
    if (!ok)
      nl__scn_group_name_copy(p, &g, v);
  }
  for (guint k = 0; k < lines->len; k++)
    nl__scn_lexed_free(words[k]);
  g_free(words);
  nl__scn_group_unbind(p, &g);
  if (group != NULL) {
    if (ok && group->copies->len > 0) {
      /* The group reads as its first copy, with the line as written. */
      NlScnExpect *first = g_ptr_array_index(group->copies, 0);
      GPtrArray *copies = group->copies;
      *group = *first;
      group->copies = copies;
      group->node = g_strdup(first->node);
      group->program = g_strdup(first->program);
      group->peer = g_strdup(first->peer);
      group->text = g_strdup(first->text);
      group->title = g_strdup(first->title);
      group->feedback = g_strdup(first->feedback);
      group->requires = g_strdup(first->requires);
      const char *raw = g_ptr_array_index(lines, 0);
      const char *from = strstr(raw, "expect");
      group->source = g_strstrip(g_strdup(from != NULL ? from : raw));
      gint64 n = (gint64)copies->len;
      group->at_least = at_least < 0 ? n
                        : percent    ? (at_least * n + 99) / 100
                                     : at_least;
      g_ptr_array_add(p->s->expects, group);
    } else {
      nl__scn_expect_free(group);
    }
  }
  g_free(tmpl);
  nl__scn_group_clear(&g);
  return ok;
}

static gboolean parse_line(NlScnParser *p, NlScnLine *l) {
  if (l->ntok == 0)
    return TRUE;
  const NlScnTok *t = &l->tok[0];
  if (t->quoted || t->key != NULL)
    return fail_tok(p, l, 0, NL_SCENARIO_ERROR_SYNTAX,
                    "expected a keyword at the start of the line, got "
                    "\"%s\"",
                    t->text);
  if (l->indented) {
    if (p->block == NULL) {
      for (const Stmt *s = top_stmts; s->word != NULL; s++)
        if (strcmp(s->word, t->text) == 0)
          return fail_tok(p, l, 0, NL_SCENARIO_ERROR_SYNTAX,
                          "`%s` starts a line of its own: expected no "
                          "indentation before it",
                          t->text);
      return fail_tok(p, l, 0, NL_SCENARIO_ERROR_SYNTAX,
                      "this line is indented, but no host, router, nat or "
                      "firewall block is open above it");
    }
    gboolean natlike = p->block->kind == NL_SCN_NODE_NAT ||
                       p->block->kind == NL_SCN_NODE_FIREWALL;
    for (const Stmt *s = host_stmts; s->word != NULL; s++)
      if (strcmp(s->word, t->text) == 0)
        return s->fn(p, l);
    for (const Stmt *s = top_stmts; s->word != NULL; s++)
      if (strcmp(s->word, t->text) == 0)
        return fail_tok(p, l, 0, NL_SCENARIO_ERROR_SYNTAX,
                        "`%s` starts a statement of its own: expected no "
                        "indentation before it (indented lines belong to "
                        "%s %s above)",
                        t->text, nl_scn_node_kind_name(p->block->kind),
                        p->block->name);
    return unknown_keyword(p, l, natlike ? nat_words : host_words,
                           natlike ? "in a nat or firewall block"
                                   : "in a host or router block");
  }
  p->block = NULL;
  for (const Stmt *s = top_stmts; s->word != NULL; s++)
    if (strcmp(s->word, t->text) == 0)
      return s->fn(p, l);
  for (const Stmt *s = host_stmts; s->word != NULL; s++)
    if (strcmp(s->word, t->text) == 0)
      return fail_tok(p, l, 0, NL_SCENARIO_ERROR_SYNTAX,
                      "`%s` belongs in a host, router, nat or firewall "
                      "block: expected it indented under its node's line",
                      t->text);
  return unknown_keyword(p, l, top_words, "at the start of a line");
}

gboolean nl__scn_parse_text(NlScnParser *p, const char *file, const char *text,
                            gsize len) {
  gsize pos = 0;
  guint lineno = 0;
  if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
    pos = 3; /* a UTF-8 byte order mark */
  /* The lines, checked, with their numbers. */
  GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
  GArray *numbers = g_array_new(FALSE, FALSE, sizeof(guint));
  gboolean ok = TRUE;
  while (pos < len) {
    const char *start = text + pos;
    const char *nl = memchr(start, '\n', len - pos);
    gsize n = nl != NULL ? (gsize)(nl - start) : len - pos;
    gsize next = pos + n + (nl != NULL ? 1 : 0);
    lineno++;
    if (n > 0 && start[n - 1] == '\r')
      n--;
    const char *bad = NULL;
    gsize check = n > NL_SCENARIO_MAX_LINE ? NL_SCENARIO_MAX_LINE : n;
    NlScnLoc loc = {file, lineno, 1};
    if (!g_utf8_validate_len(start, check, &bad)) {
      loc.column = (guint)g_utf8_strlen(start, bad - start) + 1;
      if (*bad == '\0') {
        ok = nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_ENCODING,
                          "NUL byte: expected a text file (is this a "
                          "binary file?)");
        break;
      }
      /* A character cut by the length limit is not an encoding error. */
      if (n <= NL_SCENARIO_MAX_LINE || (gsize)(bad - start) + 4 < check) {
        ok = nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_ENCODING,
                          "invalid UTF-8 (byte 0x%02x): expected a text "
                          "file in UTF-8",
                          (guint)(guchar)*bad);
        break;
      }
    }
    if (n > NL_SCENARIO_MAX_LINE) {
      loc.column = 1;
      ok = nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_ENCODING,
                        "line is longer than %u bytes: expected shorter "
                        "lines (split long lists over several statements)",
                        NL_SCENARIO_MAX_LINE);
      break;
    }
    g_ptr_array_add(lines, g_strndup(start, n));
    g_array_append_val(numbers, lineno);
    pos = next;
  }
  p->block = NULL;
  for (guint k = 0; ok && k < lines->len;) {
    const char *raw = g_ptr_array_index(lines, k);
    NlScnGroupKind gk;
    if (nl__scn_group_kind(raw, &gk)) {
      /* A group: its line, and for a block the indented lines below. */
      guint end = k + 1;
      if (gk == NL_SCN_GROUP_BLOCK)
        while (end < lines->len) {
          const char *r = g_ptr_array_index(lines, end);
          const char *t = r + strspn(r, " \t");
          if (r[0] != ' ' && r[0] != '\t' && *t != '\0' && *t != '#')
            break;
          end++;
        }
      GPtrArray *part = g_ptr_array_new();
      GArray *nums = g_array_new(FALSE, FALSE, sizeof(guint));
      for (guint j = k; j < end; j++) {
        g_ptr_array_add(part, g_ptr_array_index(lines, j));
        g_array_append_val(nums, g_array_index(numbers, guint, j));
      }
      NlScnNode *outer = p->block;
      if (gk != NL_SCN_GROUP_LINE)
        p->block = NULL;
      ok = parse_group(p, file, gk, part, nums);
      /* A run group stays in its block; a block group closes its last
       * copy's block. */
      p->block = gk == NL_SCN_GROUP_LINE ? outer : NULL;
      g_ptr_array_free(part, TRUE);
      g_array_free(nums, TRUE);
      k = end;
      continue;
    }
    NlScnLine l = {0};
    l.file = file;
    l.line = g_array_index(numbers, guint, k);
    l.raw = raw;
    ok = nl__scn_lex_line(p, &l) && parse_line(p, &l);
    nl__scn_line_clear(&l);
    k++;
  }
  g_ptr_array_free(lines, TRUE);
  g_array_free(numbers, TRUE);
  p->block = NULL;
  return ok;
}
