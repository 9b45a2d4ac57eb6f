/* The ICE agent (programs/ice/ice-agent.c) without the simulator: two
 * agents wired to an in-memory network in virtual time, with an optional
 * NAT in front of the first one (endpoint-independent mapping, port kept)
 * and a STUN server.  What is asserted is read from the datagrams on the
 * wire and the agents' events. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ice-agent.h"
#include "stun-codec.h"

#define MS G_GINT64_CONSTANT(1000000)
#define S (1000 * MS)
#define LATENCY (10 * MS)

typedef struct Net Net;

typedef struct {
  Net *net;
  int id;
  NlIceAgent *agent;
  struct sockaddr_storage addr; /* its socket */
  GPtrArray *cands;             /* NlIceCandidate* gathered */
  gboolean gathered;
  int selected, path_failed, failed, data;
  int64_t selected_at, path_failed_at, failed_at;
  NlIcePair pair;
  GString *log;
} Peer;

typedef struct {
  int64_t at;
  struct sockaddr_storage from, to;
  guint8 *buf;
  size_t len;
} Pkt;

struct Net {
  int64_t now;
  GQueue q; /* Pkt*, in time order */
  Peer p[2];
  gboolean nat_a;       /* p[0] behind a NAT at 203.0.113.1 */
  gboolean drop_all;    /* every datagram is lost */
  gboolean stun;        /* a STUN server at 192.0.2.1:3478 */
  GPtrArray *wire;      /* Pkt* copies of every datagram sent, for checks */
};

static void addr4(struct sockaddr_storage *ss, const char *ip, int port) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *s = (struct sockaddr_in *)ss;
  s->sin_family = AF_INET;
  s->sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, ip, &s->sin_addr);
}

static gboolean same(const struct sockaddr_storage *a,
                     const struct sockaddr_storage *b) {
  return nl_stun_addr_equal((const struct sockaddr *)a,
                            (const struct sockaddr *)b);
}

static void enqueue(Net *n, const struct sockaddr_storage *from,
                    const struct sockaddr_storage *to, const guint8 *buf,
                    size_t len) {
  Pkt *p = g_new0(Pkt, 1);
  p->at = n->now + LATENCY;
  p->from = *from;
  p->to = *to;
  p->buf = g_memdup2(buf, len);
  p->len = len;
  Pkt *copy = g_new0(Pkt, 1);
  *copy = *p;
  copy->buf = g_memdup2(buf, len);
  g_ptr_array_add(n->wire, copy);
  if (n->drop_all) {
    g_free(p->buf);
    g_free(p);
    return;
  }
  g_queue_push_tail(&n->q, p); /* constant latency: stays in time order */
}

static void pkt_free(gpointer data) {
  Pkt *p = data;
  g_free(p->buf);
  g_free(p);
}

/* The NAT in front of peer 0: 10.0.0.1:P <-> 203.0.113.1:P. */
static void nat_out(Net *n, struct sockaddr_storage *from) {
  struct sockaddr_storage inside;
  addr4(&inside, "10.0.0.1", 5000);
  if (n->nat_a && same(from, &inside))
    addr4(from, "203.0.113.1", 5000);
}

static void nat_in(Net *n, struct sockaddr_storage *to) {
  struct sockaddr_storage outside;
  addr4(&outside, "203.0.113.1", 5000);
  if (n->nat_a && same(to, &outside))
    addr4(to, "10.0.0.1", 5000);
}

static void on_send(void *user, int socket, const struct sockaddr *to,
                    const uint8_t *buf, size_t len) {
  Peer *p = user;
  struct sockaddr_storage from = p->addr, dst;
  memset(&dst, 0, sizeof dst);
  memcpy(&dst, to, nl_stun_addr_len(to));
  if (p->id == 0)
    nat_out(p->net, &from);
  enqueue(p->net, &from, &dst, buf, len);
}

static void on_event(void *user, const NlIceEvent *ev) {
  Peer *p = user;
  switch (ev->kind) {
    case NL_ICE_EVENT_CANDIDATE: {
      NlIceCandidate *c = g_new(NlIceCandidate, 1);
      *c = *ev->candidate;
      g_ptr_array_add(p->cands, c);
      break;
    }
    case NL_ICE_EVENT_GATHERING_DONE: p->gathered = TRUE; break;
    case NL_ICE_EVENT_SELECTED:
      p->selected++;
      p->selected_at = p->net->now;
      p->pair = *ev->pair;
      break;
    case NL_ICE_EVENT_PATH_FAILED:
      p->path_failed++;
      p->path_failed_at = p->net->now;
      break;
    case NL_ICE_EVENT_STATE:
      if (ev->state == NL_ICE_STATE_FAILED) {
        p->failed++;
        p->failed_at = p->net->now;
      }
      break;
    case NL_ICE_EVENT_DATA: p->data++; break;
    case NL_ICE_EVENT_LOG:
      g_string_append_printf(p->log, "%s\n", ev->text);
      break;
    default: break;
  }
}

