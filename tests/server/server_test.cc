// wisp-server over real HTTP on 127.0.0.1 (ephemeral ports), with FakeModelEngine.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "native/common/chunker.h"
#include "native/common/util.h"
#include "native/server/config.h"
#include "native/server/metrics.h"
#include "tests/server/test_util.h"

namespace wisp::server::testing {
namespace {

using client::Headers;
using client::HttpClient;
using client::HttpResponse;
using client::ServerUrl;
using json = nlohmann::json;

HttpResponse PublishRaw(const std::string& url, const std::string& name, const std::string& body,
                        const std::string& query = "") {
  return Do(url, "POST", "/v1/models/" + name + "/versions" + query, Auth(), body);
}

json PublishOk(const std::string& url, const std::string& name, const std::string& body,
               const std::string& query = "") {
  HttpResponse r = PublishRaw(url, name, body, query);
  EXPECT_EQ(r.status, 201u) << r.body;
  return json::parse(r.body, nullptr, false);
}

TEST(ServerTest, HealthReadyMetrics) {
  TestServer ts;
  auto h = Do(ts.url, "GET", "/healthz");
  EXPECT_EQ(h.status, 200u);
  EXPECT_EQ(json::parse(h.body)["status"], "ok");
  auto r = Do(ts.url, "GET", "/readyz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(json::parse(r.body)["engine"], "fake");
  auto m = Do(ts.url, "GET", "/metrics");
  EXPECT_EQ(m.status, 200u);
  EXPECT_NE(
      m.body.find("wisp_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1"),
      std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("wisp_inference_seconds_bucket"), std::string::npos);
  EXPECT_NE(m.body.find("wisp_models_loaded 0"), std::string::npos);
  EXPECT_NE(m.body.find("wisp_http_response_bytes_total"), std::string::npos);
  auto head = Do(ts.url, "HEAD", "/healthz");
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.Header("content-length"), "16");
  EXPECT_TRUE(head.body.empty());
}

TEST(ServerTest, PublishManifestListAndArtifact) {
  TestServer ts;
  std::string model = FakeModel(5000, 1);
  auto r = PublishRaw(ts.url, "mobilenet", model, "?label=first%20try");
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(r.Header("location"), "/v1/models/mobilenet/versions/1");
  json m = json::parse(r.body);
  EXPECT_EQ(m["name"], "mobilenet");
  EXPECT_EQ(m["version"], 1);
  EXPECT_EQ(m["label"], "first try");
  EXPECT_EQ(m["size"], 5000);
  EXPECT_EQ(m["sha256"], Sha256Hex(model));
  EXPECT_EQ(m["sri"], "sha256-" + Base64Encode(Sha256Raw(model)));
  EXPECT_EQ(m["download_url"], "/v1/models/mobilenet/versions/1/model.wisp");
  EXPECT_FALSE(m["created"].get<std::string>().empty());
  ASSERT_EQ(m["inputs"].size(), 1u);
  EXPECT_EQ(m["inputs"][0]["name"], "x");
  EXPECT_EQ(m["inputs"][0]["dtype"], "float32");
  EXPECT_EQ(m["inputs"][0]["shape"], json::array({1, 4}));
  EXPECT_EQ(m["outputs"][0]["name"], "y");
  EXPECT_FALSE(m.contains("signature"));

  auto list = json::parse(Do(ts.url, "GET", "/v1/models").body);
  ASSERT_EQ(list["models"].size(), 1u);
  EXPECT_EQ(list["models"][0]["name"], "mobilenet");
  EXPECT_EQ(list["models"][0]["latest_version"], 1);

  auto detail = Do(ts.url, "GET", "/v1/models/mobilenet");
  EXPECT_EQ(detail.status, 200u);
  json d = json::parse(detail.body);
  EXPECT_EQ(d["versions"].size(), 1u);
  EXPECT_EQ(d["versions"][0]["sha256"], m["sha256"]);

  auto man = Do(ts.url, "GET", "/v1/models/mobilenet/versions/1");
  EXPECT_EQ(man.status, 200u);
  EXPECT_EQ(json::parse(man.body), m);
  EXPECT_FALSE(man.Header("etag").empty());
  auto man304 =
      Do(ts.url, "GET", "/v1/models/mobilenet/versions/1", {{"If-None-Match", man.Header("etag")}});
  EXPECT_EQ(man304.status, 304u);

  auto art = Do(ts.url, "GET", "/v1/models/mobilenet/versions/1/model.wisp");
  EXPECT_EQ(art.status, 200u);
  EXPECT_EQ(art.body, model);
  EXPECT_EQ(art.Header("etag"), "\"" + Sha256Hex(model) + "\"");
  EXPECT_EQ(art.Header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(art.Header("content-length"), "5000");
  EXPECT_EQ(art.Header("accept-ranges"), "bytes");
  EXPECT_EQ(art.Header("content-type"), "application/octet-stream");

  // A second publish gets the next version; the first is unchanged.
  json m2 = PublishOk(ts.url, "mobilenet", FakeModel(3000, 2));
  EXPECT_EQ(m2["version"], 2);
  EXPECT_EQ(Do(ts.url, "GET", "/v1/models/mobilenet/versions/1/model.wisp").body, model);

  // .tflite uploads are converted by the engine; the manifest describes the stored bytes.
  std::string tfl = "FAKETFL3" + model.substr(8);
  json m3 = PublishOk(ts.url, "mobilenet", tfl);
  EXPECT_EQ(m3["sha256"], Sha256Hex(model));
}

TEST(ServerTest, ConditionalAndRangeRequests) {
  TestServer ts;
  std::string model = FakeModel(10000, 3);
  PublishOk(ts.url, "m", model);
  const std::string t = "/v1/models/m/versions/1/model.wisp";
  const std::string etag = "\"" + Sha256Hex(model) + "\"";

  auto nm = Do(ts.url, "GET", t, {{"If-None-Match", etag}});
  EXPECT_EQ(nm.status, 304u);
  EXPECT_TRUE(nm.body.empty());
  EXPECT_EQ(nm.Header("etag"), etag);
  EXPECT_EQ(Do(ts.url, "GET", t, {{"If-None-Match", "\"other\", " + etag}}).status, 304u);
  EXPECT_EQ(Do(ts.url, "GET", t, {{"If-None-Match", "\"other\""}}).status, 200u);

  auto r = Do(ts.url, "GET", t, {{"Range", "bytes=100-199"}});
  EXPECT_EQ(r.status, 206u);
  EXPECT_EQ(r.body, model.substr(100, 100));
  EXPECT_EQ(r.Header("content-range"), "bytes 100-199/10000");
  EXPECT_EQ(r.Header("content-length"), "100");
  // RFC 9530: the whole artifact's digest on full and partial replies alike.
  const std::string repr = "sha-256=:" + Base64Encode(Sha256Raw(model)) + ":";
  EXPECT_EQ(r.Header("repr-digest"), repr);
  EXPECT_EQ(Do(ts.url, "GET", t).Header("repr-digest"), repr);

  auto open = Do(ts.url, "GET", t, {{"Range", "bytes=9000-"}});
  EXPECT_EQ(open.status, 206u);
  EXPECT_EQ(open.body, model.substr(9000));

  auto suffix = Do(ts.url, "GET", t, {{"Range", "bytes=-10"}});
  EXPECT_EQ(suffix.status, 206u);
  EXPECT_EQ(suffix.body, model.substr(9990));

  auto past_end = Do(ts.url, "GET", t, {{"Range", "bytes=9990-20000"}});
  EXPECT_EQ(past_end.status, 206u);
  EXPECT_EQ(past_end.body, model.substr(9990));

  auto bad = Do(ts.url, "GET", t, {{"Range", "bytes=10000-"}});
  ExpectError(bad, 416, "range_not_satisfiable");
  EXPECT_EQ(bad.Header("content-range"), "bytes */10000");

  // Multi-range is not supported: the whole body is sent (allowed by RFC 9110).
  auto multi = Do(ts.url, "GET", t, {{"Range", "bytes=0-1,5-6"}});
  EXPECT_EQ(multi.status, 200u);
  EXPECT_EQ(multi.body, model);

  // If-Range with a different validator: full body.
  auto ifr = Do(ts.url, "GET", t, {{"Range", "bytes=0-9"}, {"If-Range", "\"stale\""}});
  EXPECT_EQ(ifr.status, 200u);
  auto ifr_ok = Do(ts.url, "GET", t, {{"Range", "bytes=0-9"}, {"If-Range", etag}});
  EXPECT_EQ(ifr_ok.status, 206u);

  // A resumed download: first half, then the rest, reassembles to the artifact.
  auto first = Do(ts.url, "GET", t, {{"Range", "bytes=0-4999"}});
  auto rest = Do(ts.url, "GET", t, {{"Range", "bytes=5000-"}, {"If-Range", etag}});
  EXPECT_EQ(first.body + rest.body, model);

  auto head = Do(ts.url, "HEAD", t);
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.Header("content-length"), "10000");
}

TEST(ServerTest, PrecompressedGzip) {
  TestServer ts;
  std::string model = FakeModel(200000, 4, /*compressible=*/true);
  json m = PublishOk(ts.url, "gz", model);
  EXPECT_TRUE(m.contains("gzip_size"));
  const std::string t = "/v1/models/gz/versions/1/model.wisp";
  auto g = Do(ts.url, "GET", t, {{"Accept-Encoding", "br, gzip"}});
  EXPECT_EQ(g.status, 200u);
  EXPECT_EQ(g.Header("content-encoding"), "gzip");
  EXPECT_NE(g.Header("vary").find("Accept-Encoding"), std::string::npos);
  EXPECT_LT(g.body.size(), model.size() / 10);
  EXPECT_EQ(Ok(GzipDecompress(g.body)), model);
  // The selected representation is the gzip-coded one: its digest, not the model's.
  EXPECT_EQ(g.Header("repr-digest"), "sha-256=:" + Base64Encode(Sha256Raw(g.body)) + ":");
  auto gz304 =
      Do(ts.url, "GET", t, {{"Accept-Encoding", "gzip"}, {"If-None-Match", g.Header("etag")}});
  EXPECT_EQ(gz304.status, 304u);
  // Refused encodings and range requests get identity.
  EXPECT_EQ(Do(ts.url, "GET", t, {{"Accept-Encoding", "gzip;q=0"}}).Header("content-encoding"), "");
  EXPECT_EQ(Do(ts.url, "GET", t).body, model);
  auto rg = Do(ts.url, "GET", t, {{"Accept-Encoding", "gzip"}, {"Range", "bytes=0-9"}});
  EXPECT_EQ(rg.status, 206u);
  EXPECT_EQ(rg.Header("content-encoding"), "");
  EXPECT_EQ(rg.body, model.substr(0, 10));
  // Incompressible models have no gzip copy.
  json m2 = PublishOk(ts.url, "gz", FakeModel(20000, 5));
  EXPECT_FALSE(m2.contains("gzip_size"));
  EXPECT_EQ(Do(ts.url, "GET", "/v1/models/gz/versions/2/model.wisp", {{"Accept-Encoding", "gzip"}})
                .Header("content-encoding"),
            "");
}

TEST(ServerTest, VersionManifestsListChunksForDeltaUpdates) {
  TestServer ts;
  const std::string model = FakeModel(3 << 20, 21);
  PublishOk(ts.url, "cdc", model, "?channel=stable");
  auto expect_chunks = [&](const json& m) {
    ASSERT_TRUE(m.contains("chunking")) << m.dump();
    EXPECT_EQ(m["chunking"]["algorithm"], common::kChunkingAlgorithm);
    const json& list = m["chunking"]["chunks"];
    std::vector<common::Chunk> want = common::ChunkData(model);
    ASSERT_EQ(list.size(), want.size());
    EXPECT_GT(want.size(), 20u);  // about 64 KiB each
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(list[i], json::array({want[i].offset, want[i].size, want[i].sha256})) << i;
      EXPECT_EQ(want[i].sha256, Sha256Hex(model.substr(want[i].offset, want[i].size)));
    }
  };
  json m = json::parse(Do(ts.url, "GET", "/v1/models/cdc/versions/1").body);
  expect_chunks(m);
  // The lists and channel manifests stay small: they link to the version manifest instead.
  json doc = json::parse(Do(ts.url, "GET", "/v1/models/cdc").body);
  EXPECT_FALSE(doc["versions"][0].contains("chunking"));
  json ch = json::parse(Do(ts.url, "GET", "/v1/models/cdc/channels/stable").body);
  EXPECT_FALSE(ch.contains("chunking"));
  EXPECT_EQ(ch["manifest_url"], "/v1/models/cdc/versions/1");

