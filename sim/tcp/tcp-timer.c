/* Timers and congestion control: the RFC 6298 retransmission timer with
 * Linux's constants and give-up rule, the persist timer, delayed ACKs,
 * keepalive, FIN_WAIT_2 and TIME_WAIT, and NewReno's loss response.
 */
#include "sim/tcp/tcp-priv.h"

#include <errno.h>

static void on_rexmit(NlEvent *ev, void *data);
static void on_delack(NlEvent *ev, void *data);
static void on_keep(NlEvent *ev, void *data);

void nl__tcp_timers_init(NlTcpSock *s) {
  nl_event_init(&s->t_rexmit, on_rexmit, s);
  nl_event_init(&s->t_delack, on_delack, s);
  nl_event_init(&s->t_keep, on_keep, s);
}

void nl__tcp_timers_cancel(NlTcpSock *s) {
  NlEventQueue *q = s->st->q;
  nl_event_cancel(q, &s->t_rexmit);
  s->rexmit_at = 0;
  nl_event_cancel(q, &s->t_delack);
  nl_event_cancel(q, &s->t_keep);
}

/* RFC 6298 §2 with Linux's floor: RTO = SRTT + max(4 * RTTVAR, 200 ms). */
static NlTime rto_from_srtt(const NlTcpSock *s) {
  NlTime rto = s->srtt + MAX(4 * s->rttvar, NL_TCP_RTO_MIN);
  return CLAMP(rto, NL_TCP_RTO_MIN, NL_TCP_RTO_MAX);
}

NlTime nl__tcp_rto_now(const NlTcpSock *s) {
  return s->rto;
}

void nl__tcp_rtt_sample(NlTcpSock *s, NlTime r) {
  if (r <= 0)
    r = 1;
  if (s->srtt == 0) {
    s->srtt = r;
    s->rttvar = r / 2;
  } else {
    NlTime d = s->srtt > r ? s->srtt - r : r - s->srtt;
    s->rttvar = (3 * s->rttvar + d) / 4;
    s->srtt = (7 * s->srtt + r) / 8;
  }
  s->rto = rto_from_srtt(s);
}

/* Linux's retransmits_timed_out(): the give-up time is what @boundary
 * doublings of @rto_base (capped at TCP_RTO_MAX) add up to, counted from
 * the first transmission of the segment at the head; TCP_USER_TIMEOUT
 * replaces it. */
static gboolean timed_out(const NlTcpSock *s, guint boundary, NlTime rto_base) {
  if (s->retrans_stamp == 0 && s->retransmits == 0)
    return FALSE;
  NlTime timeout;
  if (s->user_timeout) {
    timeout = (NlTime)s->user_timeout * NL_MS;
  } else {
    guint thresh = 0;
    while (((NlTime)2 << thresh) * rto_base <= NL_TCP_RTO_MAX)
      thresh++; /* ilog2(RTO_MAX / rto_base) */
    if (boundary <= thresh)
      timeout = (((NlTime)2 << boundary) - 1) * rto_base;
    else
      timeout = (((NlTime)2 << thresh) - 1) * rto_base +
                (NlTime)(boundary - thresh) * NL_TCP_RTO_MAX;
  }
  return nl__tcp_now(s) - s->retrans_stamp >= timeout;
}

static void arm_at(NlTcpSock *s, NlTime delay) {
  if (s->user_timeout && s->retrans_stamp) {
    /* tcp_clamp_rto_to_user_timeout */
    NlTime left =
        s->retrans_stamp + (NlTime)s->user_timeout * NL_MS - nl__tcp_now(s);
    delay = MIN(delay, MAX(left, NL_MS));
  }
  /* Lazy re-arming: every ACK pushes the deadline back, and moving an
   * event in the heap costs two sifts.  A pending event that fires no
   * later than the new deadline is left alone; it re-arms itself when it
   * fires early (the trick Linux's timer wheel users rely on too). */
  NlTime at = nl__tcp_now(s) + delay;
  s->rexmit_at = at;
  if (nl_event_pending(&s->t_rexmit) && s->rexmit_ev_at <= at)
    return;
  nl_event_schedule(s->st->q, &s->t_rexmit, at);
  s->rexmit_ev_at = at;
}

void nl__tcp_disarm_rexmit(NlTcpSock *s) {
  s->rexmit_at = 0; /* a pending event finds nothing to do */
}

