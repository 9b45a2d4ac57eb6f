/* The program side of the system facts, and libc's per-program state.
 *
 * Linked into every program with shim.c.  Two jobs:
 *
 * 1. The facts a program asks of the system (host name, limits, the
 *    working directory, files by name, time zones, locales...) reach the
 *    lab: each call here has the exact POSIX signature and calls
 *    nl_posix_* (sim/host/facts.c, sim/host/vfs.c).  glibc would answer
 *    them from the real machine, and some of its functions consult the
 *    real environment and files internally (tzset() reads TZ and
 *    /etc/localtime, setlocale("") reads LANG, getopt() reads
 *    POSIXLY_CORRECT), so those are written here over the program's own
 *    environment.
 *
 * 2. The state libc keeps per program is per process here: variables a
 *    program uses directly (optind, optarg, environ, tzname,
 *    program_invocation_name) are defined here, every one marked
 *    NL_STATE, which puts it in the section "nl_proc_state".  The lab
 *    gives each process its own copy of that section (see "State
 *    sections" in sim/host/facts.c), so two hosts running one program
 *    never see each other's optind, and a new world starts from the
 *    section as loaded.  What glibc hides in statics (getopt's scan,
 *    strtok's position, the buffers of localtime(), asctime(),
 *    strerror(), inet_ntoa(), h_errno) is in the process's NlLibcState,
 *    which the lab keeps (nl_posix_libc_state()).
 *
 * Nothing here keeps state outside the two, except the loaded section's
 * pristine copy and its owner, which the lab uses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <error.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <locale.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "sim/host/posix.h"

#define NL_STATE __attribute__((section("nl_proc_state")))

/* ---- the state section ---- */

/* getopt(3) */
char *optarg NL_STATE = NULL;
int optind NL_STATE = 1;
int opterr NL_STATE = 1;
int optopt NL_STATE = '?';

/* The environment. */
char **environ NL_STATE = NULL;
extern char **__environ __attribute__((alias("environ")));

/* Time zones: what tzset() sets. */
char *tzname[2] NL_STATE = {(char *)"GMT", (char *)"GMT"};
long timezone NL_STATE = 0;
int daylight NL_STATE = 0;
extern char *__tzname[2] __attribute__((alias("tzname")));
extern long __timezone __attribute__((alias("timezone")));
extern int __daylight __attribute__((alias("daylight")));

char *program_invocation_name NL_STATE = (char *)"";
char *program_invocation_short_name NL_STATE = (char *)"";

/* What glibc hides in statics (getopt's scan, strtok's position, the
 * buffers localtime(), strerror(), inet_ntoa()... return) is in the
 * process's NlLibcState, kept by the lab (sim/host/posix-facts.h): a
 * program names none of it, so it need not be in the section, which the
 * lab swaps whenever processes of one loaded object take turns. */
static inline NlLibcState *libc_state(void) {
  return nl_posix_libc_state();
}

extern char __start_nl_proc_state[], __stop_nl_proc_state[];
static void *region_owner;
static char region_pristine[8192];

void nl__shim_region(NlShimRegion *out);
void nl__shim_region(NlShimRegion *out) {
  out->start = __start_nl_proc_state;
  out->len = (size_t)(__stop_nl_proc_state - __start_nl_proc_state);
  out->owner = &region_owner;
  out->pristine = region_pristine;
  out->pristine_len = sizeof region_pristine;
}

__attribute__((constructor)) static void nl_shim_state_init(void) {
  size_t len = (size_t)(__stop_nl_proc_state - __start_nl_proc_state);
  if (len > sizeof region_pristine)
    abort(); /* the section outgrew its copy: enlarge region_pristine */
  memcpy(region_pristine, __start_nl_proc_state, len);
}

void nl__shim_start(const NlShimStart *s);
void nl__shim_std_own(void *const reuse[3]); /* shim.c */
void nl__shim_start(const NlShimStart *s) {
  if (s->own_std)
    nl__shim_std_own(s->std);
  environ = s->env;
  program_invocation_name = (char *)s->argv0;
  const char *slash = strrchr(s->argv0, '/');
  program_invocation_short_name = (char *)(slash ? slash + 1 : s->argv0);
  /* fileno() of the standard streams (fopencookie leaves -2). */
  stdin->_fileno = 0;
  stdout->_fileno = 1;
  stderr->_fileno = 2;
}

/* ---- facts answered by the lab ---- */

#define NL_SHIM_FACT(ret, name, params, args)                                  \
  ret name params {                                                            \
    return nl_posix_##name args;                                               \
  }
NL_POSIX_FACT_CALLS(NL_SHIM_FACT)
#undef NL_SHIM_FACT

/* The names glibc gives these calls under _FILE_OFFSET_BITS=64 (the same
 * structures on 64-bit Linux). */
