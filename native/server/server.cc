#include "native/server/server.h"

#include <sys/resource.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include "native/common/util.h"
#include "native/server/access_log.h"
#include "native/server/handler.h"
#include "native/server/metrics.h"
#include "native/server/registry.h"
#include "native/server/shared_body.h"
#include "native/server/tokens.h"
#include "native/server/verify.h"

namespace wisp::server {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

namespace {

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void OnStop() = 0;
};

struct Core {
  ServerConfig cfg;
  std::optional<ssl::context> tls;
  Metrics metrics;
  AccessLog access_log;
  Ed25519Key key;
  std::unique_ptr<ModelEngine> engine;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<Handler> handler;
  std::unique_ptr<net::thread_pool> workers;  // blocking work: publish, writes
  // Predict runs on its own pool: anonymous predict traffic must not queue publishes and channel
  // moves behind it.
  std::unique_ptr<net::thread_pool> predict_pool;
  std::atomic<bool> stopping{false};
  std::mutex sessions_mu;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  // One event loop per I/O thread, as nginx has one per worker: a connection lives on one loop,
  // so its handlers need no strand and threads never contend for one epoll queue. Accepted
  // connections are dealt round-robin. Last, so they are destroyed first: handlers still queued
  // after a forced stop own sessions whose destructors use the members above.
  std::vector<std::unique_ptr<net::io_context>> loops;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> keep_running;
  std::atomic<size_t> next_loop{0};
  // Open connections, against max_connections (the configured value, or one derived from the
  // file-descriptor limit at start-up).
  std::atomic<size_t> connections{0};
  size_t max_connections = 0;

  net::io_context& NextLoop() { return *loops[next_loop++ % loops.size()]; }
};

template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... Args>
  Session(Core& core, tcp::socket&& socket, Args&&... args)
      : core_(core), stream_(std::move(socket), std::forward<Args>(args)...) {
    core_.connections++;
    beast::error_code ec;
    auto peer = Lowest().socket().remote_endpoint(ec);
    if (!ec) client_ = peer.address().to_string();
  }

  ~Session() override {
    core_.connections--;
    ReleasePredict();
    std::lock_guard lock(core_.sessions_mu);
    core_.sessions.erase(this);
  }

