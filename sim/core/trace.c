/* The trace.  Records go into chunks so that appending never copies what
 * is already recorded: the first of 1 MiB, the rest of 4 MiB, aligned to
 * and advised as transparent huge pages, since a long run's trace grows
 * by hundreds of MiB and faulting it in 4 KiB pages cost more than
 * writing it (see docs/performance.md, "UDP path").
 *
 * A spilled trace (nl_trace_spill) keeps one window of records in memory
 * instead and appends it to an unlinked file each time it fills; the
 * records are read back through a read-only shared mapping of that file,
 * whose pages the iterators give back to the kernel behind them
 * (MADV_DONTNEED: a page read again is read again from the file, so a
 * pointer handed out earlier stays good). */
#include "sim/core/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define CHUNK_SIZE (1u << 20)
#define TEXT_BLOCK (64u << 10) /* bytes of text written at a time */
#define BIG_CHUNK_SIZE (4u << 20)
#define HUGE_PAGE (2u << 20)

typedef struct {
  guint8 *data;
  gsize used, size;
} Chunk;

typedef struct {
  uint64_t kinds;
  NlTraceListenFn fn;
  void *data;
  NlTraceSourceFn sources; /* NULL: it reads every source */
} Listener;

/* What nl_trace_wants_text remembers of a source (a program's records
 * of one kind, by the program's trace name): the node they came from and
 * whether anything reads them. */
enum { SRC_UNKNOWN, SRC_READ, SRC_PREFIX, SRC_NONE };
typedef struct {
  guint32 node;
  guint8 state; /* SRC_*; SRC_PREFIX: kept only with the filter's prefix */
} Source;

/* How far an iterator reads into the file's mapping before it gives the
 * pages behind it back. */
#define SPILL_DROP_STEP (8u << 20)

typedef struct {
  guint8 *data;
  gsize len;
} Mapping;

typedef struct {
  int fd;
  guint8 *window; /* the records not yet written, @used bytes */
  gsize size, used;
  guint64 written; /* bytes in the file: the records before the window */
  Mapping map;     /* the file, mapped for reading, when read */
  GArray *old_maps; /* of Mapping: superseded, kept for pointers into them */
  int error;        /* errno of the first failed write, or 0 */
  gsize page;       /* the system's page size */
} Spill;

/* An interned name and its length.  Names are stored with NAME_PAD zero
 * bytes after them, so that the formatter copies a short one in one
 * fixed-size move. */
#define NAME_PAD 32
typedef struct {
  const char *s;
  guint32 len;
} Name;

/* Packet decodes remembered for nl_trace_format (put_packet): DESC_SLOTS
 * slots chosen by the record's id, each the last packet of up to
 * DESC_MAX_PKT bytes decoded there and its text.  A hop's records are
 * about a link's latency apart, and a thousand hosts start some hundreds
 * of hops in a millisecond: the slots are enough for thousands of hops in
 * flight. */
#define DESC_SLOTS 4096
#define DESC_MAX_PKT 2048
#define DESC_MAX_TEXT 200
typedef struct {
  guint32 len; /* of the packet, 0 when none */
  guint32 text_len;
  guint8 *bytes; /* @cap bytes, grown when a longer packet comes */
  guint32 cap;
  guint32 id_len; /* of id_text, 0 when none */
  uint64_t id;    /* the last record id written with this slot... */
  char id_text[24]; /* ...in decimal: a hop's records share their id */
  char text[DESC_MAX_TEXT];
} DescSlot;
G_STATIC_ASSERT(sizeof(DescSlot) == 256);

/* Decodes remembered by the decoder's key (nl_trace_set_packet_key):
 * KEY_SETS sets of KEY_WAYS, the newest first in its set.  A thousand
 * hosts' flows through their NATs are some four thousand keys. */
#define KEY_SETS 4096
#define KEY_WAYS 4
#define KEY_TEXT 60
typedef struct {
  uint64_t key[2];
  guint32 len; /* of text, 0 when empty */
  char text[KEY_TEXT];
} KeyText;
G_STATIC_ASSERT(sizeof(KeyText) == 80);

/* What nl_trace_format remembers from one record to the next: the last
 * time written (most records share their time with the one before) and
 * packet decodes. */
typedef struct {
  NlTime time;        /* the last time written, if time_len */
  guint32 time_len;
  char time_text[32];
  uint64_t sec_ns;    /* its whole seconds in ns, if time >= 0 */
  uint32_t frac_hi;   /* and the rest's first five digits, over 10^4 */
  DescSlot *slots; /* DESC_SLOTS, allocated on first use */
  DescSlot *last;  /* the slot of the last decode, or NULL */
  KeyText *keys;   /* KEY_SETS * KEY_WAYS, allocated on first use */
} DescCache;

/* What a record's line is made with: the names, the packet decoder and
 * what the formatter remembers.  The trace's own, for nl_trace_format;
 * a text thread has a copy (nl_trace_listen_text_thread). */
typedef struct {
  GArray *name_tab; /* id -> Name */
  DescCache *desc;  /* its decodes, remembered */
  NlTracePacketFormat packet_format; /* installed by the network layer */
  NlTracePacketSame packet_same;     /* the same, or NULL */
  NlTracePacketKey packet_key;       /* the same, or NULL */
  const NlTrace *trace; /* the trace's own: says an unknown name is; or NULL */
} Fmt;

struct NlTrace {
  uint64_t mask; /* first, for nl_trace_wants(): kept | listened to */
  guint64 readers_changed; /* second (nl_trace_readers_changed()):
                            * sources_forget() calls, and 1 */
  uint64_t keep; /* kinds kept */
  uint64_t listened; /* kinds some listener wants */
  uint64_t filtered; /* kinds kept only when keep_fn says so */
  NlTraceKeepFn keep_fn;
  void *keep_data;
  NlTraceSourceFn keep_sources; /* the filter's sources, or NULL */
  char *keep_prefix;            /* what else it keeps, or NULL */
  gsize keep_prefix_len;
  uint64_t keep_prefix_word, keep_prefix_mask; /* when its length <= 8 */
  GArray *sources[NL_TRACE_N_KINDS]; /* of Source, by the peer's id:
                                      * nl_trace_wants_text's answers */
  GArray *listeners; /* of Listener */
  Listener *by_kind[NL_TRACE_N_KINDS]; /* each kind's, in order, ended by
                                        * a NULL fn; NULL: none */
  GArray *chunks; /* of Chunk */
  Spill *spill;   /* NULL: every record stays in the chunks */
  uint64_t count;
  GHashTable *ids;  /* name -> id+1 */
  GPtrArray *names; /* id -> name */
  Fmt fmt; /* for nl_trace_format */
  GPtrArray *texts; /* of NlTraceText: nl_trace_listen_text's, or NULL */
};

/* A text thread's block of records (nl_trace_listen_text_thread): each
 * record heard, its header and payload padded to 8 bytes, in order, and
 * the decoder's functions when it was handed over. */
typedef struct {
  gsize size, used; /* bytes of data */
  NlTracePacketFormat packet_format;
  NlTracePacketSame packet_same;
  NlTracePacketKey packet_key;
  guint8 data[];
} RecBlock;

/* A text thread's queue: TEXT_BLOCKS blocks of TEXT_REC_BLOCK bytes (more
 * when a record is longer), so its memory does not grow with the trace:
 * the simulation waits for the thread when all are full. */
#define TEXT_BLOCKS 4
#define TEXT_REC_BLOCK (512u << 10)
/* The kind of a block's entry that carries names interned since the last
 * one (Name structs, the first's id in node): not a record's kind. */
#define NAMES_ENTRY NL_TRACE_N_KINDS
/* A text thread's copies of the short names, one after another in the
 * order they were interned, this many bytes a chunk. */
#define NAME_CHUNK (64u << 10)

struct NlTraceText {
  const NlTrace *trace;
  GString *block;
  gsize flush_at;
  NlTraceFlushFn flush;
  void *data;
  gboolean stopped;
  /* A text thread's; thread NULL: each line is made as its record is
   * heard. */
  GThread *thread;
  GAsyncQueue *full;  /* of RecBlock: to the thread, in order */
  GAsyncQueue *empty; /* of RecBlock: back from it */
  RecBlock *cur;      /* being filled */
  guint names_sent;   /* names in the entries so far */
  Fmt fmt;            /* the thread's: its names and decodes */
  GPtrArray *name_chunks; /* of NAME_CHUNK bytes: the short names' bytes */
  gsize name_used;        /* bytes of the last chunk taken */
  gboolean discard;   /* the thread drops what it has not formatted */
  GMutex start_lock;  /* started: the thread runs its own code */
  GCond start_cond;
  gboolean started;
};

G_STATIC_ASSERT(G_STRUCT_OFFSET(struct NlTrace, mask) == 0);
G_STATIC_ASSERT(G_STRUCT_OFFSET(struct NlTrace, readers_changed) ==
                G_STRUCT_OFFSET(struct NlTraceMaskHolder, readers_changed));

static const char *const kind_names[] = {
#define NL_X(e, s, p) s,
  NL_TRACE_KIND_MAP(NL_X)
#undef NL_X
};

static const gboolean kind_is_packet[] = {
#define NL_PKT 1
#define NL_TEXT 0
#define NL_X(e, s, p) NL_##p,
  NL_TRACE_KIND_MAP(NL_X)
#undef NL_X
#undef NL_PKT
#undef NL_TEXT
};

/* The kinds' names in NAME_PAD bytes each, copied whole. */
static const char kind_names_padded[][NAME_PAD] = {
#define NL_X(e, s, p) s,
  NL_TRACE_KIND_MAP(NL_X)
#undef NL_X
};

static const guint8 kind_name_lens[] = {
#define NL_X(e, s, p) sizeof(s) - 1,
  NL_TRACE_KIND_MAP(NL_X)
#undef NL_X
};

static const char *const drop_names[] = {
#define NL_X(e, s) s,
  NL_DROP_REASON_MAP(NL_X)
#undef NL_X
};

NlTrace *nl_trace_new(void) {
  NlTrace *t = g_new0(NlTrace, 1);
  t->mask = t->keep = ~(uint64_t)0;
  t->readers_changed = 1; /* never 0: "not asked yet" to a caller */
  t->listeners = g_array_new(FALSE, FALSE, sizeof(Listener));
  t->chunks = g_array_new(FALSE, FALSE, sizeof(Chunk));
  t->ids = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, NULL);
  t->names = g_ptr_array_new_with_free_func(g_free);
  t->fmt.name_tab = g_array_new(FALSE, FALSE, sizeof(Name));
  t->fmt.desc = g_new0(DescCache, 1);
  t->fmt.trace = t;
  nl_trace_intern(t, "");
  return t;
}

