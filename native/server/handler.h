// HTTP semantics of wisp-server, independent of the transport: routing, auth, CORS, conditional
// and range requests, registry operations and prediction. The transport (server.cc) reads a
// request, calls Handler, and writes the Reply.
#pragma once

#include <atomic>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "native/common/util.h"
#include "native/platform/lru_cache.h"
#include "native/server/audit_log.h"
#include "native/server/config.h"
#include "native/server/metrics.h"
#include "native/server/model_engine.h"
#include "native/server/registry.h"
#include "native/server/tokens.h"

namespace wisp::server {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using RequestHeader = http::request_header<>;

struct Reply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<const std::string> body;  // may be null (no body)
  size_t offset = 0;
  size_t length = 0;
  bool head = false;       // HEAD: send Content-Length of the body but no body bytes
  bool no_length = false;  // 204/304: no Content-Length
  bool close = false;      // close the connection after this reply
  std::string route = "other";
  bool artifact = false;  // an artifact's bytes: counted in wisp_artifact_bytes_sent_total

  void Set(const std::string& name, std::string value) {
    headers.emplace_back(name, std::move(value));
  }
  void SetBody(std::string text, const std::string& content_type);
  void SetShared(std::shared_ptr<const std::string> data, const std::string& content_type);
};

// A JSON error reply: {"error": {"code": code, "message": message}}.
Reply ErrorReply(unsigned status, const std::string& code, const std::string& message);

// The JSON error code a call site gives one StatusCode, where it knows more than the StatusCode
// says (what it looked up: "version_not_found").
struct ErrorCodeName {
  StatusCode code;
  const char* name;
};

// The one mapping from a failed Status to its HTTP answer, with the Status's message. The HTTP
// status follows from the StatusCode alone: kInvalidArgument, kMalformed, kOutOfRange,
// kInvalidModel and kUnsupported 400, kNotFound 404, kFailedPrecondition 409, kResourceExhausted
// 507 (the data directory is full), anything else 500. The JSON code is the one `names` gives the
// StatusCode, else its default: bad_request, malformed_json, invalid_model, not_found, conflict,
// insufficient_storage, artifact_corrupt (kDataLoss), storage_error (kIoError) or internal.
Reply StatusReply(const Status& status, std::initializer_list<ErrorCodeName> names = {});

class Handler {
 public:
  Handler(const ServerConfig& cfg, Registry* registry, ModelEngine* engine, Metrics* metrics,
          const Ed25519Key* key, std::vector<Token> tokens);

  // Called when a request header has been read, before its body. A reply means "answer this and
  // close the connection without reading the body" (unauthenticated writes).
  // `client`: the peer's address, for the audit log of refused writes.
  std::optional<Reply> Precheck(const RequestHeader& req, const std::string& client = "");

  // What a predict request may cost, known from its header and the model's input specs. The
  // transport refuses bodies over `body_limit` (413) and reserves `Reservation(body bytes)` of
  // --max-predict-memory while the request is read and handled (503 when it does not fit).
  struct PredictBudget {
    bool predict = false;      // the target is a :predict endpoint
    uint64_t body_limit = 0;   // bytes
    uint64_t input_bytes = 0;  // one instance's decoded inputs; 0 when a shape is dynamic
    bool raw = false;          // application/octet-stream body
    uint64_t batch = 1;        // instances a JSON body may hold
    uint64_t Reservation(uint64_t body_bytes) const;
  };
  // The body limit of a request, known from its header: a predict route's from the model's input
  // size (predict = true), an outcome report's small fixed one (predict = false, body_limit set:
  // reports need no token, so a stranger must not make the server parse megabytes), otherwise
  // none here (body_limit 0: the global --max-body-bytes).
  PredictBudget Budget(const RequestHeader& req) const;
  Reply Handle(const Request& req, const std::string& client = "");
  // TF Serving's error body on its paths (every :predict, /metadata and /labels/ path):
  // {"error": "<message>", "code": "<Wisp's code>"}, the flat string TF Serving clients read, with
  // Wisp's code beside it. Registry paths keep {"error": {"code", "message"}}.
  static void ShapeTfServingError(const RequestHeader& req, Reply* r);
  // Adds CORS headers to any reply for `req` (also used by the transport for early errors).
  void AddCors(const RequestHeader& req, Reply* r) const;
  size_t loaded_models() const;
  // For the access log: "" without an Authorization header, "invalid" for an unknown credential,
  // else "sha256:" and the first 8 hex digits of the token's sha256 (never the token).
  std::string TokenId(const RequestHeader& req) const;
  Metrics* metrics() { return metrics_; }
  // The three caches, each bounded by its ServerConfig limit and evicting the least recently
  // used entry: file contents (bytes), ETags of static files (entries) and loaded models
  // (entries). Also rendered in /metrics.
  struct Caches {
    CacheStats files, etags, models;
  };
  Caches cache_stats() const;

