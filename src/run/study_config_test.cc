#include "knob/run/study_config.h"

#include <gtest/gtest.h>

#include <functional>

#include "knob/core/error.h"
#include "knob/tuner/pruners/median_pruner.h"
#include "knob/tuner/samplers/grid_sampler.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/samplers/tpe_sampler.h"
#include "testing/test_support.h"

namespace knob {
namespace {

TEST(StudyConfigTest, ReadsStudyAndSearch) {
  StudyConfig c = parse_study_config(R"(
[study]
storage = "sqlite:///x.db"
name = "s"
direction = "maximize"
seed = 3
n_trials = 7
timeout = 60
jobs = 2
pruner = "none"
isolate = true
heartbeat_interval = 5
grace_period = 12.5
max_retry = 2
[search]
"optimizer.lr" = { low = 1e-4, high = 1e-1, log = true }
"batch.size" = { low = 16, high = 512, log = true }
"model.dropout" = { low = 0, high = 0.5, step = 0.1 }
"optimizer.kind" = { choices = ["sgd", "adam"] }
[search.train]
epochs = { low = 1, high = 20 }
[optimizer]
lr = 0.5
)",
                                     "s.toml");
  EXPECT_EQ(c.storage, "sqlite:///x.db");
  EXPECT_EQ(c.name, "s");
  EXPECT_EQ(c.directions, std::vector<StudyDirection>{StudyDirection::kMaximize});
  EXPECT_EQ(c.seed, 3u);
  EXPECT_EQ(c.n_trials, 7);
  EXPECT_EQ(c.timeout, 60.0);
  EXPECT_EQ(c.jobs, 2);
  EXPECT_TRUE(c.isolate);
  EXPECT_EQ(c.heartbeat_interval, 5.0);
  EXPECT_EQ(c.grace_period, 12.5);
  EXPECT_EQ(c.max_retry, 2);
  EXPECT_FALSE(parse_study_config("", "empty.toml").heartbeat_interval);  // off by default
  EXPECT_FALSE(parse_study_config("", "empty.toml").isolate);             // in-process by default
  EXPECT_EQ(parse_study_config("", "empty.toml").jobs, 1);
  EXPECT_EQ(parse_study_config("[study]\njobs = \"auto\"\n", "auto.toml").jobs, kJobsAuto);
  EXPECT_EQ(parse_study_config("[study]\nn_trials = 20.0\n", "f.toml").n_trials, 20);
  ASSERT_EQ(c.search.size(), 5u);
  std::map<std::string, Distribution> space;
  for (const auto& p : c.search) space.emplace(p.name, p.distribution);
  EXPECT_EQ(space.at("optimizer.lr"), Distribution(FloatDistribution(1e-4, 1e-1, true)));
  EXPECT_EQ(space.at("batch.size"), Distribution(IntDistribution(16, 512, true)));
  EXPECT_EQ(space.at("model.dropout"), Distribution(FloatDistribution(0, 0.5, false, 0.1)));
  EXPECT_EQ(space.at("optimizer.kind"),
            Distribution(CategoricalDistribution({std::string("sgd"), std::string("adam")})));
  EXPECT_EQ(space.at("train.epochs"), Distribution(IntDistribution(1, 20)));  // nested table
  EXPECT_NE(dynamic_cast<NopPruner*>(make_pruner(c).get()), nullptr);
  EXPECT_NE(dynamic_cast<RandomSampler*>(make_sampler(c).get()), nullptr);
}

TEST(StudyConfigTest, GridUsesTheChoices) {
  StudyConfig c = parse_study_config(R"(
[study]
sampler = "grid"
[search]
lr = { choices = [0.001, 0.01, 0.1] }
bs = { choices = [32, 64] }
)",
                                     "g.toml");
  auto grid = std::dynamic_pointer_cast<GridSampler>(make_sampler(c));
  ASSERT_NE(grid, nullptr);
  EXPECT_EQ(grid->size(), 6u);
  EXPECT_NE(dynamic_cast<MedianPruner*>(make_pruner(c).get()), nullptr);
}

