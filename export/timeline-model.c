/* The timeline's model: what a trace becomes before any position is
 * chosen.  Lanes; the records shown (window, kinds, the run's end); which
 * lane each record belongs to (for program lanes, the program that owns
 * the packet's port); calls that wait, as bars; repeated exchanges, folded
 * into one instance in a frame; then one row per record and the items
 * drawn on the rows (boxes, hops, bars, TCP states).
 */
#include <string.h>

#include "export/call-help.h"
#include "export/timeline-priv.h"
#include "sim/net/wire.h"

/* ---- text ------------------------------------------------------------ */

/* @len bytes as valid, printable UTF-8: invalid bytes become U+FFFD,
 * control characters '?' (a tab a space); newlines are kept when
 * @newlines, else they become spaces. */
static char *clean_text(const guint8 *p, gsize len, gboolean newlines) {
  GString *s = g_string_sized_new(len + 8);
  const guint8 *end = p + len;
  while (p < end) {
    gunichar c = nl__export_next_char(&p, end);
    if (c == '\n')
      g_string_append_c(s, newlines && p < end ? '\n' : ' ');
    else if (c == '\t')
      g_string_append_c(s, ' ');
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0))
      g_string_append_c(s, '?');
    else
      g_string_append_unichar(s, c);
  }
  while (s->len > 0 && (s->str[s->len - 1] == '\n' || s->str[s->len - 1] == ' '))
    g_string_truncate(s, s->len - 1);
  return g_string_free(s, FALSE);
}

void nl__tl_time_short(NlTime t, GString *out) {
  char buf[40];
  gboolean neg = t < 0;
  uint64_t a = neg ? (uint64_t)(-(t + 1)) + 1 : (uint64_t)t;
  if (a == 0) {
    g_string_append(out, "0 s");
    return;
  }
  if (a < 1000000000u)
    g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT ".%06" G_GUINT64_FORMAT,
               a / 1000000u, a % 1000000u);
  else
    g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT ".%09" G_GUINT64_FORMAT,
               a / 1000000000u, a % 1000000000u);
  char *e = buf + strlen(buf) - 1;
  while (*e == '0')
    *e-- = '\0';
  if (*e == '.')
    *e = '\0';
  g_string_append_printf(out, "%s%s %s", neg ? "-" : "", buf,
                         a < 1000000000u ? "ms" : "s");
}

void nl__tl_time_axis(NlTime t, int decimals, GString *out) {
  gboolean neg = t < 0;
  uint64_t a = neg ? (uint64_t)(-(t + 1)) + 1 : (uint64_t)t;
  uint64_t div = 1;
  for (int i = decimals; i < 9; i++)
    div *= 10;
  uint64_t frac = (a % 1000000000u) / div;
  if (decimals == 0)
    g_string_append_printf(out, "%s%" G_GUINT64_FORMAT " s", neg ? "-" : "",
                           a / 1000000000u);
  else
    g_string_append_printf(out, "%s%" G_GUINT64_FORMAT ".%0*" G_GUINT64_FORMAT
                           " s",
                           neg ? "-" : "", a / 1000000000u, decimals, frac);
}

/* The digits a time needs after the point (0, 3, 6 or 9). */
static int decimals_of(NlTime t) {
  if (t < 0)
    t = -t;
  if (t % NL_S == 0)
    return 0;
  if (t % NL_MS == 0)
    return 3;
  if (t % NL_US == 0)
    return 6;
  return 9;
}

/* ---- styles ---------------------------------------------------------- */

const TlBoxStyle *nl__tl_box_style(guint16 kind) {
  static const TlBoxStyle plain = {"box",       "rounded,filled", "#f2f2f2",
                                   "Helvetica", "#333333",        TL_BOX_FONT};
  static const TlBoxStyle styles[NL_TRACE_N_KINDS] = {
      [NL_TRACE_NAT_XLATE] = {"box", "filled", "#ffcc80", "Helvetica", "black",
                              TL_BOX_FONT},
      [NL_TRACE_NAT_MAP] = {"box", "rounded,filled", "#fff3e0", "Helvetica",
                            "#8d4a00", TL_BOX_FONT},
      [NL_TRACE_NAT_TABLE] = {"box", "filled", "#fff3e0", "Helvetica",
                              "#8d4a00", TL_BOX_FONT},
      [NL_TRACE_CALL] = {"box", "rounded,filled", "#f5f5f5", "Courier",
                         "#37474f", TL_BOX_FONT},
      [NL_TRACE_BLOCK] = {"box", "rounded,filled", "#fff8e1", "Courier",
                          "#37474f", TL_BOX_FONT},
      [NL_TRACE_TCP_STATE] = {"box", "rounded,filled", "#e3f2fd",
                              "Helvetica-Bold", "#0d47a1", TL_BOX_FONT},
      [NL_TRACE_PROC] = {"box", "rounded,filled", "#eeeeee", "Helvetica",
                         "#424242", TL_BOX_FONT},
      [NL_TRACE_STDOUT] = {"box", "filled", "#fffde7", "Courier", "black",
                           TL_BOX_FONT},
      [NL_TRACE_STDERR] = {"box", "filled", "#ffebee", "Courier", "#b71c1c",
                           TL_BOX_FONT},
      [NL_TRACE_STDIN] = {"box", "filled", "#e8f5e9", "Courier", "#1b5e20",
                          TL_BOX_FONT},
      [NL_TRACE_NOTE] = {"note", "filled", "#fff9c4", "Helvetica-Oblique",
                         "black", 9},
      [NL_TRACE_CHECK] = {"box", "rounded,filled", "#e8f5e9", "Helvetica",
                          "#1b5e20", TL_BOX_FONT},
  };
  if (kind < NL_TRACE_N_KINDS && styles[kind].shape != NULL)
    return &styles[kind];
  return &plain;
}

const char *nl__tl_legend_colour(TlLegend l, NlTimelineStyle style) {
  static const char *const colours[LG_N] = {
      [LG_UDP] = "#1f4e8c",    [LG_TCP] = "#212121",
      [LG_STUN] = "#6a1b9a",   [LG_ICMP] = "#8d5524",
      [LG_OTHER] = "#616161",  [LG_RELAY] = NL_TIMELINE_RELAY_COLOUR,
      [LG_DIRECT] = NL_TIMELINE_DIRECT_COLOUR, [LG_HOOK] = "#000000",
      [LG_DROP] = "#d32f2f",   [LG_XLATE] = "#ffcc80",
      [LG_BAR] = "#b0bec5",    [LG_LOOP] = "#607d8b",
      [LG_STATE] = "#a5d6a7",
  };
  /* The textbook's figure: honey amber for TCP, slate for UDP. */
  if (style == NL_TIMELINE_STYLE_CHAPTER && l == LG_TCP)
    return "#e0a030";
  if (style == NL_TIMELINE_STYLE_CHAPTER && l == LG_UDP)
    return "#5b6b7b";
  return colours[l];
}

const char *nl__tl_legend_text(TlLegend l) {
  static const char *const texts[LG_N] = {
      [LG_UDP] = "UDP",
      [LG_TCP] = "TCP",
      [LG_STUN] = "STUN/TURN",
      [LG_ICMP] = "ICMP",
      [LG_OTHER] = "other IP",
      [LG_RELAY] = "relayed (TURN)",
      [LG_DIRECT] = "direct (peer to peer)",
      [LG_HOOK] = "highlighted",
      [LG_DROP] = "dropped (reason)",
      [LG_XLATE] = "NAT translation",
      [LG_BAR] = "waiting in a call",
      [LG_LOOP] = "repeated exchange",
      [LG_STATE] = "TCP state (kernel)",
  };
  return texts[l];
}

