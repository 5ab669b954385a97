#include "torch/fused_optimizers.h"

#include <array>
#include <cmath>

#include "torch/fused_update_kernels.h"

namespace knob {

const std::string& StateKeys::of(const torch::Tensor& parameter) {
  const void* impl = parameter.unsafeGetTensorImpl();
  auto it = keys_.find(impl);
  if (it == keys_.end()) {
    it = keys_.emplace(impl, c10::guts::to_string(parameter.unsafeGetTensorImpl())).first;
  }
  return it->second;
}

namespace {

// A tensor the one-pass updates can read or write in place of `like`'s elements.
bool flat_float(const torch::Tensor& t, const torch::Tensor& like) {
  return t.defined() && t.layout() == torch::kStrided && t.device().is_cpu() &&
         t.scalar_type() == torch::kFloat32 && t.is_contiguous() && t.numel() == like.numel();
}

// Every parameter with a gradient, and each state tensor `state_tensors` lists for it (those
// defined), is a flat float32 tensor.
template <typename State, typename Tensors>
bool all_flat(const std::vector<torch::optim::OptimizerParamGroup>& groups,
              const ska::flat_hash_map<std::string,
                                       std::unique_ptr<torch::optim::OptimizerParamState>>& state,
              StateKeys& keys, Tensors state_tensors) {
  static const bool supported = fused_updates_supported();
  if (!supported) return false;
  for (const auto& group : groups) {
    for (const auto& p : group.params()) {
      const torch::Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      if (!flat_float(p, p) || !flat_float(grad, p)) return false;
      auto it = state.find(keys.of(p));
      if (it == state.end()) continue;
      for (const torch::Tensor* t : state_tensors(static_cast<const State&>(*it->second))) {
        if (t->defined() && !flat_float(*t, p)) return false;
      }
    }
  }
  return true;
}

float* data(const torch::Tensor& t) {
  t.unsafeGetTensorImpl()->bump_version();  // as libtorch's in-place operations do
  return t.data_ptr<float>();
}

// Adam and AdamW share their state's and options' accessors: one step serves both.
using StateMap =
    ska::flat_hash_map<std::string, std::unique_ptr<torch::optim::OptimizerParamState>>;

// Whether the one-pass update can take this step (else libtorch's own step does).
template <typename State, typename Options>
bool adam_family_fusable(const std::vector<torch::optim::OptimizerParamGroup>& groups,
                         const StateMap& state, StateKeys& keys, bool closure) {
  bool amsgrad = false;
  for (const auto& group : groups) {
    amsgrad |= static_cast<const Options&>(group.options()).amsgrad();
  }
  return !closure && !amsgrad && all_flat<State>(groups, state, keys, [](const State& s) {
    return std::array<const torch::Tensor*, 2>{&s.exp_avg(), &s.exp_avg_sq()};
  });
}

// One step of every parameter with a gradient; `weight_decay(options, coefficients)` sets
// Adam's L2 term or AdamW's decoupled decay.
template <typename State, typename Options, typename WeightDecay>
void adam_family_step(std::vector<torch::optim::OptimizerParamGroup>& groups, StateMap& state,
                      StateKeys& keys, WeightDecay weight_decay) {
  torch::NoGradGuard no_grad;
  for (auto& group : groups) {
    const auto& o = static_cast<const Options&>(group.options());
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = state[keys.of(p)];
      if (!slot) {
        auto fresh = std::make_unique<State>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& s = static_cast<State&>(*slot);
      s.step(s.step() + 1);
      const double bias_correction1 = 1 - std::pow(beta1, s.step());
      const double bias_correction2 = 1 - std::pow(beta2, s.step());
      AdamCoefficients c;
      weight_decay(o, c);
      c.beta1 = static_cast<float>(beta1);
      c.one_minus_beta1 = static_cast<float>(1 - beta1);
      c.beta2 = static_cast<float>(beta2);
      c.one_minus_beta2 = static_cast<float>(1 - beta2);
      c.sqrt_bias_correction2 = static_cast<float>(std::sqrt(bias_correction2));
      c.eps = static_cast<float>(o.eps());
      c.minus_step_size = static_cast<float>(-(o.lr() / bias_correction1));
      adam_update(data(p), p.grad().data_ptr<float>(), data(s.exp_avg()), data(s.exp_avg_sq()),
                  p.numel(), c);
    }
  }
}

}  // namespace

torch::Tensor FusedAdam::step(LossClosure closure) {
  using Options = torch::optim::AdamOptions;
  if (!adam_family_fusable<torch::optim::AdamParamState, Options>(param_groups_, state_, keys_,
                                                                  bool(closure))) {
    return Adam::step(std::move(closure));
  }
  adam_family_step<torch::optim::AdamParamState, Options>(
      param_groups_, state_, keys_,
      [](const Options& o, AdamCoefficients& c) { c.l2 = static_cast<float>(o.weight_decay()); });
  return {};
}

torch::Tensor FusedAdamW::step(LossClosure closure) {
  using Options = torch::optim::AdamWOptions;
  if (!adam_family_fusable<torch::optim::AdamWParamState, Options>(param_groups_, state_, keys_,
                                                                   bool(closure))) {
    return AdamW::step(std::move(closure));
  }
  adam_family_step<torch::optim::AdamWParamState, Options>(
      param_groups_, state_, keys_, [](const Options& o, AdamCoefficients& c) {
        if (o.weight_decay() != 0) c.decay = static_cast<float>(1 - o.lr() * o.weight_decay());
      });
  return {};
}

torch::Tensor FusedSGD::step(LossClosure closure) {
  using State = torch::optim::SGDParamState;
  if (closure || !all_flat<State>(param_groups_, state_, keys_, [](const State& s) {
        return std::array<const torch::Tensor*, 1>{&s.momentum_buffer()};
      })) {
    return SGD::step(std::move(closure));
  }
  torch::NoGradGuard no_grad;
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const torch::optim::SGDOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      SgdCoefficients c;
      c.l2 = static_cast<float>(o.weight_decay());
      c.minus_lr = static_cast<float>(-1 * o.lr());
      float* buffer = nullptr;
      if (o.momentum() != 0) {
        c.momentum = true;
        c.nesterov = o.nesterov();
        c.momentum_factor = static_cast<float>(o.momentum());
        c.one_minus_dampening = static_cast<float>(1 - o.dampening());
        auto& slot = state_[keys_.of(p)];
        if (!slot) {
          auto fresh = std::make_unique<State>();
          fresh->momentum_buffer(torch::empty_like(p, torch::MemoryFormat::Preserve));
          slot = std::move(fresh);
          c.first = true;
        }
        buffer = data(static_cast<State&>(*slot).momentum_buffer());
      }
      sgd_update(data(p), p.grad().data_ptr<float>(), buffer, p.numel(), c);
    }
  }
  return {};
}

