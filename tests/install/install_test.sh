#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and builds and runs, against it with
# find_package(knob), as a user's project would: tests/install/outside, and (when knob was
# built with libtorch) examples/cpp, knob's MLP and a libtorch module of its own tuned for a few
# trials through knob::train.
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
  # knob::train from the installed package: knobConfig.cmake finds libtorch for it.
  cmake -S "$source/examples/cpp" -B "$work/example" -G Ninja \
        -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/example-configure.log" \
    || { cat "$work/example-configure.log"; exit 1; }
  ninja -C "$work/example" > "$work/example-build.log" || { cat "$work/example-build.log"; exit 1; }
  # The built-in MLP (3 trials), then a module of the example's own through a ModelFactory (2).
  (cd "$work" && "$work/example/tune_mlp" 3 2000 && "$work/example/tune_mlp" 2 2000 own)
  # Its own tensors and module, regression: the best trial's saved model reloads to its RMSE.
  (cd "$work" && "$work/example/own_data" 3)
  [[ -f "$work/own_data_best.pt" ]] || { echo "examples/cpp/own_data kept no model"; exit 1; }
  db="$work/tune_mlp.db"
  for study_trials in tune-mlp:3 tune-own-model:2; do
    study=${study_trials%:*} expected=${study_trials#*:}
    in_study="trials.study_id = (SELECT study_id FROM studies WHERE study_name = '$study')"
    # Every trial ended: COMPLETE, or PRUNED (by the pruner, or when its loss diverged: a random learning
    # rate up to 0.1), or FAIL; at least one COMPLETE.
    ended=$(sqlite3 "$db" "SELECT COUNT(*) FROM trials WHERE $in_study AND state IN ('COMPLETE', 'PRUNED', 'FAIL')")
    complete=$(sqlite3 "$db" "SELECT COUNT(*) FROM trials WHERE $in_study AND state = 'COMPLETE'")
    [[ $ended == "$expected" && $complete -ge 1 ]] \
      || { echo "examples/cpp ended $ended trials in $study ($complete COMPLETE), expected $expected (>= 1 COMPLETE)"; exit 1; }
    # Every complete trial reported its epochs (what the pruner reads; a trial pruned because
    # it diverged in its first epoch has none).
    unreported=$(sqlite3 "$db" "SELECT COUNT(*) FROM trials WHERE $in_study AND state = 'COMPLETE'
                                  AND trial_id NOT IN (SELECT trial_id FROM trial_intermediate_values)")
    [[ $unreported == 0 ]] || { echo "$unreported complete trials of $study reported no epoch"; exit 1; }
  done
fi
