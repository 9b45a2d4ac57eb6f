/* tshark reads every capture natlab writes: for every shipped scenario,
 * the capture of every link and the captures of its first hosts, with no
 * malformed packet, one interface per node link named "node:ifname", and,
 * on runs that lost no TCP segment, no retransmission or duplicate-ACK
 * flag from Wireshark's TCP analysis.  Skipped (exit 77) when tshark is
 * not installed (tools/setup installs it with NATLAB_WITH_OPTIONAL=1). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "export/pcap.h"
#include "test-run-util.h"

static char *tshark;

static char *source_path(const char *rel) {
  return g_build_filename(g_getenv("NATLAB_SOURCE_ROOT"), rel, NULL);
}

static void collect(const char *dir, GPtrArray *out) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (d == NULL)
    return;
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *n;
  while ((n = g_dir_read_name(d)) != NULL)
    g_ptr_array_add(names, g_strdup(n));
  g_dir_close(d);
  g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
  for (guint i = 0; i < names->len; i++) {
    char *p = g_build_filename(dir, g_ptr_array_index(names, i), NULL);
    if (g_file_test(p, G_FILE_TEST_IS_DIR))
      collect(p, out);
    if (g_str_has_suffix(p, ".nlab"))
      g_ptr_array_add(out, p);
    else
      g_free(p);
  }
  g_ptr_array_unref(names);
}

/* The interface names of a pcapng file, from its Interface Description
 * Blocks (if_name, option 2). */
static GPtrArray *interfaces(const char *path) {
  char *data;
  gsize len;
  assert_true(g_file_get_contents(path, &data, &len, NULL));
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const guint8 *p = (const guint8 *)data, *end = p + len;
  while (p + 12 <= end) {
    guint32 type = p[0] | p[1] << 8 | p[2] << 16 | (guint32)p[3] << 24;
    guint32 blen = p[4] | p[5] << 8 | p[6] << 16 | (guint32)p[7] << 24;
    assert_true(blen >= 12 && p + blen <= end);
    if (type == 1) {
      const guint8 *o = p + 16, *oe = p + blen - 4;
      while (o + 4 <= oe) {
        guint16 code = o[0] | o[1] << 8, ol = o[2] | o[3] << 8;
        if (code == 0)
          break;
        if (code == 2)
          g_ptr_array_add(names, g_strndup((const char *)o + 4, ol));
        o += 4 + ((ol + 3u) & ~3u);
      }
    }
    p += blen;
  }
  g_free(data);
  return names;
}

/* Runs tshark on @path; returns its field lines.  @mixed: the file holds
 * sections of many scenarios, whose TCP flows may share addresses, ports
 * and sequence numbers, so tshark must not reassemble across them. */
static char *dissect(const char *path, gboolean mixed) {
  const char *argv[] = {tshark, "-n", "-o",
                        mixed ? "tcp.desegment_tcp_streams:FALSE"
                              : "tcp.desegment_tcp_streams:TRUE",
                        "-r", path, "-T", "fields",
                        "-e", "frame.number", "-e", "_ws.malformed",
                        "-e", "tcp.analysis.retransmission",
                        "-e", "tcp.analysis.fast_retransmission",
                        "-e", "tcp.analysis.spurious_retransmission",
                        "-e", "tcp.analysis.duplicate_ack",
                        "-e", "_ws.expert.severity", "-e", "frame.protocols",
                        "-E", "separator=|", NULL};
  char *out = NULL, *err = NULL;
  int status = 0;
  GError *e = NULL;
  if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                    &out, &err, &status, &e))
    fail_msg("tshark: %s", e->message);
  if (!g_spawn_check_wait_status(status, NULL))
    fail_msg("tshark failed on %s: %s", path, err);
  g_free(err);
  return out;
}

/* Checks one capture: every frame dissects, no malformed packet, and on
 * a lossless run no TCP analysis flag.  Returns the frames. */
static guint check_capture(const char *scenario, const char *path,
                           gboolean lossless, gboolean mixed) {
  char *out = dissect(path, mixed);
  gchar **lines = g_strsplit(out, "\n", -1);
  guint frames = 0;
  for (int i = 0; lines[i] && lines[i][0]; i++) {
    gchar **f = g_strsplit(lines[i], "|", -1);
    assert_true(g_strv_length(f) >= 8);
    frames++;
    /* What natlab writes: IPv4, UDP, TCP, ICMP, STUN/TURN.  A protocol
     * Wireshark guesses from a port (Gryphon on 7000...) that finds the
     * test's bytes are not its own is not a malformed capture. */
    const char *last = strrchr(f[7], ':');
    last = last ? last + 1 : f[7];
    static const char *const ours[] = {"ip",   "udp",    "tcp", "icmp",
                                       "stun", "data",   NULL};
    gboolean own = g_strv_contains(ours, last);
    if (f[1][0] && own)
      fail_msg("%s: %s frame %s is malformed (%s)", scenario, path, f[0],
               f[7]);
    /* Expert severity: 8388608 is an error, such as a bad checksum. */
    if (own && strstr(f[6], "8388608"))
      fail_msg("%s: %s frame %s has an expert error", scenario, path, f[0]);
    if (lossless && (f[2][0] || f[3][0] || f[4][0] || f[5][0]))
      fail_msg("%s: %s frame %s is flagged a retransmission or duplicate "
               "ACK on a run that lost nothing",
               scenario, path, f[0]);
    g_strfreev(f);
  }
  g_strfreev(lines);
  g_free(out);
  return frames;
}

