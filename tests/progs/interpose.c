/* A program object that defines a libc function itself, as the natlab-cc
 * shim does for socket(), send(), ...  Linked with -Wl,-Bsymbolic, its own
 * calls bind to its own definition even though libc comes first in the
 * global lookup scope. */
#include <unistd.h>

pid_t getpid(void) {
  return 4242;
}

int main(int argc, char **argv) {
  (void)argc, (void)argv;
  return getpid() == 4242 ? 42 : 1;
}