/* The STUN server answers Binding requests with the source it saw. */
static void stun_answer(Net *n, const Pkt *pk) {
  NlStunMsg m;
  if (nl_stun_msg_parse(pk->buf, pk->len, &m) != NL_STUN_OK ||
      m.klass != NL_STUN_REQUEST)
    return;
  guint8 out[256];
  size_t len = nl_stun_binding_response_build(
      m.tid, (const struct sockaddr *)&pk->from, out, sizeof out);
  enqueue(n, &pk->to, &pk->from, out, len);
}

static void peer_init(Net *n, int id, const NlIceConfig *cfg_in) {
  Peer *p = &n->p[id];
  p->net = n;
  p->id = id;
  p->cands = g_ptr_array_new_with_free_func(g_free);
  p->log = g_string_new(NULL);
  addr4(&p->addr, id == 0 ? "10.0.0.1" : "198.51.100.2", 5000);
  NlIceConfig cfg = *cfg_in;
  cfg.seed = cfg_in->seed + (uint64_t)id * 1000;
  if (n->stun)
    addr4(&cfg.stun, "192.0.2.1", 3478);
  NlIceCallbacks cb = {.send = on_send, .event = on_event, .user = p};
  p->agent = nl_ice_agent_new(&cfg, &cb);
  assert_int_equal(
      nl_ice_agent_add_socket(p->agent, (struct sockaddr *)&p->addr), 0);
}

static void net_init(Net *n, gboolean nat_a, gboolean stun) {
  memset(n, 0, sizeof *n);
  g_queue_init(&n->q);
  n->nat_a = nat_a;
  n->stun = stun;
  n->wire = g_ptr_array_new_with_free_func(pkt_free);
}

static void net_free(Net *n) {
  for (int i = 0; i < 2; i++) {
    nl_ice_agent_free(n->p[i].agent);
    g_ptr_array_unref(n->p[i].cands);
    g_string_free(n->p[i].log, TRUE);
  }
  g_queue_clear_full(&n->q, pkt_free);
  g_ptr_array_unref(n->wire);
}

/* Runs the network and both agents until virtual time @until. */
static void run_until(Net *n, int64_t until) {
  for (;;) {
    int64_t next = INT64_MAX;
    Pkt *head = g_queue_peek_head(&n->q);
    if (head)
      next = head->at;
    for (int i = 0; i < 2; i++)
      if (n->p[i].agent)
        next = MIN(next, nl_ice_agent_next_deadline(n->p[i].agent));
    if (next > until)
      break;
    assert_true(next >= n->now); /* time never goes back */
    n->now = next;
    while ((head = g_queue_peek_head(&n->q)) && head->at <= n->now) {
      Pkt *pk = g_queue_pop_head(&n->q);
      struct sockaddr_storage stun;
      addr4(&stun, "192.0.2.1", 3478);
      if (n->stun && same(&pk->to, &stun)) {
        stun_answer(n, pk);
      } else {
        nat_in(n, &pk->to);
        for (int i = 0; i < 2; i++)
          if (same(&pk->to, &n->p[i].addr))
            nl_ice_agent_receive(n->p[i].agent, 0,
                                 (struct sockaddr *)&pk->from, pk->buf,
                                 pk->len, n->now);
      }
      pkt_free(pk);
    }
    for (int i = 0; i < 2; i++)
      if (nl_ice_agent_next_deadline(n->p[i].agent) <= n->now)
        nl_ice_agent_tick(n->p[i].agent, n->now);
  }
  n->now = until;
}

/* Signaling, done by hand: credentials (unless @pwd_a_b gives the
 * passwords each will believe the other has) and every gathered
 * candidate. */
static void exchange_with(Net *n, const char *const pwd_a_b[2]) {
  for (int i = 0; i < 2; i++) {
    Peer *p = &n->p[i], *o = &n->p[1 - i];
    nl_ice_agent_set_remote_credentials(
        o->agent, nl_ice_agent_ufrag(p->agent),
        pwd_a_b ? pwd_a_b[1 - i] : nl_ice_agent_pwd(p->agent));
    for (guint k = 0; k < p->cands->len; k++) {
      /* Through the SDP form, as signaling carries them. */
      char sdp[256];
      NlIceCandidate c;
      nl_ice_candidate_to_sdp(g_ptr_array_index(p->cands, k), sdp, sizeof sdp);
      assert_true(nl_ice_candidate_from_sdp(sdp, &c));
      assert_true(nl_ice_agent_add_remote_candidate(o->agent, &c, n->now));
    }
    nl_ice_agent_remote_done(o->agent, n->now);
  }
}

