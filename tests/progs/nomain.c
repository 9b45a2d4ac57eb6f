/* A shared object without main, for the loader's error path. */
int nomain_value = 7;

int nomain_get(void);
int nomain_get(void) {
  return nomain_value;
}
