/* The capture exporter: pcapng (draft-ietf-opsawg-pcapng), written by
 * hand since libpcap writes only the old format with one interface.
 *
 * Blocks used: a Section Header, one Interface Description per node link
 * (if_name "node:ifname", if_description, if_tsresol 9 = nanoseconds) and
 * an Enhanced Packet per packet (epb_flags for the direction, opt_comment
 * for a drop).  Every number is written little-endian, so the file is the
 * same on every machine; the byte-order magic tells readers.
 */
#include "export/pcap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "export/export-priv.h"
#include "sim/net/wire.h"

enum {
  BT_SHB = 0x0A0D0D0A,
  BT_IDB = 0x00000001,
  BT_EPB = 0x00000006,
  OPT_END = 0,
  OPT_COMMENT = 1,
  IF_NAME = 2,
  IF_DESCRIPTION = 3,
  IF_TSRESOL = 9,
  EPB_FLAGS = 2,
  SHB_USERAPPL = 4,
  /* Raw IPv4.  Not LINKTYPE_RAW (101): libpcap 1.10 refuses a file with
   * two interfaces of that type ("a type 101 different from the type of
   * the first interface"). */
  LINKTYPE_IPV4 = 228,
  /* A capture holding IPv6 (dual stack): a 4-byte address family in
   * network order before each packet (BSD loopback), as one link type
   * for every interface (libpcap refuses a file whose interfaces differ,
   * and a raw IPv4 link cannot carry IPv6). */
  LINKTYPE_LOOP = 108,
  LOOP_AF_INET = 2,
  LOOP_AF_INET6 = 24, /* the BSDs' value every reader knows */
  SNAPLEN = 65535,
  DIR_IN = 1,
  DIR_OUT = 2
};

static void put16(GString *b, guint16 v) {
  guint8 x[2] = {(guint8)v, (guint8)(v >> 8)};
  g_string_append_len(b, (const char *)x, 2);
}

static void put32(GString *b, guint32 v) {
  guint8 x[4] = {(guint8)v, (guint8)(v >> 8), (guint8)(v >> 16),
                 (guint8)(v >> 24)};
  g_string_append_len(b, (const char *)x, 4);
}

static void pad4(GString *b) {
  while (b->len % 4)
    g_string_append_c(b, '\0');
}

static void block_begin(GString *b, guint32 type) {
  g_string_truncate(b, 0);
  put32(b, type);
  put32(b, 0); /* total length, set at the end */
}

static void put_opt(GString *b, guint16 code, const void *v, gsize len) {
  put16(b, code);
  put16(b, (guint16)len);
  g_string_append_len(b, v, (gssize)len);
  pad4(b);
}

static void put_opt_str(GString *b, guint16 code, const char *s) {
  put_opt(b, code, s, MIN(strlen(s), 0xfff0));
}

static void block_end(GString *b) {
  guint32 total = (guint32)b->len + 4;
  put32(b, total);
  for (int i = 0; i < 4; i++)
    b->str[4 + i] = (char)(total >> (8 * i));
}

typedef struct {
  guint32 node;          /* interned name */
  const NlExpLink *link; /* NULL: the node as a whole (no topology) */
  char *name;
} Iface;

typedef struct {
  const NlTrace *trace;
  NlExpWorld *world;
  GPtrArray *ifaces;     /* Iface, in IDB order */
  GHashTable *iface_of;  /* link or node key -> index + 1 */
  GHashTable *drops;     /* hop id -> GPtrArray of const NlTraceRecord* */
  GHashTable *sent;      /* hop ids whose send was seen */
  GHashTable *want;      /* node ids captured (NULL: every link) */
  GString *b;
  FILE *f;
  gboolean write_failed;
  gboolean loop; /* some packet is IPv6: LINKTYPE_LOOP */
} Cap;

static void iface_free(gpointer p) {
  Iface *i = p;
  g_free(i->name);
  g_free(i);
}

static gpointer link_key(const NlExpLink *l) {
  return (gpointer)l;
}

static gpointer node_key(guint32 node) {
  /* Odd values: never a pointer to a (word-aligned) link. */
  return GUINT_TO_POINTER(((gsize)node << 1) | 1);
}

