#!/bin/sh
# Issue 17's plot: CPU cost per delivery (ns) against hosts, 10 .. 100,000,
# for natlab (the whole process: load, build, run, end), the single-core
# floor (bench-floor) and ns-3 (Simulator::Run() alone; where installed,
# up to NS3_MAX hosts, 10,000 by default).  Written as SVG with gnuplot;
# the figures also go to stdout and to PLOT.svg's name with .dat.
#
#   bench/cost-plot.sh BUILD-DIR PLOT.svg [HOSTS...]
#
# The workload: bench/scenarios/udp-echo-1000-nat.nlab with --set
# lans=HOSTS/10 (ten clients behind each NAT), COUNT datagrams a client
# with COUNT = max(4, 200,000 / HOSTS) (about 400,000 deliveries a point,
# 800,000 at 100,000 hosts), the virtual duration long enough for them.
# Beyond 1,000 hosts the one echo server would be overloaded (natlab
# charges virtual CPU time for its calls; its receive buffer overflows and
# clients wait out their 1 s timeouts), so the pause after an echo and the
# spread of the clients' start times grow to HOSTS / 100 ms.
# Beyond 10,000 hosts the message is 32 bytes (a scenario's words may come
# to 16 MiB at most).  One run a point, none of the scenario's expect
# lines: this script checks the deliveries.  100,000 hosts take 20-60 s of
# CPU and a few GiB; a natlab run is stopped after TIMEOUT s (600).
# Environment: NS3=0 leaves ns-3 out; NS3_MAX=N its largest size;
# REPLOT=1 draws PLOT.dat again without measuring.
set -eu
build=${1:?usage: cost-plot.sh BUILD-DIR PLOT.svg [HOSTS...]}
out=${2:?usage: cost-plot.sh BUILD-DIR PLOT.svg [HOSTS...]}
shift 2
sizes=${*:-10 100 1000 10000 50000 100000}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$(cd "$build" && pwd)
natlab=$build/tools/natlab
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
ns3_bin=
if [ "${NS3:-1}" != 0 ]; then
  ns3_bin=$("$here/ns3/build.sh" "$build/bench/ns3-udp-echo" 2>/dev/null) ||
    ns3_bin=
fi
ns3_max=${NS3_MAX:-10000}
dat=${out%.svg}.dat
if [ "${REPLOT:-0}" = 1 ] && [ -f "$dat" ]; then
  echo "cost-plot: REPLOT=1: drawing $dat again"
else
{
  echo "# bench/cost-plot.sh: CPU ns per delivery; natlab $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d')"
  echo "# hosts deliveries natlab-whole natlab-run floor ns3-run natlab-peak-KiB"
} > "$tmp/dat"
printf '%8s %10s %12s %12s %10s %10s %12s\n' hosts deliveries \
  "natlab ns" "(run phase)" "floor ns" "ns-3 ns" "natlab RSS"
