/* turn-server.c: a TURN server (RFC 8656) over UDP and TCP, UDP relay.
 *
 * usage: turn-server --user NAME:PASSWORD [--user ...] [--realm REALM]
 *                    [--listen IP] [--port N] [--relay-ip IP]
 *                    [--min-port N --max-port N] [--no-tcp]
 *                    [--max-allocations N] [--user-quota N]
 *                    [--default-lifetime S] [--max-lifetime S]
 *                    [--nonce-lifetime S] [--deny-peer IP]
 *                    [--strict-channels] [--software TEXT]
 *                    [--duration S] [--seed N] [--signals] [--verbose]
 *
 * The relayed addresses are on --relay-ip, else on the --listen address,
 * else (listening on every address) on the host's public address: its one
 * IPv4 address outside the private and shared ranges (RFC 1918, RFC 6598,
 * link-local), or its one address at all.  A host with several candidates
 * makes the server refuse to start (exit 2), naming them: a relayed address
 * of 0.0.0.0 would send peers nowhere (RFC 8656 §7.2).
 *
 * Allocate needs long-term credentials (401 with REALM and NONCE first).
 * Refresh (LIFETIME 0 deletes), CreatePermission (300 s), ChannelBind
 * (600 s), Send/Data indications and ChannelData are supported; nothing
 * reaches a peer without a permission for its IP address.  Error codes:
 * 400, 401, 403 (--deny-peer), 420, 437, 438, 440, 441, 442, 443,
 * 486 (--user-quota), 508 (--max-allocations, relay ports exhausted,
 * unknown or expired RESERVATION-TOKEN).  EVEN-PORT with the R bit reserves
 * the next port for 30 s and returns a RESERVATION-TOKEN (RFC 8656 §7.2),
 * as RTP/RTCP clients such as turnutils_uclient expect.
 *
 * Output (stdout): one line per allocation when it ends, and for each live
 * allocation on exit:
 *   relay-bytes allocation=IP:PORT in=N out=N
 * "in" counts payload bytes received from peers on the relay, "out" payload
 * bytes the relay sent to peers.
 *
 * An ordinary POSIX program: no mutable globals, state lives in main.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stun-codec.h"
#include "stun-prog.h"

#define NS_PER_S G_GINT64_CONSTANT(1000000000)
#define PERMISSION_S 300 /* RFC 8656 §9 */
#define CHANNEL_S 600    /* RFC 8656 §12 */
#define MAX_CONNS 256
#define TCP_BUF (NL_STUN_MAX_MSG_LEN + 4)
#define MSG_BUF 65600
#define RESERVATION_S 30

/* Channel numbers.  RFC 8656 §12 narrowed the channel range to
 * 0x4000-0x4FFF (0x5000-0x7FFF are reserved so that the first byte of
 * ChannelData stays within 64-79 for RFC 7983 demultiplexing), while
 * RFC 5766 allowed 0x4000-0x7FFF.  coturn's turnutils_uclient and other
 * RFC 5766-era clients still pick numbers above 0x4FFF, so by default this
 * server accepts the whole RFC 5766 range in ChannelBind and in ChannelData:
 * a relay that rejected them would break those clients for no gain, since
 * ChannelData is recognised by its first two bits (01) either way.
 * --strict-channels applies the RFC 8656 range and answers 400 to
 * ChannelBind outside it. */
#define CHANNEL_MIN 0x4000
#define CHANNEL_MAX_8656 0x4FFF
#define CHANNEL_MAX_5766 0x7FFF

typedef struct {
  char *name;
  char *password; /* kept until the realm is known, then cleared */
  uint8_t key[16];
} User;

typedef struct {
  int fd;
  size_t have;
  struct sockaddr_storage peer;
  uint8_t *buf;
  gboolean dead;
} Conn;

/* Where a client message came from: UDP (address) or TCP (connection). */
typedef struct {
  Conn *conn; /* NULL for UDP */
  struct sockaddr_storage addr;
} Source;

typedef struct {
  struct sockaddr_storage peer; /* the port is ignored */
  int64_t expires;
} Perm;

typedef struct {
  uint16_t number;
  struct sockaddr_storage peer;
  int64_t expires;
} Chan;

typedef struct {
  Source src;
  int relay_fd;
  struct sockaddr_storage relay;
  unsigned user;
  int64_t expires;
  uint8_t alloc_tid[NL_STUN_TID_LEN];
  GArray *perms; /* Perm, insertion order */
  GArray *chans; /* Chan, insertion order */
  uint64_t in_bytes, out_bytes, dropped;
  uint64_t token; /* RESERVATION-TOKEN returned with this allocation */
  gboolean has_token;
} Alloc;

/* A relay port held for a later Allocate with RESERVATION-TOKEN. */
typedef struct {
  uint64_t token;
  int fd;
  struct sockaddr_storage relay;
  int64_t expires;
} Reservation;

typedef struct {
  GPtrArray *users; /* User* */
  const char *realm;
  const char *software;
  struct sockaddr_storage listen, relay_ip;
  int udp, tcp;
  GPtrArray *conns;     /* Conn* */
  GPtrArray *allocs;    /* Alloc*, in creation order */
  GPtrArray *deny;      /* struct sockaddr_storage* */
  GArray *reservations; /* Reservation, creation order */
  unsigned long min_port, max_port, max_allocs, user_quota;
  unsigned long default_lifetime, max_lifetime, nonce_lifetime;
  gboolean strict_channels, verbose;
  NlProgRand rand;
  uint8_t nonce_secret[16];
  int64_t start_ns;
  uint8_t *out;  /* response buffer */
  uint8_t *out2; /* relay framing buffer */
} Server;

static void usage(FILE *f) {
  fprintf(f, "usage: turn-server --user NAME:PASSWORD [--user ...] "
             "[--realm REALM]\n"
             "         [--listen IP] [--port N] [--relay-ip IP]\n"
             "         [--min-port N --max-port N] [--no-tcp]\n"
             "         [--max-allocations N] [--user-quota N]\n"
             "         [--default-lifetime S] [--max-lifetime S] "
             "[--nonce-lifetime S]\n"
             "         [--deny-peer IP] [--strict-channels] [--software TEXT]\n"
             "         [--duration S] [--seed N] [--signals] [--verbose]\n");
}

static gboolean src_equal(const Source *a, const Source *b) {
  if (a->conn != b->conn)
    return FALSE;
  return a->conn != NULL ||
         nl_stun_addr_equal((const struct sockaddr *)&a->addr,
                            (const struct sockaddr *)&b->addr);
}

