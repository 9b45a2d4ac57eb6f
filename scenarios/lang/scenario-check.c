/* Resolution and checks that need the whole scenario: names that refer to
 * other lines, addresses against their networks, gateways, times against
 * the duration, and unused --set overrides.  Walks elements in file order
 * (nodes, then timeline runs, actions, expectations), so the first mistake
 * reported is the first of its kind in the file.
 */
#include "scenarios/lang/scenario-priv.h"

#include <string.h>

static char *names_of_nodes(const NlScenario *s, const char *const **out) {
  GPtrArray *a = g_ptr_array_new();
  for (guint i = 0; i < s->nodes->len; i++)
    g_ptr_array_add(a, ((NlScnNode *)g_ptr_array_index(s->nodes, i))->name);
  g_ptr_array_add(a, NULL);
  *out = (const char *const *)a->pdata;
  return (char *)g_ptr_array_free(a, FALSE);
}

/* Resolves node @name written at @loc; @kinds is a mask of accepted
 * NlScnNodeKind bits and @what names them for the message. */
static NlScnNode *resolve_node(NlScnParser *p, const char *name,
                               const NlScnLoc *loc, guint kinds,
                               const char *what) {
  NlScnNode *n = g_hash_table_lookup(p->s->node_index, name);
  if (n == NULL) {
    if (g_hash_table_lookup(p->s->network_index, name) != NULL) {
      nl__scn_fail(p, loc, NL_SCENARIO_ERROR_REFERENCE,
                   "\"%s\" is a network: expected %s", name, what);
      return NULL;
    }
    const char *const *cands;
    gpointer mem = names_of_nodes(p->s, &cands);
    const char *near = nl__scn_suggest(name, cands);
    if (near != NULL)
      nl__scn_fail(p, loc, NL_SCENARIO_ERROR_REFERENCE,
                   "no node named \"%s\"; did you mean \"%s\"?", name, near);
    else
      nl__scn_fail(p, loc, NL_SCENARIO_ERROR_REFERENCE,
                   "no node named \"%s\": expected %s declared in this "
                   "scenario",
                   name, what);
    g_free(mem);
    return NULL;
  }
  if (!(kinds & (1u << n->kind))) {
    nl__scn_fail(p, loc, NL_SCENARIO_ERROR_REFERENCE,
                 "\"%s\" is a %s (%s:%u): expected %s", name,
                 nl_scn_node_kind_name(n->kind), n->loc.file, n->loc.line,
                 what);
    return NULL;
  }
  return n;
}

#define K(x) (1u << NL_SCN_NODE_##x)
#define ANY_NODE (K(HOST) | K(ROUTER) | K(NAT) | K(FIREWALL))

static gboolean check_time(NlScnParser *p, const NlScnLoc *loc, NlTime t,
                           const char *what) {
  if (t <= p->s->duration)
    return TRUE;
  char *ts = nl__scn_time_to_string(t);
  char *ds = nl__scn_time_to_string(p->s->duration);
  nl__scn_fail(p, loc, NL_SCENARIO_ERROR_CONFLICT,
               "%s %s is after the end of the run (duration %s%s): expected "
               "a time from 0s to %s",
               what, ts, ds,
               p->s->duration_set ? "" : ", the default; add a `duration` line",
               ds);
  g_free(ts);
  g_free(ds);
  return FALSE;
}

static char *describe_networks(const NlScnNode *n) {
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < n->links->len; i++) {
    NlScnLink *k = g_ptr_array_index(n->links, i);
    if (k->net == NULL)
      continue;
    for (guint j = 0; j < k->net->prefixes->len; j++) {
      char buf[NL_SCN_ADDR_STRLEN];
      if (s->len > 0)
        g_string_append(s, ", ");
      g_string_append_printf(
          s, "%s %s", k->net->name,
          nl_scn_addr_to_string(&g_array_index(k->net->prefixes, NlScnAddr, j),
                                buf));
    }
  }
  if (s->len == 0)
    g_string_append(s, "none");
  return g_string_free(s, FALSE);
}

/* An address on a network, as the owners table knows it (no text: the
 * table holds every link's addresses, a thousand hosts' worth). */
typedef struct {
  const NlScnNetwork *net;
  guint8 family, len; /* (the text had the length too, when not full) */
  guint8 bytes[16];
} OwnerKey;