  void Run() {
    {
      std::lock_guard lock(core_.sessions_mu);
      core_.sessions[this] = this->shared_from_this();
    }
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::Start, this->shared_from_this()));
  }

  void OnStop() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->idle_) self->Lowest().cancel();
    });
  }

 private:
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void Start() {
    if constexpr (kTls) {
      Lowest().expires_after(std::chrono::milliseconds(core_.cfg.header_timeout_ms));
      stream_.async_handshake(
          ssl::stream_base::server,
          beast::bind_front_handler(&Session::OnHandshake, this->shared_from_this()));
    } else {
      DoRead();
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) return;  // not TLS, or timed out: nothing to answer
    DoRead();
  }

  void DoRead() {
    if (core_.stopping) return DoClose();
    parser_.emplace();
    budget_ = {};
    body_limit_ = core_.cfg.max_body_bytes;
    parser_->body_limit(body_limit_);
    parser_->header_limit(32 * 1024);
    idle_ = true;
    Lowest().expires_after(std::chrono::milliseconds(core_.cfg.header_timeout_ms));
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::OnHeader, this->shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    idle_ = false;
    started_ = std::chrono::steady_clock::now();
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout) {
      return DoClose();
    }
    if (ec == http::error::body_limit) return SendEarly(TooLarge());
    if (ec == http::error::header_limit) {
      return SendEarly(ErrorReply(431, "header_too_large", "request header too large"));
    }
    if (ec) {
      if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
        return SendEarly(ErrorReply(400, "bad_request", "malformed HTTP request: " + ec.message()));
      }
      return DoClose();
    }
    auto& req = parser_->get();
    if (auto early = core_.handler->Precheck(req, client_)) return SendEarly(std::move(*early));
    budget_ = core_.handler->Budget(req);
    body_limit_ = core_.cfg.max_body_bytes;
    if (!budget_.predict && budget_.body_limit > 0) {
      // A route with a small body of its own (outcome reports).
      body_limit_ = budget_.body_limit;
      auto cl = parser_->content_length();
      if (cl && *cl > body_limit_) return SendEarly(TooLarge());
      parser_->body_limit(body_limit_);
    }
    if (budget_.predict) {
      body_limit_ = budget_.body_limit;
      auto cl = parser_->content_length();
      if (cl && *cl > body_limit_) return SendEarly(TooLarge());
      // Chunked bodies are counted against the same limit as they arrive.
      parser_->body_limit(body_limit_);
      // Memory is reserved for the whole body up front (the limit, when the length is unknown),
      // so concurrent predicts can never hold more than --max-predict-memory together.
      uint64_t want = budget_.Reservation(cl ? *cl : body_limit_);
      if (!core_.metrics.TryReservePredict(want, core_.cfg.max_predict_memory)) {
        Reply busy = ErrorReply(503, "predict_memory_exhausted",
                                "predict requests in flight hold the server's predict memory "
                                "limit (--max-predict-memory); retry later");
        busy.Set("Retry-After", "1");
        return SendEarly(std::move(busy));
      }
      reserved_ = want;
    }
    auto expect = req.find(http::field::expect);
    if (expect != req.end() && beast::iequals(expect->value(), "100-continue") &&
        !parser_->is_done()) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     req.version());
      Lowest().expires_after(std::chrono::milliseconds(core_.cfg.body_timeout_ms));
      http::async_write(stream_, *cont,
                        [self = this->shared_from_this(), cont](beast::error_code wec, size_t) {
                          if (wec) return self->DoClose();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return Dispatch();
    Lowest().expires_after(std::chrono::milliseconds(core_.cfg.body_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, this->shared_from_this()));
  }

  Reply TooLarge() const {
    return ErrorReply(413, "payload_too_large",
                      std::string(budget_.predict ? "predict body" : "request body") +
                          " exceeds the limit of " + std::to_string(body_limit_) + " bytes");
  }

  void OnBody(beast::error_code ec, size_t) {
    if (ec == http::error::body_limit) return SendEarly(TooLarge());
    // Malformed chunking (bad chunk sizes, extensions) gets an answer before the close; a
    // connection cut short or timed out has nobody left to answer.
    if (ec && ec != http::error::partial_message && ec != http::error::end_of_stream &&
        ec.category() == http::make_error_code(http::error::bad_chunk).category()) {
      return SendEarly(ErrorReply(400, "bad_request", "malformed HTTP body: " + ec.message()));
    }
    if (ec) return DoClose();
    Dispatch();
  }

  void ReleasePredict() {
    if (reserved_) core_.metrics.ReleasePredict(reserved_);
    reserved_ = 0;
  }

  void Dispatch() {
    auto m = parser_->get().method();
    if (m == http::verb::post || m == http::verb::put || m == http::verb::delete_) {
      // Publishing (validation, compression, fsync) and inference can take a while: they run on
      // worker pools so that the I/O threads keep serving reads. The work guard keeps the I/O
      // loop alive meanwhile (also during a graceful stop).
      auto& pool = budget_.predict ? *core_.predict_pool : *core_.workers;
      net::post(pool, [self = this->shared_from_this(),
                       guard = net::make_work_guard(stream_.get_executor())]() mutable {
        Reply r = self->core_.handler->Handle(self->parser_->get(), self->client_);
        net::post(self->stream_.get_executor(),
                  [self, r = std::move(r)]() mutable { self->Finish(std::move(r)); });
      });
      return;
    }
    Finish(core_.handler->Handle(parser_->get(), client_));
  }

  void Finish(Reply r) {
    ReleasePredict();
    const auto& req = parser_->get();
    core_.metrics.CountRequest(r.route, std::string(req.method_string()), r.status);
    Send(std::move(r), req.keep_alive(), req.version());
  }

  void SendEarly(Reply r) {
    ReleasePredict();
    r.close = true;
    unsigned version = 11;
    if (parser_) {
      Handler::ShapeTfServingError(parser_->get(), &r);
      core_.handler->AddCors(parser_->get(), &r);
      if (parser_->get().version() == 10) version = 10;
    }
    core_.metrics.CountRequest(r.route, parser_ ? std::string(parser_->get().method_string()) : "",
                               r.status);
    Send(std::move(r), false, version);
  }

  void Send(Reply r, bool keep_alive, unsigned version) {
    auto res = std::make_shared<http::response<SharedBody>>();
    res->version(version);
    res->result(r.status);
    res->set(http::field::server, "wisp-server");
    for (auto& [name, value] : r.headers) res->insert(name, value);
    size_t body_len = r.head ? 0 : r.length;
    if (core_.access_log.enabled()) Record(r.status, body_len, version);
    res->body() = SharedBody::value_type{r.body, r.offset, body_len};
    if (!r.no_length) res->content_length(r.length);
    close_ = !(keep_alive && !r.close && !core_.stopping);
    res->keep_alive(!close_);
    core_.metrics.AddBytesServed(body_len);
    artifact_bytes_ = r.artifact ? body_len : 0;
    res_ = res;
    Lowest().expires_after(std::chrono::milliseconds(core_.cfg.write_timeout_ms));
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&Session::OnWrite, this->shared_from_this()));
  }

  // The access-log line is written once the response is (nginx logs at the end of a request too);
  // its fields are taken now, while the request is still parsed.
  void Record(unsigned status, uint64_t body_bytes, unsigned version) {
    record_.emplace();
    AccessRecord& a = *record_;
    a.client = client_;
    a.status = status;
    a.body_bytes = body_bytes;
    a.version = version;
    if (parser_) {
      const auto& req = parser_->get();
      a.method = std::string(req.method_string());
      a.target = std::string(req.target());
      auto ua = req.find(http::field::user_agent);
      if (ua != req.end()) a.user_agent = std::string(ua->value());
      a.token_id = core_.handler->TokenId(req);
    }
  }

  void OnWrite(beast::error_code ec, size_t) {
    res_.reset();
    // Counted once the write completed: an artifact response cut off midway is not "sent".
    if (!ec && artifact_bytes_ > 0) core_.metrics.AddArtifactBytesSent(artifact_bytes_);
    artifact_bytes_ = 0;
    if (record_) {
      record_->duration_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
              .count();
      core_.access_log.Write(*record_);
      record_.reset();
    }
    if (ec) return DoClose();
    if (close_) return DoClose();
    DoRead();
  }

  void DoClose() {
    if constexpr (kTls) {
      Lowest().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    } else {
      beast::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  Core& core_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<SharedBody>> res_;
  std::atomic<bool> idle_{false};
  bool close_ = false;
  Handler::PredictBudget budget_;
  uint64_t body_limit_ = 0;
  uint64_t reserved_ = 0;  // bytes of --max-predict-memory held by this request
  std::string client_;     // peer address, for the access log
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::optional<AccessRecord> record_;
  uint64_t artifact_bytes_ = 0;  // body bytes of the artifact response being written
};

// EMFILE/ENFILE from accept(2). Compared by value and category rather than against std::errc:
// with Boost 1.74 the cross-category comparison made UBSan report.
bool OutOfDescriptors(const beast::error_code& ec) {
  return (ec.value() == EMFILE || ec.value() == ENFILE) &&
         (ec.category() == boost::system::system_category() ||
          ec.category() == boost::system::generic_category());
}

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(Core& core, tcp::acceptor acceptor)
      : core_(core), acceptor_(std::move(acceptor)), retry_(acceptor_.get_executor()) {}
  void Run() { DoAccept(); }
  void Close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
      self->retry_.cancel();
    });
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void DoAccept() {
    if (core_.stopping || !acceptor_.is_open()) return;
    if (core_.connections >= core_.max_connections) {
      // Connections beyond the limit wait in the kernel's listen backlog.
      return BackOff("connection limit (" + std::to_string(core_.max_connections) +
                     ", --max-connections) reached");
    }
    acceptor_.async_accept(core_.NextLoop(),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }
  // Pauses accepting briefly. Without it, a full descriptor table makes accept fail at once,
  // forever, with the listening socket still readable: a busy loop that starves every
  // connection. Logged once per episode, not once per retry.
  void BackOff(const std::string& why) {
    if (!backing_off_) {
      backing_off_ = true;
      std::cerr << "wisp-server: " << why << " with " << core_.connections.load()
                << " connections open; pausing accepts, retrying every " << kBackOff.count()
                << " ms" << std::endl;
    }
    retry_.expires_after(kBackOff);
    retry_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->DoAccept();
    });
  }
  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (core_.stopping || !acceptor_.is_open()) return;
    if (OutOfDescriptors(ec)) {
      return BackOff("out of file descriptors (" + ec.message() + ")");
    }
    if (!ec) {
      backing_off_ = false;
      socket.set_option(tcp::no_delay(true), ec);
      if (core_.tls) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(core_, std::move(socket),
                                                                        *core_.tls)
            ->Run();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(core_, std::move(socket))->Run();
      }
    }
    DoAccept();
  }

  static constexpr std::chrono::milliseconds kBackOff{100};
  Core& core_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  bool backing_off_ = false;  // only touched on the acceptor's loop
};

}  // namespace

