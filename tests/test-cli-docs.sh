#!/bin/bash
# The manual pages describe the command line as it is, and the bash
# completion offers it: every command of `natlab --help` and every option
# of each command's --help is in natlab(1), every natlab-cc option of its
# help in natlab-cc(1), the pages render without warnings, and completion
# completes commands, options, preset names and option values.  TAP.
set -u
build=${NATLAB_BUILD_ROOT:?}
src=${NATLAB_SOURCE_ROOT:?}
natlab=$build/tools/natlab
man1=$src/docs/man/natlab.1
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

commands=$("$natlab" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\).*/\1/p')
check "natlab --help lists commands" test -n "$commands"
for c in $commands; do
  # A command is an item of COMMANDS: .TP then .BI "run ... or .BR "help ...
  check "natlab.1 describes natlab $c" \
    grep -qE "^\.B[IR]? \"?$c( |\"|\$)" "$man1"
  [ "$c" = help ] && continue
  for o in $("$natlab" "$c" --help | sed -n 's/^ *\(-[a-z], \)\{0,1\}--\([a-z-]*\).*/\2/p'); do
    [ "$o" = help ] && continue
    roff=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
    check "natlab.1 describes natlab $c --$o" grep -q -- "\\\\-\\\\-$roff" "$man1"
  done
done

for o in --print-shim --version --help -MD -MMD -MF -MT -MP -c; do
  roff=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
  check "natlab-cc.1 describes $o" grep -q -- "$roff" "$src/docs/man/natlab-cc.1"
done

if command -v groff >/dev/null; then
  for page in natlab.1 natlab-cc.1 natlab-scenario.5; do
    warnings=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$src/docs/man/$page" 2>&1)
    check "$page renders without warnings" test -z "$warnings"
    [ -z "$warnings" ] || echo "$warnings" | sed 's/^/# /'
  done
else
  n=$((n + 1)); echo "ok $n # SKIP groff is not installed"
fi

# Completion, through the function the completion calls.
# shellcheck source=/dev/null
source "$src/tools/natlab.bash-completion"
shopt -s extglob
complete_words() { # complete_words WORD...: the last word is completed
  local -a w=("$natlab" "$@")
  _natlab_words "$natlab" $((${#w[@]} - 1)) "${w[@]}" | sort | tr '\n' ' '
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
touch lab.nlab notes.txt
mkdir sub
check "completion: commands" test "$(complete_words ch)" = "check "
check "completion: every command" test "$(complete_words '' | wc -w)" = "$(echo $commands | wc -w)"
check "completion: run's options" test "$(complete_words run --ti)" = "--timeline= "
check "completion: check offers --set, not run's --seed" test "$(complete_words check --s)" = "--set= "
check "completion: preset names" test "$(complete_words presets sym)" = "symmetric "
check "completion: --format values" test "$(complete_words presets --format =)" = "json text "
check "completion: scenarios and folders" test "$(complete_words run '')" = "lab.nlab sub/ "
check "completion: timeline files by extension" test "$(complete_words run --timeline = '')" = "sub/ "
check "completion: help COMMAND" test "$(complete_words help pre)" = "presets "

echo "1..$n"
exit $failed