  // One row of the route table, for tests and documentation: the methods a path pattern answers
  // (as in an Allow header: "GET, HEAD, DELETE"), the pattern ("/v1/models/{name}") and the route
  // name used as the metrics label and in the access log. Rows with the same pattern are merged.
  struct RouteInfo {
    std::string allow;
    std::string pattern;
    std::string name;
  };
  static std::vector<RouteInfo> RouteTable();

 private:
  struct Target {
    std::vector<std::string> segments;  // percent-decoded path segments
    std::map<std::string, std::string> query;
    bool ok = true;
  };
  // The path parameters of a matched route ("name", "v", "channel") and the parsed target.
  struct RouteMatch {
    const Target* target = nullptr;
    std::vector<std::pair<std::string, std::string>> params;
    const std::string& operator[](std::string_view param) const;
    // The {v} parameter as a number (0 when absent or invalid; Route has refused those).
    int64_t version() const;
  };
  using RouteFn = Reply (Handler::*)(const Request&, const RouteMatch&);
  struct RouteEntry {
    std::vector<http::verb> methods;  // GET also answers HEAD
    const char* pattern;              // segments: literal, {param} or {param}:action
    RouteFn fn;
    const char* name;  // metrics label and access log route
  };
  static const std::vector<RouteEntry>& Routes();
  // What the route table makes of a path and method (HEAD looks up GET).
  struct RouteLookup {
    const RouteEntry* found = nullptr;       // path, method and parameters match
    const RouteEntry* by_pattern = nullptr;  // path and method match; parameters may be invalid
    RouteMatch match;                        // the parameters of `by_pattern`
    const RouteEntry* path_match = nullptr;  // the first route matching the path (any method)
    std::vector<http::verb> allowed;         // methods of every route matching the path
    // The earliest invalid parameter of any route the path is under: its 400 answer and the
    // route prefix up to it (the metrics label).
    const char* invalid_code = nullptr;
    const char* invalid_message = nullptr;
    std::string invalid_route;
  };
  static RouteLookup LookUp(const Target& t, http::verb method);

  static Target ParseTarget(std::string_view target);
  bool Authorized(const RequestHeader& req) const;  // a token with the read scope
  // The configured token the request's bearer credential is (compared in constant time), or null.
  const Token* FindToken(const RequestHeader& req) const;
  static bool IsWrite(const RequestHeader& req, const Target& t);

