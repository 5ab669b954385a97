// PBT inside a study (pbt_study.h), torch-free: a stand-in trainer whose "accuracy" lives in its
// checkpoint file, a real SQLite file, two threads, a second worker process (fork), a member
// whose worker died; the stored segments (params, attributes, intermediate values at
// absolute epochs, values continuing their parent's checkpoint), decisions recomputed from the
// stored values, the lineage and the printed replay command. Bad [study] pbt values in their
// own table.
#include "knob/run/pbt_study.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>
#include <thread>

#include "knob/core/error.h"
#include "knob/storage/open_storage.h"
#include "testing/test_support.h"

namespace knob::run {
namespace {

using knob::testing::TempDir;

// Per epoch: accuracy += lr x batch.size / 64 x (1 + momentum). Exact, so every stored value
// can be recomputed from the segment's params and its parent's value.
double gain(const TrainConfig& c) {
  return c.optimizer.lr * static_cast<double>(c.batch.size) / 64.0 * (1.0 + c.optimizer.momentum);
}

TrainResult counting_fit(const TrainConfig& c, const EpochCallback& on_epoch) {
  int64_t start = 0;
  double accuracy = 0;
  if (c.checkpoint.resume) std::ifstream(c.checkpoint.path) >> start >> accuracy;
  for (int64_t e = start; e < c.train.epochs; ++e) {
    accuracy += gain(c);
    if ((e + 1) % c.checkpoint.every == 0 || e + 1 == c.train.epochs) {
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

std::string study_toml(const std::string& db, const std::string& extra_study = "") {
  return "[study]\nstorage = \"sqlite:///" + db +
         "\"\nname = \"pbt\"\nseed = 3\njobs = 2\n"
         "pbt = { population = 4, interval = 2, quantile_fraction = 0.25, "
         "resample_probability = 0.25 }\n" +
         extra_study +
         "[search]\n"
         "\"optimizer.lr\" = { low = 0.01, high = 0.5, log = true }\n"
         "\"batch.size\" = { low = 16, high = 256, log = true }\n"
         "\"optimizer.momentum\" = { choices = [0.0, 0.5, 0.9] }\n"
         "[train]\nepochs = 6\n";
}

struct Configs {
  StudyConfig study;
  TrainConfig base;
};

Configs configs_of(const std::string& toml) {
  return {parse_study_config(toml, "pbt.toml"), parse_train_config(toml, "pbt.toml")};
}

PbtRunOptions quiet_options(std::ostream& out) {
  PbtRunOptions o;
  o.config = "pbt.toml";
  o.out = &out;
  o.log = nullptr;
  o.poll_seconds = 0.02;
  return o;
}

std::vector<FrozenTrial> stored_trials(const std::string& db) {
  Study study = load_study(StudyOptions().storage("sqlite:///" + db).study_name("pbt"));
  return study.trials();
}

// Every completed segment's value is its parent's plus its own epochs' gains, and it reported
// each of its epochs at the absolute epoch number.
void expect_segments_continue_their_parents(const std::vector<FrozenTrial>& trials,
                                            const std::vector<PbtSegment>& segments,
                                            const TrainConfig& base) {
  std::map<int64_t, const PbtSegment*> by_number;
  for (const auto& s : segments) by_number[s.number] = &s;
  for (const auto& s : segments) {
    if (s.state != TrialState::kComplete) continue;
    SCOPED_TRACE("trial " + std::to_string(s.number));
    TrainConfig c = base;
    for (const auto& [name, value] : s.params) set_config_value(c, name, value);
    const double before = s.parent < 0 ? 0.0 : *by_number.at(s.parent)->value;
    ASSERT_EQ(s.lrs.size(), 2u);
    EXPECT_NEAR(*s.value, before + 2 * gain(c), 1e-9);
    for (double lr : s.lrs) EXPECT_EQ(lr, c.optimizer.lr);
    const FrozenTrial& t = trials[static_cast<size_t>(s.number)];
    ASSERT_EQ(t.intermediate_values.size(), 2u);
    EXPECT_EQ(t.intermediate_values.begin()->first, 2 * s.generation);
    EXPECT_NEAR(t.intermediate_values.at(2 * s.generation + 1), *s.value, 1e-12);
    EXPECT_EQ(s.first_epoch, 2 * s.generation);
    if (s.parent >= 0) {
      const PbtSegment& parent = *by_number.at(s.parent);
      EXPECT_EQ(parent.generation, s.generation - 1);
      EXPECT_EQ(parent.member, s.copied_from);
    }
  }
}

// Each generation after the first is what next_generation decides from the stored earlier ones.
void expect_decisions_recomputed(const std::vector<PbtSegment>& segments, const PbtPlan& plan) {
  int64_t latest = 0;
  for (const auto& s : segments) latest = std::max(latest, s.generation);
  for (int64_t g = 1; g <= latest; ++g) {
    std::vector<PbtSegment> earlier, stored;
    for (const auto& s : segments) (s.generation < g ? earlier : stored).push_back(s);
    std::erase_if(stored, [&](const PbtSegment& s) { return s.generation != g || s.interrupted; });
    std::sort(stored.begin(), stored.end(),
              [](const PbtSegment& a, const PbtSegment& b) { return a.member < b.member; });
    const std::vector<PbtSegment> decided = next_generation(earlier, plan, g - 1);
    ASSERT_EQ(decided.size(), stored.size()) << "generation " << g;
    for (size_t i = 0; i < decided.size(); ++i) {
      EXPECT_EQ(decided[i].member, stored[i].member);
      EXPECT_EQ(decided[i].parent, stored[i].parent);
      EXPECT_EQ(decided[i].copied_from, stored[i].copied_from);
      EXPECT_EQ(decided[i].params, stored[i].params) << "member " << stored[i].member;
    }
  }
}

// The --set words of a printed replay command, applied to a config.
TrainConfig replayed(const std::string& printed) {
  const size_t at = printed.find("knob train ");
  EXPECT_NE(at, std::string::npos) << printed;
  std::string line = printed.substr(at, printed.find('\n', at) - at);
  TrainConfig c;
  for (size_t pos = 0; (pos = line.find(" --set ", pos)) != std::string::npos;) {
    pos += 7;
    std::string word;
    if (line[pos] == '\'') {
      const size_t close = line.find('\'', pos + 1);
      word = line.substr(pos + 1, close - pos - 1);
      pos = close + 1;
    } else {
      const size_t space = line.find(' ', pos);
      word = line.substr(pos, space == std::string::npos ? std::string::npos : space - pos);
    }
    apply_override(c, word);
  }
  return c;
}

TEST(PbtStudyTest, TwoThreadsTrainThePopulationAsTrialsOfOneStudy) {
  TempDir dir;
  const std::string db = dir.path() + "/pbt.db";
  Configs s = configs_of(study_toml(db));
  std::ostringstream out;
  std::optional<PbtLineage> best = run_pbt_study(s.study, s.base, counting_fit, quiet_options(out));
  ASSERT_TRUE(best.has_value()) << out.str();

  const std::vector<FrozenTrial> trials = stored_trials(db);
  ASSERT_EQ(trials.size(), 12u);  // 4 members x 3 segments of 2 epochs
  for (const auto& t : trials) {
    EXPECT_EQ(t.state, TrialState::kComplete) << t.number;
    EXPECT_EQ(t.params().size(), 3u);
    for (const char* key : {"pbt:member", "pbt:generation", "pbt:parent", "pbt:copied_from",
                            "pbt:first_epoch", "pbt:lrs"}) {
      EXPECT_EQ(t.user_attrs.count(key), 1u) << key;
    }
  }
  const std::vector<PbtSegment> segments = pbt_segments(trials);
  ASSERT_EQ(segments.size(), 12u);
  std::map<int64_t, int> per_generation;
  for (const auto& seg : segments) ++per_generation[seg.generation];
  EXPECT_EQ(per_generation, (std::map<int64_t, int>{{0, 4}, {1, 4}, {2, 4}}));
  expect_segments_continue_their_parents(trials, segments, s.base);
  const PbtPlan plan = make_pbt_plan(s.base, s.study, default_pbt_checkpoint_dir(s.study));
  expect_decisions_recomputed(segments, plan);
  // ceil(4 x 0.25) = 1 copy per decision, two decisions.
  int copies = 0;
  for (const auto& seg : segments) copies += seg.copied_from != seg.member;
  EXPECT_EQ(copies, 2);

  // The lineage: the best last segment, its parents back to generation 0, their lrs in order.
  ASSERT_EQ(best->segments.size(), 3u);
  double top = -1;
  for (const auto& seg : segments) {
    if (seg.generation == 2) top = std::max(top, *seg.value);
  }
  EXPECT_EQ(best->value, top);
  ASSERT_EQ(best->lrs.size(), 6u);
  for (size_t g = 0; g < 3; ++g) {
    EXPECT_EQ(best->segments[g].generation, static_cast<int64_t>(g));
    EXPECT_EQ(best->lrs[2 * g], std::get<double>(best->segments[g].params.at("optimizer.lr")));
    if (g > 0) {
      EXPECT_EQ(best->segments[g].parent, best->segments[g - 1].number);
    }
  }
  // The printed command replays it: the final knobs, then one lr per epoch.
  const std::string printed = out.str();
  EXPECT_NE(printed.find("best member: " + std::to_string(best->segments.back().member)),
            std::string::npos)
      << printed;
  TrainConfig c = replayed(printed);
  EXPECT_NO_THROW(validate(c));
  EXPECT_EQ(c.schedule.kind, "piecewise");
  EXPECT_EQ(c.schedule.lrs, best->lrs);
  EXPECT_EQ(c.batch.size, std::get<int64_t>(best->final_params.at("batch.size")));
  EXPECT_EQ(c.optimizer.momentum, std::get<double>(best->final_params.at("optimizer.momentum")));

  // Run again on the finished study: nothing is trained twice, the same lineage is printed.
  std::ostringstream again;
  run_pbt_study(s.study, s.base, counting_fit, quiet_options(again));
  EXPECT_EQ(stored_trials(db).size(), 12u);
  EXPECT_EQ(again.str(), printed);
}

// A second worker process (fork: its own connection, its own threads) on the same file: each
// process trains some segments, none is trained twice, both print the same lineage.
TEST(PbtStudyTest, ASecondWorkerProcessOnTheSameFileSharesTheSegments) {
  TempDir dir;
  const std::string db = dir.path() + "/pbt.db";
  Configs s = configs_of(study_toml(db));
  s.study.jobs = 1;
  // Each process appends the checkpoint files it trained to its own list.
  auto fit_listing = [](const std::string& list) {
    return [list](const TrainConfig& c, const EpochCallback& on_epoch) {
      std::ofstream(list, std::ios::app) << c.checkpoint.path << "\n";
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      return counting_fit(c, on_epoch);
    };
  };
  const std::string list_a = dir.path() + "/a.txt", list_b = dir.path() + "/b.txt";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // the second worker: no gtest assertions here, only its exit code
    int code = 1;
    try {
      std::ostringstream out;
      run_pbt_study(s.study, s.base, fit_listing(list_b), quiet_options(out));
      std::ofstream(dir.path() + "/b.out") << out.str();
      code = 0;
    } catch (...) {
    }
    _exit(code);
  }
  std::ostringstream out_a;
  run_pbt_study(s.study, s.base, fit_listing(list_a), quiet_options(out_a));
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  auto lines = [](const std::string& path) {
    std::vector<std::string> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  const std::vector<std::string> a = lines(list_a), b = lines(list_b);
  EXPECT_FALSE(a.empty());
  EXPECT_FALSE(b.empty());
  std::set<std::string> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), a.size() + b.size());  // none twice
  EXPECT_EQ(all.size(), 12u);
  std::ifstream b_out(dir.path() + "/b.out");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(b_out)), {}), out_a.str());
  const std::vector<FrozenTrial> trials = stored_trials(db);
  const std::vector<PbtSegment> segments = pbt_segments(trials);
  expect_segments_continue_their_parents(trials, segments, s.base);
  expect_decisions_recomputed(segments,
                              make_pbt_plan(s.base, s.study, default_pbt_checkpoint_dir(s.study)));
}

