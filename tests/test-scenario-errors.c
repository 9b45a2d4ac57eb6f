/* The broken-input table: each row is one mistake a user can make in a
 * scenario, and the one error it must give: the exact "file:line:column:"
 * prefix, the error code, and a key phrase of what was expected.
 * Mistakes that need several files live in tests/scenarios-bad/. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "scenarios/lang/scenario.h"

#define NET "network lan 10.0.0.0/24\n"
#define HOST_A NET "host a\n  link lan 10.0.0.5\n"
#define HOST_AB HOST_A "  run chat-client\nhost b\n  link lan 10.0.0.6\n"
#define NAT_OK                                                                 \
  NET "network wan 203.0.113.0/24\n"                                           \
      "nat n preset=symmetric\n  inside lan 10.0.0.1\n"                        \
      "  outside wan 203.0.113.1\n"

typedef struct {
  const char *name;
  const char *text;
  const char *over[3]; /* --set NAME=VALUE */
  const char *where;   /* "line:column", or NULL for --set errors */
  NlScenarioError code;
  const char *phrase;
} BadCase;

#define E(x) NL_SCENARIO_ERROR_##x

static const BadCase cases[] = {
    /* Encoding and layout. */
    {"empty file", "", {0}, "1:1", E(SYNTAX), "no network or host declared"},
    {"only comments",
     "# nothing\n\n   # here\n",
     {0},
     "1:1",
     E(SYNTAX),
     "no network or host declared"},
    {"invalid UTF-8",
     NET "# caf\xc3\xa9 \xff\xfe\n",
     {0},
     "2:8",
     E(ENCODING),
     "invalid UTF-8 (byte 0xff)"},
    {"over-long line",
     NET "# "
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "%LONG%\n",
     {0},
     "2:1",
     E(ENCODING),
     "longer than 4096 bytes"},
    {"keyword typo",
     "hots a\n",
     {0},
     "1:1",
     E(SYNTAX),
     "unknown keyword \"hots\"; did you mean \"host\"?"},
    {"unknown keyword",
     NET "frobnicate 3\n",
     {0},
     "2:1",
     E(SYNTAX),
     "unknown keyword \"frobnicate\": expected"},
    {"indented without block",
     NET "  link lan 10.0.0.5\n",
     {0},
     "2:3",
     E(SYNTAX),
     "no host, router, nat or firewall block is open"},
    {"block line not indented",
     HOST_A "link lan 10.0.0.6\n",
     {0},
     "4:1",
     E(SYNTAX),
     "expected it indented under its node's line"},
    {"statement indented into block",
     HOST_A "  network x 10.1.0.0/24\n",
     {0},
     "4:3",
     E(SYNTAX),
     "(indented lines belong to host a above)"},
    {"block keyword typo",
     NET "host a\n  lnk lan 10.0.0.5\n",
     {0},
     "3:3",
     E(SYNTAX),
     "did you mean \"link\"?"},
    {"unterminated string",
     HOST_A "at 1s note \"half\n",
     {0},
     "4:12",
     E(SYNTAX),
     "unterminated string"},
    {"unknown escape",
     HOST_A "at 1s note \"a\\qb\"\n",
     {0},
     "4:14",
     E(SYNTAX),
     "unknown escape"},
    {"quote inside a word",
     HOST_A "at 1s note ab\"c\"\n",
     {0},
     "4:14",
     E(SYNTAX),
     "a quote may only start a word"},
    {"string starts a line",
     NET "\"host\" a\n",
     {0},
     "2:1",
     E(SYNTAX),
     "expected a keyword at the start of the line"},
    {"extra word",
     "seed 1 2\n" NET,
     {0},
     "1:8",
     E(SYNTAX),
     "unexpected \"2\" at the end of the line"},

    {"file includes itself",
     NET "include \"t.nlab\"\n",
     {0},
     "2:9",
     E(INCLUDE),
     "include cycle: t.nlab includes t.nlab"},
    {"include a directory",
     NET "include \"/\"\n",
     {0},
     "2:9",
     E(INCLUDE),
     "it is a directory, not a regular file"},
    {"include a device",
     NET "include \"/dev/zero\"\n",
     {0},
     "2:9",
     E(INCLUDE),
     "it is a device, not a regular file"},
    {"include inside a block",
     HOST_A "  include \"x.nlab\"\n",
     {0},
     "4:3",
     E(SYNTAX),
     "`include` starts a statement of its own"},
    {"control character in a word",
     NET "host a\x1b[31m\n",
     {0},
     "2:6",
     E(SYNTAX),
     "got \"a\\x1b[31m\""},

    /* Values and units. */
    {"bad IPv4 address",
     NET "host a\n  link lan 10.0.0.300\n",
     {0},
     "3:12",
     E(VALUE),
     "expected an IPv4 address like 10.0.0.5, got \"10.0.0.300\""},
    {"IPv4 with three parts",
     NET "host a\n  link lan 10.0.5\n",
     {0},
     "3:12",
     E(VALUE),
     "expected an IPv4 address like 10.0.0.5"},
    {"bad IPv6 address",
     "network v6 2001:db8::/64\nhost a\n"
     "  link v6 2001:db8::zz\n",
     {0},
     "3:11",
     E(VALUE),
     "expected an IPv6 address like 2001:db8::5"},
    {"address with length",
     NET "host a\n  link lan 10.0.0.5/24\n",
     {0},
     "3:12",
     E(VALUE),
     "without /length"},
    {"subnet without length",
     "network lan 10.0.0.0\n",
     {0},
     "1:13",
     E(VALUE),
     "a subnet with its length like 10.0.0.0/24"},
    {"subnet with host bits",
     "network lan 10.0.0.1/24\n",
     {0},
     "1:13",
     E(VALUE),
     "has host bits set; did you mean 10.0.0.0/24?"},
    {"prefix length too long",
     "network lan 10.0.0.0/33\n",
     {0},
     "1:13",
     E(VALUE),
     "an IPv4 subnet like 10.0.0.0/24"},
    {"network without subnet",
     "network lan latency=1ms\n",
     {0},
     "1:13",
     E(SYNTAX),
     "expected a subnet like 10.0.0.0/24"},
    {"time without unit",
     NET "host a\n  link lan 10.0.0.5 latency=20\n",
     {0},
     "3:29",
     E(VALUE),
     "expected a time like 20ms"},
    {"time with wrong unit",
     NET "host a\n  link lan 10.0.0.5 latency=20sec\n",
     {0},
     "3:29",
     E(VALUE),
     "got \"20sec\""},
    {"negative time",
     HOST_A "at -5s note hi\n",
     {0},
     "4:4",
     E(VALUE),
     "a time cannot be negative, got \"-5s\""},
    {"loss without percent sign",
     NET "host a\n  link lan 10.0.0.5 loss=0.5\n",
     {0},
     "3:26",
     E(VALUE),
     "the % sign is required"},
    {"loss above 100%",
     NET "host a\n  link lan 10.0.0.5 loss=150%\n",
     {0},
     "3:26",
     E(VALUE),
     "a percentage from 0% to 100%"},
    {"bandwidth in bytes",
     NET "host a\n  link lan 10.0.0.5 bandwidth=10MB\n",
     {0},
     "3:31",
     E(VALUE),
     "expected a bandwidth like 10Mbit"},
    {"empty queue",
     NET "host a\n  link lan 10.0.0.5 queue=0\n",
     {0},
     "3:27",
     E(VALUE),
     "a queue length in packets"},
    {"tiny mtu",
     NET "host a\n  link lan 10.0.0.5 mtu=20\n",
     {0},
     "3:25",
     E(VALUE),
     "an MTU in bytes from 68 to 65535"},
    {"property typo",
     NET "host a\n  link lan 10.0.0.5 lattency=5ms\n",
     {0},
     "3:21",
     E(SYNTAX),
     "unknown link property \"lattency\"; did you mean \"latency\"?"},
    {"mtu per direction",
     NET "host a\n  link lan 10.0.0.5 up.mtu=1400\n",
     {0},
     "3:21",
     E(SYNTAX),
     "mtu is the same in both directions"},
    {"property twice",
     NET "host a\n  link lan 10.0.0.5 loss=1% loss=2%\n",
     {0},
     "3:29",
     E(CONFLICT),
     "loss is already given at column 21"},
    {"bare word among properties",
     NET "host a\n  link lan 10.0.0.5 latency=1ms fast\n",
     {0},
     "3:33",
     E(SYNTAX),
     "expected PROPERTY=VALUE like latency=5ms, got \"fast\""},
    {"seed not a number",
     "seed forty-two\n" NET,
     {0},
     "1:6",
     E(VALUE),
     "expected a whole number"},
    {"zero duration",
     "duration 0s\n" NET,
     {0},
     "1:10",
     E(VALUE),
     "a duration longer than 0s"},
    {"seed twice",
     "seed 1\nseed 2\n" NET,
     {0},
     "2:1",
     E(CONFLICT),
     "seed is already set at t.nlab:1"},
    {"duration missing",
     "duration\n" NET,
     {0},
     "1:10",
     E(SYNTAX),
     "expected a time like 30s (usage: duration TIME)"},
    {"bad host name",
     NET "host 1abc\n",
     {0},
     "2:6",
     E(SYNTAX),
     "expected a host name (a letter, then letters, digits, _ or -)"},
    {"bad DNS name",
     NET "host a\n  name bad_name!.com\n",
     {0},
     "3:8",
     E(VALUE),
     "expected a DNS name like peer-a.example.com"},
    {"host with an unknown option",
     NET "host a fast=yes\n",
     {0},
     "2:8",
     E(SYNTAX),
     "unknown host option \"fast\""},
    /* Each kind of node names its own usage (a table, not made per line). */
    {"host without a name",
     NET "host\n",
     {0},
     "2:6",
     E(SYNTAX),
     "expected a host name (usage: host NAME [timezone=ZONE] [nofile=N])"},
    {"router without a name",
     NET "router\n",
     {0},
     "2:8",
     E(SYNTAX),
     "expected a router name (usage: router NAME [timezone=ZONE] "
     "[nofile=N])"},
    {"nat without a name",
     NET "nat\n",
     {0},
     "2:5",
     E(SYNTAX),
     "expected a nat name (usage: nat NAME preset=PRESET "
     "[FIELD=VALUE...])"},
    {"firewall with a bare word",
     NET "firewall f bogus\n",
     {0},
     "2:12",
     E(SYNTAX),
     "got \"bogus\" (usage: firewall NAME [preset=PRESET] "
     "[FIELD=VALUE...])"},

    /* Duplicates and conflicts. */
    {"duplicate host",
     HOST_A "host a\n",
     {0},
     "4:6",
     E(CONFLICT),
     "the name \"a\" is already declared at t.nlab:2:6"},
    {"host named like a network",
     NET "host lan\n",
     {0},
     "2:6",
     E(CONFLICT),
     "already declared at t.nlab:1:9"},
    {"duplicate DNS name",
     HOST_A "  name x.example.com\nhost b\n  name X.example.com\n",
     {0},
     "6:8",
     E(CONFLICT),
     "the DNS name \"X.example.com\" is already given"},
    {"overlapping subnets",
     NET "network big 10.0.0.0/16\n",
     {0},
     "2:13",
     E(CONFLICT),
     "subnet 10.0.0.0/16 overlaps 10.0.0.0/24 of network lan"},
    {"subnet inside an earlier one",
     "network big 10.0.0.0/16\nnetwork small 10.0.5.0/24\n",
     {0},
     "2:15",
     E(CONFLICT),
     "subnet 10.0.5.0/24 overlaps 10.0.0.0/16 of network big"},
    {"overlap within one network",
     "network lan 10.0.0.0/24 10.0.0.128/25\n",
     {0},
     "1:25",
     E(CONFLICT),
     "overlaps 10.0.0.0/24 of network lan"},
    {"overlapping IPv6 subnets",
     "network a 2001:db8::/32\nnetwork b 2001:db8:5::/48\n",
     {0},
     "2:11",
     E(CONFLICT),
     "subnet 2001:db8:5::/48 overlaps 2001:db8::/32"},
    {"duplicate address on a network",
     HOST_A "host b\n  link lan 10.0.0.5\n",
     {0},
     "5:12",
     E(CONFLICT),
     "address 10.0.0.5 on lan is already used by a"},
    {"duplicate IPv6 address on a network",
     "network v6 2001:db8::/64\nhost a\n  link v6 2001:db8::5\n"
     "host c\n  link v6 2001:db8:0::5\n",
     {0},
     "5:11",
     E(CONFLICT),
     "address 2001:db8::5 on v6 is already used by a (t.nlab:3)"},
    {"two links to one network",
     HOST_A "  link lan 10.0.0.7\n",
     {0},
     "4:8",
     E(CONFLICT),
     "a is already linked to lan at t.nlab:3"},

    /* References and addresses on networks. */
    {"link to a missing network",
     NET "host a\n  link lam 10.0.0.5\n",
     {0},
     "3:8",
     E(REFERENCE),
     "no network named \"lam\"; did you mean \"lan\"?"},
    {"address outside the network",
     NET "host a\n  link lan 10.0.1.5\n",
     {0},
     "3:12",
     E(CONFLICT),
     "address 10.0.1.5 is not in network lan (10.0.0.0/24)"},
    {"network address as host",
     NET "host a\n  link lan 10.0.0.0\n",
     {0},
     "3:12",
     E(VALUE),
     "is the network address of 10.0.0.0/24"},
    {"broadcast address as host",
     NET "host a\n  link lan 10.0.0.255\n",
     {0},
     "3:12",
     E(VALUE),
     "is the broadcast address"},
    {"IPv6 address on IPv4 network",
     NET "host a\n  link lan 2001:db8::1\n",
     {0},
     "3:12",
     E(CONFLICT),
     "is not in network lan"},
    {"unreachable gateway",
     HOST_A "  route default via 10.1.0.1\n",
     {0},
     "4:21",
     E(REFERENCE),
     "gateway 10.1.0.1 is not on any network of a (lan 10.0.0.0/24)"},
    {"route without via",
     HOST_A "  route default 10.0.0.1\n",
     {0},
     "4:17",
     E(SYNTAX),
     "expected via, got \"10.0.0.1\""},
    {"gateway is own address",
     HOST_A "  route default via 10.0.0.5\n",
     {0},
     "4:21",
     E(CONFLICT),
     "is a's own address"},
    {"route family mismatch",
     HOST_A "  route 2001:db8::/32 via 10.0.0.1\n",
     {0},
     "4:27",
     E(VALUE),
     "expected an IPv6 gateway for an IPv6 subnet"},
    {"route twice",
     HOST_A "  route default via 10.0.0.1\n"
            "  route 0.0.0.0/0 via 10.0.0.2\n",
     {0},
     "5:9",
     E(CONFLICT),
     "already has a route to this subnet"},

    /* NATs and firewalls. */
    {"nat without preset",
     NET "nat n\n",
     {0},
     "2:7",
     E(SYNTAX),
     "expected preset=PRESET after the nat's name"},
    {"unknown preset",
     NET "nat n preset=full-con\n",
     {0},
     "2:14",
     E(VALUE),
     "unknown nat preset \"full-con\"; did you mean \"full-cone\"?"},
    {"unknown NAT field",
     NET "nat n preset=symmetric udp_timout=30s\n",
     {0},
     "2:24",
     E(SYNTAX),
     "unknown NAT field \"udp_timout\"; did you mean \"udp-timeout\"?"},
    {"bad NAT field value",
     NET "nat n preset=symmetric mapping=sideways\n",
     {0},
     "2:32",
     E(VALUE),
     "bad value \"sideways\" for NAT field mapping: unknown value"},
    {"field before preset",
     NET "nat n udp-timeout=30s preset=symmetric\n",
     {0},
     "2:7",
     E(SYNTAX),
     "expected preset=PRESET before the fields"},
    {"nat without inside",
     NET "network wan 203.0.113.0/24\n"
         "nat n preset=symmetric\n"
         "  outside wan 203.0.113.1\n",
     {0},
     "3:1",
     E(SYNTAX),
     "nat n has no inside"},
    {"firewall without outside",
     NET "firewall f\n  inside lan 10.0.0.1\n",
     {0},
     "2:1",
     E(SYNTAX),
     "firewall f has no outside"},
    {"nat with two outsides",
     NET "network wan 203.0.113.0/24\nnetwork wan2 198.51.100.0/24\n"
         "nat n preset=symmetric\n  inside lan 10.0.0.1\n"
         "  outside wan 203.0.113.1\n  outside wan2 198.51.100.1\n",
     {0},
     "7:3",
     E(CONFLICT),
     "n already has an outside"},
    {"link in a nat block",
     NAT_OK "  link lan 10.0.0.9\n",
     {0},
     "6:3",
     E(SYNTAX),
     "connects with `inside` and `outside`, not `link`"},
    {"inside in a host block",
     NET "host a\n  inside lan 10.0.0.5\n",
     {0},
     "3:3",
     E(SYNTAX),
     "`inside` belongs to a nat or firewall"},
    {"run in a nat block",
     NAT_OK "  run stun-server\n",
     {0},
     "6:3",
     E(SYNTAX),
     "programs run on hosts and routers"},

    /* Port forwarding. */
    {"forward in a host block",
     HOST_A "  forward tcp 80 to 10.0.0.6\n",
     {0},
     "4:3",
     E(SYNTAX),
     "`forward` belongs to a nat or firewall block"},
    {"forward protocol typo",
     NAT_OK "  forward tpc 80 to 10.0.0.5\n",
     {0},
     "6:11",
     E(VALUE),
     "expected tcp, udp or both, got \"tpc\"; did you mean \"tcp\"?"},
    {"forward port out of range",
     NAT_OK "  forward tcp 70000 to 10.0.0.5\n",
     {0},
     "6:15",
     E(VALUE),
     "expected a port from 1 to 65535, got \"70000\""},
    {"forward without to",
     NAT_OK "  forward tcp 80 10.0.0.5\n",
     {0},
     "6:18",
     E(SYNTAX),
     "expected to, got \"10.0.0.5\""},
    {"forward missing target",
     NAT_OK "  forward tcp 80 to\n",
     {0},
     "6:21",
     E(SYNTAX),
     "expected an inside address like 10.0.0.10"},
    {"forward bad inside port",
     NAT_OK "  forward udp 53 to 10.0.0.5:0\n",
     {0},
     "6:21",
     E(VALUE),
     "expected an inside port from 1 to 65535 after the colon"},
    {"forward to an outside address",
     NAT_OK "  forward tcp 80 to 203.0.113.9\n",
     {0},
     "6:21",
     E(VALUE),
     "203.0.113.9 is not on an inside network of n (lan 10.0.0.0/24)"},
    {"forward to the nat itself",
     NAT_OK "  forward tcp 80 to 10.0.0.1:8080\n",
     {0},
     "6:21",
     E(VALUE),
     "10.0.0.1 is n's own address"},
    {"forward a port twice",
     NAT_OK "  forward tcp 80 to 10.0.0.5\n  forward both 80 to 10.0.0.6\n",
     {0},
     "7:16",
     E(CONFLICT),
     "TCP port 80 of n is already forwarded at"},
    {"forward to one inside port twice",
     NAT_OK "  forward udp 5000 to 10.0.0.5\n"
            "  forward udp 5001 to 10.0.0.5:5000\n",
     {0},
     "7:23",
     E(CONFLICT),
     "10.0.0.5:5000 is already the target of a forward"},
    {"firewall forward changes the port",
     NET "network wan 203.0.113.0/24\n"
         "firewall f\n  inside lan 10.0.0.1\n  outside wan 203.0.113.1\n"
         "  forward tcp 80 to 10.0.0.5:8080\n",
     {0},
     "6:21",
     E(VALUE),
     "firewall f does not translate: it can open port 80 to 10.0.0.5"},
    {"two dmz hosts",
     NAT_OK "  dmz 10.0.0.5\n  dmz 10.0.0.6\n",
     {0},
     "7:3",
     E(CONFLICT),
     "n already has a dmz host"},
    {"dmz with an extra word",
     NAT_OK "  dmz 10.0.0.5 please\n",
     {0},
     "6:16",
     E(SYNTAX),
     "unexpected \"please\""},

    /* Programs. */
    {"unknown built-in program",
     HOST_A "  run udp-echo-clinet 10.0.0.1\n",
     {0},
     "4:7",
     E(VALUE),
     "unknown program \"udp-echo-clinet\"; did you mean \"udp-echo-client\"?"},
    {"unknown program",
     HOST_A "  run netcat -l\n",
     {0},
     "4:7",
     E(VALUE),
     "unknown program \"netcat\": expected a built-in program"},
    {"user program without suffix",
     HOST_A "  run ./client\n",
     {0},
     "4:7",
     E(VALUE),
     "a user program ending in .c, .so or .py"},
    {"user program missing",
     HOST_A "  run ./not-there.c\n",
     {0},
     "4:7",
     E(VALUE),
     "program file \"./not-there.c\" does not exist"},
    {"run without program",
     HOST_A "  run at=1s\n",
     {0},
     "4:13",
     E(SYNTAX),
     "expected a program"},
    {"unknown run option",
     HOST_A "  run nmae=x chat-server\n",
     {0},
     "4:7",
     E(SYNTAX),
     "unknown run option \"nmae\"; did you mean \"name\"?"},
    /* System facts: a host's timezone=, nofile= and env, a run's env=
     * and cwd=. */
    {"unknown time zone",
     NET "host a timezone=Mars/Olympus\n  link lan 10.0.0.5\n",
     {0},
     "2:17",
     E(VALUE),
     "expected a time zone: a named zone like Europe/Berlin"},
    {"descriptor limit too small",
     NET "host a nofile=2\n  link lan 10.0.0.5\n",
     {0},
     "2:15",
     E(VALUE),
     "expected a descriptor limit from 3 to 1048576"},
    {"unknown host option",
     NET "host a timezon=UTC\n  link lan 10.0.0.5\n",
     {0},
     "2:8",
     E(SYNTAX),
     "unknown host option \"timezon\"; did you mean \"timezone\"?"},
    {"host word after the name",
     NET "host a b\n  link lan 10.0.0.5\n",
     {0},
     "2:8",
     E(SYNTAX),
     "expected OPTION=VALUE or the end of the line"},
    {"bad env name",
     HOST_A "  env 1X=y\n",
     {0},
     "4:7",
     E(VALUE),
     "expected NAME=VALUE with NAME a letter or _"},
    {"env without a value",
     HOST_A "  env\n",
     {0},
     "4:3",
     E(SYNTAX),
     "expected NAME=VALUE after env"},
    {"env in a nat",
     NAT_OK "  env A=b\n",
     {0},
     "6:3",
     E(SYNTAX),
     "expected no `env` in a nat block"},
    {"bad run env",
     HOST_A "  run env=NOEQUALS chat-server\n",
     {0},
     "4:11",
     E(VALUE),
     "expected NAME=VALUE"},
    {"missing cwd",
     HOST_A "  run cwd=/no/such/dir chat-server\n",
     {0},
     "4:11",
     E(VALUE),
     "expected an existing directory for cwd="},
    {"duplicate program name",
     HOST_A "  run chat-server\n  run chat-server\n",
     {0},
     "5:7",
     E(CONFLICT),
     "a already runs a program named \"chat-server\""},
    {"start after the end",
     "duration 10s\n" HOST_A "  run at=11s chat-server\n",
     {0},
     "5:10",
     E(CONFLICT),
     "the start time 11s is after the end of the run (duration 10s)"},

    /* Timeline actions. */
    {"unknown action",
     HOST_A "at 1s lnik a lan down\n",
     {0},
     "4:7",
     E(SYNTAX),
     "unknown action \"lnik\"; did you mean \"link\"?"},
    {"action after the end",
     HOST_A "at 90s note late\n",
     {0},
     "4:4",
     E(CONFLICT),
     "the time 90s is after the end of the run (duration 1min, the default"},
    {"action time missing",
     HOST_A "at note x\n",
     {0},
     "4:4",
     E(VALUE),
     "expected a time like 20ms"},
    {"link action on a missing link",
     HOST_A "network other 10.9.0.0/16\nat 1s link a other down\n",
     {0},
     "5:14",
     E(REFERENCE),
     "a has no link on \"other\" (its networks: lan"},
    {"action on a missing host",
     HOST_A "at 1s host aa crash\n",
     {0},
     "4:12",
     E(REFERENCE),
     "no node named \"aa\"; did you mean \"a\"?"},
    {"nat reboot on a host",
     HOST_A "at 1s nat a reboot\n",
     {0},
     "4:11",
     E(REFERENCE),
     "\"a\" is a host (t.nlab:2): expected a nat or firewall"},
    {"host action on a network",
     HOST_A "at 1s host lan crash\n",
     {0},
     "4:12",
     E(REFERENCE),
     "\"lan\" is a network: expected a host or router"},
    {"link verb typo",
     HOST_A "at 1s link a lan dwn\n",
     {0},
     "4:18",
     E(SYNTAX),
     "expected down, up or set, got \"dwn\""},
    {"link set without properties",
     HOST_A "at 1s link a lan set\n",
     {0},
     "4:22",
     E(SYNTAX),
     "expected PROPERTY=VALUE like loss=10%"},
    {"stop an unknown program",
     HOST_AB "at 1s stop a/chat\n",
     {0},
     "7:14",
     E(REFERENCE),
     "a runs no program named \"chat\" (it runs: chat-client)"},
    {"stop before the start",
     NET "host a\n  link lan 10.0.0.5\n  run at=5s chat-server\n"
         "at 2s stop a/chat-server\n",
     {0},
     "5:4",
     E(CONFLICT),
     "a/chat-server starts at 5s"},
    {"stop without program",
     HOST_AB "at 1s stop a\n",
     {0},
     "7:12",
     E(VALUE),
     "expected HOST/PROGRAM like peer_a/client"},
    {"partition with itself",
     HOST_AB "at 1s partition a a\n",
     {0},
     "7:19",
     E(CONFLICT),
     "expected two different nodes"},
    {"stdin without text",
     HOST_AB "at 1s stdin a/chat-client\n",
     {0},
     "7:27",
     E(SYNTAX),
     "expected a text like \"hello\""},
    {"timeline run with at=",
     HOST_A "at 1s run a at=2s chat-server\n",
     {0},
     "4:13",
     E(SYNTAX),
     "the start time is already given by `at`"},
    {"timeline run on a missing host",
     HOST_A "at 1s run b chat-server\n",
     {0},
     "4:11",
     E(REFERENCE),
     "no node named \"b\""},

    /* Expectations. */
    {"unknown expectation",
     HOST_A "expect stdot a/x contains \"y\"\n",
     {0},
     "4:8",
     E(SYNTAX),
     "unknown expectation \"stdot\"; did you mean \"stdout\"?"},
    {"expect stdout without program",
     HOST_AB "expect stdout a contains x\n",
     {0},
     "7:15",
     E(VALUE),
     "expected HOST/PROGRAM like peer_a/client"},
    {"expect stdout bad verb",
     HOST_AB "expect stdout a/chat-client has x\n",
     {0},
     "7:29",
     E(SYNTAX),
     "expected contains or lacks, got \"has\""},
    {"expect received bad count",
     HOST_AB "expect received b from a bytes >= lots\n",
     {0},
     "7:35",
     E(VALUE),
     "expected a count like 1000 or 64KiB"},
    {"expect received from itself",
     HOST_AB "expect received a from a bytes 1\n",
     {0},
     "7:24",
     E(CONFLICT),
     "expected two different hosts"},
    {"expect tcp bad state",
     HOST_AB "expect tcp a state OPEN\n",
     {0},
     "7:20",
     E(VALUE),
     "expected a TCP state (CLOSED, LISTEN"},
    {"expect path bad word",
     HOST_AB "expect path a b fast\n",
     {0},
     "7:17",
     E(SYNTAX),
     "expected direct or relayed, got \"fast\""},
    {"expect filtered on a host",
     HOST_AB "expect filtered a count 0\n",
     {0},
     "7:17",
     E(REFERENCE),
     "\"a\" is a host (t.nlab:2): expected a nat or"},
    {"expect filtered unknown reason",
     NAT_OK "expect filtered n reason=filterd count 0\n",
     {0},
     "6:26",
     E(VALUE),
     "unknown drop reason \"filterd\"; did you mean \"filtered\"?"},
    {"expect filtered reason without count",
     NAT_OK "expect filtered n reason=no-mapping 0\n",
     {0},
     "6:37",
     E(SYNTAX),
     "expected count, got \"0\""},
    {"expect exit without code",
     HOST_AB "expect exit a/chat-client 0\n",
     {0},
     "7:27",
     E(SYNTAX),
     "expected code or within, got \"0\""},
    {"expect exit with bad points",
     HOST_AB "expect exit a/chat-client code 0 points=2.555\n",
     {0},
     "7:41",
     E(VALUE),
     "expected points from 0 to 10000"},
    {"expect with points twice",
     HOST_AB "expect exit a/chat-client code 0 points=1 points=2\n",
     {0},
     "7:43",
     E(CONFLICT),
     "points= is already given"},
    {"expect cpu without a time",
     HOST_AB "expect cpu a/chat-client < 20\n",
     {0},
     "7:28",
     E(VALUE),
     "expected a time like 20ms"},
    {"expect blocked with a wrong word",
     HOST_AB "expect blocked a/chat-client on accept\n",
     {0},
     "7:30",
     E(SYNTAX),
     "unexpected \"on\""},
    {"expect on a missing program",
     HOST_AB "expect exit a/chat code 0\n",
     {0},
     "7:15",
     E(REFERENCE),
     "a runs no program named \"chat\""},
    {"expect after the end",
     HOST_AB "at 2min expect path a b direct\n",
     {0},
     "7:4",
     E(CONFLICT),
     "is after the end of the run"},

    /* Constants and --set. */
    {"undefined constant",
     NET "host a\n  link lan 10.0.0.5 latency=$lat\n",
     {0},
     "3:29",
     E(REFERENCE),
     "$lat is not set: expected a `set lat = VALUE` line before this one"},
    {"constant typo",
     "set latency = 5ms\n" NET "host a\n  link lan 10.0.0.5 latency=$latnecy\n",
     {0},
     "4:29",
     E(REFERENCE),
     "$latnecy is not set; did you mean $latency?"},
    {"constant used before set",
     NET "host a\n  link lan 10.0.0.5 latency=$l\nset l = 1ms\n",
     {0},
     "3:29",
     E(REFERENCE),
     "$l is not set"},
    {"constant set twice",
     "set a = 1\nset a = 2\n" NET,
     {0},
     "2:5",
     E(CONFLICT),
     "$a is already set at t.nlab:1:5"},
    {"set without =",
     "set a 1\n" NET,
     {0},
     "1:7",
     E(SYNTAX),
     "expected = after the constant name"},
    {"dollar without name",
     HOST_A "at 1s note costs $5\n",
     {0},
     "4:18",
     E(SYNTAX),
     "expected a constant name after $"},
    {"constant of the wrong kind",
     "set lat = fast\n" NET "host a\n  link lan 10.0.0.5 latency=$lat\n",
     {0},
     "4:29",
     E(VALUE),
     "got \"fast\" (from $lat)"},
    {"--set with a bad value",
     "set lat = 5ms\n" NET "host a\n  link lan 10.0.0.5 latency=$lat\n",
     {"lat=abc", NULL},
     "4:29",
     E(VALUE),
     "got \"abc\" (from --set lat=abc)"},
    {"--set unknown name",
     "set latency = 5ms\n" NET,
     {"latncy=5ms", NULL},
     NULL,
     E(OVERRIDE),
     "--set latncy=5ms: t.nlab sets no constant \"latncy\"; did you mean "
     "\"latency\"?"},
    {"--set malformed",
     NET,
     {"latency", NULL},
     NULL,
     E(OVERRIDE),
     "--set latency: expected NAME=VALUE"},
    {"--set twice",
     "set a = 1\n" NET,
     {"a=1", "a=2", NULL},
     NULL,
     E(OVERRIDE),
     "a is already set by --set a=1"},

    /* Timeline options. */
    {"unknown timeline option",
     NET "timeline titel=\"x\"\n",
     {0},
     "2:10",
     E(SYNTAX),
     "unknown timeline option \"titel\"; did you mean \"title\"?"},
    {"timeline hides an unknown kind",
     NET "timeline hide=stdout,pakets\n",
     {0},
     "2:22",
     E(VALUE),
     "unknown record kind \"pakets\""},
    {"timeline window reversed",
     NET "timeline from=5s to=1s\n",
     {0},
     "2:1",
     E(VALUE),
     "expected from= to be earlier than to="},
    {"timeline lane of an unknown node",
     NET "host a\ntimeline lanes=a,b/x\n",
     {0},
     "3:18",
     E(REFERENCE),
     "lanes= names \"b\", which is not a node of the scenario"},
    {"timeline lane of an unknown program",
     NET "host a\ntimeline lanes=a/x\n",
     {0},
     "3:16",
     E(REFERENCE),
     "lanes= names \"a/x\", but a runs no program named \"x\""},
    {"timeline page zero",
     NET "timeline page=0\n",
     {0},
     "2:15",
     E(VALUE),
     "expected page=all, page=none (one long picture) or a page number"},
    {"timeline lane name malformed",
     NET "timeline lanes=a,,b\n",
     {0},
     "2:18",
     E(VALUE),
     "expected lanes=host, lanes=program or a comma-separated list"},
    {"timeline twice",
     NET "timeline title=a\ntimeline title=b\n",
     {0},
     "3:1",
     E(CONFLICT),
     "timeline is already set at t.nlab:2"},
};