static void spill_free(Spill *s) {
  if (s == NULL)
    return;
  if (s->map.data != NULL)
    munmap(s->map.data, s->map.len);
  for (guint i = 0; i < s->old_maps->len; i++) {
    Mapping *m = &g_array_index(s->old_maps, Mapping, i);
    munmap(m->data, m->len);
  }
  g_array_free(s->old_maps, TRUE);
  close(s->fd);
  g_free(s->window);
  g_free(s);
}

static void desc_free(DescCache *c) {
  if (c->slots != NULL) {
    for (guint i = 0; i < DESC_SLOTS; i++)
      g_free(c->slots[i].bytes);
    g_free(c->slots);
  }
  g_free(c->keys);
  g_free(c);
}

static void text_free(gpointer p);

void nl_trace_free(NlTrace *t) {
  if (t == NULL)
    return;
  /* First: a text thread still running reads the names. */
  if (t->texts != NULL)
    g_ptr_array_free(t->texts, TRUE);
  spill_free(t->spill);
  for (guint i = 0; i < t->chunks->len; i++)
    free(g_array_index(t->chunks, Chunk, i).data);
  g_array_free(t->chunks, TRUE);
  g_array_free(t->listeners, TRUE);
  for (guint k = 0; k < NL_TRACE_N_KINDS; k++) {
    g_free(t->by_kind[k]);
    if (t->sources[k] != NULL)
      g_array_free(t->sources[k], TRUE);
  }
  g_free(t->keep_prefix);
  g_hash_table_destroy(t->ids);
  g_ptr_array_free(t->names, TRUE);
  g_array_free(t->fmt.name_tab, TRUE);
  desc_free(t->fmt.desc);
  g_free(t);
}

void nl_trace_set_packet_format(NlTrace *t, NlTracePacketFormat fn) {
  t->fmt.packet_format = fn;
}

void nl_trace_set_packet_same(NlTrace *t, NlTracePacketSame fn) {
  t->fmt.packet_same = fn;
}

void nl_trace_set_packet_key(NlTrace *t, NlTracePacketKey fn) {
  t->fmt.packet_key = fn;
}

guint32 nl_trace_intern(NlTrace *t, const char *name) {
  gpointer v = g_hash_table_lookup(t->ids, name);
  if (v != NULL)
    return GPOINTER_TO_UINT(v) - 1;
  guint32 len = (guint32)strlen(name);
  char *copy = g_malloc0(len + NAME_PAD + 1);
  memcpy(copy, name, len);
  guint32 id = t->names->len;
  g_ptr_array_add(t->names, copy);
  Name n = {copy, len};
  g_array_append_val(t->fmt.name_tab, n);
  g_hash_table_insert(t->ids, copy, GUINT_TO_POINTER(id + 1));
  return id;
}

guint32 nl_trace_lookup(const NlTrace *t, const char *name) {
  gpointer v = g_hash_table_lookup(t->ids, name);
  return v != NULL ? GPOINTER_TO_UINT(v) - 1 : 0;
}

const char *nl_trace_name(const NlTrace *t, guint32 id) {
  g_return_val_if_fail(id < t->names->len, "?");
  return g_ptr_array_index(t->names, id);
}

/* nl_trace_wants_text's answers forgotten: who reads what changed. */
static void sources_forget(NlTrace *t) {
  t->readers_changed++;
  for (guint k = 0; k < NL_TRACE_N_KINDS; k++)
    if (t->sources[k] != NULL)
      g_array_set_size(t->sources[k], 0);
}

void nl_trace_set_mask(NlTrace *t, uint64_t mask) {
  t->keep = mask;
  t->mask = t->keep | t->listened;
  sources_forget(t);
}

void nl_trace_listen(NlTrace *t, uint64_t kinds, NlTraceListenFn fn,
                     void *data) {
  nl_trace_listen_sources(t, kinds, fn, NULL, data);
}

void nl_trace_listen_sources(NlTrace *t, uint64_t kinds, NlTraceListenFn fn,
                             NlTraceSourceFn sources, void *data) {
  g_return_if_fail(fn != NULL);
  sources_forget(t);
  Listener l = {kinds, fn, data, sources};
  g_array_append_val(t->listeners, l);
  /* Each kind's list made again: a record calls its kind's listeners
   * only, without testing the others'. */
  for (guint k = 0; k < NL_TRACE_N_KINDS; k++) {
    if (!((kinds >> k) & 1))
      continue;
    guint n = 0;
    while (t->by_kind[k] != NULL && t->by_kind[k][n].fn != NULL)
      n++;
    t->by_kind[k] = g_renew(Listener, t->by_kind[k], n + 2);
    t->by_kind[k][n] = l;
    t->by_kind[k][n + 1] = (Listener){0};
  }
  t->listened |= kinds;
  t->mask = t->keep | t->listened;
}

void nl_trace_keep_only(NlTrace *t, uint64_t kinds, NlTraceKeepFn fn,
                        void *data) {
  g_return_if_fail(fn != NULL || kinds == 0);
  sources_forget(t);
  t->filtered = kinds;
  t->keep_fn = fn;
  t->keep_data = data;
  t->keep_sources = NULL;
  g_free(t->keep_prefix);
  t->keep_prefix = NULL;
}

void nl_trace_keep_sources(NlTrace *t, NlTraceSourceFn sources,
                           const char *prefix) {
  sources_forget(t);
  t->keep_sources = sources;
  g_free(t->keep_prefix);
  t->keep_prefix = g_strdup(prefix);
  t->keep_prefix_len = prefix != NULL ? strlen(prefix) : 0;
  /* A prefix of up to 8 bytes compared as one word (has_keep_prefix). */
  t->keep_prefix_word = t->keep_prefix_mask = 0;
  if (t->keep_prefix_len <= 8) {
    memcpy(&t->keep_prefix_word, t->keep_prefix != NULL ? t->keep_prefix : "",
           t->keep_prefix_len);
    memset(&t->keep_prefix_mask, 0xff, t->keep_prefix_len);
  }
}

/* Who reads records of @kind from (@node, @peer) (nl_trace_wants_text). */
static guint8 source_state(const NlTrace *t, NlTraceKind kind, guint32 node,
                           guint32 peer) {
  if ((t->listened >> kind) & 1)
    for (const Listener *l = t->by_kind[kind]; l->fn != NULL; l++)
      if (l->sources == NULL || l->sources(l->data, kind, node, peer))
        return SRC_READ;
  if (!((t->keep >> kind) & 1))
    return SRC_NONE;
  if (!((t->filtered >> kind) & 1) || t->keep_sources == NULL ||
      t->keep_sources(t->keep_data, kind, node, peer))
    return SRC_READ;
  return t->keep_prefix != NULL ? SRC_PREFIX : SRC_NONE;
}

/* Whether @len bytes at @text start with the filter's prefix. */
static inline gboolean has_keep_prefix(const NlTrace *t, const void *text,
                                       gsize len) {
  if (len < t->keep_prefix_len)
    return FALSE;
  if (len >= 8 && t->keep_prefix_len <= 8) {
    uint64_t w;
    memcpy(&w, text, 8);
    return ((w ^ t->keep_prefix_word) & t->keep_prefix_mask) == 0;
  }
  return memcmp(text, t->keep_prefix, t->keep_prefix_len) == 0;
}

/* nl_trace_wants_text for a source not asked about yet (or whose node
 * changed): asked now and remembered. */
static G_GNUC_NO_INLINE gboolean wants_text_ask(NlTrace *t, NlTraceKind kind,
                                                guint32 node, guint32 peer,
                                                const void *text, gsize len) {
  GArray *a = t->sources[kind];
  if (a == NULL)
    a = t->sources[kind] = g_array_new(FALSE, TRUE, sizeof(Source));
  if (peer >= a->len)
    g_array_set_size(a, peer + 1); /* the new ones SRC_UNKNOWN */
  Source *src = &g_array_index(a, Source, peer);
  src->node = node;
  src->state = source_state(t, kind, node, peer);
  return src->state == SRC_READ ||
         (src->state == SRC_PREFIX && has_keep_prefix(t, text, len));
}

NlTraceReaders nl_trace_source_readers(NlTrace *t, NlTraceKind kind,
                                      guint32 node, guint32 peer) {
  if (G_UNLIKELY(kind >= NL_TRACE_N_KINDS) || !nl_trace_wants(t, kind))
    return NL_TRACE_READERS_NONE;
  const GArray *a = t->sources[kind];
  if (a == NULL || peer >= a->len ||
      g_array_index(a, Source, peer).node != node ||
      g_array_index(a, Source, peer).state == SRC_UNKNOWN) {
    (void)wants_text_ask(t, kind, node, peer, "", 0); /* remembers it */
    a = t->sources[kind];
  }
  switch (g_array_index(a, Source, peer).state) {
    case SRC_NONE:
      return NL_TRACE_READERS_NONE;
    case SRC_PREFIX:
      return NL_TRACE_READERS_PREFIX;
    default:
      return NL_TRACE_READERS_ALL;
  }
}

gboolean nl_trace_prefix_may_start(const NlTrace *t, const void *start,
                                   gsize len) {
  /* A start shorter than the prefix may still begin one. */
  return len < t->keep_prefix_len || has_keep_prefix(t, start, len);
}


gboolean nl_trace_wants_text(NlTrace *t, NlTraceKind kind, guint32 node,
                             guint32 peer, const void *text, gsize len) {
  if (G_UNLIKELY(kind >= NL_TRACE_N_KINDS) || !nl_trace_wants(t, kind))
    return FALSE;
  const GArray *a = t->sources[kind];
  if (G_LIKELY(a != NULL && peer < a->len)) {
    const Source *src = &g_array_index(a, Source, peer);
    if (G_LIKELY(src->node == node && src->state != SRC_UNKNOWN))
      return src->state == SRC_READ ||
             (src->state == SRC_PREFIX && has_keep_prefix(t, text, len));
  }
  return wants_text_ask(t, kind, node, peer, text, len);
}

/* An unlinked file in @dir: O_TMPFILE where the file system has it. */
static int open_unlinked(const char *dir, GError **error) {
  int fd = -1;
#ifdef O_TMPFILE
  fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
  if (fd < 0) {
    char *tmpl = g_build_filename(dir, "natlab-trace-XXXXXX", NULL);
    fd = g_mkstemp_full(tmpl, O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
      unlink(tmpl);
    g_free(tmpl);
  }
  if (fd < 0)
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                "%s: %s", dir, g_strerror(errno));
  return fd;
}