static guint owner_hash(gconstpointer p) {
  const OwnerKey *k = p;
  guint h = g_direct_hash(k->net) ^ k->family ^ (guint)k->len << 8;
  for (guint i = 0; i < (k->family == 4 ? 4u : 16u); i++)
    h = h * 31 + k->bytes[i];
  return h;
}

static gboolean owner_equal(gconstpointer a, gconstpointer b) {
  const OwnerKey *x = a, *y = b;
  return x->net == y->net && x->family == y->family && x->len == y->len &&
         memcmp(x->bytes, y->bytes, sizeof x->bytes) == 0;
}

static gboolean check_link(NlScnParser *p, NlScnNode *n, NlScnLink *k,
                           GHashTable *owners) {
  k->net = g_hash_table_lookup(p->s->network_index, k->network);
  if (k->net == NULL) {
    GPtrArray *a = g_ptr_array_new();
    for (guint i = 0; i < p->s->networks->len; i++)
      g_ptr_array_add(
          a, ((NlScnNetwork *)g_ptr_array_index(p->s->networks, i))->name);
    g_ptr_array_add(a, NULL);
    const char *near =
        nl__scn_suggest(k->network, (const char *const *)a->pdata);
    if (near != NULL)
      nl__scn_fail(p, &k->network_loc, NL_SCENARIO_ERROR_REFERENCE,
                   "no network named \"%s\"; did you mean \"%s\"?", k->network,
                   near);
    else
      nl__scn_fail(p, &k->network_loc, NL_SCENARIO_ERROR_REFERENCE,
                   "no network named \"%s\": expected a network declared "
                   "with `network %s SUBNET`",
                   k->network, k->network);
    g_ptr_array_free(a, TRUE);
    return FALSE;
  }
  for (guint i = 0; i < n->links->len; i++) {
    NlScnLink *o = g_ptr_array_index(n->links, i);
    if (o == k)
      break;
    if (o->net == k->net)
      return nl__scn_fail(p, &k->network_loc, NL_SCENARIO_ERROR_CONFLICT,
                          "%s is already linked to %s at %s:%u: expected one "
                          "link per network (give that line several "
                          "addresses instead)",
                          n->name, k->network, o->loc.file, o->loc.line);
  }
  for (guint i = 0; i < k->addrs->len; i++) {
    NlScnAddr *a = &g_array_index(k->addrs, NlScnAddr, i);
    char sa[NL_SCN_ADDR_STRLEN], sp[NL_SCN_ADDR_STRLEN];
    NlScnAddr *in = NULL;
    for (guint j = 0; j < k->net->prefixes->len && in == NULL; j++) {
      NlScnAddr *pf = &g_array_index(k->net->prefixes, NlScnAddr, j);
      if (nl_scn_addr_in_prefix(a, pf))
        in = pf;
    }
    if (in == NULL) {
      nl_scn_addr_to_string(a, sa);
      char *nets = g_strdup("");
      for (guint j = 0; j < k->net->prefixes->len; j++) {
        char *t =
            g_strconcat(nets, j ? ", " : "",
                        nl_scn_addr_to_string(
                            &g_array_index(k->net->prefixes, NlScnAddr, j), sp),
                        NULL);
        g_free(nets);
        nets = t;
      }
      nl__scn_fail(p, &a->loc, NL_SCENARIO_ERROR_CONFLICT,
                   "address %s is not in network %s (%s): expected an "
                   "address inside its subnet",
                   sa, k->net->name, nets);
      g_free(nets);
      return FALSE;
    }
    if (a->family == 4 && in->len <= 30) {
      NlScnAddr host = *a;
      host.len = in->len;
      nl__scn_addr_mask(&host);
      guint32 v = nl_scn_addr_ip4(a);
      guint32 hostmask =
          in->len == 0 ? 0xffffffffu : (1u << (32 - in->len)) - 1;
      if ((v & hostmask) == 0 || (v & hostmask) == hostmask) {
        nl_scn_addr_to_string(a, sa);
        return nl__scn_fail(
            p, &a->loc, NL_SCENARIO_ERROR_VALUE,
            "%s is the %s address of %s: expected a host address", sa,
            (v & hostmask) == 0 ? "network" : "broadcast",
            nl_scn_addr_to_string(in, sp));
      }
    }
    OwnerKey *key = g_new0(OwnerKey, 1);
    key->net = k->net;
    key->family = a->family;
    key->len = a->len;
    memcpy(key->bytes, a->bytes, a->family == 4 ? 4 : 16);
    NlScnLink *prev = g_hash_table_lookup(owners, key);
    if (prev != NULL) {
      g_free(key);
      nl_scn_addr_to_string(a, sa);
      return nl__scn_fail(p, &a->loc, NL_SCENARIO_ERROR_CONFLICT,
                          "address %s on %s is already used by %s (%s:%u): "
                          "expected a different address",
                          sa, k->net->name, prev->node->name, prev->loc.file,
                          prev->loc.line);
    }
    g_hash_table_insert(owners, key, k);
  }
  return TRUE;
}

