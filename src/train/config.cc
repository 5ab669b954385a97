#include "knob/train/config.h"

#include <cmath>
#include <map>

#include "knob/core/error.h"
#include "knob/core/field_table.h"
#include "knob/core/json.h"
#include "knob/core/text_file.h"
#include "knob/core/toml_value.h"
#include "knob/train/task.h"

namespace knob {
namespace {

using Table = FieldTable<TrainConfig>;

// The trainer's integers also take exact floats (4.0), as tuner values may be floats.
const Rule kRule = Rule().integral_floats();

// One field of a table, reached by its section: KNOB_FIELD(optimizer, momentum).
#define KNOB_FIELD(section, name) \
  add(                            \
      #name, [](auto& c) -> auto& { return c.section.name; }, kRule)

// A key that also takes the word "find": a finder then chooses the value before training
// (`use` is set); any other value turns the finder off.
template <typename Ref, typename Use>
void add_findable(Table& table, const std::string& key, Ref ref, Use use,
                  const std::string& allowed) {
  using T = std::remove_cvref_t<decltype(ref(std::declval<TrainConfig&>()))>;
  table.add_custom(
      key,
      [=](TrainConfig& c, const TomlValue& value, const std::string& field) {
        if (value.as<std::string>()) {
          if (*value.as<std::string>() != "find") {
            throw_bad_value(field, value, allowed + " or \"find\"");
          }
          use(c) = true;
          return;
        }
        use(c) = false;
        ref(c) = read_value<T>(value, field, kRule);
      },
      [=](const TrainConfig& c) { return to_toml(ref(c)); });
}

// The tables, in the order config_keys() lists their keys.
std::vector<Table> make_tables() {
  auto table = [](const std::string& name) { return Table(name, "", KeyNames::kDotted); };
  Table data = table("data");
  data.KNOB_FIELD(data, source)
      .KNOB_FIELD(data, dir)
      .KNOB_FIELD(data, train_images)
      .KNOB_FIELD(data, train_labels)
      .KNOB_FIELD(data, test_images)
      .KNOB_FIELD(data, test_labels)
      .KNOB_FIELD(data, train_csv)
      .KNOB_FIELD(data, test_csv)
      .KNOB_FIELD(data, label_column)
      .KNOB_FIELD(data, train_x)
      .KNOB_FIELD(data, train_y)
      .KNOB_FIELD(data, test_x)
      .KNOB_FIELD(data, test_y)
      .KNOB_FIELD(data, validation)
      .KNOB_FIELD(data, split)
      .KNOB_FIELD(data, normalize)
      .KNOB_FIELD(data, limit);
  Table model = table("model");
  model.KNOB_FIELD(model, kind)
      .KNOB_FIELD(model, path)
      .KNOB_FIELD(model, reinit)
      .KNOB_FIELD(model, hidden)
      .KNOB_FIELD(model, channels)
      .KNOB_FIELD(model, dropout);
  Table optimizer = table("optimizer");
  optimizer.KNOB_FIELD(optimizer, kind);
  add_findable(
      optimizer, "lr", [](auto& c) -> auto& { return c.optimizer.lr; },
      [](TrainConfig& c) -> bool& { return c.lr_find.use; }, "must be a number > 0");
  optimizer.KNOB_FIELD(optimizer, momentum)
      .KNOB_FIELD(optimizer, nesterov)
      .KNOB_FIELD(optimizer, weight_decay)
      .KNOB_FIELD(optimizer, l1)
      .KNOB_FIELD(optimizer, beta1)
      .KNOB_FIELD(optimizer, beta2)
      .KNOB_FIELD(optimizer, eps)
      .KNOB_FIELD(optimizer, alpha);
  Table schedule = table("schedule");
  schedule.KNOB_FIELD(schedule, kind)
      .KNOB_FIELD(schedule, per)
      .KNOB_FIELD(schedule, warmup)
      .KNOB_FIELD(schedule, warmup_start_factor)
      .KNOB_FIELD(schedule, gamma)
      .KNOB_FIELD(schedule, step_size)
      .KNOB_FIELD(schedule, milestones)
      .KNOB_FIELD(schedule, alpha)
      .KNOB_FIELD(schedule, power)
      .KNOB_FIELD(schedule, t_max)
      .KNOB_FIELD(schedule, eta_min)
      .KNOB_FIELD(schedule, t_0)
      .KNOB_FIELD(schedule, t_mult)
      .KNOB_FIELD(schedule, max_lr)
      .KNOB_FIELD(schedule, step_size_up)
      .KNOB_FIELD(schedule, mode)
      .KNOB_FIELD(schedule, pct_start)
      .KNOB_FIELD(schedule, factor)
      .KNOB_FIELD(schedule, patience)
      .KNOB_FIELD(schedule, threshold)
      .KNOB_FIELD(schedule, min_lr)
      .KNOB_FIELD(schedule, phases)
      .KNOB_FIELD(schedule, switch_at)
      .KNOB_FIELD(schedule, lrs);
  Table batch = table("batch");
  add_findable(
      batch, "size", [](auto& c) -> auto& { return c.batch.size; },
      [](TrainConfig& c) -> bool& { return c.batch_find.use; }, "must be an integer >= 1");
  batch.KNOB_FIELD(batch, grow_at)
      .KNOB_FIELD(batch, grow_factor)
      .KNOB_FIELD(batch, max_size)
      .KNOB_FIELD(batch, scale_lr)
      .KNOB_FIELD(batch, base);
  Table train = table("train");
  train.KNOB_FIELD(train, epochs)
      .KNOB_FIELD(train, loss)
      .KNOB_FIELD(train, objective)
      .KNOB_FIELD(train, device)
      .KNOB_FIELD(train, seed)
      .KNOB_FIELD(train, threads)
      .KNOB_FIELD(train, max_seconds)
      .KNOB_FIELD(train, monitor)
      .KNOB_FIELD(train, patience)
      .KNOB_FIELD(train, min_delta)
      .KNOB_FIELD(train, baseline)
      .KNOB_FIELD(train, start_from_epoch)
      .KNOB_FIELD(train, restore_best)
      .KNOB_FIELD(train, divergence_factor);
  Table output = table("output");
  output.KNOB_FIELD(output, metrics)
      .KNOB_FIELD(output, progress)
      .KNOB_FIELD(output, test)
      .KNOB_FIELD(output, model);
  Table checkpoint = table("checkpoint");
  checkpoint.KNOB_FIELD(checkpoint, path)
      .KNOB_FIELD(checkpoint, every)
      .KNOB_FIELD(checkpoint, resume);
  Table lr_find = table("lr_find");
  lr_find.KNOB_FIELD(lr_find, start)
      .KNOB_FIELD(lr_find, end)
      .KNOB_FIELD(lr_find, steps)
      .KNOB_FIELD(lr_find, mode)
      .KNOB_FIELD(lr_find, beta)
      .KNOB_FIELD(lr_find, diverge)
      .KNOB_FIELD(lr_find, suggestion)
      .KNOB_FIELD(lr_find, use)
      .KNOB_FIELD(lr_find, factor);
  Table batch_find = table("batch_find");
  batch_find.KNOB_FIELD(batch_find, start)
      .KNOB_FIELD(batch_find, max_size)
      .KNOB_FIELD(batch_find, memory_budget)
      .KNOB_FIELD(batch_find, steps)
      .KNOB_FIELD(batch_find, noise_batches)
      .KNOB_FIELD(batch_find, noise_warmup)
      .KNOB_FIELD(batch_find, use);
  return {data, model, optimizer, schedule, batch, train, output, checkpoint, lr_find, batch_find};
}

#undef KNOB_FIELD

const std::vector<Table>& tables() {
  static const std::vector<Table> kTables = make_tables();
  return kTables;
}

const Table* find_table(const std::string& name) {
  for (const auto& t : tables()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

// The table of a dotted key ("optimizer.lr") and the key inside it ("lr").
std::pair<const Table*, std::string> split_key(const std::string& key) {
  const size_t dot = key.find('.');
  const Table* table = dot == std::string::npos ? nullptr : find_table(key.substr(0, dot));
  if (!table) {
    std::string known;
    for (const auto& t : tables()) known += (known.empty() ? "" : ", ") + t.name();
    throw_invalid("config key", key, "must be in one of the tables " + known);
  }
  return {table, key.substr(dot + 1)};
}

TomlValue to_toml_value(const ConfigValue& value) {
  return std::visit([](const auto& v) { return to_toml(v); }, value);
}

ConfigValue to_config_value(const TomlValue& value) {
  return std::visit(
      [](const auto& v) -> ConfigValue {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, TomlValue::Array>) {
          if (!v.empty() && v.front().template as<std::string>()) {
            return read_value<std::vector<std::string>>(TomlValue(v), "list");
          }
          if (!v.empty() && v.front().template as<double>()) {
            return read_value<std::vector<double>>(TomlValue(v), "list");
          }
          return read_value<std::vector<int64_t>>(TomlValue(v), "list");
        } else if constexpr (std::is_same_v<T, TomlValue::Table>) {
          return std::string("{}");  // no field holds a table
        } else {
          return v;
        }
      },
      value.data());
}

void set_value(TrainConfig& config, const std::string& key, const TomlValue& value) {
  auto [table, name] = split_key(key);
  table->set(config, name, value);
}

}  // namespace

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const auto& t : tables()) {
    for (const auto& k : t.keys()) keys.push_back(t.field(k));
  }
  return keys;
}

bool checkpoint_structural(const std::string& key) {
  return key.rfind("data.", 0) == 0 || key.rfind("model.", 0) == 0 || key == "optimizer.kind" ||
         key == "train.seed" || key == "train.loss";
}

void set_config_value(TrainConfig& config, const std::string& key, const ConfigValue& value) {
  set_value(config, key, to_toml_value(value));
}

void set_config_value(TrainConfig& config, const std::string& key, const ParamValue& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          throw_invalid(key, std::string("None"), "must be a value, not None");
        } else {
          set_config_value(config, key, ConfigValue(v));
        }
      },
      value);
}

