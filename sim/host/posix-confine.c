/* The lab's answers to the ways out of it (see posix-confine.h). */
#include "sim/host/posix-confine.h"

#include <dlfcn.h>
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "sim/host/host-priv.h"
#include "sim/host/posix-refused.h"
#include "sim/host/seal.h"

static NlProc *current_proc(void) {
  return nl__current ? nl__current->proc : NULL;
}

/* Ends the calling program, naming @fmt's call (seal.h); outside a
 * program (a constructor), the call fails with @err instead.  Nothing is
 * allocated: ending the program here would leak it. */
static void refuse(int err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void refuse(int err, const char *fmt, ...) {
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  g_vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  nl_seal_refuse(what);
  errno = err;
}

/* ---- the dynamic linker ---- */

/* What natlab-cc refuses at build time (sim/host/posix-refused.txt), and
 * libc's private entry points (__libc_system...). */
static gboolean refused_name(const char *name) {
  static const char *const names[] = {NL_POSIX_REFUSED_NAMES};
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
    if (strcmp(names[i], name) == 0)
      return TRUE;
  return g_str_has_prefix(name, "__libc_");
}

/* The handle of dlopen(NULL) and of libc's own libraries. */
static const char dl_self = 0;
static char dl_error[256];
static gboolean dl_error_set;

static void dl_fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void dl_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  g_vsnprintf(dl_error, sizeof dl_error, fmt, ap);
  va_end(ap);
  dl_error_set = TRUE;
}

void *nl_posix_dlopen(const char *file, int mode) {
  (void)mode;
  if (file == NULL)
    return (void *)&dl_self;
  static const char *const libc_libs[] = {"libc.so",  "libm.so",
                                          "libdl.so", "libpthread.so",
                                          "librt.so", "ld-linux"};
  const char *base = strrchr(file, '/');
  base = base ? base + 1 : file;
  for (size_t i = 0; i < G_N_ELEMENTS(libc_libs); i++)
    if (g_str_has_prefix(base, libc_libs[i]))
      return (void *)&dl_self;
  refuse(ENOENT,
         "dlopen(\"%s\"): natlab loads no library a program asks for (its "
         "calls would not reach the lab; link its static archive with "
         "natlab-cc)",
         file);
  dl_fail("%s: natlab loads no library a program asks for", file);
  return NULL;
}

static void *lookup(void *handle, const char *name, const char *version) {
  if (name == NULL) {
    dl_fail("dlsym: no name");
    return NULL;
  }
  if (refused_name(name)) {
    refuse(EPERM,
           "dlsym(\"%s\"): %s() is a call natlab refuses "
           "(docs/posix-coverage.md)",
           name, name);
    dl_fail("%s: refused by natlab", name);
    return NULL;
  }
  /* The program's own object first: the shim's socket(), send()..., which
   * reach the lab, and the program's own functions.  RTLD_NEXT means
   * "after the caller's object". */
  NlProc *p = current_proc();
  if (p != NULL && p->module != NULL && handle != RTLD_NEXT) {
    void *own = nl_loader_own_symbol(p->module, name);
    if (own != NULL)
      return own;
  }
  /* natlab's own functions: hidden from programs (the executable exports
   * only the POSIX face the shim calls, nl_posix_*), and an attempt to
   * reach them is named, whether or not the name exists. */
  if (g_str_has_prefix(name, "nl_")) {
    refuse(EPERM,
           "dlsym(\"%s\"): a function of natlab itself; a program reaches "
           "natlab only through its own calls (docs/posix-coverage.md)",
           name);
    dl_fail("%s: refused by natlab", name);
    return NULL;
  }
  void *h = handle == (void *)&dl_self || handle == RTLD_NEXT ? RTLD_DEFAULT
                                                              : handle;
  dlerror();
  void *sym = version ? dlvsym(h, name, version) : dlsym(h, name);
  if (sym == NULL)
    dl_fail("%s: undefined symbol", name);
  return sym;
}

