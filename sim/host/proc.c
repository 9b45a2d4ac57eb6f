/* Processes and green threads: a program's threads run as coroutines,
 * woken by the events sched.c schedules; spawn, output lines, exit,
 * crashes, kills and host crashes.  The host stack (a node's processes,
 * sockets and TCP stack) is made and freed here. */
#include "sim/host/host-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <alloca.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/host/backtrace.h"
#include "sim/host/coro-priv.h"
#include "sim/host/guard.h"
#include "sim/host/posix.h"
#include "sim/host/seal.h"
#include "sim/core/trace.h"
#include "sim/host/vsock.h"

NlHeap *nl__loading_heap;

G_DEFINE_QUARK(natlab-proc-error-quark, nl_proc_error)

static unsigned watchdog_ms = 2000;
static char *programs_dir;
static gboolean guard_ready;

void nl_proc_set_watchdog(unsigned ms) {
  watchdog_ms = ms;
  if (guard_ready) {
    GError *err = NULL;
    if (!nl_guard_watchdog_set(ms, &err)) {
      g_warning("%s", err->message);
      g_error_free(err);
    }
  }
}

void nl_proc_set_programs_dir(const char *dir) {
  g_free(programs_dir);
  programs_dir = g_strdup(dir);
}

static void ensure_guard(void) {
  if (guard_ready && nl_guard_active())
    return;
  if (guard_ready) {
    /* Someone (a test framework) put its own handlers back: reinstall. */
    nl_guard_shutdown();
    guard_ready = FALSE;
  }
  GError *err = NULL;
  if (!nl_guard_init(&err) || !nl_guard_watchdog_set(watchdog_ms, &err)) {
    g_warning("natlab: cannot guard programs: %s", err->message);
    g_error_free(err);
    return;
  }
  guard_ready = TRUE;
}

/* ---- host stacks ---- */

static void host_stack_free(gpointer data);

NlHostStack *nl__host_stack(NlNode *node) {
  NlHostStack *h = nl_node_stack(node);
  if (h != NULL)
    return h;
  h = g_aligned_alloc0(1, sizeof(NlHostStack), 64); /* host-priv.h */
  h->node = node;
  h->world = nl_node_world(node);
  h->udp_ports = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                       (GDestroyNotify)g_ptr_array_unref);
  nl_node_rand(node, "udp-ports", &h->port_rand);
  h->procs = g_ptr_array_new();
  h->next_pid = 100;
  nl__facts_host_init(h);
  nl_node_set_stack(node, h, host_stack_free);
  NlNodeHooks hooks = {.local_in = nl__host_local_in, .data = h};
  nl_node_set_hooks(node, &hooks);
  return h;
}

/* ---- scheduling ---- */

static void proc_terminate(NlProc *p, NlProcState state, int code,
                           const char *why);

static void thread_free(NlThread *t) {
  NlWorld *w = t->proc->host->world;
  nl_event_cancel(nl_world_queue(w), &t->wake);
  for (guint i = 0; i < t->waiting_on.len; i++) {
    NlFile *f = nl__wait_list_at(&t->waiting_on, i);
    nl__wait_list_remove(&f->waiters, t);
  }
  nl__wait_list_clear(&t->waiting_on);
  if (t->chan) { /* (so p->chans exists) */
    GPtrArray *q = g_hash_table_lookup(t->proc->chans, t->chan);
    if (q)
      g_ptr_array_remove(q, t);
  }
  nl_coro_free(t->coro);
  if (t->held)
    nl__file_unref(t->held);
  g_aligned_free(t);
}

/* natlab's seal (seal.h) refused a real system call of @t: the process
 * ends as the kernel's seccomp would end it (SIGSYS), named. */
static void proc_refused(NlProc *p, NlThread *t) {
  char *why = g_strdup_printf("refused: %s; natlab runs programs only "
                              "inside the lab",
                              nl_seal_refusal(t->coro));
  proc_terminate(p, NL_PROC_CRASHED, 128 + SIGSYS, why);
  g_free(why);
}

static void thread_stopped(NlThread *t);

