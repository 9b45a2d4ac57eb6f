/* test-turn-server.c: the turn-server program (RFC 8656), run on 127.0.0.1.
 * usage: test-turn-server PATH-TO-turn-server PATH-TO-turn-client */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "stun-helpers/server.h"

static const char *server_exe, *client_exe;

#define REALM "lab"

/* A TURN client under test: its socket, credentials and the last nonce. */
typedef struct {
  int fd;
  uint16_t port;
  const char *user;
  uint8_t key[16];
  char nonce[128];
  unsigned seq;
  uint8_t resp[4096];
  NlStunMsg m;
} Cli;

static void cli_init(Cli *c, uint16_t port, const char *user,
                     const char *pass) {
  memset(c, 0, sizeof *c);
  c->fd = ts_udp_socket();
  c->port = port;
  c->user = user;
  nl_stun_long_term_key(user, REALM, pass, c->key);
}

typedef struct {
  int lifetime; /* -1: none */
  int transport;
  const struct sockaddr_storage *peer;
  int channel; /* -1: none */
  gboolean auth;
  const char *nonce; /* overrides the learned nonce */
  uint16_t extra_attr;
  int even_port; /* 0: none, else 1 + the EVEN-PORT byte */
  gboolean has_token;
  uint64_t token;
} Req;

/* Sends a request and returns the response's error code (0 = success,
 * -1 = no answer).  The parsed response is in c->m. */
static int cli_req(Cli *c, uint16_t method, const Req *r) {
  uint8_t tid[12] = {0xAA, (uint8_t)method}, req[512];
  tid[11] = (uint8_t)++c->seq;
  NlStunWriter w;
  nl_stun_writer_init(&w, req, sizeof req, method, NL_STUN_REQUEST, tid);
  if (r->transport > 0)
    nl_stun_writer_add_u32(&w, NL_STUN_ATTR_REQUESTED_TRANSPORT,
                           (uint32_t)r->transport << 24);
  if (r->lifetime >= 0)
    nl_stun_writer_add_u32(&w, NL_STUN_ATTR_LIFETIME, (uint32_t)r->lifetime);
  if (r->channel >= 0)
    nl_stun_writer_add_channel(&w, (uint16_t)r->channel);
  if (r->peer)
    nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_PEER_ADDRESS,
                                (const struct sockaddr *)r->peer);
  if (r->extra_attr)
    nl_stun_writer_add_u32(&w, r->extra_attr, 0);
  if (r->even_port) {
    uint8_t b = (uint8_t)(r->even_port - 1);
    nl_stun_writer_add(&w, NL_STUN_ATTR_EVEN_PORT, &b, 1);
  }
  if (r->has_token)
    nl_stun_writer_add_u64(&w, NL_STUN_ATTR_RESERVATION_TOKEN, r->token);
  if (r->auth) {
    const char *nonce = r->nonce ? r->nonce : c->nonce;
    nl_stun_writer_add(&w, NL_STUN_ATTR_USERNAME, c->user, strlen(c->user));
    nl_stun_writer_add(&w, NL_STUN_ATTR_REALM, REALM, strlen(REALM));
    nl_stun_writer_add(&w, NL_STUN_ATTR_NONCE, nonce, strlen(nonce));
    nl_stun_writer_add_integrity(&w, c->key, 16);
  }
  nl_stun_writer_add_fingerprint(&w);
  size_t len = nl_stun_writer_finish(&w);
  ssize_t n = ts_xchg(c->fd, c->port, req, len, c->resp, sizeof c->resp);
  if (n <= 0 || nl_stun_msg_parse(c->resp, (size_t)n, &c->m) != NL_STUN_OK)
    return -1;
  assert_memory_equal(c->m.tid, tid, 12);
  const uint8_t *v;
  size_t vl;
  if (nl_stun_msg_get_string(&c->m, NL_STUN_ATTR_NONCE, &v, &vl) ==
          NL_STUN_OK &&
      vl < sizeof c->nonce) {
    memcpy(c->nonce, v, vl);
    c->nonce[vl] = '\0';
  }
  if (c->m.klass == NL_STUN_SUCCESS)
    return 0;
  unsigned code = 0;
  (void)nl_stun_msg_get_error(&c->m, &code, NULL, NULL);
  return (int)code;
}

static const Req ALLOC = {
    .lifetime = -1, .transport = 17, .channel = -1, .auth = TRUE};

