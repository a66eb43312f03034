// Staged rollouts over loopback HTTP: the share of clients, stickiness, client reports, the
// automatic rollback, finishing and aborting, scopes, audit lines and metrics.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "native/client/client.h"
#include "native/client/outcome_reporter.h"
#include "native/common/util.h"
#include "tests/server/test_util.h"

namespace wisp::server::testing {
namespace {

using client::HttpClient;
using client::HttpResponse;
using json = nlohmann::json;

const char* kChannel = "/v1/models/m/channels/stable";

// Publishes versions 1..n of "m" and points stable at 1.
void PublishVersions(const TestServer& ts, int n) {
  for (int i = 1; i <= n; ++i) {
    ASSERT_EQ(Do(ts.url, "POST", "/v1/models/m/versions", Auth(), FakeModel(200, i)).status, 201u);
  }
  ASSERT_EQ(Do(ts.url, "PUT", kChannel, Auth(), R"({"version": 1})").status, 200u);
}

// Stages a rollout of version 2 on stable with these rollout fields.
void StageVersion2(const TestServer& ts, const std::string& rollout_fields) {
  auto r =
      Do(ts.url, "PUT", kChannel, Auth(), R"({"version": 2, "rollout": {)" + rollout_fields + "}}");
  ASSERT_EQ(r.status, 200u) << r.body;
}

std::string ClientName(int i) { return "client-" + std::to_string(i); }

// The version each of `n` clients is given (one keep-alive connection).
std::vector<int64_t> Assignments(const TestServer& ts, int n) {
  HttpClient c(Ok(client::ServerUrl::Parse(ts.url)), 10000);
  std::vector<int64_t> out;
  for (int i = 0; i < n; ++i) {
    HttpResponse r = Ok(c.Request("GET", kChannel, {{"X-Wisp-Client", ClientName(i)}}, ""));
    EXPECT_EQ(r.status, 200u) << r.body;
    out.push_back(json::parse(r.body)["version"].get<int64_t>());
  }
  return out;
}

double ShareOn(const std::vector<int64_t>& got, int64_t version) {
  int n = 0;
  for (int64_t v : got) n += v == version;
  return 100.0 * n / static_cast<double>(got.size());
}

std::vector<json> AuditLines(const TestServer& ts) {
  std::vector<json> lines;
  std::ifstream in(ts.cfg.data_dir + "/audit.log");
  std::string line;
  while (std::getline(in, line)) lines.push_back(json::parse(line));
  return lines;
}

TEST(RolloutTest, ShareMatchesThePercentAndClientsStayWhereTheyAre) {
  TestServer ts;
  PublishVersions(ts, 2);
  const int64_t seq_before = json::parse(Do(ts.url, "GET", kChannel).body)["sequence"];
  auto staged =
      Do(ts.url, "PUT", kChannel, Auth(), R"({"version": 2, "rollout": {"percent": 10}})");
  ASSERT_EQ(staged.status, 200u) << staged.body;
  EXPECT_EQ(json::parse(staged.body)["action"], "stage_rollout");
  EXPECT_EQ(json::parse(staged.body)["version"], 1);  // the channel itself stays

  const std::vector<int64_t> at10 = Assignments(ts, 2000);
  EXPECT_NEAR(ShareOn(at10, 2), 10.0, 5.0);
  for (int64_t v : at10) EXPECT_TRUE(v == 1 || v == 2);
  // Sticky: the same answers again.
  EXPECT_EQ(Assignments(ts, 2000), at10);
  // A client without an id, and the model document, see the channel's own version.
  EXPECT_EQ(json::parse(Do(ts.url, "GET", kChannel).body)["version"], 1);
  json model = json::parse(Do(ts.url, "GET", "/v1/models/m").body);
  EXPECT_EQ(model["channels"]["stable"], 1);
  EXPECT_EQ(model["rollouts"]["stable"]["version"], 2);
  EXPECT_EQ(model["rollouts"]["stable"]["percent"], 10.0);

  // Both manifests carry the new sequence; the answer varies by client.
  HttpResponse in_rollout, outside;
  for (int i = 0; i < 2000 && (in_rollout.status == 0 || outside.status == 0); ++i) {
    HttpResponse r = Do(ts.url, "GET", kChannel, {{"X-Wisp-Client", ClientName(i)}});
    (at10[static_cast<size_t>(i)] == 2 ? in_rollout : outside) = r;
  }
  json a = json::parse(in_rollout.body), b = json::parse(outside.body);
  EXPECT_EQ(a["sequence"], seq_before + 1);
  EXPECT_EQ(b["sequence"], seq_before + 1);
  EXPECT_EQ(a["rollout"]["client_in_rollout"], true);
  EXPECT_EQ(b["rollout"]["client_in_rollout"], false);
  EXPECT_EQ(a["rollout"]["base_version"], 1);
  EXPECT_EQ(in_rollout.Header("vary"), "X-Wisp-Client");
  EXPECT_EQ(in_rollout.Header("x-wisp-model-version"), "2");

  // Raising the percent keeps everyone who had the new version.
  auto raised =
      Do(ts.url, "PUT", kChannel, Auth(), R"({"version": 2, "rollout": {"percent": 50}})");
  ASSERT_EQ(raised.status, 200u) << raised.body;
  EXPECT_EQ(json::parse(raised.body)["action"], "change_rollout");
  const std::vector<int64_t> at50 = Assignments(ts, 2000);
  EXPECT_NEAR(ShareOn(at50, 2), 50.0, 5.0);
  for (size_t i = 0; i < at10.size(); ++i) {
    if (at10[i] == 2) {
      EXPECT_EQ(at50[i], 2) << ClientName(static_cast<int>(i));
    }
  }
  // Survives a restart (the rollout is in index.json).
  ts.Restart();
  EXPECT_EQ(Assignments(ts, 2000), at50);

  // Finishing is one call: the channel moves for everyone.
  auto finished = Do(ts.url, "PUT", kChannel, Auth(), R"({"version": 2})");
  ASSERT_EQ(finished.status, 200u);
  EXPECT_EQ(json::parse(finished.body)["action"], "finish_rollout");
  const std::vector<int64_t> done = Assignments(ts, 200);
  EXPECT_EQ(ShareOn(done, 2), 100.0);
  json ch = json::parse(Do(ts.url, "GET", kChannel).body);
  EXPECT_FALSE(ch.contains("rollout"));
  EXPECT_EQ(ch["last_rollout"]["state"], "finished");
  EXPECT_EQ(ch["last_rollout"]["version"], 2);

  std::vector<json> audit = AuditLines(ts);
  std::vector<std::string> actions;
  for (auto& l : audit) actions.push_back(l["action"]);
  EXPECT_EQ(actions, (std::vector<std::string>{"publish", "publish", "set_channel", "stage_rollout",
                                               "change_rollout", "finish_rollout"}));
  EXPECT_EQ(audit[3]["rollout"]["percent"], 10.0);
}

TEST(RolloutTest, BadRequestsAndAbort) {
  TestServer ts;
  PublishVersions(ts, 3);
  ExpectError(Do(ts.url, "PUT", kChannel, Auth(), R"({"version": 2, "rollout": {"percent": 0}})"),
              400, "bad_request", "percent");
  ExpectError(Do(ts.url, "PUT", kChannel, Auth(), R"({"version": 2, "rollout": {"percent": 101}})"),
              400, "bad_request", "percent");
  ExpectError(Do(ts.url, "PUT", kChannel, Auth(),
                 R"({"version": 2, "rollout": {"percent": 5, "max_error_rate": 2}})"),
              400, "bad_request", "max_error_rate");
  ExpectError(Do(ts.url, "PUT", kChannel, Auth(), R"({"version": 2, "rollout": 5})"), 400,
              "bad_request");
  ExpectError(Do(ts.url, "PUT", kChannel, Auth(), R"({"version": 1, "rollout": {"percent": 5}})"),
              400, "bad_request", "already points");
  ExpectError(Do(ts.url, "PUT", "/v1/models/m/channels/beta", Auth(),
                 R"({"version": 2, "rollout": {"percent": 5}})"),
              404, "not_found", "no channel 'beta'");
  ExpectError(Do(ts.url, "PUT", kChannel, Auth(), R"({"version": 9, "rollout": {"percent": 5}})"),
              404, "not_found", "no version 9");
  ExpectError(Do(ts.url, "DELETE", std::string(kChannel) + "/rollout", Auth()), 404,
              "rollout_not_found");
  // Writes need a token; the abort is a channel write.
  EXPECT_EQ(Do(ts.url, "PUT", kChannel, {}, R"({"version": 2, "rollout": {"percent": 5}})").status,
            401u);

  ASSERT_EQ(
      Do(ts.url, "PUT", kChannel, Auth(), R"({"version": 2, "rollout": {"percent": 100}})").status,
      200u);
  EXPECT_EQ(ShareOn(Assignments(ts, 100), 2), 100.0);
  // A version being rolled out cannot be deleted.
  ExpectError(Do(ts.url, "DELETE", "/v1/models/m/versions/2", Auth()), 409, "version_in_use",
              "rolled out");
  EXPECT_EQ(Do(ts.url, "DELETE", std::string(kChannel) + "/rollout", {}).status, 401u);
  auto aborted = Do(ts.url, "DELETE", std::string(kChannel) + "/rollout", Auth());
  ASSERT_EQ(aborted.status, 200u) << aborted.body;
  EXPECT_EQ(json::parse(aborted.body)["rollout"]["state"], "aborted");
  EXPECT_EQ(ShareOn(Assignments(ts, 100), 1), 100.0);
  json ch = json::parse(Do(ts.url, "GET", kChannel).body);
  EXPECT_EQ(ch["last_rollout"]["state"], "aborted");
  EXPECT_EQ(ch["last_rollout"]["reason"], "aborted by an operator");

  // A new rollout of another version replaces a running one (and starts a new assignment).
  ASSERT_EQ(
      Do(ts.url, "PUT", kChannel, Auth(), R"({"version": 2, "rollout": {"percent": 30}})").status,
      200u);
  ASSERT_EQ(
      Do(ts.url, "PUT", kChannel, Auth(), R"({"version": 3, "rollout": {"percent": 30}})").status,
      200u);
  std::vector<int64_t> got = Assignments(ts, 2000);
  EXPECT_EQ(ShareOn(got, 2), 0.0);
  EXPECT_NEAR(ShareOn(got, 3), 30.0, 5.0);
  std::vector<json> audit = AuditLines(ts);
  EXPECT_EQ(audit.back()["action"], "stage_rollout");
  bool saw_abort = false;
  for (auto& l : audit) saw_abort |= l["action"] == "abort_rollout" && l["status"] == 200;
  EXPECT_TRUE(saw_abort);
}

TEST(RolloutTest, ReportsRollABadVersionBackAutomatically) {
  TestServer ts;
  PublishVersions(ts, 2);
  StageVersion2(ts, R"("percent": 20, "max_error_rate": 0.1, "min_reports": 20, "margin": 0.05)");
  const std::vector<int64_t> assigned = Assignments(ts, 400);
  // Reports need no token (they are reads), and are validated.
  const std::string report2 = "/v1/models/m/versions/2:report";
  ExpectError(Do(ts.url, "POST", report2, {}, R"({"runs": -1})"), 400, "bad_request");
  ExpectError(Do(ts.url, "POST", report2, {}, R"({})"), 400, "bad_request");
  ExpectError(Do(ts.url, "POST", report2, {}, R"({"runs": 1e9})"), 400, "bad_request");
  ExpectError(Do(ts.url, "POST", report2, {}, "[1]"), 400, "malformed_json");
  // Anyone may report, so a report's body is small: the server stops reading at 4 KiB.
  ExpectError(
      Do(ts.url, "POST", report2, {}, R"({"runs": 1, "pad": ")" + std::string(8000, 'x') + "\"}"),
      413, "payload_too_large");
  ExpectError(Do(ts.url, "POST", "/v1/models/m/versions/7:report", {}, R"({"runs": 1})"), 404,
              "not_found");

