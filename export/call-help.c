/* The socket calls' reference card, for timeline tooltips. */
#include "export/call-help.h"

#include <string.h>

static const NlCallHelp calls[] = {
  {"socket", "int socket(int domain, int type, int protocol);",
   "socket.socket(AF_INET, SOCK_STREAM)", NULL,
   "EAFNOSUPPORT, EPROTONOSUPPORT, EMFILE"},
  {"bind", "int bind(int fd, const struct sockaddr *addr, socklen_t len);",
   "s.bind((host, port))", NULL, "EADDRINUSE, EADDRNOTAVAIL, EINVAL"},
  {"listen", "int listen(int fd, int backlog);", "s.listen(backlog)", NULL,
   "EOPNOTSUPP (not a stream socket)"},
  {"accept",
   "int accept(int fd, struct sockaddr *addr, socklen_t *len);",
   "conn, addr = s.accept()", "a connection in the listen queue",
   "EAGAIN (non-blocking), EMFILE, EINVAL (not listening)"},
  {"connect",
   "int connect(int fd, const struct sockaddr *addr, socklen_t len);",
   "s.connect((host, port))", "the three-way handshake",
   "ECONNREFUSED, ETIMEDOUT, ENETUNREACH, EINPROGRESS (non-blocking)"},
  {"send", "ssize_t send(int fd, const void *buf, size_t len, int flags);",
   "s.send(data) / s.sendall(data)", "room in the send buffer",
   "EAGAIN (non-blocking), EPIPE (peer gone; SIGPIPE), ECONNRESET; may "
   "send fewer bytes than asked"},
  {"sendto",
   "ssize_t sendto(int fd, const void *buf, size_t len, int flags, const "
   "struct sockaddr *to, socklen_t tolen);",
   "s.sendto(data, (host, port))", NULL,
   "EMSGSIZE, EDESTADDRREQ, ECONNREFUSED (a connected UDP socket)"},
  {"recv", "ssize_t recv(int fd, void *buf, size_t len, int flags);",
   "data = s.recv(4096)", "at least one byte (TCP) or one datagram (UDP)",
   "EAGAIN (non-blocking or SO_RCVTIMEO), ECONNRESET; 0 means the peer "
   "closed; may return fewer bytes than sent in one send()"},
  {"recvfrom",
   "ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct "
   "sockaddr *from, socklen_t *fromlen);",
   "data, addr = s.recvfrom(4096)", "one datagram",
   "EAGAIN (non-blocking or SO_RCVTIMEO), ECONNREFUSED"},
  {"close", "int close(int fd);", "s.close()", NULL,
   "EBADF; a TCP close sends FIN (RST with unread data)"},
  {"shutdown", "int shutdown(int fd, int how);", "s.shutdown(SHUT_WR)", NULL,
   "ENOTCONN"},
  {"poll", "int poll(struct pollfd *fds, nfds_t n, int timeout_ms);",
   "select.poll().poll(timeout)", "any descriptor ready, or the timeout",
   "EINVAL; POLLNVAL for a bad descriptor"},
  {"select",
   "int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval "
   "*timeout);",
   "select.select(r, w, e, timeout)", "any descriptor ready, or the timeout",
   "EBADF, EINVAL"},
  {"epoll_wait",
   "int epoll_wait(int epfd, struct epoll_event *events, int max, int "
   "timeout_ms);",
   "select.epoll().poll(timeout)", "a registered descriptor ready",
   "EBADF, EINVAL"},
  {"kqueue", "int kqueue(void);", "select.kqueue()", NULL,
   "EMFILE, ENFILE"},
  {"kevent",
   "int kevent(int kq, const struct kevent *changes, int nchanges, struct "
   "kevent *events, int nevents, const struct timespec *timeout);",
   "kq.control(changes, max_events, timeout)",
   "a registered event (descriptor ready, timer), or the timeout",
   "EBADF, EINVAL, ENOENT (as EV_ERROR entries when the list has room)"},
  {"io_uring_queue_init",
   "int io_uring_queue_init(unsigned entries, struct io_uring *ring, "
   "unsigned flags);",
   "(no standard module; asyncio uses epoll)", NULL,
   "-EINVAL, -EMFILE (returned, not in errno)"},
  {"io_uring_submit", "int io_uring_submit(struct io_uring *ring);",
   "(no standard module)", NULL,
   "-EBADF; each entry's own error comes in its completion's res"},
  {"io_uring_submit_and_wait",
   "int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr);",
   "(no standard module)", "wait_nr completions",
   "-EBADF; each entry's own error comes in its completion's res"},
  {"io_uring_wait_cqe",
   "int io_uring_wait_cqe(struct io_uring *ring, struct io_uring_cqe "
   "**cqe);",
   "(no standard module)", "a completion",
   "-EBADF; the operation's result is cqe->res (-errno on failure)"},
  {"fcntl", "int fcntl(int fd, int cmd, ... /* arg */);",
   "s.setblocking(False)", NULL, "EBADF, EINVAL"},
  {"getaddrinfo",
   "int getaddrinfo(const char *node, const char *service, const struct "
   "addrinfo *hints, struct addrinfo **res);",
   "socket.getaddrinfo(host, port)", NULL,
   "EAI_NONAME, EAI_SERVICE (a non-zero return, not errno)"},
  {"pthread_create",
   "int pthread_create(pthread_t *t, const pthread_attr_t *attr, void "
   "*(*fn)(void *), void *arg);",
   "threading.Thread(target=fn).start()", NULL, "EAGAIN"},
};

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