TEST(StudyConfigTest, TpeTakesItsOptionsFromTheStudyTable) {
  StudyConfig c = parse_study_config(R"(
[study]
sampler = "tpe"
seed = 3
[study.tpe]
n_startup_trials = 4
n_ei_candidates = 48
prior_weight = 0.5
consider_endpoints = true
multivariate = true
group = true
constant_liar = true
)",
                                     "t.toml");
  auto tpe = std::dynamic_pointer_cast<TpeSampler>(make_sampler(c));
  ASSERT_NE(tpe, nullptr);
  const TpeOptions& o = tpe->options();
  EXPECT_EQ(o.n_startup_trials(), 4);
  EXPECT_EQ(o.n_ei_candidates(), 48);
  EXPECT_EQ(o.prior_weight(), 0.5);
  EXPECT_TRUE(o.consider_endpoints() && o.multivariate() && o.group() && o.constant_liar());
  EXPECT_TRUE(o.consider_prior() && o.consider_magic_clip());
  EXPECT_EQ(o.seed(), std::optional<uint64_t>(3));
  // Defaults without a tpe table.
  auto plain = std::dynamic_pointer_cast<TpeSampler>(
      make_sampler(parse_study_config("[study]\nsampler = \"tpe\"\n", "p.toml")));
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->options().n_startup_trials(), 10);
  EXPECT_FALSE(plain->options().multivariate());
}

TEST(StudyConfigTest, EverySamplerAndPrunerWithItsOptions) {
  auto config = [](const std::string& study) {
    return parse_study_config("[study]\nseed = 7\n" + study, "all.toml");
  };
  auto gp = std::dynamic_pointer_cast<GpSampler>(
      make_sampler(config("sampler = \"gp\"\ngp = { n_startup_trials = 4, n_candidates = 64 }")));
  ASSERT_NE(gp, nullptr);
  EXPECT_EQ(gp->options().n_startup_trials(), 4);
  EXPECT_EQ(gp->options().n_candidates(), 64);
  EXPECT_EQ(gp->options().seed(), std::optional<uint64_t>(7));
  auto cmaes = std::dynamic_pointer_cast<CmaEsSampler>(make_sampler(
      config("sampler = \"cmaes\"\ncmaes = { restart_strategy = \"ipop\", with_margin = true, "
             "sigma0 = 0.5 }")));
  ASSERT_NE(cmaes, nullptr);
  EXPECT_EQ(cmaes->options().restart_strategy(), "ipop");
  EXPECT_TRUE(cmaes->options().with_margin());
  EXPECT_EQ(cmaes->options().sigma0(), std::optional<double>(0.5));
  EXPECT_NE(std::dynamic_pointer_cast<QmcSampler>(make_sampler(config("sampler = \"qmc\""))),
            nullptr);
  auto nsga2 = std::dynamic_pointer_cast<NsgaIISampler>(make_sampler(
      config("sampler = \"nsga2\"\nnsga2 = { population_size = 20, crossover = \"sbx\", "
             "mutation_prob = 0.25, crossover_prob = 0.8, swapping_prob = 0.4 }")));
  ASSERT_NE(nsga2, nullptr);
  EXPECT_EQ(nsga2->options().population_size(), 20);
  EXPECT_EQ(nsga2->options().crossover().kind, NsgaIICrossover::Kind::kSbx);
  EXPECT_EQ(nsga2->options().mutation_prob(), std::optional<double>(0.25));
  EXPECT_EQ(nsga2->options().crossover_prob(), 0.8);
  EXPECT_EQ(nsga2->options().swapping_prob(), 0.4);
  EXPECT_EQ(nsga2->options().seed(), std::optional<uint64_t>(7));

  auto asha = std::dynamic_pointer_cast<SuccessiveHalvingPruner>(make_pruner(
      config("pruner = \"asha\"\nasha = { min_resource = \"auto\", reduction_factor = 3 }")));
  ASSERT_NE(asha, nullptr);
  EXPECT_EQ(asha->options().min_resource(), std::nullopt);
  EXPECT_EQ(asha->options().reduction_factor(), 3);
  EXPECT_NE(std::dynamic_pointer_cast<HyperbandPruner>(make_pruner(config(
                "pruner = \"hyperband\"\nhyperband = { min_resource = 1, max_resource = 9 }"))),
            nullptr);
  EXPECT_NE(std::dynamic_pointer_cast<PercentilePruner>(
                make_pruner(config("pruner = \"percentile\"\npercentile = { percentile = 25 }"))),
            nullptr);
  auto curve = std::dynamic_pointer_cast<CurvePruner>(make_pruner(
      config("pruner = \"curve\"\ncurve = { max_resource = 30, probability = 0.1, "
             "n_startup_trials = 2, n_warmup_steps = 3, interval_steps = 2, min_reports = 6 }")));
  ASSERT_NE(curve, nullptr);
  EXPECT_EQ(curve->options().max_resource(), std::optional<int64_t>(30));
  EXPECT_EQ(curve->options().probability(), 0.1);
  EXPECT_EQ(curve->options().n_startup_trials(), 2);
  EXPECT_EQ(curve->options().n_warmup_steps(), 3);
  EXPECT_EQ(curve->options().interval_steps(), 2);
  EXPECT_EQ(curve->options().min_reports(), 6);
  auto curve_auto = std::dynamic_pointer_cast<CurvePruner>(
      make_pruner(config("pruner = \"curve\"\ncurve = { max_resource = \"auto\" }")));
  ASSERT_NE(curve_auto, nullptr);
  EXPECT_EQ(curve_auto->options().max_resource(), std::nullopt);
  EXPECT_EQ(curve_auto->options().probability(), 0.05);
  EXPECT_NE(std::dynamic_pointer_cast<ThresholdPruner>(
                make_pruner(config("pruner = \"threshold\"\nthreshold = { lower = 0.2 }"))),
            nullptr);
  EXPECT_NE(std::dynamic_pointer_cast<PatientPruner>(
                make_pruner(config("pruner = \"median\"\npatient = { patience = 2 }"))),
            nullptr);
  EXPECT_NE(std::dynamic_pointer_cast<MedianPruner>(make_pruner(config(""))), nullptr);
  // The shorthand keys of the median pruner.
  EXPECT_EQ(config("n_startup_trials = 2\nn_warmup_steps = 3").median.n_warmup_steps(), 3);
}

