/* The pcap exporter.  Packets are carried as real wire bytes in the trace,
 * so a capture is a copy, not a translation. */
#include "export/pcap.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sim/net/wire.h"

/* Finds the interned id of @name among the records; FALSE if none. */
static gboolean find_node(const NlTrace *trace, const char *name,
                          guint32 *out) {
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, trace);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (rec->node != 0 && strcmp(nl_trace_name(trace, rec->node), name) == 0) {
      *out = rec->node;
      return TRUE;
    }
  }
  *out = 0;
  return FALSE;
}

static void dump(pcap_dumper_t *d, const NlTraceRecord *rec, const guint8 *p) {
  struct pcap_pkthdr h;
  NlTime t = rec->time < 0 ? 0 : rec->time;
  memset(&h, 0, sizeof h);
  /* With nanosecond precision, tv_usec holds nanoseconds. */
  h.ts.tv_sec = (time_t)(t / NL_S);
  h.ts.tv_usec = (suseconds_t)(t % NL_S);
  h.len = rec->len;
  h.caplen = MIN(rec->len, (guint32)NL_IP4_MAX_LEN);
  pcap_dump((u_char *)d, &h, p);
}

gboolean nl_pcap_write(const NlTrace *trace, const char *path, const char *node,
                       GError **error) {
  g_return_val_if_fail(trace != NULL, FALSE);
  g_return_val_if_fail(path != NULL, FALSE);
  guint32 want = 0;
  if (node != NULL && !find_node(trace, node, &want)) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_FORMAT,
                "no node named \"%s\" in the trace", node);
    return FALSE;
  }

  pcap_t *pc = pcap_open_dead_with_tstamp_precision(DLT_RAW, NL_IP4_MAX_LEN,
                                                    PCAP_TSTAMP_PRECISION_NANO);
  if (pc == NULL) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_RENDER,
                "libpcap could not open a raw-IP capture");
    return FALSE;
  }
  gboolean ok = FALSE;
  pcap_dumper_t *d;
  if (strcmp(path, "-") == 0) {
    /* A copy of stdout, since pcap_dump_close() closes its stream. */
    int fd = dup(STDOUT_FILENO);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (f == NULL && fd >= 0)
      close(fd);
    d = f ? pcap_dump_fopen(pc, f) : NULL;
    if (d == NULL && f != NULL)
      fclose(f);
  } else {
    d = pcap_dump_open(pc, path);
  }
  if (d == NULL) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_IO, "%s: %s", path,
                pcap_geterr(pc));
    goto fail_open;
  }

  /* Hops sent to @want and not yet received there. */
  GHashTable *towards =
      g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, trace);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    if (node == NULL) {
      if (rec->kind == NL_TRACE_PKT_SEND)
        dump(d, rec, p);
      continue;
    }
    switch (rec->kind) {
      case NL_TRACE_PKT_SEND:
        if (rec->node == want)
          dump(d, rec, p);
        else if (rec->peer == want && rec->id != 0)
          g_hash_table_add(towards, g_memdup2(&rec->id, sizeof rec->id));
        break;
      case NL_TRACE_PKT_RECV:
        if (rec->node == want) {
          dump(d, rec, p);
          g_hash_table_remove(towards, &rec->id);
        }
        break;
      case NL_TRACE_PKT_DROP:
        if (rec->node == want && g_hash_table_remove(towards, &rec->id))
          dump(d, rec, p);
        break;
      default: break;
    }
  }
  g_hash_table_destroy(towards);

  ok = pcap_dump_flush(d) == 0 && !ferror(pcap_dump_file(d));
  if (!ok)
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_IO, "%s: write failed",
                path);
  pcap_dump_close(d);
fail_open:
  pcap_close(pc);
  return ok;
}
