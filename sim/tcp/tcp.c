/* The TCP engine: stack, socket table and the user-facing calls.  Segment
 * processing is in tcp-input.c, sending in tcp-output.c, timers and
 * congestion control in tcp-timer.c.
 *
 * Re-entrancy: every public entry point brackets its work with
 * nl__tcp_enter()/nl__tcp_leave().  Notifications and frees are deferred
 * to the outermost leave, so a notify hook may call back into the engine
 * and a socket never disappears under the code handling it (STYLE 5).
 */
#include "sim/tcp/tcp-priv.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const state_names[] = {
#define NL_X(e, s) s,
    NL_TCP_STATE_MAP(NL_X)
#undef NL_X
};

const char *nl_tcp_state_name(NlTcpState st) {
  return st < NL_TCP_N_STATES ? state_names[st] : "?";
}

/* ---- the receive queue (tcp-priv.h) ------------------------------------ */

/* Room of a receive-queue buffer for bytes that came without a packet. */
#define NL_TCP_RCVQ_CHUNK 16384

/* Queues the @n bytes at @data, which lie in *@pkt's bytes when @pkt is
 * not NULL: then the packet itself is queued (*@pkt becomes NULL: taken)
 * unless the bytes fit after the last packet's payload. */
void nl__tcp_rcvq_add(NlTcpRcvq *q, NlPacket **pkt, const guint8 *data,
                      size_t n) {
  if (n == 0)
    return;
  q->len += n;
  NlPacket *t = q->tail;
  if (t != NULL) {
    size_t end = (size_t)t->owner_off + t->owner_len;
    if (end == t->len && t->cap - end >= n) {
      memcpy(t->data + end, data, n);
      t->owner_len += (guint)n;
      t->len += (guint)n;
      return;
    }
  }
  NlPacket *p;
  if (pkt != NULL && *pkt != NULL) {
    p = *pkt;
    *pkt = NULL;
    p->owner_off = (guint)(data - p->data);
    p->len = p->owner_off + (guint)n; /* nothing after the payload is kept */
  } else {
    /* Bytes not in a packet of their own (nl_tcp_input's, reassembled
     * ones): a buffer of several segments' room, filled as the ring was. */
    if (q->spare != NULL && n <= NL_TCP_RCVQ_CHUNK) {
      p = q->spare;
      q->spare = NULL;
    } else {
      p = nl_packet_alloc(MAX(n, (size_t)NL_TCP_RCVQ_CHUNK));
    }
    memcpy(p->data, data, n);
    p->owner_off = 0;
    p->len = (guint)n;
  }
  p->owner_len = (guint)n;
  p->owner_next = NULL;
  if (t != NULL)
    t->owner_next = p;
  else
    q->head = p;
  q->tail = p;
}

/* Copies the first @n queued bytes (they must be there). */
void nl__tcp_rcvq_copy(const NlTcpRcvq *q, guint8 *dst, size_t n) {
  g_assert(n <= q->len);
  for (const NlPacket *p = q->head; n > 0; p = p->owner_next) {
    size_t k = MIN(n, (size_t)p->owner_len);
    memcpy(dst, p->data + p->owner_off, k);
    dst += k;
    n -= k;
  }
}

/* Copies the first @n queued bytes to @dst (NULL: nowhere) and drops them. */
void nl__tcp_rcvq_take(NlTcpRcvq *q, guint8 *dst, size_t n) {
  g_assert(n <= q->len);
  q->len -= n;
  while (n > 0) {
    NlPacket *p = q->head;
    size_t k = MIN(n, (size_t)p->owner_len);
    if (dst != NULL) {
      memcpy(dst, p->data + p->owner_off, k);
      dst += k;
    }
    n -= k;
    if (k < p->owner_len) {
      p->owner_off += (guint)k;
      p->owner_len -= (guint)k;
      break;
    }
    q->head = p->owner_next;
    if (q->head == NULL)
      q->tail = NULL;
    if (q->spare == NULL && p->cap == NL_TCP_RCVQ_CHUNK)
      q->spare = p; /* kept for the next bytes without a packet */
    else
      nl_packet_free(p);
  }
}

void nl__tcp_rcvq_free(NlTcpRcvq *q) {
  nl__tcp_rcvq_take(q, NULL, q->len);
  nl_packet_free(q->spare);
  q->spare = NULL;
}

/* ---- the send queue (tcp-priv.h) --------------------------------------- */

static inline NlTcpBlk *sndq_at(const NlTcpSndq *q, guint i) {
  return &q->v[(q->first + i) & (q->cap - 1)];
}

/* Copies @n bytes from @src to the end of @b's and adds their sum to
 * b->sum (a piece at an odd offset adds its sum byte-swapped: its 16-bit
 * words straddle the block's, RFC 1071 §2(B)). */
static inline void blk_fill(NlTcpBlk *b, const guint8 *src, size_t n) {
  uint32_t x = nl__wire_copy_sum(b->data + b->len, src, n);
  if (b->len & 1)
    x = ((x & 0xff) << 8) | (x >> 8);
  x += b->sum;
  b->sum = (uint16_t)((x & 0xffff) + (x >> 16));
  b->len += (uint32_t)n;
}

/* Appends @n bytes.  The last block takes more only while none of it has
 * been sent, so that segments keep starting at block starts. */
void nl__tcp_sndq_push(NlTcpSock *s, const guint8 *src, size_t n) {
  NlTcpSndq *q = &s->sndq;
  int32_t sent = (int32_t)(s->snd_max - s->snd_buf_seq);
  uint64_t unsent_at = q->start + (sent > 0 ? MIN((size_t)sent, q->len) : 0);
  q->len += n;
  if (q->n > 0) {
    NlTcpBlk *t = sndq_at(q, q->n - 1);
    if (t->len < t->cap && t->pos >= unsent_at && !t->given) {
      size_t k = MIN(n, (size_t)(t->cap - t->len));
      blk_fill(t, src, k);
      src += k;
      n -= k;
    }
  }
  uint32_t cap = MAX(s->mss, 64u);
  uint8_t head = (uint8_t)(NL_IP4_HDR_LEN + NL_TCP_HDR_LEN + nl__tcp_opt_len(s));
  while (n > 0) {
    if (q->n == q->cap) {
      /* Doubled, the ring's blocks in order from index 0. */
      guint ncap = q->cap ? 2 * q->cap : 16;
      NlTcpBlk *v = g_new(NlTcpBlk, ncap);
      for (guint i = 0; i < q->n; i++)
        v[i] = *sndq_at(q, i);
      g_free(q->v);
      q->v = v;
      q->cap = ncap;
      q->first = 0;
    }
    uint64_t pos = q->start;
    if (q->n > 0) {
      const NlTcpBlk *t = sndq_at(q, q->n - 1);
      pos = t->pos + t->len;
    }
    NlTcpBlk *b = sndq_at(q, q->n++);
    b->pkt = nl_packet_alloc(head + cap);
    b->data = b->pkt->data + head;
    b->head = head;
    b->given = 0;
    b->cap = cap;
    b->pos = pos;
    b->len = 0;
    b->sum = 0;
    size_t k = MIN(n, (size_t)cap);
    blk_fill(b, src, k);
    src += k;
    n -= k;
  }
}

