/* The virtual system facts: what a program can learn about the machine it
 * runs on, answered per host and per process from the scenario and never
 * from the machine natlab runs on (docs/posix-coverage.md lists each with
 * its default and why):
 *   - identity: host name and uname (a fixed release), pids, uid/gid;
 *   - time zone: the host's (its /etc/localtime; UTC unless the scenario
 *     says) unless the process's TZ names another (sim/core/tz.c);
 *   - environment: documented defaults, the host's and the run's `env`;
 *   - resource limits: Linux's defaults, RLIMIT_NOFILE enforced as the
 *     descriptor limit, settable per host;
 *   - locale: "C" until setlocale(), which knows C and C.UTF-8 only;
 *   - thread names, CPU count and memory, CPU time (calls x 1 us);
 *   - libc state a program addresses directly (getopt's optind, environ,
 *     tzname...): the program's "nl_proc_state" section, one per process
 *     (see "State sections" below).
 * The working directory and files opened by name are in vfs.c. */
#include "sim/host/host-priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <unistd.h>

#include "sim/host/facts.h"
#include "sim/host/posix.h"

/* uname(): a fixed kernel, the same on every machine. */
#define NL_UNAME_RELEASE "6.1.0-natlab"
#define NL_UNAME_VERSION "#1 SMP PREEMPT_DYNAMIC natlab"
#if defined(__x86_64__)
#define NL_UNAME_MACHINE "x86_64"
#elif defined(__aarch64__)
#define NL_UNAME_MACHINE "aarch64"
#else
#define NL_UNAME_MACHINE "unknown"
#endif
/* Programs run as an ordinary user, uid and gid 1000 ("lab"), started by
 * init (pid 1). */
#define NL_UID 1000
#define NL_GID 1000
#define NL_PPID 1
/* What a process's CPU count and memory read as (sysconf, get_nprocs). */
#define NL_NPROCS 1
#define NL_PHYS_BYTES ((long)1 << 30)
/* Linux's defaults for RLIMIT_NOFILE (INR_OPEN_CUR, INR_OPEN_MAX). */
#define NL_NOFILE_SOFT 1024
#define NL_NOFILE_HARD 4096

/* The environment every program starts with, before the host's and the
 * run's `env`; PWD is added from the working directory. */
static const char *const default_env[] = {
  "HOME=/home/lab", "LANG=C.UTF-8", "LOGNAME=lab",
  "PATH=/usr/local/bin:/usr/bin:/bin", "SHELL=/bin/sh", "USER=lab", NULL,
};

static long ret(long r) {
  if (r < 0) {
    errno = (int)-r;
    return -1;
  }
  return r;
}

static NlProc *cur_proc(void) {
  return nl__current ? nl__current->proc : NULL;
}

/* ---- environments ---- */

/* Sets NAME=VALUE @kv in @env (a GPtrArray of owned strings), replacing
 * NAME in place or appending it. */
static void env_put(GPtrArray *env, const char *kv) {
  const char *eq = strchr(kv, '=');
  size_t n = eq ? (size_t)(eq - kv) : strlen(kv);
  for (guint i = 0; i < env->len; i++) {
    const char *e = g_ptr_array_index(env, i);
    if (strncmp(e, kv, n) == 0 && e[n] == '=') {
      g_free(env->pdata[i]);
      env->pdata[i] = g_strdup(kv);
      return;
    }
  }
  g_ptr_array_add(env, g_strdup(kv));
}

static char **env_merge(char **base, const char *const *over) {
  GPtrArray *env = g_ptr_array_new();
  for (char **e = base; e && *e; e++)
    g_ptr_array_add(env, g_strdup(*e));
  for (const char *const *e = over; e && *e; e++)
    if (strchr(*e, '=') != NULL)
      env_put(env, *e);
  g_ptr_array_add(env, NULL);
  return (char **)g_ptr_array_free(env, FALSE);
}

static gboolean env_has(char **env, const char *name) {
  size_t n = strlen(name);
  for (char **e = env; e && *e; e++)
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
      return TRUE;
  return FALSE;
}

/* ---- hosts ---- */

void nl__facts_host_init(NlHostStack *h) {
  nl_tz_utc(&h->facts.tz);
  h->facts.nofile = NL_NOFILE_SOFT;
}

void nl__facts_host_free(NlHostStack *h) {
  g_free(h->facts.tz_name);
  g_strfreev(h->facts.env);
  g_strfreev(h->facts.env_base);
}

/* What every process of @h starts with before its run's env=: the
 * defaults themselves while the host sets none (no copy for each of a
 * thousand hosts; nl__facts_env_plan only reads it). */
static char **host_env(NlHostStack *h) {
  if (h->facts.env == NULL)
    return (char **)default_env;
  if (h->facts.env_base == NULL)
    h->facts.env_base = env_merge((char **)default_env,
                                  (const char *const *)h->facts.env);
  return h->facts.env_base;
}

gboolean nl_facts_host_set_timezone(NlNode *node, const char *zone) {
  NlHostStack *h = nl__host_stack(node);
  NlTz tz;
  if (!nl_tz_parse(zone, &tz))
    return FALSE;
  h->facts.tz = tz;
  g_free(h->facts.tz_name);
  h->facts.tz_name = g_strdup(zone);
  return TRUE;
}

void nl_facts_host_set_env(NlNode *node, const char *const *env) {
  NlHostStack *h = nl__host_stack(node);
  if (env == NULL || env[0] == NULL)
    return; /* (the stack made all the same: a host's facts live there) */
  char **merged = env_merge(h->facts.env, env);
  g_strfreev(h->facts.env);
  h->facts.env = merged;
  g_strfreev(h->facts.env_base);
  h->facts.env_base = NULL;
}

void nl_facts_host_set_nofile(NlNode *node, guint64 n) {
  nl__host_stack(node)->facts.nofile = (rlim_t)MIN(n, (guint64)NL_MAX_FDS);
}

void nl_facts_proc_set_env(NlProc *p, const char *const *env) {
  if (env == NULL || env[0] == NULL)
    return;
  char **merged = env_merge(p->facts.env, env);
  g_strfreev(p->facts.env);
  p->facts.env = merged;
}

void nl_facts_proc_set_cwd(NlProc *p, const char *dir) {
  g_free(p->facts.cwd);
  p->facts.cwd = g_strdup(dir);
}


/* ---- processes ---- */

static void rlimits_init(NlProc *p) {
  for (int i = 0; i < RLIM_NLIMITS; i++)
    p->facts.rlim[i].rlim_cur = p->facts.rlim[i].rlim_max = RLIM_INFINITY;
  struct rlimit *r = p->facts.rlim;
  /* A coroutine's stack cannot grow: the limit is its size. */
  r[RLIMIT_STACK].rlim_cur = r[RLIMIT_STACK].rlim_max = NL_CORO_STACK_DEFAULT;
  r[RLIMIT_CORE].rlim_cur = 0;
  r[RLIMIT_NPROC].rlim_cur = r[RLIMIT_NPROC].rlim_max = 4096;
  r[RLIMIT_SIGPENDING].rlim_cur = r[RLIMIT_SIGPENDING].rlim_max = 4096;
  r[RLIMIT_MEMLOCK].rlim_cur = r[RLIMIT_MEMLOCK].rlim_max = 8 << 20;
  r[RLIMIT_MSGQUEUE].rlim_cur = r[RLIMIT_MSGQUEUE].rlim_max = 819200;
  r[RLIMIT_NICE].rlim_cur = r[RLIMIT_NICE].rlim_max = 0;
  r[RLIMIT_RTPRIO].rlim_cur = r[RLIMIT_RTPRIO].rlim_max = 0;
  r[RLIMIT_NOFILE].rlim_cur = p->host->facts.nofile;
  r[RLIMIT_NOFILE].rlim_max = MAX(p->host->facts.nofile, NL_NOFILE_HARD);
}

