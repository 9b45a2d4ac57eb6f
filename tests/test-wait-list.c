/* Wait lists (sim/host/host-priv.h, NlWaitList): the first entry kept in
 * the list itself, more in an array; against a model, in a seeded random
 * order of adds and removes, the entries and their order are always the
 * model's.  And a file's watches (sched.c) are notified in the order they
 * were added, less those removed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "sim/host/host-priv.h"

#define STEPS 20000
#define KEYS 12

static void check_same(NlWaitList *l, const GPtrArray *model) {
  assert_int_equal(l->len, model->len);
  for (guint i = 0; i < model->len; i++)
    assert_ptr_equal(nl__wait_list_at(l, i), g_ptr_array_index(model, i));
}

static void test_wait_list_as_model(void **state) {
  (void)state;
  static int keys[KEYS];
  GRand *r = g_rand_new_with_seed(17);
  NlWaitList l = {0};
  GPtrArray *model = g_ptr_array_new();
  gboolean saw_inline_one = FALSE, saw_array = FALSE;
  for (int step = 0; step < STEPS; step++) {
    gpointer k = &keys[g_rand_int_range(r, 0, KEYS)];
    int what = g_rand_int_range(r, 0, 10);
    if (what < 5 && model->len < 3 * KEYS) {
      nl__wait_list_add(&l, k);
      g_ptr_array_add(model, k);
    } else if (what < 9) {
      nl__wait_list_remove(&l, k);
      g_ptr_array_remove(model, k); /* the first, order kept */
    } else {
      nl__wait_list_clear(&l);
      g_ptr_array_set_size(model, 0);
    }
    saw_inline_one |= l.cap == 0 && l.len == 1;
    saw_array |= l.cap > 0 && l.len > 1;
    check_same(&l, model);
  }
  assert_true(saw_inline_one);
  assert_true(saw_array);
  nl__wait_list_clear(&l);
  g_ptr_array_free(model, TRUE);
  g_rand_free(r);
}

/* The one entry kept in the list moves to the array as the first. */
static void test_wait_list_second_entry(void **state) {
  (void)state;
  int a, b, c;
  NlWaitList l = {0};
  nl__wait_list_add(&l, &a);
  assert_int_equal(l.cap, 0);
  nl__wait_list_add(&l, &b);
  nl__wait_list_add(&l, &c);
  assert_true(l.cap >= 3);
  assert_ptr_equal(nl__wait_list_at(&l, 0), &a);
  assert_ptr_equal(nl__wait_list_at(&l, 1), &b);
  assert_ptr_equal(nl__wait_list_at(&l, 2), &c);
  nl__wait_list_remove(&l, &a);
  assert_ptr_equal(nl__wait_list_at(&l, 0), &b);
  nl__wait_list_clear(&l);
  assert_int_equal(l.len, 0);
  assert_int_equal(l.cap, 0);
}

typedef struct {
  NlWatch w;
  GString *log;
  char name;
} TestWatch;

static void watch_notify(NlWatch *w) {
  TestWatch *x = (TestWatch *)w;
  g_string_append_c(x->log, x->name);
}

static void watch_gone(NlWatch *w) {
  TestWatch *x = (TestWatch *)w;
  g_string_append_c(x->log, (char)(x->name - 'a' + 'A'));
}

static unsigned no_poll(NlFile *f) {
  (void)f;
  return 0;
}

static const NlFileOps test_ops = {.poll = no_poll};

static void test_watches_in_order(void **state) {
  (void)state;
  NlHostStack h = {0};
  NlFile *f = nl__file_new(&h, NL_FILE_PIPE_R, &test_ops);
  GString *log = g_string_new(NULL);
  nl__file_notify(f); /* no watches: nothing */
  assert_string_equal(log->str, "");
  TestWatch w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (TestWatch){.w = {.notify = watch_notify, .gone = watch_gone},
                       .log = log, .name = (char)('a' + i)};
    nl__watch_add(&w[i].w, f);
    assert_ptr_equal(w[i].w.file, f);
  }
  nl__file_notify(f);
  assert_string_equal(log->str, "abcd");
  nl__watch_remove(&w[1].w);
  assert_null(w[1].w.file);
  nl__file_notify(f);
  assert_string_equal(log->str, "abcdacd");
  /* The file goes: the rest are told, last added first. */
  g_string_truncate(log, 0);
  nl__file_unref(f);
  assert_string_equal(log->str, "DCA");
  assert_int_equal(h.files_open, 0);
  g_string_free(log, TRUE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wait_list_as_model),
      cmocka_unit_test(test_wait_list_second_entry),
      cmocka_unit_test(test_watches_in_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
