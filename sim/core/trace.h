/* The trace: one append-only record of everything that happens in a run.
 * Timelines, captures, logs, checks and grades are made from it, never from
 * live simulator state.
 *
 * Records are kept in a compact binary form (a 32-byte header and the raw
 * payload: wire bytes for packets, UTF-8 text otherwise) and formatted only
 * when an output asks for it.
 */
#ifndef NL_TRACE_H
#define NL_TRACE_H

#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "sim/core/event.h"

G_BEGIN_DECLS

typedef struct NlTrace NlTrace;

/* X(ENUM, "name", payload): payload is PKT (wire bytes) or TEXT. */
#define NL_TRACE_KIND_MAP(X)                                                   \
  X(NODE, "node", TEXT)           /* a lane: node declared; text = its kind */ \
  X(PKT_SEND, "send", PKT)        /* node puts a packet on a link to peer */   \
  X(PKT_RECV, "recv", PKT)        /* node takes it off the link from peer */   \
  X(PKT_DROP, "drop", PKT)        /* aux = NlDropReason */                     \
  X(PKT_DELIVER, "deliver", PKT)  /* handed to a socket or protocol */         \
  X(NAT_XLATE, "translate", PKT)  /* a NAT rewrote a packet (new bytes) */     \
  X(NAT_MAP, "mapping", TEXT)     /* mapping created/refreshed/expired */      \
  X(NAT_TABLE, "nat-table", TEXT) /* a snapshot of a NAT's table */            \
  X(CALL, "call", TEXT)           /* a socket call and its result */           \
  X(TCP_STATE, "tcp", TEXT)       /* "ESTABLISHED -> FIN_WAIT_1 ..." */        \
  X(PROC, "proc", TEXT)           /* process started, exited, crashed */       \
  X(STDOUT, "stdout", TEXT)       /* one line a program wrote */               \
  X(STDERR, "stderr", TEXT)                                                    \
  X(STDIN, "stdin", TEXT)         /* a line typed into a program */            \
  X(LINK, "link", TEXT)           /* link up/down/changed */                   \
  X(NOTE, "note", TEXT)           /* an annotation from the scenario */        \
  X(CHECK, "expect", TEXT)        /* an expectation and its outcome */         \
  X(STATS, "stats", TEXT)         /* counters a component reports */        \
  X(TOPOLOGY, "topology", TEXT)   /* the world as built; aux = NlTopoKind */ \
  X(BLOCK, "block", TEXT)         /* a call waits: text = the call */

typedef enum {
#define NL_X(e, s, p) NL_TRACE_##e,
  NL_TRACE_KIND_MAP(NL_X)
#undef NL_X
  NL_TRACE_N_KINDS
} NlTraceKind;

/* What a TOPOLOGY record describes.  The world builder records the world
 * once, before anything runs, so that outputs (the topology picture, the
 * capture's interfaces) need nothing but the trace.  Text is
 * "key=value" words:
 *   CLOCK    node 0; "realtime-epoch=SECONDS": programs' CLOCK_REALTIME
 *            reads this many seconds since 1970 at virtual time 0;
 *   NETWORK  node = the network's name; "prefixes=P,... [PROPERTY=V...]";
 *   LINK     node = the node, peer = the network; "ifname=eth0
 *            addr=A/LEN role=link|inside|outside mtu=N [PROPERTY=V...]",
 *            aux's high byte = the interface's index (as
 *            if_nametoindex: lo is 1, eth0 2);
 *   NAT      node = the NAT or firewall; "preset=NAME FIELD=VALUE..." (the
 *            behaviour in effect, every field);
 *   ROUTE    node = the node; "dest=PREFIX via=GATEWAY";
 *   NAMES    node = the node; "names=NAME,..." (names it answers to).
 * The low byte of aux is the NlTopoKind. */
#define NL_TOPO_KIND_MAP(X)                                                    \
  X(CLOCK, "clock")                                                            \
  X(NETWORK, "network")                                                        \
  X(LINK, "link")                                                              \
  X(NAT, "nat")                                                                \
  X(ROUTE, "route")                                                            \
  X(NAMES, "names")

typedef enum {
#define NL_X(e, s) NL_TOPO_##e,
  NL_TOPO_KIND_MAP(NL_X)
#undef NL_X
  NL_TOPO_N_KINDS
} NlTopoKind;

