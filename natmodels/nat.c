/* The NAT translator.
 *
 * Table: one Entry per mapping, found two ways — by its inside key (the
 * inside endpoint plus as much of the remote as the mapping behaviour
 * says) for outbound packets, and by its external endpoint for inbound
 * ones.  The entries themselves are the inside table (Records): an
 * outbound packet finds its mapping in the line it reads first.  Port
 * overloading is never done (RFC 4787 REQ-4 §4.2.2), so an external
 * endpoint names exactly one mapping.  Entries are also on a list
 * in creation order (snapshots, eviction) and in a min-heap by expiry.
 *
 * Expiry is exact and cheap.  A mapping is alive while now < expires.  The
 * heap is keyed by heap_time <= expires: a refresh that only extends the
 * lifetime does not touch the heap; when a stale entry reaches the top it
 * is re-keyed to its real expiry.  One NlEvent, armed at the heap top,
 * fires at the exact expiry time and writes the record then; every
 * nl_nat_process() also expires what is due first, so a packet arriving at
 * the very nanosecond of expiry sees the mapping gone whatever the event
 * order.
 *
 * Filtering state: a mapping remembers every remote it has sent to (the
 * address for ADF, address:port for APDF) for as long as it lives.
 *
 * Determinism: the hash tables are only looked up, never iterated; the
 * list and the heap (ties broken by creation serial) decide every order.
 */
#include "natmodels/nat.h"

#include <string.h>

#include "natmodels/nat-alloc-priv.h"
#include "sim/net/wire.h"

enum { PIDX_UDP, PIDX_TCP, PIDX_ICMP, N_PIDX };

/* TCP tracking bits (RFC 5382 §5). */
enum {
  TCP_SYN_OUT = 1 << 0,
  TCP_SYN_IN = 1 << 1,
  TCP_FIN_OUT = 1 << 2,
  TCP_FIN_IN = 1 << 3,
  TCP_RST = 1 << 4,
  TCP_EST = 1 << 5,
};

typedef struct {
  uint32_t addr;
  uint16_t port; /* 0 for ADF, and for ICMP */
} Permit;

typedef struct Entry Entry;
/* What a packet reads and writes of its mapping comes first, in the first
 * line of a 64-byte-aligned record: with many NATs an entry is out of
 * the cache whenever a packet comes (docs/performance.md, "Sockets and
 * NAT per delivery, fourth round"). */
struct Entry {
  /* Inside key: proto, inside endpoint, masked remote. */
  uint32_t int_addr;
  uint32_t key_rem_addr;
  uint16_t int_port;
  uint16_t key_rem_port;
  uint8_t proto;
  uint8_t tcp;       /* TCP_* bits */
  uint8_t is_static; /* a port forward: never expires, lets anyone in */
  uint8_t state;     /* REC_*: its place in the inside table (Records) */
  /* External endpoint (the inbound key, with proto). */
  uint16_t ext_port;
  /* The first permit (unused with EIF): a remote let in. */
  uint16_t permit_port; /* 0 for ADF, and for ICMP */
  uint32_t ext_addr;
  uint32_t permit_addr;
  uint32_t hash; /* inside_hash(): its place in the inside table */
  NlTime expires;
  NlTime heap_time;
  NlTime refresh_logged;
  /* The checksum terms of the rewrite each way (set_csum_terms). */
  uint16_t out_ip_terms, out_l4_terms, in_ip_terms, in_l4_terms;
  /* The rest, a second line, so that each record of the inside table
   * (64-byte aligned) starts a line (not an alignment of the type: an
   * Entry on the stack, a lookup's key, would then realign every
   * caller's frame). */
  guint heap_index;
  guint cap_more;
  Entry *moved; /* while the inside table grows: where it went */
  Permit *more;
  /* The remote whose packet created the mapping. */
  uint32_t for_addr;
  uint16_t n_more; /* permits beyond the inline one */
  uint16_t for_port;
  uint64_t serial;
  Entry *prev, *next;
  uint64_t pad; /* to the end of the second line */
};

/* A probe of the inside table, and a packet through the mapping, read
 * the first line only. */
G_STATIC_ASSERT(offsetof(Entry, in_l4_terms) + sizeof(uint16_t) <= 64);
G_STATIC_ASSERT(sizeof(Entry) == 128);

/* An external address's ports in use, a bit each, by protocol: each
 * protocol's 8 KB made at its first use (pool_used), so a NAT that only
 * ever sees UDP, as most do, never clears the other two. */
#define POOL_WORDS (65536 / 64)
typedef struct {
  uint64_t *used[N_PIDX]; /* NULL: no port of it used yet */
} Pool;

/* The outside table: external endpoint -> the entry's record in the
 * inside table (Records).  Open addressing, linear probing,
 * backward-shift deletion, at most 3/4 full, from 16 slots.  A slot is
 * the key's hash beside the record's index, 8 bytes: a NAT's few dozen
 * mappings take a few lines, each read by an inbound packet every little
 * while, so that they stay in cache, where slots of 16 bytes, at least 64
 * of them and at most half full (a NAT's mappings over 16 lines or more),
 * left an inbound packet a cache miss for its slot before the one for its
 * entry.  Never iterated, so slot order decides nothing. */
typedef struct {
  uint32_t hash;
  uint32_t rec; /* the record's index in the inside table + 1; 0: empty */
} Slot;

typedef struct {
  Slot *slots;
  guint mask; /* capacity - 1; capacity is a power of two */
  guint len;
} Table;

#define TABLE_MIN 16

/* The inside table: an open-addressing table of the entries themselves
 * (linear probing by inside_hash()), so that an outbound packet's lookup
 * reads one line, the entry's first, where a table of pointers read a
 * slot's line and then the entry's.  An entry does not move while it
 * lives, as the heap, the list and the outside table point at it: a
 * removed one leaves a tombstone (REC_DEAD), passed over by lookups and
 * reused by inserts; live and dead records together stay at most half
 * the capacity, and the table is rebuilt (every pointer at an entry
 * redirected) when they would not.  Never iterated, so record order
 * decides nothing. */
enum { REC_EMPTY, REC_LIVE, REC_DEAD };

typedef struct {
  Entry *recs; /* mask + 1 records, 64-byte aligned */
  guint mask;
  guint live, dead;
} Records;

/* What every packet reads comes first, together, in a 64-byte-aligned
 * allocation (three lines): the tables, the clock, the heap and its timer,
 * the counters, and copies of the few words of the behaviour a packet
 * reads (@b's, which never changes). */
struct NlNat {
  Records by_inside; /* inside key -> Entry (the entries themselves) */
  Table by_outside; /* external endpoint -> record of by_inside */
  NlEventQueue *q;
  Entry **heap;
  guint heap_len;
  guint n_addrs;
  uint32_t *addrs;
  NlEvent timer;
  NlTime udp_timeout; /* b's */
  guint8 translate, mapping, filtering, block_outbound_udp; /* b's */
  guint8 outbound_refresh, inbound_refresh;                 /* b's */
  guint8 has_forwards; /* forwards->len > 0 */
  guint8 has_dmz;
  /* What process_common asks (set_fast): whether an outbound packet may
   * take it (translate, no forwards, outbound UDP not blocked: a NAT
   * that blocks it sends TCP the general way too), whether an inbound
   * one may (translate); the masks of a UDP or TCP remote's address and
   * port in the inside key (inside_key: all ones where the mapping
   * behaviour keys on them) and of its port in a permit (permit_port). */
  guint8 fast_out, fast_in;
  uint16_t key_port_mask, permit_port_mask;
  uint32_t key_addr_mask;
  uint32_t addr0; /* addrs[0] (0: none), read by every outbound packet */
  NlNatCounters counters;
  NlTrace *trace;
  /* The rest. */
  NlNatBehaviour b;
  char *name;
  Pool *pools; /* one per external address */
  guint32 node;
  const NlNatAllocator *alloc;
  void *alloc_priv;
  Entry *first, *last;    /* creation order */
  guint heap_cap;
  uint64_t next_serial;
  /* Port forwards (static DNAT): Entry* with is_static, in the order
   * added, outside the tables, the list and the heap. */
  GPtrArray *forwards;
  uint32_t dmz; /* the inside host that gets what nothing else claims */
};

/* Pool @pool's bits for protocol index @pidx, made (all clear) if new. */
static uint64_t *pool_used(NlNat *nat, guint pool, int pidx) {
  uint64_t **used = &nat->pools[pool].used[pidx];
  if (G_UNLIKELY(*used == NULL))
    *used = g_new0(uint64_t, POOL_WORDS);
  return *used;
}

static void pools_free(NlNat *nat) {
  for (guint i = 0; i < nat->n_addrs; i++)
    for (int k = 0; k < N_PIDX; k++)
      g_free(nat->pools[i].used[k]);
  g_free(nat->pools);
}

/* process_common reads the first three lines only. */
G_STATIC_ASSERT(offsetof(struct NlNat, counters) +
                    offsetof(NlNatCounters, translated) + sizeof(guint64) <=
                192);

static const char *const verdict_names[] = {
#define NL_X(e, s) s,
  NL_NAT_VERDICT_MAP(NL_X)
#undef NL_X
};

static const char *const map_event_names[] = {
#define NL_X(e, s) s,
  NL_NAT_MAP_EVENT_MAP(NL_X)
#undef NL_X
};

const char *nl_nat_verdict_name(NlNatVerdict v) {
  return (guint)v < NL_NAT_N_VERDICTS ? verdict_names[v] : "?";
}

const char *nl_nat_map_event_name(NlNatMapEvent e) {
  return (guint)e < NL_NAT_MAP_N_EVENTS ? map_event_names[e] : "?";
}

/* ---- wire helpers ------------------------------------------------------ */


/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), the checksum @hc after a
 * 16-bit word changes from @old to @new. */
