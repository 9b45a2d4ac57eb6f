/* Programs see only the lab: hostile programs are refused when natlab-cc
 * builds them, or named when they run (host, program, virtual time and
 * the call); natlab itself goes on, exits normally, and nothing real
 * happens.  The runs go through the natlab executable, as a user's do:
 * it is the natlab that confines itself and exports only the POSIX face. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "sim/host/seal.h"

typedef struct {
  char *dir;
  int status; /* exit status, or 128 + signal */
  char *out; /* the trace (--trace=-) */
  char *err; /* what natlab says to a person: program output, reports */
  char *all; /* both */
} Result;

static char *prog(const char *name) {
  return g_strdup_printf("%s/tests/%s.so", g_getenv("NATLAB_BUILD_ROOT"),
                         name);
}

static int exit_status(int wait_status) {
  if (WIFEXITED(wait_status))
    return WEXITSTATUS(wait_status);
  return 128 + WTERMSIG(wait_status);
}

static void result_free(Result *r) {
  if (r->dir != NULL) {
    GDir *d = g_dir_open(r->dir, 0, NULL);
    const char *n;
    while (d != NULL && (n = g_dir_read_name(d)) != NULL) {
      char *p = g_build_filename(r->dir, n, NULL);
      g_unlink(p);
      g_free(p);
    }
    if (d != NULL)
      g_dir_close(d);
    g_rmdir(r->dir);
  }
  g_free(r->dir);
  g_free(r->out);
  g_free(r->err);
  g_free(r->all);
  g_free(r);
}

/* Runs `natlab run` on @scenario (with --trace - after the program output)
 * and waits for it. */
static Result *run_natlab(const char *scenario) {
  Result *r = g_new0(Result, 1);
  r->dir = g_dir_make_tmp("natlab-confine-XXXXXX", NULL);
  char *path = g_build_filename(r->dir, "s.nlab", NULL);
  g_assert_true(g_file_set_contents(path, scenario, -1, NULL));
  char *natlab = g_build_filename(g_getenv("NATLAB_BUILD_ROOT"), "tools",
                                  "natlab", NULL);
  /* Relative to the run's own folder, so two runs print the same. */
  const char *argv[] = {natlab, "run", "s.nlab", "--watchdog=300",
                        "--trace=-", NULL};
  int ws = 0;
  GError *err = NULL;
  if (!g_spawn_sync(r->dir, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL,
                    NULL, &r->out, &r->err, &ws, &err))
    g_error("%s", err->message);
  r->status = exit_status(ws);
  r->all = g_strconcat(r->out, "\n", r->err, NULL);
  g_free(natlab);
  g_free(path);
  return r;
}

static char *source_text(const char *name) {
  char *path = g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "tests",
                                "progs", name, NULL);
  char *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
  g_free(path);
  return text;
}

/* Builds @source with natlab-cc and the NULL-terminated @extra options;
 * the result's dir holds prog.so when the build succeeded. */
static Result *natlab_cc_with(const char *source, const char *const *extra) {
  Result *r = g_new0(Result, 1);
  r->dir = g_dir_make_tmp("natlab-cc-XXXXXX", NULL);
  char *src = g_build_filename(r->dir, "prog.c", NULL);
  g_assert_true(g_file_set_contents(src, source, -1, NULL));
  GPtrArray *argv = g_ptr_array_new();
  const char *base[] = {"/bin/sh", g_getenv("NATLAB_CC"), "-o", "prog.so",
                        "prog.c"};
  for (size_t i = 0; i < G_N_ELEMENTS(base); i++)
    g_ptr_array_add(argv, (gpointer)base[i]);
  for (size_t i = 0; extra && extra[i]; i++)
    g_ptr_array_add(argv, (gpointer)extra[i]);
  g_ptr_array_add(argv, NULL);
  int ws = 0;
  GError *err = NULL;
  if (!g_spawn_sync(r->dir, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL,
                    NULL, &r->out, &r->err, &ws, &err))
    g_error("%s", err->message);
  r->status = exit_status(ws);
  g_ptr_array_free(argv, TRUE);
  g_free(src);
  return r;
}

static Result *natlab_cc(const char *source) {
  return natlab_cc_with(source, NULL);
}

static gboolean built(const Result *r) {
  char *so = g_build_filename(r->dir, "prog.so", NULL);
  gboolean ok = g_file_test(so, G_FILE_TEST_EXISTS);
  g_free(so);
  return ok;
}

/* ---- natlab's internals are not for programs ---- */