/* Allocates (401 first, then with credentials); returns the relay. */
static void cli_allocate(Cli *c, struct sockaddr_storage *relay) {
  Req r = ALLOC;
  r.auth = FALSE;
  assert_int_equal(cli_req(c, NL_STUN_ALLOCATE, &r), 401);
  assert_int_equal(cli_req(c, NL_STUN_ALLOCATE, &ALLOC), 0);
  assert_int_equal(nl_stun_msg_check_integrity(&c->m, c->key, 16), NL_STUN_OK);
  assert_int_equal(nl_stun_msg_get_addr(&c->m, NL_STUN_ATTR_XOR_RELAYED_ADDRESS,
                                        TRUE, relay),
                   NL_STUN_OK);
}

static const char *const base_args[] = {
    "--listen", "127.0.0.1",  "--port", "PORT",     "--realm", REALM,
    "--user",   "alice:pw-a", "--user", "bob:pw-b", NULL};

static void test_turn_allocate_needs_long_term_credentials(void **state) {
  (void)state;
  TestServer ts;
  ts_start(&ts, server_exe, base_args);
  Cli c;
  cli_init(&c, ts.port, "alice", "pw-a");
  Req r = ALLOC;
  r.auth = FALSE;
  assert_int_equal(cli_req(&c, NL_STUN_ALLOCATE, &r), 401);
  const uint8_t *v;
  size_t vl;
  assert_int_equal(nl_stun_msg_get_string(&c.m, NL_STUN_ATTR_REALM, &v, &vl),
                   NL_STUN_OK);
  assert_int_equal(vl, strlen(REALM));
  assert_true(strlen(c.nonce) > 0);
  /* Wrong password: 401 again. */
  Cli bad;
  cli_init(&bad, ts.port, "alice", "nope");
  strcpy(bad.nonce, c.nonce);
  assert_int_equal(cli_req(&bad, NL_STUN_ALLOCATE, &ALLOC), 401);
  /* Unknown user: 401. */
  cli_init(&bad, ts.port, "mallory", "pw-a");
  strcpy(bad.nonce, c.nonce);
  assert_int_equal(cli_req(&bad, NL_STUN_ALLOCATE, &ALLOC), 401);
  /* A nonce the server did not issue: 438 with a fresh one. */
  r = ALLOC;
  r.nonce = "nl00000000000000000123456789abcdef";
  assert_int_equal(cli_req(&c, NL_STUN_ALLOCATE, &r), 438);
  /* Then it works, and the response is integrity-protected. */
  struct sockaddr_storage relay;
  cli_allocate(&c, &relay);
  uint32_t life;
  assert_int_equal(nl_stun_msg_get_u32(&c.m, NL_STUN_ATTR_LIFETIME, &life),
                   NL_STUN_OK);
  assert_int_equal(life, 600);
  close(c.fd);
  close(bad.fd);
  ts_stop(&ts);
  ts_free(&ts);
}

static void test_turn_allocate_errors(void **state) {
  (void)state;
  TestServer ts;
  ts_start(&ts, server_exe, base_args);
  Cli c;
  cli_init(&c, ts.port, "alice", "pw-a");
  Req r = ALLOC;
  r.auth = FALSE;
  assert_int_equal(cli_req(&c, NL_STUN_ALLOCATE, &r), 401);
  r = ALLOC;
  r.transport = 6; /* TCP relaying is not offered */
  assert_int_equal(cli_req(&c, NL_STUN_ALLOCATE, &r), 442);
  r.transport = 0; /* REQUESTED-TRANSPORT missing */
  assert_int_equal(cli_req(&c, NL_STUN_ALLOCATE, &r), 400);
  r = ALLOC;
  r.extra_attr = 0x7f01; /* unknown comprehension-required */
  assert_int_equal(cli_req(&c, NL_STUN_ALLOCATE, &r), 420);
  /* Refresh without an allocation: 437. */
  Req rf = {.lifetime = 600, .channel = -1, .auth = TRUE};
  assert_int_equal(cli_req(&c, NL_STUN_REFRESH, &rf), 437);
  struct sockaddr_storage relay;
  assert_int_equal(cli_req(&c, NL_STUN_ALLOCATE, &ALLOC), 0);
  assert_int_equal(nl_stun_msg_get_addr(&c.m, NL_STUN_ATTR_XOR_RELAYED_ADDRESS,
                                        TRUE, &relay),
                   NL_STUN_OK);
  /* A second Allocate on the same 5-tuple: 437. */
  assert_int_equal(cli_req(&c, NL_STUN_ALLOCATE, &ALLOC), 437);
  /* Another user on the same 5-tuple: 441. */
  Cli other;
  cli_init(&other, ts.port, "bob", "pw-b");
  close(other.fd);
  other.fd = c.fd;
  strcpy(other.nonce, c.nonce);
  assert_int_equal(cli_req(&other, NL_STUN_REFRESH, &rf), 441);
  /* Refresh 0 deletes; then the allocation is gone. */
  rf.lifetime = 0;
  assert_int_equal(cli_req(&c, NL_STUN_REFRESH, &rf), 0);
  uint32_t life = 1;
  assert_int_equal(nl_stun_msg_get_u32(&c.m, NL_STUN_ATTR_LIFETIME, &life),
                   NL_STUN_OK);
  assert_int_equal(life, 0);
  rf.lifetime = 600;
  assert_int_equal(cli_req(&c, NL_STUN_REFRESH, &rf), 437);
  close(c.fd);
  const char *out = ts_stop(&ts);
  char want[96], b[64];
  snprintf(want, sizeof want, "relay-bytes allocation=%s in=0 out=0",
           nl_stun_addr_to_string((struct sockaddr *)&relay, b, sizeof b));
  assert_non_null(strstr(out, want));
  ts_free(&ts);
}

