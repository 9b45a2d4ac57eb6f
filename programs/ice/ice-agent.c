/* ice-agent.c: the ICE agent (RFC 8445, RFC 7675), sans I/O.  See
 * ice-agent.h for the contract; section numbers below are RFC 8445's
 * unless another RFC is named. */
#include "ice-agent.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stun-codec.h"

#define MS G_GINT64_CONSTANT(1000000)
#define NS_PER_S G_GINT64_CONSTANT(1000000000)
/* Transactions live in blocks of TX_BLOCK, allocated as needed (most
 * agents need one or two), never moved: a Tx pointer stays valid. */
#define TX_BLOCK 16
#define TX_BLOCKS 8 /* 128: a check per pair (100), and the rest */
#define MAX_TX (TX_BLOCK * TX_BLOCKS)
#define MAX_TRIGGERED NL_ICE_MAX_PAIRS
#define MAX_PERMS 16
#define MAX_CHANS 8
#define MAX_QUEUED 4
#define MSG_BUF 2048
#define NL_ICE_MAX_DATA 1400
#define TURN_LIFETIME_S 600
#define PERMISSION_REFRESH_S 240 /* RFC 8656 §9: permissions last 300 s */
#define CHANNEL_REFRESH_S 540    /* RFC 8656 §12: channels last 600 s */

typedef enum {
  PAIR_FROZEN,
  PAIR_WAITING,
  PAIR_IN_PROGRESS,
  PAIR_SUCCEEDED,
  PAIR_FAILED,
} PairState;

typedef struct {
  NlIceCandidate c;
  int base;        /* index of the local candidate it sends from */
  gboolean signal; /* offered to the peer */
} Local;

typedef struct {
  int local, remote;
  uint64_t priority;
  PairState state;
  gboolean in_checklist;
  gboolean valid;
  gboolean nominated;
  gboolean nominate_on_success; /* controlled: the peer sent USE-CANDIDATE */
  gboolean nominating;          /* controlling: USE-CANDIDATE check sent */
  gboolean triggered;           /* in the triggered-check queue */
  int valid_pair;               /* checklist pair: the valid pair it made */
  int generating;               /* valid pair: the checklist pair */
  char foundation[2 * NL_ICE_FOUNDATION_LEN + 2];
} Pair;

typedef enum {
  TX_FREE,
  TX_BIND,    /* gathering: STUN Binding to the STUN server */
  TX_TURN,    /* a TURN request */
  TX_CHECK,   /* a connectivity check */
  TX_CONSENT, /* a consent freshness check (RFC 7675) */
} TxKind;

typedef struct Tx {
  TxKind kind;
  uint8_t tid[NL_STUN_TID_LEN];
  NlStunTimer timer;
  int socket;
  /* checks */
  int pair;
  gboolean use_candidate;
  gboolean cancelled; /* §7.3.1.4: no retransmissions, no failure */
  NlIceRole role;
  uint32_t prio;
  /* TURN */
  uint16_t method;
  struct sockaddr_storage peer;
  uint16_t channel;
  uint32_t lifetime;
  unsigned attempts; /* 401/438 retries */
} Tx;

typedef enum { PERM_NONE, PERM_PENDING, PERM_OK } PermState;

typedef struct {
  uint8_t *data;
  size_t len;
  struct sockaddr_storage to;
} Queued;

typedef struct {
  struct sockaddr_storage ip; /* port 0 */
  PermState state;
  int64_t refresh_at;
  Queued q[MAX_QUEUED];
  unsigned nq;
} Perm;

typedef struct {
  struct sockaddr_storage peer;
  uint16_t number;
  gboolean bound;
  int64_t refresh_at;
} Chan;

typedef enum {
  TURN_IDLE,
  TURN_ALLOCATING,
  TURN_READY,
  TURN_FAILED,
} TurnState;

typedef struct {
  TurnState state;
  char realm[256], nonce[256];
  uint8_t key[16];
  gboolean have_key;
  struct sockaddr_storage relayed, mapped;
  int64_t refresh_at;
  int relay_local; /* the relayed local candidate, -1 until allocated */
  Perm perms[MAX_PERMS];
  unsigned n_perms;
  Chan chans[MAX_CHANS];
  unsigned n_chans;
} Turn;

typedef struct {
  struct sockaddr_storage local;
  int host;   /* its host candidate */
  Turn *turn; /* NULL until an allocation starts: most agents never need
               * one, and the state is large */
} Sock;

struct NlIceAgent {
  NlIceConfig cfg;
  char *turn_user, *turn_password;
  NlIceCallbacks cb;
  uint64_t rand;
  NlIceRole role;
  uint64_t tie_breaker;
  NlIceState state;
  char ufrag[NL_ICE_UFRAG_LEN + 1], pwd[NL_ICE_PWD_LEN + 1];
  char *rufrag, *rpwd;

  Sock socks[NL_ICE_MAX_SOCKETS];
  unsigned n_socks;
  Local locals[NL_ICE_MAX_LOCAL];
  unsigned n_locals;
  NlIceCandidate remotes[NL_ICE_MAX_REMOTE];
  unsigned n_remotes;
  unsigned n_remote_prflx;
  Pair pairs[NL_ICE_MAX_PAIRS];
  unsigned n_pairs;
  int triggered[MAX_TRIGGERED];
  unsigned n_triggered;
  Tx *txb[TX_BLOCKS]; /* NULL until needed */
  unsigned n_tx;      /* slots allocated: TX_BLOCK per block */

  gboolean gathering, gathered, remote_done, checking;
  int64_t now; /* the time of the call being served */
  int64_t gather_deadline;
  int64_t next_check; /* Ta pacing */
  int64_t nominate_at;
  int selected; /* pair index, -1 */
  NlIcePair selected_report;
  int64_t next_consent, last_consent, last_sent;
  NlIceStats stats;

  uint8_t msg[MSG_BUF];
  uint8_t wrap[MSG_BUF + 64];
};

static void recompute_priorities(NlIceAgent *a);
static Tx *tx_new(NlIceAgent *a, int kind, int socket);
static void turn_send_request(NlIceAgent *a, Tx *t);

/* ---- names ---- */

static const char *const type_names[] = {
#define NL_X(e, s, p) s,
    NL_ICE_CAND_TYPE_MAP(NL_X)
#undef NL_X
};
static const unsigned type_prefs[] = {
#define NL_X(e, s, p) p,
    NL_ICE_CAND_TYPE_MAP(NL_X)
#undef NL_X
};
static const char *const state_names[] = {
#define NL_X(e, s) s,
    NL_ICE_STATE_MAP(NL_X)
#undef NL_X
};
static const char *const event_names[] = {
#define NL_X(e, s) s,
    NL_ICE_EVENT_MAP(NL_X)
#undef NL_X
};

const char *nl_ice_cand_type_name(NlIceCandType t) {
  return (unsigned)t < NL_ICE_CAND_N_TYPES ? type_names[t] : "?";
}

int nl_ice_cand_type_from_name(const char *name) {
  for (int i = 0; i < NL_ICE_CAND_N_TYPES; i++)
    if (strcmp(type_names[i], name) == 0)
      return i;
  return -1;
}

const char *nl_ice_state_name(NlIceState s) {
  return (unsigned)s < G_N_ELEMENTS(state_names) ? state_names[s] : "?";
}

const char *nl_ice_event_name(NlIceEventKind k) {
  return (unsigned)k < G_N_ELEMENTS(event_names) ? event_names[k] : "?";
}

/* ---- priorities (§5.1.2, §6.1.2.3) ---- */

uint32_t nl_ice_priority(NlIceCandType type, uint16_t local_pref,
                         unsigned component) {
  g_return_val_if_fail((unsigned)type < NL_ICE_CAND_N_TYPES, 0);
  g_return_val_if_fail(component >= 1 && component <= 256, 0);
  return (type_prefs[type] << 24) + ((uint32_t)local_pref << 8) +
         (256 - component);
}

uint64_t nl_ice_pair_priority(uint32_t g, uint32_t d) {
  uint64_t lo = MIN(g, d), hi = MAX(g, d);
  return (lo << 32) + 2 * hi + (g > d ? 1 : 0);
}

/* ---- SDP candidate lines (RFC 8839 §5.1) ---- */

char *nl_ice_candidate_to_sdp(const NlIceCandidate *c, char *buf, size_t len) {
  char ip[64], rip[64];
  const struct sockaddr *sa = (const struct sockaddr *)&c->addr;
  const struct sockaddr *ra = (const struct sockaddr *)&c->related;
  uint16_t port = 0, rport = 0;
  ip[0] = rip[0] = '\0';
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    const uint8_t *b = (const uint8_t *)&s4->sin_addr;
    snprintf(ip, sizeof ip, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    port = ntohs(s4->sin_port);
  }
  if (ra->sa_family == AF_INET) {
    const struct sockaddr_in *r4 = (const struct sockaddr_in *)ra;
    const uint8_t *b = (const uint8_t *)&r4->sin_addr;
    snprintf(rip, sizeof rip, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    rport = ntohs(r4->sin_port);
  }
  int n = snprintf(buf, len, "candidate:%s %u udp %u %s %u typ %s",
                   c->foundation, c->component ? c->component : 1,
                   c->priority, ip, port, nl_ice_cand_type_name(c->type));
  if (rip[0] != '\0' && n > 0 && (size_t)n < len)
    snprintf(buf + n, len - (size_t)n, " raddr %s rport %u", rip, rport);
  return buf;
}

static gboolean parse_u32(const char *s, uint32_t max, uint32_t *out) {
  if (s == NULL || *s == '\0')
    return FALSE;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9')
      return FALSE;
    v = v * 10 + (uint64_t)(*p - '0');
    if (v > max)
      return FALSE;
  }
  *out = (uint32_t)v;
  return TRUE;
}

static gboolean parse_ip4(const char *ip, uint32_t port,
                          struct sockaddr_storage *out) {
  struct sockaddr_storage ss;
  char tmp[80];
  if (strlen(ip) > 15 || strchr(ip, ':') != NULL)
    return FALSE;
  snprintf(tmp, sizeof tmp, "%s:%u", ip, port);
  if (!nl_stun_addr_parse(tmp, 0, &ss) || ss.ss_family != AF_INET)
    return FALSE;
  *out = ss;
  return TRUE;
}

static gboolean ice_chars(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n > max)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum(*p) && *p != '+' && *p != '/')
      return FALSE;
  return TRUE;
}

gboolean nl_ice_candidate_from_sdp(const char *line, NlIceCandidate *out) {
  g_return_val_if_fail(line != NULL && out != NULL, FALSE);
  memset(out, 0, sizeof *out);
  if (strncmp(line, "a=", 2) == 0)
    line += 2;
  if (strncmp(line, "candidate:", 10) != 0)
    return FALSE;
  char **w = g_strsplit(line + 10, " ", 0);
  guint n = g_strv_length(w);
  NlIceCandidate c;
  memset(&c, 0, sizeof c);
  gboolean ok = FALSE;
  uint32_t comp, prio, port, rport = 0;
  int type;
  const char *rip = NULL;
  if (n < 8 || !ice_chars(w[0], NL_ICE_FOUNDATION_LEN) ||
      !parse_u32(w[1], 256, &comp) || comp < 1 ||
      g_ascii_strcasecmp(w[2], "udp") != 0 ||
      !parse_u32(w[3], G_MAXUINT32, &prio) || !parse_u32(w[5], 65535, &port) ||
      strcmp(w[6], "typ") != 0 || (type = nl_ice_cand_type_from_name(w[7])) < 0)
    goto out;
  /* Extension pairs: raddr and rport are used; others are skipped. */
  for (guint i = 8; i + 1 < n; i += 2) {
    if (strcmp(w[i], "raddr") == 0)
      rip = w[i + 1];
    else if (strcmp(w[i], "rport") == 0 && !parse_u32(w[i + 1], 65535, &rport))
      goto out;
  }
  if ((n - 8) % 2 != 0)
    goto out;
  if (!parse_ip4(w[4], port, &c.addr) ||
      (rip && !parse_ip4(rip, rport, &c.related)))
    goto out;
  g_strlcpy(c.foundation, w[0], sizeof c.foundation);
  c.component = comp;
  c.priority = prio;
  c.type = (NlIceCandType)type;
  c.socket = -1;
  *out = c;
  ok = TRUE;
out:
  g_strfreev(w);
  return ok;
}

