/* The scenario language: a typed syntax tree of a scenario file, and the
 * loader that reads, checks and resolves one.
 *
 * The world builder walks an NlScenario without re-parsing any string: every
 * value is converted (times to NlTime, rates to bit/s, percentages to
 * fractions, addresses to bytes), every name is resolved to the element it
 * names, and every element carries its source location.  The format itself
 * is described in docs/scenario-format.md.
 *
 * Ownership: nl_scenario_load() returns one owned NlScenario; everything
 * reachable from it (strings, arrays, elements) belongs to it and is freed by
 * nl_scenario_free().  Pointers between elements (link->net, action->node,
 * ...) are borrowed.
 */
#ifndef NL_SCENARIO_H
#define NL_SCENARIO_H

#include <glib.h>
#include <stdint.h>

#include "sim/core/event.h"
#include "sim/tcp/tcp.h"

G_BEGIN_DECLS

typedef struct NlScenario NlScenario;
typedef struct NlScnNetwork NlScnNetwork;
typedef struct NlScnNode NlScnNode;
typedef struct NlScnLink NlScnLink;
typedef struct NlScnRoute NlScnRoute;
typedef struct NlScnRun NlScnRun;
typedef struct NlScnOverride NlScnOverride;
typedef struct NlScnForward NlScnForward;
typedef struct NlScnConst NlScnConst;
typedef struct NlScnAction NlScnAction;
typedef struct NlScnExpect NlScnExpect;

/* ------------------------------------------------------------------ */
/* Errors                                                               */

/* Every load error is one GError in this domain, whose message starts with
 * "file:line:column: " (1-based; the column counts characters, a tab is
 * one) and says what was expected.  Only --set mistakes, which have no
 * place in a file, start with "--set NAME=VALUE: " instead. */
#define NL_SCENARIO_ERROR (nl_scenario_error_quark())
GQuark nl_scenario_error_quark(void);

#define NL_SCENARIO_ERROR_MAP(X)                                               \
  X(IO, "io")               /* a file cannot be read */                        \
  X(ENCODING, "encoding")   /* NUL byte, invalid UTF-8, over-long line */      \
  X(SYNTAX, "syntax")       /* unknown keyword, misplaced or missing word */   \
  X(VALUE, "value")         /* bad number, unit, address, preset, program */   \
  X(REFERENCE, "reference") /* a name that is not declared */                  \
  X(CONFLICT, "conflict")   /* duplicates, overlaps, impossible times */       \
  X(INCLUDE, "include")     /* include cycle or missing included file */       \
  X(OVERRIDE, "override")   /* --set for an unknown name, or malformed */

typedef enum {
#define NL_X(e, s) NL_SCENARIO_ERROR_##e,
  NL_SCENARIO_ERROR_MAP(NL_X)
#undef NL_X
} NlScenarioError;

/* ------------------------------------------------------------------ */
/* Values                                                               */

/* Where an element was written.  @file points into NlScenario.files. */
typedef struct {
  const char *file;
  guint line;
  guint column;
} NlScnLoc;

/* An IPv4 or IPv6 address, or a prefix (subnet) when @len is shorter than
 * the full width.  Bytes are in network order; IPv4 uses bytes[0..3]. */
typedef struct {
  guint8 family; /* 4 or 6 */
  guint8 len;    /* prefix length; 32 or 128 for a single address */
  guint8 bytes[16];
  NlScnLoc loc;
} NlScnAddr;

#define NL_SCN_ADDR_STRLEN 64 /* enough for "ffff:...:ffff/128" */

/* Link properties, each settable per direction.  "up" is from the node to
 * the network, "down" from the network to the node.  X(ENUM, "name", unit) */
