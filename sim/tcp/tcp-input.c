/* Segment arrival (RFC 9293 §3.10.7), with Linux's choices: the sequence
 * test of tcp_sequence(), RFC 5961 challenge ACKs, TIME_WAIT assassination
 * by RST and reuse by a newer SYN, accept-queue overflow dropping SYNs, and
 * RST on data for a closed socket.  Also ICMP errors (tcp_v4_err).
 */
#include "sim/tcp/tcp-priv.h"

#include <errno.h>
#include <string.h>

static inline uint16_t rd16(const guint8 *p) {
  return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t rd32(const guint8 *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
         ((uint32_t)p[2] << 8) | p[3];
}

typedef struct {
  NlIp4Header ip;
  NlTcpHeader th;
  const guint8 *data;
  uint32_t dlen;
  /* The packet data lies in when the engine may keep it (the receive
   * queue takes it and sets it NULL), or NULL. */
  NlPacket **pkt;
} Seg;

static void rto_reset(NlTcpSock *s) {
  s->retransmits = 0;
  s->retrans_stamp = 0;
  if (s->srtt) {
    NlTime rto = s->srtt + MAX(4 * s->rttvar, NL_TCP_RTO_MIN);
    s->rto = CLAMP(rto, NL_TCP_RTO_MIN, NL_TCP_RTO_MAX);
  }
}

/* RFC 7323 §4.3: an ACK that acknowledges new data echoes in TSecr the
 * TSval of the segment that, by the receiver's rules, it answers, so
 * now - TSecr is an RTT sample even when that segment was retransmitted
 * (where Karn's rule forbids timing by sequence number).  Linux takes it
 * whenever an ACK acknowledges new data and gave no sample by sequence
 * (tcp_ack_update_rtt); the RTO then follows the samples again (RFC 6298
 * §2 and §5) instead of staying backed off.  Returns whether it took one. */
static gboolean ts_rtt_sample(NlTcpSock *s, const NlTcpHeader *th) {
  if (!s->ts_ok || !th->ts || th->tsecr == 0)
    return FALSE;
  uint32_t delta = nl__tcp_tsval(s) - th->tsecr; /* milliseconds */
  if (delta > 120000u)
    return FALSE; /* an echo from the future or older than RTO_MAX */
  nl__tcp_rtt_sample(s, (NlTime)MAX(delta, 1u) * NL_MS);
  return TRUE;
}

static void take_syn_options(NlTcpSock *s, const Seg *g) {
  /* No option: RFC 9293's default 536.  Linux never goes below
   * TCP_MIN_SND_MSS (48) of data, whatever the peer claims. */
  s->peer_mss = g->th.mss ? MAX(g->th.mss, 48u + 12u) : 536;
  s->ts_ok = g->th.ts;
  if (s->ts_ok)
    s->ts_recent = g->th.tsval;
  /* The MSS option excludes options; each segment carries the timestamps
   * (Linux's mss_cache: 1448 on a 1500-byte path). */
  s->mss = MIN(s->peer_mss, s->adv_mss) - nl__tcp_opt_len(s);
  /* The initial window, already here in case a close or shutdown moves
   * a SYN_RECEIVED socket straight to FIN_WAIT_1. */
  s->cwnd = NL_TCP_INIT_CWND * s->mss;
  s->ssthresh = 0x7fffffff;
  if (g->th.wscale) {
    s->wscale_ok = 1;
    s->snd_wscale = (uint8_t)MIN(g->th.wscale - 1, 14);
  } else {
    s->wscale_ok = 0;
    s->snd_wscale = 0;
    s->rcv_wscale = 0;
  }
}

static void establish(NlTcpSock *s) {
  s->cwnd = NL_TCP_INIT_CWND * s->mss;
  s->ssthresh = 0x7fffffff; /* TCP_INFINITE_SSTHRESH */
  s->snd_buf_seq = s->iss + 1;
  s->snd_sml = s->iss;
  rto_reset(s);
  nl__tcp_set_state(s, NL_TCP_ESTABLISHED);
  nl__tcp_arm_keepalive(s);
}

/* ---- LISTEN ----------------------------------------------------------- */

static void listen_input(NlTcpSock *l, const Seg *g) {
  NlTcpStack *st = l->st;
  if (g->th.flags & NL_TCP_RST)
    return;
  if (g->th.flags & NL_TCP_ACK) {
    nl__tcp_send_reset_reply(st, &g->ip, &g->th, g->dlen);
    return;
  }
  if (!(g->th.flags & NL_TCP_SYN))
    return;
  /* Linux: a full accept queue drops the SYN (sk_acceptq_is_full is
   * "more than backlog"), and the client retries. */
  if (l->acceptq.length > (guint)l->backlog) {
    nl__tcp_trace(l, "SYN dropped: accept queue full");
    return;
  }
  uint32_t src;
  guint mtu;
  if (!st->hooks.route(st->hooks.ctx, g->ip.src, &src, &mtu))
    return;
  NlTcpSock *c = nl__tcp_sock_alloc(st, NULL);
  c->passive = 1;
  c->parent = l;
  c->key.laddr = g->ip.dst;
  c->key.lport = g->th.dport;
  c->key.raddr = g->ip.src;
  c->key.rport = g->th.sport;
  c->reuseaddr = l->reuseaddr;
  c->reuseport = l->reuseport;
  c->keepalive = l->keepalive;
  c->keepidle = l->keepidle;
  c->keepintvl = l->keepintvl;
  c->keepcnt = l->keepcnt;
  c->nodelay = l->nodelay;
  c->linger_on = l->linger_on;
  c->linger_secs = l->linger_secs;
  c->user_timeout = l->user_timeout;
  c->rcvbuf = l->rcvbuf;
  c->rcvbuf_locked = l->rcvbuf_locked;
  c->sndbuf = l->sndbuf;
  c->sndbuf_locked = l->sndbuf_locked;
  c->adv_mss = l->adv_mss ? MIN(l->adv_mss, mtu - 40) : mtu - 40;
  c->rcv_wscale = NL_TCP_WSCALE;
  take_syn_options(c, g);
  c->irs = g->th.seq;
  c->rcv_nxt = g->th.seq + 1;
  c->iss = nl__tcp_isn(st, &c->key);
  c->ts_offset = c->iss * 2654435761u;
  c->snd_una = c->iss;
  c->snd_nxt = c->iss;
  c->snd_max = c->iss;
  c->snd_buf_seq = c->iss + 1;
  c->snd_sml = c->iss;
  c->recover = c->iss;
  c->snd_wnd = g->th.window;
  c->snd_wl1 = g->th.seq;
  c->snd_wl2 = c->iss;
  c->last_rcv = nl_event_now(st->q);
  c->state = NL_TCP_LISTEN;
  nl__tcp_port_add(c);
  nl__tcp_hash(c);
  nl__tcp_set_state(c, NL_TCP_SYN_RECEIVED);
  c->rtt_start = nl_event_now(st->q);
  nl__tcp_send_syn(c);
  nl__tcp_arm_rexmit(c);
}

/* ---- SYN_SENT (RFC 9293 §3.10.7.3) ------------------------------------ */

static void syn_sent_input(NlTcpSock *s, const Seg *g) {
  const NlTcpHeader *th = &g->th;
  gboolean has_ack = (th->flags & NL_TCP_ACK) != 0;
  if (has_ack && (SEQ_LEQ(th->ack, s->iss) || SEQ_GT(th->ack, s->snd_max))) {
    if (!(th->flags & NL_TCP_RST))
      nl__tcp_send_reset_reply(s->st, &g->ip, th, g->dlen);
    return;
  }
  if (th->flags & NL_TCP_RST) {
    if (has_ack) {
      nl__tcp_trace(s, "connection refused (RST)");
      s->err = ECONNREFUSED;
      nl__tcp_done(s);
    }
    return;
  }
  if (!(th->flags & NL_TCP_SYN))
    return;
  take_syn_options(s, g);
  s->irs = th->seq;
  s->rcv_nxt = th->seq + 1;
  s->rcv_wup = s->rcv_nxt;
  /* Our SYN offered this window before we knew the peer's ISN. */
  s->rcv_adv = s->rcv_nxt + (uint32_t)MIN(nl__tcp_rcv_space(s), (size_t)65535);
  s->snd_wnd = th->window;
  s->snd_wl1 = th->seq;
  s->snd_wl2 = th->ack;
  s->last_rcv = nl__tcp_now(s);
  if (has_ack) {
    if (s->retransmits == 0)
      nl__tcp_rtt_sample(s, nl__tcp_now(s) - s->rtt_start);
    else
      ts_rtt_sample(s, th);
    s->snd_una = th->ack;
    establish(s);
    nl__tcp_send_ack(s);
    nl__tcp_arm_rexmit(s);
    nl__tcp_mark_notify(s);
  } else {
    /* Simultaneous open: answer with SYN-ACK on the same ISS. */
    nl__tcp_set_state(s, NL_TCP_SYN_RECEIVED);
    nl__tcp_send_syn(s);
  }
}

/* ---- synchronized states ---------------------------------------------- */

/* tcp_reset(): the peer aborted. */
static void reset_received(NlTcpSock *s) {
  nl__tcp_trace(s, "reset received");
  switch (s->state) {
    case NL_TCP_SYN_RECEIVED:
      if (!s->passive)
        s->err = ECONNREFUSED;
      break;
    case NL_TCP_CLOSE_WAIT:
      s->err = EPIPE;
      break;
    default:
      s->err = ECONNRESET;
      break;
  }
  nl__tcp_done(s);
}

static void fast_retransmit(NlTcpSock *s) {
  uint32_t flight = s->snd_max - s->snd_una;
  s->ssthresh = MAX(flight / 2, 2 * s->mss);
  s->recover = s->snd_max;
  s->in_recovery = 1;
  s->st->stats.fast_retransmits++;
  nl__tcp_xmit_at(s, s->snd_una, TRUE);
  s->cwnd = s->ssthresh + 3 * s->mss;
}

/* Returns FALSE when the segment must be dropped. */
static gboolean process_ack(NlTcpSock *s, const Seg *g) {
  const NlTcpHeader *th = &g->th;
  uint32_t ack = th->ack;
  if (SEQ_GT(ack, s->snd_max)) {
    nl__tcp_send_ack(s); /* acks something not yet sent */
    return FALSE;
  }
  if (SEQ_LT(ack, s->snd_una))
    return TRUE; /* old duplicate: ignore the ACK field */
  s->probes_out = 0;
  gboolean wupd = FALSE;
  if (SEQ_LT(s->snd_wl1, th->seq) ||
      (s->snd_wl1 == th->seq && SEQ_LEQ(s->snd_wl2, ack))) {
    uint32_t nwnd = (uint32_t)th->window << s->snd_wscale;
    wupd = nwnd != s->snd_wnd;
    s->snd_wnd = nwnd;
    s->snd_wl1 = th->seq;
    s->snd_wl2 = ack;
    if (nwnd > 0)
      s->persist_backoff = 0;
  }
  if (ack == s->snd_una) {
    if (s->snd_una != s->snd_max && g->dlen == 0 &&
        !(th->flags & (NL_TCP_SYN | NL_TCP_FIN)) && !wupd) {
      s->dupacks++;
      if (s->in_recovery) {
        s->cwnd += s->mss; /* RFC 6582 §3.2 step 3: inflate */
        nl__tcp_output(s);
      } else if (s->dupacks == 3 && SEQ_GT(ack, s->recover)) {
        fast_retransmit(s);
        nl__tcp_output(s);
      }
    } else if (wupd) {
      nl__tcp_output(s);
    }
    return TRUE;
  }

  /* New data acknowledged. */
  /* Whether a writer must be woken below: asked only when no writer is
   * known to wait (nospace), which decides it alone. */
  gboolean was_writable = !s->nospace && nl__tcp_writable(s);
  uint32_t acked = ack - s->snd_una;
  uint32_t flight = s->snd_max - s->snd_una;
  if (s->rtt_timing && SEQ_GEQ(ack, s->rtt_seq)) {
    nl__tcp_rtt_sample(s, nl__tcp_now(s) - s->rtt_start);
    s->rtt_timing = 0;
  } else {
    ts_rtt_sample(s, th);
  }
  rto_reset(s);
  s->soft_err = 0;
  s->snd_una = ack;
  if (SEQ_LT(s->snd_nxt, ack))
    s->snd_nxt = ack;
  if (SEQ_GT(ack, s->snd_buf_seq)) {
    size_t n = MIN((size_t)(ack - s->snd_buf_seq), s->sndq.len);
    nl__tcp_sndq_drop(&s->sndq, n);
    s->snd_buf_seq += (uint32_t)n;
  }
  if (s->in_recovery) {
    if (SEQ_GEQ(ack, s->recover)) {
      /* Full ACK: deflate (RFC 6582 §3.2 step 5, option 1). */
      uint32_t left = s->snd_max - s->snd_una;
      s->cwnd = MIN(s->ssthresh, MAX(left, s->mss) + s->mss);
      s->in_recovery = 0;
      s->dupacks = 0;
    } else {
      /* Partial ACK: retransmit the next hole, deflate by what was
       * acknowledged, add back one MSS (step 5, partial). */
      nl__tcp_xmit_at(s, s->snd_una, TRUE);
      s->cwnd = s->cwnd > acked ? s->cwnd - acked : 0;
      if (acked >= s->mss)
        s->cwnd += s->mss;
      s->cwnd = MAX(s->cwnd, s->mss);
    }
  } else {
    s->dupacks = 0;
    if (s->cwnd < s->ssthresh) {
      if (s->cwnd < 2 * flight) /* cwnd-limited (tcp_is_cwnd_limited) */
        s->cwnd += MIN(acked, 2 * s->mss);
    } else if (flight + s->mss >= s->cwnd) {
      s->cwnd_acc += acked;
      if (s->cwnd_acc >= s->cwnd) {
        s->cwnd_acc -= s->cwnd;
        s->cwnd += s->mss;
      }
    }
    s->cwnd = MIN(s->cwnd, (uint32_t)1 << 30);
  }
  nl__tcp_arm_rexmit(s);
  /* Linux tcp_check_space: a writer that found no space is woken once
   * there is some, however the space came (fast recovery inflates cwnd,
   * and with it the send buffer, without an ACK of new data). */
  if ((!was_writable || s->nospace) && nl__tcp_writable(s)) {
    s->nospace = 0;
    nl__tcp_mark_notify(s);
  }
  nl__tcp_output(s);
  return TRUE;
}

static gboolean fin_acked(const NlTcpSock *s) {
  return s->fin_queued &&
         s->snd_una == s->snd_buf_seq + (uint32_t)s->sndq.len + 1;
}

static void ooo_insert(NlTcpSock *s, uint32_t seq, const guint8 *data,
                       uint32_t len, gboolean fin) {
  NlTcpOoo **pp = &s->ooo;
  while (*pp != NULL && SEQ_LT((*pp)->seq, seq))
    pp = &(*pp)->next;
  if (*pp != NULL && (*pp)->seq == seq && (*pp)->len >= len &&
      ((*pp)->fin || !fin))
    return; /* a duplicate */
  NlTcpOoo *o = g_malloc(sizeof *o + len);
  o->seq = seq;
  o->len = len;
  o->fin = fin;
  memcpy(o->data, data, len);
  o->next = *pp;
  *pp = o;
  s->ooo_bytes += len;
}

/* Moves what became contiguous into the receive queue.  Returns TRUE if
 * the FIN is now in order. */
static gboolean ooo_pull(NlTcpSock *s) {
  gboolean fin = FALSE;
  while (s->ooo != NULL && SEQ_LEQ(s->ooo->seq, s->rcv_nxt)) {
    NlTcpOoo *o = s->ooo;
    s->ooo = o->next;
    uint32_t end = o->seq + o->len;
    if (SEQ_GT(end, s->rcv_nxt)) {
      uint32_t off = s->rcv_nxt - o->seq;
      nl__tcp_rcvq_add(&s->rcvq, NULL, o->data + off, end - s->rcv_nxt);
      s->rcv_nxt = end;
    }
    if (o->fin && end == s->rcv_nxt)
      fin = TRUE;
    s->ooo_bytes -= o->len;
    g_free(o);
  }
  return fin;
}

static void fin_received(NlTcpSock *s) {
  s->rcv_nxt++;
  s->shut |= NL_RCV_SHUTDOWN;
  s->sock_done = 1;
  nl__tcp_send_ack(s);
  nl__tcp_mark_notify(s);
  switch (s->state) {
    case NL_TCP_SYN_RECEIVED:
    case NL_TCP_ESTABLISHED:
      nl__tcp_set_state(s, NL_TCP_CLOSE_WAIT);
      break;
    case NL_TCP_FIN_WAIT_1:
      nl__tcp_set_state(s, NL_TCP_CLOSING); /* simultaneous close */
      break;
    case NL_TCP_FIN_WAIT_2:
      nl__tcp_enter_time_wait(s);
      break;
    default:
      break;
  }
}

static void data_input(NlTcpSock *s, const Seg *g) {
  uint32_t seq = g->th.seq;
  const guint8 *data = g->data;
  uint32_t dlen = g->dlen;
  gboolean fin = (g->th.flags & NL_TCP_FIN) != 0;
  if (SEQ_LT(seq, s->rcv_nxt)) {
    uint32_t d = s->rcv_nxt - seq;
    if (d > dlen || (d == dlen && !fin)) {
      nl__tcp_send_ack(s); /* all old: a duplicate (tcp_send_dupack) */
      return;
    }
    data += d;
    dlen -= d;
    seq = s->rcv_nxt;
  }
  uint32_t wnd = SEQ_GT(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;
  uint32_t wend = s->rcv_nxt + wnd;
  if (SEQ_GT(seq + dlen, wend)) {
    dlen = SEQ_GT(wend, seq) ? wend - seq : 0;
    fin = FALSE;
  }
  if (dlen > 0 && (s->shut & NL_RCV_SHUTDOWN) &&
      (s->state == NL_TCP_FIN_WAIT_1 || s->state == NL_TCP_FIN_WAIT_2)) {
    /* Linux: new data after close() → RST (TCPAbortOnData). */
    nl__tcp_trace(s, "data after close: abort");
    nl__tcp_send_rst(s);
    nl__tcp_done(s);
    return;
  }
  if (dlen == 0 && !fin) {
    nl__tcp_send_ack(s); /* outside the window, e.g. a window probe */
    return;
  }
  if (seq != s->rcv_nxt) {
    ooo_insert(s, seq, data, dlen, fin);
    nl__tcp_send_ack(s); /* a duplicate ACK tells the sender */
    return;
  }
  gboolean had_ooo = s->ooo != NULL;
  if (dlen) {
    /* tcp_event_data_recv: the first data, or data after an idle longer
     * than the RTO, gives some quick ACKs (TCP_MAX_QUICKACKS = 16). */
    NlTime now = nl__tcp_now(s);
    if (!s->ato_init || now - s->last_data_rcv > s->rto) {
      guint q = (guint)(nl__tcp_rcv_space(s) / (2 * (size_t)s->mss));
      q = MIN(q ? q : 2, 16u);
      s->quick = MAX(s->quick, q);
      s->ato_init = 1;
    }
    s->last_data_rcv = now;
    nl__tcp_rcvq_add(&s->rcvq, g->pkt, data, dlen);
    s->rcv_nxt += dlen;
    nl__tcp_mark_notify(s);
  }
  if (had_ooo && ooo_pull(s))
    fin = TRUE;
  if (fin) {
    fin_received(s);
    return;
  }
  /* Delayed ACK (Linux __tcp_ack_snd_check): at once in quick-ACK mode,
   * when more than one full segment is unacknowledged or when a hole was
   * filled; otherwise after TCP_DELACK_MIN. */
  if (s->quick > 0 && !s->pingpong) {
    s->quick--;
    nl__tcp_send_ack(s);
  } else if (had_ooo || s->rcv_nxt - s->rcv_wup > s->mss) {
    nl__tcp_send_ack(s);
  } else {
    nl__tcp_delack(s);
  }
}

static void synced_input(NlTcpSock *s, const Seg *g) {
  const NlTcpHeader *th = &g->th;
  uint32_t seg_len = g->dlen + ((th->flags & NL_TCP_SYN) ? 1 : 0) +
                     ((th->flags & NL_TCP_FIN) ? 1 : 0);

  /* Simultaneous open: the peer's SYN-ACK in SYN_RECEIVED (Linux lets it
   * pass the SYN check). */
  if (s->state == NL_TCP_SYN_RECEIVED && !s->passive &&
      (th->flags & (NL_TCP_SYN | NL_TCP_ACK | NL_TCP_RST)) ==
          (NL_TCP_SYN | NL_TCP_ACK) &&
      th->seq == s->irs && th->ack == s->snd_max) {
    s->snd_una = th->ack;
    s->snd_wnd = th->window;
    s->snd_wl1 = th->seq;
    s->snd_wl2 = th->ack;
    s->last_rcv = nl__tcp_now(s);
    if (th->ts && s->ts_ok)
      s->ts_recent = th->tsval;
    establish(s);
    nl__tcp_send_ack(s);
    nl__tcp_arm_rexmit(s);
    nl__tcp_mark_notify(s);
    return;
  }

  /* Acceptability (tcp_sequence). */
  uint32_t rwnd = SEQ_GT(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;
  if (SEQ_LT(th->seq + seg_len, s->rcv_wup) ||
      SEQ_GT(th->seq, s->rcv_nxt + rwnd)) {
    /* A duplicate ACK in answer; for segments without data at most one
     * per 500 ms (tcp_oow_rate_limited, tcp_invalid_ratelimit), so two
     * confused ends cannot ping-pong ACKs forever. */
    NlTime now = nl__tcp_now(s);
    if (!(th->flags & NL_TCP_RST) && (seg_len > 0 || s->last_oow_ack == 0 ||
                                      now - s->last_oow_ack >= 500 * NL_MS)) {
      if (seg_len == 0)
        s->last_oow_ack = now;
      nl__tcp_send_ack(s);
    }
    return;
  }
  /* RFC 7323 §4.3: remember the peer's TSval of an in-order segment. */
  if (th->ts && s->ts_ok && SEQ_LEQ(th->seq, s->rcv_wup))
    s->ts_recent = th->tsval;
  if (th->flags & NL_TCP_RST) {
    /* RFC 5961 §3.2: only an exact RST aborts; others get a challenge. */
    if (th->seq == s->rcv_nxt)
      reset_received(s);
    else
      nl__tcp_send_ack(s);
    return;
  }
  if (th->flags & NL_TCP_SYN) {
    if (s->state == NL_TCP_SYN_RECEIVED && s->passive && th->seq == s->irs &&
        !(th->flags & NL_TCP_ACK)) {
      nl__tcp_send_syn(s); /* the SYN again: the SYN-ACK again */
      return;
    }
    nl__tcp_send_ack(s); /* RFC 5961 §4: challenge ACK */
    return;
  }
  if (!(th->flags & NL_TCP_ACK))
    return;
  s->last_rcv = nl__tcp_now(s);

  if (s->state == NL_TCP_SYN_RECEIVED) {
    if (!(SEQ_GT(th->ack, s->snd_una) && SEQ_LEQ(th->ack, s->snd_max))) {
      nl__tcp_send_reset_reply(s->st, &g->ip, th, g->dlen);
      return;
    }
    NlTcpSock *l = s->parent;
    if (s->passive) {
      if (l == NULL) {
        nl__tcp_send_rst(s);
        nl__tcp_done(s);
        return;
      }
      if (l->acceptq.length > (guint)l->backlog)
        return; /* Linux drops the ACK; the SYN-ACK timer retries */
    }
    if (s->retransmits == 0)
      nl__tcp_rtt_sample(s, nl__tcp_now(s) - s->rtt_start);
    else
      ts_rtt_sample(s, th);
    s->snd_una = th->ack;
    s->snd_wnd = (uint32_t)th->window << s->snd_wscale;
    s->snd_wl1 = th->seq;
    s->snd_wl2 = th->ack;
    establish(s);
    nl__tcp_arm_rexmit(s);
    if (s->passive) {
      g_queue_push_tail(&l->acceptq, s);
      s->in_acceptq = 1;
      nl__tcp_mark_notify(l);
    } else {
      nl__tcp_mark_notify(s);
    }
  } else if (!process_ack(s, g)) {
    return;
  }

  switch (s->state) {
    case NL_TCP_FIN_WAIT_1:
      if (fin_acked(s)) {
        nl__tcp_set_state(s, NL_TCP_FIN_WAIT_2);
        nl__tcp_disarm_rexmit(s);
        if (!s->user_owned)
          nl_event_schedule_in(s->st->q, &s->t_keep, NL_TCP_FIN_TIMEOUT);
        nl__tcp_mark_notify(s);
      }
      break;
    case NL_TCP_CLOSING:
      if (fin_acked(s)) {
        nl__tcp_enter_time_wait(s);
        return;
      }
      break;
    case NL_TCP_LAST_ACK:
      if (fin_acked(s)) {
        nl__tcp_done(s);
        return;
      }
      break;
    default:
      break;
  }

  if (g->dlen == 0 && !(th->flags & NL_TCP_FIN))
    return;
  switch (s->state) {
    case NL_TCP_ESTABLISHED:
    case NL_TCP_FIN_WAIT_1:
    case NL_TCP_FIN_WAIT_2:
      data_input(s, g);
      break;
    default:
      /* The peer's FIN is already in: a retransmission. */
      nl__tcp_send_ack(s);
      break;
  }
}

/* Returns TRUE when a new SYN ended the TIME_WAIT and should reach a
 * listener (tcp_timewait_state_process → TCP_TW_SYN). */
static gboolean time_wait_input(NlTcpSock *tw, const Seg *g) {
  const NlTcpHeader *th = &g->th;
  if (th->flags & NL_TCP_RST) {
    if (th->seq == tw->rcv_nxt) {
      nl__tcp_trace(tw, "reset received");
      nl__tcp_done(tw); /* TIME_WAIT assassination (tcp_rfc1337 = 0) */
    }
    return FALSE;
  }
  if ((th->flags & (NL_TCP_SYN | NL_TCP_ACK)) == NL_TCP_SYN &&
      SEQ_GT(th->seq, tw->rcv_nxt)) {
    nl__tcp_done(tw);
    return TRUE;
  }
  if (th->flags & NL_TCP_FIN) {
    nl__tcp_send_ack(tw);
    nl_event_schedule_in(tw->st->q, &tw->t_keep, NL_TCP_TIMEWAIT_LEN);
  } else if (g->dlen > 0 || (th->flags & NL_TCP_SYN)) {
    nl__tcp_send_ack(tw);
  }
  return FALSE;
}

void nl_tcp_input(NlTcpStack *st, const guint8 *pkt, size_t len) {
  g_return_if_fail(st != NULL && pkt != NULL);
  NlIp4Header ip;
  if (nl_ip4_parse(pkt, len, &ip) != NULL)
    return;
  nl_tcp_input_ip4(st, pkt, len, &ip, FALSE);
}

static void input(NlTcpStack *st, const guint8 *pkt, size_t len,
                  const NlIp4Header *ip, gboolean sum_ok, NlPacket **keep) {
  Seg g;
  g.pkt = keep;
  g.ip = *ip;
  if (g.ip.proto != NL_IPPROTO_TCP || g.ip.mf || g.ip.frag_offset != 0)
    return;
  if ((sum_ok ? nl_tcp4_read(pkt, len, &g.ip, &g.th)
              : nl_tcp4_parse(pkt, len, &g.ip, &g.th)) != NULL)
    return;
  g.data = pkt + g.ip.ihl_bytes + g.th.hdr_bytes;
  g.dlen = (uint32_t)(g.ip.total_len - g.ip.ihl_bytes - g.th.hdr_bytes);
  st->stats.segs_in++;
  nl__tcp_enter(st);
  NlTcpSock *s = nl__tcp_lookup(st, g.ip.dst, g.th.dport, g.ip.src, g.th.sport);
  if (s != NULL && s->state == NL_TCP_TIME_WAIT) {
    if (!time_wait_input(s, &g))
      goto out;
    s = NULL;
  }
  if (s == NULL) {
    NlTcpSock *l =
        nl__tcp_lookup_listener(st, g.ip.dst, g.th.dport, g.ip.src, g.th.sport);
    if (l != NULL)
      listen_input(l, &g);
    else if (!(g.th.flags & NL_TCP_RST))
      nl__tcp_send_reset_reply(st, &g.ip, &g.th, g.dlen);
    goto out;
  }
  if (s->state == NL_TCP_SYN_SENT)
    syn_sent_input(s, &g);
  else
    synced_input(s, &g);
out:
  nl__tcp_leave(st);
}

void nl_tcp_input_ip4(NlTcpStack *st, const guint8 *pkt, size_t len,
                      const NlIp4Header *ip, gboolean sum_ok) {
  g_return_if_fail(st != NULL && pkt != NULL && ip != NULL);
  input(st, pkt, len, ip, sum_ok, NULL);
}

void nl_tcp_input_packet(NlTcpStack *st, NlPacket *pkt,
                         const NlIp4Header *ip) {
  g_return_if_fail(st != NULL && pkt != NULL && ip != NULL);
  input(st, pkt->data, pkt->len, ip, pkt->tcp_sum_ok, &pkt);
  nl_packet_free(pkt); /* NULL when the receive queue took it */
}

/* icmp_err_convert[] for destination unreachable codes. */
static int unreach_errno(guint8 code) {
  switch (code) {
    case 0:
    case 6:
    case 9:
    case 11:
      return ENETUNREACH;
    case 2:
      return ENOPROTOOPT;
    case 3:
      return ECONNREFUSED;
    case 4:
      return EMSGSIZE;
    case 5:
      return EOPNOTSUPP;
    case 7:
      return EHOSTDOWN;
    case 8:
      return ENONET;
    default:
      return EHOSTUNREACH;
  }
}

void nl_tcp_icmp_input(NlTcpStack *st, const guint8 *pkt, size_t len) {
  g_return_if_fail(st != NULL && pkt != NULL);
  NlIp4Header ip;
  if (nl_ip4_parse(pkt, len, &ip) != NULL || ip.proto != NL_IPPROTO_ICMP)
    return;
  const guint8 *ic = pkt + ip.ihl_bytes;
  size_t l4 = ip.total_len - ip.ihl_bytes;
  if (l4 < NL_ICMP_HDR_LEN + NL_IP4_HDR_LEN + 8)
    return;
  const guint8 *o = ic + NL_ICMP_HDR_LEN;
  size_t oihl = (size_t)(o[0] & 0x0f) * 4;
  if (oihl < NL_IP4_HDR_LEN || l4 < NL_ICMP_HDR_LEN + oihl + 8 ||
      o[9] != NL_IPPROTO_TCP)
    return;
  uint32_t qsrc = rd32(o + 12), qdst = rd32(o + 16);
  const guint8 *t = o + oihl;
  uint16_t sport = rd16(t), dport = rd16(t + 2);
  uint32_t seq = rd32(t + 4);
  guint8 type = ic[0], code = ic[1];
  int err;
  nl__tcp_enter(st);
  NlTcpSock *s = nl__tcp_lookup(st, qsrc, sport, qdst, dport);
  if (s == NULL || s->state == NL_TCP_TIME_WAIT)
    goto out;
  if (SEQ_LT(seq, s->snd_una) || SEQ_GT(seq, s->snd_max))
    goto out;
  if (type == NL_ICMP_DEST_UNREACH && code == NL_ICMP_FRAG_NEEDED) {
    guint mtu = rd16(ic + 6);
    if (mtu >= 68 + 40 && mtu - 40 - nl__tcp_opt_len(s) < s->mss) {
      s->mss = mtu - 40 - nl__tcp_opt_len(s);
      nl__tcp_trace(s, "path MTU %u: mss=%u", mtu, s->mss);
      if (nl__tcp_synced(s->state) && s->snd_una != s->snd_max) {
        s->snd_nxt = s->snd_una; /* tcp_simple_retransmit */
        nl__tcp_output(s);
      }
    }
    goto out;
  }
  if (type == NL_ICMP_DEST_UNREACH)
    err = unreach_errno(code);
  else if (type == NL_ICMP_TIME_EXCEEDED)
    err = EHOSTUNREACH;
  else
    goto out;
  if (s->state == NL_TCP_SYN_SENT ||
      (s->state == NL_TCP_SYN_RECEIVED && !s->passive)) {
    nl__tcp_trace(s, "ICMP error: %s",
                  err == ECONNREFUSED   ? "ECONNREFUSED"
                  : err == EHOSTUNREACH ? "EHOSTUNREACH"
                  : err == ENETUNREACH  ? "ENETUNREACH"
                                        : "other");
    s->err = err;
    nl__tcp_done(s);
  } else if (s->state == NL_TCP_SYN_RECEIVED) {
    nl__tcp_done(s); /* a half-open child is forgotten */
  } else {
    s->soft_err = err; /* reported if the connection times out */
  }
out:
  nl__tcp_leave(st);
}