static void thread_run(NlEvent *ev, void *data) {
  NlThread *t = data;
  /* With 1,000 hosts all that a resume reads is out of cache: the
   * thread's second line, then its process (state, region), coroutine and
   * stack top, and the file it waited on.  Read one after another as the
   * code comes to them, each waits for the last; here their loads start
   * together, as soon as the thread's second line gives their addresses
   * (a prefetch of a thread's stale pointer is harmless: it never faults). */
  NlProc *p = t->proc;
  NlCoro *c = t->coro;
  __builtin_prefetch(c);
  __builtin_prefetch(&p->state);
  __builtin_prefetch(&p->facts.region);
  if (t->held != NULL)
    __builtin_prefetch(t->held);
  if (t->done || p->state != NL_PROC_RUNNING)
    return;
  nl__coro_prefetch(c);
  nl__current = t;
  nl__facts_enter(t);
  nl_coro_resume(t->coro);
  nl__current = NULL;
  /* Parked in a call, as after almost every resume: nothing to do. */
  if (G_UNLIKELY(!nl__coro_parked(t->coro)))
    thread_stopped(t);
}

/* The thread's coroutine ended, or a refused system call ends it: out of
 * line, so that thread_run() saves no register for this. */
G_GNUC_NO_INLINE static void thread_stopped(NlThread *t) {
  NlProc *p = t->proc;
  if (G_UNLIKELY(nl_seal_refusal_pending(t->coro))) {
    /* A refused system call made inside libc: ended now, at its next call
     * into the lab, its end or the watchdog (seal.h). */
    proc_refused(p, t);
    return;
  }
  if (!nl_coro_done(t->coro))
    return;
  switch (nl_coro_end_reason(t->coro)) {
    case NL_CORO_END_RETURNED:
    case NL_CORO_END_EXITED:
      if (p->exiting && p->crash_why != NULL) {
        char *why = g_strdup_printf("crashed: %s", p->crash_why);
        proc_terminate(p, NL_PROC_CRASHED, p->exit_code, why);
        g_free(why);
        return;
      }
      if (p->exiting) {
        proc_terminate(p, NL_PROC_EXITED, p->exit_code, NULL);
        return;
      }
      /* A thread ended by returning or pthread_exit. */
      t->done = TRUE;
      nl__wake_chan(p, t, TRUE);
      return;
    case NL_CORO_END_CRASHED: {
      int sig = nl_coro_crashed(t->coro);
      if (sig == SIGSYS && nl_seal_refusal(t->coro) != NULL) {
        proc_refused(p, t);
        return;
      }
      /* Where, from its stack, before anything reuses that stack:
       * "at main.c:12 in parse_line (called from ...)". */
      char *at = nl_backtrace_crash_line(t->coro, p->module);
      /* sigdescr_np: the signal's English name whatever the locale, as
       * the trace must not depend on the machine. */
      const char *name = sigdescr_np(sig);
      char *why = g_strdup_printf(
          "crashed: %s%s%s%s", name ? name : "unknown signal",
          nl_coro_stack_overflow(t->coro) ? " (stack overflow)" : "",
          at ? " " : "", at ? at : "");
      proc_terminate(p, NL_PROC_CRASHED, 128 + sig, why);
      g_free(why);
      g_free(at);
      return;
    }
    case NL_CORO_END_SPIN:
      proc_terminate(p, NL_PROC_SPIN, 137,
                     "stopped by the watchdog: it ran without calling into "
                     "the lab (a busy loop?)");
      return;
    default:
      return;
  }
}

/* The largest environment main()'s stack holds (thread_entry()). */
#define NL_PROC_ENV_ON_STACK ((size_t)16 * 1024)

static void thread_entry(void *arg) {
  NlThread *t = arg;
  NlProc *p = t->proc;
  if (t->is_main) {
    /* main() may take the environment as a third argument.  It is on the
     * main thread's stack, as Linux puts it (kept until the process ends,
     * nl_coro_keep_stack()): it then costs no page of the program's heap,
     * which a program that never mallocs never touches.  A large one goes
     * in the heap. */
    NlEnvPlan plan;
    size_t bytes = nl__facts_env_plan(t, &plan);
    void *block =
        bytes <= NL_PROC_ENV_ON_STACK ? alloca(bytes) : nl_posix_malloc(bytes);
    char **env = nl__facts_main_start(t, &plan, block);
    int (*main3)(int, char **, char **);
    void (*any)(void) = (void (*)(void))p->main_fn;
    main3 = (int (*)(int, char **, char **))any;
    int code = main3(p->argc, p->argv, env);
    nl__proc_exit(t, code); /* returning from main is exit() */
  }
  t->retval = t->start(t->arg);
}

