/* The signaling service (programs/signaling/signaling-server.c) on the real
 * OS, over 127.0.0.1: joining rooms, passing lines, leaving, and every
 * kind of bad input.  argv[1] is the server executable.  Every read has a
 * timeout; the server is stopped at the end of each test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  GPid pid;
  int out; /* the server's stdout */
  int port;
  GString *text;
} Server;

typedef struct {
  int fd;
  GString *buf;
} Client;

static const char *server_exe;
/* The server of the running test, stopped by the teardown even when the
 * test fails half-way. */
static GPid running;

/* Reads from @fd into @buf until it holds @want or 3 s pass. */
static gboolean read_until(int fd, GString *buf, const char *want) {
  gint64 end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
  while (strstr(buf->str, want) == NULL) {
    gint64 left = (end - g_get_monotonic_time()) / 1000;
    if (left <= 0)
      return FALSE;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)left) <= 0)
      return FALSE;
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0)
      return FALSE;
    g_string_append_len(buf, tmp, n);
  }
  return TRUE;
}

static void server_start(Server *s, const char *extra) {
  memset(s, 0, sizeof *s);
  s->text = g_string_new(NULL);
  char *argv[8] = {(char *)server_exe, "--listen", "127.0.0.1", "--port",
                   "0", "--signals", (char *)extra, NULL};
  GError *err = NULL;
  if (!g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                NULL, NULL, &s->pid, NULL, &s->out, NULL,
                                &err))
    fail_msg("%s", err->message);
  running = s->pid;
  assert_true(read_until(s->out, s->text, "\n"));
  const char *colon = strrchr(s->text->str, ':');
  assert_non_null(colon);
  s->port = atoi(colon + 1);
  assert_true(s->port > 0);
}

/* Stops the server (SIGTERM with --signals: a clean exit) and returns
 * everything it printed. */
static char *server_stop(Server *s) {
  kill(s->pid, SIGTERM);
  assert_true(read_until(s->out, s->text, "signaling: clients="));
  int status = 0;
  waitpid(s->pid, &status, 0);
  running = 0;
  g_spawn_close_pid(s->pid);
  close(s->out);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  return g_string_free(s->text, FALSE);
}

static void client_open(Client *c, const Server *s) {
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)s->port)};
  inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
  assert_int_equal(connect(c->fd, (struct sockaddr *)&sin, sizeof sin), 0);
  c->buf = g_string_new(NULL);
}

static void client_close(Client *c) {
  if (c->fd >= 0)
    close(c->fd);
  g_string_free(c->buf, TRUE);
}

static void say(Client *c, const char *line) {
  size_t n = strlen(line);
  assert_int_equal(write(c->fd, line, n), (ssize_t)n);
}

static void expect_line(Client *c, const char *want) {
  if (!read_until(c->fd, c->buf, want))
    fail_msg("expected \"%s\", got \"%s\"", want, c->buf->str);
}

/* Nothing more arrives within 200 ms. */
static void expect_quiet(Client *c) {
  struct pollfd p = {.fd = c->fd, .events = POLLIN};
  assert_int_equal(poll(&p, 1, 200), 0);
}