/* The over-long line: 5000 characters. */
static char *expand(const char *text) {
  const char *mark = strstr(text, "%LONG%");
  if (mark == NULL)
    return g_strdup(text);
  char *fill = g_strnfill(5000, 'x');
  char *head = g_strndup(text, (gsize)(mark - text));
  char *out = g_strconcat(head, fill, mark + 6, NULL);
  g_free(fill);
  g_free(head);
  return out;
}

static void test_scenario_error_table(void **state) {
  guint failures = 0;
  assert_true(G_N_ELEMENTS(cases) >= 40);
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    const BadCase *c = &cases[i];
    char *text = expand(c->text);
    gsize len = strlen(text);
    GError *err = NULL;
    NlScenario *s = nl_scenario_load_string("t.nlab", text, (gssize)len,
                                            c->over[0] ? c->over : NULL, &err);
    if (err != NULL && g_getenv("NL_SCENARIO_DUMP") != NULL)
      print_message("%-32s %s\n", c->name, err->message);
    char *prefix = c->where != NULL ? g_strdup_printf("t.nlab:%s: ", c->where)
                                    : g_strdup("--set ");
    if (s != NULL) {
      print_error("[%s] loaded, expected an error at %s\n", c->name, prefix);
      nl_scenario_free(s);
      failures++;
    } else if (!g_error_matches(err, NL_SCENARIO_ERROR, (gint)c->code) ||
               !g_str_has_prefix(err->message, prefix) ||
               strstr(err->message, c->phrase) == NULL) {
      print_error("[%s]\n  got:  (%d) %s\n  want: (%d) %s... %s\n", c->name,
                  err->code, err->message, c->code, prefix, c->phrase);
      failures++;
    }
    if (err != NULL)
      g_error_free(err);
    g_free(prefix);
    g_free(text);
  }
  assert_int_equal(failures, 0);
}

