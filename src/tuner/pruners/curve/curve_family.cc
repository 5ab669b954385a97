#include "tuner/pruners/curve/curve_family.h"

#include <algorithm>
#include <cmath>

namespace knob::detail {
namespace {

using Theta = std::vector<double>;
using Guesses = std::vector<Theta>;

// exp() bounded so that a wild trial step of the fit gives a large number, not inf.
double bounded_exp(double v) { return std::exp(std::min(v, 300.0)); }

// log() of a gap that must be positive: a starting point only.
double log_gap(double gap) { return std::log(std::max(gap, 1e-3)); }

// What every family's starting points share: the first point, the span of x, and candidate
// asymptotes a little and well above the best value seen.
struct Anchor {
  double x1, y1, span;
  std::vector<double> asymptotes;
};

Anchor anchor(const std::vector<double>& x, const std::vector<double>& y) {
  const double best = *std::max_element(y.begin(), y.end());
  const double range = std::max(best - *std::min_element(y.begin(), y.end()), 1e-6);
  return {x.front(),
          y.front(),
          std::max(x.back() - x.front(), 1.0),
          {best + 0.05 * range, best + 0.5 * range}};
}

double pow3(double x, const Theta& t) {
  return t[0] - bounded_exp(t[1]) * std::pow(x, -bounded_exp(t[2]));
}
Guesses pow3_guesses(const std::vector<double>& x, const std::vector<double>& y) {
  const Anchor a = anchor(x, y);
  Guesses g;
  for (double c : a.asymptotes) {
    for (double alpha : {0.5, 1.5}) {
      g.push_back({c, log_gap(c - a.y1) + alpha * std::log(a.x1), std::log(alpha)});
    }
  }
  return g;
}

double pow4(double x, const Theta& t) {
  return t[0] - bounded_exp(t[1]) * std::pow(x + bounded_exp(t[3]), -bounded_exp(t[2]));
}
Guesses pow4_guesses(const std::vector<double>& x, const std::vector<double>& y) {
  const Anchor a = anchor(x, y);
  Guesses g;
  for (double c : a.asymptotes) {
    for (double alpha : {0.5, 1.5}) {
      g.push_back({c, log_gap(c - a.y1) + alpha * std::log(a.x1 + 1.0), std::log(alpha), 0.0});
    }
  }
  return g;
}

double exp3(double x, const Theta& t) { return t[0] - bounded_exp(t[1] - bounded_exp(t[2]) * x); }
Guesses exp3_guesses(const std::vector<double>& x, const std::vector<double>& y) {
  const Anchor a = anchor(x, y);
  Guesses g;
  for (double c : a.asymptotes) {
    for (double rate : {1.0 / a.span, 4.0 / a.span}) {
      g.push_back({c, log_gap(c - a.y1) + rate * a.x1, std::log(rate)});
    }
  }
  return g;
}

double ilog2(double x, const Theta& t) { return t[0] - bounded_exp(t[1]) / std::log(x + 1.0); }
Guesses ilog2_guesses(const std::vector<double>& x, const std::vector<double>& y) {
  const Anchor a = anchor(x, y);
  Guesses g;
  for (double c : a.asymptotes) g.push_back({c, log_gap((c - a.y1) * std::log(a.x1 + 1.0))});
  return g;
}

double mmf(double x, const Theta& t) {
  return t[0] - bounded_exp(t[1]) / (1.0 + std::pow(bounded_exp(t[2]) * x, bounded_exp(t[3])));
}
Guesses mmf_guesses(const std::vector<double>& x, const std::vector<double>& y) {
  const Anchor a = anchor(x, y);
  Guesses g;
  for (double c : a.asymptotes) {
    for (double rate : {1.0 / a.span, 4.0 / a.span}) {
      g.push_back({c, log_gap((c - a.y1) * (1.0 + rate * a.x1)), std::log(rate), 0.0});
    }
  }
  return g;
}

double weibull(double x, const Theta& t) {
  return t[0] - bounded_exp(t[1]) * std::exp(-std::pow(bounded_exp(t[2]) * x, bounded_exp(t[3])));
}
Guesses weibull_guesses(const std::vector<double>& x, const std::vector<double>& y) {
  const Anchor a = anchor(x, y);
  Guesses g;
  for (double c : a.asymptotes) {
    for (double rate : {1.0 / a.span, 4.0 / a.span}) {
      g.push_back({c, log_gap(c - a.y1) + rate * a.x1, std::log(rate), 0.0});
    }
  }
  return g;
}

double loglinear(double x, const Theta& t) { return bounded_exp(t[0]) * std::log(x) + t[1]; }
Guesses loglinear_guesses(const std::vector<double>& x, const std::vector<double>& y) {
  // Least squares of y on log x, the slope kept positive.
  double mean_u = 0, mean_y = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    mean_u += std::log(x[i]);
    mean_y += y[i];
  }
  mean_u /= static_cast<double>(x.size());
  mean_y /= static_cast<double>(x.size());
  double suu = 0, suy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double du = std::log(x[i]) - mean_u;
    suu += du * du;
    suy += du * (y[i] - mean_y);
  }
  const double slope = suu > 0 ? std::max(suy / suu, 1e-3) : 1e-3;
  return {{std::log(slope), mean_y - slope * mean_u}};
}

}  // namespace

const std::vector<CurveFamily>& curve_families() {
  static const std::vector<CurveFamily> kFamilies = {
      {"pow3", 3, pow3, pow3_guesses},
      {"pow4", 4, pow4, pow4_guesses},
      {"exp3", 3, exp3, exp3_guesses},
      {"ilog2", 2, ilog2, ilog2_guesses},
      {"mmf", 4, mmf, mmf_guesses},
      {"weibull", 4, weibull, weibull_guesses},
      {"loglinear", 2, loglinear, loglinear_guesses},
  };
  return kFamilies;
}

const CurveFamily* find_curve_family(const std::string& name) {
  for (const auto& family : curve_families()) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

}  // namespace knob::detail
