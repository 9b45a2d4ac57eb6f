/* Swapped program data (sim/host/facts.c, "Swapping a region"): many
 * processes of a few programs, each program's data in one region they
 * share, run in a seeded random order; between runs each process leaves
 * its data as it was, changes a few bytes (anywhere, or the same words as
 * the others), sets some back to the data as loaded, rewrites it all (its
 * copy is then kept whole) or ends and gives its place to a new process.
 * Each time a process runs, its program's region holds exactly its own
 * bytes (a model kept here), and the hole (bytes never swapped) is never
 * touched; so too for small regions, which are copied whole ("Small
 * regions"). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <locale.h>
#include <string.h>

#include "sim/host/host-priv.h"
#include "sim/host/proc.h"

/* Sizes of whole words and not, small and past a few blocks: more
 * programs than facts.c's slots of copies as loaded, and some no larger
 * than NL_FACTS_SAVED_INLINE (saved whole unless they have a hole),
 * one just past it. */
static const size_t sizes[] = {648,  1003, 776, 1009, 904,
                               1015, 96,   13,  128,  129};
#define PROGRAMS G_N_ELEMENTS(sizes)
#define PROCS 8 /* per program */
#define STEPS 30000

typedef struct {
  guint8 *data;      /* the region, hole included */
  size_t len;
  size_t hole_at, hole_len;
  guint8 *pristine;  /* less the hole */
  void *owner;
  NlProc *procs[PROCS];
  guint8 *model[PROCS]; /* each process's bytes, less the hole */
} Program;

static guint8 *less_hole(Program *g, size_t i) {
  return g->data + i + (i >= g->hole_at ? g->hole_len : 0);
}

static NlProc *proc_new(Program *g, int k) {
  NlProc *p = g_new0(NlProc, 1);
  p->facts.locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  p->facts.region.start = g->data;
  p->facts.region.len = g->len;
  p->facts.region.owner = &g->owner;
  p->facts.region.pristine = g->pristine;
  if (g->hole_len > 0) {
    p->facts.hole_at = (guint32)g->hole_at;
    p->facts.hole_len = (guint32)g->hole_len;
  }
  size_t total = g->len - g->hole_len;
  g_free(g->model[k]);
  g->model[k] = g_memdup2(g->pristine, total);
  return p;
}

static void proc_end(NlProc *p) {
  nl__facts_proc_end(p);
  nl__facts_proc_free(p);
  g_free(p);
}

static void run_in(NlProc *p) {
  NlThread t = {.proc = p};
  t.facts.locale = LC_GLOBAL_LOCALE;
  nl__facts_enter(&t);
  nl_proc_locale_home();
}

static void check_swaps(gboolean holes) {
  GRand *rand = g_rand_new_with_seed(17);
  Program progs[PROGRAMS];
  memset(progs, 0, sizeof progs);
  G_STATIC_ASSERT(NL_FACTS_SAVED_INLINE == 128);
  for (guint i = 0; i < PROGRAMS; i++) {
    Program *g = &progs[i];
    g->len = sizes[i];
    g->data = g_malloc(g->len);
    if (holes && i % 3 != 2) {
      g->hole_at = i % 3 ? MIN(200 + i, g->len / 3) : 0;
      g->hole_len = MIN(40 + i, g->len / 3);
    }
    size_t total = g->len - g->hole_len;
    g->pristine = g_malloc(total);
    for (size_t k = 0; k < total; k++)
      g->pristine[k] = (guint8)g_rand_int(rand);
    for (size_t k = 0; k < total; k++)
      *less_hole(g, k) = g->pristine[k];
    memset(g->data + g->hole_at, 0xa5, g->hole_len);
    for (int k = 0; k < PROCS; k++)
      g->procs[k] = proc_new(g, k);
  }
  for (int step = 0; step < STEPS; step++) {
    Program *g = &progs[g_rand_int_range(rand, 0, (gint32)PROGRAMS)];
    int k = g_rand_int_range(rand, 0, PROCS);
    size_t total = g->len - g->hole_len;
    run_in(g->procs[k]);
    for (size_t i = 0; i < total; i++)
      if (*less_hole(g, i) != g->model[k][i])
        fail_msg("step %d: program %d process %d: byte %zu is %d, not %d",
                 step, (int)(g - progs), k, i, *less_hole(g, i),
                 g->model[k][i]);
    for (size_t i = 0; i < g->hole_len; i++)
      assert_int_equal(g->data[g->hole_at + i], 0xa5);
    /* What the process does before the next runs. */
    int what = g_rand_int_range(rand, 0, 100);
    if (what < 20) {
      /* nothing: its region stays as loaded */
    } else if (what < 30) {
      /* The same few words as every process of its program (as the lab's
       * programs' environ and argv pointers), its own values: a switch
       * between two such processes writes only the new one's words. */
      for (size_t i = 8; i + 8 <= total && i < 3 * 72; i += 72)
        for (size_t b = 0; b < 8; b++)
          *less_hole(g, i + b) = g->model[k][i + b] = (guint8)g_rand_int(rand);
    } else if (what < 70) {
      for (int n = g_rand_int_range(rand, 1, 6); n > 0; n--) {
        size_t i = (size_t)g_rand_int_range(rand, 0, (gint32)total);
        *less_hole(g, i) = g->model[k][i] = (guint8)g_rand_int(rand);
      }
    } else if (what < 80) {
      size_t from = (size_t)g_rand_int_range(rand, 0, (gint32)total);
      size_t n = (size_t)g_rand_int_range(rand, 1, 200);
      n = MIN(total - from, n);
      for (size_t i = from; i < from + n; i++)
        *less_hole(g, i) = g->model[k][i] = g->pristine[i];
    } else if (what < 88) {
      for (size_t i = 0; i < total; i++)
        *less_hole(g, i) = g->model[k][i] = (guint8)g_rand_int(rand);
    } else if (what < 94) {
      for (size_t i = 0; i < total; i++)
        *less_hole(g, i) = g->model[k][i] = g->pristine[i];
    } else {
      /* It ends with its data in the region; a new process comes. */
      proc_end(g->procs[k]);
      g->procs[k] = proc_new(g, k);
    }
  }
  for (guint i = 0; i < PROGRAMS; i++) {
    Program *g = &progs[i];
    for (int k = 0; k < PROCS; k++) {
      proc_end(g->procs[k]);
      g_free(g->model[k]);
    }
    g_free(g->data);
    g_free(g->pristine);
  }
  g_rand_free(rand);
}

static void test_regions_without_holes(void **state) {
  (void)state;
  check_swaps(FALSE);
}

static void test_regions_with_holes(void **state) {
  (void)state;
  check_swaps(TRUE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_regions_without_holes),
      cmocka_unit_test(test_regions_with_holes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