#define NL_SCN_PROP_MAP(X)                                                     \
  X(LATENCY, "latency", TIME)     /* one-way delay */                          \
  X(JITTER, "jitter", TIME)       /* extra delay, uniform in [0, jitter] */    \
  X(LOSS, "loss", PERCENT)        /* probability a packet is lost */           \
  X(DUP, "dup", PERCENT)          /* probability it is duplicated */           \
  X(REORDER, "reorder", PERCENT)  /* probability it overtakes */               \
  X(BANDWIDTH, "bandwidth", RATE) /* bit/s; unset = unlimited */               \
  X(QUEUE, "queue", QUEUE)        /* packets (64) or bytes (64KiB) */          \
  X(MTU, "mtu", SIZE)             /* bytes; the same both ways */

typedef enum {
#define NL_X(e, s, u) NL_SCN_PROP_##e,
  NL_SCN_PROP_MAP(NL_X)
#undef NL_X
      NL_SCN_N_PROPS
} NlScnProp;

/* The properties of one direction.  A field is meaningful only when its
 * bit (1u << NL_SCN_PROP_x) is in @set. */
typedef struct {
  guint32 set;
  NlTime latency;
  NlTime jitter;
  double loss;           /* fraction 0..1 (written 0.5% → 0.005) */
  double dup;            /* fraction 0..1 */
  double reorder;        /* fraction 0..1 */
  guint64 bandwidth;     /* bit/s */
  guint32 queue_packets; /* one of the two queue limits is set: */
  guint64 queue_bytes;   /* 0 for the one that was not given */
  guint32 mtu;
  NlScnLoc loc[NL_SCN_N_PROPS]; /* where each set field was written */
} NlScnLinkDir;

typedef struct {
  NlScnLinkDir up;   /* node → network */
  NlScnLinkDir down; /* network → node */
} NlScnLinkProps;

/* ------------------------------------------------------------------ */
/* Topology                                                             */

/* `network NAME PREFIX... [PROP=VALUE...]`: a segment (one switch) that may
 * carry several prefixes; its properties are the defaults of every link
 * attached to it (network-level `up.` is node → network as for links). */
struct NlScnNetwork {
  NlScnLoc loc;
  char *name;
  GArray *prefixes;     /* of NlScnAddr, in file order, at least one */
  NlScnLinkProps props; /* defaults for attachments */
  /* The addresses `link NETWORK auto` hands out, in order (IPv4): pool=
   * FIRST-LAST, else the first subnet's hosts.  @pool_next is the next
   * one to try while the file is read. */
  uint32_t pool_first, pool_last, pool_next;
  gboolean has_pool;
};

#define NL_SCN_NODE_KIND_MAP(X)                                                \
  X(HOST, "host")                                                              \
  X(ROUTER, "router")                                                          \
  X(NAT, "nat")                                                                \
  X(FIREWALL, "firewall")

typedef enum {
#define NL_X(e, s) NL_SCN_NODE_##e,
  NL_SCN_NODE_KIND_MAP(NL_X)
#undef NL_X
      NL_SCN_N_NODE_KINDS
} NlScnNodeKind;

#define NL_SCN_ROLE_MAP(X)                                                     \
  X(PLAIN, "link")    /* host or router interface */                           \
  X(INSIDE, "inside") /* NAT / firewall private side */                        \
  X(OUTSIDE, "outside")

typedef enum {
#define NL_X(e, s) NL_SCN_ROLE_##e,
  NL_SCN_ROLE_MAP(NL_X)
#undef NL_X
} NlScnRole;

/* `link NET ADDR... [PROP=VALUE...]` (or inside/outside): one interface. */
struct NlScnLink {
  NlScnLoc loc;
  NlScnRole role;
  char *network; /* as written */
  NlScnLoc network_loc;
  NlScnNetwork *net;    /* resolved (borrowed) */
  NlScnNode *node;      /* the owner (borrowed) */
  GArray *addrs;        /* of NlScnAddr (len 32/128), at least one */
  NlScnLinkProps props; /* only what this line sets; see _effective() */
};