static void test_run_captures_tshark_reads_every_capture(void **state) {
  char *root = source_path("scenarios");
  GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
  collect(root, files);
  char *dir = g_dir_make_tmp("natlab-caps-XXXXXX", NULL);
  char *all = g_build_filename(dir, "all.pcapng", NULL);
  char *one = g_build_filename(dir, "node.pcapng", NULL);
  guint scenarios = 0, lossless = 0, frames = 0, host_captures = 0;
  GByteArray *sections = g_byte_array_new();
  for (guint i = 0; i < files->len; i++) {
    const char *f = g_ptr_array_index(files, i);
    char *text = NULL;
    g_file_get_contents(f, &text, NULL, NULL);
    gboolean fragment = text && strstr(text, "# fragment") != NULL;
    g_free(text);
    if (fragment)
      continue;
    TestRun *r = test_run(f, NULL);
    NlTrace *t = nl_run_trace(r->run);
    /* The links the world has, and whether a TCP segment was lost. */
    GPtrArray *links = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *hosts = g_ptr_array_new_with_free_func(g_free);
    gboolean lost = FALSE;
    NlTraceIter it;
    const NlTraceRecord *rec;
    const guint8 *p;
    nl_trace_iter_init(&it, t);
    while (nl_trace_iter_next(&it, &rec, &p)) {
      if (rec->kind == NL_TRACE_TOPOLOGY &&
          (rec->aux & 0xff) == NL_TOPO_LINK) {
        char *ifn = g_strndup((const char *)p + 7, rec->len - 7);
        *strchrnul(ifn, ' ') = '\0';
        g_ptr_array_add(links, g_strdup_printf(
                                   "%s:%s", nl_trace_name(t, rec->node), ifn));
        g_free(ifn);
      }
      if (rec->kind == NL_TRACE_NODE && rec->len == 4 &&
          memcmp(p, "host", 4) == 0)
        g_ptr_array_add(hosts, g_strdup(nl_trace_name(t, rec->node)));
      if (rec->kind == NL_TRACE_PKT_DROP && rec->len > 9 && p[9] == 6)
        lost = TRUE;
    }
    GError *err = NULL;
    if (!nl_pcap_write(t, all, NULL, &err))
      fail_msg("%s: %s", f, err->message);
    /* One interface per node link, named node:ifname, in the trace's
     * order. */
    GPtrArray *names = interfaces(all);
    assert_int_equal(names->len, links->len);
    for (guint k = 0; k < names->len; k++)
      assert_string_equal(g_ptr_array_index(names, k),
                          g_ptr_array_index(links, k));
    g_ptr_array_unref(names);
    frames += check_capture(f, all, !lost, FALSE);
    /* The first two hosts' own captures, each a section of one file
     * that tshark reads once at the end (tshark takes a third of a second
     * to start). */
    for (guint h = 0; h < hosts->len && h < 2; h++) {
      if (!nl_pcap_write(t, one, g_ptr_array_index(hosts, h), &err))
        fail_msg("%s: %s", f, err->message);
      char *data;
      gsize len;
      assert_true(g_file_get_contents(one, &data, &len, NULL));
      g_byte_array_append(sections, (const guint8 *)data, (guint)len);
      g_free(data);
      host_captures++;
    }
    scenarios++;
    lossless += !lost;
    g_ptr_array_unref(links);
    g_ptr_array_unref(hosts);
    test_run_free(r);
  }
  /* The hosts' captures, sections of one file: no malformed packet (TCP
   * analysis across scenarios would mix their flows: not checked here;
   * a host's capture holds each of its segments once). */
  char *joined = g_build_filename(dir, "hosts.pcapng", NULL);
  assert_true(g_file_set_contents(joined, (const char *)sections->data,
                                  (gssize)sections->len, NULL));
  assert_true(check_capture("every scenario", joined, FALSE, TRUE) > 500);
  assert_true(host_captures >= 30);
  g_remove(joined);
  g_free(joined);
  g_byte_array_free(sections, TRUE);
  assert_true(scenarios >= 20);
  assert_true(lossless >= 10);
  assert_true(frames > 1000);
  g_remove(all);
  g_remove(one);
  g_rmdir(dir);
  g_free(all);
  g_free(one);
  g_free(dir);
  g_ptr_array_unref(files);
  g_free(root);
}

int main(void) {
  tshark = g_find_program_in_path("tshark");
  if (tshark == NULL) {
    printf("1..0 # SKIP tshark is not installed\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_captures_tshark_reads_every_capture),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  g_free(tshark);
  return rc;
}
