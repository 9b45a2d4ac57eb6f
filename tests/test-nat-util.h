/* Shared helpers for the tests/test-nat-*.c files: a NAT on a real event
 * queue and trace, packet builders over sim/net/wire.h, and checks that a
 * rewritten packet still has every checksum right.  Header-only; include
 * after <cmocka.h>. */
#ifndef NL_TEST_NAT_UTIL_H
#define NL_TEST_NAT_UTIL_H

#include <string.h>

#include "natmodels/nat.h"
#include "sim/net/wire.h"

#define SEED 20251125u

typedef struct {
  NlEventQueue *q;
  NlTrace *trace;
  NlNat *nat;
  NlEvent tick;
  guint8 pkt[2048];
  size_t len;
  NlDropReason why;
} Env;

static inline uint32_t A(const char *s) {
  uint32_t a = 0;
  gboolean ok = nl_ip4_from_string(s, &a);
  g_assert(ok);
  return a;
}

static void env_noop(NlEvent *ev, void *data) {
}

/* Creates @env with a NAT of behaviour @b on external address(es). */
static inline void env_init_n(Env *env, const NlNatBehaviour *b,
                              const uint32_t *ext, guint n, const char *name) {
  memset(env, 0, sizeof *env);
  env->q = nl_event_queue_new();
  env->trace = nl_trace_new();
  nl_event_init(&env->tick, env_noop, NULL);
  env->nat = nl_nat_new(b, ext, n, env->q, env->trace,
                        nl_trace_intern(env->trace, name), SEED, name);
  assert_non_null(env->nat);
}

static inline void env_init(Env *env, const NlNatBehaviour *b) {
  uint32_t ext = A("203.0.113.1");
  env_init_n(env, b, &ext, 1, "nat");
}

static inline void env_free(Env *env) {
  nl_nat_free(env->nat);
  nl_trace_free(env->trace);
  nl_event_queue_free(env->q);
}

/* Moves the clock to @t through the real queue: a no-op event at @t, then
 * run until @t (the NAT's expiry event fires on the way). */
static inline void env_at(Env *env, NlTime t) {
  if (t > nl_event_now(env->q))
    nl_event_schedule(env->q, &env->tick, t);
  nl_event_run_until(env->q, t);
  assert_int_equal(nl_event_now(env->q), t);
}

/* A behaviour: preset @preset with "field=value" overrides (NULL ends). */
static inline NlNatBehaviour behaviour(const char *preset, ...) {
  const NlNatBehaviour *p = nl_nat_behaviour_find(preset);
  assert_non_null(p);
  NlNatBehaviour b = *p;
  va_list ap;
  va_start(ap, preset);
  const char *field;
  while ((field = va_arg(ap, const char *)) != NULL) {
    const char *value = va_arg(ap, const char *);
    GError *error = NULL;
    gboolean ok = nl_nat_behaviour_set(&b, field, value, &error);
    if (!ok)
      fail_msg("%s", error->message);
  }
  va_end(ap);
  return b;
}

/* ---- packets ---- */

static inline size_t build_udp(guint8 *buf, uint32_t src, uint16_t sport,
                               uint32_t dst, uint16_t dport) {
  static const char payload[] = "natlab";
  return nl_udp4_build(buf, src, sport, dst, dport, payload,
                       sizeof payload - 1, 4242, 64, FALSE);
}

static inline size_t build_tcp(guint8 *buf, uint32_t src, uint16_t sport,
                               uint32_t dst, uint16_t dport, uint8_t flags) {
  NlIp4Header h = {.total_len = NL_IP4_HDR_LEN + NL_TCP_HDR_LEN,
                   .id = 7,
                   .ttl = 64,
                   .proto = NL_IPPROTO_TCP,
                   .src = src,
                   .dst = dst};
  nl_ip4_write(buf, &h);
  guint8 *t = buf + NL_IP4_HDR_LEN;
  memset(t, 0, NL_TCP_HDR_LEN);
  t[0] = (guint8)(sport >> 8);
  t[1] = (guint8)sport;
  t[2] = (guint8)(dport >> 8);
  t[3] = (guint8)dport;
  t[4] = 0x11; /* seq */
  t[11] = (flags & NL_TCP_ACK) ? 0x22 : 0;
  t[12] = 5 << 4;
  t[13] = flags;
  t[14] = 0xff; /* window */
  t[16] = 0xab; /* nonzero before the fix-up, to be sure it is recomputed */
  t[17] = 0xcd;
  nl_ip4_update_l4_checksum(buf, h.total_len);
  return h.total_len;
}

