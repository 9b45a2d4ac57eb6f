/* signaling-server.c: a signaling service for peer-to-peer programs: peers
 * connect over TCP, join a room by name and pass text lines to each other
 * (their ICE candidates, typically).  The server never looks inside the
 * lines it passes on; it is the "coordination service" of textbook §14.12,
 * what a WebSocket server does for WebRTC.
 *
 * usage: signaling-server [--listen IP] [--port N] [--max-clients N]
 *                         [--room-size N] [--duration S] [--signals]
 *                         [--verbose]
 *
 * The protocol, one line per message ('\n' ends a line, '\r' before it is
 * ignored; at most 2048 bytes a line; names are 1-63 characters of
 * letters, digits and "-_.:@"):
 *
 *   client: JOIN ROOM NAME   server: WELCOME ROOM NAME N   (N peers there)
 *                            server: PEER NAME             (one per peer)
 *                            the others: PEER NAME
 *   client: TO NAME TEXT     NAME gets: FROM SENDER TEXT
 *   client: ALL TEXT         every other peer gets: FROM SENDER TEXT
 *   client: LEAVE (or closes the connection)
 *                            the others: LEFT NAME
 *   on a mistake:            server: ERROR WHAT   (the connection stays
 *                            open, except after a line that is too long)
 *
 * The port defaults to 7000; 0 lets the system choose.  Output: first
 *   signaling: listening on IP:PORT
 * then, with --verbose, one line per join, leave and message; always, at
 * exit:
 *   signaling: clients=N joins=N messages=N bytes=N errors=N
 *
 * One thread and epoll; non-blocking sockets with an output queue per
 * client (a client whose queue passes 256 KiB is disconnected).  An
 * ordinary POSIX program with no mutable globals: all state lives in
 * main's Server, allocated with malloc.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 2048
#define NAME_MAX_LEN 63
#define OUT_LIMIT (256 * 1024)
#define MAX_EVENTS 64

typedef struct Room Room;

typedef struct Client Client;
struct Client {
  int fd;
  unsigned slot; /* index in Server.clients */
  int dead;      /* dropped; freed after the current batch of events */
  Client *next_dead;
  char addr[64];
  char name[NAME_MAX_LEN + 1];
  Room *room;
  char in[LINE_MAX_LEN + 2];
  size_t have;
  char *out;
  size_t out_len, out_cap, out_off;
  int want_out; /* EPOLLOUT registered */
  int closing;  /* close once the output is flushed */
};

struct Room {
  char name[NAME_MAX_LEN + 1];
  Client **members;
  unsigned n;
};

typedef struct {
  int listen_fd, ep;
  unsigned max_clients, room_size;
  Client **clients; /* by slot */
  unsigned n_clients;
  Client *dead;     /* dropped during this batch of events */
  Room **rooms; /* open addressing by name; NULL empty */
  unsigned room_cap;
  int verbose;
  unsigned long long accepted, joins, messages, bytes, errors;
} Server;

static void usage(FILE *f) {
  fprintf(f, "usage: signaling-server [--listen IP] [--port N] "
             "[--max-clients N]\n"
             "                        [--room-size N] [--duration S] "
             "[--signals] [--verbose]\n");
}

static int parse_uint(const char *s, unsigned long lo, unsigned long hi,
                      unsigned long *out) {
  char *end;
  if (s == NULL || *s == '\0' || *s == '-')
    return 0;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi)
    return 0;
  *out = v;
  return 1;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int valid_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > NAME_MAX_LEN)
    return 0;
  for (const char *p = s; *p; p++) {
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
          c == ':' || c == '@'))
      return 0;
  }
  return 1;
}

/* ---- rooms: a small open-addressing table keyed by name ---- */

static unsigned hash_name(const char *s) {
  unsigned h = 2166136261u; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static Room **room_slot(Server *s, const char *name) {
  unsigned i = hash_name(name) & (s->room_cap - 1);
  for (;;) {
    Room **slot = &s->rooms[i];
    if (*slot == NULL || strcmp((*slot)->name, name) == 0)
      return slot;
    i = (i + 1) & (s->room_cap - 1);
  }
}

static void room_remove(Server *s, Room *r) {
  /* Backward-shift deletion keeps probe chains intact without
   * tombstones. */
  unsigned i = hash_name(r->name) & (s->room_cap - 1);
  while (s->rooms[i] != r)
    i = (i + 1) & (s->room_cap - 1);
  s->rooms[i] = NULL;
  for (unsigned j = (i + 1) & (s->room_cap - 1); s->rooms[j] != NULL;
       j = (j + 1) & (s->room_cap - 1)) {
    Room *m = s->rooms[j];
    unsigned home = hash_name(m->name) & (s->room_cap - 1);
    /* Move m back into the hole if its home is not in (i, j]. */
    int between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!between) {
      s->rooms[i] = m;
      s->rooms[j] = NULL;
      i = j;
    }
  }
  free(r->members);
  free(r);
}

