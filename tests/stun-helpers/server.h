/* server.h: start a natlab STUN/TURN server binary on 127.0.0.1 for a test,
 * talk to it, and stop it.  Shared by tests/test-stun-server.c and
 * tests/test-turn-server.c.  Timeouts here only bound waiting; nothing is
 * measured. */
#ifndef NL_TEST_STUN_SERVER_H
#define NL_TEST_STUN_SERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "programs/stun/stun-codec.h"

typedef struct {
  pid_t pid;
  int out_fd;
  uint16_t port;
  GString *out;
} TestServer;

/* The server of the running test, killed by ts_teardown() if the test
 * failed before stopping it. */
static pid_t ts_running;

static G_GNUC_UNUSED int ts_teardown(void **state) {
  (void)state;
  if (ts_running > 0) {
    kill(ts_running, SIGKILL);
    waitpid(ts_running, NULL, 0);
  }
  ts_running = 0;
  return 0;
}

/* A port with the next one free too (UDP and TCP), found by binding. */
static G_GNUC_UNUSED uint16_t ts_free_port(void) {
  for (int tries = 0; tries < 50; tries++) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) < 0) {
      close(fd);
      continue;
    }
    close(fd);
    uint16_t p = ntohs(a.sin_port);
    if (p < 65000 && p > 1024)
      return p;
  }
  return 0;
}

static G_GNUC_UNUSED int ts_udp_socket(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  g_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
  return fd;
}

static G_GNUC_UNUSED void ts_addr(struct sockaddr_in *a, uint16_t port) {
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* Waits up to @ms for a datagram on @fd.  Returns its length or -1. */
static G_GNUC_UNUSED ssize_t ts_recv(int fd, uint8_t *buf, size_t cap, int ms,
                                     struct sockaddr_in *from) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  if (poll(&p, 1, ms) <= 0)
    return -1;
  socklen_t l = sizeof *from;
  struct sockaddr_in dummy;
  return recvfrom(fd, buf, cap, 0, (struct sockaddr *)(from ? from : &dummy),
                  &l);
}

/* Sends @req to 127.0.0.1:@port and waits for the reply with the same
 * transaction ID (others are skipped), resending up to 5 times.
 * Returns the reply length or -1. */
static G_GNUC_UNUSED ssize_t ts_xchg(int fd, uint16_t port, const uint8_t *req,
                                     size_t len, uint8_t *resp, size_t cap) {
  struct sockaddr_in to;
  ts_addr(&to, port);
  g_assert(len >= 20);
  for (int i = 0; i < 5; i++) {
    sendto(fd, req, len, 0, (struct sockaddr *)&to, sizeof to);
    ssize_t n;
    while ((n = ts_recv(fd, resp, cap, 400, NULL)) >= 0)
      if (n >= 20 && memcmp(resp + 8, req + 8, 12) == 0)
        return n;
  }
  return -1;
}

/* Starts @exe with @args ("PORT" replaced by the chosen port, "PORT1" by
 * port+1); returns once it answers a Binding request over UDP. */
static G_GNUC_UNUSED void ts_start(TestServer *ts, const char *exe,
                                   const char *const *args) {
  memset(ts, 0, sizeof *ts);
  for (int attempt = 0; attempt < 5; attempt++) {
    ts->port = ts_free_port();
    g_assert(ts->port != 0);
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(argv, g_strdup(exe));
    /* Servers end on their own even if the test dies without stopping
     * them. */
    g_ptr_array_add(argv, g_strdup("--duration"));
    g_ptr_array_add(argv, g_strdup("120"));
    /* SIGTERM ends the server cleanly, with its summary (ts_stop). */
    g_ptr_array_add(argv, g_strdup("--signals"));
    for (int i = 0; args[i]; i++) {
      if (strcmp(args[i], "PORT") == 0)
        g_ptr_array_add(argv, g_strdup_printf("%u", ts->port));
      else if (strcmp(args[i], "PORT1") == 0)
        g_ptr_array_add(argv, g_strdup_printf("%u", ts->port + 1));
      else
        g_ptr_array_add(argv, g_strdup(args[i]));
    }
    g_ptr_array_add(argv, NULL);
    int pipefd[2];
    g_assert(pipe(pipefd) == 0);
    pid_t pid = fork();
    g_assert(pid >= 0);
    if (pid == 0) {
      dup2(pipefd[1], 1);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 2); /* keep the test runner's stderr free */
      close(devnull);
      close(pipefd[0]);
      close(pipefd[1]);
      execv(exe, (char **)argv->pdata);
      _exit(127);
    }
    close(pipefd[1]);
    g_ptr_array_free(argv, TRUE);
    ts->pid = pid;
    ts->out_fd = pipefd[0];
    ts->out = g_string_new(NULL);
    int fd = ts_udp_socket();
    uint8_t tid[12] = {7, 7, 7}, req[64], resp[512];
    size_t len = nl_stun_binding_request_build(tid, 0, req, sizeof req);
    ssize_t n = ts_xchg(fd, ts->port, req, len, resp, sizeof resp);
    close(fd);
    if (n > 0) {
      ts_running = pid;
      return;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(ts->out_fd);
    g_string_free(ts->out, TRUE);
  }
  g_error("could not start %s", exe);
}

