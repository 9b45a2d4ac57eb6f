/* Private structures of the host layer: host stacks, files, threads and
 * processes, shared by sched.c, vsock.c, proc.c and posix.c (and nothing
 * outside sim/host/).  The files are layered: sched.c (files, descriptors,
 * blocking) knows no socket and no process lifecycle; vsock.c (sockets)
 * uses sched.c; proc.c (processes) uses both; posix.c is the face over
 * all three.  Functions below are grouped by the file that defines them. */
#ifndef NL_HOST_PRIV_H
#define NL_HOST_PRIV_H

#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>

#include "sim/host/coro.h"
#include "sim/host/facts-priv.h"
#include "sim/host/heap.h"
#include "sim/host/loader.h"
#include "sim/net/net.h"
#include "sim/host/proc.h"
#include "sim/tcp/tcp.h"

/* A host's processes found by a scan of its list up to this many, by a
 * table past it (NlHostStack.proc_by_name). */
#define NL__PROC_SCAN 8

typedef struct NlHostStack NlHostStack;
typedef struct NlThread NlThread;
typedef struct NlFile NlFile;
typedef struct NlUdpSock NlUdpSock;
typedef struct NlPipe NlPipe;
typedef struct NlEpoll NlEpoll;
typedef struct NlEpItem NlEpItem;
typedef struct NlWatch NlWatch;
typedef struct NlKqueue NlKqueue; /* kqueue.c */
typedef struct NlUring NlUring;   /* uring.c */

/* What an AF_INET6 socket's IPPROTO_IPV6 options say (vsock.c). */
typedef struct {
  int hops;     /* IPV6_UNICAST_HOPS; -1: the route's (64) */
  int mhops;    /* IPV6_MULTICAST_HOPS; -1: 1 */
  int tclass;   /* IPV6_TCLASS */
  int pmtudisc; /* IPV6_MTU_DISCOVER */
  int mtu;      /* IPV6_MTU (0: the path's) */
  guint32 flags; /* booleans: bit (name & 31) for the IPV6_RECV* options */
  gboolean dontfrag, mloop;
} NlSockV6;

/* CLOCK_MONOTONIC reads as if the machine booted this long before. */
#define NL_BOOT_OFFSET (1000 * NL_S)

/* The most descriptors a process may ever have (Linux's fs.nr_open); the
 * process's RLIMIT_NOFILE (facts.c, 1024 unless the scenario or the
 * program says otherwise) is the limit in force. */
#define NL_MAX_FDS 1048576

/* What a datagram's delivery and a send read come first, in the first
 * line of a 64-byte-aligned allocation (proc.c): at 1,000 hosts the host
 * is out of the cache at each (docs/performance.md, "Sockets and NAT per
 * delivery, fourth round"). */
struct NlHostStack {
  NlNode *node;
  NlWorld *world;
  /* The socket alone on port udp_one_port, the last a datagram found that
   * way (NULL: none; any bind or unbind forgets it): a delivery then
   * reads the socket and nothing else of the host's tables (vsock.c). */
  NlUdpSock *udp_one;
  uint16_t udp_one_port;
  /* The source address and first hop of the last IPv4 datagram sent to
   * an address (vsock.c). */
  NlSourceRoute source_route;
  /* The rest. */
  uint16_t udp_last_port;
  NlTcpStack *tcp;
  GHashTable *udp_ports; /* port -> GPtrArray of NlUdpSock, bind order */
  GPtrArray *udp_last;   /* the list of udp_last_port, looked up last */
  NlRand port_rand;
  GPtrArray *procs;      /* NlProc, spawn order */
  /* instance name -> NlProc (lookups only); NULL while the host has
   * NL__PROC_SCAN processes or fewer (found in @procs: a thousand hosts
   * of one program each make no table) */
  GHashTable *proc_by_name;
  int next_pid;
  uint64_t bind_seq;
  NlHostFacts facts; /* facts.c */
  guint files_open;  /* NlFile alive (sched.c), for nl_proc_open_files() */
};

