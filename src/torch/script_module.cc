#include "knob/torch/script_module.h"

#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>

#include "knob/core/error.h"
#include "torch/checkpoint.h"

namespace knob {
namespace {

// Registered names cannot hold dots ("conv.weight"): the position keeps them unique.
std::string registered_name(size_t index, const std::string& name) {
  std::string out = std::to_string(index) + "_" + name;
  for (char& c : out) {
    if (c == '.') c = '_';
  }
  return out;
}

std::string owner_of(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? "" : name.substr(0, dot);
}

std::string leaf_of(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

int64_t fan_in(const torch::Tensor& weight) {
  int64_t fan = weight.size(1);
  for (int64_t d = 2; d < weight.dim(); ++d) fan *= weight.size(d);
  return fan;
}

void reinitialise(torch::jit::Module& script) {
  torch::NoGradGuard no_grad;
  std::map<std::string, int64_t> layer_fan_in;  // layer -> fan-in of its weight
  for (const auto& p : script.named_parameters(/*recurse=*/true)) {
    if (p.value.dim() >= 2) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in(p.value)));
      p.value.uniform_(-bound, bound);  // kaiming_uniform_(a = sqrt(5))
      layer_fan_in[owner_of(p.name)] = fan_in(p.value);
    }
  }
  for (const auto& p : script.named_parameters(/*recurse=*/true)) {
    if (p.value.dim() >= 2) continue;
    auto fan = layer_fan_in.find(owner_of(p.name));
    if (leaf_of(p.name) == "bias" && fan != layer_fan_in.end()) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(fan->second));
      p.value.uniform_(-bound, bound);
    } else if (leaf_of(p.name) == "weight") {
      p.value.fill_(1.0);
    } else {
      p.value.zero_();
    }
  }
  for (const auto& b : script.named_buffers(/*recurse=*/true)) {
    if (leaf_of(b.name) == "running_var") {
      b.value.fill_(1.0);
    } else if (leaf_of(b.name) == "running_mean" || leaf_of(b.name) == "num_batches_tracked") {
      b.value.zero_();
    }
  }
}

}  // namespace

ScriptModuleImpl::ScriptModuleImpl(const std::string& path, bool reinit) : path_(path) {
  KNOB_CHECK(std::filesystem::is_regular_file(path), "model.path", path,
             "must be a TorchScript file (torch.jit.save of a scripted or traced module); "
             "there is no such file");
  try {
    script_ = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw_invalid("model.path", path,
                  "must be a TorchScript file (torch.jit.save of a scripted or traced module): " +
                      std::string(e.what_without_backtrace()).substr(0, 300));
  }
  KNOB_CHECK(script_.find_method("forward").has_value(), "model.path", path,
             "must define forward(input) returning a Tensor");
  if (reinit) reinitialise(script_);
  size_t index = 0;
  for (const auto& p : script_.named_parameters(/*recurse=*/true)) {
    register_parameter(registered_name(index++, p.name), p.value, p.value.requires_grad());
  }
  for (const auto& b : script_.named_buffers(/*recurse=*/true)) {
    register_buffer(registered_name(index++, b.name), b.value);
  }
  script_.train(is_training());
}

torch::Tensor ScriptModuleImpl::forward(torch::Tensor input) {
  c10::IValue output;
  try {
    output = script_.forward({input});
  } catch (const std::exception& e) {
    // The model's own message: the last line of what TorchScript says, after its traceback
    // ("RuntimeError: mat1 and mat2 shapes cannot be multiplied (32x784 and 8x16)").
    std::string message = e.what();
    if (auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
      message = c10_error->what_without_backtrace();
    }
    while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) {
      message.pop_back();
    }
    message = message.substr(message.rfind('\n') + 1);  // npos + 1 == 0: the whole one line
    throw_invalid("model.path", path_,
                  "failed on an input batch of shape " + c10::str(input.sizes()) +
                      " (the data's examples are " + c10::str(input.sizes().slice(1)) +
                      "): " + message.substr(0, 600));
  }
  if (!output.isTensor()) {
    throw_invalid(
        "model.path", path_,
        "must define forward(input) returning one Tensor; it returned a " + output.tagKind());
  }
  return output.toTensor();
}

void ScriptModuleImpl::train(bool on) {
  torch::nn::Module::train(on);
  script_.train(on);
}

void ScriptModuleImpl::save_script(const std::string& path) {
  const bool was_training = is_training();
  train(false);
  try {
    write_then_rename(path, "output.model",
                      [&](const std::string& temporary) { script_.save(temporary); });
  } catch (...) {
    train(was_training);
    throw;
  }
  train(was_training);
}

}  // namespace knob
