// Population-based training on small slices of Fashion-MNIST (data.limit), one libtorch
// thread, fixed seeds: the exploit step's copy, the explored knobs the optimizer then uses,
// the quantile rule, reproducibility, and malformed options in their own table.
#include "knob/train/population.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <limits>

#include "knob/core/error.h"
#include "knob/torch/model.h"
#include "knob/torch/trainer.h"
#include "testing/test_support.h"

namespace knob {
namespace {

using testing::expect_contains;
using testing::TempDir;

TrainConfig small_config() {
  TrainConfig c;
  c.data.limit = 1000;
  c.data.validation = 300;
  c.train.epochs = 2;
  c.train.threads = 1;
  c.output.progress = false;
  c.output.test = false;
  return c;
}

TrainResult fit(const TrainConfig& c, const EpochCallback& on_epoch) {
  return Trainer(c).fit(on_epoch);
}

// What a member's checkpoint holds, read with libtorch alone: the parameters, and the options
// (lr, weight decay) the optimizer had at its last step. libtorch 1.13's Optimizer::load keeps
// the options the optimizer was built with, so they are read from the archive directly.
struct Saved {
  std::vector<torch::Tensor> parameters;
  double lr = 0, weight_decay = 0;
};

Saved read_checkpoint(const std::string& path, const TrainConfig& c) {
  torch::nn::Sequential model = make_model(c.model, {28, 28}, 10);
  torch::serialize::InputArchive archive, model_archive, optimizer_archive, groups_archive;
  archive.load_from(path);
  archive.read("model", model_archive);
  model->load(model_archive);
  archive.read("optimizer", optimizer_archive);
  optimizer_archive.read("param_groups", groups_archive);
  std::vector<std::pair<std::vector<std::string>, std::unique_ptr<torch::optim::OptimizerOptions>>>
      groups;
  torch::optim::detail::serialize<torch::optim::AdamOptions>(groups_archive, groups);
  EXPECT_EQ(groups.size(), 1u);
  const auto& options = static_cast<const torch::optim::AdamOptions&>(*groups.at(0).second);
  Saved out{{}, options.lr(), options.weight_decay()};
  for (const auto& p : model->parameters()) out.parameters.push_back(p.detach().clone());
  return out;
}

bool same_parameters(const Saved& a, const Saved& b) {
  if (a.parameters.size() != b.parameters.size()) return false;
  for (size_t i = 0; i < a.parameters.size(); ++i) {
    if (!torch::equal(a.parameters[i], b.parameters[i])) return false;
  }
  return true;
}

TEST(PopulationTest, QuantilesFollowRayTunesRule) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Case {
    std::vector<double> scores;
    double fraction;
    std::vector<int64_t> bottom, top;  // worst first, best last
  };
  const std::vector<Case> cases = {
      {{0.5, 0.9, 0.1, 0.7}, 0.25, {2}, {1}},                         // N=4: ceil(1) = 1
      {{0.5, 0.9, 0.1, 0.7}, 0.5, {2, 0}, {3, 1}},                    // N=4: 2
      {{0.5, 0.9, 0.1, 0.7}, 0.1, {2}, {1}},                          // ceil(0.4) = 1
      {{.3, .8, .1, .6, .2, .9, .5, .4}, 0.25, {2, 4}, {1, 5}},       // N=8: 2
      {{.3, .8, .1, .6, .2, .9, .5, .4}, 0.3, {2, 4, 0}, {3, 1, 5}},  // ceil(2.4) = 3
      {{.3, .8, .1, .6, .2, .9, .5, .4}, 0.5, {2, 4, 0, 7}, {6, 3, 1, 5}},
      {{0.1, 0.2, 0.3, 0.4, 0.5}, 0.5, {0, 1}, {3, 4}},  // ceil(2.5) = 3, capped at 5 / 2
      {{0.5, 0.5, 0.5, 0.5}, 0.25, {3}, {0}},            // ties: the lower index is better
      {{0.5, nan, 0.7, 0.6}, 0.25, {1}, {2}},            // NaN is the worst
      {{0.5, 0.9, 0.1, 0.7}, 0.0, {}, {}},               // no exploitation
      {{0.5}, 0.5, {}, {}},
  };
  for (const auto& c : cases) {
    auto [bottom, top] = split_quantiles(c.scores, c.fraction);
    EXPECT_EQ(bottom, c.bottom) << "N=" << c.scores.size() << " fraction " << c.fraction;
    EXPECT_EQ(top, c.top) << "N=" << c.scores.size() << " fraction " << c.fraction;
  }
}

TEST(PopulationTest, InitialKnobsAreSampledFromTheirRanges) {
  auto options = PopulationOptions().size(8).knobs(
      {{"optimizer.lr", 1e-4, 1e-1, true}, {"optimizer.weight_decay", 0.0, 0.01, false}});
  Population p(small_config(), options, fit);
  std::vector<double> lrs;
  for (size_t i = 0; i < p.members().size(); ++i) {
    const PopulationMember& m = p.members()[i];
    const double lr = std::get<double>(m.knobs.at("optimizer.lr"));
    EXPECT_GE(lr, 1e-4);
    EXPECT_LE(lr, 1e-1);
    EXPECT_EQ(m.config.optimizer.lr, lr);
    EXPECT_EQ(m.config.optimizer.weight_decay,
              std::get<double>(m.knobs.at("optimizer.weight_decay")));
    EXPECT_EQ(m.config.train.seed, i);
    lrs.push_back(lr);
  }
  std::sort(lrs.begin(), lrs.end());
  EXPECT_LT(lrs.front() * 10, lrs.back());  // spread over decades, not one value
}

// The bottom member takes the top member's weights (and optimizer state), then trains with
// its own explored lr and weight decay, not the source's.
TEST(PopulationTest, ExploitCopiesWeightsAndTheOptimizerUsesTheExploredKnobs) {
  TempDir dir;
  TrainConfig config = small_config();
  auto options = PopulationOptions()
                     .size(4)
                     .resample_probability(0)
                     .checkpoint_dir(dir.path())
                     .knobs({{"optimizer.lr", 1e-4, 1e-2, true},
                             {"optimizer.weight_decay", 1e-6, 1e-2, true}});
  Population p(config, options, fit);
  p.train_round();
  ASSERT_EQ(p.epochs_done(), 1);
  const auto before = p.members();
  std::vector<Saved> saved_before;
  for (int64_t i = 0; i < 4; ++i)
    saved_before.push_back(read_checkpoint(p.checkpoint_path(i), config));

  std::vector<Exploit> copies = p.exploit_and_explore();
  ASSERT_EQ(copies.size(), 1u);  // ceil(4 x 0.25)
  const Exploit copy = copies[0];
  ASSERT_NE(copy.member, copy.source);
  EXPECT_EQ(copy.epoch, 1);
  EXPECT_EQ(p.members()[copy.member].lineage.size(), 1u);
  // The worst member copied the best.
  auto accuracy = [&](int64_t i) { return before[i].history.back().val_accuracy; };
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_LE(accuracy(copy.member), accuracy(i));
    EXPECT_GE(accuracy(copy.source), accuracy(i));
  }