static char *bad_path(const char *name) {
  const char *root = g_getenv("NATLAB_SOURCE_ROOT");
  return g_build_filename(root != NULL ? root : ".", "tests", "scenarios-bad",
                          name, NULL);
}

static void expect_file_error(const char *file, const char *where_file,
                              const char *where, NlScenarioError code,
                              const char *phrase) {
  char *path = bad_path(file);
  char *wpath = bad_path(where_file);
  GError *err = NULL;
  NlScenario *s = nl_scenario_load(path, NULL, &err);
  assert_null(s);
  char *prefix = g_strdup_printf("%s:%s: ", wpath, where);
  if (!g_str_has_prefix(err->message, prefix) ||
      strstr(err->message, phrase) == NULL)
    fail_msg("got %s\nwant %s... %s", err->message, prefix, phrase);
  assert_true(g_error_matches(err, NL_SCENARIO_ERROR, (gint)code));
  g_error_free(err);
  g_free(prefix);
  g_free(path);
  g_free(wpath);
}

/* ---- bounds: the loader cannot be starved ---- */

/* Loads @text from a file in a fresh folder holding @extra files too
 * (made by @make); returns the error message (or NULL on success). */
static char *load_in_dir(const char *text, void (*make)(const char *dir),
                         NlScenarioError *code) {
  char *dir = g_dir_make_tmp("natlab-bounds-XXXXXX", NULL);
  char *path = g_build_filename(dir, "t.nlab", NULL);
  g_file_set_contents(path, text, -1, NULL);
  if (make)
    make(dir);
  GError *err = NULL;
  NlScenario *s = nl_scenario_load(path, NULL, &err);
  char *msg = NULL;
  if (s == NULL) {
    /* Messages name the file by its path: keep what follows it. */
    msg = g_strdup(err->message + strlen(dir) + 1);
    *code = (NlScenarioError)err->code;
    g_error_free(err);
  }
  nl_scenario_free(s);
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name(d)) != NULL) {
    char *f = g_build_filename(dir, name, NULL);
    g_unlink(f);
    g_free(f);
  }
  g_dir_close(d);
  g_rmdir(dir);
  g_free(path);
  g_free(dir);
  return msg;
}