/* ---- records ----------------------------------------------------------- */

/* One per record of the trace (32 bytes: a long run's timeline holds
 * millions); its payload follows it (nl_trace_payload). */
typedef struct {
  const NlTraceRecord *r;
  guint64 sig;
  gint32 partner; /* index of the other end (send/recv, block/call) */
  guint row;
  int lane;       /* -1: not drawn (no lane); -2: across every lane */
  guint8 shown;
  guint8 kept;    /* drawn (not folded into a repeat) */
} Rec;

G_STATIC_ASSERT(sizeof(Rec) <= 32);

static inline const guint8 *rec_p(const Rec *r) {
  return nl_trace_payload(r->r);
}

typedef struct {
  TlModel *m;
  const NlTimelineOptions *o;
  GArray *recs;           /* Rec, trace order */
  GArray *order;          /* guint: shown record indexes, drawing order */
  GHashTable *lane_of;    /* key string -> lane index + 1 */
  GHashTable *node_first; /* node id -> first lane index + 1 */
  GHashTable *node_lane;  /* node id -> its own lane index + 1 */
  GHashTable *ports;      /* (node, proto, port) -> program name id */
  GHashTable *fds;        /* (program id, fd) -> proto */
  GHashTable *has_progs;  /* node id -> TRUE when it has program lanes */
  GString *s;
} Build;

static int lane_index(const Build *b, const char *key) {
  return GPOINTER_TO_INT(g_hash_table_lookup(b->lane_of, key)) - 1;
}

static int lane_add(Build *b, const char *key, const char *label,
                    guint32 node, const char *kind) {
  int i = lane_index(b, key);
  if (i >= 0)
    return i;
  TlLane *l = g_new0(TlLane, 1);
  l->key = g_strdup(key);
  l->node = node;
  l->kind = kind ? g_strdup(kind) : NULL;
  if (label != NULL) {
    l->label = g_strdup(label);
    l->sub = g_strdup(key);
  } else {
    l->label = g_strdup(key);
    l->sub = kind && strcmp(kind, key) != 0 ? g_strdup(kind) : NULL;
  }
  g_ptr_array_add(b->m->lanes, l);
  i = (int)b->m->lanes->len - 1;
  g_hash_table_insert(b->lane_of, l->key, GINT_TO_POINTER(i + 1));
  if (node != 0 && !g_hash_table_contains(b->node_first, GUINT_TO_POINTER(node)))
    g_hash_table_insert(b->node_first, GUINT_TO_POINTER(node),
                        GINT_TO_POINTER(i + 1));
  if (node != 0 && strchr(key, '/') == NULL)
    g_hash_table_insert(b->node_lane, GUINT_TO_POINTER(node),
                        GINT_TO_POINTER(i + 1));
  return i;
}

static int node_first_lane(const Build *b, guint32 node) {
  return GPOINTER_TO_INT(
             g_hash_table_lookup(b->node_first, GUINT_TO_POINTER(node))) -
         1;
}

static int node_own_lane(const Build *b, guint32 node) {
  return GPOINTER_TO_INT(
             g_hash_table_lookup(b->node_lane, GUINT_TO_POINTER(node))) -
         1;
}

static const char *kind_of(const Build *b, guint32 node) {
  const NlExpNode *n = nl__export_world_node(b->m->world, node);
  return n ? n->kind : NULL;
}

/* Kinds whose peer is a process, "host/name". */
static gboolean by_process(guint16 kind) {
  return kind == NL_TRACE_CALL || kind == NL_TRACE_BLOCK ||
         kind == NL_TRACE_PROC || kind == NL_TRACE_STDOUT ||
         kind == NL_TRACE_STDERR || kind == NL_TRACE_STDIN ||
         kind == NL_TRACE_STATS;
}

static gboolean shows_kind(const Build *b, guint16 kind) {
  if (kind == NL_TRACE_NODE || kind == NL_TRACE_TOPOLOGY ||
      kind >= NL_TRACE_N_KINDS)
    return FALSE;
  if (kind == NL_TRACE_PKT_RECV)
    kind = NL_TRACE_PKT_SEND;
  if (kind == NL_TRACE_BLOCK)
    kind = NL_TRACE_CALL;
  return (b->m->kinds >> kind) & 1;
}

static gboolean text_has_prefix(const Rec *r, const char *prefix) {
  gsize n = strlen(prefix);
  return r->r->len >= n && memcmp(rec_p(r), prefix, n) == 0;
}

/* Which records are drawn: the kinds, the window, the run's end. */
static void choose(Build *b) {
  const NlTimelineOptions *o = b->o;
  NlTime from = o ? o->from : 0;
  NlTime to = o && o->to > 0 ? o->to : NL_TIME_NEVER;
  NlTime end = NL_TIME_NEVER;
  if (o && o->no_end) {
    for (guint i = 0; i < b->recs->len; i++) {
      const Rec *r = &g_array_index(b->recs, Rec, i);
      if (r->r->kind == NL_TRACE_PROC &&
          text_has_prefix(r, "killed: the simulation ended")) {
        end = r->r->time;
        break;
      }
    }
  }
  for (guint i = 0; i < b->recs->len; i++) {
    Rec *r = &g_array_index(b->recs, Rec, i);
    guint16 k = r->r->kind;
    r->shown = shows_kind(b, k) && r->r->time >= from && r->r->time <= to;
    if (o && o->no_end &&
        (k == NL_TRACE_CHECK ||
         (r->r->time >= end &&
          (k == NL_TRACE_PROC || k == NL_TRACE_TCP_STATE ||
           k == NL_TRACE_STATS || k == NL_TRACE_BLOCK))))
      r->shown = FALSE;
  }
}

/* ---- lanes ------------------------------------------------------------- */

/* The programs of node @node, "host/name", in first-appearance order. */
static GPtrArray *programs_of(const Build *b, guint32 node) {
  GPtrArray *out = g_ptr_array_new();
  GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
  for (guint i = 0; i < b->recs->len; i++) {
    const Rec *r = &g_array_index(b->recs, Rec, i);
    if (r->r->node != node || r->r->peer == 0 || !by_process(r->r->kind) ||
        g_hash_table_contains(seen, GUINT_TO_POINTER(r->r->peer)))
      continue;
    const char *name = nl_trace_name(b->m->trace, r->r->peer);
    const char *host = nl_trace_name(b->m->trace, node);
    gsize hl = strlen(host);
    if (strncmp(name, host, hl) != 0 || name[hl] != '/')
      continue;
    g_hash_table_add(seen, GUINT_TO_POINTER(r->r->peer));
    g_ptr_array_add(out, (gpointer)name);
  }
  g_hash_table_destroy(seen);
  return out;
}

/* Nodes that get lanes: declared ones in order, then the undeclared ones
 * in the order shown records use them. */
