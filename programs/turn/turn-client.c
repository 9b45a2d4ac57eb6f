/* turn-client.c: a TURN client (RFC 8656): allocate, permissions, channel
 * binding, refreshes, and data through the relay.
 *
 * usage: turn-client --server IP:PORT --user NAME:PASSWORD [--tcp]
 *                    [--peer IP:PORT] [--permit IP]... [--send-indication]
 *                    [--channel N] [--count N] [--interval MS] [--size N]
 *                    [--message TEXT] [--echo] [--lifetime S]
 *                    [--duration MS] [--wait MS] [--seed N]
 *
 * Prints
 *   mapped-address: IP:PORT
 *   relayed-address: IP:PORT
 * then sends --count messages to --peer through the relay (ChannelData on
 * channel --channel, default 0x4000, or Send indications with
 * --send-indication), prints one "recv from IP:PORT bytes=N: TEXT" line per
 * datagram that comes back through the relay, and ends with
 *   sent=N received=N
 * --echo sends every datagram received from a peer back to it (a relayed
 * echo peer); --permit adds a permission for an IP without a peer to send
 * to.  The allocation is refreshed before it expires (LIFETIME minus a
 * minute, or half of it when shorter), permissions every 240 s and the
 * channel every 540 s, and it is deleted (Refresh with LIFETIME 0) on exit.
 * The client runs for --duration ms when given, else until the last message
 * was sent and --wait ms (default 1000) passed.
 * Exit status: 0 success, 1 a request failed or timed out, 2 usage.
 *
 * An ordinary POSIX program with no mutable globals.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stun-codec.h"
#include "stun-prog.h"

#define NS_PER_MS G_GINT64_CONSTANT(1000000)
#define NS_PER_S G_GINT64_CONSTANT(1000000000)
#define BUF 65600
#define MAX_PERMITS 16

typedef struct {
  int fd;
  gboolean tcp;
  struct sockaddr_storage server;
  const char *user, *password;
  char realm[800], nonce[800];
  uint8_t key[16];
  gboolean have_key;
  NlProgRand rand;
  uint8_t *rbuf; /* received message */
  size_t rlen;
  uint8_t *sbuf; /* stream reassembly */
  size_t have;
  uint8_t *wbuf; /* outgoing */
  gboolean echo;
  uint16_t channel;
  gboolean use_channel;
  struct sockaddr_storage peer;
  gboolean have_peer;
  struct sockaddr_storage permits[MAX_PERMITS];
  unsigned n_permits;
  uint64_t sent, received;
} Client;

typedef enum { REQ_OK, REQ_FAILED } ReqResult;

static void usage(FILE *f) {
  fprintf(f,
          "usage: turn-client --server IP:PORT --user NAME:PASSWORD [--tcp]\n"
          "         [--peer IP:PORT] [--permit IP]... [--send-indication]\n"
          "         [--channel N] [--count N] [--interval MS] [--size N]\n"
          "         [--message TEXT] [--echo] [--lifetime S]\n"
          "         [--duration MS] [--wait MS] [--seed N]\n");
}

static int send_raw(Client *c, const uint8_t *buf, size_t len) {
  if (len == 0)
    return -EINVAL;
  if (c->tcp)
    return nl_prog_write_all(c->fd, buf, len);
  if (send(c->fd, buf, len, 0) < 0)
    return -errno;
  return 0;
}

/* Sends @len bytes of payload to @peer through the relay. */
static void relay_send(Client *c, const struct sockaddr *peer,
                       const uint8_t *data, size_t len) {
  uint8_t *out = c->wbuf;
  size_t n;
  if (c->use_channel && nl_stun_addr_equal(peer, (struct sockaddr *)&c->peer)) {
    n = nl_stun_channel_data_build(c->channel, data, len, c->tcp, out, BUF);
  } else {
    uint8_t tid[NL_STUN_TID_LEN];
    NlStunWriter w;
    nl_prog_rand_bytes(&c->rand, tid, sizeof tid);
    nl_stun_writer_init(&w, out, BUF, NL_STUN_SEND, NL_STUN_INDICATION, tid);
    nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_PEER_ADDRESS, peer);
    nl_stun_writer_add(&w, NL_STUN_ATTR_DATA, data, len);
    n = nl_stun_writer_finish(&w);
  }
  if (send_raw(c, out, n) == 0)
    c->sent++;
}

