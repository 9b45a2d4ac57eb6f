/* The world of a run as its trace describes it: nodes (NODE records),
 * their links, routes, names and NAT behaviour (TOPOLOGY records) and the
 * programs they ran (PROC "start" records).  Shared by the capture (its
 * interfaces), the topology picture and the timeline (lanes and roles).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/export-priv.h"
#include "sim/net/wire.h"

gboolean nl__export_kv(const char *text, const char *key, char *buf,
                       gsize size) {
  gsize kl = strlen(key);
  const char *p = text;
  while (p != NULL && *p != '\0') {
    while (*p == ' ')
      p++;
    const char *end = strchr(p, ' ');
    gsize wl = end ? (gsize)(end - p) : strlen(p);
    if (wl > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
      gsize vl = MIN(wl - kl - 1, size - 1);
      memcpy(buf, p + kl + 1, vl);
      buf[vl] = '\0';
      return TRUE;
    }
    p = end;
  }
  if (size > 0)
    buf[0] = '\0';
  return FALSE;
}

/* The text after the words that @skip names ("ifname=", "addr=", ...):
 * the properties a link or network line sets. */
static char *props_of(const char *text, const char *const *skip) {
  GString *out = g_string_new(NULL);
  gchar **words = g_strsplit(text, " ", -1);
  for (int i = 0; words[i] != NULL; i++) {
    gboolean drop = words[i][0] == '\0';
    for (int k = 0; !drop && skip[k] != NULL; k++)
      drop = g_str_has_prefix(words[i], skip[k]);
    if (drop)
      continue;
    if (out->len)
      g_string_append_c(out, ' ');
    g_string_append(out, words[i]);
  }
  g_strfreev(words);
  return g_string_free(out, FALSE);
}

static void link_free(gpointer p) {
  NlExpLink *l = p;
  g_free(l->ifname);
  g_free(l->network);
  g_free(l->addr);
  g_free(l->role);
  g_free(l->props);
  g_free(l);
}

static void node_free(gpointer p) {
  NlExpNode *n = p;
  g_free(n->kind);
  g_free(n->names);
  g_free(n->nat);
  g_ptr_array_unref(n->links);
  g_ptr_array_unref(n->routes);
  g_ptr_array_unref(n->programs);
  g_free(n);
}

static void network_free(gpointer p) {
  NlExpNetwork *n = p;
  g_free(n->name);
  g_free(n->prefixes);
  g_free(n->props);
  g_free(n);
}

NlExpNode *nl__export_world_node(const NlExpWorld *w, guint32 id) {
  return id ? g_hash_table_lookup(w->node_by_id, GUINT_TO_POINTER(id)) : NULL;
}

static NlExpNode *node_get(NlExpWorld *w, guint32 id) {
  NlExpNode *n = nl__export_world_node(w, id);
  if (n != NULL || id == 0)
    return n;
  n = g_new0(NlExpNode, 1);
  n->id = id;
  n->name = nl_trace_name(w->trace, id);
  n->links = g_ptr_array_new_with_free_func(link_free);
  n->routes = g_ptr_array_new_with_free_func(g_free);
  n->programs = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(w->nodes, n);
  g_hash_table_insert(w->node_by_id, GUINT_TO_POINTER(id), n);
  return n;
}

/* "start pid=100 turn-server --listen ..." → "turn-server". */
static char *program_of(const guint8 *text, guint32 len) {
  char *s = g_strndup((const char *)text, len);
  char *prog = NULL;
  if (g_str_has_prefix(s, "start ")) {
    gchar **w = g_strsplit(s + 6, " ", 3);
    int i = 0;
    if (w[i] != NULL && g_str_has_prefix(w[i], "pid="))
      i++;
    if (w[i] != NULL && w[i][0] != '\0')
      prog = g_path_get_basename(w[i]);
    g_strfreev(w);
  }
  g_free(s);
  return prog;
}

