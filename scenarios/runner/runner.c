/* Running a scenario.  The builder turns the syntax tree into a world;
 * actions become events; expectations are checked from the trace only
 * (never from live state), at their time or at the end. */
#include "scenarios/runner/runner.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "natmodels/nat-behaviour.h"
#include "scenarios/runner/explain.h"
#include "scenarios/runner/runner-expect.h"
#include "natmodels/nat-node.h"
#include "scenarios/runner/runner-path.h"
#include "scenarios/runner/topology.h"
#include "scenarios/runner/runner-python.h"
#include "scenarios/runner/runner-facts.h"
#include "sim/core/mem.h"
#include "sim/host/heap.h"
#include "sim/host/proc.h"
#include "sim/net/wire.h"

G_DEFINE_QUARK(natlab-run-error-quark, nl_run_error)

typedef struct {
  NlEvent ev;
  NlRun *run;
  const NlScnAction *action;
} ActionEv;

typedef struct {
  NlEvent ev;
  NlRun *run;
  const NlScnExpect *expect;
  gboolean checked, passed;
  char *why;
  NlTime when; /* virtual time of the check */
  char *detail; /* indented lines under the failure (explain.c), or NULL */
} ExpectEv;

struct NlRun {
  const NlScenario *s;
  NlWorld *world;
  GPtrArray *actions; /* ActionEv */
  GPtrArray *expects; /* ExpectEv */
  NlExpectIndex *index; /* what the expectations read (runner-expect.c) */
  NlPathTally *tally;   /* what the path reports read (runner-path.c) */
  char *home; /* a program's directory unless cwd= says otherwise: the
               * scenario file's, made absolute once (getcwd is a system
               * call, and a world may start 100,000 programs) */
  guint failed;
  NlRunProgressFn progress;
  void *progress_data;
};

#define LOC_FMT "%s:%u:%u: "
#define LOC_ARGS(l) (l).file, (l).line, (l).column

static NlNodeKind node_kind(NlScnNodeKind k) {
  switch (k) {
    case NL_SCN_NODE_ROUTER: return NL_NODE_ROUTER;
    case NL_SCN_NODE_NAT: return NL_NODE_NAT;
    case NL_SCN_NODE_FIREWALL: return NL_NODE_FIREWALL;
    default: return NL_NODE_HOST;
  }
}

static void dir_from(const NlScnLinkDir *d, NlLinkDir *out) {
  memset(out, 0, sizeof *out);
  out->latency = d->latency;
  out->jitter = d->jitter;
  out->loss = d->loss;
  out->dup = d->dup;
  out->reorder = d->reorder;
  out->bandwidth = d->bandwidth;
  if (d->queue_packets)
    out->queue = d->queue_packets;
  else if (d->queue_bytes)
    out->queue = (guint)MAX(d->queue_bytes / 1500, 1); /* in MTU packets */
}

static void props_from(const NlScnLinkProps *p, NlLinkProps *out) {
  memset(out, 0, sizeof *out);
  dir_from(&p->up, &out->up);
  dir_from(&p->down, &out->down);
  out->mtu = p->up.mtu ? p->up.mtu : p->down.mtu;
}

/* A link's properties in the simulator's terms.  A hop across a network
 * is the sender's up direction then the receiver's down direction, so the
 * network's defaults (the segment itself) apply once per hop: on the
 * sending side.  A link's own settings apply as written. */
static void link_props(const NlScnLink *l, NlLinkProps *out) {
  NlScnLinkProps eff = l->net->props;
  guint32 mtu = eff.up.mtu ? eff.up.mtu : eff.down.mtu;
  memset(&eff.down, 0, sizeof eff.down);
  eff.down.mtu = mtu;
  nl_scenario_props_apply(&eff, &l->props);
  props_from(&eff, out);
}

/* @what ("a port forward"): where IPv6 is not modelled yet. */
static gboolean check_ip4(const NlScnAddr *a, const char *what,
                          GError **error) {
  if (a->family == 4)
    return TRUE;
  g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_BUILD,
              LOC_FMT "%s takes an IPv4 address", LOC_ARGS(a->loc), what);
  return FALSE;
}

static NlIp6 scn_ip6(const NlScnAddr *a) {
  NlIp6 r;
  memcpy(r.b, a->bytes, 16);
  return r;
}