static Alloc *find_alloc(Server *s, const Source *src) {
  for (guint i = 0; i < s->allocs->len; i++) {
    Alloc *a = g_ptr_array_index(s->allocs, i);
    if (src_equal(&a->src, src))
      return a;
  }
  return NULL;
}

static void send_to_client(Server *s, const Source *src, const uint8_t *buf,
                           size_t len) {
  if (len == 0)
    return;
  if (src->conn != NULL) {
    if (!src->conn->dead && nl_prog_write_all(src->conn->fd, buf, len) < 0)
      src->conn->dead = TRUE;
  } else {
    (void)sendto(s->udp, buf, len, 0, (const struct sockaddr *)&src->addr,
                 nl_stun_addr_len((const struct sockaddr *)&src->addr));
  }
}

static void alloc_free(Server *s, Alloc *a, const char *why) {
  char b[64];
  printf("relay-bytes allocation=%s in=%" G_GUINT64_FORMAT
         " out=%" G_GUINT64_FORMAT "\n",
         nl_stun_addr_to_string((struct sockaddr *)&a->relay, b, sizeof b),
         a->in_bytes, a->out_bytes);
  if (s->verbose)
    printf("allocation %s ended: %s\n", b, why);
  fflush(stdout);
  close(a->relay_fd);
  g_array_free(a->perms, TRUE);
  g_array_free(a->chans, TRUE);
  free(a);
}

static void alloc_remove(Server *s, Alloc *a, const char *why) {
  g_ptr_array_remove(s->allocs, a); /* keeps the order of the others */
  alloc_free(s, a, why);
}

/* ---- nonces: stateless, "nl" + expiry (hex seconds) + MAC ---- */

static void nonce_mac(const Server *s, const char *expiry_hex, char out[17]) {
  GHmac *h =
      g_hmac_new(G_CHECKSUM_SHA1, s->nonce_secret, sizeof s->nonce_secret);
  g_hmac_update(h, (const guchar *)expiry_hex, (gssize)strlen(expiry_hex));
  uint8_t d[20];
  gsize dl = sizeof d;
  g_hmac_get_digest(h, d, &dl);
  g_hmac_unref(h);
  for (int i = 0; i < 8; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void nonce_make(const Server *s, int64_t now, char out[40]) {
  char exp[17], mac[17];
  int64_t expiry = (now - s->start_ns) / NS_PER_S + (int64_t)s->nonce_lifetime;
  snprintf(exp, sizeof exp, "%016" G_GINT64_MODIFIER "x", expiry);
  nonce_mac(s, exp, mac);
  snprintf(out, 40, "nl%s%s", exp, mac);
}

/* Returns: 1 valid, 0 stale, -1 not ours. */
static int nonce_check(const Server *s, int64_t now, const uint8_t *n,
                       size_t len) {
  if (len != 34 || n[0] != 'n' || n[1] != 'l')
    return -1;
  char exp[17], mac[17];
  memcpy(exp, n + 2, 16);
  exp[16] = '\0';
  nonce_mac(s, exp, mac);
  if (memcmp(mac, n + 18, 16) != 0)
    return -1;
  int64_t expiry = (int64_t)g_ascii_strtoll(exp, NULL, 16);
  return (now - s->start_ns) / NS_PER_S < expiry ? 1 : 0;
}

/* ---- responses ---- */

typedef struct {
  const NlStunMsg *req;
  const uint8_t *key; /* NULL before authentication */
} Ctx;

static void finish_and_send(Server *s, const Source *src, const Ctx *c,
                            NlStunWriter *w) {
  if (c->key != NULL)
    nl_stun_writer_add_integrity(w, c->key, 16);
  if (c->req->fingerprint >= 0)
    nl_stun_writer_add_fingerprint(w);
  send_to_client(s, src, s->out, nl_stun_writer_finish(w));
}

static void send_error(Server *s, const Source *src, const Ctx *c,
                       unsigned code, const char *reason, int64_t now) {
  NlStunWriter w;
  nl_stun_writer_init(&w, s->out, MSG_BUF, c->req->method, NL_STUN_ERROR,
                      c->req->tid);
  nl_stun_writer_add_error(&w, code, reason);
  if (code == 401 || code == 438) {
    char nonce[40];
    nonce_make(s, now, nonce);
    nl_stun_writer_add(&w, NL_STUN_ATTR_REALM, s->realm, strlen(s->realm));
    nl_stun_writer_add(&w, NL_STUN_ATTR_NONCE, nonce, strlen(nonce));
  }
  if (s->software)
    nl_stun_writer_add(&w, NL_STUN_ATTR_SOFTWARE, s->software,
                       strlen(s->software));
  if (s->verbose) {
    char b[64];
    printf("error %u (%s) to %s\n", code, reason,
           nl_stun_addr_to_string((const struct sockaddr *)&src->addr, b,
                                  sizeof b));
    fflush(stdout);
  }
  finish_and_send(s, src, c, &w);
}

/* Authenticates a request (RFC 8656 §5, RFC 8489 §9.2).  Returns the user
 * index, or -1 after sending the error response. */
static int authenticate(Server *s, const Source *src, Ctx *c, int64_t now) {
  const NlStunMsg *m = c->req;
  const uint8_t *user, *realm, *nonce;
  size_t ulen, rlen, nlen;
  if (m->integrity < 0 && m->integrity_sha256 < 0) {
    send_error(s, src, c, 401, "Unauthorized", now);
    return -1;
  }
  if (nl_stun_msg_get_string(m, NL_STUN_ATTR_USERNAME, &user, &ulen) ||
      nl_stun_msg_get_string(m, NL_STUN_ATTR_REALM, &realm, &rlen) ||
      nl_stun_msg_get_string(m, NL_STUN_ATTR_NONCE, &nonce, &nlen)) {
    send_error(s, src, c, 400, "Bad Request", now);
    return -1;
  }
  if (nonce_check(s, now, nonce, nlen) != 1) {
    send_error(s, src, c, 438, "Stale Nonce", now);
    return -1;
  }
  if (rlen != strlen(s->realm) || memcmp(realm, s->realm, rlen) != 0) {
    send_error(s, src, c, 401, "Unauthorized", now);
    return -1;
  }
  for (guint i = 0; i < s->users->len; i++) {
    User *u = g_ptr_array_index(s->users, i);
    if (strlen(u->name) != ulen || memcmp(u->name, user, ulen) != 0)
      continue;
    if (nl_stun_msg_check_integrity(m, u->key, 16) != NL_STUN_OK)
      break;
    c->key = u->key;
    return (int)i;
  }
  send_error(s, src, c, 401, "Unauthorized", now);
  return -1;
}

static int64_t clamp_lifetime(const Server *s, const NlStunMsg *m) {
  uint32_t want;
  if (nl_stun_msg_get_u32(m, NL_STUN_ATTR_LIFETIME, &want) != NL_STUN_OK)
    return (int64_t)s->default_lifetime;
  if (want == 0)
    return 0;
  if (want > s->max_lifetime)
    return (int64_t)s->max_lifetime;
  return want < s->default_lifetime ? (int64_t)s->default_lifetime : want;
}

static void send_alloc_success(Server *s, const Source *src, const Ctx *c,
                               const Alloc *a, int64_t now) {
  NlStunWriter w;
  nl_stun_writer_init(&w, s->out, MSG_BUF, NL_STUN_ALLOCATE, NL_STUN_SUCCESS,
                      c->req->tid);
  nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_RELAYED_ADDRESS,
                              (const struct sockaddr *)&a->relay);
  int64_t left = (a->expires - now + NS_PER_S - 1) / NS_PER_S;
  nl_stun_writer_add_u32(&w, NL_STUN_ATTR_LIFETIME,
                         (uint32_t)(left > 0 ? left : 0));
  nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_MAPPED_ADDRESS,
                              (const struct sockaddr *)&src->addr);
  if (a->has_token)
    nl_stun_writer_add_u64(&w, NL_STUN_ATTR_RESERVATION_TOKEN, a->token);
  if (s->software)
    nl_stun_writer_add(&w, NL_STUN_ATTR_SOFTWARE, s->software,
                       strlen(s->software));
  finish_and_send(s, src, c, &w);
}

