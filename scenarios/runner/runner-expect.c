/* Expectations in one pass over the trace (see runner-expect.h).
 *
 * Each expectation, and each copy of a group, is a Leaf with the few
 * numbers its check needs (a line seen, a count, a sum).  A program's
 * process and statistics records are shared by every expectation on it:
 * its ProcState holds what the checks of exit codes, counters and blocked
 * calls read (the last start, end, blocked report and statistics).
 *
 * Records are found their leaves through the names they carry: every name
 * an expectation mentions (a node, or "node/program") has an Entry, and
 * the trace's interned ids are resolved to entries once each (ids only
 * grow, and an id never changes its name), so filing a record costs an
 * array lookup and the work of the expectations it concerns.  While
 * records come, names are looked up, never interned: the index adds
 * nothing to the trace, so the trace is what it would be without it (a
 * failed output expectation's explanation interns its program's name when
 * it is checked, as the evaluation that read the trace did). */
#include "scenarios/runner/runner-expect.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "scenarios/runner/explain.h"
#include "scenarios/runner/runner-path.h"
#include "sim/net/wire.h"

typedef struct Entry Entry;

typedef struct {
  Entry *node; /* the node its records must come from */
  char *stats; /* the last statistics record */
  char *last_proc; /* the last process record that is not "blocked" */
  char *last_blocked;
  NlTime started, ended, blocked_at, blocked_since;
} ProcState;

/* A text that expectations look for in one program's lines (stdout or
 * stderr): shared by every expectation on the same program and text (a
 * group's copy and a line of its own), looked for until one line has it. */
typedef struct {
  gsize len;
  NlTraceKind kind;
  gboolean seen;
  char text[]; /* beside the rest: one cache line to read, not two */
} Needle;

typedef struct {
  const NlScnExpect *x;
  Entry *node;       /* where its records come from */
  ProcState *proc;   /* its program's, or NULL */
  gboolean seen;     /* tcp: a connection reached the state */
  Needle *needle;    /* stdout, stderr: its text */
  gint64 total;      /* received: count; path: bits; filtered: count */
  char *arrow;       /* tcp: "-> STATE" */
  GHashTable *from;  /* received, path: source address -> class + 1 */
} Leaf;

struct Entry {
  Entry *proc_node; /* proc->node */
  GPtrArray *out;   /* Needles in this program's stdout or stderr */
  guint unseen;     /* needles not seen yet */
  ProcState *proc;  /* when the name is a program ("node/program") */
  GPtrArray *deliver, *tcp, *drop; /* leaves on this node's records */
};

/* What on_line reads for a printed line, in 8 bytes by the line's
 * program (its trace id), so that a line touches one line of memory that
 * holds eight programs' slots (with 1,000 programs, each line found the
 * program's entry pointer, the entry and the node's entry pointer out of
 * cache, three lines): whether an expectation reads the program's lines,
 * from which node (a program's name "node/program" names one node, and a
 * name has one id), and what its needles need: none left, or the one
 * left and short, whose first byte the line must hold (holds() looks for
 * it first), or the whole check (match_needles). */
enum {
  LINE_UNKNOWN,     /* not asked yet */
  LINE_IGNORED,     /* no output expectation names the program */
  LINE_NODE_UNSEEN, /* one does; no line came from its node yet */
  LINE_READ,        /* one does: the lines from node `node` */
};
/* LineSlot.check, when an expectation reads the lines: the kind of the
 * one needle left (1 to 16 bytes long: len, c), or one of these. */
enum {
  CHECK_NONE = 0xff, /* every needle seen */
  CHECK_ALL = 0xfe,  /* match_needles decides */
};
typedef struct {
  guint32 node;
  guint8 state; /* LINE_* */
  guint8 check;
  guint8 len;
  char c;
} LineSlot;
G_STATIC_ASSERT(sizeof(LineSlot) == 8);
G_STATIC_ASSERT((int)NL_TRACE_N_KINDS < (int)CHECK_ALL);

