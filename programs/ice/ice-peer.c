/* ice-peer.c: a peer that connects to another peer through NATs with ICE
 * (RFC 8445): it gathers candidates from STUN and TURN servers, exchanges
 * them through the signaling service (signaling-server), checks the pairs,
 * reports the pair ICE selected, sends data over it, and watches the path
 * with consent checks (RFC 7675).
 *
 * usage: ice-peer --signaling HOST:PORT [--room NAME] [--name NAME]
 *                 [--stun HOST:PORT] [--turn HOST:PORT --turn-user U:P]
 *                 [--port N] [--bind IP] [--role auto|controlling|controlled]
 *                 [--types host,srflx,relay] [--count N] [--size N]
 *                 [--interval MS] [--duration MS] [--no-consent]
 *                 [--seed N] [--verbose]
 *
 * The peer has a UDP socket (port --port, default any) on every interface
 * address that is up and not loopback, or only on --bind IP (e.g.
 * 127.0.0.1 for two peers on one machine).
 *
 * --stun none and --turn none mean no such server (so that a scenario can
 * switch one off with --set).  --types limits the candidate types the
 * peer gathers and offers (WebRTC's iceTransportPolicy "relay" is
 * --types relay).  The peer joins the room (default "ice") of the signaling service under
 * its name (default: its first interface address).  The second peer to
 * join is the offerer and, with --role auto, the controlling agent; it
 * sends its credentials and candidates, the first peer answers with its
 * own ("vanilla" ICE: each side sends its candidates once gathering is
 * done).  The lines passed through the signaling service are
 *   ice-credentials UFRAG PWD
 *   candidate:FOUNDATION 1 udp PRIORITY IP PORT typ TYPE [raddr IP rport P]
 *   end-of-candidates
 *
 * Output (stdout), one line each, machine-readable: the words after
 * "ice: EVENT" are KEY=VALUE pairs; free text, if any, follows " -- ".
 *   ice: candidate name=N candidate:...          a local candidate
 *   ice: selected name=N peer=P role=R path=direct|relayed
 *        local=TYPE:IP:PORT remote=TYPE:IP:PORT elapsed=Ss
 *   ice: received name=N peer=P bytes=B from=IP:PORT -- TEXT
 *   ice: failed name=N peer=P elapsed=Ss -- WHY
 *   ice: path-failed name=N peer=P path=... local=... remote=...
 *        elapsed=Ss -- WHY
 *   ice: done name=N peer=P sent=N received=N bytes-sent=B bytes-received=B
 * (elapsed: seconds since the program started; the selected line is one
 * line, wrapped here.)  With --verbose the agent's log follows as
 * "ice: log name=N -- TEXT" lines.
 *
 * After the pair is selected each side sends --count datagrams (default
 * 3) of --size bytes (default 100) every --interval ms (default 200).  The
 * program ends after --duration ms (counted from its start) when given,
 * otherwise 2 s after its data went out.  Exit status: 0 connected, 1 ICE
 * failed (or no signaling), 2 usage, 3 the path failed after it was
 * connected.
 *
 * An ordinary POSIX program with no mutable globals (natlab runs many
 * instances in one process); memory comes from malloc.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ice-agent.h"
#include "stun-codec.h"
#include "stun-prog.h"

#define NS_PER_MS G_GINT64_CONSTANT(1000000)
#define NS_PER_S G_GINT64_CONSTANT(1000000000)
#define SIG_BUF 8192
#define MAX_LINE 2048
#define MAX_PENDING 24

typedef struct {
  /* configuration */
  const char *name_arg, *room;
  char name[64];
  NlIceRole role;
  gboolean role_auto;
  unsigned long count, size, interval, duration;
  gboolean verbose;
  /* sockets */
  int udp[NL_ICE_MAX_SOCKETS];
  unsigned n_udp;
  int sig;
  char sbuf[SIG_BUF];
  size_t shave;
  /* session */
  NlIceAgent *agent;
  char peer[64];
  gboolean have_peer, welcomed, offerer, offer_sent, answer_due;
  unsigned welcome_left; /* PEER lines that list who was there before us */
  char *pending[MAX_PENDING]; /* candidate lines, until gathering is done */
  unsigned n_pending;
  gboolean gathered;
  int64_t start, selected_at, next_data, data_done_at;
  unsigned long sent, received;
  unsigned long long bytes_sent, bytes_received;
  int status; /* -1 running */
  gboolean failed_path;
} Peer;