static inline uint16_t csum_step(uint16_t hc, uint16_t old, uint16_t new) {
  uint32_t s = (uint16_t)~hc;
  s += (uint16_t)~old;
  s += new;
  /* At most 3 * 0xffff: two end-around carries fold it to 16 bits (a
   * third would change nothing). */
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

/* The checksum @hc after a 32-bit word changes: its two halves in turn. */
static inline uint16_t csum_step32(uint16_t hc, uint32_t old, uint32_t new) {
  hc = csum_step(hc, (uint16_t)(old >> 16), (uint16_t)(new >> 16));
  return csum_step(hc, (uint16_t)old, (uint16_t)new);
}

/* The same on the checksum field at @c. */
static inline void csum_replace16(guint8 *c, uint16_t old, uint16_t new) {
  nl_wire_put16(c, csum_step(nl_wire_get16(c), old, new));
}

static inline void csum_replace32(guint8 *c, uint32_t old, uint32_t new) {
  nl_wire_put16(c, csum_step32(nl_wire_get16(c), old, new));
}

/* RFC 1624's terms of a 32-bit word's change from @old to @new, added to
 * the sum @s. */
static inline uint32_t csum_terms32(uint32_t s, uint32_t old, uint32_t new) {
  return s + (uint16_t)~(old >> 16) + (uint16_t)~old + (new >> 16) +
         (new & 0xffff);
}

/* The checksum of the sum @s of at most 7 terms (at most 7 * 0xffff: two
 * end-around carries fold it to 16 bits). */
static inline uint16_t csum_fold_not(uint32_t s) {
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

/* The UDP checksum at @c after an address and a port change.  UDP keeps
 * 0 as "no checksum" (RFC 768), and writes a computed 0 as 0xffff.  RFC
 * 1624's terms of the three 16-bit words are summed at once and folded
 * once: the same bytes as a csum_step per word (as this did before).  Each
 * step's result is in [0, 0xfffe] (0xffff only when ~hc, ~old and new are
 * all 0, which the next step reads as it would read 0); both ways give the
 * same value modulo 0xffff, and with 0 written as 0xffff both end in
 * [1, 0xffff], where that value has one form. */
static inline void udp_csum_replace_endpoint(guint8 *c, uint32_t old_addr,
                                             uint32_t new_addr,
                                             uint16_t old_port,
                                             uint16_t new_port) {
  uint16_t hc = nl_wire_get16(c);
  if (hc == 0)
    return;
  uint32_t sum = csum_terms32((uint16_t)~hc, old_addr, new_addr);
  sum += (uint16_t)~old_port;
  sum += new_port;
  hc = csum_fold_not(sum);
  nl_wire_put16(c, hc == 0 ? 0xffff : hc);
}

/* Rewrites the source (@src TRUE) or destination address and port of a
 * transport header at @l4 (@l4len bytes available; may be a truncated
 * quote inside an ICMP error) of protocol @proto, whose IPv4 header is at
 * @ip.  For ICMP echo the "port" is the identifier, whichever side.
 * Every checksum whose bytes are present is updated incrementally. */
static inline uint32_t rewrite_addr(guint8 *ip, gboolean src, uint32_t addr) {
  guint8 *ap = ip + (src ? 12 : 16);
  uint32_t old_addr = nl_wire_get32(ap);
  nl_wire_put32(ap, addr);
  /* The header checksum: the address's two words at once, as
   * udp_csum_replace_endpoint sums them.  The same bytes as
   * csum_replace32's two steps: the sums agree modulo 0xffff, and a
   * folded sum is 0 (the checksum 0xffff) only when all its terms are 0,
   * for the one sum exactly when for the second step. */
  guint8 *c = ip + 10;
  nl_wire_put16(c, csum_fold_not(csum_terms32((uint16_t)~nl_wire_get16(c),
                                              old_addr, addr)));
  return old_addr;
}

static inline void rewrite_endpoint(guint8 *ip, guint8 *l4, size_t l4len,
                             uint8_t proto, gboolean src, uint32_t addr,
                             uint16_t port) {
  uint32_t old_addr = rewrite_addr(ip, src, addr);
  switch (proto) {
    case NL_IPPROTO_UDP: {
      guint8 *pp = l4 + (src ? 0 : 2);
      uint16_t old_port = nl_wire_get16(pp);
      nl_wire_put16(pp, port);
      if (l4len >= 8)
        udp_csum_replace_endpoint(l4 + 6, old_addr, addr, old_port, port);
      break;
    }
    case NL_IPPROTO_TCP: {
      guint8 *pp = l4 + (src ? 0 : 2);
      uint16_t old_port = nl_wire_get16(pp);
      nl_wire_put16(pp, port);
      if (l4len >= 18) {
        csum_replace32(l4 + 16, old_addr, addr);
        csum_replace16(l4 + 16, old_port, port);
      }
      break;
    }
    case NL_IPPROTO_ICMP: {
      /* No pseudo-header: only the identifier counts. */
      uint16_t old_id = nl_wire_get16(l4 + 4);
      nl_wire_put16(l4 + 4, port);
      if (l4len >= 4)
        csum_replace16(l4 + 2, old_id, port);
      break;
    }
    default:
      break;
  }
}

/* The sum @s (at most 2^48) folded to 16 bits by end-around carries
 * (each adds the two halves with the carry out of the lower going round:
 * the upper half of x plus x rotated by half its width): its one value
 * in [1, 0xffff] modulo 0xffff, or 0 when it is 0. */
static inline uint16_t csum_fold64(uint64_t s) {
  uint32_t x = (uint32_t)((s + (s >> 32 | s << 32)) >> 32);
  return (uint16_t)((x + (x >> 16 | x << 16)) >> 16);
}

/* RFC 1624's terms (eqn. 3: ~m + m') of a 32-bit word's change from
 * @old to @new as two 32-bit terms, ~old and new: 2^16 is 1 modulo
 * 0xffff, so each is congruent to the sum of its 16-bit halves, the
 * four terms of csum_terms32, and they are all 0 exactly when those
 * are. */
static inline uint64_t csum_delta32(uint32_t old, uint32_t new) {
  return (uint64_t)(uint32_t)~old + new;
}

/* The terms of the rewrites of @e's packets, folded once when it is made,
 * where every packet summed them: outbound the source address (in the
 * IPv4 header's checksum) and the source address and port (in the UDP or
 * TCP checksum, whose pseudo-header holds the address) go from the
 * inside endpoint to the external one, inbound the destination's the
 * other way.  A checksum updated with them (csum_apply) is the one
 * updated word by word (rewrite_endpoint): ~HC and terms that agree
 * modulo 0xffff, and are 0 exactly when the others are, fold to the same
 * value. */
static void set_csum_terms(Entry *e) {
  uint64_t out = csum_delta32(e->int_addr, e->ext_addr);
  uint64_t in = csum_delta32(e->ext_addr, e->int_addr);
  e->out_ip_terms = csum_fold64(out);
  e->out_l4_terms =
      csum_fold64(out + (uint16_t)~e->int_port + e->ext_port);
  e->in_ip_terms = csum_fold64(in);
  e->in_l4_terms = csum_fold64(in + (uint16_t)~e->ext_port + e->int_port);
}

/* The checksum @hc after changes whose terms fold to @terms
 * (set_csum_terms): RFC 1624's ~(~HC + terms), with one end-around
 * carry, as the sum is at most 0x1fffe. */
static inline uint16_t csum_apply(uint16_t hc, uint16_t terms) {
  uint32_t s = (uint32_t)(uint16_t)~hc + terms;
  return (uint16_t)~((s & 0xffff) + (s >> 16));
}

/* Rewrites the source (@src) or destination endpoint of the UDP datagram
 * or TCP segment (@proto) @pkt, its transport header at @l4 (whole), to
 * @addr:@port, the endpoint of the mapping that found it (the other end
 * of that mapping is the packet's), whose checksum terms that way are
 * @ip_terms and @l4_terms (set_csum_terms): the same bytes as
 * rewrite_endpoint's. */
static inline __attribute__((always_inline)) void rewrite_ports(
    guint8 *pkt, guint8 *l4, uint8_t proto, gboolean src, uint32_t addr,
    uint16_t port, uint16_t ip_terms, uint16_t l4_terms) {
  nl_wire_put32(pkt + (src ? 12 : 16), addr);
  nl_wire_put16(pkt + 10, csum_apply(nl_wire_get16(pkt + 10), ip_terms));
  nl_wire_put16(l4 + (src ? 0 : 2), port);
  if (proto == NL_IPPROTO_TCP) {
    nl_wire_put16(l4 + 16, csum_apply(nl_wire_get16(l4 + 16), l4_terms));
    return;
  }
  uint16_t hc = nl_wire_get16(l4 + 6);
  if (hc == 0)
    return; /* RFC 768: no checksum */
  hc = csum_apply(hc, l4_terms);
  nl_wire_put16(l4 + 6, hc == 0 ? 0xffff : hc); /* RFC 768 */
}

/* What nl_nat_process() reads from a packet. */
typedef enum { FLOW_PORTS, FLOW_ICMP_ERROR, FLOW_OTHER } FlowKind;

typedef struct {
  FlowKind kind;
  uint8_t proto;
  uint8_t tcp_flags;
  uint16_t sport, dport; /* ICMP echo: both the identifier */
  uint32_t src, dst;
  guint8 *l4;
  size_t l4len;
  /* FLOW_ICMP_ERROR: the quoted packet. */
  guint8 *in_ip, *in_l4;
  size_t in_l4len;
  uint8_t in_proto;
  uint32_t in_src, in_dst;
  uint16_t in_sport, in_dport;
} Flow;

static gboolean is_icmp_error(uint8_t type) {
  return type == NL_ICMP_DEST_UNREACH || type == NL_ICMP_TIME_EXCEEDED ||
         type == 4 /* source quench */ || type == 12 /* parameter problem */;
}

static gboolean is_icmp_echo(uint8_t type) {
  return type == NL_ICMP_ECHO_REQUEST || type == NL_ICMP_ECHO_REPLY;
}

/* Reads the flow of @pkt, whose IPv4 header reads as @ip (nothing wrong
 * with it).  Returns FALSE if it is malformed. */
static gboolean parse_flow(guint8 *pkt, const NlIp4Header *ip, Flow *f) {
  /* The fields every flow has; the quoted packet's are set (and read)
   * only for an ICMP error. */
  f->tcp_flags = 0;
  f->sport = f->dport = 0;
  /* The NAT works on whole datagrams (the network layer reassembles before
   * it, as Linux does before conntrack). */
  if (ip->mf || ip->frag_offset != 0)
    return FALSE;
  f->proto = ip->proto;
  f->src = ip->src;
  f->dst = ip->dst;
  f->l4 = pkt + ip->ihl_bytes;
  f->l4len = ip->total_len - ip->ihl_bytes;
  switch (ip->proto) {
    case NL_IPPROTO_UDP:
      if (f->l4len < NL_UDP_HDR_LEN || nl_wire_get16(f->l4 + 4) < NL_UDP_HDR_LEN ||
          nl_wire_get16(f->l4 + 4) > f->l4len)
        return FALSE;
      break;
    case NL_IPPROTO_TCP:
      if (f->l4len < NL_TCP_HDR_LEN || f->l4len < (size_t)(f->l4[12] >> 4) * 4)
        return FALSE;
      f->tcp_flags = f->l4[13];
      break;
    case NL_IPPROTO_ICMP:
      if (f->l4len < NL_ICMP_HDR_LEN)
        return FALSE;
      if (is_icmp_echo(f->l4[0])) {
        f->sport = f->dport = nl_wire_get16(f->l4 + 4);
        f->kind = FLOW_PORTS;
        return TRUE;
      }
      if (!is_icmp_error(f->l4[0])) {
        f->kind = FLOW_OTHER;
        return TRUE;
      }
      {
        /* RFC 5508 §4: the quoted header and at least 8 bytes of its
         * transport header (ports, or the echo identifier). */
        guint8 *in = f->l4 + NL_ICMP_HDR_LEN;
        size_t inlen = f->l4len - NL_ICMP_HDR_LEN;
        if (inlen < NL_IP4_HDR_LEN || (in[0] >> 4) != 4)
          return FALSE;
        size_t ihl = (size_t)(in[0] & 0x0f) * 4;
        if (ihl < NL_IP4_HDR_LEN || inlen < ihl + 8)
          return FALSE;
        f->kind = FLOW_ICMP_ERROR;
        f->in_ip = in;
        f->in_l4 = in + ihl;
        f->in_l4len = inlen - ihl;
        f->in_proto = in[9];
        f->in_src = nl_wire_get32(in + 12);
        f->in_dst = nl_wire_get32(in + 16);
        if (f->in_proto == NL_IPPROTO_ICMP) {
          if (!is_icmp_echo(f->in_l4[0]))
            f->kind = FLOW_OTHER;
          f->in_sport = f->in_dport = nl_wire_get16(f->in_l4 + 4);
        } else if (f->in_proto == NL_IPPROTO_UDP ||
                   f->in_proto == NL_IPPROTO_TCP) {
          f->in_sport = nl_wire_get16(f->in_l4);
          f->in_dport = nl_wire_get16(f->in_l4 + 2);
        } else {
          f->kind = FLOW_OTHER;
        }
        return TRUE;
      }
    default:
      f->kind = FLOW_OTHER;
      return TRUE;
  }
  f->sport = nl_wire_get16(f->l4);
  f->dport = nl_wire_get16(f->l4 + 2);
  f->kind = FLOW_PORTS;
  return TRUE;
}

/* ---- table ------------------------------------------------------------- */

static inline guint mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return (guint)x;
}

static inline uint32_t inside_hash_of(uint8_t proto, uint32_t int_addr,
                                      uint16_t int_port, uint32_t rem_addr,
                                      uint16_t rem_port) {
  uint64_t a = ((uint64_t)int_addr << 32) | ((uint64_t)int_port << 16) |
               proto;
  uint64_t b = ((uint64_t)rem_addr << 16) | rem_port;
  return mix64(a ^ (b * 0x9e3779b97f4a7c15ULL));
}

static inline uint32_t inside_hash(const Entry *e) {
  return inside_hash_of(e->proto, e->int_addr, e->int_port, e->key_rem_addr,
                        e->key_rem_port);
}

static gboolean inside_equal(const Entry *a, const Entry *b) {
  return a->int_addr == b->int_addr && a->int_port == b->int_port &&
         a->proto == b->proto && a->key_rem_addr == b->key_rem_addr &&
         a->key_rem_port == b->key_rem_port;
}

static inline uint32_t outside_hash_of(uint8_t proto, uint32_t ext_addr,
                                       uint16_t ext_port) {
  return mix64(((uint64_t)ext_addr << 32) | ((uint64_t)ext_port << 16) |
               proto);
}

static inline uint32_t outside_hash(const Entry *e) {
  return outside_hash_of(e->proto, e->ext_addr, e->ext_port);
}

static void table_init(Table *t) {
  t->mask = TABLE_MIN - 1;
  t->len = 0;
  t->slots = g_new0(Slot, TABLE_MIN);
}

/* The entry of @recs (the inside table's records) whose external
 * endpoint is @proto, @addr:@port, whose outside_hash() is @h. */
static inline Entry *table_lookup(const Table *t, Entry *recs, uint8_t proto,
                                  uint32_t addr, uint16_t port, uint32_t h) {
  for (guint i = h & t->mask;; i = (i + 1) & t->mask) {
    const Slot *s = &t->slots[i];
    if (s->rec == 0)
      return NULL;
    Entry *e = &recs[s->rec - 1];
    if (s->hash == h && e->ext_addr == addr && e->ext_port == port &&
        e->proto == proto)
      return e;
  }
}

static void table_put(Table *t, uint32_t h, uint32_t rec) {
  guint i = h & t->mask;
  while (t->slots[i].rec != 0)
    i = (i + 1) & t->mask;
  t->slots[i] = (Slot){.hash = h, .rec = rec};
}

/* Adds record @rec (its index, not in the table), whose outside_hash()
 * is @h. */
static void table_add(Table *t, uint32_t h, guint rec) {
  if ((t->len + 1) * 4 > (t->mask + 1) * 3) {
    Slot *old = t->slots;
    guint n = t->mask + 1;
    t->mask = n * 2 - 1;
    t->slots = g_new0(Slot, n * 2);
    for (guint i = 0; i < n; i++)
      if (old[i].rec != 0)
        table_put(t, old[i].hash, old[i].rec);
    g_free(old);
  }
  table_put(t, h, rec + 1);
  t->len++;
}

/* Removes record @rec, whose outside_hash() is @h. */
static void table_remove(Table *t, uint32_t h, guint rec) {
  guint i = h & t->mask;
  while (t->slots[i].rec != rec + 1) {
    g_assert(t->slots[i].rec != 0);
    i = (i + 1) & t->mask;
  }
  /* Backward-shift deletion: pull later members of the probe run into
   * the hole when their home slot is not after it. */
  for (guint j = (i + 1) & t->mask; t->slots[j].rec != 0;
       j = (j + 1) & t->mask) {
    guint home = t->slots[j].hash & t->mask;
    gboolean stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!stays) {
      t->slots[i] = t->slots[j];
      i = j;
    }
  }
  t->slots[i] = (Slot){0};
  t->len--;
}

