#!/bin/bash
# natlab run --stats (tools/run-stats.c): one line of what the run did and
# cost.  Its counts are the simulation's, the same on every run and
# whichever outputs are asked for; delivered= is the number of delivery
# records of the full trace.  TAP.
set -u
build=${NATLAB_BUILD_ROOT:?}
natlab=$build/tools/natlab
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/echo.nlab" <<'NLAB'
duration 2s
network lan 10.0.0.0/24 latency=1ms
host server
  link lan 10.0.0.1
  run udp-echo-server 7
host c[1..3]
  link lan auto
  run at=${i}ms udp-echo-client 10.0.0.1 7 hello 10 50
expect stdout c[1..3]/udp-echo-client contains "10 of 10"
NLAB
counts() { sed -n 's/^stats: \(events=.* records=[0-9]*\) cpu-load=.*/\1/p'; }
"$natlab" run -q --stats "$tmp/echo.nlab" > "$tmp/a" 2>&1
check "a run with --stats passes" test $? = 0
line=$(grep '^stats: ' "$tmp/a")
check "one stats line" test "$(grep -c '^stats: ' "$tmp/a")" = 1
check "every field" bash -c "echo '$line' | grep -qE '^stats: events=[0-9]+ hops=[0-9]+ delivered=[0-9]+ forwarded=[0-9]+ dropped=[0-9]+ records=[0-9]+ cpu-load=[0-9.]+ cpu-build=[0-9.]+ cpu-run=[0-9.]+ cpu-end=[0-9.]+ cpu=[0-9.]+ max-rss=[0-9]+\$'"
"$natlab" run -q --stats "$tmp/echo.nlab" > "$tmp/b" 2>&1
check "the same counts on a second run" test "$(counts < "$tmp/a")" = "$(counts < "$tmp/b")"
# --trace=- keeps every record and writes them after the run (a trace to
# a file is written as the run goes and keeps none: test-cli-trace-stream).
"$natlab" run -q --stats --trace=- "$tmp/echo.nlab" > "$tmp/trace.txt" 2> "$tmp/c"
full=$(counts < "$tmp/c")
check "the same events and packets with the full trace" \
  test "${full% records=*}" = "$(counts < "$tmp/a" | sed 's/ records=.*//')"
# 3 clients x 10 datagrams, each delivered to the server and back.
delivered=$(sed -n 's/.* delivered=\([0-9]*\) .*/\1/p' "$tmp/a")
check "delivered= counts the deliveries ($delivered)" test "$delivered" = 60
check "records= counts what the full trace kept" \
  test "$(sed -n 's/.* records=\([0-9]*\).*/\1/p' "$tmp/c")" = "$(wc -l < "$tmp/trace.txt")"
"$natlab" run -q "$tmp/echo.nlab" > "$tmp/d" 2>&1
check "no stats line without --stats" test "$(grep -c '^stats: ' "$tmp/d")" = 0
echo "1..$n"
exit $failed