/* ---- The thread's locale ----
 *
 * A program runs in its thread's or its process's locale; natlab between
 * runs keeps the one the last run left (C or C.UTF-8: setlocale() knows
 * no other, so natlab's own formatting is C's either way, as it is under
 * the global locale), and goes back to the global one (the user's
 * character set, for messages on the terminal) when the run loop returns
 * (nl_proc_locale_home()).  Nearly every program keeps the C locale,
 * one object for all (newlocale's), so a run switches none: uselocale()
 * was two calls a run.  A locale the lab frees is never left installed. */
static __thread locale_t installed = LC_GLOBAL_LOCALE;

static inline void locale_install(locale_t l) {
  if (l != installed) {
    uselocale(l);
    installed = l;
  }
}

static void locale_free(locale_t l) {
  if (l == installed)
    locale_install(LC_GLOBAL_LOCALE);
  freelocale(l);
}

void nl_proc_locale_home(void) {
  locale_install(LC_GLOBAL_LOCALE);
}

static void locale_reset(NlProc *p) {
  for (int c = 0; c < 13; c++)
    p->facts.lc_name[c] = "C";
  p->facts.locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static inline void region_switch(NlProc *p);
static void region_loaded_forget(const NlProc *p);

/* ---- Standard streams of a shared instance's processes ----
 *
 * Each process of a shared instance (proc.c) gets stdin, stdout and
 * stderr of its own from the shim (shim.c), made with fopencookie.  When
 * it ends they are kept for the next process of that instance instead of
 * closed: glibc unlinks a FILE it closes by walking its list of all open
 * FILEs, so closing 30,000 of them one by one costs seconds.  When the
 * instance is unloaded, the kept ones are closed newest first, each then
 * found at the head of glibc's list. */
typedef struct {
  guint64 seq; /* in the order they were made */
  void *f[3];  /* FILE *: stdin, stdout, stderr */
} NlSpareStd;

static guint64 std_made;

static gint spare_newest_first(gconstpointer a, gconstpointer b) {
  const NlSpareStd *x = a, *y = b;
  return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

void nl__facts_shared_free(NlSharedProgram *sp) {
  if (sp->spare_std == NULL)
    return;
  g_array_sort(sp->spare_std, spare_newest_first);
  for (guint i = 0; i < sp->spare_std->len; i++) {
    NlSpareStd *s = &g_array_index(sp->spare_std, NlSpareStd, i);
    for (int k = 2; k >= 0; k--)
      fclose(s->f[k]);
  }
  g_array_free(sp->spare_std, TRUE);
  sp->spare_std = NULL;
}

void nl__facts_proc_init(NlProc *p) {
  NlHostStack *h = p->host;
  p->facts.cwd = g_strdup("/");
  rlimits_init(p);
  locale_reset(p);
  p->facts.dumpable = 1;
  nl_rand_init_parts(&p->facts.urandom, nl_world_seed(h->world), "urandom:",
                     nl_node_name(h->node), "/", p->name, NULL);
  /* The program's state section, if it was built with the shim. */
  NlShimRegionFn region = NULL;
  void *sym = nl_loader_symbol(p->module, NL_SHIM_REGION_SYMBOL);
  memcpy(&region, &sym, sizeof sym);
  if (region != NULL)
    region(&p->facts.region);
  if (p->shared != NULL) {
    /* One object for many processes: the region is all its data. */
    NlSharedProgram *sp = p->shared;
    p->facts.region.start = sp->data;
    p->facts.region.len = sp->len;
    p->facts.region.owner = &sp->owner;
    p->facts.region.pristine = sp->pristine;
    if (sp->hole_len > 0) {
      p->facts.hole_at = (guint32)((const guint8 *)sp->hole - (const guint8 *)sp->data);
      p->facts.hole_len = (guint32)sp->hole_len;
    }
  }
  sym = nl_loader_symbol(p->module, NL_SHIM_START_SYMBOL);
  memcpy(&p->facts.shim_start, &sym, sizeof sym);
}

void nl__facts_proc_end(NlProc *p) {
  NlShimRegion *r = &p->facts.region;
  if (p->facts.shim_end != NULL) {
    /* Its own streams, taken from its own data, wait for the next. */
    region_switch(p);
    NlSpareStd s = {.seq = p->facts.std_seq};
    p->facts.shim_end(s.f);
    p->facts.shim_end = NULL;
    if (s.f[0] != NULL && s.f[1] != NULL && s.f[2] != NULL) {
      if (p->shared->spare_std == NULL)
        p->shared->spare_std = g_array_new(FALSE, FALSE, sizeof(NlSpareStd));
      g_array_append_val(p->shared->spare_std, s);
    }
  }
  if (r->start != NULL) {
    region_loaded_forget(p);
    if (*r->owner == p)
      *r->owner = NULL;
  }
  r->start = NULL;
}

void nl__facts_proc_free(NlProc *p) {
  g_strfreev(p->facts.env);
  g_free(p->facts.cwd);
  g_free(p->facts.lc_query);
  if (p->facts.locale)
    locale_free(p->facts.locale);
  g_free(p->facts.saved_heap);
  g_free(p->facts.libc);
  if (p->facts.hostent) {
    g_free(p->facts.hostent->h_name);
    g_free(p->facts.hostent);
  }
}

void nl__facts_thread_init(NlThread *t, NlThread *parent) {
  /* A thread is named as its creator; the main thread after argv[0], as
   * Linux names a process after its executable (15 bytes at most). */
  if (parent != NULL)
    memcpy(t->facts.name, parent->facts.name, sizeof t->facts.name);
  else
    g_strlcpy(t->facts.name, t->proc->argv[0], sizeof t->facts.name);
  t->facts.locale = LC_GLOBAL_LOCALE;
}

/* ---- State sections ----
 *
 * A program built with the shim keeps the libc state it addresses
 * directly (optind, optarg, environ, tzname, program_invocation_name...)
 * in one section of its object, "nl_proc_state" (sim/host/shim-libc.c);
 * what libc keeps in hidden statics (strtok's position, getopt's scan,
 * the buffers of localtime(), asctime(), strerror(), inet_ntoa(),
 * h_errno) the shim reaches through nl_posix_libc_state(): a block per
 * process kept here, which no switch touches.  The lab's own
 * programs are loaded once for every host; for them the section holds the
 * state of the process that ran last, and the lab swaps it when a thread
 * of another process of the same object runs: it saves the section into
 * the owner's copy and loads the runner's, only when processes of one
 * object alternate; a copy holds what differs from the section as loaded
 * ("Swapping a region" below).
 * A user's program is loaded once too when it can be (proc.c,
 * NlSharedProgram): then the region is all of its writable data (its
 * globals and static buffers, the section among them) less the shim's
 * copy of the pristine section, a few KiB for most programs.  One that
 * cannot (its own constructors, thread-locals, much data) is a private
 * copy per process, whose section is already its own.
 *
 * Why this and not the alternatives: keeping each piece of state in the
 * NlProc works for state behind functions (so the hidden statics are
 * there: a switch between processes of one object then swaps 96 bytes,
 * not the 648 they made the section), but not for variables a program
 * reads directly (optind); saving glibc's own statics cannot work, since
 * they are hidden inside libc.so and shared by every program and by
 * natlab.  So the shim owns every piece of that state. */

void nl__region_save(const void *start, size_t len, const void *hole,
                     size_t hole_len, guint8 *dst) {
  const guint8 *src = start;
  if (hole_len == 0) {
    memcpy(dst, src, len);
    return;
  }
  size_t a = (size_t)((const guint8 *)hole - src);
  memcpy(dst, src, a);
  memcpy(dst + a, src + a + hole_len, len - a - hole_len);
}

void nl__region_load(void *start, size_t len, const void *hole,
                     size_t hole_len, const guint8 *src) {
  guint8 *dst = start;
  if (hole_len == 0) {
    memcpy(dst, src, len);
    return;
  }
  size_t a = (size_t)((const guint8 *)hole - dst);
  memcpy(dst, src, a);
  memcpy(dst + a + hole_len, src + a, len - a - hole_len);
}

static void region_save(const NlProcFacts *f, guint8 *dst) {
  nl__region_save(f->region.start, f->region.len,
                  (const guint8 *)f->region.start + f->hole_at, f->hole_len,
                  dst);
}

static void region_load(const NlProcFacts *f, const guint8 *src) {
  nl__region_load(f->region.start, f->region.len,
                  (const guint8 *)f->region.start + f->hole_at, f->hole_len,
                  src);
}

/* ---- Swapping a region ----
 *
 * A process's copy of its region while another process of its program
 * runs holds only what differs from the pristine: the 8-byte words that
 * differ, each with where it goes (DiffWord).  (A small region, such as
 * the lab's programs' state section, is copied whole instead: "Small
 * regions" below.)  Most of a waiting program's state is as loaded -- a
 * user program's data differs in what it wrote (a receive buffer never
 * filled, the C library's tables, do not) -- so a copy is mostly a few
 * words, kept in the NlProcFacts itself up to NL_FACTS_SAVED_INLINE
 * bytes.
 *
 * Saving compares the region with the pristine (or first with a copy of
 * it as loaded, below); both are in the cache (the region just ran; the
 * pristine is shared by every process of the program).  Loading then
 * copies no whole region: the region is the pristine but for the words
 * just saved, so those get the pristine's bytes back and the new owner's
 * words are written.  A switch thus touches, of the memory the other
 * processes' runs left cold, only the new owner's words, where whole
 * copies read and wrote all of the region (the lab's programs' sections
 * were 648 bytes, 11 cache lines; at 1,000 hosts 14 of the 89 misses a
 * delivery cost, docs/performance.md).  A saved copy that did not change
 * is not written again, and one that would be no smaller than the region
 * is kept whole. */

#define SAVED_WORD 8
#define SAVED_BLOCK 64 /* compared at once, then by word */

/* A word of a process's copy: where it is in the region less its hole
 * (@off: in the pristine and the copy as loaded) and in the region (@at),
 * and its bytes.  The last bytes of a part of the region (before or after
 * its hole) may be fewer than a word: @at then says how many
 * (DIFF_PART_SHIFT). */
typedef struct {
  guint32 off, at;
  guint64 bytes;
} DiffWord;

#define DIFF_PART_SHIFT 28 /* bytes of a short word, in @at's top bits */
#define DIFF_AT_MASK ((1u << DIFF_PART_SHIFT) - 1)

/* Appends the @n bytes at @src, at @off in the region less its hole. */
static DiffWord *diff_word(DiffWord *out, const guint8 *src, size_t off,
                           size_t at, size_t n) {
  DiffWord w = {(guint32)off, (guint32)at, 0};
  memcpy(&w.bytes, src, n);
  if (n < SAVED_WORD)
    w.at |= (guint32)n << DIFF_PART_SHIFT;
  *out = w;
  return out + 1;
}

/* The start of the first SAVED_BLOCK-byte block from @i on where @a and
 * @b differ, or where fewer than SAVED_BLOCK bytes are left before @n. */
typedef size_t (*SameRunFn)(const guint8 *a, const guint8 *b, size_t i,
                            size_t n);

typedef guint64 Vec16 __attribute__((vector_size(16)));

static size_t same_run_any(const guint8 *a, const guint8 *b, size_t i,
                           size_t n) {
  for (; i + SAVED_BLOCK <= n; i += SAVED_BLOCK) {
    Vec16 x = {0, 0};
    for (size_t k = 0; k < SAVED_BLOCK; k += 16) {
      Vec16 u, v;
      memcpy(&u, a + i + k, 16);
      memcpy(&v, b + i + k, 16);
      x |= u ^ v;
    }
    if ((x[0] | x[1]) != 0)
      break;
  }
  return i;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* The same with AVX2 where the processor has it: 9 instructions a block
 * where the above takes 20. */
__attribute__((target("avx2"))) static size_t
same_run_avx2(const guint8 *a, const guint8 *b, size_t i, size_t n) {
  for (; i + SAVED_BLOCK <= n; i += SAVED_BLOCK) {
    __m256i u0 = _mm256_loadu_si256((const __m256i *)(const void *)(a + i));
    __m256i u1 =
        _mm256_loadu_si256((const __m256i *)(const void *)(a + i + 32));
    __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)(b + i));
    __m256i v1 =
        _mm256_loadu_si256((const __m256i *)(const void *)(b + i + 32));
    __m256i x =
        _mm256_or_si256(_mm256_xor_si256(u0, v0), _mm256_xor_si256(u1, v1));
    if (!_mm256_testz_si256(x, x))
      break;
  }
  return i;
}
#endif

static size_t same_run_first(const guint8 *a, const guint8 *b, size_t i,
                             size_t n);
static SameRunFn same_run = same_run_first;

/* Picks the comparison for this processor at the first call. */
static size_t same_run_first(const guint8 *a, const guint8 *b, size_t i,
                             size_t n) {
  same_run = same_run_any;
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx2"))
    same_run = same_run_avx2;
#endif
  return same_run(a, b, i, n);
}

/* Whether the @n bytes at @a and @b are the same: blocks from the start,
 * and the last block ending at @n (it may overlap the one before). */
typedef gboolean (*SameFn)(const guint8 *a, const guint8 *b, size_t n);

static gboolean same_any(const guint8 *a, const guint8 *b, size_t n) {
  if (n < SAVED_BLOCK)
    return memcmp(a, b, n) == 0;
  size_t last = n - SAVED_BLOCK;
  return same_run_any(a, b, 0, n) >= n - n % SAVED_BLOCK &&
         same_run_any(a + last, b + last, 0, SAVED_BLOCK) == SAVED_BLOCK;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static inline __m256i
xor_at(const guint8 *a, const guint8 *b, size_t i) {
  return _mm256_xor_si256(
      _mm256_loadu_si256((const __m256i *)(const void *)(a + i)),
      _mm256_loadu_si256((const __m256i *)(const void *)(b + i)));
}

/* 128 bytes a turn, then the last 32 to 128 bytes ending at @n. */
__attribute__((target("avx2"))) static gboolean
same_avx2(const guint8 *a, const guint8 *b, size_t n) {
  if (n < 32)
    return memcmp(a, b, n) == 0;
  size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    __m256i x = _mm256_or_si256(
        _mm256_or_si256(xor_at(a, b, i), xor_at(a, b, i + 32)),
        _mm256_or_si256(xor_at(a, b, i + 64), xor_at(a, b, i + 96)));
    if (!_mm256_testz_si256(x, x))
      return FALSE;
  }
  __m256i x = xor_at(a, b, n - 32);
  for (; i + 32 < n; i += 32)
    x = _mm256_or_si256(x, xor_at(a, b, i));
  return _mm256_testz_si256(x, x);
}
#endif

static gboolean same_first(const guint8 *a, const guint8 *b, size_t n);
static SameFn same_bytes = same_first;

/* Picks the comparison for this processor at the first call. */
static gboolean same_first(const guint8 *a, const guint8 *b, size_t n) {
  same_bytes = same_any;
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx2"))
    same_bytes = same_avx2;
#endif
  return same_bytes(a, b, n);
}

/* Appends the words of [@src, @src + @n) that differ from the pristine's
 * same bytes @pri; @off: where @src is in the region less its hole, @at
 * in the region.  Returns: the end of what it appended. */
static DiffWord *diff_part(DiffWord *d, const guint8 *src, const guint8 *pri,
                           size_t n, size_t off, size_t at) {
  size_t i = 0;
  for (;;) {
    i = same_run(src, pri, i, n);
    if (i + SAVED_BLOCK > n)
      break;
    for (size_t k = i; k < i + SAVED_BLOCK; k += SAVED_WORD) {
      guint64 u, v;
      memcpy(&u, src + k, sizeof u);
      memcpy(&v, pri + k, sizeof v);
      if (u != v)
        d = diff_word(d, src + k, off + k, at + k, SAVED_WORD);
    }
    i += SAVED_BLOCK;
  }
  for (; i < n; i += SAVED_WORD) {
    size_t k = MIN((size_t)SAVED_WORD, n - i);
    if (memcmp(src + i, pri + i, k) != 0)
      d = diff_word(d, src + i, off + i, at + i, k);
  }
  return d;
}

static size_t hole_at(const NlProcFacts *f) {
  return f->hole_at;
}

static guint8 *saved_bytes(NlProcFacts *f) {
  return f->saved_len <= NL_FACTS_SAVED_INLINE ? (guint8 *)f->saved_inline
                                               : f->saved_heap;
}

/* Room for @len saved bytes (the old ones are not kept). */
static guint8 *saved_room(NlProcFacts *f, size_t len) {
  if (len > NL_FACTS_SAVED_INLINE &&
      (f->saved_cap < len || f->saved_cap > 2 * len + 64)) {
    g_free(f->saved_heap);
    f->saved_heap = g_malloc(len);
    f->saved_cap = (guint32)len;
  }
  f->saved_len = (guint32)len;
  return saved_bytes(f);
}

/* ---- What the region was loaded as ----
 *
 * Saving a process whose run left its region as it was loaded needs no
 * words found: its copy still says what the region is.  So loading
 * keeps a copy of the region as loaded (copied whole when the object held
 * another region's data; else the same words as the object's written
 * into the copy), and saving compares the region with it, 128 bytes at a
 * time (AVX2), before it looks for what differs from the pristine word
 * by word.  A few slots, by the region's owner pointer; one taken by
 * another region, or a process that was not loaded last, makes the
 * comparison with the pristine.  Only the work done depends on them,
 * never the bytes saved or loaded. */
#define LOADED_SLOTS 4

typedef struct {
  void **owner;   /* the region's (NlShimRegion.owner), or NULL: free */
  const NlProc *who; /* the process loaded */
  size_t len, cap;
  guint8 *bytes;  /* the region less its hole as loaded */
} LoadedCopy;

static __thread LoadedCopy loaded[LOADED_SLOTS];

static LoadedCopy *loaded_slot(void **owner) {
  return &loaded[((uintptr_t)owner >> 4) % LOADED_SLOTS];
}

/* Whether @o's region (@o the process loaded last) is as its copy @c
 * says it was loaded. */
static gboolean region_as_loaded(const NlProc *o, const LoadedCopy *c) {
  const NlProcFacts *f = &o->facts;
  if (c->owner != f->region.owner || c->who != o)
    return FALSE;
  const guint8 *start = f->region.start;
  size_t total = f->region.len - f->hole_len;
  if (f->hole_len == 0)
    return same_bytes(start, c->bytes, total);
  size_t a = hole_at(f);
  return same_bytes(start, c->bytes, a) &&
         same_bytes(start + a + f->hole_len, c->bytes + a, total - a);
}

/* Copies @p's region as loaded into @c. */
static void region_loaded(const NlProc *p, LoadedCopy *c) {
  const NlProcFacts *f = &p->facts;
  size_t total = f->region.len - f->hole_len;
  if (c->cap < total) {
    g_free(c->bytes);
    c->bytes = g_malloc(total);
    c->cap = total;
  }
  c->owner = f->region.owner;
  c->who = p;
  c->len = total;
  region_save(f, c->bytes);
}

/* Forgets what @p's region was loaded as (@p ends, or leaves it). */
static void region_loaded_forget(const NlProc *p) {
  LoadedCopy *c = loaded_slot(p->facts.region.owner);
  if (c->who == p)
    c->owner = NULL, c->who = NULL;
}

/* Saves @o's region, the one in the object.  Returns: TRUE if as words
 * (the region is the pristine but for them), FALSE if whole. */
static gboolean region_save_diff(NlProc *o, const guint8 *pristine) {
  NlProcFacts *f = &o->facts;
  static __thread guint8 *scratch;
  static __thread size_t scratch_cap;
  const guint8 *start = f->region.start;
  size_t total = f->region.len - f->hole_len;
  size_t need = sizeof(DiffWord) * (total / SAVED_WORD + 2);
  if (scratch_cap < need) {
    g_free(scratch);
    scratch = g_malloc(need);
    scratch_cap = need;
  }
  size_t a = hole_at(f);
  DiffWord *d = (DiffWord *)(void *)scratch;
  d = diff_part(d, start, pristine, a, 0, 0);
  d = diff_part(d, start + a + f->hole_len, pristine + a, total - a, a,
                a + f->hole_len);
  size_t len = (size_t)((guint8 *)d - scratch);
  if ((len >= total && total > 0) || f->region.len > DIFF_AT_MASK) {
    f->saved_whole = TRUE;
    region_save(f, saved_room(f, total));
    return FALSE;
  }
  if (!f->saved_whole && f->saved_len == len &&
      memcmp(saved_bytes(f), scratch, len) == 0)
    return TRUE; /* as saved before */
  f->saved_whole = FALSE;
  memcpy(saved_room(f, len), scratch, len);
  return TRUE;
}

/* A short word (the last bytes of a part of the region): its @n bytes. */
G_GNUC_NO_INLINE static void word_put_short(guint8 *start, guint8 *copy,
                                            const DiffWord *w,
                                            const guint8 *pristine) {
  size_t n = w->at >> DIFF_PART_SHIFT;
  const void *src = pristine != NULL ? (const void *)(pristine + w->off)
                                     : (const void *)&w->bytes;
  memcpy(start + (w->at & DIFF_AT_MASK), src, n);
  if (copy != NULL)
    memcpy(copy + w->off, src, n);
}

/* Writes @f's saved words into its region, and with @copy into that copy
 * of it less its hole: their saved bytes, or with @pristine, the
 * pristine's.  Inline, so that each caller's loop tests neither. */
static inline __attribute__((always_inline)) void
words_put(NlProcFacts *f, guint8 *copy, const guint8 *pristine) {
  guint8 *start = f->region.start;
  const DiffWord *w = (const DiffWord *)(const void *)saved_bytes(f);
  const DiffWord *end = w + f->saved_len / sizeof *w;
  for (; w < end; w++) {
    if (G_UNLIKELY(w->at > DIFF_AT_MASK)) {
      word_put_short(start, copy, w, pristine);
      continue;
    }
    guint64 v = w->bytes;
    if (pristine != NULL)
      memcpy(&v, pristine + w->off, sizeof v);
    memcpy(start + w->at, &v, sizeof v);
    if (copy != NULL)
      memcpy(copy + w->off, &v, sizeof v);
  }
}

/* Whether the words saved as @a's and @b's (neither whole) are at the
 * same places, of the same lengths. */
static inline gboolean same_places(NlProcFacts *a, NlProcFacts *b) {
  if (a->saved_len != b->saved_len)
    return FALSE;
  const DiffWord *u = (const DiffWord *)(const void *)saved_bytes(a);
  const DiffWord *v = (const DiffWord *)(const void *)saved_bytes(b);
  for (size_t i = 0; i < a->saved_len / sizeof *u; i++)
    if (u[i].at != v[i].at)
      return FALSE;
  return TRUE;
}

/* ---- Small regions ----
 *
 * A region of at most NL_FACTS_SAVED_INLINE bytes and no hole (the lab's
 * own programs': the shim's section, 96 bytes) is saved and loaded whole,
 * in saved_inline: the owner's bytes copied out, the runner's in.  Two
 * copies of a hundred bytes cost less than finding whether the owner
 * changed its region and which words differ (50 instructions a switch
 * with AVX2, 63 without, against 187), though they read more of the
 * runner's NlProcFacts (its 96 bytes, where its words were 48: at 1,000
 * hosts cachegrind counts 2 first-level misses a switch, against 1; the
 * owner's copy, written, was read when it came in).  saved_whole says a
 * copy is there; before a process's first switch out, its copy is the
 * pristine. */
static inline gboolean region_small(const NlProcFacts *f) {
  return f->region.len <= NL_FACTS_SAVED_INLINE && f->hole_len == 0;
}

/* Copies @n bytes (at most NL_FACTS_SAVED_INLINE) from @src to @dst,
 * which do not overlap: from 64 bytes on, the first 64 and the last 64
 * (overlapping each other), each a few moves the compiler writes in
 * place of a call. */
static inline void copy_small(void *restrict dst, const void *restrict src,
                              size_t n) {
  G_STATIC_ASSERT(NL_FACTS_SAVED_INLINE <= 128);
  if (n < 64) {
    memcpy(dst, src, n);
    return;
  }
  memcpy(dst, src, 64);
  memcpy((guint8 *)dst + n - 64, (const guint8 *)src + n - 64, 64);
}

typedef void (*CopySmallFn)(void *restrict dst, const void *restrict src,
                            size_t n);

/* region_switch() for a small region: saves its owner @o's (NULL: none)
 * and loads @p's, with @copy (inlined: each caller gets its own). */
static inline __attribute__((always_inline)) void
switch_small(NlProc *p, NlProc *o, CopySmallFn copy) {
  NlProcFacts *f = &p->facts;
  size_t len = f->region.len;
  if (o != NULL) {
    copy(o->facts.saved_inline, f->region.start, len);
    o->facts.saved_whole = TRUE;
    o->facts.saved_len = (guint32)len;
  }
  copy(f->region.start,
       f->saved_whole ? (const void *)f->saved_inline : f->region.pristine,
       len);
  *f->region.owner = p;
}

static void region_switch_small_any(NlProc *p, NlProc *o) {
  switch_small(p, o, copy_small);
}

#if defined(__x86_64__) && defined(__GNUC__)
/* copy_small() in 32-byte moves where the processor has AVX2 (the
 * compiler's own stay at 16). */
__attribute__((target("avx2"))) static inline void
copy_small_avx2(void *restrict dst, const void *restrict src, size_t n) {
  if (n < 64) {
    memcpy(dst, src, n);
    return;
  }
  const guint8 *s = src;
  guint8 *d = dst;
  __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)s);
  __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(s + 32));
  __m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(s + n - 64));
  __m256i e = _mm256_loadu_si256((const __m256i *)(const void *)(s + n - 32));
  _mm256_storeu_si256((__m256i *)(void *)d, a);
  _mm256_storeu_si256((__m256i *)(void *)(d + 32), b);
  _mm256_storeu_si256((__m256i *)(void *)(d + n - 64), c);
  _mm256_storeu_si256((__m256i *)(void *)(d + n - 32), e);
}

