#include "knob/train/config.h"

#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "knob/core/error.h"
#include "knob/core/text_file.h"

namespace knob {
namespace {

// A pointer to one field of a TrainConfig, whatever its type.
using FieldRef = std::variant<bool*, int64_t*, double*, std::string*, std::vector<int64_t>*,
                              std::vector<std::string>*, std::optional<double>*, uint64_t*>;

struct Field {
  std::string key;
  std::function<FieldRef(TrainConfig&)> ref;
};

#define KNOB_FIELD(section, name)                                                   \
  Field {                                                                           \
#section "." #name, [](TrainConfig & c) -> FieldRef { return &c.section.name; } \
  }

const std::vector<Field>& registry() {
  static const std::vector<Field> kFields = {
      KNOB_FIELD(data, source),
      KNOB_FIELD(data, dir),
      KNOB_FIELD(data, train_images),
      KNOB_FIELD(data, train_labels),
      KNOB_FIELD(data, test_images),
      KNOB_FIELD(data, test_labels),
      KNOB_FIELD(data, train_csv),
      KNOB_FIELD(data, test_csv),
      KNOB_FIELD(data, label_column),
      KNOB_FIELD(data, validation),
      KNOB_FIELD(data, split),
      KNOB_FIELD(data, normalize),
      KNOB_FIELD(data, limit),
      KNOB_FIELD(model, kind),
      KNOB_FIELD(model, hidden),
      KNOB_FIELD(model, channels),
      KNOB_FIELD(model, dropout),
      KNOB_FIELD(optimizer, kind),
      KNOB_FIELD(optimizer, lr),
      KNOB_FIELD(optimizer, momentum),
      KNOB_FIELD(optimizer, nesterov),
      KNOB_FIELD(optimizer, weight_decay),
      KNOB_FIELD(optimizer, l1),
      KNOB_FIELD(optimizer, beta1),
      KNOB_FIELD(optimizer, beta2),
      KNOB_FIELD(optimizer, eps),
      KNOB_FIELD(optimizer, alpha),
      KNOB_FIELD(schedule, kind),
      KNOB_FIELD(schedule, per),
      KNOB_FIELD(schedule, warmup),
      KNOB_FIELD(schedule, warmup_start_factor),
      KNOB_FIELD(schedule, gamma),
      KNOB_FIELD(schedule, step_size),
      KNOB_FIELD(schedule, milestones),
      KNOB_FIELD(schedule, alpha),
      KNOB_FIELD(schedule, power),
      KNOB_FIELD(schedule, t_max),
      KNOB_FIELD(schedule, eta_min),
      KNOB_FIELD(schedule, t_0),
      KNOB_FIELD(schedule, t_mult),
      KNOB_FIELD(schedule, max_lr),
      KNOB_FIELD(schedule, step_size_up),
      KNOB_FIELD(schedule, mode),
      KNOB_FIELD(schedule, pct_start),
      KNOB_FIELD(schedule, factor),
      KNOB_FIELD(schedule, patience),
      KNOB_FIELD(schedule, threshold),
      KNOB_FIELD(schedule, min_lr),
      KNOB_FIELD(schedule, phases),
      KNOB_FIELD(schedule, switch_at),
      KNOB_FIELD(batch, size),
      KNOB_FIELD(batch, grow_at),
      KNOB_FIELD(batch, grow_factor),
      KNOB_FIELD(batch, max_size),
      KNOB_FIELD(batch, scale_lr),
      KNOB_FIELD(batch, base),
      KNOB_FIELD(train, epochs),
      KNOB_FIELD(train, seed),
      KNOB_FIELD(train, threads),
      KNOB_FIELD(train, max_seconds),
      KNOB_FIELD(train, monitor),
      KNOB_FIELD(train, patience),
      KNOB_FIELD(train, min_delta),
      KNOB_FIELD(train, baseline),
      KNOB_FIELD(train, start_from_epoch),
      KNOB_FIELD(train, restore_best),
      KNOB_FIELD(train, divergence_factor),
      KNOB_FIELD(output, metrics),
      KNOB_FIELD(output, progress),
      KNOB_FIELD(output, test),
      KNOB_FIELD(checkpoint, path),
      KNOB_FIELD(checkpoint, every),
      KNOB_FIELD(checkpoint, resume),
      KNOB_FIELD(lr_find, start),
      KNOB_FIELD(lr_find, end),
      KNOB_FIELD(lr_find, steps),
      KNOB_FIELD(lr_find, mode),
      KNOB_FIELD(lr_find, beta),
      KNOB_FIELD(lr_find, diverge),
      KNOB_FIELD(lr_find, suggestion),
      KNOB_FIELD(lr_find, use),
      KNOB_FIELD(batch_find, start),
      KNOB_FIELD(batch_find, max_size),
      KNOB_FIELD(batch_find, memory_budget),
      KNOB_FIELD(batch_find, steps),
      KNOB_FIELD(batch_find, noise_batches),
      KNOB_FIELD(batch_find, noise_warmup),
      KNOB_FIELD(batch_find, use),
  };
  return kFields;
}

#undef KNOB_FIELD

// Keys that also take the word "find": a finder then chooses the value before training.
struct FindableKey {
  std::string key;
  std::string allowed;  // what else the key takes, for messages
  bool& (*use)(TrainConfig&);
};

const std::vector<FindableKey>& findable_keys() {
  static const std::vector<FindableKey> kKeys = {
      {"optimizer.lr", "must be a number > 0",
       [](TrainConfig& c) -> bool& { return c.lr_find.use; }},
      {"batch.size", "must be an integer >= 1",
       [](TrainConfig& c) -> bool& { return c.batch_find.use; }},
  };
  return kKeys;
}

const std::set<std::string>& sections() {
  static const std::set<std::string> kSections = {"data",    "model",     "optimizer", "schedule",
                                                  "batch",   "train",     "output",    "checkpoint",
                                                  "lr_find", "batch_find"};
  return kSections;
}

std::string value_text(const ConfigValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return "\"" + v + "\"";
        } else {
          return dumps(Json(v));
        }
      },
      value);
}

