#!/bin/sh
# Grading a class: 100 echo-server submissions, a mix of the reference and
# wrong ones, graded with every core; prints the build and test phases'
# wall and CPU time (docs/performance.md, "Grading").
#
#   bench/grade-echo.sh BUILD-DIR [ASSIGNMENT [JOBS]]
#
# ASSIGNMENT defaults to scenarios/assignments/echo-server: 58 copies of
# its reference and 6 of each of its 7 wrong solutions (wrong/*).  For an
# assignment without wrong/ (tests/grade/echo): 60 references and 10 each
# of tests/grade/subs' leak, crash, deadlock and build failure.
set -eu
build=${1:?usage: grade-echo.sh BUILD-DIR [ASSIGNMENT [JOBS]]}
root=$(cd "$(dirname "$0")/.." && pwd)
asg=${2:-$root/scenarios/assignments/echo-server}
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
if [ -d "$asg/wrong" ]; then
  n_wrong=$(ls "$asg/wrong" | wc -l)
  per=$((40 / n_wrong))
  add "$asg/reference" $((100 - per * n_wrong))
  for w in "$asg"/wrong/*/; do add "$w" "$per"; done
else
  add "$asg/reference" 60
  for w in leak crash deadlock nobuild; do add "$root/tests/grade/subs/$w" 10; done
fi
start=$(date +%s.%N)
NATLAB_GRADE_TIMES=1 "$build/tools/natlab" grade "$asg" "$class"/s* \
  --jobs "$jobs" -o "$class/reports" 2> "$class/times"
end=$(date +%s.%N)
cat "$class/times"
echo "total: $(echo "$end - $start" | bc) s wall for $i submissions, $jobs jobs"
ls "$class/reports" | grep -c '\.txt$' | sed 's/^/reports: /'
