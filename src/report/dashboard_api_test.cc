// The dashboard's JSON API and routing on real SQLite studies made through knob's Study API
// (ask-and-tell, so every value is the test's own), the report's inlined data, and the
// server itself on a loopback port: malformed requests, path traversal and markup in names.
#include "knob/report/dashboard_api.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <set>
#include <stdexcept>

#include "knob/core/error.h"
#include "knob/report/dashboard.h"
#include "knob/report/html_report.h"
#include "knob/storage/in_memory_storage.h"
#include "knob/storage/open_storage.h"
#include "knob/tuner/samplers/random_sampler.h"
#include "knob/tuner/study.h"
#include "testing/test_support.h"

namespace knob {
namespace {

using testing::TempDir;

const std::string kXss = "<script>alert(1)</script>";
const std::string kXssParam = "<b>p</b>";
const std::string kXssChoice = "<img src=x onerror=alert(1)>";

// Study "mlp" (minimize): 0 COMPLETE 5, 1 COMPLETE 3 (steps 0, 1), 2 PRUNED at step 0,
// 3 FAIL "boom", 4 COMPLETE 4, 5 RUNNING.
class DashboardApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = open_storage(dir_.url("dash.db"));
    Study study = create_study(StudyOptions().storage_instance(storage_).study_name("mlp"));
    auto ask = [&] {
      Trial t = study.ask();
      t.suggest_float("lr", 1e-4, 1e-1, {.log = true});
      t.suggest_int("width", 8, 64);
      return t;
    };
    Trial t0 = ask();
    study.tell(t0, TrialState::kComplete, {5.0});
    Trial t1 = ask();
    t1.report(4.0, 0);
    t1.report(3.0, 1);
    study.tell(t1, TrialState::kComplete, {3.0});
    Trial t2 = ask();
    t2.report(9.0, 0);
    study.tell(t2, TrialState::kPruned);
    Trial t3 = ask();
    study.tell(t3, TrialState::kFail, {}, "boom");
    Trial t4 = ask();
    t4.set_user_attr("note", "fourth");
    study.tell(t4, TrialState::kComplete, {4.0});
    ask();  // left RUNNING
  }

  Json get_json(const std::string& path, const std::multimap<std::string, std::string>& query,
                int expected_status = 200) {
    HttpResponse r = handle_dashboard_get(*storage_, path, query);
    EXPECT_EQ(r.status, expected_status) << path << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return Json::parse(r.body);
  }

  TempDir dir_;
  std::shared_ptr<Storage> storage_;
};

TEST_F(DashboardApiTest, StudiesListCountsTrialsByStateWithTheBestValue) {
  Json studies = get_json("/api/studies", {});
  ASSERT_EQ(studies.size(), 1u);
  const Json& s = studies[0];
  EXPECT_EQ(s["name"], "mlp");
  EXPECT_EQ(s["directions"], Json::array({"MINIMIZE"}));
  EXPECT_EQ(s["n_trials"], 6);
  EXPECT_EQ(s["counts"],
            Json({{"RUNNING", 1}, {"WAITING", 0}, {"COMPLETE", 3}, {"PRUNED", 1}, {"FAIL", 1}}));
  EXPECT_EQ(s["best"]["number"], 1);
  EXPECT_EQ(s["best"]["values"], Json::array({3.0}));
  ASSERT_TRUE(s["last_update"].is_string());
  EXPECT_TRUE(parse_datetime(s["last_update"].get<std::string>()).has_value());
}

