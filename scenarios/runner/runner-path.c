/* The path two hosts' traffic took, from the trace alone: the ICE agents'
 * own reports (their `ice: ...` stdout lines) and the bytes of their data
 * on the wire (delivery records).  See runner-path.h. */
#include "scenarios/runner/runner-path.h"

#include <stdio.h>
#include <string.h>

#include "sim/net/wire.h"

/* ---- the agents' reports ---- */

/* Reads the value of KEY= from an `ice: EVENT k=v ... [-- text]` line
 * into @out (empty when absent). */
static void field(const char *line, gsize len, const char *key, char *out,
                  gsize cap) {
  out[0] = '\0';
  gsize kl = strlen(key);
  const char *end = line + len;
  const char *stop = g_strstr_len(line, (gssize)len, " -- ");
  if (stop != NULL)
    end = stop;
  for (const char *p = line; p < end; p++) {
    if ((p == line || p[-1] == ' ') && (gsize)(end - p) > kl &&
        memcmp(p, key, kl) == 0 && p[kl] == '=') {
      const char *v = p + kl + 1, *e = v;
      while (e < end && *e != ' ')
        e++;
      g_strlcpy(out, v, MIN(cap, (gsize)(e - v) + 1));
      return;
    }
  }
}

/* The event word of an ice line ("selected"), or NULL if @p is not one. */
static gboolean ice_event(const guint8 *p, guint32 len, char *ev, gsize cap) {
  if (len < 6 || memcmp(p, "ice: ", 5) != 0)
    return FALSE;
  const char *s = (const char *)p + 5, *e = s;
  while (e < (const char *)p + len && *e != ' ')
    e++;
  g_strlcpy(ev, s, MIN(cap, (gsize)(e - s) + 1));
  return TRUE;
}

/* One `ice: ` line of stdout. */
typedef struct {
  NlTime time;
  guint32 node, len; /* its node (trace id), its length */
  const guint8 *p;
} IceLine;

/* The `ice: ` lines of stdout the trace keeps, in the order it keeps
 * them: from the tally's copy of them when it made one, else read from
 * the trace. */
typedef struct {
  const NlPathTally *pt;
  guint i;
  NlTraceIter it;
} IceLines;

static void ice_lines_init(IceLines *il, NlRun *r);
static gboolean ice_lines_next(IceLines *il, IceLine *line);

gboolean nl_run_ice_report(NlRun *r, const char *a, const char *b,
                           NlTime until, NlRunIceReport *out) {
  memset(out, 0, sizeof *out);
  NlTrace *t = nl_run_trace(r);
  guint32 na = nl_trace_intern(t, a), nb = nl_trace_intern(t, b);
  GPtrArray *names_b = g_ptr_array_new_with_free_func(g_free);
  IceLines il;
  IceLine l;
  char ev[32], v[128];
  /* First the names under which agents on @b reported. */
  ice_lines_init(&il, r);
  while (ice_lines_next(&il, &l) && l.time <= until) {
    if (l.node != nb || !ice_event(l.p, l.len, ev, sizeof ev))
      continue;
    field((const char *)l.p, l.len, "name", v, sizeof v);
    if (v[0] != '\0' &&
        !g_ptr_array_find_with_equal_func(names_b, v, g_str_equal, NULL))
      g_ptr_array_add(names_b, g_strdup(v));
  }
  /* Then the last outcome an agent on @a reported about one of them (or
   * about no peer at all: "peer=-" when it never met one). */
  ice_lines_init(&il, r);
  while (ice_lines_next(&il, &l) && l.time <= until) {
    if (l.node != na || !ice_event(l.p, l.len, ev, sizeof ev))
      continue;
    const guint8 *p = l.p;
    char peer[64];
    field((const char *)p, l.len, "peer", peer, sizeof peer);
    gboolean about_b =
        strcmp(peer, "-") == 0 ||
        g_ptr_array_find_with_equal_func(names_b, peer, g_str_equal, NULL);
    NlRunIceOutcome o = NL_RUN_ICE_PENDING;
    if (strcmp(ev, "selected") == 0)
      o = NL_RUN_ICE_SELECTED;
    else if (strcmp(ev, "failed") == 0)
      o = NL_RUN_ICE_FAILED;
    else if (strcmp(ev, "path-failed") == 0)
      o = NL_RUN_ICE_PATH_FAILED;
    if (o == NL_RUN_ICE_PENDING || !about_b) {
      if (out->outcome == NL_RUN_ICE_NONE)
        out->outcome = NL_RUN_ICE_PENDING;
      continue;
    }
    out->outcome = o;
    out->at = l.time;
    field((const char *)p, l.len, "name", out->agent, sizeof out->agent);
    g_strlcpy(out->peer, peer, sizeof out->peer);
    field((const char *)p, l.len, "path", v, sizeof v);
    out->relayed = strcmp(v, "relayed") == 0;
    field((const char *)p, l.len, "local", out->local, sizeof out->local);
    field((const char *)p, l.len, "remote", out->remote, sizeof out->remote);
    const char *why = g_strstr_len((const char *)p, l.len, " -- ");
    out->why[0] = '\0';
    if (why != NULL)
      g_strlcpy(out->why, why + 4,
                MIN(sizeof out->why,
                    (gsize)((const char *)p + l.len - (why + 4)) + 1));
  }
  g_ptr_array_unref(names_b);
  return out->outcome >= NL_RUN_ICE_SELECTED;
}

