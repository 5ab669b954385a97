// Fuzzes the dashboard's GET handling (handle_dashboard_get): the path and the URL-decoded
// query parameters, as the server hands them over, against a small in-memory study (COMPLETE,
// PRUNED, FAIL and RUNNING trials, a user attribute). The input is the path on its first line,
// then one KEY=VALUE per line; the first byte chooses the cache the server keeps, or a storage
// read for the one request. Every answer must be 200, 400 or 404, a JSON answer must be JSON,
// and that JSON inlined in HTML (json_for_html) must hold no '<', '>' or '&'.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <sstream>

#include "fuzz_support.h"
#include "knob/report/dashboard_api.h"
#include "knob/report/dashboard_cache.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/tuner/study.h"

namespace {

std::shared_ptr<knob::Storage> make_storage() {
  using namespace knob;
  auto storage = std::make_shared<InMemoryStorage>();
  Study study = create_study(StudyOptions().storage_instance(storage).study_name("mlp"));
  auto ask = [&] {
    Trial t = study.ask();
    t.suggest_float("lr", 1e-4, 1e-1, {.log = true});
    t.suggest_int("width", 8, 64);
    t.suggest_categorical<std::string>("opt", {"sgd", "adam"});
    return t;
  };
  for (int i = 0; i < 4; ++i) {
    Trial t = ask();
    t.report(1.0 / (i + 1), 0);
    t.set_user_attr("note", "<b>" + std::to_string(i) + "</b>");
    study.tell(t, TrialState::kComplete, {static_cast<double>(i)});
  }
  Trial pruned = ask();
  pruned.report(9.0, 0);
  study.tell(pruned, TrialState::kPruned);
  Trial failed = ask();
  study.tell(failed, TrialState::kFail, {}, "boom");
  ask();  // left RUNNING
  return storage;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knob;
  static std::shared_ptr<Storage> storage = make_storage();
  static DashboardCache cache(storage);
  if (size == 0) return 0;
  const bool cached = data[0] & 1;
  std::istringstream lines(fuzz::text(data + 1, size - 1));
  std::string path;
  std::getline(lines, path);
  std::multimap<std::string, std::string> query;
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      query.emplace(line, "");
    } else {
      query.emplace(line.substr(0, eq), line.substr(eq + 1));
    }
  }
  const HttpResponse r = cached ? handle_dashboard_get(cache, path, query)
                                : handle_dashboard_get(*storage, path, query);
  fuzz::fuzz_check(r.status == 200 || r.status == 400 || r.status == 404,
                   "an answer other than 200, 400 or 404 from an in-memory study");
  if (r.content_type == "application/json") {
    fuzz::fuzz_check(Json::accept(r.body), "a JSON answer that is not JSON");
    // The report inlines the same JSON in a <script> element: no markup may survive.
    const std::string html = json_for_html(loads(r.body));
    fuzz::fuzz_check(html.find_first_of("<>&") == std::string::npos, "markup in json_for_html");
  }
  return 0;
}