// A worker claims member 0's first segment and dies (no heartbeat after the claim): once its
// heartbeat is stale the segment is failed and the member drops out; the others go on.
TEST(PbtStudyTest, AMemberWhoseWorkerDiedDropsOut) {
  TempDir dir;
  const std::string db = dir.path() + "/pbt.db";
  Configs s = configs_of(study_toml(db, "heartbeat_interval = 1\ngrace_period = 2\n"));
  {
    Study study = create_study(StudyOptions()
                                   .storage(s.study.storage)
                                   .study_name("pbt")
                                   .directions(s.study.directions)
                                   .heartbeat_interval(1.0)
                                   .grace_period(2.0));
    const PbtPlan plan = make_pbt_plan(s.base, s.study, default_pbt_checkpoint_dir(s.study));
    ASSERT_TRUE(enqueue_first_generation(study, plan));
    EXPECT_FALSE(enqueue_first_generation(study, plan));  // once per study
    ASSERT_TRUE(study.storage().claim_waiting_trial(study.study_id(), /*with_heartbeat=*/true));
  }
  std::ostringstream out;
  std::optional<PbtLineage> best = run_pbt_study(s.study, s.base, counting_fit, quiet_options(out));
  ASSERT_TRUE(best.has_value());
  const std::vector<FrozenTrial> trials = stored_trials(db);
  const std::vector<PbtSegment> segments = pbt_segments(trials);
  ASSERT_EQ(segments.size(), 4u + 3 + 3);
  EXPECT_EQ(segments[0].member, 0);
  EXPECT_EQ(segments[0].state, TrialState::kFail);
  for (const auto& seg : segments) {
    if (seg.number > 0) {
      EXPECT_EQ(seg.state, TrialState::kComplete);
      EXPECT_NE(seg.member, 0);
    }
  }
  expect_segments_continue_their_parents(trials, segments, s.base);
  EXPECT_NE(best->segments.back().member, 0);
}

