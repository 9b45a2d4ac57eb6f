/* bench-floor: issue 17's single-core floor.  A toy simulator of the UDP
 * echo workload of bench/scenarios/udp-echo-1000-nat.nlab, with the same
 * events, coroutine switches and NAT lookups as a natlab run of it, and
 * nothing else: no virtual sockets, no trace, no processes.  What natlab
 * costs per delivery over this is what its generality costs.
 *
 *   bench-floor [KEY=VALUE...]
 *
 *   lans=100        LANs, each behind its own NAT (port-restricted cone)
 *   per-lan=10      echo clients on each LAN
 *   count=100       datagrams each client sends
 *   interval-ms=10  its sleep after each echo (not after the last)
 *   spread-ms=10    client i starts at (i % spread-ms) ms
 *   size=100        datagram payload bytes (at most 1,400)
 *   lan-ms=1        latency of a LAN (client <-> its NAT)
 *   internet-ms=5   latency of the internet (NAT <-> server)
 *   mode=coro       coro: each host's program is a coroutine that blocks
 *                   in recv and sleep (x86-64 only); callbacks: the same
 *                   programs as state machines (no switches)
 *
 * The workload: client i (1-based) starts at (i % spread-ms) ms, sends a
 * datagram to the server, blocks until the echo, checks it, sleeps; the server
 * echoes every datagram.  Each datagram crosses two links (two arrival
 * events from a binary-heap queue) and its NAT (a hash lookup: outbound by
 * inside endpoint, inbound by outside port, with a port-restricted filter
 * check); the server's replies find the NAT by its outside address (a hash
 * lookup, as a network finds a node).  Every delivery to a blocked program
 * is one switch into it and one back out, every sleep the same.
 *
 * Prints one line: counts and CPU time (setup, run), deliveries per CPU
 * second of the run and of the whole process.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PAYLOAD 1400
#define STACK_SIZE (16 * 1024)
#define MS 1000000ull

typedef uint64_t Time; /* virtual ns */

typedef struct Packet Packet;
struct Packet {
  Packet *next;
  uint32_t src, dst;
  uint16_t sport, dport;
  uint32_t len;
  uint8_t data[MAX_PAYLOAD];
};

typedef struct Host Host;
typedef struct Nat Nat;

enum { EV_TO_NAT_IN, EV_TO_NAT_OUT, EV_TO_HOST, EV_WAKE };

typedef struct {
  Time t;
  uint64_t seq;
  void *obj;   /* Host or Nat */
  Packet *pkt; /* NULL for EV_WAKE */
  uint32_t kind;
} Event;

typedef struct {
  uint32_t in_ip;
  uint16_t in_port, ext_port;
  uint32_t peer_ip; /* port-restricted cone: the one endpoint let in */
  uint16_t peer_port;
  uint8_t used;
} Mapping;

struct Nat {
  uint32_t ext_ip;
  uint32_t lan; /* 10.x.y.0/24: hosts found by their last byte */
  Host **lan_hosts;
  Mapping *map;      /* open addressing, keyed by inside endpoint */
  uint32_t *by_port; /* open addressing, ext port -> map index + 1 */
  uint32_t cap, n;
  uint16_t next_port;
};

typedef struct {
  void *sp;
} Coro;

struct Host {
  uint32_t ip;
  uint16_t port;
  Nat *nat; /* NULL for the server */
  Packet *rx_head, *rx_tail;
  int waiting; /* blocked in recv */
  int is_server;
  int sent, ok, count;
  Time start;
  Coro co;
  void *stack;
};

/* --- the world --- */
static Event *heap;
static size_t heap_n, heap_cap;
static uint64_t seq;
static Time now;
static Packet *free_pkts;
static Host *server;
static Nat **nat_by_ip; /* open addressing: the internet's address table */
static uint32_t nat_by_ip_cap;
static uint64_t n_events, n_deliveries, n_switches, n_lookups, n_bad;
static int use_coro = 1;
static uint32_t msg_len = 100, interval_ms = 10;
static Time lan_lat = 1 * MS, inet_lat = 5 * MS;
static uint8_t msg[MAX_PAYLOAD];

static void *xmalloc(size_t n) {
  void *p = calloc(1, n);
  if (!p) {
    fprintf(stderr, "bench-floor: out of memory\n");
    exit(1);
  }
  return p;
}