  const Saved source = read_checkpoint(p.checkpoint_path(copy.source), config);
  const Saved target = read_checkpoint(p.checkpoint_path(copy.member), config);
  EXPECT_FALSE(same_parameters(saved_before[copy.member], source));  // different until the copy
  EXPECT_TRUE(same_parameters(saved_before[copy.source], source));
  EXPECT_TRUE(same_parameters(target, source));
  // Explored: each knob is the source's x 0.8 or x 1.2 (clipped to its range).
  const PopulationMember& m = p.members()[copy.member];
  for (const auto& k : options.knobs()) {
    const double from = std::get<double>(before[copy.source].knobs.at(k.key));
    const double to = std::get<double>(m.knobs.at(k.key));
    EXPECT_TRUE(to == std::clamp(from * 0.8, k.low, k.high) ||
                to == std::clamp(from * 1.2, k.low, k.high))
        << k.key << " " << from << " -> " << to;
    EXPECT_EQ(std::get<double>(copy.knobs.at(k.key)), to);
  }
  EXPECT_EQ(m.config.train.seed, before[copy.source].config.train.seed);

  p.train_round();
  ASSERT_TRUE(p.done());
  const PopulationMember& after = p.members()[copy.member];
  ASSERT_EQ(after.history.size(), 2u);
  EXPECT_EQ(after.history[1].epoch, 1);
  EXPECT_EQ(after.copied_from(1), copy.source);
  EXPECT_EQ(after.copied_from(0), -1);
  EXPECT_DOUBLE_EQ(after.history[1].lr, std::get<double>(m.knobs.at("optimizer.lr")));
  // The optimizer the member trained with, as saved after its epoch.
  const Saved trained = read_checkpoint(p.checkpoint_path(copy.member), config);
  EXPECT_DOUBLE_EQ(trained.lr, std::get<double>(m.knobs.at("optimizer.lr")));
  EXPECT_DOUBLE_EQ(trained.weight_decay, std::get<double>(m.knobs.at("optimizer.weight_decay")));
  EXPECT_NE(trained.weight_decay,
            std::get<double>(before[copy.source].knobs.at("optimizer.weight_decay")));
  EXPECT_FALSE(same_parameters(trained, source));  // it trained on from the copy
}

