/* Hostile: blocks the timer signals a watchdog would use, ignores them,
 * then spins without ever calling into the lab. */
#include <signal.h>
#include <stdio.h>

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGALRM);
  sigaddset(&s, SIGVTALRM);
  sigaddset(&s, SIGPROF);
  sigprocmask(SIG_BLOCK, &s, NULL);
  signal(SIGALRM, SIG_IGN);
  signal(SIGVTALRM, SIG_IGN);
  signal(SIGPROF, SIG_IGN);
  printf("spinning\n");
  fflush(stdout);
  volatile unsigned long n = 0;
  for (;;)
    n++;
}
