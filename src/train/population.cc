#include "knob/train/population.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <filesystem>
#include <limits>
#include <numeric>
#include <thread>

#include "knob/core/error.h"
#include "knob/train/task.h"

namespace knob {
namespace {

namespace fs = std::filesystem;

// Thrown by the epoch callback at the end of a round: the trainer has saved the checkpoint.
struct EndOfRound {};

std::string knob_field(size_t i) { return "knobs[" + std::to_string(i) + "]"; }

}  // namespace

void validate(const PopulationOptions& o) {
  KNOB_CHECK(o.size() >= 2, "population.size", o.size(), "must be >= 2");
  KNOB_CHECK(o.interval() >= 1, "population.interval", o.interval(), "must be >= 1 (epochs)");
  KNOB_CHECK(o.quantile_fraction() >= 0 && o.quantile_fraction() <= 0.5,
             "population.quantile_fraction", o.quantile_fraction(),
             "must be in [0, 0.5] (0: no exploitation)");
  KNOB_CHECK(o.resample_probability() >= 0 && o.resample_probability() <= 1,
             "population.resample_probability", o.resample_probability(), "must be in [0, 1]");
  KNOB_CHECK(!o.perturbation_factors().empty(), "population.perturbation_factors", "[]",
             "must list at least one factor");
  for (double f : o.perturbation_factors()) {
    KNOB_CHECK(f > 0 && std::isfinite(f), "population.perturbation_factors", f,
               "must be finite and > 0");
  }
  KNOB_CHECK(!o.knobs().empty(), "population.knobs", "[]", "must list at least one knob");
  for (size_t i = 0; i < o.knobs().size(); ++i) {
    const MutableKnob& k = o.knobs()[i];
    const std::string field = "population." + knob_field(i) + " (" + k.key + ")";
    validate_knob(k, field);
    KNOB_CHECK(!checkpoint_structural(k.key), field, k.key,
               "cannot be mutated: a checkpoint does not load under another value of it "
               "(data.*, model.*, optimizer.kind, train.seed, train.loss)");
    const ConfigValue current = get_config_value(TrainConfig{}, k.key);
    switch (k.kind) {
      case KnobKind::kFloat:
        KNOB_CHECK(std::holds_alternative<double>(current), field, k.key,
                   "a float range must be a floating-point config key (optimizer.lr, "
                   "optimizer.momentum, ...)");
        break;
      case KnobKind::kInt:
        KNOB_CHECK(std::holds_alternative<int64_t>(current), field, k.key,
                   "an integer range must be an integer config key (batch.size, ...)");
        break;
      case KnobKind::kCategorical:
        for (const ParamValue& choice : k.choices) {
          try {
            check_config_value(TrainConfig{}, k.key, choice);
          } catch (const InvalidArgument& e) {
            const std::string allowed = std::string("must be a value of the key: ") + e.what();
            std::visit(
                [&](const auto& v) {
                  if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::monostate>) {
                    throw_invalid(field, std::string("None"), allowed);
                  } else {
                    throw_invalid(field, v, allowed);
                  }
                },
                choice);
          }
        }
        break;
    }
  }
  check_epoch_metric(o.metric(), "population.metric");
  KNOB_CHECK(o.jobs() >= 1, "population.jobs", o.jobs(), "must be >= 1");
}

int64_t PopulationMember::copied_from(int64_t epoch) const {
  for (const Exploit& e : lineage) {
    if (e.epoch == epoch) return e.source;
  }
  return -1;
}

Population::Population(TrainConfig config, PopulationOptions options, FitFunction fit)
    : config_(std::move(config)), options_(std::move(options)), fit_(std::move(fit)) {
  validate(options_);
  validate(config_);
  KNOB_CHECK(!config_.lr_find.use, "optimizer.lr", "find",
             "must be a number in population-based training (its members' lr are knobs)");
  KNOB_CHECK(!config_.batch_find.use, "batch.size", "find",
             "must be a number in population-based training");
  if (options_.checkpoint_dir().empty()) {
    std::string pattern = (fs::temp_directory_path() / "knob-pbt-XXXXXX").string();
    KNOB_CHECK(mkdtemp(pattern.data()) != nullptr, "population.checkpoint_dir", pattern,
               "could not be created in the temporary directory");
    dir_ = pattern;
    remove_dir_ = true;
  } else {
    dir_ = options_.checkpoint_dir();
    std::error_code error;
    fs::create_directories(dir_, error);
    KNOB_CHECK(!error, "population.checkpoint_dir", dir_, "must be a writable directory");
  }
  members_.resize(static_cast<size_t>(options_.size()));
  for (size_t i = 0; i < members_.size(); ++i) {
    PopulationMember& m = members_[i];
    m.config = config_;
    m.config.train.seed = config_.train.seed + i;
    Rng rng(pbt_seed(options_.seed(), 0, static_cast<int64_t>(i)));
    m.knobs = sample_knobs(options_.knobs(), rng);
    for (const auto& [key, value] : m.knobs) set_config_value(m.config, key, value);
  }
}