static void on_data(Client *c, const struct sockaddr *peer, const uint8_t *data,
                    size_t len) {
  char b[64];
  c->received++;
  int shown = (int)(len > 60 ? 60 : len);
  for (int i = 0; i < shown; i++)
    if (data[i] < 0x20 || data[i] > 0x7e) {
      shown = i;
      break;
    }
  printf("recv from %s bytes=%zu: %.*s\n",
         nl_stun_addr_to_string(peer, b, sizeof b), len, shown,
         (const char *)data);
  fflush(stdout);
  if (c->echo) {
    /* Copy out: relay_send reuses the write buffer, not rbuf. */
    relay_send(c, peer, data, len);
    c->sent--; /* echoes are not counted as sent messages */
  }
}

/* Waits up to @timeout_ns for one message from the server.  Data is handled
 * here; a STUN response is left in c->rbuf/c->rlen and returns 1.
 * Returns: 1 response, 0 nothing (timeout or data handled), -1 error. */
static int receive(Client *c, int64_t timeout_ns) {
  if (!c->tcp || c->have == 0 ||
      nl_stun_msg_frame_len(c->sbuf, c->have, TRUE) <= 0 ||
      (size_t)nl_stun_msg_frame_len(c->sbuf, c->have, TRUE) > c->have) {
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int rc = poll(&p, 1, (int)((timeout_ns + NS_PER_MS - 1) / NS_PER_MS));
    if (rc < 0)
      return errno == EINTR ? 0 : -1;
    if (rc == 0)
      return 0;
    if (c->tcp) {
      ssize_t n = read(c->fd, c->sbuf + c->have, BUF - c->have);
      if (n <= 0)
        return -1;
      c->have += (size_t)n;
    } else {
      ssize_t n = recv(c->fd, c->rbuf, BUF, 0);
      if (n < 0)
        return 0;
      c->rlen = (size_t)n;
    }
  }
  if (c->tcp) {
    gssize fl = nl_stun_msg_frame_len(c->sbuf, c->have, TRUE);
    if (fl < 0 || fl > BUF)
      return -1;
    if (fl == 0 || (size_t)fl > c->have)
      return 0;
    memcpy(c->rbuf, c->sbuf, (size_t)fl);
    c->rlen = (size_t)fl;
    memmove(c->sbuf, c->sbuf + fl, c->have - (size_t)fl);
    c->have -= (size_t)fl;
  }
  if (c->rlen >= 4 && (c->rbuf[0] & 0xC0) == 0x40) {
    uint16_t ch;
    const uint8_t *d;
    size_t dl;
    if (nl_stun_channel_data_parse(c->rbuf, c->rlen, &ch, &d, &dl) ==
            NL_STUN_OK &&
        c->use_channel && ch == c->channel)
      on_data(c, (struct sockaddr *)&c->peer, d, dl);
    return 0;
  }
  NlStunMsg m;
  if (nl_stun_msg_parse(c->rbuf, c->rlen, &m) != NL_STUN_OK)
    return 0;
  if (m.klass == NL_STUN_INDICATION && m.method == NL_STUN_DATA) {
    struct sockaddr_storage peer;
    const uint8_t *d;
    size_t dl;
    if (nl_stun_msg_get_addr(&m, NL_STUN_ATTR_XOR_PEER_ADDRESS, TRUE, &peer) ==
            NL_STUN_OK &&
        nl_stun_msg_get_string(&m, NL_STUN_ATTR_DATA, &d, &dl) == NL_STUN_OK)
      on_data(c, (struct sockaddr *)&peer, d, dl);
    return 0;
  }
  return m.klass == NL_STUN_SUCCESS || m.klass == NL_STUN_ERROR ? 1 : 0;
}

typedef struct {
  uint32_t lifetime; /* for Allocate/Refresh; UINT32_MAX: none */
  const struct sockaddr_storage *peers;
  unsigned n_peers;
  uint16_t channel; /* ChannelBind */
} ReqArgs;