/* For BLOCK records: a thread is about to wait inside a call (accept(),
 * recv() on an empty socket, connect() during the handshake...).  node =
 * the host, peer = the process ("host/name"), aux = the thread's id, text
 * = the call as written in its CALL record, without the result
 * ("accept(3)").  The call's CALL record, written when it returns, has the
 * same node, peer and aux, so a timeline can draw the wait as a bar.  A
 * call that does not wait leaves no BLOCK record. */

/* Why a packet was dropped. */
#define NL_DROP_REASON_MAP(X)                                                  \
  X(NONE, "none")                                                              \
  X(LOSS, "link loss")                                                         \
  X(QUEUE_FULL, "queue full")                                                  \
  X(LINK_DOWN, "link down")                                                    \
  X(NO_ROUTE, "no route")                                                      \
  X(NO_NEIGHBOUR, "no such neighbour")                                         \
  X(TTL, "ttl exceeded")                                                       \
  X(FRAG_NEEDED, "fragmentation needed and DF set")                           \
  X(REASSEMBLY, "reassembly timeout")                                          \
  X(MALFORMED, "malformed")                                                    \
  X(BAD_CHECKSUM, "bad checksum")                                              \
  X(NOT_FOR_US, "not addressed to this host")                                  \
  X(PORT_UNREACHABLE, "no socket on port")                                     \
  X(RCVBUF_FULL, "receive buffer full")                                        \
  X(NAT_FILTERED, "nat filtered")                                              \
  X(NAT_NO_MAPPING, "nat no mapping")                                          \
  X(NAT_POOL_EXHAUSTED, "nat port pool exhausted")                             \
  X(NAT_HAIRPIN, "nat hairpinning off")                                        \
  X(FIREWALL, "firewall")                                                      \
  X(BLOCKED, "blocked by policy")                                              \
  X(HOST_DOWN, "host down")                                                    \
  X(TCP_NO_LISTENER, "tcp no listener")                                       \
  X(TOO_BIG, "packet too big") /* IPv6: routers do not fragment */

typedef enum {
#define NL_X(e, s) NL_DROP_##e,
  NL_DROP_REASON_MAP(NL_X)
#undef NL_X
  NL_DROP_N_REASONS
} NlDropReason;

/* For PKT_DROP records, aux holds the NlDropReason and, in this bit, that
 * the packet was dropped on its way out of @node towards @peer (rather
 * than on its way in from @peer). */
#define NL_DROP_OUTGOING 0x8000u
static inline NlDropReason nl_trace_drop_reason(uint16_t aux) {
  return (NlDropReason)(aux & ~NL_DROP_OUTGOING);
}

/* The fixed part of every record.  Read-only for consumers. */
typedef struct {
  NlTime time;
  uint64_t id;   /* packet transmission id (one per hop), 0 when none */
  uint16_t kind; /* NlTraceKind */
  uint16_t aux;  /* NlDropReason for drops; kind-specific otherwise */
  uint32_t node; /* interned name of where it happened */
  uint32_t peer; /* interned name of the other end, or 0 */
  uint32_t len;  /* bytes of payload that follow */
} NlTraceRecord;

typedef struct {
  const NlTrace *trace;
  guint chunk;
  gsize offset;
  gsize dropped; /* spilled: the file's pages given back, up to here */
} NlTraceIter;

NlTrace *nl_trace_new(void);
void nl_trace_free(NlTrace *t);

/**
 * nl_trace_intern: the id of @name, adding it if new.  Id 0 is "" (none).
 * Ids are given in first-use order, so they are deterministic.
 */
guint32 nl_trace_intern(NlTrace *t, const char *name);
const char *nl_trace_name(const NlTrace *t, guint32 id);
/* The id of @name if it was interned (without adding it): 0 otherwise. */
guint32 nl_trace_lookup(const NlTrace *t, const char *name);

/* Which kinds are kept (for iteration and the outputs); all by default.
 * Bit (1 << kind). */
void nl_trace_set_mask(NlTrace *t, uint64_t mask);
/* Whether a record of kind @k is kept or listened to: producers check it
 * before they spend anything on making a record. */
static inline gboolean nl_trace_wants(const NlTrace *t, NlTraceKind k);

/* Sees a record as it is added, kept or not.  @rec and @payload are valid
 * only during the call.  A listener must not add records. */
typedef void (*NlTraceListenFn)(void *data, const NlTraceRecord *rec,
                                const guint8 *payload);

