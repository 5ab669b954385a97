// The multi-objective benchmark problems of bench/multi_objective, defined once: knob's half
// (mo_bench) links this library and Optuna's half (optuna_peer.py) loads it with ctypes, so
// both optimize the very same functions and their fronts are measured by the same
// hypervolume (knob::hypervolume, exact).
//
// Every objective is minimized. A point is one double per parameter, in the problem's order.
// Constraint values follow Optuna's constraints_func: <= 0 feasible.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace knob::bench {

struct MoParam {
  std::string name;
  double low = 0, high = 1;
  bool log = false;
  bool integer = false;
};

struct MoProblem {
  std::string name;
  std::vector<MoParam> params;
  std::vector<double> reference;  // the hypervolume's reference point, one per objective
  int n_constraints = 0;
  // Objective values (reference.size() of them) and constraint values (n_constraints).
  std::function<void(const std::vector<double>& x, std::vector<double>& f, std::vector<double>& c)>
      evaluate;
};

const std::vector<MoProblem>& mo_problems();
// Null if there is no problem of that name.
const MoProblem* find_mo_problem(const std::string& name);

}  // namespace knob::bench

extern "C" {
// [{"name", "reference", "n_constraints", "params": [{"name", "low", "high", "log",
// "integer"}]}].
const char* knob_mo_problems_json();
// Writes the objectives to f and the constraints to c; returns 0, or -1 for an unknown name.
int knob_mo_evaluate(const char* problem, const double* x, double* f, double* c);
// knob::hypervolume of n points of k objectives (row-major) against `reference`.
double knob_mo_hypervolume(const double* points, int n, int k, const double* reference);
}