static void exchange(Net *n) {
  exchange_with(n, NULL);
}

static void connect_pair(Net *n, const NlIceConfig *cfg_a,
                         const NlIceConfig *cfg_b) {
  peer_init(n, 0, cfg_a);
  peer_init(n, 1, cfg_b);
  nl_ice_agent_gather(n->p[0].agent, n->now);
  nl_ice_agent_gather(n->p[1].agent, n->now);
  run_until(n, 1 * S);
  assert_true(n->p[0].gathered && n->p[1].gathered);
  exchange(n);
}

static NlIceConfig config(NlIceRole role, uint64_t seed) {
  NlIceConfig c;
  memset(&c, 0, sizeof c);
  c.role = role;
  c.seed = seed;
  return c;
}

/* ---- pure parts ---- */

static void test_ice_priority_formula(void **state) {
  /* RFC 8445 §5.1.2.1 with the recommended type preferences, one
   * interface (local preference 65535), component 1. */
  assert_int_equal(nl_ice_priority(NL_ICE_CAND_HOST, 65535, 1), 2130706431u);
  assert_int_equal(nl_ice_priority(NL_ICE_CAND_PRFLX, 65535, 1), 1862270975u);
  assert_int_equal(nl_ice_priority(NL_ICE_CAND_SRFLX, 65535, 1), 1694498815u);
  assert_int_equal(nl_ice_priority(NL_ICE_CAND_RELAY, 65535, 1), 16777215u);
  assert_int_equal(nl_ice_priority(NL_ICE_CAND_HOST, 0, 2), 126u << 24 | 254);
  /* §6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0). */
  uint64_t g = 2130706431u, d = 1694498815u;
  assert_true(nl_ice_pair_priority(g, d) == (d << 32) + 2 * g + 1);
  assert_true(nl_ice_pair_priority(d, g) == (d << 32) + 2 * g);
  assert_true(nl_ice_pair_priority(g, g) == (g << 32) + 2 * g);
}

static void test_ice_sdp_round_trip_and_refusals(void **state) {
  NlIceCandidate c;
  const char *line = "candidate:17 1 udp 1694498815 203.0.113.1 50001 typ "
                     "srflx raddr 10.0.0.5 rport 50001";
  assert_true(nl_ice_candidate_from_sdp(line, &c));
  assert_int_equal(c.type, NL_ICE_CAND_SRFLX);
  assert_int_equal(c.priority, 1694498815u);
  assert_string_equal(c.foundation, "17");
  char buf[256], a[64];
  assert_string_equal(
      nl_stun_addr_to_string((struct sockaddr *)&c.related, a, sizeof a),
      "10.0.0.5:50001");
  assert_string_equal(nl_ice_candidate_to_sdp(&c, buf, sizeof buf), line);
  assert_true(nl_ice_candidate_from_sdp(
      "a=candidate:1 1 UDP 2130706431 10.0.0.5 5000 typ host generation 0",
      &c));
  assert_int_equal(c.type, NL_ICE_CAND_HOST);
  const char *bad[] = {
      "candidate:1 1 udp 2130706431 10.0.0.5 5000 typ", /* no type */
      "candidate:1 1 tcp 2130706431 10.0.0.5 5000 typ host",
      "candidate:1 0 udp 2130706431 10.0.0.5 5000 typ host",
      "candidate:1 1 udp 2130706431 10.0.0.5 70000 typ host",
      "candidate:1 1 udp 99999999999 10.0.0.5 5000 typ host",
      "candidate:1 1 udp 2130706431 10.0.0.300 5000 typ host",
      "candidate:1 1 udp 2130706431 10.0.0.5 5000 typ cone",
      "candidate:f-1 1 udp 2130706431 10.0.0.5 5000 typ host",
      "candidate:1 1 udp 2130706431 10.0.0.5 5000 typ srflx raddr",
      "candidate:1 1 udp 2130706431 10.0.0.5 5000 typ srflx rport x raddr 1.2.3.4",
      "cand:1 1 udp 2130706431 10.0.0.5 5000 typ host",
      "",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    assert_false(nl_ice_candidate_from_sdp(bad[i], &c));
    assert_int_equal(c.priority, 0); /* zeroed on failure */
  }
}

/* ---- agents ---- */

