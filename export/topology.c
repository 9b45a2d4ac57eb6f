/* The topology picture (see topology.h).  The graph is built with
 * libcgraph in a fixed order (the trace's), so its DOT text is canonical;
 * graphviz's dot lays it out left to right.
 */
#include "export/topology.h"

#include <gvc.h>
#include <stdio.h>
#include <string.h>

#include "export/export-priv.h"
#include "export/timeline-priv.h"
#include "export/timeline.h"
#include "sim/net/wire.h"

#define MAX_TABLE_ROWS 6 /* translation table rows drawn per NAT */

static void set(void *obj, const char *name, const char *value) {
  agsafeset(obj, (char *)name, (char *)value, (char *)"");
}

/* Appends @text as a DOT escString showing literally, each line ending
 * justified by @just ('l') or centred ('n'). */
static void esc(GString *out, const char *text, char just) {
  for (const char *p = text; *p; p++) {
    if (*p == '\\')
      g_string_append(out, "\\\\");
    else if (*p == '\n')
      g_string_append_printf(out, "\\%c", just);
    else if ((unsigned char)*p < 0x20)
      g_string_append_c(out, '?');
    else
      g_string_append_c(out, *p);
  }
  if (just == 'l')
    g_string_append(out, "\\l");
}

/* The mappings a NAT holds at the end of the run, from its NAT_MAP
 * records: "UDP 10.0.0.5:41048 -> 203.0.113.1:1024 (for ...)". */
static GPtrArray *table_of(const NlTrace *t, guint32 nat) {
  GPtrArray *rows = g_ptr_array_new_with_free_func(g_free);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (rec->kind != NL_TRACE_NAT_MAP || rec->node != nat)
      continue;
    char *text = g_strndup((const char *)p, rec->len);
    gboolean add = g_str_has_prefix(text, "new ");
    gboolean gone = g_str_has_prefix(text, "expire ");
    if (add || gone) {
      /* "PROTO inside -> outside" is the key, and the row. */
      const char *body = strchr(text, ' ') + 1;
      const char *paren = strstr(body, " (");
      char *key = g_strndup(body, paren ? (gsize)(paren - body) : strlen(body));
      for (guint i = 0; i < rows->len; i++) {
        if (g_str_has_prefix(g_ptr_array_index(rows, i), key)) {
          g_ptr_array_remove_index(rows, i);
          break;
        }
      }
      if (add)
        g_ptr_array_add(rows, g_strdup(key));
      g_free(key);
    }
    g_free(text);
  }
  return rows;
}

static const char *node_fill(const NlExpNode *n, gboolean *server) {
  *server = nl__export_world_runs(n, "stun-server") ||
            nl__export_world_runs(n, "turn-server") ||
            nl__export_world_runs(n, "signal") ||
            nl__export_world_runs(n, "rendezvous") ||
            nl__export_world_runs(n, "server");
  if (n->kind && strcmp(n->kind, "router") == 0)
    return "#e4e4e4";
  if (n->kind && strcmp(n->kind, "firewall") == 0)
    return "#f6d5d5";
  if (nl__export_world_runs(n, "signal"))
    return "#fff9c4";
  return *server ? "#d9f0d9" : "#dce9f7";
}

/* What a host is for: its programs, as the trace started them. */
static void put_role(GString *s, const NlExpNode *n) {
  static const struct {
    const char *program, *role;
  } roles[] = {{"turn-server", "TURN relay"},
               {"stun-server", "STUN server"},
               {"signal", "signaling"},
               {"rendezvous", "rendezvous"}};
  for (gsize i = 0; i < G_N_ELEMENTS(roles); i++) {
    if (nl__export_world_runs(n, roles[i].program)) {
      g_string_append_printf(s, "\n%s", roles[i].role);
      return;
    }
  }
  if (n->programs->len > 0) {
    g_string_append(s, "\nruns ");
    for (guint i = 0; i < n->programs->len && i < 3; i++)
      g_string_append_printf(s, "%s%s", i ? ", " : "",
                             (const char *)g_ptr_array_index(n->programs, i));
    if (n->programs->len > 3)
      g_string_append(s, ", …");
  }
}