const Field& find_field(const std::string& key) {
  for (const auto& f : registry()) {
    if (f.key == key) return f;
  }
  std::string section = key.substr(0, key.find('.'));
  std::string known;
  for (const auto& f : registry()) {
    if (f.key.rfind(section + ".", 0) == 0) known += (known.empty() ? "" : ", ") + f.key;
  }
  if (known.empty()) {
    for (const auto& s : sections()) known += (known.empty() ? "" : ", ") + s;
    throw_invalid("config key", key, "must be in one of the tables " + known);
  }
  throw_invalid("config key", key, "is unknown; [" + section + "] has " + known);
}

// Exact number conversions only: 4.0 -> 4 is fine, 4.5 -> int is not.
std::optional<double> as_number(const ConfigValue& v) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return std::nullopt;
}

std::optional<int64_t> as_integer(const ConfigValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) {
    if (std::isfinite(*d) && *d == std::round(*d) && std::abs(*d) < 9e15) {
      return static_cast<int64_t>(*d);
    }
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const auto& f : registry()) keys.push_back(f.key);
  return keys;
}

void set_config_value(TrainConfig& config, const std::string& key, const ConfigValue& value) {
  for (const auto& findable : findable_keys()) {
    if (key != findable.key) continue;
    bool& use = findable.use(config);
    if (const auto* s = std::get_if<std::string>(&value)) {
      if (*s != "find") throw_invalid(key, *s, findable.allowed + " or \"find\"");
      use = true;  // the finder chooses the value before training
      return;
    }
    use = false;
  }
  const Field& field = find_field(key);
  std::visit(
      [&](auto* target) {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, bool>) {
          const bool* b = std::get_if<bool>(&value);
          if (!b) throw_invalid(key, value_text(value), "must be true or false");
          *target = *b;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          auto i = as_integer(value);
          if (!i) throw_invalid(key, value_text(value), "must be an integer");
          *target = *i;
        } else if constexpr (std::is_same_v<T, uint64_t>) {
          auto i = as_integer(value);
          if (!i || *i < 0) throw_invalid(key, value_text(value), "must be an integer >= 0");
          *target = static_cast<uint64_t>(*i);
        } else if constexpr (std::is_same_v<T, double> ||
                             std::is_same_v<T, std::optional<double>>) {
          auto d = as_number(value);
          if (!d) throw_invalid(key, value_text(value), "must be a number");
          *target = *d;
        } else if constexpr (std::is_same_v<T, std::string>) {
          const auto* s = std::get_if<std::string>(&value);
          if (!s) throw_invalid(key, value_text(value), "must be a string");
          *target = *s;
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          if (const auto* list = std::get_if<std::vector<int64_t>>(&value)) {
            *target = *list;
          } else if (auto i = as_integer(value)) {
            *target = {*i};  // a single number for a list: a list of one
          } else {
            throw_invalid(key, value_text(value), "must be a list of integers");
          }
        } else {
          if (const auto* list = std::get_if<std::vector<std::string>>(&value)) {
            *target = *list;
          } else if (const auto* s = std::get_if<std::string>(&value)) {
            *target = {*s};  // a single string for a list: a list of one
          } else if (const auto* ints = std::get_if<std::vector<int64_t>>(&value);
                     ints && ints->empty()) {
            target->clear();  // [] parses as an empty list of integers
          } else {
            throw_invalid(key, value_text(value), "must be a list of strings");
          }
        }
      },
      field.ref(config));
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
  const Field& field = find_field(key);
  TrainConfig& mutable_config = const_cast<TrainConfig&>(config);  // read only below
  return std::visit(
      [](auto* target) -> ConfigValue {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, std::optional<double>>) {
          return target->value_or(NAN);
        } else if constexpr (std::is_same_v<T, uint64_t>) {
          return static_cast<int64_t>(*target);
        } else {
          return *target;
        }
      },
      field.ref(mutable_config));
}