  // Persisted in index.json: the same list after a restart.
  const std::string index = ts.cfg.data_dir + "/models/cdc/index.json";
  ts.Restart();
  expect_chunks(json::parse(Do(ts.url, "GET", "/v1/models/cdc/versions/1").body));
  // An index from before chunk lists (or with a list that does not tile the artifact) still loads;
  // its versions have no list, and clients download them whole.
  json stored = json::parse(Ok(ReadFileText(index)));
  stored["versions"][0].erase("chunks");
  WriteText(index, stored.dump());
  ts.Restart();
  json old = json::parse(Do(ts.url, "GET", "/v1/models/cdc/versions/1").body);
  EXPECT_EQ(old["sha256"], Sha256Hex(model));
  EXPECT_FALSE(old.contains("chunking"));
  stored["versions"][0]["chunks"] = json::array({json::array({0, 100, std::string(64, 'a')})});
  WriteText(index, stored.dump());
  ts.Restart();
  EXPECT_FALSE(
      json::parse(Do(ts.url, "GET", "/v1/models/cdc/versions/1").body).contains("chunking"));
}

TEST(ServerTest, ArtifactBytesSentAreCounted) {
  TestServer ts;
  const std::string model = FakeModel(300000, 22);
  const std::string text = FakeModel(200000, 23, /*compressible=*/true);
  PublishOk(ts.url, "bytes", model);
  PublishOk(ts.url, "bytes", text);
  const std::string t1 = "/v1/models/bytes/versions/1/model.wisp";
  const std::string t2 = "/v1/models/bytes/versions/2/model.wisp";
  EXPECT_EQ(ArtifactBytesSent(ts, 0), 0u);
  EXPECT_EQ(Do(ts.url, "GET", t1).body.size(), model.size());
  uint64_t want = model.size();
  EXPECT_EQ(ArtifactBytesSent(ts, want), want);
  auto part = Do(ts.url, "GET", t1, {{"Range", "bytes=1000-1999"}});
  EXPECT_EQ(part.status, 206u);
  want += 1000;
  EXPECT_EQ(ArtifactBytesSent(ts, want), want);
  auto gz = Do(ts.url, "GET", t2, {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(gz.Header("content-encoding"), "gzip");
  want += gz.body.size();
  EXPECT_EQ(ArtifactBytesSent(ts, want), want);
  // No body, no bytes: HEAD, 304, 416, errors and manifests.
  EXPECT_EQ(Do(ts.url, "HEAD", t1).status, 200u);
  EXPECT_EQ(Do(ts.url, "GET", t1, {{"If-None-Match", "\"" + Sha256Hex(model) + "\""}}).status,
            304u);
  EXPECT_EQ(Do(ts.url, "GET", t1, {{"Range", "bytes=999999-"}}).status, 416u);
  EXPECT_EQ(Do(ts.url, "GET", "/v1/models/bytes/versions/9/model.wisp").status, 404u);
  EXPECT_EQ(Do(ts.url, "GET", "/v1/models/bytes/versions/1").status, 200u);
  EXPECT_EQ(ArtifactBytesSent(ts, want), want);
  std::string metrics = Do(ts.url, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("wisp_artifact_bytes_sent_total " + std::to_string(want) + "\n"),
            std::string::npos)
      << metrics;
}

TEST(ServerTest, ChannelsMoveRollbackAndRevalidate) {
  TestServer ts([](ServerConfig& c) { c.channel_max_age_s = 7; });
  PublishOk(ts.url, "m", FakeModel(100, 1));
  PublishOk(ts.url, "m", FakeModel(100, 2));
  const std::string ch = "/v1/models/m/channels/stable";
  ExpectError(Do(ts.url, "GET", ch), 404, "channel_not_found");

  auto put = Do(ts.url, "PUT", ch, Auth(), R"({"version": 1})");
  EXPECT_EQ(put.status, 200u) << put.body;
  EXPECT_EQ(json::parse(put.body)["previous_version"], nullptr);
  auto g1 = Do(ts.url, "GET", ch);
  EXPECT_EQ(g1.status, 200u);
  json j1 = json::parse(g1.body);
  EXPECT_EQ(j1["version"], 1);
  EXPECT_EQ(j1["channel"], "stable");
  EXPECT_EQ(g1.Header("cache-control"), "public, max-age=7");
  EXPECT_EQ(Do(ts.url, "GET", ch, {{"If-None-Match", g1.Header("etag")}}).status, 304u);

  auto put2 = Do(ts.url, "PUT", ch, Auth(), R"({"version": 2})");
  EXPECT_EQ(json::parse(put2.body)["previous_version"], 1);
  auto g2 = Do(ts.url, "GET", ch, {{"If-None-Match", g1.Header("etag")}});
  EXPECT_EQ(g2.status, 200u);
  EXPECT_EQ(json::parse(g2.body)["version"], 2);
  EXPECT_NE(g2.Header("etag"), g1.Header("etag"));

  // Rollback is a channel move.
  EXPECT_EQ(Do(ts.url, "PUT", ch, Auth(), R"({"version": 1})").status, 200u);
  EXPECT_EQ(json::parse(Do(ts.url, "GET", ch).body)["version"], 1);
  auto model = json::parse(Do(ts.url, "GET", "/v1/models/m").body);
  EXPECT_EQ(model["channels"]["stable"], 1);

  ExpectError(Do(ts.url, "PUT", ch, Auth(), R"({"version": 9})"), 404, "version_not_found");
  ExpectError(Do(ts.url, "PUT", ch, Auth(), R"({"version": )"), 400, "malformed_json");
  ExpectError(Do(ts.url, "PUT", ch, Auth(), R"({"v": 1})"), 400, "bad_request");
  ExpectError(Do(ts.url, "PUT", ch, Auth(), R"({"version": "1"})"), 400, "bad_request");
  ExpectError(Do(ts.url, "PUT", "/v1/models/nope/channels/stable", Auth(), R"({"version": 1})"),
              404, "model_not_found");
  ExpectError(Do(ts.url, "PUT", "/v1/models/m/channels/.bad", Auth(), R"({"version": 1})"), 400,
              "invalid_name");

  // Publish straight into a channel.
  json m3 = PublishOk(ts.url, "m", FakeModel(100, 3), "?channel=canary");
  EXPECT_EQ(json::parse(Do(ts.url, "GET", "/v1/models/m/channels/canary").body)["version"],
            m3["version"]);
  EXPECT_EQ(Do(ts.url, "DELETE", "/v1/models/m/channels/canary", Auth()).status, 204u);
  ExpectError(Do(ts.url, "GET", "/v1/models/m/channels/canary"), 404, "channel_not_found");
}

TEST(ServerTest, DeleteUnreferencedVersionsOnly) {
  TestServer ts;
  PublishOk(ts.url, "m", FakeModel(100, 1));
  PublishOk(ts.url, "m", FakeModel(100, 2));
  ASSERT_EQ(Do(ts.url, "PUT", "/v1/models/m/channels/stable", Auth(), R"({"version": 2})").status,
            200u);
  ExpectError(Do(ts.url, "DELETE", "/v1/models/m/versions/2", Auth()), 409, "version_in_use");
  EXPECT_EQ(Do(ts.url, "DELETE", "/v1/models/m/versions/1", Auth()).status, 204u);
  ExpectError(Do(ts.url, "GET", "/v1/models/m/versions/1"), 404, "version_not_found");
  ExpectError(Do(ts.url, "GET", "/v1/models/m/versions/1/model.wisp"), 404, "version_not_found");
  ExpectError(Do(ts.url, "DELETE", "/v1/models/m/versions/1", Auth()), 404, "version_not_found");
  EXPECT_FALSE(std::filesystem::exists(ts.dir / "data/models/m/versions/1"));
  // Version numbers are never reused, also across restarts.
  EXPECT_EQ(PublishOk(ts.url, "m", FakeModel(100, 3))["version"], 3);
  ts.Restart();
  EXPECT_EQ(PublishOk(ts.url, "m", FakeModel(100, 4))["version"], 4);
}

TEST(ServerTest, TokensGuardWrites) {
  TestServer ts;
  std::string model = FakeModel(100, 1);
  ExpectError(Do(ts.url, "POST", "/v1/models/m/versions", {}, model), 401, "unauthorized");
  auto wrong =
      Do(ts.url, "POST", "/v1/models/m/versions", {{"Authorization", "Bearer nope"}}, model);
  ExpectError(wrong, 401, "unauthorized");
  EXPECT_EQ(wrong.Header("www-authenticate"), "Bearer");
  ExpectError(Do(ts.url, "POST", "/v1/models/m/versions",
                 {{"Authorization", std::string("Basic ") + kToken}}, model),
              401, "unauthorized");
  // A token that is a prefix of the real one is not enough.
  ExpectError(
      Do(ts.url, "POST", "/v1/models/m/versions", {{"Authorization", "Bearer test-token"}}, model),
      401, "unauthorized");
  ExpectError(Do(ts.url, "GET", "/v1/models/m"), 404, "model_not_found");  // nothing stored
  PublishOk(ts.url, "m", model);
  ExpectError(Do(ts.url, "PUT", "/v1/models/m/channels/stable", {}, R"({"version": 1})"), 401,
              "unauthorized");
  ExpectError(Do(ts.url, "DELETE", "/v1/models/m/versions/1", {}), 401, "unauthorized");
  // Reads are public by default.
  EXPECT_EQ(Do(ts.url, "GET", "/v1/models/m/versions/1/model.wisp").status, 200u);
}

// Scoped tokens (issue 12): each write endpoint checks the token's scope for the model; a valid
// token without it is 403 naming the token and the model, no token or an unknown one 401.
TEST(ServerTest, ScopedTokensLimitWhatEachTokenMayWrite) {
  TempDir td;
  WriteText(td / "tokens",
            "# scoped tokens\n"
            "vision-bot sha256:" +
                HexEncode(Sha256Raw("vision-secret")) +
                " publish:vision-* channel:vision-*\n"
                "janitor janitor-secret delete:*\n"
                "reader sha256:" +
                HexEncode(Sha256Raw("reader-secret")) + " read\n" + kToken + "\n");
  TestServer ts([&](ServerConfig& c) { c.token_file = td / "tokens"; });
  auto as = [](const char* secret) {
    return client::Headers{{"Authorization", std::string("Bearer ") + secret}};
  };
  const std::string model = FakeModel(100, 1);
  // publish:vision-* publishes vision-1 and nothing else.
  EXPECT_EQ(Do(ts.url, "POST", "/v1/models/vision-1/versions", as("vision-secret"), model).status,
            201u);
  EXPECT_EQ(Do(ts.url, "POST", "/v1/models/vision-1/versions", as("vision-secret"), model).status,
            201u);
  auto other = Do(ts.url, "POST", "/v1/models/audio-1/versions", as("vision-secret"), model);
  ExpectError(other, 403, "forbidden");
  EXPECT_NE(other.body.find("vision-bot"), std::string::npos) << other.body;
  EXPECT_NE(other.body.find("audio-1"), std::string::npos) << other.body;
  ExpectError(Do(ts.url, "GET", "/v1/models/audio-1"), 404, "model_not_found");  // nothing stored
  // The legacy plain line is admin.
  EXPECT_EQ(Do(ts.url, "POST", "/v1/models/audio-1/versions", Auth(), model).status, 201u);
  // channel:vision-* moves vision channels only; it cannot delete versions.
  EXPECT_EQ(Do(ts.url, "PUT", "/v1/models/vision-1/channels/stable", as("vision-secret"),
               R"({"version": 1})")
                .status,
            200u);
  ExpectError(Do(ts.url, "PUT", "/v1/models/audio-1/channels/stable", as("vision-secret"),
                 R"({"version": 1})"),
              403, "forbidden");
  ExpectError(Do(ts.url, "DELETE", "/v1/models/vision-1/versions/2", as("vision-secret")), 403,
              "forbidden");
  // delete:* deletes versions and does nothing else.
  ExpectError(Do(ts.url, "POST", "/v1/models/vision-1/versions", as("janitor-secret"), model), 403,
              "forbidden");
  ExpectError(Do(ts.url, "DELETE", "/v1/models/vision-1/channels/stable", as("janitor-secret")),
              403, "forbidden");
  EXPECT_EQ(Do(ts.url, "DELETE", "/v1/models/vision-1/versions/2", as("janitor-secret")).status,
            204u);
  // read may write nothing; unknown tokens are 401 with the challenge.
  ExpectError(Do(ts.url, "POST", "/v1/models/vision-1/versions", as("reader-secret"), model), 403,
              "forbidden");
  auto unknown = Do(ts.url, "POST", "/v1/models/vision-1/versions", as("vision-secre"), model);
  ExpectError(unknown, 401, "unauthorized");
  EXPECT_EQ(unknown.Header("www-authenticate"), "Bearer");
  // What was refused stored nothing: vision-1 has versions 1 (2 deleted), audio-1 version 1.
  json m = json::parse(Do(ts.url, "GET", "/v1/models/vision-1").body);
  EXPECT_EQ(m["latest_version"], 1) << m.dump();
  EXPECT_EQ(m["channels"], json::parse(R"({"stable": 1})"));
}

// The audit log: one JSON line per write, allowed or refused (time, token id, client address,
// action, model, versions, result), in <data>/audit.log; GET /v1/audit pages through it for admin
// tokens only.
TEST(ServerTest, AuditLogRecordsEveryWrite) {
  TempDir td;
  WriteText(td / "tokens", "vision-bot vision-secret publish:vision-* channel:vision-*\n" +
                               std::string(kToken) + "\n");
  TestServer ts([&](ServerConfig& c) { c.token_file = td / "tokens"; });
  const client::Headers vision = {{"Authorization", "Bearer vision-secret"}};
  const std::string model = FakeModel(100, 1);
  ASSERT_EQ(Do(ts.url, "POST", "/v1/models/vision-1/versions", vision, model).status, 201u);
  ASSERT_EQ(Do(ts.url, "POST", "/v1/models/vision-1/versions", Auth(), model).status, 201u);
  ASSERT_EQ(
      Do(ts.url, "PUT", "/v1/models/vision-1/channels/stable", vision, R"({"version": 1})").status,
      200u);
  ASSERT_EQ(
      Do(ts.url, "PUT", "/v1/models/vision-1/channels/stable", vision, R"({"version": 2})").status,
      200u);
  ASSERT_EQ(Do(ts.url, "DELETE", "/v1/models/vision-1/versions/1", Auth()).status, 204u);
  ASSERT_EQ(Do(ts.url, "DELETE", "/v1/models/vision-1/channels/stable", Auth()).status, 204u);
  ASSERT_EQ(Do(ts.url, "POST", "/v1/models/audio/versions", vision, model).status, 403u);
  ASSERT_EQ(Do(ts.url, "DELETE", "/v1/models/vision-1/versions/2", {}).status, 401u);
  ASSERT_EQ(Do(ts.url, "DELETE", "/v1/models/vision-1/versions/9", Auth()).status, 404u);
  // Reads and predictions are not audited.
  Do(ts.url, "GET", "/v1/models/vision-1");
  Do(ts.url, "POST", "/v1/models/vision-1/versions/2:predict", {}, R"({"instances": [[1,2,3,4]]})");

  std::vector<json> lines;
  {
    std::ifstream in(ts.cfg.data_dir + "/audit.log");
    std::string line;
    while (std::getline(in, line)) lines.push_back(json::parse(line));
  }
  ASSERT_EQ(lines.size(), 9u);
  const std::string admin_id = "sha256:" + HexEncode(Sha256Raw(kToken).substr(0, 4));
  auto expect = [&](size_t i, const char* action, const std::string& token, unsigned status,
                    const char* result) {
    SCOPED_TRACE(lines[i].dump());
    EXPECT_EQ(lines[i]["action"], action);
    EXPECT_EQ(lines[i]["token"], token);
    EXPECT_EQ(lines[i]["status"], status);
    EXPECT_EQ(lines[i]["result"], result);
    EXPECT_EQ(lines[i]["client"], "127.0.0.1");
    EXPECT_TRUE(ParseRfc3339(lines[i]["time"].get<std::string>().substr(0, 19) + "Z").ok());
  };
  expect(0, "publish", "vision-bot", 201, "ok");
  EXPECT_EQ(lines[0]["model"], "vision-1");
  EXPECT_EQ(lines[0]["version"], 1);
  expect(1, "publish", admin_id, 201, "ok");
  EXPECT_EQ(lines[1]["version"], 2);
  expect(2, "set_channel", "vision-bot", 200, "ok");
  EXPECT_EQ(lines[2]["channel"], "stable");
  EXPECT_EQ(lines[2]["version"], 1);
  expect(3, "set_channel", "vision-bot", 200, "ok");
  EXPECT_EQ(lines[3]["version"], 2);
  EXPECT_EQ(lines[3]["previous_version"], 1);
  expect(4, "delete_version", admin_id, 204, "ok");
  EXPECT_EQ(lines[4]["version"], 1);
  expect(5, "delete_channel", admin_id, 204, "ok");
  expect(6, "publish", "vision-bot", 403, "forbidden");
  EXPECT_EQ(lines[6]["model"], "audio");
  expect(7, "delete_version", "-", 401, "unauthorized");
  expect(8, "delete_version", admin_id, 404, "version_not_found");

  // GET /v1/audit: admin only, in pages.
  ExpectError(Do(ts.url, "GET", "/v1/audit"), 401, "unauthorized");
  ExpectError(Do(ts.url, "GET", "/v1/audit", vision), 403, "forbidden");
  json page = json::parse(Do(ts.url, "GET", "/v1/audit?limit=4", Auth()).body);
  ASSERT_EQ(page["entries"].size(), 4u);
  EXPECT_EQ(page["entries"][0], lines[0]);
  EXPECT_EQ(page["next"], 4);
  page = json::parse(Do(ts.url, "GET", "/v1/audit?after=4&limit=10", Auth()).body);
  ASSERT_EQ(page["entries"].size(), 5u);
  EXPECT_EQ(page["entries"][4], lines[8]);
  EXPECT_TRUE(page["next"].is_null());
  ExpectError(Do(ts.url, "GET", "/v1/audit?after=x", Auth()), 400, "bad_request");
}

TEST(ServerTest, PrivateReadsAndNoTokens) {
  TestServer priv([](ServerConfig& c) { c.public_reads = false; });
  PublishOk(priv.url, "m", FakeModel(100, 1));
  ExpectError(Do(priv.url, "GET", "/v1/models"), 401, "unauthorized");
  ExpectError(Do(priv.url, "GET", "/v1/models/m/versions/1/model.wisp"), 401, "unauthorized");
  ExpectError(
      Do(priv.url, "POST", "/v1/models/m/versions/1:predict", {}, R"({"instances":[[1,2,3,4]]})"),
      401, "unauthorized");
  EXPECT_EQ(Do(priv.url, "GET", "/v1/models", Auth()).status, 200u);
  EXPECT_EQ(Do(priv.url, "GET", "/healthz").status, 200u);
  ExpectError(Do(priv.url, "GET", "/metrics"), 401, "unauthorized");

  TestServer none([](ServerConfig& c) { c.token_file.clear(); });
  ExpectError(Do(none.url, "POST", "/v1/models/m/versions", Auth(), FakeModel(100, 1)), 403,
              "forbidden");
}

TEST(ServerTest, NamesAndTraversalAreValidated) {
  TestServer ts;
  for (const char* bad :
       {"/v1/models/..", "/v1/models/%2e%2e", "/v1/models/a%2fb",
        "/v1/models/m/versions/..%2f..%2f..%2fetc%2fpasswd", "/v1/models/%00", "/v1/models/%zz"}) {
    auto r = Do(ts.url, "GET", bad);
    EXPECT_EQ(r.status, 400u) << bad << " " << r.body;
  }
  ExpectError(Do(ts.url, "GET", "/v1/models/.hidden"), 400, "invalid_name");
  ExpectError(Do(ts.url, "GET", "/v1/models/" + std::string(65, 'a')), 400, "invalid_name");
  ExpectError(Do(ts.url, "POST", "/v1/models/-x/versions", Auth(), FakeModel(100, 1)), 400,
              "invalid_name");
  ExpectError(Do(ts.url, "GET", "/v1/models/m/versions/01"), 400, "invalid_version");
  ExpectError(Do(ts.url, "GET", "/v1/models/m/versions/-1"), 400, "invalid_version");
  ExpectError(Do(ts.url, "GET", "/v1/models/m/versions/1x/model.wisp"), 400, "invalid_version");
  ExpectError(Do(ts.url, "GET", "/v1/nothing"), 404, "not_found");
  ExpectError(Do(ts.url, "GET", "/index.html"), 404, "not_found");  // no --web
  ExpectError(Do(ts.url, "PATCH", "/v1/models"), 405, "method_not_allowed");
  // A raw request with ".." segments never reaches the file system.
  std::string raw = RawExchange(
      ts.server->port(),
      "GET /v1/models/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(raw.find("400 Bad Request"), std::string::npos) << raw;
  EXPECT_EQ(std::string(64, 'a').size(), 64u);
  EXPECT_EQ(PublishRaw(ts.url, std::string(64, 'a'), FakeModel(100, 1)).status, 201u);
}

TEST(ServerTest, OversizedBodiesAreRefused) {
  TestServer ts([](ServerConfig& c) { c.max_body_bytes = 4096; });
  ExpectError(PublishRaw(ts.url, "m", FakeModel(5000, 1)), 413, "payload_too_large");
  EXPECT_EQ(PublishRaw(ts.url, "m", FakeModel(4000, 1)).status, 201u);
  // Chunked bodies are counted as they arrive.
  std::string chunk(3000, 'x');
  char hex[16];
  std::snprintf(hex, sizeof(hex), "%zx", chunk.size());
  std::string req =
      std::string("POST /v1/models/m/versions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") +
      kToken + "\r\nTransfer-Encoding: chunked\r\n\r\n" + hex + "\r\n" + chunk + "\r\n" + hex +
      "\r\n" + chunk + "\r\n0\r\n\r\n";
  std::string out = RawExchange(ts.server->port(), req);
  EXPECT_NE(out.find("413"), std::string::npos) << out;
  // An announced size over the limit is refused before the body is sent.
  bool closed = false;
  std::string early = RawExchange(
      ts.server->port(),
      std::string("POST /v1/models/m/versions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") +
          kToken + "\r\nContent-Length: 100000000\r\n\r\n",
      std::chrono::milliseconds(3000), &closed);
  EXPECT_NE(early.find("413"), std::string::npos) << early;
  EXPECT_TRUE(closed);
}

TEST(ServerTest, CorruptModelsAndDigestsAreRejected) {
  TestServer ts;
  auto r = PublishRaw(ts.url, "m", "this is not a model at all");
  ExpectError(r, 400, "invalid_model");
  EXPECT_NE(r.body.find("bad magic"), std::string::npos);
  ExpectError(PublishRaw(ts.url, "m", ""), 400, "empty_body");
  ExpectError(Do(ts.url, "GET", "/v1/models/m"), 404, "model_not_found");
  EXPECT_FALSE(std::filesystem::exists(ts.dir / "data/models/m"));
  EXPECT_TRUE(std::filesystem::is_empty(ts.dir / "data/tmp"));

  std::string model = FakeModel(1000, 1);
  Headers h = Auth();
  h.emplace_back("Content-SHA256", std::string(64, '0'));
  ExpectError(Do(ts.url, "POST", "/v1/models/m/versions", h, model), 400, "digest_mismatch");
  h = Auth();
  h.emplace_back("Content-SHA256", Sha256Hex(model));
  h.emplace_back("Digest", "sha-256=" + Base64Encode(Sha256Raw(model)));
  EXPECT_EQ(Do(ts.url, "POST", "/v1/models/m/versions", h, model).status, 201u);
  h = Auth();
  h.emplace_back("Digest", "sha-256=" + Base64Encode(Sha256Raw("other")));
  ExpectError(Do(ts.url, "POST", "/v1/models/m/versions", h, model), 400, "digest_mismatch");
}

TEST(ServerTest, UnknownModelsAre404) {
  TestServer ts;
  ExpectError(Do(ts.url, "GET", "/v1/models/ghost"), 404, "model_not_found");
  ExpectError(Do(ts.url, "GET", "/v1/models/ghost/versions/1"), 404, "model_not_found");
  ExpectError(Do(ts.url, "GET", "/v1/models/ghost/versions/1/model.wisp"), 404, "model_not_found");
  ExpectError(Do(ts.url, "GET", "/v1/models/ghost/channels/stable"), 404, "model_not_found");
  ExpectError(
      Do(ts.url, "POST", "/v1/models/ghost/versions/1:predict", {}, R"({"instances":[[1,2,3,4]]})"),
      404, "model_not_found");
  ExpectError(Do(ts.url, "POST", "/v1/models/ghost/channels/stable:predict", {}, "{}"), 404,
              "model_not_found");
  ExpectError(Do(ts.url, "DELETE", "/v1/models/ghost/versions/1", Auth()), 404, "model_not_found");
}

TEST(ServerTest, PredictJsonAndRaw) {
  TestServer ts;
  PublishOk(ts.url, "m", FakeModel(100, 1), "?channel=stable");
  auto r =
      Do(ts.url, "POST", "/v1/models/m/versions/1:predict", {{"Content-Type", "application/json"}},
         R"({"instances": [[1, 2, 3, 4], [0.5, 0, -1, 10]]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  json p = json::parse(r.body);
  EXPECT_EQ(p["predictions"], json::parse("[[2,4,6,8],[1,0,-2,20]]"));
  EXPECT_EQ(r.Header("x-wisp-model-version"), "1");
  // Named inputs and the batch dimension spelled out.
  auto named = Do(ts.url, "POST", "/v1/models/m/channels/stable:predict", {},
                  R"({"instances": [{"x": [[1, 1, 1, 1]]}]})");
  ASSERT_EQ(named.status, 200u) << named.body;
  EXPECT_EQ(json::parse(named.body)["predictions"], json::parse("[[2,2,2,2]]"));
  // Raw binary tensors.
  float in[4] = {1.5f, 2, 3, 4};
  std::string body(reinterpret_cast<char*>(in), 16);
  auto raw = Do(ts.url, "POST", "/v1/models/m/versions/1:predict",
                {{"Content-Type", "application/octet-stream"}}, body);
  ASSERT_EQ(raw.status, 200u) << raw.body;
  EXPECT_EQ(raw.Header("content-type"), "application/octet-stream");
  EXPECT_EQ(raw.Header("x-wisp-dtype"), "float32");
  EXPECT_EQ(raw.Header("x-wisp-shape"), "1,4");
  ASSERT_EQ(raw.body.size(), 16u);
  float out[4];
  std::memcpy(out, raw.body.data(), 16);
  EXPECT_EQ(out[0], 3.0f);
  EXPECT_EQ(out[3], 8.0f);
  ExpectError(Do(ts.url, "POST", "/v1/models/m/versions/1:predict",
                 {{"Content-Type", "application/octet-stream"}}, "short"),
              400, "bad_request");
  // Errors.
  ExpectError(Do(ts.url, "POST", "/v1/models/m/versions/1:predict", {}, "{not json"), 400,
              "malformed_json");
  ExpectError(
      Do(ts.url, "POST", "/v1/models/m/versions/1:predict", {}, R"({"instances": [[1, 2, 3]]})"),
      400, "bad_request");
  ExpectError(Do(ts.url, "POST", "/v1/models/m/versions/1:predict", {},
                 R"({"instances": [[1, [2], 3, 4]]})"),
              400, "bad_request");
  ExpectError(Do(ts.url, "POST", "/v1/models/m/versions/1:predict", {}, R"({"inputs": 1})"), 400,
              "bad_request");
  ExpectError(
      Do(ts.url, "POST", "/v1/models/m/versions/7:predict", {}, R"({"instances": [[1,2,3,4]]})"),
      404, "version_not_found");
  ExpectError(Do(ts.url, "GET", "/v1/models/m/versions/1:predict"), 405, "method_not_allowed");
  auto metrics = Do(ts.url, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("wisp_inference_seconds_count 4"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("wisp_models_loaded 1"), std::string::npos);
}

// TF Serving's REST paths answered as TF Serving documents them: model status and metadata
// (https://www.tensorflow.org/tfx/serving/api_rest), predict without a version (the stable
// channel, else the latest version) and by label (a channel), rows and columns.
TEST(ServerTest, TfServingRestApi) {
  TestServer ts;
  PublishOk(ts.url, "m", FakeModel(100, 1), "?channel=stable");
  PublishOk(ts.url, "m", FakeModel(100, 2));
  PublishOk(ts.url, "n", FakeModel(100, 3));  // no channel: its latest version is the default

  // GetModelStatus: every version, newest first, beside Wisp's own fields.
  json status = json::parse(Do(ts.url, "GET", "/v1/models/m").body);
  ASSERT_EQ(status["model_version_status"].size(), 2u) << status.dump();
  EXPECT_EQ(status["model_version_status"][0], json::parse(R"({"version": "2", "state": "AVAILABLE",
                            "status": {"error_code": "OK", "error_message": ""}})"));
  EXPECT_EQ(status["model_version_status"][1]["version"], "1");
  EXPECT_EQ(status["latest_version"], 2);
  json v1 = json::parse(Do(ts.url, "GET", "/v1/models/m/versions/1").body);
  ASSERT_EQ(v1["model_version_status"].size(), 1u);
  EXPECT_EQ(v1["model_version_status"][0]["version"], "1");
  EXPECT_EQ(v1["model_version_status"][0]["state"], "AVAILABLE");
  // A label is a channel: the same document as the channel's.
  auto label = Do(ts.url, "GET", "/v1/models/m/labels/stable");
  ASSERT_EQ(label.status, 200u) << label.body;
  EXPECT_EQ(label.body, Do(ts.url, "GET", "/v1/models/m/channels/stable").body);
  EXPECT_EQ(json::parse(label.body)["model_version_status"][0]["version"], "1");
  ExpectError(Do(ts.url, "GET", "/v1/models/m/labels/canary"), 404, "channel_not_found");

  // GetModelMetadata: the serving_default signature with TF dtypes and shapes.
  auto md = Do(ts.url, "GET", "/v1/models/m/metadata");
  ASSERT_EQ(md.status, 200u) << md.body;
  json meta = json::parse(md.body);
  EXPECT_EQ(meta["model_spec"],
            json::parse(R"({"name": "m", "signature_name": "", "version": "1"})"));
  const json& sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"];
  EXPECT_EQ(sig["method_name"], "tensorflow/serving/predict");
  EXPECT_EQ(sig["inputs"]["x"]["dtype"], "DT_FLOAT");
  EXPECT_EQ(sig["inputs"]["x"]["name"], "x");
  EXPECT_EQ(sig["inputs"]["x"]["tensor_shape"],
            json::parse(R"({"dim": [{"size": "1", "name": ""}, {"size": "4", "name": ""}],
                            "unknown_rank": false})"));
  EXPECT_TRUE(sig["outputs"].contains("y")) << md.body;
  EXPECT_EQ(meta["labels"], json::parse(R"(["a", "b", "c", "d"])"));
  EXPECT_EQ(
      json::parse(
          Do(ts.url, "GET", "/v1/models/m/versions/2/metadata").body)["model_spec"]["version"],
      "2");
  EXPECT_EQ(
      json::parse(
          Do(ts.url, "GET", "/v1/models/m/labels/stable/metadata").body)["model_spec"]["version"],
      "1");
  EXPECT_EQ(json::parse(Do(ts.url, "GET", "/v1/models/n/metadata").body)["model_spec"]["version"],
            "1");
  ExpectError(Do(ts.url, "GET", "/v1/models/m/versions/9/metadata"), 404, "version_not_found");
  ExpectError(Do(ts.url, "GET", "/v1/models/ghost/metadata"), 404, "model_not_found");

  // Predict without a version: the stable channel's version 1, not the latest (2).
  auto p = Do(ts.url, "POST", "/v1/models/m:predict", {}, R"({"instances": [[1, 2, 3, 4]]})");
  ASSERT_EQ(p.status, 200u) << p.body;
  EXPECT_EQ(json::parse(p.body), json::parse(R"({"predictions": [[2, 4, 6, 8]]})"));
  EXPECT_EQ(p.Header("x-wisp-model-version"), "1");
  auto latest = Do(ts.url, "POST", "/v1/models/n:predict", {}, R"({"instances": [[1, 1, 1, 1]]})");
  ASSERT_EQ(latest.status, 200u) << latest.body;
  EXPECT_EQ(latest.Header("x-wisp-model-version"), "1");
  auto by_label = Do(ts.url, "POST", "/v1/models/m/labels/stable:predict", {},
                     R"({"instances": [[0, 0, 0, 1]]})");
  ASSERT_EQ(by_label.status, 200u) << by_label.body;
  EXPECT_EQ(by_label.Header("x-wisp-model-version"), "1");
  EXPECT_EQ(json::parse(by_label.body)["predictions"], json::parse("[[0, 0, 0, 2]]"));
  ExpectError(Do(ts.url, "POST", "/v1/models/m/labels/canary:predict", {}, "{}"), 404,
              "channel_not_found");
  ExpectError(Do(ts.url, "POST", "/v1/models/ghost:predict", {}, "{}"), 404, "model_not_found");

  // The columnar format: "inputs" (by name or the single input's value, batch dimension
  // included) answered by "outputs" with the batch dimension.
  for (const char* body :
       {R"({"inputs": {"x": [[1, 2, 3, 4]]}})", R"({"inputs": [[1, 2, 3, 4]]})"}) {
    auto c = Do(ts.url, "POST", "/v1/models/m/versions/2:predict", {}, body);
    ASSERT_EQ(c.status, 200u) << c.body;
    EXPECT_EQ(json::parse(c.body), json::parse(R"({"outputs": [[2, 4, 6, 8]]})")) << body;
  }
  ExpectError(Do(ts.url, "POST", "/v1/models/m:predict", {},
                 R"({"inputs": [[1, 2, 3, 4]], "instances": [[1, 2, 3, 4]]})"),
              400, "bad_request");
  ExpectError(Do(ts.url, "GET", "/v1/models/m:predict"), 405, "method_not_allowed");
}

// TF Serving answers errors as {"error": "<message>"}; its clients read that string. Wisp does the
// same on TF Serving's paths (with its code beside it) and keeps {"error": {code, message}} on
// the registry's own paths.
TEST(ServerTest, TfServingErrorBodies) {
  TestServer ts([](ServerConfig& c) { c.public_reads = false; });
  PublishOk(ts.url, "m", FakeModel(100, 1), "?channel=stable");
  auto flat = [](const HttpResponse& r, unsigned status, const std::string& code) {
    SCOPED_TRACE(r.body);
    EXPECT_EQ(r.status, status);
    json j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object());
    ASSERT_TRUE(j["error"].is_string());
    EXPECT_FALSE(j["error"].get<std::string>().empty());
    EXPECT_EQ(j["code"], code);
    EXPECT_EQ(r.Header("content-type"), "application/json");
  };
  const client::Headers token = Auth();
  flat(Do(ts.url, "POST", "/v1/models/ghost:predict", token, "{}"), 404, "model_not_found");
  flat(Do(ts.url, "POST", "/v1/models/m/versions/9:predict", token, "{}"), 404,
       "version_not_found");
  flat(Do(ts.url, "POST", "/v1/models/m/labels/canary:predict", token, "{}"), 404,
       "channel_not_found");
  flat(Do(ts.url, "POST", "/v1/models/m:predict", token, R"({"instances": [[1, 2]]})"), 400,
       "bad_request");
  flat(Do(ts.url, "POST", "/v1/models/m/versions/1:predict", token, "{"), 400, "malformed_json");
  flat(Do(ts.url, "GET", "/v1/models/m/versions/9/metadata", token), 404, "version_not_found");
  flat(Do(ts.url, "GET", "/v1/models/m/labels/canary", token), 404, "channel_not_found");
  // Refused before routing (no token on a private server) and too large: the same shape.
  flat(Do(ts.url, "POST", "/v1/models/m:predict", {}, "{}"), 401, "unauthorized");
  flat(Do(ts.url, "POST", "/v1/models/m:predict", token, std::string(200000, ' ')), 413,
       "payload_too_large");
  // The registry's own paths keep Wisp's shape.
  for (const HttpResponse& r : {Do(ts.url, "GET", "/v1/models/m/versions/9", token),
                                Do(ts.url, "GET", "/v1/models/m/channels/canary", token),
                                Do(ts.url, "GET", "/v1/models/ghost", token)}) {
    json j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j["error"].is_object()) << r.body;
    EXPECT_FALSE(j["error"].value("code", "").empty());
  }
  // The native client reads both.
  client::HttpResponse r = Do(ts.url, "POST", "/v1/models/ghost:predict", token, "{}");
  EXPECT_NE(r.ErrorMessage().find("ghost"), std::string::npos) << r.ErrorMessage();
}

TEST(ServerTest, ConcurrentPublishesOfOneName) {
  TestServer ts([](ServerConfig& c) { c.threads = 4; });
  constexpr int kThreads = 4, kEach = 5;
  std::mutex mu;
  std::map<int64_t, std::string> acked;  // version -> sha256
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string model =
            FakeModel(20000 + static_cast<size_t>(i), static_cast<uint32_t>(t * 100 + i));
        auto r = PublishRaw(ts.url, "same", model);
        json m = json::parse(r.body, nullptr, false);
        if (r.status != 201 || m["sha256"] != Sha256Hex(model)) {
          failures++;
          continue;
        }
        std::lock_guard lock(mu);
        if (!acked.emplace(m["version"].get<int64_t>(), Sha256Hex(model)).second) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  ASSERT_EQ(acked.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(acked.begin()->first, 1);
  EXPECT_EQ(acked.rbegin()->first, kThreads * kEach);  // dense 1..N
  auto verify = [&] {
    json model = json::parse(Do(ts.url, "GET", "/v1/models/same").body);
    ASSERT_EQ(model["versions"].size(), acked.size());
    for (auto& [v, sha] : acked) {
      auto art = Do(ts.url, "GET", "/v1/models/same/versions/" + std::to_string(v) + "/model.wisp");
      EXPECT_EQ(Sha256Hex(art.body), sha) << v;
    }
  };
  verify();
  ts.Restart();
  verify();
}

TEST(ServerTest, SignedManifests) {
  TempDir keys;
  std::string key_path = keys / "signing.pem";
  {
    EVP_PKEY* pkey = nullptr;
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
    ASSERT_EQ(EVP_PKEY_keygen_init(ctx), 1);
    ASSERT_EQ(EVP_PKEY_keygen(ctx, &pkey), 1);
    FILE* f = std::fopen(key_path.c_str(), "wb");
    PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
  }
  TestServer ts([&](ServerConfig& c) { c.signing_key = key_path; });
  std::string model = FakeModel(1000, 1);
  json m = PublishOk(ts.url, "m", model, "?channel=stable");
  ASSERT_TRUE(m.contains("signature"));
  EXPECT_EQ(m["signature"]["algorithm"], "ed25519");
  json canonical = json::parse(m["signature"]["signed"].get<std::string>());
  EXPECT_EQ(canonical,
            json({{"name", "m"}, {"version", 1}, {"sha256", Sha256Hex(model)}, {"size", 1000}}));
  auto key = json::parse(Do(ts.url, "GET", "/v1/signing-key").body);
  EXPECT_EQ(key["key_id"], m["signature"]["key_id"]);
  std::string error;
  auto channel = Do(ts.url, "GET", "/v1/models/m/channels/stable").body;
  EXPECT_EQ(client::VerifyManifestSignature(channel, key["public_key"]).message(), "");
  // A mirror that swaps the digest cannot keep the signature valid.
  json tampered = json::parse(channel);
  tampered["sha256"] = std::string(64, 'f');
  EXPECT_FALSE(client::VerifyManifestSignature(tampered.dump(), key["public_key"]).ok());
  // A missing key file is a start-up error that says how to make one.
  Server s(
      [&] {
        ServerConfig c;
        c.port = 0;
        c.data_dir = keys / "d";
        c.signing_key = keys / "missing.pem";
        return c;
      }(),
      std::make_unique<FakeModelEngine>());
  Status started = s.Start();
  EXPECT_FALSE(started.ok());
  EXPECT_NE(started.message().find("openssl genpkey -algorithm ed25519"), std::string::npos)
      << started.message();
  // Servers without a key say so.
  TestServer plain;
  ExpectError(Do(plain.url, "GET", "/v1/signing-key"), 404, "no_signing_key");
}

TEST(ServerTest, ChannelSequencesExpiryAndResigning) {
  TempDir keys;
  std::string key_path = MakeSigningKey(keys.path());
  auto clock = std::make_shared<std::atomic<int64_t>>(1800000000);
  TestServer ts([&](ServerConfig& c) {
    c.signing_key = key_path;
    c.manifest_ttl_s = 100;
    c.clock = [clock] { return clock->load(); };
  });
  const std::string ch = "/v1/models/m/channels/stable";
  auto get = [&] { return json::parse(Do(ts.url, "GET", ch).body); };
  auto put = [&](int v) {
    auto r = Do(ts.url, "PUT", ch, Auth(), "{\"version\": " + std::to_string(v) + "}");
    EXPECT_EQ(r.status, 200u) << r.body;
  };
  std::string model = FakeModel(1000, 1);
  PublishOk(ts.url, "m", model, "?channel=stable");
  json c1 = get();
  EXPECT_EQ(c1["sequence"], 1);
  EXPECT_EQ(c1["expires"], Rfc3339(1800000100));
  // The signed string, byte for byte as docs/server.md shows it.
  EXPECT_EQ(c1["signature"]["signed"].get<std::string>(),
            "{\"channel\":\"stable\",\"expires\":\"" + Rfc3339(1800000100) +
                "\",\"name\":\"m\",\"sequence\":1,\"sha256\":\"" + Sha256Hex(model) +
                "\",\"size\":1000,\"version\":1}");
  std::string pub = json::parse(Do(ts.url, "GET", "/v1/signing-key").body)["public_key"];
  std::string error;
  EXPECT_EQ(client::VerifyManifestSignature(c1.dump(), pub).message(), "");
  // Version manifests keep their signed form and carry neither field.
  json v1 = json::parse(Do(ts.url, "GET", "/v1/models/m/versions/1").body);
  EXPECT_FALSE(v1.contains("sequence"));
  EXPECT_FALSE(v1.contains("expires"));

  PublishOk(ts.url, "m", FakeModel(2000, 2), "?channel=stable");
  EXPECT_EQ(get()["sequence"], 2);
  put(1);  // a rollback is a new sequence pointing at the older version
  EXPECT_EQ(get()["sequence"], 3);
  EXPECT_EQ(get()["version"], 1);
  put(1);  // no change, no new sequence
  EXPECT_EQ(get()["sequence"], 3);
  EXPECT_EQ(Do(ts.url, "DELETE", ch, Auth()).status, 204u);
  put(2);  // re-created: continues above the deleted channel's number
  EXPECT_EQ(get()["sequence"], 4);
  EXPECT_EQ(Do(ts.url, "PUT", "/v1/models/m/channels/beta", Auth(), R"({"version": 1})").status,
            200u);
  EXPECT_EQ(json::parse(Do(ts.url, "GET", "/v1/models/m/channels/beta").body)["sequence"], 1);

  ts.Restart();
  json after = get();
  EXPECT_EQ(after["sequence"], 4);
  EXPECT_EQ(after["version"], 2);

  // Re-signing: unchanged until half the lifetime has passed, then a new expiry, same sequence.
  std::string etag = Do(ts.url, "GET", ch).Header("etag");
  clock->fetch_add(50);
  EXPECT_EQ(Do(ts.url, "GET", ch).Header("etag"), etag);
  clock->fetch_add(1);
  auto renewed = Do(ts.url, "GET", ch);
  EXPECT_NE(renewed.Header("etag"), etag);
  json r = json::parse(renewed.body);
  EXPECT_EQ(r["expires"], Rfc3339(1800000151));
  EXPECT_EQ(r["sequence"], 4);
  EXPECT_EQ(client::VerifyManifestSignature(renewed.body, pub).message(), "");
}

TEST(ServerTest, Cors) {
  TestServer ts([](ServerConfig& c) { c.cors_origins = {"https://app.example"}; });
  auto r = Do(ts.url, "GET", "/v1/models", {{"Origin", "https://app.example"}});
  EXPECT_EQ(r.Header("access-control-allow-origin"), "https://app.example");
  EXPECT_NE(r.Header("access-control-expose-headers").find("ETag"), std::string::npos);
  EXPECT_EQ(Do(ts.url, "GET", "/v1/models", {{"Origin", "https://evil.example"}})
                .Header("access-control-allow-origin"),
            "");
  auto pre = Do(ts.url, "OPTIONS", "/v1/models/m/versions",
                {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(pre.status, 204u);
  EXPECT_NE(pre.Header("access-control-allow-methods").find("POST"), std::string::npos);
  EXPECT_NE(pre.Header("access-control-allow-headers").find("Authorization"), std::string::npos);
  // Errors carry CORS headers too, so browsers can read them.
  auto err = Do(ts.url, "GET", "/v1/models/ghost", {{"Origin", "https://app.example"}});
  EXPECT_EQ(err.status, 404u);
  EXPECT_EQ(err.Header("access-control-allow-origin"), "https://app.example");
  TestServer any([](ServerConfig& c) { c.cors_origins = {"*"}; });
  EXPECT_EQ(Do(any.url, "GET", "/healthz", {{"Origin", "https://x"}})
                .Header("access-control-allow-origin"),
            "*");
}

TEST(ServerTest, StaticWebFiles) {
  TempDir outside;
  WriteText(outside / "secret.txt", "secret");
  TestServer ts([&](ServerConfig& c) {
    std::string web = outside / "web";
    WriteText(web + "/index.html", "<html>demo</html>");
    WriteText(web + "/wisp.wasm", std::string("\0asm\1\0\0\0", 8));
    WriteText(web + "/js/app.js", "console.log(1)");
    WriteText(web + "/sub/index.html", "sub");
    WriteText(web + "/.env", "hidden");
    std::filesystem::create_symlink(outside / "secret.txt", web + "/link.txt");
    c.web_dir = web;
  });
  auto idx = Do(ts.url, "GET", "/");
  EXPECT_EQ(idx.status, 200u);
  EXPECT_EQ(idx.body, "<html>demo</html>");
  EXPECT_EQ(idx.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(Do(ts.url, "GET", "/sub/").body, "sub");
  auto wasm = Do(ts.url, "GET", "/wisp.wasm");
  EXPECT_EQ(wasm.status, 200u);
  EXPECT_EQ(wasm.Header("content-type"), "application/wasm");
  EXPECT_EQ(wasm.Header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(Do(ts.url, "GET", "/wisp.wasm", {{"If-None-Match", wasm.Header("etag")}}).status, 304u);
  auto js = Do(ts.url, "GET", "/js/app.js");
  EXPECT_EQ(js.Header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.Header("cache-control"), "no-cache");
  ExpectError(Do(ts.url, "GET", "/missing.js"), 404, "not_found");
  ExpectError(Do(ts.url, "GET", "/.env"), 404, "not_found");
  ExpectError(Do(ts.url, "GET", "/link.txt"), 404, "not_found");  // symlink out of the root
  EXPECT_EQ(Do(ts.url, "GET", "/%2e%2e/secret.txt").status, 400u);
  std::string raw = RawExchange(
      ts.server->port(), "GET /../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw.find("secret\r\n"), std::string::npos);
  EXPECT_EQ(raw.find("\r\n\r\nsecret"), std::string::npos);
  ExpectError(Do(ts.url, "POST", "/index.html", {}, "x"), 405, "method_not_allowed");
  // The API still works next to the static files.
  EXPECT_EQ(Do(ts.url, "GET", "/v1/models").status, 200u);
}

TEST(ServerTest, SlowClientsTimeOutAndKeepAliveWorks) {
  TestServer ts([](ServerConfig& c) {
    c.header_timeout_ms = 300;
    c.body_timeout_ms = 300;
  });
  // Two pipelined requests on one connection: two responses.
  std::string two = RawExchange(ts.server->port(),
                                "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz "
                                "HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  size_t first = two.find("HTTP/1.1 200");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(two.find("HTTP/1.1 200", first + 1), std::string::npos);
  // A header that never completes: the server hangs up after the header timeout.
  auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  RawExchange(ts.server->port(),
              "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", std::chrono::milliseconds(3000),
              &closed);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(closed);
  EXPECT_LT(elapsed, std::chrono::milliseconds(2000));
  // A body that never completes.
  t0 = std::chrono::steady_clock::now();
  RawExchange(
      ts.server->port(),
      std::string("POST /v1/models/m/versions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") +
          kToken + "\r\nContent-Length: 1000\r\n\r\nFAKEWISP",
      std::chrono::milliseconds(3000), &closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2000));
  // Garbage is a 400.
  std::string junk = RawExchange(ts.server->port(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_NE(junk.find("400"), std::string::npos) << junk;
  EXPECT_EQ(Do(ts.url, "GET", "/healthz").status, 200u);
}

TEST(ServerTest, GracefulStopFinishesInFlightRequests) {
  TestServer ts;
  PublishOk(ts.url, "m", FakeModel(100, 1));
  // An idle keep-alive connection must not hold up the stop.
  const ServerUrl u = Ok(ServerUrl::Parse(ts.url));
  HttpClient idle(u);
  ASSERT_TRUE(idle.Request("GET", "/healthz", {}, "").ok());
  HttpResponse slow;
  std::thread t([&] {
    slow = Do(ts.url, "POST", "/v1/models/m/versions/1:predict", {},
              R"({"instances": [[999, 1, 1, 1]]})");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto t0 = std::chrono::steady_clock::now();
  ts.server->Stop();
  auto elapsed = std::chrono::steady_clock::now() - t0;
  t.join();
  EXPECT_EQ(slow.status, 200u) << slow.body;
  EXPECT_LT(elapsed, std::chrono::milliseconds(3000));
  // Not accepting any more.
  HttpClient after(u, 1000);
  EXPECT_FALSE(after.Request("GET", "/healthz", {}, "").ok());
}

TEST(ServerTest, StopGivesUpAfterTheGracePeriod) {
  auto ts = std::make_unique<TestServer>([](ServerConfig& c) { c.shutdown_grace_ms = 50; });
  PublishOk(ts->url, "m", FakeModel(100, 1));
  std::thread t([&] {
    HttpClient c(Ok(ServerUrl::Parse(ts->url)), 5000);
    // Either answered or cut off; it must not hang.
    (void)c.Request("POST", "/v1/models/m/versions/1:predict", {},
                    R"({"instances": [[999, 1, 1, 1]]})");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto t0 = std::chrono::steady_clock::now();
  ts->server->Stop();
  ts.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2000));
  t.join();
}

TEST(ServerTest, StartupRecoveryRemovesLeftoversAndRefusesCorruptArtifacts) {
  TestServer ts;
  std::string good = FakeModel(1000, 1), bad = FakeModel(1000, 2);
  PublishOk(ts.url, "m", good);
  PublishOk(ts.url, "m", bad);
  ts.server->Stop();
  // Leftovers of crashes at different moments, plus on-disk damage.
  WriteText(ts.dir / "data/tmp/abc.wisp", "half an upload");
  WriteText(ts.dir / "data/models/m/versions/3/model.wisp", "uncommitted");
  WriteText(ts.dir / "data/models/m/.tmp-index.json-123", "{half");
  WriteText(ts.dir / "data/models/m/versions/2/model.wisp", FakeModel(1000, 99));  // bit rot
  std::filesystem::create_directories(ts.dir /
                                      "data/models/fresh/versions/1");  // first publish cut
  ts.Start();
  EXPECT_TRUE(std::filesystem::is_empty(ts.dir / "data/tmp"));
  EXPECT_FALSE(std::filesystem::exists(ts.dir / "data/models/m/versions/3"));
  EXPECT_FALSE(std::filesystem::exists(ts.dir / "data/models/m/.tmp-index.json-123"));
  EXPECT_FALSE(std::filesystem::exists(ts.dir / "data/models/fresh"));
  EXPECT_EQ(Do(ts.url, "GET", "/v1/models/m/versions/1/model.wisp").body, good);
  // Start-up trusts the index (no re-hashing); the digest check on first read refuses the rot.
  ExpectError(Do(ts.url, "GET", "/v1/models/m/versions/2/model.wisp"), 500, "artifact_corrupt");
  // The damaged version's number is still not reused.
  EXPECT_EQ(PublishOk(ts.url, "m", FakeModel(100, 3))["version"], 3);
}

TEST(ServerTest, OnlyOneServerPerDataDirectory) {
  TestServer ts;
  Server second(ts.cfg, std::make_unique<FakeModelEngine>());
  Status started = second.Start();
  EXPECT_EQ(started.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(started.message().find("in use"), std::string::npos) << started.message();
}

TEST(ServerConfigTest, FlagsAndConfigFiles) {
  TempDir d;
  WriteText(d / "c.json", R"({"port": 0, "data": "/tmp/x", "threads": 3, "public-reads": false,
                             "cors-origins": ["https://a", "https://b"], "max-body-bytes": 1234})");
  WriteText(d / "c.ini", "port=9999\naddress=0.0.0.0\npublic-reads=true\n");
  auto parse = [](std::vector<std::string> args, ServerConfig* cfg) {
    std::vector<char*> argv;
    static std::string prog = "wisp-server";
    argv.push_back(prog.data());
    for (auto& a : args) argv.push_back(a.data());
    int code = 0;
    return ParseServerConfig(static_cast<int>(argv.size()), argv.data(), cfg, &code);
  };
  ServerConfig a;
  ASSERT_TRUE(parse({"--config", d / "c.json"}, &a));
  EXPECT_EQ(a.port, 0);
  EXPECT_EQ(a.data_dir, "/tmp/x");
  EXPECT_EQ(a.threads, 3u);
  EXPECT_FALSE(a.public_reads);
  EXPECT_EQ(a.cors_origins, (std::vector<std::string>{"https://a", "https://b"}));
  EXPECT_EQ(a.max_body_bytes, 1234u);
  ServerConfig b;
  ASSERT_TRUE(parse({"--config", d / "c.ini", "--threads", "2"}, &b));
  EXPECT_EQ(b.port, 9999);
  EXPECT_EQ(b.address, "0.0.0.0");
  EXPECT_EQ(b.threads, 2u);
  ServerConfig c;
  ASSERT_TRUE(parse({"--cors-origins", "https://x,https://y", "--public-reads", "false"}, &c));
  EXPECT_EQ(c.cors_origins.size(), 2u);
  EXPECT_FALSE(c.public_reads);
  EXPECT_EQ(c.manifest_ttl_s, 7 * 86400);
  ServerConfig ttl;
  ASSERT_TRUE(parse({"--manifest-ttl", "12h"}, &ttl));
  EXPECT_EQ(ttl.manifest_ttl_s, 12 * 3600);
  ASSERT_TRUE(parse({"--manifest-ttl", "90"}, &ttl));
  EXPECT_EQ(ttl.manifest_ttl_s, 90);
  EXPECT_FALSE(parse({"--manifest-ttl", "7w"}, &ttl));
  EXPECT_FALSE(parse({"--manifest-ttl", "0d"}, &ttl));
  ServerConfig e;
  EXPECT_FALSE(parse({"--tls-cert", "a.pem"}, &e));
  EXPECT_FALSE(parse({"--bogus"}, &e));
}

}  // namespace
}  // namespace wisp::server::testing
