/* Prints every system fact a program can ask for, one per line: the lab
 * must answer each from the scenario, never from the machine natlab runs
 * on (tests/test-host-facts.c runs it under different real environments
 * and on different hosts). */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <locale.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void hex(const char *label, const unsigned char *b, size_t n) {
  printf("%s ", label);
  for (size_t i = 0; i < n; i++)
    printf("%02x", b[i]);
  printf("\n");
}

int main(int argc, char **argv, char **envp) {
  char host[128] = "";
  gethostname(host, sizeof host);
  printf("hostname %s\n", host);
  struct utsname u;
  uname(&u);
  printf("uname %s %s %s %s %s\n", u.sysname, u.nodename, u.release,
         u.version, u.machine);
  printf("ids ppid=%d uid=%d euid=%d gid=%d egid=%d\n", getppid(), getuid(),
         geteuid(), getgid(), getegid());
  struct passwd *pw = getpwuid(getuid());
  printf("user %s %s\n", pw ? pw->pw_name : "?", pw ? pw->pw_dir : "?");
  static const char *const vars[] = {"HOME", "LANG",    "LC_ALL", "PATH",
                                     "USER", "LOGNAME", "SHELL",  "TZ",
                                     "PWD",  "NL_EXTRA", "GREETING"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
    const char *v = getenv(vars[i]);
    printf("env %s=%s\n", vars[i], v ? v : "(unset)");
  }
  int n = 0;
  while (environ[n])
    n++;
  printf("environ %d entries, envp is environ: %s\n", n,
         envp == environ ? "yes" : "no");
  time_t t = time(NULL);
  struct tm tm;
  char buf[128];
  localtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%F %T %Z %z", &tm);
  printf("localtime %s\n", buf);
  printf("ctime %s", ctime(&t));
  tzset();
  printf("tzname %s/%s timezone=%ld daylight=%d\n", tzname[0], tzname[1],
         timezone, daylight);
  struct rlimit r;
  getrlimit(RLIMIT_NOFILE, &r);
  printf("nofile %llu/%llu\n", (unsigned long long)r.rlim_cur,
         (unsigned long long)r.rlim_max);
  getrlimit(RLIMIT_STACK, &r);
  printf("stack %llu\n", (unsigned long long)r.rlim_cur);
  printf("cwd %s\n", getcwd(buf, sizeof buf) ? buf : "?");
  printf("locale at start %s\n", setlocale(LC_ALL, NULL));
  printf("mb_cur_max at start %zu\n", (size_t)MB_CUR_MAX);
  const char *l = setlocale(LC_ALL, "");
  printf("setlocale(\"\") %s; %.2f\n", l ? l : "(null)", 1.5);
  printf("cpus %ld pages %ld\n", sysconf(_SC_NPROCESSORS_ONLN),
         sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) / (1 << 20));
  printf("isatty %d %d %d ttyname %s\n", isatty(0), isatty(1), isatty(2),
         ttyname(1) ? ttyname(1) : "(none)");
  struct sysinfo si;
  sysinfo(&si);
  double load[3];
  printf("sysinfo uptime=%ld ram=%lu procs=%u load=%d hostid=%08lx\n",
         si.uptime, si.totalram * si.mem_unit >> 20, si.procs,
         getloadavg(load, 3), gethostid() & 0xffffffffL);
  unsigned char rnd[8];
  int fd = open("/dev/urandom", O_RDONLY);
  if (fd >= 0 && read(fd, rnd, sizeof rnd) == (ssize_t)sizeof rnd)
    hex("urandom", rnd, sizeof rnd);
  close(fd);
  FILE *f = fopen("/dev/random", "r");
  if (f != NULL && fread(rnd, 1, sizeof rnd, f) == sizeof rnd)
    hex("random", rnd, sizeof rnd);
  if (f)
    fclose(f);
  f = fopen("/etc/hostname", "r");
  if (f != NULL && fgets(buf, sizeof buf, f))
    printf("/etc/hostname %s", buf);
  if (f)
    fclose(f);
  static const char *const etc[] = {"/etc/hosts", "/etc/passwd",
                                    "/etc/machine-id", "/etc/resolv.conf"};
  for (size_t i = 0; i < sizeof etc / sizeof *etc; i++) {
    f = fopen(etc[i], "r");
    char first[256] = "(missing)";
    if (f != NULL && fgets(first, sizeof first, f))
      first[strcspn(first, "\n")] = '\0';
    printf("%s %s\n", etc[i], first);
    if (f)
      fclose(f);
  }
  char link[256];
  ssize_t ln = readlink("/etc/localtime", link, sizeof link - 1);
  printf("/etc/localtime %s\n", ln < 0 ? strerror(errno) : "a link");
  printf("/proc/self/status %s\n",
         access("/proc/self/status", F_OK) == 0 ? "visible" : "hidden");
  char tmpl[] = "/tmp/natlab-probe-XXXXXX";
  fd = mkstemp(tmpl);
  printf("mkstemp %s\n", fd >= 0 ? tmpl : "failed");
  if (fd >= 0) {
    close(fd);
    unlink(tmpl);
  }
  prctl(PR_GET_NAME, buf);
  printf("thread name %s\n", buf);
  struct ifaddrs *ifa;
  if (getifaddrs(&ifa) == 0) {
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
      printf("iface %s flags=%#x\n", i->ifa_name, i->ifa_flags);
    freeifaddrs(ifa);
  }
  if (argc > 1 && strcmp(argv[1], "change") == 0) {
    /* Changes every fact a process may change: only its own (another
     * process, on this host or another, must still see the lab's). */
    setenv("GREETING", "changed", 1);
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    prctl(PR_SET_NAME, "renamed");
    struct rlimit small = {16, 4096};
    setrlimit(RLIMIT_NOFILE, &small);
    if (chdir("/") != 0)
      perror("chdir");
    setlocale(LC_ALL, "C.UTF-8");
    char name[16] = "";
    prctl(PR_GET_NAME, name);
    getrlimit(RLIMIT_NOFILE, &r);
    localtime_r(&t, &tm);
    strftime(host, sizeof host, "%Z", &tm);
    printf("changed: GREETING=%s zone=%s name=%s nofile=%llu cwd=%s\n",
           getenv("GREETING"), host, name, (unsigned long long)r.rlim_cur,
           getcwd(buf, sizeof buf) ? buf : "?");
    /* Others run while this one sleeps: the locale is still its own. */
    printf("changed mb_cur_max %zu\n", (size_t)MB_CUR_MAX);
    usleep(30 * 1000);
    printf("after sleep mb_cur_max %zu\n", (size_t)MB_CUR_MAX);
  }
  return 0;
}