/* ---- output ---- */

static void update_events(Server *s, Client *c) {
  int want = c->out_len > c->out_off;
  if (want == c->want_out)
    return;
  struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                           .data.ptr = c};
  epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = want;
}

static void flush_out(Server *s, Client *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                     MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        c->closing = 2; /* broken: drop the rest */
      break;
    }
    c->out_off += (size_t)n;
  }
  if (c->out_off == c->out_len)
    c->out_off = c->out_len = 0;
  update_events(s, c);
}

static void queue_line(Server *s, Client *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void queue_line(Server *s, Client *c, const char *fmt, ...) {
  char line[LINE_MAX_LEN + 2 * NAME_MAX_LEN + 32];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n > sizeof line - 2)
    n = (int)sizeof line - 2;
  line[n++] = '\n';
  if (c->out_len - c->out_off + (size_t)n > OUT_LIMIT) {
    c->closing = 2; /* too slow a reader: disconnect it */
    return;
  }
  if (c->out_len + (size_t)n > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 1024;
    while (cap < c->out_len + (size_t)n)
      cap *= 2;
    char *o = realloc(c->out, cap);
    if (o == NULL) {
      c->closing = 2;
      return;
    }
    c->out = o;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, line, (size_t)n);
  c->out_len += (size_t)n;
  flush_out(s, c);
}

/* ---- membership ---- */

static void leave(Server *s, Client *c) {
  Room *r = c->room;
  if (r == NULL)
    return;
  for (unsigned i = 0; i < r->n; i++)
    if (r->members[i] == c) {
      memmove(r->members + i, r->members + i + 1,
              (r->n - i - 1) * sizeof *r->members);
      r->n--;
      break;
    }
  for (unsigned i = 0; i < r->n; i++)
    queue_line(s, r->members[i], "LEFT %s", c->name);
  if (s->verbose)
    printf("leave %s %s\n", r->name, c->name);
  c->room = NULL;
  if (r->n == 0)
    room_remove(s, r);
}

static void error_line(Server *s, Client *c, const char *what) {
  s->errors++;
  queue_line(s, c, "ERROR %s", what);
}

static void cmd_join(Server *s, Client *c, char *args) {
  char *room = strtok_r(args, " ", &args);
  char *name = strtok_r(NULL, " ", &args);
  if (room == NULL || name == NULL || strtok_r(NULL, " ", &args) != NULL) {
    error_line(s, c, "usage: JOIN ROOM NAME");
    return;
  }
  if (!valid_name(room) || !valid_name(name)) {
    error_line(s, c, "bad name: 1-63 letters, digits or -_.:@");
    return;
  }
  if (c->room != NULL) {
    error_line(s, c, "already joined");
    return;
  }
  Room **slot = room_slot(s, room);
  Room *r = *slot;
  if (r != NULL) {
    for (unsigned i = 0; i < r->n; i++)
      if (strcmp(r->members[i]->name, name) == 0) {
        error_line(s, c, "name taken in this room");
        return;
      }
    if (r->n >= s->room_size) {
      error_line(s, c, "room full");
      return;
    }
  } else {
    r = calloc(1, sizeof *r);
    if (r)
      r->members = calloc(s->room_size, sizeof *r->members);
    if (r == NULL || r->members == NULL) {
      free(r);
      error_line(s, c, "out of memory");
      return;
    }
    snprintf(r->name, sizeof r->name, "%s", room);
    *slot = r;
  }
  snprintf(c->name, sizeof c->name, "%s", name);
  c->room = r;
  s->joins++;
  queue_line(s, c, "WELCOME %s %s %u", r->name, c->name, r->n);
  for (unsigned i = 0; i < r->n; i++) {
    queue_line(s, c, "PEER %s", r->members[i]->name);
    queue_line(s, r->members[i], "PEER %s", c->name);
  }
  r->members[r->n++] = c;
  if (s->verbose)
    printf("join %s %s from %s\n", r->name, c->name, c->addr);
}