/**
 * nl_trace_listen: calls @fn(@data, ...) for every record of the kinds in
 * @kinds (bit 1 << kind) from now on, in the order they are added, before
 * the trace keeps it (if its mask says so).  So a consumer that needs each
 * record once, as it happens (the expectations), costs no memory for
 * kinds nothing else keeps.  Listeners are called in the order they were
 * added.
 */
void nl_trace_listen(NlTrace *t, uint64_t kinds, NlTraceListenFn fn,
                     void *data);

/* A consumer's answer for one source of records: whether any record of
 * @kind from program @peer on node @node (trace ids) can matter to it;
 * FALSE: it ignores every one, whatever its payload.  Asked once per
 * source (see nl_trace_wants_text): the answer must not change while the
 * consumer is attached. */
typedef gboolean (*NlTraceSourceFn)(void *data, NlTraceKind kind,
                                    guint32 node, guint32 peer);

/**
 * nl_trace_listen_sources: nl_trace_listen for a listener that ignores
 * whole sources, which @sources(@data, ...) names.  It is still called for
 * every record added (a producer decides whether to add one with
 * nl_trace_wants_text).
 */
void nl_trace_listen_sources(NlTrace *t, uint64_t kinds, NlTraceListenFn fn,
                             NlTraceSourceFn sources, void *data);

/* Whether a record of a filtered kind is kept (see nl_trace_keep_only). */
typedef gboolean (*NlTraceKeepFn)(void *data, const NlTraceRecord *rec,
                                  const guint8 *payload);

/**
 * nl_trace_keep_only: of the kinds in @kinds that the mask keeps, keep
 * only the records for which @fn(@data, ...) is TRUE (called after the
 * listeners; one filter per trace, the last set).  For a run whose
 * reports read some of a kind's records, not all: the lines of the
 * programs an expectation names, not every program's.
 */
void nl_trace_keep_only(NlTrace *t, uint64_t kinds, NlTraceKeepFn fn,
                        void *data);

/**
 * nl_trace_keep_sources: what the filter of nl_trace_keep_only keeps, by
 * source: @sources(the filter's data, ...) FALSE for a source none of
 * whose records it keeps but those whose payload starts with @prefix
 * (NULL: none).  The filter must agree.  Set after nl_trace_keep_only,
 * which forgets it.
 */
void nl_trace_keep_sources(NlTrace *t, NlTraceSourceFn sources,
                           const char *prefix);

/**
 * nl_trace_wants_text: whether a record of @kind from program @peer on
 * node @node, its payload the @len bytes at @text, would be heard or kept
 * (FALSE when the mask has neither).  FALSE only when no listener of
 * @kind reads the source (each listens with nl_trace_listen_sources and
 * says so) and the record would not be kept (the kind not kept, or
 * filtered, the filter's sources leaving this one out and the text not
 * starting with its prefix): adding it would change nothing, so a
 * producer of many records (a program's printed lines) need not make it.
 * The answers are remembered per source and kind until a listener, the
 * mask or the filter changes.
 */
gboolean nl_trace_wants_text(NlTrace *t, NlTraceKind kind, guint32 node,
                             guint32 peer, const void *text, gsize len);

/* Who reads the records of a source (nl_trace_source_readers). */
typedef enum {
  NL_TRACE_READERS_NONE,   /* nothing: no record of it would matter */
  NL_TRACE_READERS_ALL,    /* every record may matter */
  NL_TRACE_READERS_PREFIX, /* only those nl_trace_prefix_may_start lets by */
} NlTraceReaders;

/**
 * nl_trace_source_readers: who reads the records of @kind from program
 * @peer on node @node, as nl_trace_wants_text answers for each record
 * (and remembered as its answers are).
 */
NlTraceReaders nl_trace_source_readers(NlTrace *t, NlTraceKind kind,
                                      guint32 node, guint32 peer);

/* For NL_TRACE_READERS_PREFIX: FALSE when no text starting with the @len
 * bytes at @start is kept. */
gboolean nl_trace_prefix_may_start(const NlTrace *t, const void *start,
                                   gsize len);

/* A count, never 0, that moves whenever nl_trace_source_readers' answers
 * may change (a listener, the mask or the filter changed). */
static inline guint64 nl_trace_readers_changed(const NlTrace *t);

/**
 * nl_trace_add: appends a record; @payload (@len bytes) is copied.
 */
