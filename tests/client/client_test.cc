// wisp_client against a real wisp-server on 127.0.0.1 (in-process, FakeModelEngine).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "native/client/client.h"
#include "native/common/chunker.h"
#include "native/common/util.h"
#include "native/platform/file_io.h"
#include "native/server/metrics.h"
#include "tests/server/test_util.h"
#include "tests/support/delta_models.h"

namespace wisp::server::testing {
namespace {

using client::PullOptions;
using client::PullResult;
using json = nlohmann::json;
constexpr const char* kArtifactRoute = "/v1/models/{name}/versions/{v}/model.wisp";

std::string PublishFile(const TestServer& ts, const TempDir& d, const std::string& name,
                        const std::string& bytes, const std::string& channel) {
  std::string path = d / ("upload-" + Sha256Hex(bytes).substr(0, 8) + ".wisp");
  WriteText(path, bytes);
  return Ok(client::Publish(ts.url, kToken, path, name, "", channel));
}

std::string ReadAll(const std::string& path) {
  Result<std::string> s = ReadFileText(path);
  return s.ok() ? *s : std::string();
}

TEST(ClientTest, ParsesServerUrls) {
  client::ServerUrl u = Ok(client::ServerUrl::Parse("http://127.0.0.1:8080/"));
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, "8080");
  EXPECT_EQ(u.base_path, "");
  u = Ok(client::ServerUrl::Parse("http://[::1]:9/reg"));
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.base_path, "/reg");
  u = Ok(client::ServerUrl::Parse("http://models.local"));
  EXPECT_EQ(u.port, "80");
  EXPECT_EQ(client::ServerUrl::Parse("ftp://x").status().code(), StatusCode::kInvalidArgument);
  u = Ok(client::ServerUrl::Parse("https://models.example/r/"));
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.port, "443");
  EXPECT_EQ(u.base_path, "/r");
}

TEST(ClientTest, PullPublishChannelAndRollback) {
  TestServer ts;
  TempDir d;
  std::string v1 = FakeModel(50000, 1), v2 = FakeModel(60000, 2);
  json m1 = json::parse(PublishFile(ts, d, "net", v1, "stable"));
  EXPECT_EQ(m1["version"], 1);

  PullOptions opt;
  opt.cache_dir = d / "cache";
  PullResult r;
  std::string error;
  r = Ok(client::Pull(ts.url, "net", opt));
  EXPECT_EQ(r.state, PullResult::State::kDownloaded);
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(ReadAll(r.path), v1);
  EXPECT_EQ(r.bytes_downloaded, v1.size());
  EXPECT_TRUE(std::filesystem::exists(d / "cache/net/v1/manifest.json"));

  // Already current: one conditional request, answered 304, no artifact transfer.
  uint64_t downloads = ts.server->metrics().RequestCount(kArtifactRoute);
  r = Ok(client::Pull(ts.url, "net", opt));
  EXPECT_EQ(r.state, PullResult::State::kUpToDate);
  EXPECT_EQ(ts.server->metrics().RequestCount(kArtifactRoute), downloads);

  // A new version on the channel: downloaded, the previous one kept for rollback.
  json m2 = json::parse(PublishFile(ts, d, "net", v2, "stable"));
  r = Ok(client::Pull(ts.url, "net", opt));
  EXPECT_EQ(r.state, PullResult::State::kDownloaded);
  EXPECT_EQ(r.version, 2);
  EXPECT_EQ(r.previous_version, 1);
  EXPECT_EQ(ReadAll(r.path), v2);
  EXPECT_EQ(ReadAll(d / "cache/net/v1/model.wisp"), v1);

  // Rollback with the operator command; the pull switches without downloading.
  std::string resp;
  resp = Ok(client::SetChannel(ts.url, kToken, "net", "stable", 1));
  EXPECT_EQ(json::parse(resp)["previous_version"], 2);
  downloads = ts.server->metrics().RequestCount(kArtifactRoute);
  r = Ok(client::Pull(ts.url, "net", opt));
  EXPECT_EQ(r.state, PullResult::State::kSwitched);
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(ReadAll(r.path), v1);
  EXPECT_EQ(ts.server->metrics().RequestCount(kArtifactRoute), downloads);

  // Errors are reported with the server's message.
  error = ErrorOf(client::SetChannel(ts.url, "wrong-token", "net", "stable", 2));
  EXPECT_NE(error.find("401"), std::string::npos) << error;
  error = ErrorOf(client::SetChannel(ts.url, kToken, "net", "stable", 42));
  EXPECT_NE(error.find("no version 42"), std::string::npos) << error;
  opt.channel = "missing";
  Status missing = client::Pull(ts.url, "net", opt).status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("404"), std::string::npos) << missing.message();
  EXPECT_EQ(client::DeleteVersion(ts.url, kToken, "net", 1).code(),
            StatusCode::kFailedPrecondition);  // the channel points at it (409)
  WriteText(d / "junk.bin", "not a model");
  error = ErrorOf(client::Publish(ts.url, kToken, d / "junk.bin", "net", "", ""));
  EXPECT_NE(error.find("bad magic"), std::string::npos) << error;
}