/* Opens the relay socket, from the port range if one was given.
 * Returns: the descriptor, or -1 when no port is free. */
static int open_relay(Server *s, gboolean even, struct sockaddr_storage *out) {
  *out = s->relay_ip;
  if (s->min_port == 0) {
    for (int tries = 0; tries < 64; tries++) {
      ((struct sockaddr_in *)out)->sin_port = 0;
      if (out->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)out)->sin6_port = 0;
      int fd = nl_prog_bind((struct sockaddr *)out, SOCK_DGRAM);
      if (fd < 0)
        return -1;
      socklen_t l = sizeof *out;
      getsockname(fd, (struct sockaddr *)out, &l);
      uint16_t port = out->ss_family == AF_INET6
                          ? ntohs(((struct sockaddr_in6 *)out)->sin6_port)
                          : ntohs(((struct sockaddr_in *)out)->sin_port);
      if (!even || port % 2 == 0)
        return fd;
      close(fd);
    }
    return -1;
  }
  unsigned long span = s->max_port - s->min_port + 1;
  unsigned long first = nl_prog_rand_next(&s->rand) % span;
  for (unsigned long k = 0; k < span; k++) {
    uint16_t port = (uint16_t)(s->min_port + (first + k) % span);
    if (even && port % 2 != 0)
      continue;
    if (out->ss_family == AF_INET6)
      ((struct sockaddr_in6 *)out)->sin6_port = htons(port);
    else
      ((struct sockaddr_in *)out)->sin_port = htons(port);
    int fd = nl_prog_bind((struct sockaddr *)out, SOCK_DGRAM);
    if (fd >= 0)
      return fd;
  }
  return -1;
}

static void handle_allocate(Server *s, const Source *src, Ctx *c, int user,
                            int64_t now) {
  const NlStunMsg *m = c->req;
  Alloc *a = find_alloc(s, src);
  if (a != NULL) {
    /* A retransmitted Allocate gets the same answer (RFC 8656 §7.2). */
    if (memcmp(a->alloc_tid, m->tid, NL_STUN_TID_LEN) == 0 &&
        (int)a->user == user)
      send_alloc_success(s, src, c, a, now);
    else
      send_error(s, src, c, 437, "Allocation Mismatch", now);
    return;
  }
  uint32_t transport;
  if (nl_stun_msg_get_u32(m, NL_STUN_ATTR_REQUESTED_TRANSPORT, &transport) !=
      NL_STUN_OK) {
    send_error(s, src, c, 400, "Bad Request", now);
    return;
  }
  if ((transport >> 24) != 17) {
    send_error(s, src, c, 442, "Unsupported Transport Protocol", now);
    return;
  }
  uint32_t family;
  if (nl_stun_msg_get_u32(m, NL_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &family) ==
      NL_STUN_OK) {
    int want = (family >> 24) == 0x02 ? AF_INET6 : AF_INET;
    if ((family >> 24) != 0x01 && (family >> 24) != 0x02) {
      send_error(s, src, c, 400, "Bad Request", now);
      return;
    }
    if (want != s->relay_ip.ss_family) {
      send_error(s, src, c, 440, "Address Family not Supported", now);
      return;
    }
  }
  const NlStunAttr *even = nl_stun_msg_find(m, NL_STUN_ATTR_EVEN_PORT);
  const NlStunAttr *token_attr =
      nl_stun_msg_find(m, NL_STUN_ATTR_RESERVATION_TOKEN);
  if (even && token_attr) {
    send_error(s, src, c, 400, "Bad Request", now);
    return;
  }
  int reserved = -1; /* index into s->reservations */
  if (token_attr != NULL) {
    const uint8_t *v = nl_stun_msg_value(m, token_attr);
    uint64_t token = 0;
    for (int i = 0; i < 8; i++)
      token = token << 8 | v[i];
    for (guint i = 0; i < s->reservations->len; i++)
      if (g_array_index(s->reservations, Reservation, i).token == token &&
          g_array_index(s->reservations, Reservation, i).expires > now)
        reserved = (int)i;
    if (reserved < 0) {
      send_error(s, src, c, 508, "Insufficient Capacity", now);
      return;
    }
  }
  gboolean reserve_next =
      even != NULL && (nl_stun_msg_value(m, even)[0] & 0x80) != 0;
  unsigned mine = 0;
  for (guint i = 0; i < s->allocs->len; i++)
    if (((Alloc *)g_ptr_array_index(s->allocs, i))->user == (unsigned)user)
      mine++;
  if (s->user_quota > 0 && mine >= s->user_quota) {
    send_error(s, src, c, 486, "Allocation Quota Reached", now);
    return;
  }
  if (s->max_allocs > 0 && s->allocs->len >= s->max_allocs) {
    send_error(s, src, c, 508, "Insufficient Capacity", now);
    return;
  }
  int64_t life = clamp_lifetime(s, m);
  if (life == 0)
    life = (int64_t)s->default_lifetime;
  struct sockaddr_storage relay;
  int fd = -1;
  Reservation next = {.fd = -1};
  if (reserved >= 0) {
    Reservation *rv = &g_array_index(s->reservations, Reservation, reserved);
    fd = rv->fd;
    relay = rv->relay;
    g_array_remove_index(s->reservations, (guint)reserved);
  } else {
    for (int tries = 0; tries < 32 && fd < 0; tries++) {
      fd = open_relay(s, even != NULL, &relay);
      if (fd < 0 || !reserve_next)
        break;
      /* EVEN-PORT with R: hold port + 1 as well (RFC 8656 §7.2). */
      next.relay = relay;
      uint16_t port = relay.ss_family == AF_INET6
                          ? ntohs(((struct sockaddr_in6 *)&relay)->sin6_port)
                          : ntohs(((struct sockaddr_in *)&relay)->sin_port);
      if (relay.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&next.relay)->sin6_port = htons(port + 1);
      else
        ((struct sockaddr_in *)&next.relay)->sin_port = htons(port + 1);
      next.fd = nl_prog_bind((struct sockaddr *)&next.relay, SOCK_DGRAM);
      if (next.fd < 0) {
        close(fd);
        fd = -1;
      }
    }
  }
  if (fd < 0) {
    send_error(s, src, c, 508, "Insufficient Capacity", now);
    return;
  }
  a = nl_prog_alloc(sizeof *a);
  if (next.fd >= 0) {
    next.token = nl_prog_rand_next(&s->rand);
    next.expires = now + RESERVATION_S * NS_PER_S;
    g_array_append_val(s->reservations, next);
    a->token = next.token;
    a->has_token = TRUE;
  }
  a->src = *src;
  a->relay_fd = fd;
  a->relay = relay;
  a->user = (unsigned)user;
  a->expires = now + life * NS_PER_S;
  memcpy(a->alloc_tid, m->tid, NL_STUN_TID_LEN);
  a->perms = g_array_new(FALSE, TRUE, sizeof(Perm));
  a->chans = g_array_new(FALSE, TRUE, sizeof(Chan));
  g_ptr_array_add(s->allocs, a);
  if (s->verbose) {
    char b1[64], b2[64];
    printf(
        "allocate user=%s client=%s%s relay=%s lifetime=%" G_GINT64_FORMAT "\n",
        ((User *)g_ptr_array_index(s->users, (guint)user))->name,
        nl_stun_addr_to_string((struct sockaddr *)&src->addr, b1, sizeof b1),
        src->conn ? "/tcp" : "/udp",
        nl_stun_addr_to_string((struct sockaddr *)&relay, b2, sizeof b2), life);
    fflush(stdout);
  }
  send_alloc_success(s, src, c, a, now);
}

