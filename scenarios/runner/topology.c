/* The world, written into the trace when it is built (TOPOLOGY records,
 * sim/core/trace.h), so that outputs made from the trace alone can draw
 * the topology and name a capture's interfaces.  Networks and links are
 * described as the scenario wrote them (a network's properties on the
 * network, a link's own on the link), with the values the world uses
 * (interface names, MTU, the NAT behaviour in effect).
 */
#include "scenarios/runner/topology.h"

#include <string.h>

#include "natmodels/nat-behaviour.h"
#include "sim/core/trace.h"

/* "20ms", "1.5s", "250us": the shortest exact form. */
static void put_time(GString *s, NlTime t) {
  static const struct {
    NlTime unit;
    const char *name;
  } units[] = {{NL_S, "s"}, {NL_MS, "ms"}, {NL_US, "us"}, {NL_NS, "ns"}};
  for (gsize i = 0; i < G_N_ELEMENTS(units); i++) {
    if (t % units[i].unit == 0 || units[i].unit == NL_NS) {
      g_string_append_printf(s, "%" G_GINT64_FORMAT "%s", t / units[i].unit,
                             units[i].name);
      return;
    }
  }
}

static void put_rate(GString *s, guint64 bps) {
  static const struct {
    guint64 unit;
    const char *name;
  } units[] = {{1000000000u, "Gbit"}, {1000000u, "Mbit"}, {1000u, "kbit"}};
  for (gsize i = 0; i < G_N_ELEMENTS(units); i++) {
    if (bps >= units[i].unit && bps % units[i].unit == 0) {
      g_string_append_printf(s, "%" G_GUINT64_FORMAT "%s", bps / units[i].unit,
                             units[i].name);
      return;
    }
  }
  g_string_append_printf(s, "%" G_GUINT64_FORMAT "bit", bps);
}

static void put_percent(GString *s, double f) {
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append(s, g_ascii_formatd(buf, sizeof buf, "%g", f * 100.0));
  g_string_append_c(s, '%');
}

/* One direction's set fields, each " [PREFIX]name=value". */
static void put_dir(GString *s, const NlScnLinkDir *d, const char *prefix) {
  for (int p = 0; p < NL_SCN_N_PROPS; p++) {
    if (!(d->set & (1u << p)) || p == NL_SCN_PROP_MTU)
      continue;
    g_string_append_printf(s, " %s%s=", prefix, nl_scn_prop_name(p));
    switch (p) {
      case NL_SCN_PROP_LATENCY: put_time(s, d->latency); break;
      case NL_SCN_PROP_JITTER: put_time(s, d->jitter); break;
      case NL_SCN_PROP_LOSS: put_percent(s, d->loss); break;
      case NL_SCN_PROP_DUP: put_percent(s, d->dup); break;
      case NL_SCN_PROP_REORDER: put_percent(s, d->reorder); break;
      case NL_SCN_PROP_BANDWIDTH: put_rate(s, d->bandwidth); break;
      case NL_SCN_PROP_QUEUE:
        if (d->queue_packets)
          g_string_append_printf(s, "%u", d->queue_packets);
        else
          g_string_append_printf(s, "%" G_GUINT64_FORMAT "B", d->queue_bytes);
        break;
      default: break;
    }
  }
}

static gboolean dir_equal(const NlScnLinkDir *a, const NlScnLinkDir *b) {
  guint32 mask = ~(1u << NL_SCN_PROP_MTU);
  return (a->set & mask) == (b->set & mask) && a->latency == b->latency &&
         a->jitter == b->jitter && a->loss == b->loss && a->dup == b->dup &&
         a->reorder == b->reorder && a->bandwidth == b->bandwidth &&
         a->queue_packets == b->queue_packets &&
         a->queue_bytes == b->queue_bytes;
}

/* Both directions: once when they agree, else "up.x=... down.y=...". */
static void put_props(GString *s, const NlScnLinkProps *p) {
  if (dir_equal(&p->up, &p->down)) {
    put_dir(s, &p->up, "");
  } else {
    put_dir(s, &p->up, "up.");
    put_dir(s, &p->down, "down.");
  }
}

static void add(NlTrace *t, NlTopoKind kind, guint8 index, const char *node,
                const char *peer, const GString *text) {
  nl_trace_add(t, 0, NL_TRACE_TOPOLOGY, nl_trace_intern(t, node),
               peer ? nl_trace_intern(t, peer) : 0, 0,
               (uint16_t)(kind | (index << 8)), text->str, (guint32)text->len);
}

static const char *role_name(NlScnRole r) {
  switch (r) {
    case NL_SCN_ROLE_INSIDE: return "inside";
    case NL_SCN_ROLE_OUTSIDE: return "outside";
    default: return "link";
  }
}

