// knob tune and knob worker: flags -> run::TuneOptions -> run::tune / run::run_worker
// (knob/run/study_runner.h). Ctrl-C or SIGTERM interrupts the study (interrupt_guard.h) and
// ends knob with 130 after the best trial so far, saying how to continue.
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>

#include "commands.h"
#include "interrupt_guard.h"
#include "knob/run/builtin_objectives.h"
#include "knob/run/study_runner.h"

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
  // The value of a flag given on the command line; nullopt when it was not.
  template <typename T>
  std::optional<T> if_given(const std::string& name, const T& value) const {
    return given(name) ? std::optional<T>(value) : std::nullopt;
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

// --jobs N or --jobs auto: one trial per core (on small models one libtorch thread per
// trial, several trials at once, beats one trial on every core).
int64_t jobs_from_flag(const std::string& text) {
  return text == "auto" ? kJobsAuto : std::stoll(text);  // the validator checked the text
}

// At most kMaxJobs: each trial at once is a thread of knob (study_config.h says why).
CLI::Validator jobs_validator() {
  const std::string allowed =
      "an integer >= 1 and <= " + std::to_string(kMaxJobs) + " (a thread each), or auto";
  return CLI::Validator(
      [number = at_least(1, true, allowed), allowed](std::string& input) {
        if (input == "auto") return std::string();
        std::string error = number(input);
        if (error.empty() && std::strtod(input.c_str(), nullptr) > kMaxJobs) {
          error = input + " is not allowed: must be " + allowed;
        }
        return error;
      },
      "N or auto");
}

// InterruptGuard (Ctrl-C, SIGTERM) as the runner's guard.
class SignalGuard : public run::RunGuard {
 public:
  explicit SignalGuard(Study& study) : guard_(study) {}
  bool interrupted() const override { return guard_.interrupted(); }

 private:
  InterruptGuard guard_;
};

// Flags -> options. For a built-in objective the defaults of unset flags are the flags' own;
// with a config (a worker's may be the study's stored one) only the flags given override its
// [study] table.
run::TuneOptions tune_options(const TuneFlags& flags) {
  const bool file = !flags.config.empty() || flags.worker;
  auto pick = [&](const std::string& name, const auto& value) {
    return file ? flags.if_given(name, value) : std::optional(value);
  };
  run::TuneOptions options;
  options.config(flags.config)
      .overrides(flags.overrides)
      .storage(pick("--storage", flags.storage))
      .study_name(pick("--study-name", flags.study_name))
      .sampler(pick("--sampler", flags.sampler))
      .pruner(pick("--pruner", flags.pruner))
      .n_trials(flags.n_trials)
      .timeout(flags.timeout)
      .jobs(pick("--jobs", jobs_from_flag(flags.jobs)))
      .seed(flags.seed)
      .isolate(pick("--isolate", flags.isolate))
      .objective(flags.objective)
      .grid(flags.grid)
      .tensorboard(flags.tensorboard)
      .resume(flags.resume)
      .quiet(flags.quiet)
      .guard([](Study& study) { return std::make_unique<SignalGuard>(study); });
  return options;
}

void run_tune(const TuneFlags& flags) {
  const run::TuneOptions options = tune_options(flags);
  const run::TuneResult result = flags.worker ? run::run_worker(options) : run::tune(options);
  if (result.interrupted) throw ExitRequest{130, result.message};
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
      worker
          ->add_option("--jobs", flags->jobs,
                       "Trials at once, 1 to 1024 (a thread each), or auto: one per core")
          ->check(jobs_validator());
  flags->options["--isolate"] = worker->add_flag(
      "--isolate", flags->isolate, "Run each trainer trial as a child process ([study] isolate)");
  worker->add_flag("--quiet", flags->quiet, "No progress line");
  worker->callback([flags] { run_tune(*flags); });
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
  for (const auto& o : run::builtin_objectives()) names += (names.empty() ? "" : ", ") + o.name;
  tune->add_option("--objective", flags->objective, "Built-in objective: " + names)
      ->capture_default_str();
  flags->options["--sampler"] =
      tune->add_option(
              "--sampler", flags->sampler,
              "random, grid, tpe, qmc, gp, cmaes or nsga2 (with a config: its options tables)")
          ->check(CLI::IsMember({"random", "grid", "tpe", "qmc", "gp", "cmaes", "nsga2"}))
          ->capture_default_str();
  tune->add_option("--grid", flags->grid, "Grid values NAME=V1,V2,... (repeat per parameter)");
  flags->options["--pruner"] =
      tune->add_option("--pruner", flags->pruner,
                       "median, asha, hyperband, curve or none (with a config also percentile, "
                       "threshold: their options tables)")
          ->check(CLI::IsMember(
              {"median", "asha", "hyperband", "curve", "none", "percentile", "threshold"}))
          ->capture_default_str();
  flags->options["--n-trials"] = tune->add_option("--n-trials", flags->n_trials,
                                                  "Trials to run (default 50 without --timeout)")
                                     ->check(at_least(0, true, "an integer >= 0"));
  flags->options["--timeout"] = tune->add_option("--timeout", flags->timeout, "Seconds to run")
                                    ->check(at_least(0, false, "a number of seconds >= 0"));
  flags->options["--jobs"] =
      tune->add_option("--jobs", flags->jobs,
                       "Trials at once, 1 to 1024 (a thread each), or auto: one per core")
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