/* Finds the allocation a non-Allocate request refers to, checking it
 * belongs to @user; sends 437/441 and returns NULL otherwise. */
static Alloc *alloc_for_request(Server *s, const Source *src, Ctx *c, int user,
                                int64_t now) {
  Alloc *a = find_alloc(s, src);
  if (a == NULL) {
    send_error(s, src, c, 437, "Allocation Mismatch", now);
    return NULL;
  }
  if ((int)a->user != user) {
    send_error(s, src, c, 441, "Wrong Credentials", now);
    return NULL;
  }
  return a;
}

static void send_simple_success(Server *s, const Source *src, const Ctx *c,
                                int64_t lifetime) {
  NlStunWriter w;
  nl_stun_writer_init(&w, s->out, MSG_BUF, c->req->method, NL_STUN_SUCCESS,
                      c->req->tid);
  if (lifetime >= 0)
    nl_stun_writer_add_u32(&w, NL_STUN_ATTR_LIFETIME, (uint32_t)lifetime);
  if (s->software)
    nl_stun_writer_add(&w, NL_STUN_ATTR_SOFTWARE, s->software,
                       strlen(s->software));
  finish_and_send(s, src, c, &w);
}

static void handle_refresh(Server *s, const Source *src, Ctx *c, int user,
                           int64_t now) {
  Alloc *a = alloc_for_request(s, src, c, user, now);
  if (a == NULL)
    return;
  int64_t life = clamp_lifetime(s, c->req);
  if (life == 0) {
    send_simple_success(s, src, c, 0);
    alloc_remove(s, a, "refresh with lifetime 0");
    return;
  }
  a->expires = now + life * NS_PER_S;
  send_simple_success(s, src, c, life);
}

static gboolean peer_denied(const Server *s, const struct sockaddr *peer) {
  for (guint i = 0; i < s->deny->len; i++)
    if (nl_stun_addr_equal_ip(g_ptr_array_index(s->deny, i), peer))
      return TRUE;
  return FALSE;
}

static void perm_install(Alloc *a, const struct sockaddr_storage *peer,
                         int64_t now) {
  for (guint i = 0; i < a->perms->len; i++) {
    Perm *p = &g_array_index(a->perms, Perm, i);
    if (nl_stun_addr_equal_ip((struct sockaddr *)&p->peer,
                              (const struct sockaddr *)peer)) {
      p->expires = now + PERMISSION_S * NS_PER_S;
      return;
    }
  }
  Perm p = {.peer = *peer, .expires = now + PERMISSION_S * NS_PER_S};
  g_array_append_val(a->perms, p);
}

static gboolean perm_allows(const Alloc *a, const struct sockaddr *peer,
                            int64_t now) {
  for (guint i = 0; i < a->perms->len; i++) {
    const Perm *p = &g_array_index(a->perms, Perm, i);
    if (p->expires > now &&
        nl_stun_addr_equal_ip((const struct sockaddr *)&p->peer, peer))
      return TRUE;
  }
  return FALSE;
}

static void handle_create_permission(Server *s, const Source *src, Ctx *c,
                                     int user, int64_t now) {
  Alloc *a = alloc_for_request(s, src, c, user, now);
  if (a == NULL)
    return;
  const NlStunMsg *m = c->req;
  struct sockaddr_storage peers[NL_STUN_MAX_ATTRS];
  unsigned n = 0;
  for (unsigned i = 0; i < m->n_attrs; i++) {
    if (m->attrs[i].type != NL_STUN_ATTR_XOR_PEER_ADDRESS)
      continue;
    if (nl_stun_msg_get_addr_at(m, &m->attrs[i], TRUE, &peers[n]) !=
        NL_STUN_OK) {
      send_error(s, src, c, 400, "Bad Request", now);
      return;
    }
    if (peers[n].ss_family != a->relay.ss_family) {
      send_error(s, src, c, 443, "Peer Address Family Mismatch", now);
      return;
    }
    if (peer_denied(s, (struct sockaddr *)&peers[n])) {
      send_error(s, src, c, 403, "Forbidden", now);
      return;
    }
    n++;
  }
  if (n == 0) {
    send_error(s, src, c, 400, "Bad Request", now);
    return;
  }
  /* All or nothing (RFC 8656 §10.2): install only after every check. */
  for (unsigned i = 0; i < n; i++)
    perm_install(a, &peers[i], now);
  send_simple_success(s, src, c, -1);
}

