#!/bin/sh
# Grading a class: 100 echo-server submissions (a mix of the reference and
# wrong ones: 60 reference, 10 each of a leak, a crash, a deadlock and a
# build failure), graded with every core; prints the build and test
# phases' wall and CPU time (docs/performance.md, "Grading").
#
#   bench/grade-echo.sh BUILD-DIR [ASSIGNMENT [JOBS]]
#
# ASSIGNMENT defaults to tests/grade/echo; its reference/ and the wrong
# submissions of tests/grade/subs are copied into a temporary class.
set -eu
build=${1:?usage: grade-echo.sh BUILD-DIR [ASSIGNMENT [JOBS]]}
root=$(cd "$(dirname "$0")/.." && pwd)
asg=${2:-$root/tests/grade/echo}
jobs=${3:-$(nproc)}
class=$(mktemp -d)
trap 'rm -rf "$class"' EXIT
i=0
add() { # SOURCE-FOLDER COUNT
  k=0
  while [ "$k" -lt "$2" ]; do
    i=$((i + 1)); k=$((k + 1))
    mkdir "$class/s$(printf %03d $i)"
    cp "$1"/*.c "$class/s$(printf %03d $i)/"
  done
}
add "$asg/reference" 60
for w in leak crash deadlock nobuild; do add "$root/tests/grade/subs/$w" 10; done
start=$(date +%s.%N)
NATLAB_GRADE_TIMES=1 "$build/tools/natlab" grade "$asg" "$class"/s* \
  --jobs "$jobs" -o "$class/reports" 2> "$class/times"
end=$(date +%s.%N)
cat "$class/times"
echo "total: $(echo "$end - $start" | bc) s wall for $i submissions, $jobs jobs"
ls "$class/reports" | grep -c '\.txt$' | sed 's/^/reports: /'