struct NlExpectIndex {
  NlExpectLastLine last; /* first: see nl__expect_reads_line */
  LineSlot *lines;       /* by trace id, n_lines of them */
  guint n_lines;
  NlRun *run;
  const NlScenario *s;
  NlTrace *trace;
  GHashTable *entries; /* name -> Entry */
  /* The leaves in one block, a group's copies side by side (a thousand
   * copies: no allocation and no table entry each), and where each
   * scenario expectation's begin: NlScnExpect * -> index + 1. */
  Leaf *leaves;
  guint n_leaves;
  GHashTable *first_leaf;
  GPtrArray *by_id;    /* trace id -> Entry, or &none, or NULL: unresolved */
};
G_STATIC_ASSERT(offsetof(NlExpectIndex, last) == 0);

static Entry none;

static void proc_state_free(ProcState *ps) {
  g_free(ps->stats);
  g_free(ps->last_proc);
  g_free(ps->last_blocked);
  g_free(ps);
}

static void needle_free(gpointer p) {
  g_free(p);
}

static void entry_free(gpointer p) {
  Entry *e = p;
  if (e->proc)
    proc_state_free(e->proc);
  if (e->out)
    g_ptr_array_set_free_func(e->out, needle_free);
  for (GPtrArray **a = (GPtrArray *[]){e->out, e->deliver, e->tcp, e->drop},
                 **end = a + 4;
       a < end; a++)
    if (*a)
      g_ptr_array_free(*a, TRUE);
  g_free(e);
}

static void leaf_clear(Leaf *l) {
  g_free(l->arrow);
  if (l->from)
    g_hash_table_destroy(l->from);
}

/* A new entry for @name (transfer full: the table's key). */
static Entry *entry_insert(NlExpectIndex *ix, char *name) {
  Entry *e = g_new0(Entry, 1);
  g_hash_table_insert(ix->entries, name, e);
  return e;
}

static Entry *entry_named(NlExpectIndex *ix, const char *name) {
  Entry *e = g_hash_table_lookup(ix->entries, name);
  return e != NULL ? e : entry_insert(ix, g_strdup(name));
}

/* entry_named, @name given (transfer full). */
static Entry *entry_named_take(NlExpectIndex *ix, char *name) {
  Entry *e = g_hash_table_lookup(ix->entries, name);
  if (e == NULL)
    return entry_insert(ix, name);
  g_free(name);
  return e;
}

static void add_to(GPtrArray **list, Leaf *l) {
  if (*list == NULL)
    *list = g_ptr_array_new();
  g_ptr_array_add(*list, l);
}

/* The needle of @pe's lines that @x looks for (shared). */
static Needle *needle_for(Entry *pe, const NlScnExpect *x) {
  NlTraceKind kind = x->kind == NL_SCN_EXPECT_STDOUT ? NL_TRACE_STDOUT
                                                     : NL_TRACE_STDERR;
  if (pe->out == NULL)
    pe->out = g_ptr_array_new();
  for (guint i = 0; i < pe->out->len; i++) {
    Needle *nd = g_ptr_array_index(pe->out, i);
    if (nd->kind == kind && strcmp(nd->text, x->text) == 0)
      return nd;
  }
  gsize len = strlen(x->text);
  Needle *nd = g_malloc0(sizeof(Needle) + len + 1);
  memcpy(nd->text, x->text, len);
  nd->len = len;
  nd->kind = kind;
  g_ptr_array_add(pe->out, nd);
  pe->unseen++;
  return nd;
}

/* The kinds @x reads. */
static uint64_t leaf_kinds(const NlScnExpect *x) {
  uint64_t k = 0;
  if (x->program != NULL)
    k |= (1u << NL_TRACE_PROC) | (1u << NL_TRACE_STATS);
  switch (x->kind) {
    case NL_SCN_EXPECT_STDOUT:
      k |= 1u << NL_TRACE_STDOUT;
      break;
    case NL_SCN_EXPECT_STDERR:
      k |= 1u << NL_TRACE_STDERR;
      break;
    case NL_SCN_EXPECT_RECEIVED:
    case NL_SCN_EXPECT_PATH:
      k |= 1u << NL_TRACE_PKT_DELIVER;
      break;
    case NL_SCN_EXPECT_TCP:
      k |= 1u << NL_TRACE_TCP_STATE;
      break;
    case NL_SCN_EXPECT_FILTERED:
      k |= 1u << NL_TRACE_PKT_DROP;
      break;
    default:
      break;
  }
  return k;
}

