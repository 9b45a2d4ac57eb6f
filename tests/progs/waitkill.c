/* waitkill MODE: blocks forever in one call, to be stopped there.
 *   kevent: in kevent() on a kqueue watching a UDP socket;
 *   uring:  in io_uring_submit_and_wait() for a completion that never
 *           comes;
 *   recv:   in recv() on a UDP socket;
 *   threads: all three at once, one per thread.
 * It prints "waiting in MODE" first. */
#include <liburing.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/event.h>
#include <sys/socket.h>
#include <unistd.h>

static void *wait_kevent(void *arg) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  int kq = kqueue();
  struct kevent ch, ev;
  EV_SET(&ch, s, EVFILT_READ, EV_ADD, 0, 0, NULL);
  printf("waiting in kevent\n");
  fflush(stdout);
  kevent(kq, &ch, 1, &ev, 1, NULL);
  printf("kevent returned\n");
  return arg;
}

static void *wait_uring(void *arg) {
  struct io_uring ring;
  if (io_uring_queue_init(4, &ring, 0) != 0) {
    printf("io_uring_queue_init failed\n");
    return arg;
  }
  printf("waiting in uring\n");
  fflush(stdout);
  io_uring_submit_and_wait(&ring, 1);
  printf("io_uring_submit_and_wait returned\n");
  return arg;
}

static void *wait_recv(void *arg) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  char b[16];
  printf("waiting in recv\n");
  fflush(stdout);
  recv(s, b, sizeof b, 0);
  printf("recv returned\n");
  return arg;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "kevent") == 0)
    wait_kevent(NULL);
  else if (strcmp(mode, "uring") == 0)
    wait_uring(NULL);
  else if (strcmp(mode, "recv") == 0)
    wait_recv(NULL);
  else if (strcmp(mode, "threads") == 0) {
    pthread_t a, b;
    pthread_create(&a, NULL, wait_kevent, NULL);
    pthread_create(&b, NULL, wait_uring, NULL);
    wait_recv(NULL);
  } else {
    fprintf(stderr, "usage: waitkill kevent|uring|recv|threads\n");
    return 2;
  }
  return 1;
}
