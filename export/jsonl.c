/* The JSON lines exporter (schema: docs/trace-jsonl.md). */
#include "export/jsonl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "export/export-priv.h"
#include "sim/net/wire.h"

/* Appends @len bytes as a JSON string (RFC 8259 §7): quotes, backslash and
 * control characters escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029
 * escaped so that the line is also valid JavaScript. */
static void json_string(GString *out, const guint8 *s, gsize len) {
  const guint8 *p = s, *end = s + len;
  g_string_append_c(out, '"');
  while (p < end) {
    gunichar c = nl__export_next_char(&p, end);
    switch (c) {
      case '"': g_string_append(out, "\\\""); break;
      case '\\': g_string_append(out, "\\\\"); break;
      case '\n': g_string_append(out, "\\n"); break;
      case '\r': g_string_append(out, "\\r"); break;
      case '\t': g_string_append(out, "\\t"); break;
      case '\b': g_string_append(out, "\\b"); break;
      case '\f': g_string_append(out, "\\f"); break;
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

static void json_name(GString *out, const NlTrace *t, guint32 id) {
  if (id == 0)
    g_string_append(out, "null");
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
  GString *d = g_string_new(NULL);
  nl__export_pkt_info(p, rec->len, &info);
  g_string_append_printf(out, "{\"len\":%u,\"decode\":", rec->len);
  nl_wire_describe(p, rec->len, d);
  json_cstr(out, d->str);
  if (info.ip) {
    const char *proto = proto_name(info.proto);
    if (proto != NULL)
      g_string_append_printf(out, ",\"proto\":\"%s\"", proto);
    else
      g_string_append_printf(out, ",\"proto\":%u", info.proto);
    if (info.v6) {
      g_string_append_printf(out, ",\"src\":\"%s\"",
                             nl_ip6_to_string(&info.src6, a));
      g_string_append_printf(out, ",\"dst\":\"%s\"",
                             nl_ip6_to_string(&info.dst6, a));
      g_string_append_printf(out, ",\"hop_limit\":%u", info.ttl);
    } else {
      g_string_append_printf(out, ",\"src\":\"%s\"",
                             nl_ip4_to_string(info.src, a));
      g_string_append_printf(out, ",\"dst\":\"%s\"",
                             nl_ip4_to_string(info.dst, a));
      g_string_append_printf(out, ",\"ttl\":%u", info.ttl);
    }
    if (info.fragment)
      g_string_append(out, ",\"fragment\":true");
  }
  if (info.l4 && (info.proto == NL_IPPROTO_UDP || info.proto == NL_IPPROTO_TCP))
    g_string_append_printf(out, ",\"sport\":%u,\"dport\":%u", info.sport,
                           info.dport);
  if (info.l4 && info.proto == NL_IPPROTO_TCP) {
    g_string_truncate(d, 0);
    nl__export_tcp_flags(info.tcp_flags, d);
    g_string_append(out, ",\"flags\":");
    json_cstr(out, d->str);
    g_string_append_printf(out, ",\"seq\":%u,\"ack\":%u", info.tcp_seq,
                           info.tcp_ack);
  }
  if (info.l4 && (info.proto == NL_IPPROTO_ICMP ||
                  (info.v6 && info.proto == NL_IPPROTO_ICMPV6)))
    g_string_append_printf(out, ",\"icmp_type\":%u,\"icmp_code\":%u",
                           info.icmp_type, info.icmp_code);
  if (info.ip)
    g_string_append_printf(out, ",\"payload_len\":%u", info.payload_len);
  if (info.app != NULL) {
    g_string_append(out, ",\"app\":");
    json_cstr(out, info.app);
  }
  static const char digits[] = "0123456789abcdef";
  g_string_append(out, ",\"hex\":\"");
  gsize at = out->len;
  g_string_set_size(out, at + 2 * (gsize)rec->len);
  for (guint32 i = 0; i < rec->len; i++) {
    out->str[at + 2 * i] = digits[p[i] >> 4];
    out->str[at + 2 * i + 1] = digits[p[i] & 15];
  }
  g_string_append(out, "\"}");
  g_string_free(d, TRUE);
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
  g_string_append_printf(out,
                         "{\"seq\":%" G_GUINT64_FORMAT
                         ",\"time_ns\":%" G_GINT64_FORMAT ",\"kind\":",
                         seq, (gint64)rec->time);
  json_cstr(out, nl_trace_kind_name((NlTraceKind)rec->kind));
  g_string_append(out, ",\"node\":");
  json_name(out, trace, rec->node);
  g_string_append(out, ",\"peer\":");
  json_name(out, trace, rec->peer);
  g_string_append_printf(out, ",\"id\":%" G_GUINT64_FORMAT ",\"aux\":%u",
                         rec->id, rec->aux);
  g_string_append(out, ",\"reason\":");
  if (rec->kind == NL_TRACE_PKT_DROP)
    json_cstr(out, nl_drop_reason_name(nl_trace_drop_reason(rec->aux)));
  else
    g_string_append(out, "null");
  if (is_packet(rec->kind)) {
    g_string_append(out, ",\"packet\":");
    json_packet(out, rec, payload);
  } else {
    g_string_append(out, ",\"text\":");
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
  GString *line = g_string_sized_new(512);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  guint64 seq = 0;
  nl_trace_iter_init(&it, trace);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    g_string_truncate(line, 0);
    nl_jsonl_format(trace, seq++, rec, p, line);
    g_string_append_c(line, '\n');
    fwrite(line->str, 1, line->len, f);
  }
  g_string_free(line, TRUE);
  gboolean ok = !ferror(f);
  ok = (to_stdout ? fflush(f) == 0 : fclose(f) == 0) && ok;
  if (!ok)
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_IO, "%s: write failed",
                path);
  return ok;
}