TEST(ClientTest, InterruptedDownloadResumesWithRange) {
  TestServer ts;
  TempDir d;
  std::string model = FakeModel(3 << 20, 7);
  PublishFile(ts, d, "big", model, "stable");
  PullOptions opt;
  opt.cache_dir = d / "cache";
  // Cancel after roughly a third: the partial file stays.
  opt.progress = [&](uint64_t done, uint64_t total) {
    EXPECT_EQ(total, model.size());
    return done < total / 3;
  };
  PullResult r;
  std::string error;
  error = ErrorOf(client::Pull(ts.url, "big", opt));
  EXPECT_EQ(error, "cancelled");
  std::string part = d / "cache/big/v1/model.wisp.part";
  ASSERT_TRUE(std::filesystem::exists(part));
  uint64_t partial = std::filesystem::file_size(part);
  EXPECT_GT(partial, 0u);
  EXPECT_LT(partial, model.size());
  EXPECT_FALSE(std::filesystem::exists(d / "cache/big/v1/model.wisp"));

  // The next pull asks only for the rest.
  opt.progress = nullptr;
  r = Ok(client::Pull(ts.url, "big", opt));
  EXPECT_EQ(r.state, PullResult::State::kDownloaded);
  EXPECT_EQ(r.resumed_from, partial);
  EXPECT_EQ(r.bytes_downloaded, model.size() - partial);
  EXPECT_EQ(ReadAll(r.path), model);
  EXPECT_FALSE(std::filesystem::exists(part));
  std::string metrics = ts.server->metrics().Render(0, 0);
  EXPECT_NE(
      metrics.find(
          "route=\"/v1/models/{name}/versions/{v}/model.wisp\",method=\"GET\",status=\"206\"} 1"),
      std::string::npos)
      << metrics;
}

TEST(ClientTest, CorruptPartialDownloadIsDiscarded) {
  TestServer ts;
  TempDir d;
  std::string model = FakeModel(100000, 8);
  PublishFile(ts, d, "m", model, "stable");
  // A partial file whose bytes do not belong to the artifact (e.g. written by something else).
  WriteText(d / "cache/m/v1/model.wisp.part", std::string(1000, 'z'));
  PullOptions opt;
  opt.cache_dir = d / "cache";
  PullResult r;
  std::string error;
  error = ErrorOf(client::Pull(ts.url, "m", opt));
  EXPECT_NE(error.find("does not match"), std::string::npos) << error;
  EXPECT_FALSE(std::filesystem::exists(d / "cache/m/v1/model.wisp"));
  EXPECT_FALSE(std::filesystem::exists(d / "cache/m/v1/model.wisp.part"));
  r = Ok(client::Pull(ts.url, "m", opt));
  EXPECT_EQ(ReadAll(r.path), model);
}

