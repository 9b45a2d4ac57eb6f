/* The pcap exporter: what it writes reads back through libpcap with the
 * same bytes and nanosecond timestamps, per node captures hold what
 * crossed that node, and tshark dissects it cleanly (when installed). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "export/pcap.h"
#include "test-timeline-fixture.h"

static char *tmp_dir;

static int setup(void **state) {
  tmp_dir = g_dir_make_tmp("natlab-pcap-XXXXXX", NULL);
  return tmp_dir ? 0 : -1;
}

static int teardown(void **state) {
  GDir *d = g_dir_open(tmp_dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d)) != NULL) {
    char *p = g_build_filename(tmp_dir, name, NULL);
    g_remove(p);
    g_free(p);
  }
  if (d)
    g_dir_close(d);
  g_rmdir(tmp_dir);
  g_free(tmp_dir);
  return 0;
}

typedef struct {
  NlTime time;
  GBytes *bytes;
} Packet;

/* Reads @path back with libpcap at nanosecond precision. */
static GArray *read_back(const char *path) {
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_open_offline_with_tstamp_precision(
      path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == NULL)
    fail_msg("pcap_open_offline: %s", errbuf);
  assert_int_equal(pcap_datalink(p), DLT_RAW);
  GArray *out = g_array_new(FALSE, TRUE, sizeof(Packet));
  struct pcap_pkthdr *h;
  const u_char *data;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
    assert_int_equal(h->caplen, h->len);
    Packet pk = {(NlTime)h->ts.tv_sec * NL_S + h->ts.tv_usec,
                 g_bytes_new(data, h->caplen)};
    g_array_append_val(out, pk);
  }
  assert_int_equal(rc, PCAP_ERROR_BREAK); /* end of file, no error */
  pcap_close(p);
  return out;
}

static void packets_free(GArray *a) {
  for (guint i = 0; i < a->len; i++)
    g_bytes_unref(g_array_index(a, Packet, i).bytes);
  g_array_free(a, TRUE);
}

static void assert_packet(const Packet *pk, const NlTraceRecord *rec,
                          const guint8 *payload) {
  assert_int_equal(pk->time, rec->time);
  assert_int_equal(g_bytes_get_size(pk->bytes), rec->len);
  assert_memory_equal(g_bytes_get_data(pk->bytes, NULL), payload, rec->len);
}

static char *write_capture(const NlTrace *t, const char *name,
                           const char *node) {
  char *path = g_build_filename(tmp_dir, name, NULL);
  GError *err = NULL;
  if (!nl_pcap_write(t, path, node, &err))
    fail_msg("nl_pcap_write: %s", err->message);
  return path;
}

static void test_pcap_every_hop_reads_back_with_ns_times(void **state) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  char *path = write_capture(t, "all.pcap", NULL);
  GArray *got = read_back(path);
  assert_int_equal(got->len, c.hops);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  guint i = 0;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (rec->kind != NL_TRACE_PKT_SEND)
      continue;
    assert_true(i < got->len);
    assert_packet(&g_array_index(got, Packet, i), rec, p);
    i++;
  }
  assert_int_equal(i, c.hops);

  /* Sub-microsecond times survive. */
  NlTrace *t2 = nl_trace_new();
  guint32 a = nl_trace_intern(t2, "a"), b = nl_trace_intern(t2, "b");
  guint8 pkt[64];
  size_t n = fx_udp_bytes(pkt, "10.0.0.1", 1, "10.0.0.2", 2, "x", 1, 1);
  nl_trace_add(t2, 3 * NL_S + 123456789, NL_TRACE_PKT_SEND, a, b, 1, 0, pkt,
               (guint32)n);
  char *path2 = write_capture(t2, "ns.pcap", NULL);
  GArray *got2 = read_back(path2);
  assert_int_equal(got2->len, 1);
  assert_int_equal(g_array_index(got2, Packet, 0).time, 3 * NL_S + 123456789);

  /* Determinism: the same trace gives the same file. */
  char *path3 = write_capture(t, "all-again.pcap", NULL);
  char *x, *y;
  gsize lx, ly;
  assert_true(g_file_get_contents(path, &x, &lx, NULL));
  assert_true(g_file_get_contents(path3, &y, &ly, NULL));
  assert_int_equal(lx, ly);
  assert_memory_equal(x, y, lx);
  g_free(x);
  g_free(y);
  packets_free(got);
  packets_free(got2);
  g_free(path);
  g_free(path2);
  g_free(path3);
  nl_trace_free(t);
  nl_trace_free(t2);
}

