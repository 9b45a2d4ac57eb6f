/* libc state and system facts: getopt, strtok, the environment, time
 * zones from TZ, locales, resource limits, thread names, devices and the
 * working directory.  Each check prints what it saw in its name, so the
 * lab's lines must equal glibc's on this machine to the letter. */
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "check.h"

static char name[1024];

static const char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  vsnprintf(name, sizeof name, f, ap);
  va_end(ap);
  return name;
}

/* ---- getopt ---- */

/* What stderr received while @fn ran (getopt's messages). */
static int err_pipe[2], saved_err;
static void capture_begin(void) {
  fflush(stderr);
  pipe(err_pipe);
  saved_err = dup(2);
  dup2(err_pipe[1], 2);
}
static const char *capture_end(void) {
  static char buf[512];
  fflush(stderr);
  dup2(saved_err, 2);
  close(saved_err);
  close(err_pipe[1]);
  ssize_t n = read(err_pipe[0], buf, sizeof buf - 1);
  close(err_pipe[0]);
  buf[n > 0 ? n : 0] = '\0';
  /* one line for the check's name */
  for (char *p = buf; *p; p++)
    if (*p == '\n')
      *p = '|';
  return buf;
}

static struct option longopts[] = {
  {"alpha", no_argument, NULL, 'a'},
  {"alps", no_argument, NULL, 'p'},
  {"beta", required_argument, NULL, 'b'},
  {"gamma", optional_argument, NULL, 'g'},
  {"delta", no_argument, NULL, 'd'},
  {"flag", no_argument, NULL, 0}, /* flag set below */
  {"same1", no_argument, NULL, 's'},
  {"same2", no_argument, NULL, 's'},
  {NULL, 0, NULL, 0},
};
static int flag_var;

/* Runs a whole scan and describes it: each result, optind, the argv as
 * permuted, and what went to stderr. */
static void scan(const char *label, int mode, const char *optstring,
                 const char *args) {
  char *copy = strdup(args);
  char *argv[32];
  int argc = 0;
  argv[argc++] = "prog";
  for (char *tok = strtok(copy, " "); tok && argc < 31; tok = strtok(NULL, " "))
    argv[argc++] = strcmp(tok, "_") == 0 ? "" : tok;
  argv[argc] = NULL;
  char out[512] = "";
  size_t o = 0;
  optind = 0;
  longopts[5].flag = &flag_var;
  flag_var = 0;
  capture_begin();
  for (int guard = 0; guard < 40; guard++) {
    int li = -1;
    int c = mode == 0   ? getopt(argc, argv, optstring)
            : mode == 1 ? getopt_long(argc, argv, optstring, longopts, &li)
                        : getopt_long_only(argc, argv, optstring, longopts,
                                           &li);
    if (c == -1)
      break;
    o += (size_t)snprintf(out + o, sizeof out - o, "[%d%s%s opt=%d li=%d]",
                          c, optarg ? ":" : "", optarg ? optarg : "", optopt,
                          li);
    if (o >= sizeof out)
      break;
  }
  const char *err = capture_end();
  char av[512] = "";
  size_t a = 0;
  for (int i = 1; i < argc && a < sizeof av; i++)
    a += (size_t)snprintf(av + a, sizeof av - a, " %s", argv[i]);
  CHECK(fmt("getopt %s: %s optind=%d flag=%d argv=%s err=%s", label, out,
            optind, flag_var, av, err),
        1);
  free(copy);
}

