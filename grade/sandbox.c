/* Confining a grading child: resource limits, Landlock (files and TCP)
 * and a seccomp filter (no real socket, process, exec, or signal to
 * another process).  The threat model is in docs/grading.md.
 *
 * A refused call made by a program (a coroutine is running) ends that
 * program as if it had received SIGSYS, through the crash guard, so the
 * trace names its host, program and virtual time; natlab's own code (no
 * coroutine running) gets EPERM.  Which call it was is kept for the
 * report (nl__grade_refused_call). */
#include "grade/grade-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "sim/host/coro.h"
#include "sim/host/guard.h"
#include "sim/host/seal.h"

/* Debian 12's headers know Landlock ABI 2; later ABIs' values are the
 * kernel's (include/uapi/linux/landlock.h). */
#define NL_LL_FS_TRUNCATE (1ULL << 14)   /* ABI 3 */
#define NL_LL_FS_IOCTL_DEV (1ULL << 15)  /* ABI 5 */
#define NL_LL_NET_BIND_TCP (1ULL << 0)   /* ABI 4 */
#define NL_LL_NET_CONNECT_TCP (1ULL << 1)
#define NL_LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define NL_LL_SCOPE_SIGNAL (1ULL << 1)
#define NL_LL_RULE_PATH_BENEATH 1

typedef struct {
  guint64 handled_access_fs;
  guint64 handled_access_net; /* ABI 4 */
  guint64 scoped;             /* ABI 6 */
} NlLandlockRuleset;

typedef struct __attribute__((packed)) {
  guint64 allowed_access;
  gint32 parent_fd;
} NlLandlockPathBeneath;

static volatile int refused_nr = -1;
static char refused_name[64];

const char *nl__grade_refused_call(void) {
  if (refused_nr < 0)
    return NULL;
  if (refused_name[0] == '\0') {
    char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, refused_nr);
    g_strlcpy(refused_name, n ? n : "an unknown call", sizeof refused_name);
    free(n);
  }
  return refused_name;
}

static void sigsys_handler(int signo, siginfo_t *si, void *ucv) {
  (void)signo;
  if (refused_nr < 0)
    refused_nr = si->si_syscall;
  if (nl_coro_current() != NULL)
    nl_guard_crash_current(SIGSYS); /* ends the program; never returns */
#if defined(__x86_64__)
  ucontext_t *uc = ucv;
  uc->uc_mcontext.gregs[REG_RAX] = -EPERM;
#else
  (void)ucv;
#endif
}

int nl__grade_landlock_abi(void) {
  long v = syscall(SYS_landlock_create_ruleset, NULL, 0,
                   LANDLOCK_CREATE_RULESET_VERSION);
  return v < 0 ? 0 : (int)v;
}

static void landlock_allow(int ruleset, const char *path, guint64 access) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0)
    return;
  NlLandlockPathBeneath pb = {.allowed_access = access, .parent_fd = fd};
  struct stat st;
  /* Rules on a file take only the file's rights. */
  if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
    pb.allowed_access &= LANDLOCK_ACCESS_FS_EXECUTE |
                         LANDLOCK_ACCESS_FS_WRITE_FILE |
                         LANDLOCK_ACCESS_FS_READ_FILE |
                         NL_LL_FS_TRUNCATE | NL_LL_FS_IOCTL_DEV;
  syscall(SYS_landlock_add_rule, ruleset, NL_LL_RULE_PATH_BENEATH, &pb, 0);
  close(fd);
}

static gboolean landlock(const NlGradeConfine *c) {
  int abi = nl__grade_landlock_abi();
  if (abi <= 0)
    return FALSE;
  guint64 read = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE |
                 LANDLOCK_ACCESS_FS_READ_DIR;
  guint64 all = read | LANDLOCK_ACCESS_FS_WRITE_FILE |
                LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
                LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
                LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
                LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
                LANDLOCK_ACCESS_FS_MAKE_SYM;
  if (abi >= 2)
    all |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3)
    all |= NL_LL_FS_TRUNCATE;
  if (abi >= 5)
    all |= NL_LL_FS_IOCTL_DEV;
  NlLandlockRuleset attr = {.handled_access_fs = all};
  size_t size = sizeof attr.handled_access_fs;
  if (abi >= 4) {
    /* No rule allows a TCP port: no real bind or connect. */
    attr.handled_access_net = NL_LL_NET_BIND_TCP | NL_LL_NET_CONNECT_TCP;
    size += sizeof attr.handled_access_net;
  }
  if (abi >= 6) {
    /* No signal to, and no abstract socket of, a process outside. */
    attr.scoped = NL_LL_SCOPE_SIGNAL | NL_LL_SCOPE_ABSTRACT_UNIX;
    size += sizeof attr.scoped;
  }
  int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (rs < 0)
    return FALSE;
  /* The system's libraries, configuration (fonts, the dynamic linker's
   * cache) and /proc; /dev for /dev/null (reads only). */
  static const char *const system[] = {"/usr", "/lib", "/lib64", "/etc",
                                       "/proc", "/dev", "/var/cache/fontconfig",
                                       NULL};
  for (guint i = 0; system[i]; i++)
    landlock_allow(rs, system[i], read);
  landlock_allow(rs, "/dev/null", read | LANDLOCK_ACCESS_FS_WRITE_FILE);
  for (guint i = 0; c->readable && c->readable[i]; i++)
    landlock_allow(rs, c->readable[i], read);
  landlock_allow(rs, c->scratch, all);
  gboolean ok = syscall(SYS_landlock_restrict_self, rs, 0) == 0;
  close(rs);
  return ok;
}