static uint64_t add_leaf(NlExpectIndex *ix, const NlScnExpect *x) {
  Leaf *l = &ix->leaves[ix->n_leaves++];
  l->x = x;
  if (x->node == NULL)
    return 0;
  l->node = entry_named(ix, x->node);
  if (x->program != NULL) {
    /* (g_strconcat: a thousand copies of a group are a thousand names.) */
    Entry *pe =
        entry_named_take(ix, g_strconcat(x->node, "/", x->program, NULL));
    if (pe->proc == NULL) {
      pe->proc = g_new0(ProcState, 1);
      pe->proc->node = pe->proc_node = l->node;
      pe->proc->started = pe->proc->ended = pe->proc->blocked_at =
          NL_TIME_NEVER;
    }
    l->proc = pe->proc;
    if (x->kind == NL_SCN_EXPECT_STDOUT || x->kind == NL_SCN_EXPECT_STDERR)
      l->needle = needle_for(pe, x);
  }
  switch (x->kind) {
    case NL_SCN_EXPECT_RECEIVED:
    case NL_SCN_EXPECT_PATH:
      l->from = g_hash_table_new(g_direct_hash, g_direct_equal);
      add_to(&l->node->deliver, l);
      break;
    case NL_SCN_EXPECT_TCP:
      l->arrow = g_strdup_printf("-> %s", x->text);
      add_to(&l->node->tcp, l);
      break;
    case NL_SCN_EXPECT_FILTERED:
      add_to(&l->node->drop, l);
      break;
    default:
      break;
  }
  return leaf_kinds(x);
}

/* The entry of trace name @id, or NULL when no expectation names it. */
static inline Entry *entry_of(NlExpectIndex *ix, guint32 id) {
  if (G_LIKELY(id < ix->by_id->len)) {
    Entry *e = g_ptr_array_index(ix->by_id, id);
    if (G_LIKELY(e != NULL))
      return e == &none ? NULL : e;
  } else {
    g_ptr_array_set_size(ix->by_id, id + 1);
  }
  Entry *e = g_hash_table_lookup(ix->entries, nl_trace_name(ix->trace, id));
  g_ptr_array_index(ix->by_id, id) = e ? e : &none;
  return e;
}

static gboolean text_starts(const guint8 *p, guint32 len, const char *word) {
  size_t n = strlen(word);
  return len >= n && memcmp(p, word, n) == 0;
}

/* Whether @n bytes at @hay hold the @m bytes of @nd, as memmem: a short
 * needle found by its first byte (memchr) and compared there (at most @m
 * times the line's bytes), which for a line of a hundred bytes is a few
 * times cheaper than memmem's setup; a long one by memmem. */
static gboolean holds(const guint8 *hay, gsize n, const char *nd, gsize m) {
  if (m == 0)
    return TRUE;
  if (m > n)
    return FALSE;
  if (m > 16)
    return memmem(hay, n, nd, m) != NULL;
  const guint8 *end = hay + (n - m + 1); /* past the last place it can start */
  for (const guint8 *q = hay; q < end; q++) {
    q = memchr(q, (guchar)nd[0], (gsize)(end - q));
    if (q == NULL)
      return FALSE;
    if (memcmp(q + 1, nd + 1, m - 1) == 0)
      return TRUE;
  }
  return FALSE;
}

