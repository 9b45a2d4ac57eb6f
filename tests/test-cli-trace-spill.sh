#!/bin/bash
# natlab run with outputs that read every record after the run (a
# timeline, a capture, JSON lines, the text trace beside them): the records
# go to a temporary file as the run goes (nl_trace_spill), memory holding a
# window of them.  Every output, and the printed report, is the same byte
# for byte whether the trace is kept in memory (--trace-window=0), spilled
# through a tiny window (every record written alone, or a few at a time) or
# through the default one, for a few lessons.  TAP.
set -u
build=${NATLAB_BUILD_ROOT:?}
src=${NATLAB_SOURCE_ROOT:?}
natlab=$build/tools/natlab
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TMPDIR=$tmp/spill
mkdir -p "$TMPDIR"
lessons="flagship/udp-echo framing/tcp-framing client-server-p2p/tcp-hole-punch
  nat-types/symmetric sweeps/tcp-loss"
for l in $lessons; do
  f=$src/scenarios/lessons/$l.nlab
  name=${l//\//-}
  for w in 0 64 1000 default; do
    d=$tmp/$name-$w
    mkdir -p "$d"
    win=--trace-window=$w
    [ $w = default ] && win=
    # Relative names: the report names the timeline's files.
    # shellcheck disable=SC2086
    (cd "$d" && "$natlab" run $win --trace=trace.txt --timeline=t.svg \
      --pcap=c.pcap --jsonl=r.jsonl "$f" > out 2> err; echo $? > rc)
  done
  check "$l: outputs were written" test -s "$tmp/$name-0/trace.txt" -a \
    -s "$tmp/$name-0/t.svg" -a -s "$tmp/$name-0/c.pcap" -a \
    -s "$tmp/$name-0/r.jsonl"
  for w in 64 1000 default; do
    same=1
    for o in trace.txt t.svg c.pcap r.jsonl out err rc; do
      cmp -s "$tmp/$name-0/$o" "$tmp/$name-$w/$o" || { same=0; echo "# $l: $o differs with window $w"; }
    done
    check "$l: window $w gives the same outputs and report as memory" test $same = 1
  done
  # The text trace alone is streamed: the same text again.
  "$natlab" run --trace="$tmp/$name-alone.txt" "$f" > /dev/null 2>&1
  check "$l: the same text as the streamed trace" \
    cmp -s "$tmp/$name-0/trace.txt" "$tmp/$name-alone.txt"
done
check "no temporary file left" test -z "$(ls -A "$TMPDIR")"
# A run that asks for the whole trace on stdout reads it back too.
f=$src/scenarios/lessons/sweeps/tcp-loss.nlab
"$natlab" run -q --trace-window=100 --trace=- --pcap=/dev/null "$f" > "$tmp/stdout.txt" 2>/dev/null
check "--trace=- spilled: the same text" cmp -s "$tmp/stdout.txt" "$tmp/sweeps-tcp-loss-0/trace.txt"
echo "1..$n"
exit $failed
