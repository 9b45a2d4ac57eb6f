/* Thread-per-connection TCP echo server (§14.7) plus green-thread
 * synchronisation: a worker pool fed through a mutex and a condition
 * variable.  Usage: threads server PORT | threads pool */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *serve(void *arg) {
  int fd = (int)(long)arg;
  char buf[256];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
    send(fd, buf, (size_t)n, 0);
  close(fd);
  return NULL;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static int queue[16], head, tail, done;

static void *worker(void *arg) {
  long id = (long)arg;
  for (;;) {
    pthread_mutex_lock(&lock);
    while (head == tail && !done)
      pthread_cond_wait(&ready, &lock);
    if (head == tail && done) {
      pthread_mutex_unlock(&lock);
      return (void *)id;
    }
    int job = queue[head++ % 16];
    pthread_mutex_unlock(&lock);
    printf("worker %ld took job %d\n", id, job);
    usleep(1000 * (unsigned)job);
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "pool") == 0) {
    pthread_t t[3];
    for (long i = 0; i < 3; i++)
      pthread_create(&t[i], NULL, worker, (void *)i);
    for (int j = 1; j <= 6; j++) {
      pthread_mutex_lock(&lock);
      queue[tail++ % 16] = j;
      pthread_cond_signal(&ready);
      pthread_mutex_unlock(&lock);
      usleep(500);
    }
    pthread_mutex_lock(&lock);
    done = 1;
    pthread_cond_broadcast(&ready);
    pthread_mutex_unlock(&lock);
    long sum = 0;
    for (int i = 0; i < 3; i++) {
      void *r;
      pthread_join(t[i], &r);
      sum += (long)r;
    }
    printf("joined all workers, ids sum to %ld\n", sum);
    return 0;
  }
  int port = argc > 2 ? atoi(argv[2]) : 7000;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  bind(s, (struct sockaddr *)&a, sizeof a);
  listen(s, 8);
  for (;;) {
    int c = accept(s, NULL, NULL);
    pthread_t t;
    pthread_create(&t, NULL, serve, (void *)(long)c);
    pthread_detach(t);
    printf("a thread serves connection %d\n", c);
  }
}