static gboolean is_stun(const guint8 *d, gsize len) {
  char buf[48];
  return nl__export_stun_name(d, len, buf) != NULL;
}

/* Whether a UDP payload carries the peers' data, not STUN or TURN
 * control: plain data, or data a TURN Send/Data indication (RFC 8656
 * §11, its DATA attribute 0x0013) or, to or from a relay (@relay), a
 * ChannelData message (§12: channel 0x4000-0x7fff, a length, the data)
 * wraps. */
static gboolean peer_data(const guint8 *d, gsize len, gboolean relay) {
  if (relay && len >= 4 && d[0] >= 0x40 && d[0] <= 0x7f) {
    /* ChannelData when its length accounts for the datagram (padded to
     * 4 bytes); otherwise plain data to or from a relayed address. */
    gsize n = (gsize)(d[2] << 8 | d[3]);
    if (n + 4 <= len && len - (n + 4) <= 3)
      return !is_stun(d + 4, n);
  }
  if (!is_stun(d, len))
    return TRUE;
  guint16 type = (guint16)(d[0] << 8 | d[1]);
  if (type != 0x0016 && type != 0x0017) /* Send, Data indication */
    return FALSE;
  for (gsize at = 20; at + 4 <= len;) {
    guint16 attr = (guint16)(d[at] << 8 | d[at + 1]);
    gsize alen = (gsize)(d[at + 2] << 8 | d[at + 3]);
    if (at + 4 + alen > len)
      break;
    if (attr == 0x0013)
      return !is_stun(d + at + 4, alen);
    at += 4 + ((alen + 3) & ~(gsize)3);
  }
  return FALSE;
}

typedef struct {
  guint64 bytes[4]; /* by NlExpPath */
  guint64 packets[4];
} Traffic;

/* The peers' data on the wire, by path: each datagram a host puts on the
 * wire counts once (forwarding by routers and NATs does not count again),
 * so relayed data, which leaves the sending peer and then the relay,
 * counts twice.  Data is UDP that is not STUN, or a TURN Send or Data
 * indication (data wrapped for the relay). */
static void traffic(const NlExpWorld *w, Traffic *tr) {
  memset(tr, 0, sizeof *tr);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, w->trace);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (rec->kind != NL_TRACE_PKT_SEND)
      continue;
    const NlExpNode *from = nl__export_world_node(w, rec->node);
    if (from == NULL || from->kind == NULL || strcmp(from->kind, "host") != 0)
      continue;
    NlPktInfo info;
    nl__export_pkt_info(p, rec->len, &info);
    if (!info.l4 || info.proto != NL_IPPROTO_UDP)
      continue;
    NlExpPath way = nl__export_world_path(w, &info);
    gsize off = (gsize)(p[0] & 0x0f) * 4 + NL_UDP_HDR_LEN;
    if (off > rec->len ||
        !peer_data(p + off, rec->len - off, way == NL_EXP_PATH_RELAY))
      continue;
    tr->bytes[way] += rec->len;
    tr->packets[way]++;
  }
}

typedef struct {
  const NlExpWorld *w;
  Agraph_t *g;
  GString *s;
} Topo;

/* Sizes every node from its text with the timeline's metrics (fixedsize),
 * so that dot's layout, and the picture, do not depend on the machine's
 * fonts. */
static void size_node(Agnode_t *v, const char *plain, double size,
                      gboolean hexagon) {
  double w = 0;
  int lines = 0;
  gchar **ls = g_strsplit(plain, "\n", -1);
  for (int i = 0; ls[i]; i++, lines++)
    w = MAX(w, nl__tl_text_width(ls[i], size, FALSE, FALSE));
  g_strfreev(ls);
  w += hexagon ? 48 : 18;
  double h = lines * size * 1.25 + (hexagon ? 16 : 10);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  set(v, "fixedsize", "true");
  set(v, "width", g_ascii_formatd(buf, sizeof buf, "%.3f", w / 72.0));
  set(v, "height", g_ascii_formatd(buf, sizeof buf, "%.3f", h / 72.0));
}

/* A node's links, one line each: "eth0 10.0.0.5/24", with its role and
 * what the link line set beyond the usual MTU. */