/* A 754-byte scenario whose constants double thirty times would ask for
 * 16 GiB: the line limit holds after substitution, so the ninth
 * doubling (4 KiB, with the line's other words) is refused where it is
 * written. */
static void test_scenario_doubling_constants_are_refused(void **state) {
  GString *t = g_string_new("set c0 = 12345678\n");
  for (int i = 1; i <= 30; i++)
    g_string_append_printf(t, "set c%d = ${c%d}${c%d}\n", i, i - 1, i - 1);
  g_string_append(t, NET "host a\n  link lan 10.0.0.5\n  run chat-client "
                         "$c30\n");
  assert_true(t->len < 1024);
  NlScenarioError code = 0;
  char *msg = load_in_dir(t->str, NULL, &code);
  assert_non_null(msg);
  if (!g_str_has_prefix(msg, "t.nlab:10:10: this line is longer than 4096 "
                             "bytes once its constants are substituted "
                             "(from $c8)"))
    fail_msg("got %s", msg);
  assert_int_equal(code, NL_SCENARIO_ERROR_ENCODING);
  g_free(msg);
  g_string_free(t, TRUE);
}

static void make_fifo(const char *dir) {
  char *f = g_build_filename(dir, "pipe.nlab", NULL);
  assert_int_equal(mkfifo(f, 0600), 0);
  g_free(f);
}