__attribute__((target("avx2"))) static void
region_switch_small_avx2(NlProc *p, NlProc *o) {
  switch_small(p, o, copy_small_avx2);
}
#endif

typedef void (*SwitchSmallFn)(NlProc *p, NlProc *o);
static void region_switch_small_first(NlProc *p, NlProc *o);
static SwitchSmallFn region_switch_small = region_switch_small_first;

/* Picks the copy for this processor at the first call. */
static void region_switch_small_first(NlProc *p, NlProc *o) {
  region_switch_small = region_switch_small_any;
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx2"))
    region_switch_small = region_switch_small_avx2;
#endif
  region_switch_small(p, o);
}

/* region_switch() when @p's region holds another process's data. */
G_GNUC_NO_INLINE static void region_switch_in(NlProc *p) {
  NlShimRegion *r = &p->facts.region;
  NlProc *o = *r->owner;
  const guint8 *pristine = r->pristine;
  LoadedCopy *c = loaded_slot(r->owner);
  /* near: the object holds the pristine but for @o's words; kept: @c
   * holds what the object holds (then the same changes go to both). */
  gboolean near = FALSE, kept = FALSE;
  if (o != NULL) {
    kept = region_as_loaded(o, c);
    near = kept ? !o->facts.saved_whole : region_save_diff(o, pristine);
  }
  NlProcFacts *f = &p->facts;
  if (f->saved_whole) {
    region_load(f, saved_bytes(f));
    kept = FALSE;
  } else {
    if (near && kept) {
      /* The common case: the object and its copy as loaded alike.  When
       * @p's words are where @o's are (processes of one program mostly
       * differ from the pristine in the same words), writing @p's covers
       * every one of @o's: no need to put the pristine's back first. */
      if (!same_places(&o->facts, f))
        words_put(&o->facts, c->bytes, pristine);
      words_put(f, c->bytes, NULL);
    } else {
      if (near) {
        words_put(&o->facts, NULL, pristine);
      } else {
        region_load(f, pristine);
        kept = FALSE;
      }
      words_put(f, NULL, NULL);
    }
  }
  *r->owner = p;
  if (kept)
    c->who = p;
  else
    region_loaded(p, c);
}