/* Copies @n queued bytes from offset @off. */
void nl__tcp_sndq_copy(NlTcpSndq *q, size_t off, guint8 *dst, size_t n) {
  g_assert(off + n <= q->len);
  if (n == 0)
    return;
  uint64_t pos = q->start + off;
  guint i = q->cur < q->n && sndq_at(q, q->cur)->pos <= pos ? q->cur : 0;
  const NlTcpBlk *b = sndq_at(q, i);
  while (b->pos + b->len <= pos)
    b = sndq_at(q, ++i);
  for (;;) {
    size_t in = (size_t)(pos - b->pos);
    size_t k = MIN(n, (size_t)b->len - in);
    memcpy(dst, b->data + in, k);
    n -= k;
    if (n == 0)
      break;
    dst += k;
    pos += k;
    b = sndq_at(q, ++i);
  }
  q->cur = i;
}

/* The packet to send the @n queued bytes from offset @off in, when they
 * are a whole block not sent before, whose headers' room is @head bytes:
 * its packet, shared (given: the caller sends it), and OUT: @sum, the
 * bytes' sum.  NULL otherwise (the caller copies them). */
NlPacket *nl__tcp_sndq_give(NlTcpSndq *q, size_t off, size_t n, size_t head,
                            uint32_t *sum) {
  uint64_t pos = q->start + off;
  guint i = q->cur < q->n && sndq_at(q, q->cur)->pos <= pos ? q->cur : 0;
  NlTcpBlk *b = sndq_at(q, i);
  while (b->pos + b->len <= pos)
    b = sndq_at(q, ++i);
  if (b->pos != pos || b->len != n || b->given || b->head != head ||
      b->head + b->cap > NL_PACKET_BLOCK_MAX)
    return NULL;
  b->given = 1;
  q->cur = i;
  *sum = b->sum;
  nl_packet_share(b->pkt);
  return b->pkt;
}

/* Drops the first @n queued bytes (acknowledged). */
void nl__tcp_sndq_drop(NlTcpSndq *q, size_t n) {
  g_assert(n <= q->len);
  q->len -= n;
  q->start += n;
  guint k = 0;
  while (k < q->n) {
    NlTcpBlk *b = sndq_at(q, k);
    if (b->pos + b->len > q->start)
      break;
    nl_packet_unshare(b->pkt);
    k++;
  }
  q->first = (q->first + k) & (q->cap ? q->cap - 1 : 0);
  q->n -= k;
  q->cur = q->cur >= k ? q->cur - k : 0;
}

void nl__tcp_sndq_free(NlTcpSndq *q) {
  for (guint i = 0; i < q->n; i++)
    nl_packet_unshare(sndq_at(q, i)->pkt);
  g_free(q->v);
  memset(q, 0, sizeof *q);
}

/* ---- stack ------------------------------------------------------------ */

static guint key_hash(gconstpointer p) {
  const NlTcpKey *k = p;
  uint64_t h = ((uint64_t)k->laddr << 32 | k->raddr) * 0x9e3779b97f4a7c15ull;
  h ^= ((uint64_t)k->lport << 16 | k->rport) * 0xbf58476d1ce4e5b9ull;
  return (guint)(h ^ (h >> 32));
}

static gboolean key_equal(gconstpointer a, gconstpointer b) {
  const NlTcpKey *x = a, *y = b;
  return x->laddr == y->laddr && x->raddr == y->raddr && x->lport == y->lport &&
         x->rport == y->rport;
}

NlTcpStack *nl_tcp_stack_new(NlEventQueue *q, NlTrace *trace,
                             guint32 trace_node, uint64_t seed,
                             const char *host_name, const NlTcpHooks *hooks) {
  g_return_val_if_fail(q != NULL && hooks != NULL && host_name != NULL, NULL);
  g_return_val_if_fail(
      (hooks->output != NULL || hooks->send_packet != NULL) &&
          hooks->route != NULL,
      NULL);
  NlTcpStack *st = g_new0(NlTcpStack, 1);
  st->q = q;
  st->trace = trace;
  st->node = trace_node;
  st->host_name = g_strdup(host_name);
  st->hooks = *hooks;
  char *name = g_strdup_printf("host:%s/tcp", host_name);
  nl_rand_init(&st->rand, seed, name);
  g_free(name);
  g_queue_init(&st->all);
  st->conns = g_hash_table_new(key_hash, key_equal);
  st->ports = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                    (GDestroyNotify)g_ptr_array_unref);
  st->ip_id = (uint16_t)nl_rand_u64(&st->rand);
  st->isn_secret = nl_rand_u64(&st->rand);
  return st;
}

static void sock_free(NlTcpSock *s) {
  nl__tcp_timers_cancel(s);
  nl__tcp_sndq_free(&s->sndq);
  nl__tcp_rcvq_free(&s->rcvq);
  while (s->ooo) {
    NlTcpOoo *o = s->ooo;
    s->ooo = o->next;
    g_free(o);
  }
  g_queue_clear(&s->acceptq);
  g_free(s);
}

void nl_tcp_stack_free(NlTcpStack *st) {
  if (st == NULL)
    return;
  GList *l;
  while ((l = g_queue_pop_head_link(&st->all)) != NULL)
    sock_free(l->data);
  g_hash_table_destroy(st->conns);
  g_hash_table_destroy(st->ports);
  g_free(st->notify.v);
  g_free(st->dead.v);
  nl_packet_free(st->out);
  g_free(st->host_name);
  g_free(st);
}