static void test_turn_quotas(void **state) {
  (void)state;
  const char *const args[] = {"--listen",
                              "127.0.0.1",
                              "--port",
                              "PORT",
                              "--realm",
                              REALM,
                              "--user",
                              "alice:pw-a",
                              "--user",
                              "bob:pw-b",
                              "--user-quota",
                              "1",
                              "--max-allocations",
                              "2",
                              NULL};
  TestServer ts;
  ts_start(&ts, server_exe, args);
  Cli a1, a2, b1;
  struct sockaddr_storage relay;
  cli_init(&a1, ts.port, "alice", "pw-a");
  cli_init(&a2, ts.port, "alice", "pw-a");
  cli_init(&b1, ts.port, "bob", "pw-b");
  cli_allocate(&a1, &relay);
  Req r = ALLOC;
  r.auth = FALSE;
  /* alice's second allocation is over her quota of one: 486. */
  assert_int_equal(cli_req(&a2, NL_STUN_ALLOCATE, &r), 401);
  assert_int_equal(cli_req(&a2, NL_STUN_ALLOCATE, &ALLOC), 486);
  /* bob still gets one: the quota is per user. */
  cli_allocate(&b1, &relay);
  close(a1.fd);
  close(a2.fd);
  close(b1.fd);
  ts_stop(&ts);
  ts_free(&ts);

  /* A full server (--max-allocations): 508. */
  const char *const args2[] = {"--listen", "127.0.0.1",  "--port",
                               "PORT",     "--realm",    REALM,
                               "--user",   "alice:pw-a", "--max-allocations",
                               "1",        NULL};
  ts_start(&ts, server_exe, args2);
  cli_init(&a1, ts.port, "alice", "pw-a");
  cli_init(&a2, ts.port, "alice", "pw-a");
  cli_allocate(&a1, &relay);
  assert_int_equal(cli_req(&a2, NL_STUN_ALLOCATE, &r), 401);
  assert_int_equal(cli_req(&a2, NL_STUN_ALLOCATE, &ALLOC), 508);
  close(a1.fd);
  close(a2.fd);
  ts_stop(&ts);
  ts_free(&ts);

  /* A one-port relay range: the second allocation finds no port (508). */
  uint16_t rp = ts_free_port();
  char rps[8];
  snprintf(rps, sizeof rps, "%u", rp);
  const char *const args3[] = {
      "--listen",   "127.0.0.1", "--port",     "PORT",       "--realm",
      REALM,        "--user",    "alice:pw-a", "--min-port", rps,
      "--max-port", rps,         NULL};
  ts_start(&ts, server_exe, args3);
  cli_init(&a1, ts.port, "alice", "pw-a");
  cli_init(&a2, ts.port, "alice", "pw-a");
  cli_allocate(&a1, &relay);
  assert_int_equal(ntohs(((struct sockaddr_in *)&relay)->sin_port), rp);
  assert_int_equal(cli_req(&a2, NL_STUN_ALLOCATE, &r), 401);
  assert_int_equal(cli_req(&a2, NL_STUN_ALLOCATE, &ALLOC), 508);
  close(a1.fd);
  close(a2.fd);
  ts_stop(&ts);
  ts_free(&ts);
}

