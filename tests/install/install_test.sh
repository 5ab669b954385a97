#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and builds and runs, against it with
# find_package(knob), as a user's project would: tests/install/outside, and (when knob was
# built with libtorch) examples/cpp, a libtorch model tuned for a few trials.
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

if [[ -f "$build/libknob_trainer.so" ]]; then
  cmake -S "$source/examples/cpp" -B "$work/example" -G Ninja \
        -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/example-configure.log"
  ninja -C "$work/example" > "$work/example-build.log" || { cat "$work/example-build.log"; exit 1; }
  (cd "$work" && "$work/example/tune_mlp" 3 2000)
  trials=$(sqlite3 "$work/tune_mlp.db" "SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE' OR state = 'PRUNED'")
  [[ $trials == 3 ]] || { echo "examples/cpp stored $trials finished trials, expected 3"; exit 1; }
fi