/* Including a FIFO would wait for a writer for ever: it is refused. */
static void test_scenario_include_of_a_fifo_is_refused(void **state) {
  NlScenarioError code = 0;
  char *msg = load_in_dir(NET "include \"pipe.nlab\"\n", make_fifo, &code);
  assert_non_null(msg);
  if (!g_str_has_prefix(msg, "t.nlab:2:9: cannot include ") ||
      strstr(msg, "pipe.nlab\": it is a FIFO, not a regular file") == NULL)
    fail_msg("got %s", msg);
  assert_int_equal(code, NL_SCENARIO_ERROR_INCLUDE);
  g_free(msg);
}

static void make_sparse(const char *dir) {
  /* 5 GiB of nothing: reading it first would take minutes. */
  char *f = g_build_filename(dir, "huge.nlab", NULL);
  int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)5 << 30), 0);
  close(fd);
  g_free(f);
}

/* Sizes are checked before reading. */
static void test_scenario_include_size_is_checked_first(void **state) {
  NlScenarioError code = 0;
  char *msg = load_in_dir(NET "include \"huge.nlab\"\n", make_sparse, &code);
  assert_non_null(msg);
  if (strstr(msg, "huge.nlab\": it is larger than 4194304 bytes") == NULL)
    fail_msg("got %s", msg);
  assert_int_equal(code, NL_SCENARIO_ERROR_INCLUDE);
  g_free(msg);
}