NlThread *nl__thread_new(NlProc *p, gboolean is_main, void *(*start)(void *),
                         void *arg, int *err) {
  /* Aligned: its first fields in the fewest lines (host-priv.h). */
  NlThread *t = g_aligned_alloc0(1, sizeof(NlThread), 64);
  t->proc = p;
  t->is_main = is_main;
  t->start = start;
  t->arg = arg;
  t->tid = is_main ? p->pid : p->pid + (++p->next_tid);
  t->block_since = NL_TIME_NEVER;
  t->coro = nl_coro_new(thread_entry, t, 0);
  if (t->coro == NULL) {
    *err = -EAGAIN;
    g_aligned_free(t);
    return NULL;
  }
  nl_coro_set_data(t->coro, t);
  if (is_main)
    nl_coro_keep_stack(t->coro); /* its environment (thread_entry()) */
  nl__facts_thread_init(t, is_main ? NULL : nl__current);
  nl_event_init(&t->wake, thread_run, t);
  g_ptr_array_add(p->threads, t);
  t->queue = nl_world_queue(p->host->world);
  nl_event_schedule(t->queue, &t->wake, nl_event_now(t->queue));
  return t;
}

/* ---- standard streams ---- */

static void flush_lines(NlProc *p) {
  for (int s = 1; s <= 2; s++)
    if (p->line[s] != NULL && p->line[s]->len > 0)
      nl__proc_output(p, s, "\n", 1);
}

/* ---- programs shared by their processes (NlSharedProgram) ---- */

/* Most a shared program's data may be: each switch between two of its
 * processes compares it whole (larger programs get a private copy). */
#define NL_PROC_SHARE_MAX_DATA (64 * 1024)

/* The constructors and destructors of a program with none of its own:
 * the C runtime's (frame_dummy, __do_global_dtors_aux) and the shim's
 * (its streams and its state section; shim.c, shim-libc.c). */
#define NL_PROC_SHIM_CTORS 3
#define NL_PROC_SHIM_DTORS 2

/* Loaded user programs by key, while a process uses them. */
static GHashTable *shared_programs;

/* While a world is built (nl_proc_spawn_batch): what the file system said
 * of each program path, asked once per path rather than once per spawn
 * (a world of 100,000 hosts runs one or two program files). */
typedef struct {
  int exists;  /* -1: not asked yet */
  gboolean keyed;
  char *key;   /* program_key's answer, NULL if stat failed */
} BatchFile;

static GHashTable *batch_files; /* path → BatchFile* */
static const char *batch_last_path; /* the last one asked (its key in the table) */
static BatchFile *batch_last;

static void batch_file_free(gpointer data) {
  BatchFile *b = data;
  g_free(b->key);
  g_free(b);
}

void nl_proc_spawn_batch(gboolean on) {
  if (batch_files != NULL)
    g_hash_table_destroy(batch_files);
  batch_files = on ? g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           batch_file_free)
                   : NULL;
  batch_last_path = NULL;
  batch_last = NULL;
}

static BatchFile *batch_file(const char *path) {
  if (batch_files == NULL)
    return NULL;
  /* Spawns one after another mostly run the same program. */
  if (batch_last_path != NULL && strcmp(batch_last_path, path) == 0)
    return batch_last;
  gpointer k;
  BatchFile *b;
  if (!g_hash_table_lookup_extended(batch_files, path, &k, (gpointer *)&b)) {
    b = g_new0(BatchFile, 1);
    b->exists = -1;
    k = g_strdup(path);
    g_hash_table_insert(batch_files, k, b);
  }
  batch_last_path = k;
  batch_last = b;
  return b;
}

static gboolean program_exists(const char *path) {
  BatchFile *b = batch_file(path);
  if (b == NULL)
    return g_file_test(path, G_FILE_TEST_EXISTS);
  if (b->exists < 0)
    b->exists = g_file_test(path, G_FILE_TEST_EXISTS);
  return b->exists;
}

static char *program_key_stat(const char *path);

/* The file's path and identity: a program rebuilt at the same path (a new
 * inode, size or time) is another program. */
static char *program_key(const char *path) {
  BatchFile *b = batch_file(path);
  if (b == NULL)
    return program_key_stat(path);
  if (!b->keyed) {
    b->key = program_key_stat(path);
    b->keyed = TRUE;
  }
  return g_strdup(b->key);
}