static void table_clear(Table *t) {
  g_free(t->slots);
  table_init(t);
}

#define RECORDS_MIN 8

static void records_init(Records *r) {
  r->mask = RECORDS_MIN - 1;
  r->live = r->dead = 0;
  r->recs = g_aligned_alloc0(RECORDS_MIN, sizeof(Entry), 64);
}

static inline Entry *records_lookup(const Records *r, const Entry *key,
                                    uint32_t h) {
  for (guint i = h & r->mask;; i = (i + 1) & r->mask) {
    Entry *e = &r->recs[i];
    if (e->state == REC_EMPTY)
      return NULL;
    if (e->state == REC_LIVE && e->hash == h && inside_equal(e, key))
      return e;
  }
}

/* The first record on @h's probe run that holds no live entry. */
static Entry *records_free_place(const Records *r, uint32_t h) {
  guint i = h & r->mask;
  while (r->recs[i].state == REC_LIVE)
    i = (i + 1) & r->mask;
  return &r->recs[i];
}

/* Moves every live entry of @nat into a table of @cap records and points
 * the heap, the creation list and the outside table at their new places;
 * the tombstones are gone. */
static void records_rebuild(NlNat *nat, guint cap) {
  Records *r = &nat->by_inside;
  Entry *old = r->recs;
  guint n_old = r->mask + 1;
  r->recs = g_aligned_alloc0(cap, sizeof(Entry), 64);
  r->mask = cap - 1;
  r->dead = 0;
  for (guint i = 0; i < n_old; i++) {
    if (old[i].state != REC_LIVE)
      continue;
    Entry *e = records_free_place(r, old[i].hash);
    *e = old[i];
    old[i].moved = e;
  }
  for (guint i = 0; i < n_old; i++) {
    if (old[i].state != REC_LIVE)
      continue;
    Entry *e = old[i].moved;
    e->prev = e->prev != NULL ? e->prev->moved : NULL;
    e->next = e->next != NULL ? e->next->moved : NULL;
  }
  if (nat->first != NULL) {
    nat->first = nat->first->moved;
    nat->last = nat->last->moved;
  }
  for (guint i = 0; i < nat->heap_len; i++)
    nat->heap[i] = nat->heap[i]->moved;
  Table *t = &nat->by_outside;
  for (guint i = 0; i <= t->mask; i++)
    if (t->slots[i].rec != 0)
      t->slots[i].rec = (uint32_t)(old[t->slots[i].rec - 1].moved - r->recs) + 1;
  g_aligned_free(old);
}

/* A zeroed live record for a new entry whose inside key hashes to @h
 * (the key is not in the table). */
static Entry *records_add(NlNat *nat, uint32_t h) {
  Records *r = &nat->by_inside;
  if ((r->live + r->dead + 1) * 2 > r->mask + 1) {
    guint cap = r->mask + 1;
    while ((r->live + 1) * 2 > cap)
      cap *= 2;
    records_rebuild(nat, cap);
  }
  Entry *e = records_free_place(r, h);
  if (e->state == REC_DEAD)
    r->dead--;
  memset(e, 0, sizeof *e);
  e->state = REC_LIVE;
  e->hash = h;
  r->live++;
  return e;
}

/* Takes @e out of the inside table; its fields stay as they are until its
 * record is reused. */
static void records_remove(Records *r, Entry *e) {
  guint i = (guint)(e - r->recs);
  e->state = REC_DEAD;
  r->live--;
  r->dead++;
  /* Tombstones that end at an empty record end no probe run: empty. */
  if (r->recs[(i + 1) & r->mask].state == REC_EMPTY) {
    while (r->recs[i].state == REC_DEAD) {
      r->recs[i].state = REC_EMPTY;
      r->dead--;
      i = (i - 1) & r->mask;
    }
  }
}

static void records_clear(Records *r) {
  g_aligned_free(r->recs);
  records_init(r);
}

static int pidx_of(uint8_t proto) {
  return proto == NL_IPPROTO_UDP ? PIDX_UDP
         : proto == NL_IPPROTO_TCP ? PIDX_TCP
                                   : PIDX_ICMP;
}

static const char *proto_name(uint8_t proto) {
  return proto == NL_IPPROTO_UDP ? "UDP"
         : proto == NL_IPPROTO_TCP ? "TCP"
                                   : "ICMP";
}

static inline NlTime timeout_of(const NlNat *nat, const Entry *e) {
  switch (e->proto) {
    case NL_IPPROTO_UDP:
      return nat->udp_timeout;
    case NL_IPPROTO_TCP:
      /* RFC 5382 REQ-5: established until FIN both ways or an RST. */
      if ((e->tcp & TCP_EST) && !(e->tcp & TCP_RST) &&
          (e->tcp & (TCP_FIN_OUT | TCP_FIN_IN)) != (TCP_FIN_OUT | TCP_FIN_IN))
        return nat->b.tcp_established_timeout;
      return nat->b.tcp_transitory_timeout;
    default:
      return nat->b.icmp_timeout;
  }
}

static const char *tcp_state_name(uint8_t t) {
  if (t & TCP_RST)
    return "reset";
  if ((t & (TCP_FIN_OUT | TCP_FIN_IN)) == (TCP_FIN_OUT | TCP_FIN_IN))
    return "closing";
  if (t & TCP_EST)
    return (t & (TCP_FIN_OUT | TCP_FIN_IN)) ? "half-closed" : "established";
  if (t & TCP_SYN_OUT)
    return "syn-out";
  if (t & TCP_SYN_IN)
    return "syn-in";
  return "none";
}

