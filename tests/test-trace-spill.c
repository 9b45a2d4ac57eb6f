/* A spilled trace (nl_trace_spill): the same records, byte for byte, as a
 * trace kept in memory, read back in order, with at most its window of
 * records in memory however many are added. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <string.h>

#include "sim/core/trace.h"

/* Record @i of a made-up run: text and packet records of many sizes, now
 * and then one bigger than a small window. */
static void add_record(NlTrace *t, int i) {
  static guint8 bytes[3000];
  for (gsize k = 0; k < sizeof bytes; k++)
    bytes[k] = (guint8)(k * 7 + i);
  guint32 len = (guint32)((i * 37) % 200);
  if (i % 97 == 0)
    len = 2000 + (guint32)(i % 500); /* bigger than the tests' windows */
  NlTraceKind kind = i % 3 == 0 ? NL_TRACE_PKT_SEND
                     : i % 3 == 1 ? NL_TRACE_STDOUT
                                  : NL_TRACE_NOTE;
  nl_trace_add(t, (NlTime)i * 1000, kind, (guint32)(i % 5), (guint32)(i % 7),
               (uint64_t)i, (uint16_t)(i & 0xffff), bytes, len);
}

/* The records of @t, headers and payloads, as one byte string. */
static GByteArray *all_records(const NlTrace *t) {
  GByteArray *out = g_byte_array_new();
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    assert_ptr_equal(p, nl_trace_payload(rec)); /* kept or spilled */
    g_byte_array_append(out, (const guint8 *)rec, sizeof *rec);
    g_byte_array_append(out, p, rec->len);
  }
  return out;
}

static void assert_same_records(const NlTrace *a, const NlTrace *b) {
  GByteArray *ra = all_records(a), *rb = all_records(b);
  assert_int_equal(ra->len, rb->len);
  assert_memory_equal(ra->data, rb->data, ra->len);
  g_byte_array_free(ra, TRUE);
  g_byte_array_free(rb, TRUE);
}

static void test_trace_spill_reads_back_the_same_records(void **state) {
  NlTrace *kept = nl_trace_new(), *spilled = nl_trace_new();
  assert_true(nl_trace_spill(spilled, NULL, 1024, NULL));
  for (int i = 0; i < 20000; i++) {
    add_record(kept, i);
    add_record(spilled, i);
  }
  assert_int_equal(nl_trace_count(spilled), 20000);
  assert_int_equal(nl_trace_count(kept), nl_trace_count(spilled));
  assert_same_records(kept, spilled);
  /* Twice: reading gives nothing up. */
  assert_same_records(kept, spilled);
  assert_true(nl_trace_spill_ok(spilled, NULL));
  nl_trace_free(kept);
  nl_trace_free(spilled);
}

static void test_trace_spill_keeps_at_most_its_window(void **state) {
  const gsize window = 4096;
  NlTrace *t = nl_trace_new();
  assert_true(nl_trace_spill(t, NULL, window, NULL));
  gsize most = 0;
  for (int i = 0; i < 200000; i++) {
    add_record(t, i);
    most = MAX(most, nl_trace_memory(t));
  }
  /* Some 30 MB of records, at most 4 KiB of them in memory. */
  assert_true(most <= window);
  assert_true(most > 0);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  int n = 0;
  while (nl_trace_iter_next(&it, &rec, &p)) {
    assert_int_equal(rec->id, n);
    n++;
  }
  assert_int_equal(n, 200000);
  assert_true(nl_trace_memory(t) <= window);
  /* The same trace kept in memory holds every record. */
  NlTrace *kept = nl_trace_new();
  for (int i = 0; i < 200000; i++)
    add_record(kept, i);
  assert_true(nl_trace_memory(kept) > 100 * window);
  nl_trace_free(kept);
  nl_trace_free(t);
}