static inline size_t build_echo(guint8 *buf, uint32_t src, uint32_t dst,
                                uint8_t type, uint16_t id) {
  NlIp4Header h = {.total_len = NL_IP4_HDR_LEN + NL_ICMP_HDR_LEN + 4,
                   .id = 9,
                   .ttl = 64,
                   .proto = NL_IPPROTO_ICMP,
                   .src = src,
                   .dst = dst};
  nl_ip4_write(buf, &h);
  guint8 *ic = buf + NL_IP4_HDR_LEN;
  memset(ic, 0, NL_ICMP_HDR_LEN + 4);
  ic[0] = type;
  ic[4] = (guint8)(id >> 8);
  ic[5] = (guint8)id;
  ic[7] = 1; /* sequence */
  memcpy(ic + 8, "ping", 4);
  nl_ip4_update_l4_checksum(buf, h.total_len);
  return h.total_len;
}

/* The addresses and ports of a packet after the NAT, with every checksum
 * checked. */
typedef struct {
  uint8_t proto;
  uint32_t src, dst;
  uint16_t sport, dport; /* ICMP echo: identifier in both */
} Seen;

static inline Seen seen_checked(const guint8 *pkt, size_t len) {
  NlIp4Header ip;
  Seen s = {0};
  const char *why = nl_ip4_parse(pkt, len, &ip);
  if (why != NULL)
    fail_msg("IPv4: %s", why);
  s.proto = ip.proto;
  s.src = ip.src;
  s.dst = ip.dst;
  const guint8 *l4 = pkt + ip.ihl_bytes;
  size_t l4len = ip.total_len - ip.ihl_bytes;
  if (ip.proto == NL_IPPROTO_UDP) {
    NlUdpHeader u;
    if ((why = nl_udp4_parse(pkt, len, &ip, &u)) != NULL)
      fail_msg("UDP: %s", why);
    s.sport = u.sport;
    s.dport = u.dport;
  } else if (ip.proto == NL_IPPROTO_TCP) {
    NlTcpHeader t;
    if ((why = nl_tcp4_parse(pkt, len, &ip, &t)) != NULL)
      fail_msg("TCP: %s", why);
    s.sport = t.sport;
    s.dport = t.dport;
  } else if (ip.proto == NL_IPPROTO_ICMP) {
    assert_int_equal(nl_wire_checksum(l4, l4len), 0);
    s.sport = s.dport = (uint16_t)((l4[4] << 8) | l4[5]);
  }
  return s;
}

/* Runs the packet in env->pkt through the NAT. */
static inline NlNatVerdict env_process(Env *env, NlNatDirection dir) {
  return nl_nat_process(env->nat, dir, env->pkt, env->len, &env->why);
}

/* Sends UDP @src:@sport -> @dst:@dport in direction @dir; returns the
 * verdict; on PASS/HAIRPIN *out gets the rewritten packet's endpoints. */
static inline NlNatVerdict env_udp(Env *env, NlNatDirection dir, uint32_t src,
                                   uint16_t sport, uint32_t dst,
                                   uint16_t dport, Seen *out) {
  env->len = build_udp(env->pkt, src, sport, dst, dport);
  NlNatVerdict v = env_process(env, dir);
  if (v != NL_NAT_DROP) {
    assert_int_equal(env->why, NL_DROP_NONE);
    if (out)
      *out = seen_checked(env->pkt, env->len);
  } else {
    assert_int_not_equal(env->why, NL_DROP_NONE);
  }
  return v;
}

static inline NlNatVerdict env_tcp(Env *env, NlNatDirection dir, uint32_t src,
                                   uint16_t sport, uint32_t dst,
                                   uint16_t dport, uint8_t flags, Seen *out) {
  env->len = build_tcp(env->pkt, src, sport, dst, dport, flags);
  NlNatVerdict v = env_process(env, dir);
  if (v != NL_NAT_DROP && out)
    *out = seen_checked(env->pkt, env->len);
  return v;
}

/* The NAT_MAP records, one "time text" line each. */
static inline GString *env_map_records(const Env *env) {
  GString *out = g_string_new(NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, env->trace);
  while (nl_trace_iter_next(&it, &rec, &payload)) {
    if (rec->kind != NL_TRACE_NAT_MAP)
      continue;
    char tb[NL_TIME_STRLEN];
    g_string_append_printf(out, "%s %.*s\n", nl_time_to_string(rec->time, tb),
                           (int)rec->len, (const char *)payload);
  }
  return out;
}

/* The whole trace as text, for determinism checks. */
static inline char *env_trace_text(const Env *env) {
  GString *out = g_string_new(NULL);
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, env->trace);
  while (nl_trace_iter_next(&it, &rec, &payload)) {
    nl_trace_format(env->trace, rec, payload, out);
    g_string_append_c(out, '\n');
  }
  return g_string_free(out, FALSE);
}

/* Number of NAT_MAP records with aux @ev. */
static inline guint env_count_records(const Env *env, NlNatMapEvent ev) {
  guint n = 0;
  NlTraceIter it;
  const NlTraceRecord *rec;
  const guint8 *payload;
  nl_trace_iter_init(&it, env->trace);
  while (nl_trace_iter_next(&it, &rec, &payload))
    if (rec->kind == NL_TRACE_NAT_MAP && rec->aux == ev)
      n++;
  return n;
}

#endif