for n in $sizes; do
  lans=$((n / 10))
  [ "$lans" -ge 1 ] || lans=1
  count=$((200000 / n))
  [ "$count" -ge 4 ] || count=4
  # one echo server for all: keep its load (about 4 us of virtual CPU an
  # echo) under half and its bursts (clients starting in the same ms stay
  # in step) under its receive buffer
  ivl=$((n / 100))
  [ "$ivl" -ge 10 ] || ivl=10
  # each round: an echo after 2 x (1 + 5) ms, then a pause
  dur=$(((count * (ivl + 12) + ivl) / 1000 + 2))
  sed -e "s/^duration .*/duration ${dur}s/" \
    -e "s/at=\${i%10}ms/at=\${i%$ivl}ms/" \
    -e "s/\\\$msg 100 10/\$msg $count $ivl/" \
    -e '/^expect /d' "$root/bench/scenarios/udp-echo-1000-nat.nlab" \
    > "$tmp/w.nlab"
  if [ "$n" -gt 10000 ]; then
    # a scenario's words are at most 16 MiB after expansion: 100,000 copies
    # of the run line with a 100-byte message are more
    sed -i 's/^set msg = .*/set msg = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/' "$tmp/w.nlab"
  fi
  w=$("$here/workload.sh" "$tmp/w.nlab" lans=$lans)
  want=$(echo "$w" | field deliveries)
  timeout "${TIMEOUT:-600}" "$natlab" run -q --stats --set lans=$lans \
    "$tmp/w.nlab" > "$tmp/out" 2>&1 || true
  st=$(grep '^stats: ' "$tmp/out" || true)
  del=$(echo "$st" | field delivered)
  why=
  if [ -n "$del" ] && [ "$del" != 0 ]; then
    nl=$(echo "scale=1; 1000000000 * $(echo "$st" | field cpu) / $del" | bc)
    nlr=$(echo "scale=1; 1000000000 * $(echo "$st" | field cpu-run) / $del" | bc)
    rss=$(echo "$st" | field max-rss)
  else
    nl=NaN nlr=NaN rss=NaN del=0
    why=$(grep -v '^ *$' "$tmp/out" | tail -1)
    echo "# $n hosts: natlab failed: ${why:-timed out after ${TIMEOUT:-600} s}" >> "$tmp/dat"
  fi
  [ "$del" = "$want" ] ||
    echo "cost-plot: $n hosts: natlab delivered $del, the workload says $want${why:+ ($why)}" >&2
  # shellcheck disable=SC2086
  fl=$("$build/bench/bench-floor" $w | field 'ns\/delivery')
  n3=NaN
  if [ -n "$ns3_bin" ] && [ "$n" -le "$ns3_max" ]; then
    args=$(echo "$w" | awk '{for (i = 1; i <= NF; i++) {split($i, kv, "=");
      m = kv[1]; sub(/-lan$/, "Lan", m); sub(/-ms$/, "Ms", m); sub(/-s$/, "S", m);
      if (m != "deliveries") printf "--%s=%s ", m, kv[2]}}')
    # shellcheck disable=SC2086
    n3=$("$ns3_bin" $args | field 'ns\/delivery')
    [ -n "$n3" ] || n3=NaN
  fi
  printf '%8d %10d %12.0f %12.0f %10.1f %10.0f %12s\n' "$n" "$del" "$nl" \
    "$nlr" "$fl" "$n3" "$rss"
  echo "$n $del $nl $nlr $fl $n3 $rss" >> "$tmp/dat"
done
cp "$tmp/dat" "$dat"
fi
made=$(sed -n '1s/.*; natlab \([^,]*\), \(.*\)/\1 (release); \2/p' "$dat")
model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
gnuplot <<EOF
set terminal svg size 800,560 dynamic font "Helvetica,13" background "white"
set output "$out"
set title "CPU time per delivered datagram: UDP echo, 10 hosts behind each NAT\n$model, $(nproc) cores; natlab $made" font ",12"
set xlabel "hosts"
set ylabel "CPU ns per delivery (log)"
set logscale xy
set xrange [7:140000]
set xtics ("10" 10, "100" 100, "1,000" 1000, "10,000" 10000, "100,000" 100000)
set grid xtics ytics mytics lc rgb "#dddddd"
set key below
set datafile missing "NaN"
plot "$dat" using 1:3 with linespoints lw 2 pt 7 lc rgb "#1565c0" title "natlab run, whole process", \
     "$dat" using 1:4 with linespoints lw 1 pt 6 dt 2 lc rgb "#1565c0" title "natlab, run phase only", \
     "$dat" using 1:5 with linespoints lw 2 pt 5 lc rgb "#2e7d32" title "single-core floor (bench-floor)", \
     "$dat" using 1:6 with linespoints lw 2 pt 9 lc rgb "#c62828" title "ns-3 3.37, Simulator::Run() only"
EOF
echo "plot: $out (figures: $dat)"