TEST(StudyConfigTest, ObjectiveCommandAsTextOrList) {
  StudyConfig shell = parse_study_config(
      "[objective]\ncommand = \"python3 t.py --lr {lr}\"\ntimeout = 60\nkill_grace = 1\n",
      "o.toml");
  ASSERT_TRUE(shell.command);
  EXPECT_EQ(shell.command->shell, "python3 t.py --lr {lr}");
  EXPECT_TRUE(shell.command->argv.empty());
  EXPECT_EQ(shell.command->timeout, 60.0);
  EXPECT_EQ(shell.command->kill_grace, 1.0);
  StudyConfig argv = parse_study_config(
      "[objective]\ncommand = [\"python3\", \"t.py\", \"--lr={lr}\"]\n", "o.toml");
  ASSERT_TRUE(argv.command);
  EXPECT_EQ(argv.command->argv, (std::vector<std::string>{"python3", "t.py", "--lr={lr}"}));
  EXPECT_EQ(argv.command->timeout, std::nullopt);
  EXPECT_FALSE(parse_study_config("", "o.toml").command);  // the trainer
}

TEST(StudyConfigTest, ConditionalParametersComeAfterThoseTheyName) {
  StudyConfig c = parse_study_config(R"(
[search]
"a.momentum" = { low = 0.5, high = 0.99, when = { "optimizer.kind" = ["sgd", "rmsprop"] } }
"b.units2" = { low = 8, high = 64, when = { layers = 2, "optimizer.kind" = "adam" } }
layers = { low = 1, high = 2 }
"optimizer.kind" = { choices = ["sgd", "adam", "rmsprop"] }
)",
                                     "c.toml");
  std::vector<std::string> names;
  for (const auto& p : c.search) names.push_back(p.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"layers", "optimizer.kind", "a.momentum", "b.units2"}));
  ASSERT_EQ(c.search[2].when.size(), 1u);
  EXPECT_EQ(c.search[2].when[0].parameter, "optimizer.kind");
  EXPECT_EQ(c.search[2].when[0].values,
            (std::vector<ParamValue>{std::string("sgd"), std::string("rmsprop")}));
  ASSERT_EQ(c.search[3].when.size(), 2u);
  EXPECT_EQ(c.search[3].when[0].values, (std::vector<ParamValue>{int64_t{2}}));
}

