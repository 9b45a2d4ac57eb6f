#!/bin/sh
# The layer rule (docs/architecture.md): the real tree passes
# tools/check-layers, and a tree where a lower layer includes a higher one
# fails it, naming the file, the line and the rule.
set -eu
root=${NATLAB_SOURCE_ROOT:?}
check="$root/tools/check-layers"

"$check" "$root"
echo "ok 1 - the source tree follows the layer table"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docs" "$tmp/sim/core" "$tmp/sim/net" "$tmp/sim/host"
cp "$root/docs/architecture.md" "$tmp/docs/"
printf '#include "sim/core/event.h"\n' > "$tmp/sim/net/net.c"
printf '#include "sim/net/net.h"\n#include <glib.h>\n' > "$tmp/sim/host/proc.c"
"$check" "$tmp"
echo "ok 2 - downward includes pass"

printf '#include "sim/core/event.h"\n\n#include "sim/host/proc.h"\n' \
  > "$tmp/sim/core/trace.c"
if "$check" "$tmp" 2> "$tmp/err"; then
  echo "not ok 3 - an upward include passed"; exit 1
fi
grep -q '^sim/core/trace.c:3: includes "sim/host/proc.h", but sim/core/ may include no other natlab folder' "$tmp/err" || {
  echo "not ok 3 - unexpected message:"; cat "$tmp/err"; exit 1; }
echo "ok 3 - an upward include fails, naming file:line and the rule"

rm "$tmp/sim/core/trace.c"
printf '#include "sim/tcp/tcp.h"\n' > "$tmp/sim/net/route.h"
if "$check" "$tmp" 2> "$tmp/err"; then
  echo "not ok 4 - net including tcp passed"; exit 1
fi
grep -q '^sim/net/route.h:1: includes "sim/tcp/tcp.h", but sim/net/ may include only its own headers and sim/core/' "$tmp/err" || {
  echo "not ok 4 - unexpected message:"; cat "$tmp/err"; exit 1; }
echo "ok 4 - a header is checked like a source file"
echo "1..4"