  // Looks the path up in the route table once: a matching method runs its handler, a path that
  // matches only with other methods is 405 (Allow built from the table), an invalid parameter is
  // 400, anything else outside /v1 is a static file (with --web) and the rest 404.
  Reply Route(const Request& req, const Target& t);
  Reply Healthz(const Request& req, const RouteMatch& m);
  Reply Readyz(const Request& req, const RouteMatch& m);
  Reply MetricsText(const Request& req, const RouteMatch& m);
  Reply ListModels(const Request& req, const RouteMatch& m);
  Reply SigningKey(const Request& req, const RouteMatch& m);
  Reply GetModel(const Request& req, const RouteMatch& m);
  Reply GetManifest(const Request& req, const RouteMatch& m);
  Reply GetChannel(const Request& req, const RouteMatch& m);
  Reply GetArtifact(const Request& req, const RouteMatch& m);
  // GET /v1/audit?after=N&limit=M (admin): a page of the audit log.
  Reply GetAudit(const Request& req, const RouteMatch& m);
  // One audit line for a write to `t` (allowed or refused) answered `r`.
  void Audit(const RequestHeader& req, const Target& t, const std::string& client, const Reply& r);
  // TF Serving's GetModelMetadata: the model's default version (DefaultVersion), a version, or
  // the version a label (channel) points at.
  Reply GetModelMetadata(const Request& req, const RouteMatch& m);
  Reply GetVersionMetadata(const Request& req, const RouteMatch& m);
  Reply GetLabelMetadata(const Request& req, const RouteMatch& m);
  // The metadata document of `version` in snapshot `s` (the one the caller resolved it in).
  Reply Metadata(const Request& req, const ModelSnapshot& s, int64_t version);
  // `then(snapshot, version)` for the version channel {channel} of model {name} points at in one
  // snapshot of the model, or the 404 naming the model or channel that is missing.
  // During a rollout of the channel the version is the one this client (X-Wisp-Client) is given.
  Reply OnChannel(const Request& req, const RouteMatch& m,
                  const std::function<Reply(const ModelSnapshot&, int64_t)>& then);
  Reply Publish(const Request& req, const RouteMatch& m);
  Reply PutChannel(const Request& req, const RouteMatch& m);
  Reply DeleteChannel(const Request& req, const RouteMatch& m);
  // PUT channel with "rollout": stages (or re-tunes) a rollout of version `v`.
  Reply StageRollout(const nlohmann::json& request, const std::string& name,
                     const std::string& channel, int64_t v);
  // DELETE /v1/models/{name}/channels/{channel}/rollout: everyone stays on the channel's version.
  Reply AbortRollout(const Request& req, const RouteMatch& m);
  // POST /v1/models/{name}/versions/{v}:report: a client's batched outcome counts; may end a
  // rollout automatically (audited as "rollback").
  Reply ReportOutcome(const Request& req, const RouteMatch& m);
  // The rollout lines of /metrics.
  std::string RolloutMetrics() const;
  Reply DeleteVersion(const Request& req, const RouteMatch& m);
  Reply PredictVersion(const Request& req, const RouteMatch& m);
  Reply PredictChannel(const Request& req, const RouteMatch& m);
  // POST /v1/models/{name}:predict (TF Serving): the default version (DefaultVersion).
  Reply PredictDefault(const Request& req, const RouteMatch& m);
  Reply Predict(const Request& req, const std::string& name, int64_t version);
  PredictBudget BudgetFor(const RequestHeader& req, const VersionInfo* info) const;
  Reply Static(const Request& req, const Target& t);
  // Sends `data` honouring If-None-Match, If-Range and Range.
  Reply ServeBytes(const Request& req, std::shared_ptr<const std::string> data,
                   const std::string& etag, const std::string& content_type,
                   const std::string& cache_control, bool allow_range);
  // Reads `path` once and keeps it in the file cache under `key`. With `sha256` (hex), the bytes
  // are verified before they are cached or returned (see ReadVerified).
  Result<std::shared_ptr<const std::string>> LoadCached(const std::string& key,
                                                        const std::string& path,
                                                        const std::string* sha256 = nullptr);
  // Reads an artifact and checks it against the digest the registry recorded at publish time: a
  // mismatch is logged and is kDataLoss, "artifact corrupt: ...".
  Result<std::string> ReadVerified(const std::string& path, const std::string& sha256) const;

  struct Loaded {
    std::mutex mu;
    std::shared_ptr<LoadedModel> model;
  };
  Result<std::shared_ptr<Loaded>> GetLoaded(const std::string& name, int64_t version);

  const ServerConfig& cfg_;
  Registry* registry_;
  ModelEngine* engine_;
  Metrics* metrics_;
  const Ed25519Key* key_;
  std::vector<Token> tokens_;  // secrets as sha256 digests, with their scopes
  AuditLog audit_;
  std::atomic<uint64_t> automatic_rollbacks_{0};

  // Artifacts by sha256 and static files by path, size and mtime.
  LruCache<std::string, std::shared_ptr<const std::string>> file_cache_;
  LruCache<std::string, std::string> etag_cache_;  // static file key -> ETag
  LruCache<std::pair<std::string, int64_t>, std::shared_ptr<Loaded>> loaded_;
};

}  // namespace wisp::server