guint nl_tcp_stack_n_socks(const NlTcpStack *st) {
  return st->all.length;
}

void nl_tcp_stack_stats(const NlTcpStack *st, NlTcpStats *out) {
  *out = st->stats;
}

static void list_add(NlTcpSockList *l, NlTcpSock *s) {
  if (l->len == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 8;
    l->v = g_renew(NlTcpSock *, l->v, l->cap);
  }
  l->v[l->len++] = s;
}

void nl__tcp_leave_slow(NlTcpStack *st) {
  g_assert(st->depth > 0);
  if (st->depth > 1) {
    st->depth--;
    return;
  }
  /* Notify in marking order; a hook may call back in (depth stays 1, so
   * nested calls only append to the lists). */
  for (guint i = 0; i < st->notify.len; i++) {
    NlTcpSock *s = st->notify.v[i];
    s->notify_pending = 0;
    if (s->user_owned && st->hooks.notify != NULL)
      st->hooks.notify(st->hooks.ctx, s, s->user);
  }
  st->notify.len = 0;
  for (guint i = 0; i < st->dead.len; i++) {
    NlTcpSock *s = st->dead.v[i];
    g_queue_unlink(&st->all, &s->all_link);
    sock_free(s);
  }
  st->dead.len = 0;
  st->depth--;
}

void nl__tcp_mark_notify(NlTcpSock *s) {
  if (s->notify_pending || !s->user_owned)
    return;
  s->notify_pending = 1;
  list_add(&s->st->notify, s);
}

static void format_tuple(const NlTcpSock *s, char *buf, size_t n) {
  char a[16], b[16];
  snprintf(buf, n, "%s:%u > %s:%u", nl_ip4_to_string(s->key.laddr, a),
           s->key.lport, nl_ip4_to_string(s->key.raddr, b), s->key.rport);
}

void nl__tcp_trace(NlTcpSock *s, const char *fmt, ...) {
  NlTrace *t = s->st->trace;
  if (t == NULL || !nl_trace_wants(t, NL_TRACE_TCP_STATE))
    return;
  char tuple[64];
  format_tuple(s, tuple, sizeof tuple);
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  nl_trace_addf(t, nl__tcp_now(s), NL_TRACE_TCP_STATE, s->st->node, 0, 0, 0,
                "%s %s", tuple, msg);
  g_free(msg);
}

void nl__tcp_set_state(NlTcpSock *s, NlTcpState ns) {
  if (s->state == ns)
    return;
  nl__tcp_trace(s, "%s -> %s", nl_tcp_state_name(s->state),
                nl_tcp_state_name(ns));
  s->state = ns;
}

NlTcpSock *nl__tcp_sock_alloc(NlTcpStack *st, void *user) {
  NlTcpSock *s = g_new0(NlTcpSock, 1);
  s->st = st;
  s->user = user;
  s->all_link.data = s;
  g_queue_push_tail_link(&st->all, &s->all_link);
  s->state = NL_TCP_CLOSED;
  s->rcvbuf = NL_TCP_DEFAULT_RCVBUF;
  s->sndbuf = NL_TCP_DEFAULT_SNDBUF;
  s->mss = 536;
  s->peer_mss = 536;
  s->rto = NL_TCP_RTO_INIT;
  s->keepidle = 7200;
  s->keepintvl = 75;
  s->keepcnt = 9;
  g_queue_init(&s->acceptq);
  nl__tcp_timers_init(s);
  return s;
}

void nl__tcp_hash(NlTcpSock *s) {
  g_assert(!s->hashed);
  g_hash_table_insert(s->st->conns, &s->key, s);
  s->hashed = 1;
}

void nl__tcp_unhash(NlTcpSock *s) {
  if (!s->hashed)
    return;
  g_hash_table_remove(s->st->conns, &s->key);
  s->hashed = 0;
  if (s->st->last_conn == s)
    s->st->last_conn = NULL;
}

void nl__tcp_port_add(NlTcpSock *s) {
  g_assert(!s->bound);
  gpointer k = GUINT_TO_POINTER(s->key.lport);
  GPtrArray *a = g_hash_table_lookup(s->st->ports, k);
  if (a == NULL) {
    a = g_ptr_array_new();
    g_hash_table_insert(s->st->ports, k, a);
  }
  g_ptr_array_add(a, s);
  s->bound = 1;
}

void nl__tcp_port_remove(NlTcpSock *s) {
  if (!s->bound)
    return;
  gpointer k = GUINT_TO_POINTER(s->key.lport);
  GPtrArray *a = g_hash_table_lookup(s->st->ports, k);
  g_assert(a != NULL);
  g_ptr_array_remove(a, s); /* keeps order */
  if (a->len == 0)
    g_hash_table_remove(s->st->ports, k);
  s->bound = 0;
}

NlTcpSock *nl__tcp_lookup(NlTcpStack *st, uint32_t laddr, uint16_t lport,
                          uint32_t raddr, uint16_t rport) {
  /* A bulk flow's packets come one connection after another: the last
   * one found first. */
  NlTcpSock *c = st->last_conn;
  if (c != NULL && c->key.laddr == laddr && c->key.raddr == raddr &&
      c->key.lport == lport && c->key.rport == rport)
    return c;
  NlTcpKey k = {.laddr = laddr, .raddr = raddr, .lport = lport, .rport = rport};
  c = g_hash_table_lookup(st->conns, &k);
  if (c != NULL)
    st->last_conn = c;
  return c;
}

/* The listener for a SYN: one bound to @laddr before one bound to any
 * address; among SO_REUSEPORT listeners of the same kind, one chosen by a
 * hash of the peer (Linux spreads connections the same way). */
