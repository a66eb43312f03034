// A Handler called in-process (no sockets) over a registry in a temporary directory, with
// FakeModelEngine; for tests of routing and caching.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "native/server/handler.h"
#include "tests/server/fake_model_engine.h"
#include "tests/server/test_util.h"

namespace wisp::server::testing {

// A registry in a temporary directory and a handler over it, with one published model "m"
// (version 1) and a channel "stable" pointing at it.
struct InProcess {
  TempDir dir;
  ServerConfig cfg;
  std::unique_ptr<Registry> registry;
  FakeModelEngine engine;
  Metrics metrics;
  std::unique_ptr<Handler> handler;

  explicit InProcess(std::function<void(ServerConfig&)> tweak = nullptr) {
    cfg.data_dir = dir / "data";
    cfg.quiet = true;
    if (tweak) tweak(cfg);
    registry = std::make_unique<Registry>(cfg.data_dir, nullptr);
    std::vector<std::string> log;
    Status opened = registry->Open(&log);
    EXPECT_TRUE(opened.ok()) << opened.message();
    handler = std::make_unique<Handler>(cfg, registry.get(), &engine, &metrics, nullptr,
                                        std::vector<Token>{AdminToken(kToken)});
    EXPECT_EQ(Send(http::verb::post, "/v1/models/m/versions", FakeModel(64, 1)).status, 201u);
    EXPECT_EQ(Send(http::verb::put, "/v1/models/m/channels/stable", R"({"version": 1})").status,
              200u);
  }

  Reply Send(http::verb verb, const std::string& target, const std::string& body = "",
             const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    Request req(verb, target, 11);
    for (auto& [k, v] : headers) req.set(k, v);
    req.set(http::field::authorization, std::string("Bearer ") + kToken);
    req.body() = body;
    req.prepare_payload();
    return handler->Handle(req);
  }
};

// The value of a reply header, or "" without one.
inline std::string Header(const Reply& r, const std::string& name) {
  for (auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

// The bytes a reply sends (its range of the shared body).
inline std::string BodyOf(const Reply& r) {
  return r.body ? r.body->substr(r.offset, r.length) : "";
}

}  // namespace wisp::server::testing