/* Puts @p's data into its object, saving the data there now. */
static inline void region_switch(NlProc *p) {
  NlShimRegion *r = &p->facts.region;
  if (r->start != NULL && *r->owner != p) {
    if (region_small(&p->facts))
      region_switch_small(p, *r->owner);
    else
      region_switch_in(p);
  }
}

void nl__facts_enter(NlThread *t) {
  NlProc *p = t->proc;
  region_switch(p);
  locale_install(G_UNLIKELY(t->own_locale) ? t->facts.locale
                                           : p->facts.locale);
}

size_t nl__facts_env_plan(NlThread *t, NlEnvPlan *plan) {
  NlProc *p = t->proc;
  plan->merged = p->facts.env ? env_merge(host_env(p->host),
                                          (const char *const *)p->facts.env)
                              : NULL;
  plan->env = plan->merged ? plan->merged : host_env(p->host);
  plan->pwd = NULL;
  if (!env_has(plan->env, "PWD"))
    plan->pwd = g_strconcat("PWD=", p->facts.cwd, NULL);
  /* One block: the array, then the strings. */
  size_t n = 0, bytes = 0;
  for (char **e = plan->env; *e; e++, n++)
    bytes += strlen(*e) + 1;
  if (plan->pwd)
    bytes += strlen(plan->pwd) + 1;
  plan->slots = n + (plan->pwd != NULL) + 1;
  return plan->slots * sizeof(char *) + bytes;
}