static void put_links(GString *plain, const NlExpNode *n) {
  for (guint j = 0; j < n->links->len; j++) {
    const NlExpLink *l = g_ptr_array_index(n->links, j);
    g_string_append_printf(plain, "\n%s%s%s %s",
                           strcmp(l->role, "link") != 0 ? l->role : "",
                           strcmp(l->role, "link") != 0 ? " " : "", l->ifname,
                           l->addr);
    gchar **props = g_strsplit(l->props, " ", -1);
    for (int k = 0; props[k]; k++)
      if (props[k][0] && !g_str_has_prefix(props[k], "mtu=1500"))
        g_string_append_printf(plain, " %s", props[k]);
    g_strfreev(props);
  }
}


static Agnode_t *node(Topo *t, const char *name) {
  return agnode(t->g, (char *)name, 1);
}

static void add_networks(Topo *t) {
  for (guint i = 0; i < t->w->networks->len; i++) {
    const NlExpNetwork *n = g_ptr_array_index(t->w->networks, i);
    char *id = g_strdup_printf("net:%s", n->name);
    Agnode_t *v = node(t, id);
    g_string_truncate(t->s, 0);
    GString *plain = g_string_new(n->name);
    gchar **parts = g_strsplit(n->prefixes, ",", -1);
    char *prefixes = g_strjoinv("\n", parts);
    g_strfreev(parts);
    g_string_append_printf(plain, "\n%s", prefixes);
    g_free(prefixes);
    if (n->props[0])
      g_string_append_printf(plain, "\n%s", n->props);
    esc(t->s, plain->str, 'n');
    set(v, "label", t->s->str);
    size_node(v, plain->str, 10, FALSE);
    set(v, "shape", "box");
    set(v, "style", "rounded,filled");
    set(v, "fillcolor", "#eceff1");
    set(v, "color", "#78909c");
    set(v, "class", "network");
    g_string_free(plain, TRUE);
    g_free(id);
  }
}

static void add_nodes(Topo *t) {
  const NlExpWorld *w = t->w;
  for (guint i = 0; i < w->nodes->len; i++) {
    const NlExpNode *n = g_ptr_array_index(w->nodes, i);
    if (n->kind == NULL && n->links->len == 0)
      continue;
    Agnode_t *v = node(t, n->name);
    GString *plain = g_string_new(n->name);
    if (n->names)
      g_string_append_printf(plain, "\n%s", n->names);
    gboolean nat = n->kind && (strcmp(n->kind, "nat") == 0 ||
                               strcmp(n->kind, "firewall") == 0);
    if (nat) {
      char preset[64];
      nl__export_kv(n->nat ? n->nat : "", "preset", preset, sizeof preset);
      g_string_append_printf(plain, "\n%s", preset[0] ? preset : n->kind);
      put_links(plain, n);
      GPtrArray *rows = table_of(w->trace, n->id);
      if (rows->len > 0)
        g_string_append(plain, "\ntranslations:");
      for (guint r = 0; r < rows->len && r < MAX_TABLE_ROWS; r++)
        g_string_append_printf(plain, "\n%s",
                               (const char *)g_ptr_array_index(rows, r));
      if (rows->len > MAX_TABLE_ROWS)
        g_string_append_printf(plain, "\n… %u more",
                               rows->len - MAX_TABLE_ROWS);
      g_ptr_array_unref(rows);
      set(v, "shape", "hexagon");
      set(v, "style", "filled");
      set(v, "fillcolor", strcmp(n->kind, "nat") == 0 ? "#ffe0b8"
                                                      : "#f6d5d5");
      set(v, "class", n->kind);
      if (n->nat) {
        /* Its type: how it maps and filters (RFC 4787). */
        char mapping[64], filtering[64];
        nl__export_kv(n->nat, "mapping", mapping, sizeof mapping);
        nl__export_kv(n->nat, "filtering", filtering, sizeof filtering);
        g_string_printf(t->s, "mapping: %s, filtering: %s", mapping,
                        filtering);
        set(v, "tooltip", t->s->str);
      }
    } else {
      gboolean server;
      const char *fill = node_fill(n, &server);
      put_role(plain, n);
      put_links(plain, n);
      set(v, "shape", "box");
      set(v, "style", "rounded,filled");
      set(v, "fillcolor", fill);
      set(v, "class", n->kind ? n->kind : "node");
    }
    g_string_truncate(t->s, 0);
    esc(t->s, plain->str, 'n');
    set(v, "label", t->s->str);
    size_node(v, plain->str, 10, nat);
    g_string_free(plain, TRUE);
  }
}