/* The check requests one agent put on the wire, parsed, in order. */
static GPtrArray *requests_from(Net *n, const char *ip) {
  GPtrArray *out = g_ptr_array_new();
  struct sockaddr_storage src;
  addr4(&src, ip, 5000);
  for (guint i = 0; i < n->wire->len; i++) {
    Pkt *p = g_ptr_array_index(n->wire, i);
    NlStunMsg m;
    if (same(&p->from, &src) &&
        nl_stun_msg_parse(p->buf, p->len, &m) == NL_STUN_OK &&
        m.klass == NL_STUN_REQUEST && m.method == NL_STUN_BINDING &&
        nl_stun_msg_find(&m, NL_STUN_ATTR_USERNAME) != NULL)
      g_ptr_array_add(out, p);
  }
  return out;
}

static void test_ice_agent_connects_with_authenticated_checks(void **state) {
  Net n;
  net_init(&n, FALSE, FALSE);
  NlIceConfig a = config(NL_ICE_ROLE_CONTROLLING, 1);
  NlIceConfig b = config(NL_ICE_ROLE_CONTROLLED, 1);
  connect_pair(&n, &a, &b);
  run_until(&n, 3 * S);
  assert_int_equal(n.p[0].selected, 1);
  assert_int_equal(n.p[1].selected, 1);
  assert_int_equal(n.p[0].pair.local.type, NL_ICE_CAND_HOST);
  assert_int_equal(n.p[0].pair.remote.type, NL_ICE_CAND_HOST);
  assert_false(n.p[0].pair.relayed);
  /* Host to host with nothing better pending: selected within a few
   * round trips of the start of checks. */
  assert_true(n.p[0].selected_at < 1 * S + 200 * MS);
  /* The checks as RFC 8445 §7.2.2 wants them. */
  GPtrArray *reqs = requests_from(&n, "10.0.0.1");
  assert_true(reqs->len >= 2);
  gboolean saw_use = FALSE;
  for (guint i = 0; i < reqs->len; i++) {
    Pkt *p = g_ptr_array_index(reqs, i);
    NlStunMsg m;
    assert_int_equal(nl_stun_msg_parse(p->buf, p->len, &m), NL_STUN_OK);
    assert_true(m.fingerprint >= 0);
    const uint8_t *u;
    size_t ul;
    assert_int_equal(nl_stun_msg_get_string(&m, NL_STUN_ATTR_USERNAME, &u, &ul),
                     NL_STUN_OK);
    char *want = g_strdup_printf("%s:%s", nl_ice_agent_ufrag(n.p[1].agent),
                                 nl_ice_agent_ufrag(n.p[0].agent));
    assert_int_equal(ul, strlen(want));
    assert_memory_equal(u, want, ul);
    g_free(want);
    const char *pwd = nl_ice_agent_pwd(n.p[1].agent);
    assert_int_equal(
        nl_stun_msg_check_integrity(&m, (const uint8_t *)pwd, strlen(pwd)),
        NL_STUN_OK);
    assert_int_equal(nl_stun_msg_check_integrity(&m, (const uint8_t *)"x", 1),
                     NL_STUN_INTEGRITY_MISMATCH);
    uint32_t prio;
    assert_int_equal(nl_stun_msg_get_u32(&m, NL_STUN_ATTR_PRIORITY, &prio),
                     NL_STUN_OK);
    assert_int_equal(prio, nl_ice_priority(NL_ICE_CAND_PRFLX, 65535, 1));
    const NlStunAttr *ctl = nl_stun_msg_find(&m, NL_STUN_ATTR_ICE_CONTROLLING);
    assert_non_null(ctl);
    assert_int_equal(ctl->len, 8);
    assert_null(nl_stun_msg_find(&m, NL_STUN_ATTR_ICE_CONTROLLED));
    saw_use |= nl_stun_msg_find(&m, NL_STUN_ATTR_USE_CANDIDATE) != NULL;
  }
  assert_true(saw_use); /* the controlling agent nominated */
  /* The controlled agent never nominates. */
  GPtrArray *breqs = requests_from(&n, "198.51.100.2");
  for (guint i = 0; i < breqs->len; i++) {
    Pkt *p = g_ptr_array_index(breqs, i);
    NlStunMsg m;
    assert_int_equal(nl_stun_msg_parse(p->buf, p->len, &m), NL_STUN_OK);
    assert_null(nl_stun_msg_find(&m, NL_STUN_ATTR_USE_CANDIDATE));
    assert_non_null(nl_stun_msg_find(&m, NL_STUN_ATTR_ICE_CONTROLLED));
  }
  /* Data flows both ways on the selected pair. */
  assert_int_equal(nl_ice_agent_send(n.p[0].agent, (const uint8_t *)"hi", 2,
                                     n.now),
                   0);
  assert_int_equal(nl_ice_agent_send(n.p[1].agent, (const uint8_t *)"ho", 2,
                                     n.now),
                   0);
  run_until(&n, 4 * S);
  assert_int_equal(n.p[0].data, 1);
  assert_int_equal(n.p[1].data, 1);
  g_ptr_array_unref(reqs);
  g_ptr_array_unref(breqs);
  net_free(&n);
}