void *nl_posix_dlsym(void *handle, const char *name) {
  return lookup(handle, name, NULL);
}

void *nl_posix_dlvsym(void *handle, const char *name, const char *version) {
  return lookup(handle, name, version);
}

char *nl_posix_dlerror(void) {
  if (!dl_error_set)
    return NULL;
  dl_error_set = FALSE;
  return dl_error;
}

int nl_posix_dlclose(void *handle) {
  if (handle == (void *)&dl_self)
    return 0;
  dl_fail("dlclose: not a handle dlopen gave");
  return -1;
}

/* ---- syscall() ---- */

static long errno_ret(long r) {
  if (r != 0) {
    errno = (int)r;
    return -1;
  }
  return 0;
}

long nl_posix_syscall(long nr, const long a[6]) {
  switch (nr) {
    case SYS_getrandom:
      return nl_posix_getrandom((void *)a[0], (size_t)a[1],
                                (unsigned)a[2]);
    case SYS_getpid:
      return nl_posix_getpid();
    case SYS_gettid:
      return nl__current ? nl__current->tid : nl_posix_getpid();
    case SYS_clock_gettime:
      return nl_posix_clock_gettime((clockid_t)a[0],
                                    (struct timespec *)a[1]);
    case SYS_gettimeofday:
      return nl_posix_gettimeofday((struct timeval *)a[0], (void *)a[1]);
#ifdef SYS_time
    case SYS_time:
      return nl_posix_time((time_t *)a[0]);
#endif
    case SYS_nanosleep:
      return nl_posix_nanosleep((const struct timespec *)a[0],
                                (struct timespec *)a[1]);
    case SYS_clock_nanosleep:
      return errno_ret(nl_posix_clock_nanosleep(
          (clockid_t)a[0], (int)a[1], (const struct timespec *)a[2],
          (struct timespec *)a[3]));
    case SYS_sched_yield:
      return nl_posix_sched_yield();
    case SYS_read:
      return nl_posix_read((int)a[0], (void *)a[1], (size_t)a[2]);
    case SYS_write:
      return nl_posix_write((int)a[0], (const void *)a[1], (size_t)a[2]);
    case SYS_close:
      return nl_posix_close((int)a[0]);
    case SYS_exit:
    case SYS_exit_group:
      nl_posix_exit((int)a[0]);
  }
  char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, (int)nr);
  char label[64];
  g_strlcpy(label, name ? name : "unknown", sizeof label);
  free(name);
  refuse(ENOSYS,
         "syscall(%ld) (%s): a system call the lab does not answer "
         "(docs/posix-coverage.md)",
         nr, label);
  return -1;
}

int nl_posix_getentropy(void *buf, size_t len) {
  if (len > 256) {
    errno = EIO;
    return -1;
  }
  return nl_posix_getrandom(buf, len, 0) == (ssize_t)len ? 0 : -1;
}

/* ---- calls natlab refuses, reached through a static library ---- */

long nl_posix_refused_call(const char *name) {
  static const char *const harmless[] = {
      "sendmmsg",        "recvmmsg",       "sendfile",
      "sendfile64",      "splice",         "ppoll",
      "pselect",         "epoll_pwait",    "epoll_pwait2",
      "signalfd",        "timerfd_create", "eventfd",
      "inotify_init",    "inotify_init1",  "gethostbyname_r",
      "gethostbyaddr",   "getservbyname",  "pthread_spin_lock",
      "pthread_cancel",  "pthread_barrier_wait"};
  for (size_t i = 0; i < G_N_ELEMENTS(harmless); i++)
    if (strcmp(harmless[i], name) == 0)
      return nl_posix_unsupported(name);
  refuse(ENOSYS, "%s(): a call natlab refuses (docs/posix-coverage.md)",
         name);
  return -1;
}

/* ---- signals to processes ---- */