static void test_getopt(void) {
  scan("permute", 0, "ab:c", "-a -b val file1 -c -- -d file2");
  scan("require-order", 0, "+ab:c", "-a file1 -c");
  scan("return-in-order", 0, "-ab:c", "-a file1 -c file2");
  scan("cluster", 0, "ab:c", "-cabval -ab val -ca");
  scan("missing-arg", 0, "ab:", "-a -b");
  scan("missing-arg-colon", 0, ":ab:", "-a -b");
  scan("invalid", 0, "ab", "-a -z -x");
  scan("optional", 0, "a::b", "-afoo -a foo -b");
  scan("dash-alone", 0, "ab", "- -a");
  scan("empty-arg", 0, "ab:", "_ -b _ -a");
  scan("colon-option", 0, "a:", "-: -a x");
  scan("long", 1, "ab:", "--alpha --beta=x --beta y --delta");
  scan("long-abbrev", 1, "ab:", "--be x --del --gam --gamma=1 --flag");
  scan("long-ambiguous", 1, "ab:", "--al --a --same");
  scan("long-errors", 1, "ab:", "--delta=x --zeta --beta");
  scan("long-errors-colon", 1, ":ab:", "--beta --zeta");
  scan("long-permute", 1, "a", "x --alpha y -a -- --delta");
  scan("long-only", 2, "ab:", "-alpha -a -be x -del -zz --delta");
  scan("long-only-short", 2, "dp", "-d -p -dp");
  scan("w-semicolon", 1, "aW;", "-W alpha -Wbeta=3 -W");
  opterr = 0;
  scan("opterr-off", 1, "ab:", "-z --zeta -b");
  opterr = 1;

  /* POSIXLY_CORRECT stops at the first non-option. */
  setenv("POSIXLY_CORRECT", "1", 1);
  scan("posixly-correct", 0, "ab", "-a file -b");
  unsetenv("POSIXLY_CORRECT");

  /* optind = 1 after a finished scan starts over. */
  char *argv[] = {"prog", "-a", "x", "-b", NULL};
  optind = 0;
  while (getopt(4, argv, "ab") != -1)
    ;
  int first = optind;
  optind = 1;
  int c1 = getopt(4, argv, "ab");
  CHECK(fmt("getopt restart: first=%d c=%c optind=%d", first, c1, optind), 1);
}

/* ---- strtok, strerror, inet_ntoa ---- */

static void test_statics(void) {
  char s[] = ",a,b,,c,";
  char out[64] = "";
  for (char *t = strtok(s, ","); t; t = strtok(NULL, ","))
    strcat(strcat(out, t), "/");
  CHECK(fmt("strtok %s", out), 1);
  CHECK(fmt("strerror %s|%s|%s", strerror(0), strerror(EINVAL),
            strerror(12345)),
        1);
  CHECK(fmt("strsignal %s|%s", strsignal(SIGTERM), strsignal(SIGRTMIN + 2)),
        1);
  struct in_addr a = {.s_addr = htonl(0xc0a80105)};
  CHECK(fmt("inet_ntoa %s", inet_ntoa(a)), 1);
}

/* ---- printf: the lab formats the common conversions itself ---- */