struct Server::Impl {
  Core core;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::mutex stop_mu;
  bool stopped = false;
};

Server::Server(ServerConfig cfg, std::unique_ptr<ModelEngine> engine) : impl_(new Impl) {
  impl_->core.cfg = std::move(cfg);
  impl_->core.engine = std::move(engine);
}

Server::~Server() { Stop(); }

Metrics& Server::metrics() { return impl_->core.metrics; }
Status Server::ReopenLogs() { return impl_->core.access_log.Reopen(); }
uint16_t Server::port() const { return impl_->port; }
bool Server::tls() const { return impl_->core.tls.has_value(); }

Status Server::Start() {
  Core& c = impl_->core;
  const ServerConfig& cfg = c.cfg;
  std::vector<Token> tokens;
  if (!cfg.token_file.empty()) {
    WISP_ASSIGN_OR_RETURN(TokenFile file, ReadTokenFile(cfg.token_file));
    for (const std::string& w : file.warnings) std::cerr << "wisp-server: " << w << std::endl;
    tokens = std::move(file.tokens);
  }
  if (!cfg.signing_key.empty()) WISP_RETURN_IF_ERROR(c.key.LoadPrivatePem(cfg.signing_key));
  if (!cfg.web_dir.empty() && !std::filesystem::is_directory(cfg.web_dir)) {
    return Status(StatusCode::kInvalidArgument, "--web " + cfg.web_dir + " is not a directory");
  }
  if (!cfg.tls_cert.empty()) {
    try {
      c.tls.emplace(ssl::context::tls_server);
      c.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1);
      c.tls->use_certificate_chain_file(cfg.tls_cert);
      c.tls->use_private_key_file(cfg.tls_key, ssl::context::pem);
    } catch (const std::exception& e) {
      return Status(StatusCode::kInvalidArgument, std::string("TLS setup failed: ") + e.what());
    }
  }
  WISP_RETURN_IF_ERROR(c.access_log.Open(cfg.access_log));
  RegistryOptions registry_options;
  registry_options.manifest_ttl_s = cfg.manifest_ttl_s;
  registry_options.clock = cfg.clock;
  c.registry =
      std::make_unique<Registry>(cfg.data_dir, c.key.loaded() ? &c.key : nullptr, registry_options);
  std::vector<std::string> log;
  Status opened = c.registry->Open(&log);
  if (!cfg.quiet || !opened.ok()) {
    for (auto& line : log) std::cerr << "wisp-server: recovery: " << line << "\n";
  }
  WISP_RETURN_IF_ERROR(opened);
  c.handler = std::make_unique<Handler>(cfg, c.registry.get(), c.engine.get(), &c.metrics,
                                        c.key.loaded() ? &c.key : nullptr, tokens);
  const unsigned n = cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  c.max_connections = cfg.max_connections;
  if (c.max_connections == 0) {
    // Each connection is one descriptor; keep a reserve for artifacts being read, the data
    // directory's lock, the event loops and the log.
    constexpr rlim_t kReserve = 64;
    rlimit rl{};
    rlim_t fds = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
    if (fds == RLIM_INFINITY || fds > (1u << 20)) fds = 1u << 20;
    c.max_connections = static_cast<size_t>(fds > kReserve + 16 ? fds - kReserve : 16);
  }
  for (unsigned i = 0; i < n; ++i) {
    c.loops.push_back(std::make_unique<net::io_context>(1));
    c.keep_running.push_back(net::make_work_guard(*c.loops.back()));
  }
  try {
    tcp::endpoint ep(net::ip::make_address(cfg.address), cfg.port);
    tcp::acceptor acceptor(*c.loops[0]);
    acceptor.open(ep.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(net::socket_base::max_listen_connections);
    impl_->listener = std::make_shared<Listener>(c, std::move(acceptor));
  } catch (const std::exception& e) {
    return Status(StatusCode::kIoError, "cannot listen on " + cfg.address + ":" +
                                            std::to_string(cfg.port) + ": " + e.what());
  }
  impl_->port = impl_->listener->port();
  impl_->listener->Run();
  c.workers = std::make_unique<net::thread_pool>(std::max(2u, n));
  c.predict_pool = std::make_unique<net::thread_pool>(std::max(2u, n));
  for (unsigned i = 0; i < n; ++i) {
    impl_->threads.emplace_back([loop = c.loops[i].get()] {
      for (;;) {
        try {
          loop->run();
          return;
        } catch (const std::exception& e) {
          std::cerr << "wisp-server: unexpected exception in I/O thread: " << e.what() << "\n";
        }
      }
    });
  }
  return Status::Ok();
}