static void test_confine_natlab_cc_refuses_internal_calls(void **state) {
  char *src = source_text("forge.c");
  Result *r = natlab_cc(src);
  assert_int_equal(r->status, 1);
  assert_non_null(strstr(r->err, "the program calls nl_trace_add(), an "
                                 "internal function of natlab"));
  assert_false(built(r));
  result_free(r);
  g_free(src);
}

static void test_confine_internal_calls_cannot_load(void **state) {
  /* Built without natlab-cc's check: the executable does not export
   * nl_trace_add, so the program cannot be bound, and the scenario line
   * that runs it is named. */
  char *forge = prog("forge");
  char *text = g_strdup_printf("duration 1s\nhost a\n  run %s\n", forge);
  Result *r = run_natlab(text);
  assert_int_equal(r->status, 2);
  assert_non_null(strstr(r->err, "s.nlab:3:7: "));
  assert_non_null(strstr(r->err, "undefined symbol: nl_trace_add"));
  assert_null(strstr(r->all, "FORGED"));
  result_free(r);
  g_free(text);
  g_free(forge);
}

static void test_confine_natlab_exports_only_the_posix_face(void **state) {
  char *natlab = g_build_filename(g_getenv("NATLAB_BUILD_ROOT"), "tools",
                                  "natlab", NULL);
  const char *argv[] = {"nm", "-D", "--defined-only", natlab, NULL};
  char *out = NULL;
  int ws = 0;
  assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
                           NULL, NULL, &out, NULL, &ws, NULL));
  assert_int_equal(exit_status(ws), 0);
  guint posix = 0, other = 0;
  char **lines = g_strsplit(out, "\n", -1);
  for (char **l = lines; *l; l++) {
    const char *name = strrchr(*l, ' ');
    if (name == NULL)
      continue;
    name++;
    if (g_str_has_prefix(name, "nl_posix_"))
      posix++;
    else if (g_str_has_prefix(name, "nl_")) {
      print_error("exported: %s\n", name);
      other++;
    }
  }
  assert_int_equal(other, 0);
  assert_true(posix > 50);
  g_strfreev(lines);
  g_free(out);
  g_free(natlab);
}

/* Number of lines of @text containing every one of the NULL-terminated
 * substrings. */
static guint count_lines(const char *text, ...) {
  guint n = 0;
  char **lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++) {
    va_list ap;
    va_start(ap, text);
    gboolean all = TRUE;
    for (const char *s = va_arg(ap, const char *); s;
         s = va_arg(ap, const char *))
      if (strstr(*l, s) == NULL)
        all = FALSE;
    va_end(ap);
    n += all;
  }
  g_strfreev(lines);
  return n;
}

/* Runs @text twice: the same output both times (determinism), natlab's
 * exit status @status both times. */
static Result *run_twice(const char *text, int status) {
  Result *a = run_natlab(text), *b = run_natlab(text);
  if (a->status != status)
    print_error("natlab exited %d:\n%s\n%s\n", a->status, a->out, a->err);
  assert_int_equal(a->status, status);
  assert_int_equal(b->status, status);
  assert_string_equal(a->out, b->out);
  assert_string_equal(a->err, b->err);
  result_free(b);
  return a;
}

/* ---- natlab survives its programs ---- */

static void test_confine_closing_stdout_is_survived(void **state) {
  char *cs = prog("closestd");
  char *text = g_strdup_printf("duration 1s\nhost a\n  run %s\n"
                               "host b\n  run %s\n"
                               "expect exit a/closestd code 0\n"
                               "expect exit b/closestd code 0\n",
                               cs, cs);
  Result *r = run_twice(text, 0);
  assert_int_equal(count_lines(r->all, "a/closestd: before", NULL), 1);
  assert_int_equal(count_lines(r->all, "after", NULL), 0);
  assert_int_equal(count_lines(r->all, "2 of 2 expectations held", NULL), 1);
  result_free(r);
  g_free(text);
  g_free(cs);
}

