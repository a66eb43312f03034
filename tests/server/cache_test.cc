// The handler's caches (file contents, static-file ETags, loaded models) with tiny limits, called
// in-process: filling them past the limit evicts the least recently used entry, every response
// stays correct, and what each holds (also in /metrics) stays under its limit.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/server/in_process.h"

namespace wisp::server::testing {
namespace {

using json = nlohmann::json;

std::string ArtifactPath(int v, const std::string& name = "m") {
  return "/v1/models/" + name + "/versions/" + std::to_string(v) + "/model.wisp";
}

TEST(Caches, FileCacheEvictsTheLeastRecentlyUsedArtifact) {
  InProcess p([](ServerConfig& cfg) { cfg.file_cache_bytes = 2500; });
  std::vector<std::string> models = {"", FakeModel(1000, 11), FakeModel(1000, 12),
                                     FakeModel(1000, 13)};
  // The fixture published version 1 (64 bytes); these are versions 2, 3 and 4 of "m".
  for (int i = 1; i <= 3; ++i) {
    ASSERT_EQ(p.Send(http::verb::post, "/v1/models/m/versions", models[i]).status, 201u);
  }
  auto get = [&](int i) {
    Reply r = p.Send(http::verb::get, ArtifactPath(i + 1));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(BodyOf(r), models[i]) << "artifact " << i;
  };
  get(1);
  get(2);
  Handler::Caches c = p.handler->cache_stats();
  EXPECT_EQ(c.files.entries, 2u);
  EXPECT_EQ(c.files.cost, 2000u);
  get(1);  // a hit: 2 is now the least recently used
  get(3);  // 3000 bytes > 2500: 2 goes
  c = p.handler->cache_stats();
  EXPECT_EQ(c.files.entries, 2u);
  EXPECT_LE(c.files.cost, 2500u);
  EXPECT_EQ(c.files.evictions, 1u);
  EXPECT_EQ(c.files.hits, 1u);
  const uint64_t misses = c.files.misses;
  get(1);  // still cached
  EXPECT_EQ(p.handler->cache_stats().files.misses, misses);
  get(2);  // read (and verified) again
  c = p.handler->cache_stats();
  EXPECT_EQ(c.files.misses, misses + 1);
  EXPECT_EQ(c.files.evictions, 2u);
  EXPECT_LE(c.files.cost, 2500u);
  // Ranges and conditional requests are answered from re-read files as from cached ones.
  Reply range = p.Send(http::verb::get, ArtifactPath(4), "", {{"Range", "bytes=10-19"}});
  EXPECT_EQ(range.status, 206u);
  EXPECT_EQ(BodyOf(range), models[3].substr(10, 10));
  Reply again =
      p.Send(http::verb::get, ArtifactPath(4), "", {{"If-None-Match", Header(range, "ETag")}});
  EXPECT_EQ(again.status, 304u);
  // /metrics says the same.
  std::string metrics = BodyOf(p.Send(http::verb::get, "/metrics"));
  EXPECT_NE(metrics.find("wisp_cache_capacity{cache=\"file\"} 2500\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("wisp_cache_entries{cache=\"file\"} 2\n"), std::string::npos) << metrics;
}

TEST(Caches, ArtifactLargerThanTheFileCacheIsServedWithoutBeingKept) {
  InProcess p([](ServerConfig& cfg) { cfg.file_cache_bytes = 100; });
  std::string big = FakeModel(5000, 21);
  ASSERT_EQ(p.Send(http::verb::post, "/v1/models/m/versions", big).status, 201u);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(BodyOf(p.Send(http::verb::get, ArtifactPath(2))), big);
  EXPECT_EQ(p.handler->cache_stats().files.entries, 0u);
  EXPECT_EQ(p.handler->cache_stats().files.cost, 0u);
}

TEST(Caches, EtagCacheKeepsItsEntryLimit) {
  TempDir web;
  for (int i = 0; i < 5; ++i) {
    WriteText(web / ("f" + std::to_string(i) + ".txt"), "file " + std::to_string(i) + "\n");
  }
  InProcess p([&](ServerConfig& cfg) {
    cfg.web_dir = web.path();
    cfg.etag_cache_entries = 2;
    cfg.file_cache_bytes = 16;  // two of the 7-byte files
  });
  std::vector<std::string> etags;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 5; ++i) {
      Reply r = p.Send(http::verb::get, "/f" + std::to_string(i) + ".txt");
      ASSERT_EQ(r.status, 200u);
      EXPECT_EQ(BodyOf(r), "file " + std::to_string(i) + "\n");
      // The ETag of a file is the same whether or not it was evicted in between.
      if (round == 0) {
        etags.push_back(Header(r, "ETag"));
      } else {
        EXPECT_EQ(Header(r, "ETag"), etags[i]);
      }
      Handler::Caches c = p.handler->cache_stats();
      EXPECT_LE(c.etags.entries, 2u);
      EXPECT_LE(c.files.cost, 16u);
    }
  }
  Handler::Caches c = p.handler->cache_stats();
  EXPECT_EQ(c.etags.entries, 2u);
  EXPECT_EQ(c.etags.evictions, 8u);  // 10 inserts into 2 places
  EXPECT_EQ(p.Send(http::verb::get, "/f0.txt", "", {{"If-None-Match", etags[0]}}).status, 304u);
}

TEST(Caches, ModelCacheUnloadsTheLeastRecentlyUsedModel) {
  InProcess p([](ServerConfig& cfg) { cfg.model_cache_entries = 2; });
  for (const char* name : {"a", "b"}) {
    ASSERT_EQ(
        p.Send(http::verb::post, std::string("/v1/models/") + name + "/versions", FakeModel(64, 5))
            .status,
        201u);
  }
  auto predict = [&](const std::string& name, float x) {
    Reply r = p.Send(http::verb::post, "/v1/models/" + name + "/versions/1:predict",
                     "{\"instances\":[[" + std::to_string(x) + ",1,2,3]]}");
    EXPECT_EQ(r.status, 200u) << BodyOf(r);
    json j = json::parse(BodyOf(r), nullptr, false);
    EXPECT_EQ(j["predictions"][0][0], 2 * x) << BodyOf(r);
  };
  predict("m", 1);
  predict("a", 2);
  EXPECT_EQ(p.handler->loaded_models(), 2u);
  predict("m", 3);  // "a" is now the least recently used
  predict("b", 4);  // unloads "a"
  Handler::Caches c = p.handler->cache_stats();
  EXPECT_EQ(c.models.entries, 2u);
  EXPECT_EQ(c.models.evictions, 1u);
  const uint64_t misses = c.models.misses;
  predict("m", 5);  // still loaded
  EXPECT_EQ(p.handler->cache_stats().models.misses, misses);
  predict("a", 6);  // loaded again, unloading "b"
  c = p.handler->cache_stats();
  EXPECT_EQ(c.models.misses, misses + 1);
  EXPECT_EQ(c.models.entries, 2u);
  EXPECT_EQ(p.handler->loaded_models(), 2u);
  std::string metrics = BodyOf(p.Send(http::verb::get, "/metrics"));
  EXPECT_NE(metrics.find("wisp_models_loaded 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("wisp_cache_evictions_total{cache=\"model\"} 2\n"), std::string::npos)
      << metrics;
}

TEST(Caches, MadeUpMethodsShareOneMetricsSeries) {
  InProcess p;
  Metrics& m = p.metrics;
  for (int i = 0; i < 50; ++i) m.CountRequest("other", "X" + std::to_string(i), 400);
  std::string text = m.Render(0, 0);
  EXPECT_NE(text.find("method=\"other\",status=\"400\"} 50"), std::string::npos) << text;
  EXPECT_EQ(text.find("X1"), std::string::npos);
}

}  // namespace
}  // namespace wisp::server::testing