/* TRUE while the server process is alive. */
static G_GNUC_UNUSED gboolean ts_alive(TestServer *ts) {
  return waitpid(ts->pid, NULL, WNOHANG) == 0;
}

/* Stops the server with SIGTERM and returns everything it printed
 * (owned by @ts until ts_free). Asserts it exited normally with 0. */
static G_GNUC_UNUSED const char *ts_stop(TestServer *ts) {
  kill(ts->pid, SIGTERM);
  int status = 0;
  g_assert(waitpid(ts->pid, &status, 0) == ts->pid);
  g_assert(WIFEXITED(status));
  g_assert(WEXITSTATUS(status) == 0);
  ts_running = 0;
  char buf[4096];
  ssize_t n;
  while ((n = read(ts->out_fd, buf, sizeof buf)) > 0)
    g_string_append_len(ts->out, buf, n);
  close(ts->out_fd);
  return ts->out->str;
}

static G_GNUC_UNUSED void ts_free(TestServer *ts) {
  if (ts->out)
    g_string_free(ts->out, TRUE);
  ts->out = NULL;
}

/* Runs a client program to completion (killed after @timeout_ms) and
 * appends its stdout to @out.  Returns its exit status, or -1 if it was
 * killed or crashed. */
static G_GNUC_UNUSED int ts_run(const char *const *argv, int timeout_ms,
                                GString *out) {
  int pipefd[2];
  g_assert(pipe(pipefd) == 0);
  pid_t pid = fork();
  g_assert(pid >= 0);
  if (pid == 0) {
    dup2(pipefd[1], 1);
    close(pipefd[0]);
    close(pipefd[1]);
    execv(argv[0], (char **)argv);
    _exit(127);
  }
  close(pipefd[1]);
  int waited = 0;
  char buf[4096];
  for (;;) {
    struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
    int rc = poll(&p, 1, 100);
    if (rc > 0) {
      ssize_t n = read(pipefd[0], buf, sizeof buf);
      if (n <= 0)
        break;
      g_string_append_len(out, buf, n);
      continue;
    }
    waited += 100;
    if (waited >= timeout_ms) {
      kill(pid, SIGKILL);
      break;
    }
  }
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Starts a client program in the background with stdout to @fd_out (a
 * pipe's read end, returned).  Returns its pid. */
static G_GNUC_UNUSED pid_t ts_spawn(const char *const *argv, int *fd_out) {
  int pipefd[2];
  g_assert(pipe(pipefd) == 0);
  pid_t pid = fork();
  g_assert(pid >= 0);
  if (pid == 0) {
    dup2(pipefd[1], 1);
    close(pipefd[0]);
    close(pipefd[1]);
    execv(argv[0], (char **)argv);
    _exit(127);
  }
  close(pipefd[1]);
  *fd_out = pipefd[0];
  return pid;
}

/* Reads lines from @fd until one starts with @prefix (up to @timeout_ms);
 * returns the rest of that line (g_free it) or NULL. */
static G_GNUC_UNUSED char *ts_read_line_with(int fd, const char *prefix,
                                             int timeout_ms) {
  GString *acc = g_string_new(NULL);
  char c;
  for (int waited = 0; waited < timeout_ms;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 50) <= 0) {
      waited += 50;
      continue;
    }
    if (read(fd, &c, 1) != 1)
      break;
    if (c != '\n') {
      g_string_append_c(acc, c);
      continue;
    }
    if (g_str_has_prefix(acc->str, prefix)) {
      char *r = g_strdup(acc->str + strlen(prefix));
      g_string_free(acc, TRUE);
      return r;
    }
    g_string_truncate(acc, 0);
  }
  g_string_free(acc, TRUE);
  return NULL;
}

#endif /* NL_TEST_STUN_SERVER_H */