static void test_confine_stack_overflow_with_a_large_frame_is_named(
    void **state) {
  char *src = source_text("bigframe.c");
  Result *b = natlab_cc(src);
  assert_int_equal(b->status, 0);
  char *so = g_build_filename(b->dir, "prog.so", NULL);
  char *text = g_strdup_printf(
      "duration 1s\nnetwork lan 10.0.0.0/24\n"
      "host a\n  run at=5ms %s\n"
      "host server\n  link lan 10.0.0.1\n  run udp-echo-server 7\n"
      "host client\n  link lan 10.0.0.2\n"
      "  run at=10ms udp-echo-client 10.0.0.1 7 still-here\n"
      "expect exit client/udp-echo-client code 0\n",
      so);
  Result *r = run_twice(text, 0);
  /* Named with host and virtual time, on the terminal and in the trace. */
  assert_int_equal(count_lines(r->all, "0.005", "a/prog -- crashed: "
                               "Segmentation fault (stack overflow)", NULL),
                   1);
  assert_int_equal(count_lines(r->all, "0.005", "a proc [a/prog] crashed: "
                               "Segmentation fault (stack overflow)", NULL),
                   1);
  assert_int_equal(count_lines(r->all, "1 of 1 expectations held", NULL), 1);
  result_free(r);
  g_free(text);
  g_free(so);
  result_free(b);
  g_free(src);
}


/* ---- nothing reaches the real system ---- */