TEST(ClientTest, PullOverHttpsVerifiesTheCertificate) {
  TempDir d;
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout " +
      (d / "key.pem") + " -out " + (d / "cert.pem") + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  TestServer ts([&](ServerConfig& c) {
    c.tls_cert = d / "cert.pem";
    c.tls_key = d / "key.pem";
  });
  std::string https = "https://localhost:" + std::to_string(ts.server->port());
  std::string model = FakeModel(10000, 3);
  WriteText(d / "m.wisp", model);
  std::string manifest, error;
  // Not trusted yet: refused.
  ::setenv("SSL_CERT_FILE", (d / "missing.pem").c_str(), 1);
  error = ErrorOf(client::Publish(https, kToken, d / "m.wisp", "m", "", "stable"));
  ::setenv("SSL_CERT_FILE", (d / "cert.pem").c_str(), 1);
  manifest = Ok(client::Publish(https, kToken, d / "m.wisp", "m", "", "stable"));
  PullOptions opt;
  opt.cache_dir = d / "cache";
  PullResult r;
  r = Ok(client::Pull(https, "m", opt));
  EXPECT_EQ(ReadAll(r.path), model);
  r = Ok(client::Pull(https, "m", opt));
  EXPECT_EQ(r.state, PullResult::State::kUpToDate);
  // The certificate names localhost, not 127.0.0.1.
  std::string ip = "https://127.0.0.1:" + std::to_string(ts.server->port());
  error = ErrorOf(client::Pull(ip, "m", opt));
  ::unsetenv("SSL_CERT_FILE");
}

TEST(ClientTest, PinnedSigningKey) {
  TempDir d;
  std::string key = MakeSigningKey(d.path());
  TestServer ts([&](ServerConfig& c) { c.signing_key = key; });
  PublishFile(ts, d, "m", FakeModel(1000, 1), "stable");
  Ed25519Key k;
  std::string error;
  ASSERT_TRUE(k.LoadPrivatePem(key).ok());
  PullOptions opt;
  opt.cache_dir = d / "cache";
  opt.public_key_base64 = Base64Encode(k.PublicKeyRaw());
  PullResult r;
  r = Ok(client::Pull(ts.url, "m", opt));
  // Another key: refused, nothing downloaded.
  Ed25519Key other;
  std::string key2 = MakeSigningKey(d.path());
  ASSERT_TRUE(other.LoadPrivatePem(key2).ok());
  opt.public_key_base64 = Base64Encode(other.PublicKeyRaw());
  opt.cache_dir = d / "cache2";
  error = ErrorOf(client::Pull(ts.url, "m", opt));
  EXPECT_NE(error.find("signature"), std::string::npos) << error;
  EXPECT_FALSE(std::filesystem::exists(d / "cache2/m/v1/model.wisp"));
}

// A mirror on 127.0.0.1 that answers GET <path> with whatever body it was last given for that
// path (200, Connection: close) and 404 otherwise: it can replay any captured manifest.
class CannedServer {
 public:
  CannedServer() : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    url = "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
    thread_ = std::thread([this] { Serve(); });
  }
  ~CannedServer() {
    stop_ = true;
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);  // wakes accept()
    thread_.join();
  }
  void Set(const std::string& path, std::string body) {
    std::lock_guard lock(mu_);
    bodies_[path] = std::move(body);
  }
  std::string url;

 private:
  void Serve() {
    while (!stop_) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket sock(ioc_);
      acceptor_.accept(sock, ec);
      if (ec || stop_) continue;
      boost::asio::streambuf buf;
      boost::asio::read_until(sock, buf, "\r\n\r\n", ec);
      std::string head(boost::asio::buffers_begin(buf.data()),
                       boost::asio::buffers_end(buf.data()));
      std::string path = head.substr(4, head.find(' ', 4) - 4);
      std::string body, status = "200 OK";
      {
        std::lock_guard lock(mu_);
        auto it = bodies_.find(path);
        if (it == bodies_.end())
          status = "404 Not Found";
        else
          body = it->second;
      }
      std::string reply = "HTTP/1.1 " + status +
                          "\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\nConnection: close\r\n\r\n" + body;
      boost::asio::write(sock, boost::asio::buffer(reply), ec);
    }
  }
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, std::string> bodies_;
};