void nl__tcp_arm_rexmit(NlTcpSock *s) {
  switch (s->state) {
    case NL_TCP_SYN_SENT:
    case NL_TCP_SYN_RECEIVED:
      arm_at(s, s->rto);
      return;
    case NL_TCP_ESTABLISHED:
    case NL_TCP_CLOSE_WAIT:
    case NL_TCP_FIN_WAIT_1:
    case NL_TCP_CLOSING:
    case NL_TCP_LAST_ACK:
      break;
    default:
      nl__tcp_disarm_rexmit(s);
      return;
  }
  if (s->snd_una != s->snd_max) {
    arm_at(s, s->rto);
    return;
  }
  uint32_t data_end = s->snd_buf_seq + (uint32_t)s->sndq.len;
  if (SEQ_LT(s->snd_nxt, data_end)) {
    /* Window closed with data waiting: the persist timer
     * (tcp_probe0_when: RTO doubled per unanswered probe). */
    NlTime d = s->rto;
    for (guint i = 0; i < s->persist_backoff && d < NL_TCP_RTO_MAX; i++)
      d *= 2;
    arm_at(s, MIN(d, NL_TCP_RTO_MAX));
    return;
  }
  nl__tcp_disarm_rexmit(s);
}

/* An RTO: NewReno's loss window (RFC 5681 §3.1, RFC 6582 §3.2 step 4). */
void nl__tcp_enter_loss(NlTcpSock *s) {
  uint32_t flight = s->snd_max - s->snd_una;
  s->ssthresh = MAX(flight / 2, 2 * s->mss);
  s->cwnd = s->mss;
  s->cwnd_acc = 0;
  s->recover = s->snd_max;
  s->in_recovery = 0;
  s->dupacks = 0;
  s->rtt_timing = 0;
}

static void give_up(NlTcpSock *s) {
  s->err = s->soft_err ? s->soft_err : ETIMEDOUT;
  nl__tcp_trace(s, "timeout: %s", s->err == ETIMEDOUT ? "ETIMEDOUT" : "error");
  nl__tcp_done(s);
}

static void on_rexmit(NlEvent *ev, void *data) {
  NlTcpSock *s = data;
  NlTcpStack *st = s->st;
  NlTime now = nl__tcp_now(s);
  char rb[NL_TIME_STRLEN];
  (void)ev;
  if (s->rexmit_at == 0)
    return; /* disarmed since it was scheduled */
  if (now < s->rexmit_at) {
    nl_event_schedule(st->q, &s->t_rexmit, s->rexmit_at);
    s->rexmit_ev_at = s->rexmit_at;
    return;
  }
  s->rexmit_at = 0;
  nl__tcp_enter(st);
  switch (s->state) {
    case NL_TCP_SYN_SENT:
    case NL_TCP_SYN_RECEIVED:
      if (s->passive) {
        /* A half-open child: SYN-ACK retries, then it is forgotten. */
        if (s->retransmits >= NL_TCP_SYNACK_RETRIES) {
          nl__tcp_trace(s, "SYN-ACK retries exhausted");
          nl__tcp_done(s);
          break;
        }
      } else if (timed_out(s, NL_TCP_SYN_RETRIES, NL_TCP_RTO_INIT)) {
        give_up(s);
        break;
      }
      s->retransmits++;
      s->rto = MIN(s->rto * 2, NL_TCP_RTO_MAX);
      nl__tcp_trace(s, "retransmit %s seq=%u (rto=%s)",
                    s->state == NL_TCP_SYN_SENT ? "SYN" : "SYN-ACK", s->iss,
                    nl_time_to_string(s->rto, rb));
      st->stats.retransmits++;
      st->stats.timeouts++;
      nl__tcp_send_syn(s);
      nl__tcp_arm_rexmit(s);
      break;
    case NL_TCP_ESTABLISHED:
    case NL_TCP_CLOSE_WAIT:
    case NL_TCP_FIN_WAIT_1:
    case NL_TCP_CLOSING:
    case NL_TCP_LAST_ACK:
      if (s->snd_una == s->snd_max) {
        /* The persist timer: probe the zero window (tcp_probe_timer). */
        uint32_t data_end = s->snd_buf_seq + (uint32_t)s->sndq.len;
        if (!SEQ_LT(s->snd_nxt, data_end))
          break;
        /* probes_out is reset by every ACK: a peer that answers keeps
         * the connection forever, as on Linux. */
        if (s->probes_out >= NL_TCP_RETRIES2) {
          give_up(s);
          break;
        }
        s->probes_out++;
        s->persist_backoff++;
        nl__tcp_trace(s, "zero-window probe %u", s->persist_backoff);
        if (s->snd_wnd > 0) {
          nl__tcp_output(s);
        } else {
          nl__tcp_send_probe(s);
          nl__tcp_arm_rexmit(s);
        }
        break;
      }
      if (s->retrans_stamp == 0)
        s->retrans_stamp = now - s->rto;
      /* Orphans (closed by the user) give up sooner: tcp_orphan_retries
       * = 0 means 8 (tcp_orphan_retries()). */
      if (timed_out(s, s->user_owned ? NL_TCP_RETRIES2 : NL_TCP_ORPHAN_RETRIES,
                    NL_TCP_RTO_MIN)) {
        give_up(s);
        break;
      }
      st->stats.timeouts++;
      nl__tcp_enter_loss(s);
      s->retransmits++;
      s->rto = MIN(s->rto * 2, NL_TCP_RTO_MAX);
      nl__tcp_trace(s, "retransmit seq=%u (rto=%s)", s->snd_una,
                    nl_time_to_string(s->rto, rb));
      /* Go back N from the oldest unacknowledged byte. */
      s->snd_nxt = s->snd_una;
      nl__tcp_output(s);
      nl__tcp_arm_rexmit(s);
      break;
    default:
      break;
  }
  nl__tcp_leave(st);
}

