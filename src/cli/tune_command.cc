#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

#include <filesystem>
#include <map>
#include <thread>

#include "commands.h"
#include "interrupt_guard.h"
#include "knob/core/clock.h"
#include "knob/core/error.h"
#include "knob/core/text_file.h"
#include "knob/run/builtin_objectives.h"
#include "knob/run/command_objective.h"
#include "knob/run/study_config.h"
#include "knob/train/config.h"
#include "knob/tuner/samplers/grid_sampler.h"
#include "knob/tuner/study.h"
#include "knob/tuner/study_budget.h"
#include "trainer_objective.h"

namespace knob::cli {
namespace {

struct TuneFlags {
  std::string storage = "sqlite:///knob.db";
  std::string study_name;
  std::string objective = "branin";
  std::string sampler = "random";
  std::vector<std::string> grid;
  std::string pruner = "median";
  std::optional<int64_t> n_trials;
  std::optional<double> timeout;
  std::string jobs = "1";  // or "auto"
  std::optional<uint64_t> seed;
  bool quiet = false;
  std::string config;                  // a study TOML: the trainer is the objective
  std::vector<std::string> overrides;  // --set table.key=value for the trainer config
  bool isolate = false;                // each trainer trial in a child process
  bool resume = false;                 // continue an interrupted study to its n_trials
  bool worker = false;                 // knob worker: run until the study's stored budget is spent
  std::string tensorboard;             // trainer trials' event files: DIR/trial-<number>
  // Flags given on the command line override the config file's [study] table.
  std::map<std::string, CLI::Option*> options;
  bool given(const std::string& name) const {
    auto it = options.find(name);
    return it != options.end() && it->second->count() > 0;
  }
};

// A bound check for a numeric flag. CLI11's PositiveNumber / NonNegativeNumber print their
// range as "0.000000 to 1797693134862315708145274237317043567980...", which tells the user
// nothing; this names the value and the bound: "--jobs: 0 is not allowed: must be ...".
CLI::Validator at_least(double minimum, bool integer, const std::string& allowed) {
  return CLI::Validator(
      [=](std::string& input) -> std::string {
        char* end = nullptr;
        double x = std::strtod(input.c_str(), &end);
        bool ok =
            !input.empty() && end && *end == '\0' && x >= minimum &&
            (!integer || (x == std::floor(x) && input.find_first_of(".eE") == std::string::npos));
        return ok ? std::string() : input + " is not allowed: must be " + allowed;
      },
      allowed);
}

int64_t every_core() { return std::max(1u, std::thread::hardware_concurrency()); }

// --jobs N or --jobs auto: one trial per core (on small models one libtorch thread per
// trial, several trials at once, beats one trial on every core).
int64_t jobs_from_flag(const std::string& text) {
  return text == "auto" ? every_core() : std::stoll(text);  // the validator checked the text
}

CLI::Validator jobs_validator() {
  return CLI::Validator(
      [number = at_least(1, true, "an integer >= 1 or auto")](std::string& input) {
        return input == "auto" ? std::string() : number(input);
      },
      "N or auto");
}

// "--grid x=-5,0,5" -> {"x", {-5.0, 0.0, 5.0}}; values are numbers or strings.
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

void print_params(const FrozenTrial& trial) {
  for (const auto& [param, value] : trial.params()) {
    std::cout << "  " << param << " = " << to_string(value) << "\n";
  }
}

// After optimize(): the best trial (several objectives: the trials on the Pareto front), or why
// none completed. Returns them.
std::vector<FrozenTrial> print_best(Study& study) {
  if (study.trials({TrialState::kComplete}).empty()) {
    // Say why rather than "no COMPLETE trial": a grid that misses a parameter of the
    // objective fails every trial with the reason.
    std::string reason = "no trial ran";  // e.g. --n-trials 0 on a new study
    for (const auto& t : study.trials({TrialState::kFail, TrialState::kPruned})) {
      auto it = t.system_attrs.find("fail_reason");
      if (it != t.system_attrs.end() && it->second.is_string()) {
        reason = "the last, trial " + std::to_string(t.number) +
                 ", failed: " + it->second.get<std::string>();
      } else {
        reason = "the last, trial " + std::to_string(t.number) + ", ended " + to_string(t.state);
      }
    }
    throw Error("no trial of study '" + study.study_name() + "' completed; " + reason);
  }
  if (study.directions().size() == 1) {
    FrozenTrial best = study.best_trial();
    std::cout << "best value " << dumps(Json(best.value())) << " (trial " << best.number << ")\n";
    print_params(best);
    return {best};
  }
  std::vector<FrozenTrial> front = study.best_trials();
  std::cout << front.size() << " trials on the Pareto front\n";
  for (const auto& t : front) {
    std::cout << "trial " << t.number << ": values " << dumps(Json(t.values)) << "\n";
    print_params(t);
  }
  return front;
}

// The study to run: created or continued; with --resume it must exist.
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

// --resume: the interrupted trials go first, and n_trials counts every trial the study has
// finished (those interrupted aside), so the study ends where it would have without the stop.
void prepare_resume(Study& study, OptimizeOptions& options) {
  const std::vector<int64_t> again = study.enqueue_interrupted_trials();
  int64_t done = 0, running = 0;
  for (const auto& t : study.trials()) {
    if (t.state == TrialState::kRunning) ++running;
    if (is_finished(t.state) && !t.system_attrs.count("knob:interrupted")) ++done;
  }
  if (options.n_trials()) options.n_trials(std::max<int64_t>(0, *options.n_trials() - done));
  std::cerr << "[knob] resuming study '" << study.study_name() << "': " << done
            << " trials finished, " << again.size() << " interrupted ones run again first";
  if (options.n_trials()) std::cerr << ", " << *options.n_trials() << " to go";
  std::cerr << "\n";
  if (running > 0) {
    std::cerr << "[knob] " << running
              << " trials are still RUNNING (in another process, or in one that was killed); "
                 "they are left as they are\n";
  }
}

// Opens the study (--resume: the existing one, prepared by prepare_resume), runs it and
// prints its best trials (print_best), which it returns. Ctrl-C or SIGTERM interrupts it
// (interrupt_guard.h) and ends knob with 130 after the best trial so far, naming `resume_command`.
template <typename Objective>
std::vector<FrozenTrial> run_study(
    const TuneFlags& flags, const StudyOptions& study_options, OptimizeOptions options,
    Objective& objective, const std::string& what, const std::string& resume_command,
    const std::function<void(Study&, OptimizeOptions&)>& prepare = {}) {
  Study study = open_study(study_options, flags.resume);
  if (flags.resume) prepare_resume(study, options);
  if (prepare) prepare(study, options);
  std::cerr << "[knob] study '" << study.study_name() << "' in " << study_options.storage() << ": "
            << what << "\n";
  InterruptGuard guard(study);
  study.optimize(objective, options);
  if (guard.interrupted()) {
    if (!study.trials({TrialState::kComplete}).empty()) print_best(study);
    if (flags.worker) {  // e.g. a preempted job: the other workers run them
      const size_t again = study.enqueue_interrupted_trials().size();
      throw ExitRequest{130, "worker interrupted; " + std::to_string(again) +
                                 " interrupted trials were enqueued again for the other workers"};
    }
    throw ExitRequest{130, "study '" + study.study_name() +
                               "' interrupted; the interrupted trials are stored FAIL. Continue "
                               "with: " +
                               resume_command};
  }
  if (options.n_trials() == 0 && study.trials({TrialState::kComplete}).empty()) {
    std::cerr << "[knob] study '" << study.study_name()
              << "' is ready, no trial run (--n-trials 0): `knob worker --storage URL --study "
              << study.study_name() << "` joins it\n";
    return {};
  }
  return print_best(study);
}

// A parameter value as TOML text, so `knob train --set key=TEXT` reads back exactly the value
// the trial suggested: floats as Python writes them (shortest text that round-trips), strings
// quoted and escaped.
std::string toml_text(const std::string& name, const ParamValue& value) {
  if (const double* x = std::get_if<double>(&value)) {
    if (std::isnan(*x)) return "nan";
    if (std::isinf(*x)) return *x > 0 ? "inf" : "-inf";
    return dumps(Json(*x));  // always with '.' or 'e': 3.0, 1e-05
  }
  if (const std::string* text = std::get_if<std::string>(&value)) {
    std::string out = "\"";
    for (unsigned char c : *text) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20 || c == 0x7f) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04X", c);
        out += escaped;
      } else {
        out += static_cast<char>(c);  // UTF-8 passes through
      }
    }
    return out + "\"";
  }
  if (const bool* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const int64_t* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  throw_invalid("search." + name, std::string("None"),
                "cannot be passed to `knob train --set` (TOML has no null)");
}