static uint32_t prefix_len_mask(guint len) {
  return len == 0 ? 0 : ~(uint32_t)0 << (32 - len);
}

/* ---- programs (built by build.c) ---- */

static gboolean build_programs(const NlScenario *s, GError **error);

gboolean nl_run_build_programs(const NlScenario *s, GError **error) {
  g_return_val_if_fail(s != NULL, FALSE);
  nl__run_build_batch(TRUE);
  gboolean ok = build_programs(s, error);
  nl__run_build_batch(FALSE);
  return ok;
}

static gboolean build_programs(const NlScenario *s, GError **error) {
  for (guint i = 0; i < s->nodes->len; i++) {
    const NlScnNode *sn = g_ptr_array_index(s->nodes, i);
    for (guint j = 0; j < sn->runs->len; j++) {
      const NlScnRun *run = g_ptr_array_index(sn->runs, j);
      if (run->kind != NL_SCN_PROGRAM_SOURCE)
        continue;
      GError *err = NULL;
      char *program =
          nl_run_build_sources((const char *const *)run->sources, &err);
      if (program == NULL) {
        g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_PROGRAM, LOC_FMT "%s",
                    LOC_ARGS(run->program_loc), err->message);
        g_error_free(err);
        return FALSE;
      }
      g_free(program);
    }
  }
  return TRUE;
}

static gboolean spawn_run(NlRun *r, const NlScnRun *run, GError **error) {
  NlNode *node = nl_world_find_node(r->world, run->node->name);
  if (nl_node_kind(node) == NL_NODE_NAT ||
      nl_node_kind(node) == NL_NODE_FIREWALL) {
    g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_BUILD,
                LOC_FMT "programs run on hosts and routers, not on the %s "
                        "\"%s\"",
                LOC_ARGS(run->loc), nl_scn_node_kind_name(run->node->kind),
                run->node->name);
    return FALSE;
  }
  char *program = NULL;
  GError *err = NULL;
  char **argv = NULL;
  switch (run->kind) {
    case NL_SCN_PROGRAM_BUILTIN: program = g_strdup(run->program); break;
    case NL_SCN_PROGRAM_SHARED: program = g_strdup(run->path); break;
    case NL_SCN_PROGRAM_PYTHON:
      program = g_strdup("python3");
      argv = nl__run_python_argv(run, r->home);
      break;
    case NL_SCN_PROGRAM_SOURCE:
      program = nl_run_build_sources((const char *const *)run->sources, &err);
      break;
  }
  NlProc *p = NULL;
  if (program != NULL &&
      (p = nl_proc_spawn(node, run->name, program,
                         (const char *const *)(argv ? argv : run->argv),
                         run->at, &err)) == NULL) {
    g_free(program);
    program = NULL;
  }
  if (program == NULL) {
    nl__run_python_explain(run, &err);
    g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_PROGRAM, LOC_FMT "%s",
                LOC_ARGS(run->program_loc), err->message);
    g_error_free(err);
    g_strfreev(argv);
    return FALSE;
  }
  g_free(program);
  g_strfreev(argv);
  nl__run_proc_facts(p, run, r->home);
  return TRUE;
}

/* ---- actions ---- */

