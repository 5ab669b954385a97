#include "knob/run/finder_runs.h"

#include <cmath>

#include "knob/core/error.h"

namespace knob {
namespace {

// A number, or null when it is not finite (JSON has no NaN or infinity).
Json finite(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json finite_array(const std::vector<double>& values) {
  Json out = Json::array();
  for (double v : values) out.push_back(finite(v));
  return out;
}

}  // namespace

Json lr_find_record(const LrFindResult& r, const LrFindConfig& s) {
  Json suggestions = Json::array();
  for (const LrSuggestion& g : r.suggestions) {
    suggestions.push_back({{"name", g.name}, {"lr", g.lr}, {"index", g.index}});
  }
  return {{"kind", "lr_find"},
          {"settings",
           {{"start", s.start},
            {"end", s.end},
            {"steps", s.steps},
            {"mode", s.mode},
            {"beta", s.beta},
            {"diverge", s.diverge},
            {"suggestion", s.suggestion}}},
          {"lr", finite_array(r.lrs)},
          {"loss", finite_array(r.losses)},
          {"smoothed", finite_array(r.smoothed)},
          {"suggestions", std::move(suggestions)},
          {"chosen", r.chosen},
          {"suggested_lr", r.chosen.empty() ? Json(nullptr) : Json(r.lr)},
          {"stop_reason", r.stop_reason},
          {"batch_size", r.batch_size},
          {"seconds", r.seconds}};
}

Json batch_find_record(const BatchFindResult& r, const BatchFindConfig& s) {
  Json trials = Json::array();
  for (const BatchTrial& t : r.trials) {
    trials.push_back(
        {{"size", t.size},
         {"fits", t.fits},
         {"peak_mib", finite(t.peak_mib)},
         {"samples_per_second", t.fits ? finite(t.samples_per_second) : Json(nullptr)}});
  }
  return {{"kind", "batch_find"},
          {"settings",
           {{"start", s.start},
            {"max_size", s.max_size},
            {"memory_budget", s.memory_budget ? Json(*s.memory_budget) : Json(nullptr)},
            {"steps", s.steps},
            {"noise_batches", s.noise_batches},
            {"noise_warmup", s.noise_warmup}}},
          {"trials", std::move(trials)},
          {"cap", r.cap},
          {"budget_mib", finite(r.budget_mib)},
          {"budget_source", r.budget_source},
          {"largest_fitting", r.largest_fitting},
          {"b_simple", r.noise.batches > 0 ? finite(r.noise.b_simple) : Json(nullptr)},
          {"noise_note", r.noise_note},
          {"recommended", r.recommended},
          {"rule", r.rule},
          {"base", r.base},
          {"base_lr", r.base_lr},
          {"lr", r.lr},
          {"seconds", r.seconds}};
}

std::string record_finder_run(Storage& storage, const std::string& study_name,
                              const std::string& kind, const Json& record) {
  KNOB_CHECK(kind == "lr_find" || kind == "batch_find", "kind", kind,
             "must be lr_find or batch_find");
  int64_t id = -1;
  try {
    id = storage.study_id_from_name(study_name);
  } catch (const NotFound&) {
    id = storage.create_study(study_name, {StudyDirection::kMinimize});
  }
  const std::string prefix = "knob:" + kind + ":";
  int64_t n = 0;
  for (const auto& [key, value] : storage.study_user_attrs(id)) {
    if (key.rfind(prefix, 0) == 0) ++n;
  }
  const std::string key = prefix + std::to_string(n);
  storage.set_study_user_attr(id, key, record);
  return key;
}

}  // namespace knob
