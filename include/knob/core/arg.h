// KNOB_ARG declares an option with a default and a chainable setter, in the style of
// PyTorch's TORCH_ARG:
//
//   struct TpeOptions {
//     KNOB_ARG(int, n_startup_trials) = 10;
//   };
//   auto options = TpeOptions().n_startup_trials(20);   // set
//   int n = options.n_startup_trials();                 // get
#pragma once

#include <utility>

#define KNOB_ARG(T, name)                                                  \
 public:                                                                   \
  inline auto name(const T& new_##name)->decltype(*this) {                 \
    this->name##_ = new_##name;                                            \
    return *this;                                                          \
  }                                                                        \
  inline auto name(T&& new_##name)->decltype(*this) {                      \
    this->name##_ = std::move(new_##name);                                 \
    return *this;                                                          \
  }                                                                        \
  inline const T& name() const noexcept { return this->name##_; }          \
  inline T& name() noexcept { return this->name##_; }                      \
                                                                           \
 private:                                                                  \
  T name##_