static void trace_text(NlRun *r, NlTraceKind kind, const char *node,
                       const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static void trace_text(NlRun *r, NlTraceKind kind, const char *node,
                       const char *fmt, ...) {
  NlTrace *t = nl_world_trace(r->world);
  va_list ap;
  va_start(ap, fmt);
  char *s = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  nl_trace_add(t, nl_world_now(r->world), kind,
               node ? nl_trace_intern(t, node) : 0, 0, 0, 0, s,
               (guint32)strlen(s));
  g_free(s);
}

static void run_action(NlEvent *ev, void *data) {
  ActionEv *a = data;
  NlRun *r = a->run;
  const NlScnAction *act = a->action;
  NlNode *node = act->node ? nl_world_find_node(r->world, act->node) : NULL;
  NlNode *node2 = act->node2 ? nl_world_find_node(r->world, act->node2) : NULL;
  NlIface *iface = node && act->network
                       ? nl_node_find_iface(node, act->network)
                       : NULL;
  switch (act->kind) {
    case NL_SCN_ACTION_LINK_DOWN:
    case NL_SCN_ACTION_LINK_UP: {
      gboolean up = act->kind == NL_SCN_ACTION_LINK_UP;
      nl_iface_set_up(iface, up);
      trace_text(r, NL_TRACE_LINK, act->node, "%s %s", act->network,
                 up ? "up" : "down");
      break;
    }
    case NL_SCN_ACTION_LINK_SET: {
      NlScnLinkProps eff = act->link->net->props;
      memset(&eff.down, 0, sizeof eff.down);
      nl_scenario_props_apply(&eff, &act->link->props);
      nl_scenario_props_apply(&eff, &act->props);
      NlLinkProps p;
      props_from(&eff, &p);
      nl_iface_set_props(iface, &p);
      trace_text(r, NL_TRACE_LINK, act->node, "%s changed", act->network);
      break;
    }
    case NL_SCN_ACTION_NAT_REBOOT:
      nl_nat_reboot(nl_nat_node_get(node));
      break;
    case NL_SCN_ACTION_HOST_CRASH:
      nl_proc_host_crash(node);
      trace_text(r, NL_TRACE_NOTE, act->node, "host crashed");
      break;
    case NL_SCN_ACTION_HOST_RESTART:
      nl_node_set_up(node, TRUE);
      trace_text(r, NL_TRACE_NOTE, act->node, "host restarted");
      break;
    case NL_SCN_ACTION_PARTITION:
    case NL_SCN_ACTION_HEAL: {
      gboolean cut = act->kind == NL_SCN_ACTION_PARTITION;
      nl_world_partition(r->world, node, node2, cut);
      trace_text(r, NL_TRACE_NOTE, act->node, "%s %s", cut ? "partition from"
                                                            : "healed with",
                 act->node2);
      break;
    }
    case NL_SCN_ACTION_STOP: {
      NlProc *p = nl_proc_find(node, act->program);
      if (p)
        nl_proc_kill(p, "stopped by the scenario");
      break;
    }
    case NL_SCN_ACTION_SNAPSHOT:
      nl_nat_trace_snapshot(nl_nat_node_get(node));
      break;
    case NL_SCN_ACTION_NOTE:
      trace_text(r, NL_TRACE_NOTE, act->node, "%s", act->text);
      break;
    case NL_SCN_ACTION_STDIN: {
      NlProc *p = nl_proc_find(node, act->program);
      if (p)
        nl_proc_write_stdin(p, act->text);
      break;
    }
    default:
      break;
  }
}

/* ---- expectations, from the trace ---- */

static gboolean own_addr(const NlScnNode *n, uint32_t addr, gboolean outside) {
  for (guint i = 0; i < n->links->len; i++) {
    const NlScnLink *l = g_ptr_array_index(n->links, i);
    if (outside && l->role == NL_SCN_ROLE_INSIDE)
      continue;
    for (guint j = 0; j < l->addrs->len; j++) {
      const NlScnAddr *a = &g_array_index(l->addrs, NlScnAddr, j);
      if (a->family == 4 && nl_scn_addr_ip4(a) == addr)
        return TRUE;
    }
  }
  return FALSE;
}

/* Whether a packet from @addr comes from @n as the rest of the world sees
 * it: one of @n's own addresses, or the outside address of a NAT that @n
 * sits behind (following gateways through chained NATs). */
gboolean nl__run_node_has(const NlScenario *s, const NlScnNode *n,
                          uint32_t addr, guint depth) {
  if (own_addr(n, addr, depth > 0))
    return TRUE;
  if (depth > 8)
    return FALSE;
  for (guint i = 0; i < n->routes->len; i++) {
    const NlScnRoute *rt = g_ptr_array_index(n->routes, i);
    if (rt->via.family != 4)
      continue;
    uint32_t via = nl_scn_addr_ip4(&rt->via);
    for (guint k = 0; k < s->nodes->len; k++) {
      const NlScnNode *g = g_ptr_array_index(s->nodes, k);
      if (g != n && g->kind == NL_SCN_NODE_NAT && own_addr(g, via, FALSE) &&
          nl__run_node_has(s, g, addr, depth + 1))
        return TRUE;
    }
  }
  return FALSE;
}

/* Whether @addr belongs to a host that runs a TURN server. */
gboolean nl__run_is_relay(const NlScenario *s, uint32_t addr) {
  for (guint i = 0; i < s->nodes->len; i++) {
    const NlScnNode *n = g_ptr_array_index(s->nodes, i);
    for (guint j = 0; j < n->runs->len; j++) {
      const NlScnRun *run = g_ptr_array_index(n->runs, j);
      if (run->kind == NL_SCN_PROGRAM_BUILTIN &&
          strcmp(run->program, "turn-server") == 0 &&
          own_addr(n, addr, FALSE))
        return TRUE;
    }
  }
  return FALSE;
}

static void check(NlRun *r, ExpectEv *e, NlTime until) {
  const NlScnExpect *x = e->expect;
  char *why = NULL;
  gboolean pass = nl__expect_eval(r->index, x, until, &why, &e->detail);
  e->checked = TRUE;
  e->passed = pass;
  e->why = why;
  e->when = until;
  if (!pass)
    r->failed++;
  trace_text(r, NL_TRACE_CHECK, x->node, "%s:%u: %s: %s%s%s", x->loc.file,
             x->loc.line, pass ? "pass" : "FAIL", x->source, why ? ": " : "",
             why ? why : "");
}

static void run_expect(NlEvent *ev, void *data) {
  ExpectEv *e = data;
  /* Whether a program is blocked is recorded when asked. */
  if (e->expect->kind == NL_SCN_EXPECT_BLOCKED) {
    const NlScnExpect *x = e->expect;
    guint n = x->copies != NULL ? x->copies->len : 1;
    for (guint i = 0; i < n; i++) {
      const NlScnExpect *c = x->copies ? g_ptr_array_index(x->copies, i) : x;
      NlNode *node = nl_world_find_node(e->run->world, c->node);
      NlProc *pr = node ? nl_proc_find(node, c->program) : NULL;
      if (pr)
        nl_proc_trace_blocked(pr);
    }
  }
  check(e->run, e, nl_world_now(e->run->world));
}

/* ---- building ---- */

static gboolean build_nat(NlRun *r, const NlScnNode *sn, NlNode *node,
                          GError **error) {
  const char *preset = sn->preset ? sn->preset
                       : sn->kind == NL_SCN_NODE_FIREWALL ? "firewall"
                                                          : "port-restricted-cone";
  const NlNatBehaviour *base = nl_nat_behaviour_find(preset);
  if (base == NULL) {
    g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_BUILD,
                LOC_FMT "unknown NAT preset \"%s\"", LOC_ARGS(sn->preset_loc),
                preset);
    return FALSE;
  }
  NlNatBehaviour b = *base;
  for (guint i = 0; i < sn->overrides->len; i++) {
    const NlScnOverride *o = g_ptr_array_index(sn->overrides, i);
    GError *err = NULL;
    if (!nl_nat_behaviour_set(&b, o->field, o->value, &err)) {
      g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_BUILD, LOC_FMT "%s",
                  LOC_ARGS(o->loc), err->message);
      g_error_free(err);
      return FALSE;
    }
  }
  GArray *ext = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  GPtrArray *inside = g_ptr_array_new();
  for (guint i = 0; i < sn->links->len; i++) {
    const NlScnLink *l = g_ptr_array_index(sn->links, i);
    NlIface *f = nl_node_iface(node, i);
    if (l->role == NL_SCN_ROLE_INSIDE) {
      g_ptr_array_add(inside, f);
    } else {
      for (guint j = 0; j < l->addrs->len; j++) {
        const NlScnAddr *sa = &g_array_index(l->addrs, NlScnAddr, j);
        if (sa->family != 4)
          continue; /* IPv6 is routed through, not translated */
        uint32_t a = nl_scn_addr_ip4(sa);
        g_array_append_val(ext, a);
      }
    }
  }
  NlNat *nat = nl_nat_new(&b, (const uint32_t *)ext->data, ext->len,
                          nl_world_queue(r->world), nl_world_trace(r->world),
                          nl_node_trace_id(node), nl_world_seed(r->world),
                          sn->name);
  for (guint i = 0; i < sn->forwards->len; i++) {
    const NlScnForward *f = g_ptr_array_index(sn->forwards, i);
    GError *err = NULL;
    if (!check_ip4(&f->addr, "a port forward", error)) {
      nl_nat_free(nat);
      g_ptr_array_free(inside, TRUE);
      g_array_free(ext, TRUE);
      return FALSE;
    }
    uint32_t addr = nl_scn_addr_ip4(&f->addr);
    if (f->dmz) {
      nl_nat_set_dmz(nat, addr);
      continue;
    }
    if ((f->tcp && !nl_nat_add_forward(nat, NL_IPPROTO_TCP, f->port, addr,
                                       f->to_port, &err)) ||
        (f->udp && !nl_nat_add_forward(nat, NL_IPPROTO_UDP, f->port, addr,
                                       f->to_port, &err))) {
      g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_BUILD, LOC_FMT "%s",
                  LOC_ARGS(f->loc), err->message);
      g_error_free(err);
      nl_nat_free(nat);
      g_ptr_array_free(inside, TRUE);
      g_array_free(ext, TRUE);
      return FALSE;
    }
  }
  nl_nat_node_attach(node, nat, inside);
  g_ptr_array_free(inside, TRUE);
  g_array_free(ext, TRUE);
  return TRUE;
}