static GArray *lane_nodes(const Build *b) {
  GArray *nodes = g_array_new(FALSE, FALSE, sizeof(guint32));
  GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
  for (int pass = 0; pass < 2; pass++) {
    for (guint i = 0; i < b->recs->len; i++) {
      const Rec *r = &g_array_index(b->recs, Rec, i);
      guint32 ids[2] = {r->r->node, 0};
      if (pass == 0 && r->r->kind != NL_TRACE_NODE)
        continue;
      if (pass == 1 && !r->shown)
        continue;
      if (pass == 1 && r->r->kind == NL_TRACE_PKT_SEND)
        ids[1] = r->r->peer;
      for (int k = 0; k < 2; k++) {
        if (ids[k] == 0 || g_hash_table_contains(seen, GUINT_TO_POINTER(ids[k])))
          continue;
        g_hash_table_add(seen, GUINT_TO_POINTER(ids[k]));
        g_array_append_val(nodes, ids[k]);
      }
    }
  }
  g_hash_table_destroy(seen);
  return nodes;
}

static void make_lanes(Build *b) {
  const NlTimelineOptions *o = b->o;
  const NlTrace *t = b->m->trace;
  if (o && o->n_lanes > 0) {
    for (guint i = 0; i < o->n_lanes; i++) {
      const char *name = o->lane_list[i].name;
      char *node = g_strdup(name);
      char *slash = strchr(node, '/');
      if (slash)
        *slash = '\0';
      guint32 id = 0;
      for (guint j = 0; j < b->m->world->nodes->len; j++) {
        const NlExpNode *n = g_ptr_array_index(b->m->world->nodes, j);
        if (strcmp(n->name, node) == 0)
          id = n->id;
      }
      if (slash)
        g_hash_table_add(b->has_progs, GUINT_TO_POINTER(id));
      lane_add(b, name, o->lane_list[i].label, id,
               slash ? "program" : kind_of(b, id));
      g_free(node);
    }
    return;
  }
  GArray *nodes = lane_nodes(b);
  for (guint i = 0; i < nodes->len; i++) {
    guint32 id = g_array_index(nodes, guint32, i);
    const char *name = nl_trace_name(t, id);
    GPtrArray *progs = o && o->lanes == NL_TIMELINE_LANES_PROGRAM
                           ? programs_of(b, id)
                           : g_ptr_array_new();
    if (progs->len == 0)
      lane_add(b, name, NULL, id, kind_of(b, id));
    else
      g_hash_table_add(b->has_progs, GUINT_TO_POINTER(id));
    for (guint j = 0; j < progs->len; j++)
      lane_add(b, g_ptr_array_index(progs, j), NULL, id, "program");
    g_ptr_array_free(progs, TRUE);
  }
  g_array_free(nodes, TRUE);
}

/* ---- which program a packet belongs to --------------------------------- */

static gpointer port_key(guint32 node, guint8 proto, guint16 port) {
  return GSIZE_TO_POINTER(((gsize)node << 24) | ((gsize)proto << 16) | port);
}

static gpointer fd_key(guint32 prog, long fd) {
  return GSIZE_TO_POINTER(((gsize)prog << 20) | ((gsize)fd & 0xfffff));
}

/* Learns, from the calls, which program holds which port: socket() gives
 * a descriptor's protocol, accept() a new TCP descriptor, bind() a port. */
static void learn_ports(Build *b) {
  for (guint i = 0; i < b->recs->len; i++) {
    const Rec *r = &g_array_index(b->recs, Rec, i);
    if (r->r->kind != NL_TRACE_CALL || r->r->peer == 0)
      continue;
    char *text = g_strndup((const char *)rec_p(r), r->r->len);
    const char *eq = strstr(text, ") = ");
    long fd = -1;
    if (g_str_has_prefix(text, "socket(") && eq != NULL) {
      fd = strtol(eq + 4, NULL, 10);
      guint8 proto = strstr(text, "SOCK_STREAM") ? NL_IPPROTO_TCP
                     : strstr(text, "SOCK_DGRAM") ? NL_IPPROTO_UDP
                                                   : 0;
      if (fd >= 0 && proto)
        g_hash_table_insert(b->fds, fd_key(r->r->peer, fd),
                            GUINT_TO_POINTER(proto));
    } else if (g_str_has_prefix(text, "accept") && eq != NULL) {
      fd = strtol(eq + 4, NULL, 10);
      if (fd >= 0)
        g_hash_table_insert(b->fds, fd_key(r->r->peer, fd),
                            GUINT_TO_POINTER(NL_IPPROTO_TCP));
    } else if (g_str_has_prefix(text, "bind(") && eq != NULL &&
               strcmp(eq + 4, "0") == 0) {
      fd = strtol(text + 5, NULL, 10);
      const char *colon = strrchr(text, ':');
      long port = colon ? strtol(colon + 1, NULL, 10) : 0;
      guint proto = GPOINTER_TO_UINT(
          g_hash_table_lookup(b->fds, fd_key(r->r->peer, fd)));
      if (port > 0 && port < 65536 && proto)
        g_hash_table_insert(b->ports, port_key(r->r->node, (guint8)proto,
                                               (guint16)port),
                            GUINT_TO_POINTER(r->r->peer));
    }
    g_free(text);
  }
}

/* The program whose call record is nearest to record @i at the same time
 * on the same node (after it first: the call that sent a packet returns
 * after it), or 0. */
static guint32 program_near(const Build *b, guint i) {
  const Rec *me = &g_array_index(b->recs, Rec, i);
  for (int dir = 1; dir >= -1; dir -= 2) {
    for (gint64 j = (gint64)i + dir; j >= 0 && j < (gint64)b->recs->len;
         j += dir) {
      const Rec *r = &g_array_index(b->recs, Rec, j);
      if (r->r->time != me->r->time)
        break;
      if (r->r->node == me->r->node && r->r->peer != 0 &&
          (r->r->kind == NL_TRACE_CALL || r->r->kind == NL_TRACE_BLOCK))
        return r->r->peer;
    }
  }
  return 0;
}

/* The lane of a program @prog on @node: its own, else the node's, else
 * (lanes per program) the node's first. */
static int program_lane(const Build *b, guint32 node, guint32 prog) {
  if (prog != 0) {
    int l = lane_index(b, nl_trace_name(b->m->trace, prog));
    if (l >= 0)
      return l;
  }
  int l = node_own_lane(b, node);
  if (l >= 0)
    return l;
  if (b->o && b->o->n_lanes > 0 && prog != 0)
    return -1; /* the program's lane is not listed */
  return node_first_lane(b, node);
}

/* The program of a packet or TCP state at a node with program lanes, from
 * its local port; learnt from the nearest call when unknown. */
static guint32 port_owner(Build *b, guint i, guint8 proto, guint16 port) {
  const Rec *r = &g_array_index(b->recs, Rec, i);
  gpointer key = port_key(r->r->node, proto, port);
  guint32 prog = GPOINTER_TO_UINT(g_hash_table_lookup(b->ports, key));
  if (prog == 0 && port != 0) {
    prog = program_near(b, i);
    if (prog != 0)
      g_hash_table_insert(b->ports, key, GUINT_TO_POINTER(prog));
  }
  return prog;
}

