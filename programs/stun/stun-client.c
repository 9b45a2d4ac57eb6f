/* stun-client.c: STUN Binding client and RFC 5780 NAT classifier.
 *
 * usage: stun-client --server IP:PORT [--tcp] [--classify] [--local IP:PORT]
 *                    [--rto MS] [--rc N] [--rm N] [--seed N]
 *
 * Plain mode sends one Binding request (retransmitted on the RFC 8489
 * schedule: RTO 500 ms, Rc 7, Rm 16 unless overridden) and prints
 *   mapped-address: IP:PORT
 * --classify runs the RFC 5780 §4.3 mapping tests from one local socket
 * (--local), then the §4.4 filtering tests from a second, fresh one, and
 * prints
 *   mapped-address: IP:PORT
 *   other-address: IP:PORT
 *   mapping: endpoint-independent|address-dependent|address-and-port-dependent
 *   filtering:
 * endpoint-independent|address-dependent|address-and-port-dependent Exit
 * status: 0 success, 1 timeout or error response, 2 usage, 3 the server does
 * not support RFC 5780 (no OTHER-ADDRESS).
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

typedef struct {
  int fd;
  gboolean tcp;
  unsigned rto_ms, rc, rm;
  NlProgRand rand;
  uint8_t rbuf[2048];
} Client;

typedef enum { TX_OK, TX_TIMEOUT, TX_ERROR } TxResult;

static void usage(FILE *f) {
  fprintf(f, "usage: stun-client --server IP:PORT [--tcp] [--classify]\n"
             "                   [--local IP:PORT] [--rto MS] [--rc N] "
             "[--rm N] [--seed N]\n");
}

/* Runs one Binding transaction to @dst.  On TX_OK, @resp is the parsed
 * success response (pointing into c->rbuf). */
static TxResult transact(Client *c, const struct sockaddr *dst, uint32_t change,
                         NlStunMsg *resp) {
  uint8_t tid[NL_STUN_TID_LEN], req[64];
  nl_prog_rand_bytes(&c->rand, tid, sizeof tid);
  size_t len = nl_stun_binding_request_build(tid, change, req, sizeof req);
  size_t have = 0;
  NlStunTimer t;
  if (c->tcp) {
    if (nl_prog_write_all(c->fd, req, len) < 0)
      return TX_ERROR;
  } else if (sendto(c->fd, req, len, 0, dst, nl_stun_addr_len(dst)) < 0) {
    return TX_ERROR;
  }
  nl_stun_timer_start(&t, nl_prog_now_ns(), c->rto_ms, c->rc, c->rm, c->tcp);
  for (;;) {
    int64_t now = nl_prog_now_ns();
    switch (nl_stun_timer_refresh(&t, now)) {
      case NL_STUN_TIMER_TIMEOUT:
        return TX_TIMEOUT;
      case NL_STUN_TIMER_RETRANSMIT:
        if (sendto(c->fd, req, len, 0, dst, nl_stun_addr_len(dst)) < 0)
          return TX_ERROR;
        continue;
      case NL_STUN_TIMER_WAIT:
        break;
    }
    int64_t rem = nl_stun_timer_remaining(&t, now);
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int rc = poll(&p, 1, (int)((rem + 999999) / 1000000));
    if (rc < 0 && errno != EINTR)
      return TX_ERROR;
    if (rc <= 0)
      continue;
    size_t mlen;
    if (c->tcp) {
      ssize_t n = read(c->fd, c->rbuf + have, sizeof c->rbuf - have);
      if (n <= 0)
        return TX_ERROR;
      have += (size_t)n;
      gssize fl = nl_stun_msg_frame_len(c->rbuf, have, TRUE);
      if (fl < 0 || (size_t)fl > sizeof c->rbuf)
        return TX_ERROR;
      if (fl == 0 || (size_t)fl > have)
        continue;
      mlen = (size_t)fl;
      have = 0; /* one transaction at a time: nothing else is queued */
    } else {
      ssize_t n = recv(c->fd, c->rbuf, sizeof c->rbuf, 0);
      if (n < 0)
        continue;
      mlen = (size_t)n;
    }
    if (nl_stun_msg_parse(c->rbuf, mlen, resp) != NL_STUN_OK ||
        memcmp(resp->tid, tid, sizeof tid) != 0 ||
        resp->method != NL_STUN_BINDING)
      continue; /* not ours: keep waiting */
    if (resp->klass == NL_STUN_SUCCESS)
      return TX_OK;
    if (resp->klass == NL_STUN_ERROR) {
      unsigned code = 0;
      const uint8_t *reason;
      size_t rlen;
      (void)nl_stun_msg_get_error(resp, &code, &reason, &rlen);
      printf("error: %u %.*s\n", code, (int)rlen, reason ? (char *)reason : "");
      return TX_ERROR;
    }
  }
}