/* One `link` line: its first IPv4 address makes the interface (extra
 * IPv4 addresses, a NAT's pool, become extra interfaces on the same
 * segment); its IPv6 addresses go on that first interface (attached
 * without IPv4 when the line has none), which is then dual-stack. */
static gboolean build_link(NlNode *node, NlNetwork *net, const NlScnLink *l,
                           const NlLinkProps *props, uint32_t *first,
                           GError **error) {
  NlIface *main_if = NULL;
  for (guint k = 0; k < l->addrs->len; k++) {
    const NlScnAddr *a = &g_array_index(l->addrs, NlScnAddr, k);
    if (a->family != 4)
      continue;
    NlIface *f = nl_node_attach(node, net, nl_scn_addr_ip4(a), props);
    if (main_if == NULL)
      main_if = f;
    if (*first == 0)
      *first = nl_scn_addr_ip4(a);
  }
  for (guint k = 0; k < l->addrs->len; k++) {
    const NlScnAddr *a = &g_array_index(l->addrs, NlScnAddr, k);
    if (a->family != 6)
      continue;
    /* RFC 8200 §5: IPv6 needs links of at least 1280 bytes. */
    guint mtu = props->mtu ? props->mtu : NL_DEFAULT_MTU;
    if (mtu < NL_IP6_MIN_MTU) {
      g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_BUILD,
                  LOC_FMT "IPv6 needs a link MTU of at least 1280 bytes "
                          "(RFC 8200 §5); this link's is %u",
                  LOC_ARGS(a->loc), mtu);
      return FALSE;
    }
    if (main_if == NULL)
      main_if = nl_node_attach(node, net, 0, props);
    NlIp6 a6 = scn_ip6(a);
    nl_iface_add_addr6(main_if, &a6);
  }
  return TRUE;
}