void nl_trace_add(NlTrace *t, NlTime time, NlTraceKind kind, guint32 node,
                  guint32 peer, uint64_t id, uint16_t aux, const void *payload,
                  guint32 len);

/* nl_trace_add with a printf-formatted text payload. */
void nl_trace_addf(NlTrace *t, NlTime time, NlTraceKind kind, guint32 node,
                   guint32 peer, uint64_t id, uint16_t aux, const char *fmt,
                   ...) G_GNUC_PRINTF(8, 9);

/**
 * nl_trace_vformat: vsnprintf(@out, @cap, @fmt, @ap) for the texts of
 * records, made once per call or packet: the common conversions (d i u x
 * s c and %% with no flags, width, precision or position; length l ll z)
 * by hand, anything else by g_vsnprintf.  Returns the text's length, or
 * -1 when it needs @cap bytes or more (@ap is then used up: format again
 * from a new one).  The bytes of @out after the text's NUL may be changed
 * too (the text is copied a word at a time).
 */
int nl_trace_vformat(char *out, gsize cap, const char *fmt, va_list ap)
    G_GNUC_PRINTF(3, 0);

/**
 * nl_trace_vformat_line: nl_trace_vformat, and OUT: *@one_line TRUE when
 * the text is known to be one whole line: it ends with a newline and
 * holds no other (the format's text and each argument as it is written,
 * for a format of the common conversions nl_trace_vformat
 * remembers); FALSE when it is not or not known.
 */
int nl_trace_vformat_line(char *out, gsize cap, const char *fmt, va_list ap,
                          gboolean *one_line) G_GNUC_PRINTF(3, 0);

/**
 * nl_trace_vformat_unread: the length nl_trace_vformat would return for
 * @fmt and @ap with room enough (@ap is not used up), when no record of
 * @t would be made of that text written whole as a program's output line
 * whose readers are @readers (not NL_TRACE_READERS_ALL): it ends with a
 * newline of the format's text (nothing is left pending), and for
 * NL_TRACE_READERS_PREFIX it is one line (no other newline in the
 * format's text, a string or a character argument) whose start, the
 * format's text before its first conversion, rules out the filter's
 * prefix (nl_trace_prefix_may_start).  -1 otherwise, and for a format not
 * of the common conversions nl_trace_vformat remembers.
 */
int nl_trace_vformat_unread(const NlTrace *t, const char *fmt, va_list ap,
                            NlTraceReaders readers) G_GNUC_PRINTF(2, 0);

/* The number of records kept. */
uint64_t nl_trace_count(const NlTrace *t);

/**
 * nl_trace_spill: from now on, the trace keeps at most @window bytes of
 * records in memory: when they fill it, they are appended to an unlinked
 * temporary file in @dir (NULL: g_get_tmp_dir()), and iteration reads
 * them back from there, in the same order and byte for byte.  For a run
 * whose outputs read every record after it (a timeline, a capture, JSON
 * lines): its memory no longer grows with the trace.  Only before the
 * first record is kept.  Returns FALSE with @error set if the file cannot
 * be made (the trace then stays in memory).
 */