static int record_lane(Build *b, guint i) {
  Rec *r = &g_array_index(b->recs, Rec, i);
  guint16 k = r->r->kind;
  guint32 node = r->r->node;
  if (node == 0)
    return (k == NL_TRACE_NOTE || k == NL_TRACE_CHECK) ? -2 : -1;
  gboolean progs = g_hash_table_contains(b->has_progs, GUINT_TO_POINTER(node));
  if (by_process(k))
    return program_lane(b, node, r->r->peer);
  if (progs && (k == NL_TRACE_PKT_SEND || k == NL_TRACE_PKT_RECV ||
                k == NL_TRACE_PKT_DROP || k == NL_TRACE_PKT_DELIVER)) {
    NlPktInfo info;
    nl__export_pkt_info(rec_p(r), r->r->len, &info);
    if (info.l4 && (info.proto == NL_IPPROTO_TCP ||
                    info.proto == NL_IPPROTO_UDP)) {
      gboolean out = k == NL_TRACE_PKT_SEND ||
                     (k == NL_TRACE_PKT_DROP &&
                      (r->r->aux & NL_DROP_OUTGOING));
      guint32 prog = port_owner(b, i, info.proto,
                                out ? info.sport : info.dport);
      return program_lane(b, node, prog);
    }
    return program_lane(b, node, program_near(b, i));
  }
  if (progs && k == NL_TRACE_TCP_STATE) {
    /* "10.0.0.2:59673 > 10.0.0.1:8080 CLOSED -> SYN_SENT" */
    const char *colon = memchr(rec_p(r), ':', MIN(r->r->len, 24u));
    long port = colon ? strtol(colon + 1, NULL, 10) : 0;
    guint32 prog = port_owner(b, i, NL_IPPROTO_TCP, (guint16)port);
    return program_lane(b, node, prog);
  }
  int l = node_own_lane(b, node);
  return l >= 0 ? l : node_first_lane(b, node);
}

/* ---- calls that wait ---------------------------------------------------- */

static gpointer thread_key(const Rec *r) {
  return GSIZE_TO_POINTER(((gsize)r->r->peer << 16) | r->r->aux);
}

/* Pairs each BLOCK with the CALL that ends it (or the process's end), and
 * each hop's send with its receive or drop. */
static void pair(Build *b) {
  GHashTable *open = g_hash_table_new(g_direct_hash, g_direct_equal);
  GHashTable *sends = g_hash_table_new(g_int64_hash, g_int64_equal);
  for (guint i = 0; i < b->recs->len; i++) {
    Rec *r = &g_array_index(b->recs, Rec, i);
    r->partner = -1;
    if (!r->shown)
      continue;
    switch (r->r->kind) {
      case NL_TRACE_BLOCK:
        g_hash_table_insert(open, thread_key(r), GUINT_TO_POINTER(i + 1));
        break;
      case NL_TRACE_CALL: {
        guint j = GPOINTER_TO_UINT(g_hash_table_lookup(open, thread_key(r)));
        if (j != 0) {
          g_array_index(b->recs, Rec, j - 1).partner = (gint32)i;
          r->partner = (gint32)(j - 1);
          g_hash_table_remove(open, thread_key(r));
        }
        break;
      }
      case NL_TRACE_PKT_SEND:
        if (r->r->id != 0)
          g_hash_table_insert(sends, (gpointer)&r->r->id,
                              GUINT_TO_POINTER(i + 1));
        break;
      case NL_TRACE_PKT_RECV:
      case NL_TRACE_PKT_DROP: {
        guint j = r->r->id ? GPOINTER_TO_UINT(
                                 g_hash_table_lookup(sends, &r->r->id))
                           : 0;
        if (j != 0 && g_array_index(b->recs, Rec, j - 1).partner < 0) {
          g_array_index(b->recs, Rec, j - 1).partner = (gint32)i;
          r->partner = (gint32)(j - 1);
          /* A hop ends once: only sends in flight are remembered. */
          g_hash_table_remove(sends, &r->r->id);
        }
        break;
      }
      default: break;
    }
  }
  g_hash_table_destroy(open);
  g_hash_table_destroy(sends);
}

/* The drawing order: trace order, except that a call's BLOCK comes before
 * what the call did at the same instant on its node (connect() sends its
 * SYN, then waits: drawn as "connect blocks", then the SYN). */
static void order(Build *b) {
  b->order = g_array_new(FALSE, FALSE, sizeof(guint));
  for (guint i = 0; i < b->recs->len; i++) {
    const Rec *r = &g_array_index(b->recs, Rec, i);
    if (!r->shown || r->lane == -1)
      continue;
    g_array_append_val(b->order, i);
    if (r->r->kind != NL_TRACE_BLOCK)
      continue;
    guint at = b->order->len - 1;
    while (at > 0) {
      const Rec *q =
          &g_array_index(b->recs, Rec, g_array_index(b->order, guint, at - 1));
      if (q->r->time != r->r->time || q->r->node != r->r->node ||
          (q->r->kind != NL_TRACE_PKT_SEND &&
           q->r->kind != NL_TRACE_TCP_STATE))
        break;
      g_array_index(b->order, guint, at) = g_array_index(b->order, guint, at - 1);
      g_array_index(b->order, guint, at - 1) = i;
      at--;
    }
  }
}

/* ---- folding repeated exchanges ----------------------------------------- */

/* A record's signature: its kind, lane and text with digits blurred, so
 * "recv(4, 4096) = 14" and "recv(4, 4096) = 15" read as the same step. */
static guint64 signature(const Build *b, const Rec *r) {
  guint64 h = 1469598103934665603ull;
#define MIX(v) (h = (h ^ (guint64)(v)) * 1099511628211ull)
  MIX(r->r->kind);
  MIX(r->lane + 7);
  if (r->r->kind == NL_TRACE_PKT_SEND || r->r->kind == NL_TRACE_PKT_RECV ||
      r->r->kind == NL_TRACE_PKT_DROP) {
    NlPktInfo info;
    nl__export_pkt_info(rec_p(r), r->r->len, &info);
    MIX(r->r->peer);
    MIX(info.proto);
    MIX(info.tcp_flags);
    MIX(info.payload_len > 0);
    if (info.app)
      for (const char *c = info.app; *c; c++)
        MIX(*c);
    if (r->r->kind == NL_TRACE_PKT_DROP)
      MIX(r->r->aux);
  } else {
    for (guint32 i = 0; i < r->r->len; i++)
      MIX(g_ascii_isdigit(rec_p(r)[i]) ? '#' : rec_p(r)[i]);
  }
#undef MIX
  return h;
}

/* Whether every instance of a block keeps its pairs inside itself. */
static gboolean closed(const Build *b, guint at, guint k, guint64 times) {
  for (guint64 n = 0; n < times; n++) {
    guint lo = at + (guint)(n * k), hi = lo + k;
    for (guint j = lo; j < hi; j++) {
      const Rec *r =
          &g_array_index(b->recs, Rec, g_array_index(b->order, guint, j));
      gboolean needs = r->r->kind == NL_TRACE_PKT_SEND ||
                       r->r->kind == NL_TRACE_PKT_RECV ||
                       r->r->kind == NL_TRACE_PKT_DROP ||
                       r->r->kind == NL_TRACE_BLOCK ||
                       (r->r->kind == NL_TRACE_CALL && r->partner >= 0);
      if (!needs)
        continue;
      if (r->partner < 0)
        return FALSE;
      /* The partner's place in the drawing order. */
      const Rec *p = &g_array_index(b->recs, Rec, r->partner);
      if (p->row < lo || p->row >= hi)
        return FALSE;
    }
  }
  return TRUE;
}

#define FOLD_MAX_BLOCK 32 /* the longest exchange looked for, in records */
#define FOLD_MIN_TIMES 3  /* folded when it happens this often in a row */