/* ---- bytes on the wire ---- */

static gboolean is_stun(const guint8 *p, gsize n) {
  return n >= 20 && (p[0] & 0xC0) == 0 && p[4] == 0x21 && p[5] == 0x12 &&
         p[6] == 0xA4 && p[7] == 0x42;
}

/* Whether a datagram to or from a TURN server's host carries data:
 * ChannelData, a Send or a Data indication whose payload is not STUN, or
 * plain data (to or from a relayed address). */
G_GNUC_NO_INLINE static gboolean indication_carries_data(const guint8 *p,
                                                         gsize n);
static inline gboolean relay_carries_data(const guint8 *p, gsize n) {
  if (!is_stun(p, n)) {
    if (n >= 4 && (p[0] & 0xC0) == 0x40) {
      gsize dl = nl_wire_get16(p + 2);
      if (4 + dl <= n && n <= 4 + ((dl + 3) & ~(gsize)3))
        return !is_stun(p + 4, dl); /* a ChannelData frame */
    }
    return TRUE;
  }
  return indication_carries_data(p, n);
}

/* relay_carries_data() for a STUN message: out of line (the datagrams of
 * a tally are mostly not STUN). */
static gboolean indication_carries_data(const guint8 *p, gsize n) {
  /* Only Send and Data indications carry data. */
  if (nl_wire_get16(p) != 0x0016 && nl_wire_get16(p) != 0x0017)
    return FALSE;
  for (gsize off = 20; off + 4 <= n;) {
    guint16 type = nl_wire_get16(p + off), len = nl_wire_get16(p + off + 2);
    if (off + 4 + len > n)
      return FALSE;
    if (type == 0x0013) /* DATA */
      return !is_stun(p + off + 4, len);
    off += 4 + (((gsize)len + 3) & ~(gsize)3);
  }
  return FALSE;
}

static gboolean runs_relay(const NlScnNode *n) {
  for (guint j = 0; j < n->runs->len; j++) {
    const NlScnRun *run = g_ptr_array_index(n->runs, j);
    if (run->kind == NL_SCN_PROGRAM_BUILTIN &&
        strcmp(run->program, "turn-server") == 0)
      return TRUE;
  }
  return FALSE;
}

/* ---- the deliveries' tally ---- */

/* What a delivery is for the path reader: a TCP segment with data, or a
 * UDP datagram (+ STUN, + carrying data if it came through a relay). */
enum {
  TALLY_TCP_DATA,
  TALLY_UDP, /* + TALLY_STUN, + TALLY_RELAY_DATA */
  TALLY_STUN = 1,
  TALLY_RELAY_DATA = 2,
  TALLY_N = TALLY_UDP + 4
};

