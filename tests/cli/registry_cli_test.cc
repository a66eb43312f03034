// `wisp models list`, `wisp pull --version`, `wisp delete` (and publish) against a real
// wisp-server process on 127.0.0.1 with the runtime engine: exit codes, stdout, stderr and the
// --json documents a script would parse.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "native/common/util.h"
#include "native/platform/file_io.h"
#include "tests/cli/run_wisp.h"
#include "tests/server/test_util.h"
#include "tests/support/delta_models.h"

namespace wisp::server::testing {
namespace {

using json = nlohmann::json;
using wisp::testing::CommandResult;
using wisp::testing::RunWisp;

std::string Shared(const std::string& rel) {
  const char* env = std::getenv("WISP_SHARED");
  return std::string(env ? env : "../shared") + "/" + rel;
}

class RegistryCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteText(dir_ / "tokens", std::string(kToken) + "\n");
    server_ = std::make_unique<ServerProcess>(
        WISP_SERVER_BINARY,
        std::vector<std::string>{"--port", "0", "--data", dir_ / "data", "--token-file",
                                 dir_ / "tokens", "--threads", "2", "--quiet"});
    ASSERT_NE(server_->port(), 0) << "wisp-server did not print its port";
    url_ = server_->url();
  }

  std::string Token() const { return " --token-file " + dir_ / "tokens"; }

  // Publishes a shared model as a new version of `name`; returns the version number.
  int64_t Publish(const std::string& name, const std::string& model, const std::string& channel) {
    CommandResult r = RunWisp("publish " + url_ + " " + Shared("models/" + model) + " --name " +
                              name + (channel.empty() ? "" : " --channel " + channel) + Token());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false).value("version", int64_t{0});
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::string url_;
};

