/* kqueue and kevent as FreeBSD's kqueue(2) manual documents them.  Linux
 * has no kqueue, so this program runs in the lab only; each check states
 * the manual's behaviour (quoted where it is precise).  Sockets talk over
 * 127.0.0.1 on the one host. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/event.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static struct sockaddr_in loopback(uint16_t port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int udp_bound(uint16_t port) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = loopback(port);
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0)
    return -1;
  return s;
}

static void send_to(int s, uint16_t port, const char *text) {
  struct sockaddr_in a = loopback(port);
  sendto(s, text, strlen(text), 0, (struct sockaddr *)&a, sizeof a);
}

static const struct timespec zero = {0, 0};

/* kevent with no changes and a zero timeout: what is ready now. */
static int ready(int kq, struct kevent *out, int max) {
  return kevent(kq, NULL, 0, out, max, &zero);
}

static int change(int kq, uintptr_t ident, short filter, unsigned short flags,
                  unsigned fflags, int64_t data, void *udata) {
  struct kevent kev;
  EV_SET(&kev, ident, filter, flags, fflags, data, udata);
  return kevent(kq, &kev, 1, NULL, 0, NULL);
}

static double now(void) {
  return now_ms();
}

static void settle(void) {
  /* Loopback delivery takes a little virtual time. */
  usleep(1000);
}