/* A node's IPv6 addresses answer its names too (AAAA), in the order
 * written. */
static void name_node6(NlWorld *w, const NlScnNode *sn) {
  for (guint j = 0; j < sn->links->len; j++) {
    const NlScnLink *l = g_ptr_array_index(sn->links, j);
    for (guint k = 0; k < l->addrs->len; k++) {
      const NlScnAddr *a = &g_array_index(l->addrs, NlScnAddr, k);
      if (a->family != 6)
        continue;
      NlIp6 a6 = scn_ip6(a);
      nl_world_add_name6(w, sn->name, &a6);
      for (guint n = 0; n < sn->names->len; n++)
        nl_world_add_name6(w, g_ptr_array_index(sn->names, n), &a6);
    }
  }
}

static gboolean build(NlRun *r, GError **error) {
  const NlScenario *s = r->s;
  for (guint i = 0; i < s->networks->len; i++) {
    const NlScnNetwork *sn = g_ptr_array_index(s->networks, i);
    NlNetwork *net = nl_network_new(r->world, sn->name);
    for (guint j = 0; j < sn->prefixes->len; j++) {
      const NlScnAddr *a = &g_array_index(sn->prefixes, NlScnAddr, j);
      if (a->family == 6) {
        NlIp6 p6 = scn_ip6(a);
        nl_network_add_prefix6(net, &p6, a->len);
        continue;
      }
      nl_network_add_prefix(net, nl_scn_addr_ip4(a), a->len);
    }
  }
  for (guint i = 0; i < s->nodes->len; i++) {
    const NlScnNode *sn = g_ptr_array_index(s->nodes, i);
    nl_mem_huge_heap_poll(); /* what the last node's making grew (mem.h) */
    NlNode *node = nl_node_new(r->world, sn->name, node_kind(sn->kind));
    uint32_t first = 0;
    for (guint j = 0; j < sn->links->len; j++) {
      const NlScnLink *l = g_ptr_array_index(sn->links, j);
      NlLinkProps props;
      link_props(l, &props);
      NlNetwork *net = nl_world_find_network(r->world, l->network);
      if (!build_link(node, net, l, &props, &first, error))
        return FALSE;
    }
    /* Its names: every address, the public one first (a NAT's outside
     * address, else the first written); a lookup answers the one on a
     * network the asker shares, else the public one. */
    if (first != 0) {
      GArray *order = g_array_new(FALSE, FALSE, sizeof(uint32_t));
      gboolean natlike = sn->kind == NL_SCN_NODE_NAT ||
                         sn->kind == NL_SCN_NODE_FIREWALL;
      for (int pass = natlike ? 0 : 1; pass < 2; pass++)
        for (guint j = 0; j < sn->links->len; j++) {
          const NlScnLink *l = g_ptr_array_index(sn->links, j);
          if (pass == 0 && l->role != NL_SCN_ROLE_OUTSIDE)
            continue;
          for (guint k = 0; k < l->addrs->len; k++) {
            const NlScnAddr *sa = &g_array_index(l->addrs, NlScnAddr, k);
            if (sa->family != 4)
              continue;
            uint32_t a = nl_scn_addr_ip4(sa);
            g_array_append_val(order, a);
          }
        }
      for (guint k = 0; k < order->len; k++) {
        uint32_t a = g_array_index(order, uint32_t, k);
        nl_world_add_name(r->world, sn->name, a);
        for (guint j = 0; j < sn->names->len; j++)
          nl_world_add_name(r->world, g_ptr_array_index(sn->names, j), a);
      }
      g_array_free(order, TRUE);
    }
    name_node6(r->world, sn);
    for (guint j = 0; j < sn->routes->len; j++) {
      const NlScnRoute *rt = g_ptr_array_index(sn->routes, j);
      if (rt->dest.family == 6) {
        NlIp6 d = scn_ip6(&rt->dest), v = scn_ip6(&rt->via);
        nl_node_add_route6(node, &d, rt->dest.len, &v);
        continue;
      }
      uint32_t dest = nl_scn_addr_ip4(&rt->dest) & prefix_len_mask(rt->dest.len);
      nl_node_add_route(node, dest, rt->dest.len, nl_scn_addr_ip4(&rt->via));
    }
    if ((sn->kind == NL_SCN_NODE_NAT || sn->kind == NL_SCN_NODE_FIREWALL) &&
        !build_nat(r, sn, node, error))
      return FALSE;
  }
  nl__run_trace_topology(r->world, s);
  /* Program heaps sized so that every program of the world can have one
   * (4 GiB each up to 12,288 programs, less beyond). */
  guint programs = 0;
  for (guint i = 0; i < s->nodes->len; i++)
    programs += ((const NlScnNode *)g_ptr_array_index(s->nodes, i))->runs->len;
  nl_heap_plan(programs);
  nl__run_build_batch(TRUE);
  nl_proc_spawn_batch(TRUE);
  for (guint i = 0; i < s->nodes->len; i++) {
    const NlScnNode *sn = g_ptr_array_index(s->nodes, i);
    nl__run_host_facts(nl_world_find_node(r->world, sn->name), sn);
    for (guint j = 0; j < sn->runs->len; j++)
      if (!spawn_run(r, g_ptr_array_index(sn->runs, j), error)) {
        nl_proc_spawn_batch(FALSE);
        nl__run_build_batch(FALSE);
        return FALSE;
      }
  }
  nl_proc_spawn_batch(FALSE);
  nl__run_build_batch(FALSE);
  NlEventQueue *q = nl_world_queue(r->world);
  for (guint i = 0; i < s->actions->len; i++) {
    ActionEv *a = g_new0(ActionEv, 1);
    a->run = r;
    a->action = g_ptr_array_index(s->actions, i);
    nl_event_init(&a->ev, run_action, a);
    nl_event_schedule(q, &a->ev, a->action->at);
    g_ptr_array_add(r->actions, a);
  }
  for (guint i = 0; i < s->expects->len; i++) {
    ExpectEv *e = g_new0(ExpectEv, 1);
    e->run = r;
    e->expect = g_ptr_array_index(s->expects, i);
    nl_event_init(&e->ev, run_expect, e);
    if (e->expect->at != NL_TIME_NEVER && e->expect->at >= 0 &&
        e->expect->at < s->duration)
      nl_event_schedule(q, &e->ev, e->expect->at);
    g_ptr_array_add(r->expects, e);
  }
  return TRUE;
}

