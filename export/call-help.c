/* The socket calls' reference card: timeline tooltips, and the card page
 * of a timeline on paper (PNG, PDF).  Facts from the Linux manual pages
 * (socket(7), accept(2), connect(2), recv(2), send(2), poll(2)). */
#include "export/call-help.h"

#include <string.h>

static const NlCallHelp calls[] = {
    {"socket", "int socket(int domain, int type, int protocol);",
     "socket.socket(AF_INET, SOCK_STREAM)", NULL,
     "EAFNOSUPPORT, EPROTONOSUPPORT, EMFILE",
     "SOCK_NONBLOCK in the type makes the new socket non-blocking"},
    {"bind", "int bind(int fd, const struct sockaddr *addr, socklen_t len);",
     "s.bind((host, port))", NULL, "EADDRINUSE, EADDRNOTAVAIL, EINVAL", NULL},
    {"listen", "int listen(int fd, int backlog);", "s.listen(backlog)", NULL,
     "EOPNOTSUPP (not a stream socket)", NULL},
    {"accept", "int accept(int fd, struct sockaddr *addr, socklen_t *len);",
     "conn, addr = s.accept()", "a connection in the listen queue",
     "EAGAIN (non-blocking), EMFILE, EINVAL (not listening)",
     "fails at once with EAGAIN/EWOULDBLOCK while no connection is queued; "
     "poll for POLLIN"},
    {"connect",
     "int connect(int fd, const struct sockaddr *addr, socklen_t len);",
     "s.connect((host, port))", "the three-way handshake",
     "ECONNREFUSED, ETIMEDOUT, ENETUNREACH, EINPROGRESS (non-blocking)",
     "fails at once with EINPROGRESS while the handshake runs; poll for "
     "POLLOUT, then read SO_ERROR with getsockopt()"},
    {"send", "ssize_t send(int fd, const void *buf, size_t len, int flags);",
     "s.send(data) / s.sendall(data)", "room in the send buffer",
     "EAGAIN (non-blocking), EPIPE (peer gone; SIGPIPE), ECONNRESET; may "
     "send fewer bytes than asked",
     "sends what fits and returns that count, or fails with "
     "EAGAIN/EWOULDBLOCK when the buffer is full; poll for POLLOUT"},
    {"sendto",
     "ssize_t sendto(int fd, const void *buf, size_t len, int flags, const "
     "struct sockaddr *to, socklen_t tolen);",
     "s.sendto(data, (host, port))", NULL,
     "EMSGSIZE, EDESTADDRREQ, ECONNREFUSED (a connected UDP socket)", NULL},
    {"recv", "ssize_t recv(int fd, void *buf, size_t len, int flags);",
     "data = s.recv(4096)", "at least one byte (TCP) or one datagram (UDP)",
     "EAGAIN (non-blocking or SO_RCVTIMEO), ECONNRESET; 0 means the peer "
     "closed; may return fewer bytes than sent in one send()",
     "fails at once with EAGAIN/EWOULDBLOCK when nothing has arrived; poll "
     "for POLLIN"},
    {"recvfrom",
     "ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct "
     "sockaddr *from, socklen_t *fromlen);",
     "data, addr = s.recvfrom(4096)", "one datagram",
     "EAGAIN (non-blocking or SO_RCVTIMEO), ECONNREFUSED",
     "fails at once with EAGAIN/EWOULDBLOCK when no datagram is queued"},
    {"close", "int close(int fd);", "s.close()", NULL,
     "EBADF; a TCP close sends FIN (RST with unread data)", NULL},
    {"shutdown", "int shutdown(int fd, int how);", "s.shutdown(SHUT_WR)", NULL,
     "ENOTCONN", NULL},
    {"poll", "int poll(struct pollfd *fds, nfds_t n, int timeout_ms);",
     "select.poll().poll(timeout)", "any descriptor ready, or the timeout",
     "EINVAL; POLLNVAL for a bad descriptor",
     "a timeout of 0 returns at once: polling in a loop busy-waits"},
    {"select",
     "int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval "
     "*timeout);",
     "select.select(r, w, e, timeout)", "any descriptor ready, or the timeout",
     "EBADF, EINVAL", NULL},
    {"epoll_wait",
     "int epoll_wait(int epfd, struct epoll_event *events, int max, int "
     "timeout_ms);",
     "select.epoll().poll(timeout)", "a registered descriptor ready",
     "EBADF, EINVAL", NULL},
    {"kqueue", "int kqueue(void);", "select.kqueue()", NULL,
     "EMFILE, ENFILE", NULL},
    {"kevent",
     "int kevent(int kq, const struct kevent *changes, int nchanges, struct "
     "kevent *events, int nevents, const struct timespec *timeout);",
     "kq.control(changes, max_events, timeout)",
     "a registered event (descriptor ready, timer), or the timeout",
     "EBADF, EINVAL, ENOENT (as EV_ERROR entries when the list has room)",
     NULL},
    {"io_uring_queue_init",
     "int io_uring_queue_init(unsigned entries, struct io_uring *ring, "
     "unsigned flags);",
     "(no standard module; asyncio uses epoll)", NULL,
     "-EINVAL, -EMFILE (returned, not in errno)", NULL},
    {"io_uring_submit", "int io_uring_submit(struct io_uring *ring);",
     "(no standard module)", NULL,
     "-EBADF; each entry's own error comes in its completion's res", NULL},
    {"io_uring_submit_and_wait",
     "int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr);",
     "(no standard module)", "wait_nr completions",
     "-EBADF; each entry's own error comes in its completion's res", NULL},
    {"io_uring_wait_cqe",
     "int io_uring_wait_cqe(struct io_uring *ring, struct io_uring_cqe "
     "**cqe);",
     "(no standard module)", "a completion",
     "-EBADF; the operation's result is cqe->res (-errno on failure)", NULL},
    {"fcntl", "int fcntl(int fd, int cmd, ... /* arg */);",
     "s.setblocking(False)", NULL, "EBADF, EINVAL",
     "F_SETFL with O_NONBLOCK makes every later call on the socket "
     "non-blocking"},
    {"getaddrinfo",
     "int getaddrinfo(const char *node, const char *service, const struct "
     "addrinfo *hints, struct addrinfo **res);",
     "socket.getaddrinfo(host, port)", NULL,
     "EAI_NONAME, EAI_SERVICE (a non-zero return, not errno)", NULL},
    {"pthread_create",
     "int pthread_create(pthread_t *t, const pthread_attr_t *attr, void "
     "*(*fn)(void *), void *arg);",
     "threading.Thread(target=fn).start()", NULL, "EAGAIN", NULL},
};

const NlCallHelp *nl_call_help_all(gsize *n) {
  *n = G_N_ELEMENTS(calls);
  return calls;
}

const NlCallHelp *nl_call_help_named(const char *name) {
  for (gsize i = 0; i < G_N_ELEMENTS(calls); i++)
    if (strcmp(calls[i].name, name) == 0)
      return &calls[i];
  return NULL;
}

const NlCallHelp *nl_call_help_for(const char *text, gsize len) {
  const char *paren = memchr(text, '(', len);
  if (paren == NULL)
    return NULL;
  gsize n = (gsize)(paren - text);
  for (gsize i = 0; i < G_N_ELEMENTS(calls); i++)
    if (strlen(calls[i].name) == n && memcmp(calls[i].name, text, n) == 0)
      return &calls[i];
  return NULL;
}