/* A (node, source) pair's counts, each kind's bytes and datagrams side by
 * side in 16 bytes: adding to them writes one line of the entry. */
typedef struct {
  guint64 bytes;
  guint64 packets;
} TallyCount;

typedef struct {
  TallyCount c[TALLY_N];
} TallyEntry;

/* A slot of the table of pairs: the key (node id << 32 | source address)
 * and its entry's index + 1 (0: an empty slot), one read to find it. */
typedef struct {
  guint64 key;
  guint32 idx1;
} TallySlot;

/* By node id: the source and kind of the node's last delivery and its
 * entry's index + 1 (tag: source << 32 | index + 1 << 3 | kind, kind 7
 * when none yet), and the bytes and datagrams of that source and kind not
 * yet added to the entry (pending: datagrams << 40 | bytes).  So a node
 * that hears from one address (a client) counts its deliveries in these
 * 16 bytes, without the table or the entry; they go to the entry when the
 * source or the kind changes (or the datagrams reach 2^24 - 1: less than
 * 2^24 datagrams of at most 65,535 bytes are less than 2^40 bytes), and
 * the sums read them. */
typedef struct {
  guint64 tag;
  guint64 pending;
} TallyLast;
#define LAST_NONE 7u
#define LAST_IDX(tag) ((guint32)(tag) >> 3)
#define LAST_CAT(tag) ((guint)(tag) & 7u)
#define LAST_IDX_BITS ((guint64)0xfffffff8u)
#define PENDING_ONE ((guint64)1 << 40)
#define PENDING_FULL ((guint64)0xffffff << 40)
G_STATIC_ASSERT(TALLY_N <= LAST_NONE);

/* The tally: entries in the order their pairs first delivered (one
 * 64-byte-aligned array), found by an open-addressed table of slots
 * (linear probing, at most half full) and a node's last pair.  With a
 * thousand nodes, a GHashTable's lookup read its hashes, keys, values and
 * the entry (key compared there): four lines out of cache for each
 * delivery to a server that hears from many addresses in turn. */
struct NlPathTally {
  TallyLast *last;
  guint n_last;
  TallySlot *slots;
  guint mask; /* slots - 1, a power of two minus one */
  TallyEntry *entries;
  guint64 *keys; /* by entry: its key */
  guint n, cap;  /* entries used, allocated */
  /* The `ice: ` lines of stdout (their texts one after another), when
   * the trace keeps every one (nl__path_tally_new), or NULL. */
  GArray *ice; /* of IceRec */
  GString *ice_text;
};

typedef struct {
  NlTime time;
  guint32 node, len;
  gsize at; /* in ice_text */
} IceRec;

/* Node ids and addresses are small and close together: mixed (a 64-bit
 * finalizer), so that they spread over the table. */
static inline guint key_hash(guint64 k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  return (guint)k;
}

/* The slot of @key in @pt's table: its own, or the empty one where it
 * would go. */
static inline TallySlot *tally_slot(const NlPathTally *pt, guint64 key) {
  for (guint i = key_hash(key) & pt->mask;; i = (i + 1) & pt->mask) {
    TallySlot *s = &pt->slots[i];
    if (s->idx1 == 0 || s->key == key)
      return s;
  }
}

static void tally_grow_slots(NlPathTally *pt) {
  TallySlot *old = pt->slots;
  guint n_old = pt->mask + 1;
  guint n = n_old * 2;
  pt->slots = g_aligned_alloc0(n, sizeof(TallySlot), 64);
  pt->mask = n - 1;
  for (guint i = 0; i < pt->n; i++) {
    TallySlot *s = tally_slot(pt, pt->keys[i]);
    s->key = pt->keys[i];
    s->idx1 = i + 1;
  }
  g_aligned_free(old);
}

