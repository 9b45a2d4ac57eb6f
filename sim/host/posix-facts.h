/* The system facts a program can ask for, answered per host and per
 * process by the lab (sim/host/facts.c, sim/host/vfs.c), and the interface
 * between the lab and the program-side half of the shim
 * (sim/host/shim-libc.c), which keeps libc's per-program state.
 *
 * As sim/host/posix-calls.h: X(return type, name, (parameters),
 * (arguments)) gives nl_posix_NAME with the exact POSIX signature, and the
 * shim defines NAME (and NAME64 where glibc renames a call under
 * _FILE_OFFSET_BITS=64) to call it.
 */
#ifndef NL_POSIX_FACTS_H
#define NL_POSIX_FACTS_H

#include <dirent.h>
#include <grp.h>
#include <locale.h>
#include <pthread.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>

#define NL_POSIX_FACT_CALLS(X)                                                 \
  X(int, gethostname, (char *name, size_t len), (name, len))                   \
  X(int, sethostname, (const char *name, size_t len), (name, len))             \
  X(int, getdomainname, (char *name, size_t len), (name, len))                 \
  X(int, uname, (struct utsname *u), (u))                                      \
  X(pid_t, getppid, (void), ())                                                \
  X(pid_t, gettid, (void), ())                                                 \
  X(pid_t, getpgrp, (void), ())                                                \
  X(pid_t, getsid, (pid_t pid), (pid))                                         \
  X(uid_t, getuid, (void), ())                                                 \
  X(uid_t, geteuid, (void), ())                                                \
  X(gid_t, getgid, (void), ())                                                 \
  X(gid_t, getegid, (void), ())                                                \
  X(int, getrlimit, (__rlimit_resource_t res, struct rlimit *rl), (res, rl))   \
  X(int, setrlimit, (__rlimit_resource_t res, const struct rlimit *rl),        \
    (res, rl))                                                                 \
  X(int, prlimit,                                                              \
    (pid_t pid, __rlimit_resource_t res, const struct rlimit *nl,              \
     struct rlimit *ol),                                                       \
    (pid, res, nl, ol))                                                        \
  X(int, getdtablesize, (void), ())                                            \
  X(long, sysconf, (int name), (name))                                         \
  X(int, get_nprocs, (void), ())                                               \
  X(int, get_nprocs_conf, (void), ())                                          \
  X(clock_t, clock, (void), ())                                                \
  X(clock_t, times, (struct tms *buf), (buf))                                  \
  X(int, getrusage, (__rusage_who_t who, struct rusage *ru), (who, ru))        \
  X(int, pthread_setname_np, (pthread_t th, const char *name), (th, name))     \
  X(int, pthread_getname_np, (pthread_t th, char *name, size_t len),           \
    (th, name, len))                                                           \
  X(int, isatty, (int fd), (fd))                                               \
  X(int, ttyname_r, (int fd, char *buf, size_t len), (fd, buf, len))           \
  X(int, sysinfo, (struct sysinfo *info), (info))                              \
  X(int, getloadavg, (double loadavg[], int nelem), (loadavg, nelem))          \
  X(long, gethostid, (void), ())                                               \
  X(char *, getcwd, (char *buf, size_t size), (buf, size))                     \
  X(int, chdir, (const char *path), (path))                                    \
  X(int, fchdir, (int fd), (fd))                                               \
  X(off_t, lseek, (int fd, off_t off, int whence), (fd, off, whence))          \
  X(int, fstat, (int fd, struct stat *st), (fd, st))                           \
  X(int, stat, (const char *path, struct stat *st), (path, st))                \
  X(int, lstat, (const char *path, struct stat *st), (path, st))               \
  X(int, access, (const char *path, int mode), (path, mode))                   \
  X(int, unlink, (const char *path), (path))                                   \
  X(int, mkdir, (const char *path, mode_t mode), (path, mode))                 \
  X(int, rmdir, (const char *path), (path))                                    \
  X(int, rename, (const char *from, const char *to), (from, to))               \
  X(int, remove, (const char *path), (path))                                   \
  X(char *, realpath, (const char *path, char *resolved), (path, resolved))    \
  X(DIR *, opendir, (const char *path), (path))                                \
  X(ssize_t, readlink, (const char *path, char *buf, size_t len),              \
    (path, buf, len))                                                          \
  X(int, fsync, (int fd), (fd))                                                \
  X(int, ftruncate, (int fd, off_t len), (fd, len))

/* The natlab executable exports these to programs (tools/natlab.map);
 * the same definition as posix.h's. */
#define NL_POSIX_API __attribute__((visibility("default")))

#define NL_POSIX_FACT_PROTO(ret, name, params, args)                           \
  NL_POSIX_API ret nl_posix_##name params;
NL_POSIX_FACT_CALLS(NL_POSIX_FACT_PROTO)
#undef NL_POSIX_FACT_PROTO

/* ---- the program side's own entry points into the lab ---- */

/* open() and openat(): a lab descriptor for a device, a virtual file or
 * a real file (relative paths from the process's working directory). */
NL_POSIX_API int nl_posix_open(const char *path, int flags, mode_t mode);
NL_POSIX_API int nl_posix_openat(int dirfd, const char *path, int flags, mode_t mode);
/* mkstemp(), mkostemp(), mkstemps(), mkostemps() (@dir FALSE: returns a
 * descriptor) and mkdtemp() (@dir TRUE: returns 0); names from the
 * process's seeded stream. */
