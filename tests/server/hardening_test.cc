// Hostile requests found by an outside probe (issue 11): each is refused with the right status and
// a message naming the problem, and the server stays up. The predict JSON parser is also called
// in-process.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "native/server/registry.h"
#include "native/server/util.h"
#include "tests/server/test_util.h"

namespace wisp::server::testing {
namespace {

using client::Headers;
using client::HttpResponse;
using json = nlohmann::json;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// --- Over HTTP ---

TEST(HardeningTest, InvalidUtf8LabelsAndTensorNamesStoreNothing) {
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xf0\x9f\x98\x80 plain"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("caf\xc3"));           // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  TestServer ts;
  ExpectError(Do(ts.url, "POST", "/v1/models/m/versions?label=%FF%FE", Auth(), FakeModel(100, 1)),
              400, "invalid_label", "UTF-8");
  Headers h = Auth();
  h.emplace_back("X-Wisp-Label", "caf\xc3");
  ExpectError(Do(ts.url, "POST", "/v1/models/m/versions", h, FakeModel(100, 1)), 400,
              "invalid_label", "UTF-8");
  EXPECT_FALSE(std::filesystem::exists(ts.dir / "data/models/m"));
  EXPECT_TRUE(std::filesystem::is_empty(ts.dir / "data/tmp"));
  ExpectError(Do(ts.url, "GET", "/v1/models/m"), 404, "model_not_found");

  // Tensor names come from the model file; the registry refuses them before writing anything.
  TempDir d;
  Registry reg(d / "data", nullptr);
  std::string error;
  std::vector<std::string> log;
  ASSERT_TRUE(reg.Open(&error, &log)) << error;
  ValidatedModel vm;
  std::string bytes = FakeModel(100, 1);
  vm.wisp_bytes.assign(bytes.begin(), bytes.end());
  vm.inputs = {TensorSpec{"x\xff", "float32", {1, 4}, {}, {}}};
  vm.outputs = {TensorSpec{"y", "float32", {1, 4}, {}, {}}};
  VersionInfo info;
  RegistryError err;
  EXPECT_FALSE(reg.Publish("m", vm, "", &info, &err));
  EXPECT_EQ(err.status, 400);
  EXPECT_EQ(err.code, "invalid_model");
  EXPECT_FALSE(std::filesystem::exists(d / "data/models/m"));
  EXPECT_TRUE(std::filesystem::is_empty(d / "data/tmp"));
  EXPECT_EQ(reg.Get("m"), nullptr);
}

TEST(HardeningTest, CorruptArtifactIsRefusedOnFirstRead) {
  TestServer ts;
  std::string model = FakeModel(1000, 1);
  ASSERT_EQ(Do(ts.url, "POST", "/v1/models/m/versions", Auth(), model).status, 201u);
  ASSERT_EQ(Do(ts.url, "POST", "/v1/models/m/versions", Auth(), model).status, 201u);
  // Served once while intact: the verified copy is cached and stays correct.
  EXPECT_EQ(Do(ts.url, "GET", "/v1/models/m/versions/1/model.wisp").body, model);
  ts.server->Stop();
  // One byte changed behind the server's back, size unchanged (so start-up does not notice).
  for (int v : {1, 2}) {
    std::string path = ts.dir / ("data/models/m/versions/" + std::to_string(v) + "/model.wisp");
    std::string bytes = Slurp(path);
    bytes[500] ^= 0x01;
    WriteText(path, bytes);
  }
  ts.Start();
  auto get = Do(ts.url, "GET", "/v1/models/m/versions/1/model.wisp");
  ExpectError(get, 500, "artifact_corrupt", "m/versions/1/model.wisp");
  EXPECT_EQ(get.Header("etag"), "");
  ExpectError(Do(ts.url, "GET", "/v1/models/m/versions/1/model.wisp", {{"Range", "bytes=0-9"}}),
              500, "artifact_corrupt");
  // Predict refuses to run it either (version 2 was never read before the damage).
  ExpectError(
      Do(ts.url, "POST", "/v1/models/m/versions/2:predict", {}, R"({"instances": [[1, 2, 3, 4]]})"),
      500, "artifact_corrupt", "m/versions/2/model.wisp");
  // The manifest is still served (it is not the artifact), and a new publish works.
  EXPECT_EQ(Do(ts.url, "GET", "/v1/models/m/versions/1").status, 200u);
  ASSERT_EQ(Do(ts.url, "POST", "/v1/models/m/versions", Auth(), model).status, 201u);
  EXPECT_EQ(Do(ts.url, "GET", "/v1/models/m/versions/3/model.wisp").body, model);
}

}  // namespace
}  // namespace wisp::server::testing