static void on_proc(ProcState *ps, const NlTraceRecord *rec,
                    const guint8 *p) {
  if (rec->kind == NL_TRACE_STATS) {
    g_free(ps->stats);
    ps->stats = g_strndup((const char *)p, rec->len);
    return;
  }
  gboolean blocked = text_starts(p, rec->len, "blocked");
  if (text_starts(p, rec->len, "start ")) {
    ps->started = rec->time;
    ps->ended = NL_TIME_NEVER;
    ps->blocked_at = NL_TIME_NEVER;
  } else if (blocked) {
    ps->blocked_at = rec->time;
    ps->blocked_since = (NlTime)rec->id;
    g_free(ps->last_blocked);
    ps->last_blocked = g_strndup((const char *)p, rec->len);
  } else if (ps->ended == NL_TIME_NEVER) {
    ps->ended = rec->time;
  }
  if (!blocked) {
    g_free(ps->last_proc);
    ps->last_proc = g_strndup((const char *)p, rec->len);
  }
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

/* Where a datagram from @src comes from for @l: 1 its peer (or the peer's
 * NAT), 2 a TURN relay, 0 neither; worked out once per address. */
static guint source_class(NlExpectIndex *ix, Leaf *l, uint32_t src) {
  gpointer v = g_hash_table_lookup(l->from, GUINT_TO_POINTER(src));
  if (v != NULL)
    return GPOINTER_TO_UINT(v) - 1;
  guint c = nl__run_node_has(ix->s, l->x->peer_ref, src, 0) ? 1
            : l->x->kind == NL_SCN_EXPECT_PATH && nl__run_is_relay(ix->s, src)
                ? 2
                : 0;
  g_hash_table_insert(l->from, GUINT_TO_POINTER(src), GUINT_TO_POINTER(c + 1));
  return c;
}

/* What the line slot of a program whose lines are read says of @e's
 * needles (see LineSlot.check). */
static void slot_check(LineSlot *ls, const Entry *e) {
  ls->check = e->unseen == 0 ? CHECK_NONE : CHECK_ALL;
  if (e->unseen != 1)
    return;
  for (guint i = 0; i < e->out->len; i++) {
    const Needle *nd = g_ptr_array_index(e->out, i);
    if (nd->seen)
      continue;
    if (nd->len >= 1 && nd->len <= 16) {
      ls->check = (guint8)nd->kind;
      ls->len = (guint8)nd->len;
      ls->c = nd->text[0];
    }
    return;
  }
}

/* Makes the line slots up to @peer's (trace id), LINE_UNKNOWN. */
G_GNUC_NO_INLINE static void line_slots_grow(NlExpectIndex *ix, guint32 peer) {
  guint n = MAX(peer + 1, 2 * ix->n_lines);
  ix->lines = g_renew(LineSlot, ix->lines, n);
  memset(ix->lines + ix->n_lines, 0, (n - ix->n_lines) * sizeof *ix->lines);
  ix->n_lines = n;
}

/* Whether an expectation reads the line @rec, for a slot that does not
 * know yet (LINE_UNKNOWN, or LINE_NODE_UNSEEN): the entries say, and the
 * slot keeps what they said. */
G_GNUC_NO_INLINE static gboolean line_resolve(NlExpectIndex *ix, LineSlot *ls,
                                              const NlTraceRecord *rec) {
  Entry *e = entry_of(ix, rec->peer);
  if (ls->state == LINE_UNKNOWN) {
    if (e == NULL || e->out == NULL) {
      ls->state = LINE_IGNORED;
      return FALSE;
    }
    ls->state = LINE_NODE_UNSEEN;
    slot_check(ls, e);
  }
  if (entry_of(ix, rec->node) != e->proc_node)
    return FALSE;
  /* The node's name has this id and no other. */
  ls->state = LINE_READ;
  ls->node = rec->node;
  return TRUE;
}

/* Marks seen each needle of @e that the line @p of @rec holds, and tells
 * its slot @ls. */
G_GNUC_NO_INLINE static void match_needles(Entry *e, LineSlot *ls,
                                           const NlTraceRecord *rec,
                                           const guint8 *p) {
  /* As g_strstr_len: the line up to a NUL byte.  A line seldom has
   * one, and seldom holds a needle: the needles are looked for in the
   * whole line and the NUL only once one is found there (a needle has
   * no NUL, so one found before the line's first NUL is in the line;
   * one found past it is looked for again before it). */
  gsize len = rec->len;
  gboolean cut = FALSE;
  for (guint i = 0; i < e->out->len; i++) {
    Needle *nd = g_ptr_array_index(e->out, i);
    if (nd->seen || nd->kind != rec->kind ||
        !holds(p, len, nd->text, nd->len))
      continue;
    if (!cut) {
      cut = TRUE;
      len = strnlen((const char *)p, rec->len);
      if (len < rec->len && !holds(p, len, nd->text, nd->len))
        continue;
    }
    nd->seen = TRUE;
    e->unseen--;
  }
  slot_check(ls, e);
}

/* Whether the @n bytes at @p hold the byte @c, as memchr: with SSE2
 * (part of x86-64), 64 bytes a step, then 16, then the 16 that end the
 * bytes; fewer than 16 one at a time.  So a line of a hundred bytes takes
 * a few dozen instructions and no call (on_line saves no register). */
static inline gboolean has_byte(const guint8 *p, gsize n, char c) {
#ifdef __SSE2__
  if (n >= 16) {
    const __m128i want = _mm_set1_epi8(c);
#define NL_EQ16(at)                                                            \
  _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + (at))), want)
    gsize i = 0;
    for (; i + 64 <= n; i += 64)
      if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(NL_EQ16(i), NL_EQ16(i + 16)),
                                         _mm_or_si128(NL_EQ16(i + 32),
                                                      NL_EQ16(i + 48)))) != 0)
        return TRUE;
    for (; i + 16 <= n; i += 16)
      if (_mm_movemask_epi8(NL_EQ16(i)) != 0)
        return TRUE;
    return i < n && _mm_movemask_epi8(NL_EQ16(n - 16)) != 0;
