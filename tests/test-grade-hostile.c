/* Hostile submissions (tests/hostile/) graded by `natlab grade` against
 * the echo-server assignment's first test (tests/hostile/assignment/),
 * followed by the echo-server reference solution.  For each: a score of 0
 * and its named failure, with what it tried (the call) or how it ended;
 * for all together: nothing on the machine changed (no marker file where
 * the submissions would write one, nothing received by 127.0.0.1
 * listeners, this test process alive), natlab grade exited normally, and
 * it went on to give the reference full marks.
 *
 * The submissions are graded from copies in which the listeners' port
 * (47999 in the sources) and the markers' folder (/tmp) are this run's
 * own: a port the kernel chose and a fresh folder, so that two runs of
 * the suite at once cannot disturb each other. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define WALL_LIMIT_S 300

typedef struct {
  const char *name;
  /* The named failure its report must give. */
  const char *named;
  /* And what the report must say of it: the call, or how it ended. */
  const char *also;
  /* What its report must not say (NULL: nothing). */
  const char *absent;
} Hostile;

static const Hostile hostiles[] = {
    /* The grader survives it (the test process does not die); the program
     * then ends before any client came, and the report says how. */
    {.name = "close-stdout", .named = "failure: exited\n",
     .also = "srv/server exited with status 3 at virtual time",
     .absent = "died of signal"},
    {.name = "dlsym-fork", .named = "failure: escape attempt\n",
     .also = "dlsym(\"fork\")"},
    {.name = "dlsym-system", .named = "failure: escape attempt\n",
     .also = "dlsym(\"system\")"},
    {.name = "exec", .named = "failure: build failed\n",
     .also = "execve"},
    {.name = "kill-group", .named = "failure: exited\n",
     .also = "srv/server exited with status 143 at virtual time"},
    {.name = "natlab-internals", .named = "failure: escape attempt\n",
     .also = "dlsym(\"nl_trace_add\"): a function of natlab itself"},
    {.name = "natlab-internals-linked", .named = "failure: build failed\n",
     .also = "an internal function of natlab"},
    {.name = "raw-syscall-socket", .named = "failure: escape attempt\n",
     .also = "the system call socket"},
    {.name = "signal-parent", .named = "failure: escape attempt\n",
     .also = "a signal to a process that is not on this host"},
    {.name = "spawn", .named = "failure: build failed\n",
     .also = "posix_spawn"},
    {.name = "spin-sigalrm-blocked", .named = "failure: spin\n",
     .also = "until the watchdog stopped it"},
    {.name = "stack-overflow", .named = "failure: crash\n",
     .also = "(stack overflow)"},
    {.name = "unbounded-alloc", .named = "failure: memory limit\n",
     .also = "srv/server ran out of memory at virtual time"},
    {.name = "write-outside", .named = "failure: escape attempt\n",
     .also = "the system call openat"},
};

/* The markers the submissions would create, under /tmp in their
 * sources. */
static const char *const markers[] = {
    "natlab-hostile-dlsym-system", "natlab-hostile-dlsym-fork",
    "natlab-hostile-exec", "natlab-hostile-write-outside",
    "natlab-hostile-spawn",
};

static char *src(const char *a, const char *b) {
  return g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), a, b, NULL);
}

/* A non-blocking socket of @type bound to 127.0.0.1:@port (0: the kernel
 * chooses), listening if a stream; -1 if the port is taken. */
static int listener(int type, int port) {
  int fd = socket(AF_INET, type | SOCK_NONBLOCK, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
      (type == SOCK_STREAM && listen(fd, 8) < 0)) {
    close(fd);
    return -1;
  }
  return fd;
}

static int port_of(int fd) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  return ntohs(a.sin_port);
}