NlTcpSock *nl__tcp_lookup_listener(NlTcpStack *st, uint32_t laddr,
                                   uint16_t lport, uint32_t raddr,
                                   uint16_t rport) {
  GPtrArray *a = g_hash_table_lookup(st->ports, GUINT_TO_POINTER(lport));
  if (a == NULL)
    return NULL;
  for (int pass = 0; pass < 2; pass++) {
    uint32_t want = pass == 0 ? laddr : INADDR_ANY;
    guint n = 0;
    for (guint i = 0; i < a->len; i++) {
      NlTcpSock *s = g_ptr_array_index(a, i);
      n += s->state == NL_TCP_LISTEN && s->key.laddr == want;
    }
    if (n == 0)
      continue;
    uint64_t h = ((uint64_t)raddr << 16 | rport) * 0x9e3779b97f4a7c15ull;
    guint pick = n > 1 ? (guint)((h >> 32) % n) : 0;
    for (guint i = 0; i < a->len; i++) {
      NlTcpSock *s = g_ptr_array_index(a, i);
      if (s->state == NL_TCP_LISTEN && s->key.laddr == want && pick-- == 0)
        return s;
    }
  }
  return NULL;
}

/* Frees @s at the outermost leave if nobody holds it any more. */
void nl__tcp_maybe_free(NlTcpSock *s) {
  if (s->dead || s->user_owned || s->in_acceptq)
    return;
  if (s->state != NL_TCP_CLOSED)
    return;
  nl__tcp_timers_cancel(s);
  nl__tcp_unhash(s);
  nl__tcp_port_remove(s);
  s->dead = 1;
  list_add(&s->st->dead, s);
}

/* Linux's tcp_done: the connection is gone. */
void nl__tcp_done(NlTcpSock *s) {
  nl__tcp_set_state(s, NL_TCP_CLOSED);
  nl__tcp_timers_cancel(s);
  nl__tcp_unhash(s);
  if (!s->bind_locked)
    nl__tcp_port_remove(s);
  s->shut = NL_SHUTDOWN_MASK;
  s->in_recovery = 0;
  nl__tcp_mark_notify(s);
  nl__tcp_maybe_free(s);
}

/* The connection moves into an engine-owned TIME_WAIT socket (Linux's
 * inet_timewait_sock); the user's socket, if still held, becomes CLOSED
 * without a trace record of its own. */
void nl__tcp_enter_time_wait(NlTcpSock *s) {
  NlTcpStack *st = s->st;
  NlTcpSock *tw = nl__tcp_sock_alloc(st, NULL);
  tw->key = s->key;
  tw->reuseaddr = s->reuseaddr;
  tw->reuseport = s->reuseport;
  tw->rcv_nxt = s->rcv_nxt;
  tw->rcv_wup = s->rcv_nxt;
  tw->rcv_adv = s->rcv_adv;
  tw->snd_nxt = s->snd_nxt;
  tw->snd_una = s->snd_nxt;
  tw->snd_max = s->snd_nxt;
  tw->iss = s->iss;
  tw->irs = s->irs;
  tw->rcv_wscale = s->rcv_wscale;
  tw->snd_wscale = s->snd_wscale;
  tw->mss = s->mss;
  tw->ts_ok = s->ts_ok;
  tw->ts_recent = s->ts_recent;
  tw->ts_offset = s->ts_offset;
  tw->rcvbuf = s->rcvbuf;
  tw->state = s->state;
  nl__tcp_timers_cancel(s);
  nl__tcp_unhash(s);
  nl__tcp_port_remove(s);
  s->bind_locked = 0;
  nl__tcp_set_state(tw, NL_TCP_TIME_WAIT);
  nl__tcp_port_add(tw);
  nl__tcp_hash(tw);
  nl_event_schedule_in(st->q, &tw->t_keep, NL_TCP_TIMEWAIT_LEN);
  s->state = NL_TCP_CLOSED;
  s->shut = NL_SHUTDOWN_MASK;
  nl__tcp_mark_notify(s);
  nl__tcp_maybe_free(s);
}

/* Receive space: Linux advertises about half of sk_rcvbuf
 * (tcp_adv_win_scale = 1); the other half is bookkeeping overhead. */
size_t nl__tcp_rcv_space(const NlTcpSock *s) {
  return s->rcvbuf / 2;
}

/* The most an autotuned buffer may grow to: @max, or the socket's share
 * of the stack's memory budget when many sockets compete. */
size_t nl__tcp_autotune_cap(const NlTcpSock *s, size_t max) {
  size_t share = NL_TCP_MEM_BUDGET / MAX(s->st->all.length, 1u);
  return MIN(max, MAX(share, (size_t)NL_TCP_DEFAULT_RCVBUF));
}

/* Send space in payload bytes.  Unless the user set SO_SNDBUF, Linux grows
 * the send buffer with the congestion window (tcp_sndbuf_expand): twice
 * max(cwnd, IW10) segments at a per-segment cost of the MSS plus headers
 * and skb overhead rounded up to a power of two (4096 for MSS 1448), so a
 * fresh connection takes about 80 KB before send() would block.  natlab
 * counts payload bytes against that figure. */
size_t nl__tcp_snd_space(const NlTcpSock *s) {
  if (s->sndbuf_locked || !nl__tcp_synced(s->state))
    return s->sndbuf;
  /* The power of two at or above MSS + MAX_TCP_HEADER + skb overhead. */
  size_t per_mss = (size_t)1 << g_bit_storage((gulong)s->mss + 320 + 576 - 1);
  size_t segs = MAX((size_t)(s->cwnd / MAX(s->mss, 1u)),
                    (size_t)NL_TCP_INIT_CWND);
  size_t want = 2 * segs * per_mss;
  want = MIN(want, nl__tcp_autotune_cap(s, NL_TCP_MAX_SNDBUF));
  return MAX(s->sndbuf, want);
}

/* sk_stream_is_writeable: free space at least half of what is queued. */
gboolean nl__tcp_writable(const NlTcpSock *s) {
  size_t space = nl__tcp_snd_space(s);
  size_t queued = s->sndq.len;
  return queued < space && space - queued >= queued / 2;
}

/* RFC 6528 as Linux does it: a keyed hash of the 4-tuple plus a clock
 * ticking every 64 ns, so a new incarnation of a connection starts above
 * the old one (which lets a SYN reuse a TIME_WAIT). The key comes from the
 * seeded stream. */
