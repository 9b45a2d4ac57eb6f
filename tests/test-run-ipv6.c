/* IPv6 end to end through whole runs of the IPv6 lessons: a dual-stack
 * client reaches a dual-stack server over IPv6 and an IPv4-only one (or
 * from an IPv4-only host) over IPv4; a v6-only socket refuses IPv4 peers;
 * a Packet Too Big reaches the sender and its next datagram fits; two
 * peers punch a hole through two IPv6 stateful firewalls; an IPv6-only
 * host reaches an IPv4 server through NAT64/DNS64; tshark dissects the
 * captures cleanly.  Every run is repeated and must give a
 * byte-identical trace. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "export/jsonl.h"
#include "export/pcap.h"
#include "export/timeline.h"
#include "test-run-util.h"

static char *lesson(const char *rel) {
  return g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), "scenarios",
                          "lessons", rel, NULL);
}

/* Runs the lesson @rel twice: every expectation must hold and the two
 * traces must be the same bytes.  Returns the first run. */
static TestRun *run_twice(const char *rel) {
  char *path = lesson(rel);
  TestRun *a = test_run(path, NULL), *b = test_run(path, NULL);
  if (a->failed != 0) {
    GString *why = g_string_new(NULL);
    nl_run_report_failures(a->run, why);
    fail_msg("%s: %s", rel, why->str);
  }
  assert_true(nl_run_n_expects(a->run) > 0);
  assert_string_equal(a->text, b->text);
  test_run_free(b);
  g_free(path);
  return a;
}

/* Whether @who printed a line containing @s. */
static gboolean printed(TestRun *r, const char *who, const char *s) {
  GPtrArray *l = test_stdout(r, who);
  gboolean found = FALSE;
  for (guint i = 0; i < l->len; i++)
    found |= strstr(g_ptr_array_index(l, i), s) != NULL;
  g_ptr_array_unref(l);
  return found;
}

static void test_ipv6_dual_stack_prefers_ipv6_and_falls_back(void **state) {
  TestRun *r = run_twice("ipv6-dual-stack/dual-stack.nlab");
  /* alice has both families: the AAAA answer first, used, over IPv6. */
  assert_true(printed(r, "alice/dual-client",
                      "server has: 2001:db8:1::1 10.0.0.1"));
  assert_true(printed(r, "alice/dual-client",
                      "reached 2001:db8:1::1 port 7000 over IPv6"));
  assert_int_equal(test_count_lines(r->text, "alice send -> server", "UDP "
                                    "[2001:db8:1::2]:", "> [2001:db8:1::1]:"
                                    "7000 len=14", NULL),
                   1);
  /* bob has IPv4 only: the A answer sorts first (RFC 6724 rule 1) and is
   * the one he sends to; nothing of his is IPv6. */
  assert_true(printed(r, "bob/dual-client",
                      "server has: 10.0.0.1 2001:db8:1::1"));
  assert_true(printed(r, "bob/dual-client",
                      "reached 10.0.0.1 port 7000 over IPv4"));
  assert_int_equal(test_count_lines(r->text, "bob send -> server",
                                    "UDP 10.0.0.3:", "> 10.0.0.1:7000", NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "bob send", "2001:", NULL), 0);
  /* The IPv4-only server: alice falls back to IPv4, and the one server
   * socket saw both families, IPv4 as v4-mapped. */
  assert_true(printed(r, "alice/to-old", "old has: 10.0.0.4"));
  assert_true(printed(r, "alice/to-old",
                      "reached 10.0.0.4 port 7000 over IPv4"));
  assert_true(printed(r, "server/dual-server",
                      "from [2001:db8:1::2]:45448 (IPv6)"));
  assert_true(printed(r, "server/dual-server",
                      "from [::ffff:10.0.0.3]:53337 (IPv4, v4-mapped)"));
  test_run_free(r);
}

