/* The trace: records in order, interned names, masks, text form. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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
    assert_ptr_equal(p, nl_trace_payload(r));
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

/* Several listeners, their kinds overlapping, added at different times:
 * each record reaches the ones that asked for its kind, in the order they
 * were added. */
static void test_trace_listeners_called_by_kind_in_order(void **state) {
  NlTrace *t = nl_trace_new();
  GString *log = g_string_new(NULL);
  Heard a = {log}, b = {log};
  nl_trace_listen(t, 1u << NL_TRACE_STDOUT, hear, &a);
  nl_trace_addf(t, 0, NL_TRACE_STDOUT, 0, 0, 0, 0, "a1");
  nl_trace_listen(t, (1u << NL_TRACE_STDOUT) | (1u << NL_TRACE_NOTE), hear,
                  &b);
  nl_trace_addf(t, 1, NL_TRACE_STDOUT, 0, 0, 0, 0, "ab2");
  nl_trace_listen(t, 1u << NL_TRACE_NOTE, hear, &a);
  nl_trace_addf(t, 2, NL_TRACE_NOTE, 0, 0, 0, 0, "ba3");
  nl_trace_addf(t, 3, NL_TRACE_STDERR, 0, 0, 0, 0, "none");
  /* Which listener heard: the same text once per listener, in order. */
  assert_string_equal(log->str,
                      "stdout:a1;stdout:ab2;stdout:ab2;note:ba3;note:ba3;");
  g_string_free(log, TRUE);
  nl_trace_free(t);
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

/* Sources by their peer's id: even ids are read, odd ones not; each
 * answer counted. */
typedef struct {
  guint asked;
} Asked;
static gboolean even_peers(void *data, NlTraceKind kind, guint32 node,
                           guint32 peer) {
  ((Asked *)data)->asked++;
  return peer % 2 == 0;
}
static void ignore(void *data, const NlTraceRecord *rec, const guint8 *p) {}

/* nl_trace_wants_text is FALSE only when nothing would hear or keep the
 * record: each listener of the kind says it ignores the source, and the
 * kind is not kept, or is filtered with the filter's sources leaving this
 * one out and the text not starting with its prefix.  A listener without
 * sources, the kind kept unfiltered, or a filter without sources reads
 * every source.  The answers are remembered per source (asked once) and
 * asked again when a listener, the filter or the mask changes, or the
 * source's node. */
static void test_trace_wants_text_only_what_is_read(void **state) {
  NlTrace *t = nl_trace_new();
  Asked lis = {0}, keep = {0};
  nl_trace_set_mask(t, 0); /* nothing kept, nothing heard */
  assert_false(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 2, "x", 1));
  nl_trace_listen_sources(t, 1u << NL_TRACE_STDOUT, ignore, even_peers, &lis);
  assert_true(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 2, "x", 1));
  assert_false(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 3, "x", 1));
  assert_false(nl_trace_wants_text(t, NL_TRACE_STDERR, 1, 2, "x", 1));
  for (int i = 0; i < 5; i++) {
    assert_true(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 2, "x", 1));
    assert_false(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 3, "x", 1));
  }
  assert_int_equal(lis.asked, 2); /* remembered */
  /* Another node, the same peer: asked again. */
  assert_false(nl_trace_wants_text(t, NL_TRACE_STDOUT, 4, 3, "x", 1));
  assert_int_equal(lis.asked, 3);
  /* Kept, filtered: by the filter's sources, or its prefix. */
  nl_trace_set_mask(t, 1u << NL_TRACE_STDOUT);
  nl_trace_keep_only(t, 1u << NL_TRACE_STDOUT, keep_odd, &keep);
  assert_true(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 3, "x", 1));
  nl_trace_keep_sources(t, even_peers, "ice: ");
  assert_false(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 3, "x", 1));
  assert_false(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 3, "ice:", 4));
  assert_true(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 3, "ice: ", 5));
  assert_true(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 3,
                                  "ice: gathered", 13));
  assert_false(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 3,
                                   "ice! gathered", 13));
  assert_false(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 3,
                                   "nice: gathered", 14));
  assert_true(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 2, "x", 1));
  /* A prefix longer than a word. */
  nl_trace_keep_sources(t, even_peers, "a longer prefix");
  assert_true(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 3,
                                  "a longer prefix!", 16));
  assert_false(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 3,
                                   "a longer prefiX!", 16));
  /* A listener that reads every source. */
  nl_trace_listen(t, 1u << NL_TRACE_STDOUT, ignore, NULL);
  assert_true(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 3, "x", 1));
  nl_trace_free(t);
  /* The kind kept, unfiltered: read whatever the listeners say. */
  t = nl_trace_new();
  nl_trace_listen_sources(t, 1u << NL_TRACE_STDOUT, ignore, even_peers, &keep);
  assert_true(nl_trace_wants_text(t, NL_TRACE_STDOUT, 1, 3, "x", 1));
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


/* The hand-written formatters write what printf would. */
static void test_trace_text_numbers_as_printf(void **state) {
  uint64_t v = 0;
  for (int i = 0; i < 2000; i++) {
    char want[32], got[32];
    snprintf(want, sizeof want, "%" G_GUINT64_FORMAT, v);
    *nl_trace_put_uint(got, v) = '\0';
    assert_string_equal(got, want);
    /* 0..99, powers of ten and their neighbours, then big values. */
    v = i < 100 ? v + 1 : i < 400 ? v * 3 + (uint64_t)(i % 7) : v * 7 + 1;
  }
  /* Every value of up to six digits (two to five are written apart). */
  for (uint64_t x = 0; x < 1000000; x++) {
    char want[32], got[32];
    snprintf(want, sizeof want, "%" G_GUINT64_FORMAT, x);
    *nl_trace_put_uint(got, x) = '\0';
    assert_string_equal(got, want);
  }
  char got[32];
  *nl_trace_put_uint(got, G_MAXUINT64) = '\0';
  assert_string_equal(got, "18446744073709551615");
  const uint32_t addrs[] = {0, 1, 0x0a000005, 0xc0a80101, 0x64400a0b,
                            0xffffffff, 0x01020304, 0x0a00ff09, 0x63646465,
                            0xc7c8c9fe, 0x090a6364};
  for (gsize i = 0; i < G_N_ELEMENTS(addrs); i++) {
    char want[16], a[16];
    uint32_t x = addrs[i];
    snprintf(want, sizeof want, "%u.%u.%u.%u", x >> 24, (x >> 16) & 0xff,
             (x >> 8) & 0xff, x & 0xff);
    assert_string_equal(nl_ip4_to_string(x, a), want);
  }
}