namespace {

ConfigValue from_toml(const toml::node& node, const std::string& key) {
  if (auto v = node.as_boolean()) return v->get();
  if (auto v = node.as_integer()) return v->get();
  if (auto v = node.as_floating_point()) return v->get();
  if (auto v = node.as_string()) return v->get();
  if (auto array = node.as_array()) {
    if (!array->empty() && array->front().is_string()) {
      std::vector<std::string> out;
      for (const auto& item : *array) {
        auto s = item.as_string();
        if (!s) throw_invalid(key, std::string("[...]"), "must be a list of strings");
        out.push_back(s->get());
      }
      return out;
    }
    std::vector<int64_t> out;
    for (const auto& item : *array) {
      auto i = item.as_integer();
      if (!i) throw_invalid(key, std::string("[...]"), "must be a list of integers or of strings");
      out.push_back(i->get());
    }
    return out;
  }
  throw_invalid(key, std::string("(a table)"), "must be a value, not a table");
}

}  // namespace

void apply_override(TrainConfig& config, const std::string& assignment) {
  auto eq = assignment.find('=');
  KNOB_CHECK(eq != std::string::npos && eq > 0, "--set", assignment,
             "must look like table.key=value (e.g. optimizer.lr=0.01)");
  std::string key = assignment.substr(0, eq);
  std::string text = assignment.substr(eq + 1);
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + text);
  } catch (const toml::parse_error&) {
    set_config_value(config, key, ConfigValue(text));  // bare words are strings: kind=adam
    return;
  }
  set_config_value(config, key, from_toml(*parsed.get("v"), key));
}

TrainConfig parse_train_config(const std::string& toml_text, const std::string& origin) {
  toml::table parsed;
  try {
    parsed = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& error) {
    throw InvalidArgument(origin + ":" + std::to_string(error.source().begin.line) + ":" +
                          std::to_string(error.source().begin.column) +
                          ": not valid TOML: " + std::string(error.description()));
  }
  TrainConfig config;
  for (const auto& [table_name, node] : parsed) {
    const std::string table(table_name.str());
    if (!sections().count(table)) continue;  // [study], [search], ... belong to others
    const toml::table* table_node = node.as_table();
    if (!table_node) {
      throw InvalidArgument(origin + ": '" + table + "' must be a table ([" + table + "])");
    }
    for (const auto& [key_name, value] : *table_node) {
      const std::string key = table + "." + std::string(key_name.str());
      try {
        set_config_value(config, key, from_toml(value, key));
      } catch (const InvalidArgument& e) {
        throw InvalidArgument(std::string(e.what()) + " (in [" + table + "] of " + origin + ")");
      }
    }
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

void validate(const TrainConfig& c) {
  check_one_of("data.source", c.data.source, {"fashion-mnist", "idx", "csv"});
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

  check_one_of("model.kind", c.model.kind, {"mlp", "cnn"});
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
  kinds.insert(kinds.end(), {"plateau", "sequential"});
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
  KNOB_CHECK(c.train.threads >= 1, "train.threads", c.train.threads, "must be >= 1");
  KNOB_CHECK(c.train.max_seconds >= 0, "train.max_seconds", c.train.max_seconds,
             "must be >= 0 (0: no budget)");
  check_one_of("train.monitor", c.train.monitor, {"val_accuracy", "val_loss", "train_loss"});
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
  KNOB_CHECK(f.steps >= 10, "lr_find.steps", f.steps,
             "must be >= 10 (the suggestions leave out the first tenth and the last 5 points)");
  check_one_of("lr_find.mode", f.mode, {"exp", "linear"});
  KNOB_CHECK(f.beta >= 0 && f.beta < 1, "lr_find.beta", f.beta, "must be in [0, 1)");
  KNOB_CHECK(f.diverge > 1, "lr_find.diverge", f.diverge, "must be > 1");
  check_one_of("lr_find.suggestion", f.suggestion, {"valley", "steepest", "minimum"});

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

}  // namespace knob