/* A new entry for @key, which slot @s is empty for. */
G_GNUC_NO_INLINE static guint tally_add(NlPathTally *pt, TallySlot *s,
                                        guint64 key) {
  if (pt->n == pt->cap) {
    guint cap = pt->cap ? 2 * pt->cap : 64;
    TallyEntry *e = g_aligned_alloc0(cap, sizeof(TallyEntry), 64);
    if (pt->n)
      memcpy(e, pt->entries, pt->n * sizeof *e);
    g_aligned_free(pt->entries);
    pt->entries = e;
    pt->keys = g_renew(guint64, pt->keys, cap);
    pt->cap = cap;
  }
  guint i = pt->n++;
  g_assert(pt->n < (1u << 29)); /* an index + 1 fits TallyLast's tag */
  pt->keys[i] = key;
  s->key = key;
  s->idx1 = i + 1;
  if (2 * pt->n > pt->mask + 1)
    tally_grow_slots(pt);
  return i;
}

static G_GNUC_NO_INLINE void tally_grow_last(NlPathTally *pt, guint32 node) {
  guint n = MAX(node + 1, 2 * pt->n_last);
  pt->last = g_renew(TallyLast, pt->last, n);
  for (guint i = pt->n_last; i < n; i++)
    pt->last[i] = (TallyLast){.tag = LAST_NONE, .pending = 0};
  pt->n_last = n;
}

/* Adds the counts that @node's last slot holds back to their entry, and
 * takes the datagram of @len bytes and kind @cat from @src in their
 * place. */
static inline void tally_switch(NlPathTally *pt, guint32 node, TallyLast *last,
                                uint32_t src, guint cat, guint len) {
  if (LAST_CAT(last->tag) != LAST_NONE) {
    TallyCount *c =
        &pt->entries[LAST_IDX(last->tag) - 1].c[LAST_CAT(last->tag)];
    c->bytes += last->pending & (PENDING_ONE - 1);
    c->packets += last->pending >> 40;
  }
  guint32 idx1 = LAST_IDX(last->tag);
  if (LAST_CAT(last->tag) == LAST_NONE || (uint32_t)(last->tag >> 32) != src) {
    guint64 key = (guint64)node << 32 | src;
    TallySlot *s = tally_slot(pt, key);
    idx1 = s->idx1 != 0 ? s->idx1 : tally_add(pt, s, key) + 1;
  }
  last->tag = (guint64)src << 32 | (guint64)idx1 << 3 | cat;
  last->pending = PENDING_ONE | len;
}

static void on_delivery(void *data, const NlTraceRecord *rec,
                        const guint8 *p) {
  NlPathTally *pt = data;
  /* What nl_ip4_parse reads, less the header checksum: a delivered
   * packet's was checked when it arrived. */
  struct {
    guint ihl_bytes, total_len, proto;
    uint32_t src;
  } ip;
  if (rec->len < NL_IP4_HDR_LEN || (p[0] >> 4) != 4)
    return;
  ip.ihl_bytes = (guint)(p[0] & 0x0f) * 4;
  ip.total_len = nl_wire_get16(p + 2);
  if (ip.ihl_bytes < NL_IP4_HDR_LEN || ip.ihl_bytes > rec->len ||
      ip.total_len < ip.ihl_bytes || ip.total_len > rec->len)
    return;
  ip.proto = p[9];
  ip.src = nl_wire_get32(p + 12);
  guint cat;
  if (ip.proto == NL_IPPROTO_TCP) {
    /* A TCP segment that carries data (a punched TCP hole); handshakes
     * and bare ACKs are not data. */
    if (ip.total_len < ip.ihl_bytes + NL_TCP_HDR_LEN)
      return;
    gsize hl = (gsize)(p[ip.ihl_bytes + 12] >> 4) * 4;
    if (ip.total_len <= ip.ihl_bytes + hl)
      return;
    cat = TALLY_TCP_DATA;
  } else if (ip.proto == NL_IPPROTO_UDP &&
             ip.total_len >= ip.ihl_bytes + NL_UDP_HDR_LEN) {
    const guint8 *pl = p + ip.ihl_bytes + NL_UDP_HDR_LEN;
    gsize plen = ip.total_len - ip.ihl_bytes - NL_UDP_HDR_LEN;
    cat = TALLY_UDP + (is_stun(pl, plen) ? TALLY_STUN : 0) +
          (relay_carries_data(pl, plen) ? TALLY_RELAY_DATA : 0);
  } else {
    return;
  }
  if (G_UNLIKELY(rec->node >= pt->n_last))
    tally_grow_last(pt, rec->node);
  TallyLast *last = &pt->last[rec->node];
  if (G_LIKELY(((last->tag ^ ((guint64)ip.src << 32 | cat)) & ~LAST_IDX_BITS) ==
                   0 &&
               last->pending < PENDING_FULL))
    last->pending += PENDING_ONE | ip.total_len;
  else
    tally_switch(pt, rec->node, last, ip.src, cat, ip.total_len);
}

