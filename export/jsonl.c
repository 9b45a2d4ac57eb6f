/* The JSON lines exporter (schema: docs/trace-jsonl.md). */
#include "export/jsonl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "export/export-priv.h"
#include "sim/net/wire.h"

/* A record's line is some thirty pieces. */
static inline void put(GString *out, const char *s, gsize n) {
  nl_trace_put_len(out, s, n);
}
#define PUT(out, lit) put((out), (lit), sizeof(lit) - 1)

/* Appends @len bytes as a JSON string (RFC 8259 §7): quotes, backslash and
 * control characters escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029
 * escaped so that the line is also valid JavaScript. */
static inline gboolean plain(guint8 c) {
  return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static void json_string(GString *out, const guint8 *s, gsize len) {
  const guint8 *p = s, *end = s + len;
  g_string_append_c(out, '"');
  while (p < end) {
    /* Printable ASCII stands for itself: copied a run at a time. */
    const guint8 *run = p;
    while (run < end && plain(*run))
      run++;
    if (run > p) {
      put(out, (const char *)p, (gsize)(run - p));
      p = run;
      if (p == end)
        break;
    }
    gunichar c = nl__export_next_char(&p, end);
    switch (c) {
      case '"': PUT(out, "\\\""); break;
      case '\\': PUT(out, "\\\\"); break;
      case '\n': PUT(out, "\\n"); break;
      case '\r': PUT(out, "\\r"); break;
      case '\t': PUT(out, "\\t"); break;
      case '\b': PUT(out, "\\b"); break;
      case '\f': PUT(out, "\\f"); break;
      default:
        if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029)
          g_string_append_printf(out, "\\u%04x", c);
        else
          g_string_append_unichar(out, c);
    }
  }
  g_string_append_c(out, '"');
}

static void json_cstr(GString *out, const char *s) {
  json_string(out, (const guint8 *)s, strlen(s));
}

/* The text appended to @out since @at, where a '"' was appended before
 * it, made a JSON string: closed when it needs no escape, else escaped. */
static void json_close(GString *out, gsize at) {
  gsize i = at;
  while (i < out->len && plain((guint8)out->str[i]))
    i++;
  if (i == out->len) {
    g_string_append_c(out, '"');
    return;
  }
  gsize n = out->len - at;
  char *raw = g_strndup(out->str + at, n);
  g_string_truncate(out, at - 1);
  json_string(out, (const guint8 *)raw, n);
  g_free(raw);
}

/* printf's "%" G_GUINT64_FORMAT, by hand: JSON lines write several
 * numbers per record. */
static void json_uint(GString *out, guint64 v) {
  char buf[24];
  put(out, buf, (gsize)(nl_trace_put_uint(buf, v) - buf));
}

static void json_int(GString *out, gint64 v) {
  if (v < 0) {
    g_string_append_c(out, '-');
    json_uint(out, (guint64)(-(v + 1)) + 1);
  } else {
    json_uint(out, (guint64)v);
  }
}

static void json_name(GString *out, const NlTrace *t, guint32 id) {
  if (id == 0)
    PUT(out, "null");
  else
    json_cstr(out, nl_trace_name(t, id));
}

static const char *proto_name(uint8_t proto) {
  switch (proto) {
    case NL_IPPROTO_UDP: return "udp";
    case NL_IPPROTO_TCP: return "tcp";
    case NL_IPPROTO_ICMP: return "icmp";
    case NL_IPPROTO_ICMPV6: return "icmpv6";
    default: return NULL;
  }
}

