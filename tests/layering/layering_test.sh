#!/usr/bin/env bash
# scripts/check_layering on a copy of this checkout's src/ and include/: it passes as the tree
# is, and fails, naming the file, the line and the edge, on each wrong include planted in it:
# a module including one it may not reach, a libtorch header outside the torch module, and a
# test helper in a library file.
#   layering_test.sh SOURCE_DIR
set -euo pipefail
source=$1
check=$source/scripts/check_layering
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fresh_copy() {
  rm -rf "$work/tree"
  mkdir -p "$work/tree"
  cp -r "$source/src" "$source/include" "$work/tree/"
}

# expect_failure FILE LINE_TEXT EXPECTED_MESSAGE_PART...
expect_failure() {
  local file=$1 line=$2
  shift 2
  fresh_copy
  printf '%s\n' "$line" >> "$work/tree/$file"
  local out status=0
  out=$("$check" --root "$work/tree" 2>&1) || status=$?
  if [[ $status -ne 1 ]]; then
    echo "FAIL: '$line' in $file: exit $status, expected 1"; echo "$out"; failures=$((failures + 1))
    return
  fi
  for part in "$file:" "$@"; do
    if [[ $out != *"$part"* ]]; then
      echo "FAIL: '$line' in $file: the message lacks '$part':"; echo "$out"
      failures=$((failures + 1))
    fi
  done
  echo "ok: '$line' in $file refused"
}

fresh_copy
if ! "$check" --root "$work/tree"; then
  echo "FAIL: the tree as it is breaks the layering"; failures=$((failures + 1))
fi

# Upward edges: the tuner may not include run; storage may not include tuner.
expect_failure src/tuner/study.cc '#include "knob/run/study_config.h"' \
  "'tuner' may not include 'run'" "may include: core, storage"
expect_failure include/knob/storage/storage.h '#include "knob/tuner/study.h"' \
  "'storage' may not include 'tuner'"
# A sideways edge: report may not include the libtorch module's headers.
expect_failure src/report/chart.cc '#include "knob/torch/trainer.h"' \
  "'report' may not include 'torch'"
# A private header of another module, by its path below src/.
expect_failure src/core/json.cc '#include "tuner/samplers/bracket_split.h"' \
  "'core' may not include 'tuner'"
# libtorch outside the torch module.
expect_failure src/train/schedule.cc '#include <torch/torch.h>' "libtorch header"
# A test helper in a library file.
expect_failure src/run/study_config.cc '#include "testing/test_support.h"' "test helper"

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed"; exit 1
fi
echo "check_layering passes the tree and refuses each planted include"
