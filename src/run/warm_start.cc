#include "knob/run/warm_start.h"

#include <filesystem>

#include "knob/core/error.h"
#include "knob/run/trial_file.h"
#include "knob/storage/open_storage.h"

namespace knob::run {
namespace {

Json parse_object(const std::string& json, const std::string& field, const std::string& example) {
  const Json root = loads(json, field);
  KNOB_CHECK(root.is_object(), field, json, "must be a JSON object such as " + example);
  return root;
}

// Rethrows NotFound naming `field` and the studies the storage holds.
int64_t study_id_named(Storage& storage, const std::string& name, const std::string& field,
                       const std::string& url) {
  try {
    return storage.study_id_from_name(name);
  } catch (const NotFound&) {
    std::string names;
    for (const auto& s : storage.all_studies()) names += (names.empty() ? "" : ", ") + s.study_name;
    throw NotFound(detail::invalid_message(
        field, name,
        "no such study" + (url.empty() ? std::string() : " in " + url) + "; " +
            (names.empty() ? std::string("it holds no studies") : "it holds: " + names)));
  }
}

}  // namespace

std::vector<std::pair<std::string, Distribution>> parse_search_space_json(
    const std::string& json, const std::string& field) {
  const Json root = parse_object(
      json, field,
      R"({"lr": {"name": "FloatDistribution", "attributes": {"low": 0.0001, "high": 0.1, "log": true}}})");
  std::vector<std::pair<std::string, Distribution>> space;
  for (const auto& [name, d] : root.items()) {
    space.emplace_back(name, json_to_distribution(dumps(d), field + "." + name));
  }
  return space;
}

std::map<std::string, ParamValue> parse_params_json(const std::string& json,
                                                    const std::string& field) {
  const Json root = parse_object(json, field, R"({"lr": 0.001, "batch_size": 32})");
  std::map<std::string, ParamValue> params;
  for (const auto& [name, value] : root.items()) {
    params[name] = param_value_from_json(value, field + "." + name);
  }
  KNOB_CHECK(!params.empty(), field, json, "must name at least one parameter");
  return params;
}

void check_sqlite_file_exists(const std::string& url, const std::string& field) {
  const std::string prefix = "sqlite:///";
  if (url.rfind(prefix, 0) != 0 || url.size() == prefix.size()) return;  // open_storage checks
  const std::string path = url.substr(prefix.size());
  KNOB_CHECK(std::filesystem::exists(path), field, url,
             "no such file: " + path + " (the study must exist; this creates no database)");
}

Study open_named_study(std::shared_ptr<Storage> storage, const std::string& name,
                       const std::string& field, std::shared_ptr<Sampler> sampler) {
  const int64_t id = study_id_named(*storage, name, field, "");
  return Study(storage, id, std::move(sampler), nullptr);
}

CopyStudyResult copy(const CopyOptions& o) {
  const std::string to_storage = o.to_storage().empty() ? o.from_storage() : o.to_storage();
  const std::string to_study = o.to_study().empty() ? o.from_study() : o.to_study();
  KNOB_CHECK(to_storage != o.from_storage() || to_study != o.from_study(), "--to-study", to_study,
             "must differ from --from-study when both are in the same storage");
  check_sqlite_file_exists(o.from_storage(), "--from-storage");
  std::shared_ptr<Storage> from = open_storage(o.from_storage());
  std::shared_ptr<Storage> to = to_storage == o.from_storage() ? from : open_storage(to_storage);
  study_id_named(*from, o.from_study(), "--from-study", o.from_storage());
  try {
    to->study_id_from_name(to_study);
    throw_invalid("--to-study", to_study,
                  "a study of this name already exists in " + to_storage +
                      "; copy onto a new name (or `knob study delete` it first)");
  } catch (const NotFound&) {
  }
  return copy_study(*from, o.from_study(), *to, to_study);
}

AddTrialsResult add_trials(const AddTrialsOptions& o) {
  const bool from_file = !o.from().empty();
  KNOB_CHECK(from_file != !o.from_study().empty(), "--from", from_file ? o.from() : std::string(""),
             "give exactly one source: --from FILE.csv|FILE.json, or --from-study NAME (with "
             "--from-storage, default --storage)");
  KNOB_CHECK(!from_file || o.from_storage().empty(), "--from-storage", o.from_storage(),
             "goes with --from-study, not --from FILE");
  KNOB_CHECK(from_file || o.search_space().empty(), "--search-space", o.search_space(),
             "is for a CSV file (--from FILE.csv); a study's trials carry their distributions");
  std::vector<std::pair<std::string, Distribution>> space;
  if (!o.search_space().empty()) space = parse_search_space_json(o.search_space());

  check_sqlite_file_exists(o.storage());
  if (!o.from_storage().empty()) check_sqlite_file_exists(o.from_storage(), "--from-storage");
  std::shared_ptr<Storage> storage = open_storage(o.storage());
  Study study = open_named_study(storage, o.study_name());
  std::map<std::string, Distribution> known = trial_distributions(study.trials());
  for (const auto& [name, d] : space) known.insert_or_assign(name, d);

  std::vector<TrialFileRow> rows;
  if (from_file) {
    rows = read_trial_file(o.from(), study.directions().size(), known);
  } else {
    const std::string url = o.from_storage().empty() ? o.storage() : o.from_storage();
    std::shared_ptr<Storage> source = url == o.storage() ? storage : open_storage(url);
    const int64_t id = study_id_named(*source, o.from_study(), "--from-study", url);
    for (auto& t : source->trials(id)) {
      std::string where = "--from-study " + o.from_study() + " trial " + std::to_string(t.number);
      rows.push_back({std::move(t), std::move(where)});
    }
  }
  AddTrialsResult result;
  std::vector<FrozenTrial> trials;
  std::map<std::string, Distribution> seen = trial_distributions(study.trials());
  for (auto& row : rows) {
    if (!is_finished(row.trial.state)) {
      ++result.n_unfinished_skipped;
      continue;
    }
    check_trial_to_add(row.trial, study.directions(), seen, row.where);
    for (const auto& [name, d] : row.trial.distributions) seen.insert_or_assign(name, d);
    trials.push_back(std::move(row.trial));
  }
  study.add_trials(trials);
  result.n_added = static_cast<int64_t>(trials.size());
  return result;
}

bool enqueue(const EnqueueOptions& o) {
  const auto params = parse_params_json(o.params());
  std::map<std::string, Json> user_attrs;
  if (!o.user_attrs().empty()) {
    for (const auto& [k, v] :
         parse_object(o.user_attrs(), "--user-attrs", R"({"source": "paper"})").items()) {
      user_attrs[k] = v;
    }
  }
  check_sqlite_file_exists(o.storage());
  Study study = open_named_study(open_storage(o.storage()), o.study_name());
  const auto known = trial_distributions(study.trials());
  for (const auto& [name, value] : params) {
    if (auto d = known.find(name); d != known.end())
      to_internal(d->second, value, "--params." + name);
  }
  return study.enqueue_trial(params, user_attrs, o.skip_if_exists());
}

size_t enqueue_config_trials(Study& study, const StudyConfig& config) {
  if (config.enqueue.empty()) return 0;
  return study.enqueue_trials_once(kConfigEnqueuedKey, config.enqueue) ? config.enqueue.size() : 0;
}

}  // namespace knob::run