/* Writes @n bytes of @iov to the end of the file: all, or s->error set. */
static void spill_write(Spill *s, struct iovec *iov, int n) {
  while (s->error == 0 && n > 0) {
    ssize_t w = writev(s->fd, iov, n);
    if (w < 0) {
      if (errno != EINTR)
        s->error = errno;
      continue;
    }
    s->written += (guint64)w;
    while (n > 0 && (gsize)w >= iov->iov_len) {
      w -= (ssize_t)iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (guint8 *)iov->iov_base + w;
      iov->iov_len -= (gsize)w;
    }
  }
}

static void spill_flush(Spill *s) {
  if (s->used == 0)
    return;
  struct iovec v = {s->window, s->used};
  guint64 before = s->written;
  spill_write(s, &v, 1);
  /* A failed write loses the window; what was written stays readable. */
  if (s->error != 0)
    s->written = before;
  s->used = 0;
}

static void spill_add(Spill *s, const NlTraceRecord *rec,
                      const void *payload, gsize padded) {
  if (s->size - s->used < padded)
    spill_flush(s);
  if (padded > s->size) {
    /* Bigger than the window: straight to the file. */
    static const guint8 zeros[8];
    struct iovec v[3] = {
        {(void *)rec, sizeof *rec},
        {(void *)payload, rec->len},
        {(void *)zeros, padded - sizeof *rec - rec->len}};
    guint64 before = s->written;
    spill_write(s, v, 3);
    if (s->error != 0 && s->written != before) {
      /* Half a record: cut the file back to the records before it. */
      if (ftruncate(s->fd, (off_t)before) != 0 ||
          lseek(s->fd, (off_t)before, SEEK_SET) < 0)
        s->error = errno;
      s->written = before;
    }
    return;
  }
  if (s->window == NULL)
    s->window = g_malloc(s->size);
  guint8 *p = s->window + s->used;
  memcpy(p, rec, sizeof *rec);
  if (rec->len)
    memcpy(p + sizeof *rec, payload, rec->len);
  memset(p + sizeof *rec + rec->len, 0, padded - sizeof *rec - rec->len);
  s->used += padded;
}

gboolean nl_trace_spill(NlTrace *t, const char *dir, gsize window,
                        GError **error) {
  g_return_val_if_fail(t->spill == NULL, FALSE);
  g_return_val_if_fail(window > 0, FALSE);
  int fd = open_unlinked(dir != NULL ? dir : g_get_tmp_dir(), error);
  if (fd < 0)
    return FALSE;
  Spill *s = g_new0(Spill, 1);
  s->fd = fd;
  s->size = (window + 7) & ~(gsize)7;
  s->old_maps = g_array_new(FALSE, FALSE, sizeof(Mapping));
  s->page = (gsize)sysconf(_SC_PAGESIZE);
  /* The records kept so far go first. */
  for (guint i = 0; i < t->chunks->len; i++) {
    Chunk *c = &g_array_index(t->chunks, Chunk, i);
    struct iovec v = {c->data, c->used};
    spill_write(s, &v, 1);
  }
  if (s->error != 0) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(s->error),
                "%s: %s", dir != NULL ? dir : g_get_tmp_dir(),
                g_strerror(s->error));
    spill_free(s);
    return FALSE;
  }
  for (guint i = 0; i < t->chunks->len; i++)
    free(g_array_index(t->chunks, Chunk, i).data);
  g_array_set_size(t->chunks, 0);
  t->spill = s;
  return TRUE;
}

/* The file's mapping, covering every record written: a new one when the
 * file grew since the last (the old one stays mapped for the pointers
 * into it, its pages given back). */
static const guint8 *spill_map(Spill *s) {
  if (s->map.len >= s->written)
    return s->map.data;
  void *m = mmap(NULL, s->written, PROT_READ, MAP_SHARED, s->fd, 0);
  if (m == MAP_FAILED)
    g_error("trace: cannot map the spilled records: %s", g_strerror(errno));
  madvise(m, s->written, MADV_SEQUENTIAL); /* advice only */
  if (s->map.data != NULL) {
    madvise(s->map.data, s->map.len, MADV_DONTNEED);
    g_array_append_val(s->old_maps, s->map);
  }
  s->map.data = m;
  s->map.len = s->written;
  return s->map.data;
}

gboolean nl_trace_spill_ok(const NlTrace *t, GError **error) {
  if (t->spill == NULL || t->spill->error == 0)
    return TRUE;
  g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(t->spill->error),
              "the trace's records could not be written to a temporary "
              "file: %s",
              g_strerror(t->spill->error));
  return FALSE;
}

gsize nl_trace_memory(const NlTrace *t) {
  if (t->spill != NULL)
    return t->spill->window != NULL ? t->spill->size : 0;
  gsize n = 0;
  for (guint i = 0; i < t->chunks->len; i++)
    n += g_array_index(t->chunks, Chunk, i).size;
  return n;
}

static guint8 *reserve(NlTrace *t, gsize n) {
  Chunk *c = t->chunks->len
                 ? &g_array_index(t->chunks, Chunk, t->chunks->len - 1)
                 : NULL;
  if (c == NULL || c->size - c->used < n) {
    Chunk fresh = {0};
    gsize align = 64;
    fresh.size = MAX(t->chunks->len ? BIG_CHUNK_SIZE : CHUNK_SIZE, n);
    if (fresh.size >= BIG_CHUNK_SIZE) {
      align = HUGE_PAGE;
      fresh.size = (fresh.size + HUGE_PAGE - 1) & ~(gsize)(HUGE_PAGE - 1);
    }
    void *mem = NULL;
    if (posix_memalign(&mem, align, fresh.size) != 0)
      g_error("trace: out of memory (%" G_GSIZE_FORMAT " bytes)", fresh.size);
#ifdef MADV_HUGEPAGE
    if (align == HUGE_PAGE)
      madvise(mem, fresh.size, MADV_HUGEPAGE); /* advice only */
#endif
    fresh.data = mem;
    g_array_append_val(t->chunks, fresh);
    c = &g_array_index(t->chunks, Chunk, t->chunks->len - 1);
  }
  guint8 *p = c->data + c->used;
  c->used += n;
  return p;
}

void nl_trace_add(NlTrace *t, NlTime time, NlTraceKind kind, guint32 node,
                  guint32 peer, uint64_t id, uint16_t aux, const void *payload,
                  guint32 len) {
  g_return_if_fail(kind < NL_TRACE_N_KINDS);
  if (!nl_trace_wants(t, kind))
    return;
  NlTraceRecord rec = {.time = time, .id = id, .kind = kind, .aux = aux,
                       .node = node, .peer = peer, .len = len};
  if ((t->listened >> kind) & 1)
    for (const Listener *l = t->by_kind[kind]; l->fn != NULL; l++)
      l->fn(l->data, &rec, payload);
  if (!((t->keep >> kind) & 1))
    return;
  if (((t->filtered >> kind) & 1) && !t->keep_fn(t->keep_data, &rec, payload))
    return;
  gsize padded = (sizeof(NlTraceRecord) + len + 7) & ~(gsize)7;
  t->count++;
  if (t->spill != NULL) {
    spill_add(t->spill, &rec, payload, padded);
    return;
  }
  guint8 *p = reserve(t, padded);
  /* The padding's zeros: the record's last word zeroed first (a record
   * is at least a word long), then the header and payload over it. */
  G_STATIC_ASSERT(sizeof rec >= 8);
  static const uint64_t zero;
  memcpy(p + padded - 8, &zero, 8);
  memcpy(p, &rec, sizeof rec);
  if (len)
    memcpy(p + sizeof rec, payload, len);
}

/* Whether the text between conversions is copied a word at a time (see
 * copy_literal).  Not under AddressSanitizer: the aligned word read may
 * go past the format's NUL, into bytes that are not the string's (never
 * into another page), which ASan would rightly report. */
#if G_BYTE_ORDER == G_LITTLE_ENDIAN && !defined(__SANITIZE_ADDRESS__)
#define LITERAL_WORDS 1
#else
#define LITERAL_WORDS 0
#endif

/* Copies the format's text at @f up to its next '%' or NUL to *@pp,
 * which may not pass @end; returns where it stopped (at the '%' or the
 * NUL), or NULL when the text does not fit.  Eight bytes at a time: the
 * aligned word that holds @f is read (an aligned read never crosses into
 * another page), the bytes before @f made stop-free (their top bit set),
 * and the first NUL or '%' found as the lowest zero byte of w and of
 * w ^ '%'...: a byte is flagged by (x - 0x01...) & ~x & 0x80... only
 * where it is zero or above a zero byte, so the lowest flag is exact.
 * Each word is stored whole, shifted to start at @f; the bytes past the
 * stop are overwritten later or lie past the end (the caller's room). */
static inline const char *copy_literal(char **pp, char *end, const char *f) {
  char *p = *pp;
#if LITERAL_WORDS
  const uint64_t ones = 0x0101010101010101ull, highs = ones << 7;
  unsigned off = (unsigned)((uintptr_t)f & 7);
  const char *a = f - off;
  uint64_t w;
  memcpy(&w, a, 8);
  w |= highs & ((1ull << (8 * off)) - 1);
  while (end - p >= 8) {
    uint64_t pc = w ^ (ones * '%');
    uint64_t stop = (((w - ones) & ~w) | ((pc - ones) & ~pc)) & highs;
    uint64_t text = w >> (8 * off);
    memcpy(p, &text, 8);
    if (stop != 0) {
      unsigned k = (unsigned)__builtin_ctzll(stop) >> 3;
      *pp = p + (k - off);
      return a + k;
    }
    p += 8 - off;
    a += 8;
    off = 0;
    memcpy(&w, a, 8);
  }
  f = a + off;
#endif
  /* Byte by byte, near the end of the room. */
  for (char c; (c = *f) != '\0' && c != '%'; f++) {
    if (p == end)
      return NULL;
    *p++ = c;
  }
  *pp = p;
  return f;
}

/* printf's common conversions: d i u x s c and %%, with no flags,
 * width, precision or position, and the length modifiers l ll z. */
enum { CONV_PCT, CONV_D, CONV_U, CONV_X, CONV_S, CONV_C };

/* Reads the conversion after a '%' at @f into *@conv and *@lng (0 none,
 * 1 l, 2 ll, 3 z); returns what follows it, or NULL for any other. */
