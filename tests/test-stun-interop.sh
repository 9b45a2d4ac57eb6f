#!/bin/bash
# test-stun-interop.sh: natlab's STUN and TURN servers, built for the real
# OS, against coturn's independently written clients (turnutils_stunclient,
# turnutils_natdiscovery, turnutils_uclient, turnutils_peer) and against
# natlab's own clients.  Loopback (127.0.0.1) only.  Every process started
# here is killed on exit; every client runs under a timeout.
#
# usage: test-stun-interop.sh STUN_SERVER STUN_CLIENT TURN_SERVER TURN_CLIENT
# Exit: 0 pass, 1 fail, 77 skipped (coturn clients absent).
set -u

STUN_SERVER=$1 STUN_CLIENT=$2 TURN_SERVER=$3 TURN_CLIENT=$4

for tool in turnutils_stunclient turnutils_natdiscovery turnutils_uclient \
            turnutils_peer; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not found (install the Debian package 'coturn')"
    exit 77
  fi
done

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

FAILS=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
# expect FILE PATTERN WHAT
expect() {
  if grep -qE "$2" "$1"; then
    pass "$3"
  else
    fail "$3 (no '$2' in output:)"
    sed 's/^/    /' "$1" | tail -20
  fi
}

# start NAME LOGFILE PORTVAR CMD... : starts a server on a free port.  The
# literal word PORT in CMD is replaced by the candidate port (and PORT1 by
# port+1); a candidate is kept if the server is still running shortly after.
start() {
  local name=$1 log=$2 var=$3
  shift 3
  local try port pid args a
  for try in 1 2 3 4 5 6 7 8 9 10; do
    port=$(( 20000 + (RANDOM * 2 + try * 7919) % 40000 ))
    args=()
    for a in "$@"; do
      a=${a//PORT1/$((port + 1))}
      args+=("${a//PORT/$port}")
    done
    "${args[@]}" >"$log" 2>&1 &
    pid=$!
    # A server that cannot bind exits at once; one that lives on listens.
    sleep 0.4
    if kill -0 "$pid" 2>/dev/null; then
      PIDS+=("$pid")
      printf -v "$var" '%s' "$port"
      echo "started $name on port $port"
      return 0
    fi
    wait "$pid" 2>/dev/null
  done
  echo "FAIL: could not start $name"
  exit 1
}

# ---- STUN server ----------------------------------------------------------
start stun-server "$WORK/stun.log" SP "$STUN_SERVER" --primary 127.0.0.1 \
  --alternate 127.0.0.1 --port PORT --alt-port PORT1 --verbose --duration 250 --signals

timeout 20 turnutils_stunclient -p "$SP" 127.0.0.1 >"$WORK/sc.out" 2>&1
expect "$WORK/sc.out" "UDP reflexive addr: 127\.0\.0\.1:[0-9]+" \
  "turnutils_stunclient gets a reflexive address"
expect "$WORK/sc.out" "Other addr: : 127\.0\.0\.1:$((SP + 1))" \
  "turnutils_stunclient sees OTHER-ADDRESS"

timeout 30 turnutils_natdiscovery -m -f -p "$SP" 127.0.0.1 \
  >"$WORK/nd.out" 2>&1
expect "$WORK/nd.out" "Endpoint Independent Mapping" \
  "turnutils_natdiscovery classifies mapping on loopback"
expect "$WORK/nd.out" "Endpoint Independent Filtering" \
  "turnutils_natdiscovery classifies filtering on loopback"

timeout 30 turnutils_natdiscovery -f -P -p "$SP" 127.0.0.1 \
  >"$WORK/ndp.out" 2>&1
expect "$WORK/ndp.out" "Endpoint Independent Filtering" \
  "turnutils_natdiscovery with 1500-byte PADDING"

timeout 20 "$STUN_CLIENT" --server "127.0.0.1:$SP" >"$WORK/c1.out" 2>&1
expect "$WORK/c1.out" "^mapped-address: 127\.0\.0\.1:[0-9]+$" \
  "stun-client binding over UDP"
timeout 20 "$STUN_CLIENT" --server "127.0.0.1:$SP" --tcp >"$WORK/c2.out" 2>&1
expect "$WORK/c2.out" "^mapped-address: 127\.0\.0\.1:[0-9]+$" \
  "stun-client binding over TCP"
timeout 20 "$STUN_CLIENT" --server "127.0.0.1:$SP" --classify \
  >"$WORK/c3.out" 2>&1
expect "$WORK/c3.out" "^mapping: endpoint-independent$" \
  "stun-client classifies mapping"
expect "$WORK/c3.out" "^filtering: endpoint-independent$" \
  "stun-client classifies filtering"

# A server without an alternate address refuses CHANGE-REQUEST with 420.
start stun-server-single "$WORK/stun1.log" SP1 "$STUN_SERVER" \
  --primary 127.0.0.1 --port PORT --no-tcp --duration 250 --signals
timeout 20 "$STUN_CLIENT" --server "127.0.0.1:$SP1" --classify \
  >"$WORK/c4.out" 2>&1
expect "$WORK/c4.out" "no RFC 5780 support" \
  "stun-client reports a server without OTHER-ADDRESS"

# ---- TURN server ----------------------------------------------------------
start turnutils_peer "$WORK/peer.log" PP timeout 250 turnutils_peer \
  -L 127.0.0.1 -p PORT
start turn-server "$WORK/turn.log" TP "$TURN_SERVER" --listen 127.0.0.1 \
  --port PORT --realm natlab.test --user alice:wonderland --user bob:builder \
  --verbose --duration 250 --signals

# uclient: -c one allocation per client, -n messages, -m clients; without
# -s data goes over channels (RFC 5766 numbers), with -s Send indications.
uclient() { # OUTFILE FLAGS...
  local out=$1
  shift
  timeout 40 turnutils_uclient "$@" -c -n 20 -m 2 -l 120 -u alice \
    -w wonderland -e 127.0.0.1 -r "$PP" -p "$TP" 127.0.0.1 >"$out" 2>&1
}
uclient "$WORK/u1.out"
expect "$WORK/u1.out" "tot_send_msgs=40, tot_recv_msgs=40" \
  "turnutils_uclient over UDP, ChannelData path"
expect "$WORK/u1.out" "Total lost packets 0 " "no loss on the channel path"
uclient "$WORK/u2.out" -s
expect "$WORK/u2.out" "tot_send_msgs=40, tot_recv_msgs=40" \
  "turnutils_uclient over UDP, Send/Data indication path"
uclient "$WORK/u3.out" -t
expect "$WORK/u3.out" "tot_send_msgs=40, tot_recv_msgs=40" \
  "turnutils_uclient over TCP, ChannelData path (padded)"
uclient "$WORK/u4.out" -t -s
expect "$WORK/u4.out" "tot_send_msgs=40, tot_recv_msgs=40" \
  "turnutils_uclient over TCP, Send/Data indication path"
# uclient draws its channel numbers at random from the RFC 5766 range, so
# whether this run used one above 0x4FFF is luck; say which it was.
if grep -q "channel-bind 0x[5-7]" "$WORK/turn.log"; then
  echo "note: uclient used channels above 0x4FFF and they were accepted"
fi
timeout 20 "$TURN_CLIENT" --server "127.0.0.1:$TP" --user bob:builder \
  --peer "127.0.0.1:$PP" --count 2 --interval 10 --wait 300 \
  --channel 0x7ffe >"$WORK/tc7.out" 2>&1
expect "$WORK/tc7.out" "^sent=2 received=2$" \
  "default server accepts RFC 5766 channel 0x7FFE"
expect "$WORK/turn.log" "relay-bytes allocation=127\.0\.0\.1:[0-9]+ in=2400 out=2400" \
  "relay counts 20 x 120 bytes each way per allocation"

# Without -c uclient allocates RTP/RTCP pairs: EVEN-PORT with the R bit,
# then an Allocate that redeems the RESERVATION-TOKEN.
timeout 40 turnutils_uclient -n 10 -m 2 -u alice -w wonderland -e 127.0.0.1 \
  -r "$PP" -p "$TP" 127.0.0.1 >"$WORK/u0.out" 2>&1
expect "$WORK/u0.out" "tot_send_msgs=20, tot_recv_msgs=20" \
  "turnutils_uclient with RTP/RTCP allocation pairs (RESERVATION-TOKEN)"

# Wrong password: the server keeps answering 401.
timeout 20 turnutils_uclient -c -n 1 -m 1 -u alice -w wrong -e 127.0.0.1 \
  -r "$PP" -p "$TP" 127.0.0.1 >"$WORK/u5.out" 2>&1
expect "$WORK/turn.log" "error 401" "wrong credentials get 401"
if grep -q "tot_recv_msgs=1" "$WORK/u5.out"; then
  fail "a wrong password still relayed data"
else
  pass "a wrong password relays nothing"
fi

# natlab's turn-client against turnutils_peer, all four paths.
for flags in "" "--send-indication" "--tcp" "--tcp --send-indication"; do
  # shellcheck disable=SC2086
  timeout 20 "$TURN_CLIENT" --server "127.0.0.1:$TP" --user bob:builder \
    --peer "127.0.0.1:$PP" --count 5 --interval 10 --wait 500 $flags \
    >"$WORK/tc.out" 2>&1
  expect "$WORK/tc.out" "^sent=5 received=5$" "turn-client ${flags:-(udp, channel)}"
done

# Two natlab turn-clients talk through the relay: one echoes.
"$TURN_CLIENT" --server "127.0.0.1:$TP" --user alice:wonderland --echo \
  --permit 127.0.0.1 --duration 4000 >"$WORK/echo.out" 2>&1 &
EPID=$!
PIDS+=("$EPID")
RELAY=
for i in $(seq 1 30); do
  RELAY=$(sed -n 's/^relayed-address: //p' "$WORK/echo.out")
  [ -n "$RELAY" ] && break
  sleep 0.1
done
if [ -n "$RELAY" ]; then
  timeout 20 "$TURN_CLIENT" --server "127.0.0.1:$TP" --user bob:builder \
    --peer "$RELAY" --count 4 --interval 10 --wait 500 >"$WORK/tc2.out" 2>&1
  expect "$WORK/tc2.out" "^sent=4 received=4$" \
    "two turn-clients exchange data through two relays"
else
  fail "echoing turn-client did not allocate"
fi

# Short lifetimes: turn-client refreshes before expiry and keeps relaying.
start turn-server-short "$WORK/turnshort.log" TSH "$TURN_SERVER" \
  --listen 127.0.0.1 --port PORT --realm r --user carol:pw --no-tcp \
  --default-lifetime 2 --max-lifetime 2 --verbose --duration 250 --signals
timeout 20 "$TURN_CLIENT" --server "127.0.0.1:$TSH" --user carol:pw \
  --peer "127.0.0.1:$PP" --lifetime 2 --count 25 --interval 120 --wait 300 \
  >"$WORK/tc10.out" 2>&1
expect "$WORK/tc10.out" "^refreshed$" "turn-client refreshes a 2 s allocation"
expect "$WORK/tc10.out" "^sent=25 received=25$" \
  "relaying continues across refreshes (3 s on a 2 s lifetime)"
if grep -q "ended: expired" "$WORK/turnshort.log"; then
  fail "the refreshed allocation expired"
else
  pass "the refreshed allocation did not expire"
fi

# --strict-channels: RFC 8656 range only; uclient's channels are refused.
start turn-server-strict "$WORK/turns.log" TS "$TURN_SERVER" \
  --listen 127.0.0.1 --port PORT --realm r --user alice:wonderland \
  --strict-channels --no-tcp --verbose --duration 250 --signals
timeout 20 "$TURN_CLIENT" --server "127.0.0.1:$TS" --user alice:wonderland \
  --peer "127.0.0.1:$PP" --count 2 --interval 10 --wait 300 \
  --channel 0x7ffe >"$WORK/tc8.out" 2>&1
expect "$WORK/tc8.out" "^error: 400 Bad Request: channel number" \
  "--strict-channels answers 400 to channel 0x7FFE"
timeout 20 "$TURN_CLIENT" --server "127.0.0.1:$TS" --user alice:wonderland \
  --peer "127.0.0.1:$PP" --count 2 --interval 10 --wait 300 \
  --channel 0x4fff >"$WORK/tc9.out" 2>&1
expect "$WORK/tc9.out" "^sent=2 received=2$" \
  "--strict-channels accepts channel 0x4FFF"

echo "$FAILS failure(s)"
[ "$FAILS" -eq 0 ]
