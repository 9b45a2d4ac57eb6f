/* udp-rpc, wrong: gives up at once.
 *
 * Prints an error and exits 1 without sending anything, whatever happens:
 * it fails every test, "the server is unreachable" included, which
 * requires the client to have asked the server first (requires= in
 * tests/unreachable.nlab): exiting non-zero is worth points only as the
 * answer to a server that does not answer.
 */
#include <stdio.h>

int main(int argc, char **argv) {
  (void)argv;
  fprintf(stderr, "client: giving up (%d arguments)\n", argc - 1);
  return 1;
}