static gboolean seccomp(void) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL)
    return FALSE;
  const uint32_t trap = SCMP_ACT_TRAP;
  /* Real networking, other processes, exec, and the kernel's wider
   * surfaces a program has no use for. */
  static const char *const refused[] = {
      "socket", "socketpair", "execve", "execveat", "fork", "vfork",
      "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_open",
      "pidfd_send_signal", "pidfd_getfd", "mount", "umount2", "unshare",
      "setns", "chroot", "pivot_root", "bpf", "perf_event_open", "keyctl",
      "add_key", "request_key", "io_uring_setup", "io_uring_enter",
      "io_uring_register", "reboot", "kexec_load", "init_module",
      "finit_module", "delete_module", "swapon", "swapoff", "sethostname",
      "setdomainname", "settimeofday", "clock_settime", "clock_adjtime",
      "adjtimex", "iopl", "ioperm", "userfaultfd", "setsid", "setpgid",
      "memfd_secret", "fanotify_init", "name_to_handle_at",
      "open_by_handle_at", "quotactl", "acct", "syslog", "vhangup",
      "lookup_dcookie", "move_pages", "migrate_pages", NULL};
  gboolean ok = TRUE;
  for (guint i = 0; refused[i]; i++) {
    int nr = seccomp_syscall_resolve_name(refused[i]);
    if (nr != __NR_SCMP_ERROR)
      ok &= seccomp_rule_add(ctx, trap, nr, 0) == 0;
  }
  /* Threads only: clone without CLONE_THREAD makes a process.  clone3's
   * flags sit in memory a filter cannot read: ENOSYS makes glibc fall
   * back to clone. */
  ok &= seccomp_rule_add(ctx, trap, SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)) == 0;
  ok &= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) ==
        0;
  /* Signals to this process only. */
  pid_t self = getpid();
  ok &= seccomp_rule_add(ctx, trap, SCMP_SYS(kill), 1,
                         SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)self)) == 0;
  ok &= seccomp_rule_add(ctx, trap, SCMP_SYS(tgkill), 1,
                         SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)self)) == 0;
  ok &= seccomp_rule_add(ctx, trap, SCMP_SYS(rt_sigqueueinfo), 1,
                         SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)self)) == 0;
  ok &= seccomp_rule_add(ctx, trap, SCMP_SYS(rt_tgsigqueueinfo), 1,
                         SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)self)) == 0;
  ok &= seccomp_rule_add(ctx, trap, SCMP_SYS(tkill), 0) == 0;
  /* A program must not take SIGSYS away from the filter. */
  ok &= seccomp_rule_add(ctx, trap, SCMP_SYS(rt_sigaction), 1,
                         SCMP_A0(SCMP_CMP_EQ, SIGSYS)) == 0;
  ok = ok && seccomp_load(ctx) == 0;
  seccomp_release(ctx);
  return ok;
}

static void limit(int what, rlim_t v) {
  struct rlimit r = {.rlim_cur = v, .rlim_max = v};
  setrlimit(what, &r);
}

const char *nl__grade_confine(const NlGradeConfine *c) {
  static char notes[256];
  notes[0] = '\0';
  const NlGradeLimits *l = c->limits;
  /* CPU: SIGXCPU at the limit, SIGKILL a second later. */
  struct rlimit cpu = {.rlim_cur = (rlim_t)((l->cpu_ms + 999) / 1000),
                       .rlim_max = (rlim_t)((l->cpu_ms + 999) / 1000 + 1)};
  setrlimit(RLIMIT_CPU, &cpu);
#if !defined(__SANITIZE_ADDRESS__)
  /* AddressSanitizer reserves terabytes of shadow: no address limit. */
  limit(RLIMIT_AS, (rlim_t)l->memory);
#endif
  limit(RLIMIT_FSIZE, (rlim_t)l->output);
  /* Real descriptors: natlab's own files, and one per loaded program
   * instance (its private copy): room for a thousand clients. */
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    nofile.rlim_cur = MIN(nofile.rlim_max, (rlim_t)4096);
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  limit(RLIMIT_CORE, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  prctl(PR_SET_DUMPABLE, 0);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (g_getenv("NL_GRADE_DEBUG_NO_LANDLOCK") == NULL && !landlock(c))
    g_strlcat(notes, "files not confined (no Landlock on this kernel); ",
              sizeof notes);
  if (g_getenv("NL_GRADE_DEBUG_NO_SECCOMP") != NULL)
    return notes;
  /* natlab's own seal, at its strictest: nothing real but what the child
   * already holds (sim/host/seal.h).  Where it cannot be applied, the
   * grader's own filter below. */
  if (nl_seal_apply(NL_SEAL_READ_ONLY, NULL))
    return notes;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = sigsys_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSYS, &sa, NULL);
  if (!seccomp())
    g_strlcat(notes, "no seccomp filter; ", sizeof notes);
  return notes;
}