static void usage(FILE *f) {
  fprintf(f,
          "usage: ice-peer --signaling HOST:PORT [--room NAME] [--name NAME]\n"
          "         [--stun HOST:PORT] [--turn HOST:PORT --turn-user U:P]\n"
          "         [--port N] [--bind IP] [--role auto|controlling|controlled]\n"
          "         [--types host,srflx,relay] [--count N] [--size N]\n"
          "         [--interval MS] [--duration MS] [--no-consent]\n"
          "         [--seed N] [--verbose]\n");
}

/* Resolves "HOST:PORT" (a name or an IPv4 address) with getaddrinfo. */
static gboolean resolve(const char *spec, uint16_t default_port,
                        struct sockaddr_storage *out) {
  if (nl_stun_addr_parse(spec, default_port, out))
    return TRUE;
  char host[256];
  const char *colon = strrchr(spec, ':');
  size_t hl = colon ? (size_t)(colon - spec) : strlen(spec);
  if (hl == 0 || hl >= sizeof host)
    return FALSE;
  memcpy(host, spec, hl);
  host[hl] = '\0';
  unsigned long port = default_port;
  if (colon && !nl_prog_parse_uint(colon + 1, 1, 65535, &port))
    return FALSE;
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
    return FALSE;
  memset(out, 0, sizeof *out);
  memcpy(out, res->ai_addr, res->ai_addrlen);
  ((struct sockaddr_in *)out)->sin_port = htons((uint16_t)port);
  freeaddrinfo(res);
  return TRUE;
}

static double secs(int64_t ns) {
  return (double)ns / 1e9;
}

static void cand_str(const NlIceCandidate *c, char *buf, size_t len) {
  char a[64];
  snprintf(buf, len, "%s:%s", nl_ice_cand_type_name(c->type),
           nl_stun_addr_to_string((const struct sockaddr *)&c->addr, a,
                                  sizeof a));
}

/* ---- signaling ---- */

static void sig_send(Peer *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void sig_send(Peer *p, const char *fmt, ...) {
  char line[MAX_LINE];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof line - 1)
    return;
  line[n++] = '\n';
  (void)nl_prog_write_all(p->sig, (const uint8_t *)line, (size_t)n);
}

/* Sends our credentials and candidates to the peer (once both the peer and
 * our candidates are known). */
static void send_session(Peer *p) {
  if (!p->have_peer || !p->gathered || p->offer_sent)
    return;
  if (!p->offerer && !p->answer_due)
    return;
  p->offer_sent = TRUE;
  sig_send(p, "TO %s ice-credentials %s %s", p->peer,
           nl_ice_agent_ufrag(p->agent), nl_ice_agent_pwd(p->agent));
  for (unsigned i = 0; i < p->n_pending; i++)
    sig_send(p, "TO %s %s", p->peer, p->pending[i]);
  sig_send(p, "TO %s end-of-candidates", p->peer);
}

static void meet(Peer *p, const char *name, gboolean was_there) {
  if (p->have_peer)
    return;
  g_strlcpy(p->peer, name, sizeof p->peer);
  p->have_peer = TRUE;
  /* The later of the two to arrive makes the offer (and controls). */
  p->offerer = was_there;
  if (p->role_auto)
    nl_ice_agent_set_role(p->agent, was_there ? NL_ICE_ROLE_CONTROLLING
                                              : NL_ICE_ROLE_CONTROLLED);
  send_session(p);
}