static void fold(Build *b) {
  GArray *ord = b->order;
  guint n = ord->len;
  guint64 *sig = g_new(guint64, MAX(n, 1));
  for (guint j = 0; j < n; j++) {
    Rec *r = &g_array_index(b->recs, Rec, g_array_index(ord, guint, j));
    sig[j] = signature(b, r);
    r->row = j; /* its place in the order, for closed() */
    r->kept = TRUE;
  }
  if (b->o && b->o->no_collapse) {
    g_free(sig);
    return;
  }
  for (guint i = 0; i < n;) {
    guint best_k = 0;
    guint64 best_times = 0;
    for (guint k = 1; k <= FOLD_MAX_BLOCK && i + 2 * k <= n; k++) {
      if (sig[i] != sig[i + k])
        continue;
      guint64 times = 1;
      while (i + (times + 1) * k <= n) {
        guint j = 0;
        guint base = i + (guint)(times * k);
        while (j < k && sig[i + j] == sig[base + j])
          j++;
        if (j < k)
          break;
        times++;
      }
      if (times >= FOLD_MIN_TIMES && times * k > best_times * best_k &&
          closed(b, i, k, times)) {
        best_k = k;
        best_times = times;
      }
    }
    if (best_k == 0) {
      i++;
      continue;
    }
    TlLoop *lp = g_new0(TlLoop, 1);
    lp->times = best_times;
    /* Rows are set later; keep the order positions for now. */
    lp->row0 = i;
    lp->row1 = i + best_k - 1;
    const Rec *first =
        &g_array_index(b->recs, Rec, g_array_index(ord, guint, i));
    const Rec *last = &g_array_index(
        b->recs, Rec,
        g_array_index(ord, guint, i + (guint)(best_times * best_k) - 1));
    lp->t0 = first->r->time;
    lp->t1 = last->r->time;
    g_ptr_array_add(b->m->loops, lp);
    for (guint j = i + best_k; j < i + best_times * best_k; j++)
      g_array_index(b->recs, Rec, g_array_index(ord, guint, j)).kept = FALSE;
    i += (guint)(best_times * best_k);
  }
  g_free(sig);
}

/* ---- rows ------------------------------------------------------------- */

/* Can @rec share the row of @prev?  A node that passes a packet on at the
 * instant it arrives (a router forwarding) draws the hop out from the same
 * point the hop in ended, when the two go opposite ways, so a path reads as
 * one line and takes fewer rows. */
static gboolean merges(const Build *b, const Rec *prev, const Rec *rec) {
  /* A NAT sends the packet it translated from where the translation is
   * drawn (the box goes beside the lane, away from the arrow). */
  if (prev->r->kind == NL_TRACE_NAT_XLATE &&
      rec->r->kind == NL_TRACE_PKT_SEND && prev->r->node == rec->r->node &&
      prev->r->time == rec->r->time && prev->lane == rec->lane &&
      prev->lane >= 0)
    return TRUE;
  if (prev->r->kind != NL_TRACE_PKT_RECV ||
      rec->r->kind != NL_TRACE_PKT_SEND || prev->r->node != rec->r->node ||
      prev->r->time != rec->r->time || prev->lane != rec->lane)
    return FALSE;
  int me = rec->lane, in = node_first_lane(b, prev->r->peer),
      out = node_first_lane(b, rec->r->peer);
  return me >= 0 && in >= 0 && out >= 0 && (in - me) * (out - me) < 0;
}

static guint add_row(TlModel *m, NlTime t) {
  TlRow row = {.time = t};
  g_array_append_val(m->rows, row);
  return m->rows->len - 1;
}

static void assign_rows(Build *b, guint max_rows) {
  TlModel *m = b->m;
  const Rec *prev = NULL;
  guint limit = max_rows ? max_rows : NL_TIMELINE_MAX_ROWS;
  /* Order position -> row, for the loops. */
  GArray *row_of = g_array_sized_new(FALSE, FALSE, sizeof(guint),
                                     b->order->len);
  for (guint j = 0; j < b->order->len; j++) {
    Rec *r = &g_array_index(b->recs, Rec, g_array_index(b->order, guint, j));
    guint row = G_MAXUINT;
    if (r->kept) {
      if (prev != NULL && merges(b, prev, r)) {
        row = m->rows->len - 1;
      } else if (m->rows->len < limit) {
        row = add_row(m, r->r->time);
      } else {
        m->more++;
        m->more_until = r->r->time;
        r->kept = FALSE;
      }
      if (r->kept)
        prev = r;
    }
    r->row = row;
    g_array_append_val(row_of, row);
  }
  m->folded = m->more > 0 && max_rows == 0;
  for (guint i = 0; i < m->loops->len; i++) {
    TlLoop *lp = g_ptr_array_index(m->loops, i);
    guint r0 = g_array_index(row_of, guint, lp->row0);
    guint r1 = g_array_index(row_of, guint, lp->row1);
    if (r0 == G_MAXUINT || r1 == G_MAXUINT) {
      g_ptr_array_remove_index(m->loops, i--);
      continue;
    }
    lp->row0 = r0;
    lp->row1 = r1;
  }
  g_array_free(row_of, TRUE);
}

/* ---- items ------------------------------------------------------------ */

typedef struct {
  const guint8 *last_rx; /* the last packet the node received */
  guint32 last_rx_len;
  const guint8 *table; /* its last NAT table snapshot */
  guint32 table_len;
  NlTime table_time;
} NodeState;

static TlBox *box_new(TlModel *m, guint row, int lane, guint16 kind,
                      char *text, char *tooltip) {
  TlBox *x = g_new0(TlBox, 1);
  x->row = row;
  x->lane = lane < 0 ? -1 : lane;
  x->place = lane < 0 ? BX_SPAN : BX_LANE;
  x->kind = kind;
  x->text = text;
  x->tooltip = tooltip;
  g_ptr_array_add(m->boxes, x);
  return x;
}

/* "kind at node [peer], time\n" */
static void tip_head(const Build *b, const Rec *r, GString *s) {
  const NlTrace *t = b->m->trace;
  g_string_append_printf(s, "%s at %s",
                         nl_trace_kind_name((NlTraceKind)r->r->kind),
                         r->r->node ? nl_trace_name(t, r->r->node)
                                    : "(scenario)");
  if (r->r->peer)
    g_string_append_printf(s, " [%s]", nl_trace_name(t, r->r->peer));
  g_string_append(s, ", ");
  nl__tl_time_short(r->r->time, s);
  g_string_append_c(s, '\n');
}

static void call_help_tip(const NlCallHelp *help, GString *s) {
  g_string_append_printf(s, "\n\n%s\nPython: %s\nBlocks on: %s\nErrors: %s",
                         help->signature, help->python,
                         help->blocks ? help->blocks : "nothing",
                         help->errors);
  if (help->nonblocking)
    g_string_append_printf(s, "\nNon-blocking: %s", help->nonblocking);
}

/* A multi-line decode of a packet. */
static void pkt_tip(const Build *b, const NlTraceRecord *rec,
                    const guint8 *pkt, GString *d) {
  NlPktInfo info;
  nl__export_pkt_info(pkt, rec->len, &info);
  g_string_append_printf(d, "packet #%" G_GUINT64_FORMAT " %s → %s\n", rec->id,
                         nl_trace_name(b->m->trace, rec->node),
                         nl_trace_name(b->m->trace, rec->peer));
  if (info.app != NULL)
    g_string_append_printf(d, "%s\n", info.app);
  nl_wire_describe(pkt, rec->len, d);
  if (info.ip)
    g_string_append_printf(d, " ttl=%u", info.ttl);
  g_string_append_printf(d, "\n%u bytes on the wire:", rec->len);
  for (guint32 i = 0; i < rec->len && i < 64; i++)
    g_string_append_printf(d, "%s%02x", i % 16 ? " " : "\n", pkt[i]);
  if (rec->len > 64)
    g_string_append(d, "\n…");
}