#undef NL_EQ16
  }
#endif
  for (gsize i = 0; i < n; i++)
    if (p[i] == (guint8)c)
      return TRUE;
  return FALSE;
}

/* match_needles() for the line @p of @rec of the program whose slot is
 * @ls. */
G_GNUC_NO_INLINE static void line_match(NlExpectIndex *ix, LineSlot *ls,
                                        const NlTraceRecord *rec,
                                        const guint8 *p) {
  match_needles(entry_of(ix, rec->peer), ls, rec, p);
}

/* The rest of on_line's check of the line @p of @rec, which an
 * expectation reads. */
static inline void line_check(NlExpectIndex *ix, LineSlot *ls,
                              const NlTraceRecord *rec, const guint8 *p) {
  if (ls->check != CHECK_ALL && !has_byte(p, rec->len - ls->len + 1, ls->c))
    return;
  line_match(ix, ls, rec, p);
}

/* Tells the run about the line @rec (keep_line asks next), and checks it
 * against the needles left when an expectation reads it (@reads). */
static inline void line_seen(NlExpectIndex *ix, LineSlot *ls,
                             const NlTraceRecord *rec, const guint8 *p,
                             gboolean reads) {
  ix->last.peer = rec->peer;
  ix->last.node = rec->node;
  ix->last.reads = reads;
  /* Most lines: none left, or one left which the line cannot hold, as
   * the slot's copy of its head tells: the other stream, longer than the
   * line, or (line_check) its first byte nowhere it could start. */
  if (reads && (ls->check == CHECK_ALL ||
                (ls->check == rec->kind && ls->len <= rec->len)))
    line_check(ix, ls, rec, p);
}

/* on_line for a program whose slot is not LINE_READ yet. */
G_GNUC_NO_INLINE static void
on_line_slow(NlExpectIndex *ix, const NlTraceRecord *rec, const guint8 *p) {
  if (rec->peer >= ix->n_lines)
    line_slots_grow(ix, rec->peer);
  LineSlot *ls = &ix->lines[rec->peer];
  gboolean reads = ls->state == LINE_READ      ? rec->node == ls->node
                   : ls->state == LINE_IGNORED ? FALSE
                                               : line_resolve(ix, ls, rec);
  line_seen(ix, ls, rec, p, reads);
}

/* The listener of printed lines: apart from on_record, so that a line's
 * check is a small function that saves no register on the printing
 * program's stack (out of cache) and calls nothing for most lines. */
static void on_line(void *data, const NlTraceRecord *rec, const guint8 *p) {
  NlExpectIndex *ix = data;
  LineSlot *ls;
  if (G_UNLIKELY(rec->peer >= ix->n_lines) ||
      (ls = &ix->lines[rec->peer])->state != LINE_READ) {
    on_line_slow(ix, rec, p);
    return;
  }
  line_seen(ix, ls, rec, p, rec->node == ls->node);
}