static void add_topology(NlExpWorld *w, const NlTraceRecord *rec,
                         const guint8 *p) {
  char *text = g_strndup((const char *)p, rec->len);
  char buf[128];
  w->has_topology = TRUE;
  switch ((NlTopoKind)(rec->aux & 0xff)) {
    case NL_TOPO_CLOCK:
      if (nl__export_kv(text, "realtime-epoch", buf, sizeof buf))
        w->epoch = g_ascii_strtoll(buf, NULL, 10);
      break;
    case NL_TOPO_NETWORK: {
      static const char *const skip[] = {"prefixes=", NULL};
      NlExpNetwork *n = g_new0(NlExpNetwork, 1);
      n->name = g_strdup(nl_trace_name(w->trace, rec->node));
      nl__export_kv(text, "prefixes", buf, sizeof buf);
      n->prefixes = g_strdup(buf);
      n->props = props_of(text, skip);
      g_ptr_array_add(w->networks, n);
      break;
    }
    case NL_TOPO_LINK: {
      static const char *const skip[] = {"ifname=", "addr=", "role=", NULL};
      NlExpNode *n = node_get(w, rec->node);
      NlExpLink *l = g_new0(NlExpLink, 1);
      l->node = n;
      l->index = rec->aux >> 8;
      nl__export_kv(text, "ifname", buf, sizeof buf);
      l->ifname = g_strdup(buf);
      l->network = g_strdup(nl_trace_name(w->trace, rec->peer));
      nl__export_kv(text, "addr", buf, sizeof buf);
      l->addr = g_strdup(buf);
      char *slash = strchr(buf, '/');
      if (slash != NULL) {
        *slash = '\0';
        l->plen = (guint)atoi(slash + 1);
      }
      nl_ip4_from_string(buf, &l->ip);
      nl__export_kv(text, "role", buf, sizeof buf);
      l->role = g_strdup(buf);
      l->props = props_of(text, skip);
      g_ptr_array_add(n->links, l);
      break;
    }
    case NL_TOPO_NAT:
      g_free(node_get(w, rec->node)->nat);
      node_get(w, rec->node)->nat = g_strdup(text);
      break;
    case NL_TOPO_ROUTE:
      g_ptr_array_add(node_get(w, rec->node)->routes, g_strdup(text));
      break;
    case NL_TOPO_NAMES:
      nl__export_kv(text, "names", buf, sizeof buf);
      g_free(node_get(w, rec->node)->names);
      node_get(w, rec->node)->names = g_strdup(buf);
      break;
    default: break;
  }
  g_free(text);
}

static void roles(NlExpWorld *w);

NlExpWorld *nl__export_world_new(const NlTrace *trace) {
  NlExpWorld *w = g_new0(NlExpWorld, 1);
  w->trace = trace;
  w->epoch = NL_REALTIME_EPOCH;
  w->nodes = g_ptr_array_new_with_free_func(node_free);
  w->networks = g_ptr_array_new_with_free_func(network_free);
  w->node_by_id = g_hash_table_new(g_direct_hash, g_direct_equal);
  w->relay_addrs = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  w->server_addrs = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, trace);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    switch (rec->kind) {
      case NL_TRACE_NODE: {
        NlExpNode *n = node_get(w, rec->node);
        if (n != NULL && n->kind == NULL)
          n->kind = g_strndup((const char *)p, rec->len);
        break;
      }
      case NL_TRACE_TOPOLOGY: add_topology(w, rec, p); break;
      case NL_TRACE_PROC: {
        char *prog = program_of(p, rec->len);
        NlExpNode *n = node_get(w, rec->node);
        gboolean seen = FALSE;
        for (guint i = 0; prog && n && i < n->programs->len; i++)
          seen |= strcmp(g_ptr_array_index(n->programs, i), prog) == 0;
        if (prog != NULL && n != NULL && !seen)
          g_ptr_array_add(n->programs, prog);
        else
          g_free(prog);
        break;
      }
      default: break;
    }
  }
  roles(w);
  return w;
}

static gboolean has_addr(const GArray *a, uint32_t v) {
  for (guint i = 0; i < a->len; i++)
    if (g_array_index(a, uint32_t, i) == v)
      return TRUE;
  return FALSE;
}

