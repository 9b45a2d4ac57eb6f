/* A NAT (or stateful firewall) device: a network node whose packets pass
 * through an NlNat between its inside and outside interfaces.
 */
#ifndef NL_NAT_NODE_H
#define NL_NAT_NODE_H

#include <glib.h>

#include "natmodels/nat.h"
#include "sim/net/net.h"

G_BEGIN_DECLS

/**
 * nl_nat_node_attach: makes @node translate with @nat (transfer full: the
 * node frees it).  Interfaces in @inside (NlIface*, borrowed) face the
 * private side; every other interface faces outside.  Packets from an
 * inside interface go through NL_NAT_OUTBOUND, packets arriving outside
 * for one of @nat's external addresses through NL_NAT_INBOUND; a verdict
 * of DROP drops the packet with the NAT's reason.
 */
void nl_nat_node_attach(NlNode *node, NlNat *nat, GPtrArray *inside);

/* The NAT of a node made by nl_nat_node_attach(), or NULL. */
NlNat *nl_nat_node_get(NlNode *node);

G_END_DECLS

#endif
