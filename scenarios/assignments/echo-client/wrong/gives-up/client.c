/* echo-client, wrong: gives up at once.
 *
 *   client HOST PORT N SIZE
 *
 * Prints an error and exits 1 without connecting, whatever happens: it
 * fails every test, those about failing well included ("the server's host
 * crashes", "the server closes mid-echo"), since they require the echo to
 * have run first (requires= in tests/server-crash.nlab and
 * tests/server-closes.nlab): exiting non-zero is worth points only as the
 * answer to a dead or closing server.
 */
#include <stdio.h>

int main(int argc, char **argv) {
  (void)argv;
  fprintf(stderr, "client: giving up (%d arguments)\n", argc - 1);
  return 1;
}
