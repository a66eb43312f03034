// Tests that need wisp-server as a separate process: SIGTERM handling and kill -9 during
// publishes. The binary is wisp-server-fake-engine (TEST-ONLY: the real program from
// RunServerMain, with FakeModelEngine instead of the runtime).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "native/common/util.h"
#include "tests/server/test_util.h"

namespace wisp::server::testing {
namespace {

using client::HttpClient;
using client::HttpResponse;
using client::ServerUrl;
using json = nlohmann::json;

HttpResponse Get(const std::string& url, const std::string& target) {
  HttpClient c(Ok(ServerUrl::Parse(url)), 10000);
  return Ok(c.Request("GET", target, {}, ""));
}

std::vector<std::string> Args(const TempDir& d) {
  return {"--port",     "0",         "--data", d / "data", "--token-file",
          d / "tokens", "--threads", "2",      "--quiet"};
}

TEST(ServerProcessTest, SigtermStopsGracefullyWithExitZero) {
  TempDir d;
  WriteText(d / "tokens", std::string(kToken) + "\n");
  ServerProcess p(WISP_FAKE_SERVER_BINARY, Args(d));
  ASSERT_NE(p.port(), 0) << "server did not print its port";
  EXPECT_EQ(Get(p.url(), "/healthz").status, 200u);
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), 0);
  ServerProcess q(WISP_FAKE_SERVER_BINARY, Args(d));  // the directory lock was released
  ASSERT_NE(q.port(), 0);
  q.Signal(SIGINT);
  EXPECT_EQ(q.Wait(), 0);
}

// kill -9 at a random moment while two clients publish continuously. After each restart every
// acknowledged version must be present and intact, and every version the server lists must serve
// exactly the bytes its manifest describes.
TEST(ServerProcessTest, KillDashNineDuringPublishesLosesNothingAcknowledged) {
  TempDir d;
  WriteText(d / "tokens", std::string(kToken) + "\n");
  std::map<int64_t, std::string> acked;  // version -> sha256 (all rounds)
  std::mt19937 rng(12345);
  const auto test_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(25);
  int interrupted_requests = 0;
  for (int round = 0; round < 4 && std::chrono::steady_clock::now() < test_deadline; ++round) {
    ServerProcess p(WISP_FAKE_SERVER_BINARY, Args(d));
    ASSERT_NE(p.port(), 0) << "round " << round;
    // Everything acknowledged in earlier rounds survived the previous kill.
    for (auto& [v, sha] : acked) {
      auto art = Get(p.url(), "/v1/models/crash/versions/" + std::to_string(v) + "/model.wisp");
      ASSERT_EQ(art.status, 200u) << "acknowledged version " << v << " lost in round " << round;
      ASSERT_EQ(Sha256Hex(art.body), sha) << "version " << v;
    }
    // Nothing listed is partial.
    auto model = Get(p.url(), "/v1/models/crash");
    if (model.status == 200) {
      // Keep the parsed document alive: a range-for over a member of a temporary dangles.
      const json listing = json::parse(model.body);
      for (const auto& m : listing["versions"]) {
        auto art = Get(p.url(), m["download_url"].get<std::string>());
        EXPECT_EQ(art.body.size(), m["size"].get<size_t>());
        EXPECT_EQ(Sha256Hex(art.body), m["sha256"].get<std::string>());
      }
    }
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::vector<std::thread> publishers;
    for (int t = 0; t < 2; ++t) {
      publishers.emplace_back([&, t] {
        const ServerUrl u = Ok(ServerUrl::Parse(p.url()));
        for (int i = 0; i < 200 && !stop; ++i) {
          std::string body = FakeModel(300000 + static_cast<size_t>(i * 7),
                                       static_cast<uint32_t>(round * 100000 + t * 1000 + i));
          HttpClient c(u, 5000);
          Result<HttpResponse> sent =
              c.Request("POST", "/v1/models/crash/versions",
                        {{"Authorization", std::string("Bearer ") + kToken}}, body);
          const bool ok = sent.ok();
          const HttpResponse r = ok ? std::move(sent).value() : HttpResponse{};
          std::lock_guard lock(mu);
          if (!ok) {
            interrupted_requests++;
            return;  // the server is gone
          }
          if (r.status == 201) {
            json m = json::parse(r.body);
            acked[m["version"].get<int64_t>()] = Sha256Hex(body);
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 350));
    p.Signal(SIGKILL);
    EXPECT_EQ(p.Wait(), 128 + SIGKILL);
    stop = true;
    for (auto& th : publishers) th.join();
  }
  // Final restart and full check.
  ServerProcess p(WISP_FAKE_SERVER_BINARY, Args(d));
  ASSERT_NE(p.port(), 0);
  EXPECT_GT(acked.size(), 3u);
  for (auto& [v, sha] : acked) {
    auto art = Get(p.url(), "/v1/models/crash/versions/" + std::to_string(v) + "/model.wisp");
    ASSERT_EQ(art.status, 200u) << "acknowledged version " << v << " lost";
    EXPECT_EQ(Sha256Hex(art.body), sha);
  }
  auto model = json::parse(Get(p.url(), "/v1/models/crash").body);
  for (auto& m : model["versions"]) {
    auto art = Get(p.url(), m["download_url"].get<std::string>());
    EXPECT_EQ(Sha256Hex(art.body), m["sha256"].get<std::string>());
  }
  EXPECT_TRUE(std::filesystem::is_empty(d / "data/tmp"));
  RecordProperty("acknowledged_versions", static_cast<int>(acked.size()));
  RecordProperty("interrupted_requests", interrupted_requests);
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), 0);
}

}  // namespace
}  // namespace wisp::server::testing