static void test_trace_text_times_as_nl_time_to_string(void **state) {
  /* In turn: the formatter writes a time again only in part when it is
   * in the second of the one before. */
  const NlTime times[] = {0, 1, 9, 10, 999999999, 1000000000, 1000000001,
                          1500, 123456789012345, -1, -1000000000,
                          -1500000001, G_MAXINT64, G_MININT64,
                          2000000005, 2000000005, 2999999999, 3000000000,
                          -5, 3000000001, 3999999999, G_MAXINT64 - 1,
                          G_MAXINT64, 0,
                          /* the first five digits after the point the
                           * same, then not, then again */
                          4189664000, 4189665000, 4189669999, 4189670000,
                          4189670001, 4189679999, 4189680000, 4000000000,
                          4000009999, 4999999999, 4999990000, 5000000000,
                          5000000000, 4999999999, 5000000000, 5000010000};
  NlTrace *t = nl_trace_new();
  GString *s = g_string_new(NULL);
  for (gsize i = 0; i < G_N_ELEMENTS(times); i++) {
    nl_trace_addf(t, times[i], NL_TRACE_NOTE, 0, 0, 0, 0, "x");
  }
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  gsize i = 0;
  while (nl_trace_iter_next(&it, &rec, &p)) {
    char tb[NL_TIME_STRLEN];
    char *want = g_strdup_printf("%s  note x", nl_time_to_string(times[i], tb));
    g_string_truncate(s, 0);
    nl_trace_format(t, rec, p, s);
    assert_string_equal(s->str, want);
    g_free(want);
    i++;
  }
  assert_int_equal(i, G_N_ELEMENTS(times));
  g_string_free(s, TRUE);
  nl_trace_free(t);
}

static void test_trace_text_escapes_control_bytes(void **state) {
  NlTrace *t = nl_trace_new();
  guint32 a = nl_trace_intern(t, "alice"), p1 = nl_trace_intern(t, "a/p");
  const char text[] = "a\\b\x01\x7f\xc3\xa9\n\ttail";
  nl_trace_add(t, 0, NL_TRACE_STDOUT, a, p1, 0, 0, text, sizeof text - 1);
  nl_trace_add(t, 0, NL_TRACE_STDERR, a, 0, 0, 0, "", 0);
  nl_trace_add(t, 0, NL_TRACE_NOTE, a, 0, 0, 0, "\\", 1);
  GString *s = g_string_new(NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    nl_trace_format(t, rec, p, s);
    g_string_append_c(s, '\n');
  }
  assert_string_equal(s->str,
                      "0.000000000 alice stdout [a/p] "
                      "a\\\\b\\x01\\x7f\xc3\xa9\\x0a\\x09tail\n"
                      "0.000000000 alice stderr \n"
                      "0.000000000 alice note \\\\\n");
  g_string_free(s, TRUE);
  nl_trace_free(t);
}

static void test_trace_text_form_of_tcp(void **state) {
  NlTrace *t = nl_trace_new();
  nl_trace_set_packet_format(t, nl_wire_describe);
  guint32 a = nl_trace_intern(t, "a");
  guint8 pkt[128];
  NlTcpHeader h = {.sport = 40000, .dport = 80, .seq = 4294967295u,
                   .ack = 0, .flags = NL_TCP_SYN, .window = 65535,
                   .mss = 1460};
  size_t n = nl_tcp4_build(pkt, 0x0a000005, 0xc000020a, &h, NULL, 0, 1, 64,
                           TRUE);
  nl_trace_add(t, 0, NL_TRACE_PKT_SEND, a, 0, 1, 0, pkt, (guint32)n);
  NlTcpHeader d = {.sport = 80, .dport = 40000, .seq = 7, .ack = 12345,
                   .flags = NL_TCP_ACK | NL_TCP_PSH | NL_TCP_FIN,
                   .window = 0};
  n = nl_tcp4_build(pkt, 0xc000020a, 0x0a000005, &d, "hello", 5, 2, 64,
                    TRUE);
  nl_trace_add(t, 0, NL_TRACE_PKT_RECV, a, 0, 18446744073709551615u, 0, pkt,
               (guint32)n);
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
      "0.000000000 a send ->  #1 TCP 10.0.0.5:40000 > 192.0.2.10:80 [S] "
      "seq=4294967295 win=65535 len=0 mss=1460\n"
      "0.000000000 a recv #18446744073709551615 TCP 192.0.2.10:80 > "
      "10.0.0.5:40000 [FP.] seq=7 ack=12345 win=0 len=5\n");
  g_string_free(s, TRUE);
  nl_trace_free(t);
}

/* Escapes found wherever they sit in a long text (the formatter looks at
 * eight bytes at a time): each special byte at each place of a 40-byte
 * line, against the rule written plainly. */
/* Texts of every length up to 40 bytes, with a byte that needs an escape
 * (or a plain one) at every place and another nine bytes after it: each
 * formatted from a copy of exactly its length (so that a read past either
 * end is one a sanitizer sees), through the blocks of 16 and 8 bytes and
 * the tail read as the block that ends the text. */
static void test_trace_text_escapes_anywhere(void **state) {
  const guint8 specials[] = {0x00, 0x01, 0x1f, 0x20, 0x21, 0x5b, 0x5c, 0x5d,
                             0x7e, 0x7f, 0x80, 0x9f, 0xa0, 0xff};
  NlTrace *t = nl_trace_new();
  GString *got = g_string_new(NULL), *want = g_string_new(NULL);
  for (guint32 len = 1; len <= 70; len++) {
    for (gsize s = 0; s < G_N_ELEMENTS(specials); s++) {
      for (guint32 at = 0; at < len; at++) {
        guint8 text[70];
        for (guint32 i = 0; i < len; i++)
          text[i] = (guint8)('a' + i % 26);
        text[at] = specials[s];
        if (at + 9 < len)
          text[at + 9] = 0x1f; /* a second one in the next word */
        g_string_assign(want, "0.000000000  note ");
        for (guint32 i = 0; i < len; i++) {
          if (text[i] == '\\')
            g_string_append(want, "\\\\");
          else if (text[i] < 0x20 || text[i] == 0x7f)
            g_string_append_printf(want, "\\x%02x", text[i]);
          else
            g_string_append_c(want, (char)text[i]);
        }
        guint8 *copy = g_memdup2(text, len);
        NlTraceRecord rec = {.kind = NL_TRACE_NOTE, .len = len};
        g_string_truncate(got, 0);
        nl_trace_format(t, &rec, copy, got);
        assert_int_equal(got->len, want->len);
        assert_memory_equal(got->str, want->str, want->len);
        /* And as a line of the text writers: the same and a newline. */
        g_string_truncate(got, 0);
        nl_trace_format_line(t, &rec, copy, got);
        g_free(copy);
        assert_int_equal(got->len, want->len + 1);
        assert_memory_equal(got->str, want->str, want->len);
        assert_int_equal(got->str[want->len], '\n');
      }
    }
  }
  g_string_free(got, TRUE);
  g_string_free(want, TRUE);
  nl_trace_free(t);
}