static inline int ev_less(const Event *a, const Event *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void schedule(Time delay, uint32_t kind, void *obj, Packet *pkt) {
  if (heap_n == heap_cap) {
    heap_cap = heap_cap ? heap_cap * 2 : 1024;
    heap = realloc(heap, heap_cap * sizeof *heap);
    if (!heap)
      exit(1);
  }
  Event e = {now + delay, seq++, obj, pkt, kind};
  size_t i = heap_n++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!ev_less(&e, &heap[p]))
      break;
    heap[i] = heap[p];
    i = p;
  }
  heap[i] = e;
}

static Event pop(void) {
  Event top = heap[0];
  Event last = heap[--heap_n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= heap_n)
      break;
    if (c + 1 < heap_n && ev_less(&heap[c + 1], &heap[c]))
      c++;
    if (!ev_less(&heap[c], &last))
      break;
    heap[i] = heap[c];
    i = c;
  }
  if (heap_n > 0)
    heap[i] = last;
  return top;
}

static inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

/* --- coroutines: a stack pointer swap (x86-64 System V: the callee-saved
 * registers go on the old stack) --- */
#if defined(__x86_64__)
void floor_switch(void **save_sp, void *new_sp);
__asm__(".text\n"
        ".globl floor_switch\n"
        ".type floor_switch,@function\n"
        "floor_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n"
        "  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n"
        "  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n"
        ".size floor_switch, .-floor_switch\n");
#define HAVE_CORO 1
#else
#define HAVE_CORO 0
static void floor_switch(void **save_sp, void *new_sp) {
  (void)save_sp;
  (void)new_sp;
  abort();
}
#endif

static void *sched_sp;
static Host *current;

static void run_host(Host *h) { /* the scheduler switches into h */
  current = h;
  n_switches += 2;
  floor_switch(&sched_sp, h->co.sp);
}

static void yield(Host *h) {
  floor_switch(&h->co.sp, sched_sp);
}

/* --- packets, links and the NAT --- */
static Packet *pkt_new(void) {
  Packet *p = free_pkts;
  if (p)
    free_pkts = p->next;
  else
    p = xmalloc(sizeof *p);
  return p;
}

static void pkt_free(Packet *p) {
  p->next = free_pkts;
  free_pkts = p;
}

static Nat *find_nat(uint32_t ip) {
  n_lookups++;
  for (uint32_t i = hash32(ip) & (nat_by_ip_cap - 1);;
       i = (i + 1) & (nat_by_ip_cap - 1)) {
    Nat *n = nat_by_ip[i];
    if (!n || n->ext_ip == ip)
      return n;
  }
}

static Mapping *nat_place(Nat *n, const Mapping *src) {
  uint32_t mask = n->cap - 1;
  uint32_t i = hash32(src->in_ip ^ ((uint32_t)src->in_port << 16)) & mask;
  while (n->map[i].used)
    i = (i + 1) & mask;
  Mapping *m = &n->map[i];
  *m = *src;
  m->used = 1;
  n->n++;
  for (i = hash32(m->ext_port) & mask; n->by_port[i]; i = (i + 1) & mask)
    ;
  n->by_port[i] = (uint32_t)(m - n->map) + 1;
  return m;
}

static Mapping *nat_outbound(Nat *n, uint32_t ip, uint16_t port) {
  n_lookups++;
  uint32_t mask = n->cap - 1;
  for (uint32_t i = hash32(ip ^ ((uint32_t)port << 16)) & mask; n->map[i].used;
       i = (i + 1) & mask)
    if (n->map[i].in_ip == ip && n->map[i].in_port == port)
      return &n->map[i];
  if (2 * (n->n + 1) > n->cap) { /* grow: both tables, rehashed */
    Mapping *old = n->map;
    uint32_t oldcap = n->cap;
    n->cap *= 2;
    n->map = xmalloc(n->cap * sizeof *n->map);
    free(n->by_port);
    n->by_port = xmalloc(n->cap * sizeof *n->by_port);
    n->n = 0;
    for (uint32_t k = 0; k < oldcap; k++)
      if (old[k].used)
        nat_place(n, &old[k]);
    free(old);
  }
  Mapping fresh = {ip, port, n->next_port++, 0, 0, 0};
  return nat_place(n, &fresh);
}

static Mapping *nat_inbound(Nat *n, uint16_t ext_port) {
  n_lookups++;
  uint32_t mask = n->cap - 1;
  for (uint32_t i = hash32(ext_port) & mask; n->by_port[i];
       i = (i + 1) & mask) {
    Mapping *m = &n->map[n->by_port[i] - 1];
    if (m->ext_port == ext_port)
      return m;
  }
  return NULL;
}

static void host_deliver(Host *h, Packet *p);

