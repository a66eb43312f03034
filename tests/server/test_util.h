// Helpers shared by the server and client tests: temporary directories, an in-process server
// with FakeModelEngine, raw sockets, and child processes running the fake-engine server binary.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "native/client/client.h"
#include "native/server/metrics.h"
#include "native/server/server.h"
#include "tests/server/fake_model_engine.h"

namespace wisp::server::testing {

inline constexpr const char* kToken = "test-token-0123456789";

// The value of a Result the test expects to succeed; a failure is a test failure that shows the
// message, and a default value is returned.
template <typename T>
T Ok(Result<T> result) {
  EXPECT_TRUE(result.ok()) << result.status().message();
  return result.ok() ? std::move(result).value() : T{};
}

// The message of a Status (or Result) the test expects to fail.
inline std::string ErrorOf(const Status& status) {
  EXPECT_FALSE(status.ok());
  return status.message();
}
template <typename T>
std::string ErrorOf(const Result<T>& result) {
  return ErrorOf(result.status());
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "wisp-server-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline void WriteText(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A fake model of `size` bytes (>= 16): deterministic pseudo-random, or compressible.
inline std::string FakeModel(size_t size, uint32_t seed, bool compressible = false) {
  std::string s = "FAKEWISP";
  std::mt19937 rng(seed);
  while (s.size() < size) {
    s.push_back(compressible ? static_cast<char>('a' + (s.size() / 1000) % 3)
                             : static_cast<char>(rng() & 0xff));
  }
  return s;
}

struct TestServer {
  TempDir dir;
  ServerConfig cfg;
  std::unique_ptr<Server> server;
  std::string url;

  explicit TestServer(std::function<void(ServerConfig&)> tweak = nullptr) {
    WriteText(dir / "tokens", std::string("# comment\n") + kToken + "\n");
    cfg.port = 0;
    cfg.threads = 2;
    cfg.data_dir = dir / "data";
    cfg.token_file = dir / "tokens";
    cfg.quiet = true;
    if (tweak) tweak(cfg);
    Start();
  }
  void Start() {
    server = std::make_unique<Server>(cfg, std::make_unique<FakeModelEngine>());
    if (Status started = server->Start(); !started.ok()) {
      throw std::runtime_error(started.message());
    }
    url = "http://127.0.0.1:" + std::to_string(server->port());
  }
  void Restart() {
    server->Stop();
    server.reset();
    Start();
  }
  ~TestServer() {
    if (server) server->Stop();
  }
};

// Sends raw bytes and reads until the server closes or `timeout` passes. Returns what was read.
inline std::string RawExchange(uint16_t port, const std::string& data,
                               std::chrono::milliseconds timeout = std::chrono::milliseconds(3000),
                               bool* closed_by_server = nullptr) {
  namespace net = boost::asio;
  net::io_context ioc;
  net::ip::tcp::socket sock(ioc);
  sock.connect({net::ip::make_address("127.0.0.1"), port});
  net::write(sock, net::buffer(data));
  std::string out;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + timeout;
  sock.non_blocking(true);
  if (closed_by_server) *closed_by_server = false;
  while (std::chrono::steady_clock::now() < deadline) {
    boost::system::error_code ec;
    size_t n = sock.read_some(net::buffer(buf), ec);
    if (ec == net::error::would_block) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    if (ec) {
      if (closed_by_server) *closed_by_server = true;
      break;
    }
    out.append(buf, n);
  }
  return out;
}

// A fresh Ed25519 private key (PEM) in `dir`; returns its path.
inline std::string MakeSigningKey(const std::string& dir) {
  std::string path = dir + "/signing-" + std::to_string(std::random_device{}()) + ".pem";
  std::string cmd = "openssl genpkey -algorithm ed25519 -out " + path + " 2>/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  return path;
}

// One HTTP exchange on a fresh connection (10 s timeout); failures are test failures.
inline client::HttpResponse Do(const std::string& url, const std::string& method,
                               const std::string& target, const client::Headers& headers = {},
                               const std::string& body = "") {
  client::HttpClient c(Ok(client::ServerUrl::Parse(url)), 10000);
  client::HttpResponse r = Ok(c.Request(method, target, headers, body));
  return r;
}

inline client::Headers Auth() { return {{"Authorization", std::string("Bearer ") + kToken}}; }

// The server's wisp_artifact_bytes_sent_total once it reaches `at_least`, waiting at most 5 s: the
// server counts a response when its write completes, which may be just after the client read it.
inline uint64_t ArtifactBytesSent(const TestServer& ts, uint64_t at_least) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ts.server->metrics().artifact_bytes_sent() < at_least &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return ts.server->metrics().artifact_bytes_sent();
}

// A JSON error reply with this status and code, whose message contains `message_part`: Wisp's
// {"error": {"code", "message"}}, or on TF Serving's paths {"error": "<message>", "code"} (which
// shape goes with which path is checked by ServerTest.TfServingErrorBodies).
inline void ExpectError(const client::HttpResponse& r, unsigned status, const std::string& code,
                        const std::string& message_part = "") {
  EXPECT_EQ(r.status, status) << r.body;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  ASSERT_TRUE(j.contains("error")) << r.body;
  const bool flat = j["error"].is_string();
  EXPECT_EQ(flat ? j.value("code", "") : j["error"].value("code", ""), code) << r.body;
  std::string message = flat ? j["error"].get<std::string>() : j["error"].value("message", "");
  EXPECT_FALSE(message.empty());
  EXPECT_NE(message.find(message_part), std::string::npos) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/json");
}

// How to start a ServerProcess: where its stderr goes, and its RLIMIT_NOFILE (0: inherited).
struct ProcessOptions {
  std::string stderr_path;
  rlim_t nofile_soft = 0, nofile_hard = 0;
};

// A child process running the fake-engine server binary; stdout is read for the port line.
class ServerProcess {
 public:
  ServerProcess(const std::string& binary, std::vector<std::string> args,
                const ProcessOptions& options = {}) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      if (options.nofile_soft) {
        rlimit rl{options.nofile_soft, options.nofile_hard};
        if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) ::_exit(126);
      }
      if (!options.stderr_path.empty()) {
        int err = ::open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (err >= 0) ::dup2(err, 2);
      }
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(binary.c_str()));
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = ::fdopen(fds[0], "r");
    char line[256];
    // Bounded: the child prints the line right after binding, or exits.
    if (out_ && std::fgets(line, sizeof(line), out_)) {
      std::string l(line);
      size_t colon = l.rfind(':');
      if (l.rfind("listening on ", 0) == 0 && colon != std::string::npos) {
        port_ = static_cast<uint16_t>(std::stoi(l.substr(colon + 1)));
      }
    }
  }
  ~ServerProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
    if (out_) std::fclose(out_);
  }
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void Signal(int sig) { ::kill(pid_, sig); }
  // Returns the exit status (or 128+signal); bounded by `timeout`.
  int Wait(std::chrono::milliseconds timeout = std::chrono::milliseconds(15000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return -2;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  uint16_t port_ = 0;
  bool reaped_ = false;
};

// Runs `<binary> --verify --data DIR` (the fake-engine build of wisp-server); returns its exit
// code and fills `out` with what it printed.
inline int RunServerVerify(const std::string& binary, const std::string& data, std::string* out) {
  std::string cmd = binary + " --verify --data '" + data + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  out->clear();
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;) out->append(buf, n);
  int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace wisp::server::testing