static gboolean ignored_by_default(NlProc *target, int sig) {
  /* Stop signals are not modelled: accepted, and nothing stops. */
  return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH ||
         sig == SIGCONT || sig == SIGSTOP || sig == SIGTSTP ||
         sig == SIGTTIN || sig == SIGTTOU ||
         (sig == SIGPIPE && target->sigpipe_ignored);
}

static gboolean alive(const NlProc *p) {
  return p->state == NL_PROC_RUNNING || p->state == NL_PROC_STARTING;
}

/* @sig's default action on @target, sent by @t. */
static void deliver(NlThread *t, NlProc *target, int sig) {
  if (target == t->proc) {
    nl_posix_raise(sig); /* returns when the action is to ignore it */
    return;
  }
  if (ignored_by_default(target, sig))
    return;
  char *why = g_strdup_printf("killed by signal %s (SIG%s) from %s/%s",
                              strsignal(sig), sigabbrev_np(sig),
                              nl_node_name(t->proc->host->node),
                              t->proc->name);
  nl__proc_signal_kill(target, sig, why);
  g_free(why);
}

int nl_posix_kill(pid_t pid, int sig) {
  NlThread *t = nl__enter();
  if (t == NULL)
    return nl_posix_unsupported("kill");
  if (sig < 0 || sig >= NSIG) {
    errno = EINVAL;
    return -1;
  }
  NlProc *self = t->proc;
  nl__trace_call(t, "kill(%d, %d)", (int)pid, sig);
  /* Each process is its own process group. */
  if (pid == 0 || pid == self->pid || pid == -self->pid) {
    if (sig != 0)
      deliver(t, self, sig);
    return 0;
  }
  GPtrArray *procs = self->host->procs;
  if (pid == -1) {
    /* Every process it may signal but itself. */
    GPtrArray *targets = g_ptr_array_new();
    for (guint i = 0; i < procs->len; i++) {
      NlProc *p = g_ptr_array_index(procs, i);
      if (p != self && alive(p))
        g_ptr_array_add(targets, p);
    }
    guint n = targets->len;
    for (guint i = 0; sig != 0 && i < targets->len; i++)
      deliver(t, g_ptr_array_index(targets, i), sig);
    g_ptr_array_free(targets, TRUE);
    if (n == 0) {
      errno = ESRCH;
      return -1;
    }
    return 0;
  }
  pid_t want = pid < 0 ? -pid : pid;
  for (guint i = 0; i < procs->len; i++) {
    NlProc *p = g_ptr_array_index(procs, i);
    if (p->pid == want && alive(p)) {
      if (sig != 0)
        deliver(t, p, sig);
      return 0;
    }
  }
  /* Not a process of this host: its parent (pid 1), or a pid of the real
   * machine.  Asking whether it exists is harmless; signalling it is
   * reaching outside the lab. */
  if (sig != 0)
    refuse(EPERM,
           "kill(%d, %d): a signal to a process that is not on this host",
           (int)pid, sig);
  errno = ESRCH;
  return -1;
}

static NlThread *thread_by_tid(NlProc *p, pid_t tid) {
  for (guint i = 0; i < p->threads->len; i++) {
    NlThread *th = g_ptr_array_index(p->threads, i);
    if (th->tid == tid && !th->done)
      return th;
  }
  return NULL;
}

int nl_posix_tgkill(pid_t tgid, pid_t tid, int sig) {
  NlProc *p = current_proc();
  if (p != NULL && tgid == p->pid && thread_by_tid(p, tid) == NULL) {
    errno = ESRCH;
    return -1;
  }
  /* A signal's default action acts on the whole process. */
  return nl_posix_kill(tgid, sig);
}

