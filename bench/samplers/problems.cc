#include "problems.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace knob::bench {

namespace {

using X = std::vector<double>;
constexpr double kPi = M_PI;

Param real(std::string name, double low, double high, bool log = false) {
  Param p;
  p.name = std::move(name), p.low = low, p.high = high, p.log = log;
  return p;
}

Param integer(std::string name, double low, double high, bool log = false, double step = 1) {
  Param p = real(std::move(name), low, high, log);
  p.kind = Param::kInt, p.step = step;
  return p;
}

Param categorical(std::string name, std::vector<std::string> choices) {
  Param p;
  p.name = std::move(name), p.kind = Param::kCategorical, p.choices = std::move(choices);
  return p;
}

Param only_if(Param p, std::string param, std::string choice) {
  p.if_param = std::move(param), p.if_choice = std::move(choice);
  return p;
}

// x0..x(d-1), each in [low, high].
std::vector<Param> box(int d, double low, double high) {
  std::vector<Param> ps;
  for (int i = 0; i < d; ++i) ps.push_back(real("x" + std::to_string(i), low, high));
  return ps;
}

double branin(const X& x) {
  const double b = 5.1 / (4 * kPi * kPi), c = 5 / kPi, t = 1 / (8 * kPi);
  return std::pow(x[1] - b * x[0] * x[0] + c * x[0] - 6, 2) + 10 * (1 - t) * std::cos(x[0]) + 10;
}

double hartmann6(const X& x) {
  static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
  static const double a[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                 {0.05, 10, 17, 0.1, 8, 14},
                                 {3, 3.5, 1.7, 10, 17, 8},
                                 {17, 8, 0.05, 10, 0.1, 14}};
  static const double p[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                 {2329, 4135, 8307, 3736, 1004, 9991},
                                 {2348, 1451, 3522, 2883, 3047, 6650},
                                 {4047, 8828, 8732, 5743, 1091, 381}};
  double sum = 0;
  for (int i = 0; i < 4; ++i) {
    double inner = 0;
    for (int j = 0; j < 6; ++j) inner += a[i][j] * std::pow(x[j] - 1e-4 * p[i][j], 2);
    sum += alpha[i] * std::exp(-inner);
  }
  return -sum;
}

double rosenbrock(const X& x) {
  double sum = 0;
  for (size_t i = 0; i + 1 < x.size(); ++i) {
    sum += 100 * std::pow(x[i + 1] - x[i] * x[i], 2) + std::pow(1 - x[i], 2);
  }
  return sum;
}

double ackley(const X& x) {
  double squares = 0, cosines = 0;
  for (double v : x) squares += v * v, cosines += std::cos(2 * kPi * v);
  const double n = static_cast<double>(x.size());
  return -20 * std::exp(-0.2 * std::sqrt(squares / n)) - std::exp(cosines / n) + 20 + M_E;
}

double styblinski_tang(const X& x) {
  double sum = 0;
  for (double v : x) sum += v * v * v * v - 16 * v * v + 5 * v;
  return sum / 2;
}

double levy(const X& x) {
  auto w = [&](size_t i) { return 1 + (x[i] - 1) / 4; };
  const size_t d = x.size();
  double sum = std::pow(std::sin(kPi * w(0)), 2);
  for (size_t i = 0; i + 1 < d; ++i) {
    sum += std::pow(w(i) - 1, 2) * (1 + 10 * std::pow(std::sin(kPi * w(i) + 1), 2));
  }
  return sum + std::pow(w(d - 1) - 1, 2) * (1 + std::pow(std::sin(2 * kPi * w(d - 1)), 2));
}

double six_hump_camel(const X& x) {
  const double a = x[0], b = x[1];
  return (4 - 2.1 * a * a + a * a * a * a / 3) * a * a + a * b + (-4 + 4 * b * b) * b * b;
}

// x int, y float, c categorical (a: +2, b: 0, c: +1), n int on a grid of 2.
double mixed(const X& x) {
  static const double offset[3] = {2, 0, 1};
  return std::pow(x[0] - 3, 2) + std::pow(x[1] + 1.5, 2) + offset[static_cast<int>(x[2])] +
         std::abs(x[3] - 8) / 2;
}

// Like tuning lr, weight decay and batch size: quadratic in their logarithms.
double learning_rate(const X& x) {
  return std::pow(std::log10(x[0]) + 2.5, 2) + 0.5 * std::pow(std::log10(x[1]) + 4, 2) +
         0.3 * std::pow(std::log2(x[2]) - 6, 2);
}

// The optimizer decides which parameters exist: sgd (lr, momentum) or adam (lr, beta1).
double conditional(const X& x) {
  if (x[0] == 0) return 0.5 + std::pow(std::log10(x[1]) + 1, 2) + 4 * std::pow(x[2] - 0.9, 2);
  return std::pow(std::log10(x[3]) + 3, 2) + 10 * std::pow(x[4] - 0.9, 2);
}

std::vector<Problem> make_problems() {
  const double kNaN = std::numeric_limits<double>::quiet_NaN();
  std::vector<Problem> ps;
  ps.push_back({"branin",
                {real("x", -5, 10), real("y", 0, 15)},
                0.397887357729739,
                {kPi, 2.275},
                0,
                branin});
  ps.push_back({"hartmann6",
                box(6, 0, 1),
                -3.322368011391339,
                {0.20168952, 0.150011, 0.47687398, 0.27533243, 0.31165162, 0.65730054},
                0,
                hartmann6});
  ps.push_back({"rosenbrock2", box(2, -5, 10), 0, X(2, 1.0), 0, rosenbrock});
  ps.push_back({"rosenbrock10", box(10, -5, 10), 0, X(10, 1.0), 0, rosenbrock});
  ps.push_back({"ackley5", box(5, -32.768, 32.768), 0, X(5, 0.0), 0, ackley});
  ps.push_back({"styblinski_tang5", box(5, -5, 5), -39.16616570377142 * 5, X(5, -2.903534018185960),
                0, styblinski_tang});
  ps.push_back({"levy5", box(5, -10, 10), 0, X(5, 1.0), 0, levy});
  ps.push_back({"six_hump_camel",
                {real("x", -3, 3), real("y", -2, 2)},
                -1.031628453489877,
                {0.08984201368301331, -0.7126564032704135},
                0,
                six_hump_camel});
  ps.push_back({"mixed",
                {integer("x", -10, 10), real("y", -5, 5), categorical("c", {"a", "b", "c"}),
                 integer("n", 0, 20, false, 2)},
                0,
                {3, -1.5, 1, 8},
                0,
                mixed});
  ps.push_back({"learning_rate",
                {real("lr", 1e-5, 1, true), real("weight_decay", 1e-6, 1e-1, true),
                 integer("batch_size", 8, 1024, true)},
                0,
                {std::pow(10, -2.5), 1e-4, 64},
                0,
                learning_rate});
  ps.push_back({"conditional",
                {categorical("optimizer", {"sgd", "adam"}),
                 only_if(real("sgd_lr", 1e-4, 1, true), "optimizer", "sgd"),
                 only_if(real("momentum", 0, 0.99), "optimizer", "sgd"),
                 only_if(real("adam_lr", 1e-5, 1e-1, true), "optimizer", "adam"),
                 only_if(real("beta1", 0.5, 0.999), "optimizer", "adam")},
                0,
                {1, kNaN, kNaN, 1e-3, 0.9},
                0,
                conditional});
  ps.push_back({"hartmann6_noisy", box(6, 0, 1), ps[1].minimum, ps[1].argmin, 0.1, hartmann6});
  return ps;
}

// A standard normal from a key (splitmix64, then Box-Muller): the same on both halves.
double normal_from(uint64_t key) {
  auto next = [&key] {
    uint64_t z = (key += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  };
  const double u1 = (static_cast<double>(next() >> 11) + 1) * 0x1.0p-53;  // (0, 1]
  const double u2 = static_cast<double>(next() >> 11) * 0x1.0p-53;
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * kPi * u2);
}

}  // namespace

