/* The virtual system facts kept per host, per process and per thread
 * (sim/host/facts.c, sim/host/vfs.c): embedded in NlHostStack, NlProc and
 * NlThread (host-priv.h), and set up and torn down by proc.c through the
 * nl__facts_* hooks below. */
#ifndef NL_FACTS_PRIV_H
#define NL_FACTS_PRIV_H

#include <locale.h>
#include <netdb.h>
#include <stdint.h>
#include <sys/resource.h>

#include "sim/core/rand.h"
#include "sim/core/tz.h"
#include "sim/host/posix-facts.h"

typedef struct NlThread NlThread;
typedef struct NlProc NlProc;
typedef struct NlHostStack NlHostStack;

/* What every process of a host starts with. */
typedef struct {
  NlTz tz;          /* the host's zone (its /etc/localtime): UTC unless set */
  char *tz_name;    /* as the scenario wrote it ("Europe/Berlin") */
  char **env;       /* NAME=VALUE over the defaults (owned strv) or NULL */
  char **env_base;  /* the defaults with @env: what processes start with
                     * (made when first needed, owned) */
  rlim_t nofile;    /* RLIMIT_NOFILE soft limit of new processes */
} NlHostFacts;

/* Bytes of a process's saved region kept in its NlProcFacts: a region
 * this small without a hole (the shim's section) is saved whole. */
#define NL_FACTS_SAVED_INLINE 128

/* What a run of a thread of the process reads comes first (NlProc in
 * host-priv.h puts these fields among its own first ones). */
typedef struct {
  locale_t locale;        /* setlocale()'s: the process's global locale */
  NlShimRegion region;    /* the program's state section (start NULL: none) */
  guint32 hole_at, hole_len; /* bytes of the region never swapped */
  /* This process's copy of the region while another one runs (facts.c,
   * "Swapping a region"): the words that differ from the pristine, or
   * the region less its hole whole; saved_len bytes, in saved_inline up
   * to NL_FACTS_SAVED_INLINE, else at saved_heap (saved_cap bytes). */
  guint32 saved_len;
  gboolean saved_whole;
  guint64 saved_inline[NL_FACTS_SAVED_INLINE / 8];
  guint32 saved_cap;
  guint8 *saved_heap;
  char **env;             /* the run's env= over its host's (strv), or NULL */
  char *cwd;              /* the working directory (absolute) */
  struct rlimit rlim[RLIM_NLIMITS];
  NlTz tz;                /* the zone tzset() last read */
  gboolean tz_set;
  const char *lc_name[13]; /* per category (LC_CTYPE ...), interned */
  char *lc_query;         /* the string setlocale() last returned */
  NlRand urandom;         /* /dev/urandom and /dev/random */
  NlShimStartFn shim_start;
  NlShimEndFn shim_end;   /* set once the process has streams of its own */
  guint64 std_seq;        /* when those streams were made (see facts.c) */
  int pdeathsig, dumpable, no_new_privs; /* prctl() answers */
  struct hostent *hostent; /* gethostbyname()'s answer */
  NlLibcState *libc;       /* the shim's hidden libc state; NULL until asked */
} NlProcFacts;

typedef struct {
  locale_t locale; /* uselocale(): LC_GLOBAL_LOCALE follows the process */
  char name[16];   /* prctl(PR_SET_NAME), pthread_setname_np() */
} NlThreadFacts;

/* proc.c calls these. */
void nl__facts_host_init(NlHostStack *h);
void nl__facts_host_free(NlHostStack *h);
/* A new process: defaults from its host, the program's state section. */
void nl__facts_proc_init(NlProc *p);
/* The process ended: its state leaves the program's object (before the
 * object is closed). */
void nl__facts_proc_end(NlProc *p);
void nl__facts_proc_free(NlProc *p);
/* A new thread of @p, created by @parent (NULL for the main thread). */
void nl__facts_thread_init(NlThread *t, NlThread *parent);
/* Before every run of a thread: its process's state section and locale in
 * (the locale stays until another run's or nl_proc_locale_home()). */
void nl__facts_enter(NlThread *t);
/* The environment main() starts with: what goes in its block. */
typedef struct {
  char **env;    /* the variables (host_env()'s or @merged) */
  char **merged; /* owned, or NULL */
  char *pwd;     /* owned "PWD=...", or NULL */
  size_t slots;  /* pointers in the block, the NULL included */
} NlEnvPlan;
/* Plans the environment of @t's process.  Returns: the size of its block
 * (pointers, then strings).  nl__facts_main_start() must follow, with
 * the block. */
size_t nl__facts_env_plan(NlThread *t, NlEnvPlan *plan);
/* In the main thread, before main(): fills @mem (the block planned, or
 * NULL if there is none) with the environment and hands it to the shim.
 * Returns: the environment, for main()'s third argument. */
char **nl__facts_main_start(NlThread *t, NlEnvPlan *plan, void *mem);
/* The largest descriptor number + 1 the process may use now. */
int nl__facts_fd_limit(const NlProc *p);
/* The program's h_errno, as gethostbyname() leaves it. */
void nl__facts_set_h_errno(NlProc *p, int v);
/* gethostbyname()'s answer: one per process, overwritten by the next. */
struct hostent *nl__facts_hostent(NlProc *p, const char *name,
                                  uint32_t addr_be);

#endif