/* How far each node and network is from the first node (breadth first
 * through the links), so that each link can point away from it: dot then
 * ranks the topology as the path a packet takes, left to right. */
static GHashTable *distances(const NlExpWorld *w) {
  GHashTable *d = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  GQueue q = G_QUEUE_INIT;
  for (guint s = 0; s < w->nodes->len; s++) {
    const NlExpNode *start = g_ptr_array_index(w->nodes, s);
    if (g_hash_table_contains(d, start->name))
      continue;
    g_hash_table_insert(d, g_strdup(start->name), GINT_TO_POINTER(1));
    g_queue_push_tail(&q, g_strdup(start->name));
    while (!g_queue_is_empty(&q)) {
      char *v = g_queue_pop_head(&q);
      int dv = GPOINTER_TO_INT(g_hash_table_lookup(d, v));
      gboolean net = g_str_has_prefix(v, "net:");
      for (guint i = 0; i < w->nodes->len; i++) {
        const NlExpNode *n = g_ptr_array_index(w->nodes, i);
        for (guint j = 0; j < n->links->len; j++) {
          const NlExpLink *l = g_ptr_array_index(n->links, j);
          char *netname = g_strdup_printf("net:%s", l->network);
          const char *other = NULL;
          if (net && strcmp(netname, v) == 0)
            other = n->name;
          else if (!net && strcmp(n->name, v) == 0)
            other = netname;
          if (other && !g_hash_table_contains(d, other)) {
            g_hash_table_insert(d, g_strdup(other), GINT_TO_POINTER(dv + 1));
            g_queue_push_tail(&q, g_strdup(other));
          }
          g_free(netname);
        }
      }
      g_free(v);
    }
  }
  return d;
}

static void add_links(Topo *t) {
  const NlExpWorld *w = t->w;
  GHashTable *dist = distances(w);
  for (guint i = 0; i < w->nodes->len; i++) {
    const NlExpNode *n = g_ptr_array_index(w->nodes, i);
    for (guint j = 0; j < n->links->len; j++) {
      const NlExpLink *l = g_ptr_array_index(n->links, j);
      char *net = g_strdup_printf("net:%s", l->network);
      int dn = GPOINTER_TO_INT(g_hash_table_lookup(dist, n->name));
      int dl = GPOINTER_TO_INT(g_hash_table_lookup(dist, net));
      Agedge_t *e = dl >= dn
                        ? agedge(t->g, node(t, n->name), node(t, net), NULL, 1)
                        : agedge(t->g, node(t, net), node(t, n->name), NULL, 1);
      set(e, "class", "link");
      g_string_printf(t->s, "%s %s", l->ifname, l->addr);
      set(e, "tooltip", t->s->str);
      g_free(net);
    }
  }
  g_hash_table_destroy(dist);
}

