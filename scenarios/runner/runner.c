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
#include "natmodels/nat-node.h"
#include "scenarios/runner/runner-path.h"
#include "scenarios/runner/topology.h"
#include "scenarios/runner/runner-facts.h"
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

static gboolean check_ip4(const NlScnAddr *a, GError **error) {
  if (a->family == 4)
    return TRUE;
  g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_BUILD,
              LOC_FMT "IPv6 is not simulated yet (dual stack is on the "
                      "roadmap); use an IPv4 address",
              LOC_ARGS(a->loc));
  return FALSE;
}

static uint32_t prefix_len_mask(guint len) {
  return len == 0 ? 0 : ~(uint32_t)0 << (32 - len);
}

/* ---- programs (built by build.c) ---- */

gboolean nl_run_build_programs(const NlScenario *s, GError **error) {
  g_return_val_if_fail(s != NULL, FALSE);
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
  switch (run->kind) {
    case NL_SCN_PROGRAM_BUILTIN: program = g_strdup(run->program); break;
    case NL_SCN_PROGRAM_SHARED: program = g_strdup(run->path); break;
    case NL_SCN_PROGRAM_SOURCE:
      program = nl_run_build_sources((const char *const *)run->sources, &err);
      break;
  }
  NlProc *p = NULL;
  if (program != NULL &&
      (p = nl_proc_spawn(node, run->name, program,
                         (const char *const *)run->argv, run->at, &err)) ==
          NULL) {
    g_free(program);
    program = NULL;
  }
  if (program == NULL) {
    g_set_error(error, NL_RUN_ERROR, NL_RUN_ERROR_PROGRAM, LOC_FMT "%s",
                LOC_ARGS(run->program_loc), err->message);
    g_error_free(err);
    return FALSE;
  }
  g_free(program);
  nl__run_proc_facts(p, run, r->s);
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
    for (guint j = 0; j < l->addrs->len; j++)
      if (nl_scn_addr_ip4(&g_array_index(l->addrs, NlScnAddr, j)) == addr)
        return TRUE;
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

/* Bytes of transport payload in an IPv4 packet (UDP or TCP). */
static guint payload_len(const guint8 *pkt, guint32 len, uint32_t *src) {
  NlIp4Header ip;
  if (nl_ip4_parse(pkt, len, &ip) != NULL)
    return 0;
  *src = ip.src;
  guint l4 = ip.total_len - ip.ihl_bytes;
  if (ip.proto == NL_IPPROTO_UDP && l4 >= NL_UDP_HDR_LEN)
    return l4 - NL_UDP_HDR_LEN;
  if (ip.proto == NL_IPPROTO_TCP && l4 >= NL_TCP_HDR_LEN)
    return l4 - (guint)((pkt[ip.ihl_bytes + 12] >> 4) * 4);
  return 0;
}

/* Whether @x holds at @until; *why says what happened when it does not. */
static gboolean eval(NlRun *r, const NlScnExpect *x, NlTime until,
                     char **why_out, char **detail_out) {
  NlTrace *t = nl_world_trace(r->world);
  guint32 node = x->node ? nl_trace_intern(t, x->node) : 0;
  char *pname = x->program ? g_strdup_printf("%s/%s", x->node, x->program)
                           : NULL;
  guint32 proc = pname ? nl_trace_intern(t, pname) : 0;
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  gboolean pass = FALSE;
  char *why = NULL;
  gint64 total = 0;
  gboolean seen = FALSE;
  char *last_proc = NULL;
  char *stats = NULL;   /* the program's statistics record */
  char *last_blocked = NULL;
  NlTime started = NL_TIME_NEVER, ended = NL_TIME_NEVER;
  NlTime blocked_at = NL_TIME_NEVER, blocked_since = 0;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p) && rec->time <= until) {
    if (proc != 0 && rec->node == node && rec->peer == proc) {
      if (rec->kind == NL_TRACE_STATS) {
        g_free(stats);
        stats = g_strndup((const char *)p, rec->len);
      } else if (rec->kind == NL_TRACE_PROC) {
        if (rec->len >= 6 && memcmp(p, "start ", 6) == 0) {
          started = rec->time;
          ended = NL_TIME_NEVER;
          blocked_at = NL_TIME_NEVER;
        } else if (rec->len >= 7 && memcmp(p, "blocked", 7) == 0) {
          blocked_at = rec->time;
          blocked_since = (NlTime)rec->id;
          g_free(last_blocked);
          last_blocked = g_strndup((const char *)p, rec->len);
        } else if (ended == NL_TIME_NEVER) {
          ended = rec->time;
        }
      }
    }
    switch (x->kind) {
      case NL_SCN_EXPECT_STDOUT:
      case NL_SCN_EXPECT_STDERR: {
        NlTraceKind k = x->kind == NL_SCN_EXPECT_STDOUT ? NL_TRACE_STDOUT
                                                        : NL_TRACE_STDERR;
        if (rec->kind == k && rec->node == node && rec->peer == proc &&
            g_strstr_len((const char *)p, rec->len, x->text) != NULL)
          seen = TRUE;
        break;
      }
      case NL_SCN_EXPECT_EXIT:
        if (rec->kind == NL_TRACE_PROC && rec->node == node &&
            rec->peer == proc &&
            !(rec->len >= 7 && memcmp(p, "blocked", 7) == 0)) {
          g_free(last_proc);
          last_proc = g_strndup((const char *)p, rec->len);
        }
        break;
      case NL_SCN_EXPECT_RECEIVED:
        if (rec->kind == NL_TRACE_PKT_DELIVER && rec->node == node) {
          uint32_t src = 0;
          guint n = payload_len(p, rec->len, &src);
          if (n > 0 && nl__run_node_has(r->s, x->peer_ref, src, 0))
            total += x->count_packets ? 1 : n;
        }
        break;
      case NL_SCN_EXPECT_PATH:
        if (rec->kind == NL_TRACE_PKT_DELIVER && rec->node == node) {
          uint32_t src = 0;
          if (payload_len(p, rec->len, &src) == 0)
            break;
          if (nl__run_node_has(r->s, x->peer_ref, src, 0))
            total |= 1; /* straight from the peer (or its NAT) */
          else if (nl__run_is_relay(r->s, src))
            total |= 2; /* from a TURN relay */
        }
        break;
      case NL_SCN_EXPECT_TCP:
        if (rec->kind == NL_TRACE_TCP_STATE && rec->node == node) {
          char *arrow = g_strdup_printf("-> %s", x->text);
          if (g_strstr_len((const char *)p, rec->len, arrow))
            seen = TRUE;
          g_free(arrow);
        }
        break;
      case NL_SCN_EXPECT_FILTERED:
        /* The NAT's own refusals, made as packets arrive (a drop on the
         * way out is the link's or a partition's). */
        if (rec->kind == NL_TRACE_PKT_DROP && rec->node == node &&
            !(rec->aux & NL_DROP_OUTGOING) &&
            ((x->drop_reasons >> nl_trace_drop_reason(rec->aux)) & 1))
          total++;
        break;
      default:
        break;
    }
  }
  switch (x->kind) {
    case NL_SCN_EXPECT_STDOUT:
    case NL_SCN_EXPECT_STDERR:
      pass = x->negate ? !seen : seen;
      if (!pass) {
        why = g_strdup(x->negate ? "the line was printed"
                                 : "no such line was printed");
        *detail_out = nl__run_explain_output(
            t, proc,
            x->kind == NL_SCN_EXPECT_STDOUT ? NL_TRACE_STDOUT
                                            : NL_TRACE_STDERR,
            x->text, x->negate, until);
      }
      break;
    case NL_SCN_EXPECT_EXIT: {
      int code;
      char tb[NL_TIME_STRLEN];
      if (last_proc && sscanf(last_proc, "exit %d", &code) == 1) {
        pass = !x->has_code || nl_scn_cmp_holds(x->cmp, code, x->value);
        if (!pass)
          why = g_strdup_printf("it exited with %d", code);
        else if (x->within != NL_TIME_NEVER && started != NL_TIME_NEVER &&
                 ended - started > x->within) {
          pass = FALSE;
          why = g_strdup_printf("it exited %ss after it started",
                                nl_time_to_string(ended - started, tb));
        }
      } else if (last_blocked != NULL) {
        why = g_strdup_printf("it did not exit: %s", last_blocked);
      } else {
        why = g_strdup_printf("it did not exit: %s",
                              last_proc ? last_proc : "it never started");
      }
      break;
    }
    case NL_SCN_EXPECT_CALLS:
    case NL_SCN_EXPECT_WASTED:
    case NL_SCN_EXPECT_CPU:
    case NL_SCN_EXPECT_FDS:
    case NL_SCN_EXPECT_SENT:
    case NL_SCN_EXPECT_CONNECTIONS: {
      static const char *const keys[] = {
          [NL_SCN_EXPECT_CALLS] = "calls=", [NL_SCN_EXPECT_WASTED] = "wasted=",
          [NL_SCN_EXPECT_CPU] = "cpu=",     [NL_SCN_EXPECT_FDS] = "fds=",
          [NL_SCN_EXPECT_SENT] = "sent=",   [NL_SCN_EXPECT_CONNECTIONS] =
                                                "connections="};
      const char *at = NULL;
      if (stats != NULL) {
        char *pat = g_strdup_printf(" %s", keys[x->kind]);
        char *padded = g_strdup_printf(" %s", stats);
        const char *hit = strstr(padded, pat);
        if (hit != NULL)
          at = stats + (hit - padded) + strlen(keys[x->kind]);
        g_free(pat);
        if (at == NULL) {
          g_free(padded);
        } else {
          gint64 v = g_ascii_strtoll(at, NULL, 10);
          if (x->kind == NL_SCN_EXPECT_CPU)
            v *= NL_US;
          pass = nl_scn_cmp_holds(x->cmp, v, x->value);
          if (!pass) {
            char tb[NL_TIME_STRLEN];
            why = x->kind == NL_SCN_EXPECT_CPU
                      ? g_strdup_printf("it used %ss of virtual CPU (%s)",
                                        nl_time_to_string(v, tb), stats)
                      : g_strdup_printf("it measured %" G_GINT64_FORMAT
                                        " (%s)", v, stats);
          }
          g_free(padded);
        }
      }
      if (at == NULL)
        why = g_strdup(last_proc == NULL && started == NL_TIME_NEVER
                           ? "it never started"
                       : ended == NL_TIME_NEVER
                           ? "it has not ended yet (its counters are "
                             "recorded when it ends)"
                           : "it made no call into the lab");
      break;
    }
    case NL_SCN_EXPECT_BLOCKED: {
      char tb[NL_TIME_STRLEN];
      /* At the end of the run the record comes just before the end. */
      gboolean now = blocked_at != NL_TIME_NEVER && blocked_at == until &&
                     (ended == NL_TIME_NEVER || ended == until);
      if (!now) {
        why = g_strdup(started == NL_TIME_NEVER ? "it never started"
                       : ended != NL_TIME_NEVER  ? "it had ended"
                                                 : "it was not blocked");
      } else if (x->text != NULL) {
        char *in = g_strdup_printf(" in %s() ", x->text);
        pass = strstr(last_blocked, in) != NULL;
        g_free(in);
      } else {
        pass = TRUE;
      }
      if (now && !pass)
        why = g_strdup_printf("it was %s", last_blocked);
      if (pass && x->has_since &&
          !nl_scn_cmp_holds(x->since_cmp, blocked_since, x->since)) {
        pass = FALSE;
        why = g_strdup_printf("it was blocked since %ss: %s",
                              nl_time_to_string(blocked_since, tb),
                              last_blocked);
      }
      break;
    }
    case NL_SCN_EXPECT_RECEIVED:
    case NL_SCN_EXPECT_FILTERED:
      pass = nl_scn_cmp_holds(x->cmp, total, x->value);
      if (!pass)
        why = g_strdup_printf("the count was %" G_GINT64_FORMAT, total);
      break;
    case NL_SCN_EXPECT_TCP:
      pass = seen;
      if (!pass)
        why = g_strdup_printf("no connection reached %s", x->text);
      break;
    case NL_SCN_EXPECT_PATH:
      /* What an ICE agent on either host selected decides (runner-path.c);
       * without one, the packets do.  Direct: data came from the peer
       * itself (through NATs); relayed: data came only through a TURN
       * server. */
      if (nl__run_expect_path_ice(r, x, until, &pass, &why))
        break;
      pass = x->path == NL_SCN_PATH_DIRECT ? (total & 1) != 0
                                           : total == 2;
      if (!pass)
        why = g_strdup(total == 0   ? "no data arrived from the peer at all"
                       : total & 1 ? "data arrived directly from the peer"
                                    : "data arrived only through a relay");
      break;
    default:
      why = g_strdup("unknown expectation");
  }
  g_free(pname);
  g_free(last_proc);
  g_free(stats);
  g_free(last_blocked);
  *why_out = why;
  return pass;
}

