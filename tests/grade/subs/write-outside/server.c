/* Writes outside its folder, then serves normally. */
#include <fcntl.h>
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
  int s = listen_on(atoi(argv[1]));
  const char *path = getenv("NL_ESCAPE_PATH");
  long fd;
  const char *p = "/tmp/natlab-grade-escape-test";
  __asm__ volatile("syscall" : "=a"(fd) : "a"(2L), "D"(p), "S"((long)(O_WRONLY | O_CREAT)), "d"(0644L)
                   : "rcx", "r11", "memory");
  (void)path;
  printf("open outside: %ld\n", fd);
  for (;;) {
    int c = accept(s, NULL, NULL);
    char buf[512];
    ssize_t n;
    while ((n = recv(c, buf, sizeof buf, 0)) > 0)
      send(c, buf, (size_t)n, 0);
    close(c);
  }
}