/* `route PREFIX via GATEWAY`; `default` is 0.0.0.0/0. */
struct NlScnRoute {
  NlScnLoc loc;
  NlScnAddr dest;  /* prefix */
  NlScnAddr via;   /* an address on one of the node's networks */
  NlScnLink *link; /* the node's link whose network holds @via (borrowed) */
};

#define NL_SCN_PROGRAM_KIND_MAP(X)                                             \
  X(BUILTIN, "built-in") /* one of nl_scenario_builtin_programs() */           \
  X(SOURCE, "source")    /* user .c files or a folder, built with natlab-cc */ \
  X(SHARED, "shared")    /* a user .so built with natlab-cc */              \
  X(PYTHON, "python")    /* a user .py run by python3 (natlab-python) */

typedef enum {
#define NL_X(e, s) NL_SCN_PROGRAM_##e,
  NL_SCN_PROGRAM_KIND_MAP(NL_X)
#undef NL_X
} NlScnProgramKind;

/* `run [at=T] [name=N] PROGRAM ARG...` in a node block, or
 * `at T run NODE [name=N] PROGRAM ARG...` on the timeline (same result:
 * the run is appended to the node's runs with @at = T). */
struct NlScnRun {
  NlScnLoc loc;
  NlScnNode *node; /* borrowed */
  NlTime at;       /* start time; 0 by default */
  NlScnLoc at_loc; /* where the time was written (or @loc) */
  char *name;      /* instance name, unique on the node (default: the
                    * program's base name without .c/.so) */
  NlScnProgramKind kind;
  char *program; /* as written: "udp-echo-client" or "./my-client.c" */
  NlScnLoc program_loc;
  char *path;  /* absolute path of a user program (its first .c file, its
                * folder, its .so or its .py); NULL for built-ins */
  char **sources; /* SOURCE: NULL-terminated absolute paths of its .c files
                   * (`run ./a.c ./b.c`, or a folder's in byte order) */
  char **argv; /* NULL-terminated; argv[0] = @program */
  int argc;
  GPtrArray *env; /* of char* "NAME=VALUE" (env=...), in file order */
  char *cwd;      /* cwd=: absolute directory; NULL: the scenario's */
  /* `count=N every=T` on a block's run line: the line became N runs named
   * NAME-1 ... NAME-N (this is one of them), started at, at + T, ...; 0
   * when not given. */
  guint count;
  NlTime every;
};

#define NL_SCN_MAX_RUN_COUNT 10000

/* `nat NAME preset=P FIELD=VALUE...`: a field override, in file order. */
struct NlScnOverride {
  NlScnLoc loc;
  char *field;
  char *value;
};

/* `forward tcp|udp|both PORT to ADDRESS[:PORT]` or `dmz ADDRESS` in a nat
 * or firewall block: port forwarding (natmodels' nl_nat_add_forward() and
 * nl_nat_set_dmz()).  Checked: the address is on an inside network; a
 * public port (per protocol) and an inside endpoint are forwarded once; a
 * firewall keeps the port; one dmz. */
struct NlScnForward {
  NlScnLoc loc;
  gboolean tcp, udp; /* `both` sets both; a dmz line sets both */
  gboolean dmz;      /* `dmz ADDRESS`: every port nothing else claims */
  guint16 port;      /* public port (0 for dmz) */
  NlScnLoc port_loc;
  NlScnAddr addr;   /* the inside host */
  guint16 to_port;  /* its port: @port unless written (0 for dmz) */
};

struct NlScnNode {
  NlScnLoc loc;
  NlScnNodeKind kind;
  char *name;
  GPtrArray *names;  /* of char*: names for name lookup, in file order */
  GPtrArray *links;  /* of NlScnLink*, in file order */
  GPtrArray *routes; /* of NlScnRoute*, in file order */
  GPtrArray *runs;   /* of NlScnRun*: block runs, then timeline runs */
  /* NAT and firewall only: */
  char *preset; /* NULL when not given (firewall default) */
  NlScnLoc preset_loc;
  GPtrArray *overrides; /* of NlScnOverride*, in file order */
  GPtrArray *forwards;  /* of NlScnForward*, in file order */
  /* Host and router only: what its programs see (sim/host/facts.h). */
  char *timezone;  /* timezone=: NULL for UTC */
  guint64 nofile;  /* nofile=: RLIMIT_NOFILE, 0 for Linux's 1024 */
  GPtrArray *env;  /* of char* "NAME=VALUE" (`env` lines), in file order */
};