static gboolean check_route(NlScnParser *p, NlScnNode *n, NlScnRoute *r) {
  char sv[NL_SCN_ADDR_STRLEN]; /* (made for a message alone) */
  for (guint i = 0; i < n->routes->len; i++) {
    NlScnRoute *o = g_ptr_array_index(n->routes, i);
    if (o == r)
      break;
    if (nl__scn_addr_equal(&o->dest, &r->dest))
      return nl__scn_fail(p, &r->dest.loc, NL_SCENARIO_ERROR_CONFLICT,
                          "%s already has a route to this subnet at %s:%u",
                          n->name, o->loc.file, o->loc.line);
  }
  for (guint i = 0; i < n->links->len; i++) {
    NlScnLink *k = g_ptr_array_index(n->links, i);
    for (guint j = 0; j < k->addrs->len; j++)
      if (nl__scn_addr_equal(&g_array_index(k->addrs, NlScnAddr, j), &r->via))
        return nl__scn_fail(p, &r->via.loc, NL_SCENARIO_ERROR_CONFLICT,
                            "gateway %s is %s's own address: expected the "
                            "address of a neighbour",
                            nl_scn_addr_to_string(&r->via, sv), n->name);
  }
  for (guint i = 0; i < n->links->len && r->link == NULL; i++) {
    NlScnLink *k = g_ptr_array_index(n->links, i);
    for (guint j = 0; j < k->net->prefixes->len; j++)
      if (nl_scn_addr_in_prefix(&r->via,
                                &g_array_index(k->net->prefixes, NlScnAddr, j)))
        r->link = k;
  }
  if (r->link != NULL)
    return TRUE;
  char *nets = describe_networks(n);
  nl__scn_fail(p, &r->via.loc, NL_SCENARIO_ERROR_REFERENCE,
               "gateway %s is not on any network of %s (%s): expected a "
               "neighbour's address",
               nl_scn_addr_to_string(&r->via, sv), n->name, nets);
  g_free(nets);
  return FALSE;
}

static gboolean check_run(NlScnParser *p, NlScnNode *n, NlScnRun *r) {
  if (!check_time(p, &r->at_loc, r->at, "the start time"))
    return FALSE;
  for (guint i = 0; i < n->runs->len; i++) {
    NlScnRun *o = g_ptr_array_index(n->runs, i);
    if (o == r)
      break;
    if (strcmp(o->name, r->name) == 0)
      return nl__scn_fail(p, &r->program_loc, NL_SCENARIO_ERROR_CONFLICT,
                          "%s already runs a program named \"%s\" (%s:%u): "
                          "expected name=OTHER before the program",
                          n->name, r->name, o->loc.file, o->loc.line);
  }
  return TRUE;
}

static gboolean check_node(NlScnParser *p, NlScnNode *n, GHashTable *owners) {
  guint inside = 0, outside = 0;
  for (guint i = 0; i < n->links->len; i++) {
    NlScnLink *k = g_ptr_array_index(n->links, i);
    if (!check_link(p, n, k, owners))
      return FALSE;
    if (k->role == NL_SCN_ROLE_INSIDE)
      inside++;
    if (k->role == NL_SCN_ROLE_OUTSIDE && ++outside > 1)
      return nl__scn_fail(p, &k->loc, NL_SCENARIO_ERROR_CONFLICT,
                          "%s already has an outside: expected one outside "
                          "per %s (chain two nats for more)",
                          n->name, nl_scn_node_kind_name(n->kind));
  }
  if (n->kind == NL_SCN_NODE_NAT || n->kind == NL_SCN_NODE_FIREWALL) {
    if (inside == 0 || outside == 0)
      return nl__scn_fail(p, &n->loc, NL_SCENARIO_ERROR_SYNTAX,
                          "%s %s has no %s: expected an indented `%s NETWORK "
                          "ADDRESS` line under it",
                          nl_scn_node_kind_name(n->kind), n->name,
                          inside == 0 ? "inside" : "outside",
                          inside == 0 ? "inside" : "outside");
  }
  for (guint i = 0; i < n->routes->len; i++)
    if (!check_route(p, n, g_ptr_array_index(n->routes, i)))
      return FALSE;
  if (!nl__scn_check_forwards(p, n))
    return FALSE;
  for (guint i = 0; i < n->runs->len; i++)
    if (!check_run(p, n, g_ptr_array_index(n->runs, i)))
      return FALSE;
  return TRUE;
}