// Each trial runs `knob train CONFIG --set ... --quiet --protocol` (this very binary, through
// /proc/self/exe) as a command objective: a crash or an out-of-memory kill fails one trial.
CommandObjective make_isolated_trainer_objective(const TuneFlags& flags,
                                                 const StudyConfig& study_config,
                                                 std::optional<int64_t> threads) {
  std::vector<std::string> argv = {"/proc/self/exe", "train", escape_placeholders(flags.config)};
  for (const auto& o : flags.overrides) argv.insert(argv.end(), {"--set", escape_placeholders(o)});
  if (threads) argv.insert(argv.end(), {"--set", "train.threads=" + std::to_string(*threads)});
  argv.insert(argv.end(), {"--set", "output.metrics=\"\""});
  for (const auto& p : study_config.search) {
    argv.insert(argv.end(), {"--set", escape_placeholders(p.name) + "={" + p.name + "}"});
  }
  if (!flags.tensorboard.empty())  // the child adds trial-$KNOB_TRIAL_NUMBER
    argv.insert(argv.end(), {"--tensorboard", escape_placeholders(flags.tensorboard)});
  argv.insert(argv.end(), {"--quiet", "--protocol"});
  return CommandObjective(argv, study_config.search,
                          CommandOptions()
                              .storage_url(study_config.storage)
                              .format_value(toml_text)
                              .name("knob train"));
}