int getrlimit64(__rlimit_resource_t res, struct rlimit64 *rl) {
  return nl_posix_getrlimit(res, (struct rlimit *)rl);
}
int setrlimit64(__rlimit_resource_t res, const struct rlimit64 *rl) {
  return nl_posix_setrlimit(res, (const struct rlimit *)rl);
}
int prlimit64(pid_t pid, __rlimit_resource_t res, const struct rlimit64 *nl,
              struct rlimit64 *ol) {
  return nl_posix_prlimit(pid, res, (const struct rlimit *)nl,
                          (struct rlimit *)ol);
}
off64_t lseek64(int fd, off64_t off, int whence) {
  return nl_posix_lseek(fd, off, whence);
}
int fstat64(int fd, struct stat64 *st) {
  return nl_posix_fstat(fd, (struct stat *)st);
}
int stat64(const char *path, struct stat64 *st) {
  return nl_posix_stat(path, (struct stat *)st);
}
int lstat64(const char *path, struct stat64 *st) {
  return nl_posix_lstat(path, (struct stat *)st);
}
int ftruncate64(int fd, off64_t len) {
  return nl_posix_ftruncate(fd, len);
}

static mode_t mode_arg(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE
             ? (mode_t)va_arg(ap, int)
             : 0;
}

int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return nl_posix_open(path, flags, mode);
}
int open64(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return nl_posix_open(path, flags, mode);
}
int openat(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return nl_posix_openat(dirfd, path, flags, mode);
}
int openat64(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return nl_posix_openat(dirfd, path, flags, mode);
}
int creat(const char *path, mode_t mode) {
  return nl_posix_open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}
