#!/bin/sh
# Issue 17's table: now bench/issue17, which prints every row of the issue
# with its target, the floor and ns-3 (docs/performance.md, "Issue 17's
# table: one command").  Kept so that older commands still work.
#
#   bench/scale-table.sh BUILD-DIR [RUNS]
exec "$(dirname "$0")/issue17" "$@"