/* Entry @k's counts of kind @cat, with those its node holds back. */
static TallyCount tally_count(const NlPathTally *pt, guint k, guint cat) {
  TallyCount c = pt->entries[k].c[cat];
  guint32 node = (guint32)(pt->keys[k] >> 32);
  if (node < pt->n_last) {
    const TallyLast *last = &pt->last[node];
    if (LAST_CAT(last->tag) == cat && LAST_IDX(last->tag) == k + 1) {
      c.bytes += last->pending & (PENDING_ONE - 1);
      c.packets += last->pending >> 40;
    }
  }
  return c;
}

static NlPathTally *tally_new(void) {
  NlPathTally *pt = g_new0(NlPathTally, 1);
  pt->mask = 255;
  pt->slots = g_aligned_alloc0(pt->mask + 1, sizeof(TallySlot), 64);
  return pt;
}

#define ICE_PREFIX "ice: "
#define ICE_PREFIX_LEN (sizeof ICE_PREFIX - 1)

/* A copy of each `ice: ` line of stdout as the trace adds it. */
static void on_stdout(void *data, const NlTraceRecord *rec, const guint8 *p) {
  NlPathTally *pt = data;
  if (rec->len < ICE_PREFIX_LEN || memcmp(p, ICE_PREFIX, ICE_PREFIX_LEN) != 0 ||
      pt->ice == NULL)
    return;
  IceRec x = {rec->time, rec->node, rec->len, pt->ice_text->len};
  g_string_append_len(pt->ice_text, (const char *)p, rec->len);
  g_array_append_val(pt->ice, x);
}

/* on_stdout reads no source: it copies the lines the trace makes for its
 * own reasons (keeps, or another listener reads), so that it changes
 * nothing of what is made. */
static gboolean no_sources(void *data, NlTraceKind kind, guint32 node,
                           guint32 peer) {
  return FALSE;
}

NlPathTally *nl__path_tally_new(NlTrace *t, gboolean keeps_ice_lines) {
  NlPathTally *pt = tally_new();
  nl_trace_listen(t, 1u << NL_TRACE_PKT_DELIVER, on_delivery, pt);
  if (keeps_ice_lines) {
    pt->ice = g_array_new(FALSE, FALSE, sizeof(IceRec));
    pt->ice_text = g_string_new(NULL);
    nl_trace_listen_sources(t, 1u << NL_TRACE_STDOUT, on_stdout, no_sources,
                            pt);
  }
  return pt;
}

static void ice_lines_init(IceLines *il, NlRun *r) {
  const NlPathTally *pt = nl__run_path_tally(r);
  il->pt = pt != NULL && pt->ice != NULL ? pt : NULL;
  il->i = 0;
  if (il->pt == NULL)
    nl_trace_iter_init(&il->it, nl_run_trace(r));
}