/* "UDP 10.0.0.5:5000 -> 203.0.113.1:5000" */
static void describe_entry(const Entry *e, GString *out) {
  char a[16], b[16];
  g_string_append_printf(out, "%s %s:%u -> %s:%u", proto_name(e->proto),
                         nl_ip4_to_string(e->int_addr, a), e->int_port,
                         nl_ip4_to_string(e->ext_addr, b), e->ext_port);
}

static void append_remote(uint8_t proto, uint32_t addr, uint16_t port,
                          gboolean with_port, GString *out) {
  char a[16];
  nl_ip4_to_string(addr, a);
  if (proto == NL_IPPROTO_ICMP || !with_port)
    g_string_append(out, a);
  else
    g_string_append_printf(out, "%s:%u", a, port);
}

static void trace_entry(NlNat *nat, const Entry *e, NlNatMapEvent ev,
                        const char *why) {
  if (nat->trace == NULL || !nl_trace_wants(nat->trace, NL_TRACE_NAT_MAP))
    return;
  GString *s = g_string_sized_new(96);
  g_string_append_printf(s, "%s ", map_event_names[ev]);
  describe_entry(e, s);
  if (ev == NL_NAT_MAP_NEW) {
    g_string_append(s, " (for ");
    append_remote(e->proto, e->for_addr, e->for_port, TRUE, s);
    g_string_append_c(s, ')');
  } else if (why != NULL) {
    g_string_append_printf(s, " (%s)", why);
  }
  nl_trace_add(nat->trace, nl_event_now(nat->q), NL_TRACE_NAT_MAP, nat->node,
               0, 0, (uint16_t)ev, s->str, (guint32)s->len);
  g_string_free(s, TRUE);
}

/* "TCP 203.0.113.1:8080 -> 10.0.0.10:80": a forward, public side first. */
static void describe_forward(const Entry *e, GString *out) {
  char a[16], b[16];
  g_string_append_printf(out, "%s %s:%u -> %s:%u", proto_name(e->proto),
                         nl_ip4_to_string(e->ext_addr, a), e->ext_port,
                         nl_ip4_to_string(e->int_addr, b), e->int_port);
}

/* Min-heap on (heap_time, serial). */
static inline gboolean heap_before(const Entry *a, const Entry *b) {
  return a->heap_time < b->heap_time ||
         (a->heap_time == b->heap_time && a->serial < b->serial);
}

static inline void heap_place(NlNat *nat, guint i, Entry *e) {
  nat->heap[i] = e;
  e->heap_index = i;
}

static void heap_sift_up(NlNat *nat, guint i) {
  Entry *e = nat->heap[i];
  while (i > 0) {
    guint parent = (i - 1) / 2;
    if (!heap_before(e, nat->heap[parent]))
      break;
    heap_place(nat, i, nat->heap[parent]);
    i = parent;
  }
  heap_place(nat, i, e);
}

static void heap_sift_down(NlNat *nat, guint i) {
  Entry *e = nat->heap[i];
  for (;;) {
    guint c = 2 * i + 1;
    if (c >= nat->heap_len)
      break;
    if (c + 1 < nat->heap_len && heap_before(nat->heap[c + 1], nat->heap[c]))
      c++;
    if (!heap_before(nat->heap[c], e))
      break;
    heap_place(nat, i, nat->heap[c]);
    i = c;
  }
  heap_place(nat, i, e);
}

static void heap_push(NlNat *nat, Entry *e) {
  if (nat->heap_len == nat->heap_cap) {
    nat->heap_cap = nat->heap_cap ? nat->heap_cap * 2 : 64;
    nat->heap = g_renew(Entry *, nat->heap, nat->heap_cap);
  }
  heap_place(nat, nat->heap_len++, e);
  heap_sift_up(nat, e->heap_index);
}

static void heap_remove(NlNat *nat, Entry *e) {
  guint i = e->heap_index;
  Entry *last = nat->heap[--nat->heap_len];
  if (i < nat->heap_len) {
    heap_place(nat, i, last);
    if (i > 0 && heap_before(last, nat->heap[(i - 1) / 2]))
      heap_sift_up(nat, i);
    else
      heap_sift_down(nat, i);
  }
  e->heap_index = G_MAXUINT;
}

/* Arms the one expiry event at the heap top's time. */
static void arm_timer(NlNat *nat) {
  if (nat->heap_len == 0) {
    nl_event_cancel(nat->q, &nat->timer);
    return;
  }
  NlTime t = nat->heap[0]->heap_time;
  if (!nl_event_pending(&nat->timer) || nat->timer.time != t)
    nl_event_schedule(nat->q, &nat->timer, t);
}

static void unlink_entry(NlNat *nat, Entry *e) {
  records_remove(&nat->by_inside, e);
  table_remove(&nat->by_outside, outside_hash(e),
               (guint)(e - nat->by_inside.recs));
  heap_remove(nat, e);
  if (e->prev)
    e->prev->next = e->next;
  else
    nat->first = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    nat->last = e->prev;
  if (nat->translate) {
    uint64_t *used =
        pool_used(nat, e->int_addr % nat->n_addrs, pidx_of(e->proto));
    used[e->ext_port >> 6] &= ~((uint64_t)1 << (e->ext_port & 63));
  }
  nat->counters.mappings_live--;
  g_free(e->more);
  e->more = NULL;
}

/* Removes every mapping due at @now (expires <= now), oldest first, with a
 * record each, and re-arms the timer. */
static void expire_due_slow(NlNat *nat, NlTime now) {
  while (nat->heap_len > 0 && nat->heap[0]->heap_time <= now) {
    Entry *e = nat->heap[0];
    if (e->expires > e->heap_time) { /* refreshed since: re-key */
      e->heap_time = e->expires;
      heap_sift_down(nat, 0);
      continue;
    }
    /* testcase: expires == now — the mapping is gone at its expiry time. */
    trace_entry(nat, e, NL_NAT_MAP_EXPIRE, "idle");
    nat->counters.mappings_expired++;
    unlink_entry(nat, e);
  }
  arm_timer(nat);
}

/* expire_due_slow, whose common case (nothing due, the timer armed where
 * it should be) makes no call: every packet asks.  Whenever the heap
 * changes, its top's time is armed (arm_timer: after a push, a shorter
 * expiry, the eviction of a mapping, and at the end of expire_due_slow;
 * a refresh that only extends a lifetime leaves heap_time as it is), so
 * that outside expire_due_slow the timer is pending exactly when the heap
 * holds a mapping, at its top's time: that time, read in the NAT's own
 * lines, tells whether anything is due, without the heap's array and its
 * top's entry (a line each, out of the first-level cache at every packet
 * of a NAT among 100). */
static inline void expire_due(NlNat *nat, NlTime now) {
  if (nl_event_pending(&nat->timer) && nat->timer.time > now)
    return; /* arm_timer would change nothing */
  expire_due_slow(nat, now);
}

static void on_timer(NlEvent *ev, void *data) {
  NlNat *nat = data;
  expire_due(nat, nl_event_now(nat->q));
}

/* Sets the lifetime of @e to @expires (which may be shorter than now, for a
 * TCP mapping that became transitory), keeping the heap invariant
 * heap_time <= expires. */
static void shorten_expiry(NlNat *nat, Entry *e, NlTime expires);

static inline void set_expiry(NlNat *nat, Entry *e, NlTime expires) {
  e->expires = expires;
  if (G_UNLIKELY(expires < e->heap_time))
    shorten_expiry(nat, e, expires);
}

/* set_expiry's rare case: the heap moves. */
G_GNUC_NO_INLINE static void shorten_expiry(NlNat *nat, Entry *e,
                                            NlTime expires) {
  e->heap_time = expires;
  heap_sift_up(nat, e->heap_index);
  arm_timer(nat);
}

/* The refresh record of @e, extended at @now to @t (see nat.h): out of
 * line, as most refreshes write none. */
G_GNUC_NO_INLINE static void log_refresh(NlNat *nat, Entry *e, NlTime now,
                                         NlTime t, gboolean outbound,
                                         gboolean tcp_changed) {
  char tb[NL_TIME_STRLEN], why[80];
  e->refresh_logged = now;
  if (nat->trace == NULL || !nl_trace_wants(nat->trace, NL_TRACE_NAT_MAP))
    return; /* trace_entry would drop it: not formatted */
  g_snprintf(why, sizeof why, "%s%s%s, until %s",
             outbound ? "outbound" : "inbound", tcp_changed ? ", " : "",
             tcp_changed ? tcp_state_name(e->tcp) : "",
             nl_time_to_string(t, tb));
  trace_entry(nat, e, NL_NAT_MAP_REFRESH, why);
}

/* A packet of a refreshing direction (or a TCP state change) used @e at
 * @now: its lifetime is @t from now on. */
static inline void refresh(NlNat *nat, Entry *e, NlTime now, NlTime t,
                           gboolean outbound, gboolean tcp_changed) {
  NlTime old = e->expires;
  set_expiry(nat, e, t);
  /* Records at most once a second per mapping (see nat.h), except that a
   * TCP state change (e.g. to established) is always shown. */
  if (t > old && (tcp_changed || now - e->refresh_logged >= NL_S))
    log_refresh(nat, e, now, t, outbound, tcp_changed);
}

/* A packet used @e at @now.  @refreshing: its direction refreshes mappings
 * (RFC 4787 REQ-6 outbound; §4.3 inbound). */
static inline void touch(NlNat *nat, Entry *e, NlTime now,
                         gboolean refreshing, gboolean outbound,
                         gboolean tcp_changed) {
  if (e->is_static)
    return; /* a forward lives as long as the NAT */
  if (!refreshing && !tcp_changed)
    return;
  refresh(nat, e, now, now + timeout_of(nat, e), outbound, tcp_changed);
}

/* RFC 5382 §5: follow SYN, FIN and RST in each direction.  Returns TRUE
 * when the mapping moved between transitory and established, so that its
 * lifetime follows the new timeout whichever way the packet went. */
static gboolean tcp_track(const NlNat *nat, Entry *e, gboolean outbound,
                          uint8_t flags) {
  NlTime before = timeout_of(nat, e);
  if (flags & NL_TCP_RST) {
    e->tcp |= TCP_RST;
  } else {
    if (flags & NL_TCP_SYN) {
      if (e->tcp & (TCP_RST | TCP_FIN_OUT | TCP_FIN_IN))
        e->tcp = 0; /* a new connection on an old mapping */
      e->tcp |= outbound ? TCP_SYN_OUT : TCP_SYN_IN;
      if ((e->tcp & (TCP_SYN_OUT | TCP_SYN_IN)) == (TCP_SYN_OUT | TCP_SYN_IN))
        e->tcp |= TCP_EST;
    }
    if (flags & NL_TCP_FIN)
      e->tcp |= outbound ? TCP_FIN_OUT : TCP_FIN_IN;
  }
  return timeout_of(nat, e) != before;
}

static uint16_t permit_port(const NlNat *nat, uint8_t proto, uint16_t port) {
  return (nat->filtering == NL_NAT_FILTERING_APDF &&
          proto != NL_IPPROTO_ICMP)
             ? port
             : 0;
}