/* A real socket of @type on 127.0.0.1, port chosen by the kernel. */
static int loopback_socket(int type, int *port) {
  int fd = socket(AF_INET, type, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  if (type == SOCK_STREAM)
    assert_int_equal(listen(fd, 4), 0);
  socklen_t len = sizeof sa;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  *port = ntohs(sa.sin_port);
  return fd;
}

/* The expected report of a call refused by the kernel filter, or by the
 * lab itself when @call starts with '=', with host/name and time. */
static void assert_refused(const Result *r, const char *time,
                           const char *who, const char *call) {
  char *line = call[0] == '='
                   ? g_strdup_printf("%s -- refused: %s", who, call + 1)
                   : g_strdup_printf("%s -- refused: the system call %s",
                                     who, call);
  if (count_lines(r->all, time, line, NULL) != 1)
    print_error("no \"%s %s\" in:\n%s\n", time, line, r->all);
  assert_int_equal(count_lines(r->all, time, line, NULL), 1);
  g_free(line);
}

/* The scenario around hostile programs: an echo exchange at 1 s that
 * must still happen, and its expectation. */
static char *with_bystanders(const char *hosts) {
  return g_strdup_printf(
      "duration 2s\nnetwork lan 10.0.0.0/24\n%s"
      "host server\n  link lan 10.0.0.1\n  run udp-echo-server 7\n"
      "host client\n  link lan 10.0.0.2\n"
      "  run at=1s udp-echo-client 10.0.0.1 7 still-here\n"
      "expect exit client/udp-echo-client code 0\n",
      hosts);
}

static void assert_bystanders_fine(const Result *r) {
  assert_int_equal(count_lines(r->all, "client/udp-echo-client: echo: "
                               "still-here", NULL),
                   1);
  assert_int_equal(count_lines(r->all, "1 of 1 expectations held", NULL), 1);
  assert_int_equal(count_lines(r->all, "natlab: sealed", NULL), 0);
}

static void test_confine_internal_calls_through_dlsym_are_named(
    void **state) {
  /* Found with dlsym(), natlab's functions are refused by name, whether
   * hidden (nl_trace_add) or the POSIX face itself (nl_posix_socket):
   * the program ends there, before it can call anything. */
  char *h = prog("hostile");
  char *hosts = g_strdup_printf(
      "host a\n  run name=forge at=10ms %s dlsym-internal nl_trace_add\n"
      "host b\n  run name=face at=20ms %s dlsym-internal nl_posix_socket\n",
      h, h);
  char *text = with_bystanders(hosts);
  Result *r = run_twice(text, 0);
  assert_refused(r, "0.010001", "a/forge",
                 "=dlsym(\"nl_trace_add\"): a function of natlab itself");
  assert_refused(r, "0.020001", "b/face",
                 "=dlsym(\"nl_posix_socket\"): a function of natlab itself");
  assert_int_equal(count_lines(r->all, "dlsym-internal: ", NULL), 0);
  assert_bystanders_fine(r);
  result_free(r);
  g_free(text);
  g_free(hosts);
  g_free(h);
}

static void test_confine_raw_sockets_reach_nothing(void **state) {
  int uport, tport;
  int ufd = loopback_socket(SOCK_DGRAM, &uport);
  int tfd = loopback_socket(SOCK_STREAM, &tport);
  char *h = prog("hostile");
  char *hosts = g_strdup_printf("host a\n  run name=udp at=10ms %s raw-udp %d\n"
                                "host b\n  run name=tcp at=20ms %s raw-tcp %d\n"
                                "host c\n  run name=i80 at=30ms %s int80\n"
                                "host d\n  run name=sc at=40ms %s "
                                "syscall-socket\n",
                                h, uport, h, tport, h, h);
  char *text = with_bystanders(hosts);
  Result *r = run_twice(text, 0);
  assert_refused(r, "0.010001", "a/udp", "socket (a real socket)");
  assert_refused(r, "0.020001", "b/tcp", "socket (a real socket)");
  assert_int_equal(count_lines(r->all, "0.030001", "c/i80 -- refused: a "
                               "system call of another ABI", NULL),
                   1);
  /* libc's syscall() is the lab's: it answers what it can and refuses
   * the rest by name. */
  assert_refused(r, "0.040001", "d/sc",
                 "=syscall(41) (socket): a system call the lab does not "
                 "answer");
  assert_int_equal(count_lines(r->all, "fd ", NULL), 0);
  assert_bystanders_fine(r);
  /* Nothing arrived: no datagram, no connection, within 300 ms. */
  struct pollfd p[2] = {{.fd = ufd, .events = POLLIN},
                        {.fd = tfd, .events = POLLIN}};
  assert_int_equal(poll(p, 2, 300), 0);
  close(ufd);
  close(tfd);
  result_free(r);
  g_free(text);
  g_free(hosts);
  g_free(h);
}

static void test_confine_heap_smashes_stay_in_the_programs_heap(
    void **state) {
  char *h = prog("hostile");
  char *hosts = g_strdup_printf("host a\n  run name=smash at=10ms %s "
                                "heap-smash\n"
                                "host b\n  run name=twice at=20ms %s "
                                "double-free\n",
                                h, h);
  char *text = with_bystanders(hosts);
  Result *r = run_twice(text, 0);
  /* The write ran off the end of the program's own heap, not into
   * natlab's: a crash of the program, named. */
  assert_int_equal(count_lines(r->all, "0.010001", "a/smash -- crashed: "
                               "Segmentation fault", NULL),
                   1);
  assert_int_equal(count_lines(r->all, "a/smash: smashed", NULL), 0);
  assert_int_equal(count_lines(r->all, "b/twice (stderr): free(): invalid "
                               "pointer, or freed twice", NULL),
                   1);
  assert_int_equal(count_lines(r->all, "0.020001", "b/twice -- crashed: "
                               "Aborted", NULL),
                   1);
  assert_bystanders_fine(r);
  result_free(r);
  g_free(text);
  g_free(hosts);
  g_free(h);
}

static void test_confine_processes_and_exec_are_refused(void **state) {
  char *h = prog("hostile");
  char *dir = g_dir_make_tmp("natlab-escape-XXXXXX", NULL);
  char *f1 = g_build_filename(dir, "system-ran", NULL);
  char *f2 = g_build_filename(dir, "exec-ran", NULL);
  char *hosts = g_strdup_printf(
      "host a\n  run name=shell at=10ms %s dlsym-system %s\n"
      "host b\n  run name=forker at=20ms %s dlsym-fork\n"
      "host c\n  run name=execer at=30ms %s execvpe %s\n"
      "host d\n  run name=rawexec at=40ms %s raw-exec %s\n"
      "host e\n  run name=spawner at=50ms %s posix-spawn %s\n",
      h, f1, h, h, f2, h, f2, h, f2);
  char *text = with_bystanders(hosts);
  Result *r = run_twice(text, 0);
  /* dlsym is the lab's: it refuses what natlab-cc refuses. */
  assert_refused(r, "0.010001", "a/shell",
                 "=dlsym(\"system\"): system() is a call natlab refuses");
  assert_refused(r, "0.020001", "b/forker",
                 "=dlsym(\"fork\"): fork() is a call natlab refuses");
  /* Called directly (natlab-cc would have refused to build it): the
   * shim's execvpe refuses it; by a raw instruction, the kernel filter
   * refuses the system call. */
  assert_refused(r, "0.030001", "c/execer",
                 "=execvpe(): a call natlab refuses");
  assert_refused(r, "0.040001", "d/rawexec",
                 "execve (running another program)");
  assert_refused(r, "0.050001", "e/spawner",
                 "=posix_spawn(): a call natlab refuses");
  assert_int_equal(count_lines(r->all, "raw-exec: ", NULL), 0);
  assert_int_equal(count_lines(r->all, "posix_spawn: ", NULL), 0);
  /* No line after the refused call, no child, no command. */
  assert_int_equal(count_lines(r->all, "system: ", NULL), 0);
  assert_int_equal(count_lines(r->all, "fork: ", NULL), 0);
  assert_int_equal(count_lines(r->all, "execvpe failed", NULL), 0);
  assert_false(g_file_test(f1, G_FILE_TEST_EXISTS));
  assert_false(g_file_test(f2, G_FILE_TEST_EXISTS));
  assert_bystanders_fine(r);
  result_free(r);
  g_rmdir(dir);
  g_free(text);
  g_free(hosts);
  g_free(f1);
  g_free(f2);
  g_free(dir);
  g_free(h);
}

static void test_confine_signals_and_the_watchdog_stay_natlabs(void **state) {
  char *h = prog("hostile");
  char *hosts = g_strdup_printf(
      "host a\n  run name=kill at=10ms %s kill0\n"
      "host b\n  run name=blk at=20ms %s sigblock-spin\n"
      "host c\n  run name=alrm at=30ms %s sigaction-alrm\n"
      "host d\n  run name=victim udp-echo-server 9\n"
      "  run name=killer at=40ms %s kill 100 15\n"
      "  run name=stray at=50ms %s kill 4242 15\n",
      h, h, h, h, h);
  char *text = with_bystanders(hosts);
  Result *r = run_twice(text, 0);
  /* kill(0) is the lab's: its process group is itself, which SIGTERM
   * ends (128 + 15), and natlab goes on. */
  assert_int_equal(count_lines(r->all, "a/kill -- exit 143", NULL), 1);
  /* Another process of the host gets the default action; a pid that is
   * not there is refused, named; nothing real is signalled. */
  assert_int_equal(count_lines(r->all, "0.040002", "d/victim -- killed by "
                               "signal Terminated (SIGTERM) from d/killer",
                               NULL),
                   1);
  assert_int_equal(count_lines(r->all, "d/killer: kill: 0 errno 0", NULL),
                   1);
  assert_refused(r, "0.050002", "d/stray",
                 "=kill(4242, 15): a signal to a process that is not on "
                 "this host");
  /* The mask change is ignored: the watchdog still stops the spin. */
  assert_int_equal(count_lines(r->all, "0.020001", "b/blk -- stopped by the "
                               "watchdog", NULL),
                   1);
  assert_refused(r, "0.030001", "c/alrm", "rt_sigaction");
  assert_bystanders_fine(r);
  result_free(r);
  g_free(text);
  g_free(hosts);
  g_free(h);
}

static void test_confine_natlabs_process_stays_natlabs(void **state) {
  char *h = prog("hostile");
  char *hosts = g_strdup_printf("host a\n  run name=exit at=10ms %s exit-group\n"
                                "host b\n  run name=cd at=20ms %s chdir /\n",
                                h, h);
  char *text = with_bystanders(hosts);
  Result *r = run_twice(text, 0);
  assert_refused(r, "0.010001", "a/exit", "exit_group (ending natlab)");
  assert_refused(r, "0.020001", "b/cd", "chdir (natlab's working directory)");
  assert_int_equal(count_lines(r->all, "still here", NULL), 0);
  assert_bystanders_fine(r);
  result_free(r);
  g_free(text);
  g_free(hosts);
  g_free(h);
}

static void test_confine_constructors_are_confined(void **state) {
  char *c = prog("ctor");
  char *text = g_strdup_printf("duration 1s\nhost a\n  run %s\n", c);
  Result *r = run_natlab(text);
  assert_int_equal(r->status, 2);
  assert_non_null(strstr(r->err, "s.nlab:3:7: "));
  assert_non_null(strstr(r->err, "ctor.so: refused: its initialisation made "
                                 "the system call socket (a real socket)"));
  assert_null(strstr(r->all, "constructor got"));
  result_free(r);
  g_free(text);
  g_free(c);
}

/* ---- prebuilt libraries see only the lab ---- */

/* The path of the compiler's lib@name (e.g. "event.a"), or NULL. */
static char *system_library(const char *file) {
  char *arg = g_strdup_printf("-print-file-name=%s", file);
  const char *argv[] = {"cc", arg, NULL};
  char *out = NULL;
  g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
                             NULL, NULL, &out, NULL, NULL, NULL));
  g_strstrip(out);
  g_free(arg);
  if (!g_path_is_absolute(out) || !g_file_test(out, G_FILE_TEST_EXISTS)) {
    g_free(out);
    return NULL;
  }
  return out;
}