TEST_F(RegistryCliTest, ModelsListShowsVersionsAndChannels) {
  CommandResult empty = RunWisp("models list " + url_);
  ASSERT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_NE(empty.out.find("no models"), std::string::npos) << empty.out;

  ASSERT_EQ(Publish("kws", "mlperf_tiny_kws_dscnn_int8.tflite", "stable"), 1);
  ASSERT_EQ(Publish("kws", "mlperf_tiny_kws_dscnn_float.tflite", "canary"), 2);
  ASSERT_EQ(Publish("lstm", "keras_lstm_mnist_ptq.tflite", ""), 1);

  CommandResult text = RunWisp("models list " + url_);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("NAME"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("kws"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("1,2"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("canary=2 stable=1"), std::string::npos) << text.out;

  CommandResult js = RunWisp("models list --json " + url_);
  ASSERT_EQ(js.exit_code, 0) << js.err;
  json list = json::parse(js.out, nullptr, false);
  ASSERT_TRUE(list.is_object()) << js.out;
  ASSERT_EQ(list["models"].size(), 2u) << js.out;
  const json& kws = list["models"][0]["name"] == "kws" ? list["models"][0] : list["models"][1];
  EXPECT_EQ(kws["versions"], json({1, 2}));
  EXPECT_EQ(kws["latest_version"], 2);
  EXPECT_EQ(kws["channels"], json({{"stable", 1}, {"canary", 2}}));

  // A server that is not there: a message naming it and exit 1.
  CommandResult down = RunWisp("models list http://127.0.0.1:1");
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("127.0.0.1"), std::string::npos) << down.err;
  EXPECT_EQ(RunWisp("models list").exit_code, 2);
  EXPECT_EQ(RunWisp("models").exit_code, 2);
}

// The whole path with the runtime engine: the classifier models (only the head's weights differ)
// are validated and run by wisp-server, and `wisp pull` updates v1 to v2 by delta.
TEST_F(RegistryCliTest, PullUpdatesByDeltaFetchingOnlyChangedChunks) {
  const std::string cache = dir_ / "cache";
  std::string models[2];
  for (int v : {1, 2}) {
    models[v - 1] = ::wisp::testing::DeltaTestModel(v);
    const std::string file = dir_ / ("v" + std::to_string(v) + ".wisp");
    WriteText(file, models[v - 1]);
    CommandResult pub =
        RunWisp("publish " + url_ + " " + file + " --name cls --channel stable" + Token());
    ASSERT_EQ(pub.exit_code, 0) << pub.err;
    CommandResult pull = RunWisp("pull " + url_ + " cls --json --dir " + cache);
    ASSERT_EQ(pull.exit_code, 0) << pull.err;
    json r = json::parse(pull.out, nullptr, false);
    ASSERT_TRUE(r.is_object()) << pull.out;
    EXPECT_EQ(r["version"], v);
    EXPECT_TRUE(Ok(ReadFileText(r["path"].get<std::string>())) == models[v - 1]);
    if (v == 1) {
      EXPECT_EQ(r["delta_base_version"], 0);
      EXPECT_EQ(r["bytes_downloaded"], models[0].size());
    } else {
      EXPECT_EQ(r["delta_base_version"], 1);
      EXPECT_FALSE(r.contains("delta_error")) << r.dump();
      const uint64_t fetched = r["bytes_downloaded"];
      EXPECT_LE(fetched * 100, models[1].size() * 15) << fetched;
      EXPECT_EQ(fetched + r["delta_reused_bytes"].get<uint64_t>(), models[1].size());
    }
  }
  // Rolling the channel back needs nothing: v1 is still cached.
  ASSERT_EQ(RunWisp("channel " + url_ + " cls stable 1" + Token()).exit_code, 0);
  CommandResult back = RunWisp("pull " + url_ + " cls --dir " + cache);
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_NE(back.out.find("version 1 switched (already cached)"), std::string::npos) << back.out;
}

TEST_F(RegistryCliTest, PullsASpecificVersionAndKeepsItBesideTheChannel) {
  ASSERT_EQ(Publish("kws", "mlperf_tiny_kws_dscnn_int8.tflite", "stable"), 1);
  ASSERT_EQ(Publish("kws", "mlperf_tiny_kws_dscnn_float.tflite", ""), 2);
  const std::string cache = dir_ / "cache";

  CommandResult v2 = RunWisp("pull " + url_ + " kws --version 2 --json --dir " + cache);
  ASSERT_EQ(v2.exit_code, 0) << v2.err;
  json r = json::parse(v2.out, nullptr, false);
  ASSERT_TRUE(r.is_object()) << v2.out;
  EXPECT_EQ(r["version"], 2);
  EXPECT_EQ(r["state"], "downloaded");
  EXPECT_FALSE(r.contains("channel"));
  const std::string path = r["path"];
  EXPECT_EQ(path, cache + "/kws/v2/model.wisp");
  Result<std::string> bytes = ReadFileText(path);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  EXPECT_EQ(Sha256Hex(*bytes), r["sha256"]);

  // Following the channel afterwards does not evict the pinned version.
  CommandResult stable = RunWisp("pull " + url_ + " kws --json --dir " + cache);
  ASSERT_EQ(stable.exit_code, 0) << stable.err;
  EXPECT_EQ(json::parse(stable.out)["version"], 1);
  EXPECT_EQ(json::parse(stable.out)["channel"], "stable");
  EXPECT_TRUE(std::filesystem::exists(path));

  // Again: the manifest revalidates (304) and nothing is downloaded.
  CommandResult again = RunWisp("pull " + url_ + " kws --version 2 --dir " + cache);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("kws v2@"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("version 2 up to date"), std::string::npos) << again.out;

  CommandResult missing = RunWisp("pull " + url_ + " kws --version 7 --dir " + cache);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no version 7"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("404"), std::string::npos) << missing.err;
  // --version and --channel contradict each other; versions start at 1.
  CommandResult both = RunWisp("pull " + url_ + " kws --version 1 --channel stable");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
  EXPECT_EQ(RunWisp("pull " + url_ + " kws --version 0").exit_code, 2);
}

TEST_F(RegistryCliTest, DeletesOnlyVersionsNoChannelPointsAt) {
  ASSERT_EQ(Publish("kws", "mlperf_tiny_kws_dscnn_int8.tflite", "stable"), 1);
  ASSERT_EQ(Publish("kws", "mlperf_tiny_kws_dscnn_float.tflite", ""), 2);
  ASSERT_EQ(Publish("kws", "mlperf_tiny_kws_dscnn_int8.tflite", ""), 3);

  CommandResult in_use = RunWisp("delete " + url_ + " kws 1" + Token());
  EXPECT_EQ(in_use.exit_code, 1);
  EXPECT_NE(in_use.err.find("409"), std::string::npos) << in_use.err;
  EXPECT_NE(in_use.err.find("stable"), std::string::npos) << in_use.err;

  CommandResult no_token = RunWisp("delete " + url_ + " kws 2 --token wrong-token");
  EXPECT_EQ(no_token.exit_code, 1);
  EXPECT_NE(no_token.err.find("401"), std::string::npos) << no_token.err;

  CommandResult del = RunWisp("delete " + url_ + " kws 2" + Token());
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_NE(del.out.find("deleted kws version 2"), std::string::npos) << del.out;
  CommandResult js = RunWisp("delete --json " + url_ + " kws 3" + Token());
  ASSERT_EQ(js.exit_code, 0) << js.err;
  EXPECT_EQ(json::parse(js.out, nullptr, false),
            json({{"name", "kws"}, {"version", 3}, {"deleted", true}}));

  CommandResult gone = RunWisp("delete " + url_ + " kws 2" + Token());
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("404"), std::string::npos) << gone.err;
  EXPECT_NE(gone.err.find("no version 2"), std::string::npos) << gone.err;

  CommandResult list = RunWisp("models list --json " + url_);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(json::parse(list.out)["models"][0]["versions"], json({1}));

  EXPECT_EQ(RunWisp("delete " + url_ + " kws").exit_code, 2);
  EXPECT_EQ(RunWisp("delete " + url_ + " kws 0" + Token()).exit_code, 2);
  CommandResult bad_name = RunWisp("delete " + url_ + " ../etc 1" + Token());
  EXPECT_EQ(bad_name.exit_code, 1);
  EXPECT_NE(bad_name.err.find("'../etc'"), std::string::npos) << bad_name.err;
}