/* A line worth keeping when the programs' output is not shown (see
 * NlRunOptions.output_unshown): the ICE programs' reports (runner-path.c
 * reads them), and the lines of a program an expectation reads (their
 * explanations show them).  keep_sources says the same per program, for
 * nl_trace_wants_text: so the lines of a program nothing reads are not
 * made at all. */
#define KEEP_PREFIX "ice: "
static gboolean keep_line(void *data, const NlTraceRecord *rec,
                          const guint8 *p) {
  NlRun *r = data;
  return (rec->len >= sizeof KEEP_PREFIX - 1 &&
          memcmp(p, KEEP_PREFIX, sizeof KEEP_PREFIX - 1) == 0) ||
         nl__expect_reads_line(r->index, rec->peer, rec->node);
}
static gboolean keep_sources(void *data, NlTraceKind kind, guint32 node,
                             guint32 peer) {
  NlRun *r = data;
  return nl__expect_reads_lines(r->index, peer, node);
}

NlRun *nl_run_new(const NlScenario *s, const NlRunOptions *opts,
                  GError **error) {
  g_return_val_if_fail(s != NULL, NULL);
  NlRun *r = g_new0(NlRun, 1);
  r->s = s;
  char *dir = g_path_get_dirname(s->path);
  r->home = g_canonicalize_filename(dir, NULL);
  g_free(dir);
  r->world = nl_world_new(opts && opts->seed_set ? opts->seed : s->seed);
  if (opts && opts->trace_mask)
    nl_trace_set_mask(nl_world_trace(r->world), opts->trace_mask);
  if (opts && opts->trace_ready)
    opts->trace_ready(opts->trace_ready_data, nl_world_trace(r->world));
  r->actions = g_ptr_array_new_with_free_func(g_free);
  r->expects = g_ptr_array_new();
  /* Before anything is recorded: the expectations read every record. */
  r->index = nl__expect_index_new(r);
  /* The trace keeps every "ice: " line of stdout when its mask keeps
   * stdout (keep_line keeps them all): the path reports read their copy. */
  uint64_t mask = opts ? opts->trace_mask : 0;
  r->tally = nl__path_tally_new(nl_world_trace(r->world),
                                mask == 0 || ((mask >> NL_TRACE_STDOUT) & 1));
  if (opts && opts->output_unshown) {
    NlTrace *t = nl_world_trace(r->world);
    nl_trace_keep_only(t, (1u << NL_TRACE_STDOUT) | (1u << NL_TRACE_STDERR),
                       keep_line, r);
    nl_trace_keep_sources(t, keep_sources, KEEP_PREFIX);
  }
  if (opts && opts->watchdog_ms)
    nl_proc_set_watchdog(opts->watchdog_ms);
  if (!build(r, error)) {
    nl_run_free(r);
    return NULL;
  }
  return r;
}