static size_t build_request(Client *c, uint16_t method, const ReqArgs *a,
                            uint8_t tid[NL_STUN_TID_LEN]) {
  NlStunWriter w;
  nl_prog_rand_bytes(&c->rand, tid, NL_STUN_TID_LEN);
  nl_stun_writer_init(&w, c->wbuf, BUF, method, NL_STUN_REQUEST, tid);
  if (method == NL_STUN_ALLOCATE)
    nl_stun_writer_add_u32(&w, NL_STUN_ATTR_REQUESTED_TRANSPORT, 17u << 24);
  if (a->lifetime != UINT32_MAX)
    nl_stun_writer_add_u32(&w, NL_STUN_ATTR_LIFETIME, a->lifetime);
  if (method == NL_STUN_CHANNEL_BIND)
    nl_stun_writer_add_channel(&w, a->channel);
  for (unsigned i = 0; i < a->n_peers; i++)
    nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_PEER_ADDRESS,
                                (const struct sockaddr *)&a->peers[i]);
  if (c->have_key) {
    nl_stun_writer_add(&w, NL_STUN_ATTR_USERNAME, c->user, strlen(c->user));
    nl_stun_writer_add(&w, NL_STUN_ATTR_REALM, c->realm, strlen(c->realm));
    nl_stun_writer_add(&w, NL_STUN_ATTR_NONCE, c->nonce, strlen(c->nonce));
    nl_stun_writer_add_integrity(&w, c->key, sizeof c->key);
  }
  nl_stun_writer_add_fingerprint(&w);
  return nl_stun_writer_finish(&w);
}