int creat64(const char *path, mode_t mode) {
  return nl_posix_open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int mkstemp(char *tmpl) {
  return nl_posix_mktemp(tmpl, 0, 0, 0);
}
int mkstemp64(char *tmpl) {
  return nl_posix_mktemp(tmpl, 0, 0, 0);
}
int mkostemp(char *tmpl, int flags) {
  return nl_posix_mktemp(tmpl, 0, flags, 0);
}
int mkostemp64(char *tmpl, int flags) {
  return nl_posix_mktemp(tmpl, 0, flags, 0);
}
int mkstemps(char *tmpl, int suffixlen) {
  return nl_posix_mktemp(tmpl, suffixlen, 0, 0);
}
int mkstemps64(char *tmpl, int suffixlen) {
  return nl_posix_mktemp(tmpl, suffixlen, 0, 0);
}
int mkostemps(char *tmpl, int suffixlen, int flags) {
  return nl_posix_mktemp(tmpl, suffixlen, flags, 0);
}
int mkostemps64(char *tmpl, int suffixlen, int flags) {
  return nl_posix_mktemp(tmpl, suffixlen, flags, 0);
}
char *mkdtemp(char *tmpl) {
  return nl_posix_mktemp(tmpl, 0, 0, 1) == 0 ? tmpl : NULL;
}

char *ttyname(int fd) {
  int e = nl_posix_ttyname_r(fd, NULL, 0);
  errno = e;
  return NULL;
}

int prctl(int option, ...) {
  va_list ap;
  va_start(ap, option);
  unsigned long a[4];
  for (int i = 0; i < 4; i++)
    a[i] = va_arg(ap, unsigned long);
  va_end(ap);
  return nl_posix_prctl(option, a[0], a[1], a[2], a[3]);
}

/* ---- streams over lab descriptors ---- */

static ssize_t fd_read(void *c, char *buf, size_t len) {
  ssize_t n = nl_posix_read((int)(intptr_t)c, buf, len);
  return n < 0 ? -1 : n;
}
static ssize_t fd_write(void *c, const char *buf, size_t len) {
  ssize_t n = nl_posix_write((int)(intptr_t)c, buf, len);
  return n < 0 ? 0 : n; /* fopencookie: 0 is the error */
}
static int fd_seek(void *c, off64_t *off, int whence) {
  off_t r = nl_posix_lseek((int)(intptr_t)c, *off, whence);
  if (r < 0)
    return -1;
  *off = r;
  return 0;
}
static int fd_close(void *c) {
  return nl_posix_close((int)(intptr_t)c);
}

static FILE *fd_stream(int fd, const char *mode) {
  cookie_io_functions_t io = {
    .read = fd_read, .write = fd_write, .seek = fd_seek, .close = fd_close};
  FILE *f = fopencookie((void *)(intptr_t)fd, mode, io);
  if (f != NULL)
    f->_fileno = fd; /* fileno() works, as on a file stream */
  return f;
}

/* fopen()'s mode as open() flags; -1 for a mode glibc refuses. */
static int mode_flags(const char *mode) {
  int flags;
  switch (mode[0]) {
    case 'r':
      flags = O_RDONLY;
      break;
    case 'w':
      flags = O_WRONLY | O_CREAT | O_TRUNC;
      break;
    case 'a':
      flags = O_WRONLY | O_CREAT | O_APPEND;
      break;
    default:
      return -1;
  }
  for (const char *m = mode + 1; *m && m < mode + 7; m++) {
    if (*m == '+')
      flags = (flags & ~O_ACCMODE) | O_RDWR;
    else if (*m == 'x')
      flags |= O_EXCL;
    else if (*m == 'e')
      flags |= O_CLOEXEC;
  }
  return flags;
}

FILE *fopen(const char *path, const char *mode) {
  int flags = mode_flags(mode);
  if (flags < 0) {
    errno = EINVAL;
    return NULL;
  }
  int fd = nl_posix_open(path, flags, 0666);
  if (fd < 0)
    return NULL;
  FILE *f = fd_stream(fd, mode);
  if (f == NULL)
    nl_posix_close(fd);
  return f;
}

FILE *fopen64(const char *path, const char *mode) {
  return fopen(path, mode);
}

FILE *fdopen(int fd, const char *mode) {
  if (mode_flags(mode) < 0) {
    errno = EINVAL;
    return NULL;
  }
  if (nl_posix_fcntl(fd, F_GETFD, 0) < 0)
    return NULL;
  return fd_stream(fd, mode);
}

/* ---- getopt(3), as glibc's ----
 *
 * GNU ordering: options and their arguments are moved before the
 * non-options (PERMUTE), unless the option string starts with '+' or
 * POSIXLY_CORRECT is set (stop at the first non-option) or with '-'
 * (non-options are returned as arguments of option 1).  "--" ends the
 * options.  Long options may be abbreviated when unambiguous; getopt_long_only
 * takes them after one dash.  Messages and optopt are glibc's. */

enum { ORDER_PERMUTE, ORDER_REQUIRE, ORDER_RETURN_IN_ORDER };

static int is_nonoption(char *const *argv, int i) {
  return argv[i][0] != '-' || argv[i][1] == '\0';
}

/* Moves the skipped non-options [go_first, go_last) after the options
 * [go_last, optind) that followed them, keeping the order of each. */
static void go_exchange(NlLibcState *g, char **argv) {
  int a = g->go_first, b = g->go_last, c = optind;
  int n_non = b - a, n_opt = c - b;
  /* Rotate [a, c) left by n_non, one element at a time through a cycle
   * walk (no allocation). */
  int len = c - a;
  if (n_non > 0 && n_opt > 0) {
    int moved = 0;
    for (int start = 0; moved < len; start++) {
      int i = start;
      char *keep = argv[a + i];
      for (;;) {
        int from = (i + n_non) % len;
        moved++;
        if (from == start) {
          argv[a + i] = keep;
          break;
        }
        argv[a + i] = argv[a + from];
        i = from;
      }
    }
  }
  g->go_first += n_opt;
  g->go_last = optind;
}

static int long_option(NlLibcState *g, int argc, char **argv,
                       const char *optstring, const struct option *longopts,
                       int *longind, int long_only, int print,
                       const char *prefix) {
  char *name = g->go_next;
  char *eq = strchr(name, '=');
  size_t len = eq ? (size_t)(eq - name) : strlen(name);
  const struct option *found = NULL;
  int index = -1, n = 0;
  for (const struct option *o = longopts; o->name; o++, n++)
    if (strncmp(o->name, name, len) == 0 && strlen(o->name) == len) {
      found = o;
      index = n;
      break;
    }
  if (found == NULL) {
    /* Abbreviations: ambiguous when two candidates differ. */
    int ambiguous = 0;
    for (int i = 0; i < n; i++) {
      const struct option *o = &longopts[i];
      if (strncmp(o->name, name, len) != 0)
        continue;
      if (found == NULL) {
        found = o;
        index = i;
      } else if (long_only || found->has_arg != o->has_arg ||
                 found->flag != o->flag || found->val != o->val) {
        ambiguous = 1;
      }
    }
    if (ambiguous) {
      if (print) {
        fprintf(stderr, "%s: option '%s%s' is ambiguous; possibilities:",
                argv[0], prefix, name);
        const struct option *first = found;
        for (int i = 0; i < n; i++) {
          const struct option *o = &longopts[i];
          if (strncmp(o->name, name, len) != 0)
            continue;
          if (o == first || long_only || first->has_arg != o->has_arg ||
              first->flag != o->flag || first->val != o->val)
            fprintf(stderr, " '%s%s'", prefix, o->name);
        }
        fprintf(stderr, "\n");
      }
      g->go_next += strlen(g->go_next);
      optind++;
      g->go_optopt = 0;
      return '?';
    }
  }
  if (found == NULL) {
    if (!long_only || argv[optind][1] == '-' ||
        strchr(optstring, *g->go_next) == NULL) {
      if (print)
        fprintf(stderr, "%s: unrecognized option '%s%s'\n", argv[0], prefix,
                name);
      g->go_next = NULL;
      optind++;
      g->go_optopt = 0;
      return '?';
    }
    return -1; /* getopt_long_only: a short option after all */
  }
  optind++;
  g->go_next = NULL;
  if (eq != NULL) {
    if (found->has_arg) {
      optarg = eq + 1;
    } else {
      if (print)
        fprintf(stderr, "%s: option '%s%s' doesn't allow an argument\n",
                argv[0], prefix, found->name);
      g->go_optopt = found->val;
      return '?';
    }
  } else if (found->has_arg == required_argument) {
    if (optind < argc) {
      optarg = argv[optind++];
    } else {
      if (print)
        fprintf(stderr, "%s: option '%s%s' requires an argument\n", argv[0],
                prefix, found->name);
      g->go_optopt = found->val;
      return optstring[0] == ':' ? ':' : '?';
    }
  }
  if (longind != NULL)
    *longind = index;
  if (found->flag != NULL) {
    *found->flag = found->val;
    return 0;
  }
  return found->val;
}

static int getopt_scan(NlLibcState *g, int argc, char **argv,
                       const char *optstring, const struct option *longopts,
                       int *longind, int long_only) {
  if (argc < 1)
    return -1;
  optarg = NULL;
  if (optind == 0 || !g->go_started) {
    if (optind == 0)
      optind = 1;
    g->go_first = g->go_last = optind;
    g->go_next = NULL;
    if (optstring[0] == '-')
      g->go_order = ORDER_RETURN_IN_ORDER;
    else if (optstring[0] == '+' || getenv("POSIXLY_CORRECT") != NULL)
      g->go_order = ORDER_REQUIRE;
    else
      g->go_order = ORDER_PERMUTE;
    g->go_started = 1;
  }
  if (optstring[0] == '-' || optstring[0] == '+')
    optstring++;
  int print = opterr && optstring[0] != ':';

  if (g->go_next == NULL || *g->go_next == '\0') {
    /* The caller may have moved optind back. */
    if (g->go_last > optind)
      g->go_last = optind;
    if (g->go_first > optind)
      g->go_first = optind;
    if (g->go_order == ORDER_PERMUTE) {
      if (g->go_first != g->go_last && g->go_last != optind)
        go_exchange(g, argv);
      else if (g->go_last != optind)
        g->go_first = optind;
      while (optind < argc && is_nonoption(argv, optind))
        optind++;
      g->go_last = optind;
    }
    if (optind != argc && strcmp(argv[optind], "--") == 0) {
      optind++;
      if (g->go_first != g->go_last && g->go_last != optind)
        go_exchange(g, argv);
      else if (g->go_first == g->go_last)
        g->go_first = optind;
      g->go_last = argc;
      optind = argc;
    }
    if (optind == argc) {
      if (g->go_first != g->go_last)
        optind = g->go_first;
      return -1;
    }
    if (is_nonoption(argv, optind)) {
      if (g->go_order == ORDER_REQUIRE)
        return -1;
      optarg = argv[optind++];
      return 1;
    }
    if (longopts != NULL) {
      if (argv[optind][1] == '-') {
        g->go_next = argv[optind] + 2;
        return long_option(g, argc, argv, optstring, longopts, longind,
                           long_only, print, "--");
      }
      if (long_only &&
          (argv[optind][2] || strchr(optstring, argv[optind][1]) == NULL)) {
        g->go_next = argv[optind] + 1;
        int c = long_option(g, argc, argv, optstring, longopts, longind,
                            long_only, print, "-");
        if (c != -1)
          return c;
      }
    }
    g->go_next = argv[optind] + 1;
  }

  char c = *g->go_next++;
  const char *spec = strchr(optstring, c);
  if (*g->go_next == '\0')
    optind++;
  if (spec == NULL || c == ':' || c == ';') {
    if (print)
      fprintf(stderr, "%s: invalid option -- '%c'\n", argv[0], c);
    g->go_optopt = c;
    return '?';
  }
  if (spec[0] == 'W' && spec[1] == ';' && longopts != NULL) {
    /* -W foo is --foo. */
    if (*g->go_next != '\0') {
      optarg = g->go_next;
    } else if (optind == argc) {
      if (print)
        fprintf(stderr, "%s: option requires an argument -- '%c'\n", argv[0],
                c);
      g->go_optopt = c;
      return optstring[0] == ':' ? ':' : '?';
    } else {
      optarg = argv[optind];
    }
    g->go_next = optarg;
    optarg = NULL;
    return long_option(g, argc, argv, optstring, longopts, longind, 0, print,
                       "-W ");
  }
  if (spec[1] == ':') {
    if (spec[2] == ':') {
      if (*g->go_next != '\0') {
        optarg = g->go_next;
        optind++;
      } else {
        optarg = NULL;
      }
    } else if (*g->go_next != '\0') {
      optarg = g->go_next;
      optind++;
    } else if (optind == argc) {
      if (print)
        fprintf(stderr, "%s: option requires an argument -- '%c'\n", argv[0],
                c);
      g->go_optopt = c;
      c = optstring[0] == ':' ? ':' : '?';
    } else {
      optarg = argv[optind++];
    }
    g->go_next = NULL;
  }
  return c;
}

/* glibc keeps optopt inside its scan and copies it out after each call:
 * the program's optopt reads '?' until the first call, then the scan's
 * (0 until an error). */
static int getopt_any(int argc, char **argv, const char *optstring,
                      const struct option *longopts, int *longind,
                      int long_only) {
  NlLibcState *g = libc_state();
  int c = getopt_scan(g, argc, argv, optstring, longopts, longind, long_only);
  optopt = g->go_optopt;
  return c;
}

int getopt(int argc, char *const argv[], const char *optstring) {
  return getopt_any(argc, (char **)argv, optstring, NULL, NULL, 0);
}
/* glibc's POSIX getopt when a program defines _POSIX_C_SOURCE strictly. */
int __posix_getopt(int argc, char *const argv[], const char *optstring);
int __posix_getopt(int argc, char *const argv[], const char *optstring) {
  size_t n = strlen(optstring);
  char *s = malloc(n + 2);
  if (s == NULL)
    return -1;
  s[0] = '+';
  memcpy(s + 1, optstring[0] == '+' ? optstring + 1 : optstring, n + 1);
  int r = getopt_any(argc, (char **)argv, s, NULL, NULL, 0);
  free(s);
  return r;
}
int getopt_long(int argc, char *const argv[], const char *optstring,
                const struct option *longopts, int *longind) {
  return getopt_any(argc, (char **)argv, optstring, longopts, longind, 0);
}
int getopt_long_only(int argc, char *const argv[], const char *optstring,
                     const struct option *longopts, int *longind) {
  return getopt_any(argc, (char **)argv, optstring, longopts, longind, 1);
}

/* ---- the environment ---- */

static char **env_find(const char *name, size_t len) {
  for (char **e = environ; e && *e; e++)
    if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
      return e;
  return NULL;
}

char *getenv(const char *name) {
  if (environ == NULL || name[0] == '\0')
    return NULL;
  char **e = env_find(name, strlen(name));
  return e ? *e + strlen(name) + 1 : NULL;
}

char *secure_getenv(const char *name) {
  return getenv(name); /* the lab runs nothing setuid */
}

/* Appends @kv, copying the array into one of our own first. */
static int env_append(char *kv) {
  size_t n = 0;
  while (environ && environ[n])
    n++;
  char **arr;
  NlLibcState *ls = libc_state();
  if (environ != NULL && environ == ls->env_owned) {
    arr = realloc(ls->env_owned, (n + 2) * sizeof *arr);
  } else {
    arr = malloc((n + 2) * sizeof *arr);
    if (arr != NULL && n > 0)
      memcpy(arr, environ, n * sizeof *arr);
  }
  if (arr == NULL) {
    errno = ENOMEM;
    return -1;
  }
  arr[n] = kv;
  arr[n + 1] = NULL;
  environ = ls->env_owned = arr;
  return 0;
}

static int env_name_ok(const char *name) {
  if (name == NULL || name[0] == '\0' || strchr(name, '=') != NULL) {
    errno = EINVAL;
    return 0;
  }
  return 1;
}

int setenv(const char *name, const char *value, int overwrite) {
  if (!env_name_ok(name))
    return -1;
  size_t len = strlen(name);
  char **e = env_find(name, len);
  if (e != NULL && !overwrite)
    return 0;
  size_t vlen = strlen(value);
  char *kv = malloc(len + vlen + 2);
  if (kv == NULL) {
    errno = ENOMEM;
    return -1;
  }
  memcpy(kv, name, len);
  kv[len] = '=';
  memcpy(kv + len + 1, value, vlen + 1);
  /* The old string is the program's to keep (glibc never frees them). */
  if (e != NULL) {
    *e = kv;
    return 0;
  }
  return env_append(kv);
}

int unsetenv(const char *name) {
  if (!env_name_ok(name))
    return -1;
  size_t len = strlen(name);
  char **e;
  while ((e = env_find(name, len)) != NULL)
    for (char **q = e; *q; q++)
      q[0] = q[1];
  return 0;
}

int putenv(char *kv) {
  char *eq = strchr(kv, '=');
  if (eq == NULL) {
    /* glibc: a bare name is removed. */
    return kv[0] ? unsetenv(kv) : 0;
  }
  char **e = env_find(kv, (size_t)(eq - kv));
  if (e != NULL) {
    *e = kv;
    return 0;
  }
  return env_append(kv) == 0 ? 0 : ENOMEM;
}

int clearenv(void) {
  NlLibcState *ls = libc_state();
  if (environ != NULL && environ == ls->env_owned) {
    free(ls->env_owned);
    ls->env_owned = NULL;
  }
  environ = NULL;
  return 0;
}

/* ---- time zones and broken-down time ---- */

/* tzset(): TZ as the program's environment holds it now. */
void tzset(void) {
  NlTzInfo info;
  nl_posix_tzset(getenv("TZ"), &info);
  tzname[0] = (char *)info.std_name;
  tzname[1] = (char *)info.dst_name;
  timezone = info.timezone;
  daylight = info.daylight;
  libc_state()->tz_started = 1;
}

/* localtime_r() reads TZ only the first time, as glibc's. */
struct tm *localtime_r(const time_t *t, struct tm *tm) {
  if (!libc_state()->tz_started)
    tzset();
  return nl_posix_localtime_r(t, tm);
}

struct tm *localtime(const time_t *t) {
  tzset();
  return nl_posix_localtime_r(t, &libc_state()->tm);
}

struct tm *gmtime_r(const time_t *t, struct tm *tm) {
  return nl_posix_gmtime_r(t, tm);
}

struct tm *gmtime(const time_t *t) {
  return nl_posix_gmtime_r(t, &libc_state()->tm);
}

time_t mktime(struct tm *tm) {
  tzset();
  return nl_posix_mktime(tm);
}

time_t timelocal(struct tm *tm) {
  return mktime(tm);
}

time_t timegm(struct tm *tm) {
  return nl_posix_timegm(tm);
}

char *asctime(const struct tm *tm) {
  return asctime_r(tm, libc_state()->asc);
}

char *ctime(const time_t *t) {
  struct tm *tm = localtime(t);
  return tm ? asctime(tm) : NULL;
}

char *ctime_r(const time_t *t, char *buf) {
  struct tm tm;
  return localtime_r(t, &tm) ? asctime_r(&tm, buf) : NULL;
}

/* The locale the running thread formats in. */
static locale_t cur_locale(void) {
  locale_t l = nl_posix_uselocale((locale_t)0);
  return l == LC_GLOBAL_LOCALE ? nl_posix_global_locale() : l;
}

/* glibc's strftime() formats the locale's parts itself, but %s calls its
 * own mktime() and %Z falls back on its own tzname: those two are done
 * here over the lab's zone. */
size_t strftime(char *s, size_t max, const char *fmt, const struct tm *tm) {
  struct tm copy = *tm;
  if (!libc_state()->tz_started)
    tzset();
  if (copy.tm_zone == NULL || copy.tm_zone[0] == '\0')
    copy.tm_zone = copy.tm_isdst > 0 ? tzname[1] : tzname[0];
  if (strstr(fmt, "s") == NULL)
    return strftime_l(s, max, fmt, &copy, cur_locale());
  /* Rewrite each %[flags][width]s into the seconds since the epoch (at
   * most 21 characters where the format had 2). */
  char *f = malloc(strlen(fmt) * 11 + 1);
  if (f == NULL)
    return 0;
  size_t o = 0;
  for (const char *p = fmt; *p; p++) {
    if (*p != '%') {
      f[o++] = *p;
      continue;
    }
    const char *q = p + 1;
    while (*q && strchr("_-0^#", *q))
      q++;
    while (*q >= '0' && *q <= '9')
      q++;
    if (*q == 'E' || *q == 'O')
      q++;
    if (*q == 's') {
      struct tm t2 = *tm;
      /* glibc's %s is its mktime(), which reads TZ first. */
      o += (size_t)sprintf(f + o, "%lld", (long long)mktime(&t2));
      p = q;
    } else {
      size_t k = (size_t)(q - p) + (*q != '\0');
      memcpy(f + o, p, k);
      o += k;
      p += k - 1;
    }
  }
  f[o] = '\0';
  size_t n = strftime_l(s, max, f, &copy, cur_locale());
  free(f);
  return n;
}

/* ---- locales ---- */

/* What setlocale(@category, "") means in the program's environment. */
static const char *locale_from_env(int category) {
  static const char *const names[13] = {
    "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE", "LC_MONETARY",
    "LC_MESSAGES", "LC_ALL", "LC_PAPER", "LC_NAME", "LC_ADDRESS",
    "LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION"};
  const char *v = getenv("LC_ALL");
  if (v && *v)
    return v;
  if (category >= 0 && category < 13 && category != LC_ALL) {
    v = getenv(names[category]);
    if (v && *v)
      return v;
  }
  v = getenv("LANG");
  return v && *v ? v : "C";
}

char *setlocale(int category, const char *name) {
  if (name == NULL || *name != '\0')
    return nl_posix_setlocale(category, name);
  if (category != LC_ALL)
    return nl_posix_setlocale(category, locale_from_env(category));
  /* Each category from its own variable, all or nothing. */
  static const char *const cats[13] = {
    "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE", "LC_MONETARY",
    "LC_MESSAGES", NULL, "LC_PAPER", "LC_NAME", "LC_ADDRESS",
    "LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION"};
  char buf[1024];
  size_t off = 0;
  for (int c = 0; c < 13; c++) {
    if (c == LC_ALL)
      continue;
    int n = snprintf(buf + off, sizeof buf - off, "%s%s=%s", off ? ";" : "",
                     cats[c], locale_from_env(c));
    if (n < 0 || (size_t)n >= sizeof buf - off) {
      errno = ENOENT;
      return NULL;
    }
    off += (size_t)n;
  }
  return nl_posix_setlocale(LC_ALL, buf);
}

locale_t newlocale(int mask, const char *name, locale_t base) {
  if (name != NULL && *name == '\0') {
    int c = 0;
    while (c < 13 && !(mask & (1 << c)))
      c++;
    name = locale_from_env(c);
  }
  return nl_posix_newlocale(mask, name, base);
}

locale_t uselocale(locale_t l) {
  return nl_posix_uselocale(l);
}

locale_t duplocale(locale_t l) {
  return nl_posix_duplocale(l);
}

/* ---- static results of glibc, per program here ---- */

char *strtok(char *s, const char *delim) {
  return strtok_r(s, delim, &libc_state()->strtok_pos);
}

char *strerror(int e) {
  const char *s = strerrordesc_np(e);
  if (s != NULL)
    return (char *)s;
  char *buf = libc_state()->err;
  snprintf(buf, sizeof libc_state()->err, "Unknown error %d", e);
  return buf;
}

char *strerror_l(int e, locale_t l) {
  return strerror(e);
}

char *strsignal(int sig) {
  const char *s = sigdescr_np(sig);
  if (s != NULL)
    return (char *)s;
  char *buf = libc_state()->sig;
  size_t len = sizeof libc_state()->sig;
  if (sig >= SIGRTMIN && sig <= SIGRTMAX)
    snprintf(buf, len, "Real-time signal %d", sig - SIGRTMIN);
  else
    snprintf(buf, len, "Unknown signal %d", sig);
  return buf;
}

char *inet_ntoa(struct in_addr in) {
  const unsigned char *b = (const unsigned char *)&in.s_addr;
  char *buf = libc_state()->ntoa;
  snprintf(buf, sizeof libc_state()->ntoa, "%u.%u.%u.%u", b[0], b[1], b[2],
           b[3]);
  return buf;
}

/* Each octet's text (up to three digits, zero-padded) and, in its last
 * byte, its length: inet_ntop() below copies four bytes an octet. */
#define NL_OCT(x)                                                              \
  {(char)((x) >= 100 ? '0' + (x) / 100 : (x) >= 10 ? '0' + (x) / 10          \
                                                   : '0' + (x)),             \
   (char)((x) >= 100 ? '0' + (x) / 10 % 10 : (x) >= 10 ? '0' + (x) % 10 : 0), \
   (char)((x) >= 100 ? '0' + (x) % 10 : 0),                                   \
   (char)((x) >= 100 ? 3 : (x) >= 10 ? 2 : 1)}
#define NL_OCT4(x) NL_OCT(x), NL_OCT(x + 1), NL_OCT(x + 2), NL_OCT(x + 3)
#define NL_OCT16(x)                                                            \
  NL_OCT4(x), NL_OCT4(x + 4), NL_OCT4(x + 8), NL_OCT4(x + 12)
#define NL_OCT64(x)                                                            \
  NL_OCT16(x), NL_OCT16(x + 16), NL_OCT16(x + 32), NL_OCT16(x + 48)
static const char octet_text[256][4] = {NL_OCT64(0), NL_OCT64(64),
                                        NL_OCT64(128), NL_OCT64(192)};
#undef NL_OCT64
#undef NL_OCT16
#undef NL_OCT4
#undef NL_OCT

/* inet_ntop(3).  IPv4 is formatted here, as glibc's does but without
 * its sprintf: a server that prints each peer's address calls it for every
 * datagram.  Only the text and its NUL are written to @dst, as glibc's
 * (8 to 16 bytes: two overlapping 8-byte moves).  Other families are
 * glibc's. */
const char *inet_ntop(int af, const void *restrict src, char *restrict dst,
                      socklen_t size) {
  if (af != AF_INET)
    return nl_posix_inet_ntop(af, src, dst, size);
  const unsigned char *b = src;
  char tmp[sizeof "255.255.255.255" + 3];
  char *q = tmp;
  for (int i = 0; i < 4; i++) {
    const char *o = octet_text[b[i]];
    memcpy(q, o, 4);
    q += o[3];
    *q++ = '.';
  }
  q[-1] = '\0';
  size_t n = (size_t)(q - tmp);
  if (n - 1 >= size) {
    errno = ENOSPC;
    return NULL;
  }
  memcpy(dst, tmp, 8);
  memcpy(dst + n - 8, tmp + n - 8, 8);
  return dst;
}

int *__h_errno_location(void) {
  return &libc_state()->h_errno_v;
}

void herror(const char *s) {
  fprintf(stderr, "%s%s%s\n", s && *s ? s : "", s && *s ? ": " : "",
          hstrerror(libc_state()->h_errno_v));
}

/* glibc's error() and error_at_line() write to its own stderr. */
unsigned int error_message_count NL_STATE;
int error_one_per_line NL_STATE;

static void error_tail(int status, int errnum, const char *fmt, va_list ap) {
  vfprintf(stderr, fmt, ap);
  if (errnum)
    fprintf(stderr, ": %s", strerror(errnum));
  fputc('\n', stderr);
  error_message_count++;
  if (status)
    exit(status);
}

void error(int status, int errnum, const char *fmt, ...) {
  fflush(stdout);
  fprintf(stderr, "%s: ", program_invocation_name);
  va_list ap;
  va_start(ap, fmt);
  error_tail(status, errnum, fmt, ap);
  va_end(ap);
}

void error_at_line(int status, int errnum, const char *file, unsigned int line,
                   const char *fmt, ...) {
  fflush(stdout);
  fprintf(stderr, "%s:%s:%u: ", program_invocation_name, file, line);
  va_list ap;
  va_start(ap, fmt);
  error_tail(status, errnum, fmt, ap);
  va_end(ap);
}

/* ---- users: the lab's own two ---- */

static struct passwd *user_entry(uid_t uid) {
  static const struct {
    uid_t uid;
    const char *name, *gecos, *dir, *shell;
  } users[] = {
    {0, "root", "root", "/root", "/bin/sh"},
    {1000, "lab", "natlab user", "/home/lab", "/bin/sh"},
  };
  for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
    if (users[i].uid == uid) {
      struct passwd *pw = &libc_state()->pw;
      pw->pw_name = (char *)users[i].name;
      pw->pw_passwd = (char *)"x";
      pw->pw_uid = pw->pw_gid = uid;
      pw->pw_gecos = (char *)users[i].gecos;
      pw->pw_dir = (char *)users[i].dir;
      pw->pw_shell = (char *)users[i].shell;
      return pw;
    }
  return NULL;
}

struct passwd *getpwuid(uid_t uid) {
  return user_entry(uid);
}

struct passwd *getpwnam(const char *name) {
  if (strcmp(name, "root") == 0)
    return user_entry(0);
  if (strcmp(name, "lab") == 0)
    return user_entry(1000);
  return NULL;
}

static int pw_copy(struct passwd *src, struct passwd *pw, char *buf,
                   size_t len, struct passwd **out) {
  *out = NULL;
  if (src == NULL)
    return 0;
  const char *f[] = {src->pw_name, src->pw_passwd, src->pw_gecos, src->pw_dir,
                     src->pw_shell};
  char **dst[] = {&pw->pw_name, &pw->pw_passwd, &pw->pw_gecos, &pw->pw_dir,
                  &pw->pw_shell};
  size_t off = 0;
  for (int i = 0; i < 5; i++) {
    size_t n = strlen(f[i]) + 1;
    if (off + n > len)
      return ERANGE;
    memcpy(buf + off, f[i], n);
    *dst[i] = buf + off;
    off += n;
  }
  pw->pw_uid = src->pw_uid;
  pw->pw_gid = src->pw_gid;
  *out = pw;
  return 0;
}

int getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
               struct passwd **out) {
  return pw_copy(user_entry(uid), pw, buf, len, out);
}

int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
               struct passwd **out) {
  return pw_copy(getpwnam(name), pw, buf, len, out);
}

struct group *getgrgid(gid_t gid) {
  if (gid != 0 && gid != 1000)
    return NULL;
  NlLibcState *ls = libc_state();
  ls->gr.gr_name = (char *)(gid ? "lab" : "root");
  ls->gr.gr_passwd = (char *)"x";
  ls->gr.gr_gid = gid;
  ls->gr_members[0] = NULL;
  ls->gr.gr_mem = ls->gr_members;
  return &ls->gr;
}

struct group *getgrnam(const char *name) {
  if (strcmp(name, "root") == 0)
    return getgrgid(0);
  if (strcmp(name, "lab") == 0)
    return getgrgid(1000);
  return NULL;
}

char *getlogin(void) {
  return (char *)"lab";
}

int getlogin_r(char *buf, size_t len) {
  if (len < 4)
    return ERANGE;
  memcpy(buf, "lab", 4);
  return 0;
}