/* A group holds when at least at_least of its copies do; its report
 * names how many held and the first copies that did not. */
static gboolean eval_group(NlRun *r, const NlScnExpect *x, NlTime until,
                           char **why, char **detail) {
  guint n = x->copies->len, held = 0, shown = 0;
  GString *failed = g_string_new(NULL);
  char *first_why = NULL;
  for (guint i = 0; i < n; i++) {
    const NlScnExpect *c = g_ptr_array_index(x->copies, i);
    char *w = NULL, *d = NULL;
    if (eval(r, c, until, &w, &d)) {
      held++;
    } else {
      if (*detail == NULL)
        *detail = g_steal_pointer(&d);
      if (shown++ < 5)
        g_string_append_printf(failed, "%s%s%s%s", failed->len ? ", " : "",
                               c->node, c->program ? "/" : "",
                               c->program ? c->program : "");
      if (first_why == NULL)
        first_why = g_strdup(w);
    }
    g_free(w);
    g_free(d);
  }
  gboolean pass = (gint64)held >= x->at_least;
  *why = NULL;
  if (!pass || held < n)
    *why = g_strdup_printf(
        "%u of %u held (at least %" G_GINT64_FORMAT " wanted)%s%s%s%s%s",
        held, n, x->at_least, shown ? "; not: " : "", failed->str,
        shown > 5 ? ", ..." : "", first_why ? "; first: " : "",
        first_why ? first_why : "");
  g_string_free(failed, TRUE);
  g_free(first_why);
  return pass;
}

