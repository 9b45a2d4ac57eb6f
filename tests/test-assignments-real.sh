#!/bin/sh
# The echo-server and echo-client assignments' reference solutions, built
# with plain cc for the real OS, work over 127.0.0.1 (TAP output).  Every
# program runs under `timeout`; every process started here is stopped.
#
#   test-assignments-real.sh SERVER CLIENT ECHO-TESTER ECHO-PEER
set -u
server=$1 client=$2 tester=$3 peer=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/natlab-asg-real.XXXXXX")
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

n=0
fails=0
# Each result says how long its step took (seconds since the last one), so
# a run that nears the suite's timeout shows which step was slow.
last=$(date +%s)
took() { now=$(date +%s); echo "# $((now - last)) s"; last=$now; }
ok() { n=$((n + 1)); echo "ok $n - $1"; took; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$tmp/out"; took; }

# Start a program that prints a line once it has bound PORT; try ports
# until one is free.  Sets $port and adds the pid to $pids.
start() { # NAME CMD... (PORT is appended to the arguments by the caller)
  name=$1; shift
  base=$(( 20000 + $$ % 20000 ))
  for i in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19; do
    port=$((base + i * 7))
    "$@" "$port" $extra > "$tmp/$name.log" 2>&1 &
    pid=$!
    for w in 1 2 3 4 5 6 7 8 9 10; do
      grep -q . "$tmp/$name.log" 2>/dev/null && break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null && ! grep -q "bind" "$tmp/$name.log"; then
      pids="$pids $pid"
      return 0
    fi
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  echo "Bail out! no free port for $name"
  exit 1
}

expect() { # DESCRIPTION TEXT CMD...: CMD must print TEXT and exit 0
  desc=$1 text=$2; shift 2
  if timeout 60 "$@" > "$tmp/out" 2>&1 && grep -q "$text" "$tmp/out"; then
    ok "$desc"
  else
    notok "$desc"
  fi
}

expect_fail() { # DESCRIPTION SECONDS CMD...: CMD must exit non-zero in time
  desc=$1 secs=$2; shift 2
  timeout "$secs" "$@" > "$tmp/out" 2>&1
  rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then
    ok "$desc"
  else
    notok "$desc (status $rc)"
  fi
}

echo "TAP version 13"
echo "1..9"
extra=""
start server "$server"
sport=$port
expect "echo-server: one client" "3/3 echoes ok" \
  "$tester" 127.0.0.1 "$sport" lines 3 100
expect "echo-server: 100 clients at once" "100/100 clients echoed at once" \
  "$tester" 127.0.0.1 "$sport" concurrent 100 200
expect "echo-server: lines split across segments" "every line echoed whole" \
  "$tester" 127.0.0.1 "$sport" split
expect "echo-server: slow reader" "4 echoes of 60001 bytes complete" \
  "$tester" 127.0.0.1 "$sport" slow 4 60000
expect "echo-server: 300 clients one after another" \
  "300/300 clients served one after another" \
  "$tester" 127.0.0.1 "$sport" sequential 300
expect "echo-client: five 30,000-byte lines to the reference server" \
  "5/5 echoes ok" "$client" 127.0.0.1 "$sport" 5 30000

# A server that echoes after 8 s: the client gives up after 5 s.
extra="delay 8000"
start peer "$peer"
expect_fail "echo-client: a silent server is a timeout" 10 \
  "$client" 127.0.0.1 "$port" 2 10
# A server that closes in the middle of the second echo.
extra="close 1"
start peer2 "$peer"
expect_fail "echo-client: a server that closes is an error" 10 \
  "$client" 127.0.0.1 "$port" 3 10
# Nobody listens on the first server's port once it is stopped.
for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
pids=""
expect_fail "echo-client: connection refused is an error" 10 \
  "$client" 127.0.0.1 "$sport" 1 10
[ "$fails" -eq 0 ]