NL_POSIX_API int nl_posix_mktemp(char *tmpl, int suffixlen, int flags,
                                 int dir);
/* prctl(): PR_SET_NAME / PR_GET_NAME per thread, a few harmless options
 * remembered per process, EINVAL for the others. */
NL_POSIX_API int nl_posix_prctl(int option, unsigned long a2, unsigned long a3,
                   unsigned long a4, unsigned long a5);

/* The time zone in force for the process: tzset() reads it from @tz (the
 * program's TZ, or NULL when unset: the host's zone) and fills the names
 * and offsets glibc's tzset() leaves in tzname, timezone and daylight. */
typedef struct {
  const char *std_name, *dst_name; /* stable for the process's life */
  long timezone;                   /* seconds west of UTC */
  int daylight;
} NlTzInfo;
NL_POSIX_API void nl_posix_tzset(const char *tz, NlTzInfo *out);
NL_POSIX_API struct tm *nl_posix_localtime_r(const time_t *t, struct tm *tm);
NL_POSIX_API time_t nl_posix_mktime(struct tm *tm);
NL_POSIX_API struct tm *nl_posix_gmtime_r(const time_t *t, struct tm *tm);
NL_POSIX_API time_t nl_posix_timegm(struct tm *tm);

/* setlocale() with a name the shim resolved ("" became what LC_ALL,
 * LC_<category> or LANG say); uselocale() per thread, where
 * LC_GLOBAL_LOCALE means the process's locale, never natlab's. */
NL_POSIX_API char *nl_posix_setlocale(int category, const char *name);
NL_POSIX_API locale_t nl_posix_uselocale(locale_t l);
NL_POSIX_API locale_t nl_posix_global_locale(void);
NL_POSIX_API locale_t nl_posix_newlocale(int mask, const char *name, locale_t base);
/* duplocale(LC_GLOBAL_LOCALE) copies the process's locale. */
NL_POSIX_API locale_t nl_posix_duplocale(locale_t l);

/* Per-process libc state that a program addresses directly (optind,
 * environ, tzname...) lives in one section of the program's object,
 * "nl_proc_state".  A program loaded once for many processes (the lab's
 * own) shares that section, so the lab keeps a copy per process and
 * swaps it in when a thread of another process of that object runs
 * (sim/host/facts.c).  The shim describes the section: */
typedef struct {
  void *start;           /* the section in the loaded object */
  size_t len;
  void **owner;          /* the process whose state is in it now */
  const void *pristine;  /* the section as loaded */
  size_t pristine_len;   /* the size of the shim's buffer holding it */
} NlShimRegion;

/* The state libc hides in statics, which only the shim reads and writes
 * (a program reaches it through what the shim's functions return, never
 * by a name): one block per process, kept by the lab, so that it is not
 * in the section swapped at every switch between processes of one
 * object.  Zeroed when a process first asks for it. */
typedef struct {
  int h_errno_v;  /* h_errno (gethostbyname() sets it in the lab) */
  int tz_started; /* tzset() ran: localtime_r() reads TZ no more */
  /* getopt()'s scan (shim-libc.c) */
  char *go_next;         /* the rest of a cluster "-abc" */
  int go_first, go_last; /* non-options skipped: [first, last) */
  int go_order;          /* the scan's ordering, once started */
  int go_started;
  int go_optopt;    /* glibc keeps its own; see getopt_any */
  char **env_owned; /* the array setenv() last allocated */
  char *strtok_pos;
  /* Static results: glibc shares one struct tm between localtime() and
   * gmtime(), and one buffer between asctime() and ctime(). */
  struct tm tm;
  char asc[114];
  char err[64];     /* strerror() of an unknown number */
  char sig[64];     /* strsignal() of an unknown number */
  char ntoa[18];    /* inet_ntoa() */
  struct passwd pw; /* getpwuid(), getpwnam() */
  struct group gr;  /* getgrgid(), getgrnam() */
  char *gr_members[1];
} NlLibcState;

/* The running process's block (one for code run outside any process). */
NL_POSIX_API NlLibcState *nl_posix_libc_state(void);

/* What the lab hands the shim as a process's main thread starts. */
typedef struct {
  char **env;          /* the environment, NULL-terminated (process heap) */
  const char *argv0;   /* for program_invocation_name */
  int own_std;         /* give this process standard streams of its own
                        * (a shared instance: proc.c) */
  void *std[3];        /* with own_std: the streams of an ended process to
                        * reuse (FILE *), or NULL to make new ones */
} NlShimStart;

/* The shim's own functions the lab looks up in a loaded program. */
typedef void (*NlShimRegionFn)(NlShimRegion *out);
typedef void (*NlShimStartFn)(const NlShimStart *start);
/* Gives back the process's own streams (FILE *) in @std. */
typedef void (*NlShimEndFn)(void **std);
#define NL_SHIM_REGION_SYMBOL "nl__shim_region"
#define NL_SHIM_START_SYMBOL "nl__shim_start"
#define NL_SHIM_END_SYMBOL "nl__shim_end"
/* Closes the object's own standard streams (its destructor's work). */
typedef void (*NlShimCloseFn)(void);
#define NL_SHIM_CLOSE_SYMBOL "nl__shim_close"

#endif
