#!/bin/sh
# Issue 17's table from one command: each workload's figure now, beside
# its target, from the benchmarks of a release build (medians of RUNS).
#
#   bench/scale-table.sh BUILD-DIR [RUNS]
#
# BUILD-DIR: meson setup build-rel --buildtype=release -Dtests=false, then
# ninja -C build-rel tools/natlab bench/bench-event bench/bench-coro-switch
# bench/bench-tcp.  Whole runs come from bench/scale-run.sh (see there);
# the event core from bench-event (3 M events, 1,000 pending), the switch
# from bench-coro-switch, TCP from bench-tcp (one flow, 2 s virtual: the
# stacks and a wire, not a whole natlab run).  CPU time throughout: on a
# shared machine wall time says more about the neighbours.  Not measured
# here: 10,000 hosts each running a natlab-cc program, and the ns-3 and
# floor comparisons (docs/performance.md).
set -eu
build=${1:?usage: scale-table.sh BUILD-DIR [RUNS]}
runs=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
k=0
while [ $k -lt "$runs" ]; do
  "$build/bench/bench-event" 3000000 1000 |
    sed -n 's/.* \([0-9.]*\) M\/s CPU.*/\1/p' >> "$tmp/event"
  "$build/bench/bench-coro-switch" 2>/dev/null | head -1 |
    sed -n 's/^switch: \([0-9.]*\) ns.*/\1/p' >> "$tmp/switch"
  "$build/bench/bench-tcp" 1 2 |
    sed -n 's/.* \([0-9]*\) per CPU second.*/\1/p' >> "$tmp/tcp"
  k=$((k + 1))
done
"$here/scale-run.sh" "$build" "$runs" nat10 nat1000 star1000 \
  nat1000-expect nat1000-trace > "$tmp/runs"
cat "$tmp/runs"
echo
col() { awk -v c="$1" -v f="$2" '$1 == c {print $f}' "$tmp/runs"; }
pct() { echo "($1 / $2 - 1) * 100" | bc -l | xargs printf '%+.0f %%'; }
printf '| %-44s | %-26s | %-26s |\n' workload "now (CPU)" target
printf '|%s|%s|%s|\n' ---------------------------------------------- \
  ---------------------------- ----------------------------
row() { printf '| %-44s | %-26s | %-26s |\n' "$1" "$2" "$3"; }
row "UDP echo, 10 hosts" \
  "$(echo "$(col nat10 8) / 1000000" | bc -l | xargs printf '%.2f') M deliveries/s" "≥ 2 M/s"
row "UDP echo, 1,000 hosts behind 100 NATs" \
  "$(echo "$(col nat1000 8) / 1000" | bc) k/s whole run" "≥ 1 M/s, whole run"
row "UDP echo, 1,000 hosts through one router" \
  "$(echo "$(col star1000 8) / 1000" | bc) k/s whole run" "≥ 1 M/s, whole run"
row "TCP, one flow (stacks only)" \
  "$(median < "$tmp/tcp") segments/s" "≥ 1 M/s (whole run)"
row "event core, 1,000 pending" "$(median < "$tmp/event") M events/s" "≥ 20 M/s"
row "coroutine switch" "$(median < "$tmp/switch") ns" "< 5 ns"
row "--trace=FILE, 1,000 hosts" \
  "$(pct "$(col nat1000-trace 6)" "$(col nat1000 6)") run time" "< 2× slower, memory bounded"
row "1,000 expect lines, 1,000 hosts" \
  "$(pct "$(col nat1000-expect 6)" "$(col nat1000 6)") run time" "< +10 %"