// The command line's flags over the config's [study] table.
void apply_flags(const TuneFlags& flags, StudyConfig& study_config) {
  if (flags.given("--storage")) study_config.storage = flags.storage;
  if (flags.given("--study-name")) study_config.name = flags.study_name;
  if (flags.given("--n-trials")) study_config.n_trials = flags.n_trials;
  if (flags.given("--timeout")) study_config.timeout = flags.timeout;
  if (flags.given("--jobs")) study_config.jobs = jobs_from_flag(flags.jobs);
  if (flags.given("--seed")) study_config.seed = flags.seed;
  if (flags.given("--isolate")) study_config.isolate = flags.isolate;
  KNOB_CHECK(!flags.given("--sampler") || flags.sampler != "grid", "--sampler", flags.sampler,
             "cannot replace a config's sampler: set sampler = \"grid\" in its [study] table "
             "(the grid is its [search] choices)");
  if (flags.given("--sampler")) study_config.sampler = flags.sampler;
  if (flags.given("--pruner")) study_config.pruner = flags.pruner;
  if (study_config.name.empty()) {
    study_config.name = std::filesystem::path(flags.config).stem().string();
  }
  if (study_config.jobs == kJobsAuto) study_config.jobs = every_core();
  if (flags.worker) {  // workers die; their trials must not stay RUNNING for ever
    if (!study_config.heartbeat_interval) study_config.heartbeat_interval = 10.0;
    if (!study_config.max_retry) study_config.max_retry = 3;
  }
}

constexpr const char* kStoredConfigKey = "knob:config";