static char *program_key_stat(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    return NULL;
  return g_strdup_printf("%ju:%ju:%jd:%jd.%09ld:%s", (uintmax_t)st.st_dev,
                         (uintmax_t)st.st_ino, (intmax_t)st.st_size,
                         (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                         path);
}

/* Whether processes can share @mod's one instance, with their data
 * swapped in turn; fills @sp's layout when they can.  Not when its
 * constructors or destructors are more than the C runtime's and the
 * shim's (one that allocates, or runs per process, must run per copy),
 * when it has thread-locals (one block per real thread, not per
 * process), or when it was not built with the shim. */
static gboolean shareable(NlProgram *mod, NlSharedProgram *sp) {
  NlProgramLayout lay;
  if (!nl_loader_layout(mod, &lay) || lay.tls ||
      lay.ctors > NL_PROC_SHIM_CTORS || lay.dtors > NL_PROC_SHIM_DTORS ||
      lay.data == NULL ||
      lay.data_len > NL_PROC_SHARE_MAX_DATA)
    return FALSE;
  NlShimRegionFn region = NULL;
  void *sym = nl_loader_symbol(mod, NL_SHIM_REGION_SYMBOL);
  memcpy(&region, &sym, sizeof sym);
  if (region == NULL)
    return FALSE;
  NlShimRegion r = {0};
  region(&r);
  guint8 *lo = lay.data, *hi = lo + lay.data_len;
  if ((guint8 *)r.start < lo || (guint8 *)r.start + r.len > hi)
    return FALSE; /* its state section is not in the data: not the shim */
  sp->data = lay.data;
  sp->len = lay.data_len;
  if (r.pristine_len > 0 && (const guint8 *)r.pristine >= lo &&
      (const guint8 *)r.pristine + r.pristine_len <= hi) {
    sp->hole = r.pristine;
    sp->hole_len = r.pristine_len;
  }
  /* The data as loaded (after relocation and the shim's constructor),
   * which every process starts from. */
  void *end = nl_loader_symbol(mod, NL_SHIM_END_SYMBOL);
  memcpy(&sp->shim_end, &end, sizeof end);
  sp->pristine = g_malloc(sp->len - sp->hole_len);
  nl__region_save(sp->data, sp->len, sp->hole, sp->hole_len, sp->pristine);
  return TRUE;
}

/* A user's program for a new process: the loaded instance its other
 * processes use when it can be shared (*@shared set), else a private copy
 * (*@shared NULL). */
static NlProgram *user_program_open(const char *path, NlSharedProgram **shared,
                                    NlHeap *heap, GError **error) {
  *shared = NULL;
  char *key = program_key(path);
  NlSharedProgram *sp =
      key && shared_programs ? g_hash_table_lookup(shared_programs, key) : NULL;
  if (sp != NULL) {
    g_free(key);
    sp->refs++;
    *shared = sp;
    return sp->mod;
  }
  NlProgram *mod = nl_loader_open(path, TRUE, error);
  if (mod == NULL || key == NULL) {
    g_free(key);
    return mod;
  }
  sp = g_new0(NlSharedProgram, 1);
  /* A program whose loading allocated (a constructor) points into this
   * process's heap: a private copy each. */
  if (nl_heap_in_use(heap) > 0 || !shareable(mod, sp)) {
    g_free(sp);
    g_free(key);
    return mod;
  }
  sp->key = key;
  sp->mod = mod;
  sp->refs = 1;
  if (shared_programs == NULL)
    shared_programs = g_hash_table_new(g_str_hash, g_str_equal);
  g_hash_table_insert(shared_programs, sp->key, sp);
  *shared = sp;
  return mod;
}

/* Ends @p's use of its program; the last process unloads it. */
static void proc_program_close(NlProc *p) {
  NlSharedProgram *sp = p->shared;
  p->shared = NULL;
  if (sp == NULL) {
    g_free(p->fini);
    p->fini = NULL;
    if (!p->fini_done && nl_loader_is_private(p->module)) {
      /* Killed, crashed or refused before exit(), or in a destructor:
       * none of the program's destructors runs (none does on Linux; the
       * rest are taken out, if exit() did not), but the shim's streams are
       * closed (glibc keeps every open FILE on its list; closing twice
       * does nothing). */
      guint n = 0;
      g_free(nl_loader_take_fini(p->module, &n));
      NlShimCloseFn close_std = NULL;
      void *sym = nl_loader_symbol(p->module, NL_SHIM_CLOSE_SYMBOL);
      memcpy(&close_std, &sym, sizeof sym);
      if (close_std != NULL) {
        nl_seal_loading_begin();
        close_std();
        (void)nl_seal_loading_end();
      }
    }
    nl_loader_close(p->module);
    return;
  }
  if (--sp->refs > 0)
    return;
  g_hash_table_remove(shared_programs, sp->key);
  if (g_hash_table_size(shared_programs) == 0) {
    g_hash_table_destroy(shared_programs);
    shared_programs = NULL;
  }
  /* The object's data as loaded again (its own streams, which its
   * destructor closes), whichever process ran last. */
  nl__region_load(sp->data, sp->len, sp->hole, sp->hole_len, sp->pristine);
  nl__facts_shared_free(sp);
  nl_loader_close(sp->mod);
  g_free(sp->pristine);
  g_free(sp->key);
  g_free(sp);
}

/* ---- process lifecycle ---- */

static void proc_trace_text(NlProc *p, const char *s) {
  NlWorld *w = p->host->world;
  nl_trace_add(nl_world_trace(w), nl_world_now(w), NL_TRACE_PROC,
               nl_node_trace_id(p->host->node), p->trace_name, 0,
               (uint16_t)p->state, s, (guint32)strlen(s));
}

static void proc_trace(NlProc *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void proc_trace(NlProc *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  proc_trace_text(p, s);
  g_free(s);
}

static void free_heap(NlProc *p) {
  /* What the program left allocated is reclaimed, as the kernel does. */
  if (p->heap == NULL)
    return;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, p->heap);
  while (g_hash_table_iter_next(&it, &k, &v))
    free(k);
  g_hash_table_remove_all(p->heap);
}

static void proc_terminate(NlProc *p, NlProcState state, int code,
                           const char *why) {
  if (p->state != NL_PROC_RUNNING && p->state != NL_PROC_STARTING)
    return;
  NlWorld *w = p->host->world;
  nl_event_cancel(nl_world_queue(w), &p->start_ev);
  gboolean started = p->state == NL_PROC_RUNNING;
  p->state = state;
  p->exit_code = code;
  /* Threads are abandoned where they stand (their stacks are not
   * unwound), as the kernel ends a process. */
  while (p->threads->len > 0) {
    NlThread *t = g_ptr_array_index(p->threads, p->threads->len - 1);
    g_ptr_array_remove_index(p->threads, p->threads->len - 1);
    g_assert(t != nl__current);
    thread_free(t);
  }
  for (guint fd = 0; fd < p->fd_cap; fd++) {
    NlFile *f = p->fds[fd];
    p->fds[fd] = NULL;
    nl__file_unref(f);
  }
  if (p->stdin_w) {
    nl__file_unref(p->stdin_w);
    p->stdin_w = NULL;
  }
  if (started)
    flush_lines(p);
  free_heap(p);
  if (started && p->calls > 0)
    nl_trace_addf(nl_world_trace(w), nl_world_now(w), NL_TRACE_STATS,
                  nl_node_trace_id(p->host->node), p->trace_name, 0, 0,
                  "calls=%" G_GUINT64_FORMAT " wasted=%" G_GUINT64_FORMAT
                  " cpu=%" G_GUINT64_FORMAT "us sent=%" G_GUINT64_FORMAT
                  " fds=%u connections=%u emfile=%u wasted-run=%"
                  G_GUINT64_FORMAT,
                  p->calls, p->wasted,
                  (guint64)(p->calls * (NL_CALL_COST / NL_US)), p->sent,
                  p->fds_max, p->conns_max, p->emfile, p->wasted_run_max);
  if (state == NL_PROC_EXITED)
    proc_trace(p, "exit %d", code);
  else
    proc_trace_text(p, why ? why : nl_proc_state_name(state));
  nl__facts_proc_end(p);
  if (p->module) {
    proc_program_close(p);
    p->module = NULL;
  }
  /* After the module: its destructors may still free into it. */
  nl_heap_destroy(p->pheap);
  p->pheap = NULL;
}

static void proc_free(NlProc *p) {
  if (p->state == NL_PROC_RUNNING || p->state == NL_PROC_STARTING)
    proc_terminate(p, NL_PROC_KILLED, 137, "killed: the simulation ended");
  g_ptr_array_free(p->threads, TRUE);
  if (p->atexit_fns != NULL)
    g_ptr_array_free(p->atexit_fns, TRUE);
  if (p->keys != NULL)
    g_array_free(p->keys, TRUE);
  if (p->specific != NULL)
    g_hash_table_destroy(p->specific);
  g_free(p->fds);
  g_free(p->cloexec);
  for (int s = 0; s < 3; s++)
    if (p->line[s] != NULL)
      g_string_free(p->line[s], TRUE);
  if (p->heap != NULL)
    g_hash_table_destroy(p->heap);
  if (p->chans != NULL)
    g_hash_table_destroy(p->chans);
  nl__facts_proc_free(p);
  g_free(p->crash_why);
  g_strfreev(p->argv);
  g_free(p->name);
  g_free(p->program);
  g_aligned_free(p);
}

static void host_stack_free(gpointer data) {
  NlHostStack *h = data;
  /* Kill in reverse spawn order: servers usually outlive their clients. */
  for (guint i = h->procs->len; i-- > 0;)
    proc_free(g_ptr_array_index(h->procs, i));
  g_ptr_array_free(h->procs, TRUE);
  if (h->proc_by_name != NULL)
    g_hash_table_destroy(h->proc_by_name);
  nl__facts_host_free(h);
  nl__vsock_stack_free(h);
  g_aligned_free(h);
}

static void proc_start(NlEvent *ev, void *data) {
  NlProc *p = data;
  if (!nl_node_is_up(p->host->node)) {
    proc_terminate(p, NL_PROC_KILLED, 137, "not started: host is down");
    return;
  }
  p->state = NL_PROC_RUNNING;
  /* "start pid=%d ARGV..." without printf: a world starts thousands. */
  char num[16], *d = num + sizeof num;
  *--d = '\0';
  guint pid = p->pid < 0 ? 0u - (guint)p->pid : (guint)p->pid;
  do
    *--d = (char)('0' + pid % 10);
  while ((pid /= 10) != 0);
  if (p->pid < 0)
    *--d = '-';
  GString *cmd = g_string_sized_new(64);
  g_string_append(cmd, "start pid=");
  g_string_append(cmd, d);
  g_string_append_c(cmd, ' ');
  for (int i = 0; i < p->argc; i++) {
    if (i > 0)
      g_string_append_c(cmd, ' ');
    g_string_append(cmd, p->argv[i]);
  }
  proc_trace_text(p, cmd->str);
  g_string_free(cmd, TRUE);
  int err = 0;
  if (nl__thread_new(p, TRUE, NULL, NULL, &err) == NULL)
    proc_terminate(p, NL_PROC_CRASHED, 1, "cannot create its main thread");
}

static char *find_program(const char *program, gboolean *builtin) {
  *builtin = strchr(program, '/') == NULL && !g_str_has_suffix(program, ".so");
  if (!*builtin)
    return g_strdup(program);
  /* A natlab running from the build tree (its programs/ folder beside
   * tools/ and tests/) uses that tree's modules; an installed one uses
   * the installed modules.  Asked once: the executable stays where it is. */
  static int in_build = -1;
  if (in_build < 0) {
    char *exe = g_file_read_link("/proc/self/exe", NULL);
    char *exe_dir = exe ? g_path_get_dirname(exe) : NULL;
    char *beside = exe_dir ? g_build_filename(exe_dir, "..", "programs", NULL)
                           : NULL;
    in_build = beside && g_file_test(beside, G_FILE_TEST_IS_DIR) &&
               g_str_has_prefix(exe, NL_BUILD_ROOT "/");
    g_free(exe);
    g_free(exe_dir);
    g_free(beside);
  }
  const char *dirs[] = {programs_dir, g_getenv("NATLAB_PROGRAMS_DIR"),
                        in_build ? NL_PROGRAMS_BUILD_DIR
                                 : NL_PROGRAMS_INSTALL_DIR};
  for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
    if (dirs[i] == NULL)
      continue;
    char *path = g_strconcat(dirs[i], "/", program, ".so", NULL);
    if (program_exists(path))
      return path;
    g_free(path);
  }
  return NULL;
}