ConfigValue get_config_value(const TrainConfig& config, const std::string& key) {
  auto [table, name] = split_key(key);
  return to_config_value(table->get(config, name));
}

void apply_override(TrainConfig& config, const std::string& assignment) {
  auto eq = assignment.find('=');
  KNOB_CHECK(eq != std::string::npos && eq > 0, "--set", assignment,
             "must look like table.key=value (e.g. optimizer.lr=0.01)");
  std::string key = assignment.substr(0, eq);
  std::string text = assignment.substr(eq + 1);
  TomlValue parsed;
  try {
    parsed = parse_toml("v = " + text, "--set");
  } catch (const InvalidArgument&) {
    set_value(config, key, TomlValue(text));  // bare words are strings: kind=adam
    return;
  }
  set_value(config, key, *parsed.get("v"));
}

std::vector<std::string> config_table_names() {
  std::vector<std::string> names;
  for (const auto& t : tables()) names.push_back(t.name());
  names.insert(names.end(), {"study", "search", "objective"});
  return names;
}

TrainConfig parse_train_config(const std::string& toml_text, const std::string& origin) {
  const TomlValue root = parse_toml(toml_text, origin);
  check_table_names(root, config_table_names(), origin);
  TrainConfig config;
  for (const auto& [name, value] : *root.as<TomlValue::Table>()) {
    const Table* table = find_table(name);
    if (!table) continue;  // [study], [search], ... belong to others
    if (!value.is_table()) {
      throw InvalidArgument(origin + ": '" + name + "' must be a table ([" + name + "])");
    }
    const TomlValue& table_value = value;  // clang 14 (the fuzz build) captures no bindings
    naming_origin(origin, name, [&] { table->read(table_value, config); });
  }
  return config;
}