/* The traversal: direct and relayed paths, and the bytes each cost. */
static void add_paths(Topo *t) {
  Traffic tr;
  traffic(t->w, &tr);
  guint64 direct = tr.bytes[NL_EXP_PATH_DIRECT];
  guint64 relay = tr.bytes[NL_EXP_PATH_RELAY];
  if (!t->w->traversal || (direct == 0 && relay == 0))
    return;
  /* Direct: between peers (hosts that are no server) that exchanged
   * direct packets; relayed: each peer to the relay. */
  const NlExpWorld *w = t->w;
  GPtrArray *peers = g_ptr_array_new();
  for (guint i = 0; i < w->nodes->len; i++) {
    const NlExpNode *n = g_ptr_array_index(w->nodes, i);
    gboolean server;
    node_fill(n, &server);
    if (n->kind && strcmp(n->kind, "host") == 0 && !server &&
        n->programs->len > 0)
      g_ptr_array_add(peers, (gpointer)n);
  }
  for (guint i = 0; direct > 0 && i + 1 < peers->len; i += 2) {
    const NlExpNode *a = g_ptr_array_index(peers, i);
    const NlExpNode *b = g_ptr_array_index(peers, i + 1);
    Agedge_t *e = agedge(t->g, node(t, a->name), node(t, b->name), NULL, 1);
    set(e, "color", NL_TIMELINE_DIRECT_COLOUR);
    set(e, "penwidth", "3");
    set(e, "constraint", "false");
    set(e, "class", "path direct");
    set(e, "tooltip", "direct path: peer to peer");
  }
  for (guint i = 0; relay > 0 && i < w->nodes->len; i++) {
    const NlExpNode *r = g_ptr_array_index(w->nodes, i);
    if (!nl__export_world_runs(r, "turn-server"))
      continue;
    for (guint k = 0; k < peers->len; k++) {
      const NlExpNode *p = g_ptr_array_index(peers, k);
      Agedge_t *e = agedge(t->g, node(t, p->name), node(t, r->name), NULL, 1);
      set(e, "color", NL_TIMELINE_RELAY_COLOUR);
      set(e, "penwidth", "3");
      set(e, "style", "dashed");
      set(e, "constraint", "false");
      set(e, "class", "path relay");
      set(e, "tooltip", "relayed path: through TURN");
    }
  }
  /* The bar: bytes on the wire, each path's bar as long as its bytes,
   * in a row of its own under the title. */
  guint64 most = MAX(direct, relay);
  const struct {
    const char *name, *colour;
    guint64 bytes, packets;
  } bars[] = {{"direct", NL_TIMELINE_DIRECT_COLOUR, direct,
               tr.packets[NL_EXP_PATH_DIRECT]},
              {"relayed", NL_TIMELINE_RELAY_COLOUR, relay,
               tr.packets[NL_EXP_PATH_RELAY]}};
  Agraph_t *row = agsubg(t->g, (char *)"cluster_bytes", 1);
  agsafeset(row, (char *)"label", (char *)"", (char *)"");
  agsafeset(row, (char *)"style", (char *)"rounded", (char *)"");
  agsafeset(row, (char *)"color", (char *)"#bdbdbd", (char *)"");
  /* The caption is a node of a fixed size, like every text here (a
   * cluster's label would be measured with the machine's fonts). */
  Agnode_t *prev = agnode(row, (char *)"bytes", 1);
  set(prev, "shape", "plaintext");
  set(prev, "class", "bytes");
  set(prev, "label", "the peers' data\non the wire");
  size_node(prev, "the peers' data\non the wire", 10, FALSE);
  for (gsize i = 0; i < G_N_ELEMENTS(bars); i++) {
    char id[32];
    g_snprintf(id, sizeof id, "bytes-%s", bars[i].name);
    g_string_printf(t->s, "%s: %" G_GUINT64_FORMAT " B in %" G_GUINT64_FORMAT
                    " packets",
                    bars[i].name, bars[i].bytes, bars[i].packets);
    char *words = g_strdup(t->s->str);
    Agnode_t *v = agnode(row, id, 1);
    set(v, "shape", "box");
    set(v, "style", "filled");
    set(v, "color", bars[i].colour);
    set(v, "fillcolor", bars[i].bytes ? bars[i].colour : "white");
    set(v, "fontcolor", bars[i].bytes * 2 >= most && bars[i].bytes ? "white"
                                                                   : "black");
    set(v, "class", "bytes");
    set(v, "label", words);
    /* At least wide enough for its words; the longer bar is 3x that. */
    double text = nl__tl_text_width(words, 10, FALSE, FALSE) + 16;
    double width = most ? MAX(text, 3 * text * (double)bars[i].bytes /
                                        (double)most)
                        : text;
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    set(v, "fixedsize", "true");
    set(v, "width", g_ascii_formatd(buf, sizeof buf, "%.3f", width / 72.0));
    set(v, "height", "0.3");
    if (prev != NULL) {
      Agedge_t *e = agedge(t->g, prev, v, NULL, 1);
      set(e, "style", "invis");
    }
    prev = v;
    g_free(words);
  }
  g_ptr_array_free(peers, TRUE);
}