NlExpPath nl__export_world_path(const NlExpWorld *w, const NlPktInfo *i) {
  if (!i->ip)
    return NL_EXP_PATH_NONE;
  if (has_addr(w->relay_addrs, i->src) || has_addr(w->relay_addrs, i->dst))
    return NL_EXP_PATH_RELAY;
  if (!w->traversal)
    return NL_EXP_PATH_NONE;
  if (has_addr(w->server_addrs, i->src) || has_addr(w->server_addrs, i->dst))
    return NL_EXP_PATH_SERVER;
  if (i->proto == NL_IPPROTO_UDP && i->app == NULL)
    return NL_EXP_PATH_DIRECT;
  return NL_EXP_PATH_NONE;
}

static void roles(NlExpWorld *w) {
  for (guint i = 0; i < w->nodes->len; i++) {
    const NlExpNode *n = g_ptr_array_index(w->nodes, i);
    gboolean turn = nl__export_world_runs(n, "turn-server");
    gboolean stun = nl__export_world_runs(n, "stun-server");
    gboolean server = turn || stun || nl__export_world_runs(n, "signal") ||
                      nl__export_world_runs(n, "rendezvous");
    w->traversal |= turn || stun;
    for (guint j = 0; j < n->links->len; j++) {
      const NlExpLink *l = g_ptr_array_index(n->links, j);
      if (turn)
        g_array_append_val(w->relay_addrs, l->ip);
      if (server)
        g_array_append_val(w->server_addrs, l->ip);
    }
  }
}

void nl__export_world_free(NlExpWorld *w) {
  if (w == NULL)
    return;
  g_array_free(w->relay_addrs, TRUE);
  g_array_free(w->server_addrs, TRUE);
  g_ptr_array_unref(w->nodes);
  g_ptr_array_unref(w->networks);
  g_hash_table_destroy(w->node_by_id);
  g_free(w);
}

const NlExpLink *nl__export_world_hop_link(const NlExpWorld *w, guint32 node,
                                           guint32 peer) {
  const NlExpNode *n = nl__export_world_node(w, node);
  const NlExpNode *q = nl__export_world_node(w, peer);
  if (n == NULL || n->links->len == 0)
    return NULL;
  for (guint i = 0; q != NULL && i < n->links->len; i++) {
    const NlExpLink *l = g_ptr_array_index(n->links, i);
    for (guint j = 0; j < q->links->len; j++) {
      const NlExpLink *m = g_ptr_array_index(q->links, j);
      if (strcmp(l->network, m->network) == 0)
        return l;
    }
  }
  return NULL;
}

const NlExpLink *nl__export_world_link_for(const NlExpWorld *w, guint32 node,
                                           uint32_t dst) {
  const NlExpNode *n = nl__export_world_node(w, node);
  if (n == NULL || n->links->len == 0)
    return NULL;
  for (guint i = 0; i < n->links->len; i++) {
    const NlExpLink *l = g_ptr_array_index(n->links, i);
    uint32_t mask = l->plen == 0 ? 0 : ~(uint32_t)0 << (32 - l->plen);
    if ((l->ip & mask) == (dst & mask))
      return l;
  }
  /* Off-link: the link of the default route's gateway. */
  for (guint r = 0; r < n->routes->len; r++) {
    char via[64];
    uint32_t gw;
    if (!nl__export_kv(g_ptr_array_index(n->routes, r), "via", via,
                       sizeof via) ||
        !nl_ip4_from_string(via, &gw))
      continue;
    for (guint i = 0; i < n->links->len; i++) {
      const NlExpLink *l = g_ptr_array_index(n->links, i);
      uint32_t mask = l->plen == 0 ? 0 : ~(uint32_t)0 << (32 - l->plen);
      if ((l->ip & mask) == (gw & mask))
        return l;
    }
  }
  return g_ptr_array_index(n->links, 0);
}

gboolean nl__export_world_runs(const NlExpNode *n, const char *program) {
  for (guint i = 0; n != NULL && i < n->programs->len; i++)
    if (strstr(g_ptr_array_index(n->programs, i), program) != NULL)
      return TRUE;
  return FALSE;
}
