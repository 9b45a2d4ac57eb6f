#!/bin/sh
# The UDP echo workload of a scenario, as KEY=VALUE parameters for the
# floor (bench-floor) and the ns-3 program (bench/ns3/udp-echo.cc), so that
# they run what natlab runs (issue 17, bench/issue17).
#
#   bench/workload.sh SCENARIO [NAME=VALUE...]
#
# NAME=VALUE: as natlab run --set.  Reads the scenario's shape of
# bench/scenarios/udp-echo-1000-nat.nlab: `set` constants, `duration`,
# `network internet ... latency=`, `network lan[...] ... latency=`,
# `host client[1..EXPR]` and its `run at=${i%SPREAD}ms udp-echo-client HOST
# PORT MSG COUNT INTERVAL_MS` line (MSG a constant or a word; client i
# starts at i % SPREAD ms).  EXPR: a number, a
# constant, or a product of them (${lans*10}).  Prints one line:
#
#   lans=100 per-lan=10 count=100 interval-ms=10 spread-ms=10 size=100
#   lan-ms=1 internet-ms=5 duration-s=3 deliveries=200000
#
# deliveries is what the workload delivers (2 per datagram): bench/issue17
# checks it against natlab run --stats.  Exits 2 on a scenario of another
# shape.
set -eu
file=${1:?usage: workload.sh SCENARIO [NAME=VALUE...]}
shift
awk -v sets="$*" '
function val(e,   n, parts, i, r, t) {
  gsub(/[${} ]/, "", e)
  n = split(e, parts, "*")
  r = 1
  for (i = 1; i <= n; i++) {
    t = parts[i]
    if (t in v) t = v[t]
    if (t !~ /^[0-9]+$/) { bad = "cannot evaluate " e; return 0 }
    r *= t
  }
  return r
}
function ms(s) {
  if (s ~ /ms$/) { sub(/ms$/, "", s); return s + 0 }
  if (s ~ /s$/) { sub(/s$/, "", s); return s * 1000 }
  return s + 0
}
$1 == "set" && $3 == "=" { v[$2] = $4 }
$1 == "duration" { dur = $2; sub(/s$/, "", dur) }
$1 == "network" && $2 ~ /^internet/ {
  for (i = 3; i <= NF; i++) if ($i ~ /^latency=/) { x = $i; sub(/^latency=/, "", x); inet = ms(x) } }
$1 == "network" && $2 ~ /^lan/ {
  for (i = 3; i <= NF; i++) if ($i ~ /^latency=/) { x = $i; sub(/^latency=/, "", x); lan = ms(x) } }
$1 == "host" && $2 ~ /^client\[1\.\./ { clients = $2; in_client = 1; next }
$1 == "host" || $1 == "nat" || $1 == "router" || $1 == "network" { in_client = 0 }
in_client && $1 == "run" {
  for (i = 2; i <= NF; i++) if ($i ~ /^at=\$\{i%[0-9]+\}ms$/) { spread = $i; gsub(/[^0-9]/, "", spread) }
  for (i = 2; i <= NF; i++) if ($i == "udp-echo-client") break
  if (i > NF) next
  m = $(i + 3); cnt = $(i + 4); ivl = $(i + 5)
}
END {
  n = split(sets, s, " ")
  for (i = 1; i <= n; i++) { split(s[i], kv, "="); v[kv[1]] = kv[2] }
  if (clients == "" || cnt == "" || lan == "" || inet == "") {
    print "workload.sh: not a UDP echo scenario of the benchmark'"'"'s shape" > "/dev/stderr"; exit 2 }
  sub(/^client\[1\.\./, "", clients); sub(/\]$/, "", clients)
  nclients = val(clients)
  lans = ("lans" in v) ? v["lans"] : 1
  if (m ~ /^\$/) { k = m; sub(/^\$/, "", k); m = v[k] }
  c = val(cnt); iv = val(ivl)
  if (bad != "" || lans < 1 || nclients % lans != 0) {
    print "workload.sh: " (bad != "" ? bad : "clients not a multiple of LANs") > "/dev/stderr"; exit 2 }
  if (spread == "") { print "workload.sh: no at=${i%N}ms on the clients'"'"' run line" > "/dev/stderr"; exit 2 }
  printf "lans=%d per-lan=%d count=%d interval-ms=%d spread-ms=%d size=%d lan-ms=%d internet-ms=%d duration-s=%s deliveries=%d\n",
    lans, nclients / lans, c, iv, spread, length(m), lan, inet, dur, 2 * nclients * c
}' "$file"