static void handle_channel_bind(Server *s, const Source *src, Ctx *c, int user,
                                int64_t now) {
  Alloc *a = alloc_for_request(s, src, c, user, now);
  if (a == NULL)
    return;
  const NlStunMsg *m = c->req;
  uint16_t number;
  struct sockaddr_storage peer;
  if (nl_stun_msg_get_channel(m, &number) != NL_STUN_OK ||
      nl_stun_msg_get_addr(m, NL_STUN_ATTR_XOR_PEER_ADDRESS, TRUE, &peer) !=
          NL_STUN_OK) {
    send_error(s, src, c, 400, "Bad Request", now);
    return;
  }
  unsigned max = s->strict_channels ? CHANNEL_MAX_8656 : CHANNEL_MAX_5766;
  if (number < CHANNEL_MIN || number > max) {
    send_error(s, src, c, 400, "Bad Request: channel number", now);
    return;
  }
  if (peer.ss_family != a->relay.ss_family) {
    send_error(s, src, c, 443, "Peer Address Family Mismatch", now);
    return;
  }
  if (peer_denied(s, (struct sockaddr *)&peer)) {
    send_error(s, src, c, 403, "Forbidden", now);
    return;
  }
  Chan *found = NULL;
  for (guint i = 0; i < a->chans->len; i++) {
    Chan *ch = &g_array_index(a->chans, Chan, i);
    gboolean same_num = ch->number == number;
    gboolean same_peer = nl_stun_addr_equal((struct sockaddr *)&ch->peer,
                                            (struct sockaddr *)&peer);
    if (same_num != same_peer) {
      /* RFC 8656 §12.2: a channel binds one peer, a peer one channel. */
      send_error(s, src, c, 400, "Bad Request: channel in use", now);
      return;
    }
    if (same_num)
      found = ch;
  }
  if (found != NULL) {
    found->expires = now + CHANNEL_S * NS_PER_S;
  } else {
    Chan ch = {
        .number = number, .peer = peer, .expires = now + CHANNEL_S * NS_PER_S};
    g_array_append_val(a->chans, ch);
  }
  perm_install(a, &peer, now);
  if (s->verbose) {
    char b[64];
    printf("channel-bind 0x%04x peer=%s\n", number,
           nl_stun_addr_to_string((struct sockaddr *)&peer, b, sizeof b));
    fflush(stdout);
  }
  send_simple_success(s, src, c, -1);
}

static void relay_to_peer(Server *s, Alloc *a, const struct sockaddr *peer,
                          const uint8_t *data, size_t len, int64_t now) {
  if (!perm_allows(a, peer, now)) {
    a->dropped++;
    return; /* nothing reaches a peer without a permission */
  }
  if (sendto(a->relay_fd, data, len, 0, peer, nl_stun_addr_len(peer)) >= 0)
    a->out_bytes += len;
}

static void handle_send(Server *s, const Source *src, const NlStunMsg *m,
                        int64_t now) {
  Alloc *a = find_alloc(s, src);
  struct sockaddr_storage peer;
  const uint8_t *data;
  size_t len;
  if (a == NULL ||
      nl_stun_msg_get_addr(m, NL_STUN_ATTR_XOR_PEER_ADDRESS, TRUE, &peer) !=
          NL_STUN_OK ||
      nl_stun_msg_get_string(m, NL_STUN_ATTR_DATA, &data, &len) != NL_STUN_OK)
    return; /* indications are never answered */
  relay_to_peer(s, a, (struct sockaddr *)&peer, data, len, now);
}

static void handle_channel_data(Server *s, const Source *src,
                                const uint8_t *buf, size_t len, int64_t now) {
  uint16_t number;
  const uint8_t *data;
  size_t dlen;
  Alloc *a = find_alloc(s, src);
  if (a == NULL ||
      nl_stun_channel_data_parse(buf, len, &number, &data, &dlen) != NL_STUN_OK)
    return;
  for (guint i = 0; i < a->chans->len; i++) {
    Chan *ch = &g_array_index(a->chans, Chan, i);
    if (ch->number == number && ch->expires > now) {
      relay_to_peer(s, a, (struct sockaddr *)&ch->peer, data, dlen, now);
      return;
    }
  }
  a->dropped++;
}

/* One message from a client, datagram or stream frame. */
static void handle_client(Server *s, const Source *src, const uint8_t *buf,
                          size_t len, int64_t now) {
  if (len >= 4 && (buf[0] & 0xC0) == 0x40) {
    handle_channel_data(s, src, buf, len, now);
    return;
  }
  NlStunMsg m;
  NlStunResult r = nl_stun_msg_parse(buf, len, &m);
  if (r == NL_STUN_TRUNCATED || r == NL_STUN_NOT_STUN ||
      r == NL_STUN_BAD_COOKIE || r == NL_STUN_BAD_LENGTH ||
      r == NL_STUN_TOO_BIG || r == NL_STUN_FINGERPRINT_MISMATCH)
    return; /* not a STUN message we can answer: silently dropped */
  if (m.klass == NL_STUN_INDICATION) {
    if (r == NL_STUN_OK && m.method == NL_STUN_SEND)
      handle_send(s, src, &m, now);
    return;
  }
  if (m.klass != NL_STUN_REQUEST)
    return;
  Ctx c = {.req = &m, .key = NULL};
  if (r == NL_STUN_UNKNOWN_REQUIRED) {
    NlStunWriter w;
    nl_stun_writer_init(&w, s->out, MSG_BUF, m.method, NL_STUN_ERROR, m.tid);
    nl_stun_writer_add_error(&w, 420, "Unknown Attribute");
    nl_stun_writer_add_unknown(&w, m.unknown, m.n_unknown);
    finish_and_send(s, src, &c, &w);
    return;
  }
  if (r != NL_STUN_OK) {
    send_error(s, src, &c, 400, "Bad Request", now);
    return;
  }
  if (m.method == NL_STUN_BINDING) {
    NlStunWriter w;
    nl_stun_writer_init(&w, s->out, MSG_BUF, m.method, NL_STUN_SUCCESS, m.tid);
    nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_MAPPED_ADDRESS,
                                (const struct sockaddr *)&src->addr);
    finish_and_send(s, src, &c, &w);
    return;
  }
  if (m.method != NL_STUN_ALLOCATE && m.method != NL_STUN_REFRESH &&
      m.method != NL_STUN_CREATE_PERMISSION &&
      m.method != NL_STUN_CHANNEL_BIND) {
    send_error(s, src, &c, 400, "Bad Request", now);
    return;
  }
  int user = authenticate(s, src, &c, now);
  if (user < 0)
    return;
  switch (m.method) {
    case NL_STUN_ALLOCATE:
      handle_allocate(s, src, &c, user, now);
      break;
    case NL_STUN_REFRESH:
      handle_refresh(s, src, &c, user, now);
      break;
    case NL_STUN_CREATE_PERMISSION:
      handle_create_permission(s, src, &c, user, now);
      break;
    default:
      handle_channel_bind(s, src, &c, user, now);
      break;
  }
}