/* ------------------------------------------------------------------ */
/* Timeline actions and expectations                                    */

#define NL_SCN_ACTION_MAP(X)                                                   \
  X(LINK_DOWN, "link down")       /* node, network, link */                    \
  X(LINK_UP, "link up")           /* node, network, link */                    \
  X(LINK_SET, "link set")         /* node, network, link, props */             \
  X(NAT_REBOOT, "nat reboot")     /* node (a nat or firewall) */               \
  X(HOST_CRASH, "host crash")     /* node */                                   \
  X(HOST_RESTART, "host restart") /* node */                                   \
  X(PARTITION, "partition")       /* node, node2 */                            \
  X(HEAL, "heal")                 /* node, node2 */                            \
  X(STOP, "stop")                 /* node, program, run */                     \
  X(SNAPSHOT, "snapshot")         /* node (a nat or firewall) */               \
  X(NOTE, "note")                 /* text */                                   \
  X(STDIN, "stdin")               /* node, program, run, text (one line) */

typedef enum {
#define NL_X(e, s) NL_SCN_ACTION_##e,
  NL_SCN_ACTION_MAP(NL_X)
#undef NL_X
      NL_SCN_N_ACTIONS
} NlScnActionKind;

/* `at T ...`: one timeline action.  A tagged struct: the comment in
 * NL_SCN_ACTION_MAP names the fields each kind uses; the others are
 * NULL/zero.  Actions are kept in file order; the builder schedules them in
 * that order, so two actions at the same time fire as written. */
struct NlScnAction {
  NlScnLoc loc;
  NlTime at;
  NlScnLoc at_loc;
  NlScnActionKind kind;
  char *node;          /* as written */
  NlScnNode *node_ref; /* resolved */
  char *node2;
  NlScnNode *node2_ref;
  char *network;
  NlScnLink *link; /* node's link on network */
  NlScnLinkProps props;
  char *program; /* instance name (HOST/NAME) */
  NlScnRun *run; /* resolved */
  char *text;
  NlScnLoc node_loc, node2_loc, network_loc, program_loc;
};

#define NL_SCN_EXPECT_MAP(X)                                                   \
  X(STDOUT, "stdout")     /* node, program, run, negate, text */               \
  X(STDERR, "stderr")     /* node, program, run, negate, text */               \
  X(EXIT, "exit")         /* node, program, run, cmp, value (exit code) */     \
  X(RECEIVED, "received") /* node, peer, count_packets, cmp, value */          \
  X(TCP, "tcp")   /* node, program (may be NULL), run, tcp_state, text */      \
  X(PATH, "path") /* node, peer, path */                                       \
  X(FILTERED, "filtered") /* node (nat/firewall), drop_reasons, cmp, value */  \
  /* Grading (docs/grading.md): what the lab measured of a program, from    \
   * its statistics record when it ends. */                                  \
  X(CALLS, "calls")       /* node, program, run, cmp, value */                 \
  X(WASTED, "wasted")     /* node, program, run, cmp, value */                 \
  X(CPU, "cpu")           /* node, program, run, cmp, value (ns) */            \
  X(FDS, "fds")           /* node, program, run, cmp, value */                 \
  X(SENT, "sent")         /* node, program, run, cmp, value (bytes) */         \
  X(CONNECTIONS, "connections") /* node, program, run, cmp, value */           \
  X(BLOCKED, "blocked") /* node, program, run, text (call or NULL),          \
                         * has_since, since_cmp, since */