/* Nothing reaches a peer without a permission, in either direction; a
 * permission lets Send indications out and Data indications in; a channel
 * carries ChannelData; bytes are counted per allocation. */
static void test_turn_permissions_channels_and_byte_counts(void **state) {
  (void)state;
  const char *const args[] = {
      "--listen", "127.0.0.1",  "--port",      "PORT",      "--realm", REALM,
      "--user",   "alice:pw-a", "--deny-peer", "127.0.0.2", NULL};
  TestServer ts;
  ts_start(&ts, server_exe, args);
  Cli c;
  struct sockaddr_storage relay, peer_ss, denied;
  cli_init(&c, ts.port, "alice", "pw-a");
  cli_allocate(&c, &relay);
  int peer = ts_udp_socket();
  socklen_t l = sizeof peer_ss;
  getsockname(peer, (struct sockaddr *)&peer_ss, &l);
  uint8_t buf[2048], msg[256];
  struct sockaddr_in from;

  /* Peer -> relay without permission: dropped. */
  sendto(peer, "early", 5, 0, (struct sockaddr *)&relay,
         sizeof(struct sockaddr_in));
  assert_true(ts_recv(c.fd, buf, sizeof buf, 200, NULL) < 0);
  /* Send indication without permission: dropped. */
  uint8_t tid[12] = {3};
  NlStunWriter w;
  nl_stun_writer_init(&w, msg, sizeof msg, NL_STUN_SEND, NL_STUN_INDICATION,
                      tid);
  nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_PEER_ADDRESS,
                              (struct sockaddr *)&peer_ss);
  nl_stun_writer_add(&w, NL_STUN_ATTR_DATA, "hello", 5);
  size_t slen = nl_stun_writer_finish(&w);
  struct sockaddr_in srv;
  ts_addr(&srv, ts.port);
  sendto(c.fd, msg, slen, 0, (struct sockaddr *)&srv, sizeof srv);
  assert_true(ts_recv(peer, buf, sizeof buf, 200, NULL) < 0);

  /* Permission for a denied address: 403. */
  ts_addr((struct sockaddr_in *)&denied, 9);
  ((struct sockaddr_in *)&denied)->sin_addr.s_addr = htonl(0x7f000002);
  Req r = {.lifetime = -1, .channel = -1, .auth = TRUE, .peer = &denied};
  assert_int_equal(cli_req(&c, NL_STUN_CREATE_PERMISSION, &r), 403);
  /* CreatePermission without a peer: 400. */
  r.peer = NULL;
  assert_int_equal(cli_req(&c, NL_STUN_CREATE_PERMISSION, &r), 400);
  r.peer = &peer_ss;
  assert_int_equal(cli_req(&c, NL_STUN_CREATE_PERMISSION, &r), 0);

  /* Now Send goes out (5 bytes) and the peer's answer (6) comes back as a
   * Data indication. */
  sendto(c.fd, msg, slen, 0, (struct sockaddr *)&srv, sizeof srv);
  ssize_t n = ts_recv(peer, buf, sizeof buf, 2000, &from);
  assert_int_equal(n, 5);
  assert_memory_equal(buf, "hello", 5);
  assert_int_equal(ntohs(from.sin_port),
                   ntohs(((struct sockaddr_in *)&relay)->sin_port));
  sendto(peer, "world!", 6, 0, (struct sockaddr *)&relay,
         sizeof(struct sockaddr_in));
  n = ts_recv(c.fd, buf, sizeof buf, 2000, NULL);
  NlStunMsg m;
  assert_int_equal(nl_stun_msg_parse(buf, (size_t)n, &m), NL_STUN_OK);
  assert_int_equal(m.method, NL_STUN_DATA);
  assert_int_equal(m.klass, NL_STUN_INDICATION);
  const uint8_t *d;
  size_t dl;
  assert_int_equal(nl_stun_msg_get_string(&m, NL_STUN_ATTR_DATA, &d, &dl),
                   NL_STUN_OK);
  assert_int_equal(dl, 6);

  /* ChannelBind rules. */
  r.channel = 0x3fff;
  assert_int_equal(cli_req(&c, NL_STUN_CHANNEL_BIND, &r), 400);
  r.channel = 0x4001;
  assert_int_equal(cli_req(&c, NL_STUN_CHANNEL_BIND, &r), 0);
  assert_int_equal(cli_req(&c, NL_STUN_CHANNEL_BIND, &r), 0); /* refresh */
  r.channel = 0x4002; /* the peer already has a channel */
  assert_int_equal(cli_req(&c, NL_STUN_CHANNEL_BIND, &r), 400);
  r.channel = 0x6000; /* RFC 5766 range: accepted by default */
  struct sockaddr_storage peer2 = peer_ss;
  ((struct sockaddr_in *)&peer2)->sin_port = htons(9);
  r.peer = &peer2;
  assert_int_equal(cli_req(&c, NL_STUN_CHANNEL_BIND, &r), 0);
  r.channel = 0x4001; /* bound to another peer */
  assert_int_equal(cli_req(&c, NL_STUN_CHANNEL_BIND, &r), 400);

  /* ChannelData out (7 bytes), the peer's answer (3) comes back on the
   * channel, unpadded over UDP. */
  size_t cl = nl_stun_channel_data_build(0x4001, (const uint8_t *)"channel", 7,
                                         FALSE, msg, sizeof msg);
  sendto(c.fd, msg, cl, 0, (struct sockaddr *)&srv, sizeof srv);
  n = ts_recv(peer, buf, sizeof buf, 2000, NULL);
  assert_int_equal(n, 7);
  sendto(peer, "abc", 3, 0, (struct sockaddr *)&relay,
         sizeof(struct sockaddr_in));
  n = ts_recv(c.fd, buf, sizeof buf, 2000, NULL);
  assert_int_equal(n, 4 + 3);
  uint16_t ch;
  assert_int_equal(nl_stun_channel_data_parse(buf, (size_t)n, &ch, &d, &dl),
                   NL_STUN_OK);
  assert_int_equal(ch, 0x4001);
  /* ChannelData on an unbound channel: dropped. */
  cl = nl_stun_channel_data_build(0x4abc, (const uint8_t *)"x", 1, FALSE, msg,
                                  sizeof msg);
  sendto(c.fd, msg, cl, 0, (struct sockaddr *)&srv, sizeof srv);
  assert_true(ts_recv(peer, buf, sizeof buf, 200, NULL) < 0);

  close(peer);
  close(c.fd);
  const char *out = ts_stop(&ts);
  char want[96], b[64];
  /* out: "hello" 5 + "channel" 7; in: "world!" 6 + "abc" 3. */
  snprintf(want, sizeof want, "relay-bytes allocation=%s in=9 out=12",
           nl_stun_addr_to_string((struct sockaddr *)&relay, b, sizeof b));
  assert_non_null(strstr(out, want));
  ts_free(&ts);
}

