#include "knob/run/study_runner.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <thread>

#include "knob/core/clock.h"
#include "knob/core/error.h"
#include "knob/core/field_table.h"
#include "knob/core/text_file.h"
#include "knob/run/builtin_objectives.h"
#include "knob/run/command_objective.h"
#include "knob/run/command_template.h"
#include "knob/run/pbt_study.h"
#include "knob/run/trainer_objective.h"
#include "knob/run/trial_protocol.h"
#include "knob/run/warm_start.h"
#include "knob/train/config.h"
#include "knob/train/trainer_plugin.h"
#include "knob/tuner/study_budget.h"

namespace knob::run {
namespace {

constexpr const char* kStoredConfigKey = "knob:config";
constexpr const char* kDefaultStorage = "sqlite:///knob.db";

void print_params(const FrozenTrial& trial, std::ostream& out) {
  for (const auto& [param, value] : trial.params()) {
    out << "  " << param << " = " << to_string(value) << "\n";
  }
}

// The study to run: created or continued; with resume it must exist.
Study open_study(StudyOptions options, bool resume) {
  if (resume) {
    try {
      return load_study(options);
    } catch (const NotFound& e) {
      throw NotFound(std::string("--resume: nothing to resume: ") + e.what());
    }
  }
  return create_study(options.load_if_exists(true));
}

// The trials --n-trials counts: finished ones, those interrupted aside (they run again).
int64_t finished_trials(Study& study) {
  int64_t done = 0;
  for (const auto& t : study.trials()) {
    if (is_finished(t.state) && !t.system_attrs.count("knob:interrupted")) ++done;
  }
  return done;
}

// --resume continues a study whose `knob tune` ended; trials it left RUNNING (kill -9, a crash,
// a second Ctrl-C) are decided by the heartbeat rules of study.h:
//  - heartbeats on (the config's heartbeat_interval): stale trials are failed now and retried
//    (max_retry); a trial whose heartbeat is fresh belongs to a live process and counts as
//    started — once its heartbeat goes stale, the study fails and retries it before an ask;
//  - heartbeats off: nothing can be alive that beats, so each is failed as interrupted
//    ("fail_reason" says so, "knob:interrupted" is set) and runs again first, as after Ctrl-C.
// Returns how many trials were found RUNNING and failed.
int64_t fail_left_running(Study& study) {
  if (study.heartbeats_on()) return static_cast<int64_t>(study.fail_stale_trials().size());
  int64_t failed = 0;
  for (const auto& t : study.trials({TrialState::kRunning})) {
    Storage& storage = study.storage();
    storage.set_trial_system_attr(t.trial_id, "fail_reason",
                                  "left RUNNING by a knob process that ended without finishing "
                                  "it (found by --resume)");
    storage.set_trial_system_attr(t.trial_id, "knob:interrupted", true);
    if (storage.set_trial_state_values(t.trial_id, TrialState::kFail)) ++failed;
  }
  return failed;
}

// resume: the interrupted trials go first, and n_trials counts every trial the study has
// finished (those interrupted aside), so the study ends where it would have without the stop.
void prepare_resume(Study& study, OptimizeOptions& options, std::ostream& log) {
  const int64_t left_running = fail_left_running(study);
  const std::vector<int64_t> again = study.enqueue_interrupted_trials();
  const int64_t done = finished_trials(study);
  const int64_t running = static_cast<int64_t>(study.trials({TrialState::kRunning}).size());
  if (options.n_trials()) {
    options.n_trials(std::max<int64_t>(0, *options.n_trials() - done - running));
  }
  log << "[knob] resuming study '" << study.study_name() << "': " << done << " trials finished, "
      << again.size() << " interrupted ones run again first";
  if (left_running > 0) {
    log << " (" << left_running << " of them left RUNNING by the process that ended)";
  }
  if (options.n_trials()) log << ", " << *options.n_trials() << " to go";
  log << "\n";
  if (running > 0) {
    log << "[knob] " << running
        << " trials are RUNNING with a fresh heartbeat (another process): they count as "
           "started; if that process died they are failed and retried once their heartbeat is "
           "stale\n";
  }
}

// One run of a study: what it is, how to continue it, and who runs it.
struct Run {
  const TuneOptions& options;
  Role role;
  std::string what;  // the "[knob] study ...: WHAT" line
  // The command named when the study is interrupted, given the trials it should hold in all.
  std::function<std::string(std::optional<int64_t>)> resume_command;
  std::function<void(Study&, OptimizeOptions&)> prepare = {};
};

// The values a parameter can take that bound what a trial may meet: every choice, and a
// range's two ends (the high end as its step reaches it).
std::vector<ParamValue> extreme_values(const Distribution& distribution) {
  return std::visit(
      [](const auto& d) -> std::vector<ParamValue> {
        using D = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<D, CategoricalDistribution>) {
          return d.choices;
        } else if constexpr (std::is_same_v<D, IntDistribution>) {
          return {d.low, d.low + (d.high - d.low) / d.step * d.step};
        } else {
          double high = d.high;
          if (d.step) high = d.low + std::floor((d.high - d.low) / *d.step) * *d.step;
          return {d.low, high};
        }
      },
      distribution);
}

// Every value each [search] parameter can take, checked against the trainer's own rules for
// its key (check_config_value) before the first trial: a choice the trainer refuses or a
// range outside the key's domain stops here, nothing stored, instead of failing trials.
void check_search_values(const TrainConfig& base, const std::vector<SearchParam>& search,
                         const std::string& config) {
  for (const auto& p : search) {
    try {
      get_config_value(base, p.name);  // a key of the trainer
      for (const ParamValue& value : extreme_values(p.distribution)) {
        check_config_value(base, p.name, value);
      }
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("[search] of " + config + ": search." + p.name + " can take a value " +
                            "the trainer refuses: " + e.what());
    }
  }
}

// A --grid runs the objective on exactly its values: it must name each parameter the
// objective suggests, and no other (else every trial would fail at its first suggest).
void check_grid_names(const BuiltinObjective& objective, const GridSampler::SearchSpace& grid) {
  std::string names, given;
  for (const auto& p : objective.params) names += (names.empty() ? "" : ", ") + p;
  for (const auto& [name, values] : grid) given += (given.empty() ? "" : ", ") + name;
  for (const auto& p : objective.params) {
    KNOB_CHECK(grid.count(p), "--grid", given,
               "must give every parameter of " + objective.name + " (" + names + "): \"" + p +
                   "\" is missing");
  }
  for (const auto& [name, values] : grid) {
    KNOB_CHECK(
        std::find(objective.params.begin(), objective.params.end(), name) != objective.params.end(),
        "--grid", name, "is not a parameter of " + objective.name + " (" + names + ")");
  }
}

// Thrown from the preflight's first step: the data loaded and a batch trained.
struct PreflightDone {};

// Data and config are the same for every trial: trains one batch of `base` through the plugin
// before the study is opened, so data a trial cannot load (a label that is not a column, a
// missing file) stops with exit 2 and nothing stored, instead of failing every trial. Only
// knob's own errors stop (a diverged step or a libtorch error may depend on the parameters: the
// trials meet those, and stop_when_failing_alike stops a study they all fail). No checkpoint,
// metrics file, range test or batch-size finder runs.
void preflight_trainer(TrainConfig config, const std::string& config_path) {
  config.output.progress = false;
  config.output.metrics.clear();
  config.output.test = false;
  config.checkpoint.path.clear();
  config.checkpoint.resume = false;
  config.lr_find.use = false;
  config.batch_find.use = false;
  config.train.epochs = 1;
  try {
    train_with_plugin(config, {}, [](const StepMetrics&) { throw PreflightDone{}; });
  } catch (const PreflightDone&) {
  } catch (const TrainingDiverged&) {
  } catch (const Error& e) {
    throw InvalidArgument(config_path +
                          ": checked before the first trial (one batch of the "
                          "config, the same data for every trial): " +
                          e.what());
  }
}

// How many first trials of a run failing with the same reason stop it. Trials differ only in
// their parameters: five different parameter sets failing alike (random and model-based samplers
// all start by sampling at random) say the data, the config or the program is at fault — going
// on would store a FAIL trial for each (151,139 of them in issue 22) and learn nothing.
constexpr int kSameFailuresToStop = 5;

// Stops the study once its first kSameFailuresToStop trials of this run all failed with one
// fail_reason; a trial that ends otherwise (COMPLETE, PRUNED, another reason) disarms it.
// After optimize(), `reason` is set if it stopped the study.
struct FailingAlike {
  std::mutex mutex;
  int count = 0;
  bool armed = true;
  std::string first_reason;
  std::optional<std::string> reason;
};

Callback stop_when_failing_alike(std::shared_ptr<FailingAlike> state) {
  return [state](Study& study, const FrozenTrial& trial) {
    std::lock_guard<std::mutex> lock(state->mutex);
    if (!state->armed) return;
    auto it = trial.system_attrs.find("fail_reason");
    const std::string reason = it != trial.system_attrs.end() && it->second.is_string()
                                   ? it->second.get<std::string>()
                                   : "";
    if (trial.state != TrialState::kFail || reason.empty() ||
        trial.system_attrs.count("knob:interrupted") ||
        (state->count > 0 && reason != state->first_reason)) {
      state->armed = false;
      return;
    }
    state->first_reason = reason;
    if (++state->count >= kSameFailuresToStop) {
      state->armed = false;
      state->reason = reason;
      study.stop();
    }
  };
}

// Opens the study (resume: the existing one, prepared by prepare_resume), runs it and prints
// its best trials (print_best). An interruption by the guard prints the best trial so far and
// says how to continue.
template <typename Objective>
TuneResult run_study(const Run& run, const StudyOptions& study_options, OptimizeOptions options,
                     Objective& objective) {
  const TuneOptions& o = run.options;
  std::ostream& log = *o.log();
  Study study = open_study(study_options, o.resume());
  if (o.resume()) prepare_resume(study, options, log);
  if (run.prepare) run.prepare(study, options);
  std::optional<int64_t> n_trials_total;  // what --resume's --n-trials must say
  if (options.n_trials()) {
    n_trials_total = finished_trials(study) + *options.n_trials() +
                     static_cast<int64_t>(study.trials({TrialState::kRunning}).size());
  }
  log << "[knob] study '" << study.study_name() << "' in " << study_options.storage() << ": "
      << run.what << "\n";
  std::unique_ptr<RunGuard> guard = o.guard() ? o.guard()(study) : nullptr;
  auto failing_alike = std::make_shared<FailingAlike>();
  std::vector<Callback> callbacks = options.callbacks();
  callbacks.push_back(stop_when_failing_alike(failing_alike));
  options.callbacks(callbacks);
  study.optimize(objective, options);
  if (failing_alike->reason && !(guard ? guard->interrupted() : study.interrupted())) {
    throw Error("study '" + study.study_name() + "' stopped: its first " +
                std::to_string(kSameFailuresToStop) +
                " trials all failed with the same reason, which the next ones would repeat: " +
                *failing_alike->reason);
  }
  if (guard ? guard->interrupted() : study.interrupted()) {
    TuneResult result;
    result.interrupted = true;
    if (!study.trials({TrialState::kComplete}).empty()) result.best = print_best(study, *o.out());
    if (run.role == Role::kWorker) {  // e.g. a preempted job: the other workers run them
      const size_t again = study.enqueue_interrupted_trials().size();
      result.message = "worker interrupted; " + std::to_string(again) +
                       " interrupted trials were enqueued again for the other workers";
    } else {
      result.message = "study '" + study.study_name() +
                       "' interrupted; the interrupted trials are stored FAIL. Continue with: " +
                       run.resume_command(n_trials_total);
    }
    return result;
  }
  if (options.n_trials() == 0 && study.trials({TrialState::kComplete}).empty()) {
    log << "[knob] study '" << study.study_name()
        << "' is ready, no trial run (--n-trials 0): `knob worker --storage URL --study "
        << study.study_name() << "` joins it\n";
    return {};
  }
  TuneResult result;
  result.best = print_best(study, *o.out());
  return result;
}

// Whether a worker starts another trial. Once the budget is spent, trials of other processes
// may still be RUNNING: if one belonged to a killed worker, its heartbeat goes stale and it is
// failed and retried, which gives the budget back. So the worker waits for them (failing the
// stale ones) for one grace period and a little more (SQLite heartbeats are whole seconds):
// by then a dead worker's trial is stale. What still runs belongs to live workers, or is an
// Optuna worker's trial created without a heartbeat (never stale, as in Optuna). Without
// heartbeats it stops at once.
bool worker_keep_going(Study& study, double grace_period) {
  constexpr double kPollSeconds = 0.5;
  const TimePoint waiting_since = now();
  while (!study.interrupted()) {
    study.fail_stale_trials();  // with heartbeats: fails and retries the stale ones
    if (!study_budget_spent(study)) return true;
    if (!study.heartbeats_on() || study.trials({TrialState::kRunning}).empty()) return false;
    if (seconds_between(waiting_since, now()) > grace_period + 2.0) return false;
    std::this_thread::sleep_for(std::chrono::duration<double>(kPollSeconds));
  }
  return false;
}

// A study's budget and config, shared with the workers that join it; every process then
// stops starting trials once the study's budget is spent.
//  - tune: its trials come on top of those the study counts, as Optuna's
//    optimize(n_trials) does, and its config is the one workers run from now on;
//    resume keeps what the first run stored.
//  - worker: a study it creates gets the config's budget as the study's total; one
//    that has a budget keeps it.
void share_with_workers(const TuneOptions& o, Role role, const StudyConfig& study_config,
                        Study& study, OptimizeOptions& options) {
  const bool worker = role == Role::kWorker;
  const auto stored = study.storage().study_system_attrs(study.study_id());
  if (!worker && !o.resume()) {
    std::optional<int64_t> total;
    if (options.n_trials()) total = trials_counted_in_budget(study.trials()) + *options.n_trials();
    save_study_budget(study, study_budget_from_now(total, options.timeout()));
  } else if (worker && !load_study_budget(study)) {
    save_study_budget(study, study_budget_from_now(options.n_trials(), options.timeout()));
  }
  if (!stored.count(kStoredConfigKey) || (!worker && !o.resume())) {
    store_config(study, {o.config(), read_text_file(o.config(), "config"), o.overrides()});
  }
  if (worker) {  // the study's budget alone decides
    options.n_trials(std::nullopt).timeout(std::nullopt);
    const double grace = study_config.grace_period.value_or(  // StudyOptions' default
        2 * study_config.heartbeat_interval.value_or(0));
    options.keep_going([grace](Study& s) { return worker_keep_going(s, grace); });
  } else {
    options.keep_going([](Study& s) { return !study_budget_spent(s); });
  }
}

// Runs a config's study on `objective`.
// With `keeping`, the trainer's trials keep checkpoints and models (trial_files.h).
template <typename Objective>
TuneResult run_config_study(const TuneOptions& o, Role role, const StudyConfig& study_config,
                            Objective& objective, const std::string& what,
                            const std::optional<ModelKeeping>& keeping = std::nullopt) {
  OptimizeOptions options;
  options.n_jobs(static_cast<int>(study_config.jobs))
      .show_progress(!o.quiet())
      .timeout(study_config.timeout)
      .n_trials(study_config.n_trials);
  if (!study_config.n_trials && !study_config.timeout && study_config.sampler != "grid") {
    options.n_trials(20);
  }
  Run run{o, role,
          what + ", " + std::to_string(study_config.search.size()) + " parameters searched",
          [&](std::optional<int64_t> n_trials) {
            return resume_command(o, study_config.storage, study_config.name, n_trials);
          },
          [&](Study& study, OptimizeOptions& opts) {
            share_with_workers(o, role, study_config, study, opts);
            enqueue_config_trials(study, study_config);
            if (keeping) {
              std::vector<Callback> callbacks = opts.callbacks();
              callbacks.push_back(keeping->files(study).after_trial());
              opts.callbacks(callbacks);
            }
          }};
  return run_study(
      run,
      StudyOptions()
          .storage(study_config.storage)
          .study_name(study_config.name)
          .directions(study_config.directions)
          .sampler(make_sampler(study_config))
          .pruner(make_pruner(study_config))
          // [study] constraints on trainer metrics (a command prints knob:constraints).
          .constraints_func(study_config.constraints.empty()
                                ? ConstraintsFunc()
                                : make_metric_constraints_func(study_config.constraints))
          .heartbeat_interval(study_config.heartbeat_interval)
          .grace_period(study_config.grace_period)
          .max_retry(study_config.max_retry
                         ? std::optional<int>(static_cast<int>(*study_config.max_retry))
                         : std::nullopt),
      options, objective);
}

// A config with [objective] command: the command, run once per trial.
TuneResult run_command_tune(const TuneOptions& o, Role role, const StudyConfig& study_config) {
  KNOB_CHECK(o.overrides().empty(), "--set", o.overrides().front(),
             "is for the trainer's keys; this config's objective is a command");
  const CommandConfig& command = *study_config.command;
  CommandOptions options;
  options.storage_url(study_config.storage).timeout(command.timeout).kill_grace(command.kill_grace);
  try {
    CommandObjective objective =
        command.argv.empty() ? CommandObjective::shell(command.shell, study_config.search, options)
                             : CommandObjective(command.argv, study_config.search, options);
    return run_config_study(o, role, study_config, objective, "a command per trial");
  } catch (const InvalidArgument& e) {
    throw InvalidArgument("[objective] of " + o.config() + ": " + e.what());
  }
}

// A config: the trainer tuned over the config's [search] space, or its [objective] command.
TuneResult run_config_tune(const TuneOptions& o, Role role) {
  StudyConfig study_config = load_study_config(o.config());
  apply_options(o, role, study_config);
  if (study_config.command) return run_command_tune(o, role, study_config);
  TrainConfig base = load_train_config(o.config());
  for (const auto& override_text : o.overrides()) apply_override(base, override_text);
  validate(base);
  naming_origin(o.config(), "", [&] { check_trainer_objectives(study_config, base); });
  check_search_values(base, study_config.search, o.config());
  const std::vector<std::string> objectives = trainer_objectives(study_config, base);
  const ModelKeeping keeping{study_config.storage, study_config.keep_models};
  const std::optional<int64_t> threads = threads_per_trial(study_config.jobs);
  if (threads) base.train.threads = *threads;
  const std::string what = "training " + base.model.kind + " on " + base.data.source +
                           (study_config.isolate ? ", each trial in its own process" : "");
  // In this process even with isolate: nothing is stored yet, so a plugin that crashes here
  // loses nothing, and a refusal is one exit 2 instead of a study of failed trials.
  preflight_trainer(base, o.config());
  TuneResult result;
  if (study_config.pbt) {
    KNOB_CHECK(!study_config.isolate, "study.isolate", true,
               "is not supported with study.pbt: members train in this process");
    PbtRunOptions pbt;
    pbt.config = o.config();
    pbt.overrides = o.overrides();
    pbt.out = o.out();
    pbt.log = o.quiet() ? nullptr : o.log();
    std::unique_ptr<RunGuard> guard;
    pbt.on_open = [&](Study& study) {  // `knob worker` joins with the stored config
      const auto stored = study.storage().study_system_attrs(study.study_id());
      if (!stored.count(kStoredConfigKey) || (role == Role::kTune && !o.resume())) {
        store_config(study, {o.config(), read_text_file(o.config(), "config"), o.overrides()});
      }
      if (o.guard()) guard = o.guard()(study);
    };
    run_pbt_study(
        study_config, base,
        [](const TrainConfig& c, const EpochCallback& on_epoch) {
          return train_with_plugin(c, on_epoch);
        },
        pbt);
    if (guard && guard->interrupted()) {
      result.interrupted = true;
      result.message = "study '" + study_config.name +
                       "' interrupted; its interrupted segments run again when `knob tune " +
                       o.config() + "` (or another worker) runs on it";
    }
    return result;
  }
  if (study_config.isolate) {
    check_tensorboard_dir(o.tensorboard());
    auto isolated = make_isolated_trainer_objective(study_config.search,
                                                    IsolatedTrainerOptions()
                                                        .executable(o.train_executable())
                                                        .config(o.config())
                                                        .overrides(o.overrides())
                                                        .threads(threads)
                                                        .tensorboard(o.tensorboard())
                                                        .storage_url(study_config.storage)
                                                        .objectives(objectives)
                                                        .keep_models(study_config.keep_models));
    // The child finds its files from the trial's number; a retry's checkpoint is adopted here.
    auto adopting = [&](Trial& trial) {
      keeping.files(trial.study()).adopt(trial.snapshot());
      return isolated(trial);
    };
    result = run_config_study(o, role, study_config, adopting, what, keeping);
  } else {
    auto objective =
        make_trainer_objective(base, study_config.search, o.tensorboard(), objectives, keeping);
    result = run_config_study(o, role, study_config, objective, what, keeping);
  }
  if (result.interrupted || result.best.size() != 1) return result;
  const auto& attrs = result.best[0].user_attrs;
  if (auto test = attrs.find("test_accuracy"); test != attrs.end()) {
    *o.out() << "test accuracy of the best trial: " << dumps(test->second) << "\n";
  }
  if (auto model = attrs.find("model_path");
      model != attrs.end() && model->second.is_string() &&
      std::filesystem::exists(model->second.get<std::string>())) {
    *o.out() << "model of the best trial: " << model->second.get<std::string>() << "\n";
  }
  return result;
}

// No config: a built-in objective, with the samplers and pruners' default options.
TuneResult run_builtin_tune(const TuneOptions& o) {
  KNOB_CHECK(o.overrides().empty(), "--set", o.overrides().front(),
             "needs a study config (knob tune CONFIG.toml --set ...)");
  KNOB_CHECK(!o.isolate().value_or(false), "--isolate", true,
             "needs a study config (knob tune CONFIG.toml --isolate): built-in objectives run "
             "in-process");
  KNOB_CHECK(o.tensorboard().empty(), "--tensorboard", o.tensorboard(),
             "needs a study config (knob tune CONFIG.toml --tensorboard DIR): only trainer "
             "trials write event files");
  const BuiltinObjective& objective = find_builtin_objective(o.objective());
  const std::string sampler_name = o.sampler().value_or("random");
  const std::string pruner_name = o.pruner().value_or("median");
  KNOB_CHECK(pruner_name != "percentile" && pruner_name != "threshold", "--pruner", pruner_name,
             "needs a study config with its options table (percentile = {...})");
  // The samplers and pruners with their default options, as a config without tables.
  StudyConfig defaults;
  defaults.sampler = sampler_name;
  defaults.pruner = pruner_name;
  defaults.seed = o.seed();
  std::shared_ptr<Sampler> sampler;
  if (sampler_name == "grid") {
    KNOB_CHECK(!o.grid().empty(), "--grid", std::string(""),
               "must be given (NAME=V1,V2,...) when --sampler is grid");
    GridSampler::SearchSpace grid = parse_grid(o.grid());
    check_grid_names(objective, grid);
    sampler = std::make_shared<GridSampler>(grid, o.seed());
  } else {
    KNOB_CHECK(o.grid().empty(), "--grid", o.grid().front(),
               "is used only with --sampler grid (the sampler is " + sampler_name + ")");
    sampler = make_sampler(defaults);
  }
  std::shared_ptr<Pruner> pruner = make_pruner(defaults);
  const std::string storage = o.storage().value_or(kDefaultStorage);
  const std::string name =
      o.study_name().value_or("").empty() ? "knob-" + objective.name : *o.study_name();
  OptimizeOptions options;
  options.n_jobs(static_cast<int>(resolve_jobs(o.jobs().value_or(1))))
      .show_progress(!o.quiet())
      .timeout(o.timeout());
  if (o.n_trials()) {
    options.n_trials(o.n_trials());
  } else if (!o.timeout() && sampler_name != "grid") {
    options.n_trials(50);
  }
  Run run{o, Role::kTune, objective.description, [&](std::optional<int64_t> n_trials) {
            return resume_command(o, storage, name, n_trials);
          }};
  TuneResult result = run_study(
      run, StudyOptions().storage(storage).study_name(name).sampler(sampler).pruner(pruner),
      options, objective.function);
  if (result.interrupted) return result;
  *o.out() << "known minimum of " << objective.name << ": " << dumps(Json(objective.known_minimum))
           << "\n";
  return result;
}

// A file that lives as long as this object: the stored config of a study, for the code that
// reads configs from files (and for `knob train` children of isolate).
class TemporaryFile {
 public:
  explicit TemporaryFile(const std::string& text) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "knob-worker-XXXXXX.toml").string();
    int fd = mkstemps(pattern.data(), 5);
    KNOB_CHECK(fd >= 0, "TMPDIR", std::filesystem::temp_directory_path().string(),
               "must be a writable directory");
    path_ = pattern;
    bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    close(fd);
    KNOB_CHECK(written, "TMPDIR", path_, "must have room for the study's config");
  }
  ~TemporaryFile() { std::filesystem::remove(path_); }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