static gboolean ice_lines_next(IceLines *il, IceLine *line) {
  if (il->pt != NULL) {
    if (il->i >= il->pt->ice->len)
      return FALSE;
    const IceRec *x = &g_array_index(il->pt->ice, IceRec, il->i++);
    *line = (IceLine){x->time, x->node, x->len,
                      (const guint8 *)il->pt->ice_text->str + x->at};
    return TRUE;
  }
  const NlTraceRecord *rec;
  const guint8 *p;
  while (nl_trace_iter_next(&il->it, &rec, &p))
    if (rec->kind == NL_TRACE_STDOUT && rec->len >= ICE_PREFIX_LEN &&
        memcmp(p, ICE_PREFIX, ICE_PREFIX_LEN) == 0) {
      *line = (IceLine){rec->time, rec->node, rec->len, p};
      return TRUE;
    }
  return FALSE;
}

void nl__path_tally_forget_ice_lines(NlPathTally *pt) {
  if (pt->ice == NULL)
    return;
  g_array_free(pt->ice, TRUE);
  g_string_free(pt->ice_text, TRUE);
  pt->ice = NULL;
  pt->ice_text = NULL;
}

void nl__path_tally_free(NlPathTally *pt) {
  if (pt == NULL)
    return;
  g_aligned_free(pt->slots);
  g_aligned_free(pt->entries);
  g_free(pt->keys);
  g_free(pt->last);
  nl__path_tally_forget_ice_lines(pt);
  g_free(pt);
}

/* The bytes of @a and @b's data in tally @pt of a run of @s (trace @t). */
static void tally_sum(const NlScenario *s, NlTrace *t, const NlPathTally *pt,
                      const char *a, const char *b, NlRunPathBytes *out) {
  memset(out, 0, sizeof *out);
  const NlScnNode *sa = nl_scenario_find_node(s, a);
  const NlScnNode *sb = nl_scenario_find_node(s, b);
  if (sa == NULL || sb == NULL)
    return;
  guint32 na = nl_trace_intern(t, a), nb = nl_trace_intern(t, b);
  GArray *relay_ids = g_array_new(FALSE, FALSE, sizeof(guint32));
  for (guint i = 0; i < s->nodes->len; i++) {
    const NlScnNode *n = g_ptr_array_index(s->nodes, i);
    if (runs_relay(n)) {
      guint32 id = nl_trace_intern(t, n->name);
      g_array_append_val(relay_ids, id);
    }
  }
  for (guint k = 0; k < pt->n; k++) {
    guint32 node = (guint32)(pt->keys[k] >> 32), src = (guint32)pt->keys[k];
    if (node == na || node == nb) {
      const NlScnNode *other = node == na ? sb : sa;
      if (nl__run_node_has(s, other, src, 0)) {
        /* Straight from the other: TCP data and UDP that is not STUN. */
        for (guint c = 0; c < TALLY_N; c++)
          if (c == TALLY_TCP_DATA ||
              (c >= TALLY_UDP && !((c - TALLY_UDP) & TALLY_STUN))) {
            TallyCount n = tally_count(pt, k, c);
            out->direct_bytes += n.bytes;
            out->direct_packets += n.packets;
          }
      } else if (nl__run_is_relay(s, src)) {
        for (guint c = TALLY_UDP; c < TALLY_N; c++)
          if ((c - TALLY_UDP) & TALLY_RELAY_DATA) {
            TallyCount n = tally_count(pt, k, c);
            out->relayed_bytes += n.bytes;
            out->relayed_packets += n.packets;
          }
      }
      continue;
    }
    gboolean at_relay = FALSE;
    for (guint i = 0; i < relay_ids->len; i++)
      at_relay |= g_array_index(relay_ids, guint32, i) == node;
    if (at_relay && (nl__run_node_has(s, sa, src, 0) ||
                     nl__run_node_has(s, sb, src, 0)))
      for (guint c = TALLY_UDP; c < TALLY_N; c++)
        if ((c - TALLY_UDP) & TALLY_RELAY_DATA)
          out->relayed_bytes += tally_count(pt, k, c).bytes;
  }
  g_array_free(relay_ids, TRUE);
}

void nl_run_path_bytes(NlRun *r, const char *a, const char *b,
                       NlRunPathBytes *out) {
  tally_sum(nl__run_scenario(r), nl_run_trace(r), nl__run_path_tally(r), a, b,
            out);
}