static void json_packet(GString *out, const NlTraceRecord *rec,
                        const guint8 *p) {
  NlPktInfo info;
  char a[NL_IP6_STRLEN];
  nl__export_pkt_info(p, rec->len, &info);
  PUT(out, "{\"len\":");
  json_uint(out, rec->len);
  PUT(out, ",\"decode\":\"");
  gsize at = out->len;
  nl_wire_describe(p, rec->len, out);
  json_close(out, at);
  if (info.ip) {
    const char *proto = proto_name(info.proto);
    PUT(out, ",\"proto\":");
    if (proto != NULL) {
      g_string_append_c(out, '"');
      put(out, proto, strlen(proto));
      g_string_append_c(out, '"');
    } else {
      json_uint(out, info.proto);
    }
    if (info.v6) {
      PUT(out, ",\"src\":\"");
      put(out, a, strlen(nl_ip6_to_string(&info.src6, a)));
      PUT(out, "\",\"dst\":\"");
      put(out, a, strlen(nl_ip6_to_string(&info.dst6, a)));
      PUT(out, "\",\"hop_limit\":");
    } else {
      PUT(out, ",\"src\":\"");
      put(out, a, strlen(nl_ip4_to_string(info.src, a)));
      PUT(out, "\",\"dst\":\"");
      put(out, a, strlen(nl_ip4_to_string(info.dst, a)));
      PUT(out, "\",\"ttl\":");
    }
    json_uint(out, info.ttl);
    if (info.fragment)
      PUT(out, ",\"fragment\":true");
  }
  if (info.l4 &&
      (info.proto == NL_IPPROTO_UDP || info.proto == NL_IPPROTO_TCP)) {
    PUT(out, ",\"sport\":");
    json_uint(out, info.sport);
    PUT(out, ",\"dport\":");
    json_uint(out, info.dport);
  }
  if (info.l4 && info.proto == NL_IPPROTO_TCP) {
    PUT(out, ",\"flags\":\"");
    at = out->len;
    nl__export_tcp_flags(info.tcp_flags, out);
    json_close(out, at);
    PUT(out, ",\"seq\":");
    json_uint(out, info.tcp_seq);
    PUT(out, ",\"ack\":");
    json_uint(out, info.tcp_ack);
  }
  if (info.l4 && (info.proto == NL_IPPROTO_ICMP ||
                  (info.v6 && info.proto == NL_IPPROTO_ICMPV6))) {
    PUT(out, ",\"icmp_type\":");
    json_uint(out, info.icmp_type);
    PUT(out, ",\"icmp_code\":");
    json_uint(out, info.icmp_code);
  }
  if (info.ip) {
    PUT(out, ",\"payload_len\":");
    json_uint(out, info.payload_len);
  }
  if (info.app != NULL) {
    PUT(out, ",\"app\":");
    json_cstr(out, info.app);
  }
  static const char digits[] = "0123456789abcdef";
  PUT(out, ",\"hex\":\"");
  at = out->len;
  g_string_set_size(out, at + 2 * (gsize)rec->len);
  for (guint32 i = 0; i < rec->len; i++) {
    out->str[at + 2 * i] = digits[p[i] >> 4];
    out->str[at + 2 * i + 1] = digits[p[i] & 15];
  }
  PUT(out, "\"}");
}

static gboolean is_packet(guint16 kind) {
  switch (kind) {
    case NL_TRACE_PKT_SEND:
    case NL_TRACE_PKT_RECV:
    case NL_TRACE_PKT_DROP:
    case NL_TRACE_PKT_DELIVER:
    case NL_TRACE_NAT_XLATE: return TRUE;
    default: return FALSE;
  }
}

void nl_jsonl_format(const NlTrace *trace, guint64 seq,
                     const NlTraceRecord *rec, const guint8 *payload,
                     GString *out) {
  PUT(out, "{\"seq\":");
  json_uint(out, seq);
  PUT(out, ",\"time_ns\":");
  json_int(out, (gint64)rec->time);
  PUT(out, ",\"kind\":");
  json_cstr(out, nl_trace_kind_name((NlTraceKind)rec->kind));
  PUT(out, ",\"node\":");
  json_name(out, trace, rec->node);
  PUT(out, ",\"peer\":");
  json_name(out, trace, rec->peer);
  PUT(out, ",\"id\":");
  json_uint(out, rec->id);
  PUT(out, ",\"aux\":");
  json_uint(out, rec->aux);
  PUT(out, ",\"reason\":");
  if (rec->kind == NL_TRACE_PKT_DROP)
    json_cstr(out, nl_drop_reason_name(nl_trace_drop_reason(rec->aux)));
  else
    PUT(out, "null");
  if (is_packet(rec->kind)) {
    PUT(out, ",\"packet\":");
    json_packet(out, rec, payload);
  } else {
    PUT(out, ",\"text\":");
    json_string(out, payload, rec->len);
  }
  g_string_append_c(out, '}');
}

gboolean nl_jsonl_write(const NlTrace *trace, const char *path,
                        GError **error) {
  g_return_val_if_fail(trace != NULL, FALSE);
  g_return_val_if_fail(path != NULL, FALSE);
  gboolean to_stdout = strcmp(path, "-") == 0;
  FILE *f = to_stdout ? stdout : fopen(path, "w");
  if (f == NULL) {
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_IO, "%s: %s", path,
                g_strerror(errno));
    return FALSE;
  }
  /* Lines are gathered and written 64 KiB at a time. */
  GString *block = g_string_sized_new((64 << 10) + 4096);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  guint64 seq = 0;
  nl_trace_iter_init(&it, trace);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    nl_jsonl_format(trace, seq++, rec, p, block);
    g_string_append_c(block, '\n');
    if (block->len >= (64 << 10)) {
      fwrite(block->str, 1, block->len, f);
      g_string_truncate(block, 0);
    }
  }
  fwrite(block->str, 1, block->len, f);
  g_string_free(block, TRUE);
  gboolean ok = !ferror(f);
  ok = (to_stdout ? fflush(f) == 0 : fclose(f) == 0) && ok;
  if (!ok)
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_IO, "%s: write failed",
                path);
  return ok;
}