int nl_posix_pthread_kill(pthread_t th, int sig) {
  NlProc *p = current_proc();
  if (p == NULL)
    return ESRCH;
  gboolean found = FALSE;
  for (guint i = 0; i < p->threads->len; i++) {
    NlThread *x = g_ptr_array_index(p->threads, i);
    if (NL_PTHREAD_OF(x) == th && !x->done)
      found = TRUE;
  }
  if (!found)
    return ESRCH;
  if (sig < 0 || sig >= NSIG)
    return EINVAL;
  return nl_posix_kill(p->pid, sig) == 0 ? 0 : errno;
}

int nl_posix_sigaltstack(const stack_t *ss, stack_t *old) {
  /* Nothing is delivered, so no handler ever runs on it: accepted and
   * forgotten.  The real one is natlab's crash guard's. */
  if (ss != NULL) {
    if (ss->ss_flags != 0 && ss->ss_flags != SS_DISABLE) {
      errno = EINVAL;
      return -1;
    }
    if (ss->ss_flags == 0 && ss->ss_size < (size_t)MINSIGSTKSZ) {
      errno = ENOMEM;
      return -1;
    }
  }
  if (old != NULL) {
    memset(old, 0, sizeof *old);
    old->ss_flags = SS_DISABLE;
  }
  return 0;
}

/* ---- read-write locks ---- */

typedef struct {
  int readers;
  int writer; /* tid, or 0 */
} Rwlock;

G_STATIC_ASSERT(sizeof(Rwlock) <= sizeof(pthread_rwlock_t));

int nl_posix_pthread_rwlock_init(pthread_rwlock_t *l,
                                 const pthread_rwlockattr_t *a) {
  (void)a;
  memset(l, 0, sizeof *l);
  return 0;
}

int nl_posix_pthread_rwlock_destroy(pthread_rwlock_t *l) {
  const Rwlock *r = (const Rwlock *)l;
  return r->readers || r->writer ? EBUSY : 0;
}

/* Takes @l for reading or writing, waiting until @deadline
 * (NL_TIME_NEVER: for good; a negative one: not at all). */
static int rwlock_take(pthread_rwlock_t *l, gboolean write, NlTime deadline) {
  Rwlock *r = (Rwlock *)l;
  NlThread *t = nl__current;
  int tid = t ? t->tid : -1;
  for (;;) {
    if (r->writer == tid && tid != -1)
      return EDEADLK;
    gboolean free_now = write ? r->writer == 0 && r->readers == 0
                              : r->writer == 0;
    if (free_now) {
      if (write)
        r->writer = tid;
      else
        r->readers++;
      return 0;
    }
    if (t == NULL || deadline < 0)
      return EBUSY;
    nl__wait_chan(t, l);
    if (!nl__block(t, deadline) && deadline != NL_TIME_NEVER)
      return ETIMEDOUT;
  }
}

static NlTime abs_deadline(const struct timespec *abstime) {
  /* Against CLOCK_REALTIME, whose virtual epoch is the lab's. */
  struct timespec now;
  nl_posix_clock_gettime(CLOCK_REALTIME, &now);
  NlTime left = (NlTime)(abstime->tv_sec - now.tv_sec) * NL_S +
                (abstime->tv_nsec - now.tv_nsec);
  NlThread *t = nl__current;
  NlTime base = t ? nl_world_now(t->proc->host->world) : 0;
  return base + MAX(left, 0);
}

int nl_posix_pthread_rwlock_rdlock(pthread_rwlock_t *l) {
  return rwlock_take(l, FALSE, NL_TIME_NEVER);
}

int nl_posix_pthread_rwlock_wrlock(pthread_rwlock_t *l) {
  return rwlock_take(l, TRUE, NL_TIME_NEVER);
}

int nl_posix_pthread_rwlock_tryrdlock(pthread_rwlock_t *l) {
  int r = rwlock_take(l, FALSE, -1);
  return r == EDEADLK ? EBUSY : r;
}

int nl_posix_pthread_rwlock_trywrlock(pthread_rwlock_t *l) {
  int r = rwlock_take(l, TRUE, -1);
  return r == EDEADLK ? EBUSY : r;
}

