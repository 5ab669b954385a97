#!/usr/bin/python3
"""Turns the lines of run_optuna_motpe.sh (problem seed hypervolume wall_s cpu_s) into a
run.py --save file, so that run.py --load takes Optuna's MOTPE from it:

    to_save_json.py optuna_motpe_200.txt optuna_motpe_200.json "note"

Every finished run is kept, in seed order; problems may have different numbers of seeds (a run
stopped early), and run.py prints each sampler's count where it is not --seeds.
"""
import json
import sys

runs = {}
wall = cpu = 0.0
with open(sys.argv[1]) as f:
    for line in f:
        problem, seed, hv, w, c = line.split()
        runs.setdefault(problem, {})[int(seed)] = float(hv)
        wall, cpu = wall + float(w), cpu + float(c)
hv = {f"optuna:motpe|{p}": [v[s] for s in sorted(v)] for p, v in runs.items()}
note = (sys.argv[3] if len(sys.argv) > 3 else "") + " seeds per problem: " + ", ".join(
    f"{p} {len(v)}" for p, v in runs.items()) + f"; {cpu:.0f} CPU-s, {wall:.0f} wall-s in all"
with open(sys.argv[2], "w") as f:
    json.dump({"hv": hv, "seconds": {"optuna:motpe": wall}, "note": note}, f)
print(note)