// Ctrl-C (Study::interrupt) during a segment: it is stored FAIL with pbt:interrupted; run again,
// the study trains it again from the same parent with the same knobs, and no member drops out.
TEST(PbtStudyTest, AnInterruptedSegmentRunsAgainWhenTheStudyIsRunAgain) {
  TempDir dir;
  const std::string db = dir.path() + "/pbt.db";
  Configs s = configs_of(study_toml(db));
  s.study.jobs = 1;
  std::optional<Study> opened;
  int started = 0;
  auto interrupting = [&](const TrainConfig& c, const EpochCallback& on_epoch) {
    if (++started == 6) opened->interrupt();  // the 6th segment: generation 1's second
    return counting_fit(c, on_epoch);
  };
  std::ostringstream first_out;
  PbtRunOptions first = quiet_options(first_out);
  first.on_open = [&](Study& study) { opened = study; };
  EXPECT_FALSE(run_pbt_study(s.study, s.base, interrupting, first).has_value());
  std::vector<PbtSegment> segments = pbt_segments(stored_trials(db));
  ASSERT_EQ(segments.size(), 8u);  // generation 1 enqueued, two of it never started
  EXPECT_TRUE(segments[5].interrupted);
  EXPECT_EQ(segments[5].state, TrialState::kFail);

  std::ostringstream again;
  std::optional<PbtLineage> best =
      run_pbt_study(s.study, s.base, counting_fit, quiet_options(again));
  ASSERT_TRUE(best.has_value()) << again.str();
  const std::vector<FrozenTrial> trials = stored_trials(db);
  segments = pbt_segments(trials);
  ASSERT_EQ(segments.size(), 13u);  // 12 completed + the interrupted one
  int completed = 0;
  for (const auto& seg : segments) completed += seg.state == TrialState::kComplete;
  EXPECT_EQ(completed, 12);
  const PbtSegment& retry = segments[8];  // enqueued first on the second run
  EXPECT_EQ(retry.state, TrialState::kComplete);
  EXPECT_EQ(retry.member, segments[5].member);
  EXPECT_EQ(retry.generation, 1);
  EXPECT_EQ(retry.parent, segments[5].parent);
  EXPECT_EQ(retry.params, segments[5].params);
  expect_segments_continue_their_parents(trials, segments, s.base);
  expect_decisions_recomputed(segments,
                              make_pbt_plan(s.base, s.study, default_pbt_checkpoint_dir(s.study)));
}