void nl__run_path_bytes_in(const NlScenario *s, NlTrace *t, const char *a,
                           const char *b, NlRunPathBytes *out) {
  /* The same tally, made from the delivery records the trace kept. */
  NlPathTally *pt = tally_new();
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p))
    if (rec->kind == NL_TRACE_PKT_DELIVER)
      on_delivery(pt, rec, p);
  tally_sum(s, t, pt, a, b, out);
  nl__path_tally_free(pt);
}

/* ---- expect path ---- */

gboolean nl__run_expect_path_ice(NlRun *r, const NlScnExpect *x, NlTime until,
                                 gboolean *pass, char **why) {
  NlRunIceReport ab, ba;
  nl_run_ice_report(r, x->node, x->peer, until, &ab);
  nl_run_ice_report(r, x->peer, x->node, until, &ba);
  if (ab.outcome == NL_RUN_ICE_NONE && ba.outcome == NL_RUN_ICE_NONE)
    return FALSE;
  const NlRunIceReport *rep = ab.outcome != NL_RUN_ICE_NONE ? &ab : &ba;
  const char *host = rep == &ab ? x->node : x->peer;
  gboolean want_relayed = x->path == NL_SCN_PATH_RELAYED;
  char tb[NL_TIME_STRLEN];
  NlRunPathBytes pb;
  nl_run_path_bytes(r, x->node, x->peer, &pb);
  char *bytes = g_strdup_printf(
      "data on the wire: direct %" G_GUINT64_FORMAT " bytes (%u packets), "
      "relayed %" G_GUINT64_FORMAT " bytes (%u packets, two legs each)",
      pb.direct_bytes, pb.direct_packets, pb.relayed_bytes,
      pb.relayed_packets);
  *pass = FALSE;
  switch (rep->outcome) {
    case NL_RUN_ICE_SELECTED:
      if (ab.outcome == NL_RUN_ICE_SELECTED &&
          ba.outcome == NL_RUN_ICE_SELECTED && ab.relayed != ba.relayed) {
        *why = g_strdup_printf("the agents disagree: %s selected a %s path, "
                               "%s a %s one",
                               x->node, ab.relayed ? "relayed" : "direct",
                               x->peer, ba.relayed ? "relayed" : "direct");
        break;
      }
      *pass = rep->relayed == want_relayed;
      *why = g_strdup_printf("the ICE agent on %s selected %s -> %s, a %s "
                             "path at %s; %s",
                             host, rep->local, rep->remote,
                             rep->relayed ? "relayed" : "direct",
                             nl_time_to_string(rep->at, tb), bytes);
      break;
    case NL_RUN_ICE_FAILED:
      *why = g_strdup_printf("ICE failed on %s at %s: %s", host,
                             nl_time_to_string(rep->at, tb), rep->why);
      break;
    case NL_RUN_ICE_PATH_FAILED:
      *why = g_strdup_printf("the %s path ICE selected on %s (%s -> %s) "
                             "failed at %s: %s",
                             rep->relayed ? "relayed" : "direct", host,
                             rep->local, rep->remote,
                             nl_time_to_string(rep->at, tb), rep->why);
      break;
    default:
      *why = g_strdup_printf("the ICE agent on %s selected no pair", host);
      break;
  }
  g_free(bytes);
  return TRUE;
}

