/* Port forwarding lines of a nat or firewall block, and the drop reasons
 * `expect filtered NAT reason=...` counts.
 *
 * Port forwarding:
 *
 *   forward tcp|udp|both PORT to ADDRESS[:PORT]
 *   dmz ADDRESS
 *
 * PORT is the public port; the inside port defaults to it.  The address
 * must lie on one of the block's inside networks.  A firewall does not
 * translate, so it only opens PORT to ADDRESS (the ports must match).
 */
#include <string.h>

#include "scenarios/lang/scenario-priv.h"
#include "sim/core/trace.h"

#define BIT(r) (1u << NL_DROP_##r)

/* `reason=NAME` of `expect filtered`. */
static const struct {
  const char *name;
  guint32 reasons;
} filter_reasons[] = {
    /* The filtering rule; a firewall reports every refusal so. */
    {"filtered", BIT(NAT_FILTERED) | BIT(FIREWALL)},
    {"no-mapping", BIT(NAT_NO_MAPPING)},
    {"hairpin-off", BIT(NAT_HAIRPIN)},
    {"pool-exhausted", BIT(NAT_POOL_EXHAUSTED)},
    {"blocked", BIT(BLOCKED)},
};

guint32 nl_scn_filtered_reasons(void) {
  guint32 all = 0;
  for (guint i = 0; i < G_N_ELEMENTS(filter_reasons); i++)
    all |= filter_reasons[i].reasons;
  return all;
}

guint32 nl__scn_filter_reason(const char *name) {
  for (guint i = 0; i < G_N_ELEMENTS(filter_reasons); i++)
    if (strcmp(filter_reasons[i].name, name) == 0)
      return filter_reasons[i].reasons;
  return 0;
}

const char *nl__scn_filter_reason_names(void) {
  return "filtered, no-mapping, hairpin-off, pool-exhausted, blocked";
}

static NlScnLoc loc_of(const NlScnLine *l, guint i) {
  NlScnLoc loc = {l->file, l->line, i < l->ntok ? l->tok[i].col : 1};
  if (i >= l->ntok && l->ntok > 0) {
    gsize end = l->tok[l->ntok - 1].end;
    loc.column = (guint)g_utf8_strlen(l->raw, (gssize)end) + 2;
  }
  return loc;
}