static void test_printf(void) {
  /* The lines themselves are the outcomes, compared with Linux's. */
  printf("PASS printf ints %d %i %d %d %u %u %x %x|\n", 0, -1, INT_MIN,
         INT_MAX, 0u, UINT_MAX, 0u, 0xdeadbeefu);
  printf("PASS printf longs %ld %ld %lu %lx %lld %lld %llu %llx|\n", LONG_MIN,
         LONG_MAX, ULONG_MAX, 255ul, LLONG_MIN, 42ll, ULLONG_MAX, ULLONG_MAX);
  printf("PASS printf sizes %zd %zd %zu %zx %zi|\n", (ssize_t)-5,
         (ssize_t)SSIZE_MAX, (size_t)SIZE_MAX, (size_t)4096, (ssize_t)7);
  const char *volatile nul = NULL;
  printf("PASS printf text %s|%s|%c|%%|%s|%c%c\n", "abc", "", 'x', nul, 'y',
         'z');
  printf("PASS printf others %5d|%-3s|%.2f|%hhd|%#x|%+d|%3c|%.2s|%%%%\n", 42,
         "a", 2.5, 300, 255, 7, 'q', "xyz");
  char big[700];
  memset(big, 'b', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  printf("PASS printf long %s|%d\n", big, 1);
  CHECK(fmt("printf returns %d", printf("%s %d\n", "twelve", 12)), 1);
  CHECK(fmt("printf of nothing returns %d", printf("%s", "")), 1);
}

/* ---- inet_ntop: IPv4 formatted by the shim, IPv6 by glibc ---- */

static void test_inet_ntop(void) {
  static const unsigned char v4[][4] = {
      {0, 0, 0, 0}, {255, 255, 255, 255}, {10, 0, 9, 100}, {1, 20, 199, 7}};
  for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++) {
    char b[INET_ADDRSTRLEN];
    CHECK(fmt("inet_ntop %s", inet_ntop(AF_INET, v4[i], b, sizeof b)), 1);
  }
  /* The whole text and its NUL must fit: ENOSPC, dst left alone. */
  char small[8] = "xxxxxxx";
  errno = 0;
  const char *r = inet_ntop(AF_INET, v4[2], small, 8);
  CHECK(fmt("inet_ntop into 8 bytes: %s errno=%d %s", r ? r : "NULL", errno,
            small),
        1);
  /* Only the text and its NUL are written: the rest of dst as it was. */
  for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++) {
    char b[20];
    memset(b, 'z', sizeof b);
    inet_ntop(AF_INET, v4[i], b, sizeof b);
    size_t n = strlen(b);
    CHECK(fmt("inet_ntop %s leaves %.*s", b, (int)(sizeof b - n - 1),
              b + n + 1),
          1);
  }
  char fits[9];
  CHECK(fmt("inet_ntop into 9 bytes: %s", inet_ntop(AF_INET, v4[2], fits, 9)),
        1);
  CHECK_ERR("inet_ntop into 0 bytes", inet_ntop(AF_INET, v4[0], small, 0)
                                          ? 0 : -1, ENOSPC);
  unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 5};
  char b6[INET6_ADDRSTRLEN];
  CHECK(fmt("inet_ntop v6 %s", inet_ntop(AF_INET6, v6, b6, sizeof b6)), 1);
  CHECK_ERR("inet_ntop of another family", inet_ntop(AF_UNIX, v6, b6,
                                                     sizeof b6) ? 0 : -1,
            EAFNOSUPPORT);
}

/* ---- environment ---- */

static void test_env(void) {
  unsetenv("NL_X");
  CHECK("getenv unset is NULL", getenv("NL_X") == NULL);
  setenv("NL_X", "1", 0);
  setenv("NL_X", "2", 0);
  CHECK(fmt("setenv no overwrite %s", getenv("NL_X")), 1);
  setenv("NL_X", "3", 1);
  CHECK(fmt("setenv overwrite %s", getenv("NL_X")), 1);
  CHECK_ERR("setenv empty name", setenv("", "x", 1), EINVAL);
  CHECK_ERR("setenv name with =", setenv("A=B", "x", 1), EINVAL);
  CHECK_ERR("unsetenv empty name", unsetenv(""), EINVAL);
  CHECK("getenv empty name is NULL", getenv("") == NULL);
  static char kv[] = "NL_Y=4";
  putenv(kv);
  kv[5] = '5';
  CHECK(fmt("putenv keeps the string %s", getenv("NL_Y")), 1);
  putenv("NL_Y");
  CHECK("putenv of a bare name removes it", getenv("NL_Y") == NULL);
  unsetenv("NL_X");
  CHECK("unsetenv removes", getenv("NL_X") == NULL);
  char **saved = environ;
  (void)saved;
  clearenv();
  CHECK("clearenv empties environ", environ == NULL && getenv("PATH") == NULL);
  setenv("NL_Z", "1", 1);
  CHECK(fmt("setenv after clearenv %s %s", environ[0],
            environ[1] ? "more" : "end"),
        1);
}

/* ---- time zones from TZ rules (no zone files needed) ---- */