static void on_peer_line(Peer *p, const char *from, const char *text,
                         int64_t now) {
  if (!p->have_peer)
    meet(p, from, FALSE);
  if (strcmp(from, p->peer) != 0)
    return; /* one peer per session */
  char ufrag[300], pwd[300];
  if (sscanf(text, "ice-credentials %299s %299s", ufrag, pwd) == 2) {
    nl_ice_agent_set_remote_credentials(p->agent, ufrag, pwd);
    if (!p->offerer) {
      p->answer_due = TRUE;
      send_session(p);
    }
    return;
  }
  if (strncmp(text, "candidate:", 10) == 0) {
    NlIceCandidate c;
    if (!nl_ice_candidate_from_sdp(text, &c)) {
      printf("ice: log name=%s -- ignored a malformed candidate from %s\n",
             p->name, from);
      return;
    }
    (void)nl_ice_agent_add_remote_candidate(p->agent, &c, now);
    return;
  }
  if (strcmp(text, "end-of-candidates") == 0) {
    nl_ice_agent_remote_done(p->agent, now);
    return;
  }
}

static void on_sig_line(Peer *p, char *line, int64_t now) {
  size_t n = strlen(line);
  if (n > 0 && line[n - 1] == '\r')
    line[n - 1] = '\0';
  char room[80], name[80];
  unsigned count;
  if (sscanf(line, "WELCOME %79s %79s %u", room, name, &count) == 3) {
    p->welcomed = TRUE;
    p->welcome_left = count;
    return;
  }
  if (strncmp(line, "PEER ", 5) == 0) {
    gboolean was_there = p->welcome_left > 0;
    if (p->welcome_left > 0)
      p->welcome_left--;
    meet(p, line + 5, was_there);
    return;
  }
  if (strncmp(line, "FROM ", 5) == 0) {
    char *sp = strchr(line + 5, ' ');
    if (sp == NULL)
      return;
    *sp = '\0';
    on_peer_line(p, line + 5, sp + 1, now);
    return;
  }
  if (strncmp(line, "LEFT ", 5) == 0) {
    if (p->verbose)
      printf("ice: log name=%s -- %s left the signaling room\n", p->name,
             line + 5);
    return;
  }
  if (strncmp(line, "ERROR", 5) == 0)
    printf("ice: log name=%s -- signaling: %s\n", p->name, line);
}

/* Returns FALSE when the signaling connection closed. */
static gboolean read_signaling(Peer *p, int64_t now) {
  ssize_t n = recv(p->sig, p->sbuf + p->shave, SIG_BUF - 1 - p->shave, 0);
  if (n <= 0)
    return n < 0 && (errno == EINTR || errno == EAGAIN);
  p->shave += (size_t)n;
  char *start = p->sbuf, *nl;
  while ((nl = memchr(start, '\n', p->shave - (size_t)(start - p->sbuf)))) {
    *nl = '\0';
    on_sig_line(p, start, now);
    start = nl + 1;
  }
  p->shave -= (size_t)(start - p->sbuf);
  memmove(p->sbuf, start, p->shave);
  if (p->shave >= SIG_BUF - 1)
    p->shave = 0; /* a line too long: drop it */
  return TRUE;
}

/* ---- agent callbacks ---- */

static void on_send(void *user, int socket, const struct sockaddr *to,
                    const uint8_t *buf, size_t len) {
  Peer *p = user;
  if (socket < 0 || (unsigned)socket >= p->n_udp)
    return;
  (void)sendto(p->udp[socket], buf, len, 0, to, nl_stun_addr_len(to));
}