/* The colour and legend of a hop. */
static void hop_look(Build *b, TlHop *h, const Rec *r, const NlPktInfo *i) {
  const NlTimelineOptions *o = b->o;
  const char *hook = o && o->hop_colour
                         ? o->hop_colour(b->m->trace, r->r, rec_p(r),
                                         o->hop_colour_data)
                         : NULL;
  if (hook != NULL) {
    h->colour = hook;
    h->legend = LG_HOOK;
    if (b->m->hook_colour == NULL)
      b->m->hook_colour = hook;
    return;
  }
  NlExpPath path = nl__export_world_path(b->m->world, i);
  TlLegend l = LG_OTHER;
  if (path == NL_EXP_PATH_RELAY)
    l = LG_RELAY;
  else if (!i->ip)
    l = LG_OTHER;
  else if (i->app != NULL)
    l = LG_STUN;
  else if (path == NL_EXP_PATH_DIRECT)
    l = LG_DIRECT;
  else if (i->proto == NL_IPPROTO_UDP)
    l = LG_UDP;
  else if (i->proto == NL_IPPROTO_TCP)
    l = LG_TCP;
  else if (i->proto == NL_IPPROTO_ICMP)
    l = LG_ICMP;
  h->legend = l;
  h->colour = nl__tl_legend_colour(l, b->m->style);
  h->dashed = b->m->style == NL_TIMELINE_STYLE_CHAPTER &&
              (l == LG_TCP || l == LG_UDP);
}

/* A hop's label: what the packet is. */
static char *hop_text(const Rec *r, const NlPktInfo *i) {
  GString *s = g_string_new(NULL);
  nl__export_pkt_label(i, rec_p(r), r->r->len, s);
  return g_string_free(s, FALSE);
}

/* The edge beyond which a lane-less end of a hop lies: -1 left, -2
 * right (towards where its node's lanes would be). */
static int edge_for(const Build *b, int from) {
  guint n = b->m->lanes->len;
  if (from < 0 || n == 0)
    return -2;
  return (guint)from * 2 + 1 >= n ? -2 : -1;
}

static TlHop *hop_new(Build *b, const Rec *r, int from, guint row) {
  TlHop *h = g_new0(TlHop, 1);
  NlPktInfo info;
  nl__export_pkt_info(rec_p(r), r->r->len, &info);
  h->id = r->r->id;
  h->from = from;
  h->row0 = h->row1 = row;
  h->sent = h->end_time = r->r->time;
  h->drop_lane = -1;
  hop_look(b, h, r, &info);
  h->label = hop_text(r, &info);
  GString *tip = g_string_new(NULL);
  pkt_tip(b, r->r, rec_p(r), tip);
  h->tooltip = g_string_free(tip, FALSE);
  g_ptr_array_add(b->m->hops, h);
  return h;
}

/* The label of an expectation: its outcome first, without the file and
 * line ("…/x.nlab:33: pass: expect …" → "pass: expect …").  OUT:
 * @failed. */
static gsize check_label_start(const guint8 *text, guint32 len,
                               gboolean *failed) {
  static const char *const marks[] = {": pass: ", ": fail: ", ": FAIL: "};
  for (gsize i = 0; i + 8 <= len; i++) {
    for (size_t k = 0; k < G_N_ELEMENTS(marks); k++) {
      if (memcmp(text + i, marks[k], 8) == 0) {
        *failed = k > 0;
        return i + 2;
      }
    }
  }
  char *lower = g_ascii_strdown((const char *)text, len);
  *failed = strstr(lower, "fail") != NULL;
  g_free(lower);
  return 0;
}

static void table_tip(const NodeState *st, GString *tip) {
  if (st == NULL || st->table == NULL)
    return;
  g_string_append(tip, "\nNAT table at ");
  nl__tl_time_short(st->table_time, tip);
  g_string_append(tip, ":\n");
  char *t = clean_text(st->table, st->table_len, TRUE);
  g_string_append(tip, t);
  g_free(t);
}

static void note_call(TlModel *m, const guint8 *p, guint32 len) {
  const NlCallHelp *help = nl_call_help_for((const char *)p, len);
  if (help == NULL)
    return;
  for (guint i = 0; i < m->calls->len; i++)
    if (g_ptr_array_index(m->calls, i) == (gpointer)help->name)
      return;
  g_ptr_array_add(m->calls, (gpointer)help->name);
}

/* The box of a text record. */
static void text_box(Build *b, const Rec *r, const NodeState *st) {
  gboolean failed = FALSE;
  gsize skip = r->r->kind == NL_TRACE_CHECK
                   ? check_label_start(rec_p(r), r->r->len, &failed)
                   : 0;
  char *text = clean_text(rec_p(r) + skip, r->r->len - skip, TRUE);
  GString *tip = g_string_new(NULL);
  tip_head(b, r, tip);
  char *all = clean_text(rec_p(r), r->r->len, TRUE);
  g_string_append(tip, all);
  g_free(all);
  if (r->r->kind == NL_TRACE_CALL) {
    const NlCallHelp *help =
        nl_call_help_for((const char *)rec_p(r), r->r->len);
    if (help)
      call_help_tip(help, tip);
    note_call(b->m, rec_p(r), r->r->len);
  }
  if (r->r->kind == NL_TRACE_NAT_MAP)
    table_tip(st, tip);
  TlBox *x = box_new(b->m, r->row, r->lane, r->r->kind, text,
                     g_string_free(tip, FALSE));
  if (r->r->kind == NL_TRACE_CHECK && failed) {
    x->fill = "#ffebee";
    x->fontcolor = "#b71c1c";
  }
}

/* A call that waits: "accept(3) blocks" where it starts, a bar while it
 * waits; the return is the CALL record's box. */
static void block_box(Build *b, const Rec *r) {
  TlModel *m = b->m;
  const Rec *ret = r->partner >= 0
                       ? &g_array_index(b->recs, Rec, r->partner)
                       : NULL;
  /* The call as written in its return, without the result. */
  char *call = NULL;
  if (ret != NULL && ret->kept) {
    char *t = clean_text(rec_p(ret), ret->r->len, FALSE);
    char *eq = strstr(t, " = ");
    if (eq)
      *eq = '\0';
    call = t;
  } else {
    call = clean_text(rec_p(r), r->r->len, FALSE);
  }
  GString *tip = g_string_new(NULL);
  tip_head(b, r, tip);
  g_string_append_printf(tip, "%s waits", call);
  const NlCallHelp *help =
      nl_call_help_for((const char *)rec_p(r), r->r->len);
  if (help != NULL) {
    g_string_append_printf(tip, " for %s",
                           help->blocks ? help->blocks : "its turn");
    call_help_tip(help, tip);
  }
  char *text = g_strdup_printf("%s blocks", call);
  box_new(m, r->row, r->lane, NL_TRACE_BLOCK, text, g_strdup(tip->str));
  TlBar *bar = g_new0(TlBar, 1);
  bar->lane = r->lane;
  bar->row0 = r->row;
  bar->row1 = ret && ret->kept && ret->row != G_MAXUINT ? ret->row : r->row;
  bar->open = ret == NULL || !ret->kept;
  g_string_append(tip, "\n(the bar: the time it waits)");
  bar->tooltip = g_string_free(tip, FALSE);
  g_ptr_array_add(m->bars, bar);
  g_free(call);
}

/* A NAT translation: what changed, from the packet the NAT last received
 * to the rewritten bytes. */