static guint iface_add(Cap *c, guint32 node, const NlExpLink *l) {
  gpointer key = l ? link_key(l) : node_key(node);
  guint i = GPOINTER_TO_UINT(g_hash_table_lookup(c->iface_of, key));
  if (i != 0)
    return i - 1;
  Iface *f = g_new0(Iface, 1);
  f->node = node;
  f->link = l;
  f->name = l ? g_strdup_printf("%s:%s", nl_trace_name(c->trace, node),
                                l->ifname)
              : g_strdup(nl_trace_name(c->trace, node));
  g_ptr_array_add(c->ifaces, f);
  g_hash_table_insert(c->iface_of, key, GUINT_TO_POINTER(c->ifaces->len));
  return c->ifaces->len - 1;
}

static gboolean wanted(const Cap *c, guint32 node) {
  return c->want == NULL ||
         g_hash_table_contains(c->want, GUINT_TO_POINTER(node));
}

/* The interface of @node for a hop with @peer (the link they share), or
 * for a packet to @pkt's destination when there is no hop. */
static guint iface_for(Cap *c, guint32 node, guint32 peer, const guint8 *pkt,
                       guint32 len) {
  const NlExpLink *l = peer ? nl__export_world_hop_link(c->world, node, peer)
                            : NULL;
  if (l == NULL && len >= NL_IP4_HDR_LEN && (pkt[0] >> 4) == 4)
    l = nl__export_world_link_for(c->world, node, nl_wire_get32(pkt + 16));
  return iface_add(c, node, l);
}

static void flush(Cap *c) {
  if (fwrite(c->b->str, 1, c->b->len, c->f) != c->b->len)
    c->write_failed = TRUE;
}

static void write_shb(Cap *c) {
  GString *b = c->b;
  block_begin(b, BT_SHB);
  put32(b, 0x1A2B3C4D);
  put16(b, 1);
  put16(b, 0);
  put32(b, 0xffffffffu); /* section length: not given */
  put32(b, 0xffffffffu);
  put_opt_str(b, SHB_USERAPPL, "natlab (virtual time)");
  put_opt(b, OPT_END, NULL, 0);
  block_end(b);
  flush(c);
}

static void write_idb(Cap *c, const Iface *f) {
  GString *b = c->b;
  block_begin(b, BT_IDB);
  put16(b, c->loop ? LINKTYPE_LOOP : LINKTYPE_IPV4);
  put16(b, 0);
  put32(b, SNAPLEN);
  put_opt_str(b, IF_NAME, f->name);
  char *desc;
  if (f->link != NULL)
    desc = g_strdup_printf("%s %s on network %s, %s%s%s",
                           nl_trace_name(c->trace, f->node), f->link->ifname,
                           f->link->network, f->link->addr,
                           f->link->props[0] ? " " : "", f->link->props);
  else
    desc = g_strdup_printf("every link of %s",
                           nl_trace_name(c->trace, f->node));
  put_opt_str(b, IF_DESCRIPTION, desc);
  g_free(desc);
  guint8 resol = 9;
  put_opt(b, IF_TSRESOL, &resol, 1);
  put_opt(b, OPT_END, NULL, 0);
  block_end(b);
  flush(c);
}

/* "dropped at bob: link loss; ..." for the drops of hop @id, by @who
 * (0: at any node); NULL when none. */
static char *drop_comment(Cap *c, uint64_t id, guint32 who) {
  GPtrArray *ds = id ? g_hash_table_lookup(c->drops, &id) : NULL;
  GString *s = NULL;
  for (guint i = 0; ds != NULL && i < ds->len; i++) {
    const NlTraceRecord *d = g_ptr_array_index(ds, i);
    if (who != 0 && d->node != who)
      continue;
    if (s == NULL)
      s = g_string_new(NULL);
    else
      g_string_append(s, "; ");
    g_string_append_printf(
        s, "dropped %s %s: %s",
        (d->aux & NL_DROP_OUTGOING) ? "on the way out of" : "at",
        nl_trace_name(c->trace, d->node),
        nl_drop_reason_name(nl_trace_drop_reason(d->aux)));
  }
  return s ? g_string_free(s, FALSE) : NULL;
}