static void test_confine_libevent_server_runs_over_virtual_epoll(
    void **state) {
  char *archive = system_library("libevent.a");
  if (archive == NULL) {
    print_message("libevent.a not installed (tools/setup: libevent-dev)\n");
    skip();
  }
  char *src = source_text("levent-echo.c");
  const char *extra[] = {"-levent", NULL};
  Result *b = natlab_cc_with(src, extra);
  if (b->status != 0)
    print_error("%s\n", b->err);
  assert_int_equal(b->status, 0);
  char *so = g_build_filename(b->dir, "prog.so", NULL);
  char *text = g_strdup_printf(
      "duration 2s\nnetwork lan 10.0.0.0/24\n"
      "host server\n  link lan 10.0.0.1\n  run name=levent %s 7\n"
      "host client\n  link lan 10.0.0.2\n"
      "  run at=100ms tcp-echo-client 10.0.0.1 7 hello libevent\n"
      "expect exit client/tcp-echo-client code 0\n",
      so);
  Result *r = run_twice(text, 0);
  /* libevent chose epoll, the lab's; its connection and echo went through
   * the lab; its timer fired 500 ms later in virtual time. */
  assert_int_equal(count_lines(r->all, "server/levent: libevent ",
                               " with epoll", NULL),
                   1);
  assert_int_equal(count_lines(r->all, "server/levent: accepted a connection",
                               NULL),
                   1);
  assert_int_equal(count_lines(r->all, "client/tcp-echo-client: Server "
                               "replied: hello libevent", NULL),
                   1);
  assert_int_equal(count_lines(r->all, "[ 0.5000", "server/levent: timer "
                               "fired at 1735689600.5000", NULL),
                   1);
  assert_int_equal(count_lines(r->all, "1 of 1 expectations held", NULL), 1);
  result_free(r);
  g_free(text);
  g_free(so);
  result_free(b);
  g_free(src);
  g_free(archive);
}