static inline const char *parse_conv(const char *f, unsigned *conv,
                                     unsigned *lng) {
  unsigned l = 0;
  if (*f == 'l') {
    l = 1;
    if (*++f == 'l') {
      l = 2;
      f++;
    }
  } else if (*f == 'z') {
    l = 3;
    f++;
  }
  unsigned c;
  switch (*f++) {
    case '%':
      c = CONV_PCT;
      break;
    case 'd':
    case 'i':
      c = CONV_D;
      break;
    case 'u':
      c = CONV_U;
      break;
    case 'x':
      c = CONV_X;
      break;
    case 's':
      c = CONV_S;
      break;
    case 'c':
      c = CONV_C;
      break;
    default:
      return NULL;
  }
  if (l != 0 && (c == CONV_PCT || c == CONV_S || c == CONV_C))
    return NULL;
  *conv = c;
  *lng = l;
  return f;
}

/* The next argument of *@ap for a signed (d, i) or unsigned (u, x)
 * conversion of length @lng as parse_conv gives it: none, l, ll, z. */
static inline long long arg_signed(va_list *ap, unsigned lng) {
  return lng == 0   ? va_arg(*ap, int)
         : lng == 1 ? va_arg(*ap, long)
         : lng == 2 ? va_arg(*ap, long long)
                    : va_arg(*ap, ssize_t);
}

static inline unsigned long long arg_unsigned(va_list *ap, unsigned lng) {
  return lng == 0   ? va_arg(*ap, unsigned)
         : lng == 1 ? va_arg(*ap, unsigned long)
         : lng == 2 ? va_arg(*ap, unsigned long long)
                    : va_arg(*ap, size_t);
}

/* Whether a string argument's length and newlines are found in one pass
 * of 16 bytes at a time (text_scan).  As with LITERAL_WORDS, the aligned
 * block that holds a byte of the string is read whole (never a page the
 * string does not reach into), bytes past its NUL too. */
#if defined(__SSE2__) && LITERAL_WORDS
#define SCAN_BLOCKS 1
#else
#define SCAN_BLOCKS 0
#endif

/* strlen(@s), and OUT: *@nl set TRUE when a newline is among its bytes
 * (left as it was otherwise): printf's line path wants both of each
 * string argument, and strlen then memchr read it twice. */
static inline gsize text_scan(const char *s, gboolean *nl) {
#if SCAN_BLOCKS
  /* A byte stops the scan, its NUL or a newline, where the smaller of it
   * and it ^ '\n' is zero.  The bits of the first block's bytes before
   * @s are cleared. */
  const __m128i lf = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
  unsigned off = (unsigned)((uintptr_t)s & 15);
  const char *a = s - off;
  __m128i v = _mm_load_si128((const __m128i *)(const void *)a);
  unsigned stop = (unsigned)_mm_movemask_epi8(
      _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_xor_si128(v, lf)), zero));
  stop = stop >> off << off;
  while (stop == 0) {
    a += 16;
    v = _mm_load_si128((const __m128i *)(const void *)a);
    stop = (unsigned)_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_xor_si128(v, lf)), zero));
  }
  const char *e = a + __builtin_ctz(stop);
  if (G_LIKELY(*e == '\0'))
    return (gsize)(e - s);
  *nl = TRUE; /* the rest by strlen: a newline inside is rare */
  return (gsize)(e + 1 - s) + strlen(e + 1);
#else
  gsize n = strlen(s);
  if (memchr(s, '\n', n) != NULL)
    *nl = TRUE;
  return n;
#endif
}

/* Writes conversion @conv (@lng as parse_conv) of the next argument of
 * *@ap at *@pp, not past @end, as glibc writes it ("(null)" for a NULL
 * string); FALSE when it does not fit.  With @nl, *@nl set TRUE when it
 * writes a newline. */
static inline gboolean put_conv(char **pp, char *end, unsigned conv,
                                unsigned lng, va_list *ap, gboolean *nl) {
  char num[24];
  const char *piece = num;
  gsize n;
  switch (conv) {
    case CONV_PCT:
      num[0] = '%';
      n = 1;
      break;
    case CONV_D: {
      long long v = arg_signed(ap, lng);
      char *q = num;
      if (v < 0)
        *q++ = '-';
      q = nl_trace_put_uint(q, v < 0 ? 0ull - (unsigned long long)v
                                     : (unsigned long long)v);
      n = (gsize)(q - num);
      break;
    }
    case CONV_U:
    case CONV_X: {
      unsigned long long v = arg_unsigned(ap, lng);
      if (conv == CONV_U) {
        n = (gsize)(nl_trace_put_uint(num, v) - num);
        break;
      }
      char *q = num + sizeof num;
      do {
        *--q = "0123456789abcdef"[v & 15];
        v >>= 4;
      } while (v != 0);
      piece = q;
      n = (gsize)(num + sizeof num - q);
      break;
    }
    case CONV_S:
      piece = va_arg(*ap, const char *);
      if (piece == NULL)
        piece = "(null)";
      n = nl != NULL ? text_scan(piece, nl) : strlen(piece);
      break;
    default: /* CONV_C */
      num[0] = (char)(unsigned char)va_arg(*ap, int);
      if (nl != NULL && num[0] == '\n')
        *nl = TRUE;
      n = 1;
      break;
  }
  if (piece == num && end - *pp >= (ptrdiff_t)sizeof num) {
    memcpy(*pp, num, sizeof num); /* one fixed-size move */
    *pp += n;
    return TRUE;
  }
  if (n > (gsize)(end - *pp))
    return FALSE;
  memcpy(*pp, piece, n);
  *pp += n;
  return TRUE;
}

/* printf's common case, by hand, for the formats the cache below does
 * not hold: returns the length (@out NUL-terminated), or -1 for any
 * other conversion or a text of @cap bytes or more. */
static int format_simple(char *out, gsize cap, const char *fmt,
                         va_list *ap) {
  char *p = out, *end = out + cap - 1; /* room for the NUL */
  const char *f = fmt;
  for (;;) {
    f = copy_literal(&p, end, f);
    if (f == NULL)
      return -1;
    if (*f++ == '\0')
      break;
    unsigned conv, lng;
    f = parse_conv(f, &conv, &lng);
    if (f == NULL || !put_conv(&p, end, conv, lng, ap, NULL))
      return -1;
  }
  *p = '\0';
  return (int)(p - out);
}

#if LITERAL_WORDS
/* Formats remembered by address, parsed: a program prints through a few
 * formats, each a string constant, thousands of times.  A slot keeps the
 * aligned words that held the format's text (with its NUL) when it was
 * parsed, and a format is taken from its slot only when those words still
 * hold that text: so a format in a buffer that changes, or another
 * program's loaded where one was unloaded, is parsed again.  The words
 * are compared in order and the first difference stops the comparison:
 * a word is read only when the text so far matched without its NUL, that
 * is when the string reaches into that word (no read crosses into a page
 * it does not touch).  Only the text of the format decides what is
 * written, so the cache changes how fast, never what. */
#define FMT_SLOTS 64
#define FMT_MAX 64 /* bytes of text (with its NUL) of a remembered format */
#define FMT_WORDS (FMT_MAX / 8 + 1)
#define FMT_CONVS 16
#define NOT_SIMPLE 0xff /* nconv of a format left to vsnprintf */

typedef struct {
  const char *fmt; /* NULL: empty */
  guint8 nwords;
  guint8 nconv;                 /* conversions, or NOT_SIMPLE */
  guint8 taken_last; /* in a pair's first slot: 1 when it was taken last */
  guint8 text_len; /* the bytes of all its pieces of text */
  guint8 ends_nl;  /* its last byte a newline of its text */
  guint8 inner_nl; /* a newline of its text before its last byte */
  guint8 conv[FMT_CONVS];       /* CONV_* | length modifier << 4 */
  guint8 tlen[FMT_CONVS + 1];   /* the text before each, and after the last */
  uint64_t words[FMT_WORDS], masks[FMT_WORDS]; /* masks: the text's bytes */
  char text[FMT_MAX + 16]; /* the pieces of text, one after another ("%%"
                            * as "%"), zero-padded: a short piece moves in
                            * one 16-byte copy */
} FmtSlot;

static __thread FmtSlot fmt_slots[FMT_SLOTS];

static inline gboolean fmt_same(const FmtSlot *c, const char *fmt) {
  const char *a = (const char *)((uintptr_t)fmt & ~(uintptr_t)7);
  for (unsigned i = 0; i < c->nwords; i++) {
    uint64_t w;
    memcpy(&w, a + 8 * i, 8);
    if ((w ^ c->words[i]) & c->masks[i])
      return FALSE;
  }
  return TRUE;
}

/* Parses @fmt into @c; FALSE (and @c left empty) when it cannot be
 * remembered: too long, or too many conversions. */
static gboolean fmt_parse(FmtSlot *c, const char *fmt) {
  c->fmt = NULL;
  gsize len = strlen(fmt) + 1;
  if (len > FMT_MAX)
    return FALSE;
  memset(c->text, 0, sizeof c->text);
  unsigned n = 0, t = 0, piece = 0;
  for (const char *f = fmt; *f != '\0';) {
    if (*f != '%') {
      c->text[t++] = *f++;
      piece++;
      continue;
    }
    unsigned conv, lng;
    const char *next = parse_conv(f + 1, &conv, &lng);
    if (next == NULL) {
      n = NOT_SIMPLE;
      break;
    }
    f = next;
    if (conv == CONV_PCT) {
      c->text[t++] = '%';
      piece++;
      continue;
    }
    if (n == FMT_CONVS)
      return FALSE;
    c->tlen[n] = (guint8)piece;
    c->conv[n++] = (guint8)(conv | lng << 4);
    piece = 0;
  }
  if (n != NOT_SIMPLE)
    c->tlen[n] = (guint8)piece;
  c->nconv = (guint8)n;
  c->text_len = (guint8)t;
  c->ends_nl = piece > 0 && c->text[t - 1] == '\n';
  c->inner_nl = memchr(c->text, '\n', t - c->ends_nl) != NULL;
  unsigned off = (unsigned)((uintptr_t)fmt & 7);
  const char *a = fmt - off;
  c->nwords = (guint8)((off + len + 7) / 8);
  for (unsigned i = 0; i < c->nwords; i++) {
    memcpy(&c->words[i], a + 8 * i, 8); /* each holds bytes of the text */
    uint64_t m = ~(uint64_t)0;
    if (i == 0)
      m &= ~(uint64_t)0 << (8 * off);
    unsigned last = off + (unsigned)len - 1 - 8 * i; /* the NUL's byte */
    if (last < 7)
      m &= ~(uint64_t)0 >> (8 * (7 - last));
    c->masks[i] = m;
  }
  c->fmt = fmt;
  return TRUE;
}

/* The slot that holds @fmt, parsed now if it was not; NULL when it cannot
 * be held. */