static void send_from(Host *h, uint32_t dst, uint16_t dport) {
  Packet *p = pkt_new();
  p->src = h->ip;
  p->sport = h->port;
  p->dst = dst;
  p->dport = dport;
  p->len = msg_len;
  memcpy(p->data, h->is_server ? h->rx_head->data : msg, msg_len);
  if (h->nat)
    schedule(lan_lat, EV_TO_NAT_OUT, h->nat, p);
  else {
    Nat *n = find_nat(dst);
    if (!n) {
      pkt_free(p);
      return;
    }
    schedule(inet_lat, EV_TO_NAT_IN, n, p);
  }
}

static void nat_from_lan(Nat *n, Packet *p) {
  Mapping *m = nat_outbound(n, p->src, p->sport);
  m->peer_ip = p->dst;
  m->peer_port = p->dport;
  p->src = n->ext_ip;
  p->sport = m->ext_port;
  schedule(inet_lat, EV_TO_HOST, server, p);
}

static void nat_from_internet(Nat *n, Packet *p) {
  Mapping *m = nat_inbound(n, p->dport);
  if (!m || m->peer_ip != p->src || m->peer_port != p->sport) {
    pkt_free(p); /* filtered */
    return;
  }
  p->dst = m->in_ip;
  p->dport = m->in_port;
  Host *h = n->lan_hosts[m->in_ip & 0xff];
  schedule(lan_lat, EV_TO_HOST, h, p);
}

/* --- the programs --- */
static Packet *recv_pkt(Host *h) {
  while (!h->rx_head) {
    h->waiting = 1;
    yield(h);
  }
  return h->rx_head;
}

static void recv_done(Host *h) {
  Packet *p = h->rx_head;
  h->rx_head = p->next;
  if (!h->rx_head)
    h->rx_tail = NULL;
  pkt_free(p);
}

static void client_check(Host *h) {
  Packet *p = h->rx_head;
  if (p->len == msg_len && memcmp(p->data, msg, msg_len) == 0)
    h->ok++;
  else
    n_bad++;
}

static void coro_main(void) {
  Host *h = current;
  if (h->is_server) {
    for (;;) {
      Packet *p = recv_pkt(h);
      send_from(h, p->src, p->sport);
      recv_done(h);
    }
  }
  for (int i = 0; i < h->count; i++) {
    send_from(h, server->ip, 7);
    recv_pkt(h);
    client_check(h);
    recv_done(h);
    if (i + 1 < h->count) {
      schedule((Time)interval_ms * MS, EV_WAKE, h, NULL);
      yield(h);
    }
  }
  for (;;) /* exited: never scheduled again */
    yield(h);
}

/* callbacks: the same programs, driven by their events */
static void cb_event(Host *h, int woke) {
  if (h->is_server) {
    Packet *p = h->rx_head;
    send_from(h, p->src, p->sport);
    recv_done(h);
    return;
  }
  if (woke) { /* start, or the sleep is over */
    h->sent++;
    send_from(h, server->ip, 7);
    return;
  }
  client_check(h);
  recv_done(h);
  if (h->sent < h->count)
    schedule((Time)interval_ms * MS, EV_WAKE, h, NULL);
}

static void host_deliver(Host *h, Packet *p) {
  n_deliveries++;
  p->next = NULL;
  if (h->rx_tail)
    h->rx_tail->next = p;
  else
    h->rx_head = p;
  h->rx_tail = p;
  if (!use_coro) {
    cb_event(h, 0);
    return;
  }
  if (h->waiting) {
    h->waiting = 0;
    run_host(h);
  }
}

static void host_wake(Host *h) {
  if (use_coro)
    run_host(h);
  else
    cb_event(h, 1);
}

