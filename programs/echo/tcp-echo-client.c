/* tcp-echo-client [--timeout SECONDS] [HOST [PORT [MESSAGE...]]]: the
 * textbook's TCP client (§14.4): connect to HOST:PORT (127.0.0.1:8080 by
 * default), send MESSAGE and a newline ("hello, server" by default), read
 * until as many bytes came back, print "Server replied: ..." and close.
 * Exits 0 only if the echo came back whole.  --timeout bounds the connect
 * and each read (the chapter's advice: a timeout on every blocking call);
 * without it they wait as long as the system does.  Plain POSIX; no
 * mutable globals. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* connect() with a timeout in milliseconds (< 0: none): non-blocking
 * connect, then poll for writability, then SO_ERROR. */
static int connect_within(int fd, const struct sockaddr *sa, socklen_t len,
                          int ms) {
  if (ms < 0)
    return connect(fd, sa, len);
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int rc = connect(fd, sa, len);
  if (rc < 0 && errno == EINPROGRESS) {
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    rc = poll(&p, 1, ms);
    if (rc == 0) {
      errno = ETIMEDOUT;
      rc = -1;
    } else if (rc > 0) {
      int err = 0;
      socklen_t elen = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
      errno = err;
      rc = err ? -1 : 0;
    }
  }
  int saved = errno;
  fcntl(fd, F_SETFL, flags);
  errno = saved;
  return rc;
}

int main(int argc, char **argv) {
  int i = 1, timeout_ms = -1;
  if (i + 1 < argc && strcmp(argv[i], "--timeout") == 0) {
    char *end;
    double s = strtod(argv[i + 1], &end);
    if (*end != '\0' || s <= 0 || s > 86400) {
      fprintf(stderr, "tcp-echo-client: bad --timeout '%s'\n", argv[i + 1]);
      return 2;
    }
    timeout_ms = (int)(s * 1000);
    i += 2;
  }
  const char *host = i < argc ? argv[i++] : "127.0.0.1";
  const char *port = i < argc ? argv[i++] : "8080";
  char msg[4096] = "";
  for (; i < argc; i++) {
    if (msg[0] != '\0')
      strncat(msg, " ", sizeof msg - strlen(msg) - 1);
    strncat(msg, argv[i], sizeof msg - strlen(msg) - 1);
  }
  if (msg[0] == '\0')
    strcpy(msg, "hello, server");
  strncat(msg, "\n", sizeof msg - strlen(msg) - 1);
  size_t len = strlen(msg);

  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int e = getaddrinfo(host, port, &hints, &res);
  if (e != 0) {
    fprintf(stderr, "%s: %s\n", host, gai_strerror(e));
    return 1;
  }
  int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (fd < 0) {
    perror("socket");
    freeaddrinfo(res);
    return 1;
  }
  if (connect_within(fd, res->ai_addr, res->ai_addrlen, timeout_ms) < 0) {
    fprintf(stderr, "connect to %s port %s: %s\n", host, port,
            strerror(errno));
    freeaddrinfo(res);
    close(fd);
    return 1;
  }
  freeaddrinfo(res);
  if (timeout_ms >= 0) {
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  for (size_t off = 0; off < len;) {
    ssize_t n = send(fd, msg + off, len - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      perror("send");
      close(fd);
      return 1;
    }
    off += (size_t)n;
  }
  /* The echo may come back in pieces: read until it is all here. */
  char reply[4096];
  size_t got = 0;
  while (got < len) {
    ssize_t n = recv(fd, reply + got, sizeof reply - 1 - got, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      perror("recv");
      break;
    }
    if (n == 0)
      break; /* the server closed */
    got += (size_t)n;
  }
  reply[got] = '\0';
  printf("Server replied: %s%s", reply,
         got > 0 && reply[got - 1] == '\n' ? "" : "\n");
  close(fd);
  return got == len && memcmp(reply, msg, len) == 0 ? 0 : 1;
}