/* Lifetimes are clamped to the server's bounds, and an allocation that is
 * not refreshed ends at its lifetime (here 1 s, the smallest allowed). */
static void test_turn_lifetime_clamped_and_expires(void **state) {
  (void)state;
  const char *const args[] = {
      "--listen", "127.0.0.1",      "--port",
      "PORT",     "--realm",        REALM,
      "--user",   "alice:pw-a",     "--default-lifetime",
      "1",        "--max-lifetime", "2",
      NULL};
  TestServer ts;
  ts_start(&ts, server_exe, args);
  Cli c;
  struct sockaddr_storage relay;
  cli_init(&c, ts.port, "alice", "pw-a");
  cli_allocate(&c, &relay);
  uint32_t life;
  Req rf = {.lifetime = 3600, .channel = -1, .auth = TRUE};
  assert_int_equal(cli_req(&c, NL_STUN_REFRESH, &rf), 0);
  assert_int_equal(nl_stun_msg_get_u32(&c.m, NL_STUN_ATTR_LIFETIME, &life),
                   NL_STUN_OK);
  assert_int_equal(life, 2); /* clamped to --max-lifetime */
  rf.lifetime = 1;
  assert_int_equal(cli_req(&c, NL_STUN_REFRESH, &rf), 0);
  usleep(1600000); /* past the 1 s lifetime */
  assert_int_equal(cli_req(&c, NL_STUN_REFRESH, &rf), 437);
  close(c.fd);
  const char *out = ts_stop(&ts);
  char want[96], b[64];
  snprintf(want, sizeof want, "relay-bytes allocation=%s in=0 out=0",
           nl_stun_addr_to_string((struct sockaddr *)&relay, b, sizeof b));
  assert_non_null(strstr(out, want));
  ts_free(&ts);
}