/* ---- small helpers ---- */

static uint64_t rnd(NlIceAgent *a) {
  /* splitmix64: the agent's own stream, from the configured seed. */
  uint64_t z = (a->rand += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static void rnd_chars(NlIceAgent *a, char *out, size_t n) {
  static const char set[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i++)
    out[i] = set[rnd(a) & 63];
  out[n] = '\0';
}

static const char *addr_str(const struct sockaddr_storage *ss, char *buf,
                            size_t len) {
  return nl_stun_addr_to_string((const struct sockaddr *)ss, buf, len);
}

static gboolean same_addr(const struct sockaddr_storage *x,
                          const struct sockaddr_storage *y) {
  return nl_stun_addr_equal((const struct sockaddr *)x,
                            (const struct sockaddr *)y);
}

static void emit(NlIceAgent *a, const NlIceEvent *ev) {
  if (a->cb.event)
    a->cb.event(a->cb.user, ev);
}

static void logf_(NlIceAgent *a, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void logf_(NlIceAgent *a, const char *fmt, ...) {
  if (a->cb.event == NULL)
    return;
  char text[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  NlIceEvent ev = {.kind = NL_ICE_EVENT_LOG, .text = text};
  emit(a, &ev);
}

static void set_state(NlIceAgent *a, NlIceState s, const char *why) {
  if (a->state == s)
    return;
  a->state = s;
  NlIceEvent ev = {.kind = NL_ICE_EVENT_STATE, .state = s, .text = why};
  emit(a, &ev);
}

static const char *pair_str(const NlIceAgent *a, const Pair *p, char *buf,
                            size_t len) {
  char l[64], r[64];
  const NlIceCandidate *lc = &a->locals[p->local].c;
  const NlIceCandidate *rc = &a->remotes[p->remote];
  snprintf(buf, len, "%s %s -> %s %s", nl_ice_cand_type_name(lc->type),
           addr_str(&lc->addr, l, sizeof l), nl_ice_cand_type_name(rc->type),
           addr_str(&rc->addr, r, sizeof r));
  return buf;
}

/* ---- lifecycle ---- */

NlIceAgent *nl_ice_agent_new(const NlIceConfig *cfg, const NlIceCallbacks *cb) {
  g_return_val_if_fail(cfg != NULL && cb != NULL, NULL);
  NlIceAgent *a = calloc(1, sizeof *a);
  if (a == NULL)
    return NULL;
  a->cfg = *cfg;
  a->cb = *cb;
  a->turn_user = cfg->turn_user ? strdup(cfg->turn_user) : NULL;
  a->turn_password = cfg->turn_password ? strdup(cfg->turn_password) : NULL;
  a->cfg.turn_user = a->turn_user;
  a->cfg.turn_password = a->turn_password;
  NlIceConfig *c = &a->cfg;
  if (c->types == 0)
    c->types = NL_ICE_TYPES_ALL;
  if (c->ta_ms == 0)
    c->ta_ms = NL_ICE_TA_MS;
  if (c->check_rto_ms == 0)
    c->check_rto_ms = 500;
  if (c->check_rc == 0)
    c->check_rc = NL_STUN_RC_DEFAULT;
  if (c->gather_timeout_ms == 0)
    c->gather_timeout_ms = 5000;
  if (c->consent_ms == 0)
    c->consent_ms = 5000;
  if (c->consent_expiry_ms == 0)
    c->consent_expiry_ms = 30000;
  if (c->keepalive_ms == 0)
    c->keepalive_ms = 15000;
  gboolean any_wait = FALSE;
  for (int i = 0; i < NL_ICE_CAND_N_TYPES; i++)
    any_wait |= c->accept_wait_ms[i] != 0;
  if (!any_wait) {
    c->accept_wait_ms[NL_ICE_CAND_HOST] = 0;
    c->accept_wait_ms[NL_ICE_CAND_PRFLX] = 1000;
    c->accept_wait_ms[NL_ICE_CAND_SRFLX] = 500;
    c->accept_wait_ms[NL_ICE_CAND_RELAY] = 2000;
  }
  a->rand = cfg->seed ^ 0x1CEA6E47ull;
  a->role = cfg->role;
  a->tie_breaker = rnd(a);
  rnd_chars(a, a->ufrag, NL_ICE_UFRAG_LEN);
  rnd_chars(a, a->pwd, NL_ICE_PWD_LEN);
  a->selected = -1;
  a->nominate_at = INT64_MAX;
  a->stats.checks_started_ns = -1;
  a->stats.selected_ns = -1;
  a->stats.last_consent_ns = -1;
  return a;
}

void nl_ice_agent_close(NlIceAgent *a, int64_t now) {
  g_return_if_fail(a != NULL);
  a->now = now;
  for (unsigned s = 0; s < a->n_socks; s++) {
    Turn *tn = a->socks[s].turn;
    if (tn == NULL || tn->state != TURN_READY)
      continue;
    Tx *t = tx_new(a, TX_TURN, (int)s);
    if (t == NULL)
      continue;
    t->method = NL_STUN_REFRESH;
    t->lifetime = 0;
    turn_send_request(a, t);
    t->kind = TX_FREE;
    tn->state = TURN_IDLE;
  }
  a->cb.send = NULL; /* nothing more goes out */
}

void nl_ice_agent_free(NlIceAgent *a) {
  if (a == NULL)
    return;
  for (unsigned s = 0; s < a->n_socks; s++) {
    Turn *t = a->socks[s].turn;
    if (t == NULL)
      continue;
    for (unsigned i = 0; i < t->n_perms; i++)
      for (unsigned k = 0; k < t->perms[i].nq; k++)
        free(t->perms[i].q[k].data);
    free(t);
  }
  for (unsigned b = 0; b < TX_BLOCKS; b++)
    free(a->txb[b]);
  free(a->turn_user);
  free(a->turn_password);
  free(a->rufrag);
  free(a->rpwd);
  free(a);
}

int nl_ice_agent_add_socket(NlIceAgent *a, const struct sockaddr *local) {
  g_return_val_if_fail(a != NULL && local != NULL, -1);
  if (a->n_socks >= NL_ICE_MAX_SOCKETS || a->n_locals >= NL_ICE_MAX_LOCAL)
    return -1;
  Sock *s = &a->socks[a->n_socks];
  memset(s, 0, sizeof *s);
  memcpy(&s->local, local, nl_stun_addr_len(local));
  s->host = -1;
  return (int)a->n_socks++;
}

const char *nl_ice_agent_ufrag(const NlIceAgent *a) {
  return a->ufrag;
}
const char *nl_ice_agent_pwd(const NlIceAgent *a) {
  return a->pwd;
}
NlIceRole nl_ice_agent_role(const NlIceAgent *a) {
  return a->role;
}
void nl_ice_agent_set_role(NlIceAgent *a, NlIceRole role) {
  g_return_if_fail(a != NULL);
  if (a->checking || a->role == role)
    return;
  a->role = role;
  recompute_priorities(a);
}

NlIceState nl_ice_agent_state(const NlIceAgent *a) {
  return a->state;
}
const NlIcePair *nl_ice_agent_selected(const NlIceAgent *a) {
  return a->selected >= 0 ? &a->selected_report : NULL;
}

void nl_ice_agent_stats(const NlIceAgent *a, NlIceStats *out) {
  *out = a->stats;
  out->pairs = 0;
  out->pairs_succeeded = 0;
  out->pairs_failed = 0;
  for (unsigned i = 0; i < a->n_pairs; i++) {
    const Pair *p = &a->pairs[i];
    if (!p->in_checklist)
      continue;
    out->pairs++;
    out->pairs_succeeded += p->state == PAIR_SUCCEEDED;
    out->pairs_failed += p->state == PAIR_FAILED;
  }
}

/* ---- transactions ---- */

/* Slot @i (below a->n_tx). */
static inline Tx *tx_at(const NlIceAgent *a, unsigned i) {
  return &a->txb[i / TX_BLOCK][i % TX_BLOCK];
}

static Tx *tx_new(NlIceAgent *a, int kind, int socket) {
  Tx *t = NULL;
  for (unsigned i = 0; i < a->n_tx && t == NULL; i++)
    if (tx_at(a, i)->kind == TX_FREE)
      t = tx_at(a, i);
  if (t == NULL) {
    if (a->n_tx >= MAX_TX)
      return NULL;
    Tx *block = calloc(TX_BLOCK, sizeof *block);
    if (block == NULL)
      return NULL;
    a->txb[a->n_tx / TX_BLOCK] = block;
    t = block;
    a->n_tx += TX_BLOCK;
  }
  memset(t, 0, sizeof *t);
  t->kind = (TxKind)kind;
  t->socket = socket;
  t->pair = -1;
  uint64_t r1 = rnd(a), r2 = rnd(a);
  memcpy(t->tid, &r1, 8);
  memcpy(t->tid + 8, &r2, 4);
  return t;
}

static Tx *tx_find(NlIceAgent *a, const uint8_t tid[NL_STUN_TID_LEN]) {
  for (unsigned i = 0; i < a->n_tx; i++)
    if (tx_at(a, i)->kind != TX_FREE &&
        memcmp(tx_at(a, i)->tid, tid, NL_STUN_TID_LEN) == 0)
      return tx_at(a, i);
  return NULL;
}

/* ---- sending ---- */

static void send_raw(NlIceAgent *a, int socket, const struct sockaddr_storage *to,
                     const uint8_t *buf, size_t len) {
  if (len == 0 || a->cb.send == NULL)
    return;
  a->cb.send(a->cb.user, socket, (const struct sockaddr *)to, buf, len);
}

static void turn_start_tx(NlIceAgent *a, Tx *t, int64_t now);

static Perm *perm_find(Turn *t, const struct sockaddr_storage *peer) {
  for (unsigned i = 0; i < t->n_perms; i++)
    if (nl_stun_addr_equal_ip((const struct sockaddr *)&t->perms[i].ip,
                              (const struct sockaddr *)peer))
      return &t->perms[i];
  return NULL;
}

static Chan *chan_find_peer(Turn *t, const struct sockaddr_storage *peer) {
  for (unsigned i = 0; i < t->n_chans; i++)
    if (same_addr(&t->chans[i].peer, peer))
      return &t->chans[i];
  return NULL;
}

static Chan *chan_find_number(Turn *t, uint16_t number) {
  for (unsigned i = 0; i < t->n_chans; i++)
    if (t->chans[i].number == number)
      return &t->chans[i];
  return NULL;
}

/* Puts @data on the wire through the TURN allocation of @socket, to
 * @peer: ChannelData when a channel is bound, else a Send indication
 * (RFC 8656 §10, §12). */
static void turn_wrap_send(NlIceAgent *a, int socket,
                           const struct sockaddr_storage *peer,
                           const uint8_t *data, size_t len) {
  Turn *t = a->socks[socket].turn;
  Chan *ch = chan_find_peer(t, peer);
  size_t n;
  if (ch && ch->bound) {
    n = nl_stun_channel_data_build(ch->number, data, len, FALSE, a->wrap,
                                   sizeof a->wrap);
  } else {
    uint8_t tid[NL_STUN_TID_LEN];
    uint64_t r1 = rnd(a), r2 = rnd(a);
    memcpy(tid, &r1, 8);
    memcpy(tid + 8, &r2, 4);
    NlStunWriter w;
    nl_stun_writer_init(&w, a->wrap, sizeof a->wrap, NL_STUN_SEND,
                        NL_STUN_INDICATION, tid);
    nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_PEER_ADDRESS,
                                (const struct sockaddr *)peer);
    nl_stun_writer_add(&w, NL_STUN_ATTR_DATA, data, len);
    n = nl_stun_writer_finish(&w);
  }
  send_raw(a, socket, &a->cfg.turn, a->wrap, n);
}

/* Sends through the relay, creating a permission for @peer's address
 * first when there is none (the datagram waits for it). */
static void relay_send(NlIceAgent *a, int socket,
                       const struct sockaddr_storage *peer,
                       const uint8_t *data, size_t len) {
  Turn *t = a->socks[socket].turn;
  if (t == NULL || t->state != TURN_READY)
    return;
  Perm *p = perm_find(t, peer);
  if (p == NULL) {
    if (t->n_perms >= MAX_PERMS)
      return;
    p = &t->perms[t->n_perms++];
    memset(p, 0, sizeof *p);
    p->ip = *peer;
  }
  if (p->state == PERM_OK) {
    turn_wrap_send(a, socket, peer, data, len);
    return;
  }
  if (p->nq < MAX_QUEUED) {
    Queued *q = &p->q[p->nq];
    q->data = malloc(len);
    if (q->data != NULL) {
      memcpy(q->data, data, len);
      q->len = len;
      q->to = *peer;
      p->nq++;
    }
  }
  if (p->state == PERM_NONE) {
    Tx *tx = tx_new(a, TX_TURN, socket);
    if (tx == NULL)
      return;
    p->state = PERM_PENDING;
    tx->method = NL_STUN_CREATE_PERMISSION;
    tx->peer = *peer;
    turn_start_tx(a, tx, a->now);
  }
}

/* Sends @len bytes from local candidate @local's base to @to. */
static void send_from(NlIceAgent *a, int local,
                      const struct sockaddr_storage *to, const uint8_t *buf,
                      size_t len) {
  const Local *base = &a->locals[a->locals[local].base];
  if (base->c.type == NL_ICE_CAND_RELAY)
    relay_send(a, base->c.socket, to, buf, len);
  else
    send_raw(a, base->c.socket, to, buf, len);
}

/* ---- candidates ---- */

static uint16_t local_pref_of(unsigned socket) {
  /* §5.1.2.1: unique per interface; the first socket is preferred. */
  return (uint16_t)(65535 - socket);
}

/* §5.1.1.3: candidates share a foundation when they have the same type,
 * base address, server (@server: 0 the STUN server or none, 1 the TURN
 * server) and transport. */
static void local_foundation(NlIceCandType type, unsigned socket,
                             unsigned server, char *out) {
  snprintf(out, NL_ICE_FOUNDATION_LEN + 1, "%u",
           1 + ((unsigned)type * 2 + server) * NL_ICE_MAX_SOCKETS + socket);
}

static void start_checks_if_ready(NlIceAgent *a, int64_t now);
static void add_pairs_for_local(NlIceAgent *a, int local, int64_t now);
static void add_pairs_for_remote(NlIceAgent *a, int remote, int64_t now);

/* Adds a local candidate unless it is redundant (§5.1.3).
 * Returns: its index, or the index of the candidate that makes it
 * redundant, or -1 when full. */
static int add_local(NlIceAgent *a, NlIceCandType type, unsigned socket,
                     unsigned server, int base,
                     const struct sockaddr_storage *addr,
                     const struct sockaddr_storage *related, uint32_t prio,
                     int64_t now) {
  for (unsigned i = 0; i < a->n_locals; i++) {
    Local *l = &a->locals[i];
    if (same_addr(&l->c.addr, addr) &&
        a->locals[l->base].c.socket == (int)socket &&
        (l->base == base || (int)i == base))
      return (int)i;
  }
  if (a->n_locals >= NL_ICE_MAX_LOCAL)
    return -1;
  int idx = (int)a->n_locals++;
  Local *l = &a->locals[idx];
  memset(l, 0, sizeof *l);
  l->c.type = type;
  l->c.component = 1;
  l->c.priority = prio ? prio : nl_ice_priority(type, local_pref_of(socket), 1);
  local_foundation(type, socket, server, l->c.foundation);
  l->c.addr = *addr;
  if (related)
    l->c.related = *related;
  l->c.socket = (int)socket;
  l->base = base < 0 ? idx : base;
  gboolean wanted = (a->cfg.types >> type) & 1u;
  l->signal = wanted && type != NL_ICE_CAND_PRFLX;
  char s[64];
  logf_(a, "candidate %s %s (priority %u)", nl_ice_cand_type_name(type),
        addr_str(addr, s, sizeof s), l->c.priority);
  if (l->signal) {
    NlIceEvent ev = {.kind = NL_ICE_EVENT_CANDIDATE, .candidate = &l->c};
    emit(a, &ev);
  }
  /* Pairs use bases only (§6.1.2.4): host and relayed candidates. */
  if (a->checking && (type == NL_ICE_CAND_RELAY))
    add_pairs_for_local(a, idx, now);
  return idx;
}

static gboolean pairable_local(const NlIceAgent *a, const Local *l) {
  if (l->c.type == NL_ICE_CAND_RELAY)
    return (a->cfg.types >> NL_ICE_CAND_RELAY) & 1u;
  if (l->c.type == NL_ICE_CAND_HOST)
    return (a->cfg.types &
            ((1u << NL_ICE_CAND_HOST) | (1u << NL_ICE_CAND_SRFLX))) != 0;
  return FALSE;
}

/* ---- pairs ---- */

static uint64_t pair_prio(const NlIceAgent *a, int local, int remote) {
  uint32_t l = a->locals[local].c.priority, r = a->remotes[remote].priority;
  return a->role == NL_ICE_ROLE_CONTROLLING ? nl_ice_pair_priority(l, r)
                                            : nl_ice_pair_priority(r, l);
}

static int pair_find(const NlIceAgent *a, int local, int remote) {
  for (unsigned i = 0; i < a->n_pairs; i++)
    if (a->pairs[i].local == local && a->pairs[i].remote == remote)
      return (int)i;
  return -1;
}

static gboolean foundation_active(const NlIceAgent *a, const char *f) {
  for (unsigned i = 0; i < a->n_pairs; i++) {
    const Pair *p = &a->pairs[i];
    if (p->in_checklist && strcmp(p->foundation, f) == 0 &&
        (p->state == PAIR_WAITING || p->state == PAIR_IN_PROGRESS))
      return TRUE;
  }
  return FALSE;
}

static gboolean pair_has_tx(const NlIceAgent *a, int pair) {
  for (unsigned i = 0; i < a->n_tx; i++)
    if ((tx_at(a, i)->kind == TX_CHECK || tx_at(a, i)->kind == TX_CONSENT) &&
        tx_at(a, i)->pair == pair)
      return TRUE;
  return FALSE;
}

/* Creates a pair; when the list is full, the lowest-priority pair that is
 * neither in progress nor valid makes room (§6.1.2.5).  Returns: its
 * index or -1. */
static int pair_new(NlIceAgent *a, int local, int remote, gboolean checklist) {
  uint64_t prio = pair_prio(a, local, remote);
  unsigned idx = a->n_pairs;
  if (idx >= NL_ICE_MAX_PAIRS) {
    int worst = -1;
    for (unsigned i = 0; i < a->n_pairs; i++) {
      Pair *p = &a->pairs[i];
      if (p->state == PAIR_IN_PROGRESS || p->valid || p->triggered ||
          p->state == PAIR_SUCCEEDED || (int)i == a->selected ||
          pair_has_tx(a, (int)i))
        continue;
      if (worst < 0 || p->priority < a->pairs[worst].priority)
        worst = (int)i;
    }
    if (worst < 0 || a->pairs[worst].priority >= prio)
      return -1;
    idx = (unsigned)worst;
  } else {
    a->n_pairs++;
  }
  Pair *p = &a->pairs[idx];
  memset(p, 0, sizeof *p);
  p->local = local;
  p->remote = remote;
  p->priority = prio;
  p->in_checklist = checklist;
  p->valid_pair = -1;
  p->generating = -1;
  /* Copied piecewise: snprintf from and into one struct upsets -Wrestrict. */
  size_t lf = strlen(a->locals[local].c.foundation);
  memcpy(p->foundation, a->locals[local].c.foundation, lf);
  p->foundation[lf] = ':';
  g_strlcpy(p->foundation + lf + 1, a->remotes[remote].foundation,
            sizeof p->foundation - lf - 1);
  p->state = foundation_active(a, p->foundation) ? PAIR_FROZEN : PAIR_WAITING;
  return (int)idx;
}

/* Pairs one local base with one remote candidate, if they can pair. */
static int pair_up(NlIceAgent *a, int local, int remote) {
  const Local *l = &a->locals[local];
  const NlIceCandidate *r = &a->remotes[remote];
  if (!pairable_local(a, l) || r->component != 1 ||
      l->c.addr.ss_family != r->addr.ss_family)
    return -1;
  int i = pair_find(a, local, remote);
  if (i >= 0) {
    if (!a->pairs[i].in_checklist) {
      a->pairs[i].in_checklist = TRUE;
    }
    return i;
  }
  return pair_new(a, local, remote, TRUE);
}

static void add_pairs_for_local(NlIceAgent *a, int local, int64_t now) {
  for (unsigned r = 0; r < a->n_remotes; r++)
    pair_up(a, local, (int)r);
  (void)now;
}

static void add_pairs_for_remote(NlIceAgent *a, int remote, int64_t now) {
  for (unsigned l = 0; l < a->n_locals; l++)
    pair_up(a, (int)l, remote);
  (void)now;
}

/* §6.1.2.6: for each foundation one pair (the highest priority) starts
 * Waiting, the others Frozen. */
static void init_states(NlIceAgent *a) {
  for (unsigned i = 0; i < a->n_pairs; i++)
    if (a->pairs[i].in_checklist && a->pairs[i].state == PAIR_WAITING)
      a->pairs[i].state = PAIR_FROZEN;
  for (unsigned i = 0; i < a->n_pairs; i++) {
    Pair *p = &a->pairs[i];
    if (!p->in_checklist || p->state != PAIR_FROZEN)
      continue;
    gboolean best = TRUE;
    for (unsigned k = 0; k < a->n_pairs && best; k++) {
      const Pair *q = &a->pairs[k];
      if (k != i && q->in_checklist && strcmp(q->foundation, p->foundation) == 0 &&
          (q->priority > p->priority ||
           (q->priority == p->priority && k < i) || q->state == PAIR_WAITING))
        best = FALSE;
    }
    if (best)
      p->state = PAIR_WAITING;
  }
}

static void recompute_priorities(NlIceAgent *a) {
  for (unsigned i = 0; i < a->n_pairs; i++)
    a->pairs[i].priority = pair_prio(a, a->pairs[i].local, a->pairs[i].remote);
}

static void trigger(NlIceAgent *a, int pair) {
  Pair *p = &a->pairs[pair];
  if (p->triggered || a->n_triggered >= MAX_TRIGGERED)
    return;
  p->triggered = TRUE;
  if (p->state == PAIR_FROZEN || p->state == PAIR_FAILED)
    p->state = PAIR_WAITING;
  a->triggered[a->n_triggered++] = pair;
}

/* ---- checks (§7.2.4) ---- */

static size_t build_check(NlIceAgent *a, const Tx *t, gboolean consent) {
  NlStunWriter w;
  char user[2 * 260];
  nl_stun_writer_init(&w, a->msg, sizeof a->msg, NL_STUN_BINDING,
                      NL_STUN_REQUEST, t->tid);
  snprintf(user, sizeof user, "%s:%s", a->rufrag ? a->rufrag : "", a->ufrag);
  nl_stun_writer_add(&w, NL_STUN_ATTR_USERNAME, user, strlen(user));
  nl_stun_writer_add_u32(&w, NL_STUN_ATTR_PRIORITY, t->prio);
  nl_stun_writer_add_u64(&w,
                         t->role == NL_ICE_ROLE_CONTROLLING
                             ? NL_STUN_ATTR_ICE_CONTROLLING
                             : NL_STUN_ATTR_ICE_CONTROLLED,
                         a->tie_breaker);
  if (t->use_candidate && !consent)
    nl_stun_writer_add(&w, NL_STUN_ATTR_USE_CANDIDATE, NULL, 0);
  const char *pwd = a->rpwd ? a->rpwd : "";
  nl_stun_writer_add_integrity(&w, (const uint8_t *)pwd, strlen(pwd));
  nl_stun_writer_add_fingerprint(&w);
  return nl_stun_writer_finish(&w);
}

static unsigned count_state(const NlIceAgent *a, PairState s) {
  unsigned n = 0;
  for (unsigned i = 0; i < a->n_pairs; i++)
    n += a->pairs[i].in_checklist && a->pairs[i].state == s;
  return n;
}

static void send_check(NlIceAgent *a, int pair, int64_t now) {
  Pair *p = &a->pairs[pair];
  Tx *t = tx_new(a, TX_CHECK, a->locals[a->locals[p->local].base].c.socket);
  if (t == NULL)
    return;
  t->pair = pair;
  t->role = a->role;
  t->use_candidate = a->role == NL_ICE_ROLE_CONTROLLING && p->nominating;
  /* The PRIORITY a peer-reflexive candidate learnt from this check would
   * have (§7.2.4): the prflx type with the base's local preference. */
  t->prio = nl_ice_priority(NL_ICE_CAND_PRFLX,
                            local_pref_of((unsigned)t->socket), 1);
  size_t n = build_check(a, t, FALSE);
  /* §14.3: RTO = MAX(500 ms, Ta * (Num-Waiting + Num-In-Progress)). */
  unsigned busy = count_state(a, PAIR_WAITING) + count_state(a, PAIR_IN_PROGRESS);
  unsigned rto = MAX(a->cfg.check_rto_ms, a->cfg.ta_ms * busy);
  p->state = PAIR_IN_PROGRESS;
  nl_stun_timer_start(&t->timer, now, rto, a->cfg.check_rc, 0, FALSE);
  a->stats.checks_sent++;
  char s[160];
  logf_(a, "check %s%s", pair_str(a, p, s, sizeof s),
        t->use_candidate ? " USE-CANDIDATE" : "");
  if (pair == a->selected)
    a->last_sent = now;
  send_from(a, p->local, &a->remotes[p->remote].addr, a->msg, n);
}

/* One check per Ta: a triggered one first, else the highest-priority
 * Waiting pair, else unfreeze (§6.1.4.2). */
static void pace_checks(NlIceAgent *a, int64_t now) {
  if (now < a->next_check)
    return;
  if (a->rpwd == NULL)
    return;
  int pick = -1;
  while (a->n_triggered > 0 && pick < 0) {
    int p = a->triggered[0];
    memmove(a->triggered, a->triggered + 1,
            (a->n_triggered - 1) * sizeof a->triggered[0]);
    a->n_triggered--;
    a->pairs[p].triggered = FALSE;
    if (a->pairs[p].state != PAIR_SUCCEEDED || a->pairs[p].nominating)
      pick = p;
  }
  if (pick < 0 && a->selected < 0 && a->checking) {
    for (int round = 0; round < 2 && pick < 0; round++) {
      for (unsigned i = 0; i < a->n_pairs; i++) {
        const Pair *p = &a->pairs[i];
        if (p->in_checklist && p->state == PAIR_WAITING &&
            (pick < 0 || p->priority > a->pairs[pick].priority))
          pick = (int)i;
      }
      if (pick >= 0 || round == 1)
        break;
      /* No Waiting pair: unfreeze, per foundation, the best Frozen pair
       * whose foundation has nothing Waiting or In-Progress. */
      gboolean any = FALSE;
      for (unsigned i = 0; i < a->n_pairs; i++) {
        Pair *p = &a->pairs[i];
        if (!p->in_checklist || p->state != PAIR_FROZEN ||
            foundation_active(a, p->foundation))
          continue;
        int best = (int)i;
        for (unsigned k = 0; k < a->n_pairs; k++) {
          const Pair *q = &a->pairs[k];
          if (q->in_checklist && q->state == PAIR_FROZEN &&
              strcmp(q->foundation, p->foundation) == 0 &&
              q->priority > a->pairs[best].priority)
            best = (int)k;
        }
        a->pairs[best].state = PAIR_WAITING;
        any = TRUE;
      }
      if (!any)
        break;
    }
  }
  if (pick < 0)
    return;
  send_check(a, pick, now);
  a->next_check = now + (int64_t)a->cfg.ta_ms * MS;
}

/* ---- selection, nomination, failure ---- */

static void fill_report(const NlIceAgent *a, int pair, NlIcePair *out) {
  const Pair *p = &a->pairs[pair];
  memset(out, 0, sizeof *out);
  out->local = a->locals[p->local].c;
  out->remote = a->remotes[p->remote];
  out->priority = p->priority;
  out->relayed = out->local.type == NL_ICE_CAND_RELAY ||
                 out->remote.type == NL_ICE_CAND_RELAY ||
                 a->locals[a->locals[p->local].base].c.type ==
                     NL_ICE_CAND_RELAY;
}

static void turn_bind_channel(NlIceAgent *a, int socket,
                              const struct sockaddr_storage *peer,
                              int64_t now);

static void select_pair(NlIceAgent *a, int valid, int64_t now) {
  if (a->selected >= 0)
    return;
  a->selected = valid;
  Pair *v = &a->pairs[valid];
  v->nominated = TRUE;
  fill_report(a, valid, &a->selected_report);
  a->stats.selected_ns = now;
  a->last_consent = now;
  a->stats.last_consent_ns = now;
  a->last_sent = now;
  /* RFC 7675 §5.1: every 4 to 6 s (0.8 to 1.2 of 5 s). */
  a->next_consent =
      now + (int64_t)a->cfg.consent_ms * MS * (800 + (int64_t)(rnd(a) % 401)) /
                1000;
  /* §8.1.2: the check list is Completed; nothing more to check. */
  a->n_triggered = 0;
  for (unsigned i = 0; i < a->n_pairs; i++)
    a->pairs[i].triggered = FALSE;
  for (unsigned i = 0; i < a->n_tx; i++)
    if (tx_at(a, i)->kind == TX_CHECK)
      tx_at(a, i)->cancelled = TRUE;
  char s[160];
  logf_(a, "selected %s", pair_str(a, v, s, sizeof s));
  const Local *base = &a->locals[a->locals[v->local].base];
  if (base->c.type == NL_ICE_CAND_RELAY)
    turn_bind_channel(a, base->c.socket, &a->remotes[v->remote].addr, now);
  NlIceEvent ev = {.kind = NL_ICE_EVENT_SELECTED, .pair = &a->selected_report};
  emit(a, &ev);
  set_state(a, NL_ICE_STATE_CONNECTED, NULL);
}

static NlIceCandType worse_type(const NlIceAgent *a, const Pair *p) {
  NlIceCandType l = a->locals[p->local].c.type, r = a->remotes[p->remote].type;
  /* Relayed is the worst, then peer-reflexive, server-reflexive, host. */
  static const int rank[] = {[NL_ICE_CAND_HOST] = 0, [NL_ICE_CAND_SRFLX] = 1,
                             [NL_ICE_CAND_PRFLX] = 2, [NL_ICE_CAND_RELAY] = 3};
  if (a->locals[a->locals[p->local].base].c.type == NL_ICE_CAND_RELAY)
    l = NL_ICE_CAND_RELAY;
  return rank[l] >= rank[r] ? l : r;
}

/* The controlling agent's nomination (§8.1.1): the best valid pair is
 * nominated once nothing better is still being checked, or once it has
 * waited long enough for its type. */
static void maybe_nominate(NlIceAgent *a, int64_t now) {
  a->nominate_at = INT64_MAX;
  if (a->role != NL_ICE_ROLE_CONTROLLING || a->selected >= 0 || !a->checking)
    return;
  int best = -1;
  for (unsigned i = 0; i < a->n_pairs; i++) {
    const Pair *p = &a->pairs[i];
    if (p->nominating && p->state != PAIR_FAILED)
      return; /* a nomination is under way */
    if (p->valid && (best < 0 || p->priority > a->pairs[best].priority))
      best = (int)i;
  }
  if (best < 0)
    return;
  gboolean better_pending = FALSE;
  for (unsigned i = 0; i < a->n_pairs; i++) {
    const Pair *p = &a->pairs[i];
    if (p->in_checklist && p->priority > a->pairs[best].priority &&
        (p->state == PAIR_WAITING || p->state == PAIR_FROZEN ||
         p->state == PAIR_IN_PROGRESS))
      better_pending = TRUE;
  }
  int64_t at = a->stats.checks_started_ns +
               (int64_t)a->cfg.accept_wait_ms[worse_type(a, &a->pairs[best])] *
                   MS;
  if (better_pending && now < at) {
    a->nominate_at = at;
    return;
  }
  int g = a->pairs[best].generating >= 0 ? a->pairs[best].generating : best;
  Pair *gp = &a->pairs[g];
  gp->nominating = TRUE;
  char s[160];
  logf_(a, "nominating %s", pair_str(a, gp, s, sizeof s));
  trigger(a, g);
  /* A triggered check goes out at once when the pacer allows. */
  pace_checks(a, now);
}

static void check_failed_overall(NlIceAgent *a) {
  if (a->selected >= 0 || a->state == NL_ICE_STATE_FAILED || !a->checking ||
      !a->remote_done || !a->gathered)
    return;
  unsigned n = 0;
  for (unsigned i = 0; i < a->n_pairs; i++) {
    const Pair *p = &a->pairs[i];
    if (p->valid || p->triggered)
      return;
    if (!p->in_checklist)
      continue;
    if (p->state != PAIR_FAILED)
      return;
    n++;
  }
  char why[96];
  snprintf(why, sizeof why, "all %u candidate pairs failed", n);
  logf_(a, "%s", why);
  set_state(a, NL_ICE_STATE_FAILED, why);
}

/* ---- gathering (§5.1.1) ---- */

static void bind_send(NlIceAgent *a, Tx *t) {
  size_t n = nl_stun_binding_request_build(t->tid, 0, a->msg, sizeof a->msg);
  send_raw(a, t->socket, &a->cfg.stun, a->msg, n);
}

static void turn_send_request(NlIceAgent *a, Tx *t) {
  Turn *tn = a->socks[t->socket].turn;
  NlStunWriter w;
  nl_stun_writer_init(&w, a->msg, sizeof a->msg, t->method, NL_STUN_REQUEST,
                      t->tid);
  if (t->method == NL_STUN_ALLOCATE)
    nl_stun_writer_add_u32(&w, NL_STUN_ATTR_REQUESTED_TRANSPORT, 17u << 24);
  if (t->method == NL_STUN_ALLOCATE || t->method == NL_STUN_REFRESH)
    nl_stun_writer_add_u32(&w, NL_STUN_ATTR_LIFETIME, t->lifetime);
  if (t->method == NL_STUN_CHANNEL_BIND)
    nl_stun_writer_add_channel(&w, t->channel);
  if (t->method == NL_STUN_CREATE_PERMISSION ||
      t->method == NL_STUN_CHANNEL_BIND)
    nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_PEER_ADDRESS,
                                (const struct sockaddr *)&t->peer);
  if (tn->have_key) {
    const char *u = a->cfg.turn_user ? a->cfg.turn_user : "";
    nl_stun_writer_add(&w, NL_STUN_ATTR_USERNAME, u, strlen(u));
    nl_stun_writer_add(&w, NL_STUN_ATTR_REALM, tn->realm, strlen(tn->realm));
    nl_stun_writer_add(&w, NL_STUN_ATTR_NONCE, tn->nonce, strlen(tn->nonce));
    nl_stun_writer_add_integrity(&w, tn->key, sizeof tn->key);
  }
  nl_stun_writer_add_fingerprint(&w);
  size_t n = nl_stun_writer_finish(&w);
  a->stats.turn_requests++;
  send_raw(a, t->socket, &a->cfg.turn, a->msg, n);
}

static void turn_start_tx(NlIceAgent *a, Tx *t, int64_t now) {
  nl_stun_timer_start(&t->timer, now, 0, 0, 0, FALSE);
  turn_send_request(a, t);
}

static void gathering_maybe_done(NlIceAgent *a, int64_t now) {
  if (!a->gathering || a->gathered)
    return;
  for (unsigned i = 0; i < a->n_tx; i++) {
    const Tx *t = tx_at(a, i);
    if (t->kind == TX_BIND ||
        (t->kind == TX_TURN && t->method == NL_STUN_ALLOCATE &&
         a->socks[t->socket].turn->state == TURN_ALLOCATING))
      return;
  }
  a->gathered = TRUE;
  logf_(a, "gathering done: %u local candidates", a->n_locals);
  NlIceEvent ev = {.kind = NL_ICE_EVENT_GATHERING_DONE};
  emit(a, &ev);
  start_checks_if_ready(a, now);
}

void nl_ice_agent_gather(NlIceAgent *a, int64_t now) {
  g_return_if_fail(a != NULL);
  a->now = now;
  if (a->gathering)
    return;
  a->gathering = TRUE;
  set_state(a, NL_ICE_STATE_GATHERING, NULL);
  a->gather_deadline = now + (int64_t)a->cfg.gather_timeout_ms * MS;
  for (unsigned s = 0; s < a->n_socks; s++)
    a->socks[s].host = add_local(a, NL_ICE_CAND_HOST, s, 0, -1,
                                 &a->socks[s].local, NULL, 0, now);
  gboolean want_srflx = (a->cfg.types >> NL_ICE_CAND_SRFLX) & 1u;
  gboolean want_relay = (a->cfg.types >> NL_ICE_CAND_RELAY) & 1u;
  for (unsigned s = 0; s < a->n_socks; s++) {
    if (a->socks[s].host < 0)
      continue;
    if (want_srflx && a->cfg.stun.ss_family == a->socks[s].local.ss_family) {
      Tx *t = tx_new(a, TX_BIND, (int)s);
      if (t != NULL) {
        nl_stun_timer_start(&t->timer, now, 0, 0, 0, FALSE);
        bind_send(a, t);
      }
    }
    if ((want_relay || want_srflx) &&
        a->cfg.turn.ss_family == a->socks[s].local.ss_family &&
        a->cfg.turn_user != NULL) {
      Tx *t = tx_new(a, TX_TURN, (int)s);
      Turn *tn = t ? calloc(1, sizeof *tn) : NULL;
      if (t != NULL && tn == NULL)
        t->kind = TX_FREE;
      if (tn != NULL) {
        tn->relay_local = -1;
        tn->state = TURN_ALLOCATING;
        a->socks[s].turn = tn;
        t->method = NL_STUN_ALLOCATE;
        t->lifetime = TURN_LIFETIME_S;
        turn_start_tx(a, t, now);
      }
    }
  }
  gathering_maybe_done(a, now);
}

/* ---- remote side ---- */

void nl_ice_agent_set_remote_credentials(NlIceAgent *a, const char *ufrag,
                                         const char *pwd) {
  g_return_if_fail(a != NULL && ufrag != NULL && pwd != NULL);
  free(a->rufrag);
  free(a->rpwd);
  a->rufrag = strdup(ufrag);
  a->rpwd = strdup(pwd);
}

static void maybe_nominate(NlIceAgent *a, int64_t now);

static void start_checks_if_ready(NlIceAgent *a, int64_t now) {
  if (a->checking || !a->gathered || a->rpwd == NULL ||
      (a->n_remotes == 0 && !a->remote_done))
    return;
  a->checking = TRUE;
  a->stats.checks_started_ns = now;
  for (unsigned l = 0; l < a->n_locals; l++)
    add_pairs_for_local(a, (int)l, now);
  init_states(a);
  logf_(a, "checking %u pairs", count_state(a, PAIR_WAITING) +
                                    count_state(a, PAIR_FROZEN) +
                                    count_state(a, PAIR_IN_PROGRESS));
  set_state(a, NL_ICE_STATE_CHECKING, NULL);
  /* The first check goes out at the next tick, not now: candidates that
   * arrive together (one signaling read) are all paired first, so the
   * checks start with the best pair (§6.1.4.2). */
  if (a->next_check < now)
    a->next_check = now;
  /* Pairs may have succeeded already, by triggered checks answering the
   * peer's checks that came before our own list was ready. */
  maybe_nominate(a, now);
  check_failed_overall(a);
}

static int remote_find(const NlIceAgent *a, const struct sockaddr_storage *addr) {
  for (unsigned i = 0; i < a->n_remotes; i++)
    if (same_addr(&a->remotes[i].addr, addr))
      return (int)i;
  return -1;
}

gboolean nl_ice_agent_add_remote_candidate(NlIceAgent *a,
                                           const NlIceCandidate *c,
                                           int64_t now) {
  g_return_val_if_fail(a != NULL && c != NULL, FALSE);
  a->now = now;
  if (c->component != 1 || a->n_remotes >= NL_ICE_MAX_REMOTE ||
      c->addr.ss_family != AF_INET)
    return FALSE;
  int existing = remote_find(a, &c->addr);
  if (existing >= 0) {
    /* A signalled candidate replaces a peer-reflexive one learnt earlier
     * from a check (§7.3.1.3: the signalled one is what it really is). */
    NlIceCandidate *r = &a->remotes[existing];
    if (r->type != NL_ICE_CAND_PRFLX)
      return FALSE;
    *r = *c;
    r->socket = -1;
    recompute_priorities(a);
    return TRUE;
  }
  int idx = (int)a->n_remotes++;
  a->remotes[idx] = *c;
  a->remotes[idx].socket = -1;
  char s[64];
  logf_(a, "remote candidate %s %s", nl_ice_cand_type_name(c->type),
        addr_str(&c->addr, s, sizeof s));
  if (a->checking)
    add_pairs_for_remote(a, idx, now);
  else
    start_checks_if_ready(a, now);
  return TRUE;
}

void nl_ice_agent_remote_done(NlIceAgent *a, int64_t now) {
  g_return_if_fail(a != NULL);
  a->now = now;
  a->remote_done = TRUE;
  start_checks_if_ready(a, now);
  check_failed_overall(a);
}

/* ---- answering checks (§7.3) ---- */

static void send_error(NlIceAgent *a, int local, const NlStunMsg *req,
                       const struct sockaddr_storage *to, unsigned code,
                       const char *reason, gboolean with_integrity) {
  NlStunWriter w;
  nl_stun_writer_init(&w, a->msg, sizeof a->msg, NL_STUN_BINDING, NL_STUN_ERROR,
                      req->tid);
  nl_stun_writer_add_error(&w, code, reason);
  if (with_integrity)
    nl_stun_writer_add_integrity(&w, (const uint8_t *)a->pwd, strlen(a->pwd));
  nl_stun_writer_add_fingerprint(&w);
  send_from(a, local, to, a->msg, nl_stun_writer_finish(&w));
}

static gboolean get_u64(const NlStunMsg *m, uint16_t type, uint64_t *out) {
  const NlStunAttr *at = nl_stun_msg_find(m, type);
  if (at == NULL || at->len != 8)
    return FALSE;
  const uint8_t *v = nl_stun_msg_value(m, at);
  uint64_t x = 0;
  for (int i = 0; i < 8; i++)
    x = x << 8 | v[i];
  *out = x;
  return TRUE;
}

static void switch_role(NlIceAgent *a, NlIceRole role, const char *why) {
  if (a->role == role)
    return;
  a->role = role;
  a->stats.role_conflicts++;
  recompute_priorities(a);
  logf_(a, "role conflict (%s): now %s", why,
        role == NL_ICE_ROLE_CONTROLLING ? "controlling" : "controlled");
  NlIceEvent ev = {.kind = NL_ICE_EVENT_ROLE, .role = role};
  emit(a, &ev);
}

static void handle_request(NlIceAgent *a, int local, const NlStunMsg *m,
                           const struct sockaddr_storage *from, int64_t now) {
  const uint8_t *user;
  size_t ulen;
  uint32_t prio = 0;
  size_t fl = strlen(a->ufrag);
  /* RFC 8489 §9.1.3: USERNAME and MESSAGE-INTEGRITY first; ICE requires
   * FINGERPRINT too (§7.2.2). */
  if (m->fingerprint < 0 || m->integrity < 0 ||
      nl_stun_msg_get_string(m, NL_STUN_ATTR_USERNAME, &user, &ulen) !=
          NL_STUN_OK) {
    send_error(a, local, m, from, 400, "Bad Request", FALSE);
    return;
  }
  if (ulen <= fl || memcmp(user, a->ufrag, fl) != 0 || user[fl] != ':' ||
      nl_stun_msg_check_integrity(m, (const uint8_t *)a->pwd,
                                  strlen(a->pwd)) != NL_STUN_OK) {
    send_error(a, local, m, from, 401, "Unauthorized", FALSE);
    return;
  }
  uint64_t theirs = 0;
  gboolean they_control = get_u64(m, NL_STUN_ATTR_ICE_CONTROLLING, &theirs);
  gboolean they_controlled =
      !they_control && get_u64(m, NL_STUN_ATTR_ICE_CONTROLLED, &theirs);
  if (nl_stun_msg_get_u32(m, NL_STUN_ATTR_PRIORITY, &prio) != NL_STUN_OK ||
      (!they_control && !they_controlled)) {
    send_error(a, local, m, from, 400, "Bad Request", TRUE);
    return;
  }
  /* §7.3.1.1: role conflicts, decided by the tie-breakers. */
  if (they_control && a->role == NL_ICE_ROLE_CONTROLLING) {
    if (a->tie_breaker >= theirs) {
      send_error(a, local, m, from, 487, "Role Conflict", TRUE);
      return;
    }
    switch_role(a, NL_ICE_ROLE_CONTROLLED, "both controlling");
  } else if (they_controlled && a->role == NL_ICE_ROLE_CONTROLLED) {
    if (a->tie_breaker >= theirs) {
      switch_role(a, NL_ICE_ROLE_CONTROLLING, "both controlled");
    } else {
      send_error(a, local, m, from, 487, "Role Conflict", TRUE);
      return;
    }
  }
  /* The success response: the source as we saw it, signed with our
   * password (§7.3.1.2). */
  NlStunWriter w;
  nl_stun_writer_init(&w, a->msg, sizeof a->msg, NL_STUN_BINDING,
                      NL_STUN_SUCCESS, m->tid);
  nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_MAPPED_ADDRESS,
                              (const struct sockaddr *)from);
  nl_stun_writer_add_integrity(&w, (const uint8_t *)a->pwd, strlen(a->pwd));
  nl_stun_writer_add_fingerprint(&w);
  size_t n = nl_stun_writer_finish(&w);
  send_from(a, local, from, a->msg, n);
  a->stats.checks_received++;
  gboolean use = nl_stun_msg_find(m, NL_STUN_ATTR_USE_CANDIDATE) != NULL;
  /* §7.3.1.3: an unknown source is a peer-reflexive remote candidate with
   * the PRIORITY of the request. */
  int r = remote_find(a, from);
  if (r < 0) {
    if (a->n_remotes >= NL_ICE_MAX_REMOTE)
      return;
    r = (int)a->n_remotes++;
    NlIceCandidate *c = &a->remotes[r];
    memset(c, 0, sizeof *c);
    c->type = NL_ICE_CAND_PRFLX;
    c->priority = prio;
    c->component = 1;
    c->addr = *from;
    c->socket = -1;
    snprintf(c->foundation, sizeof c->foundation, "prflx%u",
             ++a->n_remote_prflx);
    char s[64];
    logf_(a, "peer-reflexive remote candidate %s",
          addr_str(from, s, sizeof s));
  }
  if (a->state == NL_ICE_STATE_FAILED)
    return;
  /* §7.3.1.4: the triggered check. */
  int pi = pair_find(a, local, r);
  if (pi < 0 && a->selected < 0)
    pi = pair_new(a, local, r, TRUE);
  if (pi < 0)
    return;
  Pair *p = &a->pairs[pi];
  if (!p->in_checklist && a->selected < 0)
    p->in_checklist = TRUE;
  if (use && a->role == NL_ICE_ROLE_CONTROLLED)
    p->nominate_on_success = TRUE;
  if (a->selected >= 0)
    return; /* Completed: answers only (consent checks land here) */
  switch (p->state) {
    case PAIR_SUCCEEDED:
      if (p->nominate_on_success && p->valid_pair >= 0)
        select_pair(a, p->valid_pair, now);
      break;
    case PAIR_IN_PROGRESS:
      for (unsigned i = 0; i < a->n_tx; i++)
        if (tx_at(a, i)->kind == TX_CHECK && tx_at(a, i)->pair == pi)
          tx_at(a, i)->cancelled = TRUE;
      p->state = PAIR_WAITING;
      trigger(a, pi);
      break;
    default:
      trigger(a, pi);
      break;
  }
  if (a->checking)
    pace_checks(a, now);
}

/* ---- check responses (§7.2.5) ---- */

static int local_find(const NlIceAgent *a, const struct sockaddr_storage *addr,
                      int socket) {
  for (unsigned i = 0; i < a->n_locals; i++)
    if (same_addr(&a->locals[i].c.addr, addr) &&
        a->locals[a->locals[i].base].c.socket == socket)
      return (int)i;
  return -1;
}

static void pair_failed(NlIceAgent *a, int pi, const char *why) {
  Pair *p = &a->pairs[pi];
  if (p->state == PAIR_SUCCEEDED)
    return;
  p->state = PAIR_FAILED;
  p->nominating = FALSE;
  char s[160];
  logf_(a, "check failed (%s): %s", why, pair_str(a, p, s, sizeof s));
}

static void handle_check_response(NlIceAgent *a, Tx *t, int local,
                                  const NlStunMsg *m,
                                  const struct sockaddr_storage *from,
                                  int64_t now) {
  int pi = t->pair;
  Pair *p = &a->pairs[pi];
  gboolean consent = t->kind == TX_CONSENT;
  const char *rpwd = a->rpwd ? a->rpwd : "";
  /* A response that fails the integrity check is discarded, as if lost
   * (§7.2.5.1 and RFC 8489 §9.1.4). */
  if (nl_stun_msg_check_integrity(m, (const uint8_t *)rpwd, strlen(rpwd)) !=
      NL_STUN_OK)
    return;
  t->kind = TX_FREE;
  if (m->klass == NL_STUN_ERROR) {
    unsigned code = 0;
    (void)nl_stun_msg_get_error(m, &code, NULL, NULL);
    if (code == 487 && !consent) {
      /* §7.2.5.1: switch roles unless already switched, check again. */
      if (t->role == a->role)
        switch_role(a, a->role == NL_ICE_ROLE_CONTROLLING
                           ? NL_ICE_ROLE_CONTROLLED
                           : NL_ICE_ROLE_CONTROLLING,
                    "487 from the peer");
      p->state = PAIR_WAITING;
      trigger(a, pi);
      return;
    }
    if (!consent) {
      char why[32];
      snprintf(why, sizeof why, "error %u", code);
      pair_failed(a, pi, why);
      check_failed_overall(a);
    }
    return;
  }
  /* §7.2.5.2.1: the response must come from where the request went, to
   * where it came from. */
  if (!same_addr(from, &a->remotes[p->remote].addr) ||
      a->locals[local].base != a->locals[p->local].base) {
    if (!consent) {
      pair_failed(a, pi, "non-symmetric addresses");
      check_failed_overall(a);
    }
    return;
  }
  if (consent) {
    a->last_consent = now;
    a->stats.last_consent_ns = now;
    return;
  }
  struct sockaddr_storage mapped;
  if (nl_stun_msg_get_addr(m, NL_STUN_ATTR_XOR_MAPPED_ADDRESS, TRUE, &mapped) !=
      NL_STUN_OK) {
    pair_failed(a, pi, "no XOR-MAPPED-ADDRESS");
    check_failed_overall(a);
    return;
  }
  /* §7.2.5.3.1: a mapped address we do not know is a peer-reflexive local
   * candidate (not signalled), with the PRIORITY the check carried. */
  int base = a->locals[p->local].base;
  int sock = a->locals[base].c.socket;
  int lc = local_find(a, &mapped, sock);
  if (lc < 0)
    lc = add_local(a, NL_ICE_CAND_PRFLX, (unsigned)sock, 0, base, &mapped,
                   &a->locals[base].c.addr, t->prio, now);
  if (lc < 0)
    lc = p->local;
  /* §7.2.5.3.2: the valid pair. */
  int vi = lc == p->local ? pi : pair_find(a, lc, p->remote);
  if (vi < 0)
    vi = pair_new(a, lc, p->remote, FALSE);
  if (vi < 0)
    vi = pi;
  Pair *v = &a->pairs[vi];
  p = &a->pairs[pi]; /* pair_new may not move it, but be plain */
  p->state = PAIR_SUCCEEDED;
  p->valid_pair = vi;
  v->valid = TRUE;
  v->state = PAIR_SUCCEEDED;
  v->generating = pi;
  a->last_consent = now;
  char s[160];
  logf_(a, "check succeeded: %s", pair_str(a, v, s, sizeof s));
  /* §7.2.5.3.3: unfreeze pairs of the same foundation. */
  for (unsigned i = 0; i < a->n_pairs; i++)
    if (a->pairs[i].in_checklist && a->pairs[i].state == PAIR_FROZEN &&
        strcmp(a->pairs[i].foundation, p->foundation) == 0)
      a->pairs[i].state = PAIR_WAITING;
  /* §7.2.5.3.4, §8.1.1: nomination. */
  if ((t->use_candidate && a->role == NL_ICE_ROLE_CONTROLLING) ||
      (p->nominate_on_success && a->role == NL_ICE_ROLE_CONTROLLED)) {
    select_pair(a, vi, now);
    return;
  }
  maybe_nominate(a, now);
}

/* ---- TURN responses (RFC 8656) ---- */

static void copy_attr_string(const NlStunMsg *m, uint16_t type, char *out,
                             size_t cap) {
  const uint8_t *v;
  size_t n;
  if (nl_stun_msg_get_string(m, type, &v, &n) != NL_STUN_OK)
    return;
  if (n >= cap)
    n = cap - 1;
  memcpy(out, v, n);
  out[n] = '\0';
}

static void turn_flush_perm(NlIceAgent *a, int socket, Perm *p, gboolean send) {
  for (unsigned k = 0; k < p->nq; k++) {
    if (send)
      turn_wrap_send(a, socket, &p->q[k].to, p->q[k].data, p->q[k].len);
    free(p->q[k].data);
  }
  p->nq = 0;
}

static void turn_failed(NlIceAgent *a, int socket, const char *why) {
  Turn *tn = a->socks[socket].turn;
  gboolean was_allocating = tn->state == TURN_ALLOCATING;
  tn->state = TURN_FAILED;
  logf_(a, "TURN: %s", why);
  for (unsigned i = 0; i < tn->n_perms; i++)
    turn_flush_perm(a, socket, &tn->perms[i], FALSE);
  (void)was_allocating;
}

static void handle_turn_response(NlIceAgent *a, Tx *t, const NlStunMsg *m,
                                 int64_t now) {
  Turn *tn = a->socks[t->socket].turn;
  int sock = t->socket;
  if (m->klass == NL_STUN_ERROR) {
    unsigned code = 0;
    (void)nl_stun_msg_get_error(m, &code, NULL, NULL);
    if ((code == 401 && !tn->have_key) || code == 438) {
      /* RFC 8656 §7.2, RFC 8489 §9.2: learn REALM and NONCE, retry. */
      if (t->attempts++ < 3) {
        copy_attr_string(m, NL_STUN_ATTR_REALM, tn->realm, sizeof tn->realm);
        copy_attr_string(m, NL_STUN_ATTR_NONCE, tn->nonce, sizeof tn->nonce);
        nl_stun_long_term_key(a->cfg.turn_user ? a->cfg.turn_user : "",
                              tn->realm,
                              a->cfg.turn_password ? a->cfg.turn_password : "",
                              tn->key);
        tn->have_key = TRUE;
        uint64_t r1 = rnd(a), r2 = rnd(a);
        memcpy(t->tid, &r1, 8);
        memcpy(t->tid + 8, &r2, 4);
        turn_start_tx(a, t, now);
        return;
      }
    }
    char why[80];
    snprintf(why, sizeof why, "%s failed with error %u",
             t->method == NL_STUN_ALLOCATE        ? "Allocate"
             : t->method == NL_STUN_REFRESH       ? "Refresh"
             : t->method == NL_STUN_CHANNEL_BIND  ? "ChannelBind"
                                                  : "CreatePermission",
             code);
    t->kind = TX_FREE;
    if (t->method == NL_STUN_ALLOCATE || t->method == NL_STUN_REFRESH) {
      turn_failed(a, sock, why);
      gathering_maybe_done(a, now);
    } else if (t->method == NL_STUN_CREATE_PERMISSION) {
      Perm *p = perm_find(tn, &t->peer);
      logf_(a, "TURN: %s", why);
      if (p) {
        turn_flush_perm(a, sock, p, FALSE);
        p->state = PERM_NONE;
      }
    } else {
      logf_(a, "TURN: %s", why);
    }
    return;
  }
  t->kind = TX_FREE;
  switch (t->method) {
    case NL_STUN_ALLOCATE: {
      struct sockaddr_storage relayed, mapped;
      uint32_t life = TURN_LIFETIME_S;
      (void)nl_stun_msg_get_u32(m, NL_STUN_ATTR_LIFETIME, &life);
      if (nl_stun_msg_get_addr(m, NL_STUN_ATTR_XOR_RELAYED_ADDRESS, TRUE,
                               &relayed) != NL_STUN_OK) {
        turn_failed(a, sock, "Allocate: no XOR-RELAYED-ADDRESS");
        break;
      }
      tn->state = TURN_READY;
      tn->relayed = relayed;
      int64_t refresh = life > 120 ? (int64_t)life - 60 : (int64_t)life / 2;
      tn->refresh_at = now + MAX(refresh, 1) * NS_PER_S;
      int host = a->socks[sock].host;
      gboolean have_mapped =
          nl_stun_msg_get_addr(m, NL_STUN_ATTR_XOR_MAPPED_ADDRESS, TRUE,
                               &mapped) == NL_STUN_OK;
      if (have_mapped) {
        tn->mapped = mapped;
        /* The TURN server is a STUN server too: its mapped address is a
         * server-reflexive candidate (a duplicate of the STUN one is
         * redundant, §5.1.3). */
        if (((a->cfg.types >> NL_ICE_CAND_SRFLX) & 1u) &&
            !same_addr(&mapped, &a->socks[sock].local))
          add_local(a, NL_ICE_CAND_SRFLX, (unsigned)sock, 1, host, &mapped,
                    &a->socks[sock].local, 0, now);
      }
      if ((a->cfg.types >> NL_ICE_CAND_RELAY) & 1u) {
        int idx = add_local(a, NL_ICE_CAND_RELAY, (unsigned)sock, 1, -1,
                            &relayed,
                            have_mapped ? &mapped : NULL, 0, now);
        tn->relay_local = idx;
      }
      break;
    }
    case NL_STUN_REFRESH: {
      uint32_t life = TURN_LIFETIME_S;
      (void)nl_stun_msg_get_u32(m, NL_STUN_ATTR_LIFETIME, &life);
      int64_t refresh = life > 120 ? (int64_t)life - 60 : (int64_t)life / 2;
      tn->refresh_at = now + MAX(refresh, 1) * NS_PER_S;
      break;
    }
    case NL_STUN_CREATE_PERMISSION: {
      Perm *p = perm_find(tn, &t->peer);
      if (p) {
        p->state = PERM_OK;
        p->refresh_at = now + PERMISSION_REFRESH_S * NS_PER_S;
        turn_flush_perm(a, sock, p, TRUE);
      }
      break;
    }
    case NL_STUN_CHANNEL_BIND: {
      Chan *c = chan_find_number(tn, t->channel);
      if (c) {
        c->bound = TRUE;
        c->refresh_at = now + CHANNEL_REFRESH_S * NS_PER_S;
        char s[64];
        logf_(a, "TURN: channel 0x%04X bound to %s", c->number,
              addr_str(&c->peer, s, sizeof s));
      }
      /* A channel binding also installs a permission. */
      Perm *p = perm_find(tn, &t->peer);
      if (p && p->state == PERM_OK)
        p->refresh_at = now + PERMISSION_REFRESH_S * NS_PER_S;
      break;
    }
    default:
      break;
  }
  gathering_maybe_done(a, now);
}

static void turn_bind_channel(NlIceAgent *a, int socket,
                              const struct sockaddr_storage *peer,
                              int64_t now) {
  Turn *tn = a->socks[socket].turn;
  if (tn == NULL || tn->state != TURN_READY ||
      chan_find_peer(tn, peer) != NULL ||
      tn->n_chans >= MAX_CHANS)
    return;
  Chan *c = &tn->chans[tn->n_chans];
  memset(c, 0, sizeof *c);
  c->peer = *peer;
  c->number = (uint16_t)(0x4000 + tn->n_chans);
  tn->n_chans++;
  Tx *t = tx_new(a, TX_TURN, socket);
  if (t == NULL)
    return;
  t->method = NL_STUN_CHANNEL_BIND;
  t->peer = *peer;
  t->channel = c->number;
  turn_start_tx(a, t, now);
}

/* ---- receiving ---- */

static gboolean is_stun(const uint8_t *buf, size_t len) {
  return len >= NL_STUN_HEADER_LEN && (buf[0] & 0xC0) == 0 &&
         buf[4] == 0x21 && buf[5] == 0x12 && buf[6] == 0xA4 && buf[7] == 0x42;
}

static gboolean handle_datagram(NlIceAgent *a, int local,
                                const struct sockaddr_storage *from,
                                const uint8_t *buf, size_t len, int64_t now);
static void handle_bind_response(NlIceAgent *a, Tx *t, const NlStunMsg *m,
                                 int64_t now);

/* Something from the TURN server on @socket: a response, a Data
 * indication or ChannelData. */
static gboolean handle_from_turn(NlIceAgent *a, int socket, const uint8_t *buf,
                                 size_t len, int64_t now) {
  Turn *tn = a->socks[socket].turn;
  if (len >= 4 && (buf[0] & 0xC0) == 0x40) {
    uint16_t ch;
    const uint8_t *d;
    size_t dl;
    if (nl_stun_channel_data_parse(buf, len, &ch, &d, &dl) != NL_STUN_OK)
      return FALSE;
    Chan *c = chan_find_number(tn, ch);
    if (c == NULL || tn->relay_local < 0)
      return FALSE;
    struct sockaddr_storage peer = c->peer;
    return handle_datagram(a, tn->relay_local, &peer, d, dl, now);
  }
  NlStunMsg m;
  if (nl_stun_msg_parse(buf, len, &m) != NL_STUN_OK)
    return FALSE;
  if (m.klass == NL_STUN_INDICATION && m.method == NL_STUN_DATA) {
    struct sockaddr_storage peer;
    const uint8_t *d;
    size_t dl;
    if (tn->relay_local < 0 ||
        nl_stun_msg_get_addr(&m, NL_STUN_ATTR_XOR_PEER_ADDRESS, TRUE, &peer) !=
            NL_STUN_OK ||
        nl_stun_msg_get_string(&m, NL_STUN_ATTR_DATA, &d, &dl) != NL_STUN_OK)
      return FALSE;
    return handle_datagram(a, tn->relay_local, &peer, d, dl, now);
  }
  if (m.klass == NL_STUN_SUCCESS || m.klass == NL_STUN_ERROR) {
    Tx *t = tx_find(a, m.tid);
    if (t == NULL || t->socket != socket)
      return FALSE;
    if (t->kind == TX_TURN) {
      handle_turn_response(a, t, &m, now);
      return TRUE;
    }
    if (t->kind == TX_BIND) {
      /* The STUN server is the TURN server. */
      handle_bind_response(a, t, &m, now);
      return TRUE;
    }
  }
  return FALSE;
}

static void handle_bind_response(NlIceAgent *a, Tx *t, const NlStunMsg *m,
                                 int64_t now) {
  int sock = t->socket;
  t->kind = TX_FREE;
  struct sockaddr_storage mapped;
  if (m->klass == NL_STUN_SUCCESS &&
      nl_stun_msg_get_addr(m, NL_STUN_ATTR_XOR_MAPPED_ADDRESS, TRUE, &mapped) ==
          NL_STUN_OK) {
    /* §5.1.3: a reflexive address equal to the host one is redundant. */
    if (!same_addr(&mapped, &a->socks[sock].local))
      add_local(a, NL_ICE_CAND_SRFLX, (unsigned)sock, 0, a->socks[sock].host,
                &mapped, &a->socks[sock].local, 0, now);
    else
      logf_(a, "server-reflexive address equals the host address: no NAT");
  } else {
    logf_(a, "STUN: Binding failed");
  }
  gathering_maybe_done(a, now);
}

/* A datagram received by local candidate @local (a host candidate, or the
 * relayed one for what came through the TURN server). */
static gboolean handle_datagram(NlIceAgent *a, int local,
                                const struct sockaddr_storage *from,
                                const uint8_t *buf, size_t len, int64_t now) {
  if (is_stun(buf, len)) {
    NlStunMsg m;
    if (nl_stun_msg_parse(buf, len, &m) != NL_STUN_OK)
      return FALSE;
    if (m.method != NL_STUN_BINDING)
      return FALSE;
    if (m.klass == NL_STUN_REQUEST) {
      handle_request(a, local, &m, from, now);
      return TRUE;
    }
    if (m.klass == NL_STUN_INDICATION)
      return TRUE; /* a keepalive (§11) */
    Tx *t = tx_find(a, m.tid);
    if (t == NULL)
      return FALSE;
    if (t->kind == TX_BIND && local == a->socks[t->socket].host &&
        same_addr(from, &a->cfg.stun)) {
      handle_bind_response(a, t, &m, now);
      return TRUE;
    }
    if (t->kind == TX_CHECK || t->kind == TX_CONSENT) {
      handle_check_response(a, t, local, &m, from, now);
      check_failed_overall(a);
      return TRUE;
    }
    return FALSE;
  }
  /* Application data: from a peer we know, on the path we use. */
  if (remote_find(a, from) < 0)
    return FALSE;
  NlIceEvent ev = {.kind = NL_ICE_EVENT_DATA,
                   .data = buf,
                   .len = len,
                   .from = (const struct sockaddr *)from};
  emit(a, &ev);
  return TRUE;
}

gboolean nl_ice_agent_receive(NlIceAgent *a, int socket,
                              const struct sockaddr *from, const uint8_t *buf,
                              size_t len, int64_t now) {
  g_return_val_if_fail(a != NULL && from != NULL && buf != NULL, FALSE);
  a->now = now;
  if (socket < 0 || (unsigned)socket >= a->n_socks || a->socks[socket].host < 0)
    return FALSE;
  struct sockaddr_storage src;
  memset(&src, 0, sizeof src);
  memcpy(&src, from, nl_stun_addr_len(from));
  Turn *tn = a->socks[socket].turn;
  if (tn != NULL && tn->state != TURN_IDLE && same_addr(&src, &a->cfg.turn))
    return handle_from_turn(a, socket, buf, len, now);
  return handle_datagram(a, a->socks[socket].host, &src, buf, len, now);
}

/* ---- application data ---- */

int nl_ice_agent_send(NlIceAgent *a, const uint8_t *data, size_t len,
                      int64_t now) {
  g_return_val_if_fail(a != NULL && (data != NULL || len == 0), -EINVAL);
  a->now = now;
  if (a->selected < 0 || a->state != NL_ICE_STATE_CONNECTED)
    return -ENOTCONN;
  if (len > NL_ICE_MAX_DATA)
    return -EMSGSIZE;
  const Pair *p = &a->pairs[a->selected];
  a->last_sent = now;
  send_from(a, p->local, &a->remotes[p->remote].addr, data, len);
  return 0;
}

/* ---- timers ---- */

static void consent_tick(NlIceAgent *a, int64_t now) {
  if (a->selected < 0 || a->state != NL_ICE_STATE_CONNECTED)
    return;
  const Pair *p = &a->pairs[a->selected];
  if (!a->cfg.consent_off &&
      now - a->last_consent >= (int64_t)a->cfg.consent_expiry_ms * MS) {
    /* RFC 7675 §5.1: no answer for 30 s; stop sending on this path. */
    char s[160], why[256];
    snprintf(why, sizeof why, "consent expired: no answer on %s for %u s",
             pair_str(a, p, s, sizeof s), a->cfg.consent_expiry_ms / 1000);
    logf_(a, "%s", why);
    NlIceEvent ev = {.kind = NL_ICE_EVENT_PATH_FAILED,
                     .pair = &a->selected_report,
                     .text = why};
    emit(a, &ev);
    set_state(a, NL_ICE_STATE_FAILED, why);
    return;
  }
  if (!a->cfg.consent_off && now >= a->next_consent) {
    Tx *t = tx_new(a, TX_CONSENT, a->locals[a->locals[p->local].base].c.socket);
    if (t != NULL) {
      t->pair = a->selected;
      t->role = a->role;
      t->prio = nl_ice_priority(NL_ICE_CAND_PRFLX,
                                local_pref_of((unsigned)t->socket), 1);
      size_t n = build_check(a, t, TRUE);
      /* A few retransmissions at 500 ms; the next consent check starts
       * a new transaction anyway. */
      nl_stun_timer_start(&t->timer, now, 500, 3, 2, FALSE);
      a->stats.consent_sent++;
      a->last_sent = now;
      send_from(a, p->local, &a->remotes[p->remote].addr, a->msg, n);
    }
    a->next_consent = now + (int64_t)a->cfg.consent_ms * MS *
                                (800 + (int64_t)(rnd(a) % 401)) / 1000;
  }
  if (now - a->last_sent >= (int64_t)a->cfg.keepalive_ms * MS) {
    /* §11: a Binding indication keeps the NAT bindings alive. */
    uint8_t tid[NL_STUN_TID_LEN];
    uint64_t r1 = rnd(a), r2 = rnd(a);
    memcpy(tid, &r1, 8);
    memcpy(tid + 8, &r2, 4);
    NlStunWriter w;
    nl_stun_writer_init(&w, a->msg, sizeof a->msg, NL_STUN_BINDING,
                        NL_STUN_INDICATION, tid);
    nl_stun_writer_add_fingerprint(&w);
    a->stats.keepalives_sent++;
    a->last_sent = now;
    send_from(a, p->local, &a->remotes[p->remote].addr, a->msg,
              nl_stun_writer_finish(&w));
  }
}

static void turn_tick(NlIceAgent *a, int64_t now) {
  for (unsigned s = 0; s < a->n_socks; s++) {
    Turn *tn = a->socks[s].turn;
    if (tn == NULL || tn->state != TURN_READY)
      continue;
    if (now >= tn->refresh_at) {
      tn->refresh_at = INT64_MAX;
      Tx *t = tx_new(a, TX_TURN, (int)s);
      if (t) {
        t->method = NL_STUN_REFRESH;
        t->lifetime = TURN_LIFETIME_S;
        turn_start_tx(a, t, now);
      }
    }
    for (unsigned i = 0; i < tn->n_perms; i++) {
      Perm *p = &tn->perms[i];
      if (p->state == PERM_OK && now >= p->refresh_at) {
        p->refresh_at = INT64_MAX;
        Tx *t = tx_new(a, TX_TURN, (int)s);
        if (t) {
          t->method = NL_STUN_CREATE_PERMISSION;
          t->peer = p->ip;
          turn_start_tx(a, t, now);
        }
      }
    }
    for (unsigned i = 0; i < tn->n_chans; i++) {
      Chan *c = &tn->chans[i];
      if (c->bound && now >= c->refresh_at) {
        c->refresh_at = INT64_MAX;
        Tx *t = tx_new(a, TX_TURN, (int)s);
        if (t) {
          t->method = NL_STUN_CHANNEL_BIND;
          t->peer = c->peer;
          t->channel = c->number;
          turn_start_tx(a, t, now);
        }
      }
    }
  }
}

static void tx_timeout(NlIceAgent *a, Tx *t, int64_t now) {
  TxKind kind = t->kind;
  t->kind = TX_FREE;
  switch (kind) {
    case TX_BIND:
      logf_(a, "STUN: no answer from the server");
      gathering_maybe_done(a, now);
      break;
    case TX_TURN:
      if (t->method == NL_STUN_ALLOCATE || t->method == NL_STUN_REFRESH) {
        turn_failed(a, t->socket, "no answer from the server");
        gathering_maybe_done(a, now);
      } else if (t->method == NL_STUN_CREATE_PERMISSION) {
        Perm *p = perm_find(a->socks[t->socket].turn, &t->peer);
        if (p) {
          turn_flush_perm(a, t->socket, p, FALSE);
          p->state = PERM_NONE;
        }
      }
      break;
    case TX_CHECK: {
      Pair *p = &a->pairs[t->pair];
      if (t->use_candidate && a->selected < 0) {
        /* The nomination got no answer: that path is gone too. */
        p->nominating = FALSE;
        if (p->valid_pair >= 0)
          a->pairs[p->valid_pair].valid = FALSE;
        p->state = PAIR_IN_PROGRESS;
      }
      if (!t->cancelled && p->state == PAIR_IN_PROGRESS) {
        pair_failed(a, t->pair, "timeout");
        maybe_nominate(a, now);
        check_failed_overall(a);
      }
      break;
    }
    default:
      break;
  }
}

void nl_ice_agent_tick(NlIceAgent *a, int64_t now) {
  g_return_if_fail(a != NULL);
  a->now = now;
  for (unsigned i = 0; i < a->n_tx; i++) {
    Tx *t = tx_at(a, i);
    if (t->kind == TX_FREE)
      continue;
    switch (nl_stun_timer_refresh(&t->timer, now)) {
      case NL_STUN_TIMER_WAIT:
        break;
      case NL_STUN_TIMER_TIMEOUT:
        tx_timeout(a, t, now);
        break;
      case NL_STUN_TIMER_RETRANSMIT:
        if (t->kind == TX_BIND) {
          bind_send(a, t);
        } else if (t->kind == TX_TURN) {
          turn_send_request(a, t);
        } else if (t->kind == TX_CHECK && !t->cancelled) {
          const Pair *p = &a->pairs[t->pair];
          size_t n = build_check(a, t, FALSE);
          a->stats.checks_sent++;
          send_from(a, p->local, &a->remotes[p->remote].addr, a->msg, n);
        } else if (t->kind == TX_CONSENT && a->state == NL_ICE_STATE_CONNECTED) {
          const Pair *p = &a->pairs[t->pair];
          size_t n = build_check(a, t, TRUE);
          send_from(a, p->local, &a->remotes[p->remote].addr, a->msg, n);
        }
        break;
    }
  }
  if (a->gathering && !a->gathered && now >= a->gather_deadline) {
    for (unsigned i = 0; i < a->n_tx; i++) {
      Tx *t = tx_at(a, i);
      if (t->kind == TX_BIND ||
          (t->kind == TX_TURN && t->method == NL_STUN_ALLOCATE))
        tx_timeout(a, t, now);
    }
  }
  if (a->state == NL_ICE_STATE_FAILED)
    return;
  if (a->checking && a->selected < 0) {
    pace_checks(a, now);
    if (now >= a->nominate_at)
      maybe_nominate(a, now);
  } else if (a->n_triggered > 0) {
    pace_checks(a, now);
  }
  consent_tick(a, now);
  turn_tick(a, now);
}

/* Whether pace_checks() would send something now (so a deadline at the
 * next Ta is needed): never true when it would not, or the caller would
 * spin. */
static gboolean has_check_work(const NlIceAgent *a) {
  if (a->rpwd == NULL)
    return FALSE;
  for (unsigned i = 0; i < a->n_triggered; i++) {
    const Pair *p = &a->pairs[a->triggered[i]];
    if (p->state != PAIR_SUCCEEDED || p->nominating)
      return TRUE;
  }
  if (!a->checking || a->selected >= 0)
    return FALSE;
  for (unsigned i = 0; i < a->n_pairs; i++) {
    const Pair *p = &a->pairs[i];
    if (!p->in_checklist)
      continue;
    if (p->state == PAIR_WAITING)
      return TRUE;
    if (p->state == PAIR_FROZEN && !foundation_active(a, p->foundation))
      return TRUE;
  }
  return FALSE;
}

int64_t nl_ice_agent_next_deadline(const NlIceAgent *a) {
  g_return_val_if_fail(a != NULL, INT64_MAX);
  int64_t d = INT64_MAX;
  for (unsigned i = 0; i < a->n_tx; i++)
    if (tx_at(a, i)->kind != TX_FREE)
      d = MIN(d, tx_at(a, i)->timer.deadline_ns);
  if (a->gathering && !a->gathered)
    d = MIN(d, a->gather_deadline);
  if (a->state == NL_ICE_STATE_FAILED)
    return d;
  if (has_check_work(a))
    d = MIN(d, a->next_check);
  if (a->checking && a->selected < 0)
    d = MIN(d, a->nominate_at);
  if (a->selected >= 0 && a->state == NL_ICE_STATE_CONNECTED) {
    if (!a->cfg.consent_off) {
      d = MIN(d, a->next_consent);
      d = MIN(d, a->last_consent + (int64_t)a->cfg.consent_expiry_ms * MS);
    }
    d = MIN(d, a->last_sent + (int64_t)a->cfg.keepalive_ms * MS);
  }
  for (unsigned s = 0; s < a->n_socks; s++) {
    const Turn *tn = a->socks[s].turn;
    if (tn == NULL || tn->state != TURN_READY)
      continue;
    d = MIN(d, tn->refresh_at);
    for (unsigned i = 0; i < tn->n_perms; i++)
      if (tn->perms[i].state == PERM_OK)
        d = MIN(d, tn->perms[i].refresh_at);
    for (unsigned i = 0; i < tn->n_chans; i++)
      if (tn->chans[i].bound)
        d = MIN(d, tn->chans[i].refresh_at);
  }
  return d;
}

unsigned nl_ice_agent_valid_pairs(const NlIceAgent *a, NlIcePair *out,
                                  unsigned max) {
  unsigned n = 0;
  gboolean taken[NL_ICE_MAX_PAIRS] = {FALSE};
  while (n < max) {
    int best = -1;
    for (unsigned i = 0; i < a->n_pairs; i++)
      if (a->pairs[i].valid && !taken[i] &&
          (best < 0 || a->pairs[i].priority > a->pairs[best].priority))
        best = (int)i;
    if (best < 0)
      break;
    taken[best] = TRUE;
    fill_report(a, best, &out[n++]);
  }
  return n;
}