/* A UDP and a TCP listener on one port the kernel chose. */
static int listeners(int *udp, int *tcp) {
  for (int attempt = 0; attempt < 50; attempt++) {
    *udp = listener(SOCK_DGRAM, 0);
    assert_true(*udp >= 0);
    int port = port_of(*udp);
    *tcp = listener(SOCK_STREAM, port);
    if (*tcp >= 0)
      return port;
    close(*udp);
  }
  fail_msg("no port free for both UDP and TCP on 127.0.0.1");
  return -1;
}

/* Copies submission @name into @dir, with the port and the markers'
 * folder replaced. */
static char *copy_submission(const char *dir, const char *name, int port,
                             const char *marks) {
  char *from = src("tests/hostile", name);
  char *to = g_build_filename(dir, name, NULL);
  assert_int_equal(g_mkdir(to, 0700), 0);
  GDir *d = g_dir_open(from, 0, NULL);
  assert_non_null(d);
  char *port_text = g_strdup_printf("%d", port);
  char *mark_prefix = g_strdup_printf("%s/natlab-hostile-", marks);
  const char *n;
  while ((n = g_dir_read_name(d)) != NULL) {
    char *f = g_build_filename(from, n, NULL), *text = NULL;
    assert_true(g_file_get_contents(f, &text, NULL, NULL));
    char **a = g_strsplit(text, "47999", -1);
    char *t1 = g_strjoinv(port_text, a);
    char **b = g_strsplit(t1, "/tmp/natlab-hostile-", -1);
    char *t2 = g_strjoinv(mark_prefix, b);
    char *out = g_build_filename(to, n, NULL);
    assert_true(g_file_set_contents(out, t2, -1, NULL));
    g_free(out);
    g_free(t2);
    g_strfreev(b);
    g_free(t1);
    g_strfreev(a);
    g_free(text);
    g_free(f);
  }
  g_dir_close(d);
  g_free(mark_prefix);
  g_free(port_text);
  g_free(from);
  return to;
}

static void rm_rf(const char *path) {
  GDir *d = g_dir_open(path, 0, NULL);
  const char *e;
  while (d != NULL && (e = g_dir_read_name(d)) != NULL) {
    char *p = g_build_filename(path, e, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_DIR) &&
        !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
      rm_rf(p);
    else
      g_remove(p);
    g_free(p);
  }
  if (d != NULL)
    g_dir_close(d);
  g_rmdir(path);
}

/* In the child: its own process group (kill(0, ...) from a submission
 * stays inside), and its standard output into the report file @data.
 * Without -o natlab grade writes no timelines, which keeps it fast. */
static void child_setup(gpointer data) {
  setpgid(0, 0);
  int fd = open((const char *)data, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    close(fd);
  }
}

/* The text of submission @name's report (up to the next submission). */
static char *section(const char *report, const char *name) {
  char *head = g_strdup_printf("submission: %s\n", name);
  const char *s = strstr(report, head);
  g_free(head);
  if (s == NULL)
    return NULL;
  const char *e = strstr(s + 1, "\nsubmission: ");
  return e ? g_strndup(s, (gsize)(e - s)) : g_strdup(s);
}

static void assert_says(const char *name, const char *sec, const char *what) {
  if (strstr(sec, what) == NULL) {
    print_error("%s: the report does not say \"%s\":\n%s\n", name, what,
                sec);
    fail();
  }
}