static inline FmtSlot *fmt_slot(const char *fmt) {
  /* Two slots a format may be in, so that two formats a program uses in
   * turn are not parsed again and again when their addresses hash
   * alike; a new one takes the pair's slot not taken last. */
  uintptr_t h = (uintptr_t)fmt;
  FmtSlot *c = &fmt_slots[(h ^ (h >> 6) ^ (h >> 12)) & (FMT_SLOTS - 2)];
  if (G_LIKELY(c->fmt == fmt) || (++c)->fmt == fmt) {
    if (G_LIKELY(fmt_same(c, fmt)))
      return c;
  } else {
    c = c[-1].fmt == NULL || c[-1].taken_last == 0 ? c - 1 : c;
  }
  FmtSlot *pair = c - ((c - fmt_slots) & 1);
  pair[0].taken_last = c == pair;
  return fmt_parse(c, fmt) ? c : NULL;
}

/* Writes @n bytes of text at *@pp, not past @end (@text may be read 16
 * bytes past its start); FALSE when they do not fit. */
static inline gboolean put_text_piece(char **pp, char *end, const char *text,
                                      unsigned n) {
  if (G_LIKELY(n <= 16 && end - *pp >= 16)) {
    memcpy(*pp, text, 16);
  } else {
    if (n > (gsize)(end - *pp))
      return FALSE;
    memcpy(*pp, text, n);
  }
  *pp += n;
  return TRUE;
}

/* The text of format @c (of conversions) and the arguments *@ap in @out:
 * its length, or -1 when it needs @cap bytes or more.  With @nl, *@nl
 * set TRUE when a conversion writes a newline. */
static inline __attribute__((always_inline)) int
format_parsed(const FmtSlot *c, char *out, gsize cap, va_list *ap,
              gboolean *nl) {
  char *p = out, *end = out + cap - 1; /* room for the NUL */
  const char *text = c->text;
  unsigned n = c->nconv;
  for (unsigned k = 0;; k++) {
    unsigned t = c->tlen[k];
    if (!put_text_piece(&p, end, text, t))
      return -1;
    text += t;
    if (k == n)
      break;
    unsigned conv = c->conv[k];
    if (!put_conv(&p, end, conv & 15, conv >> 4, ap, nl))
      return -1;
  }
  *p = '\0';
  return (int)(p - out);
}
#endif

/* nl_trace_vformat, and with @one_line, nl_trace_vformat_line's
 * *@one_line. */
static int vformat(char *out, gsize cap, const char *fmt, va_list ap,
                   gboolean *one_line) {
  va_list aq;
  va_copy(aq, ap);
  int n;
#if LITERAL_WORDS
  /* (A NULL format is not looked up: an empty slot's is NULL too.) */
  const FmtSlot *c = fmt != NULL ? fmt_slot(fmt) : NULL;
  if (c == NULL) {
    n = format_simple(out, cap, fmt, &aq);
  } else if (c->nconv != NOT_SIMPLE) {
    /* The format's own text says whether the text ends its line and
     * whether a newline comes before that; the arguments, each as it is
     * written.  (-1: a text too long for @cap, by g_vsnprintf too.) */
    gboolean nl = c->inner_nl;
    n = format_parsed(c, out, cap, &aq, one_line != NULL ? &nl : NULL);
    va_end(aq);
    if (one_line != NULL)
      *one_line = n >= 0 && c->ends_nl && !nl;
    return n;
  } else {
    n = -1;
  }
#else
  n = format_simple(out, cap, fmt, &aq);
#endif
  va_end(aq);
  if (one_line != NULL)
    *one_line = FALSE; /* not known */
  if (n < 0)
    n = g_vsnprintf(out, cap, fmt, ap);
  return n >= 0 && (gsize)n < cap ? n : -1;
}

int nl_trace_vformat(char *out, gsize cap, const char *fmt, va_list ap) {
  return vformat(out, cap, fmt, ap, NULL);
}

int nl_trace_vformat_line(char *out, gsize cap, const char *fmt, va_list ap,
                          gboolean *one_line) {
  return vformat(out, cap, fmt, ap, one_line);
}

#if LITERAL_WORDS
/* The digits of @v in decimal: log10 from the highest bit set, corrected
 * by one comparison (as nl_trace_put_uint counts them). */
static inline gsize dec_digits(uint64_t v) {
  v |= 1; /* 0 has one digit, as 1 */
  unsigned n = ((64u - (unsigned)__builtin_clzll(v)) * 1233u) >> 12;
  return n + (v >= nl__trace_pow10[n]);
}

/* The length put_conv would write for conversion @cv (as a FmtSlot holds
 * it: CONV_* | length modifier << 4), its argument taken from @ap; *@nl
 * set if it writes a newline.  One switch on the whole byte: a jump by a
 * table, not a test of the conversion and then of its length. */
static inline gsize conv_len(unsigned cv, va_list *ap, gboolean *nl) {
  long long v;
  unsigned long long u;
  switch (cv) {
    case CONV_D:
      v = va_arg(*ap, int);
      goto sig;
    case CONV_D | 1 << 4:
      v = va_arg(*ap, long);
      goto sig;
    case CONV_D | 2 << 4:
      v = va_arg(*ap, long long);
      goto sig;
    case CONV_D | 3 << 4:
      v = va_arg(*ap, ssize_t);
      goto sig;
    case CONV_U:
      return dec_digits(va_arg(*ap, unsigned));
    case CONV_U | 1 << 4:
      return dec_digits(va_arg(*ap, unsigned long));
    case CONV_U | 2 << 4:
      return dec_digits(va_arg(*ap, unsigned long long));
    case CONV_U | 3 << 4:
      return dec_digits(va_arg(*ap, size_t));
    case CONV_X:
      u = va_arg(*ap, unsigned);
      goto hex;
    case CONV_X | 1 << 4:
      u = va_arg(*ap, unsigned long);
      goto hex;
    case CONV_X | 2 << 4:
      u = va_arg(*ap, unsigned long long);
      goto hex;
    case CONV_X | 3 << 4:
      u = va_arg(*ap, size_t);
      goto hex;
    case CONV_S: {
      const char *s = va_arg(*ap, const char *);
      return s != NULL ? text_scan(s, nl) : sizeof "(null)" - 1;
    }
    default: /* CONV_C */
      if ((char)va_arg(*ap, int) == '\n')
        *nl = TRUE;
      return 1;
  }
sig:
  return (gsize)(v < 0) + dec_digits(v < 0 ? 0ull - (unsigned long long)v
                                           : (unsigned long long)v);
hex:
  return (gsize)(67 - __builtin_clzll(u | 1)) / 4; /* hex digits */
}
#endif

int nl_trace_vformat_unread(const NlTrace *t, const char *fmt, va_list ap,
                            NlTraceReaders readers) {
#if LITERAL_WORDS
  const FmtSlot *c = fmt != NULL ? fmt_slot(fmt) : NULL;
  /* What the format's text says first: the arguments only count. */
  if (c == NULL || c->nconv == NOT_SIMPLE || !c->ends_nl)
    return -1;
  gboolean lines = readers == NL_TRACE_READERS_PREFIX;
  if (lines &&
      (c->inner_nl || nl_trace_prefix_may_start(t, c->text, c->tlen[0])))
    return -1;
  gboolean nl = FALSE;
  va_list aq;
  va_copy(aq, ap);
  gsize n = c->text_len;
  for (unsigned k = 0; k < c->nconv; k++)
    n += conv_len(c->conv[k], &aq, &nl);
  va_end(aq);
  return n <= G_MAXINT && !(lines && nl) ? (int)n : -1;
#else
  return -1;
#endif
}

void nl_trace_addf(NlTrace *t, NlTime time, NlTraceKind kind, guint32 node,
                   guint32 peer, uint64_t id, uint16_t aux, const char *fmt,
                   ...) {
  if (!nl_trace_wants(t, kind))
    return;
  /* Most texts fit on the stack: no allocation for them. */
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = nl_trace_vformat(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n >= 0) {
    nl_trace_add(t, time, kind, node, peer, id, aux, buf, (guint32)n);
    return;
  }
  va_start(ap, fmt);
  char *s = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  nl_trace_add(t, time, kind, node, peer, id, aux, s, (guint32)strlen(s));
  g_free(s);
}

uint64_t nl_trace_count(const NlTrace *t) {
  return t->count;
}

void nl_trace_iter_init(NlTraceIter *it, const NlTrace *t) {
  it->trace = t;
  it->chunk = 0;
  it->offset = 0;
  it->dropped = 0;
}

/* In a spilled trace, @it->offset counts bytes from the first record: the
 * file's, then the window's. */
static gboolean spill_next(NlTraceIter *it, Spill *s,
                           const NlTraceRecord **rec, const guint8 **payload) {
  const guint8 *at;
  if (it->offset < s->written) {
    const guint8 *map = spill_map(s);
    at = map + it->offset;
    /* Give back the pages before this record's, a step at a time. */
    gsize behind = it->offset & ~(s->page - 1);
    if (behind - it->dropped >= SPILL_DROP_STEP && behind > it->dropped) {
      madvise((void *)(map + it->dropped), behind - it->dropped,
              MADV_DONTNEED);
      it->dropped = behind;
    }
  } else if (it->offset - s->written < s->used) {
    at = s->window + (it->offset - s->written);
  } else {
    *rec = NULL;
    *payload = NULL;
    return FALSE;
  }
  const NlTraceRecord *r = (const NlTraceRecord *)at;
  *rec = r;
  *payload = at + sizeof *r;
  it->offset += (sizeof *r + r->len + 7) & ~(gsize)7;
  return TRUE;
}

gboolean nl_trace_iter_next(NlTraceIter *it, const NlTraceRecord **rec,
                            const guint8 **payload) {
  const NlTrace *t = it->trace;
  if (t->spill != NULL)
    return spill_next(it, t->spill, rec, payload);
  while (it->chunk < t->chunks->len) {
    const Chunk *c = &g_array_index(t->chunks, Chunk, it->chunk);
    if (it->offset < c->used) {
      const NlTraceRecord *r = (const NlTraceRecord *)(c->data + it->offset);
      *rec = r;
      *payload = c->data + it->offset + sizeof *r;
      it->offset += (sizeof *r + r->len + 7) & ~(gsize)7;
      return TRUE;
    }
    it->chunk++;
    it->offset = 0;
  }
  *rec = NULL;
  *payload = NULL;
  return FALSE;
}

const char *nl_trace_kind_name(NlTraceKind k) {
  return k < NL_TRACE_N_KINDS ? kind_names[k] : "?";
}

const char *nl_drop_reason_name(NlDropReason r) {
  return r < NL_DROP_N_REASONS ? drop_names[r] : "?";
}