TEST_F(DashboardApiTest, StudyHasHistoryParamsCurvesAndFailReasons) {
  Json s = get_json("/api/study", {{"name", "mlp"}});
  ASSERT_EQ(s["trials"].size(), 6u);
  std::vector<std::string> states;
  for (const Json& t : s["trials"]) states.push_back(t["state"]);
  EXPECT_EQ(states, (std::vector<std::string>{"COMPLETE", "COMPLETE", "PRUNED", "FAIL", "COMPLETE",
                                              "RUNNING"}));
  EXPECT_EQ(s["trials"][0]["values"], Json::array({5.0}));
  EXPECT_EQ(s["trials"][4]["values"], Json::array({4.0}));
  EXPECT_EQ(s["trials"][1]["intermediate_values"], Json({{"0", 4.0}, {"1", 3.0}}));
  EXPECT_EQ(s["trials"][3]["fail_reason"], "boom");
  EXPECT_TRUE(s["trials"][0]["fail_reason"].is_null());
  EXPECT_FALSE(s["trials"][0].contains("system_attrs"));
  // Each parameter's distribution is sent once, in "params", not with every trial; the HTML
  // report (trial_distributions) keeps them per trial for its trial view.
  EXPECT_FALSE(s["trials"][0].contains("distributions"));
  Json with = study_json(*storage_, "mlp", {}, 0, /*trial_distributions=*/true);
  EXPECT_EQ(with["trials"][0]["distributions"]["lr"], s["params"][0]["distribution"]);
  for (Json& t : with["trials"]) t.erase("distributions");
  EXPECT_EQ(with["trials"], s["trials"]);
  EXPECT_EQ(s["best_trials"], Json::array({1}));
  ASSERT_EQ(s["params"].size(), 2u);
  EXPECT_EQ(s["params"][0]["name"], "lr");
  EXPECT_EQ(s["params"][0]["distribution"]["name"], "FloatDistribution");
  EXPECT_EQ(s["params"][0]["distribution"]["attributes"]["log"], true);
  EXPECT_EQ(s["params"][1]["name"], "width");
  // Every trial that reached the sampler has both parameters, inside their ranges.
  for (const Json& t : s["trials"]) {
    double lr = t["params"]["lr"];
    EXPECT_TRUE(lr >= 1e-4 && lr <= 1e-1) << lr;
  }

  Json complete = get_json("/api/study", {{"name", "mlp"}, {"states", R"(["COMPLETE"])"}});
  ASSERT_EQ(complete["trials"].size(), 3u);
  EXPECT_EQ(complete["trials"][2]["number"], 4);
  EXPECT_EQ(complete["n_trials"], 6);  // the header still counts every trial
}

// 3 COMPLETE trials: fANOVA importances of both parameters, largest first, summing to 1, the
// same on every request (seeded). Fewer than 2 COMPLETE trials: no importances, a reason.
TEST_F(DashboardApiTest, StudyHasParameterImportanceOrTheReasonItHasNone) {
  Json s = get_json("/api/study", {{"name", "mlp"}});
  const Json& importance = s["importance"];
  EXPECT_EQ(importance["evaluator"], "fanova");
  EXPECT_EQ(importance["n_trials"], 3);
  EXPECT_TRUE(importance["reason"].is_null()) << importance;
  ASSERT_TRUE(importance["params"].is_array()) << importance;
  ASSERT_EQ(importance["params"].size(), 2u);
  std::set<std::string> names;
  double sum = 0;
  for (const Json& p : importance["params"]) {
    names.insert(p["name"].get<std::string>());
    sum += p["importance"].get<double>();
  }
  EXPECT_EQ(names, (std::set<std::string>{"lr", "width"}));
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_GE(importance["params"][0]["importance"], importance["params"][1]["importance"]);
  EXPECT_EQ(get_json("/api/study", {{"name", "mlp"}})["importance"], importance);

  Study one = create_study(StudyOptions().storage_instance(storage_).study_name("one"));
  Trial t = one.ask();
  t.suggest_float("x", 0, 1);
  one.tell(t, TrialState::kComplete, {1.0});
  Json single = get_json("/api/study", {{"name", "one"}})["importance"];
  EXPECT_TRUE(single["params"].is_null());
  testing::expect_contains(single["reason"].get<std::string>(), {"at least 2 COMPLETE"});
}