static gboolean mapped_of(const NlStunMsg *m, struct sockaddr_storage *out) {
  if (nl_stun_msg_get_addr(m, NL_STUN_ATTR_XOR_MAPPED_ADDRESS, TRUE, out) ==
      NL_STUN_OK)
    return TRUE;
  return nl_stun_msg_get_addr(m, NL_STUN_ATTR_MAPPED_ADDRESS, FALSE, out) ==
         NL_STUN_OK;
}

static const char *const behaviour[] = {
    "endpoint-independent",
    "address-dependent",
    "address-and-port-dependent",
};

/* RFC 5780 §4.3 (mapping) and §4.4 (filtering). */
static int classify(Client *c, const struct sockaddr_storage *server) {
  NlStunMsg m;
  struct sockaddr_storage m1, m2, m3, other, dst;
  char b[64];
  if (transact(c, (const struct sockaddr *)server, 0, &m) != TX_OK ||
      !mapped_of(&m, &m1)) {
    printf("timeout\n");
    return 1;
  }
  printf("mapped-address: %s\n",
         nl_stun_addr_to_string((struct sockaddr *)&m1, b, sizeof b));
  if (nl_stun_msg_get_addr(&m, NL_STUN_ATTR_OTHER_ADDRESS, FALSE, &other) !=
      NL_STUN_OK) {
    printf("error: server gave no OTHER-ADDRESS (no RFC 5780 support)\n");
    return 3;
  }
  printf("other-address: %s\n",
         nl_stun_addr_to_string((struct sockaddr *)&other, b, sizeof b));

  /* Mapping test II: alternate IP, primary port. */
  int mapping;
  dst = other;
  if (dst.ss_family == AF_INET)
    ((struct sockaddr_in *)&dst)->sin_port =
        ((const struct sockaddr_in *)server)->sin_port;
  else
    ((struct sockaddr_in6 *)&dst)->sin6_port =
        ((const struct sockaddr_in6 *)server)->sin6_port;
  if (transact(c, (struct sockaddr *)&dst, 0, &m) != TX_OK ||
      !mapped_of(&m, &m2)) {
    printf("timeout\n");
    return 1;
  }
  if (nl_stun_addr_equal((struct sockaddr *)&m1, (struct sockaddr *)&m2)) {
    mapping = 0;
  } else {
    /* Mapping test III: alternate IP and port. */
    if (transact(c, (struct sockaddr *)&other, 0, &m) != TX_OK ||
        !mapped_of(&m, &m3)) {
      printf("timeout\n");
      return 1;
    }
    mapping = nl_stun_addr_equal((struct sockaddr *)&m2, (struct sockaddr *)&m3)
                  ? 1
                  : 2;
  }
  printf("mapping: %s\n", behaviour[mapping]);
  fflush(stdout);

  /* The filtering tests run from a fresh socket, so a fresh mapping: the
   * mapping tests above already sent to the alternate address, and an
   * address-dependent filter would let the changed-IP answer of test II in
   * through that earlier hole and look endpoint-independent. */
  int fd = socket(server->ss_family, SOCK_DGRAM, 0);
  if (fd < 0)
    return 1;
  close(c->fd);
  c->fd = fd;
  if (transact(c, (const struct sockaddr *)server, 0, &m) != TX_OK) {
    printf("timeout\n");
    return 1;
  }
  /* Filtering test II: change IP and port; test III: change port. */
  int filtering;
  TxResult r = transact(c, (const struct sockaddr *)server, 0x6, &m);
  if (r == TX_OK) {
    filtering = 0;
  } else if (r == TX_TIMEOUT) {
    r = transact(c, (const struct sockaddr *)server, 0x2, &m);
    if (r == TX_ERROR)
      return 1;
    filtering = r == TX_OK ? 1 : 2;
  } else {
    return 1;
  }
  printf("filtering: %s\n", behaviour[filtering]);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  Client c;
  memset(&c, 0, sizeof c);
  const char *server_str = NULL, *local_str = NULL;
  gboolean do_classify = FALSE, seeded = FALSE;
  unsigned long v, seed = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *n = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--server") == 0 && n) {
      server_str = argv[++i];
    } else if (strcmp(a, "--local") == 0 && n) {
      local_str = argv[++i];
    } else if (strcmp(a, "--tcp") == 0) {
      c.tcp = TRUE;
    } else if (strcmp(a, "--classify") == 0) {
      do_classify = TRUE;
    } else if (strcmp(a, "--rto") == 0 && n &&
               nl_prog_parse_uint(n, 1, 600000, &v)) {
      c.rto_ms = (unsigned)v;
      i++;
    } else if (strcmp(a, "--rc") == 0 && n &&
               nl_prog_parse_uint(n, 1, 100, &v)) {
      c.rc = (unsigned)v;
      i++;
    } else if (strcmp(a, "--rm") == 0 && n &&
               nl_prog_parse_uint(n, 1, 1000, &v)) {
      c.rm = (unsigned)v;
      i++;
    } else if (strcmp(a, "--seed") == 0 && n &&
               nl_prog_parse_uint(n, 0, ULONG_MAX, &seed)) {
      seeded = TRUE;
      i++;
    } else if (strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "stun-client: bad argument '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  struct sockaddr_storage server, local;
  if (server_str == NULL || !nl_stun_addr_parse(server_str, 3478, &server) ||
      (local_str && !nl_stun_addr_parse(local_str, 0, &local))) {
    usage(stderr);
    return 2;
  }
  if (do_classify && c.tcp) {
    fprintf(stderr, "stun-client: --classify needs UDP\n");
    return 2;
  }
  if (seeded)
    nl_prog_rand_seed(&c.rand, seed);
  else
    nl_prog_rand_seed_os(&c.rand);

  c.fd = socket(server.ss_family, c.tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
  if (c.fd < 0) {
    perror("stun-client: socket");
    return 1;
  }
  int status = 1;
  if (local_str && bind(c.fd, (struct sockaddr *)&local,
                        nl_stun_addr_len((struct sockaddr *)&local)) < 0) {
    perror("stun-client: bind");
    goto out;
  }
  if (c.tcp && connect(c.fd, (struct sockaddr *)&server,
                       nl_stun_addr_len((struct sockaddr *)&server)) < 0) {
    perror("stun-client: connect");
    goto out;
  }
  if (do_classify) {
    status = classify(&c, &server);
  } else {
    NlStunMsg m;
    struct sockaddr_storage mapped;
    char b[64];
    TxResult r = transact(&c, (struct sockaddr *)&server, 0, &m);
    if (r == TX_OK && mapped_of(&m, &mapped)) {
      printf("mapped-address: %s\n",
             nl_stun_addr_to_string((struct sockaddr *)&mapped, b, sizeof b));
      status = 0;
    } else if (r == TX_TIMEOUT) {
      printf("timeout\n");
    }
  }
  fflush(stdout);
out:
  close(c.fd);
  return status;
}
