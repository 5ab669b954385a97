#!/bin/bash
# Optuna 3.1's MOTPE on every problem of bench/multi_objective, one (seed, problem) run per
# process, seed by seed (all six problems of a seed before the next seed), JOBS at a time, so
# that a run stopped early leaves whole seeds. Each finished run appends one line to OUT:
#   problem seed hypervolume wall_seconds cpu_seconds(user+sys)
# Usage (from the repository root): run_optuna_motpe.sh LIB OUT [SEED0 SEEDS JOBS]
lib=$1 out=$2 seed0=${3:-0} seeds=${4:-20} jobs=${5:-2}
peer=$(dirname "$0")/../optuna_peer.py
export lib out peer
for s in $(seq "$seed0" $((seed0 + seeds - 1))); do
  for p in dtlz2 zdt1 zdt2 zdt3 binh_korn lr_batch_time; do echo "$p $s"; done
done | xargs -P "$jobs" -L 1 bash -c '
  TIMEFORMAT="%R %U %S"
  { time hv=$(/usr/bin/python3 "$peer" hv "$lib" "$0" motpe "$1" 1 200) ; } 2> /tmp/motpe_time.$$
  read -r wall user sys < /tmp/motpe_time.$$; rm -f /tmp/motpe_time.$$
  echo "$0 $1 $hv $wall $(echo "$user + $sys" | bc)" >> "$out"
'
