// The benchmark problems of bench/samplers, defined once: each problem's search space and
// function live here, and both halves of the benchmark use them — sampler_bench links this
// library, optuna_peer.py loads it with ctypes (knob_bench_problems_json for the spaces,
// knob_bench_evaluate for the values), so knob and Optuna optimize the very same functions.
//
// A point is one double per parameter, in the problem's order: the value for numbers, the
// choice's index for categoricals, NaN for a parameter whose condition does not hold.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace knob::bench {

struct Param {
  std::string name;
  enum Kind { kFloat, kInt, kCategorical } kind = kFloat;
  double low = 0, high = 0;
  bool log = false;
  double step = 0;  // 0: none
  std::vector<std::string> choices;
  // Suggested only if the categorical parameter `if_param` took the choice `if_choice`.
  std::string if_param, if_choice;
};

struct Problem {
  std::string name;
  std::vector<Param> params;
  double minimum;              // of the noise-free function
  std::vector<double> argmin;  // a point where it is reached (checked by `sampler_bench check`)
  double noise_sd = 0;         // Gaussian noise added to observed values
  std::function<double(const std::vector<double>&)> f;  // noise-free
};

const std::vector<Problem>& problems();
// Null if there is no problem of that name.
const Problem* find_problem(const std::string& name);
// f(x), plus noise_sd times a standard normal drawn from `noise_key` if `noisy`.
double evaluate(const Problem& problem, const std::vector<double>& x, bool noisy,
                uint64_t noise_key);

}  // namespace knob::bench

extern "C" {
// The problems as JSON: [{"name", "minimum", "noise_sd", "params": [{"name", "kind",
// "low", "high", "log", "step", "choices", "if_param", "if_choice"}]}].
const char* knob_bench_problems_json();
// evaluate() by problem name; NaN for an unknown name.
double knob_bench_evaluate(const char* problem, const double* x, int noisy, uint64_t noise_key);
}
