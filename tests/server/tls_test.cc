// wisp-server with --tls-cert/--tls-key: HTTPS with Beast's ssl_stream.
#include <gtest/gtest.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>

#include "tests/server/test_util.h"

namespace wisp::server::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;

TEST(ServerTlsTest, ServesHttpsWhenGivenCertificateAndKey) {
  TempDir d;
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=localhost -keyout " +
      (d / "key.pem") + " -out " + (d / "cert.pem") + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "needs the openssl command";
  TestServer ts([&](ServerConfig& c) {
    c.tls_cert = d / "cert.pem";
    c.tls_key = d / "key.pem";
  });
  EXPECT_TRUE(ts.server->tls());

  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(d / "cert.pem");
  ctx.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  ASSERT_TRUE(SSL_set_tlsext_host_name(stream.native_handle(), "localhost"));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  beast::get_lowest_layer(stream).connect({net::ip::make_address("127.0.0.1"), ts.server->port()});
  stream.handshake(ssl::stream_base::client);
  for (int i = 0; i < 2; ++i) {  // keep-alive over TLS
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "localhost");
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_EQ(res.body(), "{\"status\":\"ok\"}\n");
  }
  beast::error_code ec;
  stream.shutdown(ec);

  // Plain HTTP on the TLS port gets nowhere and does not disturb the server.
  bool closed = false;
  std::string out = RawExchange(ts.server->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                                std::chrono::milliseconds(2000), &closed);
  EXPECT_EQ(out.find("200 OK"), std::string::npos);

  // A bad key is a start-up error.
  WriteText(d / "bad.pem", "nope");
  Server bad(
      [&] {
        ServerConfig c;
        c.port = 0;
        c.data_dir = d / "data2";
        c.tls_cert = d / "cert.pem";
        c.tls_key = d / "bad.pem";
        return c;
      }(),
      std::make_unique<FakeModelEngine>());
  Status started = bad.Start();
  EXPECT_FALSE(started.ok());
  EXPECT_NE(started.message().find("TLS"), std::string::npos) << started.message();
}

}  // namespace
}  // namespace wisp::server::testing
