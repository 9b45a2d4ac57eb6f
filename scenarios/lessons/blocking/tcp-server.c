/* A blocking TCP echo server, two ways (§14.7).
 * Usage: tcp-server iterative|threads PORT
 *   iterative  accept() one client and serve it until it leaves: the
 *              others wait in the listen backlog meanwhile;
 *   threads    thread per connection: each accepted socket gets its own
 *              pthread, whose blocking recv() blocks only that thread. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int active, most; /* connections being served now, and the peak */

/* Echo one connection until the client closes it. */
static void *serve(void *arg) {
  int fd = (int)(intptr_t)arg;
  pthread_mutex_lock(&lock);
  active++;
  if (active > most)
    most = active;
  printf("serving fd %d: %d connection(s) at once, peak %d\n", fd, active,
         most);
  pthread_mutex_unlock(&lock);
  char buf[1024];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0)  /* blocks this thread */
    send(fd, buf, (size_t)n, 0);
  close(fd);
  pthread_mutex_lock(&lock);
  active--;
  pthread_mutex_unlock(&lock);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: tcp-server iterative|threads PORT\n");
    return 2;
  }
  int threads = strcmp(argv[1], "threads") == 0;
  int server = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons((unsigned short)atoi(argv[2]));
  if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      listen(server, 16) < 0) {
    perror("bind/listen");
    return 1;
  }
  for (;;) {
    int fd = accept(server, NULL, NULL);
    if (fd < 0)
      continue;
    if (!threads) {
      serve((void *)(intptr_t)fd);  /* nobody else is served meanwhile */
      continue;
    }
    pthread_t t;
    pthread_create(&t, NULL, serve, (void *)(intptr_t)fd);
    pthread_detach(t);
  }
}