typedef enum {
  NL_FILE_UDP,
  NL_FILE_TCP,
  NL_FILE_PIPE_R,
  NL_FILE_PIPE_W,
  NL_FILE_EPOLL,
  NL_FILE_OUTPUT, /* a process's stdout or stderr */
  NL_FILE_KQUEUE, /* kqueue.c */
  NL_FILE_URING,  /* uring.c */
  NL_FILE_VFS,    /* a device or a file opened by name (vfs.c) */
  NL_FILE_UNIX,   /* one end of socketpair(AF_UNIX, SOCK_STREAM) */
} NlFileKind;

typedef struct NlVfile NlVfile;

/* What a kind of file does when its last reference goes and when polled.
 * Each file's creator gives them (sched.c for pipes, epoll and output;
 * vsock.c for sockets), so sched.c never calls up into the layer that
 * made the file -- the seam of docs/architecture.md. */
/* What a file holds now, as kqueue's filters report it. */
typedef struct {
  int64_t readable; /* bytes to read (a listener: connections waiting) */
  int64_t writable; /* room to write */
  gboolean read_eof, write_eof;
  int error;        /* pending error, not taken; 0 if none */
} NlFileFill;

typedef struct {
  void (*closed)(NlFile *f);  /* release the kind's state (may be NULL) */
  unsigned (*poll)(NlFile *f); /* POLLIN/POLLOUT/... readiness now */
  /* Amounts (may be NULL: the file says nothing beyond poll). */
  void (*fill)(NlFile *f, NlFileFill *out);
  /* read() and write() of kinds that never block (may be NULL). */
  ssize_t (*read)(NlFile *f, void *buf, size_t len);
  ssize_t (*write)(NlFile *f, const void *buf, size_t len);
} NlFileOps;

/* Who waits on what: a file's blocked threads and the files a thread
 * waits on, in the order they started waiting (wake-ups go in that
 * order); and a file's watches.  Held in the structures themselves: most
 * hold one entry, kept in the list itself (@one, while @cap is 0), so
 * that a wake-up reads no other line than the structure's; a second
 * entry moves them to an array (@v, @cap entries) for good. */
typedef struct {
  union {
    gpointer one; /* @cap 0: the entry, if @len is 1 */
    gpointer *v;  /* @cap > 0 */
  };
  guint len, cap;
} NlWaitList;

/* The entries, @len of them. */
static inline gpointer *nl__wait_list_items(NlWaitList *l) {
  return l->cap > 0 ? l->v : &l->one;
}

static inline gpointer nl__wait_list_at(NlWaitList *l, guint i) {
  return nl__wait_list_items(l)[i];
}

void nl__wait_list_grow(NlWaitList *l); /* sched.c */

static inline void nl__wait_list_add(NlWaitList *l, gpointer p) {
  if (l->cap == 0 && l->len == 0) {
    l->one = p;
    l->len = 1;
    return;
  }
  if (l->len >= l->cap) /* (@cap 0: @len is 1) */
    nl__wait_list_grow(l);
  l->v[l->len++] = p;
}

/* Removes the first @p, keeping the order of the rest. */
static inline void nl__wait_list_remove(NlWaitList *l, gconstpointer p) {
  gpointer *v = nl__wait_list_items(l);
  for (guint i = 0; i < l->len; i++) {
    if (v[i] == p) {
      l->len--;
      if (i < l->len)
        memmove(&v[i], &v[i + 1], (l->len - i) * sizeof *v);
      return;
    }
  }
}

static inline void nl__wait_list_clear(NlWaitList *l) {
  if (l->cap > 0)
    g_free(l->v);
  l->v = NULL;
  l->len = l->cap = 0;
}

/* What a call on a socket and a datagram's delivery read come first, in
 * the first line of a 64-byte-aligned allocation (sched.c): at 1,000 hosts
 * the file is out of the cache at each call (docs/performance.md,
 * "Sockets and NAT per delivery, fourth round"): its socket, its waiters
 * and watches (a notify reads no other line when it has none or one
 * waiter), the receive timeout, the flags. */