typedef enum {
#define NL_X(e, s) NL_SCN_EXPECT_##e,
  NL_SCN_EXPECT_MAP(NL_X)
#undef NL_X
      NL_SCN_N_EXPECTS
} NlScnExpectKind;

#define NL_SCN_CMP_MAP(X)                                                      \
  X(EQ, "==")                                                                  \
  X(NE, "!=")                                                                  \
  X(LT, "<")                                                                   \
  X(LE, "<=")                                                                  \
  X(GT, ">")                                                                   \
  X(GE, ">=")

typedef enum {
#define NL_X(e, s) NL_SCN_CMP_##e,
  NL_SCN_CMP_MAP(NL_X)
#undef NL_X
} NlScnCmp;

typedef enum {
  NL_SCN_PATH_DIRECT,
  NL_SCN_PATH_RELAYED,
} NlScnPath;

/* `expect ...` or `at T expect ...`: checked at @at, or at the end of the
 * run when @at is NL_TIME_NEVER.  Tagged like NlScnAction. */
struct NlScnExpect {
  NlScnLoc loc;
  NlTime at;
  NlScnLoc at_loc; /* the time's location, or @loc when checked at the end */
  NlScnExpectKind kind;
  char *source; /* the expectation as written, for reports */
  char *node;
  NlScnNode *node_ref;
  char *program;
  NlScnRun *run;
  char *peer;
  NlScnNode *peer_ref;
  gboolean negate;        /* stdout/stderr: "lacks" instead of "contains" */
  gboolean count_packets; /* received: packets instead of bytes */
  NlScnCmp cmp;
  gint64 value;
  NlScnPath path;
  char *text;           /* stdout/stderr: the text; tcp: the state name */
  NlTcpState tcp_state; /* tcp: the state (sim/tcp/tcp.h) */
  /* filtered: the drop reasons counted, one bit (1u << NlDropReason) each
   * (sim/core/trace.h); nl_scn_filtered_reasons() for `reason=` absent. */
  guint32 drop_reasons;
  NlScnLoc node_loc, peer_loc, program_loc;
  /* exit: `code` given (else any code), and `within TIME` of the start
   * (NL_TIME_NEVER when not given). */
  gboolean has_code;
  NlTime within;
  /* blocked: `since CMP TIME`. */
  gboolean has_since;
  NlScnCmp since_cmp;
  NlTime since;
  /* Grading options (trailing points=, name=, feedback=): @points in
   * hundredths (250 is 2.5 points), -1 when not graded; @title and
   * @feedback NULL when not given. */
  gint64 points;
  char *title;
  char *feedback;
  NlScnLoc points_loc, title_loc;
  /* requires="NAME": the test scores only when the expectation of that
   * name= (graded or not, in the same file) held too; NULL when not
   * given (docs/grading.md). */
  char *requires;
  NlScnLoc requires_loc;
  /* A group (`expect exit client[1..100]/echo ...`): @copies holds one
   * expectation per copy (the fields above are the first copy's), and the
   * group holds when at least @at_least of them do; NULL otherwise. */
  GPtrArray *copies;
  gint64 at_least;
};

/* `timeline lanes=...`: one lane per node, per program, or the listed
 * ones. */
typedef enum {
  NL_SCN_LANES_HOST,    /* one per node (the default) */
  NL_SCN_LANES_PROGRAM, /* one per program, one per node running none */
  NL_SCN_LANES_LIST,    /* the lanes of lane_list, in that order */
} NlScnLanesMode;

/* One listed lane: a node ("server") or a program ("server/tcp"). */
typedef struct {
  char *name;
  char *label;  /* shown instead of the name; NULL: the name */
  guint offset; /* characters before it in the lanes= value */
} NlScnLane;

typedef enum {
  NL_SCN_STYLE_DEFAULT, /* colours by protocol */
  NL_SCN_STYLE_CHAPTER, /* the textbook's: dashed honey-amber TCP, slate UDP */
} NlScnStyle;