static void make_big(const char *dir) {
  /* 3 MiB of comments: valid, under the 4 MiB a file may have. */
  GString *s = g_string_new(NULL);
  while (s->len < (3u << 20))
    g_string_append(s, "# a comment line to fill the file up to its size ...\n");
  char *f = g_build_filename(dir, "big.nlab", NULL);
  g_file_set_contents(f, s->str, (gssize)s->len, NULL);
  g_free(f);
  g_string_free(s, TRUE);
}

/* Files included again and again count every time: 16 MiB in all. */
static void test_scenario_includes_are_bounded_in_total(void **state) {
  GString *t = g_string_new(NET);
  for (int i = 0; i < 8; i++)
    g_string_append(t, "include \"big.nlab\"\n");
  NlScenarioError code = 0;
  char *msg = load_in_dir(t->str, make_big, &code);
  assert_non_null(msg);
  /* Five copies and the file fit; the sixth does not. */
  if (!g_str_has_prefix(msg, "t.nlab:7:9: cannot include ") ||
      strstr(msg, "come to more than 16777216 bytes in total") == NULL)
    fail_msg("got %s", msg);
  assert_int_equal(code, NL_SCENARIO_ERROR_INCLUDE);
  g_free(msg);
  g_string_free(t, TRUE);
}