/* A text that ends where its page does, the next page not readable: the
 * formatter reads no byte past the text there (a short text is read in
 * whole vectors only within its page), and writes it as it is, escapes
 * and all. */
static void test_trace_text_at_a_page_end(void **state) {
  gsize page = (gsize)sysconf(_SC_PAGESIZE);
  guint8 *mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(mem != MAP_FAILED);
  assert_int_equal(mprotect(mem + page, page, PROT_NONE), 0);
  NlTrace *t = nl_trace_new();
  GString *got = g_string_new(NULL), *want = g_string_new(NULL);
  for (guint32 len = 0; len <= 70; len++) {
    for (int special = 0; special < 2; special++) {
      guint8 *text = mem + page - len;
      for (guint32 i = 0; i < len; i++)
        text[i] = (guint8)('a' + i % 26);
      if (special && len > 0)
        text[len - 1] = '\\';
      g_string_assign(want, "0.000000000  note ");
      g_string_append_len(want, (const char *)text,
                          special && len > 0 ? len - 1 : len);
      if (special && len > 0)
        g_string_append(want, "\\\\");
      NlTraceRecord rec = {.kind = NL_TRACE_NOTE, .len = len};
      g_string_truncate(got, 0);
      nl_trace_format_line(t, &rec, text, got);
      g_string_append_c(want, '\n');
      assert_string_equal(got->str, want->str);
    }
  }
  g_string_free(got, TRUE);
  g_string_free(want, TRUE);
  nl_trace_free(t);
  munmap(mem, 2 * page);
}

typedef struct {
  GString *written;
  unsigned flushes;
} Flushed;

static void flush_block(void *data, GString *block) {
  Flushed *f = data;
  g_string_append_len(f->written, block->str, (gssize)block->len);
  g_string_truncate(block, 0);
  f->flushes++;
}

/* Record @i of the text listeners' tests at @when: a UDP datagram from
 * @node for the packet kinds, else a text (a tab in it, sometimes a
 * backslash) from @text_node; @peer on two records of three. */
static void add_mixed(NlTrace *t, int i, NlTime when, guint32 node,
                      guint32 text_node, guint32 peer) {
  NlTraceKind k = (NlTraceKind)(i % NL_TRACE_N_KINDS);
  if (k == NL_TRACE_PKT_SEND || k == NL_TRACE_PKT_RECV ||
      k == NL_TRACE_PKT_DROP || k == NL_TRACE_PKT_DELIVER ||
      k == NL_TRACE_NAT_XLATE) {
    guint8 pkt[200];
    size_t n = nl_udp4_build(pkt, 0x0a000001 + (uint32_t)(i % 7), 1000,
                             0x0a000002, 7, "data", (size_t)(i % 5),
                             (uint16_t)i, 64, FALSE);
    nl_trace_add(t, when, k, node, i % 3 ? peer : 0, (uint64_t)i / 4,
                 k == NL_TRACE_PKT_DROP ? NL_DROP_LOSS : 0, pkt, (guint32)n);
  } else {
    nl_trace_addf(t, when, k, text_node, i % 3 ? peer : 0, 0, 0,
                  "text %d\t%s", i, i % 11 ? "" : "\\ and more");
  }
}

/* The lines nl_trace_write_text writes of @t's records. */
static GString *kept_lines(NlTrace *t) {
  GString *want = g_string_new(NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p))
    nl_trace_format_line(t, rec, p, want);
  return want;
}

typedef struct {
  GString *written;
  unsigned flushes;
  GThread *caller;  /* the test's thread */
  gboolean elsewhere; /* a flush ran on another thread */
} ThreadFlushed;

static void flush_thread_block(void *data, GString *block) {
  ThreadFlushed *f = data;
  g_string_append_len(f->written, block->str, (gssize)block->len);
  g_string_truncate(block, 0);
  f->flushes++;
  if (g_thread_self() != f->caller)
    f->elsewhere = TRUE;
}

/* nl_trace_listen_text_thread writes the lines nl_trace_write_text writes
 * of the same records, in order, from a thread of its own: through many
 * turns of its bounded queue, with names interned as the records come, a
 * record longer than a queue block, and packets; once stopped, the block
 * holds the lines not flushed and nothing more is written.  A trace freed
 * with its thread still running ends it. */
static void test_trace_text_thread_writes_every_line(void **state) {
  NlTrace *t = nl_trace_new();
  nl_trace_set_packet_format(t, nl_wire_describe);
  GString *block = g_string_new(NULL);
  ThreadFlushed f = {g_string_new(NULL), 0, g_thread_self(), FALSE};
  NlTraceText *x = nl_trace_listen_text_thread(t, block, 4096,
                                               flush_thread_block, &f);
  guint32 a = nl_trace_intern(t, "alice"), b = nl_trace_intern(t, "b/p");
  guint8 pkt[200];
  gsize big = 1536u << 10; /* longer than a block of the queue */
  char *long_text = g_malloc(big + 1);
  memset(long_text, 'z', big);
  long_text[big] = '\0';
  for (int i = 0; i < 40000; i++) {
    NlTime when = (NlTime)i * 777;
    guint32 node = a;
    if (i % 4000 == 3999) { /* a name the thread has not seen */
      char name[32];
      g_snprintf(name, sizeof name, "host%d", i);
      node = nl_trace_intern(t, name);
    }
    if (i == 20000)
      nl_trace_add(t, when, NL_TRACE_NOTE, node, 0, 0, 0, long_text,
                   (guint32)big);
    else
      add_mixed(t, i, when, node, node, b);
  }
  nl_trace_text_stop(x);
  /* The lines not flushed are in the block, for the caller. */
  assert_true(block->len < 4096 + 4096);
  g_string_append_len(f.written, block->str, (gssize)block->len);
  g_string_truncate(block, 0);
  GString *want = kept_lines(t);
  assert_int_equal(nl_trace_count(t), 40000);
  assert_int_equal(f.written->len, want->len);
  assert_true(memcmp(f.written->str, want->str, want->len) == 0);
  assert_true(strstr(f.written->str, " host39999 ") != NULL);
  assert_true(f.flushes > 100);
  assert_true(f.elsewhere);
  unsigned flushes = f.flushes;
  nl_trace_addf(t, 0, NL_TRACE_NOTE, a, 0, 0, 0, "after");
  assert_int_equal(block->len, 0);
  assert_int_equal(f.flushes, flushes);
  nl_trace_free(t);

  /* Freed while its thread runs: the thread is ended with the trace,
   * and what it wrote before is the lines' start. */
  t = nl_trace_new();
  g_string_truncate(f.written, 0);
  g_string_truncate(want, 0);
  x = nl_trace_listen_text_thread(t, block, 4096, flush_thread_block, &f);
  a = nl_trace_intern(t, "alice");
  for (int i = 0; i < 20000; i++) {
    nl_trace_addf(t, i, NL_TRACE_NOTE, a, 0, 0, 0, "line %d", i);
    g_string_append_printf(want, "0.%09d alice note line %d\n", i, i);
  }
  nl_trace_free(t);
  assert_true(f.written->len <= want->len);
  assert_true(memcmp(f.written->str, want->str, f.written->len) == 0);

  /* A few records, all in the queue's first block: decoded as well. */
  t = nl_trace_new();
  nl_trace_set_packet_format(t, nl_wire_describe);
  g_string_truncate(f.written, 0);
  g_string_truncate(block, 0);
  flushes = f.flushes;
  x = nl_trace_listen_text_thread(t, block, 4096, flush_thread_block, &f);
  a = nl_trace_intern(t, "alice");
  size_t n = nl_udp4_build(pkt, 0x0a000001, 1000, 0x0a000002, 7, "data", 4,
                           1, 64, FALSE);
  nl_trace_add(t, 5, NL_TRACE_PKT_SEND, a, 0, 1, 0, pkt, (guint32)n);
  nl_trace_text_stop(x);
  assert_int_equal(f.flushes, flushes);
  assert_string_equal(block->str, "0.000000005 alice send ->  #1 UDP "
                                  "10.0.0.1:1000 > 10.0.0.2:7 len=4\n");
  nl_trace_free(t);
  g_free(long_text);
  g_string_free(want, TRUE);
  g_string_free(f.written, TRUE);
  g_string_free(block, TRUE);
}