TEST(StudyConfigTest, ReadsTrainerObjectivesAndConstraints) {
  StudyConfig c = parse_study_config(R"(
[study]
directions = ["maximize", "minimize", "minimize"]
objectives = ["val_accuracy", "train_seconds", "latency_ms"]
constraints = ["train_seconds <= 300", "val_accuracy>=0.8"]
)",
                                     "mo.toml");
  EXPECT_EQ(c.objectives,
            (std::vector<std::string>{"val_accuracy", "train_seconds", "latency_ms"}));
  EXPECT_EQ(trainer_objectives(c, TrainConfig{}), c.objectives);
  ASSERT_EQ(c.constraints.size(), 2u);
  EXPECT_EQ(c.constraints[0].text(), "train_seconds <= 300");
  EXPECT_EQ(c.constraints[1].text(), "val_accuracy >= 0.8");
  EXPECT_EQ(trainer_objectives(parse_study_config("", "empty.toml"), TrainConfig{}),
            std::vector<std::string>{"val_accuracy"});
  StudyConfig loss = parse_study_config(
      "[study]\ndirection = \"minimize\"\nobjectives = [\"val_loss\"]\n", "loss.toml");
  EXPECT_EQ(trainer_objectives(loss, TrainConfig{}), std::vector<std::string>{"val_loss"});
}

// Without [study] objectives the trainer's train.objective is the study's objective, so its
// direction and the metrics of the task (train.loss) are checked with the trainer's config.
TEST(StudyConfigTest, TrainerObjectivesFitTheTask) {
  TrainConfig regression;
  regression.train.loss = "mse";
  const StudyConfig minimize = parse_study_config("[study]\ndirection = \"minimize\"\n", "m");
  EXPECT_EQ(trainer_objectives(minimize, regression), std::vector<std::string>{"val_loss"});
  EXPECT_NO_THROW(check_trainer_objectives(minimize, regression));
  TrainConfig r2 = regression;
  r2.train.objective = "val_r2";
  const StudyConfig maximize = parse_study_config("", "default");
  EXPECT_EQ(trainer_objectives(maximize, r2), std::vector<std::string>{"val_r2"});
  EXPECT_NO_THROW(check_trainer_objectives(maximize, r2));
  EXPECT_NO_THROW(check_trainer_objectives(maximize, TrainConfig{}));
}

TEST(StudyConfigTest, TrainerObjectivesAgainstTheTaskMalformed) {
  TrainConfig regression;
  regression.train.loss = "smooth_l1";
  struct Case {
    std::string name, toml;
    TrainConfig train;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"minimize the default objective",
       "[study]\ndirection = \"minimize\"\n",
       TrainConfig{},
       {"study.direction = \"minimize\"", "train.objective = \"val_accuracy\"",
        "must be maximize"}},
      {"maximize a regression loss",
       "",
       regression,
       {"study.direction = \"maximize\"", "train.objective = \"val_loss\"", "must be minimize"}},
      {"accuracy of a regression",
       "[study]\nobjectives = [\"val_accuracy\"]\n",
       regression,
       {"study.objectives[0] = \"val_accuracy\"", "train.loss = \"smooth_l1\"", "val_rmse"}},
      {"constraint on accuracy of a regression",
       "[study]\ndirection = \"minimize\"\nconstraints = [\"val_accuracy >= 0.9\"]\n",
       regression,
       {"study.constraints[0] = \"val_accuracy\"", "is not measured"}},
      {"R2 of a classifier",
       "[study]\nobjectives = [\"val_r2\"]\n",
       TrainConfig{},
       {"study.objectives[0] = \"val_r2\"", "cross_entropy"}},
  };
  for (const auto& c : cases) {
    const StudyConfig study = parse_study_config(c.toml, c.name);
    testing::expect_invalid(
        c.name, [&] { check_trainer_objectives(study, c.train); }, c.fragments);
  }
}