// A stand-in trainer, fast and exact: its "accuracy" grows by the lr each epoch and lives in
// the checkpoint file, so what a member continues from is what it copied.
TrainResult counting_fit(const TrainConfig& c, const EpochCallback& on_epoch) {
  int64_t start = 0;
  double accuracy = 0;
  if (c.checkpoint.resume) std::ifstream(c.checkpoint.path) >> start >> accuracy;
  for (int64_t e = start; e < c.train.epochs; ++e) {
    accuracy += c.optimizer.lr;
    if ((e + 1) % c.checkpoint.every == 0)
      std::ofstream(c.checkpoint.path) << std::setprecision(17) << e + 1 << " " << accuracy;
    EpochMetrics m;
    m.epoch = e;
    m.lr = c.optimizer.lr;
    m.val_accuracy = accuracy;
    on_epoch(m);
  }
  return {};
}

// The best lineage's schedule is the lr its weights were trained with: here they sum to the
// best member's final accuracy, through every copy.
TEST(PopulationTest, BestScheduleFollowsTheLineageThroughCopies) {
  TrainConfig config;
  config.train.epochs = 12;
  auto options =
      PopulationOptions().size(8).interval(2).seed(3).knobs({{"optimizer.lr", 0.01, 1.0, true}});
  PopulationResult r = Population(config, options, counting_fit).run();
  ASSERT_EQ(r.best_schedule.size(), 12u);
  double best = 0;
  size_t copies = 0;
  for (const auto& m : r.members) {
    ASSERT_EQ(m.history.size(), 12u);
    best = std::max(best, m.history.back().val_accuracy);
    copies += m.lineage.size();
    for (const auto& e : m.lineage) EXPECT_EQ(e.epoch % 2, 0);
  }
  EXPECT_EQ(copies, 2u * 5);  // ceil(8 x 0.25) after each of epochs 2, 4, ..., 10
  EXPECT_EQ(r.members[r.best].history.back().val_accuracy, best);
  double sum = 0;
  for (double lr : r.best_schedule) sum += lr;
  EXPECT_NEAR(sum, best, 1e-9);
}