static NlScnRun *resolve_run(NlScnParser *p, NlScnNode *n, const char *name,
                             const NlScnLoc *loc) {
  NlScnRun *r = nl_scenario_find_run(n, name);
  if (r != NULL)
    return r;
  GString *all = g_string_new(NULL);
  for (guint i = 0; i < n->runs->len; i++)
    g_string_append_printf(all, "%s%s", i ? ", " : "",
                           ((NlScnRun *)g_ptr_array_index(n->runs, i))->name);
  nl__scn_fail(p, loc, NL_SCENARIO_ERROR_REFERENCE,
               "%s runs no program named \"%s\" (%s%s): expected the name of "
               "one of its runs",
               n->name, name, n->runs->len ? "it runs: " : "it runs none",
               all->str);
  g_string_free(all, TRUE);
  return NULL;
}

static gboolean check_action(NlScnParser *p, NlScnAction *a) {
  if (!check_time(p, &a->at_loc, a->at, "the time"))
    return FALSE;
  switch (a->kind) {
    case NL_SCN_ACTION_LINK_DOWN:
    case NL_SCN_ACTION_LINK_UP:
    case NL_SCN_ACTION_LINK_SET:
      if ((a->node_ref = resolve_node(p, a->node, &a->node_loc, ANY_NODE,
                                      "a node")) == NULL)
        return FALSE;
      a->link = nl_scenario_find_link(a->node_ref, a->network);
      if (a->link == NULL) {
        char *nets = describe_networks(a->node_ref);
        nl__scn_fail(p, &a->network_loc, NL_SCENARIO_ERROR_REFERENCE,
                     "%s has no link on \"%s\" (its networks: %s)", a->node,
                     a->network, nets);
        g_free(nets);
        return FALSE;
      }
      return TRUE;
    case NL_SCN_ACTION_NAT_REBOOT:
    case NL_SCN_ACTION_SNAPSHOT:
      return (a->node_ref =
                  resolve_node(p, a->node, &a->node_loc, K(NAT) | K(FIREWALL),
                               "a nat or firewall")) != NULL;
    case NL_SCN_ACTION_HOST_CRASH:
    case NL_SCN_ACTION_HOST_RESTART:
      return (a->node_ref =
                  resolve_node(p, a->node, &a->node_loc, K(HOST) | K(ROUTER),
                               "a host or router")) != NULL;
    case NL_SCN_ACTION_PARTITION:
    case NL_SCN_ACTION_HEAL:
      if ((a->node_ref = resolve_node(p, a->node, &a->node_loc, ANY_NODE,
                                      "a node")) == NULL ||
          (a->node2_ref = resolve_node(p, a->node2, &a->node2_loc, ANY_NODE,
                                       "a node")) == NULL)
        return FALSE;
      if (a->node_ref == a->node2_ref)
        return nl__scn_fail(p, &a->node2_loc, NL_SCENARIO_ERROR_CONFLICT,
                            "expected two different nodes, got %s twice",
                            a->node);
      return TRUE;
    case NL_SCN_ACTION_STOP:
    case NL_SCN_ACTION_STDIN:
      if ((a->node_ref =
               resolve_node(p, a->node, &a->node_loc, K(HOST) | K(ROUTER),
                            "a host or router")) == NULL ||
          (a->run = resolve_run(p, a->node_ref, a->program, &a->program_loc)) ==
              NULL)
        return FALSE;
      if (a->at < a->run->at) {
        char *t1 = nl__scn_time_to_string(a->at);
        char *t2 = nl__scn_time_to_string(a->run->at);
        nl__scn_fail(p, &a->at_loc, NL_SCENARIO_ERROR_CONFLICT,
                     "%s/%s starts at %s: expected a time at or after its "
                     "start, got %s",
                     a->node, a->program, t2, t1);
        g_free(t1);
        g_free(t2);
        return FALSE;
      }
      return TRUE;
    case NL_SCN_ACTION_NOTE:
      return TRUE;
    case NL_SCN_N_ACTIONS:
    default:
      g_assert_not_reached();
  }
  return FALSE;
}