/* One line about the path between @a and @b (see nl_run_report_paths). */
static void report_path(NlRun *r, const char *a, const char *b,
                        GString *out) {
  NlRunIceReport rep;
  const char *host = a;
  if (!nl_run_ice_report(r, a, b, NL_TIME_NEVER, &rep) &&
      rep.outcome == NL_RUN_ICE_NONE) {
    host = b;
    nl_run_ice_report(r, b, a, NL_TIME_NEVER, &rep);
  }
  NlRunPathBytes pb;
  nl_run_path_bytes(r, a, b, &pb);
  g_string_append_printf(out, "path %s %s: ", a, b);
  switch (rep.outcome) {
    case NL_RUN_ICE_SELECTED:
      g_string_append_printf(out, "%s (ICE on %s: %s -> %s)",
                             rep.relayed ? "relayed" : "direct", host,
                             rep.local, rep.remote);
      break;
    case NL_RUN_ICE_PATH_FAILED:
      g_string_append_printf(out, "%s, then failed (ICE on %s: %s -> %s)",
                             rep.relayed ? "relayed" : "direct", host,
                             rep.local, rep.remote);
      break;
    case NL_RUN_ICE_FAILED:
      g_string_append_printf(out, "none (ICE failed on %s)", host);
      break;
    case NL_RUN_ICE_PENDING:
      g_string_append_printf(out, "none (ICE on %s selected no pair)", host);
      break;
    default:
      g_string_append(out, "no ICE agent reported");
      break;
  }
  g_string_append_printf(out,
                         "; data on the wire: %" G_GUINT64_FORMAT
                         " bytes direct (%u packets), %" G_GUINT64_FORMAT
                         " bytes relayed (%u packets, two legs each)\n",
                         pb.direct_bytes, pb.direct_packets, pb.relayed_bytes,
                         pb.relayed_packets);
}

static void add_pair(GPtrArray *pairs, const char *a, const char *b) {
  for (guint i = 0; i + 1 < pairs->len; i += 2) {
    const char *x = g_ptr_array_index(pairs, i), *y =
                                                     g_ptr_array_index(pairs,
                                                                       i + 1);
    if ((strcmp(x, a) == 0 && strcmp(y, b) == 0) ||
        (strcmp(x, b) == 0 && strcmp(y, a) == 0))
      return;
  }
  g_ptr_array_add(pairs, g_strdup(a));
  g_ptr_array_add(pairs, g_strdup(b));
}

void nl_run_report_paths(NlRun *r, GString *out) {
  NlTrace *t = nl_run_trace(r);
  const NlScenario *s = nl__run_scenario(r);
  /* The ICE sessions in the trace: which host each agent name is on, then
   * the hosts whose agents reported about each other, in the order of
   * their first report. */
  GHashTable *host_of = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                              g_free);
  GPtrArray *reports = g_ptr_array_new_with_free_func(g_free);
  IceLines il;
  IceLine l;
  char ev[32], name[64], peer[64];
  ice_lines_init(&il, r);
  while (ice_lines_next(&il, &l)) {
    if (!ice_event(l.p, l.len, ev, sizeof ev))
      continue;
    field((const char *)l.p, l.len, "name", name, sizeof name);
    if (name[0] != '\0' && !g_hash_table_contains(host_of, name))
      g_hash_table_insert(host_of, g_strdup(name),
                          g_strdup(nl_trace_name(t, l.node)));
    if (strcmp(ev, "selected") != 0)
      continue;
    field((const char *)l.p, l.len, "peer", peer, sizeof peer);
    g_ptr_array_add(reports, g_strdup(nl_trace_name(t, l.node)));
    g_ptr_array_add(reports, g_strdup(peer));
  }
  GPtrArray *pairs = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i + 1 < reports->len; i += 2) {
    const char *b = g_hash_table_lookup(host_of,
                                        g_ptr_array_index(reports, i + 1));
    if (b != NULL)
      add_pair(pairs, g_ptr_array_index(reports, i), b);
  }
  /* And every pair an `expect path` names. */
  for (guint i = 0; i < s->expects->len; i++) {
    const NlScnExpect *x = g_ptr_array_index(s->expects, i);
    if (x->kind == NL_SCN_EXPECT_PATH)
      add_pair(pairs, x->node, x->peer);
  }
  for (guint i = 0; i + 1 < pairs->len; i += 2)
    report_path(r, g_ptr_array_index(pairs, i),
                g_ptr_array_index(pairs, i + 1), out);
  g_ptr_array_unref(pairs);
  g_ptr_array_unref(reports);
  g_hash_table_destroy(host_of);
}