static void test_pcap_node_capture_holds_what_crossed_it(void **state) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  char *path = write_capture(t, "nat.pcap", "nat-a");
  GArray *got = read_back(path);
  assert_int_equal(got->len, c.sends_of_nat + c.recvs_of_nat);
  /* In trace order: exactly the sends and receives at nat-a. */
  guint32 nat = nl_trace_intern(t, "nat-a");
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  guint i = 0;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (rec->node != nat ||
        (rec->kind != NL_TRACE_PKT_SEND && rec->kind != NL_TRACE_PKT_RECV))
      continue;
    assert_packet(&g_array_index(got, Packet, i), rec, p);
    i++;
  }
  assert_int_equal(i, got->len);
  packets_free(got);
  g_free(path);

  /* bob: the datagram lost on the way in (it reached his side of the
   * link), his SYN, the SYN-ACK; not alice's queue-full drop. */
  path = write_capture(t, "bob.pcap", "bob");
  got = read_back(path);
  assert_int_equal(got->len, 3);
  assert_int_equal(g_array_index(got, Packet, 0).time, 1 * NL_S + 31 * NL_MS);
  assert_int_equal(g_array_index(got, Packet, 1).time, 2 * NL_S);
  assert_int_equal(g_array_index(got, Packet, 2).time, 2 * NL_S + 50 * NL_MS);
  const guint8 *syn =
      g_bytes_get_data(g_array_index(got, Packet, 1).bytes, NULL);
  assert_int_equal(syn[9], NL_IPPROTO_TCP);
  assert_int_equal(syn[NL_IP4_HDR_LEN + 13], NL_TCP_SYN);
  packets_free(got);
  g_free(path);
  nl_trace_free(t);
}

static void test_pcap_unknown_node_is_an_error(void **state) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  char *path = g_build_filename(tmp_dir, "none.pcap", NULL);
  GError *err = NULL;
  assert_false(nl_pcap_write(t, path, "carol", &err));
  assert_true(g_error_matches(err, NL_EXPORT_ERROR, NL_EXPORT_ERROR_FORMAT));
  assert_non_null(strstr(err->message, "carol"));
  assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
  g_clear_error(&err);
  char *bad = g_build_filename(tmp_dir, "missing", "x.pcap", NULL);
  assert_false(nl_pcap_write(t, bad, NULL, &err));
  assert_true(g_error_matches(err, NL_EXPORT_ERROR, NL_EXPORT_ERROR_IO));
  g_clear_error(&err);
  g_free(bad);
  g_free(path);
  nl_trace_free(t);
}

static void test_pcap_tshark_dissects_without_errors(void **state) {
  char *tshark = g_find_program_in_path("tshark");
  if (tshark == NULL) {
    print_message("tshark is not installed; skipping the dissection check\n");
    skip();
  }
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  char *path = write_capture(t, "tshark.pcap", NULL);
  /* -o: no name resolution; -V: every field of every packet. */
  char *argv[] = {tshark, "-n", "-V", "-r", path, NULL};
  char *out = NULL, *err = NULL;
  int status = 0;
  GError *error = NULL;
  if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                    &status, &error))
    fail_msg("tshark: %s", error->message);
  if (!g_spawn_check_wait_status(status, NULL))
    fail_msg("tshark failed: %s", err);
  assert_null(strstr(out, "Malformed"));
  assert_null(strstr(out, "[Expert Info (Error"));
  assert_null(strstr(out, "incorrect"));
  assert_non_null(strstr(out, "Raw packet data"));
  assert_non_null(strstr(out, "User Datagram Protocol, Src Port: 50001, "
                              "Dst Port: 3478"));
  assert_non_null(strstr(out, "Session Traversal Utilities for NAT"));
  assert_non_null(strstr(out, "Transmission Control Protocol, Src Port: "
                              "40000, Dst Port: 80"));
  /* Frame times are virtual time, to the nanosecond. */
  assert_non_null(strstr(out, "Epoch Time: 2.025000000 seconds"));
  /* One frame per hop. */
  char *last = g_strdup_printf("Frame %u:", c.hops);
  assert_non_null(strstr(out, last));
  g_free(last);
  g_free(out);
  g_free(err);
  g_free(path);
  g_free(tshark);
  nl_trace_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pcap_every_hop_reads_back_with_ns_times),
      cmocka_unit_test(test_pcap_node_capture_holds_what_crossed_it),
      cmocka_unit_test(test_pcap_unknown_node_is_an_error),
      cmocka_unit_test(test_pcap_tshark_dissects_without_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