char **nl__facts_main_start(NlThread *t, NlEnvPlan *plan, void *mem) {
  NlProc *p = t->proc;
  char **block = mem;
  char *pwd = plan->pwd;
  char **merged = plan->merged;
  if (block == NULL) {
    g_free(pwd);
    g_strfreev(merged);
    return NULL;
  }
  char *s = (char *)(block + plan->slots);
  size_t i = 0;
  for (char **e = plan->env; *e; e++) {
    block[i++] = strcpy(s, *e);
    s += strlen(*e) + 1;
  }
  if (pwd) {
    block[i++] = strcpy(s, pwd);
    g_free(pwd);
  }
  block[i] = NULL;
  g_strfreev(merged);
  if (p->facts.shim_start != NULL) {
    NlShimStart st = {.env = block, .argv0 = p->argv[0]};
    if (p->shared != NULL && p->shared->shim_end != NULL) {
      /* Streams of its own: an ended process's, or new ones. */
      st.own_std = 1;
      p->facts.shim_end = p->shared->shim_end;
      GArray *spare = p->shared->spare_std;
      if (spare != NULL && spare->len > 0) {
        NlSpareStd *kept = &g_array_index(spare, NlSpareStd, spare->len - 1);
        memcpy(st.std, kept->f, sizeof st.std);
        p->facts.std_seq = kept->seq;
        g_array_set_size(spare, spare->len - 1);
      } else {
        p->facts.std_seq = ++std_made;
      }
    }
    p->facts.shim_start(&st);
  }
  return block;
}

