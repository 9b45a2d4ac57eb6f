#!/bin/bash
# natlab sweep through the command line: one CSV row per cell, the same
# bytes on a rerun and with --jobs 1 or 2; the cells in --set order with
# the seeds' mean and spread; the plot drawn twice is the same file; the
# sweep lessons' shipped plots are what plots.sh draws now; a bad --set,
# --metric, --curve or --format is one clear error (exit 2).  TAP.
set -u
build=${NATLAB_BUILD_ROOT:?}
src=${NATLAB_SOURCE_ROOT:?}
natlab=$build/tools/natlab
lessons=$src/scenarios/lessons/sweeps
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

udp=$lessons/udp-loss.nlab
sweep() { "$natlab" sweep "$udp" --set loss=0%,20% --seeds 2 \
  --metric delivered:server:7 --metric 'echoes[datagrams]=stdout:client/udp-echo-client:([0-9]+) of' "$@"; }

sweep --jobs 1 >"$tmp/a.csv" 2>"$tmp/a.err"
check "csv: exit 0, nothing on stderr" test $? -eq 0 -a ! -s "$tmp/a.err"
check "csv: a header and one row per cell" test "$(wc -l <"$tmp/a.csv")" -eq 3
check "csv: the header" test "$(head -1 "$tmp/a.csv")" = \
  "loss,seeds,delivered_mean,delivered_sd,delivered_min,delivered_max,delivered_n,echoes_mean,echoes_sd,echoes_min,echoes_max,echoes_n"
check "csv: no loss, every datagram delivered in both runs" \
  test "$(sed -n 2p "$tmp/a.csv")" = "0%,2,100,0,100,100,2,100,0,100,100,2"
row=$(sed -n 3p "$tmp/a.csv")
IFS=, read -r _ seeds mean sd lo hi cnt emean _ <<<"$row"
check "csv: 20% loss, fewer delivered, fewer echoes" \
  awk -v m="$mean" -v e="$emean" -v l="$lo" -v h="$hi" \
  'BEGIN { exit !(m < 100 && m > 60 && e < m && l <= m && m <= h) }'
sweep --jobs 2 >"$tmp/b.csv"
check "csv: --jobs 2 gives the same bytes as --jobs 1" cmp -s "$tmp/a.csv" "$tmp/b.csv"
sweep >"$tmp/c.csv"
check "csv: a rerun gives the same bytes" cmp -s "$tmp/a.csv" "$tmp/c.csv"

"$natlab" sweep "$lessons/turn-peers.nlab" --set pairs=1,2 \
  --set nat=port-restricted-cone,symmetric --metric bytes:internet \
  --metric relayed=path-bytes:a1:b1 -o "$tmp/grid.csv"
check "csv: two --set make four cells, the first varying slowest" \
  test "$(cut -d, -f1,2 "$tmp/grid.csv" | tr '\n' ' ')" = \
  "pairs,nat 1,port-restricted-cone 1,symmetric 2,port-restricted-cone 2,symmetric "
check "csv: the relayed pair's data costs more bytes on the internet" \
  awk -F, 'NR == 2 { d = $4 } NR == 3 { r = $4 } NR == 3 { exit !(r > 1.5 * d) }' "$tmp/grid.csv"

sweep --format text >"$tmp/t.txt"
check "text: a title and a table" grep -q "^loss  *delivered (datagrams)  *echoes" "$tmp/t.txt"

svg() { sweep --format svg --title 'Delivery & loss' --curve 'model=100*(1-x/100)' "$@"; }
svg -o "$tmp/a.svg" && svg --jobs 1 -o "$tmp/b.svg"
check "svg: drawn twice, the same bytes" cmp -s "$tmp/a.svg" "$tmp/b.svg"
check "svg: an SVG with the title, the series and the model" \
  grep -q "<title>Delivery &amp; loss</title>" "$tmp/a.svg"
check "svg: series and curve in the legend" \
  bash -c "grep -q '>delivered</text>' '$tmp/a.svg' && grep -q '>echoes</text>' '$tmp/a.svg' && grep -q '>model</text>' '$tmp/a.svg'"
check "svg: no gnuplot version in the file" bash -c "! grep -q 'patchlevel' '$tmp/a.svg'"

mkdir "$tmp/plots"
NATLAB=$natlab "$lessons/plots.sh" "$tmp/plots" 2>"$tmp/plots.err"
check "lessons: plots.sh runs" test $? -eq 0
for f in tcp-loss udp-loss turn-peers nat-pairs; do
  check "lessons: $f.svg is what plots.sh draws now" \
    cmp -s "$lessons/$f.svg" "$tmp/plots/$f.svg"
done

# Each bad input: exit 2, one "natlab sweep: ..." line saying what.
bad() { # bad NAME WANT ARGS...
  local name=$1 want=$2; shift 2
  "$natlab" sweep "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -eq 2 ] && [ "$(grep -c '^natlab sweep' "$tmp/err")" -eq 1 ] &&
     grep -qF -- "$want" "$tmp/err" && [ ! -s "$tmp/out" ]; then
    ok "error: $name"
  else
    not_ok "error: $name (exit $rc)"; sed 's/^/# /' "$tmp/err"
  fi
}
m=(--metric delivered:server:7)
bad "--set without =" "--set loss: expected NAME=VALUE,VALUE,..." "$udp" --set loss "${m[@]}"
bad "--set with an empty value" "column 9: an empty value" "$udp" --set loss=1%,,2% "${m[@]}"
bad "--set with a value twice" "the value \"1%\" is given twice" "$udp" --set loss=1%,1% "${m[@]}"
bad "--set of a constant the scenario lacks" "sets no constant \"los\"; did you mean \"loss\"?" "$udp" --set los=1% "${m[@]}"
bad "--set with a value the scenario refuses" "with loss=lots:" "$udp" --set loss=1%,lots "${m[@]}"
bad "the same --set twice" "loss is already swept" "$udp" --set loss=1% --set loss=2% "${m[@]}"
bad "no --metric" "no --metric given" "$udp" --set loss=1%
bad "--metric of an unknown kind" "--metric deliverd:server: column 1: unknown metric \"deliverd\"; did you mean \"delivered\"?" "$udp" --metric deliverd:server
bad "--metric of an unknown host" "column 11: " "$udp" --metric delivered:sever
bad "two metrics with one label" "give one a label" "$udp" "${m[@]}" "${m[@]}"
bad "--curve that is not a formula" "--curve x=system('ls'): column 1: \"system\" is not x" "$udp" --set loss=1% "${m[@]}" --format svg --curve "x=system('ls')"
bad "--curve without svg" "--curve is for --format svg" "$udp" --set loss=1% "${m[@]}" --curve "x=x"
bad "--format pdf" "--format pdf: expected csv, text or svg" "$udp" "${m[@]}" --format pdf
bad "--seeds 0" "--seeds" "$udp" "${m[@]}" --seeds 0
bad "svg of metrics in two units" "draws metrics on one axis" "$udp" --set loss=1% "${m[@]}" --metric exit:client/udp-echo-client --format svg
bad "svg without --set" "--format svg needs a --set" "$udp" "${m[@]}" --format svg

echo "1..$n"
exit $failed