static void relay(Server *s, Client *from, Client *to, const char *text) {
  s->messages++;
  s->bytes += strlen(text);
  queue_line(s, to, "FROM %s %s", from->name, text);
  if (s->verbose)
    printf("message %s -> %s (%zu bytes)\n", from->name, to->name,
           strlen(text));
}

static void cmd_to(Server *s, Client *c, char *args) {
  if (c->room == NULL) {
    error_line(s, c, "JOIN first");
    return;
  }
  char *sp = strchr(args, ' ');
  if (sp == NULL || sp[1] == '\0') {
    error_line(s, c, "usage: TO NAME TEXT");
    return;
  }
  *sp = '\0';
  for (unsigned i = 0; i < c->room->n; i++) {
    Client *m = c->room->members[i];
    if (m != c && strcmp(m->name, args) == 0) {
      relay(s, c, m, sp + 1);
      return;
    }
  }
  error_line(s, c, "no such peer");
}

static void cmd_all(Server *s, Client *c, char *args) {
  if (c->room == NULL) {
    error_line(s, c, "JOIN first");
    return;
  }
  if (*args == '\0') {
    error_line(s, c, "usage: ALL TEXT");
    return;
  }
  for (unsigned i = 0; i < c->room->n; i++)
    if (c->room->members[i] != c)
      relay(s, c, c->room->members[i], args);
}

static void handle_line(Server *s, Client *c, char *line) {
  size_t n = strlen(line);
  if (n > 0 && line[n - 1] == '\r')
    line[--n] = '\0';
  if (n == 0)
    return;
  char *sp = strchr(line, ' ');
  char *args = sp ? sp + 1 : line + n;
  if (sp)
    *sp = '\0';
  if (strcmp(line, "JOIN") == 0)
    cmd_join(s, c, args);
  else if (strcmp(line, "TO") == 0)
    cmd_to(s, c, args);
  else if (strcmp(line, "ALL") == 0)
    cmd_all(s, c, args);
  else if (strcmp(line, "LEAVE") == 0)
    leave(s, c);
  else
    error_line(s, c, "unknown command (JOIN, TO, ALL, LEAVE)");
}

/* ---- connections ---- */

/* Closes @c.  Its memory stays until free_dead(): later events of the
 * same epoll_wait() batch may still point to it. */
static void drop(Server *s, Client *c) {
  if (c->dead)
    return;
  leave(s, c);
  epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  if (s->verbose)
    printf("closed %s\n", c->addr);
  unsigned slot = c->slot;
  s->clients[slot] = s->clients[--s->n_clients];
  s->clients[slot]->slot = slot;
  c->dead = 1;
  c->next_dead = s->dead;
  s->dead = c;
}

static void free_dead(Server *s) {
  while (s->dead) {
    Client *c = s->dead;
    s->dead = c->next_dead;
    free(c->out);
    free(c);
  }
}

/* One connection per readiness event (epoll reports the next again), so
 * no call ends in EAGAIN. */
static void accept_one(Server *s) {
  do {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK);
    if (fd < 0)
      return;
    if (s->n_clients >= s->max_clients) {
      const char full[] = "ERROR server full\n";
      (void)!send(fd, full, sizeof full - 1, MSG_NOSIGNAL);
      close(fd);
      s->errors++;
      return;
    }
    Client *c = calloc(1, sizeof *c);
    if (c == NULL) {
      close(fd);
      return;
    }
    c->fd = fd;
    if (ss.ss_family == AF_INET) {
      struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
      char ip[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
      snprintf(c->addr, sizeof c->addr, "%s:%u", ip, ntohs(sin->sin_port));
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
      close(fd);
      free(c);
      return;
    }
    c->slot = s->n_clients;
    s->clients[s->n_clients++] = c;
    s->accepted++;
  } while (0);
}

/* Reads once (epoll reports the rest again) and handles whole lines.
 * Returns 0 when the client must go. */
static int read_client(Server *s, Client *c) {
  ssize_t n = recv(c->fd, c->in + c->have, LINE_MAX_LEN + 1 - c->have, 0);
  if (n == 0)
    return 0;
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  c->have += (size_t)n;
  char *start = c->in, *nl;
  while (!c->closing &&
         (nl = memchr(start, '\n', c->have - (size_t)(start - c->in)))) {
    *nl = '\0';
    handle_line(s, c, start);
    start = nl + 1;
  }
  c->have -= (size_t)(start - c->in);
  memmove(c->in, start, c->have);
  if (c->have > LINE_MAX_LEN) {
    error_line(s, c, "line too long");
    c->closing = 1;
  }
  return 1;
}