static void write_epb(Cap *c, guint iface, const NlTraceRecord *rec,
                      const guint8 *pkt, guint32 dir, const char *comment) {
  GString *b = c->b;
  guint64 ts = (guint64)(c->world->epoch * NL_S + MAX(rec->time, 0));
  guint32 caplen = MIN(rec->len, (guint32)SNAPLEN);
  guint32 head = c->loop ? 4 : 0;
  block_begin(b, BT_EPB);
  put32(b, iface);
  put32(b, (guint32)(ts >> 32));
  put32(b, (guint32)ts);
  put32(b, caplen + head);
  put32(b, rec->len + head);
  if (c->loop) {
    guint8 af = rec->len >= 1 && (pkt[0] >> 4) == 6 ? LOOP_AF_INET6
                                                     : LOOP_AF_INET;
    g_string_append_len(b, (const char *)(guint8[]){0, 0, 0, af}, 4);
  }
  g_string_append_len(b, (const char *)pkt, caplen);
  pad4(b);
  put_opt(b, EPB_FLAGS, (guint8[]){(guint8)dir, 0, 0, 0}, 4);
  if (comment != NULL)
    put_opt_str(b, OPT_COMMENT, comment);
  put_opt(b, OPT_END, NULL, 0);
  block_end(b);
  flush(c);
}

/* Every link of every node (or of the wanted ones), in the trace's
 * order, then interfaces for packets of nodes that have none. */
static void plan_interfaces(Cap *c) {
  for (guint i = 0; i < c->world->nodes->len; i++) {
    NlExpNode *n = g_ptr_array_index(c->world->nodes, i);
    if (!wanted(c, n->id))
      continue;
    for (guint j = 0; j < n->links->len; j++)
      iface_add(c, n->id, g_ptr_array_index(n->links, j));
  }
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  nl_trace_iter_init(&it, c->trace);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    switch (rec->kind) {
      case NL_TRACE_PKT_SEND:
        c->loop |= rec->len >= 1 && (p[0] >> 4) == 6;
        if (wanted(c, rec->node))
          iface_for(c, rec->node, rec->peer, p, rec->len);
        if (c->want && wanted(c, rec->peer))
          iface_for(c, rec->peer, rec->node, p, rec->len);
        break;
      case NL_TRACE_PKT_RECV:
      case NL_TRACE_PKT_DROP:
        c->loop |= rec->len >= 1 && (p[0] >> 4) == 6;
        if (wanted(c, rec->node))
          iface_for(c, rec->node, rec->peer, p, rec->len);
        if (rec->kind == NL_TRACE_PKT_DROP && rec->id != 0) {
          GPtrArray *ds = g_hash_table_lookup(c->drops, &rec->id);
          if (ds == NULL) {
            ds = g_ptr_array_new();
            g_hash_table_insert(c->drops, g_memdup2(&rec->id, sizeof rec->id),
                                ds);
          }
          g_ptr_array_add(ds, (gpointer)rec);
        }
        break;
      default: break;
    }
  }
}