/* `timeline KEY=VALUE...`: options for the timeline output
 * (docs/scenario-format.md, `timeline`).  nl_scenario_timeline_set()
 * applies one, as the parser and `natlab run --from...` do. */
typedef struct {
  gboolean set; /* a timeline line was given */
  NlScnLoc loc;
  char *title;       /* NULL when not given */
  guint64 hide;      /* bit (1 << NlTraceKind) per hidden kind */
  NlTime from;       /* window; 0 by default */
  NlTime to;         /* NL_TIME_NEVER by default */
  gboolean collapse; /* fold repeated exchanges (on by default) */
  NlScnLanesMode lanes;
  GPtrArray *lane_list; /* of NlScnLane*, for NL_SCN_LANES_LIST */
  NlScnLoc lanes_loc;   /* where lanes= was written */
  char *states; /* lanes drawn with a TCP state band: "all" or a list of
                 * lane names; NULL: none */
  NlScnStyle style;
  gint page;     /* 0: every page; N: page N only; -1: one long picture */
  gboolean end;  /* the run's end (processes killed, expectations) */
  gboolean card; /* a reference card page in PNG and PDF output */
} NlScnTimeline;

/* `set NAME = VALUE`: a named constant, used as $NAME or ${NAME}. */
struct NlScnConst {
  NlScnLoc loc;
  char *name;
  char *value;         /* the value in effect (after --set) */
  gboolean overridden; /* TRUE when --set replaced the file's value */
};

struct NlScenario {
  char *path;       /* the top file, as given */
  GPtrArray *files; /* of char*: every file read; [0] = @path */
  guint64 seed;     /* 1 unless `seed` */
  NlTime duration;  /* 60 s unless `duration` */
  gboolean seed_set;
  gboolean duration_set;
  GPtrArray *consts;   /* of NlScnConst*, in file order */
  GPtrArray *networks; /* of NlScnNetwork*, in file order */
  GPtrArray *nodes;    /* of NlScnNode*, in file order */
  GPtrArray *actions;  /* of NlScnAction*, in file order */
  GPtrArray *expects;  /* of NlScnExpect*, in file order */
  NlScnTimeline timeline;
  GHashTable *node_index;    /* private: name → NlScnNode* */
  GHashTable *network_index; /* private: name → NlScnNetwork* */
};

#define NL_SCENARIO_DEFAULT_SEED 1
#define NL_SCENARIO_DEFAULT_DURATION (60 * NL_S)
#define NL_SCENARIO_MAX_LINE 4096       /* bytes, without the newline */
#define NL_SCENARIO_MAX_GROUP 100000    /* copies of one group */
#define NL_SCENARIO_MAX_FILE (4u << 20) /* bytes */
#define NL_SCENARIO_MAX_INCLUDE_DEPTH 16
/* Every file read (the scenario and each include, counted each time it is
 * included) and every word after its constants are substituted, in total:
 * no scenario, however small, can make the loader read or build more. */
#define NL_SCENARIO_MAX_TOTAL (16u << 20) /* bytes */

/* ------------------------------------------------------------------ */
/* Loading                                                              */

/**
 * nl_scenario_load: reads @path, follows its includes, applies @overrides
 * and checks everything `natlab check` reports.
 * @overrides: NULL or a NULL-terminated list of "name=value" (--set).
 * Returns: (transfer full) the scenario, or NULL with @error set to the
 * first mistake found (syntax errors in file order first, then references
 * and conflicts in file order).
 */
G_GNUC_WARN_UNUSED_RESULT
NlScenario *nl_scenario_load(const char *path, const char *const *overrides,
                             GError **error);

/**
 * nl_scenario_load_string: as nl_scenario_load() for @text (@len bytes, or
 * -1 when NUL-terminated).  @path names the text in messages and is the
 * base for includes and user programs; it need not exist.
 */
G_GNUC_WARN_UNUSED_RESULT
NlScenario *nl_scenario_load_string(const char *path, const char *text,
                                    gssize len, const char *const *overrides,
                                    GError **error);