NlProc *nl_proc_spawn(NlNode *node, const char *name, const char *program,
                      const char *const *argv, NlTime at, GError **error) {
  g_return_val_if_fail(node != NULL && name != NULL && program != NULL, NULL);
  NlHostStack *h = nl__host_stack(node);
  if (nl_proc_find(node, name) != NULL) {
    g_set_error(error, NL_PROC_ERROR, NL_PROC_ERROR_EXISTS,
                "%s: a program named \"%s\" already runs there",
                nl_node_name(node), name);
    return NULL;
  }
  gboolean builtin;
  char *path = find_program(program, &builtin);
  if (path == NULL) {
    g_set_error(error, NL_PROC_ERROR, NL_PROC_ERROR_NOT_FOUND,
                "%s: no built-in program \"%s\"", nl_node_name(node), program);
    return NULL;
  }
  ensure_guard();
  /* natlab's own programs: one copy serves every host (their libc state
   * is swapped, facts.c).  Users' programs: one instance shared with its
   * data swapped where it can be, else a private copy each.  python3
   * (natlab-python) is natlab's, but an interpreter's globals are per
   * process and far larger than what is swapped: a private copy each. */
  NlSharedProgram *shared = NULL;
  NlProgram *mod;
  /* What a private copy's constructors malloc is the process's, as on
   * Linux, where they run in the process (nl__loading_heap). */
  gboolean own_heap = !builtin || strcmp(program, "python3") == 0;
  NlHeap *heap = own_heap ? nl_heap_new() : NULL;
  nl__loading_heap = heap;
  if (builtin && strcmp(program, "python3") == 0)
    mod = nl_loader_open(path, TRUE, error);
  else if (builtin)
    mod = nl_loader_open(path, FALSE, error);
  else
    mod = user_program_open(path, &shared, heap, error);
  nl__loading_heap = NULL;
  g_free(path);
  if (mod == NULL) {
    nl_heap_destroy(heap);
    return NULL;
  }
  /* A heap its loading did not use is made again at its first malloc
   * (posix.c): most programs of a large scenario never malloc. */
  if (heap != NULL && nl_heap_untouched(heap)) {
    nl_heap_destroy(heap);
    heap = NULL;
  }
  NlProc *p = g_aligned_alloc0(1, sizeof(NlProc), 64); /* as NlThread */
  p->shared = shared;
  p->pheap = heap;
  p->host = h;
  p->name = g_strdup(name);
  p->program = g_strdup(program);
  char *tn = g_strconcat(nl_node_name(node), "/", name, NULL);
  p->trace_name = nl_trace_intern(nl_world_trace(h->world), tn);
  g_free(tn);
  p->pid = h->next_pid++;
  p->state = NL_PROC_STARTING;
  p->module = mod;
  p->main_fn = nl_loader_main(mod);
  guint ac = 0;
  while (argv != NULL && argv[ac] != NULL)
    ac++;
  GPtrArray *av = g_ptr_array_sized_new(ac + 2);
  if (argv == NULL || argv[0] == NULL)
    g_ptr_array_add(av, g_path_get_basename(program));
  for (int i = 0; argv && argv[i]; i++)
    g_ptr_array_add(av, i == 0 ? g_path_get_basename(argv[0])
                               : g_strdup(argv[i]));
  p->argc = (int)av->len;
  g_ptr_array_add(av, NULL);
  p->argv = (char **)g_ptr_array_free(av, FALSE);
  p->threads = g_ptr_array_new();
  nl_rand_init_parts(&p->rand, nl_world_seed(h->world), "proc:",
                     nl_node_name(node), "/", name, NULL);
  p->rand_seed = nl_rand_u64(&p->rand);
  nl__facts_proc_init(p);
  /* Descriptors 0, 1, 2: stdin is a pipe the scenario types into; stdout
   * and stderr become trace lines. */
  NlFile *r, *w;
  nl__pipe_new(h, &r, &w);
  nl__fd_reserve(p, 15);
  p->fds[0] = r;
  p->stdin_w = w;
  for (int s = 1; s <= 2; s++)
    p->fds[s] = nl__output_file_new(h, p, s);
  g_ptr_array_add(h->procs, p);
  if (h->proc_by_name != NULL) {
    g_hash_table_insert(h->proc_by_name, p->name, p);
  } else if (h->procs->len > NL__PROC_SCAN) {
    h->proc_by_name = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < h->procs->len; i++) {
      NlProc *q = g_ptr_array_index(h->procs, i);
      g_hash_table_insert(h->proc_by_name, q->name, q);
    }
  }
  nl_event_init(&p->start_ev, proc_start, p);
  NlEventQueue *q = nl_world_queue(h->world);
  nl_event_schedule(q, &p->start_ev, MAX(at, nl_event_now(q)));
  return p;
}

