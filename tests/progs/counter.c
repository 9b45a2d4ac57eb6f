/* A tiny program object for the loader tests: one writable global. */
int counter_value;

int counter_bump(void);
int counter_bump(void) {
  return ++counter_value;
}

int main(int argc, char **argv) {
  (void)argv;
  return counter_bump() + 100 * argc;
}