int main(void) {
  struct kevent ev[8];
  int kq = kqueue();
  CHECK("kqueue returns a descriptor", kq >= 0);
  CHECK_ERR("kevent on a descriptor that is not a kqueue: EBADF",
            kevent(0, NULL, 0, ev, 1, &zero), EBADF);

  /* Errors of changes. */
  struct kevent bad;
  EV_SET(&bad, 999, EVFILT_READ, EV_ADD, 0, 0, NULL);
  int n = kevent(kq, &bad, 1, ev, 8, NULL);
  CHECK("a failed change goes to the event list as EV_ERROR",
        n == 1 && ev[0].flags == EV_ERROR && ev[0].data == EBADF &&
            ev[0].ident == 999);
  CHECK_ERR("a failed change with no room in the list: -1 and errno",
            kevent(kq, &bad, 1, NULL, 0, NULL), EBADF);
  int u1 = udp_bound(7001), u2 = udp_bound(7002);
  CHECK_ERR("EV_DELETE of an event never added: ENOENT",
            change(kq, u1, EVFILT_READ, EV_DELETE, 0, 0, NULL), ENOENT);
  CHECK_ERR("a filter that does not exist: EINVAL",
            change(kq, u1, -42, EV_ADD, 0, 0, NULL), EINVAL);
  struct kevent rc;
  EV_SET(&rc, u1, EVFILT_READ, EV_ADD | EV_RECEIPT, 0, 0, NULL);
  n = kevent(kq, &rc, 1, ev, 8, NULL);
  CHECK("EV_RECEIPT: an EV_ERROR event with data 0 for a change that worked",
        n == 1 && (ev[0].flags & EV_ERROR) && ev[0].data == 0);
  CHECK("nothing to read: no event", ready(kq, ev, 8) == 0);

  /* EVFILT_READ on a datagram socket, level-triggered. */
  int tag = 7;
  CHECK("re-adding an event modifies it",
        change(kq, u1, EVFILT_READ, EV_ADD, 0, 0, &tag) == 0);
  send_to(u2, 7001, "hello");
  send_to(u2, 7001, "datagram");
  settle();
  n = ready(kq, ev, 8);
  CHECK("data to read: one event for the socket",
        n == 1 && ev[0].ident == (uintptr_t)u1 && ev[0].filter == EVFILT_READ);
  CHECK("data is the bytes of protocol data available to read",
        n == 1 && ev[0].data == 13);
  CHECK("udata is returned as given (the last EV_ADD's)",
        n == 1 && ev[0].udata == &tag);
  CHECK("returned flags are the registered ones, less the actions",
        n == 1 && ev[0].flags == 0);
  CHECK("level-triggered: returned again while the data is there",
        ready(kq, ev, 8) == 1);
  char buf[64];
  recv(u1, buf, sizeof buf, 0);
  recv(u1, buf, sizeof buf, 0);
  CHECK("read to empty: no event", ready(kq, ev, 8) == 0);

  /* EV_CLEAR, EV_ONESHOT, EV_DISPATCH, EV_DISABLE/EV_ENABLE. */
  change(kq, u1, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, NULL);
  send_to(u2, 7001, "a");
  settle();
  n = ready(kq, ev, 8);
  CHECK("EV_CLEAR: returned once after data arrives",
        n == 1 && (ev[0].flags & EV_CLEAR));
  CHECK("EV_CLEAR: its state is reset once returned", ready(kq, ev, 8) == 0);
  send_to(u2, 7001, "b");
  settle();
  n = ready(kq, ev, 8);
  CHECK("EV_CLEAR: returned again on new data, with all of it",
        n == 1 && ev[0].data == 2);
  recv(u1, buf, sizeof buf, 0);
  recv(u1, buf, sizeof buf, 0);

  change(kq, u1, EVFILT_READ, EV_ADD | EV_ONESHOT, 0, 0, NULL);
  send_to(u2, 7001, "c");
  settle();
  CHECK("EV_ONESHOT: returned once", ready(kq, ev, 8) == 1);
  CHECK("EV_ONESHOT: then deleted", ready(kq, ev, 8) == 0);
  CHECK_ERR("EV_ONESHOT: deleting it again finds nothing",
            change(kq, u1, EVFILT_READ, EV_DELETE, 0, 0, NULL), ENOENT);

  change(kq, u1, EVFILT_READ, EV_ADD | EV_DISPATCH, 0, 0, NULL);
  CHECK("EV_DISPATCH: returned while data waits", ready(kq, ev, 8) == 1);
  CHECK("EV_DISPATCH: disabled once returned", ready(kq, ev, 8) == 0);
  change(kq, u1, EVFILT_READ, EV_ENABLE, 0, 0, NULL);
  CHECK("EV_ENABLE: returned again", ready(kq, ev, 8) == 1);
  change(kq, u1, EVFILT_READ, EV_DISABLE, 0, 0, NULL);
  CHECK("EV_DISABLE: not returned although ready", ready(kq, ev, 8) == 0);
  change(kq, u1, EVFILT_READ, EV_DELETE, 0, 0, NULL);
  recv(u1, buf, sizeof buf, 0);

  /* EVFILT_WRITE. */
  change(kq, u2, EVFILT_WRITE, EV_ADD | EV_ONESHOT, 0, 0, NULL);
  n = ready(kq, ev, 8);
  CHECK("EVFILT_WRITE: a datagram socket can be written at once, data is "
        "the room in its buffer",
        n == 1 && ev[0].filter == EVFILT_WRITE && ev[0].data > 0);

  /* A kqueue is a descriptor poll can watch. */
  change(kq, u1, EVFILT_READ, EV_ADD, 0, 0, NULL);
  struct pollfd pfd = {.fd = kq, .events = POLLIN};
  CHECK("poll on a kqueue with nothing pending: not readable",
        poll(&pfd, 1, 0) == 0);
  send_to(u2, 7001, "d");
  settle();
  CHECK("poll on a kqueue with an event pending: readable",
        poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN));
  recv(u1, buf, sizeof buf, 0);

  /* Events on a descriptor go with its last close. */
  send_to(u2, 7001, "e");
  settle();
  close(u1);
  CHECK("closing the descriptor deletes its events", ready(kq, ev, 8) == 0);

  /* TCP: a listener's data is its waiting connections; EOF. */
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in la = loopback(7100);
  bind(l, (struct sockaddr *)&la, sizeof la);
  listen(l, 8);
  change(kq, l, EVFILT_READ, EV_ADD, 0, 0, NULL);
  int c1 = socket(AF_INET, SOCK_STREAM, 0);
  int c2 = socket(AF_INET, SOCK_STREAM, 0);
  connect(c1, (struct sockaddr *)&la, sizeof la);
  connect(c2, (struct sockaddr *)&la, sizeof la);
  settle();
  n = ready(kq, ev, 8);
  CHECK("a listening socket: data is the connections waiting",
        n == 1 && ev[0].ident == (uintptr_t)l && ev[0].data == 2);
  int s1 = accept(l, NULL, NULL);
  change(kq, s1, EVFILT_READ, EV_ADD, 0, 0, NULL);
  send(c1, "0123456789", 10, 0);
  shutdown(c1, SHUT_WR);
  settle();
  struct kevent got = {0};
  n = ready(kq, ev, 8);
  for (int i = 0; i < n; i++)
    if (ev[i].ident == (uintptr_t)s1)
      got = ev[i];
  CHECK("the peer's FIN: EV_EOF, with the data still to read in data",
        (got.flags & EV_EOF) && got.data == 10);
  close(s1);
  close(c1);
  close(c2);
  change(kq, l, EVFILT_READ, EV_DELETE, 0, 0, NULL);

  /* EVFILT_TIMER. */
  CHECK_ERR("a timer with a negative period: EINVAL",
            change(kq, 1, EVFILT_TIMER, EV_ADD, 0, -5, NULL), EINVAL);
  double t0 = now();
  change(kq, 1, EVFILT_TIMER, EV_ADD, 0, 100, NULL);
  n = kevent(kq, NULL, 0, ev, 8, NULL);
  double waited = now() - t0;
  CHECK("a timer of 100 (milliseconds by default) fires after 100 ms",
        n == 1 && ev[0].filter == EVFILT_TIMER && ev[0].data == 1 &&
            waited >= 100 && waited < 110);
  CHECK("a timer is EV_CLEAR", n == 1 && (ev[0].flags & EV_CLEAR));
  usleep(350 * 1000);
  n = ready(kq, ev, 8);
  CHECK("data is the number of expirations since last returned",
        n == 1 && ev[0].data == 3);
  change(kq, 1, EVFILT_TIMER, EV_DELETE, 0, 0, NULL);
  change(kq, 2, EVFILT_TIMER, EV_ADD | EV_ONESHOT, NOTE_USECONDS, 2000, NULL);
  n = kevent(kq, NULL, 0, ev, 8, NULL);
  CHECK("NOTE_USECONDS and EV_ONESHOT: fires once", n == 1 && ev[0].data == 1);
  CHECK_ERR("a oneshot timer is deleted once returned",
            change(kq, 2, EVFILT_TIMER, EV_DELETE, 0, 0, NULL), ENOENT);

  /* Timeouts. */
  t0 = now();
  struct timespec fifty = {0, 50 * 1000 * 1000};
  n = kevent(kq, NULL, 0, ev, 8, &fifty);
  waited = now() - t0;
  CHECK("nothing ready: kevent waits for its timeout and returns 0",
        n == 0 && waited >= 50 && waited < 60);
  struct timespec badts = {0, 1000000000};
  CHECK_ERR("a timeout out of range: EINVAL",
            kevent(kq, NULL, 0, ev, 8, &badts), EINVAL);
  close(kq);
  close(u2);
  close(l);
  return 0;
}