int nl_posix_pthread_rwlock_timedrdlock(pthread_rwlock_t *l,
                                        const struct timespec *abstime) {
  if (abstime == NULL || abstime->tv_nsec < 0 ||
      abstime->tv_nsec >= 1000000000)
    return EINVAL;
  return rwlock_take(l, FALSE, abs_deadline(abstime));
}

int nl_posix_pthread_rwlock_timedwrlock(pthread_rwlock_t *l,
                                        const struct timespec *abstime) {
  if (abstime == NULL || abstime->tv_nsec < 0 ||
      abstime->tv_nsec >= 1000000000)
    return EINVAL;
  return rwlock_take(l, TRUE, abs_deadline(abstime));
}

int nl_posix_pthread_rwlock_unlock(pthread_rwlock_t *l) {
  Rwlock *r = (Rwlock *)l;
  NlThread *t = nl__current;
  int tid = t ? t->tid : -1;
  if (r->writer != 0) {
    if (r->writer != tid)
      return EPERM;
    r->writer = 0;
  } else if (r->readers > 0) {
    r->readers--;
  } else {
    return EPERM;
  }
  if (t != NULL)
    nl__wake_chan(t->proc, l, TRUE);
  return 0;
}

/* ---- thread keys ---- */

#define KEYS_MAX 1024 /* PTHREAD_KEYS_MAX */

int nl_posix_pthread_key_create(pthread_key_t *key,
                                void (*destructor)(void *)) {
  (void)destructor;
  NlProc *p = current_proc();
  if (p == NULL)
    return EAGAIN;
  if (p->keys == NULL)
    p->keys = g_array_new(FALSE, TRUE, sizeof(gboolean));
  for (guint i = 0; i < p->keys->len; i++)
    if (!g_array_index(p->keys, gboolean, i)) {
      g_array_index(p->keys, gboolean, i) = TRUE;
      *key = i;
      return 0;
    }
  if (p->keys->len >= KEYS_MAX)
    return EAGAIN;
  gboolean used = TRUE;
  g_array_append_val(p->keys, used);
  *key = p->keys->len - 1;
  return 0;
}

static gboolean key_valid(NlProc *p, pthread_key_t key) {
  return p != NULL && p->keys != NULL && key < p->keys->len &&
         g_array_index(p->keys, gboolean, key);
}

/* The value slot of (thread, key) in the process's table. */
static gpointer slot(const NlThread *t, pthread_key_t key) {
  return GSIZE_TO_POINTER(((gsize)t->tid << 16) | (gsize)key);
}

int nl_posix_pthread_key_delete(pthread_key_t key) {
  NlProc *p = current_proc();
  if (!key_valid(p, key))
    return EINVAL;
  g_array_index(p->keys, gboolean, key) = FALSE;
  /* Values under the key are forgotten, as a new key must read NULL. */
  if (p->specific != NULL) {
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, p->specific);
    while (g_hash_table_iter_next(&it, &k, NULL))
      if ((GPOINTER_TO_SIZE(k) & 0xffff) == key)
        g_hash_table_iter_remove(&it);
  }
  return 0;
}

void *nl_posix_pthread_getspecific(pthread_key_t key) {
  NlProc *p = current_proc();
  if (!key_valid(p, key) || p->specific == NULL)
    return NULL;
  return g_hash_table_lookup(p->specific, slot(nl__current, key));
}

int nl_posix_pthread_setspecific(pthread_key_t key, const void *value) {
  NlProc *p = current_proc();
  if (!key_valid(p, key))
    return EINVAL;
  if (p->specific == NULL)
    p->specific = g_hash_table_new(g_direct_hash, g_direct_equal);
  if (value == NULL)
    g_hash_table_remove(p->specific, slot(nl__current, key));
  else
    g_hash_table_insert(p->specific, slot(nl__current, key),
                        (gpointer)value);
  return 0;
}