TEST(ClientTest, ReplayedAndExpiredManifestsAreRefused) {
  TempDir d;
  std::string key = MakeSigningKey(d.path());
  Ed25519Key k;
  std::string error;
  ASSERT_TRUE(k.LoadPrivatePem(key).ok());
  TestServer ts([&](ServerConfig& c) { c.signing_key = key; });
  const std::string ch = "/v1/models/m/channels/stable";
  std::string v1 = FakeModel(3000, 1), v2 = FakeModel(4000, 2);
  PublishFile(ts, d, "m", v1, "stable");
  const std::string old_manifest = Do(ts.url, "GET", ch).body;  // sequence 1, validly signed
  PublishFile(ts, d, "m", v2, "stable");
  const std::string new_manifest = Do(ts.url, "GET", ch).body;  // sequence 2
  ASSERT_EQ(json::parse(new_manifest)["sequence"], 2);

  // Everything goes through one mirror URL, which first serves the current manifest.
  CannedServer mirror;
  mirror.Set(ch, new_manifest);
  mirror.Set("/v1/models/m/versions/2/model.wisp", v2);
  PullOptions opt;
  opt.cache_dir = d / "cache";
  opt.public_key_base64 = Base64Encode(k.PublicKeyRaw());
  PullResult r;
  r = Ok(client::Pull(mirror.url, "m", opt));
  EXPECT_EQ(r.version, 2);
  EXPECT_NE(ReadAll(d / "cache/m/sequences.json").find("2"), std::string::npos);

  // The mirror replays the old, validly signed manifest: refused, naming both sequences; the
  // model pulled before stays in place. Without a pinned key the outer fields are checked.
  mirror.Set(ch, old_manifest);
  for (bool pinned : {true, false}) {
    PullOptions o = opt;
    if (!pinned) o.public_key_base64.clear();
    error = ErrorOf(client::Pull(mirror.url, "m", o));
    EXPECT_NE(error.find("sequence 1 is lower than sequence 2"), std::string::npos) << error;
    EXPECT_NE(error.find("keeping v2"), std::string::npos) << error;
    EXPECT_EQ(ReadAll(d / "cache/m/v2/model.wisp"), v2);
  }
  // An outer sequence raised over the signed one does not fool a pinned key.
  json raised = json::parse(old_manifest);
  raised["sequence"] = 9;
  mirror.Set(ch, raised.dump());
  error = ErrorOf(client::Pull(mirror.url, "m", opt));
  EXPECT_NE(error.find("'sequence' does not match its signed value (1)"), std::string::npos)
      << error;

  // A server whose clock is 30 days behind serves manifests that have already expired.
  TestServer past([&](ServerConfig& c) {
    c.signing_key = key;
    c.manifest_ttl_s = 86400;
    c.clock = [] { return static_cast<int64_t>(std::time(nullptr)) - 30 * 86400; };
  });
  PublishFile(past, d, "m", v2, "stable");
  const std::string expired = Do(past.url, "GET", ch).body;
  mirror.Set(ch, expired);
  error = ErrorOf(client::Pull(mirror.url, "m", opt));
  EXPECT_NE(error.find("expired at " + json::parse(expired)["expires"].get<std::string>()),
            std::string::npos)
      << error;
  EXPECT_EQ(ReadAll(d / "cache/m/v2/model.wisp"), v2);
  opt.cache_dir = d / "fresh-cache";
  error = ErrorOf(client::Pull(past.url, "m", opt));
  EXPECT_NE(error.find("expired at"), std::string::npos) << error;

  // The current manifest is still accepted, and a later sequence too.
  opt.cache_dir = d / "cache";
  mirror.Set(ch, new_manifest);
  r = Ok(client::Pull(mirror.url, "m", opt));
  EXPECT_EQ(r.version, 2);
}