static Agraph_t *build(const NlTrace *trace, const NlTopologyOptions *opts,
                       NlExpWorld **wout) {
  NlExpWorld *w = nl__export_world_new(trace);
  Agraph_t *g = agopen((char *)"topology", Agundirected, NULL);
  Topo t = {.w = w, .g = g, .s = g_string_new(NULL)};
  agattr(g, AGRAPH, (char *)"rankdir", (char *)"LR");
  agattr(g, AGRAPH, (char *)"bgcolor", (char *)"white");
  agattr(g, AGRAPH, (char *)"pad", (char *)"0.3");
  agattr(g, AGRAPH, (char *)"nodesep", (char *)"0.35");
  agattr(g, AGRAPH, (char *)"ranksep", (char *)"0.6");
  agattr(g, AGRAPH, (char *)"fontname", (char *)"Helvetica");
  agattr(g, AGNODE, (char *)"fontname", (char *)"Helvetica");
  agattr(g, AGNODE, (char *)"fontsize", (char *)"10");
  agattr(g, AGNODE, (char *)"label", (char *)"\\N");
  agattr(g, AGEDGE, (char *)"fontname", (char *)"Helvetica");
  agattr(g, AGEDGE, (char *)"fontsize", (char *)"8");
  agattr(g, AGEDGE, (char *)"color", (char *)"#757575");
  if (opts && opts->title) {
    g_string_truncate(t.s, 0);
    esc(t.s, opts->title, 'n');
    agattr(g, AGRAPH, (char *)"label", t.s->str);
    agattr(g, AGRAPH, (char *)"labelloc", (char *)"t");
    agattr(g, AGRAPH, (char *)"fontsize", (char *)"16");
  }
  add_networks(&t);
  add_nodes(&t);
  add_links(&t);
  add_paths(&t);
  g_string_free(t.s, TRUE);
  *wout = w;
  return g;
}

static gboolean known(const char *format, GError **error) {
  if (strcmp(format, "dot") == 0 || strcmp(format, "svg") == 0 ||
      strcmp(format, "png") == 0 || strcmp(format, "pdf") == 0)
    return TRUE;
  g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_FORMAT,
              "topology format \"%s\" is not one of dot, svg, png, pdf",
              format);
  return FALSE;
}

guint8 *nl_topology_render(const NlTrace *trace, const char *format,
                           const NlTopologyOptions *opts, gsize *len,
                           GError **error) {
  g_return_val_if_fail(trace != NULL && format != NULL && len != NULL, NULL);
  *len = 0;
  if (!known(format, error))
    return NULL;
  GVC_t *gvc = nl__export_graphviz_lock();
  NlExpWorld *w;
  Agraph_t *g = build(trace, opts, &w);
  guint8 *out = NULL;
  if (strcmp(format, "dot") == 0) {
    char *data = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&data, &size);
    if (f != NULL) {
      agwrite(g, f);
      fclose(f);
      out = (guint8 *)data;
      *len = size;
    }
  } else {
    agerrlevel_t level = agseterr(AGERR);
    char *data = NULL;
    unsigned int size = 0;
    if (gvLayout(gvc, g, "dot") == 0) {
      if (gvRenderData(gvc, g, format, &data, &size) == 0 && data) {
        out = g_malloc(size + 1);
        memcpy(out, data, size);
        out[size] = 0;
        *len = size;
        gvFreeRenderData(data);
      }
      gvFreeLayout(gvc, g);
    }
    agseterr(level);
  }
  agclose(g);
  nl__export_graphviz_unlock();
  nl__export_world_free(w);
  if (out == NULL)
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_RENDER,
                "graphviz could not draw the topology as %s", format);
  return out;
}

gboolean nl_topology_write(const NlTrace *trace, const char *file,
                           const NlTopologyOptions *opts, GError **error) {
  const char *format = nl_timeline_format_of(file);
  if (format == NULL) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_FORMAT,
                "%s: a topology file ends in .svg, .png, .pdf or .dot", file);
    return FALSE;
  }
  gsize len;
  guint8 *data = nl_topology_render(trace, format, opts, &len, error);
  if (data == NULL)
    return FALSE;
  GError *err = NULL;
  gboolean ok = g_file_set_contents(file, (const char *)data, (gssize)len, &err);
  if (!ok) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_IO, "%s", err->message);
    g_error_free(err);
  }
  g_free(data);
  return ok;
}