void Server::Stop() {
  std::lock_guard guard(impl_->stop_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  Core& c = impl_->core;
  c.stopping = true;
  if (impl_->listener) impl_->listener->Close();
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(c.sessions_mu);
    for (auto& [p, w] : c.sessions) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->OnStop();
  live.clear();
  // Each loop now returns once its connections are done.
  for (auto& g : c.keep_running) g.reset();
  // In-flight requests finish; after the grace period the loop is stopped regardless.
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, std::chrono::milliseconds(c.cfg.shutdown_grace_ms),
                     [&] { return done; })) {
      for (auto& loop : c.loops) loop->stop();
    }
  });
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  if (c.workers) c.workers->join();
  if (c.predict_pool) c.predict_pool->join();
  {
    std::lock_guard lock(m);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
}

int RunServerMain(int argc, char** argv, std::unique_ptr<ModelEngine> engine) {
  ServerConfig cfg;
  int exit_code = 0;
  if (!ParseServerConfig(argc, argv, &cfg, &exit_code)) return exit_code;
  if (cfg.verify) return RunVerify(cfg.data_dir, std::cout);
  std::signal(SIGPIPE, SIG_IGN);
  // Every connection costs a descriptor; the default soft limit (often 1024) is far below what
  // the hard limit allows, so take all of it.
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rlim_t before = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &rl) == 0 && !cfg.quiet) {
      std::cerr << "wisp-server: file descriptor limit raised from " << before << " to "
                << rl.rlim_max << "\n";
    }
  }
  // Block the stop signals in every thread; the signal_set below receives them.
  net::io_context signals_ioc;
  net::signal_set signals(signals_ioc, SIGINT, SIGTERM);
  net::signal_set hangup(signals_ioc, SIGHUP);
  Server server(cfg, std::move(engine));
  if (Status started = server.Start(); !started.ok()) {
    std::cerr << "wisp-server: " << started.message() << "\n";
    return 1;
  }
  std::string host =
      cfg.address.find(':') != std::string::npos ? "[" + cfg.address + "]" : cfg.address;
  std::cout << "listening on " << (server.tls() ? "https" : "http") << "://" << host << ":"
            << server.port() << std::endl;
  // SIGHUP reopens the access log (after logrotate has moved it); SIGINT/SIGTERM stop.
  std::function<void()> wait_hangup = [&] {
    hangup.async_wait([&](const beast::error_code& ec, int) {
      if (ec) return;
      if (Status s = server.ReopenLogs(); !s.ok())
        std::cerr << "wisp-server: " << s.message() << "\n";
      wait_hangup();
    });
  };
  wait_hangup();
  int received = 0;
  signals.async_wait([&](const beast::error_code& ec, int sig) {
    if (!ec) received = sig;
    hangup.cancel();
  });
  signals_ioc.run();
  if (!cfg.quiet) std::cerr << "wisp-server: signal " << received << ", shutting down\n";
  server.Stop();
  if (!cfg.quiet) std::cerr << "wisp-server: stopped\n";
  return 0;
}

}  // namespace wisp::server
