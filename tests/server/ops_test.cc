// Operator-facing behaviour of the wisp-server program: the access log and --verify. Runs the
// fake-engine binary as a child process on 127.0.0.1 (see test_util.h).
#include <sys/wait.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "native/common/util.h"
#include "tests/server/test_util.h"

namespace wisp::server::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Writes the token file and returns the flags of a server on d/data plus `extra`.
std::vector<std::string> ServerArgs(const TempDir& d, std::vector<std::string> extra) {
  WriteText(d / "tokens", std::string(kToken) + "\n");
  std::vector<std::string> a = {"--port",       "0",          "--data",    d / "data",
                                "--token-file", d / "tokens", "--threads", "2"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

int RunVerify(const std::string& data, std::string* out) {
  return RunServerVerify(WISP_FAKE_SERVER_BINARY, data, out);
}

TEST(AccessLogTest, OneLinePerRequestWithFieldsAndNeverTheToken) {
  TempDir d;
  ServerProcess p(WISP_FAKE_SERVER_BINARY,
                  ServerArgs(d, {"--quiet", "--access-log", d / "access.log"}));
  ASSERT_NE(p.port(), 0);
  auto health = Do(p.url(), "GET", "/healthz", {{"User-Agent", "probe/1.0 \"x\""}});
  EXPECT_EQ(health.status, 200u);
  auto pub = Do(p.url(), "POST", "/v1/models/m/versions", Auth(), FakeModel(5000, 1));
  EXPECT_EQ(pub.status, 201u) << pub.body;
  const std::string wrong = "not-the-token-but-secret-too";
  auto denied = Do(p.url(), "POST", "/v1/models/m/versions", {{"Authorization", "Bearer " + wrong}},
                   FakeModel(5000, 2));
  EXPECT_EQ(denied.status, 401u);
  p.Signal(SIGTERM);
  ASSERT_EQ(p.Wait(), 0);

  std::string log = ReadAll(d / "access.log");
  auto lines = Lines(log);
  ASSERT_EQ(lines.size(), 3u) << log;
  // A line is written once its response has been sent, so a client that already read one
  // response may see its next request logged first: find each line by what it is.
  auto line_with = [&](const std::string& fragment) {
    for (const std::string& l : lines) {
      if (l.find(fragment) != std::string::npos) return l;
    }
    ADD_FAILURE() << "no line with '" << fragment << "' in:\n" << log;
    return std::string();
  };
  const std::string ts = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)";
  const std::string ms = R"(\d+\.\d{3}ms)";
  const std::string health_line = line_with("GET /healthz");
  EXPECT_TRUE(std::regex_match(health_line,
                               std::regex(ts + R"( 127\.0\.0\.1 "GET /healthz HTTP/1\.1" 200 )" +
                                          std::to_string(health.body.size()) + " " + ms +
                                          R"( token=- "probe/1\.0 \\x22x\\x22")")))
      << health_line;
  const std::string id = "sha256:" + Sha256Hex(kToken).substr(0, 8);
  const std::string published = line_with("\" 201 ");
  EXPECT_TRUE(std::regex_match(
      published, std::regex(ts + R"( 127\.0\.0\.1 "POST /v1/models/m/versions HTTP/1\.1" 201 )" +
                            std::to_string(pub.body.size()) + " " + ms + " token=" + id +
                            R"( "wisp-client")")))
      << published;
  const std::string refused = line_with("\" 401 ");
  EXPECT_NE(refused.find("POST /v1/models/m/versions"), std::string::npos) << refused;
  EXPECT_NE(refused.find(" token=invalid "), std::string::npos) << refused;
  // No credential, whole or in part beyond the digest prefix, reaches the log.
  EXPECT_EQ(log.find(kToken), std::string::npos);
  EXPECT_EQ(log.find(wrong), std::string::npos);
  EXPECT_EQ(log.find("Bearer"), std::string::npos);
}

TEST(AccessLogTest, StderrByDefaultEvenWhenQuietAndOffDisablesIt) {
  TempDir d;
  for (bool off : {false, true}) {
    ProcessOptions o;
    o.stderr_path = d / (off ? "stderr-off" : "stderr-default");
    std::vector<std::string> extra = {"--quiet"};
    if (off) extra = {"--quiet", "--access-log", "off"};
    ServerProcess p(WISP_FAKE_SERVER_BINARY, ServerArgs(d, extra), o);
    ASSERT_NE(p.port(), 0);
    EXPECT_EQ(Do(p.url(), "GET", "/v1/models").status, 200u);
    p.Signal(SIGTERM);
    ASSERT_EQ(p.Wait(), 0);
    std::string err = ReadAll(o.stderr_path);
    if (off) {
      EXPECT_EQ(err.find("GET /v1/models"), std::string::npos) << err;
    } else {
      EXPECT_NE(err.find("\"GET /v1/models HTTP/1.1\" 200"), std::string::npos) << err;
    }
  }
}

TEST(AccessLogTest, SighupReopensTheFileAfterRotation) {
  TempDir d;
  ServerProcess p(WISP_FAKE_SERVER_BINARY,
                  ServerArgs(d, {"--quiet", "--access-log", d / "access.log"}));
  ASSERT_NE(p.port(), 0);
  EXPECT_EQ(Do(p.url(), "GET", "/healthz").status, 200u);
  // The line is written once the response has gone out, so possibly after the client has it.
  for (int i = 0; i < 100 && ReadAll(d / "access.log").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  fs::rename(d / "access.log", d / "access.log.1");
  p.Signal(SIGHUP);
  // The reopen happens on the signal thread; poll with requests until the new file has a line.
  bool reopened = false;
  for (int i = 0; i < 100 && !reopened; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    Do(p.url(), "GET", "/healthz");
    reopened = !ReadAll(d / "access.log").empty();
  }
  EXPECT_TRUE(reopened);
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), 0);  // SIGHUP did not kill it
  EXPECT_GE(Lines(ReadAll(d / "access.log.1")).size(), 1u);
}

