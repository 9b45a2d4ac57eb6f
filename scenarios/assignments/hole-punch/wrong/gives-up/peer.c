/* hole-punch, wrong: gives up at once.
 *
 * Prints an error and exits 1 without a word to the rendezvous or the
 * other peer: it fails every test, "A gives up" and "B gives up"
 * included, which require the peer to have tried first (requires= in
 * tests/symmetric.nlab): exiting non-zero is worth points only as the
 * answer to a NAT that cannot be punched.
 */
#include <stdio.h>

int main(int argc, char **argv) {
  (void)argv;
  fprintf(stderr, "peer: giving up (%d arguments)\n", argc - 1);
  return 1;
}
