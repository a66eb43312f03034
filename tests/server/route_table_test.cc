// The route table, walked in-process through Handler::Handle (no sockets): every route answers
// 405 with the table's Allow header for the methods it does not take, its own methods reach it
// (never 404/405), invalid parameters are 400 and unknown paths 404.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "native/server/handler.h"
#include "tests/server/in_process.h"

namespace wisp::server::testing {
namespace {

// A concrete path for a pattern: parameters get values that exist in the fixture.
std::string Concrete(std::string pattern) {
  const std::map<std::string, std::string> values = {
      {"{name}", "m"}, {"{v}", "1"}, {"{channel}", "stable"}};
  for (auto& [param, value] : values) {
    for (size_t at; (at = pattern.find(param)) != std::string::npos;) {
      pattern.replace(at, param.size(), value);
    }
  }
  return pattern;
}

std::set<std::string> AllowedSet(const std::string& allow) {
  std::set<std::string> out;
  size_t start = 0;
  while (start < allow.size()) {
    size_t comma = allow.find(',', start);
    if (comma == std::string::npos) comma = allow.size();
    std::string item = allow.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    out.insert(item);
    start = comma + 1;
  }
  return out;
}

TEST(RouteTable, EveryRouteAnswers405WithTheTablesAllowForOtherMethods) {
  InProcess p;
  const std::vector<std::pair<http::verb, std::string>> methods = {
      {http::verb::get, "GET"}, {http::verb::head, "HEAD"},      {http::verb::post, "POST"},
      {http::verb::put, "PUT"}, {http::verb::delete_, "DELETE"}, {http::verb::patch, "PATCH"}};
  const auto table = Handler::RouteTable();
  ASSERT_GE(table.size(), 12u);
  std::set<std::string> names;
  for (const auto& route : table) {
    SCOPED_TRACE(route.pattern);
    EXPECT_TRUE(names.insert(route.name).second) << "route names are unique";
    const std::set<std::string> allowed = AllowedSet(route.allow);
    EXPECT_FALSE(allowed.empty());
    // GET always comes with HEAD.
    EXPECT_EQ(allowed.count("GET"), allowed.count("HEAD"));
    const std::string path = Concrete(route.pattern);
    for (const auto& [verb, text] : methods) {
      if (allowed.count(text)) continue;
      Reply r = p.Send(verb, path, "{}");
      EXPECT_EQ(r.status, 405u) << text << " " << path << " " << (r.body ? *r.body : "");
      EXPECT_EQ(Header(r, "Allow"), route.allow) << text << " " << path;
      EXPECT_EQ(r.route, route.name) << text << " " << path;
    }
  }
}

TEST(RouteTable, ReadMethodsReachTheirRoute) {
  InProcess p;
  for (const auto& route : Handler::RouteTable()) {
    if (AllowedSet(route.allow).count("GET") == 0) continue;
    const std::string path = Concrete(route.pattern);
    for (http::verb verb : {http::verb::get, http::verb::head}) {
      Reply r = p.Send(verb, path);
      EXPECT_NE(r.status, 405u) << path;
      EXPECT_EQ(r.body->find("unknown endpoint"), std::string::npos) << path;
      EXPECT_EQ(r.route, route.name) << path;
      EXPECT_EQ(r.head, verb == http::verb::head);
    }
  }
}

TEST(RouteTable, UnknownPathsAre404AndInvalidParametersAre400) {
  InProcess p;
  for (const char* path :
       {"/nothing", "/v1", "/v1/nothing", "/v1/models/m/other", "/v1/models/m/versions/1/other",
        "/v1/models/m/channels", "/v1/models/m/channels/stable/extra",
        "/v1/models/m/versions/1:explain", "/v1/models/m/versions/1:predict/extra",
        "/v1/models/m/channels/stable:explain", "/healthz/extra", "/",
        // An action other than TF Serving's :predict on a model, like on a version.
        "/v1/models/a:b", "/v1/models/m:explain", "/v1/models/m/labels/stable:explain"}) {
    for (http::verb verb : {http::verb::get, http::verb::post, http::verb::delete_}) {
      Reply r = p.Send(verb, path, "{}");
      EXPECT_EQ(r.status, 404u) << path;
      EXPECT_EQ(r.route, "other") << path;
      EXPECT_EQ(Header(r, "Allow"), "") << path;
    }
  }
  const std::vector<std::tuple<std::string, std::string, std::string>> invalid = {
      {"/v1/models/-x", "invalid_name", "/v1/models/{name}"},
      {"/v1/models/.x/versions", "invalid_name", "/v1/models/{name}"},
      {"/v1/models/-x/anything/else", "invalid_name", "/v1/models/{name}"},
      {"/v1/models/.x:predict", "invalid_name", "/v1/models/{name}"},
      {"/v1/models/m/labels/.c", "invalid_name", "/v1/models/{name}/labels/{channel}"},
      {"/v1/models/m/versions/01", "invalid_version", "/v1/models/{name}/versions/{v}"},
      {"/v1/models/m/versions/x:predict", "invalid_version", "/v1/models/{name}/versions/{v}"},
      {"/v1/models/m/versions/1x/model.wisp", "invalid_version", "/v1/models/{name}/versions/{v}"},
      {"/v1/models/m/channels/.c", "invalid_name", "/v1/models/{name}/channels/{channel}"},
      {"/v1/models/m/channels/.c:predict", "invalid_name", "/v1/models/{name}/channels/{channel}"}};
  for (const auto& [path, code, route] : invalid) {
    for (http::verb verb : {http::verb::get, http::verb::post, http::verb::patch}) {
      Reply r = p.Send(verb, path, "{}");
      EXPECT_EQ(r.status, 400u) << path;
      EXPECT_NE(r.body->find(code), std::string::npos) << path << " " << *r.body;
      EXPECT_EQ(r.route, route) << path;
    }
  }
}

// Budget finds predict requests with the route table, before the body is read.
TEST(RouteTable, PredictBudgetComesFromThePredictRoutes) {
  InProcess p;
  auto budget = [&](http::verb verb, const std::string& target) {
    RequestHeader req;
    req.method(verb);
    req.target(target);
    req.set(http::field::content_type, "application/octet-stream");
    return p.handler->Budget(req);
  };
  // The fake model takes one float32 [1,4]: a raw body of 16 bytes.
  for (const char* target :
       {"/v1/models/m/versions/1:predict", "/v1/models/m/channels/stable:predict",
        "/v1/models/m/labels/stable:predict", "/v1/models/m:predict"}) {
    Handler::PredictBudget b = budget(http::verb::post, target);
    EXPECT_TRUE(b.predict) << target;
    EXPECT_TRUE(b.raw) << target;
    EXPECT_EQ(b.input_bytes, 16u) << target;
    EXPECT_EQ(b.body_limit, 16u) << target;
  }
  // An unknown version or an invalid name is still a predict request, held to the small limit
  // of an unknown model (Route answers it 404 or 400).
  for (const char* target :
       {"/v1/models/m/versions/7:predict", "/v1/models/bad!name/versions/1:predict",
        "/v1/models/m/labels/canary:predict", "/v1/models/ghost:predict"}) {
    Handler::PredictBudget b = budget(http::verb::post, target);
    EXPECT_TRUE(b.predict) << target;
    EXPECT_EQ(b.input_bytes, 0u) << target;
    EXPECT_LT(b.body_limit, ServerConfig{}.max_body_bytes) << target;
  }
  // Other methods, routes and actions are not predict requests.
  EXPECT_FALSE(budget(http::verb::get, "/v1/models/m/versions/1:predict").predict);
  EXPECT_FALSE(budget(http::verb::post, "/v1/models/m/versions").predict);
  EXPECT_FALSE(budget(http::verb::post, "/v1/models/m/versions/1:explain").predict);
  EXPECT_EQ(budget(http::verb::post, "/v1/models/m/versions").body_limit, 0u);  // the global one
  // Outcome reports (no token needed) have a small limit of their own.
  Handler::PredictBudget report = budget(http::verb::post, "/v1/models/m/versions/1:report");
  EXPECT_FALSE(report.predict);
  EXPECT_EQ(report.body_limit, 4096u);
}

TEST(RouteTable, StaticFilesAreTheFallbackOutsideV1) {
  InProcess p([](ServerConfig& cfg) { cfg.web_dir = cfg.data_dir; });
  Reply r = p.Send(http::verb::post, "/index.html", "x");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(Header(r, "Allow"), "GET, HEAD");
  EXPECT_EQ(r.route, "static");
  EXPECT_EQ(p.Send(http::verb::get, "/no-such-file").route, "static");
  // /v1 is never a static path.
  r = p.Send(http::verb::get, "/v1/nothing");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.route, "other");
}

}  // namespace
}  // namespace wisp::server::testing