static void test_signaling_join_and_pass_lines(void **state) {
  Server s;
  server_start(&s, "--verbose");
  Client a, b, c;
  client_open(&a, &s);
  client_open(&b, &s);
  client_open(&c, &s);
  say(&a, "JOIN room1 alice\n");
  expect_line(&a, "WELCOME room1 alice 0\n");
  say(&b, "JOIN room1 bob\r\n"); /* CRLF is fine */
  expect_line(&b, "WELCOME room1 bob 1\nPEER alice\n");
  expect_line(&a, "PEER bob\n");
  say(&c, "JOIN room2 carol\n"); /* another room: sees nobody */
  expect_line(&c, "WELCOME room2 carol 0\n");
  say(&a, "TO bob candidate:1 1 udp 2130706431 10.0.0.5 5000 typ host\n");
  expect_line(&b, "FROM alice candidate:1 1 udp 2130706431 10.0.0.5 5000 "
                  "typ host\n");
  say(&b, "ALL end-of-candidates\n");
  expect_line(&a, "FROM bob end-of-candidates\n");
  /* A line split over two writes arrives whole. */
  say(&a, "TO bob hel");
  usleep(20000);
  say(&a, "lo\n");
  expect_line(&b, "FROM alice hello\n");
  say(&b, "LEAVE\n");
  expect_line(&a, "LEFT bob\n");
  close(a.fd);
  a.fd = -1;
  expect_quiet(&c); /* nothing of room1 reached room2 */
  char *out = server_stop(&s);
  assert_non_null(strstr(out, "join room1 alice from 127.0.0.1:"));
  assert_non_null(strstr(out, "message alice -> bob"));
  assert_non_null(strstr(out, "signaling: clients=3 joins=3 messages=3 "));
  g_free(out);
  client_close(&a);
  client_close(&b);
  client_close(&c);
}

static void test_signaling_errors_keep_the_connection(void **state) {
  Server s;
  server_start(&s, NULL);
  Client a, b;
  client_open(&a, &s);
  client_open(&b, &s);
  say(&a, "TO bob hi\n");
  expect_line(&a, "ERROR JOIN first\n");
  say(&a, "HELLO\n");
  expect_line(&a, "ERROR unknown command");
  say(&a, "JOIN room\n");
  expect_line(&a, "ERROR usage: JOIN ROOM NAME\n");
  say(&a, "JOIN room bad/name\n");
  expect_line(&a, "ERROR bad name");
  say(&a, "JOIN room alice\n");
  expect_line(&a, "WELCOME room alice 0\n");
  say(&a, "JOIN room alice2\n");
  expect_line(&a, "ERROR already joined\n");
  say(&b, "JOIN room alice\n");
  expect_line(&b, "ERROR name taken in this room\n");
  say(&a, "TO nobody hi\n");
  expect_line(&a, "ERROR no such peer\n");
  say(&a, "TO alice\n");
  expect_line(&a, "ERROR usage: TO NAME TEXT\n");
  /* Still connected after all that. */
  say(&b, "JOIN room bob\n");
  expect_line(&a, "PEER bob\n");
  char *out = server_stop(&s);
  assert_non_null(strstr(out, "errors=8"));
  g_free(out);
  client_close(&a);
  client_close(&b);
}

static void test_signaling_too_long_line_closes(void **state) {
  Server s;
  server_start(&s, NULL);
  Client a, b;
  client_open(&a, &s);
  client_open(&b, &s);
  say(&b, "JOIN r bob\n");
  expect_line(&b, "WELCOME");
  say(&a, "JOIN r alice\n");
  expect_line(&a, "WELCOME");
  expect_line(&b, "PEER alice\n");
  char *big = g_strnfill(5000, 'x');
  say(&a, "TO bob ");
  say(&a, big);
  g_free(big);
  expect_line(&a, "ERROR line too long\n");
  /* Then the server closes the connection, and the room hears of it. */
  char tmp[64];
  struct pollfd p = {.fd = a.fd, .events = POLLIN};
  assert_int_equal(poll(&p, 1, 3000), 1);
  assert_true(read(a.fd, tmp, sizeof tmp) <= 0); /* FIN, or RST */
  expect_line(&b, "LEFT alice\n");
  char *out = server_stop(&s);
  g_free(out);
  client_close(&a);
  client_close(&b);
}

static int teardown(void **state) {
  if (running > 0) {
    kill(running, SIGKILL);
    waitpid(running, NULL, 0);
    running = 0;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s SIGNALING-SERVER\n", argv[0]);
    return 2;
  }
  server_exe = argv[1];
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_signaling_join_and_pass_lines, teardown),
      cmocka_unit_test_teardown(test_signaling_errors_keep_the_connection,
                                teardown),
      cmocka_unit_test_teardown(test_signaling_too_long_line_closes, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