static void test_ice_agent_wrong_password_gets_401_and_fails(void **state) {
  Net n;
  net_init(&n, FALSE, FALSE);
  NlIceConfig a = config(NL_ICE_ROLE_CONTROLLING, 2);
  NlIceConfig b = config(NL_ICE_ROLE_CONTROLLED, 2);
  peer_init(&n, 0, &a);
  peer_init(&n, 1, &b);
  nl_ice_agent_gather(n.p[0].agent, n.now);
  nl_ice_agent_gather(n.p[1].agent, n.now);
  run_until(&n, 1 * S);
  /* Each believes the other's password is something else: every check
   * fails the receiver's integrity check (401, unsigned, so the sender
   * discards it as if lost). */
  const char *const wrong[2] = {"not-the-password-of-a", "not-the-password-of-b"};
  exchange_with(&n, wrong);
  run_until(&n, 60 * S);
  assert_int_equal(n.p[0].selected + n.p[1].selected, 0);
  guint unauthorized = 0;
  for (guint i = 0; i < n.wire->len; i++) {
    Pkt *p = g_ptr_array_index(n.wire, i);
    NlStunMsg m;
    unsigned code = 0;
    if (nl_stun_msg_parse(p->buf, p->len, &m) == NL_STUN_OK &&
        m.klass == NL_STUN_ERROR &&
        nl_stun_msg_get_error(&m, &code, NULL, NULL) == NL_STUN_OK &&
        code == 401) {
      assert_true(m.integrity < 0); /* nothing to sign it with */
      unauthorized++;
    }
  }
  /* One 401 per check received: 7 transmissions each way. */
  assert_int_equal(unauthorized, 14);
  for (int i = 0; i < 2; i++) {
    NlIceStats st;
    nl_ice_agent_stats(n.p[i].agent, &st);
    assert_int_equal(st.checks_received, 0);
    /* Both give up once every check timed out (Rc = 7: 39.5 s). */
    assert_int_equal(n.p[i].failed, 1);
    assert_true(n.p[i].failed_at >= 1 * S + 39500 * MS);
    assert_true(n.p[i].failed_at < 1 * S + 41 * S);
    assert_int_equal(nl_ice_agent_state(n.p[i].agent), NL_ICE_STATE_FAILED);
  }
  net_free(&n);
}

static void test_ice_agent_role_conflict_is_repaired(void **state) {
  Net n;
  net_init(&n, FALSE, FALSE);
  NlIceConfig a = config(NL_ICE_ROLE_CONTROLLING, 3);
  NlIceConfig b = config(NL_ICE_ROLE_CONTROLLING, 3);
  connect_pair(&n, &a, &b);
  run_until(&n, 5 * S);
  assert_int_equal(n.p[0].selected, 1);
  assert_int_equal(n.p[1].selected, 1);
  /* Exactly one of them ended controlling (§7.3.1.1). */
  assert_int_not_equal(nl_ice_agent_role(n.p[0].agent),
                       nl_ice_agent_role(n.p[1].agent));
  NlIceStats sa, sb;
  nl_ice_agent_stats(n.p[0].agent, &sa);
  nl_ice_agent_stats(n.p[1].agent, &sb);
  assert_int_equal(sa.role_conflicts + sb.role_conflicts, 1);
  net_free(&n);
}

static void test_ice_agent_learns_peer_reflexive_both_ways(void **state) {
  Net n;
  net_init(&n, TRUE, FALSE); /* A behind a NAT, no STUN server */
  NlIceConfig a = config(NL_ICE_ROLE_CONTROLLED, 4);
  NlIceConfig b = config(NL_ICE_ROLE_CONTROLLING, 4);
  connect_pair(&n, &a, &b);
  /* A only knows its private address. */
  assert_int_equal(n.p[0].cands->len, 1);
  run_until(&n, 5 * S);
  assert_int_equal(n.p[0].selected, 1);
  assert_int_equal(n.p[1].selected, 1);
  char s[64];
  /* A learnt its public address from B's answer: a local prflx (§7.2.5.3.1). */
  assert_int_equal(n.p[0].pair.local.type, NL_ICE_CAND_PRFLX);
  assert_string_equal(nl_stun_addr_to_string(
                          (struct sockaddr *)&n.p[0].pair.local.addr, s,
                          sizeof s),
                      "203.0.113.1:5000");
  /* B learnt it from A's check: a remote prflx (§7.3.1.3). */
  assert_int_equal(n.p[1].pair.remote.type, NL_ICE_CAND_PRFLX);
  assert_string_equal(nl_stun_addr_to_string(
                          (struct sockaddr *)&n.p[1].pair.remote.addr, s,
                          sizeof s),
                      "203.0.113.1:5000");
  assert_int_equal(n.p[1].pair.remote.priority,
                   nl_ice_priority(NL_ICE_CAND_PRFLX, 65535, 1));
  net_free(&n);
}