static gboolean check_expect(NlScnParser *p, NlScnExpect *e) {
  if (e->at != NL_TIME_NEVER && !check_time(p, &e->at_loc, e->at, "the time"))
    return FALSE;
  guint kinds = ANY_NODE;
  const char *what = "a node";
  switch (e->kind) {
    case NL_SCN_EXPECT_FILTERED:
      kinds = K(NAT) | K(FIREWALL);
      what = "a nat or firewall";
      break;
    case NL_SCN_EXPECT_PATH:
      break;
    default:
      kinds = K(HOST) | K(ROUTER);
      what = "a host or router";
      break;
  }
  if ((e->node_ref = resolve_node(p, e->node, &e->node_loc, kinds, what)) ==
      NULL)
    return FALSE;
  if (e->program != NULL && (e->run = resolve_run(p, e->node_ref, e->program,
                                                  &e->program_loc)) == NULL)
    return FALSE;
  if (e->peer != NULL) {
    if ((e->peer_ref = resolve_node(
             p, e->peer, &e->peer_loc,
             e->kind == NL_SCN_EXPECT_PATH ? ANY_NODE : K(HOST) | K(ROUTER),
             "a host")) == NULL)
      return FALSE;
    if (e->peer_ref == e->node_ref)
      return nl__scn_fail(p, &e->peer_loc, NL_SCENARIO_ERROR_CONFLICT,
                          "expected two different hosts, got %s twice",
                          e->node);
  }
  return TRUE;
}

gboolean nl__scn_check(NlScnParser *p) {
  NlScenario *s = p->s;
  gboolean ok = TRUE;

  if (s->networks->len == 0 && s->nodes->len == 0) {
    NlScnLoc loc = {g_ptr_array_index(s->files, 0), 1, 1};
    return nl__scn_fail(p, &loc, NL_SCENARIO_ERROR_SYNTAX,
                        "no network or host declared: expected at least a "
                        "`network NAME SUBNET` and a `host NAME` line");
  }
  GHashTable *owners =
      g_hash_table_new_full(owner_hash, owner_equal, g_free, NULL);
  for (guint i = 0; ok && i < s->nodes->len; i++)
    ok = check_node(p, g_ptr_array_index(s->nodes, i), owners);
  g_hash_table_destroy(owners);
  if (!ok)
    return FALSE;

  /* Timeline runs join their node's runs, in file order. */
  for (guint i = 0; i < p->pending_runs->len; i++) {
    NlScnPendingRun *pr = g_ptr_array_index(p->pending_runs, i);
    NlScnNode *n = resolve_node(p, pr->node, &pr->node_loc, K(HOST) | K(ROUTER),
                                "a host or router");
    if (n == NULL)
      return FALSE;
    pr->run->node = n;
    g_ptr_array_add(n->runs, pr->run);
    pr->run = NULL;
    if (!check_run(p, n, g_ptr_array_index(n->runs, n->runs->len - 1)))
      return FALSE;
  }
  for (guint i = 0; i < s->actions->len; i++)
    if (!check_action(p, g_ptr_array_index(s->actions, i)))
      return FALSE;
  for (guint i = 0; i < s->expects->len; i++) {
    NlScnExpect *e = g_ptr_array_index(s->expects, i);
    for (guint k = 0; e->copies != NULL && k < e->copies->len; k++)
      if (!check_expect(p, g_ptr_array_index(e->copies, k)))
        return FALSE;
    if (!check_expect(p, e))
      return FALSE;
  }
  /* The timeline's lanes name nodes and programs. */
  GError *err = NULL;
  guint bad = 0;
  if (!nl_scenario_timeline_check(s, &bad, &err)) {
    NlScnLoc loc = s->timeline.lanes_loc;
    if (s->timeline.lanes == NL_SCN_LANES_LIST &&
        bad < s->timeline.lane_list->len)
      loc.column += ((NlScnLane *)g_ptr_array_index(s->timeline.lane_list,
                                                    bad))->offset;
    nl__scn_fail(p, &loc, err->code, "%s", err->message);
    g_error_free(err);
    return FALSE;
  }
  return TRUE;
}