void nl_scenario_free(NlScenario *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NlScenario, nl_scenario_free)

/* ------------------------------------------------------------------ */
/* Helpers for the builder                                              */

/* The node or network called @name, or NULL. */
NlScnNode *nl_scenario_find_node(const NlScenario *s, const char *name);
NlScnNetwork *nl_scenario_find_network(const NlScenario *s, const char *name);
/* The run called @name on @node, or NULL. */
NlScnRun *nl_scenario_find_run(const NlScnNode *node, const char *name);
/* The node's link on @network, or NULL. */
NlScnLink *nl_scenario_find_link(const NlScnNode *node, const char *network);

/**
 * nl_scenario_link_effective: the properties of @link in force: the
 * network's defaults, overridden field by field by the link's own.
 * OUT: @out.
 */
void nl_scenario_link_effective(const NlScnLink *link, NlScnLinkProps *out);

/* Merges into @dst every field set in @src (used for `link ... set`). */
void nl_scenario_props_apply(NlScnLinkProps *dst, const NlScnLinkProps *src);

/* The IPv4 address in host byte order, as sim/net/wire.h uses it. */
static inline guint32 nl_scn_addr_ip4(const NlScnAddr *a) {
  return ((guint32)a->bytes[0] << 24) | ((guint32)a->bytes[1] << 16) |
         ((guint32)a->bytes[2] << 8) | a->bytes[3];
}

/* TRUE when prefix @p contains address (or prefix) @a. */
gboolean nl_scn_addr_in_prefix(const NlScnAddr *a, const NlScnAddr *p);

/* "10.0.0.5", "10.0.0.0/24", "2001:db8::/32" into @buf
 * (NL_SCN_ADDR_STRLEN bytes).  Returns: @buf. */
char *nl_scn_addr_to_string(const NlScnAddr *a, char *buf);

/**
 * nl_scenario_timeline_set: applies one timeline option (`KEY=VALUE` of a
 * `timeline` line, or the command line's override) to @t.
 * OUT: @offset (may be NULL): for a list value (hide=, lanes=), the
 * characters before the item that is wrong.
 * Returns: FALSE with @error set (NL_SCENARIO_ERROR, a message without a
 * location) on an unknown key or a bad value.
 */
gboolean nl_scenario_timeline_set(NlScnTimeline *t, const char *key,
                                  const char *value, guint *offset,
                                  GError **error);

/* The timeline option names, NULL-terminated. */
const char *const *nl_scenario_timeline_keys(void);

/**
 * nl_scenario_timeline_check: checks @s's timeline against the scenario:
 * the window is not empty and every listed lane names a node, or a
 * program a node runs.
 * OUT: @index (may be NULL): the lane_list index of a bad lane.
 * Returns: FALSE with @error set (no location).
 */
gboolean nl_scenario_timeline_check(const NlScenario *s, guint *index,
                                    GError **error);

/* The built-in program names, NULL-terminated. */
const char *const *nl_scenario_builtin_programs(void);

const char *nl_scn_node_kind_name(NlScnNodeKind k);
const char *nl_scn_action_name(NlScnActionKind k);
const char *nl_scn_expect_name(NlScnExpectKind k);
const char *nl_scn_prop_name(NlScnProp p);
const char *nl_scn_cmp_name(NlScnCmp c);
const char *nl_scn_program_kind_name(NlScnProgramKind k);

/* The drops `expect filtered NAT` counts without `reason=`: every packet
 * the NAT or firewall itself refused (filtered, no mapping, hairpinning
 * off, port pool exhausted, firewall, blocked by policy). */
guint32 nl_scn_filtered_reasons(void);

/* TRUE when @value compares to @expected as @cmp says (value CMP
 * expected). */
gboolean nl_scn_cmp_holds(NlScnCmp cmp, gint64 value, gint64 expected);

G_END_DECLS

#endif /* NL_SCENARIO_H */