// The config and its --set overrides travel with the study (system attr "knob:config"), so a
// `knob worker` on another machine runs the same trials without the file.
void store_config(Study& study, const TuneFlags& flags) {
  Json stored = {{"file", flags.config},
                 {"toml", read_text_file(flags.config, "config")},
                 {"set", flags.overrides}};
  study.storage().set_study_system_attr(study.study_id(), kStoredConfigKey, stored);
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

// A study's budget and config, shared with the `knob worker`s that join it; every process
// then stops starting trials once the study's budget is spent.
//  - knob tune: its trials come on top of those the study counts, as Optuna's
//    optimize(n_trials) does, and its config is the one workers run from now on;
//    --resume keeps what the first run stored.
//  - knob worker: a study it creates gets the config's budget as the study's total; one
//    that has a budget keeps it.
void share_with_workers(const TuneFlags& flags, const StudyConfig& study_config, Study& study,
                        OptimizeOptions& options) {
  const auto stored = study.storage().study_system_attrs(study.study_id());
  if (!flags.worker && !flags.resume) {
    std::optional<int64_t> total;
    if (options.n_trials()) total = trials_counted_in_budget(study.trials()) + *options.n_trials();
    save_study_budget(study, study_budget_from_now(total, options.timeout()));
  } else if (flags.worker && !load_study_budget(study)) {
    save_study_budget(study, study_budget_from_now(options.n_trials(), options.timeout()));
  }
  if (!stored.count(kStoredConfigKey) || (!flags.worker && !flags.resume)) {
    store_config(study, flags);
  }
  if (flags.worker) {  // the study's budget alone decides
    options.n_trials(std::nullopt).timeout(std::nullopt);
    const double grace = study_config.grace_period.value_or(  // StudyOptions' default
        2 * study_config.heartbeat_interval.value_or(0));
    options.keep_going([grace](Study& s) { return worker_keep_going(s, grace); });
  } else {
    options.keep_going([](Study& s) { return !study_budget_spent(s); });
  }
}

// Runs a config's study on `objective`; returns the best trial.
template <typename Objective>
std::vector<FrozenTrial> run_config_study(const TuneFlags& flags, const StudyConfig& study_config,
                                          Objective& objective, const std::string& what) {
  OptimizeOptions options;
  options.n_jobs(static_cast<int>(study_config.jobs))
      .show_progress(!flags.quiet)
      .timeout(study_config.timeout)
      .n_trials(study_config.n_trials);
  if (!study_config.n_trials && !study_config.timeout && study_config.sampler != "grid") {
    options.n_trials(20);
  }
  auto prepare = [&](Study& study, OptimizeOptions& o) {
    share_with_workers(flags, study_config, study, o);
  };
  return run_study(
      flags,
      StudyOptions()
          .storage(study_config.storage)
          .study_name(study_config.name)
          .directions(study_config.directions)
          .sampler(make_sampler(study_config))
          .pruner(make_pruner(study_config))
          .heartbeat_interval(study_config.heartbeat_interval)
          .grace_period(study_config.grace_period)
          .max_retry(study_config.max_retry
                         ? std::optional<int>(static_cast<int>(*study_config.max_retry))
                         : std::nullopt),
      options, objective,
      what + ", " + std::to_string(study_config.search.size()) + " parameters searched",
      "knob tune " + flags.config + " --study-name '" + study_config.name + "' --storage '" +
          study_config.storage + "' --resume",
      prepare);
}

// knob tune CONFIG.toml with [objective] command: the command, run once per trial.
void run_command_tune(const TuneFlags& flags, const StudyConfig& study_config) {
  KNOB_CHECK(flags.overrides.empty(), "--set", flags.overrides.front(),
             "is for the trainer's keys; this config's objective is a command");
  const CommandConfig& command = *study_config.command;
  CommandOptions options;
  options.storage_url(study_config.storage).timeout(command.timeout).kill_grace(command.kill_grace);
  try {
    CommandObjective objective =
        command.argv.empty() ? CommandObjective::shell(command.shell, study_config.search, options)
                             : CommandObjective(command.argv, study_config.search, options);
    run_config_study(flags, study_config, objective, "a command per trial");
  } catch (const InvalidArgument& e) {
    throw InvalidArgument("[objective] of " + flags.config + ": " + e.what());
  }
}

// knob tune CONFIG.toml: the trainer tuned over the config's [search] space, or the config's
// [objective] command.
void run_config_tune(const TuneFlags& flags) {
  StudyConfig study_config = load_study_config(flags.config);
  apply_flags(flags, study_config);
  if (study_config.command) return run_command_tune(flags, study_config);
  TrainConfig base = load_train_config(flags.config);
  for (const auto& o : flags.overrides) apply_override(base, o);
  validate(base);
  for (const auto& p : study_config.search) {
    try {
      get_config_value(base, p.name);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("[search] of " + flags.config + ": " + e.what());
    }
  }
  std::optional<int64_t> threads;
  if (study_config.jobs > 1) {  // one libtorch thread per trial beats sharing threads here
    threads = base.train.threads = std::max<int64_t>(1, every_core() / study_config.jobs);
  }
  const std::string what = "training " + base.model.kind + " on " + base.data.source +
                           (study_config.isolate ? ", each trial in its own process" : "");
  std::vector<FrozenTrial> best;
  if (study_config.isolate) {
    check_tensorboard_dir(flags.tensorboard);
    auto isolated = make_isolated_trainer_objective(flags, study_config, threads);
    best = run_config_study(flags, study_config, isolated, what);
  } else {
    auto objective = make_trainer_objective(base, study_config.search, flags.tensorboard);
    best = run_config_study(flags, study_config, objective, what);
  }
  if (best.size() != 1) return;
  auto test = best[0].user_attrs.find("test_accuracy");
  if (test != best[0].user_attrs.end()) {
    std::cout << "test accuracy of the best trial: " << dumps(test->second) << "\n";
  }
}

void run_tune(const TuneFlags& flags) {
  if (!flags.config.empty()) {
    run_config_tune(flags);
    return;
  }
  KNOB_CHECK(flags.overrides.empty(), "--set", flags.overrides.front(),
             "needs a study config (knob tune CONFIG.toml --set ...)");
  KNOB_CHECK(!flags.isolate, "--isolate", true,
             "needs a study config (knob tune CONFIG.toml --isolate): built-in objectives run "
             "in-process");
  KNOB_CHECK(flags.tensorboard.empty(), "--tensorboard", flags.tensorboard,
             "needs a study config (knob tune CONFIG.toml --tensorboard DIR): only trainer "
             "trials write event files");
  const BuiltinObjective& objective = find_builtin_objective(flags.objective);
  KNOB_CHECK(flags.pruner != "percentile" && flags.pruner != "threshold", "--pruner", flags.pruner,
             "needs a study config with its options table (percentile = {...})");
  // The samplers and pruners with their default options, as a config without tables.
  StudyConfig defaults;
  defaults.sampler = flags.sampler;
  defaults.pruner = flags.pruner;
  defaults.seed = flags.seed;
  std::shared_ptr<Sampler> sampler;
  if (flags.sampler == "grid") {
    KNOB_CHECK(!flags.grid.empty(), "--grid", std::string(""),
               "must be given (NAME=V1,V2,...) when --sampler is grid");
    sampler = std::make_shared<GridSampler>(parse_grid(flags.grid), flags.seed);
  } else {
    KNOB_CHECK(flags.grid.empty(), "--grid", flags.grid.front(),
               "is used only with --sampler grid (the sampler is " + flags.sampler + ")");
    sampler = make_sampler(defaults);
  }
  std::shared_ptr<Pruner> pruner = make_pruner(defaults);
  std::string name = flags.study_name.empty() ? "knob-" + objective.name : flags.study_name;
  OptimizeOptions options;
  options.n_jobs(static_cast<int>(jobs_from_flag(flags.jobs)))
      .show_progress(!flags.quiet)
      .timeout(flags.timeout);
  if (flags.n_trials) {
    options.n_trials(flags.n_trials);
  } else if (!flags.timeout && flags.sampler != "grid") {
    options.n_trials(50);
  }
  run_study(flags,
            StudyOptions().storage(flags.storage).study_name(name).sampler(sampler).pruner(pruner),
            options, objective.function, objective.description,
            "knob tune --objective " + objective.name + " --study-name '" + name + "' --storage '" +
                flags.storage + "' --resume");
  std::cout << "known minimum of " << objective.name << ": " << dumps(Json(objective.known_minimum))
            << "\n";
}

// A file that lives as long as this object: the stored config of a study, for the code that
// reads configs from files (and for `knob train` children of --isolate).
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

// knob worker [CONFIG]: with CONFIG, as knob tune but the budget is the study's; without it,
// the config the study stored, and the worker's --set after the stored ones.
void run_worker(TuneFlags flags) {
  if (!flags.config.empty()) return run_config_tune(flags);
  KNOB_CHECK(!flags.study_name.empty(), "--study", std::string(""),
             "must name the study to join (or give the study's CONFIG)");
  Json stored;
  {  // closed before the study is opened again to run it
    Study study = [&] {
      try {
        return load_study(StudyOptions().storage(flags.storage).study_name(flags.study_name));
      } catch (const NotFound& e) {
        throw NotFound(std::string("--study: nothing to join: ") + e.what());
      }
    }();
    const auto attrs = study.storage().study_system_attrs(study.study_id());
    if (auto it = attrs.find(kStoredConfigKey); it != attrs.end()) stored = it->second;
  }
  KNOB_CHECK(stored.is_object() && stored.contains("toml") && stored["toml"].is_string(), "--study",
             flags.study_name,
             "must be a study started by `knob tune CONFIG` or `knob worker CONFIG` (it stores "
             "the config its workers run); give the worker the CONFIG instead");
  TemporaryFile config(stored["toml"].get<std::string>());
  std::vector<std::string> overrides;
  if (stored.contains("set") && stored["set"].is_array()) {
    for (const auto& o : stored["set"]) overrides.push_back(o.get<std::string>());
  }
  overrides.insert(overrides.end(), flags.overrides.begin(), flags.overrides.end());
  flags.overrides = overrides;
  flags.config = config.path();
  run_config_tune(flags);
}

}  // namespace