std::string resume_command(const TuneOptions& o, const std::string& storage,
                           const std::string& study_name, std::optional<int64_t> n_trials_total) {
  std::string command = "knob tune";
  auto add = [&](const std::string& flag, const std::string& value) {
    command += " " + flag + " " + shell_quote(value);
  };
  if (!o.config().empty()) command += " " + shell_quote(o.config());
  for (const auto& s : o.overrides()) add("--set", s);
  if (o.config().empty()) add("--objective", o.objective());
  add("--storage", storage);
  add("--study-name", study_name);
  if (n_trials_total) add("--n-trials", std::to_string(*n_trials_total));
  if (o.timeout()) add("--timeout", dumps(Json(*o.timeout())));
  if (o.jobs()) add("--jobs", *o.jobs() == kJobsAuto ? "auto" : std::to_string(*o.jobs()));
  if (o.seed()) add("--seed", std::to_string(*o.seed()));
  if (o.sampler()) add("--sampler", *o.sampler());
  for (const auto& g : o.grid()) add("--grid", g);
  if (o.pruner()) add("--pruner", *o.pruner());
  if (o.isolate().value_or(false)) command += " --isolate";
  if (!o.tensorboard().empty()) add("--tensorboard", o.tensorboard());
  return command + " --resume";
}

