/* The graded tests' client for the echo-server assignment (the
 * instructor's program, not the student's).  Every wait is bounded, and
 * every outcome is one line on stdout that the tests look for.
 *
 *   echo-tester HOST PORT lines N SIZE     one connection, N lines of SIZE
 *                                          bytes, one at a time
 *   echo-tester HOST PORT concurrent C SIZE
 *                                          C connections open at once, one
 *                                          line on each, all echoes awaited
 *                                          together
 *   echo-tester HOST PORT split            lines cut into pieces, several
 *                                          lines in one send(), a 10,000-byte
 *                                          line
 *   echo-tester HOST PORT slow N SIZE      a small receive buffer, N lines of
 *                                          SIZE bytes, echoes read slowly
 *   echo-tester HOST PORT restart          one line, then wait for the server
 *                                          to go away, then one line to the
 *                                          restarted server
 *   echo-tester HOST PORT sequential N     N connections one after another;
 *                                          every second one ends with a reset
 *
 * Plain POSIX C: builds with cc for the real OS too.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 3000 /* for one echo */

static struct addrinfo *server;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Line @l of client @c: SIZE letters and a newline, different for every
 * client and line so that a mixed-up echo is seen. */
static char *make_line(int c, int l, size_t size) {
  char *s = malloc(size + 1);
  for (size_t i = 0; i < size; i++)
    s[i] = (char)('a' + (c * 7 + l * 3 + (int)(i % 9973)) % 26);
  s[size] = '\n';
  return s;
}