static void show_tm(const char *what, const struct tm *tm) {
  char b[128], label[128];
  snprintf(label, sizeof label, "%s", what);
  strftime(b, sizeof b, "%F %T %Z %z %a %j %s", tm);
  CHECK(fmt("%s %s isdst=%d gmtoff=%ld", label, b, tm->tm_isdst,
            tm->tm_gmtoff),
        1);
}

static void test_time(void) {
  setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
  tzset();
  CHECK(fmt("tzset %s/%s timezone=%ld daylight=%d", tzname[0], tzname[1],
            timezone, daylight),
        1);
  time_t t = 1751328000; /* 2025-07-01T00:00Z */
  struct tm tm;
  show_tm("localtime_r summer", localtime_r(&t, &tm));
  t = 1735689600;
  show_tm("localtime winter", localtime(&t));
  show_tm("gmtime", gmtime(&t));
  char *ct = ctime(&t);
  ct[strcspn(ct, "\n")] = '\0';
  CHECK(fmt("ctime %s", ct), 1);
  struct tm in = {.tm_year = 125, .tm_mon = 2, .tm_mday = 30, .tm_hour = 2,
                  .tm_min = 30, .tm_isdst = -1};
  time_t m = mktime(&in);
  show_tm(fmt("mktime gap %lld", (long long)m), &in);
  struct tm bare;
  memset(&bare, 0, sizeof bare);
  bare.tm_year = 125;
  bare.tm_mday = 1;
  char b[64];
  strftime(b, sizeof b, "%Z", &bare);
  CHECK(fmt("strftime %%Z of a bare tm: %s", b), 1);
  /* localtime_r() keeps the zone until tzset() or localtime() reads TZ. */
  setenv("TZ", "JST-9", 1);
  t = 1735689600;
  show_tm("localtime_r keeps CET", localtime_r(&t, &tm));
  show_tm("localtime reads JST", localtime(&t));
  show_tm("localtime_r now JST", localtime_r(&t, &tm));
  setenv("TZ", "<+0545>-5:45", 1);
  show_tm("kathmandu", localtime(&t));
  setenv("TZ", "", 1);
  show_tm("empty TZ is UTC", localtime(&t));
  struct tm g = {.tm_year = 125, .tm_mon = 0, .tm_mday = 32};
  CHECK(fmt("timegm %lld mday=%d mon=%d", (long long)timegm(&g), g.tm_mday,
            g.tm_mon),
        1);
  unsetenv("TZ");
}

/* ---- locales ---- */

static void test_locale(void) {
  CHECK(fmt("setlocale query %s", setlocale(LC_ALL, NULL)), 1);
  char *r = setlocale(LC_ALL, "C.UTF-8");
  CHECK(fmt("setlocale C.UTF-8 %s", r ? r : "(null)"), 1);
  setlocale(LC_NUMERIC, "C");
  char *mixed = strdup(setlocale(LC_ALL, NULL));
  CHECK(fmt("setlocale mixed %s", mixed), 1);
  setlocale(LC_ALL, "C");
  r = setlocale(LC_ALL, mixed);
  CHECK(fmt("setlocale restores %s", r ? r : "(null)"), 1);
  free(mixed);
  CHECK("setlocale unknown is NULL", setlocale(LC_ALL, "xx_YY.UTF-8") == NULL);
  CHECK(fmt("setlocale after unknown %s", setlocale(LC_CTYPE, NULL)), 1);
  char num[32];
  snprintf(num, sizeof num, "%.2f", 1.5);
  CHECK(fmt("printf %s", num), 1);
  setlocale(LC_ALL, "C");
  locale_t l = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
  CHECK("newlocale C.UTF-8", l != (locale_t)0);
  locale_t old = uselocale(l);
  CHECK("uselocale returns the global", old == LC_GLOBAL_LOCALE);
  CHECK("uselocale query", uselocale((locale_t)0) == l);
  uselocale(LC_GLOBAL_LOCALE);
  freelocale(l);
  CHECK("newlocale unknown", newlocale(LC_ALL_MASK, "xx_YY", (locale_t)0) ==
                                 (locale_t)0);
}

