/* ice-peer and signaling-server built for the real OS, run over
 * 127.0.0.1: the same sources the lab loads connect two real processes
 * with ICE.  argv[1] is signaling-server, argv[2] ice-peer.  Every wait is
 * bounded and every process started is stopped. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *signaling_exe, *peer_exe;

typedef struct {
  GPid pid;
  int out;
  GString *text;
  gboolean reaped;
  int status;
} Child;

static Child started[4];
static guint n_started;

static Child *start(const char *const *argv) {
  Child *c = &started[n_started++];
  memset(c, 0, sizeof *c);
  c->text = g_string_new(NULL);
  GError *err = NULL;
  if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &c->pid,
                                NULL, &c->out, NULL, &err))
    fail_msg("%s", err->message);
  return c;
}

/* Reads @c's output until it exits or @ms pass; returns its exit status
 * (-1 if it had to be killed). */
static int finish(Child *c, int ms) {
  gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
  for (;;) {
    gint64 left = (end - g_get_monotonic_time()) / 1000;
    if (left <= 0) {
      kill(c->pid, SIGKILL);
      waitpid(c->pid, &c->status, 0);
      c->reaped = TRUE;
      return -1;
    }
    struct pollfd p = {.fd = c->out, .events = POLLIN};
    if (poll(&p, 1, (int)MIN(left, 200)) > 0) {
      char buf[4096];
      ssize_t n = read(c->out, buf, sizeof buf);
      if (n > 0) {
        g_string_append_len(c->text, buf, n);
        continue;
      }
      /* EOF: the child closed its output; reap it. */
      waitpid(c->pid, &c->status, 0);
      c->reaped = TRUE;
      return WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1;
    }
  }
}

static int teardown(void **state) {
  for (guint i = 0; i < n_started; i++) {
    Child *c = &started[i];
    if (!c->reaped) {
      kill(c->pid, SIGKILL);
      waitpid(c->pid, NULL, 0);
    }
    close(c->out);
    g_spawn_close_pid(c->pid);
    g_string_free(c->text, TRUE);
  }
  n_started = 0;
  return 0;
}

static void test_ice_peers_connect_over_loopback(void **state) {
  const char *sargv[] = {signaling_exe, "--listen", "127.0.0.1", "--port",
                         "0", "--duration", "20", NULL};
  Child *sig = start(sargv);
  /* Its first line names the port the system gave it. */
  gint64 end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
  while (strchr(sig->text->str, '\n') == NULL &&
         g_get_monotonic_time() < end) {
    struct pollfd p = {.fd = sig->out, .events = POLLIN};
    if (poll(&p, 1, 200) > 0) {
      char buf[256];
      ssize_t n = read(sig->out, buf, sizeof buf);
      if (n > 0)
        g_string_append_len(sig->text, buf, n);
    }
  }
  const char *colon = strrchr(sig->text->str, ':');
  assert_non_null(colon);
  char *spec = g_strdup_printf("127.0.0.1:%d", atoi(colon + 1));
  const char *aargv[] = {peer_exe, "--bind", "127.0.0.1", "--name", "A",
                         "--signaling", spec, "--duration", "3000", NULL};
  const char *bargv[] = {peer_exe, "--bind", "127.0.0.1", "--name", "B",
                         "--signaling", spec, "--duration", "3000", NULL};
  Child *a = start(aargv);
  usleep(100000); /* B joins second: it makes the offer */
  Child *b = start(bargv);
  assert_int_equal(finish(a, 10000), 0);
  assert_int_equal(finish(b, 10000), 0);
  const char *want[2][3] = {
      {"ice: selected name=A peer=B role=controlled path=direct "
       "local=host:127.0.0.1:",
       "ice: received name=A peer=B bytes=100 from=127.0.0.1:",
       "ice: done name=A peer=B sent=3 received=3"},
      {"ice: selected name=B peer=A role=controlling path=direct "
       "local=host:127.0.0.1:",
       "-- hello #3 from A", "ice: done name=B peer=A sent=3 received=3"}};
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < 3; k++)
      if (strstr((i ? b : a)->text->str, want[i][k]) == NULL)
        fail_msg("no \"%s\" in:\n%s", want[i][k], (i ? b : a)->text->str);
  kill(sig->pid, SIGTERM);
  finish(sig, 3000);
  g_free(spec);
}

static void test_ice_peer_refuses_bad_arguments(void **state) {
  const char *bad[][6] = {
      {peer_exe, NULL},                                   /* no signaling */
      {peer_exe, "--signaling", "127.0.0.1:1", "--types", "cone", NULL},
      {peer_exe, "--signaling", "127.0.0.1:1", "--role", "boss", NULL},
      {peer_exe, "--signaling", "127.0.0.1:1", "--turn", "127.0.0.1", NULL},
      {peer_exe, "--signaling", "127.0.0.1:1", "--size", "2000", NULL},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    Child *c = start(bad[i]);
    assert_int_equal(finish(c, 5000), 2);
    teardown(NULL);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s SIGNALING-SERVER ICE-PEER\n", argv[0]);
    return 2;
  }
  signaling_exe = argv[1];
  peer_exe = argv[2];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_ice_peers_connect_over_loopback,
                                teardown),
      cmocka_unit_test_teardown(test_ice_peer_refuses_bad_arguments, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