  // The clients on version 1 are healthy: a few errors in many runs.
  int reports_on_1 = 0;
  for (size_t i = 0; i < assigned.size() && reports_on_1 < 30; ++i) {
    if (assigned[i] != 1) continue;
    client::Outcomes o;
    o.loads = 1;
    o.runs = 50;
    o.run_errors = reports_on_1 % 10 == 0 ? 1 : 0;
    ASSERT_TRUE(client::Report(ts.url, "m", 1, o, ClientName(static_cast<int>(i))).ok());
    reports_on_1++;
  }
  // Clients on version 2 report errors, in batches, through the reporter the library offers;
  // below min_reports nothing happens.
  int reports_on_2 = 0;
  for (size_t i = 0; i < assigned.size() && reports_on_2 < 19; ++i) {
    if (assigned[i] != 2) continue;
    client::OutcomeReporter reporter(ts.url, "m", 2, ClientName(static_cast<int>(i)), 600000);
    reporter.RecordLoad(true);
    for (int r = 0; r < 10; ++r) reporter.RecordRun(r >= 3);  // 3 of 10 runs fail
    ASSERT_TRUE(reporter.Flush().ok());
    EXPECT_EQ(reporter.reports_sent(), 1u);
    reports_on_2++;
  }
  ASSERT_EQ(reports_on_2, 19);
  json ch = json::parse(Do(ts.url, "GET", kChannel, {{"X-Wisp-Client", ClientName(0)}}).body);
  ASSERT_TRUE(ch.contains("rollout")) << ch.dump();
  EXPECT_EQ(ch["rollout"]["reports"]["2"]["reports"], 19);
  EXPECT_EQ(ch["rollout"]["reports"]["2"]["run_errors"], 19 * 3);
  EXPECT_EQ(ch["rollout"]["reports"]["1"]["reports"], 30);
  EXPECT_NEAR(ch["rollout"]["reports"]["2"]["error_rate"].get<double>(), 57.0 / 209.0, 1e-9);
  const std::string metrics = Do(ts.url, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("wisp_rollout_percent{model=\"m\",channel=\"stable\",version=\"2\","
                         "base_version=\"1\"} 20"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("wisp_rollout_reports_total{model=\"m\",channel=\"stable\",version=\"2\","
                         "kind=\"run_errors\"} 57"),
            std::string::npos);

  // The 20th report crosses min_reports: 27% errors > 10% and > version 1's 0.2% + 5%.
  auto last = Do(ts.url, "POST", report2, {{"X-Wisp-Client", "last"}},
                 R"({"loads": 1, "runs": 10, "run_errors": 3})");
  ASSERT_EQ(last.status, 202u) << last.body;
  json answer = json::parse(last.body);
  ASSERT_EQ(answer["rolled_back"].size(), 1u) << last.body;
  EXPECT_EQ(answer["rolled_back"][0]["channel"], "stable");

  // Everyone is back on version 1, under a new sequence; the channel says why.
  EXPECT_EQ(ShareOn(Assignments(ts, 400), 1), 100.0);
  ch = json::parse(Do(ts.url, "GET", kChannel).body);
  EXPECT_FALSE(ch.contains("rollout"));
  EXPECT_EQ(ch["last_rollout"]["state"], "aborted");
  const std::string reason = ch["last_rollout"]["reason"];
  EXPECT_NE(reason.find("automatic rollback"), std::string::npos) << reason;
  EXPECT_NE(reason.find("max_error_rate 0.1000"), std::string::npos) << reason;
  // ...and so do the audit log and the metrics.
  std::vector<json> audit = AuditLines(ts);
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.back()["action"], "rollback");
  EXPECT_EQ(audit.back()["token"], "-");
  EXPECT_EQ(audit.back()["version"], 1);
  EXPECT_EQ(audit.back()["rollout"]["version"], 2);
  EXPECT_EQ(audit.back()["rollout"]["reason"], reason);
  EXPECT_NE(Do(ts.url, "GET", "/metrics").body.find("wisp_rollout_automatic_rollbacks_total 1"),
            std::string::npos);
  // Later reports of version 2 are accepted and change nothing.
  auto after = Do(ts.url, "POST", report2, {}, R"({"run_errors": 5})");
  EXPECT_EQ(after.status, 202u);
  EXPECT_FALSE(json::parse(after.body).contains("rolled_back"));
}

TEST(RolloutTest, HealthyVersionIsNotRolledBack) {
  TestServer ts;
  PublishVersions(ts, 2);
  StageVersion2(ts, R"("percent": 50, "max_error_rate": 0.05, "min_reports": 5, "margin": 0.02)");
  // Both versions fail 10% of runs: above the limit, but not worse than the old version by the
  // margin, so the rollout goes on.
  for (int i = 0; i < 10; ++i) {
    for (int v : {1, 2}) {
      auto r = Do(ts.url, "POST", "/v1/models/m/versions/" + std::to_string(v) + ":report", {},
                  R"({"runs": 9, "run_errors": 1})");
      ASSERT_EQ(r.status, 202u);
      EXPECT_FALSE(json::parse(r.body).contains("rolled_back")) << r.body;
    }
  }
  json ch = json::parse(Do(ts.url, "GET", kChannel).body);
  ASSERT_TRUE(ch.contains("rollout"));
  EXPECT_EQ(ch["rollout"]["reports"]["2"]["reports"], 10);
}

TEST(RolloutTest, ScopedTokensGuardRollouts) {
  TempDir td;
  WriteText(td / "tokens",
            "vision-bot vision-secret channel:vision-*\n" + std::string(kToken) + "\n");
  TestServer ts([&](ServerConfig& c) { c.token_file = td / "tokens"; });
  const client::Headers vision = {{"Authorization", "Bearer vision-secret"}};
  for (const char* model : {"vision-a", "audio"}) {
    for (int i = 1; i <= 2; ++i) {
      ASSERT_EQ(Do(ts.url, "POST", std::string("/v1/models/") + model + "/versions", Auth(),
                   FakeModel(100, i))
                    .status,
                201u);
    }
    ASSERT_EQ(Do(ts.url, "PUT", std::string("/v1/models/") + model + "/channels/stable", Auth(),
                 R"({"version": 1})")
                  .status,
              200u);
  }
  const std::string body = R"({"version": 2, "rollout": {"percent": 10}})";
  EXPECT_EQ(Do(ts.url, "PUT", "/v1/models/vision-a/channels/stable", vision, body).status, 200u);
  EXPECT_EQ(Do(ts.url, "PUT", "/v1/models/audio/channels/stable", vision, body).status, 403u);
  EXPECT_EQ(Do(ts.url, "DELETE", "/v1/models/audio/channels/stable/rollout", vision).status, 403u);
  EXPECT_EQ(Do(ts.url, "DELETE", "/v1/models/vision-a/channels/stable/rollout", vision).status,
            200u);
}

TEST(RolloutTest, NativeClientSendsItsIdAndFollowsItsAssignment) {
  TestServer ts;
  PublishVersions(ts, 2);
  StageVersion2(ts, R"("percent": 50)");
  TempDir cache;
  client::PullOptions options;
  options.cache_dir = cache / "c";
  client::PullResult first = Ok(client::Pull(ts.url, "m", options));
  // The id is created once and kept in the cache directory.
  const std::string id = Ok(client::CacheClientId(options.cache_dir));
  EXPECT_EQ(first.client_id, id);
  EXPECT_EQ(id.size(), 32u);
  // The server gives this id the same version the pull got.
  json ch = json::parse(Do(ts.url, "GET", kChannel, {{"X-Wisp-Client", id}}).body);
  EXPECT_EQ(ch["version"], first.version);
  EXPECT_EQ(Ok(client::Pull(ts.url, "m", options)).version, first.version);
  // Explicit ids: one inside and one outside the rollout get their versions.
  std::vector<int64_t> assigned = Assignments(ts, 40);
  for (int i = 0; i < 40; ++i) {
    client::PullOptions o = options;
    o.cache_dir = cache / ("c" + std::to_string(i));
    o.client_id = ClientName(i);
    EXPECT_EQ(Ok(client::Pull(ts.url, "m", o)).version, assigned[static_cast<size_t>(i)]);
  }
}

}  // namespace
}  // namespace wisp::server::testing