static void trace_nat(NlTrace *t, const NlScnNode *sn, GString *s) {
  const char *preset = sn->preset ? sn->preset
                       : sn->kind == NL_SCN_NODE_FIREWALL
                           ? "firewall"
                           : "port-restricted-cone";
  const NlNatBehaviour *base = nl_nat_behaviour_find(preset);
  if (base == NULL)
    return; /* the builder reports it */
  NlNatBehaviour b = *base;
  for (guint i = 0; i < sn->overrides->len; i++) {
    const NlScnOverride *o = g_ptr_array_index(sn->overrides, i);
    if (!nl_nat_behaviour_set(&b, o->field, o->value, NULL))
      return;
  }
  g_string_printf(s, "preset=%s ", preset);
  nl_nat_behaviour_describe(&b, s);
  add(t, NL_TOPO_NAT, 0, sn->name, NULL, s);
}

void nl__run_trace_topology(NlWorld *w, const NlScenario *sc) {
  NlTrace *t = nl_world_trace(w);
  if (!nl_trace_wants(t, NL_TRACE_TOPOLOGY))
    return;
  GString *s = g_string_new(NULL);
  char a[NL_SCN_ADDR_STRLEN];
  g_string_printf(s, "realtime-epoch=%" G_GINT64_FORMAT, NL_REALTIME_EPOCH);
  add(t, NL_TOPO_CLOCK, 0, "", NULL, s);
  for (guint i = 0; i < sc->networks->len; i++) {
    const NlScnNetwork *n = g_ptr_array_index(sc->networks, i);
    g_string_assign(s, "prefixes=");
    for (guint j = 0; j < n->prefixes->len; j++)
      g_string_append_printf(
          s, "%s%s", j ? "," : "",
          nl_scn_addr_to_string(&g_array_index(n->prefixes, NlScnAddr, j), a));
    if (n->props.up.set & (1u << NL_SCN_PROP_MTU))
      g_string_append_printf(s, " mtu=%u", n->props.up.mtu);
    put_props(s, &n->props);
    add(t, NL_TOPO_NETWORK, 0, n->name, NULL, s);
  }
  for (guint i = 0; i < sc->nodes->len; i++) {
    const NlScnNode *sn = g_ptr_array_index(sc->nodes, i);
    NlNode *node = nl_world_find_node(w, sn->name);
    if (node == NULL)
      continue;
    if (sn->names->len > 0) {
      g_string_assign(s, "names=");
      for (guint j = 0; j < sn->names->len; j++)
        g_string_append_printf(s, "%s%s", j ? "," : "",
                               (const char *)g_ptr_array_index(sn->names, j));
      add(t, NL_TOPO_NAMES, 0, sn->name, NULL, s);
    }
    guint index = 0;
    for (guint j = 0; j < sn->links->len; j++) {
      const NlScnLink *l = g_ptr_array_index(sn->links, j);
      /* One record per interface: one per IPv4 address (extra ones are
       * extra interfaces); the line's IPv6 addresses are on its first,
       * after its IPv4 one ("addr=10.0.0.2/24,2001:db8::2/64"). */
      guint n4 = 0;
      for (guint k = 0; k < l->addrs->len; k++)
        n4 += g_array_index(l->addrs, NlScnAddr, k).family == 4;
      guint n_if = MAX(n4, 1u);
      for (guint m = 0, k4 = 0; m < n_if; m++, index++) {
        if (index >= nl_node_n_ifaces(node))
          break;
        NlIface *f = nl_node_iface(node, index);
        GString *addrs = g_string_new(NULL);
        for (guint k = 0; k < l->addrs->len; k++) {
          NlScnAddr addr = g_array_index(l->addrs, NlScnAddr, k);
          if (addr.family == 4) {
            if (k4++ != m)
              continue;
            addr.len = (guint8)nl_iface_prefix_len(f);
          } else if (m == 0) {
            NlIp6 a6;
            memcpy(a6.b, addr.bytes, 16);
            addr.len = (guint8)nl_iface_prefix_len6(f, &a6);
          } else {
            continue;
          }
          g_string_append_printf(addrs, "%s%s", addrs->len ? "," : "",
                                 nl_scn_addr_to_string(&addr, a));
        }
        k4 = 0;
        g_string_printf(s, "ifname=%s addr=%s role=%s mtu=%u",
                        nl_iface_name(f), addrs->str, role_name(l->role),
                        nl_iface_mtu(f));
        g_string_free(addrs, TRUE);
        put_props(s, &l->props);
        add(t, NL_TOPO_LINK, (guint8)nl_iface_index(f), sn->name, l->network,
            s);
      }
    }
    for (guint j = 0; j < sn->routes->len; j++) {
      const NlScnRoute *r = g_ptr_array_index(sn->routes, j);
      char v[NL_SCN_ADDR_STRLEN];
      g_string_printf(s, "dest=%s via=%s", nl_scn_addr_to_string(&r->dest, a),
                      nl_scn_addr_to_string(&r->via, v));
      add(t, NL_TOPO_ROUTE, 0, sn->name, NULL, s);
    }
    if (sn->kind == NL_SCN_NODE_NAT || sn->kind == NL_SCN_NODE_FIREWALL)
      trace_nat(t, sn, s);
  }
  g_string_free(s, TRUE);
}