static void capture(Cap *c) {
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *p;
  /* Per node: hops sent towards a captured node, not yet received. */
  GHashTable *towards =
      g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
  nl_trace_iter_init(&it, c->trace);
  while (nl_trace_iter_next(&it, &rec, &p)) {
    switch (rec->kind) {
      case NL_TRACE_PKT_SEND: {
        if (rec->id != 0)
          g_hash_table_add(c->sent, g_memdup2(&rec->id, sizeof rec->id));
        if (c->want && wanted(c, rec->peer) && rec->id != 0)
          g_hash_table_add(towards, g_memdup2(&rec->id, sizeof rec->id));
        if (!wanted(c, rec->node))
          break;
        /* Drops on the way out, or on the link, belong to the send. */
        char *why = drop_comment(c, rec->id, 0);
        write_epb(c, iface_for(c, rec->node, rec->peer, p, rec->len), rec, p,
                  DIR_OUT, why);
        g_free(why);
        break;
      }
      case NL_TRACE_PKT_RECV: {
        if (c->want == NULL || !wanted(c, rec->node))
          break;
        g_hash_table_remove(towards, &rec->id);
        char *why = drop_comment(c, rec->id, rec->node);
        write_epb(c, iface_for(c, rec->node, rec->peer, p, rec->len), rec, p,
                  DIR_IN, why);
        g_free(why);
        break;
      }
      case NL_TRACE_PKT_DROP: {
        gboolean was_sent =
            rec->id != 0 && g_hash_table_contains(c->sent, &rec->id);
        gboolean arriving = c->want && wanted(c, rec->node) &&
                            g_hash_table_remove(towards, &rec->id);
        /* A drop before any link (no neighbour, no route) is a packet of
         * its own; one on arrival at a captured node is what its link
         * saw. */
        if ((was_sent && !arriving) || !wanted(c, rec->node))
          break;
        char *why = drop_comment(c, rec->id, rec->node);
        if (why == NULL)
          why = g_strdup_printf("dropped at %s: %s",
                                nl_trace_name(c->trace, rec->node),
                                nl_drop_reason_name(
                                    nl_trace_drop_reason(rec->aux)));
        write_epb(c, iface_for(c, rec->node, rec->peer, p, rec->len), rec, p,
                  arriving ? DIR_IN : DIR_OUT, why);
        g_free(why);
        break;
      }
      default: break;
    }
  }
  g_hash_table_destroy(towards);
}

static void free_drops(gpointer p) {
  g_ptr_array_unref(p);
}

gboolean nl_pcap_write_nodes(const NlTrace *trace, const char *path,
                             const char *const *nodes, GError **error) {
  g_return_val_if_fail(trace != NULL, FALSE);
  g_return_val_if_fail(path != NULL, FALSE);
  Cap c = {0};
  c.trace = trace;
  c.world = nl__export_world_new(trace);
  gboolean ok = FALSE;
  if (nodes != NULL) {
    c.want = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (int i = 0; nodes[i] != NULL; i++) {
      const NlExpNode *found = NULL;
      for (guint j = 0; j < c.world->nodes->len; j++) {
        const NlExpNode *n = g_ptr_array_index(c.world->nodes, j);
        if (strcmp(n->name, nodes[i]) == 0)
          found = n;
      }
      if (found == NULL) {
        g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_FORMAT,
                    "no node named \"%s\" in the trace", nodes[i]);
        goto fail_node;
      }
      g_hash_table_add(c.want, GUINT_TO_POINTER(found->id));
    }
  }
  if (strcmp(path, "-") == 0) {
    c.f = stdout;
  } else {
    c.f = fopen(path, "wb");
    if (c.f == NULL) {
      g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_IO, "%s: %s", path,
                  g_strerror(errno));
      goto fail_node;
    }
  }
  c.ifaces = g_ptr_array_new_with_free_func(iface_free);
  c.iface_of = g_hash_table_new(g_direct_hash, g_direct_equal);
  c.drops = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                  free_drops);
  c.sent = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
  c.b = g_string_sized_new(2048);
  plan_interfaces(&c);
  write_shb(&c);
  for (guint i = 0; i < c.ifaces->len; i++)
    write_idb(&c, g_ptr_array_index(c.ifaces, i));
  capture(&c);
  ok = !c.write_failed && fflush(c.f) == 0 && !ferror(c.f);
  if (c.f != stdout)
    ok = (fclose(c.f) == 0) && ok;
  if (!ok)
    g_set_error(error, NL_EXPORT_ERROR, NL_EXPORT_ERROR_IO, "%s: write failed",
                path);
  g_string_free(c.b, TRUE);
  g_hash_table_destroy(c.sent);
  g_hash_table_destroy(c.drops);
  g_hash_table_destroy(c.iface_of);
  g_ptr_array_unref(c.ifaces);
fail_node:
  if (c.want)
    g_hash_table_destroy(c.want);
  nl__export_world_free(c.world);
  return ok;
}

gboolean nl_pcap_write(const NlTrace *trace, const char *path, const char *node,
                       GError **error) {
  const char *one[] = {node, NULL};
  return nl_pcap_write_nodes(trace, path, node ? one : NULL, error);
}