/* A datagram from a peer arrived on @a's relay socket. */
static void handle_relay(Server *s, Alloc *a, int64_t now) {
  struct sockaddr_storage peer;
  socklen_t plen = sizeof peer;
  uint8_t *data = s->out2 + 40; /* room for a Data indication's header */
  ssize_t n = recvfrom(a->relay_fd, data, MSG_BUF - 80, 0,
                       (struct sockaddr *)&peer, &plen);
  if (n < 0)
    return;
  if (!perm_allows(a, (struct sockaddr *)&peer, now)) {
    a->dropped++;
    return;
  }
  a->in_bytes += (uint64_t)n;
  for (guint i = 0; i < a->chans->len; i++) {
    Chan *ch = &g_array_index(a->chans, Chan, i);
    if (ch->expires > now && nl_stun_addr_equal((struct sockaddr *)&ch->peer,
                                                (struct sockaddr *)&peer)) {
      /* ChannelData: padded to 4 bytes over TCP only (RFC 8656 §12.5). */
      size_t len = nl_stun_channel_data_build(
          ch->number, data, (size_t)n, a->src.conn != NULL, s->out, MSG_BUF);
      send_to_client(s, &a->src, s->out, len);
      return;
    }
  }
  NlStunWriter w;
  uint8_t tid[NL_STUN_TID_LEN];
  nl_prog_rand_bytes(&s->rand, tid, sizeof tid);
  nl_stun_writer_init(&w, s->out, MSG_BUF, NL_STUN_DATA, NL_STUN_INDICATION,
                      tid);
  nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_PEER_ADDRESS,
                              (struct sockaddr *)&peer);
  nl_stun_writer_add(&w, NL_STUN_ATTR_DATA, data, (size_t)n);
  send_to_client(s, &a->src, s->out, nl_stun_writer_finish(&w));
}

/* Drops expired permissions, channels, allocations and reservations. */
static void expire(Server *s, int64_t now) {
  for (guint i = s->reservations->len; i-- > 0;) {
    Reservation *rv = &g_array_index(s->reservations, Reservation, i);
    if (rv->expires <= now) {
      close(rv->fd);
      g_array_remove_index(s->reservations, i);
    }
  }
  for (guint i = s->allocs->len; i-- > 0;) {
    Alloc *a = g_ptr_array_index(s->allocs, i);
    if (a->expires <= now || (a->src.conn && a->src.conn->dead)) {
      alloc_remove(s, a, a->expires <= now ? "expired" : "connection closed");
      continue;
    }
    for (guint k = a->perms->len; k-- > 0;)
      if (g_array_index(a->perms, Perm, k).expires <= now)
        g_array_remove_index(a->perms, k);
    for (guint k = a->chans->len; k-- > 0;)
      if (g_array_index(a->chans, Chan, k).expires <= now)
        g_array_remove_index(a->chans, k);
  }
}

/* Milliseconds poll() may sleep: until the next expiry, at most 500 ms so
 * SIGTERM and --duration are noticed soon (RFC timers are in seconds, so
 * expiries land within a millisecond of their time). */
static int poll_timeout_ms(const Server *s, int64_t now, int64_t end) {
  int64_t next = now + 500 * G_GINT64_CONSTANT(1000000);
  if (end > 0 && end < next)
    next = end;
  for (guint i = 0; i < s->allocs->len; i++) {
    const Alloc *a = g_ptr_array_index(s->allocs, i);
    if (a->expires < next)
      next = a->expires;
    for (guint k = 0; k < a->perms->len; k++)
      if (g_array_index(a->perms, Perm, k).expires < next)
        next = g_array_index(a->perms, Perm, k).expires;
    for (guint k = 0; k < a->chans->len; k++)
      if (g_array_index(a->chans, Chan, k).expires < next)
        next = g_array_index(a->chans, Chan, k).expires;
  }
  for (guint i = 0; i < s->reservations->len; i++)
    if (g_array_index(s->reservations, Reservation, i).expires < next)
      next = g_array_index(s->reservations, Reservation, i).expires;
  return next <= now ? 0 : (int)((next - now + 999999) / 1000000);
}

static gboolean conn_read(Server *s, Conn *cn, int64_t now) {
  ssize_t n = read(cn->fd, cn->buf + cn->have, TCP_BUF - cn->have);
  if (n <= 0)
    return FALSE;
  cn->have += (size_t)n;
  Source src = {.conn = cn, .addr = cn->peer};
  for (;;) {
    gssize fl = nl_stun_msg_frame_len(cn->buf, cn->have, TRUE);
    if (fl < 0 || (size_t)fl > TCP_BUF)
      return FALSE;
    if (fl == 0 || (size_t)fl > cn->have)
      return !cn->dead;
    handle_client(s, &src, cn->buf, (size_t)fl, now);
    memmove(cn->buf, cn->buf + fl, cn->have - (size_t)fl);
    cn->have -= (size_t)fl;
  }
}

static void conn_free(Conn *cn) {
  close(cn->fd);
  free(cn->buf);
  free(cn);
}

static gboolean is_private_ip4(uint32_t a) {
  return (a >> 24) == 10 || (a >> 20) == (172u << 4 | 1) ||
         (a >> 16) == (192u << 8 | 168) || (a >> 22) == (100u << 2 | 1) ||
         (a >> 16) == (169u << 8 | 254);
}

/* The host's public IPv4 address for relays (see the top of this file).
 * Returns FALSE, having said why, when there is no single one. */
