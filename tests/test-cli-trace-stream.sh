#!/bin/bash
# natlab run --trace=FILE alone is written as the run goes
# (tools/run-trace-stream.c): the same bytes as the trace written after the
# run from kept records (as when another output is asked for, or with
# --trace=-), a second run the same, nothing kept for it (records= of
# --stats is what a run without outputs keeps), a run that cannot start
# leaves FILE as it was, and devices are written as before.  TAP.
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
cat > "$tmp/lab.nlab" <<'NLAB'
duration 3s
network internet 192.0.2.0/24 latency=2ms
network lan 10.0.0.0/24 latency=1ms
host server
  link internet 192.0.2.10
  run udp-echo-server 7
  run tcp-echo-server 8
nat gw preset=symmetric
  inside lan 10.0.0.1
  outside internet 192.0.2.1
host c[1..3]
  link lan auto
  route default via 10.0.0.1
  run at=${i}ms udp-echo-client 192.0.2.10 7 hello 5 20
  run at=${i*10+200}ms tcp-echo-client 192.0.2.10 8 hi
host outsider
  link internet 192.0.2.20
  run at=1s udp-echo-client 192.0.2.1 9 knock 1 10
expect stdout c[1..3]/udp-echo-client contains "5 of 5"
expect stdout c1/tcp-echo-client contains "nothing like this"
NLAB
stat_records() { sed -n 's/^stats: .* records=\([0-9]*\) .*/\1/p' "$1"; }
"$natlab" run -q --stats --trace="$tmp/streamed.txt" "$tmp/lab.nlab" > "$tmp/out1" 2>&1
check "a streamed run reports as usual" grep -q "1 of 2 expectations held" "$tmp/out1"
check "the failed expectation is explained" grep -q "c1/tcp-echo-client printed on stdout" "$tmp/out1"
"$natlab" run -q --trace="$tmp/kept.txt" --jsonl="$tmp/kept.jsonl" "$tmp/lab.nlab" > "$tmp/out2" 2>&1
check "the same bytes as the trace written from kept records" cmp -s "$tmp/streamed.txt" "$tmp/kept.txt"
check "the same report (without the stats line)" test "$(grep -v '^stats: ' "$tmp/out1")" = "$(cat "$tmp/out2")"
"$natlab" run -q --trace=- "$tmp/lab.nlab" > "$tmp/stdout.txt" 2>/dev/null
check "the same bytes as --trace=-" cmp -s "$tmp/streamed.txt" "$tmp/stdout.txt"
check "the trace has the packets" grep -q 'deliver' "$tmp/streamed.txt"
"$natlab" run -q --trace="$tmp/again.txt" "$tmp/lab.nlab" > /dev/null 2>&1
check "a second run writes the same bytes" cmp -s "$tmp/streamed.txt" "$tmp/again.txt"
"$natlab" run -q --stats "$tmp/lab.nlab" > "$tmp/none" 2>&1
lines=$(wc -l < "$tmp/streamed.txt")
check "nothing kept for the trace ($(stat_records "$tmp/out1") records kept, $lines written)" \
  test "$(stat_records "$tmp/out1")" = "$(stat_records "$tmp/none")" -a "$lines" -gt "$(stat_records "$tmp/none")"
check "no temporary file left" test "$(ls "$tmp" | grep -c 'streamed.txt.')" = 0
# A run that cannot start: FILE keeps its content, no temporary file.
printf 'duration 1s\nhost h\n  run ./no-such-program.c\n' > "$tmp/bad.nlab"
echo "old content" > "$tmp/old.txt"
"$natlab" run -q --trace="$tmp/old.txt" "$tmp/bad.nlab" > /dev/null 2>&1
check "a run that cannot start fails" test $? != 0
check "and leaves FILE as it was" test "$(cat "$tmp/old.txt")" = "old content"
check "and no temporary file" test "$(ls "$tmp" | grep -c 'old.txt.')" = 0
# Not a regular file: written after the run, as before.
mkfifo "$tmp/fifo"
cat "$tmp/fifo" > "$tmp/from-fifo" &
reader=$!
"$natlab" run -q --trace="$tmp/fifo" "$tmp/lab.nlab" > /dev/null 2>&1
wait "$reader"
check "a FIFO gets the same bytes" cmp -s "$tmp/streamed.txt" "$tmp/from-fifo"
check "the FIFO is still a FIFO" test -p "$tmp/fifo"
ln -s streamed.txt "$tmp/link.txt"
"$natlab" run -q --trace="$tmp/link.txt" "$tmp/lab.nlab" > /dev/null 2>&1
check "a symbolic link is written through" test -L "$tmp/link.txt"
echo "1..$n"
exit $failed
