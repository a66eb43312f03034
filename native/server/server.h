// wisp-server's transport: an Asio acceptor and one Beast session per connection (plain TCP or
// TLS), run by N threads. The HTTP semantics live in Handler.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "native/server/common.h"
#include "native/server/config.h"
#include "native/server/model_engine.h"

namespace wisp::server {

class Metrics;

class Server {
 public:
  Server(ServerConfig cfg, std::unique_ptr<ModelEngine> engine);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens the registry, binds, and starts the I/O threads. Start-up messages (repairs after a
  // crash) go to stderr. The error names what could not be set up (tokens, key, TLS, access log,
  // data directory, listening socket).
  Status Start();
  uint16_t port() const;
  bool tls() const;
  // Graceful stop: no new connections, idle keep-alive connections are closed, in-flight requests
  // finish (up to shutdown_grace_ms). Returns once all threads have exited. Idempotent.
  void Stop();
  Metrics& metrics();
  // Reopens the access log file (SIGHUP after log rotation).
  Status ReopenLogs();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The whole wisp-server program: flags, start, "listening on URL" on stdout, wait for SIGINT or
// SIGTERM, graceful stop, exit code. The binary passes its engine; tests may pass a fake one.
int RunServerMain(int argc, char** argv, std::unique_ptr<ModelEngine> engine);

}  // namespace wisp::server