static gboolean host_relay_ip(struct sockaddr_storage *out) {
  struct ifaddrs *ifs = NULL;
  if (getifaddrs(&ifs) != 0) {
    perror("turn-server: getifaddrs");
    return FALSE;
  }
  GArray *pub = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  GArray *all = g_array_new(FALSE, FALSE, sizeof(uint32_t));
  for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
    if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
        !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
      continue;
    uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
    g_array_append_val(all, a);
    if (!is_private_ip4(a))
      g_array_append_val(pub, a);
  }
  freeifaddrs(ifs);
  GArray *pick = pub->len > 0 ? pub : all;
  gboolean ok = pick->len == 1;
  if (ok) {
    struct sockaddr_in *sin = (struct sockaddr_in *)out;
    memset(out, 0, sizeof *out);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(g_array_index(pick, uint32_t, 0));
    sin->sin_port = htons(1);
  } else {
    GString *list = g_string_new(NULL);
    for (guint k = 0; k < pick->len; k++) {
      char b[INET_ADDRSTRLEN];
      struct in_addr ia = {htonl(g_array_index(pick, uint32_t, k))};
      inet_ntop(AF_INET, &ia, b, sizeof b);
      g_string_append_printf(list, "%s%s", k ? ", " : "", b);
    }
    if (pick->len == 0)
      fprintf(stderr, "turn-server: the host has no IPv4 address to relay "
                      "from: give --relay-ip ADDRESS\n");
    else
      fprintf(stderr,
              "turn-server: which address should relays use? the host has "
              "%u (%s): give --relay-ip ADDRESS\n",
              pick->len, list->str);
    g_string_free(list, TRUE);
  }
  g_array_free(pub, TRUE);
  g_array_free(all, TRUE);
  return ok;
}

static gboolean parse_args(Server *s, int argc, char **argv, gboolean *tcp,
                           unsigned long *duration, gboolean *seeded,
                           unsigned long *seed, NlProgSignals *sigs,
                           gboolean *relay_failed) {
  const char *listen = "0.0.0.0", *relay = NULL;
  unsigned long port = 3478;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NUM(opt, lo, hi, dst)                                                  \
  (strcmp(a, opt) == 0 && v && nl_prog_parse_uint(v, lo, hi, dst) && ++i)
    if (strcmp(a, "--user") == 0 && v && strchr(v, ':')) {
      User *u = g_new0(User, 1);
      const char *colon = strchr(v, ':');
      u->name = g_strndup(v, (gsize)(colon - v));
      u->password = g_strdup(colon + 1); /* the key needs the realm */
      g_ptr_array_add(s->users, u);
      i++;
    } else if (strcmp(a, "--realm") == 0 && v) {
      s->realm = argv[++i];
    } else if (strcmp(a, "--listen") == 0 && v) {
      listen = argv[++i];
    } else if (strcmp(a, "--relay-ip") == 0 && v) {
      relay = argv[++i];
    } else if (strcmp(a, "--software") == 0 && v) {
      s->software = *v ? v : NULL;
      i++;
    } else if (strcmp(a, "--deny-peer") == 0 && v) {
      struct sockaddr_storage *d = g_new0(struct sockaddr_storage, 1);
      if (!nl_stun_addr_parse(v, 1, d)) {
        g_free(d);
        return FALSE;
      }
      g_ptr_array_add(s->deny, d);
      i++;
    } else if (NUM("--port", 1, 65535, &port) ||
               NUM("--min-port", 1, 65535, &s->min_port) ||
               NUM("--max-port", 1, 65535, &s->max_port) ||
               NUM("--max-allocations", 0, 1000000, &s->max_allocs) ||
               NUM("--user-quota", 0, 1000000, &s->user_quota) ||
               NUM("--default-lifetime", 1, 86400, &s->default_lifetime) ||
               NUM("--max-lifetime", 1, 86400, &s->max_lifetime) ||
               NUM("--nonce-lifetime", 1, 86400, &s->nonce_lifetime) ||
               NUM("--duration", 0, 100000000, duration) ||
               NUM("--seed", 0, ULONG_MAX, seed)) {
      if (strcmp(a, "--seed") == 0)
        *seeded = TRUE;
    } else if (strcmp(a, "--no-tcp") == 0) {
      *tcp = FALSE;
    } else if (strcmp(a, "--strict-channels") == 0) {
      s->strict_channels = TRUE;
    } else if (strcmp(a, "--verbose") == 0) {
      s->verbose = TRUE;
    } else if (strcmp(a, "--signals") == 0) {
      sigs->enabled = TRUE;
    } else {
      fprintf(stderr, "turn-server: bad argument '%s'\n", a);
      return FALSE;
    }
#undef NUM
  }
  if (!nl_stun_addr_parse(listen, (uint16_t)port, &s->listen) ||
      !nl_stun_addr_parse(relay ? relay : listen, 1, &s->relay_ip)) {
    fprintf(stderr, "turn-server: bad address\n");
    return FALSE;
  }
  /* A wildcard relay address is no address a peer can send to. */
  gboolean wildcard =
      s->relay_ip.ss_family == AF_INET6
          ? memcmp(&((struct sockaddr_in6 *)&s->relay_ip)->sin6_addr,
                   &in6addr_any, sizeof in6addr_any) == 0
          : ((struct sockaddr_in *)&s->relay_ip)->sin_addr.s_addr ==
                htonl(INADDR_ANY);
  if (wildcard && !host_relay_ip(&s->relay_ip)) {
    *relay_failed = TRUE;
    return FALSE;
  }
  if ((s->min_port == 0) != (s->max_port == 0) || s->min_port > s->max_port) {
    fprintf(stderr, "turn-server: give both --min-port and --max-port\n");
    return FALSE;
  }
  if (s->max_lifetime < s->default_lifetime)
    s->max_lifetime = s->default_lifetime;
  if (s->users->len == 0) {
    fprintf(stderr, "turn-server: at least one --user NAME:PASSWORD\n");
    return FALSE;
  }
  for (guint i = 0; i < s->users->len; i++) {
    User *u = g_ptr_array_index(s->users, i);
    nl_stun_long_term_key(u->name, s->realm, u->password, u->key);
    g_free(u->password);
    u->password = NULL;
  }
  return TRUE;
}