static void coro_init(Host *h) {
  h->stack = malloc(STACK_SIZE);
  if (!h->stack)
    exit(1);
  uintptr_t top = ((uintptr_t)h->stack + STACK_SIZE) & ~(uintptr_t)15;
  void **sp = (void **)top;
  *--sp = NULL;              /* coro_main's return address: never used */
  *--sp = (void *)coro_main; /* floor_switch returns here */
  for (int i = 0; i < 6; i++)
    *--sp = NULL; /* rbp rbx r12 r13 r14 r15 */
  h->co.sp = sp;
}

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long arg(int argc, char **argv, const char *key, long def) {
  size_t k = strlen(key);
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=')
      return strtol(argv[i] + k + 1, NULL, 10);
  return def;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strchr(argv[i], '=')) {
      fprintf(stderr, "usage: bench-floor [lans=N] [per-lan=N] [count=N] "
                      "[interval-ms=N] [spread-ms=N] [size=N] [lan-ms=N] "
                      "[internet-ms=N] "
                      "[mode=coro|callbacks]\n");
      return 2;
    }
    if (strcmp(argv[i], "mode=callbacks") == 0)
      use_coro = 0;
  }
  if (use_coro && !HAVE_CORO) {
    fprintf(stderr, "bench-floor: mode=coro needs x86-64; using callbacks\n");
    use_coro = 0;
  }
  uint32_t lans = (uint32_t)arg(argc, argv, "lans", 100);
  uint32_t per_lan = (uint32_t)arg(argc, argv, "per-lan", 10);
  int count = (int)arg(argc, argv, "count", 100);
  interval_ms = (uint32_t)arg(argc, argv, "interval-ms", 10);
  long spread = arg(argc, argv, "spread-ms", 10);
  msg_len = (uint32_t)arg(argc, argv, "size", 100);
  lan_lat = (Time)arg(argc, argv, "lan-ms", 1) * MS;
  inet_lat = (Time)arg(argc, argv, "internet-ms", 5) * MS;
  if (lans < 1 || lans > 65000 || per_lan < 1 || per_lan > 250 ||
      msg_len > MAX_PAYLOAD || count < 1 || spread < 1) {
    fprintf(stderr, "bench-floor: out of range\n");
    return 2;
  }
  for (uint32_t i = 0; i < msg_len; i++)
    msg[i] = 'x';

  double c0 = cpu_s();
  server = xmalloc(sizeof *server);
  server->ip = 0x64400000u | 10; /* 100.64.0.10 */
  server->port = 7;
  server->is_server = 1;
  if (use_coro) {
    coro_init(server);
    run_host(server); /* to its first recv */
  }
  for (nat_by_ip_cap = 16; nat_by_ip_cap < 2 * lans; nat_by_ip_cap *= 2)
    ;
  nat_by_ip = xmalloc(nat_by_ip_cap * sizeof *nat_by_ip);
  uint32_t nhosts = 0;
  for (uint32_t l = 1; l <= lans; l++) {
    Nat *n = xmalloc(sizeof *n);
    n->ext_ip = 0x64400000u | ((1 + l / 250) << 8) | (l % 250 + 1);
    n->lan = 0x0a000000u | (l << 8);
    n->lan_hosts = xmalloc(256 * sizeof *n->lan_hosts);
    n->cap = 16;
    n->map = xmalloc(n->cap * sizeof *n->map);
    n->by_port = xmalloc(n->cap * sizeof *n->by_port);
    n->next_port = 1024;
    uint32_t i = hash32(n->ext_ip) & (nat_by_ip_cap - 1);
    while (nat_by_ip[i])
      i = (i + 1) & (nat_by_ip_cap - 1);
    nat_by_ip[i] = n;
    for (uint32_t k = 0; k < per_lan; k++) {
      Host *h = xmalloc(sizeof *h);
      nhosts++;
      h->ip = n->lan | (k + 2);
      h->port = (uint16_t)(32768 + (hash32(nhosts) % 28000));
      h->nat = n;
      h->count = count;
      n->lan_hosts[k + 2] = h;
      if (use_coro)
        coro_init(h);
      schedule((Time)(nhosts % (uint32_t)spread) * MS, EV_WAKE, h, NULL);
    }
  }
  double c1 = cpu_s();
  while (heap_n > 0) {
    Event e = pop();
    now = e.t;
    n_events++;
    switch (e.kind) {
      case EV_TO_NAT_OUT:
        nat_from_lan(e.obj, e.pkt);
        break;
      case EV_TO_NAT_IN:
        nat_from_internet(e.obj, e.pkt);
        break;
      case EV_TO_HOST:
        host_deliver(e.obj, e.pkt);
        break;
      default:
        host_wake(e.obj);
        break;
    }
  }
  double c2 = cpu_s();
  double run = c2 - c1, whole = c2;
  printf("floor: mode=%s hosts=%u lans=%u events=%llu delivered=%llu "
         "switches=%llu nat-lookups=%llu bad=%llu cpu-setup=%.3f "
         "cpu-run=%.3f cpu=%.3f deliv/s=%.0f whole/s=%.0f ns/delivery=%.1f\n",
         use_coro ? "coro" : "callbacks", nhosts, lans,
         (unsigned long long)n_events, (unsigned long long)n_deliveries,
         (unsigned long long)n_switches, (unsigned long long)n_lookups,
         (unsigned long long)n_bad, c1 - c0, run, whole,
         (double)n_deliveries / run, (double)n_deliveries / whole,
         1e9 * whole / (double)n_deliveries);
  return n_bad != 0 || n_deliveries != 2ull * nhosts * (uint64_t)count;
}