static void test_grade_hostile_submissions_change_nothing(void **state) {
  int udp, tcp;
  int port = listeners(&udp, &tcp);
  char *tmp = g_dir_make_tmp("natlab-grade-hostile-XXXXXX", NULL);
  char *subs = g_build_filename(tmp, "submissions", NULL);
  char *marks = g_build_filename(tmp, "markers", NULL);
  assert_int_equal(g_mkdir(subs, 0700), 0);
  assert_int_equal(g_mkdir(marks, 0700), 0);
  char *assignment = src("tests/hostile", "assignment");
  char *reference = src("scenarios/assignments/echo-server", "reference");
  char *report = g_build_filename(tmp, "report.txt", NULL);
  GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(argv, g_build_filename(g_getenv("NATLAB_BUILD_ROOT"),
                                         "tools", "natlab", NULL));
  g_ptr_array_add(argv, g_strdup("grade"));
  g_ptr_array_add(argv, g_strdup(assignment));
  for (guint i = 0; i < G_N_ELEMENTS(hostiles); i++)
    g_ptr_array_add(argv,
                    copy_submission(subs, hostiles[i].name, port, marks));
  g_ptr_array_add(argv, g_strdup(reference));
  g_ptr_array_add(argv, g_strdup("--jobs=2"));
  g_ptr_array_add(argv, NULL);
  GPid pid;
  GError *err = NULL;
  if (!g_spawn_async(tmp, (char **)argv->pdata, NULL,
                     G_SPAWN_DO_NOT_REAP_CHILD, child_setup, report, &pid,
                     &err))
    g_error("%s", err->message);
  int status = -1;
  for (int waited = 0; waitpid(pid, &status, WNOHANG) == 0; waited++) {
    if (waited == WALL_LIMIT_S * 10) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      print_error("natlab grade did not finish within %d s\n", WALL_LIMIT_S);
      fail();
    }
    g_usleep(100000);
  }
  /* natlab grade exited normally: no submission killed or replaced it. */
  if (!WIFEXITED(status))
    print_error("natlab grade ended by signal %d\n", WTERMSIG(status));
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  /* Nothing on the machine changed: no marker, in the folder the copies
   * name or beside the submissions, the sources or the assignment. */
  const char *beside[] = {"tests/hostile", "tests", "tests/hostile/assignment",
                          "scenarios/assignments/echo-server"};
  for (guint i = 0; i < G_N_ELEMENTS(markers); i++) {
    char *m = g_build_filename(marks, markers[i], NULL);
    if (g_file_test(m, G_FILE_TEST_EXISTS))
      print_error("%s exists: a submission reached the real machine\n", m);
    assert_false(g_file_test(m, G_FILE_TEST_EXISTS));
    g_free(m);
    char *t = g_build_filename(tmp, markers[i], NULL);
    assert_false(g_file_test(t, G_FILE_TEST_EXISTS));
    g_free(t);
    for (guint j = 0; j < G_N_ELEMENTS(beside); j++) {
      char *p = src(beside[j], markers[i]);
      assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
      g_free(p);
    }
  }
  char buf[64];
  assert_int_equal(recv(udp, buf, sizeof buf, MSG_DONTWAIT), -1);
  assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
  assert_int_equal(accept(tcp, NULL, NULL), -1);
  assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
  /* Every hostile submission scored 0 with its named failure, and the
   * grader went on to the reference. */
  char *text = NULL;
  assert_true(g_file_get_contents(report, &text, NULL, NULL));
  for (guint i = 0; i < G_N_ELEMENTS(hostiles); i++) {
    const Hostile *h = &hostiles[i];
    char *sec = section(text, h->name);
    if (sec == NULL)
      print_error("no report for %s\n", h->name);
    assert_non_null(sec);
    assert_says(h->name, sec, "score: 0/10");
    assert_says(h->name, sec, h->named);
    assert_says(h->name, sec, h->also);
    if (h->absent && strstr(sec, h->absent)) {
      print_error("%s: the report says \"%s\":\n%s\n", h->name, h->absent,
                  sec);
      fail();
    }
    g_free(sec);
  }
  char *ref = section(text, "reference");
  assert_non_null(ref);
  assert_non_null(strstr(ref, "score: 10/10"));
  g_free(ref);
  g_free(text);
  g_spawn_close_pid(pid);
  rm_rf(tmp);
  g_ptr_array_unref(argv);
  g_free(report);
  g_free(reference);
  g_free(assignment);
  g_free(marks);
  g_free(subs);
  g_free(tmp);
  close(udp);
  close(tcp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grade_hostile_submissions_change_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