NlProc *nl_proc_find(NlNode *node, const char *name) {
  NlHostStack *h = nl_node_stack(node);
  if (h == NULL || nl_node_kind(node) == NL_NODE_NAT ||
      nl_node_kind(node) == NL_NODE_FIREWALL)
    return NULL;
  if (h->proc_by_name != NULL)
    return g_hash_table_lookup(h->proc_by_name, name);
  for (guint i = 0; i < h->procs->len; i++) {
    NlProc *p = g_ptr_array_index(h->procs, i);
    if (strcmp(p->name, name) == 0)
      return p;
  }
  return NULL;
}

void nl__proc_signal_kill(NlProc *p, int sig, const char *why) {
  proc_terminate(p, NL_PROC_KILLED, 128 + sig, why);
}

void nl_proc_kill(NlProc *p, const char *why) {
  proc_terminate(p, NL_PROC_KILLED, 137, why ? why : "killed");
}

guint nl_proc_open_files(NlNode *node) {
  NlHostStack *h = nl_node_stack(node);
  if (h == NULL || nl_node_kind(node) == NL_NODE_NAT ||
      nl_node_kind(node) == NL_NODE_FIREWALL)
    return 0;
  return h->files_open;
}

void nl_proc_kill_all(NlNode *node, const char *why) {
  NlHostStack *h = nl_node_stack(node);
  /* A NAT's node stack is its translator, and it runs no programs. */
  if (h == NULL || nl_node_kind(node) == NL_NODE_NAT ||
      nl_node_kind(node) == NL_NODE_FIREWALL)
    return;
  for (guint i = h->procs->len; i-- > 0;)
    nl_proc_kill(g_ptr_array_index(h->procs, i), why);
}