int64_t every_core() { return std::max(1u, std::thread::hardware_concurrency()); }

int64_t resolve_jobs(int64_t jobs) {
  if (jobs == kJobsAuto) return std::min(every_core(), kMaxJobs);
  KNOB_CHECK(jobs >= 1 && jobs <= kMaxJobs, "--jobs", jobs,
             "must be an integer from 1 to " + std::to_string(kMaxJobs) +
                 " (trials at once, a thread each) or auto");
  return jobs;
}

std::optional<int64_t> threads_per_trial(int64_t jobs, int64_t cores) {
  if (jobs <= 1) return std::nullopt;  // one libtorch thread per trial beats sharing threads
  return std::max<int64_t>(1, cores / jobs);
}

void apply_options(const TuneOptions& o, Role role, StudyConfig& config) {
  if (o.storage()) config.storage = *o.storage();
  if (o.study_name()) config.name = *o.study_name();
  if (o.n_trials()) config.n_trials = o.n_trials();
  if (o.timeout()) config.timeout = o.timeout();
  if (o.jobs()) config.jobs = *o.jobs();
  if (o.seed()) config.seed = o.seed();
  if (o.isolate()) config.isolate = *o.isolate();
  KNOB_CHECK(o.sampler().value_or("") != "grid", "--sampler", *o.sampler(),
             "cannot replace a config's sampler: set sampler = \"grid\" in its [study] table "
             "(the grid is its [search] choices)");
  if (o.sampler()) config.sampler = *o.sampler();
  if (o.pruner()) config.pruner = *o.pruner();
  if (config.name.empty()) config.name = std::filesystem::path(o.config()).stem().string();
  config.jobs = resolve_jobs(config.jobs);
  if (role == Role::kWorker) {  // workers die; their trials must not stay RUNNING for ever
    if (!config.heartbeat_interval) config.heartbeat_interval = 10.0;
    if (!config.max_retry) config.max_retry = 3;
  }
}