// A poller that holds trials 0..3 (all finished) asks from 4 on: it gets trials 4 and 5, and
// a header over every trial.
TEST_F(DashboardApiTest, StudyFromANumberSendsOnlyTheTrialsFromIt) {
  Json tail = get_json("/api/study", {{"name", "mlp"}, {"from", "4"}});
  ASSERT_EQ(tail["trials"].size(), 2u);
  EXPECT_EQ(tail["trials"][0]["number"], 4);
  EXPECT_EQ(tail["trials"][1]["state"], "RUNNING");
  EXPECT_EQ(tail["n_trials"], 6);
  EXPECT_EQ(tail["counts"]["COMPLETE"], 3);
  EXPECT_EQ(tail["best_trials"], Json::array({1}));  // trial 1, before `from`
  EXPECT_EQ(tail["params"].size(), 2u);

  EXPECT_EQ(get_json("/api/study", {{"name", "mlp"}, {"from", "0"}})["trials"].size(), 6u);
  EXPECT_EQ(get_json("/api/study", {{"name", "mlp"}, {"from", "6"}})["trials"], Json::array());
  Json complete =
      get_json("/api/study", {{"name", "mlp"}, {"from", "1"}, {"states", R"(["COMPLETE"])"}});
  ASSERT_EQ(complete["trials"].size(), 2u);
  EXPECT_EQ(complete["trials"][0]["number"], 1);
  EXPECT_EQ(complete["trials"][1]["number"], 4);
}

TEST_F(DashboardApiTest, TrialHasItsReasonValuesAndUserAttrs) {
  Json failed = get_json("/api/trial", {{"study", "mlp"}, {"number", "3"}});
  EXPECT_EQ(failed["study"], "mlp");
  EXPECT_EQ(failed["state"], "FAIL");
  EXPECT_EQ(failed["fail_reason"], "boom");
  EXPECT_TRUE(failed["values"].is_null());
  Json done = get_json("/api/trial", {{"study", "mlp"}, {"number", "4"}});
  EXPECT_EQ(done["user_attrs"], Json({{"note", "fourth"}}));
  EXPECT_EQ(done["values"], Json::array({4.0}));
  EXPECT_TRUE(done["params"].contains("width"));
}

TEST_F(DashboardApiTest, MalformedRequestsGet4xxNamingTheProblem) {
  struct Case {
    std::string path;
    std::multimap<std::string, std::string> query;
    int status;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {"/api/study", {}, 400, "name"},
      {"/api/study", {{"name", "nope"}}, 404, "nope"},
      {"/api/study", {{"name", "mlp"}, {"name", "mlp"}}, 400, "once"},
      {"/api/study", {{"name", "mlp"}, {"states", "COMPLETE"}}, 400, "states"},
      {"/api/study", {{"name", "mlp"}, {"states", "[\"DONE\"]"}}, 400, "DONE"},
      {"/api/study", {{"name", "mlp"}, {"states", "[1]"}}, 400, "strings"},
      {"/api/study", {{"name", "mlp"}, {"states", "{\"a\": 1}"}}, 400, "array"},
      {"/api/study", {{"name", "mlp"}, {"states", "[\"COMPLETE\""}}, 400, "states"},
      {"/api/study", {{"name", "mlp"}, {"from", "-1"}}, 400, "from"},
      {"/api/study", {{"name", "mlp"}, {"from", "abc"}}, 400, "abc"},
      {"/api/study", {{"name", "mlp"}, {"from", "2.5"}}, 400, "from"},
      {"/api/study", {{"name", "mlp"}, {"from", ""}}, 400, "from"},
      {"/api/study", {{"name", "mlp"}, {"from", "1"}, {"from", "2"}}, 400, "once"},
      {"/api/trial", {{"study", "mlp"}}, 400, "number"},
      {"/api/trial", {{"number", "1"}}, 400, "study"},
      {"/api/trial", {{"study", "mlp"}, {"number", "abc"}}, 400, "abc"},
      {"/api/trial", {{"study", "mlp"}, {"number", "-1"}}, 400, "-1"},
      {"/api/trial", {{"study", "mlp"}, {"number", "1.5"}}, 400, "1.5"},
      {"/api/trial", {{"study", "mlp"}, {"number", " 1"}}, 400, "number"},
      {"/api/trial", {{"study", "mlp"}, {"number", ""}}, 400, "number"},
      {"/api/trial", {{"study", "mlp"}, {"number", "99999999999999999999"}}, 400, "number"},
      {"/api/trial", {{"study", "mlp"}, {"number", "99"}}, 404, "99"},
      {"/api/trial", {{"study", "nope"}, {"number", "0"}}, 404, "nope"},
      {"/api/trials", {}, 404, "/api/trials"},
      {"/api", {}, 404, "no such page"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    HttpResponse r = handle_dashboard_get(*storage_, c.path, c.query);
    EXPECT_EQ(r.status, c.status) << r.body;
    Json body = Json::parse(r.body);
    ASSERT_TRUE(body["error"].is_string()) << r.body;
    testing::expect_contains(body["error"].get<std::string>(), {c.fragment});
  }
}

TEST_F(DashboardApiTest, OnlyEmbeddedAssetsAreServedAndTraversalIs404) {
  for (const std::string path : {"/", "/study", "/trial", "/index.html"}) {
    HttpResponse r = handle_dashboard_get(*storage_, path, {});
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
    testing::expect_contains(r.body, {"<script src=\"/app.js\">"});
  }
  HttpResponse js = handle_dashboard_get(*storage_, "/app.js", {});
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  testing::expect_contains(js.body, {"createElementNS"});
  EXPECT_EQ(js.body.find("innerHTML"), std::string::npos);  // the page never parses data
  EXPECT_EQ(handle_dashboard_get(*storage_, "/style.css", {}).status, 200);

  for (const std::string& path : std::vector<std::string>{
           "/../../etc/passwd", "/..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
           "/etc/passwd", "//etc/passwd", "/app.js/../../../etc/passwd", "/./app.js", "/app.js/",
           "app.js", "/APP.JS", "/app.js%00", std::string("/app.js\0", 8),
           "/src/report/assets/app.js", "/dashboard_assets.cc", "/..", "/.", ""}) {
    HttpResponse r = handle_dashboard_get(*storage_, path, {});
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body.find("root:"), std::string::npos);
  }
}