int main(int argc, char **argv) {
  Server s;
  memset(&s, 0, sizeof s);
  s.realm = "natlab";
  s.software = "natlab turn-server";
  s.default_lifetime = 600;
  s.max_lifetime = 3600;
  s.nonce_lifetime = 600;
  s.udp = s.tcp = -1;
  s.users = g_ptr_array_new();
  s.deny = g_ptr_array_new_with_free_func(g_free);
  s.allocs = g_ptr_array_new();
  s.reservations = g_array_new(FALSE, TRUE, sizeof(Reservation));
  s.conns = g_ptr_array_new();
  gboolean tcp = TRUE, seeded = FALSE;
  unsigned long duration = 0, seed = 0;
  int status = 2;
  NlProgSignals sigs = {.enabled = FALSE};
  gboolean relay_failed = FALSE;
  if (!parse_args(&s, argc, argv, &tcp, &duration, &seeded, &seed, &sigs,
                  &relay_failed)) {
    if (!relay_failed)
      usage(stderr);
    goto fail_args;
  }
  if (seeded)
    nl_prog_rand_seed(&s.rand, seed);
  else
    nl_prog_rand_seed_os(&s.rand);
  nl_prog_rand_bytes(&s.rand, s.nonce_secret, sizeof s.nonce_secret);

  status = 1;
  s.udp = nl_prog_bind((struct sockaddr *)&s.listen, SOCK_DGRAM);
  if (s.udp < 0) {
    fprintf(stderr, "turn-server: bind udp: %s\n", strerror(-s.udp));
    goto fail_args;
  }
  if (tcp) {
    s.tcp = nl_prog_bind((struct sockaddr *)&s.listen, SOCK_STREAM);
    if (s.tcp < 0) {
      fprintf(stderr, "turn-server: listen tcp: %s\n", strerror(-s.tcp));
      goto fail_tcp;
    }
  }
  {
    char b[64];
    printf("turn-server: listening on %s%s realm=%s\n",
           nl_stun_addr_to_string((struct sockaddr *)&s.listen, b, sizeof b),
           tcp ? " (udp+tcp)" : " (udp)", s.realm);
    fflush(stdout);
  }
  s.out = nl_prog_alloc(MSG_BUF);
  s.out2 = nl_prog_alloc(MSG_BUF);
  uint8_t *in = nl_prog_alloc(MSG_BUF);
  nl_prog_block_signals(&sigs);
  s.start_ns = nl_prog_now_ns();
  GArray *pfds = g_array_new(FALSE, FALSE, sizeof(struct pollfd));
  for (;;) {
    /* Poll set: [udp] [tcp] conns... relays...; rebuilt every round so the
     * index maps straight onto conns and allocs. */
    g_array_set_size(pfds, 0);
    struct pollfd p = {.fd = s.udp, .events = POLLIN};
    g_array_append_val(pfds, p);
    p.fd = s.tcp >= 0 && s.conns->len < MAX_CONNS ? s.tcp : -1;
    g_array_append_val(pfds, p);
    for (guint i = 0; i < s.conns->len; i++) {
      p.fd = ((Conn *)g_ptr_array_index(s.conns, i))->fd;
      g_array_append_val(pfds, p);
    }
    guint n_conns = s.conns->len, n_allocs = s.allocs->len;
    for (guint i = 0; i < n_allocs; i++) {
      p.fd = ((Alloc *)g_ptr_array_index(s.allocs, i))->relay_fd;
      g_array_append_val(pfds, p);
    }
    int64_t end = duration > 0 ? s.start_ns + (int64_t)duration * NS_PER_S : 0;
    int rc = poll((struct pollfd *)pfds->data, pfds->len,
                  poll_timeout_ms(&s, nl_prog_now_ns(), end));
    int64_t now = nl_prog_now_ns();
    if (nl_prog_should_stop(&sigs))
      break;
    if (duration > 0 && now - s.start_ns >= (int64_t)duration * NS_PER_S)
      break;
    if (rc < 0 && errno != EINTR)
      break;
    struct pollfd *pf = (struct pollfd *)pfds->data;
    if (rc > 0 && pf[0].revents) {
      Source src;
      memset(&src, 0, sizeof src);
      socklen_t l = sizeof src.addr;
      ssize_t n =
          recvfrom(s.udp, in, MSG_BUF, 0, (struct sockaddr *)&src.addr, &l);
      if (n >= 0)
        handle_client(&s, &src, in, (size_t)n, now);
    }
    if (rc > 0 && pf[1].revents) {
      Conn *cn = nl_prog_alloc(sizeof *cn);
      socklen_t l = sizeof cn->peer;
      cn->fd = accept(s.tcp, (struct sockaddr *)&cn->peer, &l);
      if (cn->fd >= 0) {
        cn->buf = nl_prog_alloc(TCP_BUF);
        g_ptr_array_add(s.conns, cn);
      } else {
        free(cn);
      }
    }
    /* Relays before connections: handling a client may delete an
     * allocation (Refresh 0), which would shift the relay indices. */
    GPtrArray *ready = g_ptr_array_new();
    for (guint i = 0; rc > 0 && i < n_allocs; i++)
      if (pf[2 + n_conns + i].revents)
        g_ptr_array_add(ready, g_ptr_array_index(s.allocs, i));
    for (guint i = 0; i < ready->len; i++)
      handle_relay(&s, g_ptr_array_index(ready, i), now);
    g_ptr_array_free(ready, TRUE);
    for (guint i = 0; rc > 0 && i < n_conns; i++) {
      Conn *cn = g_ptr_array_index(s.conns, i);
      if (pf[2 + i].revents && !conn_read(&s, cn, now))
        cn->dead = TRUE;
    }
    expire(&s, now);
    /* Dead connections go after their allocations are gone. */
    for (guint i = s.conns->len; i-- > 0;) {
      Conn *cn = g_ptr_array_index(s.conns, i);
      if (cn->dead) {
        g_ptr_array_remove_index(s.conns, i);
        conn_free(cn);
      }
    }
  }
  g_array_free(pfds, TRUE);
  while (s.allocs->len > 0)
    alloc_remove(&s, g_ptr_array_index(s.allocs, 0), "server exit");
  for (guint i = 0; i < s.reservations->len; i++)
    close(g_array_index(s.reservations, Reservation, i).fd);
  while (s.conns->len > 0) {
    conn_free(g_ptr_array_index(s.conns, s.conns->len - 1));
    g_ptr_array_remove_index(s.conns, s.conns->len - 1);
  }
  free(in);
  free(s.out);
  free(s.out2);
  status = 0;
  if (s.tcp >= 0)
    close(s.tcp);
fail_tcp:
  close(s.udp);
fail_args:
  for (guint i = 0; i < s.users->len; i++) {
    User *u = g_ptr_array_index(s.users, i);
    g_free(u->name);
    g_free(u->password);
    g_free(u);
  }
  g_ptr_array_free(s.users, TRUE);
  g_ptr_array_free(s.deny, TRUE);
  g_array_free(s.reservations, TRUE);
  g_ptr_array_free(s.allocs, TRUE);
  g_ptr_array_free(s.conns, TRUE);
  return status;
}