struct NlFile {
  NlUdpSock *udp;
  NlHostStack *host;
  const NlFileOps *ops;
  NlWaitList waiters;  /* NlThread blocked on this file */
  NlWaitList *watchers; /* NlWatch on this file, insertion order; NULL: none */
  NlTime rcvtimeo;     /* sockets; 0 = none */
  int status_flags : 16; /* O_NONBLOCK, O_APPEND */
  NlFileKind kind : 8;
  int domain : 8;        /* sockets (AF_INET, AF_INET6, AF_UNIX) */
  int refs;
  /* The rest. */
  NlTime sndtimeo; /* 0 = none */
  NlTcpSock *tcp;
  int type;
  gboolean v6only;
  NlSockV6 v6; /* AF_INET6 sockets */
  gboolean tcp_listening;
  gboolean accepted; /* made by accept(): a connection the process serves */
  /* pipes; a socketpair end reads @pipe and writes @pipe_tx */
  NlPipe *pipe;
  NlPipe *pipe_tx;
  /* epoll, kqueue, io_uring */
  NlEpoll *ep;
  NlKqueue *kq;
  NlUring *uring;
  /* output */
  NlProc *out_proc;
  int out_stream; /* 1 or 2 */
  /* devices and files opened by name */
  NlVfile *vf;
};

/* A socket's addresses are NlIp6: an IPv4 address in its v4-mapped form
 * (as Linux's dual-stack sockets hold it); the unspecified address of
 * either family is all zeros.
 *
 * What a datagram's delivery and the calls that send and receive one
 * read comes first, in the first line of a 64-byte-aligned allocation:
 * at 1,000 hosts each delivery finds the socket out of the cache
 * (docs/performance.md, "Sockets and NAT per delivery, fourth round").
 * The receive queue is the delivered packets themselves (NlPacket's
 * owner_next, owner_off and owner_len). */
struct NlUdpSock {
  NlFile *file;
  NlPacket *head, **tail; /* the receive queue, oldest first */
  NlIp6 laddr;
  guint32 queued; /* bytes charged against rcvbuf (at most rcvbuf + one) */
  int rcvbuf;
  int pending_error; /* positive errno, SO_ERROR */
  uint16_t lport;
  guint8 bound, connected;
  /* What a datagram to an address needs of the binding (udp_takes), set
   * when bound: UDP_TAKES_* of vsock.c. */
  guint8 takes;
  guint8 df, broadcast;
  guint8 ttl;
  /* The rest. */
  NlIp6 raddr;
  uint16_t rport;
  gboolean reuseaddr, reuseport;
  int sndbuf;
  uint64_t bind_seq;
};

#define NL_PIPE_SIZE 65536 /* Linux's default pipe capacity */

struct NlPipe {
  guint8 *buf;
  gsize head, len;
  int readers, writers;
  NlFile *r, *w; /* the two ends, while open */
  int holders;   /* socketpair ends holding it, open or shut down */
};

/* Something that wants to know when a file's readiness may have changed
 * (an epoll item, a kqueue knote, a pending io_uring request): a callback
 * instead of a sleeping thread.  @notify runs inside nl__file_notify and
 * must not add or remove watches (set a flag, schedule an event);
 * @gone runs when the file's last reference goes and must forget the
 * file (the watch is already off its list). */
struct NlWatch {
  void (*notify)(NlWatch *w);
  void (*gone)(NlWatch *w);
  NlFile *file;
};

struct NlEpItem {
  NlWatch watch; /* on the watched file; watch.file is it */
  NlEpoll *ep;
  int fd;
  uint32_t events;
  epoll_data_t data;
  gboolean triggered; /* edge: something happened since last reported */
  gboolean disabled;  /* EPOLLONESHOT after it fired */
};

struct NlEpoll {
  NlFile *file;
  GPtrArray *items; /* NlEpItem, insertion order */
};

/* The fields a run of the thread touches come first, together, in the
 * first two lines of a 64-byte-aligned allocation (proc.c): at 1,000
 * hosts each run finds them out of the cache, a miss a line
 * (docs/performance.md, "1,000 hosts: where the misses are").  The first
 * line is what waking it reads and writes (nl__file_notify), and what
 * the event that runs it reads.  Two bytes stand for fields further on:
 * @on_chan for @chan != NULL, @own_locale for @facts.locale !=
 * LC_GLOBAL_LOCALE. */
