/* bench-timeline: how long a timeline of 10,000 packets takes to draw.
 * Results go in docs/performance.md ("Timelines").
 *
 *   build/bench/bench-timeline [packets] [dir]   (default 10000, a temp dir)
 *
 * Two synthetic traces of @packets packet hops (a send and a receive each)
 * among 6 hosts:
 *   - "varied": each hop between a different pair of hosts with a
 *     different payload, so nothing repeats: more rows than a timeline
 *     draws (NL_TIMELINE_MAX_ROWS), and the rest is folded into one row
 *     saying so;
 *   - "echo": the same request and answer between two hosts, over and
 *     over: folded into one framed exchange ("×5000").
 * Each is written as every SVG page, as one PDF and as one long SVG.
 * Wall-clock time is used here and only here: this program measures, it
 * is not a simulation.
 */
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export/timeline.h"
#include "sim/net/wire.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static NlTrace *trace_of(long packets, gboolean varied) {
  NlTrace *t = nl_trace_new();
  guint32 hosts[6];
  for (int i = 0; i < 6; i++) {
    char name[16];
    g_snprintf(name, sizeof name, "host%d", i);
    hosts[i] = nl_trace_intern(t, name);
    nl_trace_addf(t, 0, NL_TRACE_NODE, hosts[i], 0, 0, 0, "host");
  }
  guint8 pkt[600];
  char data[512];
  memset(data, 'x', sizeof data);
  for (long i = 0; i < packets; i++) {
    int a = varied ? (int)(i % 6) : (int)(i & 1);
    int b = varied ? (int)((i / 6 + 1 + i) % 6) : (int)((i + 1) & 1);
    if (b == a)
      b = (a + 1) % 6;
    size_t len = varied ? 1 + (size_t)(i * 37 % 500) : 32;
    size_t n = nl_udp4_build(pkt, 0x0a000001u + (uint32_t)a,
                             (uint16_t)(5000 + a), 0x0a000001u + (uint32_t)b,
                             (uint16_t)(5000 + b), data, len,
                             (uint16_t)i, 64, FALSE);
    NlTime at = (NlTime)i * NL_MS;
    nl_trace_add(t, at, NL_TRACE_PKT_SEND, hosts[a], hosts[b], (uint64_t)i + 1,
                 0, pkt, (guint32)n);
    nl_trace_add(t, at + 500 * NL_US, NL_TRACE_PKT_RECV, hosts[b], hosts[a],
                 (uint64_t)i + 1, 0, pkt, (guint32)n);
  }
  return t;
}

static void measure(const char *name, NlTrace *t, const char *dir) {
  NlTimelineOptions o = {.title = name};
  char *svg = g_strdup_printf("%s/%s.svg", dir, name);
  char *pdf = g_strdup_printf("%s/%s.pdf", dir, name);
  char **files = NULL;
  GError *err = NULL;
  double t0 = now();
  if (!nl_timeline_write_files(t, svg, &o, &files, &err))
    g_error("%s", err->message);
  double t1 = now();
  if (!nl_timeline_write(t, pdf, &o, &err))
    g_error("%s", err->message);
  double t2 = now();
  gsize len = 0;
  NlTimelineOptions one = o;
  one.page = -1;
  guint8 *long_svg = nl_timeline_render(t, "svg", &one, &len, &err);
  if (long_svg == NULL)
    g_error("%s", err->message);
  double t3 = now();
  /* Folded rows say so: "… N more events not drawn" on the last page. */
  guint n = g_strv_length(files);
  char *last = NULL;
  g_file_get_contents(files[n - 1], &last, NULL, NULL);
  gboolean note = last && strstr(last, "more events not drawn") != NULL;
  gboolean frame = last && strstr(last, "class=\"node loop\"") != NULL;
  printf("%-7s %" G_GUINT64_FORMAT " records: %u SVG pages in %.2f s, one "
         "PDF in %.2f s, one long SVG (%.1f MB) in %.2f s%s%s\n",
         name, nl_trace_count(t), n, t1 - t0, t2 - t1,
         (double)len / 1e6, t3 - t2,
         note ? "; rows past the limit folded, with a note" : "",
         frame ? "; repeats folded into a frame" : "");
  for (guint i = 0; i < n; i++)
    g_remove(files[i]);
  g_remove(pdf);
  g_strfreev(files);
  g_free(last);
  g_free(long_svg);
  g_free(svg);
  g_free(pdf);
}

int main(int argc, char **argv) {
  long packets = argc > 1 ? atol(argv[1]) : 10000;
  char *dir = argc > 2 ? g_strdup(argv[2])
                       : g_dir_make_tmp("bench-timeline-XXXXXX", NULL);
  NlTrace *varied = trace_of(packets, TRUE);
  measure("varied", varied, dir);
  nl_trace_free(varied);
  NlTrace *echo = trace_of(packets, FALSE);
  measure("echo", echo, dir);
  nl_trace_free(echo);
  if (argc <= 2)
    g_rmdir(dir);
  g_free(dir);
  return 0;
}