void nl_proc_trace_blocked(NlProc *p) {
  if (p->state != NL_PROC_RUNNING || p->threads->len == 0)
    return;
  NlWorld *w = p->host->world;
  NlTime oldest = NL_TIME_NEVER;
  gboolean timed = FALSE, files = FALSE;
  GString *s = g_string_new("blocked");
  for (guint i = 0; i < p->threads->len; i++) {
    NlThread *t = g_ptr_array_index(p->threads, i);
    if (t->done)
      continue;
    if (!t->blocked || t->block_since == NL_TIME_NEVER) {
      g_string_free(s, TRUE);
      return; /* a thread is running or about to run */
    }
    timed |= nl_event_pending(&t->wake);
    files |= t->waiting_on.len > 0 || t->chan == NULL;
    oldest = MIN(oldest, t->block_since);
    char tb[NL_TIME_STRLEN];
    if (p->threads->len > 1)
      g_string_append_printf(s, "%s thread %d", i ? ";" : ":", t->tid);
    /* " in %s() since %ss", without printf: the end of a run asks this
     * of every process. */
    g_string_append(s, " in ");
    g_string_append(s, t->call ? t->call : "a wait");
    g_string_append(s, "() since ");
    g_string_append(s, nl_time_to_string(t->block_since, tb));
    g_string_append_c(s, 's');
  }
  if (oldest == NL_TIME_NEVER) {
    g_string_free(s, TRUE);
    return;
  }
  /* Nothing can wake it: no thread has a deadline, and every thread waits
   * on its own process (locks, joins), or nothing at all is pending in
   * the world (no packet, timer or action to come). */
  if (!timed && !files)
    g_string_append(s, " (deadlock: nothing pending can wake it)");
  else if (!timed && nl_event_queue_size(nl_world_queue(w)) == 0)
    g_string_append(s, " (nothing pending can wake it)");
  nl_trace_add(nl_world_trace(w), nl_world_now(w), NL_TRACE_PROC,
               nl_node_trace_id(p->host->node), p->trace_name,
               (uint64_t)oldest, (uint16_t)p->state, s->str,
               (guint32)s->len);
  g_string_free(s, TRUE);
}

