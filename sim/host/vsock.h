/* The virtual sockets layer: calls named after POSIX, with POSIX
 * arguments in POSIX order, made by the thread @t of a simulated process.
 * Each returns >= 0 or -errno with Linux's values; blocking calls suspend
 * the calling coroutine in virtual time.  sim/host/posix.c turns these into
 * the exact POSIX signatures for programs built with natlab-cc.
 */
#ifndef NL_VSOCK_H
#define NL_VSOCK_H

#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "sim/host/host-priv.h"

G_BEGIN_DECLS

/* The host stack's network side, for proc.c: a node's packets for this
 * host arrive through nl__host_local_in (installed as the node's
 * local_in hook), and nl__vsock_stack_free releases the stack's sockets
 * state and TCP stack. */
void nl__host_local_in(void *data, NlNode *node, NlPacket *pkt);
void nl__vsock_stack_free(NlHostStack *h);

int nl_vsock_socket(NlThread *t, int domain, int type, int protocol);
int nl_vsock_bind(NlThread *t, int fd, const struct sockaddr *addr,
                  socklen_t len);
int nl_vsock_listen(NlThread *t, int fd, int backlog);
int nl_vsock_accept4(NlThread *t, int fd, struct sockaddr *addr,
                     socklen_t *len, int flags);
int nl_vsock_connect(NlThread *t, int fd, const struct sockaddr *addr,
                     socklen_t len);
ssize_t nl_vsock_sendto(NlThread *t, int fd, const void *buf, size_t len,
                        int flags, const struct sockaddr *addr,
                        socklen_t alen);
ssize_t nl_vsock_recvfrom(NlThread *t, int fd, void *buf, size_t len,
                          int flags, struct sockaddr *addr, socklen_t *alen);
ssize_t nl_vsock_sendmsg(NlThread *t, int fd, const struct msghdr *msg,
                         int flags);
ssize_t nl_vsock_recvmsg(NlThread *t, int fd, struct msghdr *msg, int flags);
ssize_t nl_vsock_read(NlThread *t, int fd, void *buf, size_t len);
ssize_t nl_vsock_write(NlThread *t, int fd, const void *buf, size_t len);
ssize_t nl_vsock_readv(NlThread *t, int fd, const struct iovec *iov, int n);
ssize_t nl_vsock_writev(NlThread *t, int fd, const struct iovec *iov, int n);
int nl_vsock_close(NlThread *t, int fd);
int nl_vsock_shutdown(NlThread *t, int fd, int how);
int nl_vsock_getsockname(NlThread *t, int fd, struct sockaddr *addr,
                         socklen_t *len);
int nl_vsock_getpeername(NlThread *t, int fd, struct sockaddr *addr,
                         socklen_t *len);
int nl_vsock_setsockopt(NlThread *t, int fd, int level, int name,
                        const void *val, socklen_t len);
int nl_vsock_getsockopt(NlThread *t, int fd, int level, int name, void *val,
                        socklen_t *len);
int nl_vsock_fcntl(NlThread *t, int fd, int cmd, long arg);
int nl_vsock_ioctl(NlThread *t, int fd, unsigned long req, void *arg);
int nl_vsock_poll(NlThread *t, struct pollfd *fds, nfds_t n, int timeout_ms);
int nl_vsock_select(NlThread *t, int nfds, fd_set *r, fd_set *w, fd_set *e,
                    struct timeval *timeout);
int nl_vsock_epoll_create1(NlThread *t, int flags);
int nl_vsock_epoll_ctl(NlThread *t, int epfd, int op, int fd,
                       struct epoll_event *ev);
int nl_vsock_epoll_wait(NlThread *t, int epfd, struct epoll_event *evs,
                        int max, int timeout_ms);
int nl_vsock_pipe2(NlThread *t, int fds[2], int flags);
int nl_vsock_socketpair(NlThread *t, int domain, int type, int protocol,
                        int sv[2]);
int nl_vsock_dup3(NlThread *t, int oldfd, int newfd, int flags);

G_END_DECLS

#endif
