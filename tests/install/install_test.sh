#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and builds and runs tests/install/outside
# against it with find_package(knob), as a user's project would.
#   install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
source=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$source/tests/install/outside" -B "$work/outside" -G Ninja \
      -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log"
ninja -C "$work/outside" > "$work/build.log"
"$work/outside/outside"
