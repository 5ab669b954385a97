// A program outside the knob tree, built against an installed knob (find_package(knob)).
#include <knob/tuner/study.h>

#include <iostream>

int main() {
  auto study = knob::create_study();
  study.optimize(
      [](knob::Trial& t) {
        double x = t.suggest_float("x", -1, 1);
        return x * x;
      },
      20);
  std::cout << "best " << study.best_value() << "\n";
  return study.trials().size() == 20 ? 0 : 1;
}