static gboolean has_permit(const Entry *e, uint32_t addr, uint16_t port) {
  if (e->permit_addr == addr && e->permit_port == port)
    return TRUE;
  for (guint i = 0; i < e->n_more; i++)
    if (e->more[i].addr == addr && e->more[i].port == port)
      return TRUE;
  return FALSE;
}

static void add_permit_more(Entry *e, uint32_t addr, uint16_t port);

/* The inside endpoint sent to @addr:@port through @e. */
static inline void add_permit(NlNat *nat, Entry *e, uint32_t addr,
                              uint16_t port) {
  if (nat->filtering == NL_NAT_FILTERING_EIF || e->is_static)
    return;
  port = permit_port(nat, e->proto, port);
  if (e->permit_addr != addr || e->permit_port != port)
    add_permit_more(e, addr, port);
}

/* add_permit past the inline permit (not @addr:@port, a permit's). */
G_GNUC_NO_INLINE static void add_permit_more(Entry *e, uint32_t addr,
                                             uint16_t port) {
  for (guint i = 0; i < e->n_more; i++)
    if (e->more[i].addr == addr && e->more[i].port == port)
      return;
  if (e->n_more == G_MAXUINT16)
    return; /* a bounded table: further remotes are not let back in */
  if (e->n_more == e->cap_more) {
    e->cap_more = e->cap_more ? e->cap_more * 2 : 2;
    e->more = g_renew(Permit, e->more, e->cap_more);
  }
  e->more[e->n_more++] = (Permit){.addr = addr, .port = port};
}

/* RFC 4787 §5: may a packet from @addr:@port come in through @e? */
static gboolean filter_allows(const NlNat *nat, const Entry *e, uint32_t addr,
                              uint16_t port) {
  if (nat->filtering == NL_NAT_FILTERING_EIF) /* RFC 4787 §5 EIF */
    return TRUE;
  if (e->is_static)
    return TRUE; /* a port forward lets anyone in: that is its point */
  return has_permit(e, addr, permit_port(nat, e->proto, port));
}

/* Fills the inside key of @k for an outbound flow: RFC 4787 §4.1. */
static void inside_key(const NlNat *nat, Entry *k, uint8_t proto,
                       uint32_t int_addr, uint16_t int_port, uint32_t rem_addr,
                       uint16_t rem_port) {
  NlNatMappingMode m = nat->translate ? nat->mapping : NL_NAT_MAPPING_EIM;
  k->proto = proto;
  k->int_addr = int_addr;
  k->int_port = int_port;
  k->key_rem_addr = m == NL_NAT_MAPPING_EIM ? 0 : rem_addr;
  k->key_rem_port =
      (m == NL_NAT_MAPPING_APDM && proto != NL_IPPROTO_ICMP) ? rem_port : 0;
}

static inline Entry *find_outside(NlNat *nat, uint8_t proto, uint32_t addr,
                                  uint16_t port) {
  return table_lookup(&nat->by_outside, nat->by_inside.recs, proto, addr,
                      port, outside_hash_of(proto, addr, port));
}

/* The forward that owns external @addr:@port, or NULL. */
static Entry *forward_outside(const NlNat *nat, uint8_t proto, uint32_t addr,
                              uint16_t port) {
  if (!nat->has_forwards)
    return NULL;
  for (guint i = 0; i < nat->forwards->len; i++) {
    Entry *e = g_ptr_array_index(nat->forwards, i);
    if (e->proto == proto && e->ext_port == port && e->ext_addr == addr)
      return e;
  }
  return NULL;
}

/* The forward whose inside endpoint is @addr:@port, or NULL. */
static Entry *forward_inside(const NlNat *nat, uint8_t proto, uint32_t addr,
                             uint16_t port) {
  if (!nat->has_forwards)
    return NULL;
  for (guint i = 0; i < nat->forwards->len; i++) {
    Entry *e = g_ptr_array_index(nat->forwards, i);
    if (e->proto == proto && e->int_port == port && e->int_addr == addr)
      return e;
  }
  return NULL;
}

/* The mapping or forward that owns external @addr:@port, or NULL. */
static inline Entry *find_target(NlNat *nat, uint8_t proto, uint32_t addr,
                          uint16_t port) {
  Entry *e = find_outside(nat, proto, addr, port);
  return e != NULL ? e : forward_outside(nat, proto, addr, port);
}

static inline gboolean is_external_addr(const NlNat *nat, uint32_t addr) {
  if (addr == nat->addr0 && nat->n_addrs > 0)
    return TRUE;
  for (guint i = 1; i < nat->n_addrs; i++)
    if (nat->addrs[i] == addr)
      return TRUE;
  return FALSE;
}

/* Evicts the mapping of @pidx on pool @pool that expires first and whose
 * port fits @q; FALSE if there is none. */
static gboolean evict_oldest(NlNat *nat, guint pool, int pidx,
                             const NlNatPortQuery *q) {
  Entry *victim = NULL;
  for (Entry *e = nat->first; e != NULL; e = e->next) {
    if (e->int_addr % nat->n_addrs != pool || pidx_of(e->proto) != pidx ||
        e->ext_port < q->lo || e->ext_port > q->hi ||
        (q->keep_parity && (e->ext_port & 1u) != (q->internal_port & 1u)))
      continue;
    if (victim == NULL || e->expires < victim->expires)
      victim = e; /* the list is in serial order: ties keep the oldest */
  }
  if (victim == NULL)
    return FALSE;
  trace_entry(nat, victim, NL_NAT_MAP_EXPIRE, "evicted: pool exhausted");
  nat->counters.mappings_expired++;
  unlink_entry(nat, victim);
  arm_timer(nat); /* (see expire_due) */
  return TRUE;
}

static Entry *insert_entry(NlNat *nat, const Entry *k, uint32_t ext_addr,
                           uint16_t ext_port, uint32_t rem_addr,
                           uint16_t rem_port, uint8_t tcp, NlTime now);

/* Creates the mapping for the outbound flow keyed by @k (RFC 4787 §4.1,
 * §4.2).  Returns NULL with *why set when no port is free. */
static Entry *create_entry(NlNat *nat, const Entry *k, uint32_t rem_addr,
                           uint16_t rem_port, uint8_t tcp, NlTime now,
                           NlDropReason *why) {
  uint32_t ext_addr = k->int_addr;
  uint16_t ext_port = k->int_port;
  if (nat->translate) {
    /* RFC 4787 REQ-2: paired address pooling. */
    guint pool = k->int_addr % nat->n_addrs;
    int pidx = pidx_of(k->proto);
    uint64_t *used = pool_used(nat, pool, pidx);
    /* Range (RFC 4787 REQ-3) and parity (REQ-4) are about ports; an ICMP
     * identifier may be any nonzero value. */
    gboolean icmp = k->proto == NL_IPPROTO_ICMP;
    NlNatPortQuery q = {
        .internal_port = k->int_port,
        .lo = icmp ? 1 : nat->b.port_min,
        .hi = icmp ? 65535 : nat->b.port_max,
        .used = used,
        .keep_parity = !icmp && nat->b.parity == NL_NAT_PARITY_PRESERVE};
    if (!nat->alloc->pick(nat->alloc_priv, &q, &ext_port)) {
      if (nat->b.exhaustion != NL_NAT_EXHAUSTION_EVICT_OLDEST ||
          !evict_oldest(nat, pool, pidx, &q) ||
          !nat->alloc->pick(nat->alloc_priv, &q, &ext_port)) {
        *why = NL_DROP_NAT_POOL_EXHAUSTED;
        return NULL;
      }
    }
    used[ext_port >> 6] |= (uint64_t)1 << (ext_port & 63);
    ext_addr = nat->addrs[pool];
  }
  return insert_entry(nat, k, ext_addr, ext_port, rem_addr, rem_port, tcp,
                      now);
}

/* Makes the mapping @k -> @ext_addr:@ext_port (its port already marked
 * used), for the remote @rem_addr:@rem_port. */
static Entry *insert_entry(NlNat *nat, const Entry *k, uint32_t ext_addr,
                           uint16_t ext_port, uint32_t rem_addr,
                           uint16_t rem_port, uint8_t tcp, NlTime now) {
  Entry *e = records_add(nat, inside_hash(k));
  e->proto = k->proto;
  e->int_addr = k->int_addr;
  e->int_port = k->int_port;
  e->key_rem_addr = k->key_rem_addr;
  e->key_rem_port = k->key_rem_port;
  e->tcp = tcp;
  e->ext_addr = ext_addr;
  e->ext_port = ext_port;
  e->for_addr = rem_addr;
  e->for_port = rem_port;
  e->serial = nat->next_serial++;
  e->refresh_logged = now;
  e->expires = e->heap_time = now + timeout_of(nat, e);
  if (nat->filtering != NL_NAT_FILTERING_EIF) {
    e->permit_addr = rem_addr;
    e->permit_port = permit_port(nat, k->proto, rem_port);
  }
  set_csum_terms(e);
  table_add(&nat->by_outside, outside_hash(e),
            (guint)(e - nat->by_inside.recs));
  e->prev = nat->last;
  if (nat->last)
    nat->last->next = e;
  else
    nat->first = e;
  nat->last = e;
  heap_push(nat, e);
  arm_timer(nat);
  nat->counters.mappings_created++;
  nat->counters.mappings_live++;
  trace_entry(nat, e, NL_NAT_MAP_NEW, NULL);
  return e;
}

/* ---- processing -------------------------------------------------------- */

static NlNatVerdict drop(NlNat *nat, NlDropReason reason, NlDropReason *why) {
  *why = reason;
  nat->counters.dropped++;
  if (reason == NL_DROP_NAT_FILTERED ||
      (reason == NL_DROP_FIREWALL && !nat->translate))
    nat->counters.filtered++;
  return NL_NAT_DROP;
}

static NlNatVerdict pass(NlNat *nat, NlNatVerdict v) {
  nat->counters.translated++;
  if (v == NL_NAT_HAIRPIN)
    nat->counters.hairpinned++;
  return v;
}

/* The reason for an inbound packet that finds no way in. */
static NlDropReason inbound_reason(const NlNat *nat, NlDropReason r) {
  return nat->translate ? r : NL_DROP_FIREWALL;
}

/* Rewrites an ICMP error for its new leg: the quoted packet's endpoint
 * (its source when @quoted_src, else its destination) and the outer
 * header's other address both become @addr:@port, and the ICMP checksum
 * is recomputed (RFC 5508 §4.1). */
static void translate_icmp_error(guint8 *pkt, Flow *f, gboolean quoted_src,
                                 uint32_t addr, uint16_t port) {
  rewrite_endpoint(f->in_ip, f->in_l4, f->in_l4len, f->in_proto, quoted_src,
                   addr, port);
  rewrite_addr(pkt, !quoted_src, addr);
  nl_wire_put16(f->l4 + 2, 0);
  nl_wire_put16(f->l4 + 2, nl_wire_checksum(f->l4, f->l4len));
}

