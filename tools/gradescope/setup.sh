#!/bin/sh
# Gradescope's autograder setup for a natlab assignment: runs once, as
# root, when Gradescope builds the autograder image.  Use a base image
# with GLib 2.74 or newer (Debian 12, Ubuntu 24.04).  natlab's own
# tools/setup installs the packages it needs and builds it; then it is
# installed on PATH for run_autograder.
set -eu
cd /autograder/source/natlab
NATLAB_BUILD_DIR=build NATLAB_MESON_ARGS="-Dtests=false" tools/setup
meson install -C build --quiet
natlab --version