static void on_event(void *user, const NlIceEvent *ev) {
  Peer *p = user;
  int64_t now = nl_prog_now_ns();
  char l[96], r[96], sdp[256], a[64];
  switch (ev->kind) {
    case NL_ICE_EVENT_CANDIDATE:
      nl_ice_candidate_to_sdp(ev->candidate, sdp, sizeof sdp);
      printf("ice: candidate name=%s %s\n", p->name, sdp);
      if (p->n_pending < MAX_PENDING)
        p->pending[p->n_pending++] = strdup(sdp);
      break;
    case NL_ICE_EVENT_GATHERING_DONE:
      p->gathered = TRUE;
      send_session(p);
      break;
    case NL_ICE_EVENT_SELECTED:
      cand_str(&ev->pair->local, l, sizeof l);
      cand_str(&ev->pair->remote, r, sizeof r);
      printf("ice: selected name=%s peer=%s role=%s path=%s local=%s "
             "remote=%s elapsed=%.6fs\n",
             p->name, p->peer,
             nl_ice_agent_role(p->agent) == NL_ICE_ROLE_CONTROLLING
                 ? "controlling"
                 : "controlled",
             ev->pair->relayed ? "relayed" : "direct", l, r,
             secs(now - p->start));
      p->selected_at = now;
      p->next_data = now;
      break;
    case NL_ICE_EVENT_DATA: {
      p->received++;
      p->bytes_received += ev->len;
      int shown = (int)(ev->len > 60 ? 60 : ev->len);
      for (int i = 0; i < shown; i++)
        if (ev->data[i] < 0x20 || ev->data[i] > 0x7e) {
          shown = i;
          break;
        }
      printf("ice: received name=%s peer=%s bytes=%zu from=%s -- %.*s\n",
             p->name, p->peer, ev->len,
             nl_stun_addr_to_string(ev->from, a, sizeof a), shown,
             (const char *)ev->data);
      break;
    }
    case NL_ICE_EVENT_PATH_FAILED:
      cand_str(&ev->pair->local, l, sizeof l);
      cand_str(&ev->pair->remote, r, sizeof r);
      printf("ice: path-failed name=%s peer=%s path=%s local=%s remote=%s "
             "elapsed=%.6fs -- %s\n",
             p->name, p->peer, ev->pair->relayed ? "relayed" : "direct", l, r,
             secs(now - p->start), ev->text ? ev->text : "");
      p->failed_path = TRUE;
      break;
    case NL_ICE_EVENT_STATE:
      if (ev->state == NL_ICE_STATE_FAILED && !p->failed_path) {
        printf("ice: failed name=%s peer=%s elapsed=%.6fs -- %s\n", p->name,
               p->have_peer ? p->peer : "-", secs(now - p->start),
               ev->text ? ev->text : "");
        p->status = 1;
      } else if (ev->state == NL_ICE_STATE_FAILED) {
        p->status = 3;
      } else if (p->verbose) {
        printf("ice: log name=%s -- state %s\n", p->name,
               nl_ice_state_name(ev->state));
      }
      break;
    case NL_ICE_EVENT_ROLE:
      if (p->verbose)
        printf("ice: log name=%s -- now %s\n", p->name,
               ev->role == NL_ICE_ROLE_CONTROLLING ? "controlling"
                                                   : "controlled");
      break;
    case NL_ICE_EVENT_LOG:
      if (p->verbose)
        printf("ice: log name=%s -- %s\n", p->name, ev->text);
      break;
  }
  fflush(stdout);
}

/* ---- setup ---- */

static int open_socket(Peer *p, struct sockaddr_in *sin) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0)
    return -1;
  if (bind(fd, (struct sockaddr *)sin, sizeof *sin) < 0) {
    perror("ice-peer: bind");
    close(fd);
    return -1;
  }
  socklen_t sl = sizeof *sin;
  getsockname(fd, (struct sockaddr *)sin, &sl);
  if (nl_ice_agent_add_socket(p->agent, (struct sockaddr *)sin) < 0) {
    close(fd);
    return -1;
  }
  if (p->name_arg == NULL && p->n_udp == 0)
    inet_ntop(AF_INET, &sin->sin_addr, p->name, sizeof p->name);
  p->udp[p->n_udp++] = fd;
  return 0;
}

/* One UDP socket per interface address that is up (not loopback), or on
 * @bind_ip alone. */
