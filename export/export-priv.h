/* Internals shared by the exporters: a short decode of packet bytes. */
#ifndef NL_EXPORT_PRIV_H
#define NL_EXPORT_PRIV_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* What the exporters need to know about one packet. */
typedef struct {
  gboolean ip;       /* an IPv4 header parsed */
  gboolean l4;       /* the transport header parsed (not a fragment) */
  gboolean fragment; /* a non-first or more-fragments IPv4 fragment */
  uint8_t proto;
  uint8_t ttl;
  uint32_t src, dst;
  uint16_t sport, dport; /* UDP/TCP */
  uint8_t tcp_flags;
  uint8_t icmp_type, icmp_code;
  uint32_t tcp_seq, tcp_ack;
  uint32_t payload_len; /* bytes after the transport header */
  const char *app;      /* "STUN Binding request", or NULL */
  char app_buf[48];
} NlPktInfo;

/* OUT: @info, always set (fields zero when the bytes do not parse). */
void nl__export_pkt_info(const guint8 *pkt, size_t len, NlPktInfo *info);

/* Appends a short label: "UDP 10.0.0.5:5000 → 192.0.2.10:7 (5 B)". */
void nl__export_pkt_label(const NlPktInfo *info, const guint8 *pkt, size_t len,
                          GString *out);

/* Appends "SYN,ACK" style TCP flag names. */
void nl__export_tcp_flags(uint8_t flags, GString *out);

/* Appends "10.0.0.5:5000" (or just the address for ICMP and fragments). */
void nl__export_endpoint(const NlPktInfo *info, gboolean source, GString *out);

/* Names a STUN/TURN message from its UDP payload (RFC 5389 magic cookie
 * 0x2112A442 at offset 4); NULL when it is not one.  @buf holds 48 bytes. */
const char *nl__export_stun_name(const guint8 *udp, size_t len, char *buf);

/* Reads the character at *@p (before @end) and moves past it.  Invalid
 * UTF-8 reads as U+FFFD and moves one byte, so any bytes can be shown. */
gunichar nl__export_next_char(const guint8 **p, const guint8 *end);

G_END_DECLS

#endif