/* RFC 5508 §4.2: an ICMP error from outside about a packet this NAT sent
 * out.  The quoted packet carries the external endpoint as its source;
 * the error goes to the inside host with outer destination and quoted
 * source translated back.  It does not refresh the mapping. */
G_GNUC_NO_INLINE static NlNatVerdict inbound_icmp_error(NlNat *nat, guint8 *pkt, Flow *f,
                                       NlDropReason *why) {
  Entry *e = find_target(nat, f->in_proto, f->in_src, f->in_sport);
  if (e == NULL)
    return drop(nat, inbound_reason(nat, NL_DROP_NAT_NO_MAPPING), why);
  if (!filter_allows(nat, e, f->in_dst, f->in_dport))
    return drop(nat, inbound_reason(nat, NL_DROP_NAT_FILTERED), why);
  if (nat->translate)
    translate_icmp_error(pkt, f, TRUE, e->int_addr, e->int_port);
  return pass(nat, NL_NAT_PASS);
}

/* RFC 5508 §4.1: an ICMP error an inside host sends about a packet it
 * received through the NAT; the quoted destination is the inside
 * endpoint. */
G_GNUC_NO_INLINE static NlNatVerdict outbound_icmp_error(NlNat *nat, guint8 *pkt, Flow *f,
                                        NlDropReason *why) {
  Entry k;
  inside_key(nat, &k, f->in_proto, f->in_dst, f->in_dport, f->in_src,
             f->in_sport);
  Entry *e = forward_inside(nat, f->in_proto, f->in_dst, f->in_dport);
  if (e == NULL)
    e = records_lookup(&nat->by_inside, &k, inside_hash(&k));
  if (e == NULL)
    return drop(nat, nat->translate ? NL_DROP_NAT_NO_MAPPING
                                      : NL_DROP_FIREWALL,
                why);
  if (nat->translate)
    translate_icmp_error(pkt, f, FALSE, e->ext_addr, e->ext_port);
  return pass(nat, NL_NAT_PASS);
}

static inline __attribute__((always_inline)) NlNatVerdict process_outbound(NlNat *nat, guint8 *pkt, Flow *f,
                                     NlTime now, NlDropReason *why) {
  if (f->proto == NL_IPPROTO_UDP && nat->block_outbound_udp)
    return drop(nat, NL_DROP_BLOCKED, why);
  if (f->kind == FLOW_ICMP_ERROR)
    return outbound_icmp_error(nat, pkt, f, why);
  if (f->kind == FLOW_OTHER) {
    /* Nothing to key a mapping on: a NAT cannot translate it; a firewall
     * lets it out. */
    if (nat->translate)
      return drop(nat, NL_DROP_BLOCKED, why);
    return pass(nat, NL_NAT_PASS);
  }
  uint16_t rem_port = f->proto == NL_IPPROTO_ICMP ? 0 : f->dport;
  gboolean hairpin = nat->translate && is_external_addr(nat, f->dst);
  /* RFC 4787 §6 REQ-9 (off).  ICMP echo has no destination port to find
   * a target mapping by, so it is never hairpinned: a NAT node that
   * answers pings to its own address does so before calling us. */
  if (hairpin && (!nat->b.hairpinning || f->proto == NL_IPPROTO_ICMP))
    return drop(nat, NL_DROP_NAT_HAIRPIN, why);

  Entry k;
  inside_key(nat, &k, f->proto, f->src, f->sport, f->dst, rem_port);
  /* The inside end of a port forward goes out through it, whatever the
   * mapping behaviour, as its answers must. */
  Entry *e = forward_inside(nat, f->proto, f->src, f->sport);
  if (e == NULL)
    e = records_lookup(&nat->by_inside, &k, inside_hash(&k));
  if (e == NULL) {
    /* RFC 5382: a mapping starts with any outbound segment but a lone
     * RST; one picked up mid-connection (no SYN) counts as established,
     * as Linux conntrack does after a NAT restart. */
    if (f->proto == NL_IPPROTO_TCP && (f->tcp_flags & NL_TCP_RST))
      return drop(nat, NL_DROP_NAT_NO_MAPPING, why);
    uint8_t tcp = (f->proto == NL_IPPROTO_TCP && !(f->tcp_flags & NL_TCP_SYN))
                      ? TCP_SYN_OUT | TCP_SYN_IN | TCP_EST
                      : 0;
    e = create_entry(nat, &k, f->dst, rem_port, tcp, now, why);
    if (e == NULL)
      return drop(nat, *why, why);
  } else {
    add_permit(nat, e, f->dst, rem_port);
  }
  gboolean changed =
      f->proto == NL_IPPROTO_TCP && tcp_track(nat, e, TRUE, f->tcp_flags);
  /* RFC 4787 REQ-6; RFC 5382: a state change applies its timeout. */
  touch(nat, e, now, nat->outbound_refresh, TRUE, changed);

  if (hairpin) {
    /* RFC 4787 §6 REQ-9: deliver to the inside host behind the target
     * mapping; REQ-9b: the source is the sender's external endpoint.  The
     * target's filtering applies to it only with hairpin-filtering. */
    Entry *t = find_target(nat, f->proto, f->dst, f->dport);
    if (t == NULL)
      return drop(nat, NL_DROP_NAT_NO_MAPPING, why);
    if (nat->b.hairpin_filtering &&
        !filter_allows(nat, t, e->ext_addr, e->ext_port))
      return drop(nat, NL_DROP_NAT_FILTERED, why);
    gboolean t_changed =
        f->proto == NL_IPPROTO_TCP && tcp_track(nat, t, FALSE, f->tcp_flags);
    touch(nat, t, now, nat->inbound_refresh, FALSE, t_changed);
    rewrite_endpoint(pkt, f->l4, f->l4len, f->proto, TRUE, e->ext_addr,
                     e->ext_port);
    rewrite_endpoint(pkt, f->l4, f->l4len, f->proto, FALSE, t->int_addr,
                     t->int_port);
    return pass(nat, NL_NAT_HAIRPIN);
  }
  if (nat->translate)
    rewrite_endpoint(pkt, f->l4, f->l4len, f->proto, TRUE, e->ext_addr,
                     e->ext_port);
  return pass(nat, NL_NAT_PASS);
}

/* A packet from outside that no mapping or forward claims goes to the DMZ
 * host, to the same port, through a new mapping as if that host had sent
 * to the remote first (so its answers go back out the same way).  NULL
 * when that cannot be: the packet came to another external address than
 * the DMZ host's, or the DMZ host already maps that inside port elsewhere. */
static Entry *dmz_entry(NlNat *nat, const Flow *f, NlTime now) {
  uint32_t ext_addr = nat->dmz;
  if (nat->translate) {
    guint pool = nat->dmz % nat->n_addrs;
    uint64_t *used = pool_used(nat, pool, pidx_of(f->proto));
    if (nat->addrs[pool] != f->dst ||
        (used[f->dport >> 6] >> (f->dport & 63)) & 1)
      return NULL;
    ext_addr = nat->addrs[pool];
  } else if (f->dst != nat->dmz) {
    return NULL;
  }
  Entry k;
  inside_key(nat, &k, f->proto, nat->dmz, f->dport, f->src, f->sport);
  if (records_lookup(&nat->by_inside, &k, inside_hash(&k)))
    return NULL;
  if (nat->translate) {
    uint64_t *used =
        pool_used(nat, nat->dmz % nat->n_addrs, pidx_of(f->proto));
    used[f->dport >> 6] |= (uint64_t)1 << (f->dport & 63);
  }
  return insert_entry(nat, &k, ext_addr, f->dport, f->src, f->sport, 0, now);
}

static inline __attribute__((always_inline)) NlNatVerdict process_inbound(NlNat *nat, guint8 *pkt, Flow *f,
                                    NlTime now, NlDropReason *why) {
  if (f->kind == FLOW_ICMP_ERROR)
    return inbound_icmp_error(nat, pkt, f, why);
  if (f->kind == FLOW_OTHER)
    return drop(nat, inbound_reason(nat, NL_DROP_NAT_NO_MAPPING), why);
  Entry *e = find_target(nat, f->proto, f->dst, f->dport);
  if (e == NULL && nat->has_dmz && f->proto != NL_IPPROTO_ICMP)
    e = dmz_entry(nat, f, now);
  /* RFC 5382 REQ-4: an unsolicited SYN finds no mapping and is dropped
   * silently (the optional ICMP after 6 s is not modelled). */
  if (e == NULL)
    return drop(nat, inbound_reason(nat, NL_DROP_NAT_NO_MAPPING), why);
  if (!filter_allows(nat, e, f->src, f->sport)) /* RFC 4787 §5 */
    return drop(nat, inbound_reason(nat, NL_DROP_NAT_FILTERED), why);
  gboolean changed =
      f->proto == NL_IPPROTO_TCP && tcp_track(nat, e, FALSE, f->tcp_flags);
  /* RFC 4787 §4.3 inbound refresh; RFC 5382 state changes. */
  touch(nat, e, now, nat->inbound_refresh, FALSE, changed);
  if (nat->translate)
    rewrite_endpoint(pkt, f->l4, f->l4len, f->proto, FALSE, e->int_addr,
                     e->int_port);
  return pass(nat, NL_NAT_PASS);
}

/* ---- the common case ---------------------------------------------------- */

/* Every packet but process_common's: the mappings due at its
 * time expired, its flow read from its header @ip (read, nothing wrong
 * with it), translated or dropped, and @ip's addresses set to the
 * packet's. */
G_GNUC_NO_INLINE static NlNatVerdict process_slow(NlNat *nat,
                                                  NlNatDirection dir,
                                                  guint8 *pkt,
                                                  NlIp4Header *ip,
                                                  NlDropReason *why) {
  NlTime now = nl_event_now(nat->q);
  expire_due(nat, now);
  Flow f;
  NlNatVerdict v;
  if (!parse_flow(pkt, ip, &f))
    v = drop(nat, NL_DROP_MALFORMED, why);
  else if (dir == NL_NAT_OUTBOUND)
    v = process_outbound(nat, pkt, &f, now, why);
  else
    v = process_inbound(nat, pkt, &f, now, why);
  ip->src = nl_wire_get32(pkt + 12);
  ip->dst = nl_wire_get32(pkt + 16);
  return v;
}

/* Whether a packet of a refreshing direction at @now may extend @e's
 * lifetime to @t without more than refresh() does in the common case:
 * no record (see nat.h) and no change of the heap (set_expiry). */
static inline __attribute__((always_inline)) gboolean refresh_is_quiet(
    const Entry *e, NlTime now, NlTime t) {
  return t >= e->heap_time &&
         (t <= e->expires || now - e->refresh_logged < NL_S);
}

static inline __attribute__((always_inline)) gboolean common_ports(
    NlNat *nat, NlNatDirection dir, guint8 *pkt, NlIp4Header *ip,
    NlTime now, uint8_t proto);

