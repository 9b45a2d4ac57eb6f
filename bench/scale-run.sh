#!/bin/sh
# Whole `natlab run` processes at scale (issue 17): UDP echo through NATs
# or one router, with and without 1,000 expect lines and a trace; prints
# each case's counts and the median over RUNS of its CPU time
# (natlab run --stats), deliveries per CPU second of the run phase and of
# the whole process, the median peak RSS in KiB and the median elapsed
# time of the process (docs/performance.md, "Whole runs").
#
#   bench/scale-run.sh BUILD-DIR [RUNS [CASE...]]
#
# BUILD-DIR: a release build (meson setup build-rel --buildtype=release).
# Cases: nat10 nat1000 nat1000-expect nat1000-trace nat1000-expect-trace
# star1000 (all by default).  nat*: bench/scenarios/udp-echo-1000-nat.nlab
# (10 clients behind each NAT; nat10: --set lans=1, one NAT, and 20,000
# datagrams per client instead of 100, 500 s of virtual time); star1000: 1,000
# clients on 100 LANs joined by one router (generated); -expect: 1,000
# `expect stdout clientN/...` lines appended; -trace: --trace=FILE.
set -eu
build=${1:?usage: scale-run.sh BUILD-DIR [RUNS [CASE...]]}
runs=${2:-3}
[ $# -ge 2 ] && shift 2 || shift $#
cases=${*:-nat10 nat1000 nat1000-expect nat1000-trace nat1000-expect-trace star1000}
root=$(cd "$(dirname "$0")/.." && pwd)
natlab=$build/tools/natlab
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nat=$root/bench/scenarios/udp-echo-1000-nat.nlab
{
  cat "$nat"
  i=1
  while [ $i -le 1000 ]; do
    echo "expect stdout client$i/udp-echo-client contains \"100 of 100\""
    i=$((i + 1))
  done
} > "$tmp/expect.nlab"
sed -e 's/^duration 3s/duration 500s/' -e 's/\$msg 100 10/$msg 20000 10/' \
  -e 's/"100 of 100"/"20000 of 20000"/' "$nat" > "$tmp/nat10.nlab"
{
  echo "seed 1"
  echo "duration 3s"
  sed -n 's/^set msg = /set msg = /p' "$nat"
  echo "network core 100.64.0.0/24 latency=1ms"
  echo "network lan[1..100] 10.\${i/256}.\${i%256}.0/24 latency=1ms"
  echo "host server"
  echo "  link core 100.64.0.10"
  echo "  route default via 100.64.0.1"
  echo "  run udp-echo-server 7"
  echo "router r"
  echo "  link core 100.64.0.1"
  i=1
  while [ $i -le 100 ]; do
    echo "  link lan$i 10.$((i / 256)).$((i % 256)).1"
    i=$((i + 1))
  done
  echo "host client[1..1000]"
  echo "  link lan\${(i-1)/10+1} auto"
  echo "  route default via 10.\${((i-1)/10+1)/256}.\${((i-1)/10+1)%256}.1"
  echo "  run at=\${i%10}ms udp-echo-client 100.64.0.10 7 \$msg 100 10"
} > "$tmp/star.nlab"
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1); load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-22s %9s %9s %8s %8s %8s %10s %10s %9s %8s\n' case events delivered records \
  run-s cpu-s "deliv/s" "whole/s" rss-KiB wall-s
# Round-robin: run k of every case, then run k+1.  This machine's speed
# drifts by tens of per cent over minutes; consecutive runs of one case
# put a slow minute into one case's median, interleaved runs spread it
# over all (and keep ratios such as trace/no-trace fair).
args_of() {
  args="-q --stats"
  case $1 in
    nat10) file=$tmp/nat10.nlab; args="$args --set lans=1" ;;
    nat1000) file=$nat ;;
    nat1000-expect) file=$tmp/expect.nlab ;;
    nat1000-trace) file=$nat; args="$args --trace=$tmp/trace.txt" ;;
    nat1000-expect-trace) file=$tmp/expect.nlab; args="$args --trace=$tmp/trace.txt" ;;
    star1000) file=$tmp/star.nlab ;;
    *) echo "unknown case $1" >&2; exit 2 ;;
  esac
}
for c in $cases; do
  args_of "$c"
  : > "$tmp/lines-$c"
done
k=0
while [ $k -lt "$runs" ]; do
  for c in $cases; do
    args_of "$c"
    # A trace run writes a new file, as a first run does: replacing the
    # last run's 177 MB would add the kernel's discarding of its pages
    # (about 100 ms in rename(), docs/performance.md) to this run's time.
    rm -f "$tmp/trace.txt"
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    "$natlab" run $args "$file" 2>&1 | grep '^stats: ' > "$tmp/line" || true
    t1=$(date +%s%N)
    # the elapsed time, beside natlab's own counts
    [ -s "$tmp/line" ] && echo "$(cat "$tmp/line") wall=$(echo "($t1 - $t0) / 1000000000" | bc -l)" >> "$tmp/lines-$c"
  done
  k=$((k + 1))
done
for c in $cases; do
  cp "$tmp/lines-$c" "$tmp/lines"
  first=$(head -1 "$tmp/lines")
  run=$(field cpu-run < "$tmp/lines" | median)
  cpu=$(field cpu < "$tmp/lines" | sed -n 'p' | median)
  rss=$(field max-rss < "$tmp/lines" | median)
  wall=$(field wall < "$tmp/lines" | median)
  del=$(echo "$first" | field delivered)
  printf '%-22s %9s %9s %8s %8s %8s %10.0f %10.0f %9s %8.3f\n' "$c" \
    "$(echo "$first" | field events)" "$del" "$(echo "$first" | field records)" \
    "$run" "$cpu" "$(echo "$del / $run" | bc -l)" "$(echo "$del / $cpu" | bc -l)" "$rss" "$wall"
done