static void test_confine_shared_library_that_bypasses_the_lab_is_refused(
    void **state) {
  char *shared = system_library("libevent.so");
  if (shared == NULL) {
    print_message("libevent.so not installed (tools/setup: libevent-dev)\n");
    skip();
  }
  char *src = source_text("levent-echo.c");
  const char *extra[] = {shared, NULL};
  Result *b = natlab_cc_with(src, extra);
  assert_int_equal(b->status, 1);
  /* Named: the library, and calls of the network, the clock... */
  assert_non_null(strstr(b->err, "natlab-cc: the shared library libevent"));
  assert_non_null(strstr(b->err, "socket()"));
  assert_non_null(strstr(b->err, "epoll_wait()"));
  assert_non_null(strstr(b->err, "clock_gettime()"));
  assert_non_null(strstr(b->err, "link its static archive instead"));
  assert_false(built(b));
  result_free(b);
  g_free(src);
  g_free(shared);
}

/* The bytes RAND_bytes wrote on @who, from @r's output. */
static char *random_of(const Result *r, const char *who) {
  char *key = g_strdup_printf("%s: random ", who);
  const char *at = strstr(r->err, key);
  char *bytes = at ? g_strndup(at + strlen(key), 32) : g_strdup("");
  g_free(key);
  return bytes;
}

static void test_confine_rand_bytes_follow_the_seed(void **state) {
  char *archive = system_library("libcrypto.a");
  if (archive == NULL) {
    print_message("libcrypto.a not installed (tools/setup: libssl-dev)\n");
    skip();
  }
  char *src = source_text("randbytes.c");
  const char *extra[] = {"-lcrypto", NULL};
  Result *b = natlab_cc_with(src, extra);
  if (b->status != 0)
    print_error("%s\n", b->err);
  assert_int_equal(b->status, 0);
  char *so = g_build_filename(b->dir, "prog.so", NULL);
  char *t1 = g_strdup_printf("seed 1\nduration 1s\nhost a\n  run name=r %s\n"
                             "host b\n  run name=r %s\n",
                             so, so);
  char *t2 = g_strdup_printf("seed 2\nduration 1s\nhost a\n  run name=r %s\n",
                             so);
  /* The same bytes on every run (run_twice compares them)... */
  Result *r1 = run_twice(t1, 0), *r2 = run_natlab(t2);
  char *a1 = random_of(r1, "a/r"), *b1 = random_of(r1, "b/r");
  char *a2 = random_of(r2, "a/r");
  assert_int_equal(strlen(a1), 32);
  /* ...from the seed, per host and program. */
  assert_string_not_equal(a1, b1);
  assert_string_not_equal(a1, a2);
  g_free(a1);
  g_free(b1);
  g_free(a2);
  result_free(r1);
  result_free(r2);
  g_free(t1);
  g_free(t2);
  g_free(so);
  result_free(b);
  g_free(src);
  g_free(archive);
}