struct NlThread {
  /* The first line. */
  NlEvent wake;
  NlEventQueue *queue; /* its world's, for every call (nl__enter) */
  /* Flags (assigned TRUE or FALSE only). */
  guint8 blocked : 1, woken : 1, done : 1;
  /* A stand-in for the kernel's own work (io_uring requests): its calls
   * are not traced, not counted as wasted, and never raise SIGPIPE. */
  guint8 quiet : 1;
  guint8 call_blocked : 1;
  guint8 on_chan : 1;    /* waits on @chan */
  guint8 own_locale : 1; /* facts.c: uselocale() gave it one */
  int call_fd; /* the call's descriptor (below); -1 when it has none */
  /* The second line. */
  NlProc *proc;
  NlCoro *coro;
  /* The call in progress, for its BLOCK record (sim/core/trace.h): set on
   * entry by posix.c, traced the first time the call waits. */
  const char *call;
  /* While it waits in the call, since when (NL_TIME_NEVER when it has
   * not waited in this call yet): for "blocked in CALL since T". */
  NlTime block_since;
  /* Wasted calls (nl__wasted) since it last waited: a busy-wait's
   * length. */
  uint64_t wasted_run;
  NlWaitList waiting_on; /* NlFile */
  NlFile *held;          /* a file kept alive while blocked on it */
  /* Not used by most runs. */
  gconstpointer chan;    /* wait channel (mutex, cond, join) or NULL */
  NlThreadFacts facts; /* facts.c */
  int tid;
  gboolean detached, joined;
  gboolean is_main;
  void *(*start)(void *);
  void *arg;
  void *retval;
};

/* A thread's pthread_t: its thread id, the same on every run (a pointer
 * would not be, and a program may print or hash it: OpenSSL does). */
#define NL_PTHREAD_OF(t) ((pthread_t)(t)->tid)

/* One loaded instance of a user's program that its processes share: the
 * object is loaded once, and each process's writable data (its globals,
 * its static buffers, the shim's libc state) is swapped into the object
 * when one of its threads runs (facts.c, nl__facts_enter), so that an
 * instance costs what its data costs.  Programs whose constructors,
 * destructors or thread-locals would not survive that get a private copy
 * each (proc.c). */
typedef struct {
  char *key;        /* the file's path and identity (a rebuilt file is new) */
  NlProgram *mod;
  guint refs;       /* processes using it */
  void *owner;      /* the NlProc whose data the object holds now */
  void *data;       /* the swapped bytes (NlProgramLayout) */
  size_t len;
  const void *hole; /* the shim's copy of its pristine state: never swapped */
  size_t hole_len;
  guint8 *pristine; /* @data as loaded, less the hole */
  GArray *spare_std; /* NlSpareStd: ended processes' streams, for the next */
  NlShimEndFn shim_end; /* the shim's nl__shim_end in @mod, or NULL */
} NlSharedProgram;

/* A swapped region less its hole, copied out to a compact buffer of
 * @len - @hole_len bytes, and back in (facts.c). */
void nl__region_save(const void *start, size_t len, const void *hole,
                     size_t hole_len, guint8 *dst);
void nl__region_load(void *start, size_t len, const void *hole,
                     size_t hole_len, const guint8 *src);

/* Closes what @sp kept for its processes (facts.c), before unloading. */
void nl__facts_shared_free(NlSharedProgram *sp);

/* As NlThread: what a run of one of its threads touches comes first (with
 * the first fields of NlProcFacts, three lines). */
