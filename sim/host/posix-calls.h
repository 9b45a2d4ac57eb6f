/* The POSIX surface natlab answers, as one list.  From it come the
 * prototypes of the nl_posix_* face (sim/host/posix.h), the link-time shim
 * that natlab-cc links into programs (sim/host/shim.c), and the coverage table
 * (docs/posix-coverage.md).  Calls with variable arguments (fcntl, ioctl,
 * printf...) are written out by hand in both places.
 *
 * X(return type, name, (parameters), (arguments))
 */
#define NL_POSIX_CALLS(X)                                                      \
  X(int, socket, (int domain, int type, int protocol), (domain, type, protocol)) \
  X(int, bind, (int fd, const struct sockaddr *addr, socklen_t len),            \
    (fd, addr, len))                                                           \
  X(int, listen, (int fd, int backlog), (fd, backlog))                         \
  X(int, accept, (int fd, struct sockaddr *addr, socklen_t *len),              \
    (fd, addr, len))                                                           \
  X(int, accept4, (int fd, struct sockaddr *addr, socklen_t *len, int flags),  \
    (fd, addr, len, flags))                                                    \
  X(int, connect, (int fd, const struct sockaddr *addr, socklen_t len),        \
    (fd, addr, len))                                                           \
  X(ssize_t, send, (int fd, const void *buf, size_t len, int flags),           \
    (fd, buf, len, flags))                                                     \
  X(ssize_t, recv, (int fd, void *buf, size_t len, int flags),                 \
    (fd, buf, len, flags))                                                     \
  X(ssize_t, sendto,                                                           \
    (int fd, const void *buf, size_t len, int flags,                           \
     const struct sockaddr *addr, socklen_t alen),                             \
    (fd, buf, len, flags, addr, alen))                                         \
  X(ssize_t, recvfrom,                                                         \
    (int fd, void *buf, size_t len, int flags, struct sockaddr *addr,          \
     socklen_t *alen),                                                         \
    (fd, buf, len, flags, addr, alen))                                         \
  X(ssize_t, sendmsg, (int fd, const struct msghdr *msg, int flags),           \
    (fd, msg, flags))                                                          \
  X(ssize_t, recvmsg, (int fd, struct msghdr *msg, int flags), (fd, msg, flags)) \
  X(ssize_t, read, (int fd, void *buf, size_t len), (fd, buf, len))            \
  X(ssize_t, write, (int fd, const void *buf, size_t len), (fd, buf, len))     \
  X(ssize_t, readv, (int fd, const struct iovec *iov, int n), (fd, iov, n))    \
  X(ssize_t, writev, (int fd, const struct iovec *iov, int n), (fd, iov, n))   \
  X(int, close, (int fd), (fd))                                                \
  X(int, shutdown, (int fd, int how), (fd, how))                               \
  X(int, getsockname, (int fd, struct sockaddr *addr, socklen_t *len),         \
    (fd, addr, len))                                                           \
  X(int, getpeername, (int fd, struct sockaddr *addr, socklen_t *len),         \
    (fd, addr, len))                                                           \
  X(int, setsockopt,                                                           \
    (int fd, int level, int name, const void *val, socklen_t len),             \
    (fd, level, name, val, len))                                               \
  X(int, getsockopt,                                                           \
    (int fd, int level, int name, void *val, socklen_t *len),                  \
    (fd, level, name, val, len))                                               \
  X(int, poll, (struct pollfd *fds, nfds_t n, int timeout), (fds, n, timeout)) \
  X(int, select,                                                               \
    (int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *timeout),      \
    (nfds, r, w, e, timeout))                                                  \
  X(int, epoll_create, (int size), (size))                                     \
  X(int, epoll_create1, (int flags), (flags))                                  \
  X(int, epoll_ctl, (int epfd, int op, int fd, struct epoll_event *ev),        \
    (epfd, op, fd, ev))                                                        \
  X(int, epoll_wait,                                                           \
    (int epfd, struct epoll_event *evs, int max, int timeout),                 \
    (epfd, evs, max, timeout))                                                 \
  X(int, kqueue, (void), ())                                                   \
  X(int, kevent,                                                               \
    (int kq, const struct kevent *changes, int nchanges,                       \
     struct kevent *events, int nevents, const struct timespec *timeout),      \
    (kq, changes, nchanges, events, nevents, timeout))                         \
  X(int, io_uring_queue_init,                                                  \
    (unsigned entries, struct io_uring *ring, unsigned flags),                 \
    (entries, ring, flags))                                                    \
  X(int, io_uring_queue_init_params,                                           \
    (unsigned entries, struct io_uring *ring, struct io_uring_params *p),      \
    (entries, ring, p))                                                        \
  X(int, io_uring_submit, (struct io_uring *ring), (ring))                     \
  X(int, io_uring_submit_and_wait, (struct io_uring *ring, unsigned wait_nr),  \
    (ring, wait_nr))                                                           \
  X(int, io_uring_submit_and_wait_timeout,                                     \
    (struct io_uring *ring, struct io_uring_cqe **cqe_ptr, unsigned wait_nr,   \
     struct __kernel_timespec *ts, sigset_t *sigmask),                         \
    (ring, cqe_ptr, wait_nr, ts, sigmask))                                     \
  X(int, io_uring_wait_cqes,                                                   \
    (struct io_uring *ring, struct io_uring_cqe **cqe_ptr, unsigned wait_nr,   \
     struct __kernel_timespec *ts, sigset_t *sigmask),                         \
    (ring, cqe_ptr, wait_nr, ts, sigmask))                                     \
  X(int, io_uring_wait_cqe_timeout,                                            \
    (struct io_uring *ring, struct io_uring_cqe **cqe_ptr,                     \
     struct __kernel_timespec *ts),                                            \
    (ring, cqe_ptr, ts))                                                       \
  X(unsigned, io_uring_peek_batch_cqe,                                         \
    (struct io_uring *ring, struct io_uring_cqe **cqes, unsigned count),       \
    (ring, cqes, count))                                                       \
  X(int, __io_uring_get_cqe,                                                   \
    (struct io_uring *ring, struct io_uring_cqe **cqe_ptr, unsigned submit,    \
     unsigned wait_nr, sigset_t *sigmask),                                     \
    (ring, cqe_ptr, submit, wait_nr, sigmask))                                 \
  X(int, io_uring_get_events, (struct io_uring *ring), (ring))                 \
  X(int, io_uring_submit_and_get_events, (struct io_uring *ring), (ring))      \
  X(int, io_uring_ring_dontfork, (struct io_uring *ring), (ring))              \
  X(int, io_uring_register_ring_fd, (struct io_uring *ring), (ring))           \
  X(int, io_uring_unregister_ring_fd, (struct io_uring *ring), (ring))         \
  X(struct io_uring_probe *, io_uring_get_probe_ring, (struct io_uring *ring), \
    (ring))                                                                    \
  X(struct io_uring_probe *, io_uring_get_probe, (void), ())                   \
  X(ssize_t, io_uring_mlock_size, (unsigned entries, unsigned flags),          \
    (entries, flags))                                                          \
  X(ssize_t, io_uring_mlock_size_params,                                       \
    (unsigned entries, struct io_uring_params *p), (entries, p))               \
  X(int, pipe, (int fds[2]), (fds))                                            \
  X(int, pipe2, (int fds[2], int flags), (fds, flags))                         \
  X(int, socketpair, (int domain, int type, int protocol, int sv[2]),          \
    (domain, type, protocol, sv))                                              \
  X(int, dup, (int fd), (fd))                                                  \
  X(int, dup2, (int fd, int fd2), (fd, fd2))                                   \
  X(int, getaddrinfo,                                                          \
    (const char *node, const char *service, const struct addrinfo *hints,      \
     struct addrinfo **res),                                                   \
    (node, service, hints, res))                                               \
  X(int, getnameinfo,                                                          \
    (const struct sockaddr *sa, socklen_t salen, char *host,                   \
     socklen_t hostlen, char *serv, socklen_t servlen, int flags),             \
    (sa, salen, host, hostlen, serv, servlen, flags))                          \
  X(struct hostent *, gethostbyname, (const char *name), (name))               \
  X(int, getifaddrs, (struct ifaddrs **ifap), (ifap))                          \
  X(unsigned int, if_nametoindex, (const char *name), (name))                  \
  X(char *, if_indextoname, (unsigned int index, char name[IF_NAMESIZE]), (index, name))   \
  X(int, clock_gettime, (clockid_t clk, struct timespec *ts), (clk, ts))       \
  X(int, gettimeofday, (struct timeval *tv, void *tz), (tv, tz))               \
  X(time_t, time, (time_t *t), (t))                                            \
  X(unsigned int, sleep, (unsigned int s), (s))                                \
  X(int, usleep, (useconds_t us), (us))                                        \
  X(int, nanosleep, (const struct timespec *req, struct timespec *rem),        \
    (req, rem))                                                                \
  X(int, clock_nanosleep,                                                      \
    (clockid_t clk, int flags, const struct timespec *req,                     \
     struct timespec *rem),                                                    \
    (clk, flags, req, rem))                                                    \
  X(ssize_t, getrandom, (void *buf, size_t len, unsigned int flags),           \
    (buf, len, flags))                                                         \
  X(int, rand, (void), ())                                                     \
  X(long, random, (void), ())                                                  \
  X(pid_t, getpid, (void), ())                                                 \
  X(sighandler_t, signal, (int sig, sighandler_t h), (sig, h))                 \
  X(int, sigaction,                                                            \
    (int sig, const struct sigaction *act, struct sigaction *old),             \
    (sig, act, old))                                                           \
  X(int, sigprocmask, (int how, const sigset_t *set, sigset_t *old),          \
    (how, set, old))                                                           \
  X(int, pthread_sigmask, (int how, const sigset_t *set, sigset_t *old),      \
    (how, set, old))                                                           \
  X(int, raise, (int sig), (sig))                                              \
  X(void *, malloc, (size_t n), (n))                                           \
  X(void *, calloc, (size_t n, size_t size), (n, size))                        \
  X(void *, realloc, (void *p, size_t n), (p, n))                              \
  X(char *, strdup, (const char *s), (s))                                      \
  X(char *, strndup, (const char *s, size_t n), (s, n))                        \
  X(int, pthread_create,                                                       \
    (pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),           \
     void *arg),                                                               \
    (th, attr, fn, arg))                                                       \
  X(int, pthread_join, (pthread_t th, void **ret), (th, ret))                  \
  X(int, pthread_detach, (pthread_t th), (th))                                 \
  X(pthread_t, pthread_self, (void), ())                                       \
  X(int, pthread_equal, (pthread_t a, pthread_t b), (a, b))                    \
  X(int, pthread_mutex_init,                                                   \
    (pthread_mutex_t *m, const pthread_mutexattr_t *a), (m, a))                \
  X(int, pthread_mutex_destroy, (pthread_mutex_t *m), (m))                     \
  X(int, pthread_mutex_lock, (pthread_mutex_t *m), (m))                        \
  X(int, pthread_mutex_trylock, (pthread_mutex_t *m), (m))                     \
  X(int, pthread_mutex_unlock, (pthread_mutex_t *m), (m))                      \
  X(int, pthread_cond_init, (pthread_cond_t *c, const pthread_condattr_t *a),  \
    (c, a))                                                                    \
  X(int, pthread_cond_destroy, (pthread_cond_t *c), (c))                       \
  X(int, pthread_cond_wait, (pthread_cond_t *c, pthread_mutex_t *m), (c, m))   \
  X(int, pthread_cond_timedwait,                                               \
    (pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime),   \
    (c, m, abstime))                                                           \
  X(int, pthread_cond_signal, (pthread_cond_t *c), (c))                        \
  X(int, pthread_cond_broadcast, (pthread_cond_t *c), (c))                     \
  X(int, pthread_once, (pthread_once_t *once, void (*fn)(void)), (once, fn))   \
  X(int, sched_yield, (void), ())                                              \
  X(int, sem_init, (sem_t *s, int pshared, unsigned value), (s, pshared, value)) \
  X(int, sem_destroy, (sem_t *s), (s))                                         \
  X(int, sem_post, (sem_t *s), (s))                                            \
  X(int, sem_getvalue, (sem_t *s, int *value), (s, value))                     \
  X(int, sem_wait, (sem_t *s), (s))                                            \
  X(int, sem_trywait, (sem_t *s), (s))                                         \
  X(int, sem_timedwait, (sem_t *s, const struct timespec *abstime),            \
    (s, abstime))                                                              \
  X(int, sem_clockwait,                                                        \
    (sem_t *s, clockid_t clk, const struct timespec *abstime),                 \
    (s, clk, abstime))                                                         \
  X(int, puts, (const char *s), (s))                                           \
  X(int, putchar, (int c), (c))                                                \
  X(int, getchar, (void), ())                                                  \
  X(int, vprintf, (const char *fmt, va_list ap), (fmt, ap))                    \

/* The calls that return nothing: X(name, (parameters), (arguments)) */
#define NL_POSIX_VOID_CALLS(X)                                                 \
  X(freeaddrinfo, (struct addrinfo *res), (res))                         \
  X(freeifaddrs, (struct ifaddrs *ifa), (ifa))                           \
  X(srand, (unsigned int seed), (seed))                                  \
  X(srandom, (unsigned int seed), (seed))                                \
  X(free, (void *p), (p))                                                \
  X(io_uring_queue_exit, (struct io_uring *ring), (ring))                \
  X(io_uring_free_probe, (struct io_uring_probe *p), (p))                \
  X(perror, (const char *s), (s))                                        \
  X(vwarn, (const char *fmt, va_list ap), (fmt, ap))                     \
  X(vwarnx, (const char *fmt, va_list ap), (fmt, ap))

/* Calls that are never answered are listed in sim/host/posix-refused.txt:
 * natlab-cc refuses to build a program that uses one, naming it. */
