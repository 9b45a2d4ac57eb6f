#!/bin/sh
# What a Python process costs (issue 18): N hosts, each running the
# chapter's UDP server (scenarios/lessons/socket-lifecycle/udp-echo-server.py,
# unchanged) under natlab-python and a C client that gets one echo from it.
# Runs the scenario for 1 host and for N, and prints natlab's wall time,
# CPU time and peak resident memory for each, then the cost of one more
# Python process: the difference divided by N - 1 (docs/performance.md,
# "Python").
#
#   bench/python-hosts.sh BUILD-DIR [N [SPREAD]]
#
# N defaults to 100.  The servers all start at 0 s, so their start-ups
# interleave call by call (the lab runs the process whose virtual clock is
# earliest); SPREAD (ms) starts the k-th at k * SPREAD ms instead, so each
# starts up alone.
set -eu
build=${1:?usage: python-hosts.sh BUILD-DIR [N [SPREAD]]}
n=${2:-100}
spread=${3:-0}
root=$(cd "$(dirname "$0")/.." && pwd)
natlab=$build/tools/natlab
[ -f "$build/programs/python3.so" ] || {
  echo "natlab-python is not built (no libpython3.11-dev)" >&2
  exit 77
}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$root/scenarios/lessons/socket-lifecycle/udp-echo-server.py" "$dir/"

scenario() { # HOSTS > FILE
  echo "seed 1"
  echo "duration $((3 + n * spread / 1000))s"
  echo "network lan 10.0.0.0/16 latency=1ms"
  h=1
  while [ "$h" -le "$1" ]; do
    echo "host s$h"
    echo "  link lan 10.0.$((h / 250)).$((h % 250 + 1))"
    echo "  run at=$((h * spread))ms ./udp-echo-server.py"
    echo "  run at=$((1000 + n * spread))ms udp-echo-client 127.0.0.1 8080 hello 1 200"
    h=$((h + 1))
  done
  echo "expect stdout s$1/udp-echo-client contains \"1 of 1 echoes received\""
}

measure() { # HOSTS: prints "wall cpu peak-KiB"
  scenario "$1" > "$dir/p$1.nlab"
  /usr/bin/time -f "%e %U %S %M" -o "$dir/t$1" \
    "$natlab" run -q "$dir/p$1.nlab" > "$dir/out$1"
  grep -q "1 of 1 expectations held" "$dir/out$1" || {
    cat "$dir/out$1" >&2
    exit 1
  }
  read -r wall user sys peak < "$dir/t$1"
  echo "$wall $(echo "$user + $sys" | bc) $peak"
}

set -- $(measure 1) $(measure "$n")
echo "1 Python host:    $1 s wall, $2 s CPU, $3 KiB peak"
echo "$n Python hosts:  $4 s wall, $5 s CPU, $6 KiB peak"
echo "each further Python process: $(echo "scale=1; ($4 - $1) * 1000 / ($n - 1)" | bc) ms wall," \
  "$(echo "scale=1; ($5 - $2) * 1000 / ($n - 1)" | bc) ms CPU," \
  "$(echo "scale=2; ($6 - $3) / 1024 / ($n - 1)" | bc) MiB"
