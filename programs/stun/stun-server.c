/* stun-server.c: a STUN server (RFC 8489) with RFC 5780 NAT behaviour
 * discovery, over UDP and TCP.
 *
 * usage: stun-server [--primary IP] [--alternate IP] [--port N]
 *                    [--alt-port N] [--no-tcp] [--software TEXT]
 *                    [--duration SECONDS] [--signals] [--verbose]
 *
 * With --alternate (and so a second port, default port+1) the server binds
 * four UDP sockets and listens on four TCP ones, (primary|alternate) x
 * (port|alt-port), answers CHANGE-REQUEST from the socket it names, and
 * puts in every response RESPONSE-ORIGIN (RFC 5780 §7.3: the endpoint the
 * answer is sent from) and OTHER-ADDRESS (§7.4: the endpoint a
 * change-IP-and-port answer to this request would come from, i.e. the
 * other address and the other port of the socket that received it).  A
 * socket bound to the wildcard address knows no source address, so its
 * UDP answers carry no RESPONSE-ORIGIN; over TCP the connection's own
 * address is used.  The alternate address may equal the
 * primary one (a single-address host, e.g. loopback): then only the port
 * changes and the sockets are shared.  Without --alternate, CHANGE-REQUEST
 * gets 420 (RFC 5780 §6.1).
 *
 * An ordinary POSIX program: no mutable globals (natlab runs many
 * instances in one process), all state lives in main's locals.
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

#define MAX_CONNS 64
#define TCP_BUF (NL_STUN_MAX_MSG_LEN + 4)
#define TCP_IDLE_NS (60 * G_GINT64_CONSTANT(1000000000))

typedef struct {
  int fd;
  int ip, port; /* the listener it came in on */
  size_t have;
  int64_t last_ns;
  struct sockaddr_storage peer;
  struct sockaddr_storage local; /* its own end, for RESPONSE-ORIGIN */
  uint8_t *buf;
} Conn;

typedef struct {
  struct sockaddr_storage addr[2][2]; /* [ip][port] */
  int udp[2][2];                      /* -1 where absent */
  int tcp[2][2];                      /* listeners, -1 where absent */
  gboolean have_alt;
  gboolean same_ip; /* the alternate address is the primary one */
  const char *software;
  gboolean verbose;
  Conn conns[MAX_CONNS];
  unsigned n_conns;
  uint64_t answered, dropped;
} Server;

static void usage(FILE *f) {
  fprintf(f, "usage: stun-server [--primary IP] [--alternate IP] [--port N]\n"
             "                   [--alt-port N] [--no-tcp] [--software TEXT]\n"
             "                   [--duration SECONDS] [--signals] "
             "[--verbose]\n");
}

static void set_port(struct sockaddr_storage *ss, uint16_t port) {
  if (ss->ss_family == AF_INET6)
    ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
  else
    ((struct sockaddr_in *)ss)->sin_port = htons(port);
}