const char nl__trace_digit_pairs[200] =
    "00010203040506070809101112131415161718192021222324"
    "25262728293031323334353637383940414243444546474849"
    "50515253545556575859606162636465666768697071727374"
    "75767778798081828384858687888990919293949596979899";

const uint64_t nl__trace_pow10[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
    10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
    100000000000ull, 1000000000000ull, 10000000000000ull,
    100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull};

char *nl__trace_room_grow(GString *out, gsize n) {
  gsize len = out->len;
  g_string_set_size(out, len + n);
  out->len = len;
  return out->str + len;
}

/* The nine digits of @frac (below 10^9) at @p: the last eight two at a
 * time, zeros first. */
static inline void put_frac9(char *p, uint32_t frac) {
  for (int i = 7; i > 0; i -= 2) {
    memcpy(p + i, nl__trace_digit_pairs + 2 * (frac % 100), 2);
    frac /= 100;
  }
  p[0] = (char)('0' + frac);
}

/* nl_time_to_string's form ("%s%" PRIu64 ".%09" PRIu64), by hand: the
 * text trace formats millions of times. */
static char *put_time(char *p, NlTime t) {
  uint64_t a = t < 0 ? (uint64_t)(-(t + 1)) + 1 : (uint64_t)t;
  if (t < 0)
    *p++ = '-';
  p = nl_trace_put_uint(p, a / 1000000000u);
  *p++ = '.';
  put_frac9(p, (uint32_t)(a % 1000000000u));
  return p + 9;
}

/* The text of time @t in @c: most records share their time with the one
 * before, and most of the rest their second (only the nine digits after
 * the point are written again). */
static inline void cache_time(DescCache *c, NlTime t) {
  if (G_LIKELY(t == c->time && c->time_len != 0))
    return;
  if (t >= 0 && c->time >= 0 && c->time_len != 0 &&
      (uint64_t)t - c->sec_ns < 1000000000u) {
    uint32_t frac = (uint32_t)((uint64_t)t - c->sec_ns);
    uint32_t hi = frac / 10000;
    char *f = c->time_text + c->time_len - 9;
    if (hi == c->frac_hi) {
      /* The same first five digits (a run's times a microsecond apart
       * share them for ten): the last four only. */
      uint32_t lo = frac - 10000 * hi, h = lo / 100;
      memcpy(f + 5, nl__trace_digit_pairs + 2 * h, 2);
      memcpy(f + 7, nl__trace_digit_pairs + 2 * (lo - 100 * h), 2);
    } else {
      put_frac9(f, frac);
      c->frac_hi = hi;
    }
  } else {
    c->time_len = (guint32)(put_time(c->time_text, t) - c->time_text);
    if (t >= 0) {
      c->sec_ns = (uint64_t)t - (uint64_t)t % 1000000000u;
      c->frac_hi = (uint32_t)((uint64_t)t - c->sec_ns) / 10000;
    }
  }
  c->time = t;
}

/* Whether none of the 8 bytes at @p needs an escape (a control byte,
 * DEL or a backslash), eight at a time: a byte below 0x20 borrows in
 * (w - 0x20...) where its own top bit was clear; a byte equal to c is a
 * zero byte of w ^ c...  A borrow only ever follows a byte found, so the
 * answer is exact. */
static inline gboolean plain8(const guint8 *p) {
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  uint64_t w;
  memcpy(&w, p, 8);
  uint64_t del = w ^ (ones * 0x7f), bs = w ^ (ones * '\\');
  uint64_t found = ((w - ones * 0x20) & ~w) | ((del - ones) & ~del) |
                   ((bs - ones) & ~bs);
  return (found & highs) == 0;
}

static inline gboolean plain1(guint8 c) {
  return c >= 0x20 && c != 0x7f && c != '\\';
}

/* @c as the text form writes a byte that needs an escape; returns the
 * end. */
static char *put_escape(char *p, guint8 c) {
  static const char hex[] = "0123456789abcdef";
  if (c == '\\') {
    p[0] = '\\';
    p[1] = '\\';
    return p + 2;
  }
  p[0] = '\\';
  p[1] = 'x';
  p[2] = hex[c >> 4];
  p[3] = hex[c & 15];
  return p + 4;
}

#ifdef __SSE2__
/* The special bytes (control characters, DEL, backslash) of the 16 bytes
 * in @v, bit i for byte i. */
static inline unsigned special16(__m128i v) {
  const __m128i lows = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f),
                bs = _mm_set1_epi8('\\');
  return (unsigned)_mm_movemask_epi8(_mm_or_si128(
      _mm_cmpeq_epi8(_mm_min_epu8(v, lows), v),
      _mm_or_si128(_mm_cmpeq_epi8(v, del), _mm_cmpeq_epi8(v, bs))));
}

/* The bits of the special bytes (control characters, DEL, backslash)
 * among the @w (32, 16 or 8) bytes at @s, which are copied to @p as they
 * are: bit i is byte i. */
static inline unsigned put_block(char *p, const guint8 *s, int w) {
  if (w == 8) {
    __m128i v = _mm_loadl_epi64((const __m128i *)(const void *)s);
    _mm_storel_epi64((__m128i *)(void *)p, v);
    return special16(v) & 0xffu; /* the high half's zeros masked off */
  }
  __m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)s);
  _mm_storeu_si128((__m128i *)(void *)p, v0);
  if (w == 16)
    return special16(v0);
  __m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(s + 16));
  _mm_storeu_si128((__m128i *)(void *)(p + 16), v1);
  return special16(v0) | special16(v1) << 16;
}

/* put_text's steps of @w bytes while that many are left: each block
 * stored whole and the output moved on past its plain bytes and the
 * escape of the first special one. */
static inline void put_blocks(char **pp, const guint8 **sp,
                              const guint8 *end, int w, gboolean *clean) {
  char *p = *pp;
  const guint8 *s = *sp;
  while (end - s >= w) {
    unsigned m = put_block(p, s, w);
    if (m == 0) {
      s += w;
      p += w;
      *clean = TRUE;
      continue;
    }
    unsigned k = (unsigned)__builtin_ctz(m);
    p = put_escape(p + k, s[k]);
    s += k + 1;
    *clean = FALSE;
  }
  *pp = p;
  *sp = s;
}

/* A tail of fewer than @w bytes after a clean block: read as the @w
 * bytes that end the text, written over the same bytes written already;
 * whether none of it needs an escape (then *@pp is moved past it; else
 * what was stored at *@pp is written again by the caller). */
static inline gboolean put_tail(char **pp, const guint8 *s,
                                const guint8 *end, int w) {
  unsigned rem = (unsigned)(end - s);
  if ((put_block(*pp + rem - w, end - w, w) >> (w - rem)) != 0)
    return FALSE;
  *pp += rem;
  return TRUE;
}
#endif

/* A text payload at @p, where 4 * @len + 16 bytes may be written, with
 * control characters, DEL and backslashes escaped, so that one record is
 * always one line; returns the end.  Sixteen bytes at a time where the
 * machine has SSE2 (x86-64 always does), thirty-two while that many are
 * left, else eight: each block is stored whole and the output moved on
 * past its plain bytes.  Inline in both of nl_trace_format's forms: a
 * record's text is most of its line. */
static char *put_text(char *p, const guint8 *s, gsize len) {
  const guint8 *end = s + len;
  /* Whether the last 8 bytes written are the 8 bytes read before @s (a
   * block without an escape): then a tail shorter than a block is read
   * as the block that ends the text, overlapping what was read already,
   * and, if it needs no escape, written over what was written already
   * (the same bytes) and on. */
  gboolean clean = FALSE;
#ifdef __SSE2__
  put_blocks(&p, &s, end, 32, &clean);
  put_blocks(&p, &s, end, 16, &clean);
  if (clean && s < end && put_tail(&p, s, end, 16))
    return p;
  /* The same eight bytes at a time (a short text: a BLOCK record's call),
   * in the low half of a vector. */
  put_blocks(&p, &s, end, 8, &clean);
  if (clean && s < end && put_tail(&p, s, end, 8))
    return p;
#else
  while (end - s >= 8) {
    memcpy(p, s, 8);
    if (plain8(s)) {
      s += 8;
      p += 8;
      clean = TRUE;
      continue;
    }
    while (plain1(*s))
      *p++ = (char)*s++;
    p = put_escape(p, *s++);
    clean = FALSE;
  }
  if (clean && s < end && plain8(end - 8)) {
    /* (The bytes before @s were plain: so are all eight.) */
    memcpy(p + (end - s) - 8, end - 8, 8);
    return p + (end - s);
  }
#endif
  for (; s < end; s++) {
    if (plain1(*s))
      *p++ = (char)*s;
    else
      p = put_escape(p, *s);
  }
  return p;
}

/* put_text's common case, a text of 16 to 64 bytes none of which needs an
 * escape (a call, a printed line), in one step: the text is read in 16-byte
 * vectors that lie within it (the last ones overlap those before: the first
 * 16 and last 16 bytes, and for more than 32 the 16 after the first and
 * before the last), the special bytes looked for, and, when there are none,
 * the vectors stored at the same places from @p.  Nothing past the text is
 * read (valgrind and ASan see only its own bytes).  Returns the end, or
 * NULL (nothing written that counts) for any other text. */
static inline char *put_text_short(char *p, const guint8 *s, gsize len) {
#ifdef __SSE2__
  if (len < 16 || len > 64)
    return NULL;
  const guint8 *t = s + len - 16;
  __m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)s),
          v3 = _mm_loadu_si128((const __m128i *)(const void *)t);
  unsigned m = special16(v0) | special16(v3);
  _mm_storeu_si128((__m128i *)(void *)p, v0);
  _mm_storeu_si128((__m128i *)(void *)(p + len - 16), v3);
  if (len > 32) {
    __m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(s + 16)),
            v2 = _mm_loadu_si128((const __m128i *)(const void *)(t - 16));
    m |= special16(v1) | special16(v2);
    _mm_storeu_si128((__m128i *)(void *)(p + 16), v1);
    _mm_storeu_si128((__m128i *)(void *)(p + len - 32), v2);
  }
  return m == 0 ? p + len : NULL;
#else
  (void)p;
  (void)s;
  (void)len;
  return NULL;
#endif
}

/* An interned name: its bytes are followed by NAME_PAD zeros (see
 * nl_trace_intern), so a short one is copied in one fixed-size move. */
static const char unknown_text[NAME_PAD] = "?";
static const Name unknown_name = {unknown_text, 1};

static inline const Name *name_of(const Fmt *f, guint32 id) {
  if (G_LIKELY(id < f->name_tab->len))
    return &g_array_index(f->name_tab, Name, id);
  if (f->trace != NULL)
    (void)nl_trace_name(f->trace, id); /* says it is unknown */
  else
    g_critical("trace: a record names unknown name %u", id);
  return &unknown_name;
}