/* ---- limits ---- */

static void test_limits(void) {
  struct rlimit r, saved;
  CHECK_ERR("getrlimit bad resource", getrlimit(99, &r), EINVAL);
  getrlimit(RLIMIT_NOFILE, &saved);
  r.rlim_cur = saved.rlim_max;
  r.rlim_max = saved.rlim_max - 1;
  CHECK_ERR("setrlimit cur above max", setrlimit(RLIMIT_NOFILE, &r), EINVAL);
  struct rlimit p;
  prlimit(0, RLIMIT_NOFILE, NULL, &p);
  CHECK("prlimit reads getrlimit's", p.rlim_cur == saved.rlim_cur &&
                                         p.rlim_max == saved.rlim_max);
  r.rlim_cur = 16;
  r.rlim_max = saved.rlim_max;
  CHECK("setrlimit NOFILE 16", setrlimit(RLIMIT_NOFILE, &r) == 0);
  CHECK("getdtablesize follows", getdtablesize() == 16);
  CHECK("sysconf OPEN_MAX follows", sysconf(_SC_OPEN_MAX) == 16);
  int last = -1, fd;
  while ((fd = dup(0)) >= 0)
    last = fd;
  CHECK(fmt("dup up to the limit: last=%d errno=%s", last,
            strerror(errno)),
        1);
  CHECK_ERR("dup2 at the limit", dup2(0, 16), EBADF);
  CHECK_ERR("F_DUPFD at the limit", fcntl(0, F_DUPFD, 16), EINVAL);
  for (int i = 3; i <= last; i++)
    close(i);
  setrlimit(RLIMIT_NOFILE, &saved);
}

/* ---- names ---- */

static void test_names(void) {
  char host[256], small[256];
  gethostname(host, sizeof host);
  size_t n = strlen(host);
  CHECK_ERR("gethostname without room for NUL", gethostname(small, n),
            ENAMETOOLONG);
  CHECK("gethostname with room", gethostname(small, n + 1) == 0 &&
                                     strcmp(small, host) == 0);
  struct utsname u;
  uname(&u);
  CHECK(fmt("uname sysname %s nodename is hostname %d", u.sysname,
            strcmp(u.nodename, host) == 0),
        1);
  char tn[32];
  prctl(PR_SET_NAME, "averyveryverylongname");
  prctl(PR_GET_NAME, tn);
  CHECK(fmt("prctl name %s", tn), 1);
  pthread_getname_np(pthread_self(), tn, sizeof tn);
  CHECK(fmt("pthread_getname_np %s", tn), 1);
  CHECK(fmt("pthread_getname_np small %d",
            pthread_getname_np(pthread_self(), tn, 4)),
        1);
  CHECK(fmt("pthread_setname_np long %d",
            pthread_setname_np(pthread_self(), "averyveryverylongname")),
        1);
  CHECK(fmt("pthread_setname_np ok %d", pthread_setname_np(pthread_self(),
                                                           "worker")),
        1);
  prctl(PR_GET_NAME, tn);
  CHECK(fmt("prctl sees pthread's %s", tn), 1);
}

/* ---- devices and the working directory ---- */

