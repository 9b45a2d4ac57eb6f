#!/bin/sh
# Draws the sweep lessons' plots: plots.sh [OUTDIR] writes tcp-loss.svg,
# udp-loss.svg, turn-peers.svg and nat-pairs.svg into OUTDIR (default:
# this folder).  $NATLAB is the natlab to run (default: natlab on PATH).
# The test sweep-lessons runs it and compares every plot with the one
# shipped here, byte for byte.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
natlab=${NATLAB:-natlab}

"$natlab" sweep "$here/tcp-loss.nlab" --set loss=0.5%,1%,2%,3%,5% --seeds 3 \
  --metric goodput:sender:receiver \
  --curve 'Mathis et al. 1.22·MSS/(RTT·√p)=1.22*1448*8/(0.05*sqrt(x/100))/1e6' \
  --title 'TCP goodput against loss (RTT 50 ms, NewReno)' \
  --format svg -o "$out/tcp-loss.svg"

"$natlab" sweep "$here/udp-loss.nlab" --set loss=0%,10%,20%,30%,40% \
  --seeds 3 --metric one-way=delivered:server:7 \
  --metric 'round-trip[datagrams]=stdout:client/udp-echo-client:([0-9]+) of' \
  --curve '100·(1−p)=100*(1-x/100)' --curve '100·(1−p)²=100*(1-x/100)**2' \
  --title 'UDP: 100 datagrams sent, delivered against loss' \
  --format svg -o "$out/udp-loss.svg"

"$natlab" sweep "$here/turn-peers.nlab" --set pairs=1,2,4,8 \
  --set nat=port-restricted-cone,symmetric --metric internet=bytes:internet \
  --title 'Bytes on the internet: direct (cone NATs) vs relayed (symmetric)' \
  --format svg -o "$out/turn-peers.svg"

"$natlab" sweep "$here/nat-pairs.nlab" \
  --set nat_a=full-cone,restricted-cone,port-restricted-cone,symmetric \
  --set nat_b=full-cone,restricted-cone,port-restricted-cone,symmetric \
  --seeds 3 --metric 'connect=line:peer-b/ice:^ice: selected' \
  --title 'ICE: time to connect through each pair of NATs (with TURN)' \
  --format svg -o "$out/nat-pairs.svg"