// The delta-update models (tests/support/delta_models.h: version 2 differs from version 1 only in
// the classifier's weights) with the fake engine's magic, which the in-process server stores as
// they are. (Their tests compare files with EXPECT_TRUE(a == b): EXPECT_EQ would print megabytes.)
std::string DeltaModel(int version) {
  std::string m = ::wisp::testing::DeltaTestModel(version);
  m.replace(0, 8, "FAKEWISP");
  return m;
}

// A server with version 1 of the delta models on `stable`, and a cache that has pulled it.
class ClientDeltaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PublishFile(ts, d, "cls", v1, "stable");
    opt.cache_dir = d / "cache";
    PullResult r = Ok(client::Pull(ts.url, "cls", opt));
    ASSERT_EQ(r.bytes_downloaded, v1.size());
    ASSERT_EQ(r.delta_base_version, 0);
  }
  TestServer ts;
  TempDir d;
  const std::string v1 = DeltaModel(1), v2 = DeltaModel(2);
  PullOptions opt;
};

TEST_F(ClientDeltaTest, UpdateFetchesOnlyTheChangedChunks) {
  ASSERT_EQ(v1.size(), v2.size());
  ASSERT_NE(v1, v2);
  const uint64_t before = ArtifactBytesSent(ts, v1.size());
  EXPECT_EQ(before, v1.size());

  PublishFile(ts, d, "cls", v2, "stable");
  std::vector<uint64_t> progress;
  opt.progress = [&](uint64_t done, uint64_t total) {
    EXPECT_EQ(total, v2.size());
    progress.push_back(done);
    return true;
  };
  PullResult r = Ok(client::Pull(ts.url, "cls", opt));
  EXPECT_EQ(r.state, PullResult::State::kDownloaded);
  EXPECT_EQ(r.version, 2);
  EXPECT_EQ(r.previous_version, 1);
  EXPECT_TRUE(ReadAll(r.path) == v2);
  EXPECT_EQ(r.delta_base_version, 1);
  EXPECT_EQ(r.delta_error, "");
  EXPECT_EQ(r.bytes_downloaded + r.delta_reused_bytes, v2.size());
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), v2.size());
  const uint64_t sent = ArtifactBytesSent(ts, before + r.bytes_downloaded) - before;
  EXPECT_EQ(sent, r.bytes_downloaded);
  std::printf("delta update: %llu of %llu artifact bytes sent (%.1f%%)\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(v2.size()),
              100.0 * static_cast<double>(sent) / static_cast<double>(v2.size()));
  EXPECT_LE(sent * 100, v2.size() * 15);
  EXPECT_GT(sent, 100u * 1024);  // the classifier's 100 KiB of weights did change

  // A pinned pull of a version the cache lacks rebuilds from what it has, too.
  opt.progress = nullptr;
  PublishFile(ts, d, "cls", v1, "");  // version 3: the bytes of version 1
  opt.version = 3;
  r = Ok(client::Pull(ts.url, "cls", opt));
  EXPECT_TRUE(ReadAll(r.path) == v1);
  EXPECT_GT(r.delta_base_version, 0);
  EXPECT_LE(r.bytes_downloaded * 100, v1.size() * 15);
}

