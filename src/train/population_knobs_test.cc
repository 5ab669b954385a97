// Population (population.h) through a stand-in trainer, torch-free: members mutate float,
// integer (batch.size) and categorical (optimizer.momentum) knobs; each copy's knobs are the
// source's explored by pbt_policy.h's rules with the seed of (seed, generation, member); the
// same seed gives the same run; malformed knobs of each kind are refused in their own table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>

#include "knob/core/error.h"
#include "knob/train/population.h"
#include "testing/test_support.h"

namespace knob {
namespace {

// A stand-in trainer, exact: each epoch its "accuracy" grows by lr x batch.size / 64 x
// (1 + momentum); the accuracy lives in the checkpoint file, so a member continues from what it
// copied.
TrainResult counting_fit(const TrainConfig& c, const EpochCallback& on_epoch) {
  int64_t start = 0;
  double accuracy = 0;
  if (c.checkpoint.resume) std::ifstream(c.checkpoint.path) >> start >> accuracy;
  for (int64_t e = start; e < c.train.epochs; ++e) {
    accuracy +=
        c.optimizer.lr * static_cast<double>(c.batch.size) / 64.0 * (1.0 + c.optimizer.momentum);
    if ((e + 1) % c.checkpoint.every == 0) {
      std::ofstream(c.checkpoint.path) << std::setprecision(17) << e + 1 << " " << accuracy;
    }
    EpochMetrics m;
    m.epoch = e;
    m.lr = c.optimizer.lr;
    m.batch_size = c.batch.size;
    m.val_accuracy = accuracy;
    on_epoch(m);
  }
  return {};
}

const std::vector<MutableKnob> kKnobs = {
    {"optimizer.lr", 0.01, 1.0, true},
    {"batch.size", 16, 256, true, KnobKind::kInt},
    {"optimizer.momentum", 0, 0, false, KnobKind::kCategorical, 0, {0.0, 0.5, 0.9}}};

TrainConfig config_of(int64_t epochs) {
  TrainConfig c;
  c.train.epochs = epochs;
  return c;
}

void expect_config_holds(const PopulationMember& m) {
  EXPECT_EQ(m.config.optimizer.lr, std::get<double>(m.knobs.at("optimizer.lr")));
  EXPECT_EQ(m.config.batch.size, std::get<int64_t>(m.knobs.at("batch.size")));
  EXPECT_EQ(m.config.optimizer.momentum, std::get<double>(m.knobs.at("optimizer.momentum")));
}

TEST(PopulationKnobsTest, InitialKnobsOfEveryKindAreDrawnPerMemberSeed) {
  auto options = PopulationOptions().size(6).seed(4).knobs(kKnobs);
  Population p(config_of(2), options, counting_fit);
  for (size_t i = 0; i < p.members().size(); ++i) {
    const PopulationMember& m = p.members()[i];
    expect_config_holds(m);
    Rng rng(pbt_seed(4, 0, static_cast<int64_t>(i)));
    EXPECT_EQ(m.knobs, sample_knobs(kKnobs, rng)) << i;
    const int64_t batch = m.config.batch.size;
    EXPECT_GE(batch, 16);
    EXPECT_LE(batch, 256);
  }
}

// Every copy: the worst member takes the best's checkpoint and its knobs explored with the seed
// of (seed, generation, member) — integer knobs rounded, categorical ones a neighbour.
TEST(PopulationKnobsTest, CopiesExploreEveryKindFromTheSourcesKnobs) {
  auto options = PopulationOptions()
                     .size(6)
                     .interval(2)
                     .seed(8)
                     .quantile_fraction(0.34)  // ceil(6 x 0.34) = 3 copies a generation
                     .resample_probability(0)
                     .knobs(kKnobs);
  Population p(config_of(8), options, counting_fit);
  size_t copies = 0;
  while (!p.done()) {
    p.train_round();
    const std::vector<PopulationMember> before = p.members();
    std::vector<double> scores;
    for (const auto& m : before) scores.push_back(m.history.back().val_accuracy);
    const int64_t generation = p.epochs_done() / 2;
    for (const Exploit& e : p.exploit_and_explore()) {
      ++copies;
      Rng rng(pbt_seed(8, generation, e.member));
      ASSERT_EQ(choose_source(scores, e.member, 0.34, rng), e.source);
      const KnobValues& from = before[static_cast<size_t>(e.source)].knobs;
      EXPECT_EQ(e.knobs, explore_knobs(kKnobs, from, {1.2, 0.8}, 0.0, rng));
      // The rules, spelled out.
      const int64_t b0 = std::get<int64_t>(from.at("batch.size"));
      const int64_t b1 = std::get<int64_t>(e.knobs.at("batch.size"));
      if (b0 > 16 && b0 < 256) {
        EXPECT_NE(b1, b0);  // an integer always moves inside its range
      }
      EXPECT_LE(std::abs(static_cast<double>(b1) - static_cast<double>(b0)),
                0.2 * static_cast<double>(b0) + 1);
      const auto& kinds = kKnobs[2].choices;
      const auto i0 = std::find(kinds.begin(), kinds.end(), from.at("optimizer.momentum"));
      const auto i1 = std::find(kinds.begin(), kinds.end(), e.knobs.at("optimizer.momentum"));
      EXPECT_LE(std::abs(i1 - i0), 1);
      const PopulationMember& m = p.members()[static_cast<size_t>(e.member)];
      expect_config_holds(m);
      // The checkpoint it continues from is the source's.
      std::ifstream a(p.checkpoint_path(e.member)), b(p.checkpoint_path(e.source));
      std::string sa((std::istreambuf_iterator<char>(a)), {});
      std::string sb((std::istreambuf_iterator<char>(b)), {});
      EXPECT_EQ(sa, sb);
    }
  }
  EXPECT_EQ(copies, 3u * 3);  // after epochs 2, 4, 6
  // The batch size each member trained with per epoch is the one its knobs held then.
  PopulationResult r = p.result();
  for (const auto& m : r.members) {
    ASSERT_EQ(m.history.size(), 8u);
    EXPECT_EQ(m.history.back().batch_size, std::get<int64_t>(m.knobs.at("batch.size")));
  }
}

TEST(PopulationKnobsTest, SameSeedSameRunOtherSeedOtherRun) {
  auto options = PopulationOptions().size(4).interval(1).seed(5).knobs(kKnobs);
  PopulationResult a = Population(config_of(5), options, counting_fit).run();
  PopulationResult b = Population(config_of(5), options, counting_fit).run();
  PopulationResult c = Population(config_of(5), options.seed(6), counting_fit).run();
  for (size_t i = 0; i < a.members.size(); ++i) {
    EXPECT_EQ(a.members[i].knobs, b.members[i].knobs);
    ASSERT_EQ(a.members[i].lineage.size(), b.members[i].lineage.size());
    for (size_t j = 0; j < a.members[i].lineage.size(); ++j) {
      EXPECT_EQ(a.members[i].lineage[j].source, b.members[i].lineage[j].source);
      EXPECT_EQ(a.members[i].lineage[j].knobs, b.members[i].lineage[j].knobs);
    }
  }
  EXPECT_EQ(a.best_schedule, b.best_schedule);
  EXPECT_NE(a.members[0].knobs, c.members[0].knobs);
}

TEST(PopulationKnobsTest, MalformedKnobsAreNamed) {
  struct Case {
    std::string name;
    MutableKnob knob;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"float range on an integer key",
       {"batch.size", 16, 256},
       {"population.knobs[0] (batch.size)", "floating-point config key"}},
      {"integer range on a float key",
       {"optimizer.lr", 1, 8, false, KnobKind::kInt},
       {"population.knobs[0] (optimizer.lr)", "integer config key"}},
      {"integer range with fractions",
       {"batch.size", 16.5, 256, false, KnobKind::kInt},
       {"population.knobs[0] (batch.size)", "[16.5, 256]", "integer bounds"}},
      {"choice the key refuses",
       {"optimizer.momentum", 0, 0, false, KnobKind::kCategorical, 0, {0.5, 1.5}},
       {"population.knobs[0] (optimizer.momentum) = 1.5", "optimizer.momentum", "[0, 1)"}},
      {"a key the checkpoint fixes",
       {"optimizer.kind", 0, 0, false, KnobKind::kCategorical, 0, {"sgd", "adam"}},
       {"population.knobs[0] (optimizer.kind)", "cannot be mutated", "checkpoint"}},
      {"choice of the wrong type",
       {"batch.size", 0, 0, false, KnobKind::kCategorical, 0, {int64_t{32}, std::string("big")}},
       {"population.knobs[0] (batch.size) = \"big\"", "integer"}},
      {"no choices",
       {"optimizer.momentum", 0, 0, false, KnobKind::kCategorical},
       {"population.knobs[0] (optimizer.momentum)", "at least one choice"}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid(
        c.name,
        [&] { Population(config_of(2), PopulationOptions().knobs({c.knob}), counting_fit); },
        c.fragments);
  }
}

}  // namespace
}  // namespace knob
