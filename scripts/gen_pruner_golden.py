#!/usr/bin/python3
"""Writes src/tuner/pruners/pruner_golden.h: Optuna 3.1's Hyperband bracket arithmetic (number of
brackets, budgets, each bracket's min_early_stopping_rate, the bracket of trials 0..99) and the
decisions of its pruners replayed on fixed learning curves (which trial is pruned at which step,
and the completed_rung_N system attributes ASHA leaves), for the pruner tests to compare knob with.
Run with Debian's python3-optuna:

    /usr/bin/python3 scripts/gen_pruner_golden.py | clang-format --assume-filename=x.h > src/tuner/pruners/pruner_golden.h
"""
import json
import math
import random
import types
import warnings

import optuna
from optuna.pruners import (HyperbandPruner, MedianPruner, PatientPruner, PercentilePruner,
                            SuccessiveHalvingPruner, ThresholdPruner)
from optuna.trial import TrialState
from cpp_literals import num, ints

assert optuna.__version__.startswith("3.1"), optuna.__version__
optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.simplefilter("ignore")  # PatientPruner is experimental; nanmin of NaNs


out = []
emit = out.append

# ---------------------------------------------------------------- Hyperband arithmetic
HYPERBAND = [  # min_resource, max_resource, reduction_factor, study name
    (1, 81, 3, "knob-study"),
    (1, 243, 3, "knob-study"),  # log(243) / log(3) = 4.999999999999999 in doubles
    (1, 100, 3, "mnist-mlp"),
    (2, 30, 2, "mnist-mlp"),
    (1, 1, 3, "one"),
    (3, 1000, 4, "étude"),  # UTF-8 bytes are hashed
    (5, 27, 3, "x"),
]
emit("struct HyperbandCase {")
emit("  int64_t min_resource, max_resource, reduction_factor;")
emit("  const char* study_name;")
emit("  int64_t n_brackets;")
emit("  std::vector<int64_t> budgets, min_early_stopping_rates;")
emit("  std::vector<int64_t> bracket_of_trial;  // trials 0, 1, 2, ...")
emit("};")
emit("inline std::vector<HyperbandCase> hyperband_cases() { return {")
for lo, hi, rf, name in HYPERBAND:
    p = HyperbandPruner(min_resource=lo, max_resource=hi, reduction_factor=rf)
    p._try_initialization(None)  # max_resource is an int: the study is not read
    study = types.SimpleNamespace(study_name=name)
    ids = [p._get_bracket_id(study, types.SimpleNamespace(number=n)) for n in range(100)]
    rates = [b._min_early_stopping_rate for b in p._pruners]
    emit(f'{{{lo}, {hi}, {rf}, "{name}", {p._n_brackets}, {ints(p._trial_allocation_budgets)}, '
         f"{ints(rates)}, {ints(ids)}}},")
emit("};}")

# ---------------------------------------------------------------- replayed learning curves
rng = random.Random(2026)
CURVES = []
for i in range(60):
    length = rng.choice([27, 27, 30, 12, 20])
    stride = 2 if rng.random() < 0.15 else 1
    start, rate, floor = rng.uniform(0.8, 2.0), rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.5)
    diverge = rng.randrange(5, 20) if rng.random() < 0.1 else None
    curve = []
    for step in range(0, length, stride):
        v = floor + (start - floor) * math.exp(-rate * step) + rng.gauss(0, 0.02)
        if diverge is not None and step > diverge:
            v *= 1.5 ** (step - diverge)
        if rng.random() < 0.03 and step + stride < length:
            v = math.nan
        curve.append((step, round(v, 6)))
    CURVES.append(curve)


def flipped(curve):  # for maximized studies: the negated loss (exact in both languages)
    return [(s, -v) for s, v in curve]