const std::vector<Problem>& problems() {
  static const std::vector<Problem> all = make_problems();
  return all;
}

const Problem* find_problem(const std::string& name) {
  for (const auto& p : problems()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

double evaluate(const Problem& problem, const std::vector<double>& x, bool noisy,
                uint64_t noise_key) {
  const double value = problem.f(x);
  return noisy && problem.noise_sd > 0 ? value + problem.noise_sd * normal_from(noise_key) : value;
}

}  // namespace knob::bench

const char* knob_bench_problems_json() {
  static const std::string text = [] {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& p : knob::bench::problems()) {
      nlohmann::json params = nlohmann::json::array();
      for (const auto& q : p.params) {
        static const char* kinds[] = {"float", "int", "categorical"};
        params.push_back({{"name", q.name},
                          {"kind", kinds[q.kind]},
                          {"low", q.low},
                          {"high", q.high},
                          {"log", q.log},
                          {"step", q.step},
                          {"choices", q.choices},
                          {"if_param", q.if_param},
                          {"if_choice", q.if_choice}});
      }
      all.push_back(
          {{"name", p.name}, {"minimum", p.minimum}, {"noise_sd", p.noise_sd}, {"params", params}});
    }
    return all.dump();
  }();
  return text.c_str();
}

double knob_bench_evaluate(const char* problem, const double* x, int noisy, uint64_t noise_key) {
  const auto* p = knob::bench::find_problem(problem);
  if (p == nullptr) return std::numeric_limits<double>::quiet_NaN();
  return knob::bench::evaluate(*p, std::vector<double>(x, x + p->params.size()), noisy != 0,
                               noise_key);
}
