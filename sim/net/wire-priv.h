/* What wire.c and wire6.c share (sim/net/wire*.c only). */
#ifndef NL_WIRE_PRIV_H
#define NL_WIRE_PRIV_H

#include "sim/net/wire.h"

/* Writes the TCP header of @h (options in Linux's order) and @payload at
 * @t with a zero checksum.  Returns the header length. */
size_t nl__tcp_write(guint8 *t, const NlTcpHeader *h, const void *payload,
                     size_t plen);
/* Reads a TCP header at @t of @l4 bytes, checking the checksum against the
 * pseudo-header sum @psum.  NULL or what is wrong. */
const char *nl__tcp_parse(const guint8 *t, size_t l4, uint32_t psum,
                          NlTcpHeader *out);
/* "[S.]" */
void nl__describe_tcp_flags(uint8_t f, GString *out);

#endif