static uint16_t relay_port(Cli *c) {
  struct sockaddr_storage relay;
  assert_int_equal(nl_stun_msg_get_addr(&c->m, NL_STUN_ATTR_XOR_RELAYED_ADDRESS,
                                        TRUE, &relay),
                   NL_STUN_OK);
  return ntohs(((struct sockaddr_in *)&relay)->sin_port);
}

/* RFC 8656 §7.2: EVEN-PORT with R reserves port + 1 under a token that a
 * later Allocate redeems once. */
static void test_turn_even_port_reservation(void **state) {
  (void)state;
  TestServer ts;
  ts_start(&ts, server_exe, base_args);
  Cli c1, c2, c3;
  cli_init(&c1, ts.port, "alice", "pw-a");
  cli_init(&c2, ts.port, "alice", "pw-a");
  cli_init(&c3, ts.port, "alice", "pw-a");
  Req r = ALLOC;
  r.auth = FALSE;
  assert_int_equal(cli_req(&c1, NL_STUN_ALLOCATE, &r), 401);
  assert_int_equal(cli_req(&c2, NL_STUN_ALLOCATE, &r), 401);
  assert_int_equal(cli_req(&c3, NL_STUN_ALLOCATE, &r), 401);
  r = ALLOC;
  r.even_port = 1 + 0x80;
  assert_int_equal(cli_req(&c1, NL_STUN_ALLOCATE, &r), 0);
  uint16_t p1 = relay_port(&c1);
  assert_int_equal(p1 % 2, 0);
  const NlStunAttr *t = nl_stun_msg_find(&c1.m, NL_STUN_ATTR_RESERVATION_TOKEN);
  assert_non_null(t);
  uint64_t token = 0;
  for (int i = 0; i < 8; i++)
    token = token << 8 | nl_stun_msg_value(&c1.m, t)[i];
  /* EVEN-PORT and RESERVATION-TOKEN together: 400. */
  r.has_token = TRUE;
  r.token = token;
  assert_int_equal(cli_req(&c2, NL_STUN_ALLOCATE, &r), 400);
  r.even_port = 0;
  assert_int_equal(cli_req(&c2, NL_STUN_ALLOCATE, &r), 0);
  assert_int_equal(relay_port(&c2), p1 + 1);
  /* A token works once. */
  assert_int_equal(cli_req(&c3, NL_STUN_ALLOCATE, &r), 508);
  close(c1.fd);
  close(c2.fd);
  close(c3.fd);
  ts_stop(&ts);
  ts_free(&ts);
}

static void test_turn_strict_channels_reject_rfc5766_range(void **state) {
  (void)state;
  const char *const args[] = {"--listen", "127.0.0.1",  "--port",
                              "PORT",     "--realm",    REALM,
                              "--user",   "alice:pw-a", "--strict-channels",
                              NULL};
  TestServer ts;
  ts_start(&ts, server_exe, args);
  Cli c;
  struct sockaddr_storage relay, peer;
  cli_init(&c, ts.port, "alice", "pw-a");
  cli_allocate(&c, &relay);
  ts_addr((struct sockaddr_in *)&peer, 5000);
  Req r = {.lifetime = -1, .channel = 0x5000, .auth = TRUE, .peer = &peer};
  assert_int_equal(cli_req(&c, NL_STUN_CHANNEL_BIND, &r), 400);
  r.channel = 0x4fff;
  assert_int_equal(cli_req(&c, NL_STUN_CHANNEL_BIND, &r), 0);
  close(c.fd);
  ts_stop(&ts);
  ts_free(&ts);
}