void add_worker_command(CLI::App& app) {
  auto flags = std::make_shared<TuneFlags>();
  flags->worker = true;
  CLI::App* worker = app.add_subcommand(
      "worker",
      "Join a study and run its trials until the study's budget (n_trials, timeout) is spent, "
      "with any number of other workers");
  worker
      ->add_option("config", flags->config,
                   "Study TOML: creates the study if it does not exist (without it: the config "
                   "the study stored when `knob tune` or the first worker started it)")
      ->check(CLI::ExistingFile);
  worker->add_option("--set", flags->overrides,
                     "Override a trainer config key: table.key=value (after the stored ones)");
  flags->options["--storage"] =
      worker->add_option("--storage", flags->storage, "Storage URL")->required();
  flags->options["--study-name"] = worker->add_option("--study-name,--study", flags->study_name,
                                                      "Study to join (default: the config's name)");
  flags->options["--jobs"] =
      worker->add_option("--jobs", flags->jobs, "Trials at once, or auto: one per core")
          ->check(jobs_validator());
  flags->options["--isolate"] = worker->add_flag(
      "--isolate", flags->isolate, "Run each trainer trial as a child process ([study] isolate)");
  worker->add_flag("--quiet", flags->quiet, "No progress line");
  worker->callback([flags] { run_worker(*flags); });
}