torch::Tensor FusedRMSprop::step(LossClosure closure) {
  using State = torch::optim::RMSpropParamState;
  bool centered = false;
  for (const auto& group : param_groups_) {
    centered |= static_cast<const torch::optim::RMSpropOptions&>(group.options()).centered();
  }
  if (closure || centered || !all_flat<State>(param_groups_, state_, keys_, [](const State& s) {
        return std::array<const torch::Tensor*, 2>{&s.square_avg(), &s.momentum_buffer()};
      })) {
    return RMSprop::step(std::move(closure));
  }
  torch::NoGradGuard no_grad;
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const torch::optim::RMSpropOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = state_[keys_.of(p)];
      if (!slot) {
        auto fresh = std::make_unique<State>();
        fresh->step(0);
        fresh->square_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        if (o.momentum() > 0) {
          fresh->momentum_buffer(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        }
        slot = std::move(fresh);
      }
      auto& s = static_cast<State&>(*slot);
      s.step(s.step() + 1);
      RmspropCoefficients c;
      c.l2 = static_cast<float>(o.weight_decay());
      c.alpha = static_cast<float>(o.alpha());
      c.one_minus_alpha = static_cast<float>(1 - o.alpha());
      c.eps = static_cast<float>(o.eps());
      c.minus_lr = static_cast<float>(-o.lr());
      float* buffer = nullptr;
      if (o.momentum() > 0) {
        if (!s.momentum_buffer().defined()) {  // momentum switched on after the state was made
          s.momentum_buffer(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        }
        c.momentum = true;
        c.momentum_factor = static_cast<float>(o.momentum());
        buffer = data(s.momentum_buffer());
      }
      rmsprop_update(data(p), p.grad().data_ptr<float>(), data(s.square_avg()), buffer, p.numel(),
                     c);
    }
  }
  return {};
}

}  // namespace knob
