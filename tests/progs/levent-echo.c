/* A TCP echo server written against libevent (Debian's libevent-dev), as
 * a user would: natlab-cc links libevent's static archive with -levent,
 * so its epoll backend, sockets and clock reach the lab.  It also fires a
 * timer 500 ms after it starts, which must happen 500 ms later in
 * virtual time. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static void echo_read(struct bufferevent *bev, void *ctx) {
  (void)ctx;
  struct evbuffer *in = bufferevent_get_input(bev);
  printf("echoing %zu bytes\n", evbuffer_get_length(in));
  evbuffer_add_buffer(bufferevent_get_output(bev), in);
}

static void echo_event(struct bufferevent *bev, short events, void *ctx) {
  (void)ctx;
  if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    printf("client closed\n");
    bufferevent_free(bev);
  }
}

static void accepted(struct evconnlistener *l, evutil_socket_t fd,
                     struct sockaddr *sa, int len, void *ctx) {
  (void)sa, (void)len, (void)ctx;
  struct event_base *base = evconnlistener_get_base(l);
  struct bufferevent *bev =
      bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(bev, echo_read, NULL, echo_event, NULL);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
  printf("accepted a connection\n");
}

static void timer(evutil_socket_t fd, short what, void *ctx) {
  (void)fd, (void)what, (void)ctx;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  printf("timer fired at %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7;
  struct event_base *base = event_base_new();
  if (base == NULL) {
    printf("event_base_new failed\n");
    return 1;
  }
  printf("libevent %s with %s\n", event_get_version(),
         event_base_get_method(base));
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons((unsigned short)port);
  struct evconnlistener *l = evconnlistener_new_bind(
      base, accepted, NULL, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE, -1,
      (struct sockaddr *)&sin, sizeof sin);
  if (l == NULL) {
    perror("evconnlistener_new_bind");
    return 1;
  }
  printf("listening on TCP port %d\n", port);
  struct timeval half = {0, 500000};
  struct event *t = evtimer_new(base, timer, NULL);
  evtimer_add(t, &half);
  event_base_dispatch(base);
  return 0;
}