struct NlProc {
  NlHostStack *host;
  NlFile **fds;      /* fd_cap entries; grows up to RLIMIT_NOFILE */
  guint fd_cap;
  NlProcState state;
  uint64_t calls;
  /* What grading measures (docs/grading.md), in the statistics record:
   * payload bytes its sockets sent, descriptors and accepted connections
   * open at once (most), and descriptors refused for the limit. */
  uint64_t sent;
  GString *line[3]; /* partial stdout/stderr lines; NULL until one */
  /* Who reads the lines of stdout/stderr (nl__proc_output_readers), as
   * of the trace's readers count out_readers_at (0: not asked). */
  guint64 out_readers_at[3];
  guint8 out_readers[3];
  guint32 trace_name;
  int pid;
  NlProcFacts facts; /* facts.c, vfs.c */
  /* Not used by most runs. */
  uint64_t wasted;
  guint fds_max, conns_max, emfile;
  char *name;
  char *program;
  int exit_code;
  gboolean exiting;
  char *crash_why; /* nl_posix_runtime_crash(): ends as crashed, saying so */
  char **argv;
  int argc;
  NlProgram *module;
  NlSharedProgram *shared; /* @module's sharing, or NULL: a private copy */
  int (*main_fn)(int, char **);
  gboolean *cloexec;
  GPtrArray *threads; /* NlThread, creation order */
  int next_tid;
  NlEvent start_ev;
  NlFile *stdin_w;  /* the scenario's end of stdin */
  NlRand rand;
  uint64_t rand_seed;
  /* pointer -> size: what natlab allocated for it (NULL: nothing yet) */
  GHashTable *heap;
  NlHeap *pheap;      /* what the program mallocs (heap.h); NULL until then */
  /* wait channel -> GPtrArray of NlThread (NULL: no wait yet) */
  GHashTable *chans;
  gboolean sigpipe_ignored;
  GPtrArray *atexit_fns; /* void (*)(void), registration order; NULL
                         * until the first (most programs register none) */
  /* pthread keys (posix-confine.c): in use, by key; and the values, by
   * (thread id << 16 | key).  NULL until the first key. */
  GArray *keys;
  GHashTable *specific;
  gboolean in_atexit;
  /* A private copy's destructors, taken out of it when exit() runs them
   * (sched.c), freed when the process ends; fini_done once every one
   * returned (one that crashed or exited left the shim's streams open). */
  NlFiniFn *fini;
  gboolean fini_done;
  uint64_t wasted_run_max; /* the longest run of any of its threads */
};

/* ---- sched.c: files, descriptors, blocking ---- */

/* The thread running now, or NULL outside a program. */
extern NlThread *nl__current;
/* While a process's private copy of its program loads, the heap of that
 * process: what the program's constructors malloc goes there, and so
 * with the process (proc.c sets it, posix.c's malloc uses it). */
extern NlHeap *nl__loading_heap;

/* Inside a program: charges one call's cost (yielding) and returns the
 * current thread; NULL when not called from a program. */
NlThread *nl__enter(void);
/* Counts a call that did nothing useful (EAGAIN, a zero-timeout poll). */
void nl__wasted(NlThread *t);
/* A call that could have waited (poll, select, epoll_wait, kevent with a
 * timeout other than zero) found something ready at once: like a wait, it
 * ends a run of wasted calls (NL_PROC_BUSY_WAIT_RUN). */
void nl__ready(NlThread *t);
/* Blocks until a waited file notifies, the channel is signalled, or
 * @deadline (NL_TIME_NEVER: none).  Returns TRUE if woken before it. */