/* The scenario itself must be a regular file too. */
static void test_scenario_top_file_must_be_regular(void **state) {
  char *dir = g_dir_make_tmp("natlab-bounds-XXXXXX", NULL);
  make_fifo(dir);
  char *f = g_build_filename(dir, "pipe.nlab", NULL);
  GError *err = NULL;
  assert_null(nl_scenario_load(f, NULL, &err));
  assert_non_null(strstr(err->message, "it is a FIFO, not a regular file"));
  assert_true(g_str_has_prefix(err->message, f));
  g_error_free(err);
  g_unlink(f);
  g_rmdir(dir);
  g_free(f);
  g_free(dir);
}

static void test_scenario_include_cycle_names_the_chain(void **state) {
  char *a = bad_path("cycle-a.nlab"), *b = bad_path("cycle-b.nlab");
  char *chain =
      g_strdup_printf("include cycle: %s includes %s includes %s", a, b, a);
  expect_file_error("cycle-a.nlab", "cycle-b.nlab", "3:9",
                    NL_SCENARIO_ERROR_INCLUDE, chain);
  g_free(chain);
  g_free(a);
  g_free(b);
}

static void test_scenario_include_missing_file(void **state) {
  expect_file_error("include-missing.nlab", "include-missing.nlab", "2:9",
                    NL_SCENARIO_ERROR_INCLUDE, "cannot read included file");
}