TEST(PbtStudyTest, MalformedPbtTablesAreNamed) {
  struct Case {
    std::string name;
    std::string study, search;
    std::vector<std::string> fragments;
  };
  const std::string knobs = "\"optimizer.lr\" = { low = 0.01, high = 0.5, log = true }\n";
  const std::vector<Case> cases = {
      {"population", "pbt = { population = 1 }\n", knobs, {"study.pbt.population = 1", ">= 2"}},
      {"interval", "pbt = { interval = 0 }\n", knobs, {"study.pbt.interval = 0", ">= 1"}},
      {"quantile",
       "pbt = { quantile_fraction = 0.6 }\n",
       knobs,
       {"study.pbt.quantile_fraction = 0.6", "[0, 0.5]"}},
      {"resample",
       "pbt = { resample_probability = 1.5 }\n",
       knobs,
       {"study.pbt.resample_probability = 1.5", "[0, 1]"}},
      {"unknown key", "pbt = { members = 4 }\n", knobs, {"study.pbt.members", "population"}},
      {"not a table", "pbt = 4\n", knobs, {"study.pbt", "population"}},
      {"no search", "pbt = { population = 4 }\n", "", {"search", "knobs PBT mutates"}},
      {"structural key",
       "pbt = { population = 4 }\n",
       "\"model.dropout\" = { low = 0.0, high = 0.5 }\n",
       {"search.model.dropout", "cannot be mutated"}},
      {"conditional",
       "pbt = { population = 4 }\n",
       "\"optimizer.momentum\" = { choices = [0.0, 0.9] }\n"
       "\"optimizer.weight_decay\" = { low = 0.0, high = 0.1, when = { \"optimizer.momentum\" "
       "= [0.9] } }\n",
       {"search.optimizer.weight_decay.when", "study.pbt"}},
  };
  for (const auto& c : cases) {
    testing::expect_invalid(
        c.name,
        [&] { parse_study_config("[study]\n" + c.study + "[search]\n" + c.search, "bad.toml"); },
        c.fragments);
  }
}

}  // namespace
}  // namespace knob::run
