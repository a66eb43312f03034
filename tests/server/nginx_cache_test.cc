// "Beyond one machine": nginx (Debian's nginx-light) as a caching reverse proxy in front of
// wisp-server. Repeated artifact downloads are served from nginx's cache (the server's own
// request counter does not move) while channel manifests keep revalidating (304 from the origin).
// Skipped when /usr/sbin/nginx is missing. The configuration is the one documented in
// docs/server.md.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "native/common/util.h"
#include "native/server/metrics.h"
#include "tests/server/test_util.h"

namespace wisp::server::testing {
namespace {

using client::HttpClient;
using client::HttpResponse;
using client::ServerUrl;
using json = nlohmann::json;

constexpr const char* kNginx = "/usr/sbin/nginx";

uint16_t FreePort() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

HttpResponse Get(uint16_t port, const std::string& target, client::Headers h = {}) {
  HttpClient c(Ok(ServerUrl::Parse("http://127.0.0.1:" + std::to_string(port))), 5000);
  return Ok(c.Request("GET", target, h, ""));
}

TEST(ServerNginxCacheTest, CachesArtifactsAndRevalidatesChannels) {
  if (::access(kNginx, X_OK) != 0) GTEST_SKIP() << "nginx not installed";
  TestServer ts([](ServerConfig& c) { c.channel_max_age_s = 1; });
  TempDir n;
  uint16_t port = FreePort();
  std::string p = n.path();
  std::string conf =
      R"(daemon off;
master_process off;
worker_processes 1;
error_log )" +
      p + R"(/error.log warn;
pid )" +
      p + R"(/nginx.pid;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path )" +
      p + R"(/body;
  proxy_temp_path )" +
      p + R"(/proxy;
  fastcgi_temp_path )" +
      p + R"(/fastcgi;
  uwsgi_temp_path )" +
      p + R"(/uwsgi;
  scgi_temp_path )" +
      p + R"(/scgi;
  proxy_cache_path )" +
      p + R"(/cache levels=1:2 keys_zone=wisp:10m max_size=1g inactive=30d use_temp_path=off;
  upstream wisp { server 127.0.0.1:)" +
      std::to_string(ts.server->port()) + R"(; keepalive 16; }
  server {
    listen 127.0.0.1:)" +
      std::to_string(port) + R"(;
    location / {
      proxy_pass http://wisp;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache wisp;
      proxy_cache_revalidate on;
      proxy_cache_lock on;
      add_header X-Cache-Status $upstream_cache_status always;
    }
  }
}
)";
  WriteText(n / "nginx.conf", conf);
  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 2);
    ::execl(kNginx, kNginx, "-p", p.c_str(), "-e", (p + "/error.log").c_str(), "-c",
            (p + "/nginx.conf").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      ::kill(pid, SIGTERM);
      int st;
      for (int i = 0; i < 400 && ::waitpid(pid, &st, WNOHANG) == 0; ++i) usleep(5000);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
    }
  } reaper{pid};
  // Wait (bounded) for nginx to listen.
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    boost::system::error_code ec;
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    up = !ec;
    if (!up) usleep(10000);
  }
  ASSERT_TRUE(up) << "nginx did not start; see " << p << "/error.log";

  std::string model = FakeModel(500000, 9);
  {
    HttpClient c(Ok(ServerUrl::Parse(ts.url)));
    HttpResponse r = Ok(c.Request("POST", "/v1/models/m/versions?channel=stable",
                                  {{"Authorization", std::string("Bearer ") + kToken}}, model));
    ASSERT_EQ(r.status, 201u) << r.body;
  }
  const std::string art = "/v1/models/m/versions/1/model.wisp";
  const std::string art_route = "/v1/models/{name}/versions/{v}/model.wisp";
  auto first = Get(port, art);
  ASSERT_EQ(first.status, 200u);
  EXPECT_EQ(first.body, model);
  uint64_t origin = ts.server->metrics().RequestCount(art_route);
  EXPECT_EQ(origin, 1u);
  for (int i = 0; i < 5; ++i) {
    auto again = Get(port, art);
    EXPECT_EQ(again.body, model);
    EXPECT_EQ(again.Header("x-cache-status"), "HIT");
  }
  auto range = Get(port, art, {{"Range", "bytes=1000-1999"}});
  EXPECT_EQ(range.status, 206u);
  EXPECT_EQ(range.body, model.substr(1000, 1000));
  EXPECT_EQ(ts.server->metrics().RequestCount(art_route), origin);  // never reached the origin

  // Channel manifests: cached for max-age (1 s here; nginx counts whole seconds, so wait 2),
  // then revalidated with the ETag (304 from the origin).
  const std::string ch = "/v1/models/m/channels/stable";
  const std::string ch_route = "/v1/models/{name}/channels/{channel}";
  EXPECT_EQ(json::parse(Get(port, ch).body)["version"], 1);
  uint64_t ch_origin = ts.server->metrics().RequestCount(ch_route);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto reval = Get(port, ch);
  EXPECT_EQ(reval.status, 200u);
  EXPECT_EQ(reval.Header("x-cache-status"), "REVALIDATED");
  EXPECT_EQ(ts.server->metrics().RequestCount(ch_route), ch_origin + 1);
  EXPECT_NE(ts.server->metrics().Render(0, 0).find(
                "route=\"/v1/models/{name}/channels/{channel}\",method=\"GET\",status=\"304\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace wisp::server::testing