/* Translates the packet @pkt (IPv4, its header read as @ip, nothing
 * wrong with it, its addresses kept in step) if it is the most common
 * one and of @proto (UDP or TCP: a constant, one copy each, so that a
 * UDP datagram's way is not that of both), and returns TRUE (a PASS,
 * counted); else FALSE, and nothing has changed.
 *
 * The most common packet is translated here, out of the way of
 * everything else: a whole UDP datagram, or a TCP segment without SYN,
 * FIN or RST, through a translating NAT's existing mapping (outbound: not
 * hairpinned, no port forwards; inbound: let in by the mapping's first
 * permit) that neither lets a new remote in nor writes a record nor
 * expires a mapping.  What is done to it is what
 * process_slow would do (process_outbound, process_inbound: the same
 * checks, in the same order); any other packet goes there before
 * anything has changed.  It makes no call, so that the caller's common
 * case saves and restores no registers.  Inline in each entry point. */
static inline __attribute__((always_inline)) gboolean process_common(
    NlNat *nat, NlNatDirection dir, guint8 *pkt, NlIp4Header *ip,
    uint8_t proto) {
  NlTime now = nl_event_now(nat->q);
  /* expire_due's test: nothing due. */
  if (!nl_event_pending(&nat->timer) || nat->timer.time <= now)
    return FALSE;
  if (ip->proto != proto || (ip->mf | ip->frag_offset) != 0)
    return FALSE;
  return common_ports(nat, dir, pkt, ip, now, proto);
}

/* process_common of a whole datagram or segment of @proto. */
static inline __attribute__((always_inline)) gboolean common_ports(
    NlNat *nat, NlNatDirection dir, guint8 *pkt, NlIp4Header *ip,
    NlTime now, uint8_t proto) {
  /* parse_flow's checks of a UDP datagram or a TCP segment. */
  guint8 *l4 = pkt + ip->ihl_bytes;
  size_t l4len = (size_t)ip->total_len - ip->ihl_bytes;
  if (proto == NL_IPPROTO_UDP) {
    if (l4len < NL_UDP_HDR_LEN)
      return FALSE;
    uint16_t ulen = nl_wire_get16(l4 + 4);
    if (ulen < NL_UDP_HDR_LEN || ulen > l4len)
      return FALSE;
  } else {
    if (l4len < NL_TCP_HDR_LEN || l4len < (size_t)(l4[12] >> 4) * 4)
      return FALSE;
    /* tcp_track: a segment without SYN, FIN or RST changes no state
     * (RFC 5382 §5), so the mapping keeps its timeout. */
    if (l4[13] & (NL_TCP_SYN | NL_TCP_FIN | NL_TCP_RST))
      return FALSE;
  }
  uint16_t sport = nl_wire_get16(l4), dport = nl_wire_get16(l4 + 2);
  Entry *e;
  if (dir == NL_NAT_OUTBOUND) {
    /* Not blocked (block-outbound-udp), no forward's inside end, and not
     * to an external address (hairpinning). */
    if (!nat->fast_out || is_external_addr(nat, ip->dst))
      return FALSE;
    /* inside_key (RFC 4787 §4.1) and records_lookup. */
    uint32_t ka = ip->dst & nat->key_addr_mask;
    uint16_t kp = dport & nat->key_port_mask;
    uint32_t h = inside_hash_of(proto, ip->src, sport, ka, kp);
    const Records *r = &nat->by_inside;
    for (guint i = h & r->mask;; i = (i + 1) & r->mask) {
      e = &r->recs[i];
      if (e->state == REC_EMPTY)
        return FALSE; /* a new mapping */
      if (e->state == REC_LIVE && e->hash == h && e->int_addr == ip->src &&
          e->int_port == sport && e->proto == proto &&
          e->key_rem_addr == ka && e->key_rem_port == kp)
        break;
    }
    /* add_permit: a remote already let in (a mapping is never a
     * forward). */
    if (nat->filtering != NL_NAT_FILTERING_EIF &&
        (e->permit_addr != ip->dst ||
         e->permit_port != (dport & nat->permit_port_mask)))
      return FALSE;
    /* touch: RFC 4787 REQ-6. */
    if (nat->outbound_refresh) {
      NlTime t = now + (proto == NL_IPPROTO_UDP ? nat->udp_timeout
                                                 : timeout_of(nat, e));
      if (!refresh_is_quiet(e, now, t))
        return FALSE;
      e->expires = t;
    }
    rewrite_ports(pkt, l4, proto, TRUE, e->ext_addr, e->ext_port,
                  e->out_ip_terms, e->out_l4_terms);
    ip->src = e->ext_addr;
  } else {
    if (!nat->fast_in)
      return FALSE;
    e = find_outside(nat, proto, ip->dst, dport);
    if (e == NULL)
      return FALSE; /* a forward's, the DMZ host's, or none */
    /* filter_allows, RFC 4787 §5: the first remote let in (a mapping is
     * never a forward). */
    if (nat->filtering != NL_NAT_FILTERING_EIF &&
        (e->permit_addr != ip->src ||
         e->permit_port != (sport & nat->permit_port_mask)))
      return FALSE;
    /* touch: RFC 4787 §4.3. */
    if (nat->inbound_refresh) {
      NlTime t = now + (proto == NL_IPPROTO_UDP ? nat->udp_timeout
                                                 : timeout_of(nat, e));
      if (!refresh_is_quiet(e, now, t))
        return FALSE;
      e->expires = t;
    }
    rewrite_ports(pkt, l4, proto, FALSE, e->int_addr, e->int_port,
                  e->in_ip_terms, e->in_l4_terms);
    ip->dst = e->int_addr;
  }
  nat->counters.translated++;
  return TRUE;
}

/* process_common's fields of @nat, from its behaviour and forwards. */
static void set_fast(NlNat *nat) {
  nat->fast_in = nat->translate;
  nat->fast_out =
      nat->translate && !nat->has_forwards && !nat->block_outbound_udp;
  /* inside_key's masks for a UDP or TCP remote (translating: the
   * behaviour's). */
  nat->key_addr_mask = nat->mapping == NL_NAT_MAPPING_EIM ? 0 : 0xffffffffu;
  nat->key_port_mask = nat->mapping == NL_NAT_MAPPING_APDM ? 0xffff : 0;
  /* permit_port's for UDP and TCP. */
  nat->permit_port_mask =
      nat->filtering == NL_NAT_FILTERING_APDF ? 0xffff : 0;
}

/* process_common of a TCP segment, out of line. */
G_GNUC_NO_INLINE static gboolean process_common_tcp(NlNat *nat,
                                                    NlNatDirection dir,
                                                    guint8 *pkt,
                                                    NlIp4Header *ip) {
  return process_common(nat, dir, pkt, ip, NL_IPPROTO_TCP);
}

/* The packet @pkt through @nat (its header @ip read, nothing wrong with
 * it; its addresses follow the packet's), *@why NL_DROP_NONE. */
static inline __attribute__((always_inline)) NlNatVerdict process(
    NlNat *nat, NlNatDirection dir, guint8 *pkt, NlIp4Header *ip,
    NlDropReason *why) {
  if (process_common(nat, dir, pkt, ip, NL_IPPROTO_UDP) ||
      (ip->proto == NL_IPPROTO_TCP && process_common_tcp(nat, dir, pkt, ip)))
    return NL_NAT_PASS;
  return process_slow(nat, dir, pkt, ip, why);
}

NlNatVerdict nl_nat_process(NlNat *nat, NlNatDirection dir, guint8 *pkt,
                            size_t len, NlDropReason *why_out) {
  NlDropReason dummy;
  if (why_out == NULL)
    why_out = &dummy;
  *why_out = NL_DROP_NONE;
  g_return_val_if_fail(nat != NULL && pkt != NULL, NL_NAT_DROP);
  /* The packet at exactly a mapping's expiry finds it gone, also when it
   * is malformed. */
  expire_due(nat, nl_event_now(nat->q));
  NlIp4Header ip;
  if (nl_ip4_parse(pkt, len, &ip) != NULL)
    return drop(nat, NL_DROP_MALFORMED, why_out);
  return process(nat, dir, pkt, &ip, why_out);
}

NlNatVerdict nl_nat_process_parsed(NlNat *nat, NlNatDirection dir,
                                   guint8 *pkt, size_t len,
                                   const NlIp4Header *ip,
                                   NlDropReason *why_out) {
  NlDropReason dummy;
  if (why_out == NULL)
    why_out = &dummy;
  *why_out = NL_DROP_NONE;
  g_return_val_if_fail(ip != NULL, NL_NAT_DROP);
  g_return_val_if_fail(nat != NULL && pkt != NULL, NL_NAT_DROP);
  (void)len; /* @ip says how much of it is the packet */
  NlIp4Header copy = *ip;
  return process(nat, dir, pkt, &copy, why_out);
}

/* nl__nat_translate_ip4 but for the common case. */
G_GNUC_NO_INLINE static NlDropReason translate_slow(NlNat *nat,
                                                    NlNatDirection dir,
                                                    guint8 *pkt,
                                                    NlIp4Header *ip) {
  NlDropReason why = NL_DROP_NONE;
  if (process_slow(nat, dir, pkt, ip, &why) != NL_NAT_DROP)
    return NL_DROP_NONE;
  return why == NL_DROP_NONE ? NL_DROP_NAT_FILTERED : why;
}

/* nl__nat_translate_ip4 of a TCP segment: its own function, ending in a
 * jump as the other's. */
G_GNUC_NO_INLINE static NlDropReason translate_tcp(NlNat *nat,
                                                   NlNatDirection dir,
                                                   guint8 *pkt,
                                                   NlIp4Header *ip) {
  if (process_common(nat, dir, pkt, ip, NL_IPPROTO_TCP))
    return NL_DROP_NONE;
  return translate_slow(nat, dir, pkt, ip);
}

NlDropReason nl__nat_translate_ip4(NlNat *nat, NlNatDirection dir,
                                   guint8 *pkt, NlIp4Header *ip) {
  if (process_common(nat, dir, pkt, ip, NL_IPPROTO_UDP))
    return NL_DROP_NONE;
  if (ip->proto == NL_IPPROTO_TCP)
    return translate_tcp(nat, dir, pkt, ip);
  return translate_slow(nat, dir, pkt, ip);
}

/* ---- life cycle -------------------------------------------------------- */

static const NlNatAllocator *allocator_for(NlNatAlloc a) {
  switch (a) {
    case NL_NAT_ALLOC_SEQUENTIAL:
      return &nl__nat_alloc_sequential;
    case NL_NAT_ALLOC_RANDOM:
      return &nl__nat_alloc_random;
    default:
      return &nl__nat_alloc_preserve;
  }
}