static int open_sockets(Peer *p, unsigned long port, const char *bind_ip) {
  if (bind_ip != NULL) {
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, bind_ip, &sin.sin_addr) != 1)
      return -1;
    open_socket(p, &sin);
    return (int)p->n_udp;
  }
  struct ifaddrs *ifs = NULL;
  if (getifaddrs(&ifs) != 0)
    return -1;
  for (struct ifaddrs *i = ifs; i && p->n_udp < NL_ICE_MAX_SOCKETS;
       i = i->ifa_next) {
    if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
        (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
      continue;
    struct sockaddr_in sin;
    memcpy(&sin, i->ifa_addr, sizeof sin);
    sin.sin_port = htons((uint16_t)port);
    if (open_socket(p, &sin) < 0 && p->n_udp >= NL_ICE_MAX_SOCKETS)
      break;
  }
  freeifaddrs(ifs);
  return (int)p->n_udp;
}

static int connect_signaling(const struct sockaddr_storage *to) {
  /* The service may start a moment after us: a few tries, 1 s apart. */
  for (int attempt = 0; attempt < 5; attempt++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      return -1;
    if (connect(fd, (const struct sockaddr *)to,
                nl_stun_addr_len((const struct sockaddr *)to)) == 0)
      return fd;
    close(fd);
    sleep(1);
  }
  return -1;
}

static unsigned parse_types(const char *s) {
  unsigned t = 0;
  char **w = g_strsplit(s, ",", 0);
  for (char **i = w; *i; i++) {
    int k = nl_ice_cand_type_from_name(*i);
    if (k < 0 || k == NL_ICE_CAND_PRFLX) {
      t = 0;
      break;
    }
    t |= 1u << k;
  }
  g_strfreev(w);
  return t;
}

static void send_data(Peer *p, int64_t now) {
  if (p->selected_at == 0 || p->sent >= p->count || now < p->next_data ||
      nl_ice_agent_state(p->agent) != NL_ICE_STATE_CONNECTED)
    return;
  size_t len = p->size;
  char *buf = malloc(len + 1);
  if (buf == NULL)
    return;
  memset(buf, '.', len);
  char head[128];
  int n = snprintf(head, sizeof head, "hello #%lu from %s ", p->sent + 1,
                   p->name);
  memcpy(buf, head, MIN((size_t)n, len));
  if (nl_ice_agent_send(p->agent, (const uint8_t *)buf, len, now) == 0) {
    p->sent++;
    p->bytes_sent += len;
  }
  free(buf);
  p->next_data = now + (int64_t)p->interval * NS_PER_MS;
  if (p->sent >= p->count)
    p->data_done_at = now;
}

int main(int argc, char **argv) {
  Peer *p = calloc(1, sizeof *p);
  if (p == NULL)
    return 1;
  const char *sig_spec = NULL, *stun_spec = NULL, *turn_spec = NULL;
  const char *turn_user = NULL, *role = "auto", *types = NULL;
  const char *bind_ip = NULL;
  unsigned long port = 0, seed = 0;
  gboolean seeded = FALSE, no_consent = FALSE;
  NlIceConfig cfg;
  memset(&cfg, 0, sizeof cfg);
  p->room = "ice";
  p->count = 3;
  p->size = 100;
  p->interval = 200;
  p->sig = -1;
  p->status = -1;
  int rc = 2;
  char *user = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *n = i + 1 < argc ? argv[i + 1] : NULL;
#define NUM(opt, lo, hi, dst)                                                  \
  (strcmp(a, opt) == 0 && n && nl_prog_parse_uint(n, lo, hi, dst) && ++i)
    if (strcmp(a, "--signaling") == 0 && n) {
      sig_spec = argv[++i];
    } else if (strcmp(a, "--room") == 0 && n) {
      p->room = argv[++i];
    } else if (strcmp(a, "--name") == 0 && n) {
      p->name_arg = argv[++i];
    } else if (strcmp(a, "--stun") == 0 && n) {
      stun_spec = argv[++i];
    } else if (strcmp(a, "--turn") == 0 && n) {
      turn_spec = argv[++i];
    } else if (strcmp(a, "--turn-user") == 0 && n && strchr(n, ':')) {
      turn_user = argv[++i];
    } else if (strcmp(a, "--role") == 0 && n) {
      role = argv[++i];
    } else if (strcmp(a, "--types") == 0 && n) {
      types = argv[++i];
    } else if (strcmp(a, "--bind") == 0 && n) {
      bind_ip = argv[++i];
    } else if (strcmp(a, "--no-consent") == 0) {
      no_consent = TRUE;
    } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
      p->verbose = TRUE;
    } else if (NUM("--port", 0, 65535, &port) ||
               NUM("--count", 0, 1000000, &p->count) ||
               NUM("--size", 1, 1400, &p->size) ||
               NUM("--interval", 1, 3600000, &p->interval) ||
               NUM("--duration", 1, 1000000000, &p->duration)) {
      continue;
    } else if (NUM("--seed", 0, ULONG_MAX, &seed)) {
      seeded = TRUE;
    } else if (strcmp(a, "--help") == 0) {
      usage(stdout);
      rc = 0;
      goto out;
    } else {
      fprintf(stderr, "ice-peer: bad argument '%s'\n", a);
      goto fail_usage;
    }