TEST(StudyConfigTest, MalformedInputIsNamed) {
  struct Case {
    std::string name, toml;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"not toml", "[study\n", {"bad.toml:1", "not valid TOML"}},
      {"unknown study key", "[study]\nsampler_name = \"tpe\"\n", {"study.sampler_name", "unknown"}},
      {"unknown sampler",
       "[study]\nsampler = \"bohb\"\n",
       {"study.sampler", "bohb", "random, grid, tpe, qmc, gp, cmaes or nsga2"}},
      {"tpe not a table", "[study]\ntpe = true\n", {"study.tpe", "table"}},
      {"tpe unknown key",
       "[study]\ntpe = { gamma = 0.1 }\n",
       {"study.tpe.gamma", "unknown", "n_ei_candidates"}},
      {"tpe negative startup",
       "[study]\ntpe = { n_startup_trials = -1 }\n",
       {"study.tpe.n_startup_trials = -1", ">= 0"}},
      {"tpe zero candidates",
       "[study]\ntpe = { n_ei_candidates = 0 }\n",
       {"study.tpe.n_ei_candidates = 0", ">= 1"}},
      {"tpe candidates as float",
       "[study]\ntpe = { n_ei_candidates = 2.5 }\n",
       {"study.tpe.n_ei_candidates", "integer"}},
      {"tpe prior weight 0",
       "[study]\ntpe = { prior_weight = 0 }\n",
       {"study.tpe.prior_weight", "> 0"}},
      {"tpe flag as string",
       "[study]\ntpe = { multivariate = \"yes\" }\n",
       {"study.tpe.multivariate", "true or false"}},
      {"tpe group alone", "[study]\ntpe = { group = true }\n", {"study.tpe.group", "multivariate"}},
      {"gp option type",
       "[study]\ngp = { n_candidates = \"many\" }\n",
       {"study.gp.n_candidates", "many", "integer"}},
      {"gp option range",
       "[study]\nsampler = \"gp\"\ngp = { n_candidates = 0 }\n",
       {"study.gp.n_candidates = 0"}},
      {"cmaes restart",
       "[study]\ncmaes = { restart_strategy = \"bipop\" }\n",
       {"study.cmaes.restart_strategy", "bipop"}},
      {"nsga2 crossover name",
       "[study]\nnsga2 = { crossover = \"blx\" }\n",
       {"study.nsga2.crossover", "blx", "blxalpha"}},
      {"nsga2 crossover not a string",
       "[study]\nnsga2 = { crossover = 3 }\n",
       {"study.nsga2.crossover", "crossover's name"}},
      {"nsga2 population",
       "[study]\nsampler = \"nsga2\"\nnsga2 = { population_size = 1 }\n",
       {"population_size", ">= 2"}},
      {"unknown pruner", "[study]\npruner = \"sha\"\n", {"study.pruner", "sha", "asha"}},
      {"patient as pruner", "[study]\npruner = \"patient\"\n", {"study.pruner", "wraps"}},
      {"asha factor",
       "[study]\nasha = { reduction_factor = 1 }\n",
       {"study.asha.reduction_factor = 1"}},
      {"hyperband max",
       "[study]\nhyperband = { max_resource = \"lots\" }\n",
       {"study.hyperband.max_resource", "lots", "\"auto\""}},
      {"curve probability",
       "[study]\ncurve = { probability = 1.5 }\n",
       {"study.curve.probability = 1.5", "(0, 1)"}},
      {"curve probability as string",
       "[study]\npruner = \"curve\"\ncurve = { probability = \"low\" }\n",
       {"study.curve.probability", "low", "number"}},
      {"curve max_resource word",
       "[study]\npruner = \"curve\"\ncurve = { max_resource = \"all\" }\n",
       {"study.curve.max_resource", "all", "\"auto\""}},
      {"curve max_resource 1",
       "[study]\npruner = \"curve\"\ncurve = { max_resource = 1 }\n",
       {"study.curve.max_resource = 1", ">= 2"}},
      {"curve min_reports",
       "[study]\npruner = \"curve\"\ncurve = { min_reports = 2 }\n",
       {"study.curve.min_reports = 2", ">= 3"}},
      {"curve negative warm-up",
       "[study]\ncurve = { n_warmup_steps = -1 }\n",
       {"study.curve.n_warmup_steps = -1", ">= 0"}},
      {"curve interval 0",
       "[study]\ncurve = { interval_steps = 0 }\n",
       {"study.curve.interval_steps = 0", ">= 1"}},
      {"curve unknown key",
       "[study]\ncurve = { threshold = 0.05 }\n",
       {"study.curve.threshold", "unknown", "probability"}},
      {"percentile unset",
       "[study]\npruner = \"percentile\"\n",
       {"study.percentile.percentile", "not set"}},
      {"threshold without bounds", "[study]\npruner = \"threshold\"\n", {"study.threshold"}},
      {"patient without patience",
       "[study]\npatient = { min_delta = 0.1 }\n",
       {"study.patient.patience", "not set"}},
      {"patient negative",
       "[study]\npatient = { patience = -1 }\n",
       {"study.patient.patience = -1"}},
      {"unknown table key",
       "[study]\nasha = { rungs = 3 }\n",
       {"study.asha.rungs", "unknown", "reduction_factor"}},
      {"objective without command", "[objective]\ntimeout = 5\n", {"objective.command", "not set"}},
      {"objective empty command",
       "[objective]\ncommand = \"\"\n",
       {"objective.command", "not be empty"}},
      {"objective list with a number",
       "[objective]\ncommand = [\"python3\", 3]\n",
       {"objective.command", "strings"}},
      {"objective zero timeout",
       "[objective]\ncommand = \"true\"\ntimeout = 0\n",
       {"objective.timeout = 0", "> 0"}},
      {"objective unknown key",
       "[objective]\ncommand = \"true\"\ncwd = \"/tmp\"\n",
       {"objective.cwd", "unknown", "command, timeout, kill_grace"}},
      // Issue 22, defects 1 and 6: no upper bounds let 1e10 s overflow the nanosecond clock
      // (every trial failed at once) and --jobs 100000 abort creating threads.
      {"objective huge timeout",
       "[objective]\ncommand = \"true\"\ntimeout = 1e10\n",
       {"objective.timeout = 1e+10", "at most 1e9 seconds"}},
      {"objective huge kill grace",
       "[objective]\ncommand = \"true\"\nkill_grace = 1e12\n",
       {"objective.kill_grace = 1e+12", "at most 1e9 seconds"}},
      {"jobs too many", "[study]\njobs = 100000\n", {"study.jobs = 100000", "from 1 to 1024"}},
      {"objective with isolate",
       "[study]\nisolate = true\n[objective]\ncommand = \"true\"\n",
       {"study.isolate", "command"}},
      {"qmc type",
       "[study]\nsampler = \"qmc\"\nqmc = { qmc_type = \"halton\" }\n",
       {"study.qmc.qmc_type", "halton", "sobol"}},
      {"qmc unknown key",
       "[study]\nqmc = { scrambled = true }\n",
       {"study.qmc.scrambled", "unknown", "scramble"}},
      {"bad direction", "[study]\ndirection = \"up\"\n", {"study.direction", "up"}},
      {"unknown objective",
       "[study]\nobjectives = [\"f1\"]\n",
       {"study.objectives", "f1",
        "val_accuracy, val_loss, train_loss, val_rmse, val_mae, val_r2, train_seconds, params or "
        "latency_ms"}},
      {"objectives not a list",
       "[study]\nobjectives = \"val_loss\"\n",
       {"study.objectives", "list"}},
      {"objective twice",
       "[study]\ndirections = [\"maximize\", \"maximize\"]\n"
       "objectives = [\"val_accuracy\", \"val_accuracy\"]\n",
       {"study.objectives", "val_accuracy", "twice"}},
      {"fewer objectives than directions",
       "[study]\ndirections = [\"maximize\", \"minimize\"]\nobjectives = [\"val_accuracy\"]\n",
       {"study.objectives", "1 metrics", "study.directions has 2"}},
      {"directions without objectives",
       "[study]\ndirections = [\"maximize\", \"minimize\"]\n",
       {"study.directions", "2 directions", "study.objectives"}},
      {"maximize val_loss",
       "[study]\ndirection = \"maximize\"\nobjectives = [\"val_loss\"]\n",
       {"study.direction = \"maximize\"", "study.objectives[0] = \"val_loss\"",
        "must be minimize"}},
      {"maximize train_seconds",
       "[study]\ndirections = [\"maximize\", \"maximize\"]\n"
       "objectives = [\"val_accuracy\", \"train_seconds\"]\n",
       {"study.directions[1]", "train_seconds", "must be minimize"}},
      {"minimize val_accuracy",
       "[study]\ndirections = [\"minimize\", \"minimize\"]\n"
       "objectives = [\"val_accuracy\", \"params\"]\n",
       {"study.directions[0]", "val_accuracy", "must be maximize"}},
      {"objectives with a command",
       "[study]\ndirection = \"minimize\"\nobjectives = [\"val_loss\"]\n"
       "[objective]\ncommand = \"true\"\n",
       {"study.objectives", "val_loss", "knob:value"}},
      {"constraints with a command",
       "[study]\nconstraints = [\"params <= 10\"]\n[objective]\ncommand = \"true\"\n",
       {"study.constraints", "params <= 10", "knob:constraints"}},
      {"constraints not a list",
       "[study]\nconstraints = \"params <= 10\"\n",
       {"study.constraints", "list"}},
      {"constraint without operator",
       "[study]\nconstraints = [\"train_seconds 300\"]\n",
       {"study.constraints[0]", "train_seconds 300", "METRIC <= NUMBER"}},
      {"constraint with <",
       "[study]\nconstraints = [\"params < 10\"]\n",
       {"study.constraints[0]", "params < 10", "METRIC <= NUMBER"}},
      {"constraint on an unknown metric",
       "[study]\nconstraints = [\"params <= 10\", \"memory <= 3\"]\n",
       {"study.constraints[1] (metric)", "memory", "latency_ms"}},
      {"constraint bound not a number",
       "[study]\nconstraints = [\"latency_ms >= fast\"]\n",
       {"study.constraints[0]", "latency_ms >= fast", "finite number"}},
      {"constraint not a string",
       "[study]\nconstraints = [300]\n",
       {"study.constraints[0]", "300"}},
      {"zero trials", "[study]\nn_trials = 0\n", {"study.n_trials", ">= 1"}},
      {"jobs type", "[study]\njobs = \"two\"\n", {"study.jobs", "two", "integer >= 1 or \"auto\""}},
      {"jobs zero", "[study]\njobs = 0\n", {"study.jobs", "0", ">= 1"}},
      {"low > high", "[search]\nx = { low = 2.0, high = 1.0 }\n", {"search.x", "low", "2"}},
      {"log low 0",
       "[search]\nx = { low = 0.0, high = 1.0, log = true }\n",
       {"search.x", "low", "> 0"}},
      {"missing high", "[search]\nx = { low = 1 }\n", {"search.x", "low and high"}},
      {"unknown param key",
       "[search]\nx = { low = 1, high = 2, scale = \"log\" }\n",
       {"search.x.scale", "unknown"}},
      {"empty choices", "[search]\nx = { choices = [] }\n", {"search.x.choices", "non-empty"}},
      {"bare value", "[search]\nx = 3\n", {"search.x", "table"}},
      {"grid needs lists",
       "[study]\nsampler = \"grid\"\n[search]\nx = { low = 1, high = 2 }\n",
       {"search.x", "choices"}},
      {"bad type", "[search]\nx = { low = 1, high = 2, type = \"double\" }\n", {"search.x.type"}},
      {"isolate as a string",
       "[study]\nisolate = \"yes\"\n",
       {"study.isolate = \"yes\"", "true or false"}},
      {"isolate as a number", "[study]\nisolate = 1\n", {"study.isolate = 1", "true or false"}},
      {"heartbeat 0", "[study]\nheartbeat_interval = 0\n", {"study.heartbeat_interval = 0", "> 0"}},
      {"grace as text", "[study]\ngrace_period = \"1m\"\n", {"study.grace_period", "number"}},
      {"grace under the interval",
       "[study]\nheartbeat_interval = 10\ngrace_period = 5\n",
       {"study.grace_period = 5", "> study.heartbeat_interval (10.0 s)"}},
      {"negative max_retry", "[study]\nmax_retry = -1\n", {"study.max_retry = -1", ">= 0"}},
      {"when not a table",
       "[search]\nk = { choices = [\"a\"] }\nx = { low = 1, high = 2, when = \"k\" }\n",
       {"search.x.when", "table"}},
      {"when empty",
       "[search]\nk = { choices = [\"a\"] }\nx = { low = 1, high = 2, when = {} }\n",
       {"search.x.when", "{}"}},
      {"when names nothing",
       "[search]\nx = { low = 1, high = 2, when = { kind = \"a\" } }\n",
       {"search.x.when.kind", "another parameter"}},
      {"when names itself",
       "[search]\nx = { choices = [1, 2], when = { x = 1 } }\n",
       {"search.x.when.x", "another parameter"}},
      {"when value not a choice",
       "[search]\nk = { choices = [\"sgd\", \"adam\"] }\nx = { low = 1, high = 2, when = { k = "
       "\"sdg\" } }\n",
       {"search.x.when.k", "sdg", "sgd, adam"}},
      {"when value outside an int range",
       "[search]\nn = { low = 1, high = 3 }\nx = { low = 1, high = 2, when = { n = 4 } }\n",
       {"search.x.when.n", "4", "[1, 3]"}},
      {"when on a float",
       "[search]\nf = { low = 0.0, high = 1.0 }\nx = { low = 1, high = 2, when = { f = 0.5 } }\n",
       {"search.x.when.f", "categorical or integer"}},
      {"when with an empty list",
       "[search]\nk = { choices = [\"a\"] }\nx = { low = 1, high = 2, when = { k = [] } }\n",
       {"search.x.when.k", "at least one"}},
      {"when in a circle",
       "[search]\na = { choices = [1, 2], when = { b = 1 } }\nb = { choices = [1, 2], when = { a = "
       "1 "
       "} }\n",
       {"search", "a, b", "circle"}},
      {"when with grid",
       "[study]\nsampler = \"grid\"\n[search]\nk = { choices = [\"a\", \"b\"] }\nx = { choices "
       "= [1, 2], when = { k = \"a\" } }\n",
       {"search.x.when", "grid"}},
      // Read through the generic reader: the value as written in the file, and types checked
      // where they were once taken loosely or left unread.
      {"options value as written",
       "[study]\ntpe = { multivariate = \"yes\" }\n",
       {"study.tpe.multivariate = \"yes\": must be true or false (in bad.toml)"}},
      {"count as a bool", "[study]\nn_trials = true\n", {"study.n_trials = true", "integer >= 1"}},
      {"study not a table", "study = 3\n", {"study = 3", "table"}},
      {"search not a table", "search = 3\n", {"search = 3", "table"}},
      {"log not a bool",
       "[search]\nx = { low = 1, high = 2, log = \"yes\" }\n",
       {"search.x.log = \"yes\"", "true or false"}},
      {"type not a string",
       "[search]\nx = { low = 1, high = 2, type = 3 }\n",
       {"search.x.type = 3", "string"}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid(
        c.name, [&] { parse_study_config(c.toml, "bad.toml"); }, c.fragments);
  }
}

}  // namespace
}  // namespace knob