static void xlate_box(Build *b, const Rec *r, const NodeState *st) {
  NlPktInfo before, after;
  nl__export_pkt_info(rec_p(r), r->r->len, &after);
  gboolean have = st != NULL && st->last_rx != NULL;
  if (have)
    nl__export_pkt_info(st->last_rx, st->last_rx_len, &before);
  GString *s = g_string_new(NULL);
  int lines = 0;
  if (have && before.ip && after.ip) {
    for (int src = 1; src >= 0; src--) {
      /* A NAT64 changes the family: both ends then change. */
      gboolean changed =
          before.v6 != after.v6 ||
          (src ? (before.src != after.src || before.sport != after.sport ||
                  !nl_ip6_equal(&before.src6, &after.src6))
               : (before.dst != after.dst || before.dport != after.dport ||
                  !nl_ip6_equal(&before.dst6, &after.dst6)));
      if (!changed)
        continue;
      if (lines++)
        g_string_append_c(s, '\n');
      g_string_append(s, src ? "src " : "dst ");
      nl__export_endpoint(&before, src, s);
      g_string_append(s, " → ");
      nl__export_endpoint(&after, src, s);
    }
  }
  if (lines == 0) {
    g_string_append(s, "NAT ");
    nl__export_pkt_label(&after, rec_p(r), r->r->len, s);
  }
  GString *tip = g_string_new(NULL);
  g_string_append_printf(tip, "NAT %s translated, ",
                         nl_trace_name(b->m->trace, r->r->node));
  nl__tl_time_short(r->r->time, tip);
  g_string_append(tip, "\nbefore: ");
  if (have)
    nl_wire_describe(st->last_rx, st->last_rx_len, tip);
  else
    g_string_append(tip, "(not in the trace)");
  g_string_append(tip, "\nafter: ");
  nl_wire_describe(rec_p(r), r->r->len, tip);
  table_tip(st, tip);
  box_new(b->m, r->row, r->lane, NL_TRACE_NAT_XLATE, g_string_free(s, FALSE),
          g_string_free(tip, FALSE));
}

static gboolean band_wanted(const NlTimelineOptions *o, const TlLane *l) {
  if (o == NULL || o->states == NULL)
    return FALSE;
  if (strcmp(o->states, "all") == 0)
    return TRUE;
  gchar **names = g_strsplit(o->states, ",", -1);
  gboolean yes = FALSE;
  for (int i = 0; names[i]; i++)
    yes |= strcmp(g_strstrip(names[i]), l->key) == 0;
  g_strfreev(names);
  return yes;
}

/* "10.0.0.1:8080 > 10.0.0.2:59673 LISTEN -> SYN_RECEIVED" reads
 * "LISTEN -> SYN_RECEIVED (10.0.0.2:59673)": the change, and the other end
 * (or the port it listens on) to tell connections apart. */
static char *state_label(const char *text) {
  gchar **w = g_strsplit(text, " ", -1);
  char *out;
  if (g_strv_length(w) >= 6 && strcmp(w[1], ">") == 0 &&
      strcmp(w[4], "->") == 0) {
    const char *colon = strrchr(w[0], ':');
    gboolean listening = g_str_has_prefix(w[2], "0.0.0.0:");
    out = g_strdup_printf("%s -> %s (%s)", w[3], w[5],
                          listening && colon ? colon : w[2]);
  } else {
    out = g_strdup(text);
  }
  g_strfreev(w);
  return out;
}

static void tcp_state(Build *b, const Rec *r) {
  TlLane *l = g_ptr_array_index(b->m->lanes, r->lane);
  if (!l->band) {
    text_box(b, r, NULL);
    TlBox *x = g_ptr_array_index(b->m->boxes, b->m->boxes->len - 1);
    char *short_ = state_label(x->text);
    g_free(x->text);
    x->text = short_;
    return;
  }
  /* "A > B OLD -> NEW": the new state. */
  char *text = clean_text(rec_p(r), r->r->len, FALSE);
  const char *arrow = g_strrstr(text, "-> ");
  TlState *st = g_new0(TlState, 1);
  st->lane = r->lane;
  st->row = r->row;
  st->state = g_strdup(arrow ? arrow + 3 : text);
  GString *tip = g_string_new(NULL);
  tip_head(b, r, tip);
  g_string_append(tip, text);
  st->tooltip = g_string_free(tip, FALSE);
  g_ptr_array_add(b->m->states, st);
  g_free(text);
}

static void make_items(Build *b) {
  TlModel *m = b->m;
  GHashTable *hops = g_hash_table_new(g_int64_hash, g_int64_equal);
  GHashTable *nodes = g_hash_table_new_full(g_direct_hash, g_direct_equal,
                                            NULL, g_free);
  for (guint i = 0; i < b->recs->len; i++) {
    Rec *r = &g_array_index(b->recs, Rec, i);
    guint16 k = r->r->kind;
    NodeState *st = g_hash_table_lookup(nodes, GUINT_TO_POINTER(r->r->node));
    if (r->shown && r->kept && r->row != G_MAXUINT) {
      switch (k) {
        case NL_TRACE_PKT_SEND: {
          TlHop *h = hop_new(b, r, r->lane, r->row);
          int to = node_first_lane(b, r->r->peer);
          const Rec *end = r->partner >= 0
                               ? &g_array_index(b->recs, Rec, r->partner)
                               : NULL;
          if (end != NULL && end->shown && end->lane >= 0)
            to = end->lane;
          else if (end != NULL && end->shown && end->lane == -1)
            to = -1; /* received where the figure has no lane */
          if (to < 0) {
            /* Out of the figure: an arrow to its edge, on the send's row. */
            h->to = edge_for(b, r->lane);
            h->ended = TRUE;
            m->edges = TRUE;
          } else {
            h->to = to;
          }
          h->to_self = h->to == h->from;
          if (h->id != 0)
            g_hash_table_insert(hops, &h->id, h);
          break;
        }
        case NL_TRACE_PKT_RECV:
        case NL_TRACE_PKT_DROP: {
          TlHop *h = r->r->id ? g_hash_table_lookup(hops, &r->r->id) : NULL;
          if (h == NULL && k == NL_TRACE_PKT_DROP) {
            /* Its send is not drawn: the cross alone. */
            h = hop_new(b, r, r->lane, r->row);
            h->to = r->lane;
            h->no_arrow = TRUE;
          } else if (h == NULL) {
            /* Its send is not drawn: in from the sender's lane, or the
             * edge. */
            int from = node_first_lane(b, r->r->peer);
            const Rec *send = r->partner >= 0
                                  ? &g_array_index(b->recs, Rec, r->partner)
                                  : NULL;
            if (send != NULL && send->shown && send->lane == -1)
              from = -1; /* sent where the figure has no lane */
            if (from < 0) {
              from = edge_for(b, r->lane);
              m->edges = TRUE;
            }
            h = hop_new(b, r, from, r->row);
            h->to = r->lane;
          }
          h->row1 = r->row;
          h->end_time = r->r->time;
          h->ended = TRUE;
          if (k == NL_TRACE_PKT_DROP) {
            h->dropped = TRUE;
            h->reason = nl_trace_drop_reason(r->r->aux);
            h->drop_lane = r->lane;
            if (h->no_arrow)
              h->drop_lane = r->lane;
            else if (r->r->aux & NL_DROP_OUTGOING)
              h->drop_lane = -1;
            else if (r->lane == h->from && h->to != h->from)
              h->drop_lane = -1; /* at the sender, on its way */
          }
          break;
        }
        case NL_TRACE_NAT_XLATE: xlate_box(b, r, st); break;
        case NL_TRACE_PKT_DELIVER: {
          NlPktInfo info;
          nl__export_pkt_info(rec_p(r), r->r->len, &info);
          GString *s = g_string_new("deliver ");
          nl__export_pkt_label(&info, rec_p(r), r->r->len, s);
          GString *tip = g_string_new(NULL);
          pkt_tip(b, r->r, rec_p(r), tip);
          box_new(m, r->row, r->lane, k, g_string_free(s, FALSE),
                  g_string_free(tip, FALSE));
          break;
        }
        case NL_TRACE_BLOCK: block_box(b, r); break;
        case NL_TRACE_TCP_STATE:
          if (r->lane >= 0)
            tcp_state(b, r);
          else
            text_box(b, r, st);
          break;
        default: text_box(b, r, st); break;
      }
    }
    /* What each node received and its NAT table, drawn or not. */
    if ((k == NL_TRACE_PKT_RECV || k == NL_TRACE_NAT_TABLE) &&
        r->r->node != 0) {
      if (st == NULL) {
        st = g_new0(NodeState, 1);
        g_hash_table_insert(nodes, GUINT_TO_POINTER(r->r->node), st);
      }
      if (k == NL_TRACE_NAT_TABLE) {
        st->table = rec_p(r);
        st->table_len = r->r->len;
        st->table_time = r->r->time;
      } else {
        st->last_rx = rec_p(r);
        st->last_rx_len = r->r->len;
      }
    }
  }
  g_hash_table_destroy(hops);
  g_hash_table_destroy(nodes);
  /* The lanes a loop touches. */
  for (guint i = 0; i < m->loops->len; i++) {
    TlLoop *lp = g_ptr_array_index(m->loops, i);
    lp->lane0 = G_MAXINT;
    lp->lane1 = -1;
    for (guint j = 0; j < m->boxes->len; j++) {
      const TlBox *x = g_ptr_array_index(m->boxes, j);
      if (x->row >= lp->row0 && x->row <= lp->row1 && x->lane >= 0) {
        lp->lane0 = MIN(lp->lane0, x->lane);
        lp->lane1 = MAX(lp->lane1, x->lane);
      }
    }
    for (guint j = 0; j < m->hops->len; j++) {
      const TlHop *h = g_ptr_array_index(m->hops, j);
      if (h->row0 < lp->row0 || h->row0 > lp->row1)
        continue;
      for (int e = 0; e < 2; e++) {
        int l = e ? h->to : h->from;
        if (l >= 0) {
          lp->lane0 = MIN(lp->lane0, l);
          lp->lane1 = MAX(lp->lane1, l);
        }
      }
    }
    if (lp->lane1 < 0)
      lp->lane0 = lp->lane1 = 0;
  }
}

