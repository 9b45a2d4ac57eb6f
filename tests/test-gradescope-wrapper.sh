#!/bin/sh
# tools/gradescope/run_autograder in Gradescope's layout (an
# /autograder-like folder in a temporary directory): the results.json it
# writes gives the echo-server reference full marks (uploaded inside a
# folder), a wrong solution its score, and an empty upload 0 (TAP output).
set -u
src=$NATLAB_SOURCE_ROOT
natlab=$NATLAB_BUILD_ROOT/tools/natlab
tmp=$(mktemp -d "${TMPDIR:-/tmp}/natlab-gradescope.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
asg=$src/scenarios/assignments/echo-server

n=0
fails=0
check() { # DESCRIPTION SCORE: run_autograder, then results.json's score
  n=$((n + 1))
  rm -rf "$tmp/autograder/results"
  if AUTOGRADER_ROOT=$tmp/autograder NATLAB=$natlab \
       "$src/tools/gradescope/run_autograder" > "$tmp/out" 2>&1 &&
     grep -q "^  \"score\": $2,\$" "$tmp/autograder/results/results.json" &&
     grep -q '"tests": \[' "$tmp/autograder/results/results.json"; then
    echo "ok $n - $1"
  else
    fails=$((fails + 1))
    echo "not ok $n - $1"
    sed 's/^/# /' "$tmp/out" "$tmp/autograder/results/results.json" 2>/dev/null
  fi
}
upload() { # FILE [FOLDER]: the student's upload
  rm -rf "$tmp/autograder/submission"
  mkdir -p "$tmp/autograder/submission/${2:-}"
  [ -n "$1" ] && cp "$1" "$tmp/autograder/submission/${2:-}/server.c"
  return 0
}

echo "TAP version 13"
echo "1..3"
# The autograder zip: the assignment without its wrong solutions and
# without its reference solution, which the test files' `set` lines name
# (natlab grade sets each to the student's program; natlab itself is on
# PATH after setup.sh, here $NATLAB).
mkdir -p "$tmp/autograder/source"
cp -R "$asg" "$tmp/autograder/source/echo-server"
rm -rf "$tmp/autograder/source/echo-server/wrong" \
  "$tmp/autograder/source/echo-server/reference"
upload "$asg/reference/server.c" my-work
check "the reference, uploaded in a folder, scores 100" 100
upload "$asg/wrong/no-reuseaddr/server.c"
check "no SO_REUSEADDR scores 90" 90
upload ""
check "an upload without server.c is graded 0" 0
[ "$fails" -eq 0 ]
