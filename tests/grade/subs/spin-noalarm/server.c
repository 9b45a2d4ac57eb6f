/* Blocks SIGALRM, SIGXCPU and SIGVTALRM with a raw rt_sigprocmask (so
 * natlab's own watchdog cannot stop it) and spins: only the grader's
 * CPU-time limit ends it. */
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_on(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  bind(s, (struct sockaddr *)&a, sizeof a);
  listen(s, 16);
  printf("listening on %d\n", port);
  return s;
}

int main(int argc, char **argv) {
  listen_on(atoi(argv[1]));
  unsigned long mask = (1UL << (SIGALRM - 1)) | (1UL << (SIGXCPU - 1)) |
                       (1UL << (SIGVTALRM - 1));
  long r;
  register long size __asm__("r10") = 8;
  __asm__ volatile("syscall" : "=a"(r)
                   : "a"(14L), "D"((long)SIG_BLOCK), "S"(&mask), "d"(0L),
                     "r"(size)
                   : "rcx", "r11", "memory");
  volatile unsigned long n = 0;
  for (;;)
    n++;
}