static void copy_string(const NlStunMsg *m, uint16_t type, char *out,
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

/* Runs one request transaction with long-term credentials; answers to 401
 * and 438 are retried with the new REALM/NONCE.  On REQ_OK the success
 * response is in c->rbuf and parsed into @resp. */
static ReqResult request(Client *c, uint16_t method, const ReqArgs *a,
                         NlStunMsg *resp) {
  for (int attempt = 0; attempt < 4; attempt++) {
    uint8_t tid[NL_STUN_TID_LEN];
    size_t len = build_request(c, method, a, tid);
    if (send_raw(c, c->wbuf, len) < 0)
      return REQ_FAILED;
    /* Keep a copy: the write buffer is reused by echoes meanwhile. */
    uint8_t *req = g_memdup2(c->wbuf, len);
    NlStunTimer t;
    nl_stun_timer_start(&t, nl_prog_now_ns(), 0, 0, 0, c->tcp);
    int outcome = 0; /* 0 waiting, 1 success, 2 retry, -1 failed */
    while (outcome == 0) {
      int64_t now = nl_prog_now_ns();
      NlStunTimerResult tr = nl_stun_timer_refresh(&t, now);
      if (tr == NL_STUN_TIMER_TIMEOUT) {
        outcome = -1;
        break;
      }
      if (tr == NL_STUN_TIMER_RETRANSMIT) {
        (void)send_raw(c, req, len);
        continue;
      }
      int r = receive(c, nl_stun_timer_remaining(&t, now));
      if (r < 0) {
        outcome = -1;
        break;
      }
      if (r == 0 || nl_stun_msg_parse(c->rbuf, c->rlen, resp) != NL_STUN_OK ||
          memcmp(resp->tid, tid, sizeof tid) != 0)
        continue;
      if (resp->klass == NL_STUN_SUCCESS) {
        outcome = 1;
        break;
      }
      unsigned code = 0;
      const uint8_t *reason = NULL;
      size_t rlen = 0;
      (void)nl_stun_msg_get_error(resp, &code, &reason, &rlen);
      if ((code == 401 && !c->have_key) || code == 438) {
        copy_string(resp, NL_STUN_ATTR_REALM, c->realm, sizeof c->realm);
        copy_string(resp, NL_STUN_ATTR_NONCE, c->nonce, sizeof c->nonce);
        nl_stun_long_term_key(c->user, c->realm, c->password, c->key);
        c->have_key = TRUE;
        outcome = 2;
        break;
      }
      printf("error: %u %.*s\n", code, (int)rlen,
             reason ? (const char *)reason : "");
      outcome = -1;
    }
    g_free(req);
    if (outcome == 1)
      return REQ_OK;
    if (outcome < 0)
      return REQ_FAILED;
  }
  return REQ_FAILED;
}

static ReqResult do_permissions(Client *c) {
  struct sockaddr_storage peers[MAX_PERMITS + 1];
  unsigned n = 0;
  if (c->have_peer)
    peers[n++] = c->peer;
  for (unsigned i = 0; i < c->n_permits; i++)
    peers[n++] = c->permits[i];
  if (n == 0)
    return REQ_OK;
  ReqArgs a = {.lifetime = UINT32_MAX, .peers = peers, .n_peers = n};
  NlStunMsg m;
  return request(c, NL_STUN_CREATE_PERMISSION, &a, &m);
}

static ReqResult do_channel(Client *c) {
  if (!c->use_channel)
    return REQ_OK;
  ReqArgs a = {.lifetime = UINT32_MAX,
               .peers = &c->peer,
               .n_peers = 1,
               .channel = c->channel};
  NlStunMsg m;
  return request(c, NL_STUN_CHANNEL_BIND, &a, &m);
}

int main(int argc, char **argv) {
  Client c;
  memset(&c, 0, sizeof c);
  const char *server = NULL, *userpass = NULL, *peer = NULL;
  const char *message = "natlab turn-client";
  unsigned long count = 5, interval = 100, size = 0, lifetime = 600;
  unsigned long duration = 0, wait = 1000, seed = 0, channel = 0x4000;
  gboolean seeded = FALSE, send_ind = FALSE;
  c.rbuf = nl_prog_alloc(BUF);
  c.sbuf = nl_prog_alloc(BUF);
  c.wbuf = nl_prog_alloc(BUF);
  int status = 2;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *n = i + 1 < argc ? argv[i + 1] : NULL;
#define NUM(opt, lo, hi, dst)                                                  \
  (strcmp(a, opt) == 0 && n && nl_prog_parse_uint(n, lo, hi, dst) && ++i)
    if (strcmp(a, "--server") == 0 && n) {
      server = argv[++i];
    } else if (strcmp(a, "--user") == 0 && n && strchr(n, ':')) {
      userpass = argv[++i];
    } else if (strcmp(a, "--peer") == 0 && n) {
      peer = argv[++i];
    } else if (strcmp(a, "--permit") == 0 && n && c.n_permits < MAX_PERMITS) {
      if (!nl_stun_addr_parse(n, 1, &c.permits[c.n_permits++]))
        goto fail_usage;
      i++;
    } else if (strcmp(a, "--message") == 0 && n) {
      message = argv[++i];
    } else if (strcmp(a, "--tcp") == 0) {
      c.tcp = TRUE;
    } else if (strcmp(a, "--echo") == 0) {
      c.echo = TRUE;
    } else if (strcmp(a, "--send-indication") == 0) {
      send_ind = TRUE;
    } else if (strcmp(a, "--channel") == 0 && n) {
      channel = strtoul(n, NULL, 0);
      if (channel < 0x4000 || channel > 0x7FFF)
        goto fail_usage;
      i++;
    } else if (NUM("--count", 0, 100000000, &count) ||
               NUM("--interval", 0, 3600000, &interval) ||
               NUM("--size", 0, 65000, &size) ||
               NUM("--lifetime", 0, 86400, &lifetime) ||
               NUM("--duration", 0, 1000000000, &duration) ||
               NUM("--wait", 0, 1000000000, &wait)) {
      continue;
    } else if (NUM("--seed", 0, ULONG_MAX, &seed)) {
      seeded = TRUE;
    } else if (strcmp(a, "--help") == 0) {
      usage(stdout);
      status = 0;
      goto out_free;
    } else {
      fprintf(stderr, "turn-client: bad argument '%s'\n", a);
      goto fail_usage;
    }
#undef NUM
  }
  if (server == NULL || userpass == NULL ||
      !nl_stun_addr_parse(server, 3478, &c.server) ||
      (peer && !nl_stun_addr_parse(peer, 0, &c.peer)))
    goto fail_usage;
  char *user = g_strndup(userpass, (gsize)(strchr(userpass, ':') - userpass));
  c.user = user;
  c.password = strchr(userpass, ':') + 1;
  c.have_peer = peer != NULL;
  c.use_channel = c.have_peer && !send_ind;
  c.channel = (uint16_t)channel;
  if (seeded)
    nl_prog_rand_seed(&c.rand, seed);
  else
    nl_prog_rand_seed_os(&c.rand);

  status = 1;
  c.fd = socket(c.server.ss_family, c.tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
  if (c.fd < 0) {
    perror("turn-client: socket");
    goto out_user;
  }
  if (connect(c.fd, (struct sockaddr *)&c.server,
              nl_stun_addr_len((struct sockaddr *)&c.server)) < 0) {
    perror("turn-client: connect");
    goto out_fd;
  }

  NlStunMsg m;
  ReqArgs alloc = {.lifetime = (uint32_t)lifetime};
  if (request(&c, NL_STUN_ALLOCATE, &alloc, &m) != REQ_OK) {
    printf("allocate failed\n");
    goto out_fd;
  }
  struct sockaddr_storage relayed, mapped;
  uint32_t granted = 600;
  char b[64];
  (void)nl_stun_msg_get_u32(&m, NL_STUN_ATTR_LIFETIME, &granted);
  if (nl_stun_msg_get_addr(&m, NL_STUN_ATTR_XOR_MAPPED_ADDRESS, TRUE,
                           &mapped) == NL_STUN_OK)
    printf("mapped-address: %s\n",
           nl_stun_addr_to_string((struct sockaddr *)&mapped, b, sizeof b));
  if (nl_stun_msg_get_addr(&m, NL_STUN_ATTR_XOR_RELAYED_ADDRESS, TRUE,
                           &relayed) != NL_STUN_OK) {
    printf("allocate: no XOR-RELAYED-ADDRESS\n");
    goto out_fd;
  }
  printf("relayed-address: %s\n",
         nl_stun_addr_to_string((struct sockaddr *)&relayed, b, sizeof b));
  printf("lifetime: %u\n", granted);
  fflush(stdout);
  if (do_permissions(&c) != REQ_OK || do_channel(&c) != REQ_OK) {
    printf("permission or channel bind failed\n");
    goto out_release;
  }

  int64_t start = nl_prog_now_ns(), now = start;
  int64_t refresh_in = granted > 120
                           ? (int64_t)granted - 60
                           : (int64_t)(granted / 2 > 0 ? granted / 2 : 1);
  int64_t next_refresh = start + refresh_in * NS_PER_S;
  int64_t next_perm = start + 240 * NS_PER_S;
  int64_t next_chan = start + 540 * NS_PER_S;
  int64_t next_send = start;
  int64_t last_send = start;
  uint8_t *payload = nl_prog_alloc(size > 0 ? size : strlen(message) + 32);
  status = 0;
  for (;;) {
    now = nl_prog_now_ns();
    gboolean sending = c.have_peer && c.sent < count;
    if (duration > 0 ? now - start >= (int64_t)duration * NS_PER_MS
                     : !sending && now - last_send >= (int64_t)wait * NS_PER_MS)
      break;
    if (sending && now >= next_send) {
      size_t len;
      if (size > 0) {
        memset(payload, 'x', size);
        int k = snprintf((char *)payload, size, "%s %" G_GUINT64_FORMAT,
                         message, c.sent + 1);
        len = size;
        (void)k;
      } else {
        len = (size_t)sprintf((char *)payload, "%s %" G_GUINT64_FORMAT, message,
                              c.sent + 1);
      }
      relay_send(&c, (struct sockaddr *)&c.peer, payload, len);
      last_send = now;
      next_send = now + (int64_t)interval * NS_PER_MS;
      continue;
    }
    /* Refreshes (RFC 8656 §8, §9, §12): before expiry. */
    if (now >= next_refresh) {
      ReqArgs r = {.lifetime = (uint32_t)lifetime};
      if (request(&c, NL_STUN_REFRESH, &r, &m) != REQ_OK) {
        printf("refresh failed\n");
        status = 1;
        break;
      }
      printf("refreshed\n");
      next_refresh = nl_prog_now_ns() + refresh_in * NS_PER_S;
      continue;
    }
    if (now >= next_perm) {
      if (do_permissions(&c) != REQ_OK) {
        status = 1;
        break;
      }
      next_perm = nl_prog_now_ns() + 240 * NS_PER_S;
      continue;
    }
    if (now >= next_chan) {
      if (do_channel(&c) != REQ_OK) {
        status = 1;
        break;
      }
      next_chan = nl_prog_now_ns() + 540 * NS_PER_S;
      continue;
    }
    int64_t until = duration > 0 ? start + (int64_t)duration * NS_PER_MS
                                 : last_send + (int64_t)wait * NS_PER_MS;
    if (sending && next_send < until)
      until = next_send;
    if (next_refresh < until)
      until = next_refresh;
    if (next_perm < until)
      until = next_perm;
    if (next_chan < until)
      until = next_chan;
    if (receive(&c, until > now ? until - now : 0) < 0) {
      printf("connection lost\n");
      status = 1;
      break;
    }
  }
  free(payload);
  printf("sent=%" G_GUINT64_FORMAT " received=%" G_GUINT64_FORMAT "\n", c.sent,
         c.received);
out_release : {
  ReqArgs r = {.lifetime = 0};
  (void)request(&c, NL_STUN_REFRESH, &r, &m);
}
out_fd:
  fflush(stdout);
  close(c.fd);
out_user:
  g_free(user);
  goto out_free;
fail_usage:
  usage(stderr);
out_free:
  free(c.rbuf);
  free(c.sbuf);
  free(c.wbuf);
  return status;
}
