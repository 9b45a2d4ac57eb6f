#!/bin/sh
# STUN and TURN inside the simulator (issue 6's benchmark): generates two
# scenarios, runs them with natlab, and prints wall and CPU time.
#   bench/stun-turn-sim.sh [BUILD_DIR] [N_CLIENTS] [N_DATAGRAMS]
# 1. N_CLIENTS hosts behind one port-restricted-cone NAT each run
#    stun-client once against one stun-server: N_CLIENTS Binding
#    transactions through the NAT (each with a process spawn).
# 2. Two peers behind symmetric NATs send N_DATAGRAMS datagrams through
#    TURN relays and get them echoed: 4 relayed packets per datagram.
set -eu
build=${1:-build}
n=${2:-20000}
m=${3:-50000}
natlab="$build/tools/natlab"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

{
  echo "seed 1"; echo "duration 60s"
  echo "network home 10.1.0.0/16 latency=1ms"
  echo "network internet 203.0.113.0/24 192.0.2.0/24 latency=10ms"
  i=0
  while [ "$i" -lt "$n" ]; do
    a=$((i + 10))
    echo "host h$i"
    echo "  link home 10.1.$((a / 250)).$((a % 250 + 2))"
    echo "  route default via 10.1.0.1"
    echo "  run at=$((1000000 + i * 100))us stun-client --server 192.0.2.10:3478"
    i=$((i + 1))
  done
  echo "nat nat preset=port-restricted-cone port_range=1024-65535"
  echo "  inside home 10.1.0.1"; echo "  outside internet 203.0.113.1"
  echo "host stun"; echo "  link internet 192.0.2.10"
  echo "  run stun-server --primary 192.0.2.10 --no-tcp --duration 50"
  echo "expect stdout h$((n - 1))/stun-client contains \"mapped-address: 203.0.113.1:\""
} > "$dir/stun.nlab"

cat > "$dir/turn.nlab" <<EOT
seed 1
duration 100s
network lan-a 10.0.0.0/24 latency=1ms
network lan-b 192.168.1.0/24 latency=1ms
network internet 203.0.113.0/24 198.51.100.0/24 192.0.2.0/24 latency=5ms
host peer-a
  link lan-a 10.0.0.5
  route default via 10.0.0.1
  run at=1s name=peer turn-client --server 192.0.2.20:3478 --user alice:a --echo --permit 198.51.100.1 --permit 192.0.2.20 --duration 90000 --seed 3
nat nat-a preset=symmetric
  inside lan-a 10.0.0.1
  outside internet 203.0.113.1
host peer-b
  link lan-b 192.168.1.10
  route default via 192.168.1.1
  run at=3s name=peer turn-client --server 192.0.2.20:3478 --user bob:b --peer 192.0.2.20:49152 --count $m --interval 1 --seed 4
nat nat-b preset=symmetric
  inside lan-b 192.168.1.1
  outside internet 198.51.100.1
host turn
  link internet 192.0.2.20
  run turn-server --listen 192.0.2.20 --user alice:a --user bob:b --realm natlab --min-port 49152 --max-port 49160 --duration 95 --seed 7
expect stdout peer-b/peer contains "sent=$m received=$m"
EOT

for s in stun turn; do
  /usr/bin/time -f "$s: %e s wall, %U s user, %M KiB peak" \
    "$natlab" run -q "$dir/$s.nlab"
done
echo "stun: $n Binding transactions; turn: $((4 * m)) relayed packets"