static void lane_free(gpointer p) {
  TlLane *l = p;
  g_free(l->key);
  g_free(l->label);
  g_free(l->sub);
  g_free(l->kind);
  g_free(l);
}

static void box_free(gpointer p) {
  TlBox *x = p;
  g_free(x->text);
  g_free(x->tooltip);
  g_free(x->cls);
  g_free(x);
}

static void hop_free(gpointer p) {
  TlHop *h = p;
  g_free(h->label);
  g_free(h->tooltip);
  g_free(h);
}

static void bar_free(gpointer p) {
  TlBar *x = p;
  g_free(x->tooltip);
  g_free(x);
}

static void state_free(gpointer p) {
  TlState *x = p;
  g_free(x->state);
  g_free(x->tooltip);
  g_free(x);
}

TlModel *nl__tl_model_new(const NlTrace *trace, const NlTimelineOptions *o) {
  TlModel *m = g_new0(TlModel, 1);
  m->trace = trace;
  m->title = o ? o->title : NULL;
  m->kinds = o && o->kinds ? o->kinds : NL_TIMELINE_DEFAULT_KINDS;
  m->style = o ? o->style : NL_TIMELINE_STYLE_DEFAULT;
  m->hook_legend = o && o->hop_colour_legend ? o->hop_colour_legend
                                             : "highlighted";
  m->world = nl__export_world_new(trace);
  m->lanes = g_ptr_array_new_with_free_func(lane_free);
  m->rows = g_array_new(FALSE, TRUE, sizeof(TlRow));
  m->boxes = g_ptr_array_new_with_free_func(box_free);
  m->hops = g_ptr_array_new_with_free_func(hop_free);
  m->bars = g_ptr_array_new_with_free_func(bar_free);
  m->states = g_ptr_array_new_with_free_func(state_free);
  m->loops = g_ptr_array_new_with_free_func(g_free);
  m->calls = g_ptr_array_new();

  Build b = {0};
  b.m = m;
  b.o = o;
  b.recs = g_array_new(FALSE, TRUE, sizeof(Rec));
  b.lane_of = g_hash_table_new(g_str_hash, g_str_equal);
  b.node_first = g_hash_table_new(g_direct_hash, g_direct_equal);
  b.node_lane = g_hash_table_new(g_direct_hash, g_direct_equal);
  b.ports = g_hash_table_new(g_direct_hash, g_direct_equal);
  b.fds = g_hash_table_new(g_direct_hash, g_direct_equal);
  b.has_progs = g_hash_table_new(g_direct_hash, g_direct_equal);

  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, trace);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    g_assert(p == nl_trace_payload(rec));
    Rec r = {.r = rec, .lane = -1, .partner = -1, .row = G_MAXUINT};
    g_array_append_val(b.recs, r);
  }
  choose(&b);
  make_lanes(&b);
  for (guint i = 0; i < m->lanes->len; i++) {
    TlLane *l = g_ptr_array_index(m->lanes, i);
    l->band = band_wanted(o, l);
    l->band_side = i + 1 == m->lanes->len && m->lanes->len > 1 ? 1 : -1;
  }
  learn_ports(&b);
  for (guint i = 0; i < b.recs->len; i++) {
    Rec *r = &g_array_index(b.recs, Rec, i);
    if (r->shown)
      r->lane = record_lane(&b, i);
  }
  pair(&b);
  order(&b);
  fold(&b);
  assign_rows(&b, o ? o->max_rows : 0);
  make_items(&b);
  /* Time labels: as many decimals as the finest time drawn needs. */
  for (guint i = 0; i < m->rows->len; i++)
    m->decimals = MAX(m->decimals,
                      decimals_of(g_array_index(m->rows, TlRow, i).time));

  g_array_free(b.order, TRUE);
  g_array_free(b.recs, TRUE);
  g_hash_table_destroy(b.lane_of);
  g_hash_table_destroy(b.node_first);
  g_hash_table_destroy(b.node_lane);
  g_hash_table_destroy(b.ports);
  g_hash_table_destroy(b.fds);
  g_hash_table_destroy(b.has_progs);
  return m;
}

void nl__tl_model_free(TlModel *m) {
  if (m == NULL)
    return;
  nl__tl_pages_free(m);
  g_free(m->title_lines);
  g_ptr_array_unref(m->lanes);
  g_array_free(m->rows, TRUE);
  g_ptr_array_unref(m->boxes);
  g_ptr_array_unref(m->hops);
  g_ptr_array_unref(m->bars);
  g_ptr_array_unref(m->states);
  g_ptr_array_unref(m->loops);
  g_ptr_array_unref(m->calls);
  nl__export_world_free(m->world);
  g_free(m);
}
