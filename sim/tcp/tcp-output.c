/* Sending: segment building, the send loop (windows, Nagle), ACKs, RSTs
 * and probes.  Every packet is built in the NlPacket that goes
 * (hooks.send_packet), or in the stack's one scratch buffer handed to the
 * output hook, which copies it.
 */
#include "sim/tcp/tcp-priv.h"

#include <string.h>

#define NL_TCP_TTL 64

/* Receive window to announce, in bytes (__tcp_select_window, simplified):
 * free receive space, none below one MSS when less than half is free
 * (receiver SWS avoidance, RFC 1122 §4.2.3.3), never shrinking the right
 * edge already announced (RFC 9293 §3.8.6.2.2).  Updates rcv_adv. */
uint32_t nl__tcp_select_window(NlTcpSock *s) {
  size_t space = nl__tcp_rcv_space(s);
  size_t used = s->rcvq.len + s->ooo_bytes;
  size_t free_space = space > used ? space - used : 0;
  if (free_space < space / 2 && free_space < s->mss)
    free_space = 0;
  size_t max_wnd = (size_t)65535 << s->rcv_wscale;
  free_space = MIN(free_space, max_wnd);
  free_space &= ~(((size_t)1 << s->rcv_wscale) - 1);
  uint32_t cur = SEQ_GT(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;
  uint32_t w = (uint32_t)free_space;
  if (w < cur)
    w = cur;
  s->rcv_adv = s->rcv_nxt + w;
  return w;
}

/* Where to build a packet of @len bytes: the packet that will go, or the
 * stack's scratch buffer for the output hook. */
static inline guint8 *out_begin(NlTcpStack *st, size_t len) {
  if (st->hooks.send_packet == NULL)
    return st->pkt;
  nl_packet_free(st->out); /* NULL: every packet begun is sent */
  st->out = nl_packet_alloc(len);
  return st->out->data;
}

/* Sends the @len bytes built at @pkt (by nl_tcp4_build, with @src, @dst,
 * @ip_id, TTL 64 and DF). */
static inline void out_send(NlTcpStack *st, const guint8 *pkt, size_t len,
                            uint32_t src, uint32_t dst, uint16_t ip_id) {
  NlPacket *p = st->out;
  if (p == NULL) {
    st->hooks.output(st->hooks.ctx, pkt, len);
    return;
  }
  st->out = NULL;
  p->len = (guint)len;
  /* The header nl_ip4_parse would read from those bytes. */
  p->ip4 = (NlIp4Header){.ihl_bytes = NL_IP4_HDR_LEN,
                         .total_len = (uint16_t)len,
                         .id = ip_id,
                         .df = TRUE,
                         .ttl = NL_TCP_TTL,
                         .proto = NL_IPPROTO_TCP,
                         .src = src,
                         .dst = dst};
  p->ip4_ok = TRUE;
  p->tcp_sum_ok = TRUE;
  st->hooks.send_packet(st->hooks.ctx, p);
}

/* Builds one segment; @dlen bytes of data come from sndq at @seq. */
static void emit(NlTcpSock *s, uint32_t seq, uint8_t flags, size_t dlen) {
  NlTcpStack *st = s->st;
  NlTcpHeader h = {
      .sport = s->key.lport, .dport = s->key.rport, .seq = seq, .flags = flags};
  if (flags & NL_TCP_ACK)
    h.ack = s->rcv_nxt;
  if (flags & NL_TCP_SYN) {
    /* Windows in SYNs are never scaled (RFC 7323 §2.2). */
    h.window = (uint16_t)MIN(nl__tcp_rcv_space(s), (size_t)65535);
    s->rcv_adv = s->rcv_nxt + h.window;
    h.mss = (uint16_t)s->adv_mss;
    if (!(flags & NL_TCP_ACK) || s->wscale_ok)
      h.wscale = (uint8_t)(s->rcv_wscale + 1);
    if (!(flags & NL_TCP_ACK) || s->ts_ok) {
      h.ts = TRUE;
      h.tsval = nl__tcp_tsval(s);
      h.tsecr = (flags & NL_TCP_ACK) ? s->ts_recent : 0;
    }
  } else {
    if (!(flags & NL_TCP_RST))
      h.window = (uint16_t)(nl__tcp_select_window(s) >> s->rcv_wscale);
    if (s->ts_ok) {
      h.ts = TRUE;
      h.tsval = nl__tcp_tsval(s);
      h.tsecr = s->ts_recent;
    }
  }
  /* Options: a SYN's as nl_tcp4_options_len counts them, the others'
   * only timestamps. */
  size_t hl = NL_IP4_HDR_LEN + NL_TCP_HDR_LEN +
              ((flags & NL_TCP_SYN) ? nl_tcp4_options_len(&h)
                                    : nl__tcp_opt_len(s));
  /* A whole block sent the first time goes in its own packet (tcp-priv.h);
   * any other data is copied into a new one. */
  NlPacket *given = NULL;
  uint32_t psum = 0;
  if (dlen && st->hooks.send_packet != NULL)
    given = nl__tcp_sndq_give(&s->sndq, seq - s->snd_buf_seq, dlen, hl,
                              &psum);
  guint8 *pkt;
  if (given != NULL) {
    g_assert(st->out == NULL); /* every packet begun is sent */
    st->out = given;
    pkt = given->data;
  } else {
    pkt = out_begin(st, hl + dlen);
    if (dlen)
      nl__tcp_sndq_copy(&s->sndq, seq - s->snd_buf_seq, pkt + hl, dlen);
  }
  uint16_t ip_id = st->ip_id++;
  size_t len =
      given != NULL
          ? nl__tcp4_build_summed(pkt, s->key.laddr, s->key.raddr, &h, dlen,
                                  psum, ip_id, NL_TCP_TTL, TRUE)
          : nl_tcp4_build(pkt, s->key.laddr, s->key.raddr, &h, pkt + hl, dlen,
                          ip_id, NL_TCP_TTL, TRUE);
  if (flags & NL_TCP_ACK) {
    s->rcv_wup = s->rcv_nxt;
    s->want_ack = 0;
    nl_event_cancel(st->q, &s->t_delack);
  }
  st->stats.segs_out++;
  if (dlen)
    st->stats.data_segs_out++;
  if (flags & NL_TCP_RST)
    st->stats.resets_out++;
  out_send(st, pkt, len, s->key.laddr, s->key.raddr, ip_id);
}

/* Sends @len bytes at @seq (plus FIN); returns the sequence number after
 * the segment. */
static uint32_t xmit_seg(NlTcpSock *s, uint32_t seq, size_t len, gboolean fin) {
  size_t off = seq - s->snd_buf_seq;
  gboolean retrans = SEQ_LT(seq, s->snd_max);
  uint8_t flags = NL_TCP_ACK;
  if (fin)
    flags |= NL_TCP_FIN;
  if (len && off + len == s->sndq.len)
    flags |= NL_TCP_PSH;
  emit(s, seq, flags, len);
  uint32_t end = seq + (uint32_t)len + (fin ? 1 : 0);
  if (retrans) {
    s->st->stats.retransmits++;
    s->rtt_timing = 0; /* Karn: no sample across a retransmission */
  } else if (!s->rtt_timing && len) {
    /* Data sent soon after data arrived: an interactive exchange, whose
     * ACKs ride on the replies (tcp_event_data_sent → pingpong). */
    if (s->ato_init && nl__tcp_now(s) - s->last_data_rcv < NL_TCP_DELACK)
      s->pingpong = 1;
    s->rtt_timing = 1;
    s->rtt_seq = end;
    s->rtt_start = nl__tcp_now(s);
  }
  if (SEQ_GT(end, s->snd_max))
    s->snd_max = end;
  return end;
}

uint32_t nl__tcp_xmit_at(NlTcpSock *s, uint32_t seq, gboolean trace_it) {
  uint32_t data_end = s->snd_buf_seq + (uint32_t)s->sndq.len;
  size_t len =
      SEQ_LT(seq, data_end) ? MIN((size_t)(data_end - seq), s->mss) : 0;
  gboolean fin = s->fin_queued && seq + len == data_end;
  if (len == 0 && !fin)
    return seq;
  if (trace_it)
    nl__tcp_trace(s, "fast retransmit seq=%u len=%zu", seq, len);
  return xmit_seg(s, seq, len, fin);
}

void nl__tcp_output(NlTcpSock *s) {
  switch (s->state) {
    case NL_TCP_ESTABLISHED:
    case NL_TCP_CLOSE_WAIT:
    case NL_TCP_FIN_WAIT_1:
    case NL_TCP_CLOSING:
    case NL_TCP_LAST_ACK:
      break;
    default:
      return;
  }
  gboolean sent = FALSE;
  for (;;) {
    uint32_t data_end = s->snd_buf_seq + (uint32_t)s->sndq.len;
    uint32_t wnd = MIN(s->snd_wnd, s->cwnd);
    int32_t usable = (int32_t)(s->snd_una + wnd - s->snd_nxt);
    if (SEQ_LT(s->snd_nxt, data_end)) {
      size_t avail = data_end - s->snd_nxt;
      size_t len = MIN(avail, (size_t)s->mss);
      if (usable <= 0)
        break;
      if (len > (size_t)usable) {
        /* Sender SWS avoidance: no window fragments while data flies. */
        if (s->snd_nxt != s->snd_una)
          break;
        len = (size_t)usable;
      }
      /* Nagle with Minshall's tweak, as Linux: a short segment waits only
       * while an earlier short segment is unacknowledged.  A segment that
       * carries the FIN never waits. */
      gboolean fin = s->fin_queued && len == avail;
      if (len < s->mss && !s->nodelay && !fin &&
          SEQ_GT(s->snd_sml, s->snd_una) && SEQ_LEQ(s->snd_sml, s->snd_nxt))
        break;
      uint32_t end = xmit_seg(s, s->snd_nxt, len, fin);
      if (len < s->mss)
        s->snd_sml = end;
      s->snd_nxt = end;
      sent = TRUE;
    } else if (s->fin_queued && s->snd_nxt == data_end) {
      s->snd_nxt = xmit_seg(s, s->snd_nxt, 0, TRUE);
      sent = TRUE;
    } else {
      break;
    }
  }
  if (sent || s->rexmit_at == 0)
    nl__tcp_arm_rexmit(s);
}

void nl__tcp_send_syn(NlTcpSock *s) {
  uint8_t flags = NL_TCP_SYN;
  if (s->state == NL_TCP_SYN_RECEIVED)
    flags |= NL_TCP_ACK;
  emit(s, s->iss, flags, 0);
  s->snd_nxt = s->iss + 1;
  if (SEQ_GT(s->snd_nxt, s->snd_max))
    s->snd_max = s->snd_nxt;
}

/* Segments without data carry the highest sequence number sent (Linux's
 * tcp_acceptable_seq; snd_nxt may have gone back for a retransmission),
 * or the peer would find them outside its window. */
void nl__tcp_send_ack(NlTcpSock *s) {
  emit(s, s->snd_max, NL_TCP_ACK, 0);
}

void nl__tcp_send_rst(NlTcpSock *s) {
  emit(s, s->snd_max, NL_TCP_RST | NL_TCP_ACK, 0);
}

/* A zero-window or keepalive probe: one byte below the window, no data,
 * so the peer must answer with an ACK (tcp_xmit_probe_skb). */
void nl__tcp_send_probe(NlTcpSock *s) {
  emit(s, s->snd_una - 1, NL_TCP_ACK, 0);
}

/* RFC 9293 §3.10.7.1: the reply to a segment for no connection. */
void nl__tcp_send_reset_reply(NlTcpStack *st, const NlIp4Header *ip,
                              const NlTcpHeader *th, size_t dlen) {
  NlTcpHeader h = {.sport = th->dport, .dport = th->sport};
  if (th->flags & NL_TCP_ACK) {
    h.seq = th->ack;
    h.flags = NL_TCP_RST;
  } else {
    h.seq = 0;
    h.ack = th->seq + (uint32_t)dlen + ((th->flags & NL_TCP_SYN) ? 1 : 0) +
            ((th->flags & NL_TCP_FIN) ? 1 : 0);
    h.flags = NL_TCP_RST | NL_TCP_ACK;
  }
  guint8 *pkt = out_begin(st, NL_IP4_HDR_LEN + NL_TCP_HDR_LEN);
  uint16_t ip_id = st->ip_id++;
  size_t len = nl_tcp4_build(pkt, ip->dst, ip->src, &h, NULL, 0, ip_id,
                             NL_TCP_TTL, TRUE);
  st->stats.segs_out++;
  st->stats.resets_out++;
  out_send(st, pkt, len, ip->dst, ip->src, ip_id);
}

/* Owes an ACK: sent by the delayed-ACK timer unless data goes first. */
void nl__tcp_delack(NlTcpSock *s) {
  s->want_ack = 1;
  if (!nl_event_pending(&s->t_delack))
    nl_event_schedule_in(s->st->q, &s->t_delack, NL_TCP_DELACK);
}
