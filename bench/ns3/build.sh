#!/bin/sh
# Builds bench/ns3/udp-echo.cc against an installed ns-3 (Debian 12:
# apt-get install libns3-dev) into OUT, unless OUT is newer than the
# source, and prints OUT.  Exits 1, with a message, without ns-3.
#
#   bench/ns3/build.sh OUT
set -eu
out=${1:?usage: build.sh OUT}
src=$(cd "$(dirname "$0")" && pwd)/udp-echo.cc
mods="ns3-core ns3-network ns3-internet ns3-csma ns3-point-to-point"
# shellcheck disable=SC2086
if ! pkg-config --exists $mods 2>/dev/null; then
  echo "bench/ns3: ns-3 is not installed (apt-get install libns3-dev)" >&2
  exit 1
fi
if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
  # Debian's ns3 .pc files name some libraries by their development
  # symlinks (libgsl.so, ...) that only their -dev packages install: left
  # out where missing, as ns-3's own libraries link them already.
  libs=
  # shellcheck disable=SC2086
  for a in $(pkg-config --libs $mods); do
    case $a in
      /*) [ -e "$a" ] && libs="$libs $a" ;;
      *) libs="$libs $a" ;;
    esac
  done
  # shellcheck disable=SC2086
  g++ -O2 -std=c++17 -o "$out" "$src" $(pkg-config --cflags $mods) $libs >&2
fi
echo "$out"