/* ---- the list of refused calls ---- */

static void test_confine_natlab_cc_refuses_what_the_program_calls(
    void **state) {
  Result *r = natlab_cc("#include <signal.h>\n#include <stdlib.h>\n"
                        "#include <unistd.h>\n"
                        "int main(void) {\n"
                        "  char *const a[] = {\"true\", NULL};\n"
                        "  sigset_t s;\n  sigemptyset(&s);\n"
                        "  if (setsid() < 0) sigsuspend(&s);\n"
                        "  execvpe(\"true\", a, a);\n"
                        "  return system(\"true\");\n}\n");
  assert_int_equal(r->status, 1);
  const char *names[] = {"setsid", "sigsuspend", "execvpe", "system"};
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    char *line = g_strdup_printf("natlab-cc: the program calls %s(), which "
                                 "natlab does not support",
                                 names[i]);
    assert_non_null(strstr(r->err, line));
    g_free(line);
  }
  assert_false(built(r));
  result_free(r);
}

static void test_confine_shim_answers_every_refused_call(void **state) {
  /* A static library may name a refused call natlab-cc cannot see in the
   * program: the shim defines each, so libc's is never reached. */
  char *list_path = g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "sim",
                                     "host", "posix-refused.txt", NULL);
  char *list = NULL;
  assert_true(g_file_get_contents(list_path, &list, NULL, NULL));
  char *shim = g_build_filename(g_getenv("NATLAB_BUILD_ROOT"), "sim", "host",
                                "libnatlab-shim.a", NULL);
  const char *argv[] = {"nm", "--defined-only", shim, NULL};
  char *out = NULL;
  assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
                           NULL, NULL, &out, NULL, NULL, NULL));
  GHashTable *defined = g_hash_table_new(g_str_hash, g_str_equal);
  char **lines = g_strsplit(out, "\n", -1);
  for (char **l = lines; *l; l++) {
    char **f = g_strsplit(*l, " ", -1);
    if (g_strv_length(f) == 3 && strcmp(f[1], "T") == 0)
      g_hash_table_add(defined, g_strdup(f[2]));
    g_strfreev(f);
  }
  char **names = g_strsplit_set(list, " \n", -1);
  guint missing = 0, n = 0;
  for (char **name = names; *name; name++) {
    /* liburing's functions are liburing's (the lab answers liburing's
     * API itself, sim/host/uring.c): none in libc to stand in for. */
    if (**name == '\0' || strstr(*name, "io_uring_") != NULL)
      continue;
    n++;
    if (!g_hash_table_contains(defined, *name)) {
      print_error("the shim does not define %s\n", *name);
      missing++;
    }
  }
  assert_int_equal(missing, 0);
  assert_true(n > 50);
  g_strfreev(names);
  g_strfreev(lines);
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init(&it, defined);
  while (g_hash_table_iter_next(&it, &k, NULL))
    g_free(k);
  g_hash_table_destroy(defined);
  g_free(out);
  g_free(shim);
  g_free(list);
  g_free(list_path);
}

static void test_confine_every_refused_call_is_documented(void **state) {
  /* docs/posix-coverage.md names each call of the list (as `name`), with
   * why it is refused. */
  char *list_path = g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "sim",
                                     "host", "posix-refused.txt", NULL);
  char *doc_path = g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "docs",
                                    "posix-coverage.md", NULL);
  char *list = NULL, *doc = NULL;
  assert_true(g_file_get_contents(list_path, &list, NULL, NULL));
  assert_true(g_file_get_contents(doc_path, &doc, NULL, NULL));
  char **names = g_strsplit_set(list, " \n", -1);
  guint missing = 0, n = 0;
  for (char **name = names; *name; name++) {
    if (**name == '\0')
      continue;
    n++;
    char *quoted = g_strdup_printf("`%s`", *name);
    if (strstr(doc, quoted) == NULL) {
      print_error("docs/posix-coverage.md does not name %s\n", quoted);
      missing++;
    }
    g_free(quoted);
  }
  assert_int_equal(missing, 0);
  assert_true(n > 50);
  g_strfreev(names);
  g_free(doc);
  g_free(list);
  g_free(doc_path);
  g_free(list_path);
}

/* A program's destructors run in its process when it exits, as on Linux:
 * what one writes is the process's, before its exit; one that aborts
 * crashes the process, not the lab; a process that crashed runs none.
 * (They ran when natlab unloaded the program, outside any process: their
 * output was lost, and an abort there killed natlab.) */