static void end_all(NlRun *r) {
  /* First what each program still alive was waiting for (a deadlock shows
   * here), then the end. */
  for (guint i = 0; i < nl_world_n_nodes(r->world); i++) {
    NlNode *n = nl_world_node(r->world, i);
    if (nl_node_kind(n) == NL_NODE_HOST || nl_node_kind(n) == NL_NODE_ROUTER)
      nl_proc_trace_blocked_all(n);
  }
  for (guint i = 0; i < nl_world_n_nodes(r->world); i++) {
    NlNode *n = nl_world_node(r->world, i);
    if (nl_node_kind(n) == NL_NODE_HOST || nl_node_kind(n) == NL_NODE_ROUTER)
      nl_proc_kill_all(n, "killed: the simulation ended");
  }
}

void nl_run_set_progress(NlRun *r, NlRunProgressFn fn, void *data) {
  r->progress = fn;
  r->progress_data = data;
}

guint nl_run_execute(NlRun *r) {
  NlEventQueue *q = nl_world_queue(r->world);
  if (r->progress == NULL) {
    nl_event_run_until(q, r->s->duration);
  } else {
    /* In slices of virtual time: the same events fire in the same order,
     * only the caller gets a word in between. */
    NlTime slice = MAX(r->s->duration / 200, NL_MS);
    for (NlTime t = slice; nl_event_now(q) < r->s->duration; t += slice) {
      nl_event_run_until(q, MIN(t, r->s->duration));
      nl_proc_locale_home();
      r->progress(r->progress_data, nl_event_now(q), r->s->duration,
                  nl_event_fired(q));
    }
  }
  end_all(r);
  nl_proc_locale_home();
  NlTime end = nl_world_now(r->world);
  for (guint i = 0; i < r->expects->len; i++) {
    ExpectEv *e = g_ptr_array_index(r->expects, i);
    if (!e->checked)
      check(r, e, end);
  }
  return r->failed;
}

