"""C++ literals for the golden-header generators (scripts/gen_*_golden.py): numbers that
round-trip, vectors, matrices and knob distributions, as the *_test.cc files spell them
(kInf and kNan are constants those tests define)."""
import math


def num(x):
    x = float(x)
    if math.isnan(x):
        return "kNan"
    return repr(x) if math.isfinite(x) else ("-" if x < 0 else "") + "kInf"


def vec(xs):
    return "{" + ", ".join(num(x) for x in xs) + "}"


def mat(rows):
    return "{" + ", ".join(vec(r) for r in rows) + "}"


def ints(xs):
    return "{" + ", ".join(str(x) for x in xs) + "}"


def cpp_dist(d):
    """An Optuna distribution as the knob Distribution that equals it."""
    from optuna.distributions import FloatDistribution, IntDistribution

    if isinstance(d, FloatDistribution):
        step = "std::nullopt" if d.step is None else num(d.step)
        return f"FloatDistribution({num(d.low)}, {num(d.high)}, {str(d.log).lower()}, {step})"
    if isinstance(d, IntDistribution):
        return f"IntDistribution({d.low}, {d.high}, {str(d.log).lower()}, {d.step})"

    def choice(c):
        if isinstance(c, str):
            return f'ParamValue(std::string("{c}"))'
        return f"ParamValue(int64_t{{{c}}})" if isinstance(c, int) else f"ParamValue({num(c)})"

    return f"CategoricalDistribution({{{', '.join(choice(c) for c in d.choices)}}})"