/* The text thread writes names from copies of its own (add_names, packed
 * in chunks): each name as nl_trace_write_text writes it, of every length
 * to 40 (a copy is made up to NAME_PAD, 32, bytes; longer ones are read
 * where the trace interned them), names one byte apart next to each
 * other, and enough of them to fill more than one chunk. */
static void test_trace_text_thread_names_as_interned(void **state) {
  NlTrace *t = nl_trace_new();
  GString *block = g_string_new(NULL);
  ThreadFlushed f = {g_string_new(NULL), 0, g_thread_self(), FALSE};
  NlTraceText *x = nl_trace_listen_text_thread(t, block, 4096,
                                               flush_thread_block, &f);
  char name[64];
  guint32 prev = 0;
  for (int i = 0; i < 6000; i++) {
    int len = i % 41;
    for (int k = 0; k < len; k++)
      name[k] = (char)('a' + (i + k) % 26);
    g_snprintf(name + (len > 6 ? len - 6 : 0), sizeof name - 6, "%06d",
               i); /* each name its own */
    name[MAX(len, 6)] = '\0';
    guint32 id = nl_trace_intern(t, name);
    nl_trace_addf(t, i, NL_TRACE_NOTE, id, prev, 0, 0, "n %d", i);
    nl_trace_add(t, i, NL_TRACE_PKT_SEND, prev, id, 1, 0, "ab", 2);
    prev = id;
  }
  nl_trace_text_stop(x);
  g_string_append_len(f.written, block->str, (gssize)block->len);
  GString *want = kept_lines(t);
  assert_int_equal(f.written->len, want->len);
  assert_true(memcmp(f.written->str, want->str, want->len) == 0);
  nl_trace_free(t);
  g_string_free(want, TRUE);
  g_string_free(f.written, TRUE);
  g_string_free(block, TRUE);
}

/* nl_trace_listen_text writes the line of every record added, of every
 * kind, as nl_trace_write_text's lines of the same records (kept, then
 * formatted), in blocks of at least @flush_at bytes; it is heard with
 * other listeners on the trace (which still hear their kinds), and once
 * stopped it writes nothing more. */
static void test_trace_listen_text_writes_every_line(void **state) {
  NlTrace *t = nl_trace_new();
  nl_trace_set_packet_format(t, nl_wire_describe);
  Heard h = {g_string_new(NULL)};
  nl_trace_listen(t, 1u << NL_TRACE_NOTE, hear, &h);
  GString *block = g_string_new(NULL);
  Flushed f = {g_string_new(NULL), 0};
  NlTraceText *x = nl_trace_listen_text(t, block, 1000, flush_block, &f);
  guint32 a = nl_trace_intern(t, "alice"), b = nl_trace_intern(t, "b/p");
  for (int i = 0; i < 3000; i++)
    add_mixed(t, i, (NlTime)i * 333, a, i % 2 ? a : b, b);
  flush_block(&f, block);
  GString *want = kept_lines(t);
  assert_int_equal(nl_trace_count(t), 3000);
  assert_string_equal(f.written->str, want->str);
  assert_true(f.flushes > 10);
  assert_true(h.seen->len > 0); /* the other listener still heard */
  /* Kept or not, each is heard: with no kind kept, a call's line. */
  nl_trace_set_mask(t, 0);
  nl_trace_addf(t, 5, NL_TRACE_CALL, a, b, 0, 0, "send(3) = 1");
  assert_string_equal(block->str,
                      "0.000000005 alice call [b/p] send(3) = 1\n");
  assert_int_equal(nl_trace_count(t), 3000);
  g_string_truncate(block, 0);
  nl_trace_text_stop(x);
  nl_trace_addf(t, 0, NL_TRACE_NOTE, a, 0, 0, 0, "after");
  assert_int_equal(block->len, 0);
  g_string_free(want, TRUE);
  g_string_free(f.written, TRUE);
  g_string_free(block, TRUE);
  g_string_free(h.seen, TRUE);
  nl_trace_free(t);
}

/* A packet's decode is remembered by its bytes, in a slot chosen by the
 * record's id (4096 slots), and the last decode besides: whatever ids and
 * bytes come, each line is the decoder's text of its own bytes -- the
 * same bytes under another id (the last decoded or not), other bytes
 * under the same id or one sharing its slot, a copy with a bad checksum,
 * a longer packet in a slot that held a short one, a packet too big to be
 * remembered. */