static int connect_server(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, server->ai_addr, server->ai_addrlen) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static int send_all(int fd, const char *b, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    b += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Waits up to @ms for the @n bytes of @want.  Returns 0, or -1 with a
 * message in @why. */
static int expect_echo(int fd, const char *want, size_t n, int ms, char *why,
                       size_t why_len) {
  char buf[8192];
  size_t got = 0;
  long long end = now_ms() + ms;
  while (got < n) {
    long long left = end - now_ms();
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = left > 0 ? poll(&p, 1, (int)left) : 0;
    if (r == 0) {
      snprintf(why, why_len, "no whole echo within %d ms (got %zu of %zu bytes)",
               ms, got, n);
      return -1;
    }
    if (r < 0)
      continue;
    size_t want_now = n - got < sizeof buf ? n - got : sizeof buf;
    ssize_t k = recv(fd, buf, want_now, 0);
    if (k == 0) {
      snprintf(why, why_len,
               "the server closed the connection (got %zu of %zu bytes)", got,
               n);
      return -1;
    }
    if (k < 0) {
      snprintf(why, why_len, "recv: %s (got %zu of %zu bytes)",
               strerror(errno), got, n);
      return -1;
    }
    for (ssize_t i = 0; i < k; i++)
      if (buf[i] != want[got + (size_t)i]) {
        snprintf(why, why_len,
                 "wrong echo: byte %zu is %d, expected %d", got + (size_t)i,
                 (unsigned char)buf[i], (unsigned char)want[got + (size_t)i]);
        return -1;
      }
    got += (size_t)k;
  }
  return 0;
}

static int mode_lines(int n, size_t size) {
  int fd = connect_server();
  if (fd < 0) {
    printf("connect: %s\n", strerror(errno));
    return 1;
  }
  char why[160];
  for (int l = 0; l < n; l++) {
    char *line = make_line(0, l, size);
    if (send_all(fd, line, size + 1) < 0 ||
        expect_echo(fd, line, size + 1, WAIT_MS, why, sizeof why) < 0) {
      if (errno == EPIPE || errno == ECONNRESET)
        snprintf(why, sizeof why, "send: %s", strerror(errno));
      printf("line %d: %s\n", l + 1, why);
      free(line);
      close(fd);
      return 1;
    }
    free(line);
  }
  close(fd);
  printf("%d/%d echoes ok\n", n, n);
  return 0;
}

static int mode_concurrent(int c, size_t size) {
  int *fds = calloc((size_t)c, sizeof *fds);
  size_t *got = calloc((size_t)c, sizeof *got);
  char **lines = calloc((size_t)c, sizeof *lines);
  struct pollfd *p = calloc((size_t)c, sizeof *p);
  for (int i = 0; i < c; i++) {
    if ((fds[i] = connect_server()) < 0) {
      printf("client %d: connect: %s\n", i + 1, strerror(errno));
      return 1;
    }
  }
  /* Every client is connected before any sends: a server that serves one
   * client at a time waits for the first to leave, which never happens. */
  for (int i = 0; i < c; i++) {
    lines[i] = make_line(i, 0, size);
    if (send_all(fds[i], lines[i], size + 1) < 0) {
      printf("client %d: send: %s\n", i + 1, strerror(errno));
      return 1;
    }
  }
  int done = 0;
  long long end = now_ms() + WAIT_MS;
  char buf[4096];
  while (done < c) {
    int n = 0;
    for (int i = 0; i < c; i++)
      if (got[i] < size + 1)
        p[n++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    long long left = end - now_ms();
    int r = left > 0 ? poll(p, (nfds_t)n, (int)left) : 0;
    if (r == 0)
      break;
    for (int j = 0, i = 0; j < n; j++) {
      while (fds[i] != p[j].fd)
        i++;
      if (p[j].revents == 0)
        continue;
      size_t want = size + 1 - got[i];
      ssize_t k = recv(fds[i], buf, want < sizeof buf ? want : sizeof buf, 0);
      if (k <= 0) {
        printf("client %d: %s after %zu of %zu bytes\n", i + 1,
               k == 0 ? "the server closed the connection" : strerror(errno),
               got[i], size + 1);
        return 1;
      }
      if (memcmp(buf, lines[i] + got[i], (size_t)k) != 0) {
        printf("client %d: wrong echo\n", i + 1);
        return 1;
      }
      got[i] += (size_t)k;
      if (got[i] == size + 1)
        done++;
    }
  }
  for (int i = 0; i < c; i++) {
    close(fds[i]);
    free(lines[i]);
  }
  if (done < c) {
    printf("only %d of %d clients got their echo within %d ms\n", done, c,
           WAIT_MS);
    return 1;
  }
  printf("%d/%d clients echoed at once\n", c, c);
  free(fds);
  free(got);
  free(lines);
  free(p);
  return 0;
}

static int mode_split(void) {
  int fd = connect_server();
  if (fd < 0) {
    printf("connect: %s\n", strerror(errno));
    return 1;
  }
  int on = 1; /* every piece in its own segment */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  char why[160];
  /* 1. A 1,000-byte line in ten pieces, 20 ms apart. */
  char *a = make_line(1, 0, 999);
  for (int i = 0; i < 10; i++) {
    send_all(fd, a + i * 100, 100);
    pause_ms(20);
  }
  if (expect_echo(fd, a, 1000, WAIT_MS, why, sizeof why) < 0) {
    printf("a line sent in ten pieces: %s\n", why);
    return 1;
  }
  /* 2. Three lines in one send(). */
  const char *three = "first\nsecond line\nthird\n";
  send_all(fd, three, strlen(three));
  if (expect_echo(fd, three, strlen(three), WAIT_MS, why, sizeof why) < 0) {
    printf("three lines in one send(): %s\n", why);
    return 1;
  }
  /* 3. A line and the start of the next in one send(), the rest later. */
  const char *part1 = "one more\nand the", *part2 = " rest of it\n";
  send_all(fd, part1, strlen(part1));
  pause_ms(50);
  send_all(fd, part2, strlen(part2));
  if (expect_echo(fd, "one more\nand the rest of it\n", 28, WAIT_MS, why,
                  sizeof why) < 0) {
    printf("a line ending in the next send(): %s\n", why);
    return 1;
  }
  /* 4. A 10,000-byte line in one send(): many segments on the way (but
   * one send() of the echo fits the server's send buffer). */
  char *b = make_line(2, 0, 10000);
  send_all(fd, b, 10001);
  if (expect_echo(fd, b, 10001, WAIT_MS, why, sizeof why) < 0) {
    printf("a 10000-byte line: %s\n", why);
    return 1;
  }
  close(fd);
  free(a);
  free(b);
  printf("split: every line echoed whole\n");
  return 0;
}

static int mode_slow(int n, size_t size) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int small = 2048; /* Linux doubles it: 4 KiB */
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  if (connect(fd, server->ai_addr, server->ai_addrlen) < 0) {
    printf("connect: %s\n", strerror(errno));
    return 1;
  }
  /* N lines one after another, sent as fast as the server takes them; the
   * echoes are read not at all for 2 s, then 2,000 bytes every 10 ms.  The
   * server's send() soon finds its buffer full and takes only part of an
   * echo.  Sending and reading are interleaved, so the test itself never
   * waits on a full buffer. */
  size_t total = (size + 1) * (size_t)n;
  char *all = malloc(total);
  for (int l = 0; l < n; l++) {
    char *line = make_line(3, l, size);
    memcpy(all + (size + 1) * (size_t)l, line, size + 1);
    free(line);
  }
  size_t sent = 0, got = 0;
  long long start = now_ms(), end = start + 2000 + WAIT_MS;
  char buf[2000];
  while (got < total && now_ms() < end) {
    int reading = now_ms() >= start + 2000;
    struct pollfd p = {.fd = fd, .events = sent < total ? POLLOUT : 0};
    poll(&p, 1, 10);
    if (p.revents & POLLOUT) {
      ssize_t k = send(fd, all + sent, total - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (k > 0)
        sent += (size_t)k;
    }
    if (!reading)
      continue;
    ssize_t k = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (k == 0)
      break;
    if (k > 0) {
      if (memcmp(buf, all + got, (size_t)k) != 0) {
        printf("slow reader: wrong echo after %zu bytes\n", got);
        return 1;
      }
      got += (size_t)k;
    }
  }
  if (got < total) {
    printf("slow reader: the echo stopped after %zu of %zu bytes\n", got,
           total);
    return 1;
  }
  /* The connection still works. */
  char why[160];
  send_all(fd, "still there?\n", 13);
  if (expect_echo(fd, "still there?\n", 13, WAIT_MS, why, sizeof why) < 0) {
    printf("slow reader: after the long echoes: %s\n", why);
    return 1;
  }
  close(fd);
  free(all);
  printf("slow reader: %d echoes of %zu bytes complete\n", n, size + 1);
  return 0;
}

static int mode_restart(void) {
  char why[160];
  int fd = connect_server();
  if (fd < 0) {
    printf("connect: %s\n", strerror(errno));
    return 1;
  }
  send_all(fd, "before\n", 7);
  if (expect_echo(fd, "before\n", 7, WAIT_MS, why, sizeof why) < 0) {
    printf("before the restart: %s\n", why);
    return 1;
  }
  /* The server is stopped while this connection is open: wait for its end
   * of file, then close our side. */
  char c;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  if (poll(&p, 1, 3 * WAIT_MS) != 1 || recv(fd, &c, 1, 0) != 0) {
    printf("the server did not close the connection\n");
    return 1;
  }
  close(fd);
  pause_ms(500);
  fd = connect_server();
  if (fd < 0) {
    printf("after the restart: connect: %s\n", strerror(errno));
    return 1;
  }
  send_all(fd, "after\n", 6);
  if (expect_echo(fd, "after\n", 6, WAIT_MS, why, sizeof why) < 0) {
    printf("after the restart: %s\n", why);
    return 1;
  }
  close(fd);
  printf("restart: the restarted server echoed\n");
  return 0;
}

static int mode_sequential(int n) {
  char why[160];
  for (int i = 0; i < n; i++) {
    int fd = connect_server();
    if (fd < 0) {
      printf("client %d: connect: %s\n", i + 1, strerror(errno));
      return 1;
    }
    char *line = make_line(i, 0, 50);
    send_all(fd, line, 51);
    if (expect_echo(fd, line, 51, WAIT_MS, why, sizeof why) < 0) {
      printf("client %d: %s\n", i + 1, why);
      return 1;
    }
    free(line);
    if (i % 2 == 1) {
      /* Leave with a reset, as a crashed client does: the server's next
       * recv() fails (ECONNRESET) instead of returning 0. */
      struct linger lg = {.l_onoff = 1, .l_linger = 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(fd);
  }
  printf("%d/%d clients served one after another\n", n, n);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: echo-tester HOST PORT MODE [ARGS]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  int e = getaddrinfo(argv[1], argv[2], &hints, &server);
  if (e != 0) {
    printf("%s: %s\n", argv[1], gai_strerror(e));
    return 1;
  }
  const char *m = argv[3];
  int a = argc > 4 ? atoi(argv[4]) : 0, b = argc > 5 ? atoi(argv[5]) : 0;
  if (strcmp(m, "lines") == 0 && argc == 6)
    return mode_lines(a, (size_t)b);
  if (strcmp(m, "concurrent") == 0 && argc == 6)
    return mode_concurrent(a, (size_t)b);
  if (strcmp(m, "split") == 0)
    return mode_split();
  if (strcmp(m, "slow") == 0 && argc == 6)
    return mode_slow(a, (size_t)b);
  if (strcmp(m, "restart") == 0)
    return mode_restart();
  if (strcmp(m, "sequential") == 0 && argc == 5)
    return mode_sequential(a);
  fprintf(stderr, "echo-tester: unknown mode or arguments\n");
  return 2;
}