/* The listener of the other records. */
static void on_record(void *data, const NlTraceRecord *rec,
                      const guint8 *p) {
  NlExpectIndex *ix = data;
  switch (rec->kind) {
    case NL_TRACE_PROC:
    case NL_TRACE_STATS: {
      Entry *e = entry_of(ix, rec->peer);
      if (e != NULL && e->proc != NULL && entry_of(ix, rec->node) == e->proc_node)
        on_proc(e->proc, rec, p);
      break;
    }
    case NL_TRACE_PKT_DELIVER: {
      Entry *e = entry_of(ix, rec->node);
      if (e == NULL || e->deliver == NULL)
        break;
      uint32_t src = 0;
      guint n = payload_len(p, rec->len, &src);
      if (n == 0)
        break;
      for (guint i = 0; i < e->deliver->len; i++) {
        Leaf *l = g_ptr_array_index(e->deliver, i);
        guint c = source_class(ix, l, src);
        if (l->x->kind == NL_SCN_EXPECT_RECEIVED) {
          if (c == 1)
            l->total += l->x->count_packets ? 1 : n;
        } else if (c == 1) {
          l->total |= 1; /* straight from the peer (or its NAT) */
        } else if (c == 2) {
          l->total |= 2; /* from a TURN relay */
        }
      }
      break;
    }
    case NL_TRACE_TCP_STATE: {
      Entry *e = entry_of(ix, rec->node);
      if (e == NULL || e->tcp == NULL)
        break;
      for (guint i = 0; i < e->tcp->len; i++) {
        Leaf *l = g_ptr_array_index(e->tcp, i);
        if (!l->seen && g_strstr_len((const char *)p, rec->len, l->arrow))
          l->seen = TRUE;
      }
      break;
    }
    case NL_TRACE_PKT_DROP: {
      /* The NAT's own refusals, made as packets arrive (a drop on the
       * way out is the link's or a partition's). */
      if (rec->aux & NL_DROP_OUTGOING)
        break;
      Entry *e = entry_of(ix, rec->node);
      if (e == NULL || e->drop == NULL)
        break;
      for (guint i = 0; i < e->drop->len; i++) {
        Leaf *l = g_ptr_array_index(e->drop, i);
        if ((l->x->drop_reasons >> nl_trace_drop_reason(rec->aux)) & 1)
          l->total++;
      }
      break;
    }
    default:
      break;
  }
}

gboolean nl__expect_reads_lines(NlExpectIndex *ix, guint32 peer,
                                guint32 node) {
  /* Asked of each line right after on_record saw it: its answer. */
  if (peer == ix->last.peer && node == ix->last.node)
    return ix->last.reads;
  Entry *e = entry_of(ix, peer);
  return e != NULL && e->out != NULL && entry_of(ix, node) == e->proc_node;
}

/* The sources on_line reads (nl_trace_listen_sources): the programs an
 * output expectation names, as nl__expect_reads_lines says. */
static gboolean line_sources(void *data, NlTraceKind kind, guint32 node,
                             guint32 peer) {
  return nl__expect_reads_lines(data, peer, node);
}

NlExpectIndex *nl__expect_index_new(NlRun *r) {
  NlExpectIndex *ix = g_new0(NlExpectIndex, 1);
  ix->run = r;
  ix->s = nl__run_scenario(r);
  ix->trace = nl_run_trace(r);
  ix->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                      entry_free);
  guint n = 0;
  for (guint i = 0; i < ix->s->expects->len; i++) {
    const NlScnExpect *x = g_ptr_array_index(ix->s->expects, i);
    n += x->copies != NULL ? x->copies->len : 1;
  }
  ix->leaves = g_new0(Leaf, MAX(n, 1));
  ix->first_leaf = g_hash_table_new(g_direct_hash, g_direct_equal);
  ix->by_id = g_ptr_array_new();
  ix->last.peer = ix->last.node = G_MAXUINT32; /* none yet */
  uint64_t kinds = 0;
  for (guint i = 0; i < ix->s->expects->len; i++) {
    const NlScnExpect *x = g_ptr_array_index(ix->s->expects, i);
    g_hash_table_insert(ix->first_leaf, (gpointer)x,
                        GUINT_TO_POINTER(ix->n_leaves + 1));
    if (x->copies == NULL) {
      kinds |= add_leaf(ix, x);
      continue;
    }
    for (guint j = 0; j < x->copies->len; j++)
      kinds |= add_leaf(ix, g_ptr_array_index(x->copies, j));
  }
  const uint64_t lines = (1u << NL_TRACE_STDOUT) | (1u << NL_TRACE_STDERR);
  if (kinds & lines)
    nl_trace_listen_sources(ix->trace, kinds & lines, on_line, line_sources,
                            ix);
  if (kinds & ~lines)
    nl_trace_listen(ix->trace, kinds & ~lines, on_record, ix);
  return ix;
}

