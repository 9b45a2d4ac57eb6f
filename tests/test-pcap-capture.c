/* The capture exporter: the pcapng it writes reads back through libpcap
 * with the same bytes and nanosecond timestamps in the programs' epoch,
 * has one interface per node link named "node:ifname", marks direction
 * and drops, per node captures hold what crossed that node, and tshark
 * dissects it cleanly (when installed). */
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
  assert_int_equal(pcap_datalink(p), DLT_IPV4);
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

/* Capture times are what the programs' CLOCK_REALTIME reads. */
#define EPOCH_NS (NL_REALTIME_EPOCH * NL_S)

static void assert_packet(const Packet *pk, const NlTraceRecord *rec,
                          const guint8 *payload) {
  assert_int_equal(pk->time, EPOCH_NS + rec->time);
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
  assert_int_equal(g_array_index(got2, Packet, 0).time,
                   EPOCH_NS + 3 * NL_S + 123456789);

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
  assert_int_equal(g_array_index(got, Packet, 0).time,
                   EPOCH_NS + 1 * NL_S + 31 * NL_MS);
  assert_int_equal(g_array_index(got, Packet, 1).time, EPOCH_NS + 2 * NL_S);
  assert_int_equal(g_array_index(got, Packet, 2).time,
                   EPOCH_NS + 2 * NL_S + 50 * NL_MS);
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
  assert_non_null(strstr(out, "Encapsulation type: Raw IPv4"));
  assert_non_null(strstr(out, "User Datagram Protocol, Src Port: 50001, "
                              "Dst Port: 3478"));
  assert_non_null(strstr(out, "Session Traversal Utilities for NAT"));
  assert_non_null(strstr(out, "Transmission Control Protocol, Src Port: "
                              "40000, Dst Port: 80"));
  /* Frame times are the programs' wall clock, to the nanosecond. */
  assert_non_null(strstr(out, "Epoch Time: 1735689602.025000000 seconds"));
  /* Drops carry their reason. */
  assert_non_null(strstr(out, "dropped at bob: link loss"));
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


/* The fixture's links, as a run's world builder records them. */
static void add_topology(NlTrace *t) {
  static const struct {
    const char *node, *net, *text;
    guint index;
  } links[] = {
      {"alice", "lan-a", "ifname=eth0 addr=10.0.0.5/24 role=link mtu=1500", 2},
      {"nat-a", "lan-a", "ifname=eth0 addr=10.0.0.1/24 role=inside mtu=1500",
       2},
      {"nat-a", "internet",
       "ifname=eth1 addr=203.0.113.1/24 role=outside mtu=1500", 3},
      {"stun", "internet", "ifname=eth0 addr=192.0.2.10/24 role=link mtu=1500",
       2},
      {"bob", "internet",
       "ifname=eth0 addr=198.51.100.1/24 role=link mtu=1500", 2},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(links); i++)
    nl_trace_addf(t, 0, NL_TRACE_TOPOLOGY, nl_trace_intern(t, links[i].node),
                  nl_trace_intern(t, links[i].net), 0,
                  (uint16_t)(NL_TOPO_LINK | links[i].index << 8), "%s",
                  links[i].text);
}

/* A pcapng file, read block by block (little-endian, as natlab writes). */
typedef struct {
  GPtrArray *ifaces; /* char*: if_name of each IDB */
  GArray *pkts;      /* CapPkt */
} Pcapng;

typedef struct {
  guint32 iface, flags;
  guint64 ts;
  guint32 len;
  char *comment;
} CapPkt;

static guint32 rd32le(const guint8 *p) {
  return p[0] | p[1] << 8 | p[2] << 16 | (guint32)p[3] << 24;
}

/* Walks the options at @p..@end; OUT: @name (code 2), @comment (1), @flags
 * (code 2 of an EPB: @epb). */
static void read_opts(const guint8 *p, const guint8 *end, gboolean epb,
                      char **name, char **comment, guint32 *flags) {
  while (p + 4 <= end) {
    guint16 code = p[0] | p[1] << 8, len = p[2] | p[3] << 8;
    if (code == 0)
      break;
    assert_true(p + 4 + len <= end);
    if (code == 2 && !epb && name)
      *name = g_strndup((const char *)p + 4, len);
    if (code == 2 && epb && flags) {
      assert_int_equal(len, 4);
      *flags = rd32le(p + 4);
    }
    if (code == 1 && comment)
      *comment = g_strndup((const char *)p + 4, len);
    p += 4 + ((len + 3u) & ~3u);
  }
}

static Pcapng *pcapng_read(const char *path) {
  char *data;
  gsize len;
  assert_true(g_file_get_contents(path, &data, &len, NULL));
  const guint8 *p = (const guint8 *)data, *end = p + len;
  Pcapng *f = g_new0(Pcapng, 1);
  f->ifaces = g_ptr_array_new_with_free_func(g_free);
  f->pkts = g_array_new(FALSE, TRUE, sizeof(CapPkt));
  assert_int_equal(rd32le(p), 0x0A0D0D0A);
  assert_int_equal(rd32le(p + 8), 0x1A2B3C4D);
  while (p < end) {
    assert_true(p + 12 <= end);
    guint32 type = rd32le(p), blen = rd32le(p + 4);
    assert_int_equal(blen % 4, 0);
    assert_true(p + blen <= end);
    assert_int_equal(rd32le(p + blen - 4), blen);
    const guint8 *body = p + 8, *bend = p + blen - 4;
    if (type == 1) {
      assert_int_equal(body[0] | body[1] << 8, 228); /* LINKTYPE_IPV4 */
      char *name = NULL;
      read_opts(body + 8, bend, FALSE, &name, NULL, NULL);
      assert_non_null(name);
      g_ptr_array_add(f->ifaces, name);
    } else if (type == 6) {
      CapPkt k = {0};
      k.iface = rd32le(body);
      assert_true(k.iface < f->ifaces->len);
      k.ts = (guint64)rd32le(body + 4) << 32 | rd32le(body + 8);
      guint32 cap = rd32le(body + 12);
      k.len = rd32le(body + 16);
      assert_int_equal(cap, k.len);
      read_opts(body + 20 + ((cap + 3u) & ~3u), bend, TRUE, NULL, &k.comment,
                &k.flags);
      g_array_append_val(f->pkts, k);
    }
    p += blen;
  }
  g_free(data);
  return f;
}

static void pcapng_free(Pcapng *f) {
  for (guint i = 0; i < f->pkts->len; i++)
    g_free(g_array_index(f->pkts, CapPkt, i).comment);
  g_array_free(f->pkts, TRUE);
  g_ptr_array_unref(f->ifaces);
  g_free(f);
}

static const char *iface_of(const Pcapng *f, guint i) {
  return g_ptr_array_index(f->ifaces, g_array_index(f->pkts, CapPkt, i).iface);
}

static void test_pcap_one_interface_per_node_link(void **state) {
  NlTrace *t = nl_trace_new();
  FixtureCounts c;
  fixture_build(t, &c);
  add_topology(t);
  char *path = write_capture(t, "links.pcapng", NULL);
  Pcapng *f = pcapng_read(path);
  /* Every link of every node, named node:ifname, used or not. */
  const char *names[] = {"alice:eth0", "nat-a:eth0", "nat-a:eth1",
                         "stun:eth0", "bob:eth0"};
  assert_int_equal(f->ifaces->len, G_N_ELEMENTS(names));
  for (gsize i = 0; i < G_N_ELEMENTS(names); i++)
    assert_string_equal(g_ptr_array_index(f->ifaces, i), names[i]);
  /* Each hop once, on its sender's link towards the receiver, outbound;
   * a hop's drop is a comment on it. */
  const char *want[] = {"alice:eth0", "nat-a:eth1", "stun:eth0",
                        "nat-a:eth0", "alice:eth0", "nat-a:eth1",
                        "bob:eth0",   "stun:eth0",  "alice:eth0"};
  assert_int_equal(f->pkts->len, c.hops);
  assert_int_equal(G_N_ELEMENTS(want), c.hops);
  for (guint i = 0; i < f->pkts->len; i++) {
    const CapPkt *k = &g_array_index(f->pkts, CapPkt, i);
    assert_string_equal(iface_of(f, i), want[i]);
    assert_int_equal(k->flags & 3, 2); /* outbound */
    if (i == 5)
      assert_string_equal(k->comment, "dropped at bob: link loss");
    else if (i == 8)
      assert_string_equal(k->comment, "dropped at alice: queue full");
    else
      assert_null(k->comment);
  }
  pcapng_free(f);
  g_free(path);

  /* One node: its links only; what it received is inbound. */
  path = write_capture(t, "nat.pcapng", "nat-a");
  f = pcapng_read(path);
  assert_int_equal(f->ifaces->len, 2);
  assert_string_equal(g_ptr_array_index(f->ifaces, 0), "nat-a:eth0");
  assert_string_equal(g_ptr_array_index(f->ifaces, 1), "nat-a:eth1");
  assert_int_equal(f->pkts->len, c.sends_of_nat + c.recvs_of_nat);
  /* Received on the inside from alice, sent out on the outside to stun. */
  assert_string_equal(iface_of(f, 0), "nat-a:eth0");
  assert_int_equal(g_array_index(f->pkts, CapPkt, 0).flags & 3, 1);
  assert_string_equal(iface_of(f, 1), "nat-a:eth1");
  assert_int_equal(g_array_index(f->pkts, CapPkt, 1).flags & 3, 2);
  pcapng_free(f);
  g_free(path);
  nl_trace_free(t);
}

static void test_pcap_drop_before_any_link_is_a_packet(void **state) {
  NlTrace *t = nl_trace_new();
  guint32 a = nl_trace_intern(t, "a");
  nl_trace_addf(t, 0, NL_TRACE_NODE, a, 0, 0, 0, "host");
  nl_trace_addf(t, 0, NL_TRACE_TOPOLOGY, a, nl_trace_intern(t, "lan"), 0,
                (uint16_t)(NL_TOPO_LINK | 2 << 8),
                "ifname=eth0 addr=10.0.0.1/24 role=link mtu=1500");
  nl_trace_addf(t, 0, NL_TRACE_TOPOLOGY, 0, 0, 0, NL_TOPO_CLOCK,
                "realtime-epoch=1000");
  guint8 pkt[64];
  size_t n = fx_udp_bytes(pkt, "10.0.0.1", 1, "10.0.0.9", 2, "x", 1, 1);
  /* Nobody answers for 10.0.0.9: dropped before it reaches the link. */
  nl_trace_add(t, 7, NL_TRACE_PKT_DROP, a, 0, 1, NL_DROP_NO_NEIGHBOUR, pkt,
               (guint32)n);
  char *path = write_capture(t, "noneigh.pcapng", NULL);
  Pcapng *f = pcapng_read(path);
  assert_int_equal(f->pkts->len, 1);
  const CapPkt *k = &g_array_index(f->pkts, CapPkt, 0);
  assert_string_equal(iface_of(f, 0), "a:eth0");
  assert_string_equal(k->comment, "dropped at a: no such neighbour");
  /* The epoch the trace gives, not the default. */
  assert_int_equal(k->ts, 1000 * (guint64)NL_S + 7);
  pcapng_free(f);
  g_free(path);
  nl_trace_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pcap_every_hop_reads_back_with_ns_times),
      cmocka_unit_test(test_pcap_node_capture_holds_what_crossed_it),
      cmocka_unit_test(test_pcap_unknown_node_is_an_error),
      cmocka_unit_test(test_pcap_tshark_dissects_without_errors),
      cmocka_unit_test(test_pcap_one_interface_per_node_link),
      cmocka_unit_test(test_pcap_drop_before_any_link_is_a_packet),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
