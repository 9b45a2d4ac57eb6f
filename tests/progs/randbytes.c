/* Prints 16 bytes from OpenSSL's RAND_bytes.  natlab-cc links libcrypto's
 * static archive (-lcrypto), whose seed comes from getentropy() and
 * syscall(SYS_getrandom), both the lab's: the bytes then follow the
 * scenario's seed, the same on every run. */
#include <openssl/rand.h>
#include <stdio.h>

int main(void) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    printf("RAND_bytes failed\n");
    return 1;
  }
  printf("random ");
  for (size_t i = 0; i < sizeof b; i++)
    printf("%02x", b[i]);
  printf("\n");
  return 0;
}