REPLAYS = [  # name, Optuna pruner, the same in knob, maximize
    ("median", lambda: MedianPruner(),
     "std::make_shared<MedianPruner>()", False),
    ("percentile_25_warmup_interval",
     lambda: PercentilePruner(25.0, n_startup_trials=3, n_warmup_steps=2, interval_steps=3),
     "std::make_shared<PercentilePruner>(PercentilePrunerOptions(25.0).n_startup_trials(3)"
     ".n_warmup_steps(2).interval_steps(3))", False),
    ("percentile_60_min_trials_max",
     lambda: PercentilePruner(60.0, n_startup_trials=4, n_min_trials=3),
     "std::make_shared<PercentilePruner>(PercentilePrunerOptions(60.0).n_startup_trials(4)"
     ".n_min_trials(3))", True),
    ("threshold", lambda: ThresholdPruner(lower=0.1, upper=1.5, n_warmup_steps=1, interval_steps=2),
     "std::make_shared<ThresholdPruner>(ThresholdPrunerOptions().lower(0.1).upper(1.5)"
     ".n_warmup_steps(1).interval_steps(2))", False),
    ("patient", lambda: PatientPruner(None, patience=3, min_delta=0.01),
     "std::make_shared<PatientPruner>(nullptr, PatientPrunerOptions(3).min_delta(0.01))", False),
    ("patient_median_max", lambda: PatientPruner(MedianPruner(n_startup_trials=3), patience=2),
     "std::make_shared<PatientPruner>(std::make_shared<MedianPruner>("
     "MedianPrunerOptions().n_startup_trials(3)), PatientPrunerOptions(2))", True),
    ("asha_auto", lambda: SuccessiveHalvingPruner(),
     "std::make_shared<SuccessiveHalvingPruner>()", False),
    ("asha_rf3_rate1",
     lambda: SuccessiveHalvingPruner(min_resource=2, reduction_factor=3, min_early_stopping_rate=1),
     "std::make_shared<SuccessiveHalvingPruner>(SuccessiveHalvingPrunerOptions().min_resource(2)"
     ".reduction_factor(3).min_early_stopping_rate(1))", False),
    ("asha_rf2_bootstrap_max",
     lambda: SuccessiveHalvingPruner(min_resource=1, reduction_factor=2, bootstrap_count=2),
     "std::make_shared<SuccessiveHalvingPruner>(SuccessiveHalvingPrunerOptions().min_resource(1)"
     ".reduction_factor(2).bootstrap_count(2))", True),
    ("hyperband_auto", lambda: HyperbandPruner(),
     "std::make_shared<HyperbandPruner>()", False),
    ("hyperband_27", lambda: HyperbandPruner(min_resource=1, max_resource=27, reduction_factor=3),
     "std::make_shared<HyperbandPruner>(HyperbandPrunerOptions().min_resource(1)"
     ".max_resource(27).reduction_factor(3))", False),
    ("hyperband_rf2_bootstrap_max",
     lambda: HyperbandPruner(min_resource=2, max_resource=30, reduction_factor=2, bootstrap_count=1),
     "std::make_shared<HyperbandPruner>(HyperbandPrunerOptions().min_resource(2)"
     ".max_resource(30).reduction_factor(2).bootstrap_count(1))", True),
]


def replay(make_pruner, maximize):
    study = optuna.create_study(study_name="replay", pruner=make_pruner(),
                                direction="maximize" if maximize else "minimize")
    pruned_at, rungs = [], []
    for curve in CURVES:
        curve = flipped(curve) if maximize else curve
        trial = study.ask()
        at = -1
        for step, v in curve:
            trial.report(v, step)
            if trial.should_prune():
                at = step
                break
        if at >= 0:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, [v for _, v in curve if not math.isnan(v)][-1])
        pruned_at.append(at)
        attrs = study.trials[-1].system_attrs
        rungs.append([attrs[f"completed_rung_{r}"] for r in range(len(attrs))
                      if f"completed_rung_{r}" in attrs])
        assert len(rungs[-1]) == sum(k.startswith("completed_rung_") for k in attrs)
    return pruned_at, rungs


emit("using Curve = std::vector<std::pair<int64_t, double>>;  // (step, value) as reported")
emit("// Losses of 60 trials, as the generator made them (random.Random(2026)); a maximized")
emit("// study reports -loss.")
emit("inline std::vector<Curve> replay_curves() { return {")
for curve in CURVES:
    emit("{" + ", ".join(f"{{{s}, {num(v)}}}" for s, v in curve) + "},")
emit("};}")
emit("struct ReplayCase {")
emit("  const char* name;")
emit("  std::function<std::shared_ptr<Pruner>()> make_pruner;  // as Optuna's in the generator")
emit("  bool maximize;")
emit("  std::vector<int64_t> pruned_at;  // per trial: the step it was pruned at, -1 if completed")
emit("  std::vector<std::vector<double>> completed_rungs;  // per trial: completed_rung_0, 1, ...")
emit("};")
emit("inline std::vector<ReplayCase> replay_cases() { return {")
for name, make, cpp, maximize in REPLAYS:
    pruned_at, rungs = replay(make, maximize)
    assert any(a >= 0 for a in pruned_at), name  # something to compare
    emit(f'{{"{name}", [] {{ return std::shared_ptr<Pruner>({cpp}); }}, {str(maximize).lower()}, '
         f"{ints(pruned_at)}, {{" + ", ".join("{" + ", ".join(num(v) for v in r) + "}"
                                             for r in rungs) + "}},")
emit("};}")

# ---------------------------------------------------------------- system attribute JSON
emit("// How Optuna's RDB storage writes a completed_rung_N value (json.dumps of the float).")
emit("struct RungJson { double value; const char* json; };")
emit("inline std::vector<RungJson> rung_json() { return {")
for v in [0.5, 1.0, 0.1, 1e-7, 123456789.0, -2.25, 1 / 3]:
    emit(f'{{{num(v)}, "{json.dumps(v)}"}},')
emit("};}")

print(f"// @generated by scripts/gen_pruner_golden.py with Optuna {optuna.__version__}: do not edit.")
print("""#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "knob/tuner/pruners/hyperband_pruner.h"
#include "knob/tuner/pruners/median_pruner.h"
#include "knob/tuner/pruners/patient_pruner.h"
#include "knob/tuner/pruners/percentile_pruner.h"
#include "knob/tuner/pruners/successive_halving_pruner.h"
#include "knob/tuner/pruners/threshold_pruner.h"

namespace knob::golden {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
""")
print("\n".join(out))
print("\n}  // namespace knob::golden")