/* Over TCP, ChannelData towards the client is padded to 4 bytes. */
static void test_turn_tcp_channel_data_is_padded(void **state) {
  (void)state;
  TestServer ts;
  ts_start(&ts, server_exe, base_args);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in to;
  ts_addr(&to, ts.port);
  assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof to), 0);
  uint8_t key[16], req[512], buf[2048], tid[12] = {1};
  nl_stun_long_term_key("alice", REALM, "pw-a", key);
  char nonce[128] = "";
  struct sockaddr_storage relay, peer_ss;
  int peer = ts_udp_socket();
  socklen_t l = sizeof peer_ss;
  getsockname(peer, (struct sockaddr *)&peer_ss, &l);
  /* Three requests: Allocate without, with credentials, ChannelBind. */
  for (int step = 0; step < 3; step++) {
    NlStunWriter w;
    tid[11] = (uint8_t)step;
    nl_stun_writer_init(&w, req, sizeof req,
                        step < 2 ? NL_STUN_ALLOCATE : NL_STUN_CHANNEL_BIND,
                        NL_STUN_REQUEST, tid);
    if (step < 2) {
      nl_stun_writer_add_u32(&w, NL_STUN_ATTR_REQUESTED_TRANSPORT, 17u << 24);
    } else {
      nl_stun_writer_add_channel(&w, 0x4010);
      nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_PEER_ADDRESS,
                                  (struct sockaddr *)&peer_ss);
    }
    if (step > 0) {
      nl_stun_writer_add(&w, NL_STUN_ATTR_USERNAME, "alice", 5);
      nl_stun_writer_add(&w, NL_STUN_ATTR_REALM, REALM, strlen(REALM));
      nl_stun_writer_add(&w, NL_STUN_ATTR_NONCE, nonce, strlen(nonce));
      nl_stun_writer_add_integrity(&w, key, 16);
    }
    size_t len = nl_stun_writer_finish(&w);
    assert_int_equal(write(fd, req, len), (ssize_t)len);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_true(poll(&p, 1, 2000) > 0);
    ssize_t n = read(fd, buf, sizeof buf);
    NlStunMsg m;
    assert_int_equal(nl_stun_msg_parse(buf, (size_t)n, &m), NL_STUN_OK);
    if (step == 0) {
      assert_int_equal(m.klass, NL_STUN_ERROR);
      const uint8_t *v;
      size_t vl;
      assert_int_equal(nl_stun_msg_get_string(&m, NL_STUN_ATTR_NONCE, &v, &vl),
                       NL_STUN_OK);
      memcpy(nonce, v, vl);
      nonce[vl] = '\0';
    } else {
      assert_int_equal(m.klass, NL_STUN_SUCCESS);
      if (step == 1)
        assert_int_equal(nl_stun_msg_get_addr(&m,
                                              NL_STUN_ATTR_XOR_RELAYED_ADDRESS,
                                              TRUE, &relay),
                         NL_STUN_OK);
    }
  }
  sendto(peer, "12345", 5, 0, (struct sockaddr *)&relay,
         sizeof(struct sockaddr_in));
  struct pollfd p = {.fd = fd, .events = POLLIN};
  assert_true(poll(&p, 1, 2000) > 0);
  ssize_t n = read(fd, buf, sizeof buf);
  assert_int_equal(n, 4 + 8); /* 5 bytes padded to 8 */
  assert_int_equal(nl_stun_msg_frame_len(buf, (size_t)n, TRUE), 12);
  close(peer);
  close(fd);
  /* The allocation ends with its connection. */
  usleep(400000);
  const char *out = ts_stop(&ts);
  assert_non_null(strstr(out, "in=5 out=0"));
  ts_free(&ts);
}

static void test_turn_server_survives_malformed_input(void **state) {
  (void)state;
  TestServer ts;
  ts_start(&ts, server_exe, base_args);
  Cli c;
  cli_init(&c, ts.port, "alice", "pw-a");
  struct sockaddr_storage relay;
  cli_allocate(&c, &relay);
  struct sockaddr_in srv;
  ts_addr(&srv, ts.port);
  GRand *r = g_rand_new_with_seed(8656);
  uint8_t buf[2048];
  for (int i = 0; i < 3000; i++) {
    size_t n = (size_t)g_rand_int_range(r, 0, 700);
    for (size_t k = 0; k < n; k++)
      buf[k] = (uint8_t)g_rand_int(r);
    if (i % 3 == 0 && n >= 20) { /* valid header, random body */
      static const uint16_t types[] = {0x0003, 0x0004, 0x0008,
                                       0x0009, 0x0016, 0x0001};
      uint16_t t = types[i % 6];
      buf[0] = (uint8_t)(t >> 8), buf[1] = (uint8_t)t;
      buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
      n &= ~(size_t)3;
      buf[2] = (uint8_t)((n - 20) >> 8);
      buf[3] = (uint8_t)(n - 20);
    } else if (i % 3 == 1 && n >= 4) { /* ChannelData-looking */
      buf[0] = (uint8_t)(0x40 | (buf[0] & 0x3f));
    }
    sendto(c.fd, buf, n, 0, (struct sockaddr *)&srv, sizeof srv);
    ssize_t got;
    while ((got = ts_recv(c.fd, buf, sizeof buf, 0, NULL)) > 0) {
      NlStunMsg m;
      assert_int_equal(nl_stun_msg_parse(buf, (size_t)got, &m), NL_STUN_OK);
    }
  }
  /* TCP junk that claims a huge ChannelData frame, then hangs up. */
  int tfd = socket(AF_INET, SOCK_STREAM, 0);
  assert_int_equal(connect(tfd, (struct sockaddr *)&srv, sizeof srv), 0);
  buf[0] = 0x7f, buf[1] = 0xff, buf[2] = 0xff, buf[3] = 0xff;
  (void)write(tfd, buf, 64);
  close(tfd);
  g_rand_free(r);
  assert_true(ts_alive(&ts));
  /* The allocation still works. */
  Req rf = {.lifetime = 600, .channel = -1, .auth = TRUE};
  assert_int_equal(cli_req(&c, NL_STUN_REFRESH, &rf), 0);
  close(c.fd);
  ts_stop(&ts);
  ts_free(&ts);
}