static void test_ice_agent_gathers_server_reflexive(void **state) {
  Net n;
  net_init(&n, TRUE, TRUE);
  NlIceConfig a = config(NL_ICE_ROLE_CONTROLLING, 5);
  NlIceConfig b = config(NL_ICE_ROLE_CONTROLLED, 5);
  connect_pair(&n, &a, &b);
  /* A: host + srflx; B is on the public internet: its srflx equals its
   * host address and is dropped as redundant (§5.1.3). */
  assert_int_equal(n.p[0].cands->len, 2);
  NlIceCandidate *c = g_ptr_array_index(n.p[0].cands, 1);
  assert_int_equal(c->type, NL_ICE_CAND_SRFLX);
  char s[64];
  assert_string_equal(
      nl_stun_addr_to_string((struct sockaddr *)&c->addr, s, sizeof s),
      "203.0.113.1:5000");
  assert_string_equal(
      nl_stun_addr_to_string((struct sockaddr *)&c->related, s, sizeof s),
      "10.0.0.1:5000");
  assert_int_equal(n.p[1].cands->len, 1);
  run_until(&n, 5 * S);
  assert_int_equal(n.p[1].selected, 1);
  assert_int_equal(n.p[1].pair.remote.type, NL_ICE_CAND_SRFLX);
  /* §6.1.2.4: A's server-reflexive candidate is replaced by its base, so
   * it pairs nothing of its own: one pair (host, B's host); B pairs its
   * host with A's two candidates. */
  NlIceStats sa, sb;
  nl_ice_agent_stats(n.p[0].agent, &sa);
  nl_ice_agent_stats(n.p[1].agent, &sb);
  assert_int_equal(sa.pairs, 1);
  assert_int_equal(sb.pairs, 2);
  net_free(&n);
}

static void test_ice_agent_checks_are_paced_by_ta(void **state) {
  Net n;
  net_init(&n, TRUE, TRUE);
  NlIceConfig a = config(NL_ICE_ROLE_CONTROLLING, 6);
  NlIceConfig b = config(NL_ICE_ROLE_CONTROLLED, 6);
  connect_pair(&n, &a, &b);
  run_until(&n, 5 * S);
  /* The first transmissions of A's checks (retransmissions reuse the
   * transaction ID) go out at least Ta = 50 ms apart (§6.1.4.2). */
  GPtrArray *reqs = requests_from(&n, "203.0.113.1");
  GHashTable *seen = g_hash_table_new(g_bytes_hash, g_bytes_equal);
  int64_t last = -1;
  guint firsts = 0;
  for (guint i = 0; i < reqs->len; i++) {
    Pkt *p = g_ptr_array_index(reqs, i);
    GBytes *tid = g_bytes_new(p->buf + 8, 12);
    if (g_hash_table_contains(seen, tid)) {
      g_bytes_unref(tid);
      continue;
    }
    g_hash_table_add(seen, tid);
    int64_t sent = p->at - LATENCY;
    if (last >= 0)
      assert_true(sent - last >= 50 * MS);
    last = sent;
    firsts++;
  }
  assert_true(firsts >= 2);
  g_hash_table_destroy(seen);
  g_ptr_array_unref(reqs);
  net_free(&n);
}

static void test_ice_agent_consent_expiry_detects_dead_path(void **state) {
  Net n;
  net_init(&n, FALSE, FALSE);
  NlIceConfig a = config(NL_ICE_ROLE_CONTROLLING, 7);
  NlIceConfig b = config(NL_ICE_ROLE_CONTROLLED, 7);
  connect_pair(&n, &a, &b);
  run_until(&n, 20 * S);
  assert_int_equal(n.p[0].selected, 1);
  /* Consent checks keep the path alive: about one every 5 s. */
  NlIceStats st;
  nl_ice_agent_stats(n.p[0].agent, &st);
  assert_true(st.consent_sent >= 3 && st.consent_sent <= 5);
  assert_int_equal(n.p[0].path_failed, 0);
  /* The link dies at 20 s: found within 30 s (RFC 7675), not before the
   * last answer (at most 6 s old) is 30 s old. */
  n.drop_all = TRUE;
  run_until(&n, 60 * S);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(n.p[i].path_failed, 1);
    assert_true(n.p[i].path_failed_at > 20 * S + 23 * S);
    assert_true(n.p[i].path_failed_at <= 20 * S + 30 * S);
    assert_int_equal(nl_ice_agent_state(n.p[i].agent), NL_ICE_STATE_FAILED);
    /* RFC 7675 §5.1: no more sending on that path. */
    assert_int_equal(
        nl_ice_agent_send(n.p[i].agent, (const uint8_t *)"x", 1, n.now),
        -ENOTCONN);
  }
  net_free(&n);
}

