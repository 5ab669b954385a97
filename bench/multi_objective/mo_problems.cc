#include "mo_problems.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "knob/tuner/hypervolume.h"

namespace knob::bench {
namespace {

using X = std::vector<double>;

std::vector<MoParam> unit_box(int d) {
  std::vector<MoParam> ps;
  for (int i = 0; i < d; ++i) ps.push_back({"x" + std::to_string(i), 0.0, 1.0});
  return ps;
}

// ZDT (Zitzler, Deb and Thiele 2000) with 10 variables in [0, 1]: f1 = x0, f2 = g h(f1, g),
// g = 1 + 9 mean(x1..x9). Fronts at g = 1: convex (1), concave (2), disconnected (3).
MoProblem zdt(const std::string& name, std::function<double(double, double)> h) {
  return {name, unit_box(10), {1.1, 11.0}, 0, [h](const X& x, X& f, X&) {
            double sum = 0;
            for (size_t i = 1; i < x.size(); ++i) sum += x[i];
            const double g = 1 + 9 * sum / static_cast<double>(x.size() - 1);
            f = {x[0], g * h(x[0], g)};
          }};
}

// DTLZ2 (Deb, Thiele, Laumanns and Zitzler 2002), 3 objectives, 7 variables (k = 5): the
// front is the positive octant of the unit sphere.
void dtlz2(const X& x, X& f) {
  double g = 0;
  for (size_t i = 2; i < x.size(); ++i) g += (x[i] - 0.5) * (x[i] - 0.5);
  const double a = x[0] * M_PI / 2, b = x[1] * M_PI / 2;
  f = {(1 + g) * std::cos(a) * std::cos(b), (1 + g) * std::cos(a) * std::sin(b),
       (1 + g) * std::sin(a)};
}

// Binh and Korn (1997): x in [0, 5], y in [0, 3]; (x-5)^2 + y^2 <= 25 and
// (x-8)^2 + (y+3)^2 >= 7.7.
void binh_korn(const X& x, X& f, X& c) {
  f = {4 * x[0] * x[0] + 4 * x[1] * x[1], std::pow(x[0] - 5, 2) + std::pow(x[1] - 5, 2)};
  c = {std::pow(x[0] - 5, 2) + x[1] * x[1] - 25,
       7.7 - std::pow(x[0] - 8, 2) - std::pow(x[1] + 3, 2)};
}

// A made-up surrogate of training a small network: validation error and seconds over the
// learning rate (log), batch size (log, integer) and epochs. The best learning rate grows with
// the batch (the linear scaling rule), large batches generalize a little worse, more epochs
// lower the error with diminishing returns, and time is steps x per-step cost plus a per-epoch
// cost, so small batches are slow.
void lr_batch_time(const X& x, X& f, X&) {
  const double lr = x[0], batch = x[1], epochs = x[2];
  const double best_lr = 0.05 * batch / 128;
  const double miss = std::log10(lr / best_lr);
  const double steps = epochs * 60000 / batch;
  const double error = 0.08 + 0.6 * std::exp(-steps * std::min(lr, 2 * best_lr) / 40) +
                       0.04 * miss * miss + 0.015 * std::log2(batch / 16);
  const double seconds = steps * (0.002 + batch * 2e-5) + 0.8 * epochs;
  f = {std::min(error, 1.0), seconds};
}

std::vector<MoProblem> make_problems() {
  std::vector<MoProblem> ps;
  ps.push_back(zdt("zdt1", [](double f1, double g) { return 1 - std::sqrt(f1 / g); }));
  ps.push_back(zdt("zdt2", [](double f1, double g) { return 1 - (f1 / g) * (f1 / g); }));
  ps.push_back(zdt("zdt3", [](double f1, double g) {
    return 1 - std::sqrt(f1 / g) - (f1 / g) * std::sin(10 * M_PI * f1);
  }));
  ps.push_back(
      {"dtlz2", unit_box(7), {2.5, 2.5, 2.5}, 0, [](const X& x, X& f, X&) { dtlz2(x, f); }});
  ps.push_back({"binh_korn", {{"x", 0.0, 5.0}, {"y", 0.0, 3.0}}, {140.0, 50.0}, 2, binh_korn});
  ps.push_back(
      {"lr_batch_time",
       {{"lr", 1e-4, 1.0, true}, {"batch", 16, 1024, true, true}, {"epochs", 1, 30, false, true}},
       {1.05, 300.0},
       0,
       lr_batch_time});
  return ps;
}

}  // namespace

const std::vector<MoProblem>& mo_problems() {
  static const std::vector<MoProblem> kProblems = make_problems();
  return kProblems;
}

const MoProblem* find_mo_problem(const std::string& name) {
  for (const auto& p : mo_problems()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace knob::bench

const char* knob_mo_problems_json() {
  static const std::string text = [] {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& p : knob::bench::mo_problems()) {
      nlohmann::json params = nlohmann::json::array();
      for (const auto& q : p.params) {
        params.push_back({{"name", q.name},
                          {"low", q.low},
                          {"high", q.high},
                          {"log", q.log},
                          {"integer", q.integer}});
      }
      all.push_back({{"name", p.name},
                     {"reference", p.reference},
                     {"n_constraints", p.n_constraints},
                     {"params", params}});
    }
    return all.dump();
  }();
  return text.c_str();
}

int knob_mo_evaluate(const char* problem, const double* x, double* f, double* c) {
  const auto* p = knob::bench::find_mo_problem(problem);
  if (p == nullptr) return -1;
  std::vector<double> fs, cs;
  p->evaluate(std::vector<double>(x, x + p->params.size()), fs, cs);
  std::copy(fs.begin(), fs.end(), f);
  std::copy(cs.begin(), cs.end(), c);
  return 0;
}

double knob_mo_hypervolume(const double* points, int n, int k, const double* reference) {
  std::vector<std::vector<double>> ps;
  for (int i = 0; i < n; ++i) ps.emplace_back(points + i * k, points + (i + 1) * k);
  return knob::hypervolume(std::move(ps), std::vector<double>(reference, reference + k));
}