GridSampler::SearchSpace parse_grid(const std::vector<std::string>& specs) {
  GridSampler::SearchSpace space;
  for (const auto& spec : specs) {
    auto eq = spec.find('=');
    KNOB_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < spec.size(), "--grid", spec,
               "must look like NAME=V1,V2,... (e.g. lr=0.001,0.01,0.1)");
    std::string name = spec.substr(0, eq);
    std::vector<ParamValue>& values = space[name];
    size_t start = eq + 1;
    while (start <= spec.size()) {
      size_t comma = spec.find(',', start);
      std::string item =
          spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      KNOB_CHECK(!item.empty(), "--grid " + name, spec, "must not have empty values");
      Json parsed = Json::parse(item, nullptr, false);
      if (parsed.is_number() || parsed.is_boolean()) {
        values.push_back(param_value_from_json(parsed, "--grid " + name));
      } else {
        values.push_back(item);
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return space;
}

std::vector<FrozenTrial> print_best(Study& study, std::ostream& out) {
  if (study.trials({TrialState::kComplete}).empty()) {
    // Say why rather than "no COMPLETE trial": a grid that misses a parameter of the
    // objective fails every trial with the reason.
    std::string reason = "no trial ran";  // e.g. --n-trials 0 on a new study
    for (const auto& t : study.trials({TrialState::kFail, TrialState::kPruned})) {
      auto it = t.system_attrs.find("fail_reason");
      auto pruned = t.system_attrs.find(kPruneReasonAttr);
      if (it != t.system_attrs.end() && it->second.is_string()) {
        reason = "the last, trial " + std::to_string(t.number) +
                 ", failed: " + it->second.get<std::string>();
      } else if (pruned != t.system_attrs.end() && pruned->second.is_string()) {
        reason = "the last, trial " + std::to_string(t.number) +
                 ", was pruned: " + pruned->second.get<std::string>();
      } else {
        reason = "the last, trial " + std::to_string(t.number) + ", ended " + to_string(t.state);
      }
    }
    throw Error("no trial of study '" + study.study_name() + "' completed; " + reason);
  }
  if (study.directions().size() == 1) {
    FrozenTrial best = study.best_trial();
    out << "best value " << dumps(Json(best.value())) << " (trial " << best.number << ")\n";
    print_params(best, out);
    return {best};
  }
  std::vector<FrozenTrial> front = study.best_trials();
  out << front.size() << " trials on the Pareto front\n";
  for (const auto& t : front) {
    out << "trial " << t.number << ": values " << dumps(Json(t.values)) << "\n";
    print_params(t, out);
  }
  return front;
}

void store_config(Study& study, const StoredConfig& config) {
  Json stored = {{"file", config.file}, {"toml", config.toml}, {"set", config.overrides}};
  study.storage().set_study_system_attr(study.study_id(), kStoredConfigKey, stored);
}

std::optional<StoredConfig> load_stored_config(Study& study) {
  const auto attrs = study.storage().study_system_attrs(study.study_id());
  auto it = attrs.find(kStoredConfigKey);
  if (it == attrs.end()) return std::nullopt;
  const Json& stored = it->second;
  if (!stored.is_object() || !stored.contains("toml") || !stored["toml"].is_string()) {
    return std::nullopt;
  }
  StoredConfig config;
  config.toml = stored["toml"].get<std::string>();
  if (stored.contains("file") && stored["file"].is_string()) {
    config.file = stored["file"].get<std::string>();
  }
  if (stored.contains("set") && stored["set"].is_array()) {
    for (const auto& o : stored["set"]) config.overrides.push_back(o.get<std::string>());
  }
  return config;
}

TuneResult tune(const TuneOptions& options) {
  if (!options.config().empty()) return run_config_tune(options, Role::kTune);
  return run_builtin_tune(options);
}

TuneResult resume(TuneOptions options) { return tune(options.resume(true)); }

TuneResult run_worker(const TuneOptions& options) {
  if (!options.config().empty()) return run_config_tune(options, Role::kWorker);
  const std::string study_name = options.study_name().value_or("");
  KNOB_CHECK(!study_name.empty(), "--study", std::string(""),
             "must name the study to join (or give the study's CONFIG)");
  std::optional<StoredConfig> stored;
  {  // closed before the study is opened again to run it
    Study study = [&] {
      try {
        return load_study(StudyOptions()
                              .storage(options.storage().value_or(kDefaultStorage))
                              .study_name(study_name));
      } catch (const NotFound& e) {
        throw NotFound(std::string("--study: nothing to join: ") + e.what());
      }
    }();
    stored = load_stored_config(study);
  }
  KNOB_CHECK(stored.has_value(), "--study", study_name,
             "must be a study started by `knob tune CONFIG` or `knob worker CONFIG` (it stores "
             "the config its workers run); give the worker the CONFIG instead");
  TemporaryFile config(stored->toml);
  std::vector<std::string> overrides = stored->overrides;
  overrides.insert(overrides.end(), options.overrides().begin(), options.overrides().end());
  TuneOptions from_stored = options;
  from_stored.overrides(overrides).config(config.path());
  return run_config_tune(from_stored, Role::kWorker);
}

}  // namespace knob::run