static void test_ice_agent_keepalives_without_consent(void **state) {
  Net n;
  net_init(&n, FALSE, FALSE);
  NlIceConfig a = config(NL_ICE_ROLE_CONTROLLING, 8);
  NlIceConfig b = config(NL_ICE_ROLE_CONTROLLED, 8);
  a.consent_off = b.consent_off = TRUE;
  connect_pair(&n, &a, &b);
  run_until(&n, 2 * S);
  assert_int_equal(n.p[0].selected, 1);
  n.drop_all = TRUE;
  run_until(&n, 62 * S);
  /* Only keepalives (§11: a Binding indication after 15 s of silence);
   * without consent nothing notices the dead path. */
  NlIceStats st;
  nl_ice_agent_stats(n.p[0].agent, &st);
  assert_int_equal(st.consent_sent, 0);
  assert_int_equal(st.keepalives_sent, 4);
  assert_int_equal(n.p[0].path_failed, 0);
  guint indications = 0;
  for (guint i = 0; i < n.wire->len; i++) {
    Pkt *p = g_ptr_array_index(n.wire, i);
    NlStunMsg m;
    if (nl_stun_msg_parse(p->buf, p->len, &m) == NL_STUN_OK &&
        m.klass == NL_STUN_INDICATION && m.method == NL_STUN_BINDING)
      indications++;
  }
  assert_int_equal(indications, 8); /* both sides */
  net_free(&n);
}

static void test_ice_agent_unreachable_peer_fails(void **state) {
  Net n;
  net_init(&n, FALSE, FALSE);
  NlIceConfig a = config(NL_ICE_ROLE_CONTROLLING, 9);
  NlIceConfig b = config(NL_ICE_ROLE_CONTROLLED, 9);
  peer_init(&n, 0, &a);
  peer_init(&n, 1, &b);
  nl_ice_agent_gather(n.p[0].agent, n.now);
  nl_ice_agent_gather(n.p[1].agent, n.now);
  run_until(&n, 1 * S);
  n.drop_all = TRUE; /* from before the first check */
  exchange(&n);
  run_until(&n, 50 * S);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(n.p[i].selected, 0);
    assert_int_equal(n.p[i].failed, 1);
    NlIceStats st;
    nl_ice_agent_stats(n.p[i].agent, &st);
    assert_int_equal(st.pairs_failed, st.pairs);
    assert_int_equal(st.pairs_succeeded, 0);
    /* One pair, seven transmissions (RFC 8489 Rc). */
    assert_int_equal(st.checks_sent, 7);
  }
  net_free(&n);
}

typedef struct {
  GPtrArray *sent; /* Pkt*: what the agent put on the wire */
} Capture;

static void capture_send(void *user, int socket, const struct sockaddr *to,
                         const uint8_t *buf, size_t len) {
  Capture *c = user;
  Pkt *p = g_new0(Pkt, 1);
  memcpy(&p->to, to, nl_stun_addr_len(to));
  p->at = socket;
  p->buf = g_memdup2(buf, len);
  p->len = len;
  g_ptr_array_add(c->sent, p);
}

