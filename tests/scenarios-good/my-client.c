/* A stand-in user program for the scenario parser tests: only its
 * existence is checked. */
int main(void) {
  return 0;
}