uint32_t nl__tcp_isn(NlTcpStack *st, const NlTcpKey *k) {
  uint64_t h = st->isn_secret;
  uint64_t parts[3] = {k->laddr, k->raddr, (uint64_t)k->lport << 16 | k->rport};
  for (int i = 0; i < 3; i++) {
    h ^= parts[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
  }
  return (uint32_t)h + (uint32_t)(nl_event_now(st->q) / 64);
}

/* ---- the user's calls ------------------------------------------------- */

NlTcpSock *nl_tcp_socket(NlTcpStack *st, void *sock_user) {
  g_return_val_if_fail(st != NULL, NULL);
  NlTcpSock *s = nl__tcp_sock_alloc(st, sock_user);
  s->user_owned = 1;
  return s;
}

NlTcpState nl_tcp_state(const NlTcpSock *s) {
  return s->state;
}

static gboolean addr_overlap(uint32_t a, uint32_t b) {
  return a == INADDR_ANY || b == INADDR_ANY || a == b;
}

/* Linux's inet_bind_conflict for one other socket on the same port. */
static gboolean bind_conflict(const NlTcpSock *s, uint32_t addr,
                              const NlTcpSock *s2) {
  if (s == s2 || !addr_overlap(addr, s2->key.laddr))
    return FALSE;
  if (s->reuseaddr && s2->reuseaddr && s2->state != NL_TCP_LISTEN)
    return FALSE;
  /* SO_REUSEPORT on both (natlab has one user per host): always shared. */
  if (s->reuseport && s2->reuseport)
    return FALSE;
  return TRUE;
}

static gboolean port_free_for(NlTcpSock *s, uint32_t addr, uint16_t port) {
  GPtrArray *a = g_hash_table_lookup(s->st->ports, GUINT_TO_POINTER(port));
  if (a == NULL)
    return TRUE;
  for (guint i = 0; i < a->len; i++)
    if (bind_conflict(s, addr, g_ptr_array_index(a, i)))
      return FALSE;
  return TRUE;
}

/* Ephemeral ports: a random start in the range, then upward, skipping
 * every port some socket holds (Linux also lets connect() share a port
 * towards different peers; natlab keeps them distinct, which is simpler to
 * read in a trace). */
static int pick_port(NlTcpSock *s, uint32_t addr, uint16_t *out) {
  NlTcpStack *st = s->st;
  guint n = NL_TCP_EPHEMERAL_HI - NL_TCP_EPHEMERAL_LO + 1;
  guint start = (guint)nl_rand_below(&st->rand, n);
  for (guint i = 0; i < n; i++) {
    uint16_t p = (uint16_t)(NL_TCP_EPHEMERAL_LO + (start + i) % n);
    if (g_hash_table_lookup(st->ports, GUINT_TO_POINTER(p)) == NULL) {
      *out = p;
      return 0;
    }
  }
  (void)addr;
  return -EADDRINUSE;
}

int nl_tcp_bind(NlTcpSock *s, uint32_t addr, uint16_t port) {
  g_return_val_if_fail(s != NULL, -EINVAL);
  NlTcpStack *st = s->st;
  if (s->bound || s->state != NL_TCP_CLOSED)
    return -EINVAL;
  if (addr != INADDR_ANY &&
      (st->hooks.is_local == NULL || !st->hooks.is_local(st->hooks.ctx, addr)))
    return -EADDRNOTAVAIL;
  if (port == 0) {
    int r = pick_port(s, addr, &port);
    if (r < 0)
      return r;
  } else if (!port_free_for(s, addr, port)) {
    return -EADDRINUSE;
  }
  s->key.laddr = addr;
  s->key.lport = port;
  s->bind_locked = 1;
  nl__tcp_port_add(s);
  return 0;
}

/* Linux: (unsigned)backlog capped at somaxconn (4096), so -1 means the
 * maximum. */
static int backlog_of(int backlog) {
  return (unsigned)backlog > 4096u ? 4096 : backlog;
}

int nl_tcp_listen(NlTcpSock *s, int backlog) {
  g_return_val_if_fail(s != NULL, -EINVAL);
  if (s->state == NL_TCP_LISTEN) {
    s->backlog = backlog_of(backlog);
    return 0;
  }
  if (s->state != NL_TCP_CLOSED || s->ss_connected || s->ss_connecting)
    return -EINVAL;
  if (!s->bound) {
    uint16_t port;
    int r = pick_port(s, INADDR_ANY, &port);
    if (r < 0)
      return r;
    s->key.laddr = INADDR_ANY;
    s->key.lport = port;
    nl__tcp_port_add(s);
  } else {
    /* Another listener (or any socket without both SO_REUSEADDR) on the
     * port: Linux checks again at listen(). */
    GPtrArray *a =
        g_hash_table_lookup(s->st->ports, GUINT_TO_POINTER(s->key.lport));
    for (guint i = 0; a != NULL && i < a->len; i++) {
      NlTcpSock *s2 = g_ptr_array_index(a, i);
      if (s2 != s && s2->state == NL_TCP_LISTEN &&
          addr_overlap(s->key.laddr, s2->key.laddr) &&
          !(s->reuseport && s2->reuseport))
        return -EADDRINUSE;
    }
  }
  s->bind_locked = 1;
  s->backlog = backlog_of(backlog);
  s->shut = 0;
  nl__tcp_enter(s->st);
  nl__tcp_set_state(s, NL_TCP_LISTEN);
  nl__tcp_leave(s->st);
  return 0;
}

int nl_tcp_connect(NlTcpSock *s, uint32_t addr, uint16_t port) {
  g_return_val_if_fail(s != NULL, -EINVAL);
  NlTcpStack *st = s->st;
  if (s->ss_connected)
    return -EISCONN;
  if (s->ss_connecting) {
    if (s->state == NL_TCP_SYN_SENT || s->state == NL_TCP_SYN_RECEIVED)
      return -EALREADY;
    if (s->state == NL_TCP_CLOSED) {
      /* The attempt failed: report its error once (Linux sock_error). */
      int e = s->err ? s->err : ECONNABORTED;
      s->err = 0;
      s->ss_connecting = 0;
      s->shut = 0;
      return -e;
    }
    s->ss_connecting = 0;
    s->ss_connected = 1;
    return 0;
  }
  if (s->state != NL_TCP_CLOSED)
    return -EISCONN;
  if (port == 0 || addr == INADDR_ANY)
    return -ECONNREFUSED;
  uint32_t src;
  guint mtu;
  if (!st->hooks.route(st->hooks.ctx, addr, &src, &mtu))
    return -ENETUNREACH;
  uint32_t laddr = s->bound && s->key.laddr != INADDR_ANY ? s->key.laddr : src;
  if (s->bound) {
    if (nl__tcp_lookup(st, laddr, s->key.lport, addr, port) != NULL)
      return -EADDRNOTAVAIL;
    nl__tcp_port_remove(s);
  } else {
    uint16_t p;
    if (pick_port(s, laddr, &p) < 0)
      return -EAGAIN; /* Linux: no free ephemeral port */
    s->key.lport = p;
  }
  s->key.laddr = laddr;
  s->key.raddr = addr;
  s->key.rport = port;
  nl__tcp_port_add(s);
  nl__tcp_hash(s);

  nl__tcp_enter(st);
  s->err = 0;
  s->shut = 0;
  s->sock_done = 0;
  s->adv_mss = mtu > 40 ? mtu - 40 : 536;
  if (s->user_mss)
    s->adv_mss = MIN(s->adv_mss, s->user_mss);
  s->mss = MIN(s->adv_mss, 536u);
  s->iss = nl__tcp_isn(st, &s->key);
  s->ts_offset = s->iss * 2654435761u;
  s->ts_ok = 0;
  s->ts_recent = 0;
  s->snd_una = s->iss;
  s->snd_nxt = s->iss;
  s->snd_max = s->iss;
  s->snd_buf_seq = s->iss + 1;
  s->recover = s->iss;
  s->rcv_wscale = NL_TCP_WSCALE;
  s->rto = NL_TCP_RTO_INIT;
  s->retransmits = 0;
  s->retrans_stamp = 0;
  s->ss_connecting = 1;
  s->rtt_start = nl_event_now(st->q);
  nl__tcp_set_state(s, NL_TCP_SYN_SENT);
  nl__tcp_send_syn(s);
  nl__tcp_arm_rexmit(s);
  nl__tcp_leave(st);
  return -EINPROGRESS;
}

NlTcpSock *nl_tcp_accept(NlTcpSock *listener, void *new_sock_user, int *err) {
  int dummy;
  if (err == NULL)
    err = &dummy;
  *err = -EINVAL;
  g_return_val_if_fail(listener != NULL, NULL);
  if (listener->state != NL_TCP_LISTEN)
    return NULL;
  NlTcpSock *c = g_queue_pop_head(&listener->acceptq);
  if (c == NULL) {
    *err = -EAGAIN;
    return NULL;
  }
  c->in_acceptq = 0;
  c->parent = NULL;
  c->user_owned = 1;
  c->user = new_sock_user;
  c->ss_connected = 1;
  *err = 0;
  return c;
}

ssize_t nl_tcp_send(NlTcpSock *s, const void *buf, size_t len, int flags) {
  g_return_val_if_fail(s != NULL, -EINVAL);
  if (s->state != NL_TCP_ESTABLISHED && s->state != NL_TCP_CLOSE_WAIT) {
    /* Linux tcp_sendmsg → sk_stream_wait_connect. */
    if (s->err) {
      int e = s->err;
      s->err = 0;
      return -e;
    }
    if (s->shut & NL_SEND_SHUTDOWN)
      return -EPIPE;
    if (s->state == NL_TCP_SYN_SENT || s->state == NL_TCP_SYN_RECEIVED)
      return -EAGAIN;
    return -EPIPE;
  }
  if (s->err) {
    int e = s->err;
    s->err = 0;
    return -e;
  }
  if (s->shut & NL_SEND_SHUTDOWN)
    return -EPIPE;
  if (len == 0)
    return 0;
  size_t space = nl__tcp_snd_space(s);
  if (s->sndq.len >= space)
    return -EAGAIN;
  size_t n = MIN(len, space - s->sndq.len);
  nl__tcp_sndq_push(s, buf, n);
  nl__tcp_enter(s->st);
  (void)flags; /* MSG_MORE is not modelled; MSG_NOSIGNAL is the caller's */
  nl__tcp_output(s);
  nl__tcp_leave(s->st);
  return (ssize_t)n;
}

/* Receive-buffer autotuning (Linux tcp_rcv_space_adjust, simplified):
 * once per RTT, if the application read more than the window covers,
 * grow SO_RCVBUF so the window is twice what was read, up to tcp_rmem[2].
 * Not when the user set SO_RCVBUF. */
static void rcv_space_adjust(NlTcpSock *s, size_t n) {
  if (s->rcvbuf_locked || !nl__tcp_synced(s->state))
    return;
  NlTime now = nl__tcp_now(s);
  NlTime rtt = MAX(s->srtt, NL_MS);
  s->rcv_copied += n;
  if (s->rcv_copied_at == 0)
    s->rcv_copied_at = now;
  if (now - s->rcv_copied_at < rtt)
    return;
  size_t want = 4 * s->rcv_copied; /* window 2 × copied; rcvbuf 2 × window */
  want = MIN(want, nl__tcp_autotune_cap(s, NL_TCP_MAX_BUF));
  if (want > s->rcvbuf)
    s->rcvbuf = want; /* autotuning only grows the buffer */
  s->rcv_copied = 0;
  s->rcv_copied_at = now;
}

/* Linux tcp_cleanup_rbuf: after a read, announce a window that at least
 * doubled. */
static void after_read(NlTcpSock *s) {
  if (!nl__tcp_synced(s->state) || (s->shut & NL_RCV_SHUTDOWN) ||
      s->state == NL_TCP_TIME_WAIT)
    return;
  uint32_t cur = SEQ_GT(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;
  if (2 * (size_t)cur > nl__tcp_rcv_space(s))
    return;
  size_t free_space = nl__tcp_rcv_space(s) -
                      MIN(nl__tcp_rcv_space(s), s->rcvq.len + s->ooo_bytes);
  if (free_space >= s->mss && free_space >= 2 * (size_t)cur)
    nl__tcp_send_ack(s);
}

ssize_t nl_tcp_recv(NlTcpSock *s, void *buf, size_t len, int flags) {
  g_return_val_if_fail(s != NULL, -EINVAL);
  if (s->state == NL_TCP_LISTEN)
    return -ENOTCONN;
  if (s->rcvq.len > 0 && len > 0) {
    size_t n = MIN(len, s->rcvq.len);
    if (flags & MSG_PEEK) {
      nl__tcp_rcvq_copy(&s->rcvq, buf, n);
    } else {
      nl__tcp_rcvq_take(&s->rcvq, buf, n);
      nl__tcp_enter(s->st);
      rcv_space_adjust(s, n);
      after_read(s);
      nl__tcp_leave(s->st);
    }
    return (ssize_t)n;
  }
  if (s->sock_done)
    return 0;
  if (s->err) {
    int e = s->err;
    s->err = 0;
    return -e;
  }
  if (s->shut & NL_RCV_SHUTDOWN)
    return 0;
  if (s->state == NL_TCP_CLOSED)
    return -ENOTCONN;
  if (len == 0)
    return 0;
  return -EAGAIN;
}

/* Sends our FIN after the queued data (tcp_close_state + tcp_send_fin). */
static void close_state_fin(NlTcpSock *s) {
  switch (s->state) {
    case NL_TCP_ESTABLISHED:
    case NL_TCP_SYN_RECEIVED:
      nl__tcp_set_state(s, NL_TCP_FIN_WAIT_1);
      break;
    case NL_TCP_CLOSE_WAIT:
      nl__tcp_set_state(s, NL_TCP_LAST_ACK);
      break;
    default:
      return;
  }
  s->fin_queued = 1;
  nl__tcp_output(s);
}

int nl_tcp_shutdown(NlTcpSock *s, int how) {
  g_return_val_if_fail(s != NULL, -EINVAL);
  if (how < SHUT_RD || how > SHUT_RDWR)
    return -EINVAL;
  unsigned bits = (unsigned)how + 1; /* RCV=1, SEND=2, both=3 */
  int r = 0;
  nl__tcp_enter(s->st);
  switch (s->state) {
    case NL_TCP_CLOSED:
      r = -ENOTCONN;
      s->shut |= bits;
      break;
    case NL_TCP_LISTEN:
      if (bits & NL_RCV_SHUTDOWN) {
        /* Stops listening, like tcp_disconnect on a listener. */
        NlTcpSock *c;
        while ((c = g_queue_pop_head(&s->acceptq)) != NULL) {
          c->in_acceptq = 0;
          nl__tcp_send_rst(c);
          nl__tcp_done(c);
        }
        nl__tcp_done(s);
        s->shut = 0;
      }
      break;
    case NL_TCP_SYN_SENT:
      nl__tcp_done(s);
      break;
    default:
      s->shut |= bits;
      if (bits & NL_SEND_SHUTDOWN)
        close_state_fin(s);
      nl__tcp_mark_notify(s);
      break;
  }
  nl__tcp_leave(s->st);
  return r;
}

void nl_tcp_close(NlTcpSock *s) {
  g_return_if_fail(s != NULL && s->user_owned);
  NlTcpStack *st = s->st;
  nl__tcp_enter(st);
  s->user_owned = 0;
  s->user = NULL;
  s->bind_locked = 0;
  s->shut = NL_SHUTDOWN_MASK;
  switch (s->state) {
    case NL_TCP_LISTEN: {
      /* Children never accepted are reset (inet_csk_listen_stop), those
       * still in the handshake dropped. */
      NlTcpSock *c;
      while ((c = g_queue_pop_head(&s->acceptq)) != NULL) {
        c->in_acceptq = 0;
        c->parent = NULL;
        nl__tcp_send_rst(c);
        nl__tcp_done(c);
      }
      for (GList *l = st->all.head; l != NULL; l = l->next) {
        NlTcpSock *c2 = l->data;
        if (c2->parent == s) {
          c2->parent = NULL;
          nl__tcp_done(c2);
        }
      }
      nl__tcp_done(s);
      break;
    }
    case NL_TCP_CLOSED:
    case NL_TCP_SYN_SENT:
      nl__tcp_done(s);
      break;
    case NL_TCP_TIME_WAIT:
      break;
    default:
      if (s->rcvq.len > 0 || (s->linger_on && s->linger_secs == 0)) {
        /* Linux tcp_close: unread data (RFC 2525 §2.17) or SO_LINGER 0
         * abort the connection with a RST. */
        if (s->state != NL_TCP_CLOSED)
          nl__tcp_send_rst(s);
        nl__tcp_done(s);
        break;
      }
      close_state_fin(s);
      if (s->state == NL_TCP_FIN_WAIT_2)
        nl_event_schedule_in(st->q, &s->t_keep, NL_TCP_FIN_TIMEOUT);
      nl__tcp_maybe_free(s);
      break;
  }
  nl__tcp_leave(st);
}

unsigned nl_tcp_poll(NlTcpSock *s) {
  g_return_val_if_fail(s != NULL, POLLNVAL);
  unsigned mask = 0;
  if (s->state == NL_TCP_LISTEN)
    return s->acceptq.length ? (POLLIN | POLLRDNORM) : 0;
  if (s->shut == NL_SHUTDOWN_MASK || s->state == NL_TCP_CLOSED)
    mask |= POLLHUP;
  if (s->shut & NL_RCV_SHUTDOWN)
    mask |= POLLIN | POLLRDNORM | POLLRDHUP;
  if (s->state != NL_TCP_SYN_SENT && s->state != NL_TCP_SYN_RECEIVED) {
    if (s->rcvq.len > 0)
      mask |= POLLIN | POLLRDNORM;
    if (!(s->shut & NL_SEND_SHUTDOWN)) {
      if (nl__tcp_writable(s))
        mask |= POLLOUT | POLLWRNORM;
      else
        s->nospace = 1; /* Linux tcp_poll: a writer waits for space */
    } else {
      mask |= POLLOUT | POLLWRNORM;
    }
  }
  if (s->err)
    mask |= POLLERR;
  return mask;
}

int nl_tcp_take_error(NlTcpSock *s) {
  g_return_val_if_fail(s != NULL, EINVAL);
  int e = s->err;
  s->err = 0;
  return e;
}

size_t nl_tcp_readable(NlTcpSock *s) {
  g_return_val_if_fail(s != NULL, 0);
  return s->rcvq.len;
}

void nl_tcp_sock_info(NlTcpSock *s, NlTcpSockInfo *out) {
  g_return_if_fail(s != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  out->error = s->err;
  if (s->state == NL_TCP_LISTEN) {
    out->accept_queue = s->acceptq.length;
    return;
  }
  out->readable = s->rcvq.len;
  out->send_space = s->sndbuf > s->sndq.len ? s->sndbuf - s->sndq.len : 0;
  out->read_eof = (s->shut & NL_RCV_SHUTDOWN) != 0;
  out->write_eof = (s->shut & NL_SEND_SHUTDOWN) != 0;
}

static int get_int(const void *val, socklen_t len, int *out) {
  if (val == NULL || len < sizeof(int))
    return -EINVAL;
  memcpy(out, val, sizeof(int));
  return 0;
}

int nl_tcp_setsockopt(NlTcpSock *s, int level, int name, const void *val,
                      socklen_t len) {
  g_return_val_if_fail(s != NULL, -EINVAL);
  int v = 0;
  if (level == SOL_SOCKET && name == SO_LINGER) {
    struct linger l;
    if (val == NULL || len < sizeof l)
      return -EINVAL;
    memcpy(&l, val, sizeof l);
    s->linger_on = l.l_onoff != 0;
    s->linger_secs = l.l_linger;
    return 0;
  }
  int r = get_int(val, len, &v);
  if (r < 0)
    return r;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR:
        s->reuseaddr = v != 0;
        return 0;
      case SO_REUSEPORT:
        s->reuseport = v != 0;
        return 0;
      case SO_KEEPALIVE:
        s->keepalive = v != 0;
        nl__tcp_arm_keepalive(s);
        return 0;
      case SO_RCVBUF: {
        /* Linux doubles the value for bookkeeping, with a floor. */
        size_t b = (size_t)MIN(MAX(v, 0), NL_TCP_MAX_BUF / 2) * 2;
        s->rcvbuf = MAX(b, (size_t)2304);
        s->rcvbuf_locked = 1;
        return 0;
      }
      case SO_SNDBUF: {
        size_t b = (size_t)MIN(MAX(v, 0), NL_TCP_MAX_BUF / 2) * 2;
        s->sndbuf = MAX(b, (size_t)4608);
        s->sndbuf_locked = 1;
        nl__tcp_enter(s->st);
        nl__tcp_mark_notify(s);
        nl__tcp_leave(s->st);
        return 0;
      }
      default:
        return -ENOPROTOOPT;
    }
  }
  if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY:
        s->nodelay = v != 0;
        if (s->nodelay) {
          nl__tcp_enter(s->st);
          nl__tcp_output(s);
          nl__tcp_leave(s->st);
        }
        return 0;
      case TCP_KEEPIDLE:
        if (v < 1 || v > 32767)
          return -EINVAL;
        s->keepidle = v;
        nl__tcp_arm_keepalive(s);
        return 0;
      case TCP_KEEPINTVL:
        if (v < 1 || v > 32767)
          return -EINVAL;
        s->keepintvl = v;
        return 0;
      case TCP_KEEPCNT:
        if (v < 1 || v > 127)
          return -EINVAL;
        s->keepcnt = v;
        return 0;
      case TCP_USER_TIMEOUT:
        if (v < 0)
          return -EINVAL;
        s->user_timeout = (guint)v;
        return 0;
      case TCP_MAXSEG:
        if (v != 0 && (v < 88 || v > 65535 - 40))
          return -EINVAL;
        if (s->state == NL_TCP_CLOSED || s->state == NL_TCP_LISTEN)
          s->user_mss = (guint)v;
        return 0;
      default:
        return -ENOPROTOOPT;
    }
  }
  return -ENOPROTOOPT;
}