static void test_ice_agent_orders_and_prunes_pairs(void **state) {
  /* Four interfaces and 32 remote host candidates: 128 pairs, of which
   * the 100 with the highest priority are kept (§6.1.2.5), and checked
   * highest priority first (§6.1.2.6: the first check of each
   * foundation). */
  Capture cap = {.sent = g_ptr_array_new_with_free_func(pkt_free)};
  NlIceConfig cfg = config(NL_ICE_ROLE_CONTROLLING, 11);
  NlIceCallbacks cb = {.send = capture_send, .user = &cap};
  NlIceAgent *a = nl_ice_agent_new(&cfg, &cb);
  for (int i = 0; i < 4; i++) {
    struct sockaddr_storage ss;
    char ip[32];
    snprintf(ip, sizeof ip, "10.0.%d.1", i);
    addr4(&ss, ip, 5000);
    assert_int_equal(nl_ice_agent_add_socket(a, (struct sockaddr *)&ss), i);
  }
  nl_ice_agent_gather(a, 0);
  nl_ice_agent_set_remote_credentials(a, "ufrag", "a-password-of-22-chars");
  for (int r = 0; r < 33; r++) {
    char line[128];
    /* Remote priorities rise with r; one foundation each. */
    snprintf(line, sizeof line,
             "candidate:%d 1 udp %u 198.51.100.%d 6000 typ host", 100 + r,
             (unsigned)(1000000 + r), 10 + r);
    NlIceCandidate c;
    assert_true(nl_ice_candidate_from_sdp(line, &c));
    /* The 33rd is one too many (NL_ICE_MAX_REMOTE). */
    assert_int_equal(nl_ice_agent_add_remote_candidate(a, &c, 0), r < 32);
  }
  nl_ice_agent_remote_done(a, 0);
  NlIceStats st;
  nl_ice_agent_stats(a, &st);
  assert_int_equal(st.pairs, 100);
  assert_int_equal(cap.sent->len, 0); /* checks start at the next tick */
  assert_int_equal(nl_ice_agent_next_deadline(a), 0);
  nl_ice_agent_tick(a, 0);
  /* The first check: the best local (interface 0) with the best remote
   * (198.51.100.41, r = 31). */
  assert_int_equal(cap.sent->len, 1);
  char s[64];
  Pkt *first = g_ptr_array_index(cap.sent, 0);
  assert_string_equal(
      nl_stun_addr_to_string((struct sockaddr *)&first->to, s, sizeof s),
      "198.51.100.41:6000");
  assert_int_equal(first->at, 0); /* from socket 0 */
  /* Then one check per Ta, never a pruned pair: the 28 pairs dropped are
   * the lowest (remotes r < 7 from interface 3). */
  for (int64_t t = 50 * MS; t <= 100 * 50 * MS; t += 50 * MS)
    nl_ice_agent_tick(a, t);
  gboolean seen[4][32] = {{FALSE}};
  for (guint i = 0; i < cap.sent->len; i++) {
    Pkt *p = g_ptr_array_index(cap.sent, i);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&p->to;
    int r = (int)(ntohl(sin->sin_addr.s_addr) & 0xff) - 10;
    seen[p->at][r] = TRUE;
  }
  guint distinct = 0;
  for (int l = 0; l < 4; l++)
    for (int r = 0; r < 32; r++) {
      distinct += seen[l][r];
      if (l == 3 && r < 7)
        assert_false(seen[l][r]);
    }
  assert_int_equal(distinct, 100);
  nl_ice_agent_free(a);
  g_ptr_array_unref(cap.sent);
}

static GString *wire_text(Net *n) {
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < n->wire->len; i++) {
    Pkt *p = g_ptr_array_index(n->wire, i);
    char a[64], b[64];
    g_string_append_printf(
        s, "%" G_GINT64_FORMAT " %s > %s", p->at,
        nl_stun_addr_to_string((struct sockaddr *)&p->from, a, sizeof a),
        nl_stun_addr_to_string((struct sockaddr *)&p->to, b, sizeof b));
    for (size_t k = 0; k < p->len; k++)
      g_string_append_printf(s, "%02x", p->buf[k]);
    g_string_append_c(s, '\n');
  }
  return s;
}

static void test_ice_agent_same_seed_same_wire(void **state) {
  GString *w[2];
  for (int run = 0; run < 2; run++) {
    Net n;
    net_init(&n, TRUE, TRUE);
    NlIceConfig a = config(NL_ICE_ROLE_CONTROLLING, 10);
    NlIceConfig b = config(NL_ICE_ROLE_CONTROLLED, 10);
    connect_pair(&n, &a, &b);
    run_until(&n, 15 * S);
    w[run] = wire_text(&n);
    net_free(&n);
  }
  assert_true(w[0]->len > 1000);
  assert_string_equal(w[0]->str, w[1]->str);
  g_string_free(w[0], TRUE);
  g_string_free(w[1], TRUE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ice_priority_formula),
      cmocka_unit_test(test_ice_sdp_round_trip_and_refusals),
      cmocka_unit_test(test_ice_agent_connects_with_authenticated_checks),
      cmocka_unit_test(test_ice_agent_wrong_password_gets_401_and_fails),
      cmocka_unit_test(test_ice_agent_role_conflict_is_repaired),
      cmocka_unit_test(test_ice_agent_learns_peer_reflexive_both_ways),
      cmocka_unit_test(test_ice_agent_gathers_server_reflexive),
      cmocka_unit_test(test_ice_agent_checks_are_paced_by_ta),
      cmocka_unit_test(test_ice_agent_consent_expiry_detects_dead_path),
      cmocka_unit_test(test_ice_agent_keepalives_without_consent),
      cmocka_unit_test(test_ice_agent_unreachable_peer_fails),
      cmocka_unit_test(test_ice_agent_same_seed_same_wire),
      cmocka_unit_test(test_ice_agent_orders_and_prunes_pairs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
