/* Hostile submissions (tests/hostile/) graded by `natlab grade` against
 * the echo-server assignment's first test (tests/hostile/assignment/),
 * followed by the echo-server reference solution.  For each:
 * a score of 0 and, where the lab names it, the named failure; for all
 * together: nothing on the machine changed (no marker file under /tmp or
 * beside the submissions, nothing received by a 127.0.0.1 listener on port
 * 47999, this test process alive), natlab grade exited normally, and it went
 * on to give the reference full marks. */
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

#define LISTEN_PORT 47999
#define WALL_LIMIT_S 300

typedef struct {
  const char *name;
  /* What its report must say (one of the words separated by |), or NULL
   * where no name is asserted yet (see @pending). */
  const char *named;
  /* Why the name is not asserted yet: the part of the lab that will name
   * it.  The safety checks hold for it all the same. */
  const char *pending;
  /* What its report must not say (NULL: nothing). */
  const char *absent;
} Hostile;

static const Hostile hostiles[] = {
    /* The grader survives it (the test process does not die); the program
     * then fails the test as any program that serves nobody. */
    {.name = "close-stdout", .pending = "its failure is the test's own",
     .absent = "died of signal"},
    {.name = "dlsym-fork", .named = "escape attempt"},
    {.name = "dlsym-system",
     .pending = "system() reaches a refused call that kills the test process "
                "with SIGSYS instead of being named an escape attempt"},
    {.name = "exec", .named = "escape attempt|build failed"},
    {.name = "natlab-internals",
     .pending = "natlab's internals are hidden, so dlsym() answers NULL and "
                "nothing is called; the attempt itself is not named"},
    {.name = "natlab-internals-linked", .named = "build failed"},
    {.name = "raw-syscall-socket", .named = "escape attempt"},
    {.name = "signal-parent", .named = "escape attempt"},
    {.name = "spin-sigalrm-blocked", .named = "spin"},
    {.name = "stack-overflow", .named = "stack overflow"},
    {.name = "unbounded-alloc",
     .pending = "at the memory limit natlab's own allocation fails too and "
                "the test process dies (SIGTRAP) instead of the program "
                "being named"},
    {.name = "write-outside",
     .pending = "Landlock refuses the write (EACCES) without naming it"},
};

static const char *const markers[] = {
    "/tmp/natlab-hostile-dlsym-system", "/tmp/natlab-hostile-dlsym-fork",
    "/tmp/natlab-hostile-exec", "/tmp/natlab-hostile-write-outside",
};

static char *src(const char *a, const char *b) {
  return g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), a, b, NULL);
}

static int listener(int type) {
  int fd = socket(AF_INET, type | SOCK_NONBLOCK, 0), on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons(LISTEN_PORT),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
      (type == SOCK_STREAM && listen(fd, 8) < 0)) {
    print_error("cannot listen on 127.0.0.1:%d: %s\n", LISTEN_PORT,
                strerror(errno));
    fail();
  }
  return fd;
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

static void test_grade_hostile_submissions_change_nothing(void **state) {
  for (guint i = 0; i < G_N_ELEMENTS(markers); i++)
    g_remove(markers[i]);
  int udp = listener(SOCK_DGRAM), tcp = listener(SOCK_STREAM);
  char *assignment = src("tests/hostile", "assignment");
  char *reference = src("scenarios/assignments/echo-server", "reference");
  char *tmp = g_dir_make_tmp("natlab-grade-hostile-XXXXXX", NULL);
  char *report = g_build_filename(tmp, "report.txt", NULL);
  GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(argv, g_build_filename(g_getenv("NATLAB_BUILD_ROOT"),
                                         "tools", "natlab", NULL));
  g_ptr_array_add(argv, g_strdup("grade"));
  g_ptr_array_add(argv, g_strdup(assignment));
  for (guint i = 0; i < G_N_ELEMENTS(hostiles); i++)
    g_ptr_array_add(argv, src("tests/hostile", hostiles[i].name));
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
  /* Nothing on the machine changed. */
  for (guint i = 0; i < G_N_ELEMENTS(markers); i++) {
    if (g_file_test(markers[i], G_FILE_TEST_EXISTS))
      print_error("%s exists: a submission reached the real machine\n",
                  markers[i]);
    assert_false(g_file_test(markers[i], G_FILE_TEST_EXISTS));
  }
  const char *beside[] = {"tests/hostile/natlab-hostile-write-outside",
                          "tests/natlab-hostile-write-outside",
                          "natlab-hostile-write-outside"};
  for (guint i = 0; i < G_N_ELEMENTS(beside); i++) {
    char *p = src(beside[i], NULL);
    assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
    g_free(p);
  }
  char buf[64];
  assert_int_equal(recv(udp, buf, sizeof buf, MSG_DONTWAIT), -1);
  assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
  assert_int_equal(accept(tcp, NULL, NULL), -1);
  assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
  /* Every hostile submission scored 0, named where the lab names it, and
   * the grader went on to the reference. */
  char *text = NULL;
  assert_true(g_file_get_contents(report, &text, NULL, NULL));
  for (guint i = 0; i < G_N_ELEMENTS(hostiles); i++) {
    const Hostile *h = &hostiles[i];
    char *sec = section(text, h->name);
    if (sec == NULL)
      print_error("no report for %s\n", h->name);
    assert_non_null(sec);
    assert_non_null(strstr(sec, "score: 0/10"));
    if (h->absent && strstr(sec, h->absent)) {
      print_error("%s: the report says \"%s\":\n%s\n", h->name, h->absent,
                  sec);
      fail();
    }
    if (h->named) {
      gboolean found = FALSE;
      char **words = g_strsplit(h->named, "|", -1);
      for (char **w = words; *w; w++)
        found = found || strstr(sec, *w) != NULL;
      if (!found)
        print_error("%s: the report does not name \"%s\":\n%s\n", h->name,
                    h->named, sec);
      assert_true(found);
      g_strfreev(words);
    } else {
      print_message("%s: no name asserted (%s)\n", h->name, h->pending);
    }
    g_free(sec);
  }
  char *ref = section(text, "reference");
  assert_non_null(ref);
  assert_non_null(strstr(ref, "score: 10/10"));
  g_free(ref);
  g_free(text);
  g_remove(report);
  g_rmdir(tmp);
  g_spawn_close_pid(pid);
  g_ptr_array_unref(argv);
  g_free(report);
  g_free(tmp);
  g_free(reference);
  g_free(assignment);
  close(udp);
  close(tcp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grade_hostile_submissions_change_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