gboolean nl_trace_spill(NlTrace *t, const char *dir, gsize window,
                        GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* FALSE with @error set when a spilled trace could not write its records
 * (a full disk): records added since are missing. */
gboolean nl_trace_spill_ok(const NlTrace *t, GError **error);
/* Bytes of memory holding records: the chunks, or a spilled trace's
 * window (the file is not counted). */
gsize nl_trace_memory(const NlTrace *t);

void nl_trace_iter_init(NlTraceIter *it, const NlTrace *t);
/* OUT: @rec and @payload point into the trace; valid until it is freed
 * (a spilled trace: until it is freed or a record is added, which may
 * write the window out and reuse it).  The payload follows its record:
 * @payload is nl_trace_payload(@rec). */
gboolean nl_trace_iter_next(NlTraceIter *it, const NlTraceRecord **rec,
                            const guint8 **payload);

/* The payload of a record got from nl_trace_iter_next (what follows it). */
static inline const guint8 *nl_trace_payload(const NlTraceRecord *rec) {
  return (const guint8 *)(rec + 1);
}

const char *nl_trace_kind_name(NlTraceKind k);
const char *nl_drop_reason_name(NlDropReason r);

/* Appends a one-line decode of a packet's wire bytes to @out. */
typedef void (*NlTracePacketFormat)(const guint8 *bytes, size_t len,
                                    GString *out);

/**
 * nl_trace_set_packet_format: installs the decoder nl_trace_format() uses
 * for packet records.  The core knows no wire format; the network layer
 * installs nl_wire_describe (nl_world_new does) -- a seam, so the core
 * never includes a layer above it.  Without one, a packet record shows its
 * length only.
 */
void nl_trace_set_packet_format(NlTrace *t, NlTracePacketFormat fn);

/* Whether the installed decoder writes the same text for two packets of
 * @len bytes whose bytes differ (FALSE when unsure or the same bytes). */
typedef gboolean (*NlTracePacketSame)(const guint8 *a, const guint8 *b,
                                      size_t len);

/**
 * nl_trace_set_packet_same: installs what nl_trace_format asks before it
 * decodes a packet again that differs from the last one decoded in bytes
 * its decoder does not show (a router's TTL: a NAT's translation record
 * and the next hop's send record).  The network layer installs
 * nl_wire_describe_same with its decoder.  Optional: without it, only
 * the same bytes share a decode.
 */
void nl_trace_set_packet_same(NlTrace *t, NlTracePacketSame fn);

/* For a packet whose decoder text is made from a few of its fields
 * alone: OUT: @key, those fields (two packets with the same key have the
 * same text), and TRUE; FALSE for any other packet. */
typedef gboolean (*NlTracePacketKey)(const guint8 *bytes, size_t len,
                                     uint64_t key[2]);

/**
 * nl_trace_set_packet_key: installs what nl_trace_format asks of a packet
 * it has not decoded under its id: the decodes of keys seen before are
 * remembered (a fixed number of them), so a flow's datagrams are decoded
 * once, not each.  The network layer installs nl_wire_describe_key with
 * its decoder.  Optional.
 */
void nl_trace_set_packet_key(NlTrace *t, NlTracePacketKey fn);

/**
 * nl_trace_format: appends the one-line text form of a record to @out
 * (no newline).  The text form is what `natlab run --trace` writes and what
 * the determinism check compares.
 */
void nl_trace_format(const NlTrace *t, const NlTraceRecord *rec,
                     const guint8 *payload, GString *out);
/* nl_trace_format and a newline: one line of `natlab run --trace`. */
void nl_trace_format_line(const NlTrace *t, const NlTraceRecord *rec,
                          const guint8 *payload, GString *out);

typedef struct NlTraceText NlTraceText;
/* Called with the lines gathered in @block (see nl_trace_listen_text);
 * it writes them out and empties @block. */
typedef void (*NlTraceFlushFn)(void *data, GString *block);

/**
 * nl_trace_listen_text: a listener of every kind that writes each
 * record's line (nl_trace_format_line) at the end of @block as the record
 * is added, and calls @flush(@data, @block) when a line leaves @block
 * holding @flush_at bytes or more.  For a text trace written as the run
 * goes: the record's line is made in the listener itself (the formatter
 * inline), with no call for it.  Returns the listener, owned by @t (it
 * stays on the trace until the trace is freed).
 */
NlTraceText *nl_trace_listen_text(NlTrace *t, GString *block, gsize flush_at,
                                  NlTraceFlushFn flush, void *data);
/**
 * nl_trace_listen_text_thread: nl_trace_listen_text, with the lines made
 * and @flush called on a thread of the listener's own, so that a text
 * trace is written off the simulation's core.  A record heard is only
 * copied, header and payload, into a queue of a few blocks that the
 * thread formats in order, with the same names and packet decoder: the
 * lines are the ones nl_trace_listen_text writes, byte for byte.  The
 * queue is bounded: when the thread falls behind, the simulation waits
 * for it.  @block, @flush and its data belong to the thread until
 * nl_trace_text_stop.  Without a thread to be had, the lines are made as
 * heard.
 */
NlTraceText *nl_trace_listen_text_thread(NlTrace *t, GString *block,
                                         gsize flush_at, NlTraceFlushFn flush,
                                         void *data);
/* From now on @text ignores the records it hears (@block, @flush and its
 * data need not live longer).  A text thread's first formats every record
 * heard before (calling @flush as it does) and ends: @block then holds
 * the lines not flushed yet. */
void nl_trace_text_stop(NlTraceText *text);

/* Private: "00" "01" ... "99" and 10^0 ... 10^19, for nl_trace_put_uint. */
extern const char nl__trace_digit_pairs[200];
extern const uint64_t nl__trace_pow10[20];

/* Writes @v in decimal at @p (up to 20 bytes, no NUL); returns the end.
 * For formatters that run once per record (nl_trace_format, the packet
 * decoder), where printf's cost shows: the digits are counted first
 * (log10 from the highest bit set, corrected by one comparison) and
 * written in place, two at a time from the right. */
static inline char *nl_trace_put_uint(char *p, uint64_t v) {
  if (v < 10) {
    *p = (char)('0' + v);
    return p + 1;
  }
  /* Most numbers in a trace (descriptors, lengths, ports, results) have
   * two to five digits: written straight, their count known from the
   * comparisons. */
  if (v < 100000) {
    uint32_t w = (uint32_t)v;
    if (w < 100) {
      memcpy(p, nl__trace_digit_pairs + 2 * w, 2);
      return p + 2;
    }
    if (w < 1000) {
      uint32_t h = w / 100;
      p[0] = (char)('0' + h);
      memcpy(p + 1, nl__trace_digit_pairs + 2 * (w - 100 * h), 2);
      return p + 3;
    }
    if (w < 10000) {
      uint32_t h = w / 100;
      memcpy(p, nl__trace_digit_pairs + 2 * h, 2);
      memcpy(p + 2, nl__trace_digit_pairs + 2 * (w - 100 * h), 2);
      return p + 4;
    }
    uint32_t t = w / 10000, r = w - 10000 * t, h = r / 100;
    p[0] = (char)('0' + t);
    memcpy(p + 1, nl__trace_digit_pairs + 2 * h, 2);
    memcpy(p + 3, nl__trace_digit_pairs + 2 * (r - 100 * h), 2);
    return p + 5;
  }
  unsigned bits = 64u - (unsigned)__builtin_clzll(v);
  unsigned n = (bits * 1233u) >> 12; /* 1233 / 4096 ~ log10(2) */
  n += v >= nl__trace_pow10[n];
  char *end = p + n, *q = end;
  while (v > 0xffffffffu) {
    unsigned r = (unsigned)(v % 100);
    v /= 100;
    q -= 2;
    memcpy(q, nl__trace_digit_pairs + 2 * r, 2);
  }
  uint32_t w = (uint32_t)v;
  while (w >= 100) {
    unsigned r = w % 100;
    w /= 100;
    q -= 2;
    memcpy(q, nl__trace_digit_pairs + 2 * r, 2);
  }
  if (w >= 10)
    memcpy(q - 2, nl__trace_digit_pairs + 2 * w, 2);
  else
    q[-1] = (char)('0' + w);
  return end;
}

/* g_string_append_len without a call when it fits (the text and JSON
 * formatters append a record's line in some thirty pieces). */
static inline void nl_trace_put_len(GString *out, const char *s, gsize n) {
  if (out->len + n < out->allocated_len) {
    memcpy(out->str + out->len, s, n);
    out->len += n;
    out->str[out->len] = '\0';
  } else {
    g_string_append_len(out, s, (gssize)n);
  }
}

/* For formatters that write a piece of known greatest length: the place
 * at the end of @out with room for @n bytes and a NUL after them (@out
 * grown if needed); write there, then nl_trace_room_done with the end of
 * what was written. */
char *nl__trace_room_grow(GString *out, gsize n);
static inline char *nl_trace_room(GString *out, gsize n) {
  if (G_LIKELY(out->len + n < out->allocated_len))
    return out->str + out->len;
  return nl__trace_room_grow(out, n);
}
static inline void nl_trace_room_done(GString *out, char *end) {
  out->len = (gsize)(end - out->str);
  *end = '\0';
}

/**
 * nl_trace_write_text: writes every record, one line each, to @path
 * ("-" for stdout).
 */
gboolean nl_trace_write_text(const NlTrace *t, const char *path,
                             GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Private, for the inline check. */
struct NlTraceMaskHolder {
  uint64_t mask;
  guint64 readers_changed;
};
static inline gboolean nl_trace_wants(const NlTrace *t, NlTraceKind k) {
  return (((const struct NlTraceMaskHolder *)t)->mask >> k) & 1u;
}
static inline guint64 nl_trace_readers_changed(const NlTrace *t) {
  return ((const struct NlTraceMaskHolder *)t)->readers_changed;
}

G_END_DECLS

#endif
