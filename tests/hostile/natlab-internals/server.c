/* Hostile: calls natlab's own functions, found with dlsym(), to forge a
 * passing line in another program's output or stop the simulation. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
  static const char *const names[] = {"nl_trace_add", "nl_world_now",
                                      "nl_run_report_failures",
                                      "nl__proc_exit", "nl_event_stop"};
  int found = 0;
  for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
    void (*f)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, names[i]);
    if (f) {
      found++;
      f(); /* with garbage arguments: whatever it does, it is not ours */
    }
  }
  printf("FORGED: all tests passed (%d internals found)\n", found);
  return found ? 0 : 1;
}