int nl_tcp_getsockopt(NlTcpSock *s, int level, int name, void *val,
                      socklen_t *len) {
  g_return_val_if_fail(s != NULL && len != NULL, -EINVAL);
  int v;
  if (level == SOL_SOCKET && name == SO_LINGER) {
    struct linger l = {.l_onoff = s->linger_on, .l_linger = s->linger_secs};
    if (*len < sizeof l)
      return -EINVAL;
    memcpy(val, &l, sizeof l);
    *len = sizeof l;
    return 0;
  }
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR:
        v = s->reuseaddr;
        break;
      case SO_REUSEPORT:
        v = s->reuseport;
        break;
      case SO_KEEPALIVE:
        v = s->keepalive;
        break;
      case SO_RCVBUF:
        v = (int)s->rcvbuf;
        break;
      case SO_SNDBUF:
        v = (int)(s->sndbuf_locked || !nl__tcp_synced(s->state)
                      ? s->sndbuf
                      : nl__tcp_snd_space(s));
        break;
      case SO_ERROR:
        v = nl_tcp_take_error(s);
        break;
      case SO_TYPE:
        v = SOCK_STREAM;
        break;
      case SO_ACCEPTCONN:
        v = s->state == NL_TCP_LISTEN;
        break;
      default:
        return -ENOPROTOOPT;
    }
  } else if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY:
        v = s->nodelay;
        break;
      case TCP_KEEPIDLE:
        v = s->keepidle;
        break;
      case TCP_KEEPINTVL:
        v = s->keepintvl;
        break;
      case TCP_KEEPCNT:
        v = s->keepcnt;
        break;
      case TCP_USER_TIMEOUT:
        v = (int)s->user_timeout;
        break;
      case TCP_MAXSEG:
        v = (int)(nl__tcp_synced(s->state) ? s->mss
                  : s->user_mss            ? s->user_mss
                                           : 536);
        break;
      default:
        return -ENOPROTOOPT;
    }
  } else {
    return -ENOPROTOOPT;
  }
  if (*len < sizeof v)
    return -EINVAL;
  memcpy(val, &v, sizeof v);
  *len = sizeof v;
  return 0;
}

int nl_tcp_getsockname(NlTcpSock *s, uint32_t *addr, uint16_t *port) {
  g_return_val_if_fail(s != NULL, -EINVAL);
  if (addr)
    *addr = s->key.laddr;
  if (port)
    *port = s->key.lport;
  return 0;
}

int nl_tcp_getpeername(NlTcpSock *s, uint32_t *addr, uint16_t *port) {
  g_return_val_if_fail(s != NULL, -EINVAL);
  if (addr)
    *addr = 0;
  if (port)
    *port = 0;
  /* inet_getname: no peer before the SYN-ACK or after the end. */
  if (s->state == NL_TCP_CLOSED || s->state == NL_TCP_LISTEN ||
      s->state == NL_TCP_SYN_SENT)
    return -ENOTCONN;
  if (addr)
    *addr = s->key.raddr;
  if (port)
    *port = s->key.rport;
  return 0;
}