TEST(DashboardApi, MultiObjectiveStudyListsItsParetoFront) {
  TempDir dir;
  auto storage = open_storage(dir.url("mo.db"));
  Study study = create_study(StudyOptions().storage_instance(storage).study_name("mo").directions(
      {StudyDirection::kMinimize, StudyDirection::kMinimize}));
  const std::vector<std::vector<double>> values = {{1, 4}, {2, 2}, {3, 3}, {4, 1}, {2, 5}};
  for (const auto& v : values) {
    Trial t = study.ask();
    t.suggest_float("x", 0, 1);
    study.tell(t, TrialState::kComplete, v);
  }
  Json s = study_json(*storage, "mo");
  EXPECT_EQ(s["best_trials"], Json::array({0, 1, 3}));
  EXPECT_TRUE(s["best"].is_null());  // no single best value
  EXPECT_TRUE(s["importance"]["params"].is_null());
  testing::expect_contains(s["importance"]["reason"].get<std::string>(), {"multi-objective"});
  EXPECT_EQ(s["counts"]["COMPLETE"], 5);
}

TEST(DashboardApi, InfeasibleTrialsAreOffTheFrontAndOutOfTheHypervolume) {
  TempDir dir;
  auto storage = open_storage(dir.url("c.db"));
  Study study = create_study(StudyOptions().storage_instance(storage).study_name("c").directions(
      {StudyDirection::kMinimize, StudyDirection::kMinimize}));
  const std::vector<std::vector<double>> values = {{1, 4}, {2, 2}, {3, 3}, {4, 1}, {2, 5}};
  for (size_t i = 0; i < values.size(); ++i) {
    Trial t = study.ask();
    t.suggest_float("x", 0, 1);
    // Trial 0 breaks its constraint (> 0); the others keep it.
    storage->set_trial_system_attr(t.trial_id(), "constraints", Json::array({i == 0 ? 1.0 : -1.0}));
    study.tell(t, TrialState::kComplete, values[i]);
  }
  Json s = study_json(*storage, "c");
  EXPECT_EQ(s["best_trials"], Json::array({1, 3}));  // (1, 4) would be on it, but is infeasible
  EXPECT_EQ(s["trials"][0]["constraints"], Json::array({1.0}));
  EXPECT_EQ(s["trials"][0]["feasible"], false);
  EXPECT_EQ(s["trials"][1]["feasible"], true);
  // Reference: 10% of each objective's feasible range beyond its worst, (4.2, 5.4).
  ASSERT_TRUE(s["hypervolume"].is_object()) << dumps(s["hypervolume"]);
  EXPECT_NEAR(s["hypervolume"]["reference"][0].get<double>(), 4.2, 1e-12);
  EXPECT_NEAR(s["hypervolume"]["reference"][1].get<double>(), 5.4, 1e-12);
  const std::vector<double> expected = {0.0, 2.2 * 3.4, 2.2 * 3.4, 2.2 * 3.4 + 0.2,
                                        2.2 * 3.4 + 0.2};
  ASSERT_EQ(s["hypervolume"]["values"].size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(s["hypervolume"]["values"][i]["number"], static_cast<int64_t>(i));
    EXPECT_NEAR(s["hypervolume"]["values"][i]["value"].get<double>(), expected[i], 1e-9) << i;
  }
  // One objective: no hypervolume.
  Study single = create_study(StudyOptions().storage_instance(storage).study_name("one"));
  Trial t = single.ask();
  single.tell(t, TrialState::kComplete, {1.0});
  EXPECT_TRUE(study_json(*storage, "one")["hypervolume"].is_null());
}