static void test_ipv6_v6only_socket_refuses_ipv4_peers(void **state) {
  TestRun *r = run_twice("ipv6-dual-stack/v6only.nlab");
  /* bob's IPv4 datagram finds no socket: dropped, port unreachable back,
   * ECONNREFUSED on his connected socket. */
  assert_int_equal(test_count_lines(r->text, "server drop <- bob",
                                    "(no socket on port)", NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "bob deliver <- server", "ICMP",
                                    "port-unreachable", NULL),
                   1);
  assert_true(printed(r, "bob/dual-client",
                      "no answer from 10.0.0.1 (IPv4): Connection refused"));
  assert_true(printed(r, "bob/dual-client", "cannot use 2001:db8:1::1 "
                                            "(IPv6): Network is unreachable"));
  /* The server heard alice only. */
  GPtrArray *l = test_stdout(r, "server/dual-server");
  guint got = 0;
  for (guint i = 0; i < l->len; i++)
    got += g_str_has_prefix(g_ptr_array_index(l, i), "Received ");
  assert_int_equal(got, 1);
  g_ptr_array_unref(l);
  assert_true(printed(r, "alice/dual-client", "over IPv6"));
  test_run_free(r);
}

static void test_ipv6_packet_too_big_reaches_sender_next_fits(void **state) {
  TestRun *r = run_twice("ipv6-packet-too-big/packet-too-big.nlab");
  /* The router drops the 1400-byte datagram and says so to the source. */
  assert_int_equal(test_count_lines(r->text, "r drop <- client",
                                    "(packet too big)", "len=1400", NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "client deliver <- r",
                                    "ICMPv6 2001:db8:1::1 > 2001:db8:1::5 "
                                    "packet-too-big mtu=1280",
                                    NULL),
                   1);
  assert_true(printed(r, "client/big", "send 1400 bytes: Message too long"));
  assert_true(printed(r, "client/big", "path MTU after: 1280"));
  /* The next datagram leaves as fragments of at most 1280 bytes (40 of
   * header + 8 of fragment header + at most 1232), and is delivered
   * whole. */
  assert_int_equal(test_count_lines(r->text, "client send -> r",
                                    "IPv6 fragment 2001:db8:1::5 > "
                                    "2001:db8:2::7 proto=17 id=1 off=0 MF "
                                    "len=1232",
                                    NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "client send -> r",
                                    "off=1232 len=176", NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "server deliver", "UDP "
                                    "[2001:db8:1::5]:", "len=1400", NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "drop", "packet too big", NULL),
                   1);
  assert_true(printed(r, "client/big", "echo: 1400 bytes"));
  test_run_free(r);
}

static void test_ipv6_hole_punch_through_two_firewalls(void **state) {
  TestRun *r = run_twice("ipv6-firewall/hole-punch.nlab");
  /* alice's first datagram opens her firewall and dies at bob's, which
   * has no state for it yet. */
  assert_int_equal(test_count_lines(r->text, "alice-fw mapping new UDP "
                                    "[2001:db8:a::5]:5000 (for "
                                    "[2001:db8:b::5]:6000)",
                                    NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "bob-fw drop <- isp",
                                    "(firewall) UDP [2001:db8:a::5]:5000 > "
                                    "[2001:db8:b::5]:6000",
                                    NULL),
                   1);
  /* Then each side hears the other, addresses untranslated. */
  assert_true(printed(r, "alice/punch6", "got \"punch 0 from bob\" from "
                                         "[2001:db8:b::5]:6000"));
  assert_true(printed(r, "bob/punch6", "got \"punch 1 from alice\" from "
                                       "[2001:db8:a::5]:5000"));
  assert_true(printed(r, "alice/punch6", "hole punched"));
  assert_true(printed(r, "bob/punch6", "hole punched"));
  assert_int_equal(test_count_lines(r->text, "alice deliver <- alice-fw",
                                    "UDP [2001:db8:b::5]:6000 > "
                                    "[2001:db8:a::5]:5000",
                                    NULL),
                   2);
  /* Unsolicited: mallory never was sent anything. */
  assert_int_equal(test_count_lines(r->text, "alice-fw drop <- isp",
                                    "(firewall) UDP [2001:db8:f::66]:", NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "alice deliver", "2001:db8:f::66",
                                    NULL),
                   0);
  assert_int_equal(test_count_lines(r->text, " drop ", "(firewall)", NULL), 2);
  test_run_free(r);
}

