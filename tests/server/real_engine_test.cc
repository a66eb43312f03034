// wisp-server with the real runtime engine, over HTTP on 127.0.0.1: publishing a real .tflite
// (converted and validated on publish), refusing a corrupt one, and server-side inference that
// reproduces the reference runtime's golden output bit for bit.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "native/client/client.h"
#include "tests/server/test_util.h"

namespace wisp::server::testing {
namespace {

using client::HttpClient;
using client::HttpResponse;
using client::ServerUrl;
using json = nlohmann::json;

std::string Shared(const std::string& rel) {
  const char* env = std::getenv("WISP_SHARED");
  return std::string(env ? env : "../shared") + "/" + rel;
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

HttpResponse Call(const std::string& url, const std::string& method, const std::string& target,
                  const std::string& body = "", client::Headers headers = {}) {
  HttpClient c(Ok(ServerUrl::Parse(url)), 60000);
  return Ok(c.Request(method, target, headers, body));
}

TEST(RealEngineTest, PublishesConvertsAndPredictsLikeTheReference) {
  const std::string model = ReadAll(Shared("models/mlperf_tiny_vww_96_int8.tflite"));
  const std::string input = ReadAll(Shared("goldens/mlperf_tiny_vww_96_int8/cat.input0.bin"));
  const std::string golden = ReadAll(Shared("goldens/mlperf_tiny_vww_96_int8/cat.output0.bin"));
  ASSERT_FALSE(model.empty());
  ASSERT_EQ(input.size(), 96u * 96 * 3);

  TempDir d;
  WriteText(d / "tokens", std::string(kToken) + "\n");
  ServerProcess p(WISP_SERVER_BINARY, {"--port", "0", "--data", d / "data", "--token-file",
                                       d / "tokens", "--threads", "2", "--quiet"});
  ASSERT_NE(p.port(), 0) << "wisp-server did not print its port";
  const client::Headers auth = {{"Authorization", std::string("Bearer ") + kToken},
                                {"Content-Type", "application/octet-stream"}};

  EXPECT_EQ(Call(p.url(), "GET", "/readyz").status, 200u);

  // A corrupt model is refused with a reason and nothing is stored.
  std::string corrupt = model.substr(0, model.size() / 2);
  HttpResponse bad = Call(p.url(), "POST", "/v1/models/vww/versions", corrupt, auth);
  EXPECT_EQ(bad.status, 400u) << bad.body;
  EXPECT_FALSE(bad.ErrorMessage().empty());
  EXPECT_EQ(Call(p.url(), "GET", "/v1/models/vww").status, 404u);

  HttpResponse pub = Call(p.url(), "POST", "/v1/models/vww/versions", model, auth);
  ASSERT_EQ(pub.status, 201u) << pub.body;
  json manifest = json::parse(pub.body);
  const int64_t version = manifest["version"];
  EXPECT_EQ(manifest["inputs"][0]["dtype"], "int8");
  EXPECT_EQ(manifest["inputs"][0]["shape"], json({1, 96, 96, 3}));

  // The stored artifact is a .wisp (converted on publish).
  HttpResponse art =
      Call(p.url(), "GET", "/v1/models/vww/versions/" + std::to_string(version) + "/model.wisp");
  ASSERT_EQ(art.status, 200u);
  ASSERT_GE(art.body.size(), 8u);
  EXPECT_EQ(art.body.substr(4, 4), "WISP");

  // Raw binary inference reproduces the golden bytes.
  HttpResponse raw =
      Call(p.url(), "POST", "/v1/models/vww/versions/" + std::to_string(version) + ":predict",
           input, {{"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(raw.status, 200u) << raw.body;
  EXPECT_EQ(raw.body, golden);

  // Concurrent predictions (the engine keeps a pool of interpreters sharing packed weights):
  // four clients, two different golden inputs, every answer equal to its golden. Bounded count.
  {
    const std::string input2 = ReadAll(Shared("goldens/mlperf_tiny_vww_96_int8/squat.input0.bin"));
    const std::string golden2 =
        ReadAll(Shared("goldens/mlperf_tiny_vww_96_int8/squat.output0.bin"));
    ASSERT_EQ(input2.size(), input.size());
    const std::string target = "/v1/models/vww/versions/" + std::to_string(version) + ":predict";
    std::atomic<int> wrong{0}, failed{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c) {
      clients.emplace_back([&, c] {
        Result<ServerUrl> u = ServerUrl::Parse(p.url());
        if (!u.ok()) return failed.fetch_add(1), void();
        HttpClient client(*u, 60000);
        for (int i = 0; i < 25; ++i) {
          const bool second = (c + i) % 2 == 1;
          Result<HttpResponse> r =
              client.Request("POST", target, {{"Content-Type", "application/octet-stream"}},
                             second ? input2 : input);
          if (!r.ok() || r->status != 200) {
            failed.fetch_add(1);
            continue;
          }
          if (r->body != (second ? golden2 : golden)) wrong.fetch_add(1);
        }
      });
    }
    for (std::thread& t : clients) t.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(wrong.load(), 0) << "concurrent predictions returned another request's output";
  }

  // TF Serving style JSON: {"instances": [...]} -> {"predictions": [...]}.
  json instance = json::array();
  for (int y = 0; y < 96; ++y) {
    json row = json::array();
    for (int x = 0; x < 96; ++x) {
      json px = json::array();
      for (int c = 0; c < 3; ++c) px.push_back(static_cast<int8_t>(input[(y * 96 + x) * 3 + c]));
      row.push_back(px);
    }
    instance.push_back(row);
  }
  json req = {{"instances", json::array({instance})}};
  HttpResponse js =
      Call(p.url(), "POST", "/v1/models/vww/versions/" + std::to_string(version) + ":predict",
           req.dump(), {{"Content-Type", "application/json"}});
  ASSERT_EQ(js.status, 200u) << js.body;
  json pred = json::parse(js.body)["predictions"];
  ASSERT_EQ(pred.size(), 1u);
  std::string flat = pred[0].dump();
  EXPECT_NE(flat.find(std::to_string(static_cast<int8_t>(golden[1]))), std::string::npos) << flat;

  // The same through TF Serving's unversioned path in the columnar format: the output with its
  // batch dimension, equal to the row answer's prediction.
  HttpResponse col = Call(p.url(), "POST", "/v1/models/vww:predict",
                          json{{"inputs", json::array({instance})}}.dump(),
                          {{"Content-Type", "application/json"}});
  ASSERT_EQ(col.status, 200u) << col.body;
  EXPECT_EQ(json::parse(col.body)["outputs"], json::array({pred[0]}));
  // TF Serving's metadata of the real model: int8 tensors with their quantization.
  json md = json::parse(Call(p.url(), "GET", "/v1/models/vww/metadata").body);
  const json& input0 =
      md["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"].begin().value();
  EXPECT_EQ(input0["dtype"], "DT_INT8") << md.dump();
  EXPECT_EQ(input0["tensor_shape"]["dim"][1]["size"], "96");
  EXPECT_EQ(input0["quantization"]["scale"].size(), 1u);

  // "values": "real": real numbers in, quantized with the input's scale and zero point (the
  // golden input, dequantized, comes back to the same bytes), dequantized outputs back.
  {
    const float in_scale = manifest["inputs"][0]["quantization"]["scale"][0];
    const int64_t in_zp = manifest["inputs"][0]["quantization"]["zero_point"][0];
    const float out_scale = manifest["outputs"][0]["quantization"]["scale"][0];
    const int64_t out_zp = manifest["outputs"][0]["quantization"]["zero_point"][0];
    json real_instance = json::array();
    for (int y = 0; y < 96; ++y) {
      json row = json::array();
      for (int x = 0; x < 96; ++x) {
        json px = json::array();
        for (int c = 0; c < 3; ++c) {
          const int q = static_cast<int8_t>(input[(y * 96 + x) * 3 + c]);
          px.push_back(static_cast<double>(q - in_zp) * in_scale);
        }
        row.push_back(px);
      }
      real_instance.push_back(row);
    }
    HttpResponse real =
        Call(p.url(), "POST", "/v1/models/vww:predict",
             json{{"instances", json::array({real_instance})}, {"values", "real"}}.dump(),
             {{"Content-Type", "application/json"}});
    ASSERT_EQ(real.status, 200u) << real.body;
    json values = json::parse(real.body)["predictions"][0];
    ASSERT_EQ(values.size(), golden.size());
    for (size_t i = 0; i < golden.size(); ++i) {
      const float want = static_cast<float>(static_cast<int8_t>(golden[i]) - out_zp) * out_scale;
      EXPECT_FLOAT_EQ(values[i].get<float>(), want) << i;
    }
    HttpResponse bad_values =
        Call(p.url(), "POST", "/v1/models/vww:predict", R"({"values": "fuzzy", "instances": [0]})",
             {{"Content-Type", "application/json"}});
    EXPECT_EQ(bad_values.status, 400u) << bad_values.body;
    EXPECT_NE(bad_values.body.find("fuzzy"), std::string::npos) << bad_values.body;
  }

  // A wrong-size binary body is a 400 naming the size.
  HttpResponse wrong =
      Call(p.url(), "POST", "/v1/models/vww/versions/" + std::to_string(version) + ":predict",
           "abc", {{"Content-Type", "application/octet-stream"}});
  EXPECT_EQ(wrong.status, 400u) << wrong.body;

  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), 0);
}

std::string RunCli(const std::string& args, int* exit_code) {
  std::string out;
  FILE* f = popen((std::string(WISP_CLI_BINARY) + " " + args + " 2>&1").c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  const int status = pclose(f);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// The operator and edge-device commands of the CLI against the real server.
// The manifest's "metadata": what a published .tflite says about itself (its TFLite Metadata,
// kept by the importer), from the publish reply, the version manifest and the model document.
TEST(RealEngineTest, ManifestsDescribeTheModelFromItsMetadata) {
  const std::string model = ReadAll(Shared("models/mobilenet_v1_0.25_128_quant.tflite"));
  ASSERT_FALSE(model.empty());
  TempDir d;
  WriteText(d / "tokens", std::string(kToken) + "\n");
  ServerProcess p(WISP_SERVER_BINARY, {"--port", "0", "--data", d / "data", "--token-file",
                                       d / "tokens", "--threads", "1", "--quiet"});
  ASSERT_NE(p.port(), 0) << "wisp-server did not print its port";
  const client::Headers auth = {{"Authorization", std::string("Bearer ") + kToken},
                                {"Content-Type", "application/octet-stream"}};
  HttpResponse pub = Call(p.url(), "POST", "/v1/models/mbv1/versions", model, auth);
  ASSERT_EQ(pub.status, 201u) << pub.body;
  const json manifest = json::parse(pub.body);
  HttpResponse again = Call(p.url(), "GET", "/v1/models/mbv1/versions/1");
  ASSERT_EQ(again.status, 200u) << again.body;
  HttpResponse doc = Call(p.url(), "GET", "/v1/models/mbv1");
  ASSERT_EQ(doc.status, 200u) << doc.body;
  for (const json& m : {manifest, json::parse(again.body), json::parse(doc.body)["versions"][0]}) {
    const json& md = m["metadata"];
    EXPECT_EQ(md["name"], "ImageClassifier") << m.dump();
    EXPECT_EQ(md["description"],
              "Identify the most prominent object in the image from a known set of categories.");
    EXPECT_EQ(md["labels"], 1001);
    EXPECT_EQ(md["labels_source"], "imagenet_labels.txt (output 0)");
    EXPECT_EQ(md["input_range"], "-1,1");
  }
  // A model without metadata: the registry name, no labels.
  HttpResponse vww = Call(p.url(), "POST", "/v1/models/vww/versions",
                          ReadAll(Shared("models/mlperf_tiny_vww_96_int8.tflite")), auth);
  ASSERT_EQ(vww.status, 201u) << vww.body;
  EXPECT_EQ(json::parse(vww.body)["metadata"]["labels"], 0);
  EXPECT_EQ(json::parse(vww.body)["metadata"]["name"], "vww");
}

TEST(RealEngineTest, CliPublishChannelAndPull) {
  TempDir d;
  WriteText(d / "tokens", std::string(kToken) + "\n");
  WriteText(d / "token", std::string(kToken) + "\n");
  ServerProcess p(WISP_SERVER_BINARY, {"--port", "0", "--data", d / "data", "--token-file",
                                       d / "tokens", "--threads", "2", "--quiet"});
  ASSERT_NE(p.port(), 0);
  int code = -1;
  const std::string token = " --token-file " + d / "token";
  std::string out =
      RunCli("publish " + p.url() + " " + Shared("models/mlperf_tiny_ad01_int8.tflite") +
                 " --name ad --channel stable" + token,
             &code);
  ASSERT_EQ(code, 0) << out;
  out = RunCli("publish " + p.url() + " " + Shared("models/mlperf_tiny_ad01_float.tflite") +
                   " --name ad" + token,
               &code);
  ASSERT_EQ(code, 0) << out;

  out = RunCli("pull " + p.url() + " ad --dir " + d / "cache", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("version 1 downloaded"), std::string::npos) << out;
  out = RunCli("pull " + p.url() + " ad --dir " + d / "cache", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("up to date"), std::string::npos) << out;

  out = RunCli("channel " + p.url() + " ad stable 2" + token, &code);
  ASSERT_EQ(code, 0) << out;
  out = RunCli("pull " + p.url() + " ad --dir " + d / "cache", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("version 2 downloaded"), std::string::npos) << out;
  EXPECT_NE(out.find("previous version 1"), std::string::npos) << out;

  // The pulled artifact runs.
  out = RunCli("run " + d / "cache" + "/ad/v2/model.wisp --random 1", &code);
  EXPECT_EQ(code, 0) << out;

  // A bad token is refused with a non-zero exit and a message.
  out = RunCli("channel " + p.url() + " ad stable 1 --token nope", &code);
  EXPECT_NE(code, 0);
  EXPECT_FALSE(out.empty());
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), 0);
}

}  // namespace
}  // namespace wisp::server::testing