gboolean nl__block(NlThread *t, NlTime deadline);
void nl__wait_file(NlThread *t, NlFile *f);
void nl__wait_chan(NlThread *t, gconstpointer chan);
void nl__wake_chan(NlProc *p, gconstpointer chan, gboolean all);
/* Starts and stops watching @f (nl__file_notify calls @w->notify). */
void nl__watch_add(NlWatch *w, NlFile *f);
void nl__watch_remove(NlWatch *w);
/* A file's readiness changed: wakes its waiters and runs its watches. */
void nl__file_notify(NlFile *f);
unsigned nl__file_poll(NlFile *f);
/* A CALL record: node = the host, peer = the process, aux = the thread. */
void nl__trace_call(NlThread *t, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* The CALL record of a call made once per datagram or segment, written
 * without a format: "CALL(FD, LEN bytes, ADDR) = R" (" bytes" when
 * @bytes, ", ADDR" when @addr), R as a number, or as "-NAME" of the errno
 * -R when @r < 0 and @errname (strerrorname_np's text). */
void nl__trace_call_io_n(NlThread *t, const char *call, size_t call_len,
                         int fd, size_t len, gboolean bytes, const char *addr,
                         size_t addr_len, ssize_t r, gboolean errname);
/* (The call's name is a literal: its length is known where it is
 * written.  A run that records no call makes no call here.) */
static inline void nl__trace_call_io(NlThread *t, const char *call, int fd,
                                     size_t len, gboolean bytes,
                                     const char *addr, ssize_t r,
                                     gboolean errname) {
  if (!nl_trace_wants(nl_world_trace(t->proc->host->world), NL_TRACE_CALL))
    return;
  nl__trace_call_io_n(t, call, strlen(call), fd, len, bytes, addr,
                      addr != NULL ? strlen(addr) : 0, r, errname);
}
/* Names the call @t is in (a string literal), so that if it waits,
 * nl__block() records a BLOCK ("accept(3)") before the first wait. */
static inline void nl__call_begin(NlThread *t, const char *name, int fd) {
  t->call = name;
  t->call_fd = fd;
  t->call_blocked = FALSE;
}

NlFile *nl__file_new(NlHostStack *h, NlFileKind kind, const NlFileOps *ops);
NlFile *nl__file_ref(NlFile *f);
void nl__file_unref(NlFile *f);
/* Makes descriptor slot @fd (< NL_MAX_FDS) exist. */
void nl__fd_reserve(NlProc *p, int fd);
/* Lowest free descriptor >= @min, or -EMFILE. */
int nl__fd_install(NlProc *p, NlFile *f, int min, gboolean cloexec);
/* Updates the most descriptors and accepted connections open at once. */
void nl__fd_count(NlProc *p);
static inline NlFile *nl__fd_get(NlProc *p, int fd) {
  if (fd < 0 || (guint)fd >= p->fd_cap)
    return NULL;
  return p->fds[fd];
}

/* Pipes: non-blocking I/O; the callers block. */
int nl__pipe_new(NlHostStack *h, NlFile **r, NlFile **w);
/* The two ends of a socketpair(AF_UNIX, SOCK_STREAM) (sched.c). */
void nl__unix_pair_new(NlHostStack *h, NlFile **a, NlFile **b);
ssize_t nl__pipe_read(NlFile *f, void *buf, size_t len);
ssize_t nl__pipe_write(NlFile *f, const void *buf, size_t len);
/* An epoll instance with no items, and one item watching @f. */
NlFile *nl__epoll_file_new(NlHostStack *h);
NlEpItem *nl__epoll_item_new(NlEpoll *ep, int fd, NlFile *f);
void nl__epoll_item_free(NlEpItem *it);
/* Descriptor 1 or 2 of @p: what is written becomes trace lines. */
NlFile *nl__output_file_new(NlHostStack *h, NlProc *p, int stream);
void nl__proc_output(NlProc *p, int stream, const void *buf, size_t len);
/* nl__proc_output for @len bytes at @s known to be one whole line: they
 * end with a newline and hold no other. */
void nl__proc_output_line(NlProc *p, int stream, const char *s, size_t len);
/* Who reads the lines @p writes to @stream now (NlTraceReaders),
 * remembered in @p. */
static inline NlTraceReaders nl__proc_output_readers(NlProc *p, int stream) {
  NlTrace *tr = nl_world_trace(p->host->world);
  guint64 at = nl_trace_readers_changed(tr);
  if (G_UNLIKELY(p->out_readers_at[stream] != at)) {
    NlTraceKind kind = stream == 1 ? NL_TRACE_STDOUT : NL_TRACE_STDERR;
    p->out_readers[stream] = (guint8)nl_trace_source_readers(
        tr, kind, nl_node_trace_id(p->host->node), p->trace_name);
    p->out_readers_at[stream] = at;
  }
  return (NlTraceReaders)p->out_readers[stream];
}
/* exit() from thread @t: atexit handlers, then the coroutine ends. */
G_GNUC_NORETURN void nl__proc_exit(NlThread *t, int code);

/* ---- proc.c: processes and threads ---- */

NlHostStack *nl__host_stack(NlNode *node);
/* Ends @p (not the calling process) by @sig's default action, with
 * exit status 128 + @sig and @why in its record. */
void nl__proc_signal_kill(NlProc *p, int sig, const char *why);
/* A new thread of @p, scheduled to run now; NULL with *err = -EAGAIN. */
NlThread *nl__thread_new(NlProc *p, gboolean is_main, void *(*start)(void *),
                         void *arg, int *err);

#endif