void nl_proc_trace_blocked_all(NlNode *node) {
  NlHostStack *h = nl_node_stack(node);
  if (h == NULL)
    return;
  for (guint i = 0; i < h->procs->len; i++)
    nl_proc_trace_blocked(g_ptr_array_index(h->procs, i));
}

void nl_proc_host_crash(NlNode *node) {
  nl_node_set_up(node, FALSE);
  nl_proc_kill_all(node, "killed: the host crashed");
  NlHostStack *h = nl_node_stack(node);
  if (h != NULL && h->tcp != NULL && nl_node_kind(node) != NL_NODE_NAT &&
      nl_node_kind(node) != NL_NODE_FIREWALL) {
    nl_tcp_stack_free(h->tcp);
    h->tcp = NULL;
  }
}

void nl_proc_write_stdin(NlProc *p, const char *line) {
  if (p->stdin_w == NULL)
    return;
  NlWorld *w = p->host->world;
  nl_trace_add(nl_world_trace(w), nl_world_now(w), NL_TRACE_STDIN,
               nl_node_trace_id(p->host->node), p->trace_name, 0, 0, line,
               (guint32)strlen(line));
  char *s = g_strconcat(line, "\n", NULL);
  (void)nl__pipe_write(p->stdin_w, s, strlen(s));
  g_free(s);
}

NlProcState nl_proc_state(const NlProc *p) {
  return p->state;
}
int nl_proc_exit_code(const NlProc *p) {
  return p->exit_code;
}
const char *nl_proc_name(const NlProc *p) {
  return p->name;
}
NlNode *nl_proc_node(const NlProc *p) {
  return p->host->node;
}

static const char *const state_names[] = {
#define NL_X(e, s) s,
  NL_PROC_STATE_MAP(NL_X)
#undef NL_X
};

const char *nl_proc_state_name(NlProcState s) {
  return state_names[s];
}