static void test_trace_text_packet_decodes_remembered_by_bytes(void **state) {
  NlTrace *t = nl_trace_new();
  nl_trace_set_packet_format(t, nl_wire_describe);
  /* Names of 31, 32 and 33 bytes: copied whole or not. */
  guint32 names[] = {nl_trace_intern(t, "a"),
                     nl_trace_intern(t, "n23456789012345678901234567890a"),
                     nl_trace_intern(t, "n234567890123456789012345678901b"),
                     nl_trace_intern(t, "n2345678901234567890123456789012c")};
  static guint8 pkts[6][3000];
  size_t lens[6];
  lens[0] = nl_udp4_build(pkts[0], 0x0a000005, 5000, 0xc000020a, 7, "hello",
                          5, 1, 64, FALSE);
  lens[1] = nl_udp4_build(pkts[1], 0x0a000005, 5001, 0xc000020a, 7, "hello",
                          5, 1, 64, FALSE);
  memcpy(pkts[2], pkts[0], lens[0]); /* the same with a bad UDP checksum */
  lens[2] = lens[0];
  pkts[2][lens[2] - 1] ^= 1;
  static guint8 big[2900];
  memset(big, 'x', sizeof big);
  lens[3] = nl_udp4_build(pkts[3], 0x0a000005, 5000, 0xc000020a, 7, big,
                          sizeof big, 1, 64, FALSE);
  lens[4] = nl_udp4_build(pkts[4], 0x0a000005, 5000, 0xc000020a, 7, "", 0,
                          1, 64, FALSE);
  lens[5] = nl_udp4_build(pkts[5], 0x0a000005, 5000, 0xc000020a, 7, big,
                          1000, 1, 64, FALSE);
  const uint64_t ids[] = {1, 4097, 1, 8193, 2, 1, 257, 1u << 20};
  GString *got = g_string_new(NULL), *want = g_string_new(NULL);
  for (int round = 0; round < 3; round++) {
    for (gsize i = 0; i < G_N_ELEMENTS(ids); i++) {
      for (gsize k = 0; k < G_N_ELEMENTS(lens); k++) {
        guint32 node = names[(i + k) % G_N_ELEMENTS(names)];
        guint32 peer = names[(i + k + round) % G_N_ELEMENTS(names)];
        NlTraceRecord rec = {.time = (NlTime)(i * 1000 + k), .id = ids[i],
                             .kind = NL_TRACE_PKT_RECV, .node = node,
                             .peer = peer, .len = (uint32_t)lens[k]};
        /* Every other one as the text writers' line (nl_trace_format_line:
         * the same text and a newline), through each way to a decode. */
        gboolean line = (i + k + round) % 2 == 1;
        g_string_truncate(got, 0);
        if (line)
          nl_trace_format_line(t, &rec, pkts[k], got);
        else
          nl_trace_format(t, &rec, pkts[k], got);
        char tb[NL_TIME_STRLEN];
        g_string_printf(want, "%s %s recv <- %s #%" G_GUINT64_FORMAT " ",
                        nl_time_to_string(rec.time, tb),
                        nl_trace_name(t, node), nl_trace_name(t, peer),
                        ids[i]);
        nl_wire_describe(pkts[k], lens[k], want);
        if (line)
          g_string_append_c(want, '\n');
        assert_string_equal(got->str, want->str);
      }
    }
  }
  g_string_free(got, TRUE);
  g_string_free(want, TRUE);
  nl_trace_free(t);
}

/* A packet forwarded by a router (its TTL one less, the header checksum
 * made again) decodes as the packet did: nl_wire_describe_same says so,
 * and not for a TTL changed without its checksum, another field, or a
 * packet that is not IPv4 with a 20-byte header.  Formatted in turn with
 * the decoder that shows them alike installed (nl_trace_set_packet_same),
 * each line is still the decoder's text of its own bytes. */
static void test_trace_text_forwarded_packet_decoded_once(void **state) {
  static guint8 pkts[5][200];
  size_t lens[5];
  lens[0] = nl_udp4_build(pkts[0], 0x0a000005, 5000, 0xc000020a, 7, "hello",
                          5, 9, 64, FALSE);
  lens[1] = nl_udp4_build(pkts[1], 0x0a000005, 5000, 0xc000020a, 7, "hello",
                          5, 9, 63, FALSE);
  memcpy(pkts[2], pkts[0], lens[0]); /* TTL 63, the checksum left */
  lens[2] = lens[0];
  pkts[2][8] = 63;
  lens[3] = nl_udp4_build(pkts[3], 0x0a000005, 5000, 0xc000020a, 7, "hellp",
                          5, 9, 63, FALSE);
  memcpy(pkts[4], pkts[1], lens[1]); /* IHL 6: not a 20-byte header */
  lens[4] = lens[1];
  pkts[4][0] = 0x46;
  assert_true(nl_wire_describe_same(pkts[0], pkts[1], lens[0]));
  assert_true(nl_wire_describe_same(pkts[1], pkts[0], lens[0]));
  assert_false(nl_wire_describe_same(pkts[0], pkts[2], lens[0]));
  assert_false(nl_wire_describe_same(pkts[0], pkts[3], lens[0]));
  assert_false(nl_wire_describe_same(pkts[4], pkts[1], lens[0]));
  assert_false(nl_wire_describe_same(pkts[0], pkts[1], 12));
  NlTrace *t = nl_trace_new();
  nl_trace_set_packet_format(t, nl_wire_describe);
  nl_trace_set_packet_same(t, nl_wire_describe_same);
  guint32 a = nl_trace_intern(t, "a");
  const int order[] = {0, 1, 2, 1, 3, 0, 4, 1, 2, 0};
  GString *got = g_string_new(NULL), *want = g_string_new(NULL);
  for (gsize i = 0; i < G_N_ELEMENTS(order); i++) {
    int k = order[i];
    NlTraceRecord rec = {.time = 1, .id = 100 + i, .kind = NL_TRACE_PKT_SEND,
                         .node = a, .peer = a, .len = (uint32_t)lens[k]};
    g_string_truncate(got, 0);
    nl_trace_format(t, &rec, pkts[k], got);
    g_string_printf(want, "0.000000001 a send -> a #%" G_GSIZE_FORMAT " ",
                    100 + i);
    nl_wire_describe(pkts[k], lens[k], want);
    assert_string_equal(got->str, want->str);
  }
  g_string_free(got, TRUE);
  g_string_free(want, TRUE);
  nl_trace_free(t);
}

/* Datagrams of many flows, formatted each under a new id (so never from
 * its id's slot) with the decoder's key installed (nl_trace_set_packet_
 * key): the flows' decodes are remembered by key, more flows than are
 * kept, flows that differ in one field only (an address, a port, the
 * length), datagrams of a flow with other payloads, IP ids and TTLs, and
 * some with a bad checksum (no key: decoded); each line is still the
 * decoder's text of its own bytes.  nl_wire_describe_key gives two
 * datagrams the same key only when their lines are the same. */