NlNat *nl_nat_new(const NlNatBehaviour *b, const uint32_t *external_addrs,
                  guint n_addrs, NlEventQueue *q, NlTrace *trace,
                  guint32 trace_node_id, uint64_t seed, const char *name) {
  g_return_val_if_fail(b != NULL && q != NULL && name != NULL, NULL);
  gboolean valid = nl_nat_behaviour_check(b, NULL);
  g_return_val_if_fail(valid, NULL);
  g_return_val_if_fail(!b->translate || (external_addrs && n_addrs > 0),
                       NULL);
  NlNat *nat = g_aligned_alloc0(1, sizeof(NlNat), 64);
  nat->b = *b;
  nat->udp_timeout = b->udp_timeout;
  nat->translate = (guint8)(b->translate != 0);
  nat->mapping = (guint8)b->mapping;
  nat->filtering = (guint8)b->filtering;
  nat->block_outbound_udp = (guint8)(b->block_outbound_udp != 0);
  nat->outbound_refresh = (guint8)(b->outbound_refresh != 0);
  nat->inbound_refresh = (guint8)(b->inbound_refresh != 0);
  set_fast(nat);
  nat->name = g_strdup(name);
  nat->n_addrs = b->translate ? n_addrs : 0;
  nat->addrs = g_memdup2(external_addrs, sizeof(uint32_t) * nat->n_addrs);
  nat->addr0 = nat->n_addrs > 0 ? nat->addrs[0] : 0;
  nat->pools = g_new0(Pool, nat->n_addrs);
  nat->q = q;
  nat->trace = trace;
  nat->node = trace_node_id;
  nat->alloc = allocator_for(b->allocation);
  char *stream = g_strdup_printf("nat:%s/ports", name);
  nat->alloc_priv = nat->alloc->open(seed, stream);
  g_free(stream);
  records_init(&nat->by_inside);
  table_init(&nat->by_outside);
  nl_event_init(&nat->timer, on_timer, nat);
  nat->forwards = g_ptr_array_new_with_free_func(g_aligned_free);
  return nat;
}

/* Marks every forward's external port used, so that no mapping takes it. */
static void reserve_forwards(NlNat *nat) {
  if (!nat->translate)
    return;
  for (guint i = 0; i < nat->forwards->len; i++) {
    const Entry *e = g_ptr_array_index(nat->forwards, i);
    uint64_t *used =
        pool_used(nat, e->int_addr % nat->n_addrs, pidx_of(e->proto));
    used[e->ext_port >> 6] |= (uint64_t)1 << (e->ext_port & 63);
  }
}

gboolean nl_nat_add_forward(NlNat *nat, uint8_t proto, uint16_t ext_port,
                            uint32_t int_addr, uint16_t int_port,
                            GError **error) {
  g_return_val_if_fail(nat != NULL, FALSE);
  g_return_val_if_fail(proto == NL_IPPROTO_UDP || proto == NL_IPPROTO_TCP,
                       FALSE);
  char a[16];
  if (ext_port == 0 || int_port == 0) {
    g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_INVALID,
                "nat %s: port 0 cannot be forwarded", nat->name);
    return FALSE;
  }
  if (!nat->translate && ext_port != int_port) {
    g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_INVALID,
                "firewall %s does not translate: it can open port %u to %s, "
                "not forward it to port %u",
                nat->name, ext_port, nl_ip4_to_string(int_addr, a), int_port);
    return FALSE;
  }
  uint32_t ext_addr =
      nat->translate ? nat->addrs[int_addr % nat->n_addrs] : int_addr;
  if (forward_outside(nat, proto, ext_addr, ext_port) != NULL ||
      forward_inside(nat, proto, int_addr, int_port) != NULL) {
    g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_INVALID,
                "nat %s: %s port %u or %s:%u is already forwarded", nat->name,
                proto_name(proto), ext_port, nl_ip4_to_string(int_addr, a),
                int_port);
    return FALSE;
  }
  if (nat->translate) {
    const uint64_t *used =
        pool_used(nat, int_addr % nat->n_addrs, pidx_of(proto));
    if ((used[ext_port >> 6] >> (ext_port & 63)) & 1) {
      g_set_error(error, NL_NAT_ERROR, NL_NAT_ERROR_INVALID,
                  "nat %s: %s port %u is in use by a mapping", nat->name,
                  proto_name(proto), ext_port);
      return FALSE;
    }
  }
  Entry *e = g_aligned_alloc0(1, sizeof(Entry), 64);
  e->is_static = 1;
  e->proto = proto;
  e->int_addr = int_addr;
  e->int_port = int_port;
  e->ext_addr = ext_addr;
  e->ext_port = ext_port;
  e->expires = e->heap_time = NL_TIME_NEVER;
  e->heap_index = G_MAXUINT;
  g_ptr_array_add(nat->forwards, e);
  nat->has_forwards = TRUE;
  set_fast(nat);
  reserve_forwards(nat);
  if (nat->trace != NULL && nl_trace_wants(nat->trace, NL_TRACE_NAT_MAP)) {
    GString *t = g_string_new("forward ");
    describe_forward(e, t);
    nl_trace_add(nat->trace, nl_event_now(nat->q), NL_TRACE_NAT_MAP,
                 nat->node, 0, 0, NL_NAT_MAP_FORWARD, t->str,
                 (guint32)t->len);
    g_string_free(t, TRUE);
  }
  return TRUE;
}

void nl_nat_set_dmz(NlNat *nat, uint32_t int_addr) {
  g_return_if_fail(nat != NULL);
  nat->has_dmz = TRUE;
  nat->dmz = int_addr;
  if (nat->trace != NULL && nl_trace_wants(nat->trace, NL_TRACE_NAT_MAP)) {
    char a[16];
    nl_trace_addf(nat->trace, nl_event_now(nat->q), NL_TRACE_NAT_MAP,
                  nat->node, 0, 0, NL_NAT_MAP_FORWARD,
                  "forward everything else (dmz) -> %s",
                  nl_ip4_to_string(int_addr, a));
  }
}

/* Frees what the entries hold outside the tables. */
static void free_entries_more(NlNat *nat) {
  Entry *e = nat->first;
  while (e != NULL) {
    Entry *next = e->next;
    g_free(e->more);
    e = next;
  }
}

static void free_all_entries(NlNat *nat) {
  free_entries_more(nat);
  nat->first = nat->last = NULL;
  nat->heap_len = 0;
  nat->counters.mappings_live = 0;
  records_clear(&nat->by_inside);
  table_clear(&nat->by_outside);
  for (guint i = 0; i < nat->n_addrs; i++) /* a firewall has no pools */
    for (int k = 0; k < N_PIDX; k++)
      if (nat->pools[i].used[k] != NULL)
        memset(nat->pools[i].used[k], 0, POOL_WORDS * sizeof(uint64_t));
  reserve_forwards(nat); /* forwards outlive a reboot */
  nl_event_cancel(nat->q, &nat->timer);
}

void nl_nat_free(NlNat *nat) {
  if (nat == NULL)
    return;
  /* Not free_all_entries: its new empty tables and cleared pools (8 KB
   * an address and protocol used, 0.8 MB for 100 NATs of UDP at the end
   * of a run) would go next. */
  free_entries_more(nat);
  nl_event_cancel(nat->q, &nat->timer);
  g_ptr_array_free(nat->forwards, TRUE);
  g_aligned_free(nat->by_inside.recs);
  g_free(nat->by_outside.slots);
  nat->alloc->close(nat->alloc_priv);
  g_free(nat->heap);
  pools_free(nat);
  g_free(nat->addrs);
  g_free(nat->name);
  g_aligned_free(nat);
}

void nl_nat_reboot(NlNat *nat) {
  g_return_if_fail(nat != NULL);
  guint64 n = nat->counters.mappings_live;
  free_all_entries(nat);
  if (nat->trace != NULL)
    nl_trace_addf(nat->trace, nl_event_now(nat->q), NL_TRACE_NAT_MAP,
                  nat->node, 0, 0, NL_NAT_MAP_REBOOT,
                  "reboot: %" G_GUINT64_FORMAT " mapping%s dropped", n,
                  n == 1 ? "" : "s");
}

void nl_nat_snapshot(NlNat *nat, GString *out) {
  g_return_if_fail(nat != NULL && out != NULL);
  char tb[NL_TIME_STRLEN];
  NlTime now = nl_event_now(nat->q);
  expire_due(nat, now);
  g_string_append_printf(out, "nat %s at %s: %" G_GUINT64_FORMAT " mapping%s\n",
                         nat->name, nl_time_to_string(now, tb),
                         nat->counters.mappings_live,
                         nat->counters.mappings_live == 1 ? "" : "s");
  gboolean with_port = nat->filtering == NL_NAT_FILTERING_APDF;
  for (guint i = 0; i < nat->forwards->len; i++) {
    g_string_append(out, "forward ");
    describe_forward(g_ptr_array_index(nat->forwards, i), out);
    g_string_append_c(out, '\n');
  }
  if (nat->has_dmz) {
    char a[16];
    g_string_append_printf(out, "forward everything else (dmz) -> %s\n",
                           nl_ip4_to_string(nat->dmz, a));
  }
  for (const Entry *e = nat->first; e != NULL; e = e->next) {
    describe_entry(e, out);
    g_string_append(out, " for ");
    append_remote(e->proto, e->for_addr, e->for_port, TRUE, out);
    if (e->proto == NL_IPPROTO_TCP)
      g_string_append_printf(out, " %s", tcp_state_name(e->tcp));
    g_string_append_printf(out, " expires %s allow ",
                           nl_time_to_string(e->expires, tb));
    if (nat->filtering == NL_NAT_FILTERING_EIF) {
      g_string_append(out, "any");
    } else {
      append_remote(e->proto, e->permit_addr, e->permit_port, with_port, out);
      for (guint i = 0; i < e->n_more; i++) {
        g_string_append(out, ", ");
        append_remote(e->proto, e->more[i].addr, e->more[i].port, with_port,
                      out);
      }
    }
    g_string_append_c(out, '\n');
  }
}

void nl_nat_trace_snapshot(NlNat *nat) {
  g_return_if_fail(nat != NULL);
  if (nat->trace == NULL || !nl_trace_wants(nat->trace, NL_TRACE_NAT_TABLE))
    return;
  GString *s = g_string_new(NULL);
  nl_nat_snapshot(nat, s);
  if (s->len > 0 && s->str[s->len - 1] == '\n')
    g_string_truncate(s, s->len - 1);
  nl_trace_add(nat->trace, nl_event_now(nat->q), NL_TRACE_NAT_TABLE,
               nat->node, 0, 0, 0, s->str, (guint32)s->len);
  g_string_free(s, TRUE);
}

void nl_nat_get_counters(const NlNat *nat, NlNatCounters *out) {
  g_return_if_fail(nat != NULL && out != NULL);
  *out = nat->counters;
}

const NlNatBehaviour *nl_nat_get_behaviour(const NlNat *nat) {
  g_return_val_if_fail(nat != NULL, NULL);
  return &nat->b;
}

const char *nl_nat_get_name(const NlNat *nat) {
  g_return_val_if_fail(nat != NULL, NULL);
  return nat->name;
}