// A long study: the importance shown is that of its latest 1,000 COMPLETE trials.
TEST(DashboardApi, TheBestOfAConstrainedStudyIsItsBestFeasibleTrial) {
  // Minimize: 0 is 3 and feasible, 1 is 1 but infeasible, 2 is 2 and feasible: the header's best
  // (study page and studies list) is trial 2, as Study::best_trial and best_trials say.
  TempDir dir;
  auto storage = open_storage(dir.url("c1.db"));
  Study study = create_study(StudyOptions().storage_instance(storage).study_name("c1"));
  const std::vector<double> values = {3, 1, 2};
  for (size_t i = 0; i < values.size(); ++i) {
    Trial t = study.ask();
    t.suggest_float("x", 0, 1);
    storage->set_trial_system_attr(t.trial_id(), "constraints", Json::array({i == 1 ? 0.5 : -1.0}));
    study.tell(t, TrialState::kComplete, std::vector<double>{values[i]});
  }
  EXPECT_EQ(study.best_trial().number, 2);
  Json s = study_json(*storage, "c1");
  EXPECT_EQ(s["best"]["number"], 2) << dumps(s["best"]);
  EXPECT_EQ(s["best"]["values"], Json::array({2.0}));
  EXPECT_EQ(s["best_trials"], Json::array({2}));
  Json listed = studies_json(*storage);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["best"]["number"], 2) << dumps(listed);

  // With no feasible trial there is no best.
  Study none = create_study(StudyOptions().storage_instance(storage).study_name("c2"));
  Trial t = none.ask();
  storage->set_trial_system_attr(t.trial_id(), "constraints", Json::array({1.0}));
  none.tell(t, TrialState::kComplete, std::vector<double>{0.5});
  EXPECT_TRUE(study_json(*storage, "c2")["best"].is_null());
}

TEST(DashboardApi, ImportanceUsesTheLatestThousandCompleteTrials) {
  auto storage = std::make_shared<InMemoryStorage>();
  Study study = create_study(StudyOptions().storage_instance(storage).study_name("long").sampler(
      std::make_shared<RandomSampler>(1)));
  for (int i = 0; i < 1003; ++i) {
    Trial t = study.ask();
    double x = t.suggest_float("x", 0, 1);
    t.suggest_float("z", 0, 1);
    study.tell(t, TrialState::kComplete, {x * x});
  }
  Json importance = study_json(*storage, "long")["importance"];
  EXPECT_EQ(importance["n_trials"], 1000);
  ASSERT_EQ(importance["params"].size(), 2u) << importance;
  EXPECT_EQ(importance["params"][0]["name"], "x");
}