int main(int argc, char **argv) {
  const char *listen_ip = "0.0.0.0";
  unsigned long port = 7000, max_clients = 1000, room_size = 16,
                duration = 0;
  int use_signals = 0, verbose = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *n = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--listen") == 0 && n) {
      listen_ip = argv[++i];
    } else if (strcmp(a, "--port") == 0 && parse_uint(n, 0, 65535, &port)) {
      i++;
    } else if (strcmp(a, "--max-clients") == 0 &&
               parse_uint(n, 1, 100000, &max_clients)) {
      i++;
    } else if (strcmp(a, "--room-size") == 0 &&
               parse_uint(n, 2, 1024, &room_size)) {
      i++;
    } else if (strcmp(a, "--duration") == 0 &&
               parse_uint(n, 1, 100000000, &duration)) {
      i++;
    } else if (strcmp(a, "--signals") == 0) {
      use_signals = 1;
    } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
      verbose = 1;
    } else if (strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "signaling-server: bad argument '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, listen_ip, &sin.sin_addr) != 1) {
    fprintf(stderr, "signaling-server: bad address '%s'\n", listen_ip);
    return 2;
  }
  sigset_t sigs;
  if (use_signals) {
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
  }
  Server *s = calloc(1, sizeof *s);
  if (s == NULL)
    return 1;
  s->max_clients = (unsigned)max_clients;
  s->room_size = (unsigned)room_size;
  s->verbose = verbose;
  s->room_cap = 16;
  while (s->room_cap < 2 * s->max_clients)
    s->room_cap *= 2;
  s->clients = calloc(s->max_clients, sizeof *s->clients);
  s->rooms = calloc(s->room_cap, sizeof *s->rooms);
  int status = 1;
  s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  s->ep = epoll_create1(0);
  int one = 1;
  if (s->clients == NULL || s->rooms == NULL || s->listen_fd < 0 || s->ep < 0) {
    perror("signaling-server: setup");
    goto out;
  }
  setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s->listen_fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
      listen(s->listen_fd, 1024) < 0) {
    perror("signaling-server: bind/listen");
    goto out;
  }
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(s->ep, EPOLL_CTL_ADD, s->listen_fd, &lev);
  socklen_t sl = sizeof sin;
  getsockname(s->listen_fd, (struct sockaddr *)&sin, &sl);
  /* With --port 0 the system picks the port: this line says which. */
  printf("signaling: listening on %s:%u\n", listen_ip, ntohs(sin.sin_port));
  fflush(stdout);
  int64_t end = duration ? now_ns() + (int64_t)duration * 1000000000 : 0;
  struct epoll_event evs[MAX_EVENTS];
  status = 0;
  for (;;) {
    int timeout = -1;
    if (end) {
      int64_t left = end - now_ns();
      if (left <= 0)
        break;
      timeout = (int)((left + 999999) / 1000000);
    }
    if (use_signals) {
      struct timespec zero = {0, 0};
      if (sigtimedwait(&sigs, NULL, &zero) > 0)
        break;
      if (timeout < 0 || timeout > 200)
        timeout = 200;
    }
    int n = epoll_wait(s->ep, evs, MAX_EVENTS, timeout);
    if (n < 0 && errno != EINTR) {
      perror("signaling-server: epoll_wait");
      status = 1;
      break;
    }
    for (int i = 0; i < n; i++) {
      Client *c = evs[i].data.ptr;
      if (c == NULL) {
        accept_one(s);
        continue;
      }
      if (c->dead)
        continue; /* dropped earlier in this batch */
      int keep = 1;
      if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        keep = read_client(s, c);
      if (keep && (evs[i].events & EPOLLOUT))
        flush_out(s, c);
      if (!keep || c->closing == 2 ||
          (c->closing == 1 && c->out_len == c->out_off))
        drop(s, c);
    }
    free_dead(s);
    fflush(stdout);
  }
out:
  while (s->n_clients > 0)
    drop(s, s->clients[s->n_clients - 1]);
  free_dead(s);
  printf("signaling: clients=%llu joins=%llu messages=%llu bytes=%llu "
         "errors=%llu\n",
         s->accepted, s->joins, s->messages, s->bytes, s->errors);
  fflush(stdout);
  if (s->listen_fd >= 0)
    close(s->listen_fd);
  if (s->ep >= 0)
    close(s->ep);
  free(s->clients);
  free(s->rooms);
  free(s);
  return status;
}
