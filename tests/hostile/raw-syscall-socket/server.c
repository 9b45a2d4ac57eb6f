/* Hostile: opens a real UDP socket with a raw `syscall` instruction (no
 * libc call for the lab to answer) and sends a datagram to
 * 127.0.0.1:47999. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>

static long raw(long n, long a, long b, long c, long d, long e, long f) {
#if defined(__x86_64__)
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
                     "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
#else
  (void)n, (void)a, (void)b, (void)c, (void)d, (void)e, (void)f;
  return -1;
#endif
}

int main(void) {
  long fd = raw(SYS_socket, AF_INET, SOCK_DGRAM, 0, 0, 0, 0);
  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_port = htons(47999);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  long n = fd >= 0 ? raw(SYS_sendto, fd, (long)"escaped", 7, 0, (long)&to,
                         sizeof to)
                   : -1;
  printf("raw socket %ld, sent %ld\n", fd, n);
  return 0;
}