static gboolean is_wildcard(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET6)
    return memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr,
                  &in6addr_any, sizeof in6addr_any) == 0;
  return ((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
         htonl(INADDR_ANY);
}

/* Builds the answer to @req received on socket [ip][port] from @from;
 * @local: over TCP, the connection's own address (else NULL).
 * *out_ip and *out_port name the socket to answer from, *dest the address to
 * answer to.  Returns: the response length, or 0 to stay silent. */
static size_t answer(Server *s, const uint8_t *in, size_t in_len, int ip,
                     int port, const struct sockaddr_storage *local,
                     const struct sockaddr_storage *from, uint8_t *out,
                     size_t out_cap, int *out_ip, int *out_port,
                     struct sockaddr_storage *dest) {
  NlStunMsg m;
  gboolean stream = local != NULL;
  NlStunResult r = nl_stun_msg_parse(in, in_len, &m);
  *out_ip = ip;
  *out_port = port;
  *dest = *from;
  if (r == NL_STUN_TRUNCATED || r == NL_STUN_NOT_STUN ||
      r == NL_STUN_BAD_COOKIE || r == NL_STUN_BAD_LENGTH ||
      r == NL_STUN_TOO_BIG || r == NL_STUN_FINGERPRINT_MISMATCH) {
    if (s->verbose)
      printf("drop: %s\n", nl_stun_result_to_string(r));
    return 0;
  }
  if (m.klass != NL_STUN_REQUEST) {
    if (s->verbose)
      printf("drop: not a request\n");
    return 0; /* indications and responses need no answer */
  }
  NlStunWriter w;
  if (r == NL_STUN_UNKNOWN_REQUIRED) {
    nl_stun_writer_init(&w, out, out_cap, m.method, NL_STUN_ERROR, m.tid);
    nl_stun_writer_add_error(&w, 420, "Unknown Attribute");
    nl_stun_writer_add_unknown(&w, m.unknown, m.n_unknown);
    nl_stun_writer_add_fingerprint(&w);
    return nl_stun_writer_finish(&w);
  }
  if (r != NL_STUN_OK || m.method != NL_STUN_BINDING) {
    if (s->verbose)
      printf("bad request: %s\n", r != NL_STUN_OK ? nl_stun_result_to_string(r)
                                                  : "method is not Binding");
    return nl_stun_error_response_build(m.method, m.tid, 400, "Bad Request",
                                        out, out_cap);
  }

  /* RFC 5780 §6.1: CHANGE-REQUEST picks the socket to answer from. */
  uint32_t flags = 0;
  if (nl_stun_msg_get_u32(&m, NL_STUN_ATTR_CHANGE_REQUEST, &flags) ==
          NL_STUN_OK &&
      (flags & 0x6) != 0) {
    if (!s->have_alt || stream) {
      uint16_t t = NL_STUN_ATTR_CHANGE_REQUEST;
      nl_stun_writer_init(&w, out, out_cap, m.method, NL_STUN_ERROR, m.tid);
      if (stream) {
        /* A TCP response cannot come from another address. */
        nl_stun_writer_add_error(&w, 400, "CHANGE-REQUEST over TCP");
      } else {
        nl_stun_writer_add_error(&w, 420, "Unknown Attribute");
        nl_stun_writer_add_unknown(&w, &t, 1);
      }
      nl_stun_writer_add_fingerprint(&w);
      return nl_stun_writer_finish(&w);
    }
    if (flags & 0x4)
      *out_ip = 1 - ip;
    if (flags & 0x2)
      *out_port = 1 - port;
  }
  /* RFC 5780 §7.5: RESPONSE-PORT redirects the answer (UDP only). */
  uint32_t rport;
  if (!stream &&
      nl_stun_msg_get_u32(&m, NL_STUN_ATTR_RESPONSE_PORT, &rport) == NL_STUN_OK)
    set_port(dest, (uint16_t)(rport >> 16));

  nl_stun_writer_init(&w, out, out_cap, NL_STUN_BINDING, NL_STUN_SUCCESS,
                      m.tid);
  nl_stun_writer_add_xor_addr(&w, NL_STUN_ATTR_XOR_MAPPED_ADDRESS,
                              (const struct sockaddr *)from);
  /* MAPPED-ADDRESS too, for RFC 3489 clients. */
  nl_stun_writer_add_addr(&w, NL_STUN_ATTR_MAPPED_ADDRESS,
                          (const struct sockaddr *)from);
  /* RFC 5780 §7.3: where this answer comes from. */
  const struct sockaddr_storage *origin =
      stream ? local : &s->addr[*out_ip][*out_port];
  if (!is_wildcard(origin))
    nl_stun_writer_add_addr(&w, NL_STUN_ATTR_RESPONSE_ORIGIN,
                            (const struct sockaddr *)origin);
  /* RFC 5780 §7.4: where a change-IP-and-port answer to this request
   * would come from: the other address and port of the receiving socket. */
  if (s->have_alt)
    nl_stun_writer_add_addr(&w, NL_STUN_ATTR_OTHER_ADDRESS,
                            (struct sockaddr *)&s->addr[1 - ip][1 - port]);
  const NlStunAttr *pad = nl_stun_msg_find(&m, NL_STUN_ATTR_PADDING);
  if (pad != NULL && pad->len > 0) {
    /* RFC 5780 §7.6: answer a padded request with as much padding. */
    uint8_t zeros[64] = {0};
    size_t n = pad->len;
    uint8_t *big = n > sizeof zeros ? g_malloc0(n) : NULL;
    nl_stun_writer_add(&w, NL_STUN_ATTR_PADDING, big ? big : zeros, n);
    g_free(big);
  }
  if (s->software != NULL)
    nl_stun_writer_add(&w, NL_STUN_ATTR_SOFTWARE, s->software,
                       strlen(s->software));
  if (m.fingerprint >= 0)
    nl_stun_writer_add_fingerprint(&w);
  return nl_stun_writer_finish(&w);
}

static void log_answer(const Server *s, const char *proto,
                       const struct sockaddr_storage *from, int ip, int port) {
  if (!s->verbose)
    return;
  char a[64], b[64];
  printf("binding %s from %s answered from %s\n", proto,
         nl_stun_addr_to_string((const struct sockaddr *)from, a, sizeof a),
         nl_stun_addr_to_string((const struct sockaddr *)&s->addr[ip][port], b,
                                sizeof b));
  fflush(stdout);
}

static void handle_udp(Server *s, int ip, int port, uint8_t *in, uint8_t *out) {
  struct sockaddr_storage from;
  socklen_t flen = sizeof from;
  ssize_t n = recvfrom(s->udp[ip][port], in, NL_STUN_MAX_MSG_LEN + 1, 0,
                       (struct sockaddr *)&from, &flen);
  if (n < 0)
    return;
  int oip, oport;
  struct sockaddr_storage dest;
  size_t len = answer(s, in, (size_t)n, ip, port, NULL, &from, out,
                      NL_STUN_MAX_MSG_LEN, &oip, &oport, &dest);
  if (len == 0) {
    s->dropped++;
    return;
  }
  if (sendto(s->udp[s->same_ip ? 0 : oip][oport], out, len, 0, (struct sockaddr *)&dest,
             nl_stun_addr_len((struct sockaddr *)&dest)) >= 0) {
    s->answered++;
    log_answer(s, "udp", &from, oip, oport);
  }
}

static void conn_close(Server *s, unsigned i) {
  close(s->conns[i].fd);
  free(s->conns[i].buf);
  s->conns[i] = s->conns[s->n_conns - 1];
  s->n_conns--;
}

/* Reads from connection @i and answers every complete frame.  Returns FALSE
 * when the connection must close. */
static gboolean handle_conn(Server *s, unsigned i, uint8_t *out, int64_t now) {
  Conn *c = &s->conns[i];
  ssize_t n = read(c->fd, c->buf + c->have, TCP_BUF - c->have);
  if (n <= 0)
    return FALSE;
  c->have += (size_t)n;
  c->last_ns = now;
  for (;;) {
    gssize fl = nl_stun_msg_frame_len(c->buf, c->have, TRUE);
    if (fl < 0 || (size_t)fl > TCP_BUF)
      return FALSE; /* not STUN: the stream cannot be resynchronised */
    if (fl == 0 || (size_t)fl > c->have)
      return TRUE;
    if ((c->buf[0] & 0xC0) == 0) {
      int oip, oport;
      struct sockaddr_storage dest;
      size_t len = answer(s, c->buf, (size_t)fl, c->ip, c->port, &c->local,
                          &c->peer, out, NL_STUN_MAX_MSG_LEN, &oip, &oport,
                          &dest);
      if (len > 0) {
        if (nl_prog_write_all(c->fd, out, len) < 0)
          return FALSE;
        s->answered++;
        log_answer(s, "tcp", &c->peer, c->ip, c->port);
      } else {
        s->dropped++;
      }
    }
    memmove(c->buf, c->buf + fl, c->have - (size_t)fl);
    c->have -= (size_t)fl;
  }
}

int main(int argc, char **argv) {
  Server s;
  memset(&s, 0, sizeof s);
  const char *primary = "0.0.0.0", *alternate = NULL;
  unsigned long port = 3478, alt_port = 0, duration = 0;
  gboolean tcp = TRUE;
  NlProgSignals sigs = {.enabled = FALSE};
  s.software = "natlab stun-server";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--primary") == 0 && v) {
      primary = v;
      i++;
    } else if (strcmp(a, "--alternate") == 0 && v) {
      alternate = v;
      i++;
    } else if (strcmp(a, "--port") == 0 && v &&
               nl_prog_parse_uint(v, 1, 65535, &port)) {
      i++;
    } else if (strcmp(a, "--alt-port") == 0 && v &&
               nl_prog_parse_uint(v, 1, 65535, &alt_port)) {
      i++;
    } else if (strcmp(a, "--duration") == 0 && v &&
               nl_prog_parse_uint(v, 0, 100000000, &duration)) {
      i++;
    } else if (strcmp(a, "--software") == 0 && v) {
      s.software = *v ? v : NULL;
      i++;
    } else if (strcmp(a, "--no-tcp") == 0) {
      tcp = FALSE;
    } else if (strcmp(a, "--verbose") == 0) {
      s.verbose = TRUE;
    } else if (strcmp(a, "--signals") == 0) {
      sigs.enabled = TRUE;
    } else if (strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "stun-server: bad argument '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (alt_port == 0)
    alt_port = port == 65535 ? port - 1 : port + 1;
  if (alt_port == port) {
    fprintf(stderr, "stun-server: --alt-port must differ from --port\n");
    return 2;
  }
  s.have_alt = alternate != NULL;
  if (!nl_stun_addr_parse(primary, (uint16_t)port, &s.addr[0][0]) ||
      (alternate &&
       !nl_stun_addr_parse(alternate, (uint16_t)port, &s.addr[1][0]))) {
    fprintf(stderr, "stun-server: bad address\n");
    return 2;
  }
  if (!alternate)
    s.addr[1][0] = s.addr[0][0];
  s.addr[0][1] = s.addr[0][0];
  s.addr[1][1] = s.addr[1][0];
  set_port(&s.addr[0][1], (uint16_t)alt_port);
  set_port(&s.addr[1][1], (uint16_t)alt_port);
  gboolean same_ip = nl_stun_addr_equal_ip((struct sockaddr *)&s.addr[0][0],
                                           (struct sockaddr *)&s.addr[1][0]);
  s.same_ip = same_ip;

  int status = 1;
  for (int ip = 0; ip < 2; ip++)
    for (int p = 0; p < 2; p++)
      s.udp[ip][p] = s.tcp[ip][p] = -1;
  for (int ip = 0; ip < (s.have_alt && !same_ip ? 2 : 1); ip++) {
    for (int p = 0; p < (s.have_alt ? 2 : 1); p++) {
      for (int t = 0; t < (tcp ? 2 : 1); t++) {
        int fd = nl_prog_bind((struct sockaddr *)&s.addr[ip][p],
                              t ? SOCK_STREAM : SOCK_DGRAM);
        if (fd < 0) {
          char b[64];
          fprintf(stderr, "stun-server: %s %s: %s\n",
                  t ? "listen tcp" : "bind udp",
                  nl_stun_addr_to_string((struct sockaddr *)&s.addr[ip][p], b,
                                         sizeof b),
                  strerror(-fd));
          goto fail_bind;
        }
        if (t)
          s.tcp[ip][p] = fd;
        else
          s.udp[ip][p] = fd;
      }
    }
  }
  {
    char b[64];
    printf(
        "stun-server: listening on %s%s%s\n",
        nl_stun_addr_to_string((struct sockaddr *)&s.addr[0][0], b, sizeof b),
        tcp ? " (udp+tcp)" : " (udp)", s.have_alt ? " rfc5780" : "");
    fflush(stdout);
  }

  nl_prog_block_signals(&sigs);
  uint8_t *in = nl_prog_alloc(NL_STUN_MAX_MSG_LEN + 1);
  uint8_t *out = nl_prog_alloc(NL_STUN_MAX_MSG_LEN);
  int64_t start = nl_prog_now_ns();
  for (;;) {
    /* where[]: ip*2+port for UDP, 4+ip*2+port for a listener, 8+i for
     * connection i. */
    struct pollfd pfd[8 + MAX_CONNS];
    int where[8 + MAX_CONNS];
    nfds_t n = 0;
    for (int ip = 0; ip < 2; ip++)
      for (int p = 0; p < 2; p++) {
        if (s.udp[ip][p] >= 0) {
          pfd[n] = (struct pollfd){.fd = s.udp[ip][p], .events = POLLIN};
          where[n++] = ip * 2 + p;
        }
        if (s.tcp[ip][p] >= 0 && s.n_conns < MAX_CONNS) {
          pfd[n] = (struct pollfd){.fd = s.tcp[ip][p], .events = POLLIN};
          where[n++] = 4 + ip * 2 + p;
        }
      }
    for (unsigned i = 0; i < s.n_conns; i++) {
      pfd[n] = (struct pollfd){.fd = s.conns[i].fd, .events = POLLIN};
      where[n++] = 8 + (int)i;
    }
    /* Wake at least every 500 ms to notice SIGTERM and --duration. */
    int timeout = 500;
    if (duration > 0) {
      int64_t left = start + (int64_t)duration * 1000000000 - nl_prog_now_ns();
      if (left < (int64_t)timeout * 1000000)
        timeout = left > 0 ? (int)((left + 999999) / 1000000) : 0;
    }
    int rc = poll(pfd, n, timeout);
    int64_t now = nl_prog_now_ns();
    if (nl_prog_should_stop(&sigs))
      break;
    if (duration > 0 && now - start >= (int64_t)duration * 1000000000)
      break;
    if (rc < 0 && errno != EINTR)
      break;
    /* Connections first, from the highest index, so closing one (which
     * moves the last into its slot) never skips a ready descriptor. */
    for (nfds_t k = n; k-- > 0;) {
      if (pfd[k].revents == 0 || where[k] < 8)
        continue;
      unsigned ci = (unsigned)(where[k] - 8);
      if (!handle_conn(&s, ci, out, now))
        conn_close(&s, ci);
    }
    for (nfds_t k = 0; k < n; k++) {
      if (pfd[k].revents == 0)
        continue;
      if (where[k] < 4) {
        handle_udp(&s, where[k] / 2, where[k] % 2, in, out);
      } else if (where[k] < 8 && s.n_conns < MAX_CONNS) {
        int ip = (where[k] - 4) / 2, p = (where[k] - 4) % 2;
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept(s.tcp[ip][p], (struct sockaddr *)&peer, &plen);
        if (fd >= 0) {
          Conn *c = &s.conns[s.n_conns++];
          memset(c, 0, sizeof *c);
          c->fd = fd;
          c->ip = ip;
          c->port = p;
          c->peer = peer;
          socklen_t llen = sizeof c->local;
          if (getsockname(fd, (struct sockaddr *)&c->local, &llen) < 0)
            c->local = s.addr[ip][p];
          c->last_ns = now;
          c->buf = nl_prog_alloc(TCP_BUF);
        }
      }
    }
    for (unsigned i = s.n_conns; i-- > 0;)
      if (now - s.conns[i].last_ns > TCP_IDLE_NS)
        conn_close(&s, i);
  }
  printf("stun-server: answered=%" G_GUINT64_FORMAT
         " dropped=%" G_GUINT64_FORMAT "\n",
         s.answered, s.dropped);
  fflush(stdout);
  free(in);
  free(out);
  while (s.n_conns > 0)
    conn_close(&s, s.n_conns - 1);
  status = 0;

fail_bind:
  for (int ip = 0; ip < 2; ip++)
    for (int p = 0; p < 2; p++) {
      if (s.tcp[ip][p] >= 0)
        close(s.tcp[ip][p]);
      if (s.udp[ip][p] >= 0)
        close(s.udp[ip][p]);
    }
  return status;
}