static void test_trace_text_flow_decodes_remembered_by_key(void **state) {
  NlTrace *t = nl_trace_new();
  nl_trace_set_packet_format(t, nl_wire_describe);
  nl_trace_set_packet_same(t, nl_wire_describe_same);
  nl_trace_set_packet_key(t, nl_wire_describe_key);
  guint32 a = nl_trace_intern(t, "a");
  GString *got = g_string_new(NULL), *want = g_string_new(NULL);
  GHashTable *texts = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                            (GDestroyNotify)g_bytes_unref,
                                            g_free);
  static guint8 pkt[300];
  char payload[200];
  guint32 r = 12345;
  unsigned keyed = 0;
  for (unsigned i = 0; i < 60000; i++) {
    r = r * 1103515245u + 12345u;
    unsigned flow = (r >> 8) % 24000; /* more than are kept */
    uint32_t src = 0x0a000000u + (flow % 3000);
    uint32_t dst = flow % 7 == 0 ? 0x64400001u : 0x64400002u;
    uint16_t sport = (uint16_t)(1024 + flow / 3000 * 7919 % 60000);
    uint16_t dport = (uint16_t)(flow % 5 == 0 ? 7 : 3478);
    size_t plen = (flow % 11) * 9 + (flow % 13 == 0 ? (r >> 4) % 3 : 0);
    memset(payload, (int)(r >> 16), sizeof payload);
    size_t n = nl_udp4_build(pkt, src, sport, dst, dport, payload, plen,
                             (uint16_t)(r >> 3), (uint8_t)(60 + r % 5),
                             FALSE);
    if (i % 97 == 0)
      pkt[n - 1] ^= 1; /* a bad checksum (or, with no payload, header) */
    NlTraceRecord rec = {.time = 1, .id = 1000000 + i,
                         .kind = NL_TRACE_PKT_SEND, .node = a, .peer = a,
                         .len = (uint32_t)n};
    g_string_truncate(got, 0);
    nl_trace_format(t, &rec, pkt, got);
    g_string_printf(want, "0.000000001 a send -> a #%u ", 1000000 + i);
    nl_wire_describe(pkt, n, want);
    assert_string_equal(got->str, want->str);
    uint64_t key[2];
    if (nl_wire_describe_key(pkt, n, key)) {
      GString *line = g_string_new(NULL);
      nl_wire_describe(pkt, n, line);
      GBytes *k = g_bytes_new(key, sizeof key);
      const char *seen = g_hash_table_lookup(texts, k);
      if (seen != NULL) {
        assert_string_equal(seen, line->str);
        g_bytes_unref(k);
        g_string_free(line, TRUE);
      } else {
        g_hash_table_insert(texts, k, g_string_free(line, FALSE));
      }
      keyed++;
    }
  }
  assert_true(keyed > 50000);
  assert_true(g_hash_table_size(texts) > 16384);
  /* Different lines, different keys. */
  GHashTable *lines = g_hash_table_new(g_str_hash, g_str_equal);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, texts);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    assert_null(g_hash_table_lookup(lines, v));
    g_hash_table_insert(lines, v, v);
  }
  g_hash_table_destroy(lines);
  g_hash_table_destroy(texts);
  g_string_free(got, TRUE);
  g_string_free(want, TRUE);
  nl_trace_free(t);
}

static int vformat(char *out, gsize cap, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static int vformat(char *out, gsize cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = nl_trace_vformat(out, cap, fmt, ap);
  va_end(ap);
  return n;
}

/* vformat with a format made at run time (no format check). */
static int nl_trace_vformat_test(char *out, gsize cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = nl_trace_vformat(out, cap, fmt, ap);
  va_end(ap);
  return n;
}

/* The records' formatter writes what printf writes, by hand or not. */
static void test_trace_vformat_as_printf(void **state) {
  char got[256], want[256];
#define SAME(...)                                                              \
  do {                                                                         \
    int n = vformat(got, sizeof got, __VA_ARGS__);                             \
    int m = g_snprintf(want, sizeof want, __VA_ARGS__);                        \
    assert_int_equal(n, m);                                                    \
    assert_string_equal(got, want);                                            \
  } while (0)
  SAME("sendto(%d, %zu bytes, %s) = %zd", 3, (size_t)100, "1.2.3.4:5",
       (ssize_t)-101);
  SAME("%d %d %d %i", 0, -1, G_MININT, G_MAXINT);
  SAME("%ld %lld %zd", G_MINLONG, (long long)G_MININT64, (ssize_t)-7);
  SAME("%u %lu %llu %zu", G_MAXUINT, G_MAXULONG,
       (unsigned long long)G_MAXUINT64, (size_t)0);
  SAME("%x %lx %llx %zx", 0u, 0xdeadbeefUL, 0x0123456789abcdefULL,
       (size_t)255);
  SAME("%s|%s|%c|%%|", "", "text", 'q');
  SAME("%s", (const char *)NULL);
  SAME("no conversions at all");
  SAME("%s", "");
  /* Not taken by hand: flags, widths, precisions. */
  SAME("%5d|%-3s|%.2s|%02x|%+d", 42, "a", "abc", 7u, 3);
  SAME("%p", (void *)NULL);
  /* Too long for the room: -1, by hand or not. */
  char small[8];
  assert_int_equal(vformat(small, sizeof small, "%s", "1234567"), 7);
  assert_string_equal(small, "1234567");
  assert_int_equal(vformat(small, sizeof small, "%s", "12345678"), -1);
  assert_int_equal(vformat(small, sizeof small, "%d", 12345678), -1);
  assert_int_equal(vformat(small, sizeof small, "%5d%5d", 1, 2), -1);
#undef SAME
}

/* The text between conversions is copied a word at a time: at every
 * alignment of the format, every length of text before and after a
 * conversion, bytes with the top bit set, and every room from too small
 * to enough, the result is printf's. */
static void test_trace_vformat_text_at_every_alignment(void **state) {
  static const char pattern[] = "a\xc3\xa9 b\x80\xff-.xyz0123456789ABCDEFGHIJ";
  char fmt_room[128], got[96], want[96];
  for (gsize align = 0; align < 8; align++) {
    for (gsize before = 0; before < 24; before++) {
      for (gsize after = 0; after < 24; after += 5) {
        /* before bytes, "%d", after bytes, at fmt_room + align */
        char *fmt = fmt_room + align;
        memcpy(fmt, pattern, before);
        memcpy(fmt + before, "%d", 2);
        memcpy(fmt + before + 2, pattern + 3, after);
        fmt[before + 2 + after] = '\0';
        memcpy(want, pattern, before);
        memcpy(want + before, "42", 2);
        memcpy(want + before + 2, pattern + 3, after);
        int m = (int)(before + 2 + after);
        want[m] = '\0';
        for (gsize cap = 1; cap <= sizeof got; cap += cap < 40 ? 1 : 23) {
          memset(got, '#', sizeof got);
          int n = nl_trace_vformat_test(got, cap, fmt, 42);
          if ((gsize)m < cap) {
            assert_int_equal(n, m);
            assert_string_equal(got, want);
          } else {
            assert_int_equal(n, -1);
          }
          /* Nothing written past the room. */
          for (gsize i = cap; i < sizeof got; i++)
            assert_int_equal(got[i], '#');
        }
      }
    }
  }
}

/* Formats are remembered by address, parsed: a format rewritten in place
 * (the same address, another text: longer, shorter, another conversion,
 * one vsnprintf must do) is parsed again, and formats too long or with
 * too many pieces to remember are formatted all the same. */
static void test_trace_vformat_format_rewritten_in_place(void **state) {
  char fmt[200], got[256];
  static const struct {
    const char *fmt, *want;
  } cases[] = {
      {"a%db", "a7b"},       {"a%sb", "a(null)b"}, {"a%5db", "a    7b"},
      {"a%db", "a7b"},       {"a%d", "a7"},        {"%d", "7"},
      {"", ""},              {"%%%d%%", "%7%"},    {"a%lldb", "a7b"},
      {"abcdefgh%d", "abcdefgh7"},                 {"abcdefgh%x", "abcdefgh7"},
      {"abcdefgh%d", "abcdefgh7"},
  };
  for (gsize round = 0; round < 2; round++) {
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
      strcpy(fmt, cases[i].fmt);
      int n = strstr(fmt, "%s") ? nl_trace_vformat_test(got, sizeof got, fmt,
                                                        (const char *)NULL)
              : strstr(fmt, "%ll")
                  ? nl_trace_vformat_test(got, sizeof got, fmt, 7ll)
                  : nl_trace_vformat_test(got, sizeof got, fmt, 7);
      assert_int_equal(n, (int)strlen(cases[i].want));
      assert_string_equal(got, cases[i].want);
    }
  }
  /* Too long to remember (over 64 bytes), and too many pieces. */
  memset(fmt, 'z', 100);
  strcpy(fmt + 100, "%d!");
  for (int k = 0; k < 2; k++) {
    int n = nl_trace_vformat_test(got, sizeof got, fmt, 5);
    assert_int_equal(n, 102);
    assert_int_equal(got[100], '5');
    assert_int_equal(got[101], '!');
  }
  strcpy(fmt, "%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d");
  for (int k = 0; k < 2; k++) {
    int n = nl_trace_vformat_test(got, sizeof got, fmt, 1, 2, 3, 4, 5, 6, 7, 8,
                                  9, 10, 11, 12);
    assert_int_equal(n, 26);
    assert_string_equal(got, "1,2,3,4,5,6,7,8,9,10,11,12");
  }
}