/* Writes @n at @p, where NAME_PAD bytes more may be written; returns the
 * end. */
static inline char *put_name(char *p, const Name *n) {
  if (G_LIKELY(n->len <= NAME_PAD))
    memcpy(p, n->s, NAME_PAD);
  else
    memcpy(p, n->s, n->len);
  return p + n->len;
}

/* Whether slot @d holds the @len bytes at @payload. */
static inline gboolean desc_holds(const DescSlot *d, const guint8 *payload,
                                  guint32 len) {
  return d->len == len && memcmp(d->bytes, payload, len) == 0;
}

/* @d's text at @p, where 64 bytes more than it may be written, and a
 * newline after it if @line; returns the end. */
static inline char *desc_copy(char *p, const DescSlot *d, gboolean line) {
  /* Most decodes are under 64 bytes: one fixed-size move. */
  if (d->text_len <= 64)
    memcpy(p, d->text, 64);
  else
    memcpy(p, d->text, d->text_len);
  p += d->text_len;
  if (line)
    *p++ = '\n';
  return p;
}

/* @d's text, at the end of @out, and a newline after it if @line. */
static inline void desc_put(const DescSlot *d, GString *out, gboolean line) {
  char *p = nl_trace_room(out, 64 + d->text_len);
  nl_trace_room_done(out, desc_copy(p, d, line));
}

/* A newline at the end of @out. */
static inline void put_newline(GString *out) {
  char *p = nl_trace_room(out, 1);
  *p = '\n';
  nl_trace_room_done(out, p + 1);
}

/* Slot @d made to hold @len bytes at @payload and their @n bytes of text
 * at @text. */
static void desc_fill(DescSlot *d, const guint8 *payload, guint32 len,
                      const char *text, gsize n) {
  if (d->cap < len) {
    d->cap = MAX(len, 128u);
    d->bytes = g_realloc(d->bytes, d->cap);
  }
  memcpy(d->bytes, payload, len);
  memcpy(d->text, text, n);
  d->len = len;
  d->text_len = (guint32)n;
}

/* The set of KEY_WAYS entries where @key's decode may be kept. */
static inline KeyText *key_set(DescCache *c, const uint64_t key[2]) {
  if (G_UNLIKELY(c->keys == NULL))
    c->keys = g_new0(KeyText, KEY_SETS * KEY_WAYS);
  uint64_t h = (key[0] ^ (key[1] * 0x9e3779b97f4a7c15ull)) *
               0x9e3779b97f4a7c15ull;
  return &c->keys[(h >> (64 - 12)) * KEY_WAYS];
}
G_STATIC_ASSERT(KEY_SETS == 1 << 12);

/* The text of the packet at @payload (@len bytes, its id's slot @d not
 * holding it), at the end of @out, and a newline if @line: the decode of
 * its key when one was remembered (nl_trace_set_packet_key), or the
 * decode of the last packet decoded when the bytes are the same or the
 * decoder shows them alike (packet_same: a NAT's translation record
 * carries the bytes of the next hop's send, which follows it, but for the
 * TTL the router takes one from), else the decoder's.  @d is made to
 * hold it.  The decoder is a function of the bytes alone, so the text is
 * the same either way. */
static G_GNUC_NO_INLINE void put_packet_new(const Fmt *f,
                                            const guint8 *payload,
                                            guint32 len, DescSlot *d,
                                            GString *out, gboolean line) {
  DescCache *c = f->desc;
  DescSlot *last = c->last;
  if (last != NULL && last != d && last->len == len &&
      (memcmp(last->bytes, payload, len) == 0 ||
       (f->packet_same != NULL &&
        f->packet_same(last->bytes, payload, len)))) {
    desc_fill(d, payload, len, last->text, last->text_len);
    c->last = d;
    desc_put(d, out, line);
    return;
  }
  uint64_t key[2];
  KeyText *set = NULL;
  if (f->packet_key != NULL && f->packet_key(payload, len, key)) {
    set = key_set(c, key);
    for (unsigned w = 0; w < KEY_WAYS; w++) {
      KeyText *k = &set[w];
      if (k->key[0] == key[0] && k->key[1] == key[1] && k->len != 0) {
        desc_fill(d, payload, len, k->text, k->len);
        c->last = d;
        desc_put(d, out, line);
        return;
      }
    }
  }
  gsize at = out->len;
  f->packet_format(payload, len, out);
  gsize n = out->len - at;
  if (set != NULL && n <= KEY_TEXT) {
    /* The newest first: the older one moves to the second way. */
    memmove(&set[1], &set[0], (KEY_WAYS - 1) * sizeof *set);
    memcpy(set[0].key, key, sizeof set[0].key);
    set[0].len = (guint32)n;
    memcpy(set[0].text, out->str + at, n);
  }
  if (n > DESC_MAX_TEXT) {
    d->len = 0;
    if (c->last == d)
      c->last = NULL;
  } else {
    desc_fill(d, payload, len, out->str + at, n);
    c->last = d;
  }
  if (line)
    put_newline(out);
}

/* The slot of a packet record's decode, by its id; NULL when its decode
 * is not remembered (no decoder, no bytes or too many). */
static inline DescSlot *packet_slot(const Fmt *f,
                                    const NlTraceRecord *rec) {
  DescCache *c = f->desc;
  if (f->packet_format == NULL || rec->len == 0 || rec->len > DESC_MAX_PKT)
    return NULL;
  if (G_UNLIKELY(c->slots == NULL))
    c->slots = g_new0(DescSlot, DESC_SLOTS);
  return &c->slots[rec->id & (DESC_SLOTS - 1)];
}

/* A packet record's id at @p, where 24 bytes may be written; returns the
 * end.  A hop's send, receive and delivery records (and a NAT's
 * translation) share their id, so its digits are remembered in its slot
 * @d (by the id alone: the slot's packet may be another's). */
static inline char *put_packet_id(const NlTraceRecord *rec, DescSlot *d,
                                  char *p) {
  if (d == NULL)
    return nl_trace_put_uint(p, rec->id);
  if (d->id != rec->id || d->id_len == 0) {
    d->id = rec->id;
    d->id_len = (guint32)(nl_trace_put_uint(d->id_text, rec->id) - d->id_text);
  }
  memcpy(p, d->id_text, sizeof d->id_text);
  return p + d->id_len;
}

/* nl_trace_format, and a newline after the text if @line (the text
 * writers' lines: written with the text, not appended after it). */
static inline __attribute__((always_inline)) void
format_record(const Fmt *f, const NlTraceRecord *rec,
              const guint8 *payload, GString *out, gboolean line) {
  NlTraceKind kind = rec->kind;
  const Name *node = name_of(f, rec->node);
  const Name *peer = name_of(f, rec->peer);
  gboolean packet = kind < NL_TRACE_N_KINDS && kind_is_packet[kind];
  /* The time, names, kind, id and drop reason: under 180 bytes besides
   * the names, counting the fixed-size copies' overshoot; a text's bytes
   * are at most four each. */
  gsize need = 224 + node->len + peer->len +
               (packet ? 64 + DESC_MAX_TEXT : 4 * (gsize)rec->len);
  char *p = nl_trace_room(out, need);
  DescCache *c = f->desc;
  cache_time(c, rec->time);
  memcpy(p, c->time_text, sizeof c->time_text);
  p += c->time_len;
  *p++ = ' ';
  p = put_name(p, node);
  *p++ = ' ';
  if (G_LIKELY(kind < NL_TRACE_N_KINDS)) {
    memcpy(p, kind_names_padded[kind], NAME_PAD);
    p += kind_name_lens[kind];
  } else {
    *p++ = '?';
  }
  if (packet) {
    if (kind == NL_TRACE_PKT_SEND ||
        (kind == NL_TRACE_PKT_DROP && (rec->aux & NL_DROP_OUTGOING))) {
      memcpy(p, " -> ", 4);
      p = put_name(p + 4, peer);
    } else if (rec->peer != 0) {
      memcpy(p, " <- ", 4);
      p = put_name(p + 4, peer);
    }
    memcpy(p, " #", 2);
    DescSlot *d = packet_slot(f, rec);
    p = put_packet_id(rec, d, p + 2);
    *p++ = ' ';
    if (kind == NL_TRACE_PKT_DROP) {
      const char *why = nl_drop_reason_name(nl_trace_drop_reason(rec->aux));
      gsize n = strlen(why);
      *p++ = '(';
      memcpy(p, why, n);
      p += n;
      memcpy(p, ") ", 2);
      p += 2;
    }
    /* The core does not know wire formats: the network layer installs
     * the decoder (nl_world_new); without one the length is all we say. */
    if (d != NULL && desc_holds(d, payload, rec->len)) {
      /* Its slot's text: a hop's send, receive and delivery records
       * carry the same bytes.  (Room for it was reserved.) */
      nl_trace_room_done(out, desc_copy(p, d, line));
    } else if (d != NULL) {
      nl_trace_room_done(out, p);
      put_packet_new(f, payload, rec->len, d, out, line);
    } else if (f->packet_format != NULL) {
      nl_trace_room_done(out, p);
      f->packet_format(payload, rec->len, out);
      if (line)
        put_newline(out);
    } else {
      p = nl_trace_put_uint(p, rec->len);
      memcpy(p, " bytes", 6);
      p += 6;
      if (line)
        *p++ = '\n';
      nl_trace_room_done(out, p);
    }
    return;
  }
  if (rec->peer != 0) {
    memcpy(p, " [", 2);
    p = put_name(p + 2, peer);
    *p++ = ']';
  }
  *p++ = ' ';
  char *e = put_text_short(p, payload, rec->len);
  p = G_LIKELY(e != NULL) ? e : put_text(p, payload, rec->len);
  if (line)
    *p++ = '\n';
  nl_trace_room_done(out, p);
}

void nl_trace_format(const NlTrace *t, const NlTraceRecord *rec,
                     const guint8 *payload, GString *out) {
  format_record(&t->fmt, rec, payload, out, FALSE);
}

void nl_trace_format_line(const NlTrace *t, const NlTraceRecord *rec,
                          const guint8 *payload, GString *out) {
  format_record(&t->fmt, rec, payload, out, TRUE);
}

/* nl_trace_listen_text's listener. */
static void text_hear(void *data, const NlTraceRecord *rec,
                      const guint8 *payload) {
  NlTraceText *x = data;
  if (G_UNLIKELY(x->stopped))
    return;
  format_record(&x->trace->fmt, rec, payload, x->block, TRUE);
  if (G_UNLIKELY(x->block->len >= x->flush_at))
    x->flush(x->data, x->block);
}

