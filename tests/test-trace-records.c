/* The trace: records in order, interned names, masks, text form. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "sim/core/trace.h"
#include "sim/net/wire.h"

static void test_trace_records_come_back_in_order(void **state) {
  NlTrace *t = nl_trace_new();
  nl_trace_set_packet_format(t, nl_wire_describe);
  guint32 a = nl_trace_intern(t, "alice"), b = nl_trace_intern(t, "bob");
  assert_int_equal(nl_trace_intern(t, "alice"), a);
  assert_int_not_equal(a, b);
  for (int i = 0; i < 100000; i++)
    nl_trace_addf(t, i, NL_TRACE_NOTE, i % 2 ? a : b, 0, 0, 0, "n%d", i);
  assert_int_equal(nl_trace_count(t), 100000);
  NlTraceIter it;
  const NlTraceRecord *r;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  int i = 0;
  while (nl_trace_iter_next(&it, &r, &p)) {
    char want[16];
    int n = snprintf(want, sizeof want, "n%d", i);
    assert_int_equal(r->time, i);
    assert_int_equal(r->len, n);
    assert_memory_equal(p, want, n);
    i++;
  }
  assert_int_equal(i, 100000);
  nl_trace_free(t);
}

static void test_trace_mask_skips_kinds(void **state) {
  NlTrace *t = nl_trace_new();
  nl_trace_set_packet_format(t, nl_wire_describe);
  nl_trace_set_mask(t, 1u << NL_TRACE_STDOUT);
  nl_trace_addf(t, 0, NL_TRACE_NOTE, 0, 0, 0, 0, "skipped");
  nl_trace_addf(t, 0, NL_TRACE_STDOUT, 0, 0, 0, 0, "kept");
  assert_int_equal(nl_trace_count(t), 1);
  nl_trace_free(t);
}

typedef struct {
  GString *seen;
} Heard;

static void hear(void *data, const NlTraceRecord *rec, const guint8 *p) {
  Heard *h = data;
  g_string_append_printf(h->seen, "%s:%.*s;", nl_trace_kind_name(rec->kind),
                         (int)rec->len, (const char *)p);
}

static void test_trace_listener_hears_records_not_kept(void **state) {
  NlTrace *t = nl_trace_new();
  nl_trace_set_mask(t, 1u << NL_TRACE_STDOUT);
  Heard h = {g_string_new(NULL)};
  nl_trace_addf(t, 0, NL_TRACE_NOTE, 0, 0, 0, 0, "before");
  nl_trace_listen(t, (1u << NL_TRACE_NOTE) | (1u << NL_TRACE_STDOUT), hear,
                  &h);
  assert_true(nl_trace_wants(t, NL_TRACE_NOTE));
  assert_false(nl_trace_wants(t, NL_TRACE_STDERR));
  nl_trace_addf(t, 1, NL_TRACE_NOTE, 0, 0, 0, 0, "heard");
  nl_trace_addf(t, 2, NL_TRACE_STDOUT, 0, 0, 0, 0, "kept");
  nl_trace_addf(t, 3, NL_TRACE_STDERR, 0, 0, 0, 0, "neither");
  /* Heard in order, from the listen on; only STDOUT kept. */
  assert_string_equal(h.seen->str, "note:heard;stdout:kept;");
  assert_int_equal(nl_trace_count(t), 1);
  assert_int_equal(nl_trace_lookup(t, "nobody"), 0);
  guint32 a = nl_trace_intern(t, "alice");
  assert_int_equal(nl_trace_lookup(t, "alice"), a);
  g_string_free(h.seen, TRUE);
  nl_trace_free(t);
}

static gboolean keep_odd(void *data, const NlTraceRecord *rec,
                         const guint8 *p) {
  return rec->id % 2 == 1;
}

static void test_trace_keep_only_filters_kept_not_heard(void **state) {
  NlTrace *t = nl_trace_new();
  Heard h = {g_string_new(NULL)};
  nl_trace_listen(t, 1u << NL_TRACE_STDOUT, hear, &h);
  nl_trace_keep_only(t, 1u << NL_TRACE_STDOUT, keep_odd, NULL);
  for (uint64_t id = 0; id < 4; id++)
    nl_trace_addf(t, 0, NL_TRACE_STDOUT, 0, 0, id, 0, "line%u", (guint)id);
  nl_trace_addf(t, 0, NL_TRACE_NOTE, 0, 0, 0, 0, "a note"); /* not filtered */
  /* Every line heard; the odd ones and the note kept. */
  assert_string_equal(h.seen->str,
                      "stdout:line0;stdout:line1;stdout:line2;stdout:line3;");
  assert_int_equal(nl_trace_count(t), 3);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  assert_true(nl_trace_iter_next(&it, &rec, &p));
  assert_int_equal(rec->id, 1);
  assert_true(nl_trace_iter_next(&it, &rec, &p));
  assert_int_equal(rec->id, 3);
  assert_true(nl_trace_iter_next(&it, &rec, &p));
  assert_int_equal(rec->kind, NL_TRACE_NOTE);
  assert_false(nl_trace_iter_next(&it, &rec, &p));
  g_string_free(h.seen, TRUE);
  nl_trace_free(t);
}

static void test_trace_text_form_of_packet_and_text(void **state) {
  NlTrace *t = nl_trace_new();
  nl_trace_set_packet_format(t, nl_wire_describe);
  guint32 a = nl_trace_intern(t, "alice"), r = nl_trace_intern(t, "r1");
  guint8 pkt[64];
  size_t n = nl_udp4_build(pkt, 0x0a000005, 5000, 0xc000020a, 7, "hello", 5,
                           1, 64, FALSE);
  nl_trace_add(t, 1500, NL_TRACE_PKT_SEND, a, r, 3, 0, pkt, (guint32)n);
  nl_trace_add(t, 2500, NL_TRACE_PKT_DROP, r, a, 3, NL_DROP_LOSS, pkt,
               (guint32)n);
  nl_trace_addf(t, 3000, NL_TRACE_STDOUT, a, 0, 0, 0, "tab\there");
  GString *s = g_string_new(NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    nl_trace_format(t, rec, p, s);
    g_string_append_c(s, '\n');
  }
  assert_string_equal(
      s->str,
      "0.000001500 alice send -> r1 #3 UDP 10.0.0.5:5000 > 192.0.2.10:7 len=5\n"
      "0.000002500 r1 drop <- alice #3 (link loss) UDP 10.0.0.5:5000 > "
      "192.0.2.10:7 len=5\n"
      "0.000003000 alice stdout tab\\x09here\n");
  g_string_free(s, TRUE);
  nl_trace_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_trace_records_come_back_in_order),
    cmocka_unit_test(test_trace_mask_skips_kinds),
    cmocka_unit_test(test_trace_listener_hears_records_not_kept),
    cmocka_unit_test(test_trace_keep_only_filters_kept_not_heard),
    cmocka_unit_test(test_trace_text_form_of_packet_and_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