/* Formats whose addresses share their slots (the cache's index, as
 * sim/core/trace.c computes it), used in turn: each formats as itself. */
static void test_trace_vformat_formats_sharing_slots(void **state) {
  static char room[1 << 16];
  char *at[4];
  int found = 0;
  uintptr_t want = 0;
  for (gsize off = 0; off + 64 < sizeof room && found < 4; off += 8) {
    uintptr_t h = (uintptr_t)(room + off);
    uintptr_t pair = (h ^ (h >> 6) ^ (h >> 12)) & 62;
    if (found == 0)
      want = pair;
    if (pair == want)
      at[found++] = room + off;
  }
  assert_int_equal(found, 4);
  for (int i = 0; i < 4; i++)
    g_snprintf(at[i], 64, "f%d:%%d", i);
  char got[64], expect[64];
  for (int round = 0; round < 20; round++) {
    int i = (round * 7 + round / 3) % 4;
    int n = nl_trace_vformat_test(got, sizeof got, at[i], round);
    g_snprintf(expect, sizeof expect, "f%d:%d", i, round);
    assert_int_equal(n, (int)strlen(expect));
    assert_string_equal(got, expect);
  }
}

/* Where the trace reads no word past a string's NUL (under AddressSanitizer,
 * or big-endian: sim/core/trace.c, LITERAL_WORDS), it leaves every line
 * "not known" (one_line FALSE, unread length -1), the answer that is always
 * safe: these tests expect the fast path's answers, or that one there. */
#if G_BYTE_ORDER == G_LITTLE_ENDIAN && !defined(__SANITIZE_ADDRESS__)
#define FAST_LINES 1
#else
#define FAST_LINES 0
#endif
#define UNREAD(n) (FAST_LINES ? (n) : -1)