static void on_delack(NlEvent *ev, void *data) {
  NlTcpSock *s = data;
  (void)ev;
  if (!s->want_ack || !nl__tcp_synced(s->state))
    return;
  s->pingpong = 0; /* a delayed ACK was missed: leave pingpong mode */
  nl__tcp_enter(s->st);
  nl__tcp_send_ack(s);
  nl__tcp_leave(s->st);
}

void nl__tcp_arm_keepalive(NlTcpSock *s) {
  NlEventQueue *q = s->st->q;
  if (s->state == NL_TCP_TIME_WAIT || s->state == NL_TCP_FIN_WAIT_2)
    return; /* t_keep serves those states */
  if (!s->keepalive || !nl__tcp_synced(s->state)) {
    nl_event_cancel(q, &s->t_keep);
    return;
  }
  NlTime at = s->last_rcv + (NlTime)s->keepidle * NL_S;
  nl_event_schedule(q, &s->t_keep, MAX(at, nl_event_now(q)));
}

/* Keepalive (tcp_keepalive_timer), the orphaned FIN_WAIT_2 timeout
 * (tcp_fin_timeout) and the end of TIME_WAIT. */
static void on_keep(NlEvent *ev, void *data) {
  NlTcpSock *s = data;
  NlTcpStack *st = s->st;
  NlTime now = nl__tcp_now(s);
  (void)ev;
  nl__tcp_enter(st);
  if (s->state == NL_TCP_TIME_WAIT ||
      (s->state == NL_TCP_FIN_WAIT_2 && !s->user_owned)) {
    nl__tcp_done(s);
    nl__tcp_leave(st);
    return;
  }
  if (!s->keepalive || !nl__tcp_synced(s->state)) {
    nl__tcp_leave(st);
    return;
  }
  NlTime idle = (NlTime)s->keepidle * NL_S;
  NlTime next = idle;
  /* Data in flight or waiting: the retransmission timer watches it. */
  if (s->snd_una == s->snd_max && s->sndq.len == 0 && !s->fin_queued) {
    NlTime elapsed = now - s->last_rcv;
    if (elapsed >= idle) {
      if ((s->user_timeout && elapsed >= (NlTime)s->user_timeout * NL_MS &&
           s->probes_out > 0) ||
          (!s->user_timeout && s->probes_out >= (guint)s->keepcnt)) {
        nl__tcp_send_rst(s);
        nl__tcp_trace(s, "keepalive: no answer to %u probes", s->probes_out);
        give_up(s);
        nl__tcp_leave(st);
        return;
      }
      nl__tcp_send_probe(s);
      s->probes_out++;
      nl__tcp_trace(s, "keepalive probe %u", s->probes_out);
      next = (NlTime)s->keepintvl * NL_S;
    } else {
      next = idle - elapsed;
    }
  }
  nl_event_schedule_in(st->q, &s->t_keep, next);
  nl__tcp_leave(st);
}