static gboolean fail_at(NlScnParser *p, const NlScnLine *l, guint i, int code,
                        const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static gboolean fail_at(NlScnParser *p, const NlScnLine *l, guint i, int code,
                        const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  NlScnLoc loc = loc_of(l, i);
  nl__scn_fail(p, &loc, code, "%s", msg);
  g_free(msg);
  return FALSE;
}

/* Word @i must exist and be plain. */
static gboolean word(NlScnParser *p, const NlScnLine *l, guint i,
                     const char *what, const char *usage) {
  if (i >= l->ntok)
    return fail_at(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                   "expected %s (usage: %s)", what, usage);
  if (l->tok[i].quoted || l->tok[i].key != NULL)
    return fail_at(p, l, i, NL_SCENARIO_ERROR_SYNTAX,
                   "expected %s, got \"%s\" (usage: %s)", what,
                   l->tok[i].text, usage);
  return TRUE;
}

static gboolean port_of(const char *s, guint16 *out) {
  guint64 v;
  if (!nl__scn_parse_uint(s, &v) || v == 0 || v > 65535)
    return FALSE;
  *out = (guint16)v;
  return TRUE;
}

/* Reads an IPv4 address at word @i (the part before @colon when given). */
static gboolean addr_of(NlScnParser *p, const NlScnLine *l, guint i,
                        const char *text, NlScnAddr *out) {
  out->loc = loc_of(l, i);
  if (nl__scn_parse_addr(text, FALSE, out) && out->family == 4)
    return TRUE;
  return fail_at(p, l, i, NL_SCENARIO_ERROR_VALUE,
                 "expected an inside IPv4 address like 10.0.0.10 (optionally "
                 "with :PORT), got \"%s\"%s",
                 l->tok[i].text, nl__scn_from(&l->tok[i]));
}

static gboolean in_nat_block(NlScnParser *p, const NlScnLine *l) {
  if (p->block->kind == NL_SCN_NODE_NAT ||
      p->block->kind == NL_SCN_NODE_FIREWALL)
    return TRUE;
  return fail_at(p, l, 0, NL_SCENARIO_ERROR_SYNTAX,
                 "`%s` belongs to a nat or firewall block; %s %s is a %s",
                 l->tok[0].text, nl_scn_node_kind_name(p->block->kind),
                 p->block->name, nl_scn_node_kind_name(p->block->kind));
}

gboolean nl__scn_blk_forward(NlScnParser *p, NlScnLine *l) {
  const char *usage = "forward tcp|udp|both PORT to ADDRESS[:PORT]";
  if (!in_nat_block(p, l))
    return FALSE;
  if (!word(p, l, 1, "tcp, udp or both", usage))
    return FALSE;
  NlScnForward *f = g_new0(NlScnForward, 1);
  f->loc = loc_of(l, 0);
  g_ptr_array_add(p->block->forwards, f);
  const char *proto = l->tok[1].text;
  f->tcp = strcmp(proto, "tcp") == 0 || strcmp(proto, "both") == 0;
  f->udp = strcmp(proto, "udp") == 0 || strcmp(proto, "both") == 0;
  if (!f->tcp && !f->udp) {
    static const char *const protos[] = {"tcp", "udp", "both", NULL};
    const char *near = nl__scn_suggest(proto, protos);
    return fail_at(p, l, 1, NL_SCENARIO_ERROR_VALUE,
                   "expected tcp, udp or both, got \"%s\"%s%s%s", proto,
                   near ? "; did you mean \"" : "", near ? near : "",
                   near ? "\"?" : "");
  }
  if (!word(p, l, 2, "a public port from 1 to 65535", usage))
    return FALSE;
  f->port_loc = loc_of(l, 2);
  if (!port_of(l->tok[2].text, &f->port))
    return fail_at(p, l, 2, NL_SCENARIO_ERROR_VALUE,
                   "expected a port from 1 to 65535, got \"%s\"%s",
                   l->tok[2].text, nl__scn_from(&l->tok[2]));
  if (!word(p, l, 3, "to", usage))
    return FALSE;
  if (strcmp(l->tok[3].text, "to") != 0)
    return fail_at(p, l, 3, NL_SCENARIO_ERROR_SYNTAX,
                   "expected to, got \"%s\" (usage: %s)", l->tok[3].text,
                   usage);
  if (!word(p, l, 4, "an inside address like 10.0.0.10 or 10.0.0.10:8080",
            usage))
    return FALSE;
  const char *target = l->tok[4].text;
  const char *colon = strchr(target, ':');
  char *host = colon ? g_strndup(target, (gsize)(colon - target))
                     : g_strdup(target);
  gboolean ok = addr_of(p, l, 4, host, &f->addr);
  g_free(host);
  if (!ok)
    return FALSE;
  f->to_port = f->port;
  if (colon != NULL && !port_of(colon + 1, &f->to_port))
    return fail_at(p, l, 4, NL_SCENARIO_ERROR_VALUE,
                   "expected an inside port from 1 to 65535 after the colon, "
                   "got \"%s\"%s",
                   target, nl__scn_from(&l->tok[4]));
  if (l->ntok > 5)
    return fail_at(p, l, 5, NL_SCENARIO_ERROR_SYNTAX,
                   "unexpected \"%s\" at the end of the line (usage: %s)",
                   l->tok[5].text, usage);
  return TRUE;
}

gboolean nl__scn_blk_dmz(NlScnParser *p, NlScnLine *l) {
  const char *usage = "dmz ADDRESS";
  if (!in_nat_block(p, l))
    return FALSE;
  if (!word(p, l, 1, "an inside address like 10.0.0.10", usage))
    return FALSE;
  NlScnForward *f = g_new0(NlScnForward, 1);
  f->loc = loc_of(l, 0);
  f->dmz = TRUE;
  f->tcp = f->udp = TRUE;
  g_ptr_array_add(p->block->forwards, f);
  if (!addr_of(p, l, 1, l->tok[1].text, &f->addr))
    return FALSE;
  if (l->ntok > 2)
    return fail_at(p, l, 2, NL_SCENARIO_ERROR_SYNTAX,
                   "unexpected \"%s\" at the end of the line (usage: %s)",
                   l->tok[2].text, usage);
  return TRUE;
}

/* After the links are resolved: each target on an inside network, not the
 * device's own address; no public port forwarded twice; one dmz; a
 * firewall keeps ports. */
gboolean nl__scn_check_forwards(NlScnParser *p, NlScnNode *n) {
  char a[NL_SCN_ADDR_STRLEN];
  for (guint i = 0; i < n->forwards->len; i++) {
    NlScnForward *f = g_ptr_array_index(n->forwards, i);
    gboolean inside = FALSE;
    GString *nets = g_string_new(NULL);
    for (guint j = 0; j < n->links->len; j++) {
      const NlScnLink *k = g_ptr_array_index(n->links, j);
      if (k->role != NL_SCN_ROLE_INSIDE)
        continue;
      for (guint m = 0; m < k->addrs->len; m++)
        if (nl__scn_addr_equal(&g_array_index(k->addrs, NlScnAddr, m),
                               &f->addr)) {
          g_string_free(nets, TRUE);
          return nl__scn_fail(p, &f->addr.loc, NL_SCENARIO_ERROR_VALUE,
                              "%s is %s's own address: expected the address "
                              "of a host on its inside",
                              nl_scn_addr_to_string(&f->addr, a), n->name);
        }
      for (guint m = 0; m < k->net->prefixes->len; m++) {
        const NlScnAddr *pre = &g_array_index(k->net->prefixes, NlScnAddr, m);
        g_string_append_printf(nets, "%s%s %s", nets->len ? ", " : "",
                               k->network, nl_scn_addr_to_string(pre, a));
        if (nl_scn_addr_in_prefix(&f->addr, pre))
          inside = TRUE;
      }
    }
    if (!inside) {
      gboolean r = nl__scn_fail(
          p, &f->addr.loc, NL_SCENARIO_ERROR_VALUE,
          "%s is not on an inside network of %s (%s): expected the address "
          "of a host behind it",
          nl_scn_addr_to_string(&f->addr, a), n->name, nets->str);
      g_string_free(nets, TRUE);
      return r;
    }
    g_string_free(nets, TRUE);
    if (n->kind == NL_SCN_NODE_FIREWALL && !f->dmz && f->to_port != f->port)
      return nl__scn_fail(p, &f->addr.loc, NL_SCENARIO_ERROR_VALUE,
                          "firewall %s does not translate: it can open port "
                          "%u to %s, not forward it to port %u (expected "
                          "the same port, or a nat)",
                          n->name, f->port, nl_scn_addr_to_string(&f->addr, a),
                          f->to_port);
    for (guint j = 0; j < i; j++) {
      const NlScnForward *o = g_ptr_array_index(n->forwards, j);
      if (f->dmz && o->dmz)
        return nl__scn_fail(p, &f->loc, NL_SCENARIO_ERROR_CONFLICT,
                            "%s already has a dmz host at %s:%u: expected "
                            "one dmz line",
                            n->name, o->loc.file, o->loc.line);
      gboolean same_proto = (f->tcp && o->tcp) || (f->udp && o->udp);
      if (!f->dmz && !o->dmz && same_proto && f->to_port == o->to_port &&
          nl__scn_addr_equal(&f->addr, &o->addr))
        return nl__scn_fail(p, &f->addr.loc, NL_SCENARIO_ERROR_CONFLICT,
                            "%s:%u is already the target of a forward at "
                            "%s:%u: expected one public port per inside "
                            "port (its answers leave from that one)",
                            nl_scn_addr_to_string(&f->addr, a), f->to_port,
                            o->loc.file, o->loc.line);
      if (!f->dmz && !o->dmz && f->port == o->port && same_proto)
        return nl__scn_fail(p, &f->port_loc, NL_SCENARIO_ERROR_CONFLICT,
                            "%s port %u of %s is already forwarded at %s:%u: "
                            "expected another public port",
                            f->tcp && o->tcp ? "TCP" : "UDP", f->port,
                            n->name, o->loc.file, o->loc.line);
    }
  }
  return TRUE;
}