static void test_files(void) {
  char buf[64];
  int fd = open("/dev/null", O_RDWR);
  CHECK("open /dev/null", fd >= 0);
  CHECK("read /dev/null is EOF", read(fd, buf, sizeof buf) == 0);
  CHECK("write /dev/null takes all", write(fd, "abc", 3) == 3);
  struct stat st;
  fstat(fd, &st);
  CHECK(fmt("fstat /dev/null chr=%d %u:%u", S_ISCHR(st.st_mode),
            major(st.st_rdev), minor(st.st_rdev)),
        1);
  close(fd);
  fd = open("/dev/zero", O_RDONLY);
  memset(buf, 1, sizeof buf);
  CHECK("read /dev/zero", read(fd, buf, 8) == 8 && buf[0] == 0 && buf[7] == 0);
  close(fd);
  fd = open("/dev/full", O_WRONLY);
  CHECK_ERR("write /dev/full", write(fd, "x", 1), ENOSPC);
  close(fd);
  fd = open("/dev/urandom", O_RDONLY);
  CHECK("read /dev/urandom", read(fd, buf, 16) == 16);
  close(fd);
  stat("/dev/urandom", &st);
  CHECK(fmt("stat /dev/urandom %u:%u", major(st.st_rdev), minor(st.st_rdev)),
        1);
  FILE *f = fopen("/dev/urandom", "r");
  CHECK("fopen /dev/urandom", f != NULL && fread(buf, 1, 16, f) == 16);
  if (f)
    fclose(f);
  char tmpl[] = "/tmp/nl-libc-XXXXXX";
  fd = mkstemp(tmpl);
  CHECK("mkstemp makes a new file", fd >= 0 && strcmp(tmpl + 13, "XXXXXX") != 0 &&
                                        access(tmpl, R_OK | W_OK) == 0);
  CHECK("mkstemp's file is read-write", write(fd, "abc", 3) == 3 &&
                                            lseek(fd, 0, SEEK_SET) == 0 &&
                                            read(fd, buf, 3) == 3);
  close(fd);
  unlink(tmpl);
  char sfx[] = "/tmp/nl-libc-XXXXXX.txt";
  fd = mkstemps(sfx, 4);
  CHECK("mkstemps keeps the suffix", fd >= 0 && strcmp(sfx + 19, ".txt") == 0);
  close(fd);
  unlink(sfx);
  char bad[] = "/tmp/nl-libc-XXXXX";
  CHECK_ERR("mkstemp wants six X", mkstemp(bad), EINVAL);
  char dtmpl[] = "/tmp/nl-libc-XXXXXX";
  CHECK("mkdtemp makes a folder", mkdtemp(dtmpl) == dtmpl &&
                                      stat(dtmpl, &st) == 0 &&
                                      S_ISDIR(st.st_mode) &&
                                      (st.st_mode & 0777) == 0700);
  rmdir(dtmpl);
  CHECK_ERR("open a missing file", open("/no/such/file", O_RDONLY), ENOENT);
  CHECK_ERR("O_DIRECTORY on a device", open("/dev/null", O_RDONLY | O_DIRECTORY),
            ENOTDIR);
  CHECK("isatty of a pipe is 0", isatty(1) == 0 && errno == ENOTTY);

  char cwd[4096];
  CHECK_ERR("getcwd too small", getcwd(cwd, 1) ? 0 : -1, ERANGE);
  CHECK_ERR("chdir missing", chdir("/no/such/dir"), ENOENT);
  CHECK_ERR("chdir a device", chdir("/dev/null"), ENOTDIR);
  CHECK("chdir /", chdir("/") == 0);
  CHECK(fmt("getcwd %s", getcwd(cwd, sizeof cwd)), 1);
  CHECK("chdir relative", chdir("etc/../etc") == 0);
  char *dyn = getcwd(NULL, 0);
  CHECK(fmt("getcwd allocates %s", dyn), 1);
  free(dyn);
  fd = open("hostname", O_RDONLY);
  CHECK("a relative path from the cwd", fd >= 0);
  close(fd);
  int root = open("/", O_RDONLY | O_DIRECTORY);
  CHECK("fchdir", fchdir(root) == 0 && strcmp(getcwd(cwd, sizeof cwd), "/") == 0);
  close(root);
}

int main(void) {
  test_getopt();
  test_statics();
  test_inet_ntop();
  test_printf();
  test_env();
  test_time();
  test_locale();
  test_limits();
  test_names();
  test_files();
  return 0;
}
