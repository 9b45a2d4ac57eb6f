#!/bin/sh
# An install to a DESTDIR, moved to another prefix, still works: natlab
# runs a lesson (built-in programs and a user program built by the moved
# natlab-cc with the moved shim), natlab-cc and pkg-config (with and without
# --define-prefix) build a program that runs, and the manual pages, docs and
# completion are in place.  TAP output.
set -u
build=${NATLAB_BUILD_ROOT:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/natlab-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() { # check NAME COMMAND...: one test point
  name=$1; shift
  if "$@" >"$tmp/out" 2>&1; then ok "$name"; else
    not_ok "$name"; sed 's/^/# /' "$tmp/out"; fi
}

if ! meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/dest" \
    >"$tmp/install.log" 2>&1; then
  echo "Bail out! meson install failed"; sed 's/^/# /' "$tmp/install.log"; exit 1
fi
exe=$(find "$tmp/dest" -path '*/bin/natlab' -type f)
old=$(dirname "$(dirname "$exe")")
mkdir -p "$tmp/elsewhere"
P=$tmp/elsewhere/px
mv "$old" "$P"
rm -rf "$tmp/dest"

# A clean environment: nothing points into the build tree.
run() {
  env -i PATH=/usr/bin:/bin HOME="$tmp" XDG_CACHE_HOME="$tmp/cache" \
    TMPDIR="$tmp" "$@"
}

check "the moved natlab-cc uses the moved shim" \
  sh -c "s=\$('$P/bin/natlab-cc' --print-shim) && \
    case \"\$s\" in '$P'/*) test -f \"\$s\" ;; *) false ;; esac"
check "natlab --help" run "$P/bin/natlab" --help
check "the built-in programs are found (flagship lesson)" \
  run "$P/bin/natlab" run -q "$P/share/natlab/lessons/flagship/udp-echo.nlab"
check "a lesson with a user program builds it and holds" \
  run "$P/bin/natlab" run -q "$P/share/natlab/lessons/nat-types/full-cone.nlab"
grep -q "5 of 5 expectations held" "$tmp/out" &&
  ok "the lesson's five expectations held" ||
  { not_ok "the lesson's five expectations held"; sed 's/^/# /' "$tmp/out"; }

# One program, three builds: natlab-cc, pkg-config, pkg-config
# --define-prefix.
mkdir -p "$tmp/prog"
cat >"$tmp/prog/hello.c" <<'EOF'
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
  inet_pton(AF_INET, "10.0.0.2", &a.sin_addr);
  ssize_t n = sendto(fd, "x", 1, 0, (struct sockaddr *)&a, sizeof a);
  printf("%s sent %zd\n", argc > 1 ? argv[1] : "?", n);
  close(fd);
  return 0;
}
EOF
check "natlab-cc builds a program" \
  run "$P/bin/natlab-cc" -o "$tmp/prog/cc.so" "$tmp/prog/hello.c"
pcpath=$P/lib/pkgconfig
check "pkg-config builds a program" sh -c "cc '$tmp/prog/hello.c' \
  \$(PKG_CONFIG_PATH='$pcpath' pkg-config --cflags --libs natlab) \
  -o '$tmp/prog/pc.so'"
check "pkg-config --define-prefix builds a program" sh -c "cc \
  '$tmp/prog/hello.c' \$(PKG_CONFIG_PATH='$pcpath' pkg-config \
  --define-prefix --cflags --libs natlab) -o '$tmp/prog/pcd.so'"
check "pkg-config --define-prefix names the moved prefix" sh -c \
  "test \"\$(PKG_CONFIG_PATH='$pcpath' pkg-config --define-prefix \
  --variable=prefix natlab)\" = '$P'"
check "natlab.pc adds the moved prefix's headers after the system's" sh -c \
  "PKG_CONFIG_PATH='$pcpath' pkg-config --define-prefix --cflags natlab | \
  grep -q -- '-idirafter $P/include/natlab'"
cat >"$tmp/prog/kq.c" <<'EOF'
#include <sys/event.h>
int main(void) {
  return kqueue() < 0;
}
EOF
check "natlab-cc finds the lab's <sys/event.h> in the moved tree" \
  run "$P/bin/natlab-cc" -o "$tmp/prog/kq.so" "$tmp/prog/kq.c"
check "pkg-config finds the lab's <sys/event.h> in the moved tree" sh -c \
  "cc '$tmp/prog/kq.c' \$(PKG_CONFIG_PATH='$pcpath' pkg-config \
  --define-prefix --cflags --libs natlab) -o '$tmp/prog/kqpc.so'"
cat >"$tmp/prog/three.nlab" <<'EOF'
duration 1s
network lan 10.0.0.0/24
host a
  link lan 10.0.0.1
  run name=cc ./cc.so natlab-cc
  run name=pc ./pc.so pkg-config
  run name=pcd ./pcd.so define-prefix
host b
  link lan 10.0.0.2
expect stdout a/cc contains "natlab-cc sent 1"
expect stdout a/pc contains "pkg-config sent 1"
expect stdout a/pcd contains "define-prefix sent 1"
EOF
check "the three builds run in the moved natlab" \
  run "$P/bin/natlab" run "$tmp/prog/three.nlab"
grep -q "3 of 3 expectations held" "$tmp/out" && ok "3 of 3 held" ||
  { not_ok "3 of 3 held"; sed 's/^/# /' "$tmp/out"; }

for f in share/man/man1/natlab.1 share/man/man1/natlab-cc.1 \
    share/man/man5/natlab-scenario.5 share/doc/natlab/scenario-format.md \
    share/doc/natlab/README.md share/bash-completion/completions/natlab \
    share/natlab/lessons/flagship/udp-echo.nlab; do
  check "installed: $f" test -f "$P/$f"
done
# The one header the lab adds, and nothing refers to the old place.
check "installed: include/natlab/sys/event.h" \
  test -f "$P/include/natlab/sys/event.h"
check "no installed file names the DESTDIR" sh -c \
  "! grep -rl '$tmp/dest' '$P'"

echo "1..$n"
exit $failed