/* Two turn-clients talk through the relay, one echoing: every payload
 * crosses two allocations, so each counts it in and out. */
static void test_turn_clients_relay_through_two_allocations(void **state) {
  (void)state;
  TestServer ts;
  ts_start(&ts, server_exe, base_args);
  char server[32];
  snprintf(server, sizeof server, "127.0.0.1:%u", ts.port);
  const char *const echo[] = {client_exe,   "--server", server,     "--user",
                              "alice:pw-a", "--echo",   "--permit", "127.0.0.1",
                              "--duration", "6000",     NULL};
  int echo_fd;
  pid_t echo_pid = ts_spawn(echo, &echo_fd);
  char *relay = ts_read_line_with(echo_fd, "relayed-address: ", 5000);
  assert_non_null(relay);
  for (int tcp = 0; tcp < 2; tcp++) {
    const char *const send[] = {client_exe, "--server",
                                server,     "--user",
                                "bob:pw-b", "--peer",
                                relay,      "--count",
                                "5",        "--interval",
                                "20",       "--wait",
                                "500",      tcp ? "--tcp" : "--send-indication",
                                NULL};
    GString *out = g_string_new(NULL);
    assert_int_equal(ts_run(send, 10000, out), 0);
    assert_non_null(strstr(out->str, "\nsent=5 received=5\n"));
    assert_non_null(strstr(out->str, "natlab turn-client 5"));
    g_string_free(out, TRUE);
  }
  kill(echo_pid, SIGTERM); /* its allocation ends with the server */
  waitpid(echo_pid, NULL, 0);
  close(echo_fd);
  const char *out = ts_stop(&ts);
  /* 10 payloads of 20 bytes ("natlab turn-client N") each way. */
  char want[96];
  snprintf(want, sizeof want, "relay-bytes allocation=%s in=200 out=200",
           relay);
  assert_non_null(strstr(out, want));
  assert_non_null(strstr(out, "in=100 out=100"));
  g_free(relay);
  ts_free(&ts);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PATH-TO-turn-server PATH-TO-turn-client\n",
            argv[0]);
    return 2;
  }
  server_exe = argv[1];
  client_exe = argv[2];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_turn_allocate_needs_long_term_credentials,
                                ts_teardown),
      cmocka_unit_test_teardown(test_turn_allocate_errors, ts_teardown),
      cmocka_unit_test_teardown(test_turn_quotas, ts_teardown),
      cmocka_unit_test_teardown(test_turn_permissions_channels_and_byte_counts,
                                ts_teardown),
      cmocka_unit_test_teardown(test_turn_even_port_reservation, ts_teardown),
      cmocka_unit_test_teardown(test_turn_lifetime_clamped_and_expires,
                                ts_teardown),
      cmocka_unit_test_teardown(test_turn_strict_channels_reject_rfc5766_range,
                                ts_teardown),
      cmocka_unit_test_teardown(test_turn_tcp_channel_data_is_padded,
                                ts_teardown),
      cmocka_unit_test_teardown(test_turn_clients_relay_through_two_allocations,
                                ts_teardown),
      cmocka_unit_test_teardown(test_turn_server_survives_malformed_input,
                                ts_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