// A study named like a script tag with a parameter and a choice that are markup: the JSON
// carries them as strings, and the report's inlined data holds no '<' at all.
TEST(DashboardApi, MarkupInNamesStaysText) {
  TempDir dir;
  auto storage = open_storage(dir.url("xss.db"));
  Study study = create_study(StudyOptions().storage_instance(storage).study_name(kXss));
  study.enqueue_trial({{kXssParam, kXssChoice}});
  Trial t = study.ask();
  t.suggest_categorical<std::string>(kXssParam, {kXssChoice, "plain"});
  t.set_user_attr("</script><b>", kXss);
  study.tell(t, TrialState::kComplete, {1.0});

  HttpResponse list = handle_dashboard_get(*storage, "/api/studies", {});
  EXPECT_EQ(Json::parse(list.body)[0]["name"], kXss);
  Json s = study_json(*storage, kXss);
  EXPECT_EQ(s["params"][0]["name"], kXssParam);
  EXPECT_EQ(s["trials"][0]["params"][kXssParam], kXssChoice);

  std::string inlined = json_for_html(s);
  EXPECT_EQ(inlined.find_first_of("<>&"), std::string::npos);
  EXPECT_EQ(Json::parse(inlined), Json::parse(s.dump()));  // the same data, read back

  std::string html = html_report(*storage, kXss);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("</script><b>"), std::string::npos);
  testing::expect_contains(html, {"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
                                  "id=\"knob-data\"", "createElementNS"});
  EXPECT_EQ(html.find("src=\"/"), std::string::npos);  // nothing to fetch: all inline
  EXPECT_THROW(html_report(*storage, "nope"), NotFound);
}

// ---------------------------------------------------------------- the server on loopback

TEST(Dashboard, ServesOnLoopbackReadOnly) {
  TempDir dir;
  {
    auto storage = open_storage(dir.url("s.db"));
    create_study(StudyOptions().storage_instance(storage).study_name(kXss));
  }
  EXPECT_EQ(DashboardOptions().host(), "127.0.0.1");
  Dashboard dashboard(DashboardOptions().storage(dir.url("s.db")).port(0));
  int port = dashboard.start();
  ASSERT_GT(port, 0);
  httplib::Client client("127.0.0.1", port);

  auto studies = client.Get("/api/studies");
  ASSERT_TRUE(studies);
  EXPECT_EQ(studies->status, 200);
  EXPECT_EQ(Json::parse(studies->body)[0]["name"], kXss);
  EXPECT_EQ(studies->get_header_value("X-Content-Type-Options"), "nosniff");
  testing::expect_contains(studies->get_header_value("Content-Security-Policy"),
                           {"default-src 'self'"});

  // The query is URL-decoded once: a name with markup, '&' and '=' finds its study.
  auto study = client.Get("/api/study?name=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
  ASSERT_TRUE(study);
  EXPECT_EQ(study->status, 200) << study->body;

  for (const std::string path : {"/../../etc/passwd", "/..%2f..%2fetc%2fpasswd",
                                 "/%2e%2e/%2e%2e/etc/passwd", "/api/trial?study=x&number=-1"}) {
    auto r = client.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_GE(r->status, 400) << path;
    EXPECT_LT(r->status, 500) << path;
    EXPECT_EQ(r->body.find("root:"), std::string::npos);
  }
  // No write endpoints.
  for (auto* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    httplib::Request request;
    request.method = method;
    request.path = "/api/study?name=x";
    auto r = client.send(request);
    ASSERT_TRUE(r) << method;
    EXPECT_GE(r->status, 400) << method;
    EXPECT_LT(r->status, 500) << method;
  }
  dashboard.stop();
  EXPECT_FALSE(client.Get("/api/studies"));  // stopped: nothing answers
}

TEST(Dashboard, BadOptionsNameTheField) {
  EXPECT_THROW(Dashboard(DashboardOptions().storage(":memory:").port(70000)), InvalidArgument);
  EXPECT_THROW(Dashboard(DashboardOptions().storage(":memory:").port(-1)), InvalidArgument);
  EXPECT_THROW(Dashboard(DashboardOptions().storage(":memory:").host("")), InvalidArgument);
  EXPECT_THROW(Dashboard(DashboardOptions().storage("mysql://x")), InvalidArgument);
  try {
    Dashboard(DashboardOptions().storage(":memory:").port(70000));
  } catch (const InvalidArgument& e) {
    testing::expect_contains(e.what(), {"port", "70000", "0..65535"});
  }
}

}  // namespace
}  // namespace knob