int nl__facts_fd_limit(const NlProc *p) {
  return (int)MIN(p->facts.rlim[RLIMIT_NOFILE].rlim_cur, (rlim_t)NL_MAX_FDS);
}

/* @p's block of the shim's hidden libc state, made when first asked. */
static NlLibcState *libc_state(NlProc *p) {
  if (p->facts.libc == NULL)
    p->facts.libc = g_new0(NlLibcState, 1);
  return p->facts.libc;
}

NlLibcState *nl_posix_libc_state(void) {
  NlProc *p = cur_proc();
  if (p == NULL) {
    /* Code of a program run outside any process (a constructor while a
     * private copy loads): one block for all such code. */
    static __thread NlLibcState outside;
    return &outside;
  }
  return libc_state(p);
}

void nl__facts_set_h_errno(NlProc *p, int v) {
  if (p->facts.region.start != NULL) /* built with the shim */
    libc_state(p)->h_errno_v = v;
}

struct hostent *nl__facts_hostent(NlProc *p, const char *name,
                                  uint32_t addr_be) {
  /* One answer per process, overwritten by the next call, as glibc's. */
  typedef struct {
    struct hostent he;
    char *aliases[1];
    char *list[2];
    struct in_addr addr;
  } HostEnt;
  HostEnt *e = (HostEnt *)p->facts.hostent;
  if (e == NULL) {
    e = g_new0(HostEnt, 1);
    p->facts.hostent = &e->he;
  }
  g_free(e->he.h_name);
  e->he.h_name = g_strdup(name);
  e->addr.s_addr = addr_be;
  e->list[0] = (char *)&e->addr;
  e->list[1] = NULL;
  e->aliases[0] = NULL;
  e->he.h_aliases = e->aliases;
  e->he.h_addrtype = AF_INET;
  e->he.h_length = 4;
  e->he.h_addr_list = e->list;
  return &e->he;
}

/* ---- identity ---- */

int nl_posix_gethostname(char *name, size_t len) {
  NlProc *p = cur_proc();
  if (p == NULL)
    return (int)ret(-ENOSYS);
  const char *h = nl_node_name(p->host->node);
  size_t n = strlen(h) + 1;
  if (name == NULL)
    return (int)ret(-EFAULT);
  if (len < n)
    return (int)ret(-ENAMETOOLONG);
  memcpy(name, h, n);
  return 0;
}

int nl_posix_sethostname(const char *name, size_t len) {
  /* An ordinary user may not (CAP_SYS_ADMIN). */
  return (int)ret(len > 64 ? -EINVAL : -EPERM);
}

int nl_posix_getdomainname(char *name, size_t len) {
  static const char none[] = "(none)";
  if (name == NULL)
    return (int)ret(-EFAULT);
  if (len < sizeof none)
    return (int)ret(-EINVAL);
  memcpy(name, none, sizeof none);
  return 0;
}

int nl_posix_uname(struct utsname *u) {
  NlProc *p = cur_proc();
  if (u == NULL)
    return (int)ret(-EFAULT);
  memset(u, 0, sizeof *u);
  g_strlcpy(u->sysname, "Linux", sizeof u->sysname);
  g_strlcpy(u->nodename, p ? nl_node_name(p->host->node) : "natlab",
            sizeof u->nodename);
  g_strlcpy(u->release, NL_UNAME_RELEASE, sizeof u->release);
  g_strlcpy(u->version, NL_UNAME_VERSION, sizeof u->version);
  g_strlcpy(u->machine, NL_UNAME_MACHINE, sizeof u->machine);
#ifdef _GNU_SOURCE
  g_strlcpy(u->domainname, "(none)", sizeof u->domainname);
#endif
  return 0;
}

pid_t nl_posix_getppid(void) {
  return NL_PPID;
}

pid_t nl_posix_gettid(void) {
  return nl__current ? nl__current->tid : 1;
}

pid_t nl_posix_getpgrp(void) {
  NlProc *p = cur_proc();
  return p ? p->pid : 1;
}

static NlProc *proc_by_pid(NlProc *self, pid_t pid) {
  if (pid == 0 || pid == self->pid)
    return self;
  GPtrArray *procs = self->host->procs;
  for (guint i = 0; i < procs->len; i++) {
    NlProc *o = g_ptr_array_index(procs, i);
    if (o->pid == pid &&
        (o->state == NL_PROC_RUNNING || o->state == NL_PROC_STARTING))
      return o;
  }
  return NULL;
}

pid_t nl_posix_getsid(pid_t pid) {
  NlProc *p = cur_proc();
  if (p == NULL)
    return 1;
  NlProc *o = proc_by_pid(p, pid);
  return o ? o->pid : (pid_t)ret(-ESRCH);
}

uid_t nl_posix_getuid(void) {
  return NL_UID;
}
uid_t nl_posix_geteuid(void) {
  return NL_UID;
}
gid_t nl_posix_getgid(void) {
  return NL_GID;
}
gid_t nl_posix_getegid(void) {
  return NL_GID;
}

/* ---- resource limits ---- */

/* As Linux's do_prlimit(): the checks and their order. */
static int do_prlimit(NlProc *p, int res, const struct rlimit *nl,
                      struct rlimit *ol) {
  if (res < 0 || res >= RLIM_NLIMITS)
    return -EINVAL;
  struct rlimit *cur = &p->facts.rlim[res];
  if (nl != NULL) {
    if (nl->rlim_cur > nl->rlim_max)
      return -EINVAL;
    if (res == RLIMIT_NOFILE && nl->rlim_max > NL_MAX_FDS)
      return -EPERM;
    /* Raising a hard limit needs CAP_SYS_RESOURCE, which uid 1000 lacks. */
    if (nl->rlim_max > cur->rlim_max)
      return -EPERM;
  }
  if (ol != NULL)
    *ol = *cur;
  if (nl != NULL)
    *cur = *nl;
  return 0;
}

int nl_posix_getrlimit(__rlimit_resource_t res, struct rlimit *rl) {
  NlProc *p = cur_proc();
  if (p == NULL)
    return (int)ret(-ENOSYS);
  if (rl == NULL)
    return (int)ret(-EFAULT);
  return (int)ret(do_prlimit(p, (int)res, NULL, rl));
}

int nl_posix_setrlimit(__rlimit_resource_t res, const struct rlimit *rl) {
  NlProc *p = cur_proc();
  if (p == NULL)
    return (int)ret(-ENOSYS);
  if (rl == NULL)
    return (int)ret(-EFAULT);
  int r = do_prlimit(p, (int)res, rl, NULL);
  if (nl__current)
    nl__trace_call(nl__current, "setrlimit(%d, {%llu, %llu}) = %d", (int)res,
                   (unsigned long long)rl->rlim_cur,
                   (unsigned long long)rl->rlim_max, r);
  return (int)ret(r);
}

int nl_posix_prlimit(pid_t pid, __rlimit_resource_t res,
                     const struct rlimit *nl, struct rlimit *ol) {
  NlProc *p = cur_proc();
  if (p == NULL)
    return (int)ret(-ENOSYS);
  NlProc *o = proc_by_pid(p, pid);
  if (o == NULL)
    return (int)ret(-ESRCH);
  return (int)ret(do_prlimit(o, (int)res, nl, ol));
}