static void test_ipv6_only_host_reaches_ipv4_through_nat64(void **state) {
  TestRun *r = run_twice("ipv6-nat64/nat64.nlab");
  /* DNS64: the IPv4-only name answers with the well-known prefix first. */
  assert_true(printed(r, "phone/dual-client",
                      "server has: 64:ff9b::cb00:710a 203.0.113.10"));
  assert_true(printed(r, "phone/dual-client",
                      "reached 64:ff9b::cb00:710a port 7000 over IPv6: "
                      "\"hello from v6\""));
  /* The phone sends IPv6 only; the server receives IPv4 only, from the
   * gateway's public address. */
  assert_int_equal(test_count_lines(r->text, "phone send -> gw", "UDP "
                                    "[2001:db8:6::5]:", "> [64:ff9b::cb00:"
                                    "710a]:7000 len=13",
                                    NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "server deliver <- gw", "UDP "
                                    "203.0.113.1:", "> 203.0.113.10:7000 "
                                    "len=13",
                                    NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "phone deliver <- gw", "UDP "
                                    "[64:ff9b::cb00:710a]:7000 > "
                                    "[2001:db8:6::5]:",
                                    NULL),
                   1);
  assert_int_equal(test_count_lines(r->text, "phone send", "UDP 2", NULL), 0);
  assert_int_equal(test_count_lines(r->text, "gw mapping", "nat64 "
                                    "[2001:db8:6::5] is 192.168.255.1",
                                    NULL),
                   1);
  assert_true(printed(r, "server/dual-server",
                      "from [::ffff:203.0.113.1]:"));
  test_run_free(r);
}

/* The JSON trace and the timeline decode IPv6 packets: addresses, ports,
 * hop limit, ICMPv6 names. */
static void test_ipv6_in_json_trace_and_timeline(void **state) {
  TestRun *r = run_twice("ipv6-packet-too-big/packet-too-big.nlab");
  NlTrace *t = nl_run_trace(r->run);
  GString *json = g_string_new(NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  guint64 seq = 0;
  nl_trace_iter_init(&it, t);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    nl_jsonl_format(t, seq++, rec, p, json);
    g_string_append_c(json, '\n');
  }
  assert_non_null(strstr(json->str, "\"proto\":\"udp\",\"src\":"
                                    "\"2001:db8:1::5\",\"dst\":"
                                    "\"2001:db8:2::7\",\"hop_limit\":64,"));
  assert_non_null(strstr(json->str, "\"proto\":\"icmpv6\",\"src\":"
                                    "\"2001:db8:1::1\",\"dst\":"
                                    "\"2001:db8:1::5\",\"hop_limit\":64,"
                                    "\"icmp_type\":2,\"icmp_code\":0"));
  assert_non_null(strstr(json->str, "\"fragment\":true"));
  g_string_free(json, TRUE);
  char *dir = g_dir_make_tmp("natlab-ipv6-XXXXXX", NULL);
  char *path = g_build_filename(dir, "t.dot", NULL);
  char **files = NULL;
  GError *err = NULL;
  if (!nl_timeline_write_files(t, path, NULL, &files, &err))
    fail_msg("%s", err->message);
  GString *all = g_string_new(NULL);
  for (char **f = files; *f; f++) {
    char *text = NULL;
    assert_true(g_file_get_contents(*f, &text, NULL, NULL));
    g_string_append(all, text);
    g_free(text);
    g_remove(*f);
  }
  assert_non_null(strstr(all->str, "UDP [2001:db8:1::5]:"));
  assert_non_null(strstr(all->str, "→ [2001:db8:2::7]:7000 (1400 B)"));
  assert_non_null(strstr(all->str, "ICMPv6 packet too big 2001:db8:1::1 → "
                                   "2001:db8:1::5"));
  assert_non_null(strstr(all->str, "IPv6 fragment 2001:db8:1::5 → "
                                   "2001:db8:2::7 (1232 B)"));
  assert_null(strstr(all->str, "malformed packet"));
  g_string_free(all, TRUE);
  g_strfreev(files);
  g_rmdir(dir);
  g_free(path);
  g_free(dir);
  test_run_free(r);
}

