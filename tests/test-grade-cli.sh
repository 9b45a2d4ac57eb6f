#!/bin/sh
# natlab grade from the command line (docs/grading.md), on the small
# assignment tests/grade/echo and the submissions in tests/grade/subs:
# full marks for the reference, each hostile or wrong submission a named
# failure while the others are graded, nothing escaping to this machine,
# byte-identical reports in every format (also on a loaded machine),
# shards merged through GNU parallel equal to one run, -o as documented,
# and a broken assignment reported as file:line:col with exit status 2.
set -u
root=${NATLAB_SOURCE_ROOT:?}
build=${NATLAB_BUILD_ROOT:?}
natlab="$build/tools/natlab"
asg="$root/tests/grade/echo"
subs="$root/tests/grade/subs"
tmp=$(mktemp -d)
burner=""
cleanup() {
  [ -n "$burner" ] && kill "$burner" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { # DESCRIPTION COMMAND...
  d=$1; shift
  if "$@"; then ok "$d"; else not_ok "$d"; fi
}
has() { grep -q -- "$1" "$2" || { echo "# $2 lacks: $1"; sed 's/^/# /' "$2" | head -40; return 1; }; }

# 1. The reference solution scores full marks; exit status 0.
"$natlab" grade "$asg" "$asg/reference" > "$tmp/ref.txt" 2> "$tmp/ref.err"
check "grading the reference exits 0" test $? -eq 0
check "the reference scores full marks" has "^score: 11/11 (6 of 6 tests passed)" "$tmp/ref.txt"

# 2. Wrong and hostile submissions: each a named failure, the grader goes
# on, and the exit status stays 0 (every submission was graded).
rm -f /tmp/natlab-grade-escape-test
set -- reference crash leak deadlock nobuild raw-socket signal-parent \
  write-outside refused-fork spin spin-noalarm alloc
dirs=""
for s in "$@"; do
  [ "$s" = reference ] && dirs="$dirs $asg/reference" || dirs="$dirs $subs/$s"
done
# shellcheck disable=SC2086
"$natlab" grade "$asg" $dirs -o "$tmp/all" --jobs 2 2> "$tmp/all.err"
check "grading twelve submissions, hostile ones among them, exits 0" test $? -eq 0
for s in "$@"; do
  check "a report for $s" test -s "$tmp/all/$s.txt"
done
check "a crash is named, with host, program, source line and virtual time" \
  has "crash: srv/server crashed: Segmentation fault at server.c:27 in main at virtual time 1.003002000s" "$tmp/all/crash.txt"
check "a crash scores 0" has "^score: 0/11" "$tmp/all/crash.txt"
check "a deadlock names each blocked call and since when" \
  has "deadlock: srv/server at virtual time 5.000000000s: blocked: thread 100 in pthread_join() since 0.000007000s; thread 101 in pthread_mutex_lock() since 0.000006000s" "$tmp/all/deadlock.txt"
check "a spin is named (the program's own CPU time)" \
  has "failure: spin" "$tmp/all/spin.txt"
check "a raw socket() is an escape attempt, stopped" \
  has "escape attempt: srv/server: the system call socket (a real socket) was refused at virtual time 0.000005000s" "$tmp/all/raw-socket.txt"
check "signalling the grader is an escape attempt, stopped" \
  has "escape attempt: srv/server: the system call kill (a real signal) was refused" "$tmp/all/signal-parent.txt"
check "a build failure carries the compiler's messages, naming the file" \
  has "server.c:2:42: error" "$tmp/all/nobuild.txt"
check "a refused call is a build failure naming the call" \
  has "the program calls fork()" "$tmp/all/refused-fork.txt"
check "a spin with the watchdog's signals blocked is still a spin (the seal ignores a program's signal mask)" \
  has "failure: spin" "$tmp/all/spin-noalarm.txt"
# Without natlab's seal (a debugging switch), the mask holds: the child's
# CPU-time limit is the last resort.
NL_GRADE_DEBUG_NO_SECCOMP=1 "$natlab" grade "$asg" "$subs/spin-noalarm" \
  > "$tmp/noalarm.txt" 2>&1
check "without the seal, the CPU-time limit stops it" \
  has "the test used more than its CPU-time limit (4 s) and was stopped" "$tmp/noalarm.txt"
# The programs' heaps may hold half the memory limit: the allocation past
# it fails (NULL), at the same allocation on every machine, and is named.
check "allocating without bound is stopped at the memory limit" \
  has "failure: memory limit" "$tmp/all/alloc.txt"
check "the memory limit names the program, the virtual time and the call" \
  has "srv/server ran out of memory at virtual time [0-9.]*s: malloc(1048576) failed with 512 MiB in use (all programs' heaps together may hold 512 MiB)" "$tmp/all/alloc.txt"
check "a leak loses exactly the points of its test" has "^score: 10/11" "$tmp/all/leak.txt"
check "the leak's test says what was measured" \
  has "fds=6" "$tmp/all/leak.txt"
check "a write outside the scratch folder does not happen" \
  test ! -e /tmp/natlab-grade-escape-test
check "and is named an escape attempt" \
  has "escape attempt: srv/server: the system call open (writing a file) was refused" "$tmp/all/write-outside.txt"
check "the grader itself survived its submissions (reference graded after them)" \
  has "^score: 11/11" "$tmp/all/reference.txt"
check "failed tests carry a timeline SVG" \
  test -s "$tmp/all/timelines/crash--01-echoes-one-line.svg"
check "a failed test says how to replay it" \
  has "replay: natlab-cc -o server.so server.c && natlab run echo/tests/one-client.nlab --set server=./server.so --seed 1" "$tmp/all/crash.txt"
check "the grader's stderr is empty" test ! -s "$tmp/all.err"

# 3. Same grade everywhere: two gradings are byte-identical in every
# format, also while another process loads the machine.
set -- "$asg" "$asg/reference" "$subs/crash" "$subs/leak" "$subs/deadlock" \
  "$subs/nobuild" "$subs/raw-socket"
for f in text tap junit gradescope; do
  "$natlab" grade "$@" --format $f -o "$tmp/a-$f" 2>/dev/null
  "$natlab" grade "$@" --format $f -o "$tmp/b-$f" --jobs 1 2>/dev/null
  check "two $f gradings are byte-identical" diff -r "$tmp/a-$f" "$tmp/b-$f"
done
# A bounded CPU burner on every core (killed at the end, or after 60 s).
timeout 60 sh -c 'while :; do :; done' & burner=$!
timeout 60 sh -c 'while :; do :; done' & burner="$burner $!"
for f in tap junit; do
  "$natlab" grade "$@" --format $f -o "$tmp/c-$f" 2>/dev/null
  check "a $f grading on a loaded machine is byte-identical" \
    cmp -s "$tmp/a-$f" "$tmp/c-$f"
done
# shellcheck disable=SC2086
kill $burner 2>/dev/null
burner=""

# 4. Reports are well formed.
if command -v python3 > /dev/null; then
  check "the JUnit report is XML with a testsuite per submission" \
    python3 -c "import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
s = r.findall('testsuite')
assert [x.get('name') for x in s] == ['reference','crash','leak','deadlock','nobuild','raw-socket'], s
assert all(len(x.findall('testcase')) == 6 for x in s)" "$tmp/a-junit"
  check "Gradescope's results.json has score, max_score and tests" \
    python3 -c "import json, sys
d = json.load(open(sys.argv[1] + '/leak.json'))
assert d['score'] == 10 and d['max_score'] == 11, d
assert [t['score'] for t in d['tests']] == [5, 1, 2, 1, 1, 0], d['tests']
assert all(set(t) >= {'name','score','max_score','output'} for t in d['tests'])" "$tmp/a-gradescope"
fi
check "TAP 13 counts every test of every submission" \
  has "^1\.\.36$" "$tmp/a-tap"

# 5. Shards through GNU parallel, merged: the report of a single run.
if command -v parallel > /dev/null; then
  parallel --will-cite -j 2 "$natlab" grade "$*" --shard {}/4 \
    -o "$tmp/shard-{}.res" ::: 1 2 3 4 2>/dev/null
  "$natlab" grade --merge "$tmp"/shard-*.res --format tap -o "$tmp/merged.tap"
  check "four shards merged give the single run's TAP, byte for byte" \
    cmp -s "$tmp/a-tap" "$tmp/merged.tap"
  "$natlab" grade --merge "$tmp"/shard-*.res -o "$tmp/merged-text"
  check "and the single run's text reports and timelines" \
    diff -r "$tmp/a-text" "$tmp/merged-text"
  "$natlab" grade --merge "$tmp"/shard-1.res "$tmp"/shard-2.res \
    > /dev/null 2> "$tmp/merge.err"
  check "a merge missing shards exits 2" test $? -eq 2
  check "and says a unit is missing" has "is missing" "$tmp/merge.err"
else
  ok "# SKIP GNU parallel is not installed (tools/setup installs it)"
fi

# 6. --seeds: a test whose outcome depends on the seed is flagged; the
# score is the first seed's, and the flag is the same every time.
udp="$root/tests/grade/udp"
"$natlab" grade "$udp" "$udp/reference" --seeds 8 > "$tmp/seeds1.txt"
"$natlab" grade "$udp" "$udp/reference" --seeds 8 --jobs 1 > "$tmp/seeds2.txt"
check "--seeds flags a test whose outcome depends on the seed" \
  has "seeds: the outcome depends on the seed: it passes with seed .* and fails with seed .*" "$tmp/seeds1.txt"
check "and flags it the same way twice" cmp -s "$tmp/seeds1.txt" "$tmp/seeds2.txt"
"$natlab" grade "$asg" "$asg/reference" --seeds 3 > "$tmp/seeds3.txt"
check "a test that holds under every seed is not flagged" \
  sh -c "! grep -q 'depends on the seed' '$tmp/seeds3.txt'"

# 7. A per-host descriptor limit (host nofile=16) and 40 clients one after
# another: the leaking server runs out, a named failure; the reference
# holds.
leaky="$root/tests/grade/leaky"
"$natlab" grade "$leaky" "$leaky/reference" "$subs/leak" -o "$tmp/leaky"
check "under a descriptor limit the reference scores full marks" \
  has "^score: 4/4" "$tmp/leaky/reference.txt"
# (Out of descriptors, accept() fails at once and leaves the connection
# queued, as on Linux: the leaking server's accept loop spins on EMFILE.)
check "and a leak is the named failure descriptor leak" \
  has "descriptor leak: srv/server ran out of descriptors (EMFILE [0-9][0-9]* times)" "$tmp/leaky/leak.txt"

# 8. -o: one submission's text report is the file itself.
"$natlab" grade "$asg" "$subs/leak" -o "$tmp/one.txt"
check "-o with one submission names the report file" has "^submission: leak" "$tmp/one.txt"
check "its timelines go beside it" test -d "$tmp/timelines"

# 9. A broken assignment: file:line:col, exit status 2.
mkdir -p "$tmp/broken/tests" "$tmp/broken/reference"
cp "$asg/tests/one-client.nlab" "$asg/tests/client.c" "$tmp/broken/tests/"
cp "$asg/reference/server.c" "$tmp/broken/reference/"
printf 'program server server.c\ntset tests/one-client.nlab\n' > "$tmp/broken/rubric"
"$natlab" grade "$tmp/broken" "$asg/reference" > /dev/null 2> "$tmp/broken.err"
check "a broken rubric exits 2" test $? -eq 2
check "and names rubric:LINE:COL" has "broken/rubric:2:1: unknown statement \"tset\"" "$tmp/broken.err"
printf 'program server server.c\ntest tests/one-client.nlab\n' > "$tmp/broken/rubric"
sed -i 's/points=5/points=-5/' "$tmp/broken/tests/one-client.nlab"
"$natlab" grade "$tmp/broken" "$asg/reference" > /dev/null 2> "$tmp/broken.err"
check "a broken test file exits 2" test $? -eq 2
check "and names its file:line:col" has "one-client.nlab:12:.*expected points" "$tmp/broken.err"
sed -i 's/points=-5/points=5 requires="nothing of that name"/' "$tmp/broken/tests/one-client.nlab"
"$natlab" grade "$tmp/broken" "$asg/reference" > /dev/null 2> "$tmp/broken.err"
check "a requires= that names no expectation exits 2" test $? -eq 2
check "and names its file:line:col" \
  has "one-client.nlab:12:[0-9]*: requires=\"nothing of that name\": no expectation of this file has name=" "$tmp/broken.err"

# 10. An assignment without its reference solution grades all the same:
# the test files' `set` lines name it, natlab grade sets them to each
# submission's program (and, for one that does not build, still lists
# every test).
mkdir -p "$tmp/noref"
cp -R "$asg/rubric" "$asg/tests" "$tmp/noref/"
"$natlab" grade "$tmp/noref" "$asg/reference" "$subs/nobuild" > "$tmp/noref.txt" 2>&1
check "an assignment without reference/ grades (exit 0)" test $? -eq 0
check "the reference, graded from elsewhere, scores full marks" \
  has "^score: 11/11 (6 of 6 tests passed)" "$tmp/noref.txt"
check "a submission that does not build scores 0 on every test" \
  has "^score: 0/11 (0 of 6 tests passed)" "$tmp/noref.txt"

echo "1..$n"
[ "$fails" -eq 0 ]