static void check(NlRun *r, ExpectEv *e, NlTime until) {
  const NlScnExpect *x = e->expect;
  char *why = NULL;
  gboolean pass = x->copies != NULL
                      ? eval_group(r, x, until, &why, &e->detail)
                      : eval(r, x, until, &why, &e->detail);
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
        uint32_t a = nl_scn_addr_ip4(&g_array_index(l->addrs, NlScnAddr, j));
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

static gboolean build(NlRun *r, GError **error) {
  const NlScenario *s = r->s;
  for (guint i = 0; i < s->networks->len; i++) {
    const NlScnNetwork *sn = g_ptr_array_index(s->networks, i);
    NlNetwork *net = nl_network_new(r->world, sn->name);
    for (guint j = 0; j < sn->prefixes->len; j++) {
      const NlScnAddr *a = &g_array_index(sn->prefixes, NlScnAddr, j);
      if (!check_ip4(a, error))
        return FALSE;
      nl_network_add_prefix(net, nl_scn_addr_ip4(a), a->len);
    }
  }
  for (guint i = 0; i < s->nodes->len; i++) {
    const NlScnNode *sn = g_ptr_array_index(s->nodes, i);
    NlNode *node = nl_node_new(r->world, sn->name, node_kind(sn->kind));
    uint32_t first = 0;
    for (guint j = 0; j < sn->links->len; j++) {
      const NlScnLink *l = g_ptr_array_index(sn->links, j);
      NlLinkProps props;
      link_props(l, &props);
      NlNetwork *net = nl_world_find_network(r->world, l->network);
      for (guint k = 0; k < l->addrs->len; k++) {
        const NlScnAddr *a = &g_array_index(l->addrs, NlScnAddr, k);
        if (!check_ip4(a, error))
          return FALSE;
        /* Extra addresses on one link (a NAT's pool) become extra
         * interfaces on the same segment. */
        nl_node_attach(node, net, nl_scn_addr_ip4(a), &props);
        if (first == 0)
          first = nl_scn_addr_ip4(a);
      }
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
            uint32_t a = nl_scn_addr_ip4(&g_array_index(l->addrs, NlScnAddr, k));
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
    for (guint j = 0; j < sn->routes->len; j++) {
      const NlScnRoute *rt = g_ptr_array_index(sn->routes, j);
      if (!check_ip4(&rt->dest, error) || !check_ip4(&rt->via, error))
        return FALSE;
      uint32_t dest = nl_scn_addr_ip4(&rt->dest) & prefix_len_mask(rt->dest.len);
      nl_node_add_route(node, dest, rt->dest.len, nl_scn_addr_ip4(&rt->via));
    }
    if ((sn->kind == NL_SCN_NODE_NAT || sn->kind == NL_SCN_NODE_FIREWALL) &&
        !build_nat(r, sn, node, error))
      return FALSE;
  }
  nl__run_trace_topology(r->world, s);
  for (guint i = 0; i < s->nodes->len; i++) {
    const NlScnNode *sn = g_ptr_array_index(s->nodes, i);
    nl__run_host_facts(nl_world_find_node(r->world, sn->name), sn);
    for (guint j = 0; j < sn->runs->len; j++)
      if (!spawn_run(r, g_ptr_array_index(sn->runs, j), error))
        return FALSE;
  }
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

NlRun *nl_run_new(const NlScenario *s, const NlRunOptions *opts,
                  GError **error) {
  g_return_val_if_fail(s != NULL, NULL);
  NlRun *r = g_new0(NlRun, 1);
  r->s = s;
  r->world = nl_world_new(opts && opts->seed_set ? opts->seed : s->seed);
  if (opts && opts->trace_mask)
    nl_trace_set_mask(nl_world_trace(r->world), opts->trace_mask);
  r->actions = g_ptr_array_new_with_free_func(g_free);
  r->expects = g_ptr_array_new();
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
      r->progress(r->progress_data, nl_event_now(q), r->s->duration,
                  nl_event_fired(q));
    }
  }
  end_all(r);
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
  g_free(r);
}

const NlScenario *nl__run_scenario(const NlRun *r) {
  return r->s;
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