void nl__expect_index_free(NlExpectIndex *ix) {
  if (ix == NULL)
    return;
  for (guint i = 0; i < ix->n_leaves; i++)
    leaf_clear(&ix->leaves[i]);
  g_free(ix->leaves);
  g_hash_table_destroy(ix->first_leaf);
  g_hash_table_destroy(ix->entries);
  g_ptr_array_free(ix->by_id, TRUE);
  g_free(ix->lines);
  g_free(ix);
}

/* ---- checking ---- */

/* Whether leaf @l holds at @until; *why_out says what happened when it does
 * not, and (with @detail_out) *detail_out explains a failed output line. */
static gboolean leaf_eval(NlExpectIndex *ix, Leaf *l, NlTime until,
                          char **why_out, char **detail_out) {
  const NlScnExpect *x = l->x;
  const ProcState *ps = l->proc;
  static const ProcState no_proc = {.started = NL_TIME_NEVER,
                                    .ended = NL_TIME_NEVER,
                                    .blocked_at = NL_TIME_NEVER};
  if (ps == NULL)
    ps = &no_proc;
  gboolean pass = FALSE;
  char *why = NULL;
  switch (x->kind) {
    case NL_SCN_EXPECT_STDOUT:
    case NL_SCN_EXPECT_STDERR:
      pass = x->negate ? !l->needle->seen : l->needle->seen;
      if (!pass) {
        why = g_strdup(x->negate ? "the line was printed"
                                 : "no such line was printed");
        if (detail_out != NULL) {
          char *pname = g_strdup_printf("%s/%s", x->node, x->program);
          *detail_out = nl__run_explain_output(
              ix->trace, nl_trace_intern(ix->trace, pname),
              x->kind == NL_SCN_EXPECT_STDOUT ? NL_TRACE_STDOUT
                                              : NL_TRACE_STDERR,
              x->text, x->negate, until);
          g_free(pname);
        }
      }
      break;
    case NL_SCN_EXPECT_EXIT: {
      int code;
      char tb[NL_TIME_STRLEN];
      const char *last_proc = ps->last_proc;
      if (last_proc && sscanf(last_proc, "exit %d", &code) == 1) {
        pass = !x->has_code || nl_scn_cmp_holds(x->cmp, code, x->value);
        if (!pass)
          why = g_strdup_printf("it exited with %d", code);
        else if (x->within != NL_TIME_NEVER && ps->started != NL_TIME_NEVER &&
                 ps->ended - ps->started > x->within) {
          pass = FALSE;
          why = g_strdup_printf("it exited %ss after it started",
                                nl_time_to_string(ps->ended - ps->started, tb));
        }
      } else if (ps->last_blocked != NULL) {
        why = g_strdup_printf("it did not exit: %s", ps->last_blocked);
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
      const char *stats = ps->stats;
      const char *at = NULL;
      if (stats != NULL) {
        char *pat = g_strdup_printf(" %s", keys[x->kind]);
        char *padded = g_strdup_printf(" %s", stats);
        const char *hit = strstr(padded, pat);
        if (hit != NULL)
          at = stats + (hit - padded) + strlen(keys[x->kind]);
        g_free(pat);
        if (at != NULL) {
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
        }
        g_free(padded);
      }
      if (at == NULL)
        why = g_strdup(ps->started == NL_TIME_NEVER
                           ? "it never started"
                       : ps->ended == NL_TIME_NEVER
                           ? "it has not ended yet (its counters are "
                             "recorded when it ends)"
                           : "it made no call into the lab");
      break;
    }
    case NL_SCN_EXPECT_BLOCKED: {
      char tb[NL_TIME_STRLEN];
      /* At the end of the run the record comes just before the end. */
      gboolean now = ps->blocked_at != NL_TIME_NEVER &&
                     ps->blocked_at == until &&
                     (ps->ended == NL_TIME_NEVER || ps->ended == until);
      if (!now) {
        why = g_strdup(ps->started == NL_TIME_NEVER ? "it never started"
                       : ps->ended != NL_TIME_NEVER  ? "it had ended"
                                                     : "it was not blocked");
      } else if (x->text != NULL) {
        char *in = g_strdup_printf(" in %s() ", x->text);
        pass = strstr(ps->last_blocked, in) != NULL;
        g_free(in);
      } else {
        pass = TRUE;
      }
      if (now && !pass)
        why = g_strdup_printf("it was %s", ps->last_blocked);
      if (pass && x->has_since &&
          !nl_scn_cmp_holds(x->since_cmp, ps->blocked_since, x->since)) {
        pass = FALSE;
        why = g_strdup_printf("it was blocked since %ss: %s",
                              nl_time_to_string(ps->blocked_since, tb),
                              ps->last_blocked);
      }
      break;
    }
    case NL_SCN_EXPECT_RECEIVED:
    case NL_SCN_EXPECT_FILTERED:
      pass = nl_scn_cmp_holds(x->cmp, l->total, x->value);
      if (!pass)
        why = g_strdup_printf("the count was %" G_GINT64_FORMAT, l->total);
      break;
    case NL_SCN_EXPECT_TCP:
      pass = l->seen;
      if (!pass)
        why = g_strdup_printf("no connection reached %s", x->text);
      break;
    case NL_SCN_EXPECT_PATH:
      /* What an ICE agent on either host selected decides (runner-path.c);
       * without one, the packets do.  Direct: data came from the peer
       * itself (through NATs); relayed: data came only through a TURN
       * server. */
      if (nl__run_expect_path_ice(ix->run, x, until, &pass, &why))
        break;
      pass = x->path == NL_SCN_PATH_DIRECT ? (l->total & 1) != 0
                                           : l->total == 2;
      if (!pass)
        why = g_strdup(l->total == 0  ? "no data arrived from the peer at all"
                       : l->total & 1 ? "data arrived directly from the peer"
                                      : "data arrived only through a relay");
      break;
    default:
      why = g_strdup("unknown expectation");
  }
  *why_out = why;
  return pass;
}

/* A group holds when at least at_least of its copies do; its report
 * names how many held and the first copies that did not.  Only the first
 * failing copy is explained (its detail is the one shown). */
static gboolean group_eval(NlExpectIndex *ix, const NlScnExpect *x,
                           Leaf *copies, NlTime until, char **why,
                           char **detail) {
  guint n = x->copies->len, held = 0, shown = 0;
  GString *failed = g_string_new(NULL);
  char *first_why = NULL;
  for (guint i = 0; i < n; i++) {
    const NlScnExpect *c = g_ptr_array_index(x->copies, i);
    Leaf *l = &copies[i];
    char *w = NULL;
    if (leaf_eval(ix, l, until, &w, *detail == NULL ? detail : NULL)) {
      held++;
    } else {
      if (shown++ < 5)
        g_string_append_printf(failed, "%s%s%s%s", failed->len ? ", " : "",
                               c->node, c->program ? "/" : "",
                               c->program ? c->program : "");
      if (first_why == NULL)
        first_why = g_strdup(w);
    }
    g_free(w);
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

gboolean nl__expect_eval(NlExpectIndex *ix, const NlScnExpect *x,
                         NlTime until, char **why, char **detail) {
  guint at = GPOINTER_TO_UINT(g_hash_table_lookup(ix->first_leaf, x));
  g_return_val_if_fail(at != 0, FALSE);
  Leaf *l = &ix->leaves[at - 1];
  if (x->copies != NULL)
    return group_eval(ix, x, l, until, why, detail);
  return leaf_eval(ix, l, until, why, detail);
}