static int vformat_line(char *out, gsize cap, gboolean *one_line,
                        const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static int vformat_line(char *out, gsize cap, gboolean *one_line,
                        const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = nl_trace_vformat_line(out, cap, fmt, ap, one_line);
  va_end(ap);
  return n;
}

static int vformat_unread(const NlTrace *t, NlTraceReaders readers,
                          const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int vformat_unread(const NlTrace *t, NlTraceReaders readers,
                          const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = nl_trace_vformat_unread(t, fmt, ap, readers);
  va_end(ap);
  return n;
}

/* Strings for the line tests: @len bytes ('a', 'b', ...) with a newline
 * at @nl (-1: none), at @s; the string's NUL at @s + @len. */
static void fill_string(char *s, int len, int nl) {
  for (int i = 0; i < len; i++)
    s[i] = i == nl ? '\n' : (char)('a' + i % 26);
  s[len] = '\0';
}

/* printf's line path (nl_trace_vformat_line) knows a text to be one whole
 * line from its format and arguments: a string argument of every length,
 * at every alignment and ending at a page's end, with a newline at each
 * of its bytes or none, is written as printf writes it, one line exactly
 * when it holds no newline (its length and newlines are found in one pass
 * of whole vectors); a character argument the same; a format that leaves
 * its line open or holds another newline is not one line, nor a text left
 * to vsnprintf (not known). */
static void test_trace_vformat_line_knows_one_line(void **state) {
  gsize page = (gsize)sysconf(_SC_PAGESIZE);
  char *mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(mem != MAP_FAILED);
  assert_int_equal(mprotect(mem + page, page, PROT_NONE), 0);
  char got[128], want[128];
  for (int len = 0; len <= 40; len++) {
    for (int at = 0; at <= 16; at++) {
      /* at 16: the NUL the page's last byte */
      char *s = at < 16 ? mem + 64 + at : mem + page - len - 1;
      for (int nl = -1; nl < len; nl++) {
        fill_string(s, len, nl);
        gboolean one = 2;
        int n = vformat_line(got, sizeof got, &one, "x%sy\n", s);
        int m = g_snprintf(want, sizeof want, "x%sy\n", s);
        assert_int_equal(n, m);
        assert_string_equal(got, want);
        assert_int_equal(one, FAST_LINES && nl < 0);
        /* Without the newline in the format: never one line. */
        one = 2;
        n = vformat_line(got, sizeof got, &one, "x%s", s);
        assert_int_equal(n, len + 1);
        assert_false(one);
      }
    }
  }
  gboolean one = 2;
  assert_int_equal(vformat_line(got, sizeof got, &one, "a%cb\n", '\n'), 4);
  assert_string_equal(got, "a\nb\n");
  assert_false(one);
  assert_int_equal(vformat_line(got, sizeof got, &one, "a%cb\n", 'c'), 4);
  assert_int_equal(one, FAST_LINES);
  assert_int_equal(
      vformat_line(got, sizeof got, &one, "%s %d\n", (const char *)NULL, -5),
      10);
  assert_string_equal(got, "(null) -5\n");
  assert_int_equal(one, FAST_LINES);
  assert_int_equal(vformat_line(got, sizeof got, &one, "a\nb%d\n", 1), 5);
  assert_false(one);
  assert_int_equal(vformat_line(got, sizeof got, &one, "%d\n\n", 1), 3);
  assert_false(one);
  one = 2;
  assert_int_equal(vformat_line(got, sizeof got, &one, "%3d\n", 1), 4);
  assert_string_equal(got, "  1\n");
  assert_false(one); /* vsnprintf's: not known */
  one = 2;
  assert_int_equal(vformat_line(got, 4, &one, "%s\n", "abc"), -1);
  assert_false(one); /* too long for the room */
  munmap(mem, 2 * page);
}

/* The length of a line no record would be made of (nl_trace_vformat_unread):
 * with no reader, any text that ends with the format's newline; with the
 * filter's prefix read, only one line (no newline in the format's text, a
 * string at any of its bytes, or a character) whose start, the format's
 * text before its first conversion, cannot begin the prefix.  -1 for the
 * rest, and for a format left to vsnprintf. */
static void test_trace_vformat_unread_only_lines_not_kept(void **state) {
  NlTrace *t = nl_trace_new();
  Asked keep = {0};
  nl_trace_keep_only(t, 1u << NL_TRACE_STDOUT, keep_odd, &keep);
  nl_trace_keep_sources(t, even_peers, "ice: ");
  const NlTraceReaders none = NL_TRACE_READERS_NONE,
                       prefix = NL_TRACE_READERS_PREFIX;
  assert_int_equal(vformat_unread(t, none, "received %zd from %s:%d\n",
                                  (ssize_t)-100, "10.0.0.1", 65535),
                   UNREAD((int)strlen("received -100 from 10.0.0.1:65535\n")));
  assert_int_equal(vformat_unread(t, prefix, "received %zd from %s:%d\n",
                                  (ssize_t)-100, "10.0.0.1", 65535),
                   UNREAD((int)strlen("received -100 from 10.0.0.1:65535\n")));
  assert_int_equal(vformat_unread(t, none, "a\nice: %d\n", 7), UNREAD(9));
  assert_int_equal(vformat_unread(t, prefix, "a\nice: %d\n", 7), -1);
  assert_int_equal(vformat_unread(t, none, "open %d", 7), -1);
  assert_int_equal(vformat_unread(t, prefix, "open %d", 7), -1);
  assert_int_equal(vformat_unread(t, prefix, "ice: %d\n", 7), -1);
  assert_int_equal(vformat_unread(t, prefix, "ic%d\n", 7), -1);
  assert_int_equal(vformat_unread(t, prefix, "%s\n", "nice"), -1);
  assert_int_equal(vformat_unread(t, prefix, "ace: %c\n", 'x'), UNREAD(7));
  assert_int_equal(vformat_unread(t, prefix, "ace: %c\n", '\n'), -1);
  assert_int_equal(vformat_unread(t, none, "%5d\n", 7), -1);
  /* Every conversion and length modifier counted as printf writes it,
   * at 0, 9, 10 and each type's extremes. */
#define SAME_LEN(...)                                                          \
  assert_int_equal(vformat_unread(t, none, __VA_ARGS__),                       \
                   UNREAD(g_snprintf(NULL, 0, __VA_ARGS__)))
  static const long long sv[] = {0, 9, 10, -1, -10, G_MININT, G_MAXINT};
  for (gsize i = 0; i < G_N_ELEMENTS(sv); i++) {
    SAME_LEN("%d %i\n", (int)sv[i], (int)sv[i]);
    SAME_LEN("%ld %li\n", (long)sv[i], G_MINLONG);
    SAME_LEN("%lld %lli\n", sv[i], (long long)G_MININT64);
    SAME_LEN("%zd %zi\n", (ssize_t)sv[i], (ssize_t)G_MAXSSIZE);
  }
  static const unsigned long long uv[] = {0, 9, 10, 15, 16, G_MAXUINT,
                                          G_MAXUINT64};
  for (gsize i = 0; i < G_N_ELEMENTS(uv); i++) {
    SAME_LEN("%u %x\n", (unsigned)uv[i], (unsigned)uv[i]);
    SAME_LEN("%lu %lx\n", (unsigned long)uv[i], (unsigned long)uv[i]);
    SAME_LEN("%llu %llx\n", uv[i], uv[i]);
    SAME_LEN("%zu %zx\n", (size_t)uv[i], (size_t)uv[i]);
  }
  SAME_LEN("%c%s%%%s\n", 'c', "str", (const char *)NULL);
#undef SAME_LEN
  char room[64];
  for (int len = 0; len <= 40; len++) {
    for (int at = 0; at < 16; at++) {
      for (int nl = -1; nl < len; nl++) {
        char *s = room + at;
        fill_string(s, len, nl);
        assert_int_equal(vformat_unread(t, prefix, "text %sy\n", s),
                         UNREAD(nl < 0 ? len + 7 : -1));
        assert_int_equal(vformat_unread(t, none, "text %sy\n", s),
                         UNREAD(len + 7));
      }
    }
  }
  nl_trace_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_trace_records_come_back_in_order),
    cmocka_unit_test(test_trace_mask_skips_kinds),
    cmocka_unit_test(test_trace_listener_hears_records_not_kept),
    cmocka_unit_test(test_trace_listeners_called_by_kind_in_order),
    cmocka_unit_test(test_trace_keep_only_filters_kept_not_heard),
    cmocka_unit_test(test_trace_wants_text_only_what_is_read),
    cmocka_unit_test(test_trace_text_form_of_packet_and_text),
    cmocka_unit_test(test_trace_text_numbers_as_printf),
    cmocka_unit_test(test_trace_text_times_as_nl_time_to_string),
    cmocka_unit_test(test_trace_text_escapes_control_bytes),
    cmocka_unit_test(test_trace_text_escapes_anywhere),
    cmocka_unit_test(test_trace_text_at_a_page_end),
    cmocka_unit_test(test_trace_listen_text_writes_every_line),
    cmocka_unit_test(test_trace_text_thread_writes_every_line),
    cmocka_unit_test(test_trace_text_thread_names_as_interned),
    cmocka_unit_test(test_trace_text_form_of_tcp),
    cmocka_unit_test(test_trace_text_packet_decodes_remembered_by_bytes),
    cmocka_unit_test(test_trace_text_forwarded_packet_decoded_once),
    cmocka_unit_test(test_trace_text_flow_decodes_remembered_by_key),
    cmocka_unit_test(test_trace_vformat_as_printf),
    cmocka_unit_test(test_trace_vformat_text_at_every_alignment),
    cmocka_unit_test(test_trace_vformat_format_rewritten_in_place),
    cmocka_unit_test(test_trace_vformat_formats_sharing_slots),
    cmocka_unit_test(test_trace_vformat_line_knows_one_line),
    cmocka_unit_test(test_trace_vformat_unread_only_lines_not_kept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