NlTraceText *nl_trace_listen_text(NlTrace *t, GString *block, gsize flush_at,
                                  NlTraceFlushFn flush, void *data) {
  g_return_val_if_fail(block != NULL && flush != NULL, NULL);
  NlTraceText *x = g_new0(NlTraceText, 1);
  *x = (NlTraceText){.trace = t, .block = block, .flush_at = flush_at,
                     .flush = flush, .data = data};
  if (t->texts == NULL)
    t->texts = g_ptr_array_new_with_free_func(text_free);
  g_ptr_array_add(t->texts, x);
  nl_trace_listen(t, ~(uint64_t)0, text_hear, x);
  return x;
}

/* ---- the text thread ---- */

static RecBlock end_mark; /* handed to the thread: nothing more comes */

static inline gsize entry_size(guint32 len) {
  return (sizeof(NlTraceRecord) + len + 7) & ~(gsize)7;
}

/* The block being filled handed to the thread, with the decoder's
 * functions now. */
static void hand_over(NlTraceText *x) {
  const Fmt *f = &x->trace->fmt;
  RecBlock *b = x->cur;
  b->packet_format = f->packet_format;
  b->packet_same = f->packet_same;
  b->packet_key = f->packet_key;
  g_async_queue_push(x->full, b);
  x->cur = NULL;
}

/* The block being filled handed over, and an empty one with room for @n
 * bytes taken back (waiting for one when all are full). */
static G_GNUC_NO_INLINE RecBlock *next_block(NlTraceText *x, gsize n) {
  hand_over(x);
  RecBlock *b = g_async_queue_pop(x->empty);
  if (b->size < n) {
    b = g_realloc(b, sizeof *b + n);
    b->size = n;
  }
  b->used = 0;
  x->cur = b;
  return b;
}

/* Room for an entry of @len bytes of payload in the block being filled. */
static inline guint8 *entry_room(NlTraceText *x, guint32 len) {
  gsize n = entry_size(len);
  RecBlock *b = x->cur;
  if (G_UNLIKELY(b->size - b->used < n))
    b = next_block(x, n);
  guint8 *p = b->data + b->used;
  b->used += n;
  return p;
}

/* The names interned since the last entry of them, as an entry. */
static G_GNUC_NO_INLINE void send_names(NlTraceText *x) {
  const GArray *tab = x->trace->fmt.name_tab;
  guint n = tab->len - x->names_sent;
  guint32 len = (guint32)(n * sizeof(Name));
  NlTraceRecord rec = {.kind = NAMES_ENTRY, .node = x->names_sent,
                       .len = len};
  guint8 *p = entry_room(x, len);
  memcpy(p, &rec, sizeof rec);
  memcpy(p + sizeof rec, &g_array_index(tab, Name, x->names_sent), len);
  x->names_sent = tab->len;
}

/* nl_trace_listen_text_thread's listener: the record copied for the
 * thread. */
static void text_hear_thread(void *data, const NlTraceRecord *rec,
                             const guint8 *payload) {
  NlTraceText *x = data;
  if (G_UNLIKELY(x->stopped))
    return;
  if (G_UNLIKELY(x->trace->fmt.name_tab->len != x->names_sent))
    send_names(x);
  guint8 *p = entry_room(x, rec->len);
  memcpy(p, rec, sizeof *rec);
  if (rec->len != 0)
    memcpy(p + sizeof *rec, payload, rec->len);
}

/* On the thread: the names of a NAMES_ENTRY added to its table, each of
 * up to NAME_PAD bytes pointing to a copy of its bytes in the thread's
 * chunks (a longer one to the trace's).  A line has two names of any of
 * thousands of nodes and programs: interned one by one, they lie a
 * separate allocation each across the heap, a cache miss each once the
 * records streaming through have pushed them out; copied, they lie two
 * or more to a cache line, in the order the run made them.  A copy is
 * followed by NAME_PAD bytes that may be read (put_name moves NAME_PAD at
 * once): the next names' or the chunk's own, never written out (put_name
 * advances by the name's length). */
static void add_names(NlTraceText *x, const Name *names, guint n) {
  for (guint i = 0; i < n; i++) {
    Name c = names[i];
    if (c.len <= NAME_PAD) {
      gsize step = (c.len + 7) & ~(gsize)7;
      if (x->name_chunks->len == 0 ||
          NAME_CHUNK - x->name_used < step + NAME_PAD) {
        g_ptr_array_add(x->name_chunks, g_malloc0(NAME_CHUNK));
        x->name_used = 0;
      }
      char *at = (char *)g_ptr_array_index(x->name_chunks,
                                           x->name_chunks->len - 1) +
                 x->name_used;
      memcpy(at, c.s, NAME_PAD); /* its bytes and zeros after them */
      x->name_used += step;
      c.s = at;
    }
    g_array_append_val(x->fmt.name_tab, c);
  }
}

/* On the thread: the lines of a block's records. */
static void text_block(NlTraceText *x, const RecBlock *b) {
  x->fmt.packet_format = b->packet_format;
  x->fmt.packet_same = b->packet_same;
  x->fmt.packet_key = b->packet_key;
  for (gsize at = 0; at < b->used;) {
    const NlTraceRecord *rec = (const NlTraceRecord *)(b->data + at);
    const guint8 *payload = b->data + at + sizeof *rec;
    at += entry_size(rec->len);
    if (rec->kind == NAMES_ENTRY) {
      g_return_if_fail(rec->node == x->fmt.name_tab->len);
      add_names(x, (const Name *)payload, rec->len / sizeof(Name));
      continue;
    }
    format_record(&x->fmt, rec, payload, x->block, TRUE);
    if (G_UNLIKELY(x->block->len >= x->flush_at))
      x->flush(x->data, x->block);
  }
}

static gpointer text_thread(gpointer data) {
  NlTraceText *x = data;
  g_mutex_lock(&x->start_lock);
  x->started = TRUE;
  g_cond_signal(&x->start_cond);
  g_mutex_unlock(&x->start_lock);
  for (;;) {
    RecBlock *b = g_async_queue_pop(x->full);
    if (b == &end_mark)
      return NULL;
    if (!x->discard)
      text_block(x, b);
    b->used = 0;
    g_async_queue_push(x->empty, b);
  }
}

NlTraceText *nl_trace_listen_text_thread(NlTrace *t, GString *block,
                                         gsize flush_at, NlTraceFlushFn flush,
                                         void *data) {
  g_return_val_if_fail(block != NULL && flush != NULL, NULL);
  NlTraceText *x = g_new0(NlTraceText, 1);
  *x = (NlTraceText){.trace = t, .block = block, .flush_at = flush_at,
                     .flush = flush, .data = data};
  x->full = g_async_queue_new();
  x->empty = g_async_queue_new();
  for (int i = 0; i < TEXT_BLOCKS; i++) {
    RecBlock *b = g_malloc(sizeof *b + TEXT_REC_BLOCK);
    *b = (RecBlock){.size = TEXT_REC_BLOCK};
    g_async_queue_push(x->empty, b);
  }
  x->cur = g_async_queue_pop(x->empty);
  x->fmt.name_tab = g_array_new(FALSE, FALSE, sizeof(Name));
  x->name_chunks = g_ptr_array_new_with_free_func(g_free);
  x->fmt.desc = g_new0(DescCache, 1);
  /* The thread takes no signal: they are the simulation's (the kernel
   * still sends a fault of its own to it). */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  GError *error = NULL;
  g_mutex_init(&x->start_lock);
  g_cond_init(&x->start_cond);
  x->thread = g_thread_try_new("natlab-trace", text_thread, x, &error);
  /* Until the thread runs its own code, the C library and GLib make
   * system calls on it (the signal mask, its name) that a sealed natlab
   * traps (sim/host/seal.c); made while a program loads, they would be
   * taken for the program's.  So none is left for later. */
  g_mutex_lock(&x->start_lock);
  while (x->thread != NULL && !x->started)
    g_cond_wait(&x->start_cond, &x->start_lock);
  g_mutex_unlock(&x->start_lock);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (t->texts == NULL)
    t->texts = g_ptr_array_new_with_free_func(text_free);
  g_ptr_array_add(t->texts, x);
  if (x->thread == NULL) {
    /* No thread to be had: the lines are made as heard. */
    g_clear_error(&error);
    nl_trace_listen(t, ~(uint64_t)0, text_hear, x);
  } else {
    nl_trace_listen(t, ~(uint64_t)0, text_hear_thread, x);
  }
  return x;
}

/* A text thread's queue emptied and the thread ended; with @discard,
 * what it has not formatted yet is dropped. */
static void text_join(NlTraceText *x, gboolean discard) {
  if (x->thread == NULL)
    return;
  x->discard = discard;
  hand_over(x);
  g_async_queue_push(x->full, &end_mark);
  g_thread_join(x->thread);
  x->thread = NULL;
  RecBlock *b;
  while ((b = g_async_queue_try_pop(x->empty)) != NULL)
    g_free(b);
}

static void text_free(gpointer p) {
  NlTraceText *x = p;
  text_join(x, TRUE);
  if (x->full != NULL) {
    RecBlock *b;
    g_free(x->cur); /* a text made without a thread's */
    while ((b = g_async_queue_try_pop(x->empty)) != NULL)
      g_free(b);
    g_async_queue_unref(x->full);
    g_async_queue_unref(x->empty);
    g_mutex_clear(&x->start_lock);
    g_cond_clear(&x->start_cond);
    g_array_free(x->fmt.name_tab, TRUE);
    g_ptr_array_free(x->name_chunks, TRUE);
    desc_free(x->fmt.desc);
  }
  g_free(x);
}

void nl_trace_text_stop(NlTraceText *text) {
  text->stopped = TRUE;
  text_join(text, FALSE);
}

gboolean nl_trace_write_text(const NlTrace *t, const char *path,
                             GError **error) {
  FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
  if (f == NULL) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                "%s: %s", path, g_strerror(errno));
    return FALSE;
  }
  /* Lines are gathered and written a block at a time. */
  GString *block = g_string_sized_new(TEXT_BLOCK + 4096);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &payload)) {
    nl_trace_format_line(t, rec, payload, block);
    if (block->len >= TEXT_BLOCK) {
      fwrite(block->str, 1, block->len, f);
      g_string_truncate(block, 0);
    }
  }
  fwrite(block->str, 1, block->len, f);
  g_string_free(block, TRUE);
  gboolean ok = !ferror(f);
  if (f != stdout)
    ok = (fclose(f) == 0) && ok;
  else
    fflush(f);
  if (!ok)
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "%s: write failed",
                path);
  return ok;
}