void nl_run_free(NlRun *r) {
  if (r == NULL)
    return;
  for (guint i = 0; i < r->expects->len; i++) {
    ExpectEv *e = g_ptr_array_index(r->expects, i);
    nl_event_cancel(nl_world_queue(r->world), &e->ev);
    g_free(e->why);
    g_free(e->detail);
    g_free(e);
  }
  for (guint i = 0; i < r->actions->len; i++) {
    ActionEv *a = g_ptr_array_index(r->actions, i);
    nl_event_cancel(nl_world_queue(r->world), &a->ev);
  }
  g_ptr_array_free(r->expects, TRUE);
  g_ptr_array_free(r->actions, TRUE);
  nl_world_free(r->world);
  nl_proc_locale_home(); /* (what programs' ends may have left) */
  nl__expect_index_free(r->index);
  nl__path_tally_free(r->tally);
  g_free(r->home);
  g_free(r);
}

const NlScenario *nl__run_scenario(const NlRun *r) {
  return r->s;
}

NlPathTally *nl__run_path_tally(const NlRun *r) {
  return r->tally;
}

NlWorld *nl_run_world(NlRun *r) {
  return r->world;
}
NlTrace *nl_run_trace(NlRun *r) {
  return nl_world_trace(r->world);
}
guint nl_run_n_expects(const NlRun *r) {
  return r->expects->len;
}

const NlScnExpect *nl_run_expect_result(const NlRun *r, guint i,
                                        gboolean *passed, const char **why,
                                        NlTime *when) {
  if (i >= r->expects->len)
    return NULL;
  const ExpectEv *e = g_ptr_array_index(r->expects, i);
  *passed = e->checked && e->passed;
  *why = e->why;
  *when = e->when;
  return e->expect;
}

void nl_run_report_failures(const NlRun *r, GString *out) {
  for (guint i = 0; i < r->expects->len; i++) {
    const ExpectEv *e = g_ptr_array_index(r->expects, i);
    if (e->checked && !e->passed) {
      g_string_append_printf(out, "%s:%u: expectation failed: %s: %s\n",
                             e->expect->loc.file, e->expect->loc.line,
                             e->expect->source, e->why ? e->why : "");
      if (e->detail)
        g_string_append(out, e->detail);
    }
  }
}

gboolean nl_run_trace_diff(const NlTrace *a, const NlTrace *b, GString *out) {
  NlTraceIter ia, ib;
  const NlTraceRecord *ra, *rb;
  const guint8 *pa, *pb;
  GString *la = g_string_new(NULL), *lb = g_string_new(NULL);
  nl_trace_iter_init(&ia, a);
  nl_trace_iter_init(&ib, b);
  guint64 index = 0;
  gboolean same = TRUE;
  for (;; index++) {
    gboolean ha = nl_trace_iter_next(&ia, &ra, &pa);
    gboolean hb = nl_trace_iter_next(&ib, &rb, &pb);
    if (!ha && !hb)
      break;
    g_string_truncate(la, 0);
    g_string_truncate(lb, 0);
    if (ha)
      nl_trace_format(a, ra, pa, la);
    if (hb)
      nl_trace_format(b, rb, pb, lb);
    if (ha && hb && strcmp(la->str, lb->str) == 0)
      continue;
    char tb[NL_TIME_STRLEN];
    g_string_append_printf(
        out, "record %" G_GUINT64_FORMAT " at virtual time %s differs:\n"
             "  run 1: %s\n  run 2: %s\n",
        index, nl_time_to_string(ha ? ra->time : rb->time, tb),
        ha ? la->str : "(trace ended)", hb ? lb->str : "(trace ended)");
    same = FALSE;
    break;
  }
  g_string_free(la, TRUE);
  g_string_free(lb, TRUE);
  return same;
}