TrainConfig load_train_config(const std::string& path) {
  return parse_train_config(read_text_file(path, "config"), path);
}

namespace {

// A list as it is written in TOML, for messages: schedule.switch_at = [5, 3]: ...
struct ListText {
  std::string text;
  friend std::ostream& operator<<(std::ostream& out, const ListText& list) {
    return out << list.text;
  }
};

template <typename T>
ListText as_list(const std::vector<T>& values) {
  return {dumps(Json(values))};
}

void check_one_of(const std::string& key, const std::string& value,
                  const std::vector<std::string>& allowed) {
  for (const auto& a : allowed) {
    if (a == value) return;
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  throw_invalid(key, value, "must be one of " + list);
}

}  // namespace

void validate(const TrainConfig& config, const std::string& origin) {
  try {
    validate(config);
  } catch (const InvalidArgument& e) {
    // "optimizer.lr = 0: ..." names its table before the first dot.
    const std::string what = e.what();
    const size_t dot = what.find('.');
    const bool keyed = dot != std::string::npos && dot < what.find(' ');
    throw InvalidArgument(what + " (in " + (keyed ? "[" + what.substr(0, dot) + "] of " : "") +
                          origin + ")");
  }
}

void validate(const TrainConfig& c) {
  // First: the checks below that compare with train.epochs must not blame another key.
  KNOB_CHECK(c.train.epochs >= 1, "train.epochs", c.train.epochs, "must be >= 1");
  check_one_of("data.source", c.data.source, {"fashion-mnist", "idx", "csv", "npy"});
  check_one_of("data.split", c.data.split, {"last", "random"});
  KNOB_CHECK(c.data.validation >= 0, "data.validation", c.data.validation, "must be >= 0");
  KNOB_CHECK(c.data.limit >= 0, "data.limit", c.data.limit, "must be >= 0 (0: all)");
  if (c.data.source == "idx") {
    KNOB_CHECK(!c.data.train_images.empty(), "data.train_images", c.data.train_images,
               "must name an IDX file when data.source is idx");
    KNOB_CHECK(!c.data.train_labels.empty(), "data.train_labels", c.data.train_labels,
               "must name an IDX file when data.source is idx");
  }
  if (c.data.source == "csv") {
    KNOB_CHECK(!c.data.train_csv.empty(), "data.train_csv", c.data.train_csv,
               "must name a CSV file when data.source is csv");
  }

  if (c.data.source == "npy") {
    KNOB_CHECK(!c.data.train_x.empty(), "data.train_x", c.data.train_x,
               "must name an NPY file of inputs when data.source is npy");
    KNOB_CHECK(!c.data.train_y.empty(), "data.train_y", c.data.train_y,
               "must name an NPY file of labels or targets when data.source is npy");
    KNOB_CHECK(c.data.test_x.empty() || !c.data.test_y.empty(), "data.test_y", c.data.test_y,
               "must name the test labels when data.test_x is set");
    KNOB_CHECK(c.data.test_y.empty() || !c.data.test_x.empty(), "data.test_x", c.data.test_x,
               "must name the test inputs when data.test_y is set");
  }

  check_one_of("model.kind", c.model.kind, {"mlp", "cnn", "torchscript"});
  if (c.model.kind == "torchscript") {
    KNOB_CHECK(!c.model.path.empty(), "model.path", c.model.path,
               "must name a TorchScript file (torch.jit.save) when model.kind is torchscript");
  } else {
    KNOB_CHECK(!c.model.reinit, "model.reinit", c.model.reinit,
               "is used only when model.kind is \"torchscript\" (built-in models start from "
               "train.seed's initialisation)");
  }
  KNOB_CHECK(c.model.dropout >= 0 && c.model.dropout < 1, "model.dropout", c.model.dropout,
             "must be in [0, 1)");
  for (int64_t h : c.model.hidden) KNOB_CHECK(h >= 1, "model.hidden", h, "widths must be >= 1");
  for (int64_t ch : c.model.channels) {
    KNOB_CHECK(ch >= 1, "model.channels", ch, "channel counts must be >= 1");
  }

  const auto& o = c.optimizer;
  check_one_of("optimizer.kind", o.kind, {"sgd", "adam", "adamw", "rmsprop", "adagrad"});
  KNOB_CHECK(std::isfinite(o.lr) && o.lr > 0, "optimizer.lr", o.lr, "must be a number > 0");
  KNOB_CHECK(o.momentum >= 0 && o.momentum < 1, "optimizer.momentum", o.momentum,
             "must be in [0, 1)");
  KNOB_CHECK(!o.nesterov || (o.kind == "sgd" && o.momentum > 0), "optimizer.nesterov", o.nesterov,
             "needs optimizer.kind = \"sgd\" and optimizer.momentum > 0");
  KNOB_CHECK(o.weight_decay >= 0, "optimizer.weight_decay", o.weight_decay, "must be >= 0");
  KNOB_CHECK(o.l1 >= 0, "optimizer.l1", o.l1, "must be >= 0");
  KNOB_CHECK(o.beta1 >= 0 && o.beta1 < 1, "optimizer.beta1", o.beta1, "must be in [0, 1)");
  KNOB_CHECK(o.beta2 >= 0 && o.beta2 < 1, "optimizer.beta2", o.beta2, "must be in [0, 1)");
  KNOB_CHECK(o.eps > 0, "optimizer.eps", o.eps, "must be > 0");
  KNOB_CHECK(o.alpha > 0 && o.alpha < 1, "optimizer.alpha", o.alpha, "must be in (0, 1)");

  const auto& s = c.schedule;
  const std::vector<std::string> time_schedules = {
      "constant", "inverse_time",    "step",   "multistep", "exponential", "polynomial",
      "cosine",   "cosine_restarts", "cyclic", "one_cycle"};
  std::vector<std::string> kinds = time_schedules;
  kinds.insert(kinds.end(), {"plateau", "sequential", "piecewise"});
  check_one_of("schedule.kind", s.kind, kinds);
  if (s.kind == "sequential") {
    KNOB_CHECK(s.phases.size() >= 2, "schedule.phases", as_list(s.phases),
               "must list at least two schedules when schedule.kind is \"sequential\"");
    for (const auto& phase : s.phases) check_one_of("schedule.phases", phase, time_schedules);
    KNOB_CHECK(
        s.switch_at.size() + 1 == s.phases.size(), "schedule.switch_at", as_list(s.switch_at),
        "must have one entry fewer than schedule.phases (" + std::to_string(s.phases.size()) + ")");
    for (size_t i = 0; i < s.switch_at.size(); ++i) {
      KNOB_CHECK(s.switch_at[i] > (i ? s.switch_at[i - 1] : s.warmup), "schedule.switch_at",
                 as_list(s.switch_at),
                 "must be increasing and after the warm-up (schedule.warmup = " +
                     std::to_string(s.warmup) + ")");
    }
    if (s.per == "epoch") {
      KNOB_CHECK(s.switch_at.back() < c.train.epochs, "schedule.switch_at", as_list(s.switch_at),
                 "must switch before training ends (train.epochs = " +
                     std::to_string(c.train.epochs) + ")");
    }
  } else {
    KNOB_CHECK(s.phases.empty(), "schedule.phases", as_list(s.phases),
               "is used only when schedule.kind is \"sequential\" (it is \"" + s.kind + "\")");
  }
  if (s.kind == "piecewise") {
    KNOB_CHECK(!s.lrs.empty(), "schedule.lrs", as_list(s.lrs),
               "must list at least one learning rate when schedule.kind is \"piecewise\" "
               "(one per epoch, e.g. [0.1, 0.1, 0.05])");
    for (size_t i = 0; i < s.lrs.size(); ++i) {
      KNOB_CHECK(std::isfinite(s.lrs[i]) && s.lrs[i] > 0, "schedule.lrs", as_list(s.lrs),
                 "must hold finite learning rates > 0 (schedule.lrs[" + std::to_string(i) +
                     "] = " + detail::format_value(s.lrs[i]) + ")");
    }
    KNOB_CHECK(
        s.per == "epoch", "schedule.per", s.per,
        "must be \"epoch\" for the piecewise schedule (schedule.lrs holds one lr per epoch)");
  } else {
    KNOB_CHECK(s.lrs.empty(), "schedule.lrs", as_list(s.lrs),
               "is used only when schedule.kind is \"piecewise\" (it is \"" + s.kind + "\")");
  }
  check_one_of("schedule.per", s.per, {"epoch", "step"});
  check_one_of("schedule.mode", s.mode, {"triangular", "triangular2", "exp_range"});
  KNOB_CHECK(s.warmup >= 0, "schedule.warmup", s.warmup, "must be >= 0");
  if (s.per == "epoch") {
    KNOB_CHECK(
        s.warmup < c.train.epochs, "schedule.warmup", s.warmup,
        "must be shorter than training (train.epochs = " + std::to_string(c.train.epochs) + ")");
  }
  KNOB_CHECK(s.kind != "plateau" || s.per == "epoch", "schedule.per", s.per,
             "must be \"epoch\" for the plateau schedule (it reads the epoch's metric)");

  KNOB_CHECK(c.batch.size >= 1, "batch.size", c.batch.size, "must be >= 1");
  KNOB_CHECK(c.batch.grow_factor >= 1, "batch.grow_factor", c.batch.grow_factor, "must be >= 1");
  KNOB_CHECK(c.batch.base >= 1, "batch.base", c.batch.base, "must be >= 1");
  KNOB_CHECK(c.batch.max_size >= 0, "batch.max_size", c.batch.max_size, "must be >= 0 (0: none)");

  KNOB_CHECK(c.train.epochs >= 1, "train.epochs", c.train.epochs, "must be >= 1");
  // libtorch starts a pool of this many threads per trial; past a few hundred it only
  // contends, and huge values hang in thread creation.
  KNOB_CHECK(c.train.threads >= 1 && c.train.threads <= kMaxTrainThreads, "train.threads",
             c.train.threads, "must be >= 1 and <= " + std::to_string(kMaxTrainThreads));
  KNOB_CHECK(c.train.max_seconds >= 0, "train.max_seconds", c.train.max_seconds,
             "must be >= 0 (0: no budget)");
  const Task task = task_of(c.train.loss);
  const std::vector<std::string> metrics = epoch_metric_names(task);
  auto check_metric = [&](const std::string& key, const std::string& value) {
    if (value.empty()) return;
    for (const auto& m : metrics) {
      if (m == value) return;
    }
    std::string list;
    for (const auto& m : metrics) list += (list.empty() ? "" : ", ") + m;
    throw_invalid(key, value, "must be a metric of train.loss = \"" + c.train.loss + "\": " + list);
  };
  check_metric("train.objective", c.train.objective);
  check_metric("train.monitor", c.train.monitor);
  KNOB_CHECK(c.train.device == "cpu" || c.train.device == "cuda" ||
                 (c.train.device.starts_with("cuda:") && c.train.device.size() > 5 &&
                  c.train.device.size() <= 8 &&
                  c.train.device.find_first_not_of("0123456789", 5) == std::string::npos),
             "train.device", c.train.device, "must be cpu, cuda or cuda:N (N a device number)");
  KNOB_CHECK(c.train.patience >= 0, "train.patience", c.train.patience, "must be >= 0 (0: off)");
  KNOB_CHECK(c.train.min_delta >= 0, "train.min_delta", c.train.min_delta, "must be >= 0");
  KNOB_CHECK(c.train.start_from_epoch >= 0, "train.start_from_epoch", c.train.start_from_epoch,
             "must be >= 0");
  KNOB_CHECK(c.train.divergence_factor == 0 || c.train.divergence_factor > 1,
             "train.divergence_factor", c.train.divergence_factor, "must be 0 (off) or > 1");

  const auto& f = c.lr_find;
  KNOB_CHECK(std::isfinite(f.start) && f.start > 0, "lr_find.start", f.start,
             "must be a number > 0");
  KNOB_CHECK(std::isfinite(f.end) && f.end > f.start, "lr_find.end", f.end,
             "must be a number > lr_find.start (" + detail::format_value(f.start) + ")");
  KNOB_CHECK(
      f.steps >= 10 && f.steps <= kMaxLrFindSteps, "lr_find.steps", f.steps,
      "must be >= 10 (the suggestions leave out the first tenth and the last 5 points) and <= " +
          std::to_string(kMaxLrFindSteps) +
          " (a training batch each; the curve is smoothed, more points add nothing)");
  check_one_of("lr_find.mode", f.mode, {"exp", "linear"});
  KNOB_CHECK(f.beta >= 0 && f.beta < 1, "lr_find.beta", f.beta, "must be in [0, 1)");
  KNOB_CHECK(f.diverge > 1, "lr_find.diverge", f.diverge, "must be > 1");
  check_one_of("lr_find.suggestion", f.suggestion, {"valley", "steepest", "minimum"});
  KNOB_CHECK(std::isfinite(f.factor) && f.factor > 0 && f.factor <= kMaxLrFindFactor,
             "lr_find.factor", f.factor,
             "must be a number in (0, " + detail::format_value(kMaxLrFindFactor) + "]");

  const auto& bf = c.batch_find;
  KNOB_CHECK(bf.start >= 1, "batch_find.start", bf.start, "must be >= 1");
  KNOB_CHECK(bf.max_size >= 0, "batch_find.max_size", bf.max_size,
             "must be >= 0 (0: the training-set size, at most 65536)");
  KNOB_CHECK(bf.max_size == 0 || bf.start <= bf.max_size, "batch_find.start", bf.start,
             "must be at most batch_find.max_size (" + std::to_string(bf.max_size) + ")");
  if (bf.memory_budget) {
    KNOB_CHECK(std::isfinite(*bf.memory_budget) && *bf.memory_budget > 0,
               "batch_find.memory_budget", *bf.memory_budget,
               "must be a number of MiB > 0 (leave it out for 50% of MemAvailable)");
  }
  KNOB_CHECK(bf.steps >= 1, "batch_find.steps", bf.steps, "must be >= 1");
  KNOB_CHECK(bf.noise_batches >= 1, "batch_find.noise_batches", bf.noise_batches, "must be >= 1");
  KNOB_CHECK(bf.noise_warmup >= 0, "batch_find.noise_warmup", bf.noise_warmup, "must be >= 0");

  KNOB_CHECK(c.checkpoint.every >= 1, "checkpoint.every", c.checkpoint.every, "must be >= 1");
  KNOB_CHECK(!c.checkpoint.resume || !c.checkpoint.path.empty(), "checkpoint.resume",
             c.checkpoint.resume, "needs checkpoint.path (the file to resume from)");
}

void check_config_value(const TrainConfig& base, const std::string& key, const ParamValue& value) {
  TrainConfig copy = base;
  set_config_value(copy, key, value);
  try {
    validate(copy);
  } catch (const InvalidArgument& e) {
    if (std::string_view(e.what()).starts_with(key + " = ")) throw;
  }
}

}  // namespace knob