// The operator's rollout commands and the device's pull: `wisp channel --percent` stages,
// `wisp pull` reports that the version it got loads, `--abort` ends it.
TEST_F(RegistryCliTest, ChannelStagesARolloutAndPullReportsTheLoad) {
  ASSERT_EQ(Publish("kws", "mlperf_tiny_kws_dscnn_int8.tflite", "stable"), 1);
  ASSERT_EQ(Publish("kws", "mlperf_tiny_kws_dscnn_float.tflite", ""), 2);
  CommandResult staged =
      RunWisp("channel " + url_ + " kws stable 2 --percent 100 --max-error-rate 0.5" + Token());
  ASSERT_EQ(staged.exit_code, 0) << staged.err;
  EXPECT_EQ(json::parse(staged.out)["action"], "stage_rollout");
  EXPECT_EQ(json::parse(staged.out)["rollout"]["max_error_rate"], 0.5);

  const std::string cache = dir_ / "cache";
  CommandResult pulled = RunWisp("pull " + url_ + " kws --json --dir " + cache);
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_EQ(json::parse(pulled.out)["version"], 2);  // 100%: every client
  client::HttpClient http(Ok(client::ServerUrl::Parse(url_)), 10000);
  json ch = json::parse(Ok(http.Request("GET", "/v1/models/kws/channels/stable", {}, "")).body);
  ASSERT_TRUE(ch.contains("rollout")) << ch.dump();
  EXPECT_EQ(ch["rollout"]["reports"]["2"]["loads"], 1) << ch.dump();
  EXPECT_EQ(ch["rollout"]["reports"]["2"]["load_errors"], 0);

  EXPECT_EQ(RunWisp("channel " + url_ + " kws stable --percent 10" + Token()).exit_code, 1);
  CommandResult aborted = RunWisp("channel " + url_ + " kws stable --abort" + Token());
  ASSERT_EQ(aborted.exit_code, 0) << aborted.err;
  EXPECT_EQ(json::parse(aborted.out)["rollout"]["state"], "aborted");
  CommandResult back = RunWisp("pull " + url_ + " kws --json --dir " + cache);
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(json::parse(back.out)["version"], 1);
  CommandResult none = RunWisp("channel " + url_ + " kws stable --abort" + Token());
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no rollout"), std::string::npos) << none.err;
}

// wisp-server names its version and, like `wisp`, exits 2 on a usage error.
TEST(ServerCli, VersionAndUsageErrors) {
  auto run = [](const std::string& args, std::string* out) {
    FILE* p = ::popen((std::string(WISP_SERVER_BINARY) + " " + args + " 2>/dev/null").c_str(), "r");
    char buf[256];
    for (size_t n; p && (n = std::fread(buf, 1, sizeof(buf), p)) > 0;) out->append(buf, n);
    const int status = p ? ::pclose(p) : -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  std::string out;
  EXPECT_EQ(run("--version", &out), 0);
  EXPECT_EQ(out.rfind("wisp-server ", 0), 0u) << out;
  std::string ignored;
  EXPECT_EQ(run("--no-such-flag", &ignored), 2);
}

}  // namespace
}  // namespace wisp::server::testing