int nl_posix_getdtablesize(void) {
  NlProc *p = cur_proc();
  return p ? nl__facts_fd_limit(p) : NL_NOFILE_SOFT;
}

long nl_posix_sysconf(int name) {
  NlProc *p = cur_proc();
  long page = sysconf(_SC_PAGESIZE);
  switch (name) {
    case _SC_OPEN_MAX:
      return p ? (long)p->facts.rlim[RLIMIT_NOFILE].rlim_cur : NL_NOFILE_SOFT;
    case _SC_CHILD_MAX:
      return p ? (long)p->facts.rlim[RLIMIT_NPROC].rlim_cur : 4096;
    case _SC_NPROCESSORS_CONF:
    case _SC_NPROCESSORS_ONLN:
      return NL_NPROCS;
    case _SC_PHYS_PAGES:
      return NL_PHYS_BYTES / page;
    case _SC_AVPHYS_PAGES:
      return NL_PHYS_BYTES / 2 / page;
    case _SC_HOST_NAME_MAX:
      return 64;
    case _SC_ARG_MAX:
      return 131072;
    case _SC_SIGQUEUE_MAX:
      return p ? (long)p->facts.rlim[RLIMIT_SIGPENDING].rlim_cur : 4096;
    default:
      /* The CPU's caches are the machine's: unknown, as glibc says. */
      if (name >= _SC_LEVEL1_ICACHE_SIZE && name <= _SC_LEVEL4_CACHE_LINESIZE)
        return 0;
      /* The rest are constants of glibc and the ABI. */
      return sysconf(name);
  }
}

int nl_posix_get_nprocs(void) {
  return NL_NPROCS;
}
int nl_posix_get_nprocs_conf(void) {
  return NL_NPROCS;
}

/* sysinfo(): the uptime is CLOCK_BOOTTIME's, the memory NL_PHYS_BYTES, the
 * processes the host's; no load, no swap. */
int nl_posix_sysinfo(struct sysinfo *info) {
  NlProc *p = cur_proc();
  if (info == NULL)
    return (int)ret(-EFAULT);
  memset(info, 0, sizeof *info);
  NlTime now = p ? nl_world_now(p->host->world) : 0;
  info->uptime = (long)((now + NL_BOOT_OFFSET) / NL_S);
  info->totalram = (unsigned long)NL_PHYS_BYTES;
  info->freeram = (unsigned long)NL_PHYS_BYTES / 2;
  info->mem_unit = 1;
  guint procs = 0;
  for (guint i = 0; p && i < p->host->procs->len; i++) {
    NlProc *o = g_ptr_array_index(p->host->procs, i);
    procs += o->state == NL_PROC_RUNNING || o->state == NL_PROC_STARTING;
  }
  info->procs = (unsigned short)MIN(procs, 65535u);
  return 0;
}

int nl_posix_getloadavg(double loadavg[], int nelem) {
  if (nelem < 0)
    return -1;
  for (int i = 0; i < MIN(nelem, 3); i++)
    loadavg[i] = 0;
  return MIN(nelem, 3);
}

/* gethostid(): glibc's without /etc/hostid, from the host's address (its
 * first interface's, else 127.0.0.1) with its halves swapped. */
long nl_posix_gethostid(void) {
  NlProc *p = cur_proc();
  uint32_t a = 0x7f000001;
  if (p && nl_node_n_ifaces(p->host->node) > 0)
    a = nl_iface_addr(nl_node_iface(p->host->node, 0));
  uint32_t be = g_htonl(a);
  return (long)(int32_t)(be << 16 | be >> 16);
}

int nl_posix_ttyname_r(int fd, char *buf, size_t len) {
  NlProc *p = cur_proc();
  if (p == NULL || nl__fd_get(p, fd) == NULL)
    return EBADF;
  return ENOTTY; /* no descriptor of the lab is a terminal */
}

/* ---- CPU time: every call into the lab costs NL_CALL_COST ---- */

static uint64_t cpu_us(void) {
  NlProc *p = cur_proc();
  return p ? p->calls * (uint64_t)(NL_CALL_COST / NL_US) : 0;
}

clock_t nl_posix_clock(void) {
  return (clock_t)(cpu_us() * (CLOCKS_PER_SEC / 1000000));
}

clock_t nl_posix_times(struct tms *buf) {
  long hz = sysconf(_SC_CLK_TCK);
  if (buf != NULL) {
    memset(buf, 0, sizeof *buf);
    buf->tms_utime = (clock_t)(cpu_us() * (uint64_t)hz / 1000000);
  }
  NlProc *p = cur_proc();
  NlTime now = p ? nl_world_now(p->host->world) : 0;
  return (clock_t)((now + NL_BOOT_OFFSET) / (NL_S / hz));
}

int nl_posix_getrusage(__rusage_who_t who, struct rusage *ru) {
  if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD)
    return (int)ret(-EINVAL);
  if (ru == NULL)
    return (int)ret(-EFAULT);
  memset(ru, 0, sizeof *ru);
  if (who != RUSAGE_CHILDREN) {
    uint64_t us = cpu_us();
    ru->ru_utime.tv_sec = (time_t)(us / 1000000);
    ru->ru_utime.tv_usec = (suseconds_t)(us % 1000000);
  }
  return 0;
}

/* ---- thread names ---- */

static NlThread *thread_by_handle(pthread_t th) {
  NlProc *p = cur_proc();
  if (p == NULL)
    return NULL;
  for (guint i = 0; i < p->threads->len; i++)
    if (NL_PTHREAD_OF((NlThread *)g_ptr_array_index(p->threads, i)) == th)
      return g_ptr_array_index(p->threads, i);
  return NULL;
}

int nl_posix_pthread_setname_np(pthread_t th, const char *name) {
  NlThread *t = thread_by_handle(th);
  if (t == NULL)
    return ESRCH;
  if (strlen(name) > 15)
    return ERANGE;
  g_strlcpy(t->facts.name, name, sizeof t->facts.name);
  return 0;
}

int nl_posix_pthread_getname_np(pthread_t th, char *name, size_t len) {
  NlThread *t = thread_by_handle(th);
  if (t == NULL)
    return ESRCH;
  if (len < strlen(t->facts.name) + 1)
    return ERANGE;
  strcpy(name, t->facts.name);
  return 0;
}

int nl_posix_prctl(int option, unsigned long a2, unsigned long a3,
                   unsigned long a4, unsigned long a5) {
  NlThread *t = nl__current;
  if (t == NULL)
    return (int)ret(-ENOSYS);
  NlProcFacts *f = &t->proc->facts;
  switch (option) {
    case PR_SET_NAME:
      /* Linux copies 16 bytes and cuts the name at 15. */
      g_strlcpy(t->facts.name, (const char *)a2, sizeof t->facts.name);
      return 0;
    case PR_GET_NAME:
      memcpy((char *)a2, t->facts.name, sizeof t->facts.name);
      return 0;
    case PR_SET_PDEATHSIG:
      if (a2 >= NSIG)
        return (int)ret(-EINVAL);
      f->pdeathsig = (int)a2;
      return 0;
    case PR_GET_PDEATHSIG:
      *(int *)a2 = f->pdeathsig;
      return 0;
    case PR_SET_DUMPABLE:
      if (a2 > 1)
        return (int)ret(-EINVAL);
      f->dumpable = (int)a2;
      return 0;
    case PR_GET_DUMPABLE:
      return f->dumpable;
    case PR_SET_NO_NEW_PRIVS:
      if (a2 != 1 || a3 || a4 || a5)
        return (int)ret(-EINVAL);
      f->no_new_privs = 1;
      return 0;
    case PR_GET_NO_NEW_PRIVS:
      return f->no_new_privs;
    default:
      /* Seccomp, capabilities, personalities and the rest concern the
       * real process: nothing of them is the program's. */
      nl__trace_call(t, "prctl(%d) is not supported by natlab (EINVAL)",
                     option);
      return (int)ret(-EINVAL);
  }
}

