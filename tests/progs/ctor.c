/* A hostile program whose constructor runs while natlab loads it, before
 * any of its code runs in the lab: it opens a real socket by a `syscall`
 * instruction.  natlab refuses the call (EPERM) and refuses to load the
 * program, naming it and the call. */
#include <stdio.h>
#include <sys/syscall.h>

long ctor_result = 1;

#if defined(__x86_64__)
__attribute__((constructor)) static void escape(void) {
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"((long)SYS_socket), "D"(2L), "S"(2L), "d"(0L)
                   : "rcx", "r11", "memory");
  ctor_result = ret;
}
#endif

int main(void) {
  printf("constructor got %ld\n", ctor_result);
  return 0;
}