static void test_trace_spill_after_records_and_between_reads(void **state) {
  NlTrace *kept = nl_trace_new(), *spilled = nl_trace_new();
  /* Records kept before the spill go to the file first. */
  for (int i = 0; i < 300; i++) {
    add_record(kept, i);
    add_record(spilled, i);
  }
  assert_true(nl_trace_spill(spilled, NULL, 512, NULL));
  /* Read while records are still added: each read sees all so far. */
  for (int round = 0; round < 5; round++) {
    for (int i = 0; i < 1000; i++) {
      add_record(kept, 300 + round * 1000 + i);
      add_record(spilled, 300 + round * 1000 + i);
    }
    assert_same_records(kept, spilled);
  }
  /* An iterator started before more records are added reads on into
   * them, as one over a trace in memory does. */
  NlTraceIter a, b;
  const NlTraceRecord *ra, *rb;
  const guint8 *pa, *pb;
  nl_trace_iter_init(&a, kept);
  nl_trace_iter_init(&b, spilled);
  for (int i = 0; i < 2000; i++) {
    assert_true(nl_trace_iter_next(&a, &ra, &pa));
    assert_true(nl_trace_iter_next(&b, &rb, &pb));
    assert_int_equal(ra->id, rb->id);
  }
  for (int i = 0; i < 3000; i++) {
    add_record(kept, 100000 + i);
    add_record(spilled, 100000 + i);
  }
  gboolean ha, hb;
  do {
    ha = nl_trace_iter_next(&a, &ra, &pa);
    hb = nl_trace_iter_next(&b, &rb, &pb);
    assert_int_equal(ha, hb);
    if (ha) {
      assert_memory_equal(ra, rb, sizeof *ra);
      assert_memory_equal(pa, pb, ra->len);
    }
  } while (ha);
  assert_int_equal(nl_trace_count(spilled), 8300);
  nl_trace_free(kept);
  nl_trace_free(spilled);
}

static void test_trace_spill_text_form_is_the_same(void **state) {
  NlTrace *kept = nl_trace_new(), *spilled = nl_trace_new();
  assert_true(nl_trace_spill(spilled, NULL, 256, NULL));
  for (int i = 0; i < 2000; i++) {
    guint32 n = nl_trace_intern(kept, i % 2 ? "alice" : "bob");
    assert_int_equal(nl_trace_intern(spilled, i % 2 ? "alice" : "bob"), n);
    nl_trace_addf(kept, i, NL_TRACE_STDOUT, n, 0, 0, 0, "line %d\t!", i);
    nl_trace_addf(spilled, i, NL_TRACE_STDOUT, n, 0, 0, 0, "line %d\t!", i);
  }
  char *dir = g_dir_make_tmp("natlab-spill-XXXXXX", NULL);
  assert_non_null(dir);
  char *a = g_build_filename(dir, "a.txt", NULL);
  char *b = g_build_filename(dir, "b.txt", NULL);
  char *ta = NULL, *tb = NULL;
  assert_true(nl_trace_write_text(kept, a, NULL));
  assert_true(nl_trace_write_text(spilled, b, NULL));
  assert_true(g_file_get_contents(a, &ta, NULL, NULL));
  assert_true(g_file_get_contents(b, &tb, NULL, NULL));
  assert_string_equal(ta, tb);
  assert_non_null(strstr(tb, "bob stdout line 1998\\x09!\n"));
  g_unlink(a);
  g_unlink(b);
  g_rmdir(dir);
  g_free(dir);
  g_free(ta);
  g_free(tb);
  g_free(a);
  g_free(b);
  nl_trace_free(kept);
  nl_trace_free(spilled);
}

static void test_trace_spill_fails_without_a_directory(void **state) {
  NlTrace *t = nl_trace_new();
  GError *error = NULL;
  assert_false(nl_trace_spill(t, "/nonexistent/natlab", 4096, &error));
  assert_non_null(error);
  g_error_free(error);
  /* The trace stays in memory and works. */
  add_record(t, 1);
  assert_int_equal(nl_trace_count(t), 1);
  assert_true(nl_trace_memory(t) > 0);
  nl_trace_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_trace_spill_reads_back_the_same_records),
    cmocka_unit_test(test_trace_spill_keeps_at_most_its_window),
    cmocka_unit_test(test_trace_spill_after_records_and_between_reads),
    cmocka_unit_test(test_trace_spill_text_form_is_the_same),
    cmocka_unit_test(test_trace_spill_fails_without_a_directory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