static void test_scenario_error_in_included_file(void **state) {
  /* The location names the included file, not the including one. */
  expect_file_error("include-bad-inner.nlab", "inner-typo.nlab", "2:29",
                    NL_SCENARIO_ERROR_VALUE, "expected a time like 20ms");
}

static void test_scenario_user_program_missing(void **state) {
  char *want = bad_path("missing-client.c");
  char *phrase = g_strdup_printf("(looked for %s;", want);
  expect_file_error("program-missing.nlab", "program-missing.nlab", "4:7",
                    NL_SCENARIO_ERROR_VALUE, phrase);
  g_free(phrase);
  g_free(want);
}

static void test_scenario_missing_scenario_file(void **state) {
  GError *err = NULL;
  NlScenario *s = nl_scenario_load("/nonexistent/lab.nlab", NULL, &err);
  assert_null(s);
  assert_true(g_error_matches(err, NL_SCENARIO_ERROR, NL_SCENARIO_ERROR_IO));
  assert_true(
      g_str_has_prefix(err->message, "/nonexistent/lab.nlab: cannot read"));
  g_error_free(err);
}

static void test_scenario_nul_byte(void **state) {
  static const char text[] = NET "host a\x00\x01\x02\n";
  GError *err = NULL;
  NlScenario *s =
      nl_scenario_load_string("t.nlab", text, sizeof text - 1, NULL, &err);
  assert_null(s);
  assert_true(
      g_error_matches(err, NL_SCENARIO_ERROR, NL_SCENARIO_ERROR_ENCODING));
  assert_true(g_str_has_prefix(err->message, "t.nlab:2:7: NUL byte"));
  g_error_free(err);
}

static void test_scenario_only_first_error_is_reported(void **state) {
  GError *err = NULL;
  NlScenario *s = nl_scenario_load_string(
      "t.nlab", "hots a\nnetwrk b 10.0.0.0/24\n", -1, NULL, &err);
  assert_null(s);
  assert_true(g_str_has_prefix(err->message, "t.nlab:1:1: "));
  assert_null(strstr(err->message, "netwrk"));
  g_error_free(err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scenario_error_table),
      cmocka_unit_test(test_scenario_include_cycle_names_the_chain),
      cmocka_unit_test(test_scenario_include_missing_file),
      cmocka_unit_test(test_scenario_error_in_included_file),
      cmocka_unit_test(test_scenario_user_program_missing),
      cmocka_unit_test(test_scenario_missing_scenario_file),
      cmocka_unit_test(test_scenario_nul_byte),
      cmocka_unit_test(test_scenario_only_first_error_is_reported),
      cmocka_unit_test(test_scenario_doubling_constants_are_refused),
      cmocka_unit_test(test_scenario_include_of_a_fifo_is_refused),
      cmocka_unit_test(test_scenario_include_size_is_checked_first),
      cmocka_unit_test(test_scenario_includes_are_bounded_in_total),
      cmocka_unit_test(test_scenario_top_file_must_be_regular),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