TEST(PopulationTest, SameSeedSameRunAtOneJob) {
  TrainConfig config = small_config();
  // lr up to 1e-2: Adam at 0.1 may diverge on this MLP, and a diverged member has fewer epochs.
  const std::vector<MutableKnob> knobs = {{"optimizer.lr", 1e-4, 1e-2, true}};
  auto options = PopulationOptions().size(4).seed(7).knobs(knobs);
  PopulationResult a = Population(config, options, fit).run();
  PopulationResult b = Population(config, options, fit).run();
  ASSERT_EQ(a.members.size(), 4u);
  size_t copies = 0;
  for (size_t i = 0; i < a.members.size(); ++i) {
    const auto& x = a.members[i];
    const auto& y = b.members[i];
    ASSERT_EQ(x.history.size(), 2u);
    ASSERT_EQ(y.history.size(), 2u);
    for (size_t e = 0; e < 2; ++e) {
      EXPECT_EQ(x.history[e].val_accuracy, y.history[e].val_accuracy);
      EXPECT_EQ(x.history[e].train_loss, y.history[e].train_loss);
      EXPECT_EQ(x.history[e].lr, y.history[e].lr);
    }
    ASSERT_EQ(x.lineage.size(), y.lineage.size());
    for (size_t j = 0; j < x.lineage.size(); ++j) {
      EXPECT_EQ(x.lineage[j].source, y.lineage[j].source);
      EXPECT_EQ(x.lineage[j].epoch, y.lineage[j].epoch);
    }
    EXPECT_EQ(x.knobs, y.knobs);
    copies += x.lineage.size();
  }
  EXPECT_EQ(copies, 1u);  // one exploit step (after epoch 1), one member of the bottom quarter
  EXPECT_EQ(a.best, b.best);
  EXPECT_EQ(a.best_schedule, b.best_schedule);
  ASSERT_EQ(a.best_schedule.size(), 2u);
  EXPECT_EQ(a.best_schedule.back(), a.members[a.best].history.back().lr);

  // Another seed draws other knobs; no exploitation makes no copies.
  PopulationResult c =
      Population(config, PopulationOptions().size(4).seed(8).knobs(knobs).quantile_fraction(0), fit)
          .run();
  EXPECT_NE(c.members[0].history[0].lr, a.members[0].history[0].lr);
  for (const auto& m : c.members) EXPECT_TRUE(m.lineage.empty());
}

TEST(PopulationTest, MalformedOptionsAreNamed) {
  struct Case {
    std::string name;
    PopulationOptions options;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"size", PopulationOptions().size(1), {"population.size", "1", ">= 2"}},
      {"interval", PopulationOptions().interval(0), {"population.interval", "0", ">= 1"}},
      {"quantile",
       PopulationOptions().quantile_fraction(0.6),
       {"population.quantile_fraction", "0.6", "[0, 0.5]"}},
      {"resample",
       PopulationOptions().resample_probability(-0.1),
       {"population.resample_probability", "-0.1", "[0, 1]"}},
      {"factors empty",
       PopulationOptions().perturbation_factors({}),
       {"population.perturbation_factors", "at least one"}},
      {"factor",
       PopulationOptions().perturbation_factors({1.2, 0}),
       {"population.perturbation_factors", "0", "> 0"}},
      {"no knobs", PopulationOptions().knobs({}), {"population.knobs", "at least one"}},
      {"range",
       PopulationOptions().knobs({{"optimizer.lr", 0.1, 0.01, false}}),
       {"population.knobs[0] (optimizer.lr)", "[0.1, 0.01]", "low < high"}},
      {"log range",
       PopulationOptions().knobs({{"optimizer.lr", 0.0, 0.1, true}}),
       {"population.knobs[0]", "low > 0"}},
      {"int key",
       PopulationOptions().knobs({{"batch.size", 16, 256, false}}),
       {"population.knobs[0]", "batch.size", "floating-point config key"}},
      {"unknown key",
       PopulationOptions().knobs({{"optimizer.lrr", 0.1, 1, false}}),
       {"optimizer.lrr"}},
      {"metric",
       PopulationOptions().metric("accuracy"),
       {"population.metric", "accuracy", "val_accuracy, val_loss, train_loss, val_rmse"}},
      {"jobs", PopulationOptions().jobs(0), {"population.jobs", "0", ">= 1"}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid(
        c.name, [&] { Population(small_config(), c.options, fit); }, c.fragments);
  }
  TrainConfig find = small_config();
  find.lr_find.use = true;
  EXPECT_THROW(Population(find, PopulationOptions(), fit), InvalidArgument);
}

}  // namespace
}  // namespace knob
