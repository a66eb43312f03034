// wisp-server's request handling in-process: the bytes are one HTTP request, parsed by Beast's
// parser with bounded header and body sizes as the transport does, then prechecked, budgeted and
// routed by Handler. The registry lives in a temporary directory holding one model
// (FakeModelEngine: "FAKEWISP" uploads are valid models) with a channel, and a static directory is
// served, so reads, writes (with the token), predicts and static files are all reachable.
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "native/server/handler.h"
#include "tests/server/fake_model_engine.h"

namespace {

namespace http = boost::beast::http;
using wisp::server::Handler;

constexpr const char* kToken = "fuzz-token";

struct Fixture {
  std::string dir;
  wisp::server::ServerConfig cfg;
  std::unique_ptr<wisp::server::Registry> registry;
  wisp::server::testing::FakeModelEngine engine;
  wisp::server::Metrics metrics;
  std::unique_ptr<Handler> handler;

  Fixture() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "wisp-handler-fuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir = tmpl;
    cfg.data_dir = dir + "/data";
    cfg.web_dir = dir + "/web";
    cfg.cors_origins = {"https://example.com"};
    cfg.max_body_bytes = 64 * 1024;
    cfg.quiet = true;
    std::filesystem::create_directories(cfg.web_dir + "/sub");
    std::ofstream(cfg.web_dir + "/index.html") << "<!doctype html><p>wisp</p>\n";
    std::ofstream(cfg.web_dir + "/sub/app.js") << "export const x = 1;\n";
    registry = std::make_unique<wisp::server::Registry>(cfg.data_dir, nullptr);
    std::vector<std::string> log;
    if (!registry->Open(&log).ok()) std::abort();
    handler = std::make_unique<Handler>(
        cfg, registry.get(), &engine, &metrics, nullptr,
        std::vector<wisp::server::Token>{wisp::server::AdminToken(kToken)});
    // One model with a version and a channel, published through the handler itself.
    Send(http::verb::post, "/v1/models/m/versions", "FAKEWISP0123456789abcdef");
    Send(http::verb::put, "/v1/models/m/channels/stable", "{\"version\": 1}");
    // A second version staged on stable, so that inputs reach the rollout paths too.
    Send(http::verb::post, "/v1/models/m/versions", "FAKEWISPfedcba9876543210");
    Send(http::verb::put, "/v1/models/m/channels/stable",
         "{\"version\": 2, \"rollout\": {\"percent\": 50, \"max_error_rate\": 0.5}}");
  }
  ~Fixture() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  void Send(http::verb verb, const std::string& target, const std::string& body) {
    wisp::server::Request req(verb, target, 11);
    req.set(http::field::authorization, std::string("Bearer ") + kToken);
    req.body() = body;
    req.prepare_payload();
    handler->Handle(req);
  }
};

Fixture& GetFixture() {
  static Fixture fixture;  // destroyed (directory removed) when libFuzzer exits
  return fixture;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  GetFixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& f = GetFixture();
  http::request_parser<http::string_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(f.cfg.max_body_bytes);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  const wisp::server::Request& req = parser.get();
  // The transport's order: precheck the header, budget predicts, then handle the whole request.
  if (f.handler->Precheck(req)) return 0;
  const Handler::PredictBudget budget = f.handler->Budget(req);
  if (budget.predict) {
    if (req.body().size() > budget.body_limit) return 0;  // the transport answers 413
    (void)budget.Reservation(req.body().size());
  }
  wisp::server::Reply reply = f.handler->Handle(req);
  if (reply.body && reply.offset + reply.length > reply.body->size()) std::abort();
  return 0;
}
