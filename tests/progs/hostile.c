/* Hostile programs: each tries a way out of the lab.  Built with the shim
 * but without natlab-cc's checks, so that what natlab-cc would refuse at
 * build time reaches natlab at run time.  natlab must end the program
 * alone, name it and the call, and go on; nothing real may happen.
 *
 *   hostile raw-udp PORT    socket + sendto 127.0.0.1:PORT by `syscall`
 *                           instructions (no libc)
 *   hostile raw-tcp PORT    socket + connect 127.0.0.1:PORT, likewise
 *   hostile int80           a 32-bit system call (int 0x80: getpid)
 *   hostile raw-exec FILE   execve("/usr/bin/touch", FILE) by `syscall`
 *   hostile dlsym-system FILE   system("touch FILE") found with dlsym
 *   hostile dlsym-fork      fork() found with dlsym
 *   hostile execvpe FILE    execvpe("touch", ...) called directly
 *   hostile posix-spawn FILE   posix_spawn("/usr/bin/touch", FILE)
 *   hostile dlsym-internal NAME  natlab's function NAME found with dlsym,
 *                           then called
 *   hostile kill0           kill(0, SIGTERM): natlab's process group
 *   hostile kill PID SIG    kill(PID, SIG), then prints the result
 *   hostile syscall-socket  socket() through libc's syscall()
 *   hostile sigblock-spin   blocks SIGALRM with sigblock(), then spins
 *   hostile sigaction-alrm  replaces SIGALRM's handler through the raw
 *                           rt_sigaction, then spins
 *   hostile exit-group      ends the real process with exit_group(0)
 *   hostile chdir DIR       moves natlab's working directory
 *   hostile heap-smash      writes 8 MiB past a 64-byte malloc'ed block
 *   hostile double-free     frees a block twice
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
static long raw(long nr, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
                     "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#endif

/* struct sockaddr_in for 127.0.0.1:port, built by hand. */
static void loopback(unsigned char sa[16], int port) {
  memset(sa, 0, 16);
  sa[0] = 2; /* AF_INET, little endian */
  sa[2] = (unsigned char)(port >> 8);
  sa[3] = (unsigned char)port;
  sa[4] = 127;
  sa[7] = 1;
}

int main(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "";
  const char *param = argc > 2 ? argv[2] : "";
  printf("trying %s\n", what);
#if defined(__x86_64__)
  if (strcmp(what, "raw-udp") == 0 || strcmp(what, "raw-tcp") == 0) {
    int tcp = strcmp(what, "raw-tcp") == 0;
    unsigned char sa[16];
    loopback(sa, atoi(param));
    long fd = raw(SYS_socket, 2, tcp ? 1 : 2, 0, 0, 0, 0);
    if (tcp)
      raw(SYS_connect, fd, (long)sa, 16, 0, 0, 0);
    else
      raw(SYS_sendto, fd, (long)"escaped", 7, 0, (long)sa, 16);
    printf("%s: fd %ld\n", what, fd);
    return 0;
  }
  if (strcmp(what, "raw-exec") == 0) {
    const char *args[] = {"touch", param, NULL};
    const char *env[] = {NULL};
    long r = raw(SYS_execve, (long)"/usr/bin/touch", (long)args, (long)env,
                 0, 0, 0);
    printf("raw-exec: %ld\n", r);
    return 0;
  }
  if (strcmp(what, "int80") == 0) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    printf("int80: %ld\n", ret);
    return 0;
  }
  if (strcmp(what, "sigaction-alrm") == 0) {
    /* The kernel's struct sigaction: handler SIG_IGN, no flags. */
    unsigned long act[4] = {1, 0, 0, 0};
    long r = raw(SYS_rt_sigaction, SIGALRM, (long)act, 0, 8, 0, 0);
    printf("rt_sigaction: %ld\n", r);
    volatile unsigned long n = 0;
    for (;;)
      n++;
  }
  if (strcmp(what, "exit-group") == 0) {
    raw(SYS_exit_group, 0, 0, 0, 0, 0, 0);
    printf("still here\n");
    return 1;
  }
  if (strcmp(what, "chdir") == 0) {
    long r = raw(SYS_chdir, (long)param, 0, 0, 0, 0, 0);
    printf("chdir: %ld\n", r);
    return 0;
  }
#endif
  if (strcmp(what, "dlsym-system") == 0) {
    int (*sys)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT,
                                                            "system");
    if (sys == NULL) {
      printf("no system: %s\n", dlerror());
      return 3;
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "touch %s", param);
    printf("system: %d\n", sys(cmd));
    return 0;
  }
  if (strcmp(what, "dlsym-fork") == 0) {
    pid_t (*f)(void) = (pid_t(*)(void))dlsym(RTLD_DEFAULT, "fork");
    if (f == NULL) {
      printf("no fork: %s\n", dlerror());
      return 3;
    }
    pid_t pid = f();
    if (pid == 0)
      _exit(0);
    printf("fork: %d\n", (int)pid);
    return 0;
  }
  if (strcmp(what, "execvpe") == 0) {
    char *const args[] = {"touch", (char *)param, NULL};
    char *const env[] = {NULL};
    execvpe("touch", args, env);
    printf("execvpe failed\n");
    return 1;
  }
  if (strcmp(what, "posix-spawn") == 0) {
    char *const args[] = {"touch", (char *)param, NULL};
    char *const env[] = {NULL};
    pid_t pid = 0;
    int r = posix_spawn(&pid, "/usr/bin/touch", NULL, NULL, args, env);
    printf("posix_spawn: %d pid %d\n", r, (int)pid);
    return 0;
  }
  if (strcmp(what, "dlsym-internal") == 0) {
    void (*f)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, param);
    printf("dlsym-internal: %s\n", f ? "found" : "not found");
    if (f)
      f(); /* with garbage arguments: whatever it does, it is not ours */
    return 0;
  }
  if (strcmp(what, "kill") == 0 && argc > 3) {
    errno = 0;
    int r = kill(atoi(param), atoi(argv[3]));
    printf("kill: %d errno %d\n", r, r == 0 ? 0 : errno);
    return 0;
  }
  if (strcmp(what, "syscall-socket") == 0) {
    long fd = syscall(SYS_socket, 2, 2, 0);
    printf("syscall: fd %ld\n", fd);
    return 0;
  }
  if (strcmp(what, "kill0") == 0) {
    int r = kill(0, SIGTERM);
    printf("kill: %d\n", r);
    return 0;
  }
  if (strcmp(what, "sigblock-spin") == 0) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    sigblock(1 << (SIGALRM - 1)); /* sigmask(SIGALRM) */
#pragma GCC diagnostic pop
    volatile unsigned long n = 0;
    for (;;)
      n++;
  }
  /* volatile: so the compiler keeps what C calls undefined. */
  if (strcmp(what, "heap-smash") == 0) {
    char *volatile p = malloc(64);
    volatile size_t n = (size_t)8 << 20;
    for (size_t i = 0; i < n; i++)
      p[i] = 'x';
    printf("smashed %c\n", p[100]);
    return 0;
  }
  if (strcmp(what, "double-free") == 0) {
    void *volatile p = malloc(64);
    free(p);
    free(p);
    printf("freed twice\n");
    return 0;
  }
  printf("unknown: %s\n", what);
  return 2;
}