TEST_F(ClientDeltaTest, ALocallyCorruptedBaseCostsOnlyItsChunks) {
  // Bytes of the cached v1 flipped where v2 has the same content: those chunks no longer match,
  // so they are fetched like changed ones, and the rebuilt file is still v2.
  std::string damaged = v1;
  for (size_t i = 1000000; i < 1000100; ++i) damaged[i] = static_cast<char>(~damaged[i]);
  WriteText(d / "cache/cls/v1/model.wisp", damaged);
  PublishFile(ts, d, "cls", v2, "stable");
  PullResult r = Ok(client::Pull(ts.url, "cls", opt));
  EXPECT_TRUE(ReadAll(r.path) == v2);
  EXPECT_EQ(r.delta_base_version, 1);
  EXPECT_EQ(r.delta_error, "");
  EXPECT_LT(r.bytes_downloaded, v2.size() / 2);
  EXPECT_EQ(r.bytes_downloaded + r.delta_reused_bytes, v2.size());
}

TEST_F(ClientDeltaTest, AWrongChunkListFallsBackToAFullDownload) {
  PublishFile(ts, d, "cls", v2, "stable");
  // The registry's record of v2's chunks says one changed chunk has other content: the bytes the
  // server sends for it cannot match, and the client must not keep what it rebuilt.
  const std::string index = ts.cfg.data_dir + "/models/cls/index.json";
  json stored = json::parse(Ok(ReadFileText(index)));
  std::set<std::string> old_chunks;
  for (const common::Chunk& c : common::ChunkData(v1)) old_chunks.insert(c.sha256);
  json& chunks = stored["versions"][1]["chunks"];
  bool lied = false;
  for (json& c : chunks) {
    if (!old_chunks.count(c[2].get<std::string>())) {
      c[2] = std::string(64, 'f');
      lied = true;
      break;
    }
  }
  ASSERT_TRUE(lied);
  WriteText(index, stored.dump());
  ts.Restart();
  PullResult r = Ok(client::Pull(ts.url, "cls", opt));
  EXPECT_TRUE(ReadAll(r.path) == v2);
  EXPECT_EQ(r.delta_base_version, 0);
  EXPECT_NE(r.delta_error.find("does not match its sha256 " + std::string(64, 'f')),
            std::string::npos)
      << r.delta_error;
  EXPECT_GE(r.bytes_downloaded, v2.size());  // the range fetched, then the whole artifact
  EXPECT_FALSE(std::filesystem::exists(r.path + ".delta"));
}

TEST_F(ClientDeltaTest, AMirrorIgnoringRangesFallsBackToAFullDownload) {
  PublishFile(ts, d, "cls", v2, "");
  // A mirror serving the registry's documents, but answering every Range request with the whole
  // artifact (200): the client cannot splice that in, and downloads it whole instead.
  CannedServer mirror;
  for (const std::string p :
       {"/v1/models/cls/versions/1", "/v1/models/cls/versions/2",
        "/v1/models/cls/versions/1/model.wisp", "/v1/models/cls/versions/2/model.wisp"}) {
    mirror.Set(p, Do(ts.url, "GET", p).body);
  }
  mirror.Set("/v1/models/cls/channels/stable",
             Do(ts.url, "GET", "/v1/models/cls/channels/stable").body);
  opt.cache_dir = d / "mirror-cache";
  PullResult r = Ok(client::Pull(mirror.url, "cls", opt));
  EXPECT_TRUE(ReadAll(r.path) == v1);
  ASSERT_EQ(Do(ts.url, "PUT", "/v1/models/cls/channels/stable", Auth(), R"({"version": 2})").status,
            200u);
  mirror.Set("/v1/models/cls/channels/stable",
             Do(ts.url, "GET", "/v1/models/cls/channels/stable").body);
  r = Ok(client::Pull(mirror.url, "cls", opt));
  EXPECT_EQ(r.version, 2);
  EXPECT_TRUE(ReadAll(r.path) == v2);
  EXPECT_EQ(r.delta_base_version, 0);
  EXPECT_NE(r.delta_error.find("answered HTTP 200"), std::string::npos) << r.delta_error;
}

}  // namespace
}  // namespace wisp::server::testing