/* ---- time zones ---- */

void nl_posix_tzset(const char *tz, NlTzInfo *out) {
  NlProc *p = cur_proc();
  NlTz z;
  if (p == NULL)
    nl_tz_utc(&z);
  else if (tz == NULL)
    z = p->host->facts.tz; /* TZ unset: the host's /etc/localtime */
  else
    nl_tz_parse(tz, &z);
  if (p != NULL) {
    p->facts.tz = z;
    p->facts.tz_set = TRUE;
  }
  if (out != NULL) {
    /* Interned: a tm_zone or tzname stays valid for ever, as glibc's. */
    out->std_name = g_intern_string(z.std_name);
    out->dst_name = g_intern_string(z.dst_name);
    out->timezone = -(long)z.std_off;
    out->daylight = z.std_off != z.dst_off;
  }
}

static const NlTz *zone_of(NlProc *p) {
  if (p == NULL)
    return NULL;
  if (!p->facts.tz_set)
    nl_posix_tzset(NULL, NULL);
  return &p->facts.tz;
}

struct tm *nl_posix_localtime_r(const time_t *t, struct tm *tm) {
  const NlTz *z = zone_of(cur_proc());
  if (t == NULL || tm == NULL) {
    errno = EFAULT;
    return NULL;
  }
  if (z == NULL)
    return gmtime_r(t, tm);
  nl_tz_local(z, (int64_t)*t, tm);
  tm->tm_zone = g_intern_string(tm->tm_isdst ? z->dst_name : z->std_name);
  return tm;
}

time_t nl_posix_mktime(struct tm *tm) {
  const NlTz *z = zone_of(cur_proc());
  NlTz utc;
  if (z == NULL) {
    nl_tz_utc(&utc);
    z = &utc;
  }
  time_t t = (time_t)nl_tz_mktime(z, tm);
  tm->tm_zone = g_intern_string(tm->tm_isdst ? z->dst_name : z->std_name);
  return t;
}

struct tm *nl_posix_gmtime_r(const time_t *t, struct tm *tm) {
  if (t == NULL || tm == NULL) {
    errno = EFAULT;
    return NULL;
  }
  nl_tz_gmtime((int64_t)*t, tm);
  tm->tm_zone = "GMT";
  return tm;
}

time_t nl_posix_timegm(struct tm *tm) {
  time_t t = (time_t)nl_tz_timegm(tm);
  tm->tm_zone = "GMT";
  return t;
}

/* ---- locales ---- */

/* The locales every machine has: natlab offers these only, so a program
 * reads numbers and dates the same way everywhere. */
static gboolean locale_known(const char *name) {
  static const char *const known[] = {"C", "POSIX", "C.UTF-8", "C.utf8"};
  for (size_t i = 0; i < G_N_ELEMENTS(known); i++)
    if (strcmp(name, known[i]) == 0)
      return TRUE;
  return FALSE;
}

static const char *const lc_names[13] = {
  "LC_CTYPE",   "LC_NUMERIC", "LC_TIME",    "LC_COLLATE",     "LC_MONETARY",
  "LC_MESSAGES", NULL,        "LC_PAPER",   "LC_NAME",        "LC_ADDRESS",
  "LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION",
};

static void locale_rebuild(NlProc *p) {
  locale_t l = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  for (int c = 0; c < 13 && l != (locale_t)0; c++)
    if (c != LC_ALL && strcmp(p->facts.lc_name[c], "C") != 0 &&
        strcmp(p->facts.lc_name[c], "POSIX") != 0)
      l = newlocale(1 << c, p->facts.lc_name[c], l);
  if (l == (locale_t)0)
    l = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  locale_t old = p->facts.locale;
  p->facts.locale = l;
  if (nl__current && nl__current->proc == p &&
      nl__current->facts.locale == LC_GLOBAL_LOCALE)
    locale_install(l);
  if (old)
    locale_free(old);
}

/* The string setlocale(@c, NULL) returns. */
static char *locale_query(NlProc *p, int c) {
  if (c != LC_ALL)
    return g_strdup(p->facts.lc_name[c]);
  gboolean same = TRUE;
  for (int i = 1; i < 13; i++)
    if (i != LC_ALL && strcmp(p->facts.lc_name[i], p->facts.lc_name[0]) != 0)
      same = FALSE;
  if (same)
    return g_strdup(p->facts.lc_name[0]);
  GString *s = g_string_new(NULL);
  for (int i = 0; i < 13; i++)
    if (i != LC_ALL)
      g_string_append_printf(s, "%s%s=%s", s->len ? ";" : "", lc_names[i],
                             p->facts.lc_name[i]);
  return g_string_free(s, FALSE);
}

char *nl_posix_setlocale(int category, const char *name) {
  NlProc *p = cur_proc();
  if (p == NULL || category < 0 || category >= 13) {
    errno = EINVAL;
    return NULL;
  }
  if (name != NULL) {
    char *names[13] = {NULL};
    if (category == LC_ALL && strchr(name, ';') != NULL) {
      /* What setlocale(LC_ALL, NULL) returned for mixed categories. */
      char **parts = g_strsplit(name, ";", -1);
      for (char **q = parts; *q; q++) {
        char *eq = strchr(*q, '=');
        for (int i = 0; eq && i < 13; i++)
          if (i != LC_ALL && strncmp(*q, lc_names[i], (size_t)(eq - *q)) == 0 &&
              strlen(lc_names[i]) == (size_t)(eq - *q))
            names[i] = eq + 1;
      }
      gboolean ok = TRUE;
      for (int i = 0; i < 13; i++)
        if (i != LC_ALL && (names[i] == NULL || !locale_known(names[i])))
          ok = FALSE;
      if (ok)
        for (int i = 0; i < 13; i++)
          if (i != LC_ALL)
            p->facts.lc_name[i] = g_intern_string(names[i]);
      g_strfreev(parts);
      if (!ok) {
        errno = ENOENT;
        return NULL;
      }
    } else {
      if (!locale_known(name)) {
        errno = ENOENT;
        return NULL;
      }
      for (int i = 0; i < 13; i++)
        if (i != LC_ALL && (category == LC_ALL || i == category))
          p->facts.lc_name[i] = g_intern_string(name);
    }
    locale_rebuild(p);
  }
  g_free(p->facts.lc_query);
  p->facts.lc_query = locale_query(p, category);
  return p->facts.lc_query;
}

locale_t nl_posix_uselocale(locale_t l) {
  NlThread *t = nl__current;
  if (t == NULL) {
    locale_t old = uselocale(l);
    if (l != (locale_t)0)
      installed = l;
    return old;
  }
  locale_t old = t->facts.locale;
  if (l != (locale_t)0) {
    t->facts.locale = l;
    t->own_locale = l != LC_GLOBAL_LOCALE;
    locale_install(l == LC_GLOBAL_LOCALE ? t->proc->facts.locale : l);
  }
  return old;
}

locale_t nl_posix_global_locale(void) {
  NlProc *p = cur_proc();
  return p ? p->facts.locale : LC_GLOBAL_LOCALE;
}

locale_t nl_posix_newlocale(int mask, const char *name, locale_t base) {
  if (name == NULL || !locale_known(name)) {
    errno = name ? ENOENT : EINVAL;
    return (locale_t)0;
  }
  if (base == LC_GLOBAL_LOCALE) {
    errno = EINVAL;
    return (locale_t)0;
  }
  return newlocale(mask, name, base);
}

locale_t nl_posix_duplocale(locale_t l) {
  return duplocale(l == LC_GLOBAL_LOCALE ? nl_posix_global_locale() : l);
}