void add_tune_command(CLI::App& app) {
  auto flags = std::make_shared<TuneFlags>();
  CLI::App* tune = app.add_subcommand(
      "tune", "Run a tuning study: the trainer from a study config, or a built-in objective");
  tune->add_option("config", flags->config,
                   "Study TOML ([study], [search] and the trainer's tables); without it the "
                   "objective is --objective")
      ->check(CLI::ExistingFile);
  tune->add_option("--set", flags->overrides, "Override a trainer config key: table.key=value");
  flags->options["--storage"] =
      tune->add_option("--storage", flags->storage, "Storage URL")->capture_default_str();
  flags->options["--study-name"] = tune->add_option(
      "--study-name,--study", flags->study_name,
      "Study to create or continue (default: the config's name, or knob-OBJECTIVE)");
  std::string names;
  for (const auto& o : builtin_objectives()) names += (names.empty() ? "" : ", ") + o.name;
  tune->add_option("--objective", flags->objective, "Built-in objective: " + names)
      ->capture_default_str();
  flags->options["--sampler"] =
      tune->add_option("--sampler", flags->sampler,
                       "random, grid, tpe, qmc, gp or cmaes (with a config: its options tables)")
          ->check(CLI::IsMember({"random", "grid", "tpe", "qmc", "gp", "cmaes"}))
          ->capture_default_str();
  tune->add_option("--grid", flags->grid, "Grid values NAME=V1,V2,... (repeat per parameter)");
  flags->options["--pruner"] =
      tune->add_option("--pruner", flags->pruner,
                       "median, asha, hyperband or none (with a config also percentile, "
                       "threshold: their options tables)")
          ->check(CLI::IsMember({"median", "asha", "hyperband", "none", "percentile", "threshold"}))
          ->capture_default_str();
  flags->options["--n-trials"] = tune->add_option("--n-trials", flags->n_trials,
                                                  "Trials to run (default 50 without --timeout)")
                                     ->check(at_least(0, true, "an integer >= 0"));
  flags->options["--timeout"] = tune->add_option("--timeout", flags->timeout, "Seconds to run")
                                    ->check(at_least(0, false, "a number of seconds >= 0"));
  flags->options["--jobs"] =
      tune->add_option("--jobs", flags->jobs, "Trials at once, or auto: one per core")
          ->check(jobs_validator())
          ->capture_default_str();
  flags->options["--seed"] = tune->add_option("--seed", flags->seed, "Sampler seed")
                                 ->check(at_least(0, true, "an integer >= 0"));
  tune->add_flag("--quiet", flags->quiet, "No progress line");
  flags->options["--isolate"] = tune->add_flag(
      "--isolate", flags->isolate,
      "With a config: run each trial as a child `knob train ... --protocol`, so a crash or an "
      "out-of-memory kill fails one trial, not the study ([study] isolate)");
  tune->add_option("--tensorboard", flags->tensorboard,
                   "With a config: each trial writes TensorBoard event files to DIR/trial-<number> "
                   "(the scalars of `knob train --tensorboard`)");
  tune->add_flag("--resume", flags->resume,
                 "Continue an interrupted study (Ctrl-C): its interrupted trials run again "
                 "first, and --n-trials counts the trials it has already finished");
  tune->callback([flags] { run_tune(*flags); });
}

}  // namespace knob::cli