static void test_confine_destructors_run_in_the_exiting_process(void **st) {
  char *p = prog("exit-dtor");
  char *text = g_strdup_printf("duration 1s\n"
                               "host a\n  run %s exit\n"
                               "host b\n  run %s abort\n"
                               "host c\n  run %s crash\n",
                               p, p, p);
  Result *r = run_natlab(text);
  assert_int_equal(r->status, 0);
  const char *a_line = strstr(r->err, "a/exit-dtor (stderr): destructor ran "
                                      "(exit)");
  const char *a_exit = strstr(r->err, "a/exit-dtor -- exit 0");
  assert_non_null(a_line);
  assert_non_null(a_exit);
  assert_true(a_line < a_exit);
  assert_non_null(strstr(r->err, "b/exit-dtor (stderr): destructor ran "
                                 "(abort)"));
  assert_non_null(strstr(r->err, "b/exit-dtor -- crashed: Aborted"));
  assert_non_null(strstr(r->err, "c/exit-dtor -- crashed: Segmentation "
                                 "fault"));
  assert_null(strstr(r->all, "destructor ran (crash)"));
  Result *again = run_natlab(text);
  assert_string_equal(again->out, r->out); /* the same trace */
  result_free(again);
  result_free(r);
  g_free(text);
  g_free(p);
}

/* natlab itself failing while a program's object is unloaded (its
 * destructors run, and the seal refuses what they call) dies of the
 * of a signal: the guard's default action gets through the seal (it was
 * refused there, and natlab took the same signal again and again).
 * The dying process is this test run again (`--die-while-unloading`),
 * fresh: no cmocka handlers, no guard installed yet. */
static int die_while_unloading(void) {
  GError *error = NULL;
  if (!nl_seal_apply(NL_SEAL_RUN, &error))
    return 77;
  nl_seal_loading_begin();
  abort();
}

static void test_confine_natlab_failing_while_unloading_dies(void **state) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    execl("/proc/self/exe", "test-run-confine", "--die-while-unloading",
          (char *)NULL);
    _exit(127);
  }
  int status = 0;
  pid_t got = 0;
  for (int i = 0; i < 1000 && got == 0; i++) { /* 10 s at most */
    got = waitpid(pid, &status, WNOHANG);
    if (got == 0)
      g_usleep(10000);
  }
  if (got == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    fail_msg("natlab did not die of its abort() while unloading");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
    print_message("no seccomp here\n");
    skip();
  }
  /* abort()'s own raise is refused while loading (a destructor's signal
   * to natlab), so it ends in its fallback, a fault: SIGSEGV, or under
   * AddressSanitizer its report and exit status. */
  if (WIFSIGNALED(status))
    assert_true(WTERMSIG(status) == SIGABRT || WTERMSIG(status) == SIGSEGV);
  else
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--die-while-unloading") == 0)
    return die_while_unloading();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_confine_natlab_exports_only_the_posix_face),
    cmocka_unit_test(test_confine_natlab_cc_refuses_internal_calls),
    cmocka_unit_test(test_confine_internal_calls_cannot_load),
    cmocka_unit_test(test_confine_internal_calls_through_dlsym_are_named),
    cmocka_unit_test(test_confine_closing_stdout_is_survived),
    cmocka_unit_test(test_confine_stack_overflow_with_a_large_frame_is_named),
    cmocka_unit_test(test_confine_heap_smashes_stay_in_the_programs_heap),
    cmocka_unit_test(test_confine_raw_sockets_reach_nothing),
    cmocka_unit_test(test_confine_processes_and_exec_are_refused),
    cmocka_unit_test(test_confine_signals_and_the_watchdog_stay_natlabs),
    cmocka_unit_test(test_confine_natlabs_process_stays_natlabs),
    cmocka_unit_test(test_confine_constructors_are_confined),
    cmocka_unit_test(test_confine_natlab_failing_while_unloading_dies),
    cmocka_unit_test(test_confine_destructors_run_in_the_exiting_process),
    cmocka_unit_test(test_confine_libevent_server_runs_over_virtual_epoll),
    cmocka_unit_test(
        test_confine_shared_library_that_bypasses_the_lab_is_refused),
    cmocka_unit_test(test_confine_rand_bytes_follow_the_seed),
    cmocka_unit_test(test_confine_natlab_cc_refuses_what_the_program_calls),
    cmocka_unit_test(test_confine_shim_answers_every_refused_call),
    cmocka_unit_test(test_confine_every_refused_call_is_documented),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