#undef NUM
  }
  struct sockaddr_storage sig_addr;
  if (sig_spec == NULL || !resolve(sig_spec, 7000, &sig_addr)) {
    fprintf(stderr, "ice-peer: --signaling HOST:PORT is required and must "
                    "resolve\n");
    goto fail_usage;
  }
  /* "none" switches a server off (a scenario's --set can then choose). */
  if (stun_spec && strcmp(stun_spec, "none") == 0)
    stun_spec = NULL;
  if (turn_spec && strcmp(turn_spec, "none") == 0)
    turn_spec = NULL;
  if ((stun_spec && !resolve(stun_spec, 3478, &cfg.stun)) ||
      (turn_spec && !resolve(turn_spec, 3478, &cfg.turn))) {
    fprintf(stderr, "ice-peer: cannot resolve the STUN or TURN server\n");
    goto fail_usage;
  }
  if (turn_spec && turn_user == NULL) {
    fprintf(stderr, "ice-peer: --turn needs --turn-user NAME:PASSWORD\n");
    goto fail_usage;
  }
  if (types && (cfg.types = parse_types(types)) == 0) {
    fprintf(stderr, "ice-peer: --types takes host, srflx and relay\n");
    goto fail_usage;
  }
  if (strcmp(role, "auto") == 0) {
    p->role_auto = TRUE;
  } else if (strcmp(role, "controlling") == 0) {
    cfg.role = NL_ICE_ROLE_CONTROLLING;
  } else if (strcmp(role, "controlled") != 0) {
    fprintf(stderr, "ice-peer: --role is auto, controlling or controlled\n");
    goto fail_usage;
  }
  if (turn_user) {
    user = strdup(turn_user);
    char *colon = strchr(user, ':');
    *colon = '\0';
    cfg.turn_user = user;
    cfg.turn_password = colon + 1;
  }
  if (seeded) {
    cfg.seed = seed;
  } else {
    NlProgRand r;
    nl_prog_rand_seed_os(&r);
    cfg.seed = nl_prog_rand_next(&r);
  }
  cfg.consent_off = no_consent;
  NlIceCallbacks cb = {.send = on_send, .event = on_event, .user = p};
  rc = 1;
  p->agent = nl_ice_agent_new(&cfg, &cb);
  if (p->agent == NULL)
    goto out;
  if (p->name_arg)
    g_strlcpy(p->name, p->name_arg, sizeof p->name);
  if (open_sockets(p, port, bind_ip) <= 0) {
    fprintf(stderr, "ice-peer: no usable interface%s%s\n",
            bind_ip ? " for --bind " : "", bind_ip ? bind_ip : "");
    goto out;
  }
  p->start = nl_prog_now_ns();
  nl_ice_agent_gather(p->agent, p->start);
  p->sig = connect_signaling(&sig_addr);
  if (p->sig < 0) {
    printf("ice: failed name=%s peer=- elapsed=%.6fs -- cannot reach the "
           "signaling service\n",
           p->name, secs(nl_prog_now_ns() - p->start));
    goto out;
  }
  sig_send(p, "JOIN %s %s", p->room, p->name);
  fflush(stdout);
  gboolean sig_open = TRUE;
  uint8_t *buf = malloc(65536);
  if (buf == NULL)
    goto out;
  while (p->status < 0) {
    int64_t now = nl_prog_now_ns();
    if (nl_ice_agent_next_deadline(p->agent) <= now)
      nl_ice_agent_tick(p->agent, now);
    send_data(p, now);
    fflush(stdout);
    if (p->status >= 0)
      break;
    int64_t end = INT64_MAX;
    if (p->duration)
      end = p->start + (int64_t)p->duration * NS_PER_MS;
    else if (p->data_done_at)
      end = p->data_done_at + 2 * NS_PER_S;
    if (now >= end) {
      p->status = p->failed_path ? 3 : p->selected_at ? 0 : 1;
      break;
    }
    int64_t wake = MIN(end, nl_ice_agent_next_deadline(p->agent));
    if (p->selected_at && p->sent < p->count &&
        nl_ice_agent_state(p->agent) == NL_ICE_STATE_CONNECTED)
      wake = MIN(wake, p->next_data);
    struct pollfd fds[NL_ICE_MAX_SOCKETS + 1];
    unsigned nf = 0;
    for (unsigned i = 0; i < p->n_udp; i++)
      fds[nf++] = (struct pollfd){.fd = p->udp[i], .events = POLLIN};
    if (sig_open)
      fds[nf++] = (struct pollfd){.fd = p->sig, .events = POLLIN};
    /* Round up to whole milliseconds, so poll() never returns early and
     * the loop never spins on a zero timeout. */
    int timeout = -1;
    if (wake != INT64_MAX)
      timeout = (int)MIN(MAX((wake - now + NS_PER_MS - 1) / NS_PER_MS, 1),
                         (int64_t)G_MAXINT);
    int r = poll(fds, nf, timeout);
    if (r < 0 && errno != EINTR)
      break;
    now = nl_prog_now_ns();
    /* One datagram per readable socket per wakeup: poll() reports the
     * rest again, and no call ends in EAGAIN. */
    for (unsigned i = 0; r > 0 && i < p->n_udp; i++) {
      if (!(fds[i].revents & POLLIN))
        continue;
      struct sockaddr_storage from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(p->udp[i], buf, 65536, 0, (struct sockaddr *)&from,
                           &fl);
      if (n >= 0)
        nl_ice_agent_receive(p->agent, (int)i, (struct sockaddr *)&from, buf,
                             (size_t)n, now);
    }
    if (sig_open && r > 0 && (fds[nf - 1].revents & (POLLIN | POLLHUP)))
      sig_open = read_signaling(p, now);
  }
  free(buf);
  nl_ice_agent_close(p->agent, nl_prog_now_ns());
  rc = p->status < 0 ? 1 : p->status;
  printf("ice: done name=%s peer=%s sent=%lu received=%lu bytes-sent=%llu "
         "bytes-received=%llu\n",
         p->name, p->have_peer ? p->peer : "-", p->sent, p->received,
         p->bytes_sent, p->bytes_received);
  goto out;
fail_usage:
  usage(stderr);
out:
  fflush(stdout);
  if (p->sig >= 0)
    close(p->sig);
  for (unsigned i = 0; i < p->n_udp; i++)
    close(p->udp[i]);
  for (unsigned i = 0; i < p->n_pending; i++)
    free(p->pending[i]);
  nl_ice_agent_free(p->agent);
  free(user);
  free(p);
  return rc;
}