Population::~Population() {
  if (!remove_dir_) return;
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::string Population::checkpoint_path(int64_t member) const {
  return (fs::path(dir_) / ("member_" + std::to_string(member) + ".pt")).string();
}

double Population::score(const PopulationMember& m) const {
  const double worst = -std::numeric_limits<double>::infinity();
  if (m.history.empty() || m.stop_reason == "diverged") return worst;
  const EpochMetrics& last = m.history.back();
  const double value = epoch_metric(last, options_.metric());
  const double s = metric_maximized(options_.metric()) ? value : -value;
  return std::isnan(s) ? worst : s;
}

void Population::train_member(int64_t index, int64_t end_epoch) {
  PopulationMember& m = members_[static_cast<size_t>(index)];
  if (!m.stop_reason.empty()) return;  // stopped early or diverged: waits for a copy
  TrainConfig c = m.config;
  c.checkpoint.path = checkpoint_path(index);
  c.checkpoint.every = options_.interval();
  c.checkpoint.resume = epochs_done_ > 0;
  c.output.progress = false;
  c.output.metrics.clear();
  c.output.test = false;
  if (options_.jobs() > 1) c.train.threads = 1;
  // The whole run's length stays train.epochs (schedules see it); the callback ends the round.
  try {
    TrainResult r = fit_(c, [&](const EpochMetrics& e) {
      m.history.push_back(e);
      if (e.epoch + 1 >= end_epoch && e.epoch + 1 < c.train.epochs) throw EndOfRound{};
    });
    m.stop_reason = r.stop_reason;
  } catch (const EndOfRound&) {
  }
}

void Population::train_round() {
  if (done()) return;
  const int64_t end = std::min(epochs_done_ + options_.interval(), config_.train.epochs);
  const auto n = static_cast<int64_t>(members_.size());
  std::vector<std::exception_ptr> errors(members_.size());
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i; (i = next++) < n;) {
      try {
        train_member(i, end);
      } catch (...) {
        errors[static_cast<size_t>(i)] = std::current_exception();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int64_t j = 1; j < std::min(options_.jobs(), n); ++j) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  epochs_done_ = end;
}

std::vector<Exploit> Population::exploit_and_explore() {
  std::vector<Exploit> copies;
  if (done() || epochs_done_ == 0) return copies;
  std::vector<double> scores;
  for (const auto& m : members_) scores.push_back(score(m));
  const int64_t generation = epochs_done_ / options_.interval();
  for (int64_t target = 0; target < static_cast<int64_t>(members_.size()); ++target) {
    Rng rng(pbt_seed(options_.seed(), generation, target));
    const int64_t source = choose_source(scores, target, options_.quantile_fraction(), rng);
    if (source < 0) continue;
    if (!fs::exists(checkpoint_path(source))) continue;  // diverged before its first save
    std::error_code error;
    fs::copy_file(checkpoint_path(source), checkpoint_path(target),
                  fs::copy_options::overwrite_existing, error);
    KNOB_CHECK(!error, "population.checkpoint_dir", dir_,
               "must be writable (copying a checkpoint: " + error.message() + ")");
    PopulationMember& m = members_[static_cast<size_t>(target)];
    const PopulationMember& s = members_[static_cast<size_t>(source)];
    m.config = s.config;
    m.stop_reason = s.stop_reason;
    m.knobs = explore_knobs(options_.knobs(), s.knobs, options_.perturbation_factors(),
                            options_.resample_probability(), rng);
    for (const auto& [key, value] : m.knobs) set_config_value(m.config, key, value);
    m.lineage.push_back({target, source, epochs_done_, m.knobs});
    copies.push_back(m.lineage.back());
  }
  return copies;
}

PopulationResult Population::result() const {
  PopulationResult r;
  r.members = members_;
  double best = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < members_.size(); ++i) {
    if (r.best < 0 || score(members_[i]) > best) {
      best = score(members_[i]);
      r.best = static_cast<int64_t>(i);
    }
  }
  // Walk the best member's epochs backwards, switching to the source at each copy.
  int64_t member = r.best;
  for (int64_t epoch = epochs_done_ - 1; epoch >= 0; --epoch) {
    const auto& history = members_[static_cast<size_t>(member)].history;
    auto it = std::find_if(history.begin(), history.end(),
                           [&](const EpochMetrics& m) { return m.epoch == epoch; });
    if (it == history.end()) continue;  // stopped before this epoch
    r.best_schedule.push_back(it->lr);
    const int64_t source = members_[static_cast<size_t>(member)].copied_from(epoch);
    if (source >= 0) member = source;
  }
  std::reverse(r.best_schedule.begin(), r.best_schedule.end());
  return r;
}

PopulationResult Population::run() {
  while (!done()) {
    train_round();
    exploit_and_explore();
  }
  return result();
}

}  // namespace knob