static char *tshark_of(const char *tshark, const char *pcap) {
  /* -V: every field; checksums verified. */
  char *argv[] = {(char *)tshark, "-n", "-V", "-o", "udp.check_checksum:TRUE",
                  "-r", (char *)pcap, NULL};
  char *out = NULL, *err = NULL;
  int status = 0;
  GError *error = NULL;
  if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                    &status, &error))
    fail_msg("tshark: %s", error->message);
  if (!g_spawn_check_wait_status(status, NULL))
    fail_msg("tshark failed: %s", err);
  g_free(err);
  return out;
}

static void test_ipv6_tshark_dissects_the_captures(void **state) {
  char *tshark = g_find_program_in_path("tshark");
  if (tshark == NULL) {
    print_message("tshark is not installed; skipping the dissection check\n");
    skip();
  }
  char *dir = g_dir_make_tmp("natlab-ipv6-XXXXXX", NULL);
  const char *lessons[] = {"ipv6-packet-too-big/packet-too-big.nlab",
                           "ipv6-dual-stack/dual-stack.nlab",
                           "ipv6-nat64/nat64.nlab"};
  for (guint i = 0; i < G_N_ELEMENTS(lessons); i++) {
    TestRun *r = run_twice(lessons[i]);
    char *pcap = g_build_filename(dir, "cap.pcapng", NULL);
    GError *err = NULL;
    if (!nl_pcap_write(nl_run_trace(r->run), pcap, NULL, &err))
      fail_msg("%s", err->message);
    char *out = tshark_of(tshark, pcap);
    assert_null(strstr(out, "Malformed"));
    assert_null(strstr(out, "[Expert Info (Error"));
    assert_null(strstr(out, "incorrect"));
    assert_null(strstr(out, "[Checksum Status: Bad]"));
    assert_non_null(strstr(out, "Family: IPv6 (24)"));
    assert_non_null(strstr(out, "Internet Protocol Version 6, Src: "));
    if (i == 0) {
      /* The Packet Too Big, its checksum, the fragments reassembled. */
      assert_non_null(strstr(out, "Type: Packet Too Big (2)"));
      assert_non_null(strstr(out, "MTU: 1280"));
      assert_non_null(strstr(out, "[2 IPv6 Fragments (1408 bytes)"));
      assert_non_null(strstr(out, "[Checksum Status: Good]"));
      assert_null(strstr(out, "Family: IP (2)"));
    } else if (i == 1) {
      /* Both families in one file. */
      assert_non_null(strstr(out, "Family: IP (2)"));
      assert_non_null(strstr(out, "Src: 2001:db8:1::2, Dst: 2001:db8:1::1"));
    } else {
      /* One datagram on both sides of the translator, checksums right. */
      assert_non_null(strstr(out, "Src: 2001:db8:6::5, Dst: 64:ff9b::cb00:710a"));
      assert_non_null(strstr(out, "Src: 203.0.113.1, Dst: 203.0.113.10"));
      assert_non_null(strstr(out, "[Checksum Status: Good]"));
    }
    g_free(out);
    g_remove(pcap);
    g_free(pcap);
    test_run_free(r);
  }
  g_rmdir(dir);
  g_free(dir);
  g_free(tshark);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ipv6_dual_stack_prefers_ipv6_and_falls_back),
      cmocka_unit_test(test_ipv6_v6only_socket_refuses_ipv4_peers),
      cmocka_unit_test(test_ipv6_packet_too_big_reaches_sender_next_fits),
      cmocka_unit_test(test_ipv6_hole_punch_through_two_firewalls),
      cmocka_unit_test(test_ipv6_only_host_reaches_ipv4_through_nat64),
      cmocka_unit_test(test_ipv6_in_json_trace_and_timeline),
      cmocka_unit_test(test_ipv6_tshark_dissects_the_captures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