TEST(VerifyTest, CleanStoreExitsZeroAndAFlippedByteExitsOneNamingTheFile) {
  TempDir d;
  {
    ServerProcess p(WISP_FAKE_SERVER_BINARY, ServerArgs(d, {"--quiet", "--access-log", "off"}));
    ASSERT_NE(p.port(), 0);
    for (uint32_t i = 0; i < 2; ++i) {
      // The second is compressible, so a .gz copy is stored and checked too.
      auto r = Do(p.url(), "POST", "/v1/models/m/versions", Auth(), FakeModel(200000, i, i == 1));
      ASSERT_EQ(r.status, 201u) << r.body;
    }
    auto c = Do(p.url(), "PUT", "/v1/models/m/channels/stable", Auth(), R"({"version": 1})");
    ASSERT_EQ(c.status, 200u) << c.body;
    std::string out;
    // Also while the server runs: nothing is in flight, so the store is clean.
    EXPECT_EQ(RunVerify(d / "data", &out), 0) << out;
    p.Signal(SIGTERM);
    ASSERT_EQ(p.Wait(), 0);
  }
  std::string out;
  ASSERT_EQ(RunVerify(d / "data", &out), 0) << out;
  EXPECT_NE(out.find("1 models, 2 versions"), std::string::npos) << out;
  EXPECT_NE(out.find(" 0 problems"), std::string::npos) << out;

  const std::string art = d / "data/models/m/versions/2/model.wisp";
  {
    std::fstream f(art, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(1000);
    char c = 0;
    f.read(&c, 1);
    f.seekp(1000);
    c = static_cast<char>(c ^ 0x01);
    f.write(&c, 1);
  }
  ASSERT_EQ(RunVerify(d / "data", &out), 1) << out;
  EXPECT_NE(out.find("problem: models/m/versions/2/model.wisp: sha256 "), std::string::npos) << out;
  EXPECT_NE(out.find(" 1 problem\n"), std::string::npos) << out;

  // Leftovers and a dangling channel are problems too.
  WriteText(d / "data/tmp/abandoned.wisp", "x");
  std::string idx = ReadAll(d / "data/models/m/index.json");
  json j = json::parse(idx);
  j["channels"]["beta"] = 7;
  WriteText(d / "data/models/m/index.json", j.dump());
  ASSERT_EQ(RunVerify(d / "data", &out), 1) << out;
  EXPECT_NE(out.find("problem: tmp/abandoned.wisp: "), std::string::npos) << out;
  EXPECT_NE(out.find("channel 'beta' points at version 7"), std::string::npos) << out;
  EXPECT_NE(out.find(" 3 problems"), std::string::npos) << out;
}

}  // namespace
}  // namespace wisp::server::testing
